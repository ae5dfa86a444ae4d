/*
 * bf16 / f16 activations, AVX-512 tier: the f32 kernels' trees (norm_avx512.h) reading the 16-bit
 * rows directly (fm = N5_BF16 / N5_F16: each leaf row of 16 elements widened exactly in the
 * register, vpmovzxwd + vpslld or vcvtph2ps), narrowed in the register (narrow16_avx512: bf16 by
 * integer round-to-nearest-even on the bits, never vcvtneps2bf16, which flushes subnormals; f16
 * by vcvtps2ph imm 0; every NaN the canonical one). No stack buffer, no copy.
 *
 * What it computes is src/norm_x16.h's definition, operation for operation the template
 * src/x16_tmpl.h (the scalar tier): the canonical totals of the widened row (the trees, fold and
 * lane total of layernorm_avx512.c / rmsnorm_avx512.c, whose f32 code is this code with
 * fm = N5_F32), norm_ln_finish() / norm_rms_finish(), the shared rare paths
 * norm_x16_*_row_rare(), and the output pass
 *   LayerNorm fma(((x - m0) - mlo) * r, wf, b) (w NULL: wf = 1, b NULL: b = 0; fma(t, 1, b) is
 *             the template's t + b, and fma(t, w, 0) its fmaf(t, w, 0.0f)),
 *   RMSNorm   (x * r) * wf (w NULL: x * r),
 * wf = w, or 1 + w (plus1), w and b float or (wact) 16-bit values of the row's format widened
 * the same way.
 *
 * Scheduling as the f32 kernels (none of it changes an operation): rows of at most
 * X16_BATCH_MAX elements go eight at a time (eight independent trees, then the eight rows' lane
 * totals and statistics as vectors of doubles, lane k doing row k's scalar arithmetic), longer
 * ones two at a time up to X16_PAIR_MAX (two dependency chains overlap), the rest one by one.
 * Streaming jobs (norm_x16_stream_job() in src/norm_x16.h) write y with non-temporal 32-byte
 * stores past its first 32-byte boundary, then sfence.
 *
 * tests/meson.build compiles this file once more with the AVX2 flags and -DNORM_AVX512_EMU over
 * SIMDe as the avx512-emu tier's kernel (norm_*_x16_avx512emu, checkasm only).
 */
#include "norm_avx512.h"

#include "../norm_x16.h"

#ifndef X16_TIER
#define X16_TIER avx512
#endif
#define X16_CAT_(a, b) a##_##b
#define X16_CAT(a, b) X16_CAT_(a, b)

#ifndef X16_BATCH_MAX
#define X16_BATCH_MAX 512
#endif
#ifndef X16_PAIR_MAX
#define X16_PAIR_MAX 2048
#endif

/* The output's per-row constants and its variant (compile-time constants after inlining):
 * hw (a weight), wa (w and b are 16-bit values of fm), pw (the factor 1 + w), hb (a bias; LN). */
typedef struct x16_out {
    float m0, mlo, r; /* RMSNorm: m0 = mlo = 0, unused */
} x16_out;

/* Elements of y before its first 32-byte boundary, at most n. */
static inline size_t x16_nt_head(const uint16_t *y, size_t n)
{
    size_t h = ((32u - ((size_t)y & 31u)) & 31u) / sizeof(uint16_t);
    return h < n ? h : n;
}

