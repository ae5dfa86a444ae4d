/*
 * AArch64 AdvSIMD helpers shared by the NEON kernels (static inline: compiled into each NEON TU,
 * never into generic code). They compute THE CANONICAL ORDER of src/norm_internal.h bit for bit:
 *
 *   The 16 lanes are four q registers, lane group g = lanes 4g .. 4g+3. Lanes are independent, so
 *   each lane group runs its own copy of the in-block tree: leaf row j of a block (16 floats at
 *   base + 16j) gives lane group g the vector at base + 16j + 4g, and the 32 leaf vectors are
 *   combined by the complete binary pairwise tree, written as recursive halving
 *   T(j .. j+2h) = T(j .. j+h) + T(j+h .. j+2h). For squares the first level is
 *   pair(a, b) = fma(b, b, a*a) = vfmaq_f32(vmulq_f32(a, a), b, b).
 *
 *   The last, partial block: leaf rows wholly inside the row are loaded from memory, the one
 *   partial leaf row (if any) comes from a zeroed 16-float copy (NEON has no masked loads; the
 *   row is never read past its end), shifted and then masked so that its padded lanes are +0
 *   AFTER the subtraction, and subtrees made only of padding are pruned. Pruning a +0 leaf or
 *   subtree can only change the sign of a zero partial sum, which the TwoSum fold cannot pass on
 *   (see norm_internal.h); for squares, fma(0, 0, a*a) == a*a exactly since a*a is never -0.
 *
 *   Each block's lane sums are folded into per-lane TwoSum accumulators exactly as norm_fold(),
 *   and the 16 lanes are combined in double exactly as norm_lanes_total(), with float64x2
 *   (neon_reduce()). LayerNorm's short rows (n <= NORM_LN_SHORT: one block) skip the fold and
 *   combine their lanes in float (neon_lanes_total_f(), norm_lanes_total_f()'s bits; four rows
 *   at once, transposed: neon_lanes_h84() per row, then neon_lanes_total_f4()).
 *
 * Every TU including this is built with -ffp-contract=off; every FMA is an explicit vfmaq_f32.
 */
#ifndef NORM_NEON_H
#define NORM_NEON_H

#include <arm_neon.h>
#include <stdint.h>
#include <string.h>

#include "norm_internal.h"

#define NEON_INLINE static inline __attribute__((always_inline))

/* Which canonical totals a reduction computes (a compile-time constant after inlining):
 * the sum of shifted leaves (x - shift), that sum and the sum of their squares, or the sum of
 * squares of the unshifted x (RMSNorm). */
enum neon_kind { NEON_K_SUM = 1, NEON_K_SUMSQ = 3, NEON_K_SQ = 2 };
#define NEON_HAS_SUM(k) (((k) & 1) != 0)
#define NEON_HAS_SQ(k) (((k) & 2) != 0)

/* The partial trees of one lane group: plain sum and sum of squares. */
typedef struct {
    float32x4_t s, q;
} neon_sq;

/* Where one lane group's leaves of one block come from. */
typedef struct {
    const float *p;    /* this lane group's lanes of leaf row 0: x + base + 4g */
    float32x4_t tail;  /* leaf row jf (the partial one), shifted and masked; +0 past the row */
    float32x4_t shift;
    int jf;            /* leaf rows wholly inside the row (32 for a full block) */
    int m;             /* leaf rows holding any element: jf, or jf + 1 with a partial one */
} neon_src;

/* Leaf j (j < m). */
NEON_INLINE float32x4_t neon_leaf(const neon_src *c, int j, int kind)
{
    if (j < c->jf) {
        float32x4_t v = vld1q_f32(c->p + (size_t)j * NORM_LANES);
        return NEON_HAS_SUM(kind) ? vsubq_f32(v, c->shift) : v;
    }
    return c->tail;
}

/* First level: leaves j and j + 1 (j < m; leaf j + 1 pruned when it is padding). */
NEON_INLINE neon_sq neon_pair(const neon_src *c, int j, int kind)
{
    neon_sq r;
    float32x4_t a = neon_leaf(c, j, kind);
    if (j + 1 < c->m) {
        float32x4_t b = neon_leaf(c, j + 1, kind);
        r.s = NEON_HAS_SUM(kind) ? vaddq_f32(a, b) : a;
        r.q = NEON_HAS_SQ(kind) ? vfmaq_f32(vmulq_f32(a, a), b, b) : a;
    } else {
        r.s = a;
        r.q = NEON_HAS_SQ(kind) ? vmulq_f32(a, a) : a;
    }
    return r;
}

/* Node covering leaves j .. j + 2*half - 1 (j < m): left child + right child, the right one
 * pruned when it holds only padding. */
