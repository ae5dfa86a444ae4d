/*
 * f16 <-> float with F16C (vcvtph2ps: exact, subnormals included; vcvtps2ph with imm 0:
 * round to nearest even, subnormal results and overflow to Inf as IEEE says), for the x86 tiers'
 * bf16 / f16 kernels. Every NaN result becomes X16_F16_NAN (vcvtps2ph keeps sign and payload).
 */
#ifndef NORM_X16_F16C_H
#define NORM_X16_F16C_H

#include <immintrin.h>

#include "../norm_x16.h"

static inline void x16_widen_f16(float *d, const uint16_t *s, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(d + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(s + i))));
    if (i < n) {
        uint16_t t[8] = {0};
        float f[8];
        memcpy(t, s + i, (n - i) * sizeof(uint16_t));
        _mm256_storeu_ps(f, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)t)));
        memcpy(d + i, f, (n - i) * sizeof(float));
    }
}

static inline __m128i x16_f16c_narrow8(__m256 v)
{
    __m128i h = _mm256_cvtps_ph(v, 0); /* imm 0: round to nearest even */
    __m128i isnan = _mm_cmpgt_epi16(_mm_and_si128(h, _mm_set1_epi16(0x7fff)),
                                    _mm_set1_epi16(0x7c00));
    return _mm_blendv_epi8(h, _mm_set1_epi16((short)X16_F16_NAN), isnan);
}

static inline void x16_narrow_f16(uint16_t *d, const float *s, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(d + i), x16_f16c_narrow8(_mm256_loadu_ps(s + i)));
    if (i < n) {
        float f[8] = {0};
        uint16_t t[8];
        memcpy(f, s + i, (n - i) * sizeof(float));
        _mm_storeu_si128((__m128i *)t, x16_f16c_narrow8(_mm256_loadu_ps(f)));
        memcpy(d + i, t, (n - i) * sizeof(uint16_t));
    }
}

#endif /* NORM_X16_F16C_H */
