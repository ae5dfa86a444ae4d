/*
 * The residual add of the fused add + norm, AVX2 tier: h[i] = x[i] + r[i] (vaddps: the same IEEE
 * float addition as the scalar tier's, element for element), a NaN x[i] giving that NaN quieted
 * (src/scalar/add_scalar.c: the NaN of a sum pinned). h may be x or r exactly: every
 * vector is loaded before the store to the same addresses. The tail goes through masked loads
 * and stores (never touching memory past the row). A call of streaming size (norm_add_stream():
 * h apart from x and r, the whole share of a streaming fused call, src/libnorm.c add_run) stores
 * h non-temporally and ends with an sfence.
 * norm_add2_f32 (0.5) writes the same sums twice, h non-temporally (no sfence: add_run()
 * issues one after the schedule's norm jobs) and a scratch s with ordinary stores:
 * src/libnorm.c add_run's one-pass schedule of a streaming fused call. Both entry points are
 * src/x86/norm_add_x86.h's, over this file's add loop.
 */
#include "norm_avx2.h"
#include "../x86/norm_add_x86.h"

/* x + r, and x quieted where x is a NaN. */
NORM_AVX2_INLINE __m256 add_pin_avx2(__m256 x, __m256 r)
{
    const __m256 q = _mm256_castsi256_ps(_mm256_set1_epi32(0x00400000));
    return _mm256_blendv_ps(_mm256_add_ps(x, r), _mm256_or_ps(x, q),
                            _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

/* The add of [i0, n), stores non-temporal (nt, a constant: h + i0 32-byte aligned) or ordinary;
 * s (NULL, a constant after inlining, or a second output) gets the same sums with ordinary
 * stores. */
NORM_AVX2_INLINE void add_run_avx2(float *h, float *s, const float *x, const float *r, size_t i0,
                                   size_t n, int nt)
{
    size_t i = i0;
    for (; n - i >= 32; i += 32) {
        __m256 a0 = add_pin_avx2(_mm256_loadu_ps(x + i), _mm256_loadu_ps(r + i));
        __m256 a1 = add_pin_avx2(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(r + i + 8));
        __m256 a2 = add_pin_avx2(_mm256_loadu_ps(x + i + 16), _mm256_loadu_ps(r + i + 16));
        __m256 a3 = add_pin_avx2(_mm256_loadu_ps(x + i + 24), _mm256_loadu_ps(r + i + 24));
        if (s) {
            _mm256_storeu_ps(s + i, a0);
            _mm256_storeu_ps(s + i + 8, a1);
            _mm256_storeu_ps(s + i + 16, a2);
            _mm256_storeu_ps(s + i + 24, a3);
        }
        if (nt) {
            _mm256_stream_ps(h + i, a0);
            _mm256_stream_ps(h + i + 8, a1);
            _mm256_stream_ps(h + i + 16, a2);
            _mm256_stream_ps(h + i + 24, a3);
        } else {
            _mm256_storeu_ps(h + i, a0);
            _mm256_storeu_ps(h + i + 8, a1);
            _mm256_storeu_ps(h + i + 16, a2);
            _mm256_storeu_ps(h + i + 24, a3);
        }
    }
    for (; n - i >= 8; i += 8) {
        __m256 a = add_pin_avx2(_mm256_loadu_ps(x + i), _mm256_loadu_ps(r + i));
        if (s)
            _mm256_storeu_ps(s + i, a);
        if (nt)
            _mm256_stream_ps(h + i, a);
        else
            _mm256_storeu_ps(h + i, a);
    }
    if (i < n) {
        __m256i m = norm_mask_avx2((ptrdiff_t)(n - i));
        const __m256 a = add_pin_avx2(_mm256_maskload_ps(x + i, m), _mm256_maskload_ps(r + i, m));
        if (s)
            _mm256_maskstore_ps(s + i, m, a);
        _mm256_maskstore_ps(h + i, m, a);
    }
}

NORM_ADD_X86_ENTRIES(norm_add_f32_avx2, norm_add2_f32_avx2, add_run_avx2)
