/*
 * The scalar reference kernels. They DEFINE the arithmetic that every other tier reproduces bit
 * for bit: read the canonical order at the top of src/norm_internal.h, then the code below.
 * Built with -ffp-contract=off: every fused multiply-add is an explicit one (norm_fmaf(), see
 * src/scalar/norm_fmaf.h: fmaf() computed without a library call, bit for bit).
 *
 * What is computed is the canonical order exactly; what is NOT computed is the padding the
 * definition adds and then throws away (tests/canon_ref.c keeps the literal, unpruned text, and
 * tests/test_scalar_ref.c checks that this file gives the same bits on every dim 1..1100 and
 * more). Three facts make the pruning exact:
 *   - a subtree of the in-block tree whose leaves are all padding is +0 (padding is +0 after the
 *     shift; a pair of padding squares is fma(0, 0, 0*0) = +0), so leaving it out changes at
 *     most the sign of a zero node, and a zero's sign cannot reach the result: the fold gives the
 *     same (hi, lo) for s = +0 and s = -0, and norm_lanes_total() adds (double)lo, never -0, to
 *     every lane (norm_internal.h, and the proof sketch at the top of src/avx512/norm_avx512.h);
 *     a lone square whose partner was left out is a*a = fma(0, 0, a*a) exactly;
 *   - a lane that gets no leaf in a block folds s = +0, which leaves (hi, lo) as they are;
 *   - a lane that never gets a leaf (n < 16) has v = +0 in norm_lanes_total(), and adding +0 to a
 *     v that is never -0 changes nothing, so the halving tree can skip it (short_total()).
 * So a row costs what it contains: dim 1 is one leaf, one fold and one lane, not 512 leaves. A row
 * of one block (n <= 512) needs no fold at all (one_block_total()), and rows go two to eight at a
 * time (layernorm_group()), so that the CPU overlaps one short row's dependent chain with the
 * next; rows of up to 16 elements are summed and written four elements at a time in vectors
 * (short_totals(), ln_out_short()).
 *
 * Also here: the rare path (norm_*_row_rare), which every tier calls for the rows the fast
 * arithmetic cannot take (non-finite input, float over/underflow of the sums, constant rows).
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "../norm_internal.h"
#include "norm_fmaf.h"
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* ---- the canonical reduction ---- */

/* Everything from here to the kernels is inlined into the per-dim copies at the end of this
 * section: norm_layernorm_f32_scalar() and norm_rmsnorm_f32_scalar() pick a copy by the job's dim
 * once per job. The short dims (1..16, one leaf per lane) have their own copy of the row code with
 * the dim a compile-time constant, where the lanes' trees and the loops are laid out at compile
 * time (a short row is mostly per-row overhead, which that removes); every other dim runs one copy
 * with the dim a variable. The arithmetic is the same in every copy. The loops run lane-wise over
 * the 16 independent lanes with fixed bounds, written as loops (not as named scalars) so that the
 * compiler puts them in vector registers: the same additions, in the same order. */
#if defined(__GNUC__)
#define SC_INLINE static inline __attribute__((always_inline))
#define SC_NOINLINE static __attribute__((noinline))
#else
#define SC_INLINE static inline
#define SC_NOINLINE static
#endif

/* The canonical total of a row that is one block (n <= NORM_BLOCK), from its lane sums s: the fold
 * from (+0, +0) gives hi = s and lo = +0 (for a finite s, up to the sign of a zero; a non-finite
 * one makes the total non-finite either way, and every such total takes the rare path), so
 * norm_lanes_total() is the halving tree over v = (double)s + 0. Adding +0 to every v, or once to
 * the total, is the same: a sum of doubles is -0 only when every addend is -0, and otherwise the
 * signs of zero addends change nothing. */
SC_INLINE double one_block_total(const float s[NORM_LANES])
{
    double v[NORM_LANES];
    for (int l = 0; l < NORM_LANES; l++)
        v[l] = (double)s[l];
    for (int h = NORM_LANES / 2; h > 1; h /= 2)
        for (int l = 0; l < h; l++)
            v[l] += v[l + h];
    return (v[0] + v[1]) + 0.0;
}

/* One step of the lanes' halving tree for a row of n <= 16 elements (below): v[l] += v[l + h] for
 * the lanes l + h that hold an element. */
SC_INLINE void short_halve(double v[NORM_LANES], size_t h, size_t n)
{
    for (size_t l = 0; l < h; l++)
        if (l + h < n)
            v[l] += v[l + h];
}

/* The canonical total of a row of n <= 16 elements (n >= 1) from its leaves v (as doubles): one
 * leaf per lane, whose tree is the leaf (for squares leaf*leaf), so v[l] = (double)leaf + 0 in
 * norm_lanes_total() (as in one_block_total(), the +0 once at the end); the lanes past n are +0
 * there, and adding them changes nothing (v is never -0): the halving tree leaves them out. */
SC_INLINE double short_total(double v[NORM_LANES], size_t n)
{
    short_halve(v, 8, n);
    short_halve(v, 4, n);
    short_halve(v, 2, n);
    short_halve(v, 1, n);
    return v[0] + 0.0;
}

/* The canonical totals of the leaves x - shift of a row of n <= 16 elements: their sum (sum !=
 * NULL) and the sum of their squares (sq != NULL). */
SC_INLINE void short_totals_lanes(const float *x, size_t n, float shift, double *sum, double *sq)
{
    double v[NORM_LANES], q[NORM_LANES];
    v[0] = q[0] = 0.0; /* (n >= 1 overwrites them; for the compiler's warning) */
    for (size_t l = 0; l < n; l++) {
        float d = x[l] - shift;
        v[l] = (double)d;
        q[l] = (double)(d * d);
    }
    if (sum)
        *sum = short_total(v, n);
    if (sq)
        *sq = short_total(q, n);
}

