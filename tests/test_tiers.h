/*
 * Test-side tiers: the library's tiers (norm_dsp_init) plus the ones only test programs can
 * build. Today that is "avx512-emu": the AVX-512 tier's own sources compiled a second time over
 * SIMDe on AVX2 + FMA (src/avx512/norm_avx512_emu.h; tests/meson.build), linked into the tests
 * only. libnorm.so, LIBNORM_ISA and norm_dsp_init() know nothing of it.
 */
#ifndef TEST_TIERS_H
#define TEST_TIERS_H

#include <string.h>

#include "norm_internal.h"
#include "norm_x16.h"

enum { TEST_TIER_AVX512EMU = NORM_TIER_COUNT, TEST_TIER_COUNT };

#if defined(NORM_HAVE_AVX512EMU)
void norm_layernorm_f32_avx512emu(const norm_job *job);
void norm_rmsnorm_f32_avx512emu(const norm_job *job);
void norm_rmsnorm_back_f32_avx512emu(const norm_job *job);
void norm_add_f32_avx512emu(float *h, const float *x, const float *r, size_t n);
void norm_add2_f32_avx512emu(float *h, float *s, const float *x, const float *r, size_t n);
void norm_gated_rmsnorm_f32_avx512emu(const norm_gated_job *job);
int norm_rmsnorm_row_f32_avx512emu(float *y, const float *x, const float *w, size_t n, float eps,
                                   int wplus);
int norm_layernorm_row_f32_avx512emu(float *y, const float *x, const float *w, const float *b,
                                     size_t n, float eps, int wplus);
#endif

/* Results of test_dsp_init(). */
enum { TEST_TIER_OK = 0, TEST_TIER_NO_CPU = -1, TEST_TIER_NOT_BUILT = -2 };

static inline const char *test_tier_name(int tier)
{
    return tier == TEST_TIER_AVX512EMU ? "avx512-emu" : norm_tier_name(tier);
}

static inline int test_tier_from_name(const char *name)
{
    return strcmp(name, "avx512-emu") == 0 ? TEST_TIER_AVX512EMU : norm_tier_from_name(name);
}

/* Whether this build has the tier at all (for the emulated one: x86-64 with SIMDe). */
static inline int test_tier_built(int tier)
{
    switch (tier) {
    case NORM_TIER_SCALAR:
        return 1;
    case NORM_TIER_AVX2:
    case NORM_TIER_AVX512:
#if defined(__x86_64__)
        return 1;
#else
        return 0;
#endif
    case NORM_TIER_NEON:
#if defined(__aarch64__)
        return 1;
#else
        return 0;
#endif
    case TEST_TIER_AVX512EMU:
#if defined(NORM_HAVE_AVX512EMU)
        return 1;
#else
        return 0;
#endif
    default:
        return 0;
    }
}

/* Fills *d for `tier`: TEST_TIER_OK, TEST_TIER_NO_CPU (this CPU cannot run it: the emulated tier
 * needs AVX2 + FMA) or TEST_TIER_NOT_BUILT. */
static inline int test_dsp_init(norm_dsp *d, int tier)
{
    if (!test_tier_built(tier))
        return TEST_TIER_NOT_BUILT;
#if defined(NORM_HAVE_AVX512EMU)
    if (tier == TEST_TIER_AVX512EMU) {
        norm_dsp avx2;
        if (norm_dsp_init(&avx2, NORM_TIER_AVX2) != 0)
            return TEST_TIER_NO_CPU;
        d->layernorm_f32 = norm_layernorm_f32_avx512emu;
        d->rmsnorm_f32 = norm_rmsnorm_f32_avx512emu;
        d->rmsnorm_back_f32 = norm_rmsnorm_back_f32_avx512emu;
        d->layernorm_x16 = norm_layernorm_x16_avx512emu;
        d->rmsnorm_x16 = norm_rmsnorm_x16_avx512emu;
        d->add_f32 = norm_add_f32_avx512emu;
        d->add2_f32 = norm_add2_f32_avx512emu;
        d->gated_rmsnorm_f32 = norm_gated_rmsnorm_f32_avx512emu;
        d->rmsnorm_row_f32 = norm_rmsnorm_row_f32_avx512emu;
        d->layernorm_row_f32 = norm_layernorm_row_f32_avx512emu;
        d->tier = TEST_TIER_AVX512EMU;
        d->name = "avx512-emu";
        d->x16_cvt = 1; /* vcvtne2ps2bf16 emulated (norm_x16_avx512.c): on any CPU */
        return TEST_TIER_OK;
    }
#endif
    return norm_dsp_init(d, tier) == 0 ? TEST_TIER_OK : TEST_TIER_NO_CPU;
}

#endif /* TEST_TIERS_H */
