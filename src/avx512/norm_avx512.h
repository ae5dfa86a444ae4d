/*
 * Shared static inline helpers of the AVX-512 tier (included by layernorm_avx512.c and
 * rmsnorm_avx512.c only; both are built with -mavx512f/bw/dq/vl -mfma -ffp-contract=off).
 * The tests build both files a second time with -DNORM_AVX512_EMU over SIMDe on AVX2 + FMA
 * (norm_avx512_emu.h; checkasm's avx512-emu tier): nothing here may depend on which build it is,
 * except N5_PIN (no 512-bit register to pin there).
 *
 * They compute THE CANONICAL ORDER of src/norm_internal.h with 16 lanes = one zmm:
 *
 *   - A block is 512 floats = 32 zmm "leaf rows"; leaf row j holds leaf j of every lane.
 *   - t*N(p, ...) is the complete pairwise tree over the N leaf rows at p (N = 1..32, a power of
 *     two), written as recursive halves: T(0..2N) = T(0..N) + T(N..2N), which is the canonical
 *     neighbour-pairing tree. Its LAST leaf row may be partial: `masked` (a compile-time constant
 *     after inlining) selects a zero-masked load for it, and for shifted leaves the subtraction is
 *     zero-masked too, so padded lanes are +0 after the shift, as in the scalar reference. No
 *     byte outside the row is ever read.
 *   - A partial block of k leaf rows (k = 1..32) is the pruned tree: for k = 2^a + 2^b + ...
 *     (a > b > ...), T = T_{2^a} + (T_{2^b} + (...)), the full subtrees laid out in that order;
 *     the smallest one holds the last (maybe partial) leaf row. The subtrees left out hold only
 *     padding, whose value is +0 and whose sign cannot reach the result (norm_internal.h).
 *   - For sums of squares the first tree level is pair(a, b) = fma(b, b, a*a); a lone leaf whose
 *     partner was pruned is a*a (= fma(0, 0, a*a) exactly: a*a is never -0).
 *   - Blocks are folded lane-wise into TwoSum accumulators exactly as norm_fold(). The first
 *     block is taken as hi = s, lo = +0: that is what the fold from (+0, +0) gives for a finite
 *     s, up to the sign of a zero hi, which cannot matter (a later fold gives the same lo and a
 *     hi equal up to the sign of a zero, and lanes_total() adds (double)lo = +0 to every lane,
 *     which turns -0 into +0); a non-finite s makes the total non-finite either way, and every
 *     non-finite total takes the rare path, whatever its value.
 *   - lanes_total() is norm_lanes_total() in SIMD doubles: v = cvt(hi) + cvt(lo), then the halving
 *     adds for h = 8, 4, 2, 1 as 512-, 256-, 128-bit and scalar adds (the same operations on the
 *     same operands). lanes_total8() does the same for eight rows at once, packing the rows side
 *     by side as the halving leaves room (the kernels' eight-row batches for short rows).
 *
 * Load order. Every tree names its left subtree before its right one (and a partial block
 * computes its subtrees from the lowest address up, then joins them): written as
 * add(tree(p), tree(p + h)), gcc evaluated the right argument first and emitted each block's 32
 * loads in descending address order, which the hardware prefetchers of the AMD EPYC machines
 * here do not follow: 2.2x slower from DRAM (1800 vs 820 ns per 4096-float row, read-only).
 * Within a subtree gcc still hoisted every second leaf row's load to the front (two sweeps over
 * each 2 KiB block); a compiler barrier after each leaf pair (N5_ORDER) keeps the loads strictly
 * ascending: another 30% from DRAM (8192-float rows, read-only: 2000 -> 1420 ns, which is what
 * the AVX2 tree gets). The order of the arithmetic is the same either way.
 *
 * Throughput vs latency. On the cores this tier targets the FP adders and the FMA units are
 * separate pipes, and the reductions are add-heavy, so full blocks (`tp` = 1) issue part of their
 * adds and subtractions on the FMA pipes as fma(a, 1, b): a*1 is exact, so that is the same
 * correctly rounded a + b, bit for bit (signed zeros, Inf and NaN included; for a subtraction
 * a - c = a + (-c) exactly). The partial block of a row (all of a short row) is on the row's
 * critical path instead, and uses plain adds and subtractions (`tp` = 0), which have half the
 * latency.
 */
#ifndef NORM_AVX512_H
#define NORM_AVX512_H

#include <stddef.h>
#include <stdint.h>

#if defined(NORM_AVX512_EMU)
#include "norm_avx512_emu.h" /* the test-only build over SIMDe (see there) */
#else
#include <immintrin.h>
#endif

#include "norm_internal.h"

/* Sanitizer builds and the emulated build (tests only, -O1): the compiler decides the inlining
 * (see NORM_AVX2_INLINE in src/avx2/norm_avx2.h); the same operations, the same bits. Forced,
 * the emulated layernorm_avx512.c took 324 s to compile (CI, 2026-12-05). */
