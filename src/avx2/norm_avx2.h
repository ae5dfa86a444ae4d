/*
 * Shared helpers of the AVX2 tier (AVX2 + FMA, no AVX-512): the canonical in-block tree, the
 * lane-wise TwoSum fold, the lane total in double and the masked leaves of a row's last leaf row.
 * Everything here is static inline and only included by the TUs in src/avx2/, which are built
 * with -mavx2 -mfma -ffp-contract=off (so no multiply and add is ever fused behind our back; every
 * FMA below is an explicit intrinsic).
 *
 * Layout (see THE CANONICAL ORDER in norm_internal.h). The 16 canonical lanes are two ymm lane
 * groups: group A = lanes 0-7, group B = lanes 8-15. In the block starting at element `base`,
 * leaf j of group g is the vector x[base + 16*j + 8*g .. + 7]. Lanes are independent, so each
 * group runs its own tree and its own (hi, lo) accumulators; nothing crosses lanes until the lane
 * total, which is done in double exactly as norm_lanes_total().
 *
 * Partial blocks use the pruned tree: leaf rows past the end of the row are skipped (an all-padding
 * subtree is +0 and a zero's sign cannot reach the result, see norm_internal.h); the last present
 * leaf row may be partial and is read with a lane mask (vmaskmovps never touches masked-out
 * memory) and, for shifted leaves, zeroed after the subtraction.
 */
#ifndef NORM_AVX2_H
#define NORM_AVX2_H

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

#include "norm_internal.h"

/* Sanitizer builds (meson -Db_sanitize=...: NORM_SANITIZE_BUILD) leave the inlining to the
 * compiler: forced inlining of the trees into every row-loop variant under ASan + UBSan costs
 * gcc tens of minutes on layernorm_avx2.c. The arithmetic is explicit intrinsics with
 * -ffp-contract=off, so inlining changes no result (checkasm runs in that build too). */
#if defined(NORM_SANITIZE_BUILD)
#define NORM_AVX2_INLINE static inline
#else
#define NORM_AVX2_INLINE static inline __attribute__((always_inline))
#endif

/* An empty asm that "redefines" v where it stands. gcc's TER otherwise forwards the single-use
 * tree additions into one big expression at the fold, which keeps every leaf alive until then
 * and spills; pinning each node of the tree where it is computed (post-order) keeps the tree's
 * live set at a few registers. It changes no arithmetic. */
#define NORM_AVX2_PIN(v) __asm__("" : "+x"(v))

/* Lane mask for the first `cnt` lanes of a ymm (cnt may be <= 0: none, or >= 8: all). */
NORM_AVX2_INLINE __m256i norm_mask_avx2(ptrdiff_t cnt)
{
    const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)cnt), iota);
}

/* ---- element formats of the leaves (the bf16 / f16 kernels, norm_x16_avx2.c) ----
 * Every tree below takes the row's element format fm, a compile-time constant after inlining:
 * N2_F32 is the f32 kernels' code unchanged; N2_F16 reads 8 elements of 2 bytes per lane group
 * and widens them exactly in the register (vcvtph2ps, subnormals included; F16C, which the
 * dispatch requires of the x86 tiers: only the TUs built with -mf16c can instantiate it).
 * N2_BF16 trees split each leaf row of 16 elements (32 bytes, one load per lane group) by
 * parity instead: group A holds the even lanes 0, 2, .., 14 (the dwords shifted up by 16: the
 * bits of a bf16 are its float's high half), group B the odd lanes 1, 3, .., 15 (the dwords'
 * high halves, masked: one AND), and the accumulators are put back in lane order before the
 * lane total (norm_eo2ab_avx2); that saves the vpmovzxwd + vpslld per 8 elements, the shuffles
 * and shifts being what the 16-bit trees wait on. The leaf loaders see N2_BF16E / N2_BF16O for
 * the two groups; N2_BF16 itself is 8 consecutive elements (the bf16 output pass). Masked-off
 * lanes are +0 and their bytes are never read. */
enum { N2_F32 = 0, N2_BF16 = 1, N2_F16 = 2, N2_BF16E = 3, N2_BF16O = 4 };

/* Group B's leaf format and pointer (element 8 of the leaf row at p; for bf16 the same row). */
#define N2_FB(fm) ((fm) == N2_BF16 ? N2_BF16O : (fm))
#define N2_FA(fm) ((fm) == N2_BF16 ? N2_BF16E : (fm))
#define N2_PB(p, fm) ((fm) == N2_BF16 ? (const void *)(p) : N2_AT(p, 8, fm))

/* Element k of a row of format fm at p. */
#define N2_AT(p, k, fm) ((const void *)((const char *)(p) + (size_t)(k) * ((fm) ? 2u : 4u)))

