/*
 * The AVX-512 intrinsics of this tier, emulated with SIMDe on AVX2 + FMA (test builds only).
 *
 * tests/meson.build compiles layernorm_avx512.c and rmsnorm_avx512.c a second time with
 * -DNORM_AVX512_EMU -mavx2 -mfma (no AVX-512 flag) and the kernels renamed to
 * norm_*_f32_avx512emu, into a static library linked only into checkasm: the AVX-512 tier's
 * source, its trees, masks, lane permutations and stream-store alignment, cross-checked against
 * the scalar tier on a CPU without AVX-512. It never goes into libnorm.so.
 *
 * SIMDe (Debian libsimde-dev) maps every _mm512_* name this tier uses to portable code built from
 * AVX2 (SIMDE_ENABLE_NATIVE_ALIASES), except for the few that SIMDe 0.7.4 lacks or gets wrong for
 * our purpose, supplied below:
 *   - masked loads and stores: built from vmaskmovps (_mm256_maskload_ps/_mm256_maskstore_ps) on
 *     each half, so masked-off lanes are never read or written (as with AVX-512's fault
 *     suppression; checkasm's guard pages keep their meaning);
 *   - the streaming store: two aligned _mm256_stream_ps, after a check that the address is
 *     64-byte aligned (vmovntps zmm faults on any other address; here: a trap, SIGILL);
 *   - cvtps_pd / cvtpd_ps / extractf32x8 / undefined_ps and the f64x2 and f32x4 shuffle aliases.
 * The FMAs are real ones only because the TUs are built with -mfma (SIMDe's fallback is a
 * multiply and an add: two roundings, other bits).
 *
 * What this cannot see: the code gcc generates for real AVX-512 (instruction selection, register
 * allocation, the asm pins, which are no-ops here), the dispatch to the tier, and its speed. Those
 * stay native-only (checkasm-avx512 on an AVX-512 machine).
 */
#ifndef NORM_AVX512_EMU_H
#define NORM_AVX512_EMU_H

#if defined(__AVX512F__)
#error "norm_avx512_emu.h is for builds without AVX-512 (the emulated tier)"
#endif
#if !defined(__AVX2__) || !defined(__FMA__)
#error "the emulated AVX-512 tier needs -mavx2 -mfma (SIMDe's FMA fallback rounds twice)"
#endif

#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>
#include <stdint.h>

#define N5E_INLINE static inline __attribute__((always_inline))

/* Lanes 8*h .. 8*h+7 of mask k, as a vmaskmov lane mask. */
N5E_INLINE __m256i n5e_half_mask(unsigned k, int h)
{
    const __m256i bit = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    __m256i v = _mm256_set1_epi32((int)((k >> (8 * h)) & 0xFFu));
    return _mm256_cmpeq_epi32(_mm256_and_si256(v, bit), bit);
}

N5E_INLINE simde__m512 n5e_join(__m256 lo, __m256 hi)
{
    simde__m512_private r;
    r.m256[0] = lo;
    r.m256[1] = hi;
    return simde__m512_from_private(r);
}

N5E_INLINE __m256 n5e_half(simde__m512 v, int h)
{
    return simde__m512_to_private(v).m256[h];
}

/* vmovups zmm{k}{z}: masked-off lanes are +0 and not read. */
N5E_INLINE simde__m512 n5e_maskz_loadu_ps(simde__mmask16 k, const void *p)
{
    const float *f = (const float *)p;
    return n5e_join(_mm256_maskload_ps(f, n5e_half_mask(k, 0)),
                    _mm256_maskload_ps(f + 8, n5e_half_mask(k, 1)));
}

/* vmovups m512{k}: masked-off lanes are not written. */
N5E_INLINE void n5e_mask_storeu_ps(void *p, simde__mmask16 k, simde__m512 v)
{
    float *f = (float *)p;
    _mm256_maskstore_ps(f, n5e_half_mask(k, 0), n5e_half(v, 0));
    _mm256_maskstore_ps(f + 8, n5e_half_mask(k, 1), n5e_half(v, 1));
}

/* vmovntps m512: faults unless p is 64-byte aligned. */
N5E_INLINE void n5e_stream_ps(void *p, simde__m512 v)
{
    float *f = (float *)p;
    if (((uintptr_t)p & 63u) != 0)
        __builtin_trap();
    _mm256_stream_ps(f, n5e_half(v, 0));
    _mm256_stream_ps(f + 8, n5e_half(v, 1));
}

N5E_INLINE simde__m512d n5e_cvtps_pd(__m256 a)
{
    simde__m512d_private r;
    r.m256d[0] = _mm256_cvtps_pd(_mm256_castps256_ps128(a));
    r.m256d[1] = _mm256_cvtps_pd(_mm256_extractf128_ps(a, 1));
    return simde__m512d_from_private(r);
}

