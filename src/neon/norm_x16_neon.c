/*
 * bf16 / f16 activations, AArch64 AdvSIMD tier: the template src/x16_tmpl.h (fmaf is fmadd; the
 * lane loops vectorize), f16 conversions with fcvtl (exact) and fcvtn (round to nearest even in
 * the default FPCR: subnormal results and overflow to Inf as IEEE says); every NaN result becomes
 * X16_F16_NAN. The block sums are the tier's own trees (norm_neon.h).
 */
#include <arm_neon.h>

#include "../norm_x16.h"
#include "norm_neon.h"

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

/* The block sums by the NEON tier's own trees (neon_block_trees() of norm_neon.h, exactly as
 * neon_reduce() does for a row's last block; the partial leaf row from a zeroed copy). kind: the
 * sum of x - shift (LayerNorm always wants it), with or without the squares of those leaves; else
 * the squares of x itself (RMSNorm, shift 0). */
NEON_INLINE void x16_block_kind(const float *v, size_t avail, float shift_s, int kind,
                                float s[NORM_LANES], float q[NORM_LANES])
{
    const int jf = avail >= NORM_BLOCK ? NORM_LEAVES : (int)(avail / NORM_LANES);
    const int r = jf < NORM_LEAVES ? (int)(avail % NORM_LANES) : 0;
    float tailbuf[NORM_LANES] = {0};
    if (r)
        memcpy(tailbuf, v + (size_t)jf * NORM_LANES, (size_t)r * sizeof(float));
    float32x4_t ts[4], tq[4];
    neon_block_trees(v, jf, tailbuf, r, vdupq_n_f32(shift_s), kind, ts, tq);
    for (int g = 0; g < 4; g++) {
        if (NEON_HAS_SUM(kind))
            vst1q_f32(s + 4 * g, ts[g]);
        if (NEON_HAS_SQ(kind))
            vst1q_f32(q + 4 * g, tq[g]);
    }
}

static inline void x16_block_sums_neon(const float *v, size_t avail, float shift, int ws, int wq,
                                       float s[NORM_LANES], float q[NORM_LANES])
{
    if (ws && wq)
        x16_block_kind(v, avail, shift, NEON_K_SUMSQ, s, q);
    else if (ws)
        x16_block_kind(v, avail, shift, NEON_K_SUM, s, q);
    else
        x16_block_kind(v, avail, 0.0f, NEON_K_SQ, s, q);
}
#define X16_BLOCK_SUMS x16_block_sums_neon

#define X16_TIER neon
#define X16_FMAF(a, b, c) fmaf((a), (b), (c))
#include "../x16_tmpl.h"