/* 8 elements of fm at p, widened. */
NORM_AVX2_INLINE __m256 norm_ld8_avx2(const void *p, int fm)
{
    if (fm == N2_F32)
        return _mm256_loadu_ps((const float *)p);
    if (fm == N2_BF16E || fm == N2_BF16O) {
        const __m256i v = _mm256_loadu_si256((const __m256i *)p);
        return _mm256_castsi256_ps(fm == N2_BF16E
                                       ? _mm256_slli_epi32(v, 16)
                                       : _mm256_and_si256(v, _mm256_set1_epi32(-65536)));
    }
    const __m128i h = _mm_loadu_si128((const __m128i *)p);
#if defined(__F16C__)
    if (fm == N2_F16)
        return _mm256_cvtph_ps(h);
#endif
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

/* The first min(cnt, 8) elements (cnt >= 1) of fm at p, widened; the lanes of m (which are the
 * first min(cnt, 8)) read, the others +0 and not read. 16-bit elements: the whole 4-byte pairs
 * by vpmaskmovd, an odd last element by itself. N2_BF16E / N2_BF16O: the even / odd lanes of the
 * first min(cnt, 16) elements of a leaf row (m: those lanes), the same way. */
NORM_AVX2_INLINE __m256 norm_ld8m_avx2(const void *p, __m256i m, int cnt, int fm)
{
    if (fm == N2_F32)
        return _mm256_maskload_ps((const float *)p, m);
    if (fm == N2_BF16E || fm == N2_BF16O) {
        const int k = cnt < 16 ? cnt : 16;
        __m256i v = _mm256_maskload_epi32((const int *)p, norm_mask_avx2(k >> 1));
        if (k & 1) {
            const __m256i at = _mm256_cmpeq_epi16(
                _mm256_setr_epi16(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                _mm256_set1_epi16((short)(k - 1)));
            v = _mm256_or_si256(
                v, _mm256_and_si256(at, _mm256_set1_epi16((short)((const uint16_t *)p)[k - 1])));
        }
        return _mm256_castsi256_ps(fm == N2_BF16E
                                       ? _mm256_slli_epi32(v, 16)
                                       : _mm256_and_si256(v, _mm256_set1_epi32(-65536)));
    }
    const int k = cnt < 8 ? cnt : 8;
    __m128i h = _mm_maskload_epi32(
        (const int *)p, _mm_cmpgt_epi32(_mm_set1_epi32(k >> 1), _mm_setr_epi32(0, 1, 2, 3)));
    if (k & 1) {
        const __m128i at = _mm_cmpeq_epi16(_mm_setr_epi16(0, 1, 2, 3, 4, 5, 6, 7),
                                           _mm_set1_epi16((short)(k - 1)));
        h = _mm_or_si128(h, _mm_and_si128(at, _mm_set1_epi16((short)((const uint16_t *)p)[k - 1])));
    }
#if defined(__F16C__)
    if (fm == N2_F16)
        return _mm256_cvtph_ps(h);
#endif
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

/* ---- leaves ----
 * `shifted` (a compile-time flag) selects leaves x - shift (LayerNorm) over x (RMSNorm).
 * x - shift is computed as fnmadd(shift, 1, x) = round(x - shift*1): the same IEEE operation as
 * vsubps (shift*1 is exact; the signs of zero agree), but on the FMA pipes rather than the add
 * pipes, which the tree's additions keep busy (measured faster on Zen 5; neutral on Intel cores,
 * where both share the same ports). */

/* A full leaf. */
NORM_AVX2_INLINE __m256 norm_leaf_avx2(const void *p, __m256 sh, __m256 one, int shifted, int fm)
{
    __m256 v = norm_ld8_avx2(p, fm);
    return shifted ? _mm256_fnmadd_ps(sh, one, v) : v;
}

/* A masked leaf: x - shift (or x) in the lanes of m (the first min(cnt, 8)), +0 elsewhere (zero
 * AFTER the shift). Never reads the masked-out lanes. */
NORM_AVX2_INLINE __m256 norm_leafm_avx2(const void *p, __m256i m, int cnt, __m256 sh, int shifted,
                                        int fm)
{
    __m256 v = norm_ld8m_avx2(p, m, cnt, fm);
    return shifted ? _mm256_and_ps(_mm256_sub_ps(v, sh), _mm256_castsi256_ps(m)) : v;
}

/* ---- the in-block tree ----
 * A "pair" is the tree's first level: a + b for sums, fma(b, b, a*a) for sums of squares.
 * A lone leaf (its partner pruned) is a for sums and a*a for squares (= fma(0, 0, a*a) up to the
 * sign of zero, and a*a is never -0). Every function below computes the sum (*s) and/or the sum of
 * squares (*q) of the same leaves, as selected by the compile-time flags ws / wq. */

NORM_AVX2_INLINE void norm_pair_avx2(__m256 a, __m256 b, int ws, int wq, __m256 *s, __m256 *q)
{
    if (ws) {
        *s = _mm256_add_ps(a, b);
        NORM_AVX2_PIN(*s);
    }
    if (wq) {
        *q = _mm256_fmadd_ps(b, b, _mm256_mul_ps(a, a));
        NORM_AVX2_PIN(*q);
    }
}

NORM_AVX2_INLINE void norm_lone_avx2(__m256 a, int ws, int wq, __m256 *s, __m256 *q)
{
    if (ws)
        *s = a;
    if (wq)
        *q = _mm256_mul_ps(a, a);
}

/* (s, q) = (s + s2, q + q2), each when wanted. */
NORM_AVX2_INLINE void norm_join_avx2(__m256 *s, __m256 *q, __m256 s2, __m256 q2, int ws, int wq)
{
    if (ws) {
        *s = _mm256_add_ps(*s, s2);
        NORM_AVX2_PIN(*s);
    }
    if (wq) {
        *q = _mm256_add_ps(*q, q2);
        NORM_AVX2_PIN(*q);
    }
}

/* Tree over 8 full leaves p[0], p[16], ..., p[112]: ((l0,l1)+(l2,l3)) + ((l4,l5)+(l6,l7)). */
NORM_AVX2_INLINE void norm_t8_avx2(const void *p, __m256 sh, __m256 one, int shifted, int ws,
                                   int wq, __m256 *s, __m256 *q, int fm)
{
    __m256 s0 = _mm256_setzero_ps(), q0 = s0, s1 = s0, q1 = s0, s2 = s0, q2 = s0, s3 = s0,
           q3 = s0;
#define L_(j) norm_leaf_avx2(N2_AT(p, 16 * (j), fm), sh, one, shifted, fm)
    norm_pair_avx2(L_(0), L_(1), ws, wq, &s0, &q0);
    norm_pair_avx2(L_(2), L_(3), ws, wq, &s1, &q1);
    norm_join_avx2(&s0, &q0, s1, q1, ws, wq);
    norm_pair_avx2(L_(4), L_(5), ws, wq, &s2, &q2);
    norm_pair_avx2(L_(6), L_(7), ws, wq, &s3, &q3);
    norm_join_avx2(&s2, &q2, s3, q3, ws, wq);
    norm_join_avx2(&s0, &q0, s2, q2, ws, wq);
#undef L_
    *s = s0;
    *q = q0;
}

/* The trees of both lane groups of a full block at p: T32 = (T8(0..8) + T8(8..16)) +
 * (T8(16..24) + T8(24..32)) per group, group A into (*sa, *qa), group B into (*sb, *qb). The
 * chunks are taken in address order (A's chunk 0, B's chunk 0, A's chunk 1, ...), so the block is
 * read sequentially (measurably faster for rows that do not fit in L1 than one group after the
 * other). */
NORM_AVX2_INLINE void norm_t32x2_avx2(const void *p, __m256 sh, __m256 one, int shifted, int ws,
                                      int wq, __m256 *sa, __m256 *qa, __m256 *sb, __m256 *qb,
                                      int fm)
{
    __m256 a0, c0, a1, c1, a2, c2, b0, d0, b1, d1, b2, d2;
    const void *pb = N2_PB(p, fm);
    const int fa = N2_FA(fm), fb = N2_FB(fm);
    norm_t8_avx2(p, sh, one, shifted, ws, wq, &a0, &c0, fa);
    norm_t8_avx2(pb, sh, one, shifted, ws, wq, &b0, &d0, fb);
    norm_t8_avx2(N2_AT(p, 128, fm), sh, one, shifted, ws, wq, &a1, &c1, fa);
    norm_join_avx2(&a0, &c0, a1, c1, ws, wq);
    norm_t8_avx2(N2_AT(pb, 128, fm), sh, one, shifted, ws, wq, &b1, &d1, fb);
    norm_join_avx2(&b0, &d0, b1, d1, ws, wq);
    norm_t8_avx2(N2_AT(p, 256, fm), sh, one, shifted, ws, wq, &a1, &c1, fa);
    norm_t8_avx2(N2_AT(pb, 256, fm), sh, one, shifted, ws, wq, &b1, &d1, fb);
    norm_t8_avx2(N2_AT(p, 384, fm), sh, one, shifted, ws, wq, &a2, &c2, fa);
    norm_join_avx2(&a1, &c1, a2, c2, ws, wq);
    norm_join_avx2(&a0, &c0, a1, c1, ws, wq);
    norm_t8_avx2(N2_AT(pb, 384, fm), sh, one, shifted, ws, wq, &b2, &d2, fb);
    norm_join_avx2(&b1, &d1, b2, d2, ws, wq);
    norm_join_avx2(&b0, &d0, b1, d1, ws, wq);
    *sa = a0;
    *qa = c0;
    *sb = b0;
    *qb = d0;
}

/* Pruned tree over the last, partial chunk of 1..8 leaves (count `c`): leaves 0..c-2 are full,
 * leaf c-1 is read under mask m (all ones when it is full), whose lanes are its first cnt
 * (cnt >= 8: all; the 16-bit loads need the count). `full` (a compile-time flag) says
 * that leaf c-1 is known to be full: it is then read with an ordinary load (m is unused). */
NORM_AVX2_INLINE void norm_t8p_avx2(const void *p, int c, __m256i m, int cnt, int full, __m256 sh,
                                    __m256 one, int shifted, int ws, int wq, __m256 *s,
                                    __m256 *q, int fm)
{
    __m256 s0 = _mm256_setzero_ps(), q0 = s0, s1 = s0, q1 = s0, s2 = s0, q2 = s0, s3 = s0,
           q3 = s0;
#define L_(j) norm_leaf_avx2(N2_AT(p, 16 * (j), fm), sh, one, shifted, fm)
#define M_(j) (full ? L_(j) : norm_leafm_avx2(N2_AT(p, 16 * (j), fm), m, cnt, sh, shifted, fm))
    switch (c) {
    case 1:
        norm_lone_avx2(M_(0), ws, wq, &s0, &q0);
        break;
    case 2:
        norm_pair_avx2(L_(0), M_(1), ws, wq, &s0, &q0);
        break;
    case 3:
        norm_pair_avx2(L_(0), L_(1), ws, wq, &s0, &q0);
        norm_lone_avx2(M_(2), ws, wq, &s1, &q1);
        norm_join_avx2(&s0, &q0, s1, q1, ws, wq);
        break;
    case 4:
        norm_pair_avx2(L_(0), L_(1), ws, wq, &s0, &q0);
        norm_pair_avx2(L_(2), M_(3), ws, wq, &s1, &q1);
        norm_join_avx2(&s0, &q0, s1, q1, ws, wq);
        break;
    case 5:
        norm_pair_avx2(L_(0), L_(1), ws, wq, &s0, &q0);
        norm_pair_avx2(L_(2), L_(3), ws, wq, &s1, &q1);
        norm_join_avx2(&s0, &q0, s1, q1, ws, wq);
        norm_lone_avx2(M_(4), ws, wq, &s2, &q2);
        norm_join_avx2(&s0, &q0, s2, q2, ws, wq);
        break;
    case 6:
        norm_pair_avx2(L_(0), L_(1), ws, wq, &s0, &q0);
        norm_pair_avx2(L_(2), L_(3), ws, wq, &s1, &q1);
        norm_join_avx2(&s0, &q0, s1, q1, ws, wq);
        norm_pair_avx2(L_(4), M_(5), ws, wq, &s2, &q2);
        norm_join_avx2(&s0, &q0, s2, q2, ws, wq);
        break;
    case 7:
        norm_pair_avx2(L_(0), L_(1), ws, wq, &s0, &q0);
        norm_pair_avx2(L_(2), L_(3), ws, wq, &s1, &q1);
        norm_join_avx2(&s0, &q0, s1, q1, ws, wq);
        norm_pair_avx2(L_(4), L_(5), ws, wq, &s2, &q2);
        norm_lone_avx2(M_(6), ws, wq, &s3, &q3);
        norm_join_avx2(&s2, &q2, s3, q3, ws, wq);
        norm_join_avx2(&s0, &q0, s2, q2, ws, wq);
        break;
    default: /* 8 */
        norm_pair_avx2(L_(0), L_(1), ws, wq, &s0, &q0);
        norm_pair_avx2(L_(2), L_(3), ws, wq, &s1, &q1);
        norm_join_avx2(&s0, &q0, s1, q1, ws, wq);
        norm_pair_avx2(L_(4), L_(5), ws, wq, &s2, &q2);
        norm_pair_avx2(L_(6), M_(7), ws, wq, &s3, &q3);
        norm_join_avx2(&s2, &q2, s3, q3, ws, wq);
        norm_join_avx2(&s0, &q0, s2, q2, ws, wq);
        break;
    }
#undef L_
#undef M_
    *s = s0;
    *q = q0;
}

/* Pruned tree of one lane group over a partial block: `nl` leaves (1..32) at p, p + 16, ...
 * (elements of fm); the last one under mask m (its first cnt lanes). Chunks of 8 leaves, the last one (P) partial: T = P, C0 + P,
 * (C0 + C1) + P or (C0 + C1) + (C2 + P) for 1..4 chunks (absent chunks pruned). Written so that
 * the partial chunk's code appears once. */
NORM_AVX2_INLINE void norm_tpart_avx2(const void *p, int nl, __m256i m, int cnt, int full,
                                      __m256 sh, __m256 one, int shifted, int ws, int wq,
                                      __m256 *s, __m256 *q, int fm)
{
    int nc = (nl + 7) >> 3;           /* chunks present, 1..4 */
    int cl = nl - 8 * (nc - 1);       /* leaves in the last chunk, 1..8 */
    __m256 s01 = _mm256_setzero_ps(), q01 = s01, s2 = s01, q2 = s01, t = s01, u = s01;
    if (nc >= 2)
        norm_t8_avx2(p, sh, one, shifted, ws, wq, &s01, &q01, fm);
    if (nc >= 3) {
        norm_t8_avx2(N2_AT(p, 128, fm), sh, one, shifted, ws, wq, &t, &u, fm);
        norm_join_avx2(&s01, &q01, t, u, ws, wq);
    }
    if (nc == 4)
        norm_t8_avx2(N2_AT(p, 256, fm), sh, one, shifted, ws, wq, &s2, &q2, fm);
    norm_t8p_avx2(N2_AT(p, 128 * (nc - 1), fm), cl, m, cnt, full, sh, one, shifted, ws, wq, &t,
                  &u, fm);
    if (nc == 4)
        norm_join_avx2(&t, &u, s2, q2, ws, wq);   /* C2 + P (the add commutes exactly) */
    if (nc >= 2)
        norm_join_avx2(&t, &u, s01, q01, ws, wq); /* (C0 [+ C1]) + ... */
    *s = t;
    *q = u;
}

/* Trees of the last, partial block (rem = 1..511 floats at p) for both lane groups: group A
 * into (*sa, *qa), group B into (*sb, *qb). Returns 0 when group B has no leaf at all (rem <= 8,
 * bf16: rem <= 1; its tree is then entirely pruned and *sb, *qb are not written). */
NORM_AVX2_INLINE int norm_tail_avx2(const void *p, size_t rem, __m256 sh, __m256 one,
                                    int shifted, int ws, int wq, __m256 *sa, __m256 *qa,
                                    __m256 *sb, __m256 *qb, int fm)
{
    int nf = (int)(rem >> 4);              /* full leaf rows, 0..31 */
    int r = (int)(rem & 15);               /* elements in a partial leaf row */
    /* When rem is a compile-time multiple of 16 (the constant-dim copies of the kernels), every
     * leaf is full: ordinary loads, no masks. */
    const int full = __builtin_constant_p(r) && r == 0;
    if (fm == N2_BF16) {
        /* even lanes: nf full leaves, plus the partial row's (r + 1) / 2; odd lanes: nf full
         * leaves, plus its r / 2 when r > 1 (the loaders take the row's element count) */
        const __m256i all = _mm256_set1_epi32(-1);
        __m256i me = r ? norm_mask_avx2((r + 1) >> 1) : all;
        norm_tpart_avx2(p, nf + (r > 0), me, r ? r : 16, full, sh, one, shifted, ws, wq, sa, qa,
                        N2_BF16E);
        int no = nf + (r > 1);
        if (no == 0)
            return 0;
        __m256i mo = r > 1 ? norm_mask_avx2(r >> 1) : all;
        norm_tpart_avx2(p, no, mo, r > 1 ? r : 16, full, sh, one, shifted, ws, wq, sb, qb,
                        N2_BF16O);
        return 1;
    }
    /* Group A: nf full leaves, plus the partial row's lanes 0..min(r,8)-1. */
    __m256i ma = r ? norm_mask_avx2(r) : _mm256_set1_epi32(-1);
    norm_tpart_avx2(p, nf + (r > 0), ma, r ? r : 8, full, sh, one, shifted, ws, wq, sa, qa, fm);
    /* Group B: nf full leaves, plus lanes 8..r-1 of the partial row when r > 8. */
    int nb = nf + (r > 8);
    if (nb == 0)
        return 0;
    __m256i mb = r > 8 ? norm_mask_avx2(r - 8) : _mm256_set1_epi32(-1);
    norm_tpart_avx2(N2_AT(p, 8, fm), nb, mb, r > 8 ? r - 8 : 8, full, sh, one, shifted, ws, wq,
                    sb, qb, fm);
    return 1;
}

/* ---- across blocks and lanes ---- */

/* The canonical TwoSum fold (norm_fold), lane-wise. */
NORM_AVX2_INLINE void norm_fold_avx2(__m256 *hi, __m256 *lo, __m256 s)
{
    __m256 h = *hi;
    __m256 t = _mm256_add_ps(h, s);
    __m256 bp = _mm256_sub_ps(t, h);
    __m256 ap = _mm256_sub_ps(t, bp);
    *lo = _mm256_add_ps(*lo, _mm256_add_ps(_mm256_sub_ps(h, ap), _mm256_sub_ps(s, bp)));
    *hi = t;
}

/* norm_lanes_total() of the accumulators (ha, la) = lanes 0-7 and (hb, lb) = lanes 8-15, in SIMD
 * doubles with the same operations in the same order: v = (double)hi + (double)lo per lane, then
 * v[l] += v[l + h] for h = 8, 4, 2, 1. */
NORM_AVX2_INLINE double norm_lanes_total_avx2(__m256 ha, __m256 la, __m256 hb, __m256 lb)
{
    __m256d v0 = _mm256_add_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(ha)),
                               _mm256_cvtps_pd(_mm256_castps256_ps128(la)));     /* 0-3 */
    __m256d v1 = _mm256_add_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(ha, 1)),
                               _mm256_cvtps_pd(_mm256_extractf128_ps(la, 1)));   /* 4-7 */
    __m256d v2 = _mm256_add_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(hb)),
                               _mm256_cvtps_pd(_mm256_castps256_ps128(lb)));     /* 8-11 */
    __m256d v3 = _mm256_add_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(hb, 1)),
                               _mm256_cvtps_pd(_mm256_extractf128_ps(lb, 1)));   /* 12-15 */
    v0 = _mm256_add_pd(v0, v2);                                   /* h = 8 */
    v1 = _mm256_add_pd(v1, v3);
    v0 = _mm256_add_pd(v0, v1);                                   /* h = 4 */
    __m128d w = _mm_add_pd(_mm256_castpd256_pd128(v0), _mm256_extractf128_pd(v0, 1)); /* h = 2 */
    w = _mm_add_sd(w, _mm_unpackhi_pd(w, w));                     /* h = 1 */
    return _mm_cvtsd_f64(w);
}

