/*
 * CPU detection (Google's cpu_features) and the dispatch table. The global table is filled once,
 * by a load-time constructor or by whichever call comes first (a static link, an early call from
 * another constructor), under pthread_once; after that it is only read.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "norm_internal.h"
#include "norm_x16.h"

#if defined(__x86_64__) || defined(_M_X64)
#include "cpuinfo_x86.h"
#define NORM_ARCH_X86 1
#elif defined(__aarch64__)
#include "cpuinfo_aarch64.h"
#define NORM_ARCH_AARCH64 1
#endif

static const char *const tier_names[NORM_TIER_COUNT] = {"scalar", "avx2", "avx512", "neon"};

const char *norm_tier_name(int tier)
{
    return tier >= 0 && tier < NORM_TIER_COUNT ? tier_names[tier] : NULL;
}

int norm_tier_from_name(const char *name)
{
    for (int t = 0; t < NORM_TIER_COUNT; t++)
        if (strcmp(name, tier_names[t]) == 0)
            return t;
    return -1;
}

int norm_best_tier(void)
{
#if defined(NORM_ARCH_X86)
    const X86Features f = GetX86Info().features;
    /* Feature bits are signed 1-bit fields: compare with 0. The AVX-512 tier's TUs are built
     * with F+BW+DQ+VL (which imply AVX2 and FMA to the compiler), so all of them are required. */
    int avx2 = f.avx2 != 0 && f.fma3 != 0 && f.f16c != 0; /* F16C: the bf16/f16 kernels */
    int avx512 = avx2 && f.avx512f != 0 && f.avx512bw != 0 && f.avx512dq != 0 && f.avx512vl != 0;
#if defined(NORM_HAVE_AVX512)
    if (avx512)
        return NORM_TIER_AVX512;
#else
    (void)avx512;
#endif
#if defined(NORM_HAVE_AVX2)
    if (avx2)
        return NORM_TIER_AVX2;
#else
    (void)avx2;
#endif
#elif defined(NORM_ARCH_AARCH64) && defined(NORM_HAVE_NEON)
    /* AdvSIMD is architectural on AArch64; ask anyway, as the design asks for detection. */
    if (GetAarch64Info().features.asimd != 0)
        return NORM_TIER_NEON;
#endif
    return NORM_TIER_SCALAR;
}

/* Whether `tier` can run here: the scalar tier always; a SIMD tier when it is built in and the
 * best supported tier is at or above it on the same architecture. */
static int tier_supported(int tier, int best)
{
    switch (tier) {
    case NORM_TIER_SCALAR:
        return 1;
    case NORM_TIER_AVX2:
        return best == NORM_TIER_AVX2 || best == NORM_TIER_AVX512;
    case NORM_TIER_AVX512:
        return best == NORM_TIER_AVX512;
    case NORM_TIER_NEON:
        return best == NORM_TIER_NEON;
    default:
        return 0;
    }
}

/* norm_dsp.rmsnorm_row_f32 of the tiers without their own: the row as a job of the tier's
 * kernel. */
#define NORM_ROW_JOB(NAME, KERNEL)                                                             \
    static int NAME(float *y, const float *x, const float *w, size_t n, float eps, int wplus)  \
    {                                                                                          \
        norm_job j;                                                                            \
        norm_job_row(&j, y, x, w, NULL, n, eps, wplus);                                        \
        KERNEL(&j);                                                                            \
        return 0;                                                                              \
    }
NORM_ROW_JOB(rms_row_scalar, norm_rmsnorm_f32_scalar)
#if defined(NORM_HAVE_NEON)
NORM_ROW_JOB(rms_row_neon, norm_rmsnorm_f32_neon)
#endif
#undef NORM_ROW_JOB
/* norm_dsp.layernorm_row_f32 of the tiers without their own (scalar; NEON: its job kernel on
 * one row, whose one-row path is already the kernel's single-row loop). */
#define NORM_LN_ROW_JOB(NAME, KERNEL)                                                          \
    static int NAME(float *y, const float *x, const float *w, const float *b, size_t n,       \
                    float eps, int wplus)                                                      \
    {                                                                                          \
        norm_job j;                                                                            \
        norm_job_row(&j, y, x, w, b, n, eps, wplus);                                           \
        KERNEL(&j);                                                                            \
        return 0;                                                                              \
    }
NORM_LN_ROW_JOB(ln_row_scalar, norm_layernorm_f32_scalar)
#if defined(NORM_HAVE_NEON)
NORM_LN_ROW_JOB(ln_row_neon, norm_layernorm_f32_neon)
#endif
#undef NORM_LN_ROW_JOB