#if defined(NORM_SANITIZE_BUILD) || defined(NORM_AVX512_EMU)
#define N5_INLINE static inline
#else
#define N5_INLINE static inline __attribute__((always_inline))
#endif

/* Keeps a value in a register at this point of the program: stops gcc from sinking single-use
 * expressions to their far-away use (which lengthens live ranges and spills). No code. (Nothing
 * in the emulated build: no AVX2 register holds a 512-bit value.) */
#if defined(NORM_AVX512_EMU)
#define N5_PIN(v) ((void)0)
#else
#define N5_PIN(v) __asm__("" : "+v"(v))
#endif
/* A compiler-only barrier between the leaf pairs of a tree: the loads stay in ascending address
 * order (see "Load order" above). No code. */
#define N5_ORDER() __asm__ volatile("" ::: "memory")

/* ---- basic operations ---- */

/* a + b; with f, issued on the FMA pipes as fma(a, 1, b) (bit-identical). */
N5_INLINE __m512 add_avx512(__m512 a, __m512 b, int f)
{
    return f ? _mm512_fmadd_ps(a, _mm512_set1_ps(1.0f), b) : _mm512_add_ps(a, b);
}

/* Mask of the valid lanes of the last leaf row of a row tail of `rem` floats (rem >= 1). */
N5_INLINE __mmask16 tail_mask_avx512(size_t rem)
{
    unsigned r = (unsigned)rem & 15u;
    return r ? (__mmask16)((1u << r) - 1u) : (__mmask16)0xFFFF;
}

/* ---- element formats of the leaves (the bf16 / f16 kernels, norm_x16_avx512.c) ----
 * fm is a compile-time constant after inlining: N5_F32 gives the f32 kernels' code unchanged;
 * N5_BF16 / N5_F16 read 16 elements of 2 bytes and widen them exactly in the register (bf16: the
 * bits moved up, one zero-masked vpermw; f16: vcvtph2ps, subnormals included), masked-off lanes
 * +0 and not read. */
enum { N5_F32 = 0, N5_BF16 = 1, N5_F16 = 2 };

/* Element k of a row of format fm at p. */
#define N5_AT(p, k, fm) ((const void *)((const char *)(p) + (size_t)(k) * ((fm) ? 2u : 4u)))

N5_INLINE __m512 ld16_avx512(const uint16_t *p, __mmask16 m, int masked, int fm)
{
#if defined(NORM_AVX512_EMU)
    return n5e_ld16(p, m, masked, fm == N5_F16);
#else
    const __m256i h =
        masked ? _mm256_maskz_loadu_epi16(m, p) : _mm256_loadu_si256((const __m256i *)p);
    if (fm == N5_F16)
        return _mm512_cvtph_ps(h);
    /* bf16: word k to the high half of dword k, the low halves zeroed, in one vpermw (rather
     * than vpmovzxwd + vpslld: measured 8-14% faster 16-bit LayerNorm / RMSNorm rows in cache) */
    const __m512i up = _mm512_set_epi16(15, 0, 14, 0, 13, 0, 12, 0, 11, 0, 10, 0, 9, 0, 8, 0, 7, 0,
                                        6, 0, 5, 0, 4, 0, 3, 0, 2, 0, 1, 0, 0, 0);
    return _mm512_castsi512_ps(
        _mm512_maskz_permutexvar_epi16(0xAAAAAAAAu, up, _mm512_castsi256_si512(h)));
#endif
}

/* 16 floats -> 16 values of fm, round to nearest even (bf16: on the bits, as x16_f32_to_bf16();
 * f16: vcvtps2ph imm 0), every NaN the canonical X16_BF16_NAN / X16_F16_NAN (0x7fc0 / 0x7e00). */
N5_INLINE __m256i narrow16_avx512(__m512 v, int fm)
{
#if defined(NORM_AVX512_EMU)
    return n5e_narrow16(v, fm == N5_F16);
#else
    const __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    if (fm == N5_F16)
        return _mm256_mask_blend_epi16(nan, _mm512_cvtps_ph(v, 0), _mm256_set1_epi16(0x7e00));
    const __m512i u = _mm512_castps_si512(v);
    const __m512i r = _mm512_add_epi32(_mm512_add_epi32(u, _mm512_set1_epi32(0x7fff)),
                                       _mm512_and_si512(_mm512_srli_epi32(u, 16),
                                                        _mm512_set1_epi32(1)));
    return _mm256_mask_blend_epi16(nan, _mm512_cvtepi32_epi16(_mm512_srli_epi32(r, 16)),
                                   _mm256_set1_epi16(0x7fc0));
#endif
}

/* Stores 16 values of 2 bytes: masked (m), non-temporal (nt: p 32-byte aligned), or plain. */
N5_INLINE void st16_avx512(uint16_t *p, __m256i h, __mmask16 m, int masked, int nt)
{
#if defined(NORM_AVX512_EMU)
    if (masked)
        n5e_mask_storeu_epi16(p, m, h);
#else
    if (masked)
        _mm256_mask_storeu_epi16(p, m, h);
#endif
    else if (nt)
        _mm256_stream_si256((__m256i *)p, h);
    else
        _mm256_storeu_si256((__m256i *)p, h);
}

