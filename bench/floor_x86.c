/*
 * Memory floors with AVX-512 or AVX2 intrinsics. This file is compiled twice: with
 * -DNB_FLOOR_AVX512 and the AVX-512 tier's flags, and with -DNB_FLOOR_AVX2 and -mavx2 -mfma.
 * normbench calls a variant only after checking at run time that the CPU (and OS) support it.
 * The floor writes y as libnorm does: ordinary stores, except for a DRAM-sized job (x and y
 * together at least 32 MiB, libnorm's NORM_STREAM_BYTES), which libnorm writes with non-temporal
 * stores (no read-for-ownership of y); so does the floor then, or a kernel could beat its floor.
 */
#include <immintrin.h>
#include <stdint.h>

/* The floor's job takes non-temporal stores (rows 64-byte aligned throughout). */
static int nt_job(const float *y, size_t rows, size_t dim)
{
    return (double)rows * (double)dim * 8.0 >= 32.0 * 1024 * 1024 && ((uintptr_t)y & 63) == 0 &&
           dim % 16 == 0;
}

#include "nb.h"

#if defined(NB_FLOOR_AVX512)

static float rd(const float *x, size_t n)
{
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        a0 = _mm512_add_ps(a0, _mm512_loadu_ps(x + i));
        a1 = _mm512_add_ps(a1, _mm512_loadu_ps(x + i + 16));
        a2 = _mm512_add_ps(a2, _mm512_loadu_ps(x + i + 32));
        a3 = _mm512_add_ps(a3, _mm512_loadu_ps(x + i + 48));
    }
    for (; i + 16 <= n; i += 16)
        a0 = _mm512_add_ps(a0, _mm512_loadu_ps(x + i));
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        a1 = _mm512_add_ps(a1, _mm512_maskz_loadu_ps(m, x + i));
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}

/* One row; W, B and NT select the variant at compile time (the row loop is hoisted out). */
#define RW_ROW(W, B, NT)                                                                    \
    do {                                                                                    \
        size_t i = 0;                                                                       \
        for (; i + 64 <= dim; i += 64)                                                      \
            for (int k = 0; k < 64; k += 16) {                                              \
                __m512 v = _mm512_loadu_ps(xr + i + k);                                     \
                if (W && B)                                                                 \
                    v = _mm512_fmadd_ps(v, _mm512_loadu_ps(w + i + k),                      \
                                        _mm512_loadu_ps(b + i + k));                        \
                else if (W)                                                                 \
                    v = _mm512_mul_ps(v, _mm512_loadu_ps(w + i + k));                       \
                if (NT)                                                                     \
                    _mm512_stream_ps(yr + i + k, v);                                        \
                else                                                                        \
                    _mm512_storeu_ps(yr + i + k, v);                                        \
            }                                                                               \
        for (; i < dim; i += 16) {                                                          \
            size_t left = dim - i;                                                          \
            __mmask16 m = left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);   \
            __m512 v = _mm512_maskz_loadu_ps(m, xr + i);                                    \
            if (W && B)                                                                     \
                v = _mm512_fmadd_ps(v, _mm512_maskz_loadu_ps(m, w + i),                     \
                                    _mm512_maskz_loadu_ps(m, b + i));                       \
            else if (W)                                                                     \
                v = _mm512_mul_ps(v, _mm512_maskz_loadu_ps(m, w + i));                      \
            _mm512_mask_storeu_ps(yr + i, m, v);                                            \
        }                                                                                   \
    } while (0)

static void rw(float *y, const float *x, const float *w, const float *b, size_t rows, size_t dim)
{
    const int nt = nt_job(y, rows, dim);
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * dim;
        float *yr = y + r * dim;
        if (nt) {
            if (w && b)
                RW_ROW(1, 1, 1);
            else if (w)
                RW_ROW(1, 0, 1);
            else
                RW_ROW(0, 0, 1);
        } else {
            if (w && b)
                RW_ROW(1, 1, 0);
            else if (w)
                RW_ROW(1, 0, 0);
            else
                RW_ROW(0, 0, 0);
        }
    }
    if (nt)
        _mm_sfence();
}

/* DRAM copy, as a large memcpy does it: non-temporal stores when dst is 64-byte aligned. */
static void cp(float *dst, const float *src, size_t n)
{
    size_t i = 0;
    const int nt = ((uintptr_t)dst & 63) == 0;
    for (; i + 64 <= n; i += 64) {
        __m512 a = _mm512_loadu_ps(src + i), b = _mm512_loadu_ps(src + i + 16);
        __m512 c = _mm512_loadu_ps(src + i + 32), d = _mm512_loadu_ps(src + i + 48);
        if (nt) {
            _mm512_stream_ps(dst + i, a);
            _mm512_stream_ps(dst + i + 16, b);
            _mm512_stream_ps(dst + i + 32, c);
            _mm512_stream_ps(dst + i + 48, d);
        } else {
            _mm512_storeu_ps(dst + i, a);
            _mm512_storeu_ps(dst + i + 16, b);
            _mm512_storeu_ps(dst + i + 32, c);
            _mm512_storeu_ps(dst + i + 48, d);
        }
    }
    for (; i < n; i++)
        dst[i] = src[i];
    if (nt)
        _mm_sfence();
}

