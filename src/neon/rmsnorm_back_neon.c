/*
 * RMSNorm backward, NEON tier. Bit-identical to norm_rmsnorm_back_f32_scalar (the canonical order
 * in norm_internal.h, "RMSNorm backward"). Per row:
 *   pass 1: sxx and sxdz in one sweep over x and dz    -> norm_rmsb_finish() (or the rare path)
 *   pass 2: dx = fmaf(x, c, dz) * r
 * Lanes as in norm_neon.h: four lane groups of four (q registers), each with its own tree and
 * TwoSum accumulators (neon_fold), combined by neon_lanes_total(). The tree is the pruned
 * pairing tree over the leaf rows a block has (`m`; the first `jf` whole, the last maybe a
 * partial row copied into a zeroed buffer, so nothing past the row is read).
 */
#include "norm_neon.h"

typedef struct {
    const float *px, *pd; /* this group's lanes of leaf row 0, in x and dz */
    float32x4_t tx, td;   /* leaf row jf (partial: +0 past the row) */
    int jf, m;
} rb_src_neon;

typedef struct {
    float32x4_t q, d;
} rb_qd_neon;

NEON_INLINE void rb_leaf_neon(const rb_src_neon *s, int j, float32x4_t *x, float32x4_t *d)
{
    if (j < s->jf) {
        *x = vld1q_f32(s->px + (size_t)j * NORM_LANES);
        *d = vld1q_f32(s->pd + (size_t)j * NORM_LANES);
    } else {
        *x = s->tx;
        *d = s->td;
    }
}

NEON_INLINE rb_qd_neon rb_pair_neon(const rb_src_neon *s, int j)
{
    rb_qd_neon r;
    float32x4_t ax, ad, bx, bd;
    rb_leaf_neon(s, j, &ax, &ad);
    if (j + 1 < s->m) {
        rb_leaf_neon(s, j + 1, &bx, &bd);
        r.q = vfmaq_f32(vmulq_f32(ax, ax), bx, bx);
        r.d = vfmaq_f32(vmulq_f32(ax, ad), bx, bd);
    } else {
        r.q = vmulq_f32(ax, ax);
        r.d = vmulq_f32(ax, ad);
    }
    return r;
}

#define RB_NODE_NEON(name, child, half)                                                        \
    NEON_INLINE rb_qd_neon name(const rb_src_neon *s, int j)                                   \
    {                                                                                          \
        rb_qd_neon l = child(s, j);                                                            \
        if (j + (half) < s->m) {                                                               \
            rb_qd_neon r = child(s, j + (half));                                               \
            l.q = vaddq_f32(l.q, r.q);                                                         \
            l.d = vaddq_f32(l.d, r.d);                                                         \
        }                                                                                      \
        return l;                                                                              \
    }
RB_NODE_NEON(rb_t4_neon, rb_pair_neon, 2)
RB_NODE_NEON(rb_t8_neon, rb_t4_neon, 4)
RB_NODE_NEON(rb_t16_neon, rb_t8_neon, 8)
RB_NODE_NEON(rb_t32_neon, rb_t16_neon, 16)
#undef RB_NODE_NEON

/* The canonical totals sxx, sxdz of a row of n >= 1 floats. */
static __attribute__((noinline)) void rb_totals_neon(const float *x, const float *dz, size_t n,
                                                     double *sxx, double *sxdz)
{
    const float32x4_t z = vdupq_n_f32(0.0f);
    float32x4_t hq[4] = {z, z, z, z}, lq[4] = {z, z, z, z}, hd[4] = {z, z, z, z},
                ld[4] = {z, z, z, z};
    size_t nb = n / NORM_BLOCK, rem = n % NORM_BLOCK;
    for (size_t b = 0; b < nb; b++)
        for (int g = 0; g < 4; g++) {
            size_t off = b * NORM_BLOCK + 4 * (size_t)g;
            rb_src_neon s = {x + off, dz + off, z, z, NORM_LEAVES, NORM_LEAVES};
            rb_qd_neon t = rb_t32_neon(&s, 0);
            neon_fold(&hq[g], &lq[g], t.q);
            neon_fold(&hd[g], &ld[g], t.d);
        }
    if (rem) {
        float bx[NORM_LANES], bd[NORM_LANES];
        int r = neon_tail_row(bx, x, n);
        (void)neon_tail_row(bd, dz, n);
        int jf = (int)(rem / NORM_LANES);
        for (int g = 0; g < 4; g++) {
            int m = jf + (r > 4 * g);
            if (m == 0)
                continue; /* no leaf: the pruned tree, nothing to fold */
            size_t off = nb * NORM_BLOCK + 4 * (size_t)g;
            rb_src_neon s = {x + off, dz + off, vld1q_f32(bx + 4 * g), vld1q_f32(bd + 4 * g), jf,
                             m};
            rb_qd_neon t = rb_t32_neon(&s, 0);
            neon_fold(&hq[g], &lq[g], t.q);
            neon_fold(&hd[g], &ld[g], t.d);
        }
    }
    *sxx = neon_lanes_total(hq, lq);
    *sxdz = neon_lanes_total(hd, ld);
}

/* dx = fmaf(x, c, dz) * r over one row (dx may be dz: each element is read before it is
 * written). */
static void rb_out_neon(float *dx, const float *dz, const float *x, size_t n, float cf, float rf)
{
    const float32x4_t c = vdupq_n_f32(cf), r = vdupq_n_f32(rf);
    size_t i = 0;
    for (; n - i >= 4; i += 4)
        vst1q_f32(dx + i, vmulq_f32(vfmaq_f32(vld1q_f32(dz + i), vld1q_f32(x + i), c), r));
    for (; i < n; i++)
        dx[i] = fmaf(x[i], cf, dz[i]) * rf;
}

void norm_rmsnorm_back_f32_neon(const norm_job *j)
{
    const size_t n = j->dim;
    const double inv_n = 1.0 / (double)n;
    for (size_t row = 0; row < j->rows; row++) {
        const float *x = j->x + row * j->xs, *dz = j->dz + row * j->xs;
        float *dx = j->y + row * j->ys;
        double sxx, sxdz;
        rb_totals_neon(x, dz, n, &sxx, &sxdz);
        if (j->sums) {
            j->sums[2 * row] = sxx;
            j->sums[2 * row + 1] = sxdz;
        }
        float c, r;
        if (norm_rmsb_finish(sxx, sxdz, inv_n, n, j->eps, &c, &r)) {
            norm_rmsnorm_back_row_rare(dx, dz, x, n, j->eps, j->rstd ? j->rstd + row : NULL);
            continue;
        }
        rb_out_neon(dx, dz, x, n, c, r);
        if (j->rstd)
            j->rstd[row] = r;
    }
}
