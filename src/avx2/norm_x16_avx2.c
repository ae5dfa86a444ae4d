/*
 * bf16 / f16 activations, AVX2 tier (built with -mavx2 -mfma -mf16c): the f32 kernels' trees
 * (norm_avx2.h) reading the 16-bit rows directly (fm = N2_BF16 / N2_F16: each lane group's leaf
 * of 8 elements widened exactly in the register, vpmovzxwd + vpslld or vcvtph2ps; a row's last,
 * partial leaf by vpmaskmovd over the whole 4-byte pairs and the odd element by itself), the
 * output narrowed in the register (x16_narrow16_avx2: bf16 by integer round-to-nearest-even on
 * the bits; f16 by vcvtps2ph imm 0; every NaN the canonical one). The rows are never copied.
 * Jobs of bf16 rows with a float weight (X16_WP: dims up to X16_WP_MAX, X16_WP_ROWS rows or
 * more) deinterleave the weight and bias once into a stack buffer (x16_wp: up to 16 KiB), and
 * their output passes work in the trees' even / odd layout: a 32-byte row chunk widened by one
 * shift and one AND, the factors and biases plain loads from the buffer, the results narrowed
 * by a word blend (x16_narrow16eo_avx2) instead of unpacks, lane permutes of w and b and a
 * pack: 20 vector operations per 16 elements instead of 25 (the output is bound by their count
 * on the four vector pipes). In one process against the split layout (bench/x16ab.sh, HOT=32:
 * 32 rows in cache, the f32 op's time over the 16-bit op's, thread CPU min of 41): rms-bf16 768
 * 0.57 -> 0.61x, 4096 0.91 -> 0.98x, ln-bf16 768 0.60 -> 0.65x, 4096 0.90 -> 0.95x; from DRAM
 * ln-bf16 768 1.35 -> 1.45x (1 and 2 threads), 4096 within 2% either way.
 *
 * What it computes is src/norm_x16.h's definition, operation for operation the template
 * src/x16_tmpl.h (the scalar tier): the canonical totals of the widened row (the trees, fold and
 * lane total of layernorm_avx2.c / rmsnorm_avx2.c, whose f32 code is the same code with
 * fm = N2_F32), norm_ln_finish() / norm_rms_finish(), the shared rare paths
 * norm_x16_*_row_rare(), and the output pass
 *   LayerNorm fma(((x - m0) - mlo) * r, wf, b) (w NULL: wf = 1, b NULL: b = 0; fma(t, 1, b) is
 *             the template's t + b, and fma(t, w, 0) its fmaf(t, w, 0.0f)),
 *   RMSNorm   (x * r) * wf (w NULL: x * r),
 * wf = w, or 1 + w (plus1), w and b float or (wact) 16-bit values of the row's format widened
 * the same way.
 *
 * Scheduling as the f32 kernels (none of it changes an operation): rows of at most one block
 * go in batches (LayerNorm eight, RMSNorm four: the rows' trees, then their lane totals four to
 * a vector of doubles and the statistics with lane k doing row k's scalar arithmetic), the next
 * batch's statistics computed before the current batch's output; longer rows up to
 * X16_PAIR_MAX two at a time (LayerNorm) or with the next row's pass 1 before the current row's
 * output (RMSNorm); the rest one by one. Streaming jobs (norm_x16_stream_job() in
 * src/norm_x16.h) write y with non-temporal 32-byte stores past its first 32-byte boundary,
 * then sfence, and each row's output pass prefetches the next row the row code will read
 * (x16_pf() in src/x86/norm_x16_rows.h, one prefetch per 64 bytes).
 */
#include "norm_avx2.h"

#define X16_FM_F16 N2_F16
/* Rows taken one at a time (beyond X16_PAIR_MAX) prefetch the NEXT row during their output pass
 * (norm_x16_rows.h's default, two rows on, is the AVX-512 tier's): with bf16 rows of 4096 and
 * the 32 KiB weight and bias, two rows in flight besides the current one overfill the 48 KiB L1.
 * In one process, DRAM, bench/x16ab.sh build HEAD avx2 15 (f32 time / 16-bit time, thread CPU
 * min), 2 -> 1: ln-bf16 4096 1.52 -> 1.67x (1 thr), 1.47 -> 1.64x (2 thr); ln-f16 1.52 -> 1.67x,
 * 1.51 -> 1.63x; rms-bf16 2.34 -> 2.58x, 2.39 -> 2.65x; rms-f16 2.67 -> 2.88x, 2.61 -> 2.88x
 * (3: no change); a second run, 21 reps: ln-bf16 1.57 -> 1.69x, 1.55 -> 1.70x, ln-f16 1.49 ->
 * 1.60x, 1.52 -> 1.64x, rms-bf16 1.86 -> 2.00x, 1.87 -> 2.04x, rms-f16 1.83 -> 1.91x, 1.92 ->
 * 2.05x; the 768 rows (pairs: X16_AHEAD_PIPE / X16_AHEAD_PAIR) unchanged. */
#ifndef X16_AHEAD_ONE
#define X16_AHEAD_ONE 1
#endif
#include "../x86/norm_x16_rows.h"