#if defined(__GNUC__)
/* The same totals in vectors of four floats / two doubles (GCC vector extensions: SSE2 on
 * baseline x86-64, NEON on AArch64), for the per-dim copies, where n is a constant and all of this
 * is laid out at compile time (at the dims SC_VSUM() lists, where it measured faster). The lanes
 * are those of P = 4, 8 or 16 (the least power of two >= n, at least 4), the lanes from n on +0
 * leaves (masked after the shift); the halving tree v[l] += v[l + h] runs over all P lanes,
 * h = P/2 .. 1. That adds +0 where the canonical tree (short_total()) adds nothing, and starts
 * below h = 8 where the steps above add nothing for n <= P: adding +0 changes at most the sign of
 * a zero node, and the total's final + 0.0 makes every zero +0, so the total is the same double. */
typedef float sc_v4f __attribute__((vector_size(16)));
typedef double sc_v2d __attribute__((vector_size(16)));
typedef int32_t sc_v4i __attribute__((vector_size(16)));
#define SC_SHORT_VEC 1

/* Vectors of four lanes a row of n <= 16 elements takes. */
#define SC_NV(n) ((n) <= 4 ? 1 : (n) <= 8 ? 2 : 4)

/* Elements 4i .. 4i+3 of a row of n, 0 for those past its end (which are not read). */
SC_INLINE sc_v4f sc_load(const float *x, size_t n, size_t i)
{
    const float *p = x + 4 * i;
    size_t m = n - 4 * i;
    sc_v4f v;
    double lo;
    if (m >= 4) {
        memcpy(&v, p, sizeof v);
    } else if (m >= 2) { /* two floats as one 64-bit load */
        memcpy(&lo, p, sizeof lo);
        v = (sc_v4f)(sc_v2d){lo, 0.0};
        if (m == 3)
            v[2] = p[2];
    } else {
        v = (sc_v4f){p[0], 0.0f, 0.0f, 0.0f};
    }
    return v;
}

/* All ones in the lanes of vector i that hold an element of a row of n, 0 in the others. */
SC_INLINE sc_v4i sc_valid(size_t n, size_t i)
{
    sc_v4i v;
    for (int k = 0; k < 4; k++)
        v[k] = 4 * i + (size_t)k < n ? -1 : 0;
    return v;
}

SC_INLINE sc_v2d sc_lo(sc_v4f v)
{
    return __builtin_convertvector(__builtin_shufflevector(v, v, 0, 1), sc_v2d);
}

SC_INLINE sc_v2d sc_hi(sc_v4f v)
{
#if defined(__SSE2__)
    return (sc_v2d)_mm_cvtps_pd(_mm_movehl_ps((__m128)v, (__m128)v));
#else
    return __builtin_convertvector(__builtin_shufflevector(v, v, 2, 3), sc_v2d);
#endif
}

/* The halving tree over the lanes of nd vectors of two doubles (lanes 2i, 2i+1 in d[i]), then the
 * final + 0.0. */
SC_INLINE double sc_halve_total(sc_v2d d[8], size_t nd)
{
    for (; nd > 1; nd /= 2)
        for (size_t i = 0; i < nd / 2; i++)
            d[i] += d[i + nd / 2];
    return (d[0][0] + d[0][1]) + 0.0;
}

/* Where the vectors are faster (measured; sq_only: RMSNorm's total of squares alone). */
#define SC_VSUM(n, sq_only) ((sq_only) ? (n) >= 9 : (n) == 4 || (n) >= 6)
SC_INLINE void short_totals(const float *x, size_t n, float shift, double *sum, double *sq)
{
    if (!SC_VSUM(n, !sum)) {
        short_totals_lanes(x, n, shift, sum, sq);
        return;
    }
    size_t nv = SC_NV(n), nl = (n + 3) / 4;
    sc_v2d v[8], q[8];
    for (size_t i = nl; i < nv; i++) /* vectors of padding only */
        v[2 * i] = v[2 * i + 1] = q[2 * i] = q[2 * i + 1] = (sc_v2d){0.0, 0.0};
    for (size_t i = 0; i < nl; i++) {
        sc_v4f d = (sc_v4f)((sc_v4i)(sc_load(x, n, i) - shift) & sc_valid(n, i));
        sc_v4f dd = d * d;
        v[2 * i] = sc_lo(d);
        v[2 * i + 1] = sc_hi(d);
        q[2 * i] = sc_lo(dd);
        q[2 * i + 1] = sc_hi(dd);
    }
    if (sum)
        *sum = sc_halve_total(v, 2 * nv);
    if (sq)
        *sq = sc_halve_total(q, 2 * nv);
}
#else
#define short_totals short_totals_lanes
#endif

/* The fused first tree level for squares: pair(a, b) = fma(b, b, a*a), lane-wise over `pairs`
 * pairs of leaf rows (e[2j], e[2j+1]) into p[j]. norm_fmaf_quick() (the double sum rounded to
 * float) raises a flag for every pair that may be wrong (a sum on a float midpoint or below
 * FLT_MIN; exact sums there raise it too, for nothing); almost never raised, and then the pairs
 * are tested again and the flagged ones recomputed with norm_fmaf(). Cheaper than
 * norm_fmaf_fast(), whose test needs the sum's rounding error (TwoSum) for every pair. */
SC_INLINE void square_pairs(float p[][NORM_LANES], const float e[][NORM_LANES], size_t pairs)
{
    int redo = 0;
    for (size_t j = 0; j < pairs; j++)
        for (int l = 0; l < NORM_LANES; l++) {
            float a = e[2 * j][l], b = e[2 * j + 1][l];
            p[j][l] = norm_fmaf_quick(b, b, a * a, &redo);
        }
    if (__builtin_expect(redo, 0))
        for (size_t j = 0; j < pairs; j++)
            for (int l = 0; l < NORM_LANES; l++) {
                float a = e[2 * j][l], b = e[2 * j + 1][l];
                int flagged = 0;
                (void)norm_fmaf_quick(b, b, a * a, &flagged);
                if (flagged)
                    p[j][l] = norm_fmaf(b, b, a * a);
            }
}

/* The in-block tree above the first level, over the w first-level nodes in p (lane sums end in
 * p[0]): neighbours added level by level, a last node without a neighbour passed on. */