/* bf16 trees' accumulators (a: lanes 0, 2, .., 14; b: lanes 1, 3, .., 15) back in lane order
 * (a: lanes 0-7, b: 8-15). */
NORM_AVX2_INLINE void norm_eo2ab_avx2(__m256 *a, __m256 *b)
{
    const __m256 lo = _mm256_unpacklo_ps(*a, *b); /* lanes 0-3 | 8-11 */
    const __m256 hi = _mm256_unpackhi_ps(*a, *b); /* lanes 4-7 | 12-15 */
    *a = _mm256_permute2f128_ps(lo, hi, 0x20);
    *b = _mm256_permute2f128_ps(lo, hi, 0x31);
}

/* The canonical totals of the leaves of a row of n >= 1 floats: leaves x - shift (shifted) or x;
 * the plain sum into *sum (ws) and the sum of squares into *sq (wq). shifted, ws and wq are
 * compile-time constants.
 *
 * The first block's lane sums are taken as the accumulators (hi = s, lo = +0) instead of being
 * folded into (+0, +0): the fold would give hi = +0 + s and lo = +0 (NaN when s is not finite).
 * Both give v = (double)hi + (double)lo = (double)s + 0.0 for finite s (a -0 in hi only meets
 * lo = +0, in this and every later fold), and a non-finite total (so the rare path) otherwise.
 * This shortens the dependency chain of short rows.
 *
 * pf (NULL: none; a compile-time constant after inlining): a later row to prefetch as the loop
 * goes, lines pf[256 b .. 256 b + 256) (16 lines, locality 3: L1) just before the trees of each
 * full block b (the LayerNorm's long rows of streaming jobs, ln_pass2_pf_avx2() in
 * layernorm_avx2.c); the same trees, folds and order. */