/* ---- leaves ---- */

N5_INLINE __m512 leaf_x_avx512(const void *p, __mmask16 m, int masked, int fm)
{
    if (fm != N5_F32)
        return ld16_avx512((const uint16_t *)p, m, masked, fm);
    return masked ? _mm512_maskz_loadu_ps(m, p) : _mm512_loadu_ps(p);
}

/* x - c, padded lanes +0 AFTER the subtraction. f: issued on the FMA pipes as fma(x, 1, nc),
 * nc = -c (bit-identical). */
N5_INLINE __m512 leaf_sub_avx512(const void *p, __m512 c, __m512 nc, __mmask16 m, int masked,
                                 int f, int fm)
{
    const __m512 one = _mm512_set1_ps(1.0f);
    if (masked)
        return f ? _mm512_maskz_fmadd_ps(m, leaf_x_avx512(p, m, 1, fm), one, nc)
                 : _mm512_maskz_sub_ps(m, leaf_x_avx512(p, m, 1, fm), c);
    return f ? _mm512_fmadd_ps(leaf_x_avx512(p, m, 0, fm), one, nc)
             : _mm512_sub_ps(leaf_x_avx512(p, m, 0, fm), c);
}

/* ---- trees of plain sums of shifted leaves (x - c) ----
 * tp: the 32 subtractions on the FMA pipes, the 31 adds on the adders (63 ops, 32 loads). */

N5_INLINE __m512 tsum1_avx512(const void *p, __m512 c, __m512 nc, __mmask16 m, int masked,
                              int tp, int fm)
{
    return leaf_sub_avx512(p, c, nc, m, masked, tp, fm);
}
N5_INLINE __m512 tsum2_avx512(const void *p, __m512 c, __m512 nc, __mmask16 m, int masked,
                              int tp, int fm)
{
    __m512 a = leaf_sub_avx512(p, c, nc, m, 0, tp, fm);
    __m512 b = leaf_sub_avx512(N5_AT(p, 16, fm), c, nc, m, masked, tp, fm);
    N5_ORDER();
    __m512 r = _mm512_add_ps(a, b);
    N5_PIN(r);
    return r;
}
#define N5_TSUM(N, H)                                                                          \
    N5_INLINE __m512 tsum##N##_avx512(const void *p, __m512 c, __m512 nc, __mmask16 m,        \
                                      int masked, int tp, int fm)                                  \
    {                                                                                          \
        __m512 l_ = tsum##H##_avx512(p, c, nc, m, 0, tp, fm);                                      \
        __m512 r_ = tsum##H##_avx512(N5_AT(p, 16 * H, fm), c, nc, m, masked, tp, fm);              \
        return _mm512_add_ps(l_, r_);                                                          \
    }
N5_TSUM(4, 2)
N5_TSUM(8, 4)
N5_TSUM(16, 8)
N5_TSUM(32, 16)
#undef N5_TSUM

/* ---- trees of squares of unshifted leaves x (RMSNorm) ----
 * 16 muls and 16 fmas (FMA pipes), 15 adds (adders): balanced against 32 loads as it is. */

N5_INLINE __m512 tsq1_avx512(const void *p, __mmask16 m, int masked, int tp, int fm)
{
    (void)tp;
    __m512 a = leaf_x_avx512(p, m, masked, fm);
    return _mm512_mul_ps(a, a);
}
N5_INLINE __m512 tsq2_avx512(const void *p, __mmask16 m, int masked, int tp, int fm)
{
    (void)tp;
    __m512 a = leaf_x_avx512(p, m, 0, fm), b = leaf_x_avx512(N5_AT(p, 16, fm), m, masked, fm);
    N5_ORDER();
    return _mm512_fmadd_ps(b, b, _mm512_mul_ps(a, a));
}
#define N5_TSQ(N, H)                                                                           \
    N5_INLINE __m512 tsq##N##_avx512(const void *p, __mmask16 m, int masked, int tp, int fm)       \
    {                                                                                          \
        __m512 l_ = tsq##H##_avx512(p, m, 0, tp, fm);                                              \
        __m512 r_ = tsq##H##_avx512(N5_AT(p, 16 * H, fm), m, masked, tp, fm);                      \
        return _mm512_add_ps(l_, r_);                                                          \
    }
N5_TSQ(4, 2)
N5_TSQ(8, 4)
N5_TSQ(16, 8)
N5_TSQ(32, 16)
#undef N5_TSQ

/* ---- trees of sums AND squares of shifted leaves d = x - c (LayerNorm pass 2) ----
 * Per block: 32 subs, 31 adds (sums), 16 muls + 16 fmas + 15 adds (squares). tp: the square
 * tree's upper adds and one subtraction in four go to the FMA pipes (55 ops on each side). */

typedef struct ss_avx512 {
    __m512 s, q;
} ss_avx512;