SC_INLINE void tree_levels(float p[][NORM_LANES], size_t w)
{
    for (; w > 1; w = (w + 1) / 2) {
        for (size_t j = 0; j < w / 2; j++)
            for (int l = 0; l < NORM_LANES; l++)
                p[j][l] = p[2 * j][l] + p[2 * j + 1][l];
        if (w & 1)
            for (int l = 0; l < NORM_LANES; l++)
                p[w / 2][l] = p[w - 1][l];
    }
}

/* The lane sums of the block at x, of which `avail` (> 16) elements are in the row: of the leaves
 * x - shift (s1 != NULL) and of their squares (s2 != NULL), over the complete pairwise tree of
 * the block's 32 leaf rows (leaf row j holds leaf j of every lane) with the all-padding subtrees
 * left out: only the leaf rows that hold elements are read, lanes past the row's end in the last
 * one are +0 leaves, and a leaf row or node without a right neighbour passes on (a lone square is
 * a*a = fma(0, 0, a*a) exactly). */
SC_INLINE void block_sums(const float *x, size_t avail, float shift, float *s1, float *s2)
{
    size_t m = avail < NORM_BLOCK ? avail : NORM_BLOCK;
    size_t full = m / NORM_LANES, rem = m % NORM_LANES;
    size_t rows = full + (rem != 0);
    float e[NORM_LEAVES][NORM_LANES], p1[NORM_LEAVES / 2][NORM_LANES];
    float p2[NORM_LEAVES / 2][NORM_LANES];
    for (size_t j = 0; j < full; j++)
        for (int l = 0; l < NORM_LANES; l++)
            e[j][l] = x[j * NORM_LANES + (size_t)l] - shift;
    if (rem)
        for (size_t l = 0; l < NORM_LANES; l++)
            e[full][l] = l < rem ? x[full * NORM_LANES + l] - shift : 0.0f;
    size_t pairs = rows / 2;
    if (s1) {
        for (size_t j = 0; j < pairs; j++)
            for (int l = 0; l < NORM_LANES; l++)
                p1[j][l] = e[2 * j][l] + e[2 * j + 1][l];
        if (rows & 1)
            for (int l = 0; l < NORM_LANES; l++)
                p1[pairs][l] = e[rows - 1][l];
        tree_levels(p1, (rows + 1) / 2);
        for (int l = 0; l < NORM_LANES; l++)
            s1[l] = p1[0][l];
    }
    if (s2) {
        square_pairs(p2, (const float(*)[NORM_LANES])e, pairs);
        if (rows & 1)
            for (int l = 0; l < NORM_LANES; l++)
                p2[pairs][l] = e[rows - 1][l] * e[rows - 1][l];
        tree_levels(p2, (rows + 1) / 2);
        for (int l = 0; l < NORM_LANES; l++)
            s2[l] = p2[0][l];
    }
}

/* Rows of several blocks: each block's lane sums are folded into the lanes' TwoSum accumulators
 * (norm_fold). A lane that a short last block does not reach gets s = +0 there, which leaves
 * (hi, lo) as they are. The full blocks get their own copy of block_sums() (512 a constant). */
SC_INLINE void long_reduce(const float *x, size_t n, float shift, double *sum, double *sq)
{
    float h1[NORM_LANES] = {0}, l1[NORM_LANES] = {0};
    float h2[NORM_LANES] = {0}, l2[NORM_LANES] = {0};
    float s1[NORM_LANES], s2[NORM_LANES];
    for (size_t base = 0; base < n; base += NORM_BLOCK) {
        if (n - base >= NORM_BLOCK)
            block_sums(x + base, NORM_BLOCK, shift, sum ? s1 : NULL, sq ? s2 : NULL);
        else if (n - base > NORM_LANES)
            block_sums(x + base, n - base, shift, sum ? s1 : NULL, sq ? s2 : NULL);
        else
            for (int l = 0; l < NORM_LANES; l++) {
                /* a last block of at most 16 elements: one leaf per lane */
                float d = (size_t)l < n - base ? x[base + (size_t)l] - shift : 0.0f;
                s1[l] = d;
                s2[l] = d * d;
            }
        for (int l = 0; l < NORM_LANES; l++) {
            if (sum)
                norm_fold(&h1[l], &l1[l], s1[l]);
            if (sq)
                norm_fold(&h2[l], &l2[l], s2[l]);
        }
    }
    if (sum)
        *sum = norm_lanes_total(h1, l1);
    if (sq)
        *sq = norm_lanes_total(h2, l2);
}

SC_NOINLINE void long_reduce_sum(const float *x, size_t n, float shift, double *sum)
{
    long_reduce(x, n, shift, sum, NULL);
}

SC_NOINLINE void long_reduce_sq(const float *x, size_t n, float shift, double *sq)
{
    long_reduce(x, n, shift, NULL, sq);
}

SC_NOINLINE void long_reduce_both(const float *x, size_t n, float shift, double *sum, double *sq)
{
    long_reduce(x, n, shift, sum, sq);
}

/* Canonical totals of leaves (x - shift): the plain sum (if sum != NULL) and the sum of squares
 * (if sq != NULL), for any n >= 1. */
SC_INLINE void canon_reduce(const float *x, size_t n, float shift, double *sum, double *sq)
{
    if (n <= NORM_LANES) {
        short_totals(x, n, shift, sum, sq);
    } else if (n <= NORM_BLOCK) {
        float s1[NORM_LANES], s2[NORM_LANES];
        block_sums(x, n, shift, sum ? s1 : NULL, sq ? s2 : NULL);
        if (sum)
            *sum = one_block_total(s1);
        if (sq)
            *sq = one_block_total(s2);
    } else if (sum && sq) {
        long_reduce_both(x, n, shift, sum, sq);
    } else if (sum) {
        long_reduce_sum(x, n, shift, sum);
    } else {
        long_reduce_sq(x, n, shift, sq);
    }
}

