/*
 * bf16 / f16 activations (libnorm_{layernorm,rmsnorm}_{bf16,f16}_ex): the kernels' job, and the
 * exact conversions every tier reproduces bit for bit.
 *
 * THE DEFINITION. A 16-bit row is widened exactly to float (bf16: the bits shifted up; f16:
 * exact, subnormals included); the weight and bias likewise when they are 16-bit
 * (LIBNORM_WEIGHT_ACT_TYPE), and the factor is (float)(1.0f + w) under LIBNORM_WEIGHT_PLUS_ONE.
 * Then EXACTLY the f32 op's canonical arithmetic (norm_internal.h: lanes, blocks, trees, fold,
 * lane total, finish, rare path, output pass) gives the float result, which is rounded once to
 * the 16-bit type, round-to-nearest-even (x16_narrow1() below): so y16 is round16(the f32 op on
 * the widened inputs), bit for bit, on every tier. Every NaN result is the one quiet NaN
 * X16_BF16_NAN / X16_F16_NAN (positive, the top mantissa bit only), whatever the float NaN's sign
 * or payload (those differ between x86 and ARM); overflow gives +/-Inf of the 16-bit type.
 *
 * HOW. The AVX-512 and AVX2 tiers (src/avx512/norm_x16_avx512.c, src/avx2/norm_x16_avx2.c) run
 * their f32 trees, batching and pairing on the 16-bit rows themselves: each leaf (16 elements;
 * 8 per AVX2 lane group, bf16 split by parity) is widened in the register, the output narrowed in
 * the register, no row buffer (the AVX2 bf16 jobs with a float weight keep a deinterleaved copy
 * of the weight and bias on the stack, see norm_x16_avx2.c). The scalar and NEON tiers use one C
 * template (src/x16_tmpl.h, compiled into each tier's TU with that tier's flags and conversions): a row is
 * processed a block (NORM_BLOCK = 512 elements) at a time, widened into a 2 KiB stack buffer; the
 * block's lane sums are the canonical in-block tree, folded per lane (norm_fold) and totalled
 * (norm_lanes_total). Rows of at most one block are widened once for all their passes. The rare
 * path is one shared function per op (src/scalar/norm_x16_scalar.c).
 */
#ifndef NORM_X16_H
#define NORM_X16_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "norm_internal.h"

enum { NORM_X16_BF16 = 0, NORM_X16_F16 = 1 };

/* The NaN every tier writes (quiet, positive). */
#define X16_BF16_NAN 0x7fc0u
#define X16_F16_NAN 0x7e00u

typedef struct norm_x16_job {
    uint16_t *y;
    const uint16_t *x;
    const void *w;       /* NULL: factor 1; float, or uint16_t of fmt when wact */
    const void *b;       /* NULL: 0 (LayerNorm only); same type as w */
    size_t rows;
    size_t dim;
    size_t xs, ys;       /* row strides in elements */
    float eps;
    float *mean;         /* NULL or rows floats (LayerNorm only) */
    float *rstd;         /* NULL or rows floats */
    double *sums;        /* test hook (NORM_SUMS in norm_internal.h), NULL in library calls */
    int fmt;             /* NORM_X16_BF16 or NORM_X16_F16 */
    int wact;            /* w and b are 16-bit values of fmt (LIBNORM_WEIGHT_ACT_TYPE) */
    int plus1;           /* the factor is (float)(1.0f + w[i]) (LIBNORM_WEIGHT_PLUS_ONE) */
    int cvt;             /* norm_dsp.x16_cvt: the AVX-512 tier may use vcvtne2ps2bf16 (same bits) */
} norm_x16_job;

/* ---- exact scalar conversions (the definition the SIMD conversions are tested against) ---- */

static inline float x16_bits_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline uint32_t x16_f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline float x16_bf16_to_f32(uint16_t h)
{
    return x16_bits_f32((uint32_t)h << 16);
}

/* f16 -> float, exact (subnormals too); a NaN keeps sign and payload and is made quiet, as
 * vcvtph2ps and fcvtl do. */
static inline float x16_f16_to_f32(uint16_t h)
{
    uint32_t s = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    if (e == 0x1f)
        return x16_bits_f32(s | 0x7f800000u | (m << 13) | (m ? 0x400000u : 0u));
    if (e == 0) {
        float f = (float)m * 0x1p-24f; /* exact: m < 2^10 */
        return s ? -f : f;
    }
    return x16_bits_f32(s | ((e + 112u) << 23) | (m << 13));
}