#ifndef X16_PAIR_MAX
#define X16_PAIR_MAX 2048
#endif
/* X16_WP jobs: bf16 rows with a float weight, dims up to X16_WP_MAX, at least X16_WP_ROWS rows
 * (the deinterleaving, a pass over w and b, is paid once per job). The buffer is 8 * X16_WP_MAX
 * bytes of stack (w and b): 2048 keeps it at 16 KiB, under the largest frames elsewhere in the
 * library (the AVX-512 LayerNorm's streaming jobs, ~19 KiB; gcc -fstack-usage); 4096 (a 33 KiB
 * frame) measured another 5-8% in cache at dim 4096 and nothing from DRAM. */
#ifndef X16_WP_MAX
#define X16_WP_MAX 2048
#endif
#ifndef X16_WP_ROWS
#define X16_WP_ROWS 4
#endif
#ifndef X16_WP_PAD
#define X16_WP_PAD 24
#endif
/* The tier's own row flag (beside X16_NT and X16_FIN): the job is the j of an x16_wpjob. */
#define X16_WP 4

/* The bits of 8 floats rounded to bf16 in their high halves: u + 0x7fff + lsb, lsb = bit 16 of u
 * (x16_f32_to_bf16() without its NaN case), added as the subtraction of the compare's -1 (integer
 * ALU operations rather than a shift: the shifts and shuffles share two pipes on the cores
 * here). */
NORM_AVX2_INLINE __m256i x16_rne_avx2(__m256 f)
{
    const __m256i bit = _mm256_set1_epi32(0x10000), half = _mm256_set1_epi32(0x7fff);
    const __m256i u = _mm256_castps_si256(f);
    return _mm256_sub_epi32(_mm256_add_epi32(u, half),
                            _mm256_cmpeq_epi32(_mm256_and_si256(u, bit), bit));
}

/* 16 floats -> 16 values of fm, round to nearest even (bf16: on the bits, as x16_f32_to_bf16();
 * f16: vcvtps2ph imm 0), every NaN X16_BF16_NAN / X16_F16_NAN. a holds elements 0-7 and b 8-15,
 * or (split, bf16 only) a elements 0-3 and 8-11, b 4-7 and 12-15 (x16_ld16s_avx2's layout, which
 * vpackusdw puts back in order by itself). nn: no value is a NaN (the NaN fix-up left out). */
NORM_AVX2_INLINE __m256i x16_narrow16_avx2(__m256 a, __m256 b, int fm, int split, int nn)
{
    if (fm == N2_F16) {
        const __m256i h = _mm256_set_m128i(_mm256_cvtps_ph(b, 0), _mm256_cvtps_ph(a, 0));
        if (nn)
            return h;
        const __m256i nan = _mm256_cmpgt_epi16(_mm256_and_si256(h, _mm256_set1_epi16(0x7fff)),
                                               _mm256_set1_epi16(0x7c00));
        return _mm256_blendv_epi8(h, _mm256_set1_epi16((short)X16_F16_NAN), nan);
    }
    const __m256i qnan = _mm256_set1_epi32((int)X16_BF16_NAN);
    __m256i ra = _mm256_srli_epi32(x16_rne_avx2(a), 16);
    __m256i rb = _mm256_srli_epi32(x16_rne_avx2(b), 16);
    if (!nn) {
        ra = _mm256_blendv_epi8(ra, qnan, _mm256_castps_si256(_mm256_cmp_ps(a, a, _CMP_UNORD_Q)));
        rb = _mm256_blendv_epi8(rb, qnan, _mm256_castps_si256(_mm256_cmp_ps(b, b, _CMP_UNORD_Q)));
    }
    /* every value is below 2^16: the unsigned saturation never applies; packus interleaves the
     * 128-bit halves, the permute puts them back in order (the split layout needs none) */
    const __m256i h = _mm256_packus_epi32(ra, rb);
    return split ? h : _mm256_permute4x64_epi64(h, 0xD8);
}

/* 16 floats in the even / odd layout (e: elements 0, 2, .., 14, o: 1, 3, .., 15, as the bf16
 * trees' leaves) -> 16 bf16 in order, round to nearest even: e's rounded bits shifted down, o's
 * kept in the high halves, one word blend (no pack, no lane permute). nn as above. */
NORM_AVX2_INLINE __m256i x16_narrow16eo_avx2(__m256 e, __m256 o, int nn)
{
    __m256i re = _mm256_srli_epi32(x16_rne_avx2(e), 16), ro = x16_rne_avx2(o);
    if (!nn) {
        re = _mm256_blendv_epi8(re, _mm256_set1_epi32((int)X16_BF16_NAN),
                                _mm256_castps_si256(_mm256_cmp_ps(e, e, _CMP_UNORD_Q)));
        ro = _mm256_blendv_epi8(ro, _mm256_set1_epi32((int)(X16_BF16_NAN << 16)),
                                _mm256_castps_si256(_mm256_cmp_ps(o, o, _CMP_UNORD_Q)));
    }
    return _mm256_blend_epi16(re, ro, 0xAA);
}

/* 16 elements of f (N2_F32 or N2_BF16) at p, widened in the split layout: *lo = elements 0-3 and
 * 8-11, *hi = 4-7 and 12-15 (bf16: vpunpck{l,h}wd with zero, one shuffle per 8 elements instead
 * of vpmovzxwd + vpslld; floats: two vperm2f128). */