/* (0.5) The totals of a short LayerNorm row (n <= NORM_LN_SHORT, norm_internal.h) over its first
 * m <= n elements: the same lanes, leaves and in-block tree as canon_reduce() (one block: the
 * fold from (+0, +0) gives hi = the lane sum and lo = +0), the lanes combined in float
 * (norm_lanes_total_f()). */
SC_INLINE void short_reduce_f(const float *x, size_t m, float shift, double *sum, double *sq)
{
    static const float zero[NORM_LANES];
    float s1[NORM_LANES], s2[NORM_LANES];
    if (m > NORM_LANES) {
        block_sums(x, m, shift, sum ? s1 : NULL, sq ? s2 : NULL);
    } else {
        for (size_t l = 0; l < NORM_LANES; l++) { /* one leaf per lane, +0 past the row */
            float d = l < m ? x[l] - shift : 0.0f;
            s1[l] = d;
            s2[l] = d * d;
        }
    }
    if (sum)
        *sum = norm_lanes_total_f(s1, zero);
    if (sq)
        *sq = norm_lanes_total_f(s2, zero);
}

/* LayerNorm's totals over the first m elements of a row of n: the short rows' (n <=
 * NORM_LN_SHORT) or canon_reduce(). */
SC_INLINE void ln_reduce(const float *x, size_t m, size_t n, float shift, double *sum, double *sq)
{
    if (n <= NORM_LN_SHORT)
        short_reduce_f(x, m, shift, sum, sq);
    else
        canon_reduce(x, m, shift, sum, sq);
}

/* canon_reduce() out of line, for LayerNorm's repeated pass 2 (rare: rows whose probe is not like
 * the rest), so that the per-dim copies of the row code stay small. */
SC_NOINLINE void canon_reduce_again(const float *x, size_t n, float shift, double *sum,
                                    double *sq)
{
    ln_reduce(x, n, n, shift, sum, sq);
}

/* LayerNorm's output pass: y = fmaf(((x - m0) - mlo) * r, w, b) (w = 1, b = 0 when NULL).
 * Without w that is t + b rounded once, a float addition (t + 0 when b is NULL too). With w it is
 * norm_fmaf_quick() over the row, redone with norm_fmaf() when it asks for it; in place (y == x)
 * a stretch at a time goes through a buffer, so that x is still there for the redo. The loops
 * are written for y apart from x (restrict: the entry layer allows no other overlap of y with x,
 * w or b) or exactly in place (one pointer), so that the compiler can vectorize them without
 * testing the pointers first. */
SC_INLINE void ln_out_affine_body(float *restrict y, const float *restrict x,
                                  const float *restrict w, const float *restrict b, size_t n,
                                  float m0, float mlo, float r)
{
    int redo = 0;
    if (b)
        for (size_t i = 0; i < n; i++)
            y[i] = norm_fmaf_quick0(((x[i] - m0) - mlo) * r, w[i], b[i], &redo);
    else
        for (size_t i = 0; i < n; i++)
            y[i] = norm_fmaf_quick0(((x[i] - m0) - mlo) * r, w[i], 0.0f, &redo);
    if (__builtin_expect(redo, 0))
        for (size_t i = 0; i < n; i++)
            y[i] = norm_fmaf(((x[i] - m0) - mlo) * r, w[i], b ? b[i] : 0.0f);
}

/* Out of line for rows longer than 16 (the loop vectorized); inline, its loop unrolled, for the
 * short dims' copies. */
SC_NOINLINE void ln_out_affine(float *restrict y, const float *restrict x,
                               const float *restrict w, const float *restrict b, size_t n,
                               float m0, float mlo, float r)
{
    ln_out_affine_body(y, x, w, b, n, m0, mlo, r);
}

/* ln_out_affine() for two rows at once (a pair of a group's rows, below), out of place: w and b
 * are read and widened once for both. The same operations on each row. */
SC_NOINLINE void ln_out_affine2(float *restrict y0, float *restrict y1, const float *restrict x0,
                                const float *restrict x1, const float *restrict w,
                                const float *restrict b, size_t n, const float m0[2],
                                const float mlo[2], const float r[2])
{
    int redo = 0;
    float a0 = m0[0], a1 = m0[1], c0 = mlo[0], c1 = mlo[1], r0 = r[0], r1 = r[1];
    if (b)
        for (size_t i = 0; i < n; i++) {
            y0[i] = norm_fmaf_quick0(((x0[i] - a0) - c0) * r0, w[i], b[i], &redo);
            y1[i] = norm_fmaf_quick0(((x1[i] - a1) - c1) * r1, w[i], b[i], &redo);
        }
    else
        for (size_t i = 0; i < n; i++) {
            y0[i] = norm_fmaf_quick0(((x0[i] - a0) - c0) * r0, w[i], 0.0f, &redo);
            y1[i] = norm_fmaf_quick0(((x1[i] - a1) - c1) * r1, w[i], 0.0f, &redo);
        }
    if (__builtin_expect(redo, 0))
        for (size_t i = 0; i < n; i++) {
            y0[i] = norm_fmaf(((x0[i] - a0) - c0) * r0, w[i], b ? b[i] : 0.0f);
            y1[i] = norm_fmaf(((x1[i] - a1) - c1) * r1, w[i], b ? b[i] : 0.0f);
        }
}

SC_INLINE void ln_out_plain(float *restrict y, const float *restrict x, const float *restrict b,
                            size_t n, float m0, float mlo, float r)
{
    if (b)
        for (size_t i = 0; i < n; i++)
            y[i] = ((x[i] - m0) - mlo) * r + b[i];
    else
        for (size_t i = 0; i < n; i++)
            y[i] = ((x[i] - m0) - mlo) * r + 0.0f;
}

SC_INLINE void ln_out_plain_inplace(float *y, const float *restrict b, size_t n, float m0,
                                    float mlo, float r)
{
    if (b)
        for (size_t i = 0; i < n; i++)
            y[i] = ((y[i] - m0) - mlo) * r + b[i];
    else
        for (size_t i = 0; i < n; i++)
            y[i] = ((y[i] - m0) - mlo) * r + 0.0f;
}

