/*
 * The residual add of the fused add + norm, AArch64 AdvSIMD: h[i] = x[i] + r[i] (fadd: the same
 * IEEE float addition as the scalar tier's), a NaN x[i] giving that NaN quieted
 * (src/scalar/add_scalar.c: the NaN of a sum pinned). h may be x or r exactly: every vector is loaded
 * before the store to the same addresses.
 */
#include "norm_neon.h"

/* x + r, and x quieted where x is a NaN. */
NEON_INLINE float32x4_t add_pin_neon(float32x4_t x, float32x4_t r)
{
    const uint32x4_t q = vdupq_n_u32(0x00400000u);
    float32x4_t xq = vreinterpretq_f32_u32(vorrq_u32(vreinterpretq_u32_f32(x), q));
    return vbslq_f32(vceqq_f32(x, x), vaddq_f32(x, r), xq);
}

void norm_add_f32_neon(float *h, const float *x, const float *r, size_t n)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        float32x4_t a0 = add_pin_neon(vld1q_f32(x + i), vld1q_f32(r + i));
        float32x4_t a1 = add_pin_neon(vld1q_f32(x + i + 4), vld1q_f32(r + i + 4));
        float32x4_t a2 = add_pin_neon(vld1q_f32(x + i + 8), vld1q_f32(r + i + 8));
        float32x4_t a3 = add_pin_neon(vld1q_f32(x + i + 12), vld1q_f32(r + i + 12));
        vst1q_f32(h + i, a0);
        vst1q_f32(h + i + 4, a1);
        vst1q_f32(h + i + 8, a2);
        vst1q_f32(h + i + 12, a3);
    }
    for (; i + 4 <= n; i += 4)
        vst1q_f32(h + i, add_pin_neon(vld1q_f32(x + i), vld1q_f32(r + i)));
    if (i < n) {
        /* the last 1..3 through local buffers (in place is fine: x and r are read first) */
        float bx[4] = {0}, br[4] = {0}, bh[4];
        memcpy(bx, x + i, (n - i) * sizeof(float));
        memcpy(br, r + i, (n - i) * sizeof(float));
        vst1q_f32(bh, add_pin_neon(vld1q_f32(bx), vld1q_f32(br)));
        memcpy(h + i, bh, (n - i) * sizeof(float));
    }
}
