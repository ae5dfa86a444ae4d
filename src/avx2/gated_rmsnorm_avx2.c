/*
 * Gated RMSNorm, AVX2 + FMA tier: bit-identical to norm_gated_rmsnorm_f32_scalar (the definition:
 * src/scalar/gated_rmsnorm_scalar.c). The exp is SLEEF's Sleef_expf8_u10avx2 (the FMA variant,
 * called by its explicit name: the same bits as the scalar tier's port, tests/test_gate_exp.c);
 * the total of squares of each group is the RMSNorm reduction of norm_avx2.h with the group as
 * the row. Per group: AFTER: pass 1 totals x, pass 2 writes ((x * rstd) * wf) * gate(z);
 * BEFORE: pass 1 writes u = x * silu(z) into y and totals it, pass 2 rewrites y = (u * rstd) * wf.
 */
#include <sleef.h>

#include "norm_avx2.h"

static __attribute__((noinline)) double gated_total_sq_avx2(const float *x, size_t n)
{
    double unused, s;
    norm_reduce_avx2(x, n, 0.0f, 0, 0, 1, &unused, &s);
    return s;
}

/* g = sigmoid(z) = 1 / (1 + e) or silu(z) = z / (1 + e), e = expf(-z); sig a constant. */
NORM_AVX2_INLINE __m256 gate_avx2(__m256 z, int sig)
{
    const __m256 one = _mm256_set1_ps(1.0f);
    __m256 e = Sleef_expf8_u10avx2(_mm256_xor_ps(z, _mm256_set1_ps(-0.0f)));
    __m256 d = _mm256_add_ps(one, e);
    return _mm256_div_ps(sig ? one : z, d);
}

/* A NaN lane becomes the quiet NaN NAN (the scalar tier's canon()). */
NORM_AVX2_INLINE __m256 canon_avx2(__m256 v)
{
    return _mm256_blendv_ps(v, _mm256_set1_ps(NAN), _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
}

/* wf for 8 elements (w + i, masked by m when part): w, or 1 + w with plus_one. */
NORM_AVX2_INLINE __m256 wf_avx2(const float *w, __m256i m, int part, int po)
{
    __m256 v = part ? _mm256_maskload_ps(w, m) : _mm256_loadu_ps(w);
    return po ? _mm256_add_ps(_mm256_set1_ps(1.0f), v) : v;
}

/* Pass 2 of an AFTER group: y = ((x * r) * wf) * g(z). hw, po, sig: constants. */
NORM_AVX2_INLINE void after_out_avx2(float *y, const float *x, const float *z, const float *w,
                                     size_t n, float rf, int hw, int po, int sig)
{
    const __m256 r = _mm256_set1_ps(rf);
    const __m256i all = _mm256_set1_epi32(-1);
    size_t i = 0;
    for (; n - i >= 8; i += 8) {
        __m256 t = _mm256_mul_ps(_mm256_loadu_ps(x + i), r);
        if (hw)
            t = _mm256_mul_ps(t, wf_avx2(w + i, all, 0, po));
        _mm256_storeu_ps(y + i,
                         canon_avx2(_mm256_mul_ps(t, gate_avx2(_mm256_loadu_ps(z + i), sig))));
    }
    if (i < n) {
        const __m256i m = norm_mask_avx2((ptrdiff_t)(n - i));
        __m256 t = _mm256_mul_ps(_mm256_maskload_ps(x + i, m), r);
        if (hw)
            t = _mm256_mul_ps(t, wf_avx2(w + i, m, 1, po));
        __m256 g = gate_avx2(_mm256_maskload_ps(z + i, m), sig);
        _mm256_maskstore_ps(y + i, m, canon_avx2(_mm256_mul_ps(t, g)));
    }
}

/* Pass 1 of a BEFORE group: y = u = x * silu(z). */
NORM_AVX2_INLINE void before_u_avx2(float *y, const float *x, const float *z, size_t n)
{
    size_t i = 0;
    for (; n - i >= 8; i += 8)
        _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(x + i),
                                              gate_avx2(_mm256_loadu_ps(z + i), 0)));
    if (i < n) {
        const __m256i m = norm_mask_avx2((ptrdiff_t)(n - i));
        __m256 u = _mm256_mul_ps(_mm256_maskload_ps(x + i, m),
                                 gate_avx2(_mm256_maskload_ps(z + i, m), 0));
        _mm256_maskstore_ps(y + i, m, u);
    }
}