N5_INLINE ss_avx512 tss1_avx512(const void *p, __m512 c, __m512 nc, __mmask16 m, int masked,
                                int tp, int fm)
{
    (void)tp;
    __m512 d = leaf_sub_avx512(p, c, nc, m, masked, 0, fm);
    ss_avx512 r = {d, _mm512_mul_ps(d, d)};
    return r;
}
/* A pair; f puts its second subtraction on the FMA pipes. */
N5_INLINE ss_avx512 tss2f_avx512(const void *p, __m512 c, __m512 nc, __mmask16 m, int masked,
                                 int f, int fm)
{
    __m512 a = leaf_sub_avx512(p, c, nc, m, 0, 0, fm);
    __m512 b = leaf_sub_avx512(N5_AT(p, 16, fm), c, nc, m, masked, f, fm);
    N5_ORDER();
    ss_avx512 r = {_mm512_add_ps(a, b), _mm512_fmadd_ps(b, b, _mm512_mul_ps(a, a))};
    N5_PIN(r.s);
    N5_PIN(r.q);
    return r;
}
N5_INLINE ss_avx512 tss2_avx512(const void *p, __m512 c, __m512 nc, __mmask16 m, int masked,
                                int tp, int fm)
{
    (void)tp;
    return tss2f_avx512(p, c, nc, m, masked, 0, fm);
}
N5_INLINE ss_avx512 ss_join_avx512(ss_avx512 u, ss_avx512 v, int tp)
{
    ss_avx512 r = {_mm512_add_ps(u.s, v.s), add_avx512(u.q, v.q, tp)};
    N5_PIN(r.s);
    N5_PIN(r.q);
    return r;
}
N5_INLINE ss_avx512 tss4_avx512(const void *p, __m512 c, __m512 nc, __mmask16 m, int masked,
                                int tp, int fm)
{
    ss_avx512 l = tss2f_avx512(p, c, nc, m, 0, 0, fm);
    ss_avx512 r = tss2f_avx512(N5_AT(p, 32, fm), c, nc, m, masked, tp, fm);
    return ss_join_avx512(l, r, tp);
}
#define N5_TSS(N, H)                                                                           \
    N5_INLINE ss_avx512 tss##N##_avx512(const void *p, __m512 c, __m512 nc, __mmask16 m,      \
                                        int masked, int tp, int fm)                                \
    {                                                                                          \
        ss_avx512 l_ = tss##H##_avx512(p, c, nc, m, 0, tp, fm);                                    \
        ss_avx512 r_ = tss##H##_avx512(N5_AT(p, 16 * H, fm), c, nc, m, masked, tp, fm);            \
        return ss_join_avx512(l_, r_, tp);                                                     \
    }
N5_TSS(8, 4)
N5_TSS(16, 8)
N5_TSS(32, 16)
#undef N5_TSS

/* ---- the pruned tree of a partial block: rem = 1..511 floats at p ----
 * k = ceil(rem / 16) leaf rows; the smallest power-of-two part of k (its lowest set bit) is the
 * last subtree and holds the possibly partial last leaf row; the larger parts precede it and are
 * added on the left, from the smallest up: T = T_big + (... + (T_next + T_smallest)).
 * CALL(N, OFF, MASKED) is the size-N tree at element offset OFF. Latency mode (tp = 0). */

#define N5_PARTIAL_BODY(TYPE, ZERO, CALL, JOIN)                                                \
    unsigned k = (unsigned)((rem + 15) >> 4);                                                  \
    unsigned low = k & (0u - k);                                                               \
    unsigned high = k - low;                                                                   \
    size_t qo = (size_t)high * 16;                                                             \
    /* Loaded in ascending address order (hardware prefetchers follow ascending streams),     \
     * then joined from the smallest subtree up. (A subtree variable is only read when it was \
     * computed; "undefined" spares zeroing it.) */                                           \
    TYPE a16 = ZERO, a8 = ZERO, a4 = ZERO, a2 = ZERO, acc;                                     \
    if (high & 16u)                                                                            \
        a16 = CALL(16, 0, 0);                                                                  \
    if (high & 8u)                                                                             \
        a8 = CALL(8, (size_t)(high & ~15u) * 16, 0);                                           \
    if (high & 4u)                                                                             \
        a4 = CALL(4, (size_t)(high & ~7u) * 16, 0);                                            \
    if (high & 2u)                                                                             \
        a2 = CALL(2, (size_t)(high & ~3u) * 16, 0);                                            \
    switch (low) {                                                                             \
    case 1: acc = CALL(1, qo, 1); break;                                                       \
    case 2: acc = CALL(2, qo, 1); break;                                                       \
    case 4: acc = CALL(4, qo, 1); break;                                                       \
    case 8: acc = CALL(8, qo, 1); break;                                                       \
    case 16: acc = CALL(16, qo, 1); break;                                                     \
    default: acc = CALL(32, qo, 1); break;                                                     \
    }                                                                                          \
    if (high & 2u)                                                                             \
        acc = JOIN(a2, acc);                                                                   \
    if (high & 4u)                                                                             \
        acc = JOIN(a4, acc);                                                                   \
    if (high & 8u)                                                                             \
        acc = JOIN(a8, acc);                                                                   \
    if (high & 16u)                                                                            \
        acc = JOIN(a16, acc);                                                                  \
    return acc;