static int fill(norm_dsp *d, int tier)
{
    norm_kernel_fn ln = norm_layernorm_f32_scalar, rms = norm_rmsnorm_f32_scalar;
    norm_kernel_fn rmsb = norm_rmsnorm_back_f32_scalar;
    void (*ln16)(const norm_x16_job *) = norm_layernorm_x16_scalar;
    void (*rms16)(const norm_x16_job *) = norm_rmsnorm_x16_scalar;
    norm_add_fn add = norm_add_f32_scalar;
    norm_add2_fn add2 = NULL;
    norm_gated_fn gated = norm_gated_rmsnorm_f32_scalar;
    norm_row_fn rms_row = rms_row_scalar;
    norm_ln_row_fn ln_row = ln_row_scalar;
    switch (tier) {
    case NORM_TIER_SCALAR:
        break;
#if defined(NORM_HAVE_AVX2)
    case NORM_TIER_AVX2:
        ln = norm_layernorm_f32_avx2;
        rms = norm_rmsnorm_f32_avx2;
        rmsb = norm_rmsnorm_back_f32_avx2;
        ln16 = norm_layernorm_x16_avx2;
        rms16 = norm_rmsnorm_x16_avx2;
        add = norm_add_f32_avx2;
        add2 = norm_add2_f32_avx2;
        gated = norm_gated_rmsnorm_f32_avx2;
        rms_row = norm_rmsnorm_row_f32_avx2;
        ln_row = norm_layernorm_row_f32_avx2;
        break;
#endif
#if defined(NORM_HAVE_AVX512)
    case NORM_TIER_AVX512:
        ln = norm_layernorm_f32_avx512;
        rms = norm_rmsnorm_f32_avx512;
        rmsb = norm_rmsnorm_back_f32_avx512;
        ln16 = norm_layernorm_x16_avx512;
        rms16 = norm_rmsnorm_x16_avx512;
        add = norm_add_f32_avx512;
        add2 = norm_add2_f32_avx512;
        gated = norm_gated_rmsnorm_f32_avx512;
        rms_row = norm_rmsnorm_row_f32_avx512;
        ln_row = norm_layernorm_row_f32_avx512;
        break;
#endif
#if defined(NORM_HAVE_NEON)
    case NORM_TIER_NEON:
        ln = norm_layernorm_f32_neon;
        rms = norm_rmsnorm_f32_neon;
        rmsb = norm_rmsnorm_back_f32_neon;
        ln16 = norm_layernorm_x16_neon;
        rms16 = norm_rmsnorm_x16_neon;
        add = norm_add_f32_neon;
        gated = norm_gated_rmsnorm_f32_neon;
        rms_row = rms_row_neon;
        ln_row = ln_row_neon;
        break;
#endif
    default:
        return -1;
    }
    d->layernorm_f32 = ln;
    d->rmsnorm_f32 = rms;
    d->rmsnorm_back_f32 = rmsb;
    d->layernorm_x16 = ln16;
    d->rmsnorm_x16 = rms16;
    d->add_f32 = add;
    d->add2_f32 = add2;
    d->gated_rmsnorm_f32 = gated;
    d->rmsnorm_row_f32 = rms_row;
    d->layernorm_row_f32 = ln_row;
    d->tier = tier;
    d->name = tier_names[tier];
    d->x16_cvt = 0;
#if defined(NORM_ARCH_X86) && defined(NORM_HAVE_AVX512)
    /* the AVX-512 16-bit kernels narrow bf16 by vcvtne2ps2bf16 where the CPU has AVX512-BF16
     * (the same bits: src/avx512/norm_x16_avx512.c, X16_CVT) */
    d->x16_cvt = tier == NORM_TIER_AVX512 && GetX86Info().features.avx512_bf16 != 0;
#endif
    return 0;
}

int norm_dsp_init(norm_dsp *dsp, int tier)
{
    if (!tier_supported(tier, norm_best_tier()))
        return -1;
    return fill(dsp, tier);
}

/* The process's table (norm_dsp_global(); norm_dsp_now() in norm_internal.h reads them inline):
 * written once under g_once, then g_ready published with release order. */
NORM_HIDDEN norm_dsp norm_g_dsp;
NORM_HIDDEN atomic_int norm_g_ready;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
#define g_dsp norm_g_dsp
#define g_ready norm_g_ready

static void global_init(void)
{
    int best = norm_best_tier();
    int tier = best;
    const char *env = getenv("LIBNORM_ISA");
    if (env && *env) {
        int want = norm_tier_from_name(env);
        if (want < 0)
            fprintf(stderr, "libnorm: LIBNORM_ISA=%s is not a tier (scalar, avx2, avx512, neon); "
                            "using %s\n", env, tier_names[best]);
        else if (!tier_supported(want, best))
            fprintf(stderr, "libnorm: LIBNORM_ISA=%s is not supported on this CPU; using %s\n",
                    env, tier_names[best]);
        else
            tier = want;
    }
    fill(&g_dsp, tier);
    atomic_store_explicit(&g_ready, 1, memory_order_release);
}

__attribute__((constructor)) static void norm_load_init(void)
{
    pthread_once(&g_once, global_init);
}

const norm_dsp *norm_dsp_global(void)
{
    if (!atomic_load_explicit(&g_ready, memory_order_acquire))
        pthread_once(&g_once, global_init);
    return &g_dsp;
}

void norm_dsp_global_init(void)
{
    pthread_once(&g_once, global_init);
}
