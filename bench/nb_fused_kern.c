/*
 * The kernels of normbench's fused group (nb_fused.c) that are not libnorm: the streaming limit
 * of a fused op (every input stream read once, every output stream written once), and the
 * separate passes an engine runs when it does not fuse (the residual add, the SiLU gate, the
 * bf16 and f16 conversions). Compiled once per x86 ISA like floor_x86.c (NB_SUFFIX: generic,
 * avx2, avx512), so that the unfused passes are as fast as an engine's own; normbench checks the
 * CPU before calling a variant.
 * Stores: ordinary, or non-temporal (nt != 0: 64-byte aligned rows) for DRAM-sized jobs, as
 * libnorm's kernels and floor_x86.c do.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif
#if defined(NB_HAVE_SLEEF) && (defined(__AVX2__) || defined(__AVX512F__))
#include <sleef.h>
#endif

#include "nb.h"

#define NB_CAT2(a, b) a##_##b
#define NB_CAT(a, b) NB_CAT2(a, b)
#define FN(name) NB_CAT(name, NB_SUFFIX)
#define NB_STR2(x) #x
#define NB_STR(x) NB_STR2(x)

#if defined(__AVX512F__)
#define VB 64
typedef __m512i vi;
#define VI_LOAD(p) _mm512_loadu_si512((const void *)(p))
#define VI_XOR(a, b) _mm512_xor_si512((a), (b))
#define VI_STORE(p, v) _mm512_storeu_si512((void *)(p), (v))
#define VI_STREAM(p, v) _mm512_stream_si512((void *)(p), (v))
#elif defined(__AVX2__)
#define VB 32
typedef __m256i vi;
#define VI_LOAD(p) _mm256_loadu_si256((const __m256i *)(p))
#define VI_XOR(a, b) _mm256_xor_si256((a), (b))
#define VI_STORE(p, v) _mm256_storeu_si256((__m256i *)(p), (v))
#define VI_STREAM(p, v) _mm256_stream_si256((__m256i *)(p), (v))
#else
#define VB 8
typedef uint64_t vi;
static inline vi vi_load(const void *p)
{
    vi v;
    memcpy(&v, p, sizeof v);
    return v;
}
#define VI_LOAD(p) vi_load(p)
#define VI_XOR(a, b) ((a) ^ (b))
#define VI_STORE(p, v) memcpy((p), &(v), sizeof(vi))
#define VI_STREAM(p, v) VI_STORE(p, v)
#endif

static inline void sfence(void)
{
#if defined(__AVX2__) || defined(__AVX512F__)
    _mm_sfence();
#endif
}

/* The streaming limit of a fused op over n bytes per stream: nin inputs read once, combined
 * with integer xor (no float assists, whatever the bytes are), the result written to each of
 * nout outputs. Written out for the stream counts the ops have so that the loop keeps no
 * pointer arrays. */
static inline __attribute__((always_inline)) void streams(unsigned char *const *out, int nout,
                                                          const unsigned char *const *in, int nin,
                                                          size_t n, int nt)
{
    const unsigned char *i0 = in[0], *i1 = nin > 1 ? in[1] : NULL, *i2 = nin > 2 ? in[2] : NULL;
    unsigned char *o0 = out[0], *o1 = nout > 1 ? out[1] : NULL;
    size_t i = 0;
    for (; i + VB <= n; i += VB) {
        vi v = VI_LOAD(i0 + i);
        if (nin > 1)
            v = VI_XOR(v, VI_LOAD(i1 + i));
        if (nin > 2)
            v = VI_XOR(v, VI_LOAD(i2 + i));
        if (nt) {
            VI_STREAM(o0 + i, v);
            if (nout > 1)
                VI_STREAM(o1 + i, v);
        } else {
            VI_STORE(o0 + i, v);
            if (nout > 1)
                VI_STORE(o1 + i, v);
        }
    }
    for (; i < n; i++) {
        unsigned char c = i0[i];
        if (nin > 1)
            c ^= i1[i];
        if (nin > 2)
            c ^= i2[i];
        o0[i] = c;
        if (nout > 1)
            o1[i] = c;
    }
    if (nt)
        sfence();
}

