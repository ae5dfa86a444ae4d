/*
 * bf16 / f16 activations, AVX2 tier: the template src/x16_tmpl.h compiled with -mavx2 -mfma
 * -mf16c (fmaf is the FMA instruction; the lane loops vectorize), f16 conversions with F16C
 * (src/x86/norm_x16_f16c.h), the block sums by the tier's own trees (norm_avx2.h).
 */
#include "../x86/norm_x16_f16c.h"
#include "norm_avx2.h"

/* The block sums by the AVX2 tier's own tuned in-block trees (norm_block_avx2: the canonical
 * pruned tree of a block of up to NORM_BLOCK floats, lanes without a leaf +0). Leaves x - shift
 * when the plain sum is wanted (LayerNorm, whose calls always want it), else x itself (RMSNorm's
 * shift is 0, and x - 0 is x, -0 included). */
static inline void x16_block_sums_avx2(const float *v, size_t avail, float shift, int ws, int wq,
                                       float s[NORM_LANES], float q[NORM_LANES])
{
    __m256 sa, qa, sb, qb;
    if (ws && wq)
        norm_block_avx2(v, avail, shift, 1, 1, 1, &sa, &qa, &sb, &qb);
    else if (ws)
        norm_block_avx2(v, avail, shift, 1, 1, 0, &sa, &qa, &sb, &qb);
    else
        norm_block_avx2(v, avail, 0.0f, 0, 0, 1, &sa, &qa, &sb, &qb);
    if (ws) {
        _mm256_storeu_ps(s, sa);
        _mm256_storeu_ps(s + 8, sb);
    }
    if (wq) {
        _mm256_storeu_ps(q, qa);
        _mm256_storeu_ps(q + 8, qb);
    }
}
#define X16_BLOCK_SUMS x16_block_sums_avx2

#define X16_TIER avx2
#define X16_FMAF(a, b, c) fmaf((a), (b), (c))
#include "../x16_tmpl.h"