NORM_AVX2_INLINE void x16_ld16s_avx2(const void *p, int f, __m256 *lo, __m256 *hi)
{
    if (f == N2_F32) {
        const __m256 a = _mm256_loadu_ps((const float *)p);
        const __m256 b = _mm256_loadu_ps((const float *)p + 8);
        *lo = _mm256_permute2f128_ps(a, b, 0x20);
        *hi = _mm256_permute2f128_ps(a, b, 0x31);
        return;
    }
    const __m256i v = _mm256_loadu_si256((const __m256i *)p), z = _mm256_setzero_si256();
    *lo = _mm256_castsi256_ps(_mm256_unpacklo_epi16(z, v));
    *hi = _mm256_castsi256_ps(_mm256_unpackhi_epi16(z, v));
}

/* The first k (1..15) of 16 values of 2 bytes at p: the whole 4-byte pairs by vpmaskmovd, an odd
 * last element by itself. No other byte is written. */
NORM_AVX2_INLINE void x16_st16p_avx2(uint16_t *p, __m256i h, int k)
{
    _mm256_maskstore_epi32((int *)p, norm_mask_avx2(k >> 1), h);
    if (k & 1) {
        const __m256i d = _mm256_permutevar8x32_epi32(h, _mm256_set1_epi32(k >> 1));
        p[k - 1] = (uint16_t)_mm_cvtsi128_si32(_mm256_castsi256_si128(d));
    }
}

/* The results of 8 widened elements xv with their factors wv and biases bv (each used only when
 * present: hw, hb; pw: the factor is 1 + w). ln (LayerNorm), hw, pw and hb are compile-time
 * constants after inlining. */
NORM_AVX2_INLINE __m256 x16_calc_avx2(__m256 xv, __m256 wv, __m256 bv, x16_out o, int ln, int hw,
                                      int pw, int hb)
{
    const __m256 one = _mm256_set1_ps(1.0f);
    wv = !hw ? one : pw ? _mm256_add_ps(one, wv) : wv;
    if (!ln) {
        const __m256 t = _mm256_mul_ps(xv, _mm256_set1_ps(o.r));
        return hw ? _mm256_mul_ps(t, wv) : t;
    }
    const __m256 t = _mm256_mul_ps(
        _mm256_sub_ps(_mm256_sub_ps(xv, _mm256_set1_ps(o.m0)), _mm256_set1_ps(o.mlo)),
        _mm256_set1_ps(o.r));
    return _mm256_fmadd_ps(t, wv, hb ? bv : _mm256_setzero_ps());
}

/* 8 results at element i (masked: the first cnt (>= 1) lanes, m their mask; the others are not
 * read). wa: w and b are 16-bit values of fm. */
NORM_AVX2_INLINE __m256 x16_res_avx2(const uint16_t *x, const void *w, const void *b, size_t i,
                                     __m256i m, int cnt, int masked, x16_out o, int ln, int fm,
                                     int hw, int wa, int pw, int hb)
{
    const int wfm = wa ? fm : N2_F32;
#define X16_LD_(p, f) (masked ? norm_ld8m_avx2((p), m, cnt, (f)) : norm_ld8_avx2((p), (f)))
    const __m256 z = _mm256_setzero_ps();
    return x16_calc_avx2(X16_LD_(N2_AT(x, i, fm), fm), hw ? X16_LD_(N2_AT(w, i, wfm), wfm) : z,
                         ln && hb ? X16_LD_(N2_AT(b, i, wfm), wfm) : z, o, ln, hw, pw, hb);
#undef X16_LD_
}

/* 16 results at element i, in x16_narrow16_avx2's split layout (bf16 rows), narrowed. */
NORM_AVX2_INLINE __m256i x16_res16s_avx2(const uint16_t *x, const void *w, const void *b,
                                         size_t i, x16_out o, int ln, int fm, int hw, int wa,
                                         int pw, int hb, int nn)
{
    const int wfm = wa ? fm : N2_F32;
    __m256 x1, x2, w1 = _mm256_setzero_ps(), w2 = w1, b1 = w1, b2 = w1;
    x16_ld16s_avx2(N2_AT(x, i, fm), fm, &x1, &x2);
    if (hw)
        x16_ld16s_avx2(N2_AT(w, i, wfm), wfm, &w1, &w2);
    if (ln && hb)
        x16_ld16s_avx2(N2_AT(b, i, wfm), wfm, &b1, &b2);
    return x16_narrow16_avx2(x16_calc_avx2(x1, w1, b1, o, ln, hw, pw, hb),
                             x16_calc_avx2(x2, w2, b2, o, ln, hw, pw, hb), fm, 1, nn);
}

/* X16_WP jobs (bf16 rows, float weight): the weight and bias deinterleaved once per job into a
 * stack buffer, we[k] = w[2k], wo[k] = w[2k + 1] (be, bo likewise; NULL without a bias), so that
 * the output pass reads them in the even / odd layout of a bf16 leaf row with plain loads: the
 * 16 elements at i (any i) take their even-position factors from e + i / 2 and odd ones from
 * o + i / 2, e = we, o = wo for even i, e = wo, o = we + 1 for odd i (x16_out_avx2). */
typedef struct x16_wp {
    const float *we, *wo, *be, *bo;
} x16_wp;

/* 16 results at element i of a bf16 row of an X16_WP job, widened in the even / odd layout
 * (dwords shifted up / high halves masked, as the trees), narrowed by x16_narrow16eo_avx2: we,
 * wo, be, bo the even / odd factors and biases of this chunk's parity (see x16_wp). */