#if defined(SC_SHORT_VEC) && defined(NORM_FMAF_X4)
/* ln_out_affine_body() for a row of n <= 16 elements (the per-dim copies: n a constant), four
 * elements at a time in SSE2 registers: norm_fmaf_quick0() on four lanes (norm_fmaf_quick0_x4(),
 * the same arithmetic and test), the lanes past the row masked out of the test. Every load comes
 * before any store, so in place (y == x) the redo still has x. */
#define SC_SHORT_OUT 1
/* ln_out_short()'s redo (nothing stored yet): every element with norm_fmaf(), one at a time (in
 * place, each element is read before it is written). */
SC_NOINLINE void ln_out_short_redo(float *y, const float *x, const float *w, const float *b,
                                   size_t n, float m0, float mlo, float r)
{
    for (size_t k = 0; k < n; k++)
        y[k] = norm_fmaf(((x[k] - m0) - mlo) * r, w[k], b ? b[k] : 0.0f);
}

SC_INLINE void ln_out_short(float *y, const float *x, const float *w, const float *b, size_t n,
                            float m0, float mlo, float r)
{
    size_t nv = (n + 3) / 4;
    sc_v4f out[4];
    __m128i redo = _mm_setzero_si128();
    for (size_t i = 0; i < nv; i++) {
        sc_v4f t = ((sc_load(x, n, i) - m0) - mlo) * r;
        __m128 bv = b ? (__m128)sc_load(b, n, i) : _mm_setzero_ps();
        __m128i flag;
        if (n - 4 * i <= 2) /* one or two elements left */
            out[i] = (sc_v4f)norm_fmaf_quick0_x2((__m128)t, (__m128)sc_load(w, n, i), bv, &flag);
        else
            out[i] = (sc_v4f)norm_fmaf_quick0_x4((__m128)t, (__m128)sc_load(w, n, i), bv, &flag);
        redo = _mm_or_si128(redo, _mm_and_si128(flag, (__m128i)sc_valid(n, i)));
    }
    if (__builtin_expect(_mm_movemask_epi8(redo) != 0, 0)) {
        ln_out_short_redo(y, x, w, b, n, m0, mlo, r);
        return;
    }
    for (size_t i = 0; i < nv; i++) {
        size_t m = n - 4 * i < 4 ? n - 4 * i : 4;
        memcpy(y + 4 * i, &out[i], m * sizeof(float));
    }
}
#endif

#if defined(SC_SHORT_OUT)
#define SC_SHORT_OUT_N(n) ((n) <= NORM_LANES) /* ln_out_short() takes the row's output */
#else
#define SC_SHORT_OUT_N(n) 0
#endif

#define OUT_CHUNK 256
SC_INLINE void ln_output(float *y, const float *x, const float *w, const float *b, size_t n,
                         float m0, float mlo, float r)
{
    if (!w) {
        if (y == x)
            ln_out_plain_inplace(y, b, n, m0, mlo, r);
        else
            ln_out_plain(y, x, b, n, m0, mlo, r);
        return;
    }
#if defined(SC_SHORT_OUT)
    if (SC_SHORT_OUT_N(n)) {
        ln_out_short(y, x, w, b, n, m0, mlo, r);
        return;
    }
#endif
    if (y != x) {
        if (n < 4)
            ln_out_affine_body(y, x, w, b, n, m0, mlo, r);
        else
            ln_out_affine(y, x, w, b, n, m0, mlo, r);
        return;
    }
    for (size_t i0 = 0; i0 < n; i0 += OUT_CHUNK) {
        size_t m = n - i0 < OUT_CHUNK ? n - i0 : OUT_CHUNK;
        float buf[OUT_CHUNK];
        ln_out_affine(buf, x + i0, w + i0, b ? b + i0 : NULL, m, m0, mlo, r);
        memcpy(y + i0, buf, m * sizeof(float));
    }
}

/* RMSNorm's output pass: y = (x * s) * w (w NULL: y = x * s), written as ln_output()'s loops. */
SC_INLINE void rms_out(float *restrict y, const float *restrict x, const float *restrict w,
                       size_t n, float s)
{
    if (w)
        for (size_t i = 0; i < n; i++)
            y[i] = (x[i] * s) * w[i];
    else
        for (size_t i = 0; i < n; i++)
            y[i] = x[i] * s;
}

SC_INLINE void rms_out_inplace(float *y, const float *restrict w, size_t n, float s)
{
    if (w)
        for (size_t i = 0; i < n; i++)
            y[i] = (y[i] * s) * w[i];
    else
        for (size_t i = 0; i < n; i++)
            y[i] = y[i] * s;
}

SC_INLINE void rms_output(float *y, const float *x, const float *w, size_t n, float s)
{
    if (y == x)
        rms_out_inplace(y, w, n, s);
    else
        rms_out(y, x, w, n, s);
}

/* LayerNorm's output pass with LIBNORM_WEIGHT_PLUS_ONE (w not NULL): the factor (float)(1 + w)
 * (norm_wf), a stretch at a time through a buffer in place; for single rows and for each row of
 * a group (below: the pairs' two-row loop is for the plain weight). */
SC_NOINLINE void ln_output_wp(float *y, const float *x, const float *w, const float *b, size_t n,
                      float m0, float mlo, float r, int wp)
{
    for (size_t i0 = 0; i0 < n; i0 += OUT_CHUNK) {
        size_t m = n - i0 < OUT_CHUNK ? n - i0 : OUT_CHUNK;
        const float *xc = x + i0, *wc = w + i0, *bc = b ? b + i0 : NULL;
        float buf[OUT_CHUNK];
        float *out = y == x ? buf : y + i0;
        int redo = 0;
        for (size_t i = 0; i < m; i++) {
            float t = ((xc[i] - m0) - mlo) * r;
            out[i] = norm_fmaf_quick(t, norm_wf(wc, i, wp), bc ? bc[i] : 0.0f, &redo);
        }
        if (redo)
            for (size_t i = 0; i < m; i++) {
                float t = ((xc[i] - m0) - mlo) * r;
                out[i] = norm_fmaf(t, norm_wf(wc, i, wp), bc ? bc[i] : 0.0f);
            }
        if (out == buf)
            memcpy(y + i0, buf, m * sizeof(float));
    }
}