NORM_AVX2_INLINE void norm_reducepf_avx2(const void *x, size_t n, float shift, int shifted,
                                         int ws, int wq, double *sum, double *sq, int fm,
                                         const float *pf)
{
    const __m256 sh = _mm256_set1_ps(shift);
    const __m256 one = _mm256_set1_ps(1.0f);
    const __m256 z = _mm256_setzero_ps();
    /* TwoSum accumulators: [0] hi A, [1] lo A, [2] hi B, [3] lo B; a[] sums, b[] squares. */
    __m256 a[4] = {z, z, z, z}, b[4] = {z, z, z, z};
    __m256 sa = z, qa = z, sb = z, qb = z;
    size_t nblk = n / NORM_BLOCK, rem = n % NORM_BLOCK;
#define NORM_PF_(B)                                                                            \
    do {                                                                                       \
        if (pf)                                                                                \
            for (size_t q_ = 0; q_ < NORM_BLOCK / 2; q_ += 16)                                 \
                __builtin_prefetch(pf + (B) * (NORM_BLOCK / 2) + q_, 0, 3);                    \
    } while (0)
    if (nblk) {
        NORM_PF_(0);
        norm_t32x2_avx2(x, sh, one, shifted, ws, wq, &a[0], &b[0], &a[2], &b[2], fm);
        for (size_t k = 1; k < nblk; k++) {
            /* With both sums, the 8 accumulators would take half the register file for the
             * whole loop and push the tree's partial sums to the stack; keep them in memory
             * instead (one load and store each per block of 64 leaf vectors). */
            if (ws && wq)
                __asm__ volatile("" : : "r"(a), "r"(b) : "memory");
            NORM_PF_(k);
            norm_t32x2_avx2(N2_AT(x, k * NORM_BLOCK, fm), sh, one, shifted, ws, wq, &sa, &qa, &sb,
                            &qb, fm);
            if (ws) {
                norm_fold_avx2(&a[0], &a[1], sa);
                norm_fold_avx2(&a[2], &a[3], sb);
            }
            if (wq) {
                norm_fold_avx2(&b[0], &b[1], qa);
                norm_fold_avx2(&b[2], &b[3], qb);
            }
        }
        if (rem) {
            int hb = norm_tail_avx2(N2_AT(x, nblk * NORM_BLOCK, fm), rem, sh, one, shifted, ws,
                                    wq, &sa, &qa, &sb, &qb, fm);
            if (ws)
                norm_fold_avx2(&a[0], &a[1], sa);
            if (wq)
                norm_fold_avx2(&b[0], &b[1], qa);
            /* No leaf in group B: its tree is pruned, nothing to fold (a fold of +0 into a
             * finite hi changes nothing; into a non-finite one, the row is rare anyway). */
            if (hb) {
                if (ws)
                    norm_fold_avx2(&a[2], &a[3], sb);
                if (wq)
                    norm_fold_avx2(&b[2], &b[3], qb);
            }
        }
    } else {
        norm_tail_avx2(x, rem, sh, one, shifted, ws, wq, &a[0], &b[0], &a[2], &b[2], fm);
    }
    if (fm == N2_BF16) {
        if (ws) {
            norm_eo2ab_avx2(&a[0], &a[2]);
            norm_eo2ab_avx2(&a[1], &a[3]);
        }
        if (wq) {
            norm_eo2ab_avx2(&b[0], &b[2]);
            norm_eo2ab_avx2(&b[1], &b[3]);
        }
    }
    if (ws)
        *sum = norm_lanes_total_avx2(a[0], a[1], a[2], a[3]);
    if (wq)
        *sq = norm_lanes_total_avx2(b[0], b[1], b[2], b[3]);
#undef NORM_PF_
}

