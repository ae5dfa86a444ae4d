/*
 * RMSNorm, AArch64 AdvSIMD. Bit-identical to norm_rmsnorm_f32_scalar (the canonical order:
 * src/norm_internal.h and src/neon/norm_neon.h).
 *
 * Per row: pass 1, s2 = total of squares of x -> norm_rms_finish() (or the shared rare path);
 * pass 2, y = (x * rstd) * w (w NULL: y = x * rstd).
 */
#include "norm_neon.h"

NEON_INLINE float32x4_t rms_out4(float32x4_t x, float32x4_t r, float32x4_t w, int hw)
{
    float32x4_t t = vmulq_f32(x, r);
    return hw ? vmulq_f32(t, w) : t;
}

/* Pass 2 over a row; hw (a constant after inlining): 0 no weight, 1 weight, 2 the weight factor
 * 1 + w (LIBNORM_WEIGHT_PLUS_ONE). */
NEON_INLINE void rms_out(float *y, const float *x, const float *w, size_t n, float rs, int hw)
{
    const float32x4_t r = vdupq_n_f32(rs), one = vdupq_n_f32(1.0f);
#define RMS_WF(V) (hw == 2 ? vaddq_f32(one, (V)) : (V))
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        float32x4_t x0 = vld1q_f32(x + i), x1 = vld1q_f32(x + i + 4);
        float32x4_t x2 = vld1q_f32(x + i + 8), x3 = vld1q_f32(x + i + 12);
        float32x4_t w0 = one, w1 = one, w2 = one, w3 = one;
        if (hw) {
            w0 = RMS_WF(vld1q_f32(w + i));
            w1 = RMS_WF(vld1q_f32(w + i + 4));
            w2 = RMS_WF(vld1q_f32(w + i + 8));
            w3 = RMS_WF(vld1q_f32(w + i + 12));
        }
        vst1q_f32(y + i, rms_out4(x0, r, w0, hw));
        vst1q_f32(y + i + 4, rms_out4(x1, r, w1, hw));
        vst1q_f32(y + i + 8, rms_out4(x2, r, w2, hw));
        vst1q_f32(y + i + 12, rms_out4(x3, r, w3, hw));
    }
    for (; i + 4 <= n; i += 4)
        vst1q_f32(y + i, rms_out4(vld1q_f32(x + i), r, hw ? RMS_WF(vld1q_f32(w + i)) : one, hw));
    if (i < n) {
        /* the last 1..3 floats, through local buffers (in place is fine: x is read first) */
        size_t k = n - i;
        float bx[4] = {0}, bw[4] = {1.0f, 1.0f, 1.0f, 1.0f}, by[4];
        memcpy(bx, x + i, k * sizeof(float));
        if (hw)
            memcpy(bw, w + i, k * sizeof(float));
        vst1q_f32(by, rms_out4(vld1q_f32(bx), r, hw ? RMS_WF(vld1q_f32(bw)) : one, hw));
        memcpy(y + i, by, k * sizeof(float));
    }
#undef RMS_WF
}

static void rms_row(float *y, const float *x, const float *w, size_t n, float eps, double inv_n,
                    float *rstd, double *sums, int kind, int wp)
{
    float tail[NORM_LANES];
    int r = neon_tail_row(tail, x, n);
    double s2;
    neon_reduce(x, n, tail, r, 0.0f, NEON_K_SQ, NULL, &s2);
    if (sums)
        *sums = s2;
    float rs;
    if (norm_rmsk_finish(kind, s2, inv_n, eps, &rs)) {
        norm_rmsk_row_rare(kind, y, x, w, n, eps, rstd, wp);
        return;
    }
    if (w && wp)
        rms_out(y, x, w, n, rs, 2);
    else if (w)
        rms_out(y, x, w, n, rs, 1);
    else
        rms_out(y, x, w, n, rs, 0);
    if (rstd)
        *rstd = rs;
}

void norm_rmsnorm_f32_neon(const norm_job *j)
{
    double inv_n = 1.0 / (double)j->dim;
    for (size_t r = 0; r < j->rows; r++)
        rms_row(j->y + r * j->ys, j->x + r * j->xs, j->w, j->dim, j->eps, inv_n,
                j->rstd ? j->rstd + r : NULL, j->sums ? j->sums + r : NULL, j->kind, j->wplus);
}
