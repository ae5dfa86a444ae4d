/*
 * bf16 / f16 activations, AVX-512 tier: the template src/x16_tmpl.h compiled with the tier's
 * AVX-512 flags and -mf16c (fmaf is the FMA instruction; the lane loops vectorize), f16
 * conversions with F16C (src/x86/norm_x16_f16c.h). tests/meson.build compiles it once more with
 * the AVX2 flags as the avx512-emu tier's kernel (norm_*_x16_avx512emu).
 */
#include "../x86/norm_x16_f16c.h"

#ifndef X16_TIER
#define X16_TIER avx512
#endif
#define X16_FMAF(a, b, c) fmaf((a), (b), (c))
#include "../x16_tmpl.h"