/* 16 results at element i (masked: the m lanes, others +0 and not read). ln: LayerNorm. */
N5_INLINE __m512 x16_res_avx512(const uint16_t *x, const void *w, const void *b, size_t i,
                                __mmask16 m, int masked, x16_out o, int ln, int fm, int hw,
                                int wa, int pw, int hb)
{
    const int wfm = wa ? fm : N5_F32;
    const __m512 xv = leaf_x_avx512(x + i, m, masked, fm);
    __m512 wv = _mm512_set1_ps(1.0f);
    if (hw) {
        wv = leaf_x_avx512(N5_AT(w, i, wfm), m, masked, wfm);
        if (pw)
            wv = _mm512_add_ps(_mm512_set1_ps(1.0f), wv);
    }
    if (!ln) {
        const __m512 t = _mm512_mul_ps(xv, _mm512_set1_ps(o.r));
        return hw ? _mm512_mul_ps(t, wv) : t;
    }
    const __m512 bv = hb ? leaf_x_avx512(N5_AT(b, i, wfm), m, masked, wfm) : _mm512_setzero_ps();
    const __m512 t = _mm512_mul_ps(
        _mm512_sub_ps(_mm512_sub_ps(xv, _mm512_set1_ps(o.m0)), _mm512_set1_ps(o.mlo)),
        _mm512_set1_ps(o.r));
    return _mm512_fmadd_ps(t, wv, bv);
}

/* The output pass of one row. */
N5_INLINE void x16_out_avx512(uint16_t *y, const uint16_t *x, const void *w, const void *b,
                              size_t n, x16_out o, int ln, int fm, int hw, int wa, int pw, int hb,
                              int nt)
{
#define X16_PART(I, K)                                                                         \
    do {                                                                                       \
        const __mmask16 m_ = tail_mask_avx512(K);                                              \
        st16_avx512(y + (I),                                                                   \
                    narrow16_avx512(                                                           \
                        x16_res_avx512(x, w, b, (I), m_, 1, o, ln, fm, hw, wa, pw, hb), fm),  \
                    m_, 1, 0);                                                                 \
    } while (0)
#define X16_FULL(I)                                                                            \
    narrow16_avx512(x16_res_avx512(x, w, b, (I), 0xFFFF, 0, o, ln, fm, hw, wa, pw, hb), fm)
    size_t i = 0;
    if (nt && (i = x16_nt_head(y, n)) != 0)
        X16_PART(0, i);
    for (; i + 32 <= n; i += 32) {
        const __m256i h0 = X16_FULL(i), h1 = X16_FULL(i + 16);
        st16_avx512(y + i, h0, 0xFFFF, 0, nt);
        st16_avx512(y + i + 16, h1, 0xFFFF, 0, nt);
    }
    for (; i + 16 <= n; i += 16)
        st16_avx512(y + i, X16_FULL(i), 0xFFFF, 0, nt);
    if (i < n)
        X16_PART(i, n - i);
#undef X16_PART
#undef X16_FULL
}

/* The output pass with the weight / bias variant chosen at run time (one predictable branch per
 * row). */
N5_INLINE void x16_out_var_avx512(const norm_x16_job *j, uint16_t *y, const uint16_t *x,
                                  x16_out o, int ln, int fm, int nt)
{
    const size_t n = j->dim;
    const void *w = j->w, *b = ln ? j->b : NULL;
#define X16_O(HW, WA, PW, HB) x16_out_avx512(y, x, w, b, n, o, ln, fm, HW, WA, PW, HB, nt)
#define X16_WB(WA)                                                                             \
    do {                                                                                       \
        if (w && j->plus1) {                                                                   \
            if (b)                                                                             \
                X16_O(1, WA, 1, 1);                                                            \
            else                                                                               \
                X16_O(1, WA, 1, 0);                                                            \
        } else if (w) {                                                                        \
            if (b)                                                                             \
                X16_O(1, WA, 0, 1);                                                            \
            else                                                                               \
                X16_O(1, WA, 0, 0);                                                            \
        } else if (b) {                                                                        \
            X16_O(0, WA, 0, 1);                                                            \
        } else {                                                                               \
            X16_O(0, 0, 0, 0);                                                                 \
        }                                                                                      \
    } while (0)
    if (j->wact)
        X16_WB(1);
    else
        X16_WB(0);
#undef X16_WB
#undef X16_O
}

/* ---- the per-format instances ----
 * The trees and output loops are instantiated once per format (and the output once per
 * store kind and op) in functions of their own: inlined into every call site of the row code,
 * as the f32 kernels do, they took gcc over a quarter of an hour on this file. The rows call them
 * through the selectors below (a predictable branch per call). */
