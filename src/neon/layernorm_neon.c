/*
 * LayerNorm, AArch64 AdvSIMD. Bit-identical to norm_layernorm_f32_scalar (the canonical order:
 * src/norm_internal.h and src/neon/norm_neon.h).
 *
 * Per row: pass 1, s0 = total of (x - x[0]) over the probe (the first norm_ln_probe(n) elements)
 * -> m0; pass 2 (one pass), s1 = total of (x - m0) and s2 = total of its squares ->
 * norm_ln_finish() (once more around a better m0 if it says so, or the shared rare path); pass 3,
 * y = fma(((x - m0) - mlo) * rstd, w, b) with w = 1, b = +0 when NULL (an FMA with constant
 * vectors: fma(t, w, +0) differs from t*w in the sign of zero).
 *
 * Short rows (n <= NORM_LN_SHORT = 128, the order of session 23, "V3b"): the probe is the first
 * min(n, 32) elements, and each total is the trees of the row's one (partial) block with the
 * lanes combined in float (neon_lanes_total_f(): no TwoSum fold, no double lane tree). The job
 * kernel takes the short rows four at a time (ln_rows4_short(), session 24): pass 1 of the four
 * rows, their lane totals transposed (each row's lanes summed vertically for h = 8, 4, then
 * h = 2, 1 for the four rows at once, neon_lanes_total_f4(): lane k is row k's total), m0 of the
 * four rows in float64x2 pairs, the first pass 2 the same way; then per row ln_row_end() (the
 * finish, the repeated pass 2 or the rare path, pass 3). The last rows % 4 rows, and every row
 * of n > NORM_LN_SHORT, go to ln_row_short() or ln_row_long(), the two copies of ln_row() (sh a
 * constant). The tier has no one-row function of its own: the API's rows = 1 calls build a job
 * of one row (dispatch.c). The row is read from memory (L1) in each pass rather than held in the
 * 32 q registers (n = 128 would fill all of them). Time was not measured (the tier runs only
 * under qemu here); executed guest instructions per row under qemu-aarch64 (session 23), the
 * previous order -> this one: dim 7 727 -> 443, 16: 597 -> 308, 64: 876 -> 508, 100: 1205 ->
 * 738, 128: 1256 -> 784; (session 24) four rows at a time, 512-row jobs: dim 64 508 -> 483,
 * 128: 785 -> 769, 32 rows of dim 100: 743 -> 734 (a proxy: qemu's count, not time).
 */
#include "norm_neon.h"

/* One vector of pass 3. */
NEON_INLINE float32x4_t ln_out4(float32x4_t x, float32x4_t m0, float32x4_t mlo, float32x4_t r,
                                float32x4_t w, float32x4_t b)
{
    float32x4_t t = vmulq_f32(vsubq_f32(vsubq_f32(x, m0), mlo), r);
    return vfmaq_f32(b, t, w);
}

/* Pass 3 over a row; hw / hb (constants after inlining): weight / bias present (hw 2: the weight
 * factor 1 + w, LIBNORM_WEIGHT_PLUS_ONE). */