NORM_AVX2_INLINE __m256i x16_res16eo_avx2(const uint16_t *x, size_t i, const float *we,
                                          const float *wo, const float *be, const float *bo,
                                          x16_out o, int ln, int pw, int hb, int nn)
{
    const __m256i v = _mm256_loadu_si256((const __m256i *)(x + i));
    const __m256 xe = _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
    const __m256 xo = _mm256_castsi256_ps(_mm256_and_si256(v, _mm256_set1_epi32(-65536)));
    const size_t h = i >> 1;
    const __m256 z = _mm256_setzero_ps(), hbe = ln && hb ? _mm256_loadu_ps(be + h) : z,
                 hbo = ln && hb ? _mm256_loadu_ps(bo + h) : z;
    return x16_narrow16eo_avx2(
        x16_calc_avx2(xe, _mm256_loadu_ps(we + h), hbe, o, ln, 1, pw, hb),
        x16_calc_avx2(xo, _mm256_loadu_ps(wo + h), hbo, o, ln, 1, pw, hb), nn);
}

/* An X16_WP job: the job itself (what the rows and the rare paths read) and the deinterleaved
 * weight and bias the output passes read (x16_wp). */
typedef struct x16_wpjob {
    norm_x16_job j;
    x16_wp wp;
} x16_wpjob;

/* The output pass of one row (nt: non-temporal stores past y's first 32-byte boundary; nn: no
 * result can be a NaN, x16_nn() in norm_x16_rows.h: the full chunks leave the NaN fix-up out). */
NORM_AVX2_INLINE void x16_out_avx2(uint16_t *y, const uint16_t *x, const void *w, const void *b,
                                   size_t n, x16_out o, int ln, int fm, int hw, int wa, int pw,
                                   int hb, int nt, int nn, const x16_wp *wp)
{
    /* wp (X16_WP jobs, bf16 with a float weight; a compile-time NULL otherwise): the full chunks
     * read the deinterleaved factors and biases, the head and tail the job's own */
    const float *we = NULL, *wo = NULL, *be = NULL, *bo = NULL;
#define X16_RES_(I, M, C, MS) x16_res_avx2(x, w, b, (I), (M), (C), (MS), o, ln, fm, hw, wa, pw, hb)
    /* k (1..15) elements at I: the head before y's first 32-byte boundary and the tail */
#define X16_PART_(I, K)                                                                        \
    do {                                                                                       \
        const int k_ = (int)(K);                                                               \
        const __m256 a_ = X16_RES_((I), norm_mask_avx2(k_), k_, 1);                            \
        const __m256 b_ = k_ > 8 ? X16_RES_((I) + 8, norm_mask_avx2(k_ - 8), k_ - 8, 1)        \
                                 : _mm256_setzero_ps();                                        \
        x16_st16p_avx2(y + (I), x16_narrow16_avx2(a_, b_, fm, 0, 0), k_);                      \
    } while (0)
#define X16_FULL16_(I)                                                                         \
    do {                                                                                       \
        const __m256i h_ =                                                                     \
            wp ? x16_res16eo_avx2(x, (I), we, wo, be, bo, o, ln, pw, hb, nn)                   \
            : fm == N2_BF16                                                                    \
                ? x16_res16s_avx2(x, w, b, (I), o, ln, fm, hw, wa, pw, hb, nn)                 \
                : x16_narrow16_avx2(X16_RES_((I), all, 8, 0), X16_RES_((I) + 8, all, 8, 0), fm, \
                                    0, nn);                                                    \
        if (nt)                                                                                \
            _mm256_stream_si256((__m256i *)(y + (I)), h_);                                     \
        else                                                                                   \
            _mm256_storeu_si256((__m256i *)(y + (I)), h_);                                     \
    } while (0)
    const __m256i all = _mm256_set1_epi32(-1);
    size_t i = 0;
    if (nt && (i = norm_x16_nt_head(y, n)) != 0)
        X16_PART_(0, i);
    if (wp) {
        const int odd = (int)(i & 1);
        we = odd ? wp->wo : wp->we;
        wo = odd ? wp->we + 1 : wp->wo;
        be = odd ? wp->bo : wp->be;
        bo = odd ? wp->be + 1 : wp->bo;
    }
    if (nt) {
        /* one prefetch of o.pf (x itself when there is none: a hit) per 64 bytes of x: every
         * line of the row from pf + i on, its first and last lines by themselves */
        const uint16_t *pf = o.pf ? o.pf : x;
        X16_PREFETCH(pf);
        for (; n - i >= 32; i += 32) {
            X16_PREFETCH(pf + i);
            X16_FULL16_(i);
            X16_FULL16_(i + 16);
        }
        X16_PREFETCH(pf + i);
        X16_PREFETCH(pf + n - 1);
    }
    for (; n - i >= 16; i += 16)
        X16_FULL16_(i);
    if (i < n)
        X16_PART_(i, n - i);
#undef X16_FULL16_
#undef X16_PART_
#undef X16_RES_
}

/* The output pass with the weight / bias variant chosen at run time (one predictable branch per
 * row). */
