/*
 * Gated RMSNorm, AArch64 AdvSIMD: bit-identical to norm_gated_rmsnorm_f32_scalar (the definition:
 * src/scalar/gated_rmsnorm_scalar.c). The exp is SLEEF's Sleef_expf4_u10advsimd (the FMA variant,
 * by its explicit name: the same bits as the scalar tier's port, tests/test_gate_exp.c); the
 * total of squares of each group is the RMSNorm reduction of norm_neon.h with the group as the
 * row. Per group as the AVX2 tier (gated_rmsnorm_avx2.c); the last 1..3 floats of a group go
 * through local buffers (no masked loads; the group is never read past its end).
 */
#include <sleef.h>

#include "norm_neon.h"

static __attribute__((noinline)) double gated_total_sq_neon(const float *x, size_t n)
{
    float tail[NORM_LANES];
    int r = neon_tail_row(tail, x, n);
    double s2;
    neon_reduce(x, n, tail, r, 0.0f, NEON_K_SQ, NULL, &s2);
    return s2;
}

/* g = sigmoid(z) = 1 / (1 + e) or silu(z) = z / (1 + e), e = expf(-z); sig a constant. */
NEON_INLINE float32x4_t gate_neon(float32x4_t z, int sig)
{
    const float32x4_t one = vdupq_n_f32(1.0f);
    float32x4_t e = Sleef_expf4_u10advsimd(vnegq_f32(z));
    float32x4_t d = vaddq_f32(one, e);
    return vdivq_f32(sig ? one : z, d);
}

/* 4 elements: mode 0/2 (AFTER) y = ((x * r) * wf) * g(z); mode 1 (BEFORE) u = x * silu(z) when
 * first, else (u * r) * wf with u in xv. */
NEON_INLINE float32x4_t step_neon(float32x4_t xv, float32x4_t zv, float32x4_t wv, float32x4_t r,
                                  int hw, int po, int mode, int first)
{
    if (mode == 1 && first)
        return vmulq_f32(xv, gate_neon(zv, 0));
    float32x4_t t = vmulq_f32(xv, r);
    if (hw)
        t = vmulq_f32(t, po ? vaddq_f32(vdupq_n_f32(1.0f), wv) : wv);
    if (mode != 1)
        t = vmulq_f32(t, gate_neon(zv, mode == 2));
    /* a NaN lane becomes the quiet NaN NAN (the scalar tier's canon()) */
    return vbslq_f32(vceqq_f32(t, t), t, vdupq_n_f32(NAN));
}

NEON_INLINE void pass_neon(float *y, const float *x, const float *z, const float *w, size_t n,
                           float rf, int hw, int po, int mode, int first)
{
    const float32x4_t r = vdupq_n_f32(rf), zero = vdupq_n_f32(0.0f);
    const float *src = mode == 1 && !first ? y : x;
    const int need_z = mode != 1 || first;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        float32x4_t zv = need_z ? vld1q_f32(z + i) : zero;
        float32x4_t wv = hw ? vld1q_f32(w + i) : zero;
        vst1q_f32(y + i, step_neon(vld1q_f32(src + i), zv, wv, r, hw, po, mode, first));
    }
    if (i < n) {
        size_t k = n - i;
        float bx[4] = {0}, bz[4] = {0}, bw[4] = {0}, by[4];
        memcpy(bx, src + i, k * sizeof(float));
        if (need_z)
            memcpy(bz, z + i, k * sizeof(float));
        if (hw)
            memcpy(bw, w + i, k * sizeof(float));
        vst1q_f32(by, step_neon(vld1q_f32(bx), vld1q_f32(bz), vld1q_f32(bw), r, hw, po, mode,
                                first));
        memcpy(y + i, by, k * sizeof(float));
    }
}

NEON_INLINE void gated_rows_neon(const norm_gated_job *j, int hw, int po, int mode)
{
    const size_t G = j->group, ng = j->dim / G;
    const double inv_n = 1.0 / (double)G;
    for (size_t r = 0; r < j->rows; r++) {
        for (size_t g = 0; g < ng; g++) {
            const size_t t = r * ng + g;
            const float *x = j->x + r * j->xs + g * G, *z = j->z + r * j->xs + g * G;
            const float *w = hw ? j->w + g * G : NULL;
            float *y = j->y + r * j->ys + g * G;
            if (mode == 1)
                pass_neon(y, x, z, w, G, 0.0f, hw, po, 1, 1);
            const float *v = mode == 1 ? y : x;
            double s2 = gated_total_sq_neon(v, G);
            if (j->sums)
                j->sums[t] = s2;
            float rs;
            if (norm_rms_finish(s2, inv_n, j->eps, &rs)) {
                norm_gated_group_rare(y, v, z, w, G, j->eps, mode, po,
                                      j->rstd ? j->rstd + t : NULL);
                continue;
            }
            pass_neon(y, x, z, w, G, rs, hw, po, mode, 0);
            if (j->rstd)
                j->rstd[t] = rs;
        }
    }
}

void norm_gated_rmsnorm_f32_neon(const norm_gated_job *j)
{
    const int hw = j->w != NULL, po = hw && j->plus_one;
#define GATED_MODES(HW, PO)                                                                    \
    do {                                                                                       \
        if (j->gate == NORM_GATE_SILU_BEFORE)                                                  \
            gated_rows_neon(j, HW, PO, 1);                                                     \
        else if (j->gate == NORM_GATE_SIGMOID_AFTER)                                           \
            gated_rows_neon(j, HW, PO, 2);                                                     \
        else                                                                                   \
            gated_rows_neon(j, HW, PO, 0);                                                     \
    } while (0)
    if (!hw)
        GATED_MODES(0, 0);
    else if (po)
        GATED_MODES(1, 1);
    else
        GATED_MODES(1, 0);
#undef GATED_MODES
}
