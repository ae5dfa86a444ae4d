/*
 * RMSNorm backward, AVX-512 tier (also built over SIMDe as the test-only avx512-emu tier, see
 * norm_avx512_emu.h). Bit-identical to norm_rmsnorm_back_f32_scalar (the canonical order in
 * norm_internal.h, "RMSNorm backward"). Per row:
 *   pass 1: sxx and sxdz in one sweep over x and dz    -> norm_rmsb_finish() (or the rare path)
 *   pass 2: dx = fmaf(x, c, dz) * r
 * The 16 canonical lanes are one zmm. The tree is written once, generically, over the leaf rows
 * of a block (`m`, of which the first `jf` are whole and the last may be a zero-masked partial
 * row): the canonical pairing tree with the all-padding subtrees left out (norm_internal.h). For
 * a full block m = jf = 32 are constants and every test folds away. Fold and lane total:
 * fold_avx512(), lanes_total_avx512() of norm_avx512.h.
 */
#include "norm_avx512.h"

typedef struct {
    const float *px, *pd; /* leaf row 0 of the block, in x and dz */
    __m512 tx, td;        /* leaf row jf (partial, zero-masked: +0 past the row) */
    int jf, m;
} rb_src_avx512;

typedef struct {
    __m512 q, d; /* partial trees: squares of x, products x*dz */
} rb_qd_avx512;

N5_INLINE void rb_leaf_avx512(const rb_src_avx512 *s, int j, __m512 *x, __m512 *d)
{
    if (j < s->jf) {
        *x = _mm512_loadu_ps(s->px + (size_t)j * NORM_LANES);
        *d = _mm512_loadu_ps(s->pd + (size_t)j * NORM_LANES);
    } else {
        *x = s->tx;
        *d = s->td;
    }
}

N5_INLINE rb_qd_avx512 rb_pair_avx512(const rb_src_avx512 *s, int j)
{
    rb_qd_avx512 r;
    __m512 ax, ad, bx, bd;
    rb_leaf_avx512(s, j, &ax, &ad);
    if (j + 1 < s->m) {
        rb_leaf_avx512(s, j + 1, &bx, &bd);
        r.q = _mm512_fmadd_ps(bx, bx, _mm512_mul_ps(ax, ax));
        r.d = _mm512_fmadd_ps(bx, bd, _mm512_mul_ps(ax, ad));
    } else {
        r.q = _mm512_mul_ps(ax, ax);
        r.d = _mm512_mul_ps(ax, ad);
    }
    N5_ORDER();
    N5_PIN(r.q);
    N5_PIN(r.d);
    return r;
}

#define RB_NODE_AVX512(name, child, half)                                                      \
    N5_INLINE rb_qd_avx512 name(const rb_src_avx512 *s, int j)                                 \
    {                                                                                          \
        rb_qd_avx512 l = child(s, j);                                                          \
        if (j + (half) < s->m) {                                                               \
            rb_qd_avx512 r = child(s, j + (half));                                             \
            l.q = _mm512_add_ps(l.q, r.q);                                                     \
            l.d = _mm512_add_ps(l.d, r.d);                                                     \
            N5_PIN(l.q);                                                                       \
            N5_PIN(l.d);                                                                       \
        }                                                                                      \
        return l;                                                                              \
    }
RB_NODE_AVX512(rb_t4_avx512, rb_pair_avx512, 2)
RB_NODE_AVX512(rb_t8_avx512, rb_t4_avx512, 4)
RB_NODE_AVX512(rb_t16_avx512, rb_t8_avx512, 8)
RB_NODE_AVX512(rb_t32_avx512, rb_t16_avx512, 16)
#undef RB_NODE_AVX512

/* The canonical totals sxx, sxdz of a row of n >= 1 floats. */
static __attribute__((noinline)) void rb_totals_avx512(const float *x, const float *dz, size_t n,
                                                       double *sxx, double *sxdz)
{
    const __m512 z = _mm512_setzero_ps();
    __m512 hq = z, lq = z, hd = z, ld = z;
    size_t nb = n / NORM_BLOCK, rem = n % NORM_BLOCK;
    for (size_t b = 0; b < nb; b++) {
        rb_src_avx512 s = {x + b * NORM_BLOCK, dz + b * NORM_BLOCK, z, z, NORM_LEAVES,
                           NORM_LEAVES};
        rb_qd_avx512 t = rb_t32_avx512(&s, 0);
        fold_avx512(&hq, &lq, t.q);
        fold_avx512(&hd, &ld, t.d);
    }
    if (rem) {
        int jf = (int)(rem / NORM_LANES), r = (int)(rem % NORM_LANES);
        size_t off = nb * NORM_BLOCK;
        __m512 tx = z, td = z;
        if (r) {
            __mmask16 mk = tail_mask_avx512(rem);
            size_t t = off + (size_t)jf * NORM_LANES;
            tx = _mm512_maskz_loadu_ps(mk, x + t);
            td = _mm512_maskz_loadu_ps(mk, dz + t);
        }
        rb_src_avx512 s = {x + off, dz + off, tx, td, jf, jf + (r != 0)};
        rb_qd_avx512 t = rb_t32_avx512(&s, 0);
        fold_avx512(&hq, &lq, t.q);
        fold_avx512(&hd, &ld, t.d);
    }
    *sxx = lanes_total_avx512(hq, lq);
    *sxdz = lanes_total_avx512(hd, ld);
}

/* dx = fmaf(x, c, dz) * r over one row (dx may be dz: each vector is read before it is
 * written). */
static void rb_out_avx512(float *dx, const float *dz, const float *x, size_t n, float cf,
                          float rf)
{
    const __m512 c = _mm512_set1_ps(cf), r = _mm512_set1_ps(rf);
    size_t i = 0;
    for (; n - i >= 16; i += 16)
        _mm512_storeu_ps(dx + i, _mm512_mul_ps(_mm512_fmadd_ps(_mm512_loadu_ps(x + i), c,
                                                               _mm512_loadu_ps(dz + i)), r));
    if (i < n) {
        __mmask16 m = tail_mask_avx512(n - i);
        __m512 v = _mm512_mul_ps(_mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, x + i), c,
                                                 _mm512_maskz_loadu_ps(m, dz + i)), r);
        _mm512_mask_storeu_ps(dx + i, m, v);
    }
}

void norm_rmsnorm_back_f32_avx512(const norm_job *j)
{
    const size_t n = j->dim;
    const double inv_n = 1.0 / (double)n;
    for (size_t row = 0; row < j->rows; row++) {
        const float *x = j->x + row * j->xs, *dz = j->dz + row * j->xs;
        float *dx = j->y + row * j->ys;
        double sxx, sxdz;
        rb_totals_avx512(x, dz, n, &sxx, &sxdz);
        if (j->sums) {
            j->sums[2 * row] = sxx;
            j->sums[2 * row + 1] = sxdz;
        }
        float c, r;
        if (norm_rmsb_finish(sxx, sxdz, inv_n, n, j->eps, &c, &r)) {
            norm_rmsnorm_back_row_rare(dx, dz, x, n, j->eps, j->rstd ? j->rstd + row : NULL);
            continue;
        }
        rb_out_avx512(dx, dz, x, n, c, r);
        if (j->rstd)
            j->rstd[row] = r;
    }
}