/* Pass 2 of a BEFORE group: y = (y * r) * wf. */
NORM_AVX2_INLINE void before_out_avx2(float *y, const float *w, size_t n, float rf, int hw,
                                      int po)
{
    const __m256 r = _mm256_set1_ps(rf);
    const __m256i all = _mm256_set1_epi32(-1);
    size_t i = 0;
    for (; n - i >= 8; i += 8) {
        __m256 t = _mm256_mul_ps(_mm256_loadu_ps(y + i), r);
        if (hw)
            t = _mm256_mul_ps(t, wf_avx2(w + i, all, 0, po));
        _mm256_storeu_ps(y + i, canon_avx2(t));
    }
    if (i < n) {
        const __m256i m = norm_mask_avx2((ptrdiff_t)(n - i));
        __m256 t = _mm256_mul_ps(_mm256_maskload_ps(y + i, m), r);
        if (hw)
            t = _mm256_mul_ps(t, wf_avx2(w + i, m, 1, po));
        _mm256_maskstore_ps(y + i, m, canon_avx2(t));
    }
}

NORM_AVX2_INLINE void gated_rows_avx2(const norm_gated_job *j, int hw, int po, int mode)
{
    /* mode: 0 SILU_AFTER, 1 SILU_BEFORE, 2 SIGMOID_AFTER */
    const size_t G = j->group, ng = j->dim / G;
    const double inv_n = 1.0 / (double)G;
    for (size_t r = 0; r < j->rows; r++) {
        for (size_t g = 0; g < ng; g++) {
            const size_t t = r * ng + g;
            const float *x = j->x + r * j->xs + g * G, *z = j->z + r * j->xs + g * G;
            const float *w = hw ? j->w + g * G : NULL;
            float *y = j->y + r * j->ys + g * G;
            if (mode == 1)
                before_u_avx2(y, x, z, G);
            const float *v = mode == 1 ? y : x;
            double s2 = gated_total_sq_avx2(v, G);
            if (j->sums)
                j->sums[t] = s2;
            float rs;
            if (norm_rms_finish(s2, inv_n, j->eps, &rs)) {
                norm_gated_group_rare(y, v, z, w, G, j->eps, mode, po,
                                      j->rstd ? j->rstd + t : NULL);
                continue;
            }
            if (mode == 1)
                before_out_avx2(y, w, G, rs, hw, po);
            else
                after_out_avx2(y, x, z, w, G, rs, hw, po, mode == 2);
            if (j->rstd)
                j->rstd[t] = rs;
        }
    }
}

void norm_gated_rmsnorm_f32_avx2(const norm_gated_job *j)
{
    const int hw = j->w != NULL, po = hw && j->plus_one;
#define GATED_MODES(HW, PO)                                                                    \
    do {                                                                                       \
        if (j->gate == NORM_GATE_SILU_BEFORE)                                                  \
            gated_rows_avx2(j, HW, PO, 1);                                                     \
        else if (j->gate == NORM_GATE_SIGMOID_AFTER)                                           \
            gated_rows_avx2(j, HW, PO, 2);                                                     \
        else                                                                                   \
            gated_rows_avx2(j, HW, PO, 0);                                                     \
    } while (0)
    if (!hw)
        GATED_MODES(0, 0);
    else if (po)
        GATED_MODES(1, 1);
    else
        GATED_MODES(1, 0);
#undef GATED_MODES
}
