/*
 * The scalar part of the x86 tiers' one-row LayerNorm (norm_dsp.layernorm_row_f32, dims 64 and
 * 128: src/avx2/layernorm_avx2.c; the AVX-512 tier's short rows, src/avx512/norm_ln_short_avx512.h,
 * at the dims where the conditions below hold).
 * Included after <immintrin.h> (or the emulated tier's header); SSE2 / FMA scalar doubles only,
 * so the AVX2, AVX-512 and emulated builds run the same instructions.
 *
 * A decode-time row is one dependency chain: loads -> pass-1 tree -> lane total -> m0 -> pass-2
 * trees -> lane totals -> ml, var -> sqrt -> division -> pass 3. These helpers keep the canonical
 * operations (norm_ln_m0(), norm_ln_finish()) and only shorten the chain where the result is the
 * same bits:
 *   - m0 = (float)(x0 + s0 * inv_k) as one fma: for k a power of two (64 or 128; 32 and below
 *     for the short rows' probe), inv_k = 2^-j and s0 * inv_k is exact (s0 is a sum of float
 *     differences, a multiple of 2^-149, far above double's underflow; an infinite or NaN s0
 *     sends the row to the slow path anyway), so the fused and the separate forms round the
 *     same sum once.
 *   - norm_ln_finish()'s tests (rare totals, pass 2 again, var > 0) are combined without
 *     branches into one flag, tested once before pass 3 writes anything (y may be x): the row
 *     then goes to the slow path (the AVX2 tier's job kernel; in the AVX-512 short rows
 *     norm_ln_finish() itself), which does the row the canonical way (the repeated pass 2 or
 *     the rare path included). With the branch predicted, the
 *     square root and the division start as soon as var is known.
 *   - var = s2 * inv_n - ml * ml as fmsub(s2, inv_n, ml * ml): inv_n = 2^-j (n a power of two:
 *     64 or 128 here, 1 to 128 for the AVX-512 short rows) and s2 * inv_n
 *     is exact for every s2 of a row that is not rare (NORM_RARE_MIN <= s2 <= DBL_MAX: no
 *     underflow, no overflow), so the fused and the separate forms round the same difference
 *     once (for a rare row the flag is 0 whatever var is: it tests s2 itself). One rounding
 *     less on the chain, none in the result. ml = s1 * inv_n, ml * ml (rounded before the
 *     subtraction) and var + eps are norm_ln_finish()'s operations.
 * The m0 helper needs inv_k = 1 / k, the finish inv_n = 1 / n, for k and n powers of two.
 */
#ifndef NORM_LN_ROW_X86_H
#define NORM_LN_ROW_X86_H

#include "norm_internal.h"

#define NLR_INLINE static inline __attribute__((always_inline))

/* m0 of a row of n = k = 64 or 128 (inv_k = 1.0 / k) from the pass-1 total s0 (lane 0) and x[0]
 * (lane 0 of xf: the broadcast of pass 1's shift, so that x[0] is loaded once, by the
 * broadcast), as a float in lane 0. */
NLR_INLINE __m128 norm_ln_row_m0_x86(__m128d s0, __m128 xf, double inv_k)
{
    const __m128d x0 = _mm_cvtss_sd(_mm_setzero_pd(), xf);
    return _mm_cvtsd_ss(_mm_setzero_ps(), _mm_fmadd_sd(s0, _mm_set_sd(inv_k), x0));
}

/* The end of norm_ln_row_finish_x86() and norm_ln_row_finish_t_x86(): from ml = s1 * inv_n,
 * mm = ml * ml and var, *mlo, *rstd, *mld and the flag (see there). */
NLR_INLINE int norm_ln_row_end_x86(__m128d s0, __m128d s1, __m128d s2, __m128d ml, __m128d mm,
                                   __m128d var, float eps, __m128 *mlo, __m128 *rstd,
                                   __m128d *mld)
{
    const __m128d ve = _mm_add_sd(var, _mm_set_sd((double)eps));
    const __m128d r = _mm_div_sd(_mm_set_sd(1.0), _mm_sqrt_sd(ve, ve));
    *mlo = _mm_cvtsd_ss(_mm_setzero_ps(), ml);
    *mld = ml;
    *rstd = _mm_cvtsd_ss(_mm_setzero_ps(), r);
    const double d0 = _mm_cvtsd_f64(s0), d1 = _mm_cvtsd_f64(s1), d2 = _mm_cvtsd_f64(s2);
    const double dm = _mm_cvtsd_f64(mm), dv = _mm_cvtsd_f64(var);
    /* norm_ln_finish(): not rare, not again, var > 0 */
    return (d2 >= NORM_RARE_MIN) & (d2 <= DBL_MAX) & (fabs(d1) <= DBL_MAX) &
           (fabs(d0) <= DBL_MAX) & (dm <= NORM_LN_AGAIN_RATIO * dv) & (dv > 0.0);
}