SC_INLINE void layernorm_row(float *y, const float *x, const float *w, const float *b, size_t n,
                             float eps, double inv_n, double inv_k, float *mean, float *rstd,
                             double *sums, int wp)
{
    /* A row of one element is constant: s0 = (x0 - x0) + 0 = +0, so m0 = x0, and s2 = +0, below
     * NORM_RARE_MIN (a non-finite x0 makes s0 NaN): norm_ln_finish() would send it to the rare
     * path, whatever x0 is. So it goes there directly (unless the test hook wants the totals). */
    if (n == 1 && !sums) {
        norm_layernorm_row_rare(y, x, w, b, n, eps, mean, rstd, wp);
        return;
    }
    double s0, s1, s2;
    ln_reduce(x, norm_ln_probe(n), n, x[0], &s0, NULL);
    float m0 = norm_ln_m0(x[0], s0, inv_k);
    ln_reduce(x, n, n, m0, &s1, &s2);
    float mlo, r, mo, m0_next;
    int st = norm_ln_finish(s0, s1, s2, m0, inv_n, eps, 0, &mlo, &r, &mo, &m0_next);
    if (__builtin_expect(st == NORM_LN_AGAIN, 0)) {
        m0 = m0_next;
        canon_reduce_again(x, n, m0, &s1, &s2);
        st = norm_ln_finish(s0, s1, s2, m0, inv_n, eps, 1, &mlo, &r, &mo, &m0_next);
    }
    norm_ln_put_sums(sums, s0, s1, s2);
    if (__builtin_expect(st != NORM_LN_OK, 0)) {
        norm_layernorm_row_rare(y, x, w, b, n, eps, mean, rstd, wp);
        return;
    }
    if (wp && w)
        ln_output_wp(y, x, w, b, n, m0, mlo, r, 1);
    else
        ln_output(y, x, w, b, n, m0, mlo, r);
    if (mean)
        *mean = mo;
    if (rstd)
        *rstd = r;
}

SC_INLINE void rmsnorm_row(float *y, const float *x, const float *w, size_t n, float eps,
                           double inv_n, float *rstd, double *sums, int kind, int wp)
{
    double s2;
    canon_reduce(x, n, 0.0f, NULL, &s2);
    if (sums)
        *sums = s2;
    float r;
    if (__builtin_expect(norm_rmsk_finish(kind, s2, inv_n, eps, &r), 0)) {
        norm_rmsk_row_rare(kind, y, x, w, n, eps, rstd, wp);
        return;
    }
    if (wp && w) /* LIBNORM_WEIGHT_PLUS_ONE: the factor (float)(1 + w); element-wise, in place too */
        for (size_t i = 0; i < n; i++)
            y[i] = (x[i] * r) * (1.0f + w[i]);
    else
        rms_output(y, x, w, n, r);
    if (rstd)
        *rstd = r;
}

/* One row, the dim a variable: the rows a group (below) hands back. */
SC_NOINLINE void layernorm_row_any(const norm_job *j, size_t r, double inv_n, double inv_k)
{
    layernorm_row(j->y + r * j->ys, j->x + r * j->xs, j->w, j->b, j->dim, j->eps, inv_n, inv_k,
                  j->mean ? j->mean + r : NULL, j->rstd ? j->rstd + r : NULL,
                  norm_ln_sums_at(j, r), j->wplus);
}

SC_NOINLINE void rmsnorm_row_any(const norm_job *j, size_t r, double inv_n)
{
    rmsnorm_row(j->y + r * j->ys, j->x + r * j->xs, j->w, j->dim, j->eps, inv_n,
                j->rstd ? j->rstd + r : NULL, j->sums ? j->sums + r : NULL, j->kind, j->wplus);
}

/* Rows side by side: g rows at a time (g = 2, 4 or 8, SC_GROUP_MAX at most; the pairs of a group
 * share the two-row output loop from dim 17 on), each step of the row code done for every row of
 * the group before the next step. A short row is one long dependent chain (probe, m0, pass 2, a
 * double division and square root, the output) that its few elements cannot hide; the rows of a
 * group are independent, so the CPU overlaps their chains. Each row computes exactly what
 * layernorm_row() computes; a row whose statistics ask for the repeated pass 2 or the rare path
 * is handed to layernorm_row_any(), which starts it again from its first pass (rows of y never
 * overlap rows of x other than their own, exactly in place: the entry layer's rule). */
#define SC_GROUP_MAX 8
/* The group size of each per-dim copy (below), as measured (baseline x86-64, gcc 12, normbench
 * and a loop over 32 rows, the minimum of many): RMSNorm four rows at dims 4-13 and from 17 on,
 * two at dims 1-3 and 14-16, where four were slower (dim 3: 13 -> 16 ns); LayerNorm eight rows
 * at dims 1-16 since their output runs four elements at a time (ln_out_short(): with weight and
 * bias, 8 rows against 4 (2 at dims 2, 3) 0.70-0.90x the time per row at dims 2-16, 16 rows no
 * better than 8; eight RMSNorm rows were slower at dims 2-12), four from 17 on. */