NORM_AVX2_INLINE void x16_out_var_avx2(const norm_x16_job *j, uint16_t *y, const uint16_t *x,
                                       x16_out o, int ln, int fm, int nt, int nn, int k)
{
    const size_t n = j->dim;
    const void *w = j->w, *b = ln ? j->b : NULL;
    if (fm == N2_BF16 && (k & X16_WP)) {
        /* a float weight (x16_wp_job()), a bias or none, 1 + w or w */
        const x16_wp *wp = &((const x16_wpjob *)(const void *)j)->wp;
#define X16_OWP(PW, HB) x16_out_avx2(y, x, w, b, n, o, ln, fm, 1, 0, PW, HB, nt, nn, wp)
        if (j->plus1)
            b ? X16_OWP(1, 1) : X16_OWP(1, 0);
        else
            b ? X16_OWP(0, 1) : X16_OWP(0, 0);
#undef X16_OWP
        return;
    }
#define X16_O(HW, WA, PW, HB) x16_out_avx2(y, x, w, b, n, o, ln, fm, HW, WA, PW, HB, nt, nn, NULL)
    NORM_X16_OUT_VARIANTS(j, w, b, X16_O);
#undef X16_O
}

/* ---- the per-format instances ----
 * The trees and output loops are instantiated once per format (and the output once per store
 * kind and op) in functions of their own, as norm_x16_avx512.c does (inlined into every call
 * site of the row code they would multiply the compile time); the rows call them through the
 * selectors below (a predictable branch per call). */
#define X16_NOINLINE static __attribute__((noinline))
#define X16_INSTANCES(SUF, FM)                                                                 \
    /* totals of a row: of squares (RMSNorm pass 1), of x - c (LayerNorm pass 1), of x - c and \
     * its squares (LayerNorm pass 2) */                                                       \
    X16_NOINLINE double x16_sq_##SUF(const uint16_t *x, size_t n)                              \
    {                                                                                          \
        double unused, s;                                                                      \
        norm_reducef_avx2(x, n, 0.0f, 0, 0, 1, &unused, &s, FM);                               \
        return s;                                                                              \
    }                                                                                          \
    X16_NOINLINE double x16_sum_##SUF(const uint16_t *x, size_t n, float c)                    \
    {                                                                                          \
        double s, unused;                                                                      \
        norm_reducef_avx2(x, n, c, 1, 1, 0, &s, &unused, FM);                                  \
        return s;                                                                              \
    }                                                                                          \
    X16_NOINLINE void x16_ss_##SUF(const uint16_t *x, size_t n, float c, double *s1,           \
                                   double *s2)                                                 \
    {                                                                                          \
        norm_reducef_avx2(x, n, c, 1, 1, 1, s1, s2, FM);                                       \
    }                                                                                          \
    /* the same for a row of at most one block, to v[0..3] of the lane totals */               \
    X16_NOINLINE __m256d x16_h4sq_##SUF(const uint16_t *x, size_t n)                           \
    {                                                                                          \
        __m256 sa, qa, sb, qb;                                                                 \
        norm_blockf_avx2(x, n, 0.0f, 0, 0, 1, &sa, &qa, &sb, &qb, FM);                         \
        return norm_lanes_h4_avx2(qa, qb);                                                     \
    }                                                                                          \
    X16_NOINLINE __m256d x16_h4sum_##SUF(const uint16_t *x, size_t n, float c)                 \
    {                                                                                          \
        __m256 sa, qa, sb, qb;                                                                 \
        norm_blockf_avx2(x, n, c, 1, 1, 0, &sa, &qa, &sb, &qb, FM);                            \
        return norm_lanes_h4_avx2(sa, sb);                                                     \
    }                                                                                          \
    X16_NOINLINE void x16_h4ss_##SUF(const uint16_t *x, size_t n, float c, __m256d *s1,        \
                                     __m256d *s2)                                              \
    {                                                                                          \
        __m256 sa, qa, sb, qb;                                                                 \
        norm_blockf_avx2(x, n, c, 1, 1, 1, &sa, &qa, &sb, &qb, FM);                            \
        *s1 = norm_lanes_h4_avx2(sa, sb);                                                      \
        *s2 = norm_lanes_h4_avx2(qa, qb);                                                      \
    }                                                                                          \
    X16_NOINLINE void x16_out_ln_##SUF(const norm_x16_job *j, uint16_t *y, const uint16_t *x,  \
                                       x16_out o, int k)                                       \
    {                                                                                          \
        if (x16_nn(k, o))                                                                 \
            x16_out_var_avx2(j, y, x, o, 1, FM, 0, 1, k);                                         \
        else                                                                                   \
            x16_out_var_avx2(j, y, x, o, 1, FM, 0, 0, k);                                         \
    }                                                                                          \
    X16_NOINLINE void x16_out_ln_nt_##SUF(const norm_x16_job *j, uint16_t *y,                  \
                                          const uint16_t *x, x16_out o, int k)                 \
    {                                                                                          \
        if (x16_nn(k, o))                                                                 \
            x16_out_var_avx2(j, y, x, o, 1, FM, 1, 1, k);                                         \
        else                                                                                   \
            x16_out_var_avx2(j, y, x, o, 1, FM, 1, 0, k);                                         \
    }                                                                                          \
    X16_NOINLINE void x16_out_rms_##SUF(const norm_x16_job *j, uint16_t *y, const uint16_t *x, \
                                        x16_out o, int k)                                      \
    {                                                                                          \
        if (x16_nn(k, o))                                                                 \
            x16_out_var_avx2(j, y, x, o, 0, FM, 0, 1, k);                                         \
        else                                                                                   \
            x16_out_var_avx2(j, y, x, o, 0, FM, 0, 0, k);                                         \
    }                                                                                          \
    X16_NOINLINE void x16_out_rms_nt_##SUF(const norm_x16_job *j, uint16_t *y,                 \
                                           const uint16_t *x, x16_out o, int k)                \
    {                                                                                          \
        if (x16_nn(k, o))                                                                 \
            x16_out_var_avx2(j, y, x, o, 0, FM, 1, 1, k);                                         \
        else                                                                                   \
            x16_out_var_avx2(j, y, x, o, 0, FM, 1, 0, k);                                         \
    }
