/*
 * norm_gate_expf(d): SLEEF 3.5.1's single-precision exp, u10 (xexpf of src/libm/sleefsimdsp.c),
 * evaluated with the FMA form of every multiply-add (the algorithm of Sleef_expf1_u10purecfma,
 * Sleef_expf8_u10avx2, Sleef_expf16_u10avx512f and Sleef_expf4_u10advsimd, which give identical
 * bits), written in C with exact fused multiply-adds (norm_fmaf(): the fmaf instruction where the
 * compiler has one, otherwise fmaf computed in double with round-to-odd, bit-identical to
 * fmaf; src/scalar/norm_fmaf.h). No instruction in it depends on the CPU having FMA, so the
 * scalar tier gives the same bits on a CPU without FMA (qemu-x86_64 -cpu Nehalem) as the SIMD
 * tiers get from SLEEF itself. tests/test_gate_exp.c checks it against the library's FMA
 * variants bit for bit (every special value, a large sample natively, all 2^32 inputs with
 * --all).
 *
 * The algorithm (SLEEF's, with its constants):
 *   q = rint(d * R_LN2f) (round to nearest even, as cvtps2dq / fcvtns),
 *   s = fma(q, -L2Uf, d); s = fma(q, -L2Lf, s)           (Cody-Waite reduction)
 *   u = polynomial of degree 5 in s by Horner's rule, each step u = fma(u, s, c),
 *   u = 1 + fma(s * s, u, s), u = (u * 2^(q >> 1)) * 2^(q - (q >> 1)),
 *   d < -104: +0; d > 100: +Inf; NaN: the NaN itself (quiet).
 * Included by the scalar tier (src/scalar/gated_rmsnorm_scalar.c) and the tests only.
 */
#ifndef NORM_GATED_EXPF_H
#define NORM_GATED_EXPF_H

#include <stdint.h>
#include <string.h>

#include "norm_fmaf.h"

#define NORM_SLEEF_R_LN2F 1.442695040888963407359924681001892137426645954152985934135449406931f
#define NORM_SLEEF_L2UF 0.693145751953125f
#define NORM_SLEEF_L2LF 1.428606765330187045e-06f

/* 2^q for q in the normal exponent range, built from the bits (SLEEF's vpow2i). */
static inline float norm_gate_pow2i(int q)
{
    uint32_t b = (uint32_t)(q + 0x7f) << 23;
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

static inline float norm_gate_expf_inl(float d)
{
    if (d != d)
        return d + d; /* SLEEF's NaN out is the input NaN, quiet (the arithmetic passes it on) */
    if (d < -104.0f)
        return 0.0f;
    if (d > 100.0f)
        return INFINITY;
    /* |d * R_LN2f| <= 151 here: adding and subtracting 1.5 * 2^23 rounds it to the nearest
     * integer, ties to even, exactly as the vector conversions under the default rounding mode */
    const float magic = 0x1.8p23f;
    float t = d * NORM_SLEEF_R_LN2F;
    float qf = (t + magic) - magic;
    int q = (int)qf;
    float s = norm_fmaf(qf, -NORM_SLEEF_L2UF, d);
    s = norm_fmaf(qf, -NORM_SLEEF_L2LF, s);
    float u = 0.000198527617612853646278381f;
    u = norm_fmaf(u, s, 0.00139304355252534151077271f);
    u = norm_fmaf(u, s, 0.00833336077630519866943359f);
    u = norm_fmaf(u, s, 0.0416664853692054748535156f);
    u = norm_fmaf(u, s, 0.166666671633720397949219f);
    u = norm_fmaf(u, s, 0.5f);
    u = 1.0f + norm_fmaf(s * s, u, s);
    int h = q >> 1; /* arithmetic shift (gcc, clang): floor(q / 2) */
    return (u * norm_gate_pow2i(h)) * norm_gate_pow2i(q - h);
}

#endif /* NORM_GATED_EXPF_H */
