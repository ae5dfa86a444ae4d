/*
 * The residual add of the fused add + norm, AVX-512 tier: h[i] = x[i] + r[i] (vaddps: the same
 * IEEE float addition as the scalar tier's), a NaN x[i] giving that NaN quieted
 * (src/scalar/add_scalar.c: the NaN of a sum pinned). h may be x or r exactly: every vector is loaded
 * before the store to the same addresses. The tail uses masked loads and stores.
 */
#include "norm_avx512.h"

/* x + r, and x quieted where x is a NaN. */
N5_INLINE __m512 add_pin_avx512(__m512 x, __m512 r)
{
    const __m512i q = _mm512_set1_epi32(0x00400000);
    return _mm512_mask_mov_ps(_mm512_add_ps(x, r), _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q),
                              _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(x), q)));
}

void norm_add_f32_avx512(float *h, const float *x, const float *r, size_t n)
{
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        __m512 a0 = add_pin_avx512(_mm512_loadu_ps(x + i), _mm512_loadu_ps(r + i));
        __m512 a1 = add_pin_avx512(_mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(r + i + 16));
        __m512 a2 = add_pin_avx512(_mm512_loadu_ps(x + i + 32), _mm512_loadu_ps(r + i + 32));
        __m512 a3 = add_pin_avx512(_mm512_loadu_ps(x + i + 48), _mm512_loadu_ps(r + i + 48));
        _mm512_storeu_ps(h + i, a0);
        _mm512_storeu_ps(h + i + 16, a1);
        _mm512_storeu_ps(h + i + 32, a2);
        _mm512_storeu_ps(h + i + 48, a3);
    }
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(h + i, add_pin_avx512(_mm512_loadu_ps(x + i), _mm512_loadu_ps(r + i)));
    if (i < n) {
        __mmask16 m = tail_mask_avx512(n - i);
        _mm512_mask_storeu_ps(h + i, m, add_pin_avx512(_mm512_maskz_loadu_ps(m, x + i),
                                                      _mm512_maskz_loadu_ps(m, r + i)));
    }
}
