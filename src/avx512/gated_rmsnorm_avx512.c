/*
 * Gated RMSNorm, AVX-512 tier: bit-identical to norm_gated_rmsnorm_f32_scalar (the definition:
 * src/scalar/gated_rmsnorm_scalar.c). The exp is SLEEF's Sleef_expf16_u10avx512f (the FMA
 * variant, by its explicit name: the same bits as Sleef_expf8_u10avx2 and the scalar tier's port,
 * tests/test_gate_exp.c); the total of squares of each group is total_sq_avx512() of
 * norm_avx512.h with the group as the row. The row driver (spans of gates computed ahead into a
 * stack buffer, then per group the total, the finish and the output pass) is src/gated_tmpl.h.
 * The emulated build (checkasm's avx512-emu over SIMDe: norm_avx512_emu.h) has no AVX-512 SLEEF
 * to call; it takes the exp of each half from Sleef_expf8_u10avx2 (the same bits, lane by lane).
 */
#include <sleef.h>

#include "norm_avx512.h"

/* The exp is called through a pointer loaded once per gate loop (held in a callee-saved
 * register: one indirect call per vector rather than a call into the PLT and its jump, ~10%
 * faster measured in a loop of SLEEF calls on Zen 5). */
#if defined(NORM_AVX512_EMU)
typedef int exp16_fn; /* unused */
#define EXP16_FN 0
N5_INLINE __m512 exp16_avx512(exp16_fn f, __m512 v)
{
    (void)f;
    return n5e_join(Sleef_expf8_u10avx2(n5e_half(v, 0)), Sleef_expf8_u10avx2(n5e_half(v, 1)));
}
#else
typedef __m512 (*exp16_fn)(__m512);
#define EXP16_FN Sleef_expf16_u10avx512f
#define exp16_avx512(f, v) (f)(v)
#endif

static __attribute__((noinline)) double gt_total_sq(const float *x, size_t n)
{
    return total_sq_avx512(x, n);
}

/* g = sigmoid(z) = 1 / (1 + e) or silu(z) = z / (1 + e), e = expf(-z); sig a constant. */
N5_INLINE __m512 gate_avx512(exp16_fn ex, __m512 z, int sig)
{
    const __m512 one = _mm512_set1_ps(1.0f);
    __m512 e = exp16_avx512(ex, _mm512_xor_ps(z, _mm512_set1_ps(-0.0f)));
    __m512 d = _mm512_add_ps(one, e);
    return _mm512_div_ps(sig ? one : z, d);
}

/* 16 gates (k of them, masked, when part) at i; mode as gt_gates. */
N5_INLINE void gates16_avx512(exp16_fn ex, float *g, const float *x, const float *z, __mmask16 m,
                              int part, int mode)
{
    __m512 zv = part ? _mm512_maskz_loadu_ps(m, z) : _mm512_loadu_ps(z);
    __m512 v = gate_avx512(ex, zv, mode == 2);
    if (mode == 1)
        v = _mm512_mul_ps(part ? _mm512_maskz_loadu_ps(m, x) : _mm512_loadu_ps(x), v);
    if (part)
        _mm512_mask_storeu_ps(g, m, v);
    else
        _mm512_storeu_ps(g, v);
}

/* pz, pk: as gt_gates_loop_pf (NULL, 0: none) */
N5_INLINE void gt_gates_loop_any(float *g, const float *x, const float *z, float *yp, size_t n,
                                 int mode, const float *pz, size_t pk)
{
    exp16_fn ex = EXP16_FN;
    __asm__("" : "+r"(ex)); /* the compiler no longer knows the callee: an indirect call */
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        norm_gated_prefetch(x, yp, i, mode);
        norm_gated_prefetch_z(pz, i, pk);
        gates16_avx512(ex, g + i, x + i, z + i, 0xFFFF, 0, mode);
    }
    if (i < n)
        gates16_avx512(ex, g + i, x + i, z + i, tail_mask_avx512(n - i), 1, mode);
}

N5_INLINE void gt_gates_loop(float *g, const float *x, const float *z, float *yp, size_t n,
                             int mode)
{
    gt_gates_loop_any(g, x, z, yp, n, mode, NULL, 0);
}

/* gt_gates_loop, and the line of pz + i once per 16 gates at i < pk (the next span's z) */
N5_INLINE void gt_gates_loop_pf(float *g, const float *x, const float *z, float *yp, size_t n,
                                int mode, const float *pz, size_t pk)
{
    gt_gates_loop_any(g, x, z, yp, n, mode, pz, pk);
}
#define GT_GATE_PF 1

/* 16 outputs (k, masked, when part) at y; hw, po, mode constants. */
N5_INLINE void out16_avx512(float *y, const float *v, const float *g, const float *w, __m512 r,
                            __mmask16 m, int part, int hw, int po, int mode)
{
    __m512 t = _mm512_mul_ps(part ? _mm512_maskz_loadu_ps(m, v) : _mm512_loadu_ps(v), r);
    if (hw) {
        __m512 wv = part ? _mm512_maskz_loadu_ps(m, w) : _mm512_loadu_ps(w);
        t = _mm512_mul_ps(t, po ? _mm512_add_ps(_mm512_set1_ps(1.0f), wv) : wv);
    }
    if (mode != 1)
        t = _mm512_mul_ps(t, part ? _mm512_maskz_loadu_ps(m, g) : _mm512_loadu_ps(g));
    /* a NaN lane becomes the quiet NaN NAN (the scalar tier's canon()) */
    t = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(t, t, _CMP_UNORD_Q), t, _mm512_set1_ps(NAN));
    if (part)
        _mm512_mask_storeu_ps(y, m, t);
    else
        _mm512_storeu_ps(y, t);
}

N5_INLINE void gt_out(float *y, const float *v, const float *g, const float *w, size_t n,
                      float rs, int hw, int po, int mode)
{
    const __m512 r = _mm512_set1_ps(rs);
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        out16_avx512(y + i, v + i, g + i, hw ? w + i : NULL, r, 0xFFFF, 0, hw, po, mode);
    if (i < n)
        out16_avx512(y + i, v + i, g + i, hw ? w + i : NULL, r, tail_mask_avx512(n - i), 1, hw,
                     po, mode);
}

#define GT_TIER avx512
#define GT_INLINE N5_INLINE
#include "../gated_tmpl.h"