static void floor_streams(void *const *out, int nout, const void *const *in, int nin, size_t n,
                          int nt)
{
    unsigned char *const *o = (unsigned char *const *)out;
    const unsigned char *const *s = (const unsigned char *const *)in;
    nt = nt && n % VB == 0;
    for (int k = 0; k < nout; k++)
        nt = nt && ((uintptr_t)out[k] & 63) == 0;
    if (nin == 1 && nout == 1)
        streams(o, 1, s, 1, n, nt);
    else if (nin == 2 && nout == 1)
        streams(o, 1, s, 2, n, nt);
    else if (nin == 2 && nout == 2)
        streams(o, 2, s, 2, n, nt);
    else if (nin == 3 && nout == 1)
        streams(o, 1, s, 3, n, nt);
    else
        streams(o, nout > 1 ? 2 : 1, s, 3, n, nt);
}

/* h = x + r, the separate residual add (float adds, the same values as libnorm's fused add). */
static void add_f32(float *h, const float *x, const float *r, size_t n, int nt)
{
    size_t i = 0;
#if defined(__AVX512F__)
    if (nt && ((uintptr_t)h & 63) == 0)
        for (; i + 16 <= n; i += 16)
            _mm512_stream_ps(h + i, _mm512_add_ps(_mm512_loadu_ps(x + i), _mm512_loadu_ps(r + i)));
    else
        for (; i + 16 <= n; i += 16)
            _mm512_storeu_ps(h + i, _mm512_add_ps(_mm512_loadu_ps(x + i), _mm512_loadu_ps(r + i)));
#elif defined(__AVX2__)
    if (nt && ((uintptr_t)h & 31) == 0)
        for (; i + 8 <= n; i += 8)
            _mm256_stream_ps(h + i, _mm256_add_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(r + i)));
    else
        for (; i + 8 <= n; i += 8)
            _mm256_storeu_ps(h + i, _mm256_add_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(r + i)));
#endif
    for (; i < n; i++)
        h[i] = x[i] + r[i];
    if (nt)
        sfence();
}

/* y = y * silu(z), silu(z) = z / (1 + exp(-z)): the gate pass after a plain RMSNorm, with
 * SLEEF's vector expf (the variants libnorm calls) where built, glibc's expf otherwise. */
static void gate_silu(float *y, const float *z, size_t n)
{
    size_t i = 0;
#if defined(NB_HAVE_SLEEF) && defined(__AVX512F__)
    const __m512 one = _mm512_set1_ps(1.0f);
    for (; i + 16 <= n; i += 16) {
        __m512 zv = _mm512_loadu_ps(z + i);
        __m512 e = Sleef_expf16_u10avx512f(_mm512_sub_ps(_mm512_setzero_ps(), zv));
        __m512 g = _mm512_div_ps(zv, _mm512_add_ps(one, e));
        _mm512_storeu_ps(y + i, _mm512_mul_ps(_mm512_loadu_ps(y + i), g));
    }
#elif defined(NB_HAVE_SLEEF) && defined(__AVX2__)
    const __m256 one = _mm256_set1_ps(1.0f);
    for (; i + 8 <= n; i += 8) {
        __m256 zv = _mm256_loadu_ps(z + i);
        __m256 e = Sleef_expf8_u10avx2(_mm256_sub_ps(_mm256_setzero_ps(), zv));
        __m256 g = _mm256_div_ps(zv, _mm256_add_ps(one, e));
        _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(y + i), g));
    }
#endif
    for (; i < n; i++)
        y[i] = y[i] * (z[i] / (1.0f + expf(-z[i])));
}

/* g = silu(z): the arithmetic of gate_silu() without y (the gate's compute limit: normbench
 * runs it on cache-resident rows) */