#define SC_GROUP_OF(n) ((n) <= 3 || ((n) >= 14 && (n) <= 16) ? 2 : 4)
#define SC_LN_GROUP_OF(n) ((n) <= NORM_LANES ? 8 : 4)
SC_INLINE void layernorm_group(const norm_job *j, size_t r0, size_t n, double inv_n, double inv_k,
                                int g)
{
    const float *x[SC_GROUP_MAX];
    double s0[SC_GROUP_MAX], s1[SC_GROUP_MAX], s2[SC_GROUP_MAX];
    float m0[SC_GROUP_MAX], mlo[SC_GROUP_MAX], rs[SC_GROUP_MAX], mo[SC_GROUP_MAX];
    float m0_next[SC_GROUP_MAX];
    int st[SC_GROUP_MAX];
    for (int k = 0; k < g; k++)
        x[k] = j->x + (r0 + (size_t)k) * j->xs;
    for (int k = 0; k < g; k++)
        ln_reduce(x[k], norm_ln_probe(n), n, x[k][0], &s0[k], NULL);
    for (int k = 0; k < g; k++)
        m0[k] = norm_ln_m0(x[k][0], s0[k], inv_k);
    for (int k = 0; k < g; k++)
        ln_reduce(x[k], n, n, m0[k], &s1[k], &s2[k]);
    for (int k = 0; k < g; k++)
        st[k] = norm_ln_finish(s0[k], s1[k], s2[k], m0[k], inv_n, j->eps, 0, &mlo[k], &rs[k],
                               &mo[k], &m0_next[k]);
    int pair[SC_GROUP_MAX];
    for (int k = 0; k < g; k += 2) {
        float *y0 = j->y + (r0 + (size_t)k) * j->ys, *y1 = y0 + j->ys;
        pair[k] = pair[k + 1] = n >= 4 && !SC_SHORT_OUT_N(n) && j->w && !j->wplus && y0 != x[k] &&
                                st[k] == NORM_LN_OK && st[k + 1] == NORM_LN_OK;
        if (pair[k])
            ln_out_affine2(y0, y1, x[k], x[k + 1], j->w, j->b, n, m0 + k, mlo + k, rs + k);
    }
    /* (the job's fields in locals: the compiler cannot keep them across the rare call) */
    const float *w = j->w, *b = j->b;
    float *y = j->y, *mean = j->mean, *rstd = j->rstd;
    size_t ys = j->ys;
    int wp = j->wplus && w;
    for (int k = 0; k < g; k++) {
        size_t r = r0 + (size_t)k;
        if (__builtin_expect(st[k] != NORM_LN_OK, 0)) {
            layernorm_row_any(j, r, inv_n, inv_k);
            continue;
        }
        if (wp)
            ln_output_wp(y + r * ys, x[k], w, b, n, m0[k], mlo[k], rs[k], 1);
        else if (!pair[k])
            ln_output(y + r * ys, x[k], w, b, n, m0[k], mlo[k], rs[k]);
        if (mean)
            mean[r] = mo[k];
        if (rstd)
            rstd[r] = rs[k];
    }
}

SC_INLINE void rmsnorm_group(const norm_job *j, size_t r0, size_t n, double inv_n, int g)
{
    const float *x[SC_GROUP_MAX];
    double s2[SC_GROUP_MAX];
    float rs[SC_GROUP_MAX];
    int bad[SC_GROUP_MAX];
    for (int k = 0; k < g; k++)
        x[k] = j->x + (r0 + (size_t)k) * j->xs;
    for (int k = 0; k < g; k++)
        canon_reduce(x[k], n, 0.0f, NULL, &s2[k]);
    for (int k = 0; k < g; k++)
        bad[k] = norm_rmsk_finish(j->kind, s2[k], inv_n, j->eps, &rs[k]);
    for (int k = 0; k < g; k++) {
        size_t r = r0 + (size_t)k;
        if (__builtin_expect(bad[k], 0)) {
            rmsnorm_row_any(j, r, inv_n);
            continue;
        }
        float *yr = j->y + r * j->ys;
        if (j->wplus && j->w) /* the factor (float)(1 + w), as rmsnorm_row() */
            for (size_t i = 0; i < n; i++)
                yr[i] = (x[k][i] * rs[k]) * (1.0f + j->w[i]);
        else
            rms_output(yr, x[k], j->w, n, rs[k]);
        if (j->rstd)
            j->rstd[r] = rs[k];
    }
}

SC_INLINE void layernorm_rows(const norm_job *j, size_t n, int g)
{
    double inv_n = 1.0 / (double)n, inv_k = 1.0 / (double)norm_ln_probe(n);
    size_t r = 0;
    if (n == 1 && !j->sums) {
        /* constant rows: see layernorm_row() */
        for (; r < j->rows; r++)
            norm_layernorm_row_rare(j->y + r * j->ys, j->x + r * j->xs, j->w, j->b, 1, j->eps,
                                    j->mean ? j->mean + r : NULL, j->rstd ? j->rstd + r : NULL,
                                    j->wplus);
        return;
    }
    if (!j->sums) /* the test hook: one row at a time */
        for (; r + (size_t)g <= j->rows; r += (size_t)g)
            layernorm_group(j, r, n, inv_n, inv_k, g);
    for (; r < j->rows; r++)
        layernorm_row_any(j, r, inv_n, inv_k);
}

SC_INLINE void rmsnorm_rows(const norm_job *j, size_t n, int g)
{
    double inv_n = 1.0 / (double)n;
    size_t r = 0;
    if (!j->sums) /* the test hook: one row at a time */
        for (; r + (size_t)g <= j->rows; r += (size_t)g)
            rmsnorm_group(j, r, n, inv_n, g);
    for (; r < j->rows; r++)
        rmsnorm_row_any(j, r, inv_n);
}

/* The per-dim copies: every dim up to 16 (one leaf per lane) and the common short powers of two
 * get the row code with the dim a compile-time constant; every other dim the same code with the
 * dim a variable. */
#define SC_DIMS(X)                                                                              \
    X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15) X(16)

/* Each copy is a function of its own (compiled apart from the others, as if written out). */
#define SC_COPY(N)                                                                              \
    SC_NOINLINE void layernorm_dim##N(const norm_job *j)                                        \
    {                                                                                           \
        layernorm_rows(j, N, SC_LN_GROUP_OF(N));                                                \
    }                                                                                           \
    SC_NOINLINE void rmsnorm_dim##N(const norm_job *j)                                          \
    {                                                                                           \
        rmsnorm_rows(j, N, SC_GROUP_OF(N));                                                     \
    }
SC_DIMS(SC_COPY)
#undef SC_COPY

SC_NOINLINE void layernorm_dim_any(const norm_job *j)
{
    layernorm_rows(j, j->dim, SC_LN_GROUP_OF(NORM_LANES + 1));
}

