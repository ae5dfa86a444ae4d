/*
 * norm_fmaf(a, b, c): fmaf() without a library call, bit-identical to it (the scalar tier's every
 * fused multiply-add). Included by src/scalar/norm_scalar.c, and by tests/test_scalar_ref.c, which
 * checks it against fmaf() on the inputs where double rounding would go wrong.
 */
#ifndef NORM_FMAF_H
#define NORM_FMAF_H

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* ---- fmaf, correctly rounded, without a library call ----
 * Where the compiler has a fused multiply-add instruction (FP_FAST_FMAF: AArch64, x86 with FMA
 * enabled), fmaf() is that instruction. Baseline x86-64 has none: fmaf() is then a call into libm
 * (and on CPUs without FMA, a slow software emulation that switches rounding modes). So there it
 * is computed in double: a*b is exact in double (24 + 24 bits), s = a*b + c is rounded once to
 * 53 bits, and TwoSum gives the exact error e of that rounding. (float)s is then the correctly
 * rounded result unless s is inexact and sits exactly halfway between two floats (a double
 * rounding could go the wrong way) or below FLT_MIN (where the float grid is coarser); those
 * rare sums are rounded to odd first (s moved one double ulp towards e when its last bit is
 * even), which makes the final rounding correct (Boldo & Melquiond: 53 >= 24 + 2).
 * Bit-identical to fmaf() for every input: tests/test_scalar_ref.c checks it on hard cases. */
#if defined(FP_FAST_FMAF)
#define norm_fmaf fmaf
/* See below: with a fused multiply-add instruction there is nothing to redo. */
static inline float norm_fmaf_fast(float a, float b, float c, int *redo)
{
    (void)redo;
    return fmaf(a, b, c);
}
#define norm_fmaf_quick norm_fmaf_fast
#define norm_fmaf_quick0 norm_fmaf_fast
#else
/* s = (double)a*b + c, rounded once (a*b is exact in double); e = the exact error of that
 * addition (TwoSum: s + e == a*b + c exactly). */
static inline double norm_fma_sum(float a, float b, float c, double *e)
{
    double p = (double)a * (double)b, cd = (double)c, s = p + cd;
    double z = s - p;
    *e = (p - (s - z)) + (cd - z);
    return s;
}

/* Whether (float)s might not be the correctly rounded a*b + c: s is inexact (e != 0) AND it sits
 * exactly halfway between two floats (its 29 bits below float precision are 1000...0) or below
 * FLT_MIN (where the float grid is coarser). Bitwise, not short-circuit: no branch, so loops of it
 * can be vectorized. */
static inline int norm_fma_hazard(double s, double e)
{
    uint64_t u;
    memcpy(&u, &s, sizeof u);
    return ((((uint32_t)u & 0x1fffffffu) == 0x10000000u) | (fabs(s) < 0x1p-126)) & (e != 0.0);
}

/* s rounded to odd (to the odd neighbour on e's side when s is even), then to float. */
static inline float norm_fma_round_odd(double s, double e)
{
    if (fabs(s) <= DBL_MAX) {
        uint64_t u, ue;
        memcpy(&u, &s, sizeof u);
        memcpy(&ue, &e, sizeof ue);
        if ((u & 1) == 0)
            u += ((u ^ ue) >> 63) ? (uint64_t)-1 : 1;
        memcpy(&s, &u, sizeof s);
    }
    return (float)s;
}

static inline float norm_fmaf(float a, float b, float c)
{
    double e, s = norm_fma_sum(a, b, c, &e);
    if (__builtin_expect(norm_fma_hazard(s, e), 0))
        return norm_fma_round_odd(s, e);
    return (float)s;
}

/* norm_fmaf() for loops the compiler can vectorize: (float)s, with *redo set when that is not
 * certainly right; the caller then recomputes the stretch with norm_fmaf(). */
static inline float norm_fmaf_fast(float a, float b, float c, int *redo)
{
    double e, s = norm_fma_sum(a, b, c, &e);
    *redo |= norm_fma_hazard(s, e);
    return (float)s;
}

/* The same, with a cheaper test that also flags exact sums on a midpoint or below FLT_MIN (which
 * then take the redo for nothing): for data whose sums are rarely exact (the output pass). */
static inline float norm_fmaf_quick(float a, float b, float c, int *redo)
{
    double s = (double)a * (double)b + (double)c;
    uint64_t u;
    memcpy(&u, &s, sizeof u);
    *redo |= (((uint32_t)u & 0x1fffffffu) == 0x10000000u) | ((fabs(s) < 0x1p-126) & (s != 0.0));
    return (float)s;
}