#define N5_CALL_SUM(N, OFF, MK) tsum##N##_avx512(N5_AT(p, (OFF), fm), c, nc, m, MK, 0, fm)
#define N5_CALL_SQ(N, OFF, MK) tsq##N##_avx512(N5_AT(p, (OFF), fm), m, MK, 0, fm)
#define N5_CALL_SS(N, OFF, MK) tss##N##_avx512(N5_AT(p, (OFF), fm), c, nc, m, MK, 0, fm)
#define N5_JOIN_SS(U, V) ss_join_avx512(U, V, 0)
#define N5_SS_ZERO ((ss_avx512){_mm512_undefined_ps(), _mm512_undefined_ps()})

N5_INLINE __m512 psum_avx512(const void *p, size_t rem, __m512 c, __m512 nc, int fm)
{
    const __mmask16 m = tail_mask_avx512(rem);
    N5_PARTIAL_BODY(__m512, _mm512_undefined_ps(), N5_CALL_SUM, _mm512_add_ps)
}
N5_INLINE __m512 psq_avx512(const void *p, size_t rem, int fm)
{
    const __mmask16 m = tail_mask_avx512(rem);
    N5_PARTIAL_BODY(__m512, _mm512_undefined_ps(), N5_CALL_SQ, _mm512_add_ps)
}
N5_INLINE ss_avx512 pss_avx512(const void *p, size_t rem, __m512 c, __m512 nc, int fm)
{
    const __mmask16 m = tail_mask_avx512(rem);
    N5_PARTIAL_BODY(ss_avx512, N5_SS_ZERO, N5_CALL_SS, N5_JOIN_SS)
}

#undef N5_PARTIAL_BODY
#undef N5_CALL_SUM
#undef N5_CALL_SQ
#undef N5_CALL_SS
#undef N5_JOIN_SS
#undef N5_SS_ZERO

/* ---- fold and lane total ---- */

/* norm_fold(), lane-wise. */
N5_INLINE void fold_avx512(__m512 *hi, __m512 *lo, __m512 s)
{
    __m512 t = _mm512_add_ps(*hi, s);
    __m512 bp = _mm512_sub_ps(t, *hi);
    __m512 ap = _mm512_sub_ps(t, bp);
    *lo = _mm512_add_ps(*lo, _mm512_add_ps(_mm512_sub_ps(*hi, ap), _mm512_sub_ps(s, bp)));
    *hi = t;
}

/* norm_lanes_total(hi, lo) in SIMD doubles. */
N5_INLINE double lanes_total_avx512(__m512 hi, __m512 lo)
{
    __m512d v0 = _mm512_add_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(hi)),
                               _mm512_cvtps_pd(_mm512_castps512_ps256(lo)));      /* lanes 0-7 */
    __m512d v1 = _mm512_add_pd(_mm512_cvtps_pd(_mm512_extractf32x8_ps(hi, 1)),
                               _mm512_cvtps_pd(_mm512_extractf32x8_ps(lo, 1)));   /* lanes 8-15 */
    __m512d v = _mm512_add_pd(v0, v1);                                             /* h = 8 */
    __m256d u = _mm256_add_pd(_mm512_castpd512_pd256(v), _mm512_extractf64x4_pd(v, 1)); /* 4 */
    __m128d w = _mm_add_pd(_mm256_castpd256_pd128(u), _mm256_extractf128_pd(u, 1));     /* 2 */
    return _mm_cvtsd_f64(_mm_add_sd(w, _mm_unpackhi_pd(w, w)));                         /* 1 */
}

/* The streaming output passes' prefetch (rmsnorm_avx512.c, layernorm_avx512.c), issued after
 * the four 64-byte stores of the block of 64 floats at i of a row of n: pf (NULL: none) a later
 * row; pfh, half the rate (pf[i / 2 ..], two lines: the second half of a long row whose first
 * half pass 1 or 2 prefetched) with locality LOC; else rows of at most L2MAX floats into L2
 * (prefetcht2), others with locality LOC. A macro: __builtin_prefetch takes its locality as a
 * constant expression. */