#define X16_NOINLINE static __attribute__((noinline))
#define X16_INSTANCES(SUF, FM)                                                                 \
    X16_NOINLINE acc_avx512 x16_acc_sq_##SUF(const uint16_t *x, size_t n)                      \
    {                                                                                          \
        return acc_sqf_avx512(x, n, FM);                                                       \
    }                                                                                          \
    X16_NOINLINE acc_avx512 x16_acc_sum_##SUF(const uint16_t *x, size_t n, float c)            \
    {                                                                                          \
        return acc_sumf_avx512(x, n, _mm512_set1_ps(c), FM);                                   \
    }                                                                                          \
    X16_NOINLINE void x16_acc_ss_##SUF(const uint16_t *x, size_t n, float c, acc_avx512 *s,    \
                                       acc_avx512 *q)                                          \
    {                                                                                          \
        acc_ssf_avx512(x, n, _mm512_set1_ps(c), s, q, FM);                                     \
    }                                                                                          \
    X16_NOINLINE void x16_out_ln_##SUF(const norm_x16_job *j, uint16_t *y, const uint16_t *x,  \
                                       x16_out o)                                              \
    {                                                                                          \
        x16_out_var_avx512(j, y, x, o, 1, FM, 0);                                              \
    }                                                                                          \
    X16_NOINLINE void x16_out_ln_nt_##SUF(const norm_x16_job *j, uint16_t *y,                  \
                                          const uint16_t *x, x16_out o)                        \
    {                                                                                          \
        x16_out_var_avx512(j, y, x, o, 1, FM, 1);                                              \
    }                                                                                          \
    X16_NOINLINE void x16_out_rms_##SUF(const norm_x16_job *j, uint16_t *y, const uint16_t *x, \
                                        x16_out o)                                             \
    {                                                                                          \
        x16_out_var_avx512(j, y, x, o, 0, FM, 0);                                              \
    }                                                                                          \
    X16_NOINLINE void x16_out_rms_nt_##SUF(const norm_x16_job *j, uint16_t *y,                 \
                                           const uint16_t *x, x16_out o)                       \
    {                                                                                          \
        x16_out_var_avx512(j, y, x, o, 0, FM, 1);                                              \
    }
X16_INSTANCES(bf16, N5_BF16)
X16_INSTANCES(f16, N5_F16)
#undef X16_INSTANCES

static inline acc_avx512 x16_acc_sq(const uint16_t *x, size_t n, int fm)
{
    return fm == N5_F16 ? x16_acc_sq_f16(x, n) : x16_acc_sq_bf16(x, n);
}
static inline acc_avx512 x16_acc_sum(const uint16_t *x, size_t n, float c, int fm)
{
    return fm == N5_F16 ? x16_acc_sum_f16(x, n, c) : x16_acc_sum_bf16(x, n, c);
}
static inline void x16_acc_ss(const uint16_t *x, size_t n, float c, acc_avx512 *s,
                              acc_avx512 *q, int fm)
{
    if (fm == N5_F16)
        x16_acc_ss_f16(x, n, c, s, q);
    else
        x16_acc_ss_bf16(x, n, c, s, q);
}
static inline void x16_out_sel_avx512(const norm_x16_job *j, uint16_t *y, const uint16_t *x,
                                      x16_out o, int ln, int fm, int nt)
{
    if (fm == N5_F16) {
        if (ln)
            (nt ? x16_out_ln_nt_f16 : x16_out_ln_f16)(j, y, x, o);
        else
            (nt ? x16_out_rms_nt_f16 : x16_out_rms_f16)(j, y, x, o);
    } else {
        if (ln)
            (nt ? x16_out_ln_nt_bf16 : x16_out_ln_bf16)(j, y, x, o);
        else
            (nt ? x16_out_rms_nt_bf16 : x16_out_rms_bf16)(j, y, x, o);
    }
}

/* ---- RMSNorm ---- */