#define NEON_NODE(name, child, half)                                                           \
    NEON_INLINE neon_sq name(const neon_src *c, int j, int kind)                               \
    {                                                                                          \
        neon_sq l = child(c, j, kind);                                                         \
        if (j + (half) < c->m) {                                                               \
            neon_sq r = child(c, j + (half), kind);                                            \
            if (NEON_HAS_SUM(kind))                                                            \
                l.s = vaddq_f32(l.s, r.s);                                                     \
            if (NEON_HAS_SQ(kind))                                                             \
                l.q = vaddq_f32(l.q, r.q);                                                     \
        }                                                                                      \
        return l;                                                                              \
    }
NEON_NODE(neon_t4, neon_pair, 2)
NEON_NODE(neon_t8, neon_t4, 4)
NEON_NODE(neon_t16, neon_t8, 8)
NEON_NODE(neon_t32, neon_t16, 16)
#undef NEON_NODE

/* norm_fold(), lane-wise. */
NEON_INLINE void neon_fold(float32x4_t *hi, float32x4_t *lo, float32x4_t s)
{
    float32x4_t t = vaddq_f32(*hi, s);
    float32x4_t bp = vsubq_f32(t, *hi);
    float32x4_t ap = vsubq_f32(t, bp);
    *lo = vaddq_f32(*lo, vaddq_f32(vsubq_f32(*hi, ap), vsubq_f32(s, bp)));
    *hi = t;
}

/* norm_lanes_total() on the four lane groups: v[l] = (double)hi[l] + (double)lo[l], then
 * v[l] += v[l + h] for h = 8, 4, 2, 1. d[k] holds lanes 2k and 2k + 1. */
NEON_INLINE double neon_lanes_total(const float32x4_t hi[4], const float32x4_t lo[4])
{
    float64x2_t d[8];
    for (int g = 0; g < 4; g++) {
        d[2 * g] = vaddq_f64(vcvt_f64_f32(vget_low_f32(hi[g])), vcvt_f64_f32(vget_low_f32(lo[g])));
        d[2 * g + 1] = vaddq_f64(vcvt_high_f64_f32(hi[g]), vcvt_high_f64_f32(lo[g]));
    }
    for (int k = 0; k < 4; k++) /* h = 8 */
        d[k] = vaddq_f64(d[k], d[k + 4]);
    d[0] = vaddq_f64(d[0], d[2]); /* h = 4 */
    d[1] = vaddq_f64(d[1], d[3]);
    d[0] = vaddq_f64(d[0], d[1]); /* h = 2 */
    return vgetq_lane_f64(d[0], 0) + vgetq_lane_f64(d[0], 1); /* h = 1 */
}

/* The float lane total of LayerNorm's short rows (n <= NORM_LN_SHORT: one block, no fold) from
 * the four lane groups' block sums t[g]: v[l] += v[l + h] in float for h = 8 (lane groups 0 + 2,
 * 1 + 3), 4, 2, 1, then + 0.0f (the fold of one block from (+0, +0) would make a -0 sum +0; a
 * float sum is -0 only when every addend is), widened exactly to double. */
NEON_INLINE float32x4_t neon_lanes_h84(const float32x4_t t[4])
{
    return vaddq_f32(vaddq_f32(t[0], t[2]), vaddq_f32(t[1], t[3])); /* h = 8, 4 */
}
NEON_INLINE double neon_lanes_total_f(const float32x4_t t[4])
{
    float32x4_t a = neon_lanes_h84(t);
    float32x2_t c = vadd_f32(vget_low_f32(a), vget_high_f32(a));            /* h = 2 */
    float v = vget_lane_f32(c, 0) + vget_lane_f32(c, 1);                   /* h = 1 */
    return (double)(v + 0.0f);
}

/* neon_lanes_total_f() of four rows at once, transposed, in float (not widened): a[k] is row k's
 * lanes 0..3 after h = 8, 4 (neon_lanes_h84()); lane k of the result is row k's float total
 * (+ 0.0f). h = 2: [a0 lanes 0,1 | a1 lanes 0,1] + [a0 lanes 2,3 | a1 lanes 2,3] (v[l] + v[l+2]),
 * the same for rows 2, 3; h = 1: vpaddq_f32(c01, c23) = [c01[0]+c01[1], c01[2]+c01[3], c23[0]+
 * c23[1], c23[2]+c23[3]] (v[0] + v[1] of each row, the definition's operand order). */
NEON_INLINE float32x4_t neon_lanes_total_f4(const float32x4_t a[4])
{
    float64x2_t d0 = vreinterpretq_f64_f32(a[0]), d1 = vreinterpretq_f64_f32(a[1]);
    float64x2_t d2 = vreinterpretq_f64_f32(a[2]), d3 = vreinterpretq_f64_f32(a[3]);
    float32x4_t c01 = vaddq_f32(vreinterpretq_f32_f64(vzip1q_f64(d0, d1)),
                                vreinterpretq_f32_f64(vzip2q_f64(d0, d1)));
    float32x4_t c23 = vaddq_f32(vreinterpretq_f32_f64(vzip1q_f64(d2, d3)),
                                vreinterpretq_f32_f64(vzip2q_f64(d2, d3)));
    return vaddq_f32(vpaddq_f32(c01, c23), vdupq_n_f32(0.0f));
}