X16_INSTANCES(bf16, N2_BF16)
X16_INSTANCES(f16, N2_F16)
#undef X16_INSTANCES

#define X16_SEL(F, fm, ...) ((fm) == N2_F16 ? F##_f16(__VA_ARGS__) : F##_bf16(__VA_ARGS__))

static double x16_sum(const uint16_t *x, size_t n, float c, int fm)
{
    return X16_SEL(x16_sum, fm, x, n, c);
}

static void x16_ss(const uint16_t *x, size_t n, float c, double *s1, double *s2, int fm)
{
    X16_SEL(x16_ss, fm, x, n, c, s1, s2);
}


/* ---- RMSNorm ---- */

/* The statistics of four rows of at most one block each. */
typedef struct {
    float rstd[4];
    int ok; /* bit k: row k takes the ordinary path (else the rare one) */
} x16_rms4_avx2;

/* Pass 1 and norm_rms_finish() of rows row .. row + 3 (norm_rms_finish4_avx2: lane k doing
 * exactly row k's arithmetic). */
static void x16_rms_stats4_avx2(const norm_x16_job *j, size_t row, size_t n, double inv_n,
                                int fm, x16_rms4_avx2 *st)
{
    const uint16_t *x = j->x + row * j->xs;
    const size_t xs = j->xs;
    const __m256d u01 = norm_lanes_pair_avx2(X16_SEL(x16_h4sq, fm, x, n),
                                             X16_SEL(x16_h4sq, fm, x + xs, n));
    const __m256d u23 = norm_lanes_pair_avx2(X16_SEL(x16_h4sq, fm, x + 2 * xs, n),
                                             X16_SEL(x16_h4sq, fm, x + 3 * xs, n));
    const __m256d s2 = norm_lanes_total4_avx2(u01, u23);
    if (j->sums)
        _mm256_storeu_pd(j->sums + row, s2);
    st->ok = norm_rms_finish4_avx2(s2, inv_n, j->eps, st->rstd);
}

static void x16_rms_out4_avx2(const norm_x16_job *j, size_t row, const x16_rms4_avx2 *st, int fm,
                              int nt)
{
    for (int k = 0; k < 4; k++)
        x16_rms_put(j, row + (size_t)k, (st->ok >> k) & 1, st->rstd[k], fm, nt, 8);
}

static void x16_rms_rows_avx2(const norm_x16_job *j, int fm, int nt)
{
    const size_t n = j->dim;
    const double inv_n = 1.0 / (double)n;
    size_t row = 0;
    if (n <= NORM_BLOCK && j->rows >= 4) {
        /* four at a time, the next four's statistics before the current four's output (which
         * writes only their own y: the API forbids any overlap but exactly in place) */
        x16_rms4_avx2 cur, nxt;
        x16_rms_stats4_avx2(j, 0, n, inv_n, fm, &cur);
        for (; j->rows - row >= 8; row += 4) {
            x16_rms_stats4_avx2(j, row + 4, n, inv_n, fm, &nxt);
            x16_rms_out4_avx2(j, row, &cur, fm, nt);
            cur = nxt;
        }
        x16_rms_out4_avx2(j, row, &cur, fm, nt);
        row += 4;
    }
    if (n <= X16_PAIR_MAX && row < j->rows) {
        /* pass 1 of the next row before the output of this one */
        double s = X16_SEL(x16_sq, fm, j->x + row * j->xs, n);
        for (; row < j->rows; row++) {
            double next = row + 1 < j->rows ? X16_SEL(x16_sq, fm, j->x + (row + 1) * j->xs, n)
                                            : 0.0;
            x16_rms_emit(j, row, s, inv_n, fm, nt, X16_AHEAD_PAIR);
            s = next;
        }
        return;
    }
    for (; row < j->rows; row++)
        x16_rms_emit(j, row, X16_SEL(x16_sq, fm, j->x + row * j->xs, n), inv_n, fm, nt,
                     X16_AHEAD_ONE);
}

/* Whether job j (op ln) is an X16_WP job. */
static int x16_wp_job(const norm_x16_job *j, int fm)
{
    return fm == N2_BF16 && j->w && !j->wact && j->dim <= X16_WP_MAX && j->rows >= X16_WP_ROWS;
}

/* v[0..n) deinterleaved: e[k] = v[2k], o[k] = v[2k + 1]. */
static void x16_deint(const float *v, size_t n, float *e, float *o)
{
    size_t i = 0;
    for (; n - i >= 16 && n >= 16; i += 16) {
        const __m256 a = _mm256_loadu_ps(v + i), b = _mm256_loadu_ps(v + i + 8);
        /* [0 2 8 10 | 4 6 12 14] and [1 3 9 11 | 5 7 13 15], then the quadwords in order */
        const __m256 ev = _mm256_shuffle_ps(a, b, 0x88), od = _mm256_shuffle_ps(a, b, 0xdd);
#define X16_Q_(V) _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(V), 0xD8))
        _mm256_storeu_ps(e + i / 2, X16_Q_(ev));
        _mm256_storeu_ps(o + i / 2, X16_Q_(od));
#undef X16_Q_
    }
    for (; i < n; i++)
        (i & 1 ? o : e)[i / 2] = v[i];
}

