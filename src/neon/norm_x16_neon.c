/*
 * bf16 / f16 activations, AArch64 AdvSIMD tier: the template src/x16_tmpl.h (fmaf is fmadd; the
 * lane loops vectorize), f16 conversions with fcvtl (exact) and fcvtn (round to nearest even in
 * the default FPCR: subnormal results and overflow to Inf as IEEE says); every NaN result becomes
 * X16_F16_NAN.
 */
#include <arm_neon.h>

#include "../norm_x16.h"

static inline void x16_widen_f16(float *d, const uint16_t *s, size_t n)
{
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        vst1q_f32(d + i, vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(s + i))));
    if (i < n) {
        uint16_t t[4] = {0};
        float f[4];
        memcpy(t, s + i, (n - i) * sizeof(uint16_t));
        vst1q_f32(f, vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(t))));
        memcpy(d + i, f, (n - i) * sizeof(float));
    }
}

static inline uint16x4_t x16_neon_narrow4(float32x4_t v)
{
    uint16x4_t h = vreinterpret_u16_f16(vcvt_f16_f32(v));
    uint16x4_t isnan = vcgt_u16(vand_u16(h, vdup_n_u16(0x7fff)), vdup_n_u16(0x7c00));
    return vbsl_u16(isnan, vdup_n_u16(X16_F16_NAN), h);
}

static inline void x16_narrow_f16(uint16_t *d, const float *s, size_t n)
{
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        vst1_u16(d + i, x16_neon_narrow4(vld1q_f32(s + i)));
    if (i < n) {
        float f[4] = {0};
        uint16_t t[4];
        memcpy(f, s + i, (n - i) * sizeof(float));
        vst1_u16(t, x16_neon_narrow4(vld1q_f32(f)));
        memcpy(d + i, t, (n - i) * sizeof(uint16_t));
    }
}

#define X16_TIER neon
#define X16_FMAF(a, b, c) fmaf((a), (b), (c))
#include "../x16_tmpl.h"
