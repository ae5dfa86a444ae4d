/*
 * The residual add of the fused add + norm, AVX-512 tier: h[i] = x[i] + r[i] (vaddps: the same
 * IEEE float addition as the scalar tier's), a NaN x[i] giving that NaN quieted
 * (src/scalar/add_scalar.c: the NaN of a sum pinned). h may be x or r exactly: every vector is loaded
 * before the store to the same addresses. The tail uses masked loads and stores. A call of
 * streaming size (norm_add_stream(): h apart from x and r, the whole share of a streaming fused
 * call, src/libnorm.c add_run) stores h non-temporally and ends with an sfence.
 * norm_add2_f32 (0.5) writes the same sums twice, h non-temporally (no sfence: add_run()
 * issues one after the schedule's norm jobs) and a scratch s with ordinary stores:
 * src/libnorm.c add_run's one-pass schedule of a streaming fused call. Both entry points are
 * src/x86/norm_add_x86.h's, over this file's add loop.
 */
#include "norm_avx512.h"
#include "../x86/norm_add_x86.h"

/* x + r, and x quieted where x is a NaN. */
N5_INLINE __m512 add_pin_avx512(__m512 x, __m512 r)
{
    const __m512i q = _mm512_set1_epi32(0x00400000);
    return _mm512_mask_mov_ps(_mm512_add_ps(x, r), _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q),
                              _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(x), q)));
}

/* The add of [i0, n), stores non-temporal (nt, a constant: h + i0 64-byte aligned) or ordinary;
 * s (NULL, a constant after inlining, or a second output) gets the same sums with ordinary
 * stores. */
N5_INLINE void add_run_avx512(float *h, float *s, const float *x, const float *r, size_t i0,
                              size_t n, int nt)
{
    size_t i = i0;
    for (; i + 64 <= n; i += 64) {
        __m512 a0 = add_pin_avx512(_mm512_loadu_ps(x + i), _mm512_loadu_ps(r + i));
        __m512 a1 = add_pin_avx512(_mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(r + i + 16));
        __m512 a2 = add_pin_avx512(_mm512_loadu_ps(x + i + 32), _mm512_loadu_ps(r + i + 32));
        __m512 a3 = add_pin_avx512(_mm512_loadu_ps(x + i + 48), _mm512_loadu_ps(r + i + 48));
        if (s) {
            _mm512_storeu_ps(s + i, a0);
            _mm512_storeu_ps(s + i + 16, a1);
            _mm512_storeu_ps(s + i + 32, a2);
            _mm512_storeu_ps(s + i + 48, a3);
        }
        if (nt) {
            _mm512_stream_ps(h + i, a0);
            _mm512_stream_ps(h + i + 16, a1);
            _mm512_stream_ps(h + i + 32, a2);
            _mm512_stream_ps(h + i + 48, a3);
        } else {
            _mm512_storeu_ps(h + i, a0);
            _mm512_storeu_ps(h + i + 16, a1);
            _mm512_storeu_ps(h + i + 32, a2);
            _mm512_storeu_ps(h + i + 48, a3);
        }
    }
    for (; i + 16 <= n; i += 16) {
        __m512 a = add_pin_avx512(_mm512_loadu_ps(x + i), _mm512_loadu_ps(r + i));
        if (s)
            _mm512_storeu_ps(s + i, a);
        if (nt)
            _mm512_stream_ps(h + i, a);
        else
            _mm512_storeu_ps(h + i, a);
    }
    if (i < n) {
        __mmask16 m = tail_mask_avx512(n - i);
        const __m512 a =
            add_pin_avx512(_mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, r + i));
        if (s)
            _mm512_mask_storeu_ps(s + i, m, a);
        _mm512_mask_storeu_ps(h + i, m, a);
    }
}

NORM_ADD_X86_ENTRIES(norm_add_f32_avx512, norm_add2_f32_avx512, add_run_avx512)