#define N5_PF_STEP(pf, i, n, pfh, L2MAX, LOC)                                                  \
    do {                                                                                       \
        if ((pf) && (pfh)) {                                                                   \
            __builtin_prefetch((pf) + (i) / 2, 0, LOC);                                        \
            __builtin_prefetch((pf) + (i) / 2 + 16, 0, LOC);                                   \
        } else if ((pf) && (n) <= (L2MAX)) {                                                   \
            __builtin_prefetch((pf) + (i), 0, 1);                                              \
            __builtin_prefetch((pf) + (i) + 16, 0, 1);                                         \
            __builtin_prefetch((pf) + (i) + 32, 0, 1);                                         \
            __builtin_prefetch((pf) + (i) + 48, 0, 1);                                         \
        } else if (pf) {                                                                       \
            __builtin_prefetch((pf) + (i), 0, LOC);                                            \
            __builtin_prefetch((pf) + (i) + 16, 0, LOC);                                       \
            __builtin_prefetch((pf) + (i) + 32, 0, LOC);                                       \
            __builtin_prefetch((pf) + (i) + 48, 0, LOC);                                       \
        }                                                                                      \
    } while (0)

/* ---- canonical per-lane accumulators of a whole row of n >= 1 floats ----
 * One block loop per kind of tree (sums, squares, both). Each takes a hook: other work placed
 * between the blocks, never changing a tree, a fold or their order. Its fields are compile-time
 * constants after inlining (N5_NO_HOOK: none, the plain loop):
 *   pf    (NULL: none) a later row to prefetch: its lines pf[256 b .. 256 b + 256) (16 lines,
 *         locality 3: L1) just before the tree of full block b (the f32 LayerNorm's long rows of
 *         streaming jobs, ln_pass2_avx512() in layernorm_avx512.c);
 *   step  (NULL: none) step(ctx) after every block, full or partial (the 16-bit streaming
 *         pairs' output slices, x16_oq_step() in norm_x16_avx512.c). */

typedef struct n5_hook {
    const float *pf;
    void (*step)(void *ctx);
    void *ctx;
} n5_hook;
#define N5_NO_HOOK ((n5_hook){NULL, NULL, NULL})

/* Before the tree of full block b. */
N5_INLINE void hook_pre_avx512(n5_hook h, size_t b)
{
    if (h.pf)
        for (size_t i = 0; i < NORM_BLOCK / 2; i += 16)
            __builtin_prefetch(h.pf + b * (NORM_BLOCK / 2) + i, 0, 3);
}
/* After every block. */
N5_INLINE void hook_post_avx512(n5_hook h)
{
    if (h.step)
        h.step(h.ctx);
}

/* A row's 16 lane accumulators (hi, lo); its total is lanes_total_avx512(hi, lo). */
typedef struct acc_avx512 {
    __m512 hi, lo;
} acc_avx512;

/* Leaves (x - c). */
N5_INLINE acc_avx512 acc_sumf_avx512(const void *x, size_t n, __m512 c, int fm, n5_hook h)
{
    const __m512 nc = _mm512_xor_ps(c, _mm512_set1_ps(-0.0f)); /* exactly -c */
    const __mmask16 all = (__mmask16)0xFFFF;
    size_t nb = n / NORM_BLOCK, rem = n % NORM_BLOCK;
    acc_avx512 a = {_mm512_setzero_ps(), _mm512_setzero_ps()};
    if (nb) {
        hook_pre_avx512(h, 0);
        a.hi = tsum32_avx512(x, c, nc, all, 0, 1, fm);
        hook_post_avx512(h);
        for (size_t b = 1; b < nb; b++) {
            hook_pre_avx512(h, b);
            fold_avx512(&a.hi, &a.lo,
                        tsum32_avx512(N5_AT(x, b * NORM_BLOCK, fm), c, nc, all, 0, 1, fm));
            hook_post_avx512(h);
        }
        if (rem) {
            fold_avx512(&a.hi, &a.lo, psum_avx512(N5_AT(x, nb * NORM_BLOCK, fm), rem, c, nc, fm));
            hook_post_avx512(h);
        }
    } else {
        a.hi = psum_avx512(x, rem, c, nc, fm);
        hook_post_avx512(h);
    }
    return a;
}

/* Squares of leaves x. */
N5_INLINE acc_avx512 acc_sqf_avx512(const void *x, size_t n, int fm, n5_hook h)
{
    const __mmask16 all = (__mmask16)0xFFFF;
    size_t nb = n / NORM_BLOCK, rem = n % NORM_BLOCK;
    acc_avx512 a = {_mm512_setzero_ps(), _mm512_setzero_ps()};
    if (nb) {
        hook_pre_avx512(h, 0);
        a.hi = tsq32_avx512(x, all, 0, 1, fm);
        hook_post_avx512(h);
        for (size_t b = 1; b < nb; b++) {
            hook_pre_avx512(h, b);
            fold_avx512(&a.hi, &a.lo, tsq32_avx512(N5_AT(x, b * NORM_BLOCK, fm), all, 0, 1, fm));
            hook_post_avx512(h);
        }
        if (rem) {
            fold_avx512(&a.hi, &a.lo, psq_avx512(N5_AT(x, nb * NORM_BLOCK, fm), rem, fm));
            hook_post_avx512(h);
        }
    } else {
        a.hi = psq_avx512(x, rem, fm);
        hook_post_avx512(h);
    }
    return a;
}