void nb_floor_avx512(nb_floor_fns *f)
{
    f->isa = "avx512";
    f->read = rd;
    f->rw = rw;
    f->copy = cp;
}

#elif defined(NB_FLOOR_AVX2)

static float hsum256(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static float rd(const float *x, size_t n)
{
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        a0 = _mm256_add_ps(a0, _mm256_loadu_ps(x + i));
        a1 = _mm256_add_ps(a1, _mm256_loadu_ps(x + i + 8));
        a2 = _mm256_add_ps(a2, _mm256_loadu_ps(x + i + 16));
        a3 = _mm256_add_ps(a3, _mm256_loadu_ps(x + i + 24));
    }
    for (; i + 8 <= n; i += 8)
        a0 = _mm256_add_ps(a0, _mm256_loadu_ps(x + i));
    float s = hsum256(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    for (; i < n; i++)
        s += x[i];
    return s;
}

#define RW_ROW(W, B, NT)                                                                    \
    do {                                                                                    \
        size_t i = 0;                                                                       \
        for (; i + 32 <= dim; i += 32)                                                      \
            for (int k = 0; k < 32; k += 8) {                                               \
                __m256 v = _mm256_loadu_ps(xr + i + k);                                     \
                if (W && B)                                                                 \
                    v = _mm256_fmadd_ps(v, _mm256_loadu_ps(w + i + k),                      \
                                        _mm256_loadu_ps(b + i + k));                        \
                else if (W)                                                                 \
                    v = _mm256_mul_ps(v, _mm256_loadu_ps(w + i + k));                       \
                if (NT)                                                                     \
                    _mm256_stream_ps(yr + i + k, v);                                        \
                else                                                                        \
                    _mm256_storeu_ps(yr + i + k, v);                                        \
            }                                                                               \
        for (; i + 8 <= dim; i += 8) {                                                      \
            __m256 v = _mm256_loadu_ps(xr + i);                                             \
            if (W && B)                                                                     \
                v = _mm256_fmadd_ps(v, _mm256_loadu_ps(w + i), _mm256_loadu_ps(b + i));     \
            else if (W)                                                                     \
                v = _mm256_mul_ps(v, _mm256_loadu_ps(w + i));                               \
            _mm256_storeu_ps(yr + i, v);                                                    \
        }                                                                                   \
        for (; i < dim; i++)                                                                \
            yr[i] = (W && B) ? xr[i] * w[i] + b[i] : (W) ? xr[i] * w[i] : xr[i];            \
    } while (0)

static void rw(float *y, const float *x, const float *w, const float *b, size_t rows, size_t dim)
{
    const int nt = nt_job(y, rows, dim);
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * dim;
        float *yr = y + r * dim;
        if (nt) {
            if (w && b)
                RW_ROW(1, 1, 1);
            else if (w)
                RW_ROW(1, 0, 1);
            else
                RW_ROW(0, 0, 1);
        } else {
            if (w && b)
                RW_ROW(1, 1, 0);
            else if (w)
                RW_ROW(1, 0, 0);
            else
                RW_ROW(0, 0, 0);
        }
    }
    if (nt)
        _mm_sfence();
}

/* DRAM copy, as a large memcpy does it: non-temporal stores when dst is 32-byte aligned. */
static void cp(float *dst, const float *src, size_t n)
{
    size_t i = 0;
    const int nt = ((uintptr_t)dst & 31) == 0;
    for (; i + 32 <= n; i += 32) {
        __m256 a = _mm256_loadu_ps(src + i), b = _mm256_loadu_ps(src + i + 8);
        __m256 c = _mm256_loadu_ps(src + i + 16), d = _mm256_loadu_ps(src + i + 24);
        if (nt) {
            _mm256_stream_ps(dst + i, a);
            _mm256_stream_ps(dst + i + 8, b);
            _mm256_stream_ps(dst + i + 16, c);
            _mm256_stream_ps(dst + i + 24, d);
        } else {
            _mm256_storeu_ps(dst + i, a);
            _mm256_storeu_ps(dst + i + 8, b);
            _mm256_storeu_ps(dst + i + 16, c);
            _mm256_storeu_ps(dst + i + 24, d);
        }
    }
    for (; i < n; i++)
        dst[i] = src[i];
    if (nt)
        _mm_sfence();
}

void nb_floor_avx2(nb_floor_fns *f)
{
    f->isa = "avx2";
    f->read = rd;
    f->rw = rw;
    f->copy = cp;
}

#else
#error "compile floor_x86.c with -DNB_FLOOR_AVX512 or -DNB_FLOOR_AVX2"
#endif