/* The same without a prefetch. */
NORM_AVX2_INLINE void norm_reducef_avx2(const void *x, size_t n, float shift, int shifted,
                                        int ws, int wq, double *sum, double *sq, int fm)
{
    norm_reducepf_avx2(x, n, shift, shifted, ws, wq, sum, sq, fm, NULL);
}

/* The same on a row of floats (the f32 kernels). */
NORM_AVX2_INLINE void norm_reduce_avx2(const float *x, size_t n, float shift, int shifted,
                                       int ws, int wq, double *sum, double *sq)
{
    norm_reducef_avx2(x, n, shift, shifted, ws, wq, sum, sq, N2_F32);
}

/* ---- rows of one block (n <= NORM_BLOCK), several rows at a time ----
 * A row of at most one block has no fold: its accumulators are the block's lane sums (hi) and
 * lo = +0. The kernels' batches take each row's tree to the first two steps of the lane total
 * (norm_lanes_h4_avx2: four doubles per row), then combine four rows' last two steps in one
 * vector (norm_lanes_total4_avx2), so that the per-row tail of the reduction is a few vector
 * instructions shared by four rows instead of a shuffle chain per row. */

/* Lane sums of a row of 1 <= n <= NORM_BLOCK floats: lanes 0-7 into (*sa, *qa), lanes 8-15 into
 * (*sb, *qb); lanes without a leaf are +0. Same flags as norm_reduce_avx2(). */