/* Leaves d = (x - c) and their squares, in one pass (*s, *q). */
N5_INLINE void acc_ssf_avx512(const void *x, size_t n, __m512 c, acc_avx512 *s, acc_avx512 *q,
                              int fm, n5_hook h)
{
    const __m512 nc = _mm512_xor_ps(c, _mm512_set1_ps(-0.0f)); /* exactly -c */
    const __mmask16 all = (__mmask16)0xFFFF;
    size_t nb = n / NORM_BLOCK, rem = n % NORM_BLOCK;
    __m512 h1, l1 = _mm512_setzero_ps(), h2, l2 = _mm512_setzero_ps();
    ss_avx512 t;
    if (nb) {
        hook_pre_avx512(h, 0);
        t = tss32_avx512(x, c, nc, all, 0, 1, fm);
        h1 = t.s;
        h2 = t.q;
        hook_post_avx512(h);
        for (size_t b = 1; b < nb; b++) {
            hook_pre_avx512(h, b);
            t = tss32_avx512(N5_AT(x, b * NORM_BLOCK, fm), c, nc, all, 0, 1, fm);
            fold_avx512(&h1, &l1, t.s);
            fold_avx512(&h2, &l2, t.q);
            hook_post_avx512(h);
        }
        if (rem) {
            t = pss_avx512(N5_AT(x, nb * NORM_BLOCK, fm), rem, c, nc, fm);
            fold_avx512(&h1, &l1, t.s);
            fold_avx512(&h2, &l2, t.q);
            hook_post_avx512(h);
        }
    } else {
        t = pss_avx512(x, rem, c, nc, fm);
        h1 = t.s;
        h2 = t.q;
        hook_post_avx512(h);
    }
    s->hi = h1;
    s->lo = l1;
    q->hi = h2;
    q->lo = l2;
}

/* The f32 kernels' names. */
N5_INLINE acc_avx512 acc_sum_avx512(const float *x, size_t n, __m512 c)
{
    return acc_sumf_avx512(x, n, c, N5_F32, N5_NO_HOOK);
}
N5_INLINE acc_avx512 acc_sq_avx512(const float *x, size_t n)
{
    return acc_sqf_avx512(x, n, N5_F32, N5_NO_HOOK);
}
N5_INLINE void acc_ss_avx512(const float *x, size_t n, __m512 c, acc_avx512 *s, acc_avx512 *q)
{
    acc_ssf_avx512(x, n, c, s, q, N5_F32, N5_NO_HOOK);
}

/* ---- canonical totals ---- */

N5_INLINE double total_sum_avx512(const float *x, size_t n, __m512 c)
{
    acc_avx512 a = acc_sum_avx512(x, n, c);
    return lanes_total_avx512(a.hi, a.lo);
}

N5_INLINE double total_sq_avx512(const float *x, size_t n)
{
    acc_avx512 a = acc_sq_avx512(x, n);
    return lanes_total_avx512(a.hi, a.lo);
}

/* ---- eight rows' totals at once ----
 * norm_lanes_total() of a[0..7], as the 8 doubles of one vector: the same additions on the same
 * operands as lanes_total_avx512(), with the rows packed side by side after each halving step
 * (two rows per vector after h = 4, four after h = 2, eight after h = 1). */