/* norm_ln_finish() of a row of n = 64 or 128 (inv_n = 1.0 / n) whose first pass 2 gave s1, s2
 * (lane 0; s0: pass 1): returns 1 when it would return NORM_LN_OK at once, with *mlo and *rstd
 * (floats, lane 0) and *mld (ml = s1 * inv_n, the double mlo is rounded from: for
 * norm_ln_row_mean_x86()); 0 when the row needs pass 2 again or the rare path (then *mlo, *rstd
 * and *mld are not to be used). */
NLR_INLINE int norm_ln_row_finish_x86(__m128d s0, __m128d s1, __m128d s2, double inv_n, float eps,
                                      __m128 *mlo, __m128 *rstd, __m128d *mld)
{
    const __m128d vinv = _mm_set_sd(inv_n);
    const __m128d ml = _mm_mul_sd(s1, vinv);
    const __m128d mm = _mm_mul_sd(ml, ml);
    const __m128d var = _mm_fmsub_sd(s2, vinv, mm); /* s2 * inv_n exact (see above) */
    return norm_ln_row_end_x86(s0, s1, s2, ml, mm, var, eps, mlo, rstd, mld);
}

/* norm_ln_row_finish_x86() with three operations less on the chain, for totals s0, s1, s2 that
 * are floats widened (the short rows' float lane totals) and n a power of two: var as
 * fnmadd(ml, ml, s2 * inv_n). The same bits: s2 * inv_n is exact (above), and so are
 * ml = s1 * inv_n (s1 a float, a multiple of 2^-149: no underflow) and ml * ml (ml has at most
 * 24 significant bits, |ml| <= 2^128: a product of at most 48 bits, far from double's range
 * limits), so mm = ml * ml and the fused product are the same number and var is the same one
 * rounding of the same difference; mm itself only feeds the flag (off the chain). */
NLR_INLINE int norm_ln_row_finish_t_x86(__m128d s0, __m128d s1, __m128d s2, double inv_n,
                                        float eps, __m128 *mlo, __m128 *rstd, __m128d *mld)
{
    const __m128d vinv = _mm_set_sd(inv_n);
    const __m128d ml = _mm_mul_sd(s1, vinv);
    const __m128d var = _mm_fnmadd_sd(ml, ml, _mm_mul_sd(s2, vinv));
    return norm_ln_row_end_x86(s0, s1, s2, ml, _mm_mul_sd(ml, ml), var, eps, mlo, rstd, mld);
}

/* norm_ln_row_m0_x86() for a pass-1 total that is a float (s0f, lane 0; the short rows' float
 * lane total, widened or not the same number) and k a power of two (inv_k = 2^-j, a float):
 * one float fma, x0 + s0f * inv_k rounded to float once. The same bits as the double fma rounded
 * to double and then to float: x0 and s0f * inv_k both have at most 24 significant bits, and
 * for the sum of two such numbers rounding to double (53 >= 2 * 24 + 1 bits) and then to float
 * is rounding to float once (Figueroa, "When is double rounding innocuous?", 1995; where the
 * float result is subnormal the sum, a multiple of 2^-154 below 2^-125, is exact in double);
 * and s0f * inv_k is exact inside the fma. One conversion to double and one back less on the
 * chain. */
NLR_INLINE __m128 norm_ln_row_m0f_x86(__m128 s0f, __m128 xf, float inv_k)
{
    return _mm_fmadd_ss(s0f, _mm_set_ss(inv_k), xf);
}

/* norm_ln_finish()'s mean output (float)((double)m0 + ml), lane 0 (m0: norm_ln_row_m0_x86()'s,
 * ml: norm_ln_row_finish_x86()'s *mld). */
NLR_INLINE __m128 norm_ln_row_mean_x86(__m128 m0, __m128d ml)
{
    return _mm_cvtsd_ss(_mm_setzero_ps(), _mm_add_sd(_mm_cvtss_sd(_mm_setzero_pd(), m0), ml));
}

#undef NLR_INLINE

#endif /* NORM_LN_ROW_X86_H */