static double x16_sq_avx512(const uint16_t *x, size_t n, int fm)
{
    acc_avx512 a = x16_acc_sq(x, n, fm);
    return lanes_total_avx512(a.hi, a.lo);
}

/* After pass 1: norm_rms_finish(), then the output or the rare path. */
static void x16_rms_finish_avx512(const norm_x16_job *j, size_t row, double s2, double inv_n,
                                     int fm, int nt)
{
    uint16_t *y = j->y + row * j->ys;
    const uint16_t *x = j->x + row * j->xs;
    float *rstd = j->rstd ? j->rstd + row : NULL;
    if (j->sums)
        j->sums[row] = s2;
    x16_out o = {0.0f, 0.0f, 0.0f};
    if (norm_rms_finish(s2, inv_n, j->eps, &o.r)) {
        norm_x16_rmsnorm_row_rare(j, y, x, rstd);
        return;
    }
    x16_out_sel_avx512(j, y, x, o, 0, fm, nt);
    if (rstd)
        *rstd = o.r;
}

/* Eight rows r .. r+7: lane k of the double vectors computes exactly norm_rms_finish() of row k. */
static void x16_rms_rows8_avx512(const norm_x16_job *j, size_t r, size_t n, double inv_n,
                                    int fm, int nt)
{
    acc_avx512 a[8];
    float rs[8];
    for (int k = 0; k < 8; k++)
        a[k] = x16_acc_sq(j->x + (r + (size_t)k) * j->xs, n, fm);
    const __m512d s2 = lanes_total8_avx512(a);
    if (j->sums)
        _mm512_storeu_pd(j->sums + r, s2);
    const __mmask8 ok = _mm512_cmp_pd_mask(s2, _mm512_set1_pd(NORM_RARE_MIN), _CMP_GE_OQ) &
                        _mm512_cmp_pd_mask(s2, _mm512_set1_pd(DBL_MAX), _CMP_LE_OQ);
    const __m512d sd = _mm512_sqrt_pd(_mm512_add_pd(_mm512_mul_pd(s2, _mm512_set1_pd(inv_n)),
                                                    _mm512_set1_pd((double)j->eps)));
    _mm256_storeu_ps(rs, _mm512_cvtpd_ps(_mm512_div_pd(_mm512_set1_pd(1.0), sd)));
    for (int k = 0; k < 8; k++) {
        const size_t row = r + (size_t)k;
        uint16_t *y = j->y + row * j->ys;
        const uint16_t *x = j->x + row * j->xs;
        if ((ok >> k) & 1u) {
            x16_out o = {0.0f, 0.0f, rs[k]};
            x16_out_sel_avx512(j, y, x, o, 0, fm, nt);
            if (j->rstd)
                j->rstd[row] = rs[k];
        } else {
            norm_x16_rmsnorm_row_rare(j, y, x, j->rstd ? j->rstd + row : NULL);
        }
    }
}

static void x16_rms_rows_avx512(const norm_x16_job *j, int fm, int nt)
{
    const size_t n = j->dim;
    const double inv_n = 1.0 / (double)n;
    size_t r = 0;
    if (n <= X16_BATCH_MAX)
        for (; r + 8 <= j->rows; r += 8)
            x16_rms_rows8_avx512(j, r, n, inv_n, fm, nt);
    if (n <= X16_PAIR_MAX) {
        for (; r + 2 <= j->rows; r += 2) {
            const uint16_t *xa = j->x + r * j->xs;
            double sa = x16_sq_avx512(xa, n, fm);
            double sb = x16_sq_avx512(xa + j->xs, n, fm);
            x16_rms_finish_avx512(j, r, sa, inv_n, fm, nt);
            x16_rms_finish_avx512(j, r + 1, sb, inv_n, fm, nt);
        }
    }
    for (; r < j->rows; r++)
        x16_rms_finish_avx512(j, r, x16_sq_avx512(j->x + r * j->xs, n, fm), inv_n, fm, nt);
}