N5E_INLINE __m256 n5e_cvtpd_ps(simde__m512d a)
{
    simde__m512d_private p = simde__m512d_to_private(a);
    return _mm256_set_m128(_mm256_cvtpd_ps(p.m256d[1]), _mm256_cvtpd_ps(p.m256d[0]));
}

N5E_INLINE __m256 n5e_extractf32x8_ps(simde__m512 a, int h)
{
    return n5e_half(a, h & 1);
}

/* The bf16 / f16 leaves and outputs (norm_avx512.h: ld16_avx512, narrow16_avx512,
 * st16_avx512). vmovdqu16 ymm{k}{z} / m256{k}: masked-off elements are not read (+0) or written.
 * The f16 conversions are F16C's (the x16 kernel's build has -mf16c; the f32 kernels never
 * reach them). */
N5E_INLINE simde__m512 n5e_ld16(const uint16_t *p, unsigned k, int masked, int f16)
{
    uint16_t t[16];
    for (int i = 0; i < 16; i++)
        t[i] = !masked || ((k >> i) & 1u) ? p[i] : 0;
    const __m128i a = _mm_loadu_si128((const __m128i *)t);
    const __m128i b = _mm_loadu_si128((const __m128i *)(t + 8));
    if (f16) {
#if defined(__F16C__)
        return n5e_join(_mm256_cvtph_ps(a), _mm256_cvtph_ps(b));
#else
        __builtin_trap();
#endif
    }
    return n5e_join(_mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(a), 16)),
                    _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(b), 16)));
}

/* Eight floats -> eight values (the low 128 bits), as narrow16_avx512(). */
N5E_INLINE __m128i n5e_narrow8(__m256 v, int f16)
{
    const __m128i nan = _mm_packs_epi32(
        _mm256_castsi256_si128(_mm256_castps_si256(_mm256_cmp_ps(v, v, _CMP_UNORD_Q))),
        _mm256_extractf128_si256(_mm256_castps_si256(_mm256_cmp_ps(v, v, _CMP_UNORD_Q)), 1));
    __m128i h;
    if (f16) {
#if defined(__F16C__)
        h = _mm256_cvtps_ph(v, 0);
#else
        __builtin_trap();
#endif
        return _mm_blendv_epi8(h, _mm_set1_epi16(0x7e00), nan);
    }
    const __m256i u = _mm256_castps_si256(v);
    const __m256i r = _mm256_srli_epi32(
        _mm256_add_epi32(_mm256_add_epi32(u, _mm256_set1_epi32(0x7fff)),
                         _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1))),
        16);
    h = _mm_packus_epi32(_mm256_castsi256_si128(r), _mm256_extractf128_si256(r, 1));
    return _mm_blendv_epi8(h, _mm_set1_epi16(0x7fc0), nan);
}

N5E_INLINE __m256i n5e_narrow16(simde__m512 v, int f16)
{
    return _mm256_set_m128i(n5e_narrow8(n5e_half(v, 1), f16), n5e_narrow8(n5e_half(v, 0), f16));
}

N5E_INLINE void n5e_mask_storeu_epi16(uint16_t *p, unsigned k, __m256i h)
{
    uint16_t t[16];
    _mm256_storeu_si256((__m256i *)t, h);
    for (int i = 0; i < 16; i++)
        if ((k >> i) & 1u)
            p[i] = t[i];
}

/* Names gcc's own headers declare for real AVX-512 (which cannot be inlined without -mavx512f:
 * any name SIMDe lacks and nobody supplies is a compile error, never real AVX-512 code). */
#undef _mm512_maskz_loadu_ps
#undef _mm512_mask_storeu_ps
#undef _mm512_stream_ps
#undef _mm512_cvtps_pd
#undef _mm512_cvtpd_ps
#undef _mm512_extractf32x8_ps
#undef _mm512_undefined_ps
#undef _mm512_shuffle_f64x2
#undef _mm512_shuffle_f32x4
#define _mm512_maskz_loadu_ps(k, p) n5e_maskz_loadu_ps((k), (p))
#define _mm512_mask_storeu_ps(p, k, v) n5e_mask_storeu_ps((p), (k), (v))
#define _mm512_stream_ps(p, v) n5e_stream_ps((p), (v))
#define _mm512_cvtps_pd(a) n5e_cvtps_pd(a)
#define _mm512_cvtpd_ps(a) n5e_cvtpd_ps(a)
#define _mm512_extractf32x8_ps(a, h) n5e_extractf32x8_ps((a), (h))
#define _mm512_undefined_ps() simde_mm512_setzero_ps()
#define _mm512_shuffle_f64x2(a, b, imm) simde_mm512_shuffle_f64x2((a), (b), (imm))
#define _mm512_shuffle_f32x4(a, b, imm) simde_mm512_shuffle_f32x4((a), (b), (imm))

#endif /* NORM_AVX512_EMU_H */
