/*
 * The baselines normbench compares libnorm with, compiled once per ISA (generic, AVX2+FMA,
 * AVX-512) like a -march=native build of the engine each stands for; normbench picks the best
 * variant the CPU supports. No -ffast-math (it would let the compiler reassociate the sums and make
 * the comparison dishonest).
 *
 * 1. naive: the textbook two-pass float LayerNorm (mean, then variance around the mean, then the
 *    output) and RMSNorm, as a C programmer writes them.
 *
 * 2. ggml: ggml's CPU algorithm, rewritten (not copied) from ggml-cpu/ops.cpp and vec.cpp/vec.h:
 *    GGML_OP_NORM (ggml_compute_forward_norm_f32): per row, ggml_vec_sum_f32 sums x in double
 *    (ggml_float) and rounds the sum to float, mean = sum/n in float; ggml_vec_cvar_f32 writes
 *    y = x - mean and sums (x - mean)^2 in double, one SIMD vector's float partial at a time (the
 *    AVX-512 / AVX2 / SSE2 paths; scalar for the tail), variance = that sum / n; then
 *    scale = 1.0f/sqrtf(variance + eps) and ggml_vec_scale_f32 (y *= scale).
 *    GGML_OP_RMS_NORM: sum of (float)(x*x) in double, mean = sum/n in float, y = x (memcpy), then
 *    y *= 1.0f/sqrtf(mean + eps).
 *    Weight and bias are separate graph nodes: GGML_OP_MUL (y = y * w, broadcast over rows) and
 *    GGML_OP_ADD (y = y + b), in place as ggml's allocator arranges for a single-consumer input.
 *    Threads: the norm takes rows ith, ith+nth, ...; the binary ops contiguous chunks of
 *    ceil(rows/nth) rows; ggml puts a barrier between graph nodes (normbench does the same).
 *    Strided rows (per-head norms on a view of a fused QKV tensor): ggml's norm ops read the
 *    source through its row stride nb01 and write a contiguous result; so do these (xs).
 */
#include <math.h>
#include <string.h>

#if defined(__SSE2__)
#include <immintrin.h>
#endif

#include "nb.h"

#ifndef NB_SUFFIX
#error "compile baselines.c with -DNB_SUFFIX=generic|avx2|avx512"
#endif
#define NB_CAT2(a, b) a##b
#define NB_CAT(a, b) NB_CAT2(a, b)
#define NB_STR2(a) #a
#define NB_STR(a) NB_STR2(a)

typedef double ggml_float;

/* ---------------- naive ---------------- */

static void naive_ln(float *y, const float *x, const float *w, const float *b, size_t r0,
                     size_t r1, size_t dim, size_t xs, float eps)
{
    for (size_t r = r0; r < r1; r++) {
        const float *xr = x + r * xs;
        float *yr = y + r * dim;
        float sum = 0.0f;
        for (size_t i = 0; i < dim; i++)
            sum += xr[i];
        float mean = sum / (float)dim;
        float var = 0.0f;
        for (size_t i = 0; i < dim; i++) {
            float d = xr[i] - mean;
            var += d * d;
        }
        var /= (float)dim;
        float rstd = 1.0f / sqrtf(var + eps);
        if (w && b)
            for (size_t i = 0; i < dim; i++)
                yr[i] = (xr[i] - mean) * rstd * w[i] + b[i];
        else
            for (size_t i = 0; i < dim; i++)
                yr[i] = (xr[i] - mean) * rstd;
    }
}

static void naive_rms(float *y, const float *x, const float *w, size_t r0, size_t r1, size_t dim,
                      size_t xs, float eps)
{
    for (size_t r = r0; r < r1; r++) {
        const float *xr = x + r * xs;
        float *yr = y + r * dim;
        float ss = 0.0f;
        for (size_t i = 0; i < dim; i++)
            ss += xr[i] * xr[i];
        float rstd = 1.0f / sqrtf(ss / (float)dim + eps);
        for (size_t i = 0; i < dim; i++)
            yr[i] = xr[i] * rstd * w[i];
    }
}

/* ---------------- ggml ---------------- */

static void g_vec_sum_f32(int n, float *s, const float *x)
{
    ggml_float sum = 0.0;
    for (int i = 0; i < n; ++i)
        sum += (ggml_float)x[i];
    *s = (float)sum;
}