void X16_CAT(norm_rmsnorm_x16, X16_TIER)(const norm_x16_job *j)
{
    const int fm = j->fmt == NORM_X16_F16 ? N5_F16 : N5_BF16;
    if (norm_x16_stream_job(j)) {
        x16_rms_rows_avx512(j, fm, 1);
        _mm_sfence();
    } else {
        x16_rms_rows_avx512(j, fm, 0);
    }
}

/* ---- LayerNorm ---- */

/* After pass 2 around m0 (totals s0, s1, s2): norm_ln_finish() (pass 2 once more when it asks),
 * then the output or the rare path. */
static void x16_ln_finish_avx512(const norm_x16_job *j, size_t row, double s0, double s1,
                                    double s2, float m0, double inv_n, int fm, int nt)
{
    uint16_t *y = j->y + row * j->ys;
    const uint16_t *x = j->x + row * j->xs;
    float *mean = j->mean ? j->mean + row : NULL, *rstd = j->rstd ? j->rstd + row : NULL;
    const size_t n = j->dim;
    float mlo, r, mo, m0_next;
    int st = norm_ln_finish(s0, s1, s2, m0, inv_n, j->eps, 0, &mlo, &r, &mo, &m0_next);
    if (st == NORM_LN_AGAIN) {
        m0 = m0_next;
        acc_avx512 s, q;
        x16_acc_ss(x, n, m0, &s, &q, fm);
        s1 = lanes_total_avx512(s.hi, s.lo);
        s2 = lanes_total_avx512(q.hi, q.lo);
        st = norm_ln_finish(s0, s1, s2, m0, inv_n, j->eps, 1, &mlo, &r, &mo, &m0_next);
    }
    norm_ln_put_sums(j->sums ? j->sums + NORM_LN_SUMS_PER_ROW * row : NULL, s0, s1, s2);
    if (st != NORM_LN_OK) {
        norm_x16_layernorm_row_rare(j, y, x, mean, rstd);
        return;
    }
    x16_out o = {m0, mlo, r};
    x16_out_sel_avx512(j, y, x, o, 1, fm, nt);
    if (mean)
        *mean = mo;
    if (rstd)
        *rstd = r;
}

/* Pass 1 of a row -> (s0, m0). */
static float x16_ln_m0_avx512(const uint16_t *x, size_t n, double inv_k, int fm, double *s0)
{
    const float x0 = x16_widen1(x[0], fm == N5_F16 ? NORM_X16_F16 : NORM_X16_BF16);
    acc_avx512 a = x16_acc_sum(x, norm_ln_probe(n), x0, fm);
    *s0 = lanes_total_avx512(a.hi, a.lo);
    return norm_ln_m0(x0, *s0, inv_k);
}

/* Eight rows r .. r+7 (short rows): lane k of the double vectors computes exactly what
 * norm_ln_m0() and norm_ln_finish() compute for row k; the rows it does not finish at once
 * (pass 2 again, the rare path) go through x16_ln_finish_avx512(). */