/* The rows of job j with the flags k: through an x16_wpjob when x16_wp_job() (the deinterleaved
 * weight and bias on this stack frame), else as they are. */
static void x16_rows_wp_avx2(const norm_x16_job *j, int ln, int fm, int k,
                             void (*rows)(const norm_x16_job *, int, int))
{
    if (!x16_wp_job(j, fm)) {
        rows(j, fm, k);
        return;
    }
    /* the four arrays X16_WP_PAD floats more than their length apart: read side by side, arrays
     * a multiple of 4 KiB apart would map to the same L1 sets and alias the stores' addresses */
    _Alignas(32) float buf[2 * X16_WP_MAX + 4 * X16_WP_PAD];
    const size_t n = j->dim, ne = (n + 1) / 2, st = ne + X16_WP_PAD;
    const float *b = ln ? (const float *)j->b : NULL;
    x16_wpjob q;
    q.j = *j;
    x16_deint((const float *)j->w, n, buf, buf + st);
    q.wp.we = buf;
    q.wp.wo = buf + st;
    q.wp.be = q.wp.bo = NULL;
    if (b) {
        x16_deint(b, n, buf + 2 * st, buf + 3 * st);
        q.wp.be = buf + 2 * st;
        q.wp.bo = buf + 3 * st;
    }
    rows(&q.j, fm, k | X16_WP);
}

void norm_rmsnorm_x16_avx2(const norm_x16_job *j)
{
    const int fm = j->fmt == NORM_X16_F16 ? N2_F16 : N2_BF16;
    const int k = x16_flags(j, 0, fm);
    x16_rows_wp_avx2(j, 0, fm, k, x16_rms_rows_avx2);
    if (k & X16_NT)
        _mm_sfence();
}

/* ---- LayerNorm ---- */

/* Pass 1, pass 2 and the statistics of rows row .. row + 7 of at most one block each (the probe
 * is the whole row, inv_k = inv_n): the rows' trees, lane totals four rows to a vector,
 * m0 = norm_ln_m0() and norm_ln_finish4_avx2() with lane k computing exactly row k's. */
static void x16_ln_stats8_avx2(const norm_x16_job *j, size_t row, size_t n, double inv_n, int fm,
                               norm_ln_st4_avx2 *st)
{
    const uint16_t *xr = j->x + row * j->xs;
    const size_t xs = j->xs;
    const __m256d vinv = _mm256_set1_pd(inv_n);
    __m256d s0[2], vm0[2], s1[2], s2[2];
    float x0[8];
    for (int k = 0; k < 8; k++)
        x0[k] = x16_x0(xr + (size_t)k * xs, fm);
    for (int g = 0; g < 2; g++) {
        __m256d u[2];
        for (int h = 0; h < 2; h++) {
            const int k = 4 * g + 2 * h;
            const uint16_t *xa = xr + (size_t)k * xs, *xb = xa + xs;
            u[h] = norm_lanes_pair_avx2(X16_SEL(x16_h4sum, fm, xa, n, x0[k]),
                                        X16_SEL(x16_h4sum, fm, xb, n, x0[k + 1]));
        }
        s0[g] = norm_lanes_total4_avx2(u[0], u[1]);
    }
    for (int g = 0; g < 2; g++) {
        /* m0 = (float)((double)x0 + s0 * inv_k) */
        const __m128 m0 = _mm256_cvtpd_ps(_mm256_add_pd(_mm256_cvtps_pd(_mm_loadu_ps(x0 + 4 * g)),
                                                        _mm256_mul_pd(s0[g], vinv)));
        _mm_storeu_ps(st->m0 + 4 * g, m0);
        vm0[g] = _mm256_cvtps_pd(m0);
    }
    for (int g = 0; g < 2; g++) {
        __m256d u[2], w[2];
        for (int h = 0; h < 2; h++) {
            __m256d v[2], q[2];
            for (int i = 0; i < 2; i++) {
                const int k = 4 * g + 2 * h + i;
                X16_SEL(x16_h4ss, fm, xr + (size_t)k * xs, n, st->m0[k], &v[i], &q[i]);
            }
            u[h] = norm_lanes_pair_avx2(v[0], v[1]);
            w[h] = norm_lanes_pair_avx2(q[0], q[1]);
        }
        s1[g] = norm_lanes_total4_avx2(u[0], u[1]);
        s2[g] = norm_lanes_total4_avx2(w[0], w[1]);
    }
    st->ok = 0;
    for (int g = 0; g < 2; g++)
        norm_ln_finish4_avx2(st, g, s0[g], s1[g], s2[g], vm0[g], vinv, j->eps);
}

/* The output and statistics of rows row .. row + 7; a row the first pass 2 did not finish goes
 * through x16_ln_emit_avx2() (norm_ln_finish(): pass 2 again, or the rare path). */