SC_NOINLINE void rmsnorm_dim_any(const norm_job *j)
{
    rmsnorm_rows(j, j->dim, SC_GROUP_OF(NORM_LANES + 1));
}

/* The kernels: a table of the copies, indexed by dim (0: any other dim). */
#define SC_ENTRY(N) layernorm_dim##N,
static void (*const layernorm_dims[])(const norm_job *) = {layernorm_dim_any, SC_DIMS(SC_ENTRY)};
#undef SC_ENTRY
#define SC_ENTRY(N) rmsnorm_dim##N,
static void (*const rmsnorm_dims[])(const norm_job *) = {rmsnorm_dim_any, SC_DIMS(SC_ENTRY)};
#undef SC_ENTRY
#define SC_NDIMS (sizeof layernorm_dims / sizeof layernorm_dims[0])

void norm_layernorm_f32_scalar(const norm_job *j)
{
    layernorm_dims[j->dim < SC_NDIMS ? j->dim : 0](j);
}

void norm_rmsnorm_f32_scalar(const norm_job *j)
{
    rmsnorm_dims[j->dim < SC_NDIMS ? j->dim : 0](j);
}

/* ---- the rare path: computed in double, where no float input can over- or underflow ---- */

/* v / n. For n a power of two that is v * (1/n), exactly the same value (both are the correctly
 * rounded v * 2^-k, subnormal results included) without a division. */
static double div_n(double v, size_t n)
{
    return (n & (n - 1)) == 0 ? v * (1.0 / (double)n) : v / (double)n;
}

/* 1 when the row holds a NaN or an Inf. */
static int row_nonfinite(const float *x, size_t n)
{
    int bad = 0;
    for (size_t i = 0; i < n; i++)
        bad |= !(fabsf(x[i]) <= FLT_MAX);
    return bad;
}

static void nan_row(float *y, size_t n, float *mean, float *rstd)
{
    for (size_t i = 0; i < n; i++)
        y[i] = NAN;
    if (mean)
        *mean = NAN;
    if (rstd)
        *rstd = NAN;
}

void norm_layernorm_row_rare(float *y, const float *x, const float *w, const float *b, size_t n,
                             float eps, float *mean, float *rstd, int wp)
{
    if (row_nonfinite(x, n)) {
        nan_row(y, n, mean, rstd);
        return;
    }
    /* Corrected two-pass in double: m1, then the sums of d = x - m1 and of d^2. */
    double m1 = 0.0;
    for (size_t i = 0; i < n; i++)
        m1 += (double)x[i];
    m1 = div_n(m1, n);
    double s1 = 0.0, s2 = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)x[i] - m1;
        s1 += d;
        s2 += d * d;
    }
    double ml = div_n(s1, n);
    double var = div_n(s2, n) - ml * ml;
    if (var < 0.0)
        var = 0.0;
    double r = 1.0 / sqrt(var + (double)eps);
    /* A constant row has var == 0: its normalized values are exactly 0 (so y = b, also when
     * eps == 0 makes r infinite). */
    double scale = var > 0.0 ? r : 0.0;
    if (scale == 0.0) {
        /* t = +/-0 (x and m1 are finite), so t*w is exact (+/-0, or NaN for a non-finite w), and
         * so is adding b (a float, in double): t*w + b is fma(t, w, b), without the fma call. */
        for (size_t i = 0; i < n; i++) {
            double t = (((double)x[i] - m1) - ml) * scale;
            y[i] = (float)(t * (w ? (double)norm_wf(w, i, wp) : 1.0) + (b ? (double)b[i] : 0.0));
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            double t = (((double)x[i] - m1) - ml) * scale;
            y[i] = (float)fma(t, w ? (double)norm_wf(w, i, wp) : 1.0, b ? (double)b[i] : 0.0);
        }
    }
    if (mean)
        *mean = (float)(m1 + ml);
    if (rstd)
        *rstd = (float)r;
}

void norm_rmsnorm_row_rare(float *y, const float *x, const float *w, size_t n, float eps,
                           float *rstd, int wp)
{
    if (row_nonfinite(x, n)) {
        nan_row(y, n, NULL, rstd);
        return;
    }
    double s2 = 0.0;
    for (size_t i = 0; i < n; i++)
        s2 += (double)x[i] * (double)x[i];
    double ms = div_n(s2, n);
    double r = 1.0 / sqrt(ms + (double)eps);
    /* An all-zero row gives zeros, also when eps == 0 makes r infinite. */
    double scale = ms > 0.0 ? r : 0.0;
    for (size_t i = 0; i < n; i++) {
        double t = (double)x[i] * scale;
        y[i] = (float)(w ? t * (double)norm_wf(w, i, wp) : t);
    }
    if (rstd)
        *rstd = (float)r;
}

void norm_l2norm_row_rare(float *y, const float *x, size_t n, float eps, float *rstd)
{
    if (row_nonfinite(x, n)) {
        nan_row(y, n, NULL, rstd);
        return;
    }
    /* The squares of floats are exact in double and their sum cannot overflow it. */
    double s2 = 0.0;
    for (size_t i = 0; i < n; i++)
        s2 += (double)x[i] * (double)x[i];
    double nrm = sqrt(s2);
    double s = 1.0 / (nrm >= (double)eps ? nrm : (double)eps); /* eps = -0: 1/+0 */
    /* An all-zero row gives zeros, also when eps == 0 makes s infinite. */
    double scale = s2 > 0.0 ? s : 0.0;
    for (size_t i = 0; i < n; i++)
        y[i] = (float)((double)x[i] * scale);
    if (rstd)
        *rstd = (float)s;
}

/* ---- group normalisation's per-channel affine (every tier calls this one) ---- */

void norm_channel_affine(float *y, const float *w, const float *b, size_t c0, size_t c1,
                         size_t spatial, int wp)
{
    for (size_t c = c0; c < c1; c++, y += spatial) {
        float wc = w ? norm_wf(w, c, wp) : 1.0f, bc = b ? b[c] : 0.0f;
        for (size_t i = 0; i < spatial; i++)
            y[i] = norm_fmaf(y[i], wc, bc);
    }
}
