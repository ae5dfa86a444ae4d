/*
 * RMSNorm backward, AVX2 + FMA tier. Bit-identical to norm_rmsnorm_back_f32_scalar (the canonical
 * order in norm_internal.h, "RMSNorm backward"). Per row:
 *   pass 1: sxx and sxdz in one sweep over x and dz    -> norm_rmsb_finish() (or the rare path)
 *   pass 2: dx = fmaf(x, c, dz) * r
 * Lanes as in norm_avx2.h: group A = canonical lanes 0-7, group B = lanes 8-15, each with its
 * own tree and TwoSum accumulators (norm_fold_avx2), combined by norm_lanes_total_avx2(). The
 * tree is written once, generically, over the leaf rows a group has in a block (`m`, of which
 * the first `jf` are whole and the last may be a masked partial row): the canonical pairing tree
 * with the subtrees that hold only padding left out (see norm_internal.h). For a full block
 * m = jf = 32 are constants and every test folds away.
 */
#include "norm_avx2.h"

/* Where one lane group's leaves of one block come from. */
typedef struct {
    const float *px, *pd; /* this group's lanes of leaf row 0, in x and dz */
    __m256 tx, td;        /* leaf row jf (partial, masked: +0 past the row) */
    int jf, m;
} rb_src_avx2;

typedef struct {
    __m256 q, d; /* partial trees: squares of x, products x*dz */
} rb_qd_avx2;

NORM_AVX2_INLINE void rb_leaf_avx2(const rb_src_avx2 *s, int j, __m256 *x, __m256 *d)
{
    if (j < s->jf) {
        *x = _mm256_loadu_ps(s->px + (size_t)j * NORM_LANES);
        *d = _mm256_loadu_ps(s->pd + (size_t)j * NORM_LANES);
    } else {
        *x = s->tx;
        *d = s->td;
    }
}

/* First level: leaves j and j + 1 (j < m; j + 1 left out when it is padding). */
NORM_AVX2_INLINE rb_qd_avx2 rb_pair_avx2(const rb_src_avx2 *s, int j)
{
    rb_qd_avx2 r;
    __m256 ax, ad, bx, bd;
    rb_leaf_avx2(s, j, &ax, &ad);
    if (j + 1 < s->m) {
        rb_leaf_avx2(s, j + 1, &bx, &bd);
        r.q = _mm256_fmadd_ps(bx, bx, _mm256_mul_ps(ax, ax));
        r.d = _mm256_fmadd_ps(bx, bd, _mm256_mul_ps(ax, ad));
    } else {
        r.q = _mm256_mul_ps(ax, ax);
        r.d = _mm256_mul_ps(ax, ad);
    }
    NORM_AVX2_PIN(r.q);
    NORM_AVX2_PIN(r.d);
    return r;
}

#define RB_NODE_AVX2(name, child, half)                                                        \
    NORM_AVX2_INLINE rb_qd_avx2 name(const rb_src_avx2 *s, int j)                              \
    {                                                                                          \
        rb_qd_avx2 l = child(s, j);                                                            \
        if (j + (half) < s->m) {                                                               \
            rb_qd_avx2 r = child(s, j + (half));                                               \
            l.q = _mm256_add_ps(l.q, r.q);                                                     \
            l.d = _mm256_add_ps(l.d, r.d);                                                     \
            NORM_AVX2_PIN(l.q);                                                                \
            NORM_AVX2_PIN(l.d);                                                                \
        }                                                                                      \
        return l;                                                                              \
    }
RB_NODE_AVX2(rb_t4_avx2, rb_pair_avx2, 2)
RB_NODE_AVX2(rb_t8_avx2, rb_t4_avx2, 4)
RB_NODE_AVX2(rb_t16_avx2, rb_t8_avx2, 8)
RB_NODE_AVX2(rb_t32_avx2, rb_t16_avx2, 16)
#undef RB_NODE_AVX2