NORM_AVX2_INLINE void norm_blockf_avx2(const void *x, size_t n, float shift, int shifted, int ws,
                                       int wq, __m256 *sa, __m256 *qa, __m256 *sb, __m256 *qb,
                                       int fm)
{
    const __m256 sh = _mm256_set1_ps(shift);
    const __m256 one = _mm256_set1_ps(1.0f);
    const __m256 z = _mm256_setzero_ps();
    *sa = *qa = *sb = *qb = z;
    if (n == NORM_BLOCK)
        norm_t32x2_avx2(x, sh, one, shifted, ws, wq, sa, qa, sb, qb, fm);
    else
        norm_tail_avx2(x, n, sh, one, shifted, ws, wq, sa, qa, sb, qb, fm);
    if (fm == N2_BF16) {
        if (ws)
            norm_eo2ab_avx2(sa, sb);
        if (wq)
            norm_eo2ab_avx2(qa, qb);
    }
}

/* The same on a row of floats (the f32 kernels). */
NORM_AVX2_INLINE void norm_block_avx2(const float *x, size_t n, float shift, int shifted, int ws,
                                      int wq, __m256 *sa, __m256 *qa, __m256 *sb, __m256 *qb)
{
    norm_blockf_avx2(x, n, shift, shifted, ws, wq, sa, qa, sb, qb, N2_F32);
}

