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
 * kernel sends each row to ln_row_short() or ln_row_long(), the two copies of ln_row() (sh a
 * constant); the repeated pass 2 and the rare path are in the same function. The tier has no
 * one-row function of its own: the API's rows = 1 calls build a job of one row (dispatch.c).
 * The row is read from memory (L1) in each pass rather than held in the 32 q registers (n = 128
 * would fill all of them). Time was not measured (the tier runs only under qemu here); executed
 * instructions per row under qemu-aarch64 (session 23), the previous order -> this one: dim 7
 * 727 -> 443, 16: 597 -> 308, 64: 876 -> 508, 100: 1205 -> 738, 128: 1256 -> 784.
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

void norm_layernorm_f32_neon(const norm_job *j)
{
    double inv_n = 1.0 / (double)j->dim, inv_k = 1.0 / (double)norm_ln_probe(j->dim);
    void (*row)(float *, const float *, const float *, const float *, size_t, float, double,
                double, float *, float *, double *, int) =
        j->dim <= NORM_LN_SHORT ? ln_row_short : ln_row_long;
    for (size_t r = 0; r < j->rows; r++)
        row(j->y + r * j->ys, j->x + r * j->xs, j->w, j->b, j->dim, j->eps, inv_n, inv_k,
            j->mean ? j->mean + r : NULL, j->rstd ? j->rstd + r : NULL, norm_ln_sums_at(j, r),
            j->wplus);
}