static void gate_only(float *g, const float *z, size_t n)
{
    size_t i = 0;
#if defined(NB_HAVE_SLEEF) && defined(__AVX512F__)
    const __m512 one = _mm512_set1_ps(1.0f);
    for (; i + 16 <= n; i += 16) {
        __m512 zv = _mm512_loadu_ps(z + i);
        __m512 e = Sleef_expf16_u10avx512f(_mm512_sub_ps(_mm512_setzero_ps(), zv));
        _mm512_storeu_ps(g + i, _mm512_div_ps(zv, _mm512_add_ps(one, e)));
    }
#elif defined(NB_HAVE_SLEEF) && defined(__AVX2__)
    const __m256 one = _mm256_set1_ps(1.0f);
    for (; i + 8 <= n; i += 8) {
        __m256 zv = _mm256_loadu_ps(z + i);
        __m256 e = Sleef_expf8_u10avx2(_mm256_sub_ps(_mm256_setzero_ps(), zv));
        _mm256_storeu_ps(g + i, _mm256_div_ps(zv, _mm256_add_ps(one, e)));
    }
#endif
    for (; i < n; i++)
        g[i] = z[i] / (1.0f + expf(-z[i]));
}

/* bf16 -> f32 (exact), f32 -> bf16 (round to nearest even; NaN kept quiet). */
static void bf16_to_f32(float *d, const uint16_t *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t u = (uint32_t)s[i] << 16;
        memcpy(&d[i], &u, 4);
    }
}

static void f32_to_bf16(uint16_t *d, const float *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &s[i], 4);
        d[i] = (u & 0x7fffffffu) > 0x7f800000u ? (uint16_t)((u >> 16) | 0x40)
                                               : (uint16_t)((u + 0x7fffu + ((u >> 16) & 1)) >> 16);
    }
}

/* f16 <-> f32: F16C where the ISA has it (vcvtph2ps exact, vcvtps2ph round to nearest even),
 * else a software conversion. */
static float h2f(uint16_t h)
{
    uint32_t s = (uint32_t)(h & 0x8000) << 16, e = (h >> 10) & 31, m = h & 1023, u;
    if (e == 31)
        u = s | 0x7f800000u | (m << 13) | (m ? 0x400000u : 0);
    else if (e)
        u = s | ((e + 112) << 23) | (m << 13);
    else {
        float f = (float)m * 0x1p-24f;
        memcpy(&u, &f, 4);
        u |= s;
    }
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static void f16_to_f32(float *d, const uint16_t *s, size_t n)
{
    size_t i = 0;
#if defined(__AVX2__) || defined(__AVX512F__)
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(d + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(s + i))));
#endif
    for (; i < n; i++)
        d[i] = h2f(s[i]);
}

static uint16_t f2h(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    uint16_t s = (uint16_t)((u >> 16) & 0x8000);
    float a = fabsf(f);
    if (a != a)
        return (uint16_t)(s | 0x7e00 | ((u >> 13) & 0x3ff));
    if (a >= 65520.0f)
        return (uint16_t)(s | 0x7c00);
    if (a < 0x1p-14f) /* subnormal or zero: a multiple of 2^-24, rounded by the float add */
        return (uint16_t)(s | (uint16_t)(a * 0x1p24f + 0x1p23f - 0x1p23f));
    uint32_t v;
    memcpy(&v, &a, 4);
    v += 0xfffu + ((v >> 13) & 1);
    return (uint16_t)(s | (((v >> 23) - 112) << 10) | ((v >> 13) & 0x3ff));
}

static void f32_to_f16(uint16_t *d, const float *s, size_t n)
{
    size_t i = 0;
#if defined(__AVX2__) || defined(__AVX512F__)
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(d + i), _mm256_cvtps_ph(_mm256_loadu_ps(s + i), 0));
#endif
    for (; i < n; i++)
        d[i] = f2h(s[i]);
}

void FN(nb_fused_kern)(nb_fused_fns *f)
{
    f->isa = NB_STR(NB_SUFFIX);
    f->floor = floor_streams;
    f->add = add_f32;
    f->gate_silu = gate_silu;
    f->gate_only = gate_only;
    f->bf16_to_f32 = bf16_to_f32;
    f->f32_to_bf16 = f32_to_bf16;
    f->f16_to_f32 = f16_to_f32;
    f->f32_to_f16 = f32_to_f16;
}