NEON_INLINE void ln_out(float *y, const float *x, const float *w, const float *b, size_t n,
                        float m0s, float mlos, float rs, int hw, int hb)
{
    const float32x4_t m0 = vdupq_n_f32(m0s), mlo = vdupq_n_f32(mlos), r = vdupq_n_f32(rs);
    const float32x4_t one = vdupq_n_f32(1.0f), zero = vdupq_n_f32(0.0f);
#define LN_WF(V) (hw == 2 ? vaddq_f32(one, (V)) : (V))
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        float32x4_t x0 = vld1q_f32(x + i), x1 = vld1q_f32(x + i + 4);
        float32x4_t x2 = vld1q_f32(x + i + 8), x3 = vld1q_f32(x + i + 12);
        float32x4_t w0 = one, w1 = one, w2 = one, w3 = one;
        float32x4_t b0 = zero, b1 = zero, b2 = zero, b3 = zero;
        if (hw) {
            w0 = LN_WF(vld1q_f32(w + i));
            w1 = LN_WF(vld1q_f32(w + i + 4));
            w2 = LN_WF(vld1q_f32(w + i + 8));
            w3 = LN_WF(vld1q_f32(w + i + 12));
        }
        if (hb) {
            b0 = vld1q_f32(b + i);
            b1 = vld1q_f32(b + i + 4);
            b2 = vld1q_f32(b + i + 8);
            b3 = vld1q_f32(b + i + 12);
        }
        vst1q_f32(y + i, ln_out4(x0, m0, mlo, r, w0, b0));
        vst1q_f32(y + i + 4, ln_out4(x1, m0, mlo, r, w1, b1));
        vst1q_f32(y + i + 8, ln_out4(x2, m0, mlo, r, w2, b2));
        vst1q_f32(y + i + 12, ln_out4(x3, m0, mlo, r, w3, b3));
    }
    for (; i + 4 <= n; i += 4) {
        float32x4_t wv = hw ? LN_WF(vld1q_f32(w + i)) : one;
        float32x4_t bv = hb ? vld1q_f32(b + i) : zero;
        vst1q_f32(y + i, ln_out4(vld1q_f32(x + i), m0, mlo, r, wv, bv));
    }
    if (i < n) {
        /* the last 1..3 floats, through local buffers (never past the row; in place is fine:
         * x is read before y is written) */
        size_t k = n - i;
        float bx[4] = {0}, bw[4] = {1.0f, 1.0f, 1.0f, 1.0f}, bb[4] = {0}, by[4];
        memcpy(bx, x + i, k * sizeof(float));
        if (hw)
            memcpy(bw, w + i, k * sizeof(float));
        if (hb)
            memcpy(bb, b + i, k * sizeof(float));
        vst1q_f32(by, ln_out4(vld1q_f32(bx), m0, mlo, r, hw ? LN_WF(vld1q_f32(bw)) : one,
                              vld1q_f32(bb)));
        memcpy(y + i, by, k * sizeof(float));
    }
#undef LN_WF
}

/* The totals of one pass over the first len elements of a row (tail, r: neon_tail_row()'s copy
 * of the row's partial leaf row when len is the whole row, r = 0 otherwise): *s of the leaves
 * x - shift and, for kind NEON_K_SUMSQ, *q of their squares. sh (a constant after inlining): the
 * row is short (n <= NORM_LN_SHORT): its one block's trees and the float lane totals; else
 * neon_reduce() (TwoSum fold, double lane totals). */
NEON_INLINE void ln_totals(const float *x, size_t len, const float *tail, int r, float shift,
                           int kind, int sh, double *s, double *q)
{
    if (sh) {
        float32x4_t ts[4], tq[4];
        neon_block_trees(x, (int)(len / NORM_LANES), tail, r, vdupq_n_f32(shift), kind, ts, tq);
        *s = neon_lanes_total_f(ts);
        if (NEON_HAS_SQ(kind))
            *q = neon_lanes_total_f(tq);
    } else {
        neon_reduce(x, len, tail, r, shift, kind, s, q);
    }
}

/* A row after pass 1 and the first pass 2 (totals s0, s1, s2 around m0): norm_ln_finish(), the
 * repeated pass 2 if it asks for it, the sums, the rare path or pass 3, mean / rstd. tail, r:
 * neon_tail_row()'s copy of the row's partial leaf row; sh as in ln_totals(). */
