/*
 * Memory floors with AVX-512 or AVX2 intrinsics. This file is compiled twice: with
 * -DNB_FLOOR_AVX512 and the AVX-512 tier's flags, and with -DNB_FLOOR_AVX2 and -mavx2 -mfma;
 * the code is written once over the few vector operations below. normbench calls a variant only
 * after checking at run time that the CPU (and OS) support it.
 * The floor writes y as libnorm does: ordinary stores, except for a DRAM-sized job (x and y
 * together at least 32 MiB, libnorm's NORM_STREAM_BYTES), which libnorm writes with non-temporal
 * stores (no read-for-ownership of y); so does the floor then, or a kernel could beat its floor.
 * Three floors: rd (read x), rw (the streaming limit: read x, w, b, write y) and rw2 (the
 * two-pass limit: per row, rd then rw). x's rows may be strided (xs >= dim); y is contiguous.
 */
#include <immintrin.h>
#include <stdint.h>

#include "nb.h"

#if defined(NB_FLOOR_AVX512)
#define V __m512
#define VW 16 /* floats per vector */
#define V_ZERO() _mm512_setzero_ps()
#define V_LOAD(p) _mm512_loadu_ps(p)
#define V_STORE(p, v) _mm512_storeu_ps((p), (v))
#define V_STREAM(p, v) _mm512_stream_ps((p), (v))
#define V_ADD(a, b) _mm512_add_ps((a), (b))
#define V_MUL(a, b) _mm512_mul_ps((a), (b))
#define V_FMA(a, b, c) _mm512_fmadd_ps((a), (b), (c))
#define V_HSUM(v) _mm512_reduce_add_ps(v)
#define NB_FLOOR_NAME nb_floor_avx512
#define NB_FLOOR_ISA "avx512"
#elif defined(NB_FLOOR_AVX2)
#define V __m256
#define VW 8
#define V_ZERO() _mm256_setzero_ps()
#define V_LOAD(p) _mm256_loadu_ps(p)
#define V_STORE(p, v) _mm256_storeu_ps((p), (v))
#define V_STREAM(p, v) _mm256_stream_ps((p), (v))
#define V_ADD(a, b) _mm256_add_ps((a), (b))
#define V_MUL(a, b) _mm256_mul_ps((a), (b))
#define V_FMA(a, b, c) _mm256_fmadd_ps((a), (b), (c))
static float hsum256(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
#define V_HSUM(v) hsum256(v)
#define NB_FLOOR_NAME nb_floor_avx2
#define NB_FLOOR_ISA "avx2"
#else
#error "compile floor_x86.c with -DNB_FLOOR_AVX512 or -DNB_FLOOR_AVX2"
#endif

/* The floor's job takes non-temporal stores (rows 64-byte aligned throughout). */
static int nt_job(const float *y, size_t rows, size_t dim)
{
    return (double)rows * (double)dim * 8.0 >= 32.0 * 1024 * 1024 && ((uintptr_t)y & 63) == 0 &&
           dim % 16 == 0;
}

static float rd_n(const float *x, size_t n)
{
    V a0 = V_ZERO(), a1 = a0, a2 = a0, a3 = a0;
    size_t i = 0;
    for (; i + 4 * VW <= n; i += 4 * VW) {
        a0 = V_ADD(a0, V_LOAD(x + i));
        a1 = V_ADD(a1, V_LOAD(x + i + VW));
        a2 = V_ADD(a2, V_LOAD(x + i + 2 * VW));
        a3 = V_ADD(a3, V_LOAD(x + i + 3 * VW));
    }
    for (; i + VW <= n; i += VW)
        a0 = V_ADD(a0, V_LOAD(x + i));
    float s = V_HSUM(V_ADD(V_ADD(a0, a1), V_ADD(a2, a3)));
    for (; i < n; i++)
        s += x[i];
    return s;
}

/* Read-only pass over the rows of x (one stream when they are contiguous). */
static float rd(const float *x, size_t rows, size_t dim, size_t xs)
{
    if (xs == dim)
        return rd_n(x, rows * dim);
    float s = 0;
    for (size_t r = 0; r < rows; r++)
        s += rd_n(x + r * xs, dim);
    return s;
}

/* One vector of a row at element I. */
#define RW_VEC(W, B, NT, I)                                                                 \
    do {                                                                                    \
        V v = V_LOAD(xr + (I));                                                             \
        if (W && B)                                                                         \
            v = V_FMA(v, V_LOAD(w + (I)), V_LOAD(b + (I)));                                 \
        else if (W)                                                                         \
            v = V_MUL(v, V_LOAD(w + (I)));                                                  \
        if (NT)                                                                             \
            V_STREAM(yr + (I), v);                                                          \
        else                                                                                \
            V_STORE(yr + (I), v);                                                           \
    } while (0)

/* One row; W, B and NT select the variant at compile time (the row loop is hoisted out). */
#define RW_ROW(W, B, NT)                                                                    \
    do {                                                                                    \
        size_t i = 0;                                                                       \
        for (; i + 4 * VW <= dim; i += 4 * VW)                                              \
            for (size_t k = i; k < i + 4 * VW; k += VW) /* unrolled by the compiler */     \
                RW_VEC(W, B, NT, k);                                                        \
        for (; i + VW <= dim; i += VW)                                                      \
            RW_VEC(W, B, NT, i);                                                            \
        for (; i < dim; i++)                                                                \
            yr[i] = (W && B) ? xr[i] * w[i] + b[i] : (W) ? xr[i] * w[i] : xr[i];            \
    } while (0)

/* One row of the rw pass, the variant chosen by nt, w and b (inlined, so that these tests
 * hoist out of the row loops of rw and rw2). */
static inline __attribute__((always_inline)) void rw_row(float *yr, const float *xr,
                                                         const float *w, const float *b,
                                                         size_t dim, int nt)
{
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

static void rw(float *y, const float *x, const float *w, const float *b, size_t rows, size_t dim,
               size_t xs)
{
    const int nt = nt_job(y, rows, dim);
    for (size_t r = 0; r < rows; r++)
        rw_row(y + r * dim, x + r * xs, w, b, dim, nt);
    if (nt)
        _mm_sfence();
}

/* The two-pass limit: per row, the read pass, then the rw pass (x read twice). Per row, as a
 * norm does it: the second read finds the row where the first left it (L1 for rows up to the
 * L1's size); two separate passes over the whole job would re-read x from L2, L3 or DRAM. */
static float rw2(float *y, const float *x, const float *w, const float *b, size_t rows,
                 size_t dim, size_t xs)
{
    const int nt = nt_job(y, rows, dim);
    float s = 0;
    for (size_t r = 0; r < rows; r++) {
        s += rd_n(x + r * xs, dim);
        rw_row(y + r * dim, x + r * xs, w, b, dim, nt);
    }
    if (nt)
        _mm_sfence();
    return s;
}

/* DRAM copy, as a large memcpy does it: non-temporal stores when dst is 64-byte aligned. */
static void cp(float *dst, const float *src, size_t n)
{
    const int nt = ((uintptr_t)dst & 63) == 0;
    size_t i = 0;
    for (; i + 4 * VW <= n; i += 4 * VW) {
        V a = V_LOAD(src + i), b = V_LOAD(src + i + VW);
        V c = V_LOAD(src + i + 2 * VW), d = V_LOAD(src + i + 3 * VW);
        if (nt) {
            V_STREAM(dst + i, a);
            V_STREAM(dst + i + VW, b);
            V_STREAM(dst + i + 2 * VW, c);
            V_STREAM(dst + i + 3 * VW, d);
        } else {
            V_STORE(dst + i, a);
            V_STORE(dst + i + VW, b);
            V_STORE(dst + i + 2 * VW, c);
            V_STORE(dst + i + 3 * VW, d);
        }
    }
    for (; i < n; i++)
        dst[i] = src[i];
    if (nt)
        _mm_sfence();
}

void NB_FLOOR_NAME(nb_floor_fns *f)
{
    f->isa = NB_FLOOR_ISA;
    f->read = rd;
    f->rw = rw;
    f->rw2 = rw2;
    f->copy = cp;
}