static void x16_ln_out8_avx2(const norm_x16_job *j, size_t row, const norm_ln_st4_avx2 *st,
                             double inv_n, int fm, int nt)
{
    for (int k = 0; k < 8; k++) {
        const size_t r = row + (size_t)k;
        if ((st->ok >> k) & 1)
            x16_ln_put(j, r, st->s0[k], st->s1[k], st->s2[k], st->m0[k], st->mlo[k],
                       st->rstd[k], st->mean[k], fm, nt, 16);
        else
            x16_ln_emit(j, r, st->s0[k], st->s1[k], st->s2[k], st->m0[k], inv_n, fm, nt, 16);
    }
}

static void x16_ln_rows_avx2(const norm_x16_job *j, int fm, int nt)
{
    const size_t n = j->dim;
    const double inv_n = 1.0 / (double)n, inv_k = 1.0 / (double)norm_ln_probe(n);
    size_t row = 0;
    if (n <= NORM_BLOCK && j->rows >= 8) {
        /* eight at a time, the next eight's statistics before the current eight's output */
        norm_ln_st4_avx2 st[2];
        int c = 0;
        x16_ln_stats8_avx2(j, 0, n, inv_n, fm, &st[0]);
        for (; j->rows - row >= 16; row += 8, c ^= 1) {
            x16_ln_stats8_avx2(j, row + 8, n, inv_n, fm, &st[c ^ 1]);
            x16_ln_out8_avx2(j, row, &st[c], inv_n, fm, nt);
        }
        x16_ln_out8_avx2(j, row, &st[c], inv_n, fm, nt);
        row += 8;
    }
    /* as layernorm_avx2.c: rows up to X16_PAIR_MAX two at a time */
    if (n <= X16_PAIR_MAX)
        row = x16_ln_pairs(j, row, inv_n, inv_k, fm, nt);
    for (; row < j->rows; row++)
        x16_ln_row(j, row, inv_n, inv_k, fm, nt);
}

/* n (<= NORM_LN_SHORT) elements of fm (N2_BF16: 8 consecutive ones at a time, or N2_F16) at s,
 * widened exactly into d[0 .. n) (d has room for the whole last vector: +0 past n). */
static void x16_widen_avx2(float *d, const void *s, size_t n, int fm)
{
    for (size_t i = 0; i < n; i += 8)
        _mm256_storeu_ps(d + i, n - i >= 8 ? norm_ld8_avx2(N2_AT(s, i, fm), fm)
                                           : norm_ld8m_avx2(N2_AT(s, i, fm),
                                                            norm_mask_avx2((ptrdiff_t)(n - i)),
                                                            (int)(n - i), fm));
}

/* LayerNorm rows of n <= NORM_LN_SHORT, one by one: the row (and, once per job, w and b when
 * 16-bit) widened exactly into float buffers, the f32 kernel's short-row function
 * (norm_ln_short_f32_avx2(): the same canonical operations on the same values, 1 + w included)
 * into a float buffer, narrowed by x16_narrow16_avx2() (the rounding of the output pass); a
 * rare row takes the 16-bit rare path. */
static void x16_ln_short_avx2(const norm_x16_job *j, int fm)
{
    const size_t n = j->dim;
    _Alignas(32) float xb[NORM_LN_SHORT], yb[NORM_LN_SHORT] = {0}, wb[NORM_LN_SHORT],
        bb[NORM_LN_SHORT];
    const float *w = (const float *)j->w, *b = (const float *)j->b;
    if (j->wact) {
        if (w)
            x16_widen_avx2(wb, j->w, n, fm);
        if (b)
            x16_widen_avx2(bb, j->b, n, fm);
        w = w ? wb : NULL;
        b = b ? bb : NULL;
    }
    for (size_t r = 0; r < j->rows; r++) {
        const uint16_t *x = j->x + r * j->xs;
        uint16_t *y = j->y + r * j->ys;
        float *mean = j->mean ? j->mean + r : NULL, *rstd = j->rstd ? j->rstd + r : NULL;
        x16_widen_avx2(xb, x, n, fm);
        if (norm_ln_short_f32_avx2(yb, xb, w, b, n, j->eps, j->plus1, mean, rstd,
                                   j->sums ? j->sums + NORM_LN_SUMS_PER_ROW * r : NULL)) {
            norm_x16_layernorm_row_rare(j, y, x, mean, rstd);
            continue;
        }
        size_t i = 0;
        for (; n - i >= 16; i += 16)
            _mm256_storeu_si256((__m256i *)(y + i),
                                x16_narrow16_avx2(_mm256_load_ps(yb + i),
                                                  _mm256_load_ps(yb + i + 8), fm, 0, 0));
        if (i < n)
            x16_st16p_avx2(y + i,
                           x16_narrow16_avx2(_mm256_load_ps(yb + i), _mm256_load_ps(yb + i + 8),
                                             fm, 0, 0),
                           (int)(n - i));
    }
}

void norm_layernorm_x16_avx2(const norm_x16_job *j)
{
    const int fm = j->fmt == NORM_X16_F16 ? N2_F16 : N2_BF16;
    if (j->dim <= NORM_LN_SHORT) {
        x16_ln_short_avx2(j, fm);
        return;
    }
    const int k = x16_flags(j, 1, fm);
    x16_rows_wp_avx2(j, 1, fm, k, x16_ln_rows_avx2);
    if (k & X16_NT)
        _mm_sfence();
}