/* The canonical totals sxx, sxdz of a row of n >= 1 floats. */
static __attribute__((noinline)) void rb_totals_avx2(const float *x, const float *dz, size_t n,
                                                     double *sxx, double *sxdz)
{
    const __m256 z = _mm256_setzero_ps();
    /* [g] = lane group g: (hi, lo) of the squares and of the products */
    __m256 hq[2] = {z, z}, lq[2] = {z, z}, hd[2] = {z, z}, ld[2] = {z, z};
    size_t nb = n / NORM_BLOCK, rem = n % NORM_BLOCK;
    for (size_t b = 0; b < nb; b++) {
        for (int g = 0; g < 2; g++) {
            size_t off = b * NORM_BLOCK + 8 * (size_t)g;
            rb_src_avx2 s = {x + off, dz + off, z, z, NORM_LEAVES, NORM_LEAVES};
            rb_qd_avx2 t = rb_t32_avx2(&s, 0);
            norm_fold_avx2(&hq[g], &lq[g], t.q);
            norm_fold_avx2(&hd[g], &ld[g], t.d);
        }
    }
    if (rem) {
        int jf = (int)(rem / NORM_LANES), r = (int)(rem % NORM_LANES);
        for (int g = 0; g < 2; g++) {
            int cnt = r - 8 * g; /* this group's elements in the partial leaf row */
            int m = jf + (cnt > 0);
            if (m == 0)
                continue; /* no leaf: the pruned tree, nothing to fold */
            size_t off = nb * NORM_BLOCK + 8 * (size_t)g;
            __m256 tx = z, td = z;
            if (cnt > 0) {
                __m256i mk = norm_mask_avx2(cnt);
                size_t t = off + (size_t)jf * NORM_LANES;
                tx = _mm256_maskload_ps(x + t, mk);
                td = _mm256_maskload_ps(dz + t, mk);
            }
            rb_src_avx2 s = {x + off, dz + off, tx, td, jf, m};
            rb_qd_avx2 t = rb_t32_avx2(&s, 0);
            norm_fold_avx2(&hq[g], &lq[g], t.q);
            norm_fold_avx2(&hd[g], &ld[g], t.d);
        }
    }
    *sxx = norm_lanes_total_avx2(hq[0], lq[0], hq[1], lq[1]);
    *sxdz = norm_lanes_total_avx2(hd[0], ld[0], hd[1], ld[1]);
}

/* dx = fmaf(x, c, dz) * r over one row (dx may be dz: each vector is read before it is
 * written). */
static void rb_out_avx2(float *dx, const float *dz, const float *x, size_t n, float cf, float rf)
{
    const __m256 c = _mm256_set1_ps(cf), r = _mm256_set1_ps(rf);
    size_t i = 0;
    for (; n - i >= 16; i += 16) {
        __m256 a = _mm256_mul_ps(_mm256_fmadd_ps(_mm256_loadu_ps(x + i), c,
                                                 _mm256_loadu_ps(dz + i)), r);
        __m256 b = _mm256_mul_ps(_mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), c,
                                                 _mm256_loadu_ps(dz + i + 8)), r);
        _mm256_storeu_ps(dx + i, a);
        _mm256_storeu_ps(dx + i + 8, b);
    }
    for (; n - i >= 8; i += 8)
        _mm256_storeu_ps(dx + i, _mm256_mul_ps(_mm256_fmadd_ps(_mm256_loadu_ps(x + i), c,
                                                               _mm256_loadu_ps(dz + i)), r));
    if (i < n) {
        __m256i m = norm_mask_avx2((ptrdiff_t)(n - i));
        __m256 v = _mm256_mul_ps(_mm256_fmadd_ps(_mm256_maskload_ps(x + i, m), c,
                                                 _mm256_maskload_ps(dz + i, m)), r);
        _mm256_maskstore_ps(dx + i, m, v);
    }
}

void norm_rmsnorm_back_f32_avx2(const norm_job *j)
{
    const size_t n = j->dim;
    const double inv_n = 1.0 / (double)n;
    for (size_t row = 0; row < j->rows; row++) {
        const float *x = j->x + row * j->xs, *dz = j->dz + row * j->xs;
        float *dx = j->y + row * j->ys;
        double sxx, sxdz;
        rb_totals_avx2(x, dz, n, &sxx, &sxdz);
        if (j->sums) {
            j->sums[2 * row] = sxx;
            j->sums[2 * row + 1] = sxdz;
        }
        float c, r;
        if (norm_rmsb_finish(sxx, sxdz, inv_n, n, j->eps, &c, &r)) {
            norm_rmsnorm_back_row_rare(dx, dz, x, n, j->eps, j->rstd ? j->rstd + row : NULL);
            continue;
        }
        rb_out_avx2(dx, dz, x, n, c, r);
        if (j->rstd)
            j->rstd[row] = r;
    }
}
