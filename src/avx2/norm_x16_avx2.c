/*
 * bf16 / f16 activations, AVX2 tier: the template src/x16_tmpl.h compiled with -mavx2 -mfma
 * -mf16c (fmaf is the FMA instruction; the lane loops vectorize), f16 conversions with F16C
 * (src/x86/norm_x16_f16c.h).
 */
#include "../x86/norm_x16_f16c.h"

#define X16_TIER avx2
#define X16_FMAF(a, b, c) fmaf((a), (b), (c))
#include "../x16_tmpl.h"