static void x16_ln_rows8_avx512(const norm_x16_job *j, size_t r, size_t n, double inv_n,
                                   double inv_k, int fm, int nt)
{
    const uint16_t *x[8];
    acc_avx512 a[8], q[8];
    float x0[8], m0[8], mlo[8], rs[8], mean[8];
    double s0a[8], s1a[8], s2a[8];
    const int fmt = fm == N5_F16 ? NORM_X16_F16 : NORM_X16_BF16;
    for (int k = 0; k < 8; k++) {
        x[k] = j->x + (r + (size_t)k) * j->xs;
        x0[k] = x16_widen1(x[k][0], fmt);
    }
    const size_t np = norm_ln_probe(n);
    for (int k = 0; k < 8; k++)
        a[k] = x16_acc_sum(x[k], np, x0[k], fm);
    const __m512d s0 = lanes_total8_avx512(a);
    const __m256 vm0 = _mm512_cvtpd_ps(_mm512_add_pd(_mm512_cvtps_pd(_mm256_loadu_ps(x0)),
                                                     _mm512_mul_pd(s0, _mm512_set1_pd(inv_k))));
    _mm256_storeu_ps(m0, vm0);
    for (int k = 0; k < 8; k++)
        x16_acc_ss(x[k], n, m0[k], &a[k], &q[k], fm);
    const __m512d s1 = lanes_total8_avx512(a), s2 = lanes_total8_avx512(q);
    const __mmask8 ok = ln_finish8_avx512(s0, s1, s2, vm0, inv_n, j->eps, mlo, rs, mean);
    _mm512_storeu_pd(s0a, s0);
    _mm512_storeu_pd(s1a, s1);
    _mm512_storeu_pd(s2a, s2);
    for (int k = 0; k < 8; k++) {
        const size_t row = r + (size_t)k;
        if (!((ok >> k) & 1u)) {
            x16_ln_finish_avx512(j, row, s0a[k], s1a[k], s2a[k], m0[k], inv_n, fm, nt);
            continue;
        }
        norm_ln_put_sums(j->sums ? j->sums + NORM_LN_SUMS_PER_ROW * row : NULL, s0a[k], s1a[k],
                         s2a[k]);
        x16_out o = {m0[k], mlo[k], rs[k]};
        x16_out_sel_avx512(j, j->y + row * j->ys, x[k], o, 1, fm, nt);
        if (j->mean)
            j->mean[row] = mean[k];
        if (j->rstd)
            j->rstd[row] = rs[k];
    }
}

static void x16_ln_rows_avx512(const norm_x16_job *j, int fm, int nt)
{
    const size_t n = j->dim;
    const double inv_n = 1.0 / (double)n, inv_k = 1.0 / (double)norm_ln_probe(n);
    size_t r = 0;
    if (n <= X16_BATCH_MAX)
        for (; r + 8 <= j->rows; r += 8)
            x16_ln_rows8_avx512(j, r, n, inv_n, inv_k, fm, nt);
    /* as layernorm_avx512.c: longer rows go in pairs too when there is a weight or bias */
    if (n <= X16_PAIR_MAX || j->w || j->b) {
        /* two rows interleaved step by step, each exactly as one row alone */
        for (; r + 2 <= j->rows; r += 2) {
            const uint16_t *xa = j->x + r * j->xs, *xb = xa + j->xs;
            double sa0, sb0;
            const float ma = x16_ln_m0_avx512(xa, n, inv_k, fm, &sa0);
            const float mb = x16_ln_m0_avx512(xb, n, inv_k, fm, &sb0);
            acc_avx512 as, aq, bs, bq;
            x16_acc_ss(xa, n, ma, &as, &aq, fm);
            x16_acc_ss(xb, n, mb, &bs, &bq, fm);
            x16_ln_finish_avx512(j, r, sa0, lanes_total_avx512(as.hi, as.lo),
                                 lanes_total_avx512(aq.hi, aq.lo), ma, inv_n, fm, nt);
            x16_ln_finish_avx512(j, r + 1, sb0, lanes_total_avx512(bs.hi, bs.lo),
                                 lanes_total_avx512(bq.hi, bq.lo), mb, inv_n, fm, nt);
        }
    }
    for (; r < j->rows; r++) {
        const uint16_t *x = j->x + r * j->xs;
        double s0;
        const float m0 = x16_ln_m0_avx512(x, n, inv_k, fm, &s0);
        acc_avx512 s, q;
        x16_acc_ss(x, n, m0, &s, &q, fm);
        x16_ln_finish_avx512(j, r, s0, lanes_total_avx512(s.hi, s.lo),
                             lanes_total_avx512(q.hi, q.lo), m0, inv_n, fm, nt);
    }
}

void X16_CAT(norm_layernorm_x16, X16_TIER)(const norm_x16_job *j)
{
    const int fm = j->fmt == NORM_X16_F16 ? N5_F16 : N5_BF16;
    if (norm_x16_stream_job(j)) {
        x16_ln_rows_avx512(j, fm, 1);
        _mm_sfence();
    } else {
        x16_ln_rows_avx512(j, fm, 0);
    }
}