static ggml_float g_vec_cvar_f32(int n, float *y, const float *x, float mean)
{
    int i = 0;
    ggml_float sum = 0;
#if defined(__AVX512F__) && defined(__AVX512DQ__)
    for (; i + 15 < n; i += 16) {
        __m512 v = _mm512_sub_ps(_mm512_loadu_ps(x + i), _mm512_set1_ps(mean));
        _mm512_storeu_ps(y + i, v);
        sum += (ggml_float)_mm512_reduce_add_ps(_mm512_mul_ps(v, v));
    }
#elif defined(__AVX2__) && defined(__FMA__)
    for (; i + 7 < n; i += 8) {
        __m256 v = _mm256_sub_ps(_mm256_loadu_ps(x + i), _mm256_set1_ps(mean));
        _mm256_storeu_ps(y + i, v);
        v = _mm256_mul_ps(v, v);
        __m128 h = _mm_add_ps(_mm256_extractf128_ps(v, 1), _mm256_castps256_ps128(v));
        h = _mm_add_ps(h, _mm_movehl_ps(h, h));
        h = _mm_add_ss(h, _mm_movehdup_ps(h));
        sum += (ggml_float)_mm_cvtss_f32(h);
    }
#elif defined(__SSE2__)
    for (; i + 3 < n; i += 4) {
        __m128 v = _mm_sub_ps(_mm_loadu_ps(x + i), _mm_set1_ps(mean));
        _mm_storeu_ps(y + i, v);
        v = _mm_mul_ps(v, v);
        __m128 t = _mm_shuffle_ps(v, v, _MM_SHUFFLE(2, 3, 0, 1));
        v = _mm_add_ps(v, t);
        t = _mm_movehl_ps(t, v);
        v = _mm_add_ss(v, t);
        sum += (ggml_float)_mm_cvtss_f32(v);
    }
#endif
    for (; i < n; ++i) {
        float v = x[i] - mean;
        y[i] = v;
        v *= v;
        sum += (ggml_float)v;
    }
    return sum / n;
}

/* ggml_vec_scale_f32 / ggml_vec_mul_f32 / ggml_vec_add_f32: simple loops the compiler vectorizes
 * for the ISA this file is built for (ggml's own SIMD macros compute the same thing). */
static void g_vec_scale_f32(int n, float *y, float v)
{
    for (int i = 0; i < n; ++i)
        y[i] *= v;
}

static void ggml_norm(float *y, const float *x, size_t rows, size_t dim, size_t xs, float eps,
                      unsigned ith, unsigned nth)
{
    const int n = (int)dim;
    for (size_t r = ith; r < rows; r += nth) {
        const float *xr = x + r * xs;
        float *yr = y + r * dim;
        float sum = 0.0f;
        g_vec_sum_f32(n, &sum, xr);
        const float mean = sum / n;
        const float variance = (float)g_vec_cvar_f32(n, yr, xr, mean);
        const float scale = 1.0f / sqrtf(variance + eps);
        g_vec_scale_f32(n, yr, scale);
    }
}

static void ggml_rms_norm(float *y, const float *x, size_t rows, size_t dim, size_t xs,
                          float eps, unsigned ith, unsigned nth)
{
    const int n = (int)dim;
    for (size_t r = ith; r < rows; r += nth) {
        const float *xr = x + r * xs;
        float *yr = y + r * dim;
        ggml_float sum = 0.0;
        for (int i = 0; i < n; i++)
            sum += (ggml_float)(xr[i] * xr[i]);
        const float mean = (float)(sum / n);
        memcpy(yr, xr, dim * sizeof(float));
        const float scale = 1.0f / sqrtf(mean + eps);
        g_vec_scale_f32(n, yr, scale);
    }
}

static void ggml_mul(float *y, const float *w, size_t r0, size_t r1, size_t dim)
{
    for (size_t r = r0; r < r1; r++) {
        float *yr = y + r * dim;
        for (size_t i = 0; i < dim; i++)
            yr[i] = yr[i] * w[i];
    }
}

static void ggml_add(float *y, const float *b, size_t r0, size_t r1, size_t dim)
{
    for (size_t r = r0; r < r1; r++) {
        float *yr = y + r * dim;
        for (size_t i = 0; i < dim; i++)
            yr[i] = yr[i] + b[i];
    }
}

void NB_CAT(nb_base_, NB_SUFFIX)(nb_base_fns *f)
{
    f->isa = NB_STR(NB_SUFFIX);
    f->naive_ln = naive_ln;
    f->naive_rms = naive_rms;
    f->ggml_norm = ggml_norm;
    f->ggml_rms_norm = ggml_rms_norm;
    f->ggml_mul = ggml_mul;
    f->ggml_add = ggml_add;
}