/* float -> bf16, round to nearest even (on the bits: subnormals and overflow to Inf included). */
static inline uint16_t x16_f32_to_bf16(float f)
{
    uint32_t u = x16_f32_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return X16_BF16_NAN;
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

/* float -> f16, round to nearest even: |f| >= 65520 (65504 + half an ulp, a tie that rounds to
 * the even 2^16) is Inf; subnormal f16 results are rounded in one step (f * 2^24 is exact, then
 * rounded to an integer by the 2^23 trick, which is RNE in the default rounding mode). */
static inline uint16_t x16_f32_to_f16(float f)
{
    uint32_t u = x16_f32_bits(f), s = (u >> 16) & 0x8000u;
    u &= 0x7fffffffu;
    if (u > 0x7f800000u)
        return X16_F16_NAN;
    if (u >= 0x477ff000u)
        return (uint16_t)(s | 0x7c00u);
    if (u >= 0x38800000u) /* 2^-14 and above: normal f16 */
        return (uint16_t)(s | ((u + 0xfffu + ((u >> 13) & 1u) - 0x38000000u) >> 13));
    float t = fabsf(f) * 0x1p24f;
    t = (t + 0x1p23f) - 0x1p23f;
    return (uint16_t)(s | (uint32_t)t);
}

static inline float x16_widen1(uint16_t h, int fmt)
{
    return fmt == NORM_X16_F16 ? x16_f16_to_f32(h) : x16_bf16_to_f32(h);
}

static inline uint16_t x16_narrow1(float f, int fmt)
{
    return fmt == NORM_X16_F16 ? x16_f32_to_f16(f) : x16_f32_to_bf16(f);
}

/* Weight factor / bias of element i (w NULL: 1 / b NULL: 0). */
static inline float x16_wf1(const norm_x16_job *j, size_t i)
{
    if (!j->w)
        return 1.0f;
    float w = j->wact ? x16_widen1(((const uint16_t *)j->w)[i], j->fmt) : ((const float *)j->w)[i];
    return j->plus1 ? 1.0f + w : w;
}

static inline float x16_b1(const norm_x16_job *j, size_t i)
{
    if (!j->b)
        return 0.0f;
    return j->wact ? x16_widen1(((const uint16_t *)j->b)[i], j->fmt) : ((const float *)j->b)[i];
}

/* Streaming jobs (the x86 tiers): norm_stream_job()'s rule for 16-bit rows (x and y together,
 * 2 + 2 bytes an element, at least NORM_STREAM_BYTES; out of place; y 2-byte aligned). Such jobs
 * write y with non-temporal stores past its first 32-byte boundary, then sfence; no result
 * changes. */
static inline int norm_x16_stream_job(const norm_x16_job *j)
{
    return j->y != j->x && ((size_t)j->y & 1u) == 0 &&
           (double)j->rows * (double)j->dim * 4.0 >= NORM_STREAM_BYTES;
}

/* Elements of y before its first 32-byte boundary, at most n: the head a streaming row writes
 * with ordinary stores before its aligned non-temporal ones. */
static inline size_t norm_x16_nt_head(const uint16_t *y, size_t n)
{
    size_t h = ((32u - ((size_t)y & 31u)) & 31u) / sizeof(uint16_t);
    return h < n ? h : n;
}

/* The x86 tiers' output pass of a row with its weight / bias variant chosen at run time (one
 * predictable branch per row): OUT(HW, WA, PW, HB) with compile-time constants, HW a weight, WA
 * w and b 16-bit values of the row's format (j->wact), PW the factor 1 + w (j->plus1), HB a bias
 * (b: j->b for LayerNorm, NULL for RMSNorm). */
#define NORM_X16_OUT_VARIANTS(j, w, b, OUT)                                                    \
    do {                                                                                       \
        if ((j)->wact)                                                                         \
            NORM_X16_OUT_WB_(w, b, (j)->plus1, 1, OUT);                                        \
        else                                                                                   \
            NORM_X16_OUT_WB_(w, b, (j)->plus1, 0, OUT);                                        \
    } while (0)
#define NORM_X16_OUT_WB_(w, b, plus1, WA, OUT)                                                 \
    do {                                                                                       \
        if ((w) && (plus1)) {                                                                  \
            if (b)                                                                             \
                OUT(1, WA, 1, 1);                                                              \
            else                                                                               \
                OUT(1, WA, 1, 0);                                                              \
        } else if (w) {                                                                        \
            if (b)                                                                             \
                OUT(1, WA, 0, 1);                                                              \
            else                                                                               \
                OUT(1, WA, 0, 0);                                                              \
        } else if (b) {                                                                        \
            OUT(0, WA, 0, 1);                                                                  \
        } else {                                                                               \
            OUT(0, 0, 0, 0);                                                                   \
        }                                                                                      \
    } while (0)

/* The shared rare paths (src/scalar/norm_x16_scalar.c): norm_layernorm_row_rare /
 * norm_rmsnorm_row_rare on the widened row and weights, each result rounded by x16_narrow1(). */
NORM_HIDDEN void norm_x16_layernorm_row_rare(const norm_x16_job *j, uint16_t *y,
                                             const uint16_t *x, float *mean, float *rstd);
NORM_HIDDEN void norm_x16_rmsnorm_row_rare(const norm_x16_job *j, uint16_t *y, const uint16_t *x,
                                           float *rstd);

/* Kernels. */
NORM_HIDDEN void norm_layernorm_x16_scalar(const norm_x16_job *job);
NORM_HIDDEN void norm_rmsnorm_x16_scalar(const norm_x16_job *job);
NORM_HIDDEN void norm_layernorm_x16_avx2(const norm_x16_job *job);
NORM_HIDDEN void norm_rmsnorm_x16_avx2(const norm_x16_job *job);
NORM_HIDDEN void norm_layernorm_x16_avx512(const norm_x16_job *job);
NORM_HIDDEN void norm_rmsnorm_x16_avx512(const norm_x16_job *job);
NORM_HIDDEN void norm_layernorm_x16_neon(const norm_x16_job *job);
NORM_HIDDEN void norm_rmsnorm_x16_neon(const norm_x16_job *job);
/* The AVX-512 tier's source built over AVX2 for checkasm (tests/meson.build), never in the library. */
NORM_HIDDEN void norm_layernorm_x16_avx512emu(const norm_x16_job *job);
NORM_HIDDEN void norm_rmsnorm_x16_avx512emu(const norm_x16_job *job);

/* The entry layer on a given table, for tests (as norm_rows_call). op: NORM_OP_LN or NORM_OP_RMS. */
struct libnorm_opts;
NORM_HIDDEN int norm_x16_rows_call(const norm_dsp *d, int op, int fmt, uint16_t *y,
                                   const uint16_t *x, const void *weight, const void *bias,
                                   size_t rows, size_t dim, float eps,
                                   const struct libnorm_opts *opts, double *sums);

#endif /* NORM_X16_H */