/* v[l] + v[l + 8] for l = 0..7, v = (double)hi + (double)lo. */
N5_INLINE __m512d lanes_h8_avx512(acc_avx512 a)
{
    __m512d v0 = _mm512_add_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(a.hi)),
                               _mm512_cvtps_pd(_mm512_castps512_ps256(a.lo)));
    __m512d v1 = _mm512_add_pd(_mm512_cvtps_pd(_mm512_extractf32x8_ps(a.hi, 1)),
                               _mm512_cvtps_pd(_mm512_extractf32x8_ps(a.lo, 1)));
    return _mm512_add_pd(v0, v1);
}
/* Two rows' h = 8 results u, v -> [u[l] + u[l+4], v[l] + v[l+4]] (l = 0..3). */
N5_INLINE __m512d lanes_h4_avx512(__m512d u, __m512d v)
{
    return _mm512_add_pd(_mm512_shuffle_f64x2(u, v, 0x44),  /* u[0..3], v[0..3] */
                         _mm512_shuffle_f64x2(u, v, 0xEE)); /* u[4..7], v[4..7] */
}
/* Two h = 4 results (rows a,b and c,d) -> [a0+a2, a1+a3, b0+b2, b1+b3, c.., d..]. */
N5_INLINE __m512d lanes_h2_avx512(__m512d u, __m512d v)
{
    return _mm512_add_pd(_mm512_shuffle_f64x2(u, v, 0x88),  /* 128-bit lanes 0, 2 of u, v */
                         _mm512_shuffle_f64x2(u, v, 0xDD)); /* 128-bit lanes 1, 3 of u, v */
}
/* The steps after h = 8 for eight rows whose lanes_h8_avx512() results are v[0..7]. */
N5_INLINE __m512d lanes_fin8_avx512(const __m512d v[8])
{
    __m512d h4a = lanes_h4_avx512(v[0], v[1]);
    __m512d h4b = lanes_h4_avx512(v[2], v[3]);
    __m512d h4c = lanes_h4_avx512(v[4], v[5]);
    __m512d h4d = lanes_h4_avx512(v[6], v[7]);
    __m512d h2a = lanes_h2_avx512(h4a, h4b); /* rows 0-3, two doubles each */
    __m512d h2b = lanes_h2_avx512(h4c, h4d); /* rows 4-7 */
    const __m512i ev = _mm512_set_epi64(14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i od = _mm512_set_epi64(15, 13, 11, 9, 7, 5, 3, 1);
    return _mm512_add_pd(_mm512_permutex2var_pd(h2a, ev, h2b),
                         _mm512_permutex2var_pd(h2a, od, h2b));
}
N5_INLINE __m512d lanes_total8_avx512(const acc_avx512 a[8])
{
    __m512d v[8];
    for (int k = 0; k < 8; k++)
        v[k] = lanes_h8_avx512(a[k]);
    return lanes_fin8_avx512(v);
}

/* LayerNorm's statistics for eight rows from their totals s0, s1, s2 (lane k: row k) and m0
 * (vm0), lane k computing exactly what norm_ln_finish() computes for row k when it finishes the
 * row at once. Returns the mask of those rows (the others: pass 2 again, or the rare path); their
 * mlo, rstd and mean go to the arrays. Shared by the f32 and the 16-bit kernels. */
N5_INLINE __mmask8 ln_finish8_avx512(__m512d s0, __m512d s1, __m512d s2, __m256 vm0,
                                     double inv_n, float eps, float mlo[8], float rstd[8],
                                     float mean[8])
{
    const __m512d vinv = _mm512_set1_pd(inv_n), dmax = _mm512_set1_pd(DBL_MAX);
    __mmask8 ok = _mm512_cmp_pd_mask(s2, _mm512_set1_pd(NORM_RARE_MIN), _CMP_GE_OQ) &
                  _mm512_cmp_pd_mask(s2, dmax, _CMP_LE_OQ) &
                  _mm512_cmp_pd_mask(_mm512_abs_pd(s1), dmax, _CMP_LE_OQ) &
                  _mm512_cmp_pd_mask(_mm512_abs_pd(s0), dmax, _CMP_LE_OQ);
    const __m512d ml = _mm512_mul_pd(s1, vinv);
    const __m512d var = _mm512_sub_pd(_mm512_mul_pd(s2, vinv), _mm512_mul_pd(ml, ml));
    ok &= _mm512_cmp_pd_mask(_mm512_mul_pd(ml, ml),
                             _mm512_mul_pd(_mm512_set1_pd(NORM_LN_AGAIN_RATIO), var), _CMP_LE_OQ);
    ok &= _mm512_cmp_pd_mask(var, _mm512_setzero_pd(), _CMP_GT_OQ);
    const __m512d sd = _mm512_sqrt_pd(_mm512_add_pd(var, _mm512_set1_pd((double)eps)));
    _mm256_storeu_ps(mlo, _mm512_cvtpd_ps(ml));
    _mm256_storeu_ps(rstd, _mm512_cvtpd_ps(_mm512_div_pd(_mm512_set1_pd(1.0), sd)));
    _mm256_storeu_ps(mean, _mm512_cvtpd_ps(_mm512_add_pd(_mm512_cvtps_pd(vm0), ml)));
    return ok;
}

/* norm_lanes_total() of one block's lane sums hi with lo = +0 left out (v[l] = (double)hi[l]),
 * as a double in lane 0: the halving adds on quarters (four floats widened to four doubles
 * each), v[l] + v[l + 8] and then + v[l + 4] for l = 0..3 on two 256-bit vectors, then h = 2,
 * 1. (double)hi[l] + 0.0 differs from (double)hi[l] only for hi[l] = -0: each caller says why
 * that cannot change its total (the one-row functions of rmsnorm_avx512.c). */
N5_INLINE __m128d lanes_total1_avx512(__m512 hi)
{
    __m256d q0 = _mm256_cvtps_pd(_mm512_castps512_ps128(hi));    /* v[0..3] */
    __m256d q1 = _mm256_cvtps_pd(_mm512_extractf32x4_ps(hi, 1)); /* v[4..7] */
    __m256d q2 = _mm256_cvtps_pd(_mm512_extractf32x4_ps(hi, 2)); /* v[8..11] */
    __m256d q3 = _mm256_cvtps_pd(_mm512_extractf32x4_ps(hi, 3)); /* v[12..15] */
    __m256d a = _mm256_add_pd(_mm256_add_pd(q0, q2), _mm256_add_pd(q1, q3)); /* h = 8, 4 */
    __m128d c = _mm_add_pd(_mm256_castpd256_pd128(a), _mm256_extractf128_pd(a, 1)); /* h = 2 */
    return _mm_add_sd(c, _mm_unpackhi_pd(c, c));                               /* h = 1 */
}

#endif /* NORM_AVX512_H */
