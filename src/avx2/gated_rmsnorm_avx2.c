/*
 * Gated RMSNorm, AVX2 + FMA tier: bit-identical to norm_gated_rmsnorm_f32_scalar (the definition:
 * src/scalar/gated_rmsnorm_scalar.c). The exp is SLEEF's Sleef_expf8_u10avx2 (the FMA variant,
 * called by its explicit name: the same bits as the scalar tier's port, tests/test_gate_exp.c);
 * the total of squares of each group is the RMSNorm reduction of norm_avx2.h with the group as
 * the row. The row driver (spans of gates computed ahead into a stack buffer, then per group the
 * total, the finish and the output pass) is src/gated_tmpl.h.
 */
#include <sleef.h>

#include "norm_avx2.h"

static __attribute__((noinline)) double gt_total_sq(const float *x, size_t n)
{
    double unused, s;
    norm_reduce_avx2(x, n, 0.0f, 0, 0, 1, &unused, &s);
    return s;
}

/* The exp is called through a pointer loaded once per gate loop (held in a callee-saved
 * register: one indirect call per vector rather than a call into the PLT and its jump). */
typedef __m256 (*exp8_fn)(__m256);

/* g = sigmoid(z) = 1 / (1 + e) or silu(z) = z / (1 + e), e = expf(-z); sig a constant. */
NORM_AVX2_INLINE __m256 gate_avx2(exp8_fn ex, __m256 z, int sig)
{
    const __m256 one = _mm256_set1_ps(1.0f);
    __m256 e = ex(_mm256_xor_ps(z, _mm256_set1_ps(-0.0f)));
    __m256 d = _mm256_add_ps(one, e);
    return _mm256_div_ps(sig ? one : z, d);
}

/* 8 gates (masked by m when part) at g; mode as gt_gates. */
NORM_AVX2_INLINE void gates8_avx2(exp8_fn ex, float *g, const float *x, const float *z, __m256i m,
                                  int part, int mode)
{
    __m256 v = gate_avx2(ex, part ? _mm256_maskload_ps(z, m) : _mm256_loadu_ps(z), mode == 2);
    if (mode == 1)
        v = _mm256_mul_ps(part ? _mm256_maskload_ps(x, m) : _mm256_loadu_ps(x), v);
    if (part)
        _mm256_maskstore_ps(g, m, v);
    else
        _mm256_storeu_ps(g, v);
}

/* pz, pk: as gt_gates_loop_pf (NULL, 0: none) */
NORM_AVX2_INLINE void gt_gates_loop_any(float *g, const float *x, const float *z, float *yp,
                                        size_t n, int mode, const float *pz, size_t pk)
{
    exp8_fn ex = Sleef_expf8_u10avx2;
    __asm__("" : "+r"(ex)); /* the compiler no longer knows the callee: an indirect call */
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        norm_gated_prefetch(x, yp, i, mode);
        norm_gated_prefetch_z(pz, i, pk);
        gates8_avx2(ex, g + i, x + i, z + i, _mm256_setzero_si256(), 0, mode);
        gates8_avx2(ex, g + i + 8, x + i + 8, z + i + 8, _mm256_setzero_si256(), 0, mode);
    }
    for (; i + 8 <= n; i += 8)
        gates8_avx2(ex, g + i, x + i, z + i, _mm256_setzero_si256(), 0, mode);
    if (i < n)
        gates8_avx2(ex, g + i, x + i, z + i, norm_mask_avx2((ptrdiff_t)(n - i)), 1, mode);
}

NORM_AVX2_INLINE void gt_gates_loop(float *g, const float *x, const float *z, float *yp, size_t n,
                                    int mode)
{
    gt_gates_loop_any(g, x, z, yp, n, mode, NULL, 0);
}

/* gt_gates_loop, and the line of pz + i once per 16 gates at i < pk (the next span's z) */
NORM_AVX2_INLINE void gt_gates_loop_pf(float *g, const float *x, const float *z, float *yp,
                                       size_t n, int mode, const float *pz, size_t pk)
{
    gt_gates_loop_any(g, x, z, yp, n, mode, pz, pk);
}
#define GT_GATE_PF 1

/* 8 outputs (masked by m when part) at y; hw, po, mode constants. */
NORM_AVX2_INLINE void out8_avx2(float *y, const float *v, const float *g, const float *w, __m256 r,
                                __m256i m, int part, int hw, int po, int mode)
{
    __m256 t = _mm256_mul_ps(part ? _mm256_maskload_ps(v, m) : _mm256_loadu_ps(v), r);
    if (hw) {
        __m256 wv = part ? _mm256_maskload_ps(w, m) : _mm256_loadu_ps(w);
        t = _mm256_mul_ps(t, po ? _mm256_add_ps(_mm256_set1_ps(1.0f), wv) : wv);
    }
    if (mode != 1)
        t = _mm256_mul_ps(t, part ? _mm256_maskload_ps(g, m) : _mm256_loadu_ps(g));
    /* a NaN lane becomes the quiet NaN NAN (the scalar tier's canon()) */
    t = _mm256_blendv_ps(t, _mm256_set1_ps(NAN), _mm256_cmp_ps(t, t, _CMP_UNORD_Q));
    if (part)
        _mm256_maskstore_ps(y, m, t);
    else
        _mm256_storeu_ps(y, t);
}

NORM_AVX2_INLINE void gt_out(float *y, const float *v, const float *g, const float *w, size_t n,
                             float rs, int hw, int po, int mode)
{
    const __m256 r = _mm256_set1_ps(rs);
    const __m256i all = _mm256_set1_epi32(-1);
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        out8_avx2(y + i, v + i, g + i, hw ? w + i : NULL, r, all, 0, hw, po, mode);
    if (i < n)
        out8_avx2(y + i, v + i, g + i, hw ? w + i : NULL, r, norm_mask_avx2((ptrdiff_t)(n - i)),
                  1, hw, po, mode);
}

#define GT_TIER avx2
#define GT_INLINE NORM_AVX2_INLINE
#include "../gated_tmpl.h"