/* The first steps of norm_lanes_total() for a row with hi = (ha, hb) and lo = +0 in every lane:
 * v[l] = (double)hi[l] + 0.0 (computed as (double)(hi[l] + 0.0f): the same value, -0 becoming
 * +0 in both), then v[l] += v[l + 8], v[l] += v[l + 4]; returns v[0..3]. */
NORM_AVX2_INLINE __m256d norm_lanes_h4_avx2(__m256 ha, __m256 hb)
{
    const __m256 z = _mm256_setzero_ps();
    ha = _mm256_add_ps(ha, z);
    hb = _mm256_add_ps(hb, z);
    __m256d v0 = _mm256_cvtps_pd(_mm256_castps256_ps128(ha));   /* lanes 0-3 */
    __m256d v1 = _mm256_cvtps_pd(_mm256_extractf128_ps(ha, 1)); /* 4-7 */
    __m256d v2 = _mm256_cvtps_pd(_mm256_castps256_ps128(hb));   /* 8-11 */
    __m256d v3 = _mm256_cvtps_pd(_mm256_extractf128_ps(hb, 1)); /* 12-15 */
    v0 = _mm256_add_pd(v0, v2);                                 /* h = 8 */
    v1 = _mm256_add_pd(v1, v3);
    return _mm256_add_pd(v0, v1);                               /* h = 4 */
}

/* The last steps (h = 2, 1) of norm_lanes_total() for four rows, in two halves so that a batch
 * keeps one vector per two rows live rather than one per row: norm_lanes_pair_avx2() takes two
 * rows' v[0..3] (norm_lanes_h4_avx2) to [ra v0+v2, ra v1+v3, rb v0+v2, rb v1+v3];
 * norm_lanes_total4_avx2() adds the two halves of rows (0, 1) and (2, 3) and returns the rows'
 * totals (v[0] + v[2]) + (v[1] + v[3]) in the order row 0, 1, 2, 3. */
NORM_AVX2_INLINE __m256d norm_lanes_pair_avx2(__m256d ra, __m256d rb)
{
    return _mm256_add_pd(_mm256_permute2f128_pd(ra, rb, 0x20),
                         _mm256_permute2f128_pd(ra, rb, 0x31));
}

NORM_AVX2_INLINE __m256d norm_lanes_total4_avx2(__m256d u01, __m256d u23)
{
    /* hadd: [row 0, row 2, row 1, row 3] */
    return _mm256_permute4x64_pd(_mm256_hadd_pd(u01, u23), 0xD8);
}

/* norm_rms_finish() of four rows at once (s2: their totals), lane k doing exactly row k's
 * arithmetic: the rare test !(RARE_MIN <= s2 <= DBL_MAX) and rstd = (float)(1.0 / sqrt(s2 * inv_n
 * + eps)) into rstd[k] (one vector square root and division for four rows; scalar ones, one row
 * after the other, measured the bottleneck of dims 64 and 128). Returns the rows that take the
 * ordinary path (bit k: row k; the others take the rare one). */
NORM_AVX2_INLINE int norm_rms_finish4_avx2(__m256d s2, double inv_n, float eps, float rstd[4])
{
    const int ok = _mm256_movemask_pd(
        _mm256_and_pd(_mm256_cmp_pd(s2, _mm256_set1_pd(NORM_RARE_MIN), _CMP_GE_OQ),
                      _mm256_cmp_pd(s2, _mm256_set1_pd(DBL_MAX), _CMP_LE_OQ)));
    const __m256d sd = _mm256_sqrt_pd(_mm256_add_pd(_mm256_mul_pd(s2, _mm256_set1_pd(inv_n)),
                                                    _mm256_set1_pd((double)eps)));
    _mm_storeu_ps(rstd, _mm256_cvtpd_ps(_mm256_div_pd(_mm256_set1_pd(1.0), sd)));
    return ok;
}

