/*
 * Gated RMSNorm, AVX-512 tier: bit-identical to norm_gated_rmsnorm_f32_scalar (the definition:
 * src/scalar/gated_rmsnorm_scalar.c). The exp is SLEEF's Sleef_expf16_u10avx512f (the FMA
 * variant, by its explicit name: the same bits as Sleef_expf8_u10avx2 and the scalar tier's port,
 * tests/test_gate_exp.c); the total of squares of each group is total_sq_avx512() of
 * norm_avx512.h with the group as the row. Per group as the AVX2 tier (gated_rmsnorm_avx2.c).
 * The emulated build (checkasm's avx512-emu over SIMDe: norm_avx512_emu.h) has no AVX-512 SLEEF
 * to call; it takes the exp of each half from Sleef_expf8_u10avx2 (the same bits, lane by lane).
 */
#include <sleef.h>

#include "norm_avx512.h"

#if defined(NORM_AVX512_EMU)
N5_INLINE __m512 exp16_avx512(__m512 v)
{
    return n5e_join(Sleef_expf8_u10avx2(n5e_half(v, 0)), Sleef_expf8_u10avx2(n5e_half(v, 1)));
}
#else
#define exp16_avx512(v) Sleef_expf16_u10avx512f(v)
#endif

static __attribute__((noinline)) double gated_total_sq_avx512(const float *x, size_t n)
{
    return total_sq_avx512(x, n);
}

/* g = sigmoid(z) = 1 / (1 + e) or silu(z) = z / (1 + e), e = expf(-z); sig a constant. */
N5_INLINE __m512 gate_avx512(__m512 z, int sig)
{
    const __m512 one = _mm512_set1_ps(1.0f);
    __m512 e = exp16_avx512(_mm512_xor_ps(z, _mm512_set1_ps(-0.0f)));
    __m512 d = _mm512_add_ps(one, e);
    return _mm512_div_ps(sig ? one : z, d);
}

N5_INLINE __m512 ld_avx512(const float *p, __mmask16 m, int part)
{
    return part ? _mm512_maskz_loadu_ps(m, p) : _mm512_loadu_ps(p);
}

/* wf for 16 elements at w: w, or 1 + w with plus_one. */
N5_INLINE __m512 wf_avx512(const float *w, __mmask16 m, int part, int po)
{
    __m512 v = ld_avx512(w, m, part);
    return po ? _mm512_add_ps(_mm512_set1_ps(1.0f), v) : v;
}

/* 16 elements (k of them, masked, when part) at i of each pass; mode 0/2: AFTER (silu/sigmoid)
 * pass 2, y = ((x * r) * wf) * g(z); mode 1 (BEFORE): pass 1 (u) when `first`, else pass 2. */
N5_INLINE void step_avx512(float *y, const float *x, const float *z, const float *w, __m512 r,
                           __mmask16 m, int part, int hw, int po, int mode, int first)
{
    __m512 t;
    if (mode == 1 && first) {
        t = _mm512_mul_ps(ld_avx512(x, m, part), gate_avx512(ld_avx512(z, m, part), 0));
    } else {
        t = _mm512_mul_ps(ld_avx512(mode == 1 ? y : x, m, part), r);
        if (hw)
            t = _mm512_mul_ps(t, wf_avx512(w, m, part, po));
        if (mode != 1)
            t = _mm512_mul_ps(t, gate_avx512(ld_avx512(z, m, part), mode == 2));
        /* a NaN lane becomes the quiet NaN NAN (the scalar tier's canon()) */
        t = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(t, t, _CMP_UNORD_Q), t, _mm512_set1_ps(NAN));
    }
    if (part)
        _mm512_mask_storeu_ps(y, m, t);
    else
        _mm512_storeu_ps(y, t);
}

N5_INLINE void pass_avx512(float *y, const float *x, const float *z, const float *w, size_t n,
                           float rf, int hw, int po, int mode, int first)
{
    const __m512 r = _mm512_set1_ps(rf);
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        step_avx512(y + i, x + i, z + i, hw ? w + i : NULL, r, 0xFFFF, 0, hw, po, mode, first);
    if (i < n)
        step_avx512(y + i, x + i, z + i, hw ? w + i : NULL, r, tail_mask_avx512(n - i), 1, hw,
                    po, mode, first);
}

N5_INLINE void gated_rows_avx512(const norm_gated_job *j, int hw, int po, int mode)
{
    const size_t G = j->group, ng = j->dim / G;
    const double inv_n = 1.0 / (double)G;
    for (size_t r = 0; r < j->rows; r++) {
        for (size_t g = 0; g < ng; g++) {
            const size_t t = r * ng + g;
            const float *x = j->x + r * j->xs + g * G, *z = j->z + r * j->xs + g * G;
            const float *w = hw ? j->w + g * G : NULL;
            float *y = j->y + r * j->ys + g * G;
            if (mode == 1)
                pass_avx512(y, x, z, w, G, 0.0f, hw, po, 1, 1);
            const float *v = mode == 1 ? y : x;
            double s2 = gated_total_sq_avx512(v, G);
            if (j->sums)
                j->sums[t] = s2;
            float rs;
            if (norm_rms_finish(s2, inv_n, j->eps, &rs)) {
                norm_gated_group_rare(y, v, z, w, G, j->eps, mode, po,
                                      j->rstd ? j->rstd + t : NULL);
                continue;
            }
            pass_avx512(y, x, z, w, G, rs, hw, po, mode, 0);
            if (j->rstd)
                j->rstd[t] = rs;
        }
    }
}

void norm_gated_rmsnorm_f32_avx512(const norm_gated_job *j)
{
    const int hw = j->w != NULL, po = hw && j->plus_one;
#define GATED_MODES(HW, PO)                                                                    \
    do {                                                                                       \
        if (j->gate == NORM_GATE_SILU_BEFORE)                                                  \
            gated_rows_avx512(j, HW, PO, 1);                                                   \
        else if (j->gate == NORM_GATE_SIGMOID_AFTER)                                           \
            gated_rows_avx512(j, HW, PO, 2);                                                   \
        else                                                                                   \
            gated_rows_avx512(j, HW, PO, 0);                                                   \
    } while (0)
    if (!hw)
        GATED_MODES(0, 0);
    else if (po)
        GATED_MODES(1, 1);
    else
        GATED_MODES(1, 0);
#undef GATED_MODES
}
