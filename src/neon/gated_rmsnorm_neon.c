/*
 * Gated RMSNorm, AArch64 AdvSIMD: bit-identical to norm_gated_rmsnorm_f32_scalar (the definition:
 * src/scalar/gated_rmsnorm_scalar.c). The exp is SLEEF's Sleef_expf4_u10advsimd (the FMA variant,
 * by its explicit name: the same bits as the scalar tier's port, tests/test_gate_exp.c); the
 * total of squares of each group is the RMSNorm reduction of norm_neon.h with the group as the
 * row. The row driver (spans of gates computed ahead into a stack buffer, then per group the
 * total, the finish and the output pass) is src/gated_tmpl.h, as for the x86 tiers. The last
 * 1..3 floats of a gate loop or an output pass go through local buffers (no masked loads;
 * nothing is read or written past the end).
 */
#include <sleef.h>

#include "norm_neon.h"

static __attribute__((noinline)) double gt_total_sq(const float *x, size_t n)
{
    float tail[NORM_LANES];
    int r = neon_tail_row(tail, x, n);
    double s2;
    neon_reduce(x, n, tail, r, 0.0f, NEON_K_SQ, NULL, &s2);
    return s2;
}

/* The exp is called through a pointer loaded once per gate loop (held in a callee-saved
 * register: one indirect call per vector, no PLT stub). */
typedef float32x4_t (*exp4_fn)(float32x4_t);

/* g = sigmoid(z) = 1 / (1 + e) or silu(z) = z / (1 + e), e = expf(-z); sig a constant. */
NEON_INLINE float32x4_t gate_neon(exp4_fn ex, float32x4_t z, int sig)
{
    const float32x4_t one = vdupq_n_f32(1.0f);
    float32x4_t e = ex(vnegq_f32(z));
    float32x4_t d = vaddq_f32(one, e);
    return vdivq_f32(sig ? one : z, d);
}

/* 4 gates from xv, zv; mode as gt_gates. */
NEON_INLINE float32x4_t gates4_neon(exp4_fn ex, float32x4_t xv, float32x4_t zv, int mode)
{
    float32x4_t v = gate_neon(ex, zv, mode == 2);
    return mode == 1 ? vmulq_f32(xv, v) : v;
}

NEON_INLINE void gt_gates_loop(float *g, const float *x, const float *z, float *yp, size_t n,
                               int mode)
{
    exp4_fn ex = Sleef_expf4_u10advsimd;
    __asm__("" : "+r"(ex)); /* the compiler no longer knows the callee: an indirect call */
    const float32x4_t zero = vdupq_n_f32(0.0f);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        if ((i & 15) == 0) /* once per 64 bytes */
            norm_gated_prefetch(x, yp, i, mode);
        vst1q_f32(g + i, gates4_neon(ex, mode == 1 ? vld1q_f32(x + i) : zero, vld1q_f32(z + i),
                                     mode));
    }
    if (i < n) {
        const size_t k = n - i;
        float bx[4] = {0}, bz[4] = {0}, bg[4];
        if (mode == 1)
            memcpy(bx, x + i, k * sizeof(float));
        memcpy(bz, z + i, k * sizeof(float));
        vst1q_f32(bg, gates4_neon(ex, vld1q_f32(bx), vld1q_f32(bz), mode));
        memcpy(g + i, bg, k * sizeof(float));
    }
}

/* 4 outputs: AFTER ((v * r) * wf) * g, BEFORE (v * r) * wf; a NaN lane becomes NAN. */
NEON_INLINE float32x4_t out4_neon(float32x4_t v, float32x4_t g, float32x4_t wv, float32x4_t r,
                                  int hw, int po, int mode)
{
    float32x4_t t = vmulq_f32(v, r);
    if (hw)
        t = vmulq_f32(t, po ? vaddq_f32(vdupq_n_f32(1.0f), wv) : wv);
    if (mode != 1)
        t = vmulq_f32(t, g);
    /* a NaN lane becomes the quiet NaN NAN (the scalar tier's canon()) */
    return vbslq_f32(vceqq_f32(t, t), t, vdupq_n_f32(NAN));
}

NEON_INLINE void gt_out(float *y, const float *v, const float *g, const float *w, size_t n,
                        float rs, int hw, int po, int mode)
{
    const float32x4_t r = vdupq_n_f32(rs), zero = vdupq_n_f32(0.0f);
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        vst1q_f32(y + i, out4_neon(vld1q_f32(v + i), mode != 1 ? vld1q_f32(g + i) : zero,
                                   hw ? vld1q_f32(w + i) : zero, r, hw, po, mode));
    if (i < n) {
        const size_t k = n - i;
        float bv[4] = {0}, bg[4] = {0}, bw[4] = {0}, by[4];
        memcpy(bv, v + i, k * sizeof(float));
        if (mode != 1)
            memcpy(bg, g + i, k * sizeof(float));
        if (hw)
            memcpy(bw, w + i, k * sizeof(float));
        vst1q_f32(by, out4_neon(vld1q_f32(bv), vld1q_f32(bg), vld1q_f32(bw), r, hw, po, mode));
        memcpy(y + i, by, k * sizeof(float));
    }
}

#define GT_TIER neon
#define GT_INLINE NEON_INLINE
#include "../gated_tmpl.h"