/* The partial last leaf row of a row of n floats: its n % 16 floats (if any) copied into a
 * zeroed 16-float buffer. Returns n % 16. */
NEON_INLINE int neon_tail_row(float buf[NORM_LANES], const float *x, size_t n)
{
    int r = (int)(n % NORM_LANES);
    vst1q_f32(buf, vdupq_n_f32(0.0f));
    vst1q_f32(buf + 4, vdupq_n_f32(0.0f));
    vst1q_f32(buf + 8, vdupq_n_f32(0.0f));
    vst1q_f32(buf + 12, vdupq_n_f32(0.0f));
    if (r)
        memcpy(buf, x + (n - (size_t)r), (size_t)r * sizeof(float));
    return r;
}

/* The in-block trees of lane group g of one block: jf leaf rows from memory (lane group g of leaf
 * row j at p + 16j + 4g), then, when r != 0, the partial leaf row jf from tailbuf
 * (neon_tail_row()'s zeroed copy of its r floats), shifted and masked so that its padded lanes
 * are +0 AFTER the subtraction. *ts / *tq receive the sum / sum of squares, as kind asks. A full
 * block is jf = NORM_LEAVES, r = 0. */
NEON_INLINE void neon_block_tree_g(const float *p, int jf, const float *tailbuf, int r,
                                   float32x4_t shift, int kind, int g, float32x4_t *ts,
                                   float32x4_t *tq)
{
    const uint32x4_t iota = {0, 1, 2, 3};
    float32x4_t tail = vdupq_n_f32(0.0f);
    if (r) {
        tail = vld1q_f32(tailbuf + 4 * g);
        if (NEON_HAS_SUM(kind)) {
            /* padded lanes: +0 after the subtraction */
            uint32x4_t keep = vcltq_u32(vaddq_u32(iota, vdupq_n_u32(4u * (uint32_t)g)),
                                        vdupq_n_u32((uint32_t)r));
            tail = vreinterpretq_f32_u32(
                vandq_u32(vreinterpretq_u32_f32(vsubq_f32(tail, shift)), keep));
        }
    }
    neon_src c = {p + 4 * g, tail, shift, jf, jf + (r != 0)};
    neon_sq t = neon_t32(&c, 0, kind);
    if (NEON_HAS_SUM(kind))
        *ts = t.s;
    if (NEON_HAS_SQ(kind))
        *tq = t.q;
}

/* neon_block_tree_g() of the four lane groups: ts[g] / tq[g]. */
NEON_INLINE void neon_block_trees(const float *p, int jf, const float *tailbuf, int r,
                                  float32x4_t shift, int kind, float32x4_t ts[4],
                                  float32x4_t tq[4])
{
    for (int g = 0; g < 4; g++)
        neon_block_tree_g(p, jf, tailbuf, r, shift, kind, g, &ts[g], &tq[g]);
}

/* Canonical totals over a row of n >= 1 floats: the sum of leaves x - shift (*sum) and/or the
 * sum of squares of those leaves (*sq; RMSNorm: of x itself). tailbuf is neon_tail_row()'s copy
 * of the partial leaf row, r = n % 16. */
NEON_INLINE void neon_reduce(const float *x, size_t n, const float *tailbuf, int r, float shift_s,
                             int kind, double *sum, double *sq)
{
    const float32x4_t zero = vdupq_n_f32(0.0f);
    const float32x4_t shift = vdupq_n_f32(shift_s);
    float32x4_t h1[4] = {zero, zero, zero, zero}, l1[4] = {zero, zero, zero, zero};
    float32x4_t h2[4] = {zero, zero, zero, zero}, l2[4] = {zero, zero, zero, zero};
    float32x4_t ts[4], tq[4];

    const float *p = x;
#define NEON_FOLD4_()                                                                          \
    for (int g = 0; g < 4; g++) {                                                              \
        if (NEON_HAS_SUM(kind))                                                                \
            neon_fold(&h1[g], &l1[g], ts[g]);                                                  \
        if (NEON_HAS_SQ(kind))                                                                 \
            neon_fold(&h2[g], &l2[g], tq[g]);                                                  \
    }
    for (size_t nb = n / NORM_BLOCK; nb > 0; nb--, p += NORM_BLOCK) {
        neon_block_trees(p, NORM_LEAVES, NULL, 0, shift, kind, ts, tq);
        NEON_FOLD4_()
    }
    if (n % NORM_BLOCK) {
        neon_block_trees(p, (int)(n % NORM_BLOCK / NORM_LANES), tailbuf, r, shift, kind, ts, tq);
        NEON_FOLD4_()
    }
#undef NEON_FOLD4_

    if (NEON_HAS_SUM(kind))
        *sum = neon_lanes_total(h1, l1);
    if (NEON_HAS_SQ(kind))
        *sq = neon_lanes_total(h2, l2);
}

#endif /* NORM_NEON_H */