/* The statistics of up to eight rows (one or two groups of four) of at most one block each. */
typedef struct {
    double s0[8], s1[8], s2[8];
    float m0[8], mlo[8], rstd[8], mean[8];
    int ok; /* bit k: row k is finished by the first pass 2 (else norm_ln_finish() must be
             * called for it again: pass 2 again, or the rare path) */
} norm_ln_st4_avx2;

/* norm_ln_finish() after the first pass 2 for four rows (group g of st), lane k of the vectors
 * of doubles computing exactly what it computes for row 4g + k, operation for operation (one
 * vector square root and division for four rows): bit 4g + k of st->ok says NORM_LN_OK. */
NORM_AVX2_INLINE void norm_ln_finish4_avx2(norm_ln_st4_avx2 *st, int g, __m256d s0, __m256d s1, __m256d s2,
                                      __m256d vm0, __m256d vinv, float eps)
{
    const __m256d dmax = _mm256_set1_pd(DBL_MAX);
    const __m256d sgn = _mm256_set1_pd(-0.0);
    __m256d ok = _mm256_and_pd(_mm256_cmp_pd(s2, _mm256_set1_pd(NORM_RARE_MIN), _CMP_GE_OQ),
                               _mm256_cmp_pd(s2, dmax, _CMP_LE_OQ));
    ok = _mm256_and_pd(ok, _mm256_cmp_pd(_mm256_andnot_pd(sgn, s1), dmax, _CMP_LE_OQ));
    ok = _mm256_and_pd(ok, _mm256_cmp_pd(_mm256_andnot_pd(sgn, s0), dmax, _CMP_LE_OQ));
    const __m256d ml = _mm256_mul_pd(s1, vinv);
    const __m256d var = _mm256_sub_pd(_mm256_mul_pd(s2, vinv), _mm256_mul_pd(ml, ml));
    ok = _mm256_and_pd(ok, _mm256_cmp_pd(_mm256_mul_pd(ml, ml),
                                         _mm256_mul_pd(_mm256_set1_pd(NORM_LN_AGAIN_RATIO), var),
                                         _CMP_LE_OQ));
    ok = _mm256_and_pd(ok, _mm256_cmp_pd(var, _mm256_setzero_pd(), _CMP_GT_OQ));
    st->ok |= _mm256_movemask_pd(ok) << (4 * g);
    const __m256d sd = _mm256_sqrt_pd(_mm256_add_pd(var, _mm256_set1_pd((double)eps)));
    _mm_storeu_ps(st->mlo + 4 * g, _mm256_cvtpd_ps(ml));
    _mm_storeu_ps(st->rstd + 4 * g, _mm256_cvtpd_ps(_mm256_div_pd(_mm256_set1_pd(1.0), sd)));
    _mm_storeu_ps(st->mean + 4 * g, _mm256_cvtpd_ps(_mm256_add_pd(vm0, ml)));
    _mm256_storeu_pd(st->s0 + 4 * g, s0);
    _mm256_storeu_pd(st->s1 + 4 * g, s1);
    _mm256_storeu_pd(st->s2 + 4 * g, s2);
}

/* norm_lanes_total() of one block's lane sums hi = (ha: lanes 0-7, hb: lanes 8-15) with lo = +0
 * left out (v[l] = (double)hi[l]), as a double in lane 0 (the halving adds on quarters, as
 * lanes_total1_avx512() of norm_avx512.h). (double)hi[l] + 0.0 differs from (double)hi[l] only
 * for hi[l] = -0: each caller says why that cannot change its total. */
NORM_AVX2_INLINE __m128d lanes_total1_avx2(__m256 ha, __m256 hb)
{
    __m256d v0 = _mm256_cvtps_pd(_mm256_castps256_ps128(ha));   /* lanes 0-3 */
    __m256d v1 = _mm256_cvtps_pd(_mm256_extractf128_ps(ha, 1)); /* 4-7 */
    __m256d v2 = _mm256_cvtps_pd(_mm256_castps256_ps128(hb));   /* 8-11 */
    __m256d v3 = _mm256_cvtps_pd(_mm256_extractf128_ps(hb, 1)); /* 12-15 */
    __m256d a = _mm256_add_pd(_mm256_add_pd(v0, v2), _mm256_add_pd(v1, v3)); /* h = 8, 4 */
    __m128d c = _mm_add_pd(_mm256_castpd256_pd128(a), _mm256_extractf128_pd(a, 1)); /* h = 2 */
    return _mm_add_sd(c, _mm_unpackhi_pd(c, c));                               /* h = 1 */
}

/* One LayerNorm row of n <= NORM_LN_SHORT floats in the short-row order (layernorm_avx2.c: the
 * f32 kernel's rows; the bf16 / f16 kernel runs it on widened rows): wplus as norm_job.wplus,
 * mean, rstd, sums NULL or the row's outputs. Returns 0, or 1 for a row that takes the rare path:
 * its NORM_SUMS stored, nothing else written (the caller's rare path does the rest). */
NORM_HIDDEN int norm_ln_short_f32_avx2(float *y, const float *x, const float *w, const float *b,
                                       size_t n, float eps, int wplus, float *mean, float *rstd,
                                       double *sums);

#endif /* NORM_AVX2_H */