NEON_INLINE void ln_row_end(float *y, const float *x, const float *w, const float *b, size_t n,
                            float eps, double inv_n, float *mean, float *rstd, double *sums,
                            int wp, int sh, const float *tail, int r, double s0, double s1,
                            double s2, float m0)
{
    float mlo, rs, mo, m0_next;
    int st = norm_ln_finish(s0, s1, s2, m0, inv_n, eps, 0, &mlo, &rs, &mo, &m0_next);
    if (st == NORM_LN_AGAIN) {
        m0 = m0_next;
        ln_totals(x, n, tail, r, m0, NEON_K_SUMSQ, sh, &s1, &s2);
        st = norm_ln_finish(s0, s1, s2, m0, inv_n, eps, 1, &mlo, &rs, &mo, &m0_next);
    }
    norm_ln_put_sums(sums, s0, s1, s2);
    if (st != NORM_LN_OK) {
        norm_layernorm_row_rare(y, x, w, b, n, eps, mean, rstd, wp);
        return;
    }
    if (w && wp) {
        if (b)
            ln_out(y, x, w, b, n, m0, mlo, rs, 2, 1);
        else
            ln_out(y, x, w, b, n, m0, mlo, rs, 2, 0);
    } else if (w) {
        if (b)
            ln_out(y, x, w, b, n, m0, mlo, rs, 1, 1);
        else
            ln_out(y, x, w, b, n, m0, mlo, rs, 1, 0);
    } else {
        if (b)
            ln_out(y, x, w, b, n, m0, mlo, rs, 0, 1);
        else
            ln_out(y, x, w, b, n, m0, mlo, rs, 0, 0);
    }
    if (mean)
        *mean = mo;
    if (rstd)
        *rstd = rs;
}

/* One row; sh (a constant): n <= NORM_LN_SHORT (ln_row_short), else ln_row_long. */
NEON_INLINE void ln_row(float *y, const float *x, const float *w, const float *b, size_t n,
                        float eps, double inv_n, double inv_k, float *mean, float *rstd,
                        double *sums, int wp, int sh)
{
    float tail[NORM_LANES];
    int r = neon_tail_row(tail, x, n);
    double s0, s1, s2;
    /* pass 1 over the probe: the whole row, or its first norm_ln_probe(n) elements (32 or 512:
     * whole leaf rows, no partial one) */
    size_t k = norm_ln_probe(n);
    ln_totals(x, k, tail, k == n ? r : 0, x[0], NEON_K_SUM, sh, &s0, NULL);
    float m0 = norm_ln_m0(x[0], s0, inv_k);
    ln_totals(x, n, tail, r, m0, NEON_K_SUMSQ, sh, &s1, &s2);
    ln_row_end(y, x, w, b, n, eps, inv_n, mean, rstd, sums, wp, sh, tail, r, s0, s1, s2, m0);
}

/* A row of 1 <= n <= NORM_LN_SHORT floats (the V3b order). */
static void ln_row_short(float *y, const float *x, const float *w, const float *b, size_t n,
                         float eps, double inv_n, double inv_k, float *mean, float *rstd,
                         double *sums, int wp)
{
    if (n > NORM_LN_SHORT)
        __builtin_unreachable(); /* (the trees' pruning tests then fold: at most 8 leaf rows) */
    ln_row(y, x, w, b, n, eps, inv_n, inv_k, mean, rstd, sums, wp, 1);
}

/* A row of n > NORM_LN_SHORT floats. */
static void ln_row_long(float *y, const float *x, const float *w, const float *b, size_t n,
                        float eps, double inv_n, double inv_k, float *mean, float *rstd,
                        double *sums, int wp)
{
    ln_row(y, x, w, b, n, eps, inv_n, inv_k, mean, rstd, sums, wp, 0);
}

/* The float totals of one pass over the first len elements of four short rows x[k] (shift[k],
 * tail[k], r as in ln_totals()), transposed: lane k of *s / *q is row k's float total. */
NEON_INLINE void ln_totals4(const float *const x[4], size_t len, const float tail[4][NORM_LANES],
                            int r, const float shift[4], int kind, float32x4_t *s,
                            float32x4_t *q)
{
    float32x4_t as[4], aq[4];
#pragma GCC unroll 4
    for (int k = 0; k < 4; k++) {
        float32x4_t ts[4], tq[4];
#pragma GCC unroll 4
        for (int g = 0; g < 4; g++) /* (neon_block_trees(), its loop unrolled) */
            neon_block_tree_g(x[k], (int)(len / NORM_LANES), tail[k], r, vdupq_n_f32(shift[k]),
                              kind, g, &ts[g], &tq[g]);
        as[k] = neon_lanes_h84(ts);
        if (NEON_HAS_SQ(kind))
            aq[k] = neon_lanes_h84(tq);
    }
    *s = neon_lanes_total_f4(as);
    if (NEON_HAS_SQ(kind))
        *q = neon_lanes_total_f4(aq);
}