/* Cheaper still, for the output passes: the range test made on the float result, |(float)s| <=
 * FLT_MIN, which holds for every s below FLT_MIN in magnitude (rounding to float is monotone and
 * FLT_MIN a float) and also flags the results 0 and FLT_MIN, exact or not (they then take the redo
 * for nothing). One float comparison, where norm_fmaf_quick() needs two double ones. */
static inline float norm_fmaf_quick0(float a, float b, float c, int *redo)
{
    double s = (double)a * (double)b + (double)c;
    uint64_t u;
    memcpy(&u, &s, sizeof u);
    float f = (float)s;
    *redo |= (((uint32_t)u & 0x1fffffffu) == 0x10000000u) | (fabsf(f) <= FLT_MIN);
    return f;
}

#if defined(__SSE2__)
#include <emmintrin.h>
/* norm_fmaf_quick0() on four lanes in SSE2 registers (the scalar tier's short rows): returns
 * (float)(t*w + b) per lane, the same double arithmetic, and sets *flag to all ones in the lanes
 * whose test asks for the redo (the double sum's bits below float precision are the midpoint
 * pattern 1000...0, or the result is <= FLT_MIN in magnitude: the bits of |f| at most FLT_MIN's,
 * an integer comparison that is false for NaN as the float one is), zero in the others. */
#define NORM_FMAF_X4 1
static inline __m128 norm_fmaf_quick0_x4(__m128 t, __m128 w, __m128 b, __m128i *flag)
{
    __m128d s0 = _mm_add_pd(_mm_mul_pd(_mm_cvtps_pd(t), _mm_cvtps_pd(w)), _mm_cvtps_pd(b));
    __m128d s1 = _mm_add_pd(_mm_mul_pd(_mm_cvtps_pd(_mm_movehl_ps(t, t)),
                                       _mm_cvtps_pd(_mm_movehl_ps(w, w))),
                            _mm_cvtps_pd(_mm_movehl_ps(b, b)));
    __m128 f = _mm_movelh_ps(_mm_cvtpd_ps(s0), _mm_cvtpd_ps(s1));
    const __m128i low29 = _mm_set_epi32(0, 0x1fffffff, 0, 0x1fffffff);
    const __m128i mid = _mm_set_epi32(0, 0x10000000, 0, 0x10000000);
    /* the low 32 bits of each double are int32 lanes 0 and 2 (little-endian, as x86 is) */
    __m128i h0 = _mm_cmpeq_epi32(_mm_and_si128(_mm_castpd_si128(s0), low29), mid);
    __m128i h1 = _mm_cmpeq_epi32(_mm_and_si128(_mm_castpd_si128(s1), low29), mid);
    __m128i h = _mm_castps_si128(
        _mm_shuffle_ps(_mm_castsi128_ps(h0), _mm_castsi128_ps(h1), _MM_SHUFFLE(2, 0, 2, 0)));
    __m128i small = _mm_cmpgt_epi32(_mm_set1_epi32(0x00800001),
                                    _mm_and_si128(_mm_castps_si128(f), _mm_set1_epi32(0x7fffffff)));
    *flag = _mm_or_si128(h, small);
    return f;
}

/* The same on the two low lanes only (the last two or one elements of a row): lanes 2 and 3 of
 * the result are 0 and of *flag are not set. */
static inline __m128 norm_fmaf_quick0_x2(__m128 t, __m128 w, __m128 b, __m128i *flag)
{
    __m128d s0 = _mm_add_pd(_mm_mul_pd(_mm_cvtps_pd(t), _mm_cvtps_pd(w)), _mm_cvtps_pd(b));
    __m128 f = _mm_cvtpd_ps(s0);
    const __m128i low29 = _mm_set_epi32(0, 0x1fffffff, 0, 0x1fffffff);
    const __m128i mid = _mm_set_epi32(0, 0x10000000, 0, 0x10000000);
    __m128i h0 = _mm_cmpeq_epi32(_mm_and_si128(_mm_castpd_si128(s0), low29), mid);
    __m128i h = _mm_move_epi64(_mm_shuffle_epi32(h0, _MM_SHUFFLE(3, 3, 2, 0))); /* upper: 0 */
    __m128i small = _mm_cmpgt_epi32(_mm_set_epi32(0, 0, 0x00800001, 0x00800001),
                                    _mm_and_si128(_mm_castps_si128(f), _mm_set1_epi32(0x7fffffff)));
    *flag = _mm_or_si128(h, small);
    return f;
}
#endif
#endif

#endif /* NORM_FMAF_H */