/* Four rows of 1 <= n <= NORM_LN_SHORT floats (rows r0 .. r0 + 3 of the job): pass 1 and the
 * first pass 2 of the four rows with their lane totals transposed (ln_totals4()), m0 of the four
 * rows in float64x2 pairs (norm_ln_m0()'s arithmetic: (float)((double)x0 + s0 * inv_k), the
 * multiply and the add rounded separately), then ln_row_end() per row. */
static void ln_rows4_short(const norm_job *j, size_t r0, double inv_n, double inv_k)
{
    const size_t n = j->dim;
    if (n > NORM_LN_SHORT)
        __builtin_unreachable();
    const float *x[4];
    float tail[4][NORM_LANES], x0[4], m0[4], f0[4], f1[4], f2[4];
    int r = 0;
    for (int k = 0; k < 4; k++) {
        x[k] = j->x + (r0 + (size_t)k) * j->xs;
        r = neon_tail_row(tail[k], x[k], n);
        x0[k] = x[k][0];
    }
    size_t kp = norm_ln_probe(n);
    float32x4_t s0, s1, s2;
    ln_totals4(x, kp, tail, kp == n ? r : 0, x0, NEON_K_SUM, &s0, NULL);
    const float32x4_t x0v = vld1q_f32(x0);
    const float64x2_t ik = vdupq_n_f64(inv_k);
    float64x2_t mlo = vaddq_f64(vcvt_f64_f32(vget_low_f32(x0v)),
                                vmulq_f64(vcvt_f64_f32(vget_low_f32(s0)), ik));
    float64x2_t mhi = vaddq_f64(vcvt_high_f64_f32(x0v), vmulq_f64(vcvt_high_f64_f32(s0), ik));
    vst1q_f32(m0, vcvt_high_f32_f64(vcvt_f32_f64(mlo), mhi));
    ln_totals4(x, n, tail, r, m0, NEON_K_SUMSQ, &s1, &s2);
    vst1q_f32(f0, s0);
    vst1q_f32(f1, s1);
    vst1q_f32(f2, s2);
    for (int k = 0; k < 4; k++) {
        size_t row = r0 + (size_t)k;
        ln_row_end(j->y + row * j->ys, x[k], j->w, j->b, n, j->eps, inv_n,
                   j->mean ? j->mean + row : NULL, j->rstd ? j->rstd + row : NULL,
                   norm_ln_sums_at(j, row), j->wplus, 1, tail[k], r, (double)f0[k],
                   (double)f1[k], (double)f2[k], m0[k]);
    }
}

void norm_layernorm_f32_neon(const norm_job *j)
{
    double inv_n = 1.0 / (double)j->dim, inv_k = 1.0 / (double)norm_ln_probe(j->dim);
    void (*row)(float *, const float *, const float *, const float *, size_t, float, double,
                double, float *, float *, double *, int) =
        j->dim <= NORM_LN_SHORT ? ln_row_short : ln_row_long;
    size_t r = 0;
    if (j->dim <= NORM_LN_SHORT)
        for (; r + 4 <= j->rows; r += 4)
            ln_rows4_short(j, r, inv_n, inv_k);
    for (; r < j->rows; r++)
        row(j->y + r * j->ys, j->x + r * j->xs, j->w, j->b, j->dim, j->eps, inv_n, inv_k,
            j->mean ? j->mean + r : NULL, j->rstd ? j->rstd + r : NULL, norm_ln_sums_at(j, r),
            j->wplus);
}
