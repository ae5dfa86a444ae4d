/*
 * LayerNorm, AVX2 + FMA tier. Bit-identical to norm_layernorm_f32_scalar (the canonical order in
 * norm_internal.h; the trees, fold and lane total in norm_avx2.h). Per row:
 *   pass 1: s0 = total of leaves (x - x[0]) over the probe (the first norm_ln_probe(n):
 *           min(n, 32) for rows of n <= NORM_LN_SHORT, else min(n, 512)) -> m0 = norm_ln_m0()
 *   pass 2: s1, s2 = totals of (x - m0) and its squares -> norm_ln_finish() (pass 2 once more
 *           around a better m0 when it asks for it, or the rare path)
 *   pass 3: y = fma(((x - m0) - mlo) * rstd, w, b), w = 1 and b = 0 when NULL (as an FMA with
 *           broadcast constants: fma(t, 1, 0) is not t * 1 for t = -0).
 * Rows of n <= NORM_LN_SHORT = 128 combine each total's lanes in float (the short-row order,
 * norm_internal.h). In jobs of at least four rows that do not stream they go in the batches
 * below (ln_stats8s_avx2()), each row's float lane totals to their first step (h = 8: one
 * vector), the other steps of the batch's eight (or four) rows transposed, one vector
 * instruction for all of them (ln_tp4_avx2(), ln_tp2_avx2(), ln_ftot8_avx2()); everywhere else
 * (streaming jobs, jobs of 1-3 rows, the API's rows = 1 calls, the bf16 / f16 kernel) one at a
 * time, the row held in registers (ln_short_avx2(), measured below). (2026-12-06, session 25)
 * Streaming jobs of rows of 64 floats whose y rows start on 32-byte boundaries take the batches
 * too (ln_short_nt_batches()): non-temporal stores, pipelined, the rows NORM_AVX2_LN_BPF
 * batches ahead prefetched with locality 1 (prefetcht2, LN_SNT_L2; prefetcht0 there measured
 * 34-35 against 22-23 ns/row); bench/lnab.sh build main avx2 9 64,128 3 3 (x 128 MiB from DRAM,
 * huge pages, thread CPU ns/row min), row loop -> batches (floor): w+b 64 1 thread 24 -> 18
 * (11), plain 23 -> 16; 2 threads w+b 27 -> 20, plain 27 -> 20 (wall 13-14 -> 10, floor 10); an
 * earlier run 25 -> 23, 23 -> 22. Dim 128 stays on the row loop (64-67 against 36-38 in the
 * batches: a row is all sixteen ymm registers).
 * Rows of at most one block (n <= NORM_BLOCK) go four at a time: the four rows' trees of a pass,
 * then their lane totals combined in one vector (norm_lanes_total4_avx2, or for short rows
 * those of eight rows, transposed, as above), then each row's norm_ln_m0() / norm_ln_finish()
 * (with the repeated pass 2 or the rare path where it asks for them) and pass 3; dims 64 and 128 have their own copy with n a
 * constant (no masks, no branches in the trees). The batches are software-pipelined eight rows at a time: the next eight rows'
 * statistics are computed while this eight's pass 3 is emitted, one row after each pair of the
 * next rows' trees (so that its stores drain while the next rows load, rather than in a burst
 * after them). Other short rows are taken two at a time, so that the two rows' dependency
 * chains (reduction, lane total, the scalar finishing code) overlap; outside streaming jobs
 * pass 3 of a pair is likewise split between the next pair's pass 1 and pass 2. Streaming jobs
 * (norm_stream_job()) write y with non-temporal stores, except rows of n <= NORM_LN_SHORT (the
 * register rows: ordinary stores, as the batches at dims 64 and 128 before them, which measured
 * faster so from DRAM on the AMD EPYC VM; but rows of 128 floats whose y rows start on 32-byte
 * boundaries: non-temporal, ln_s128_nt(), session 26). Streaming pairs
 * prefetch x of the pair NORM_AVX2_LN_PF pairs ahead line by line during pass 3 (two prefetches
 * per four 32-byte stores), so that reads overlap the non-temporal stores instead of waiting
 * behind them (the AVX-512 tier's header has the why); in one process, 1 thread, DRAM, min of
 * 15 (2026-12-05), ns/row old -> new: w+b 768 392 -> 216, 1024 426 -> 226, 2048 777 -> 456;
 * plain 768 332 -> 145, 1024 406 -> 205, 2048 766 -> 474. Longer rows go one at a time; in
 * streaming jobs pass 3 prefetches x of the next row (NORM_AVX2_LN_PF1), thread CPU ns/row,
 * same runs: dim 4096 plain 2607 -> 1705, w+b 2660 -> 2202 (NT-store floor 1437 / 1672, oneDNN
 * 2308 / 2227; min of 25); plain 16384 10402 -> 7115, 65536 39166 -> 26570 (min of 15 / 11;
 * an L2 hint 7379 / 27505). Their pass 2 prefetches the first half of the next row (16 lines
 * before each 512-float block) and pass 3 the rest at half the rate (NORM_AVX2_LN_PF2), so that
 * the reads spread over passes 2 and 3 instead of sharing pass 3 with the non-temporal stores;
 * in one process, interleaved, DRAM (64 MiB of x unless said), thread CPU ns/row, min of 7-15
 * (2026-12-06, compiles on both cores), old -> new (NT-store floor): w+b 4096 1288 -> 977
 * (1029), 1326 -> 961 (1093), 1350 -> 857 (895; 128 MiB); 8192 2525 -> 2187 (3095); 16384
 * 4454 -> 4218 (4706), 6556 -> 5613 (5339; 128 MiB); 2 threads 4096 612 -> 516, 8192 1947 ->
 * 1395, 16384 3474 -> 3822 (noisy: the second thread shared its core with compiles); plain
 * 4096 912 -> 906, 1021 -> 970, 16384 3657 -> 3666. A software-pipelined long-row loop (pass 3
 * of the previous row in slices between this row's pass-2 blocks) measured no better: w+b 4096
 * 1326 -> 1384, plain 1021 -> 1023. Streaming batches (dims 129-512) prefetch x
 * NORM_AVX2_LN_BPF batches ahead (measured below). None of this changes an operation: every
 * output is the scalar reference's.
 */
#include "norm_avx2.h"
#include "../x86/norm_ln_pf_x86.h"
#include "../x86/norm_ln_row_x86.h"

/* Rows of up to this many floats are processed in pairs outside streaming jobs (both rows' x, y
 * and w, b stay in L1D up to here: 32 KiB on the CI machine; beyond it, pairing measured
 * slower). 2048 until session 26 (written for a 48 KiB L1D): normbench --op ln,ln-plain --dim
 * 1024,2048 --rows 32,512 --tier avx2 (2026-12-06, two builds alternating, two runs), 2048 ->
 * 1024: w+b dim 2048 32 rows 1 thread 394-408 -> 313 ns/row, 2 threads 196-206 -> 158, 512
 * rows 443-446 -> 338-343; plain 267-282 -> 244-245, 134-135 -> 123, 324-325 -> 253-255; dim
 * 1024 unchanged. */
/* Streaming pairs: pass 3 prefetches x of the pair this many pairs ahead (0: none), with this
 * locality hint (3: L1). */
#ifndef NORM_AVX2_LN_PF
#define NORM_AVX2_LN_PF 2
#endif
#ifndef NORM_AVX2_LN_PFLOC
#define NORM_AVX2_LN_PFLOC 3
#endif
#ifndef NORM_AVX2_LN_PAIR_MAX
#define NORM_AVX2_LN_PAIR_MAX 1024
#endif
/* Streaming jobs take pairs up to NORM_AVX2_LN_NT_PAIR_MAX_AFF floats (rows with a weight or a
 * bias) or NORM_AVX2_LN_NT_PAIR_MAX_PLAIN (rows without), their prefetches, for plain rows, into
 * L2 (prefetcht2: NORM_AVX2_LN_NT_PLAIN_L2), and the longer rows one at a time (below).
 * bench/lnab.sh build HEAD avx2 9 768,1024,2048,4096 1|2 3 (x 128 MiB from DRAM, huge pages,
 * thread CPU ns/row min, 2026-12-06, session 26; 2 threads: the slower thread), pairs up to
 * 2048 with L1 prefetches -> this (measured as its two halves: rows one at a time above 512;
 * pairs prefetching into L2), w+b 1 thread 768 277 -> 206, 1024 360 -> 265, 2048 730 -> 585;
 * 2 threads 768 271 -> 213, 1024 403 -> 326, 2048 838 -> 698; plain 1 thread 768 245 -> 148,
 * 1024 314 -> 208, 2048 569 -> 480; 2 threads 768 338 -> 248, 1024 369 -> 343 (one at a time:
 * 316), 2048 733 -> 670. Every row into L2 (the pairs and the long rows): rows of 4096 worse
 * (plain 984 -> 1092, 2 threads 1368 -> 1460), pairs of w+b rows no better than one at a time
 * (768: 242 / 206). */
#ifndef NORM_AVX2_LN_NT_PAIR_MAX_AFF
#define NORM_AVX2_LN_NT_PAIR_MAX_AFF 512
#endif
#ifndef NORM_AVX2_LN_NT_PAIR_MAX_PLAIN
#define NORM_AVX2_LN_NT_PAIR_MAX_PLAIN 1024
#endif
#ifndef NORM_AVX2_LN_NT_PLAIN_L2
#define NORM_AVX2_LN_NT_PLAIN_L2 1
#endif
/* Rows taken one at a time in streaming jobs (n past those limits): pass 3 prefetches x of
 * the row this many rows ahead (0: none), one 64-byte line per two 32-byte stores, with
 * locality NORM_AVX2_LN_PFLOC (L1 even for rows larger than L1D: L2 hints measured slower). */
#ifndef NORM_AVX2_LN_PF1
#define NORM_AVX2_LN_PF1 1
#endif
/* Those rows: 1, pass 2 prefetches the first half of that row's x (16 lines per 512-float block
 * it reduces) and pass 3 the rest at half the rate (one line per four 32-byte stores); 0, pass 3
 * prefetches the whole row. */
#ifndef NORM_AVX2_LN_PF2
#define NORM_AVX2_LN_PF2 1
#endif

typedef struct {
    double s1, s2;
} ln_sums_avx2;

/* Pass 1: the total of leaves (x - c). Out of line: the reduction is large and called from every
 * variant. */
static __attribute__((noinline)) double ln_pass1_avx2(const float *x, size_t n, float c)
{
    double s, unused;
    norm_reduce_avx2(x, n, c, 1, 1, 0, &s, &unused);
    return s;
}

/* Pass 2: the totals of leaves (x - c) and of their squares. */
static __attribute__((noinline)) ln_sums_avx2 ln_pass2_avx2(const float *x, size_t n, float c)
{
    ln_sums_avx2 r;
    norm_reduce_avx2(x, n, c, 1, 1, 1, &r.s1, &r.s2);
    return r;
}

/* Pass 2 (the same operations) of a row of n >= NORM_BLOCK floats that prefetches x of pf (a
 * later row) as it goes: lines pf[0 .. 256 nblk), 16 before each block's trees
 * (norm_reducepf_avx2()). */
static __attribute__((noinline)) ln_sums_avx2 ln_pass2_pf_avx2(const float *x, size_t n, float c,
                                                              const float *pf)
{
    if (!pf || n < NORM_BLOCK)
        __builtin_unreachable(); /* (the callers': no code for the other cases) */
    ln_sums_avx2 r;
    norm_reducepf_avx2(x, n, c, 1, 1, 1, &r.s1, &r.s2, N2_F32, pf);
    return r;
}

/* Pass 3 over one row; hw / hb (weight / bias present; hw 2: the weight factor 1 + w,
 * LIBNORM_WEIGHT_PLUS_ONE) and nt (non-temporal stores for y past
 * its first 32-byte boundary; norm_stream_job()) are compile-time flags. */
NORM_AVX2_INLINE void ln_out_avx2(float *y, const float *x, const float *w, const float *b,
                                  size_t n, float m0f, float mlof, float rf, int hw, int hb,
                                  int nt, const float *pf, int pfh)
{
    const __m256 m0 = _mm256_set1_ps(m0f), mlo = _mm256_set1_ps(mlof), r = _mm256_set1_ps(rf);
    const __m256 one = _mm256_set1_ps(1.0f), zero = _mm256_setzero_ps();
#define LN_T_(v) _mm256_mul_ps(_mm256_sub_ps(_mm256_sub_ps((v), m0), mlo), r)
#define LN_WF_(wv) (hw == 2 ? _mm256_add_ps(one, (wv)) : (wv))
#define LN_W_(i) (hw ? LN_WF_(_mm256_loadu_ps(w + (i))) : one)
#define LN_B_(i) (hb ? _mm256_loadu_ps(b + (i)) : zero)
#define LN_ST_(p, v) (nt ? _mm256_stream_ps((p), (v)) : _mm256_storeu_ps((p), (v)))
/* k (1..8) elements at i, masked: the head before y's first 32-byte boundary and the tail */
#define LN_PART_(i, k)                                                                         \
    do {                                                                                       \
        __m256i m_ = norm_mask_avx2((ptrdiff_t)(k));                                           \
        __m256 t_ = LN_T_(_mm256_maskload_ps(x + (i), m_));                                    \
        t_ = _mm256_fmadd_ps(t_, hw ? LN_WF_(_mm256_maskload_ps(w + (i), m_)) : one,           \
                             hb ? _mm256_maskload_ps(b + (i), m_) : zero);                     \
        _mm256_maskstore_ps(y + (i), m_, t_);                                                  \
    } while (0)
    size_t i = 0;
    if (nt && (i = norm_nt_head(y, n, 32)) != 0)
        LN_PART_(0, i);
    for (; n - i >= 32; i += 32) {
        __m256 t0 = LN_T_(_mm256_loadu_ps(x + i));
        __m256 t1 = LN_T_(_mm256_loadu_ps(x + i + 8));
        __m256 t2 = LN_T_(_mm256_loadu_ps(x + i + 16));
        __m256 t3 = LN_T_(_mm256_loadu_ps(x + i + 24));
        LN_ST_(y + i, _mm256_fmadd_ps(t0, LN_W_(i), LN_B_(i)));
        LN_ST_(y + i + 8, _mm256_fmadd_ps(t1, LN_W_(i + 8), LN_B_(i + 8)));
        LN_ST_(y + i + 16, _mm256_fmadd_ps(t2, LN_W_(i + 16), LN_B_(i + 16)));
        LN_ST_(y + i + 24, _mm256_fmadd_ps(t3, LN_W_(i + 24), LN_B_(i + 24)));
        if (pf && pfh == 1) {
            /* half the rate (NORM_AVX2_LN_PF2): pf[0 .. n / 2) */
            __builtin_prefetch(pf + i / 2, 0, NORM_AVX2_LN_PFLOC);
        } else if (pf && pfh == 2) {
            /* into L2 (prefetcht2: NORM_AVX2_LN_NT_PLAIN_L2) */
            __builtin_prefetch(pf + i, 0, 1);
            __builtin_prefetch(pf + i + 16, 0, 1);
        } else if (pf) {
            __builtin_prefetch(pf + i, 0, NORM_AVX2_LN_PFLOC);
            __builtin_prefetch(pf + i + 16, 0, NORM_AVX2_LN_PFLOC);
        }
    }
    for (; n - i >= 8; i += 8)
        LN_ST_(y + i, _mm256_fmadd_ps(LN_T_(_mm256_loadu_ps(x + i)), LN_W_(i), LN_B_(i)));
    if (i < n)
        LN_PART_(i, n - i);
#undef LN_PART_
#undef LN_T_
#undef LN_WF_
#undef LN_W_
#undef LN_B_
#undef LN_ST_
}

/* Per-row statistics after pass 2 (or the rare flag). */
typedef struct {
    float m0, mlo, rstd, mean;
    int rare;
} ln_stats_avx2;

/* norm_ln_finish(), with the repeated pass 2 over x when it asks for one. */
NORM_AVX2_INLINE ln_stats_avx2 ln_finish_avx2(const float *x, size_t n, double s0, ln_sums_avx2 s,
                                              float m0, double inv_n, float eps, double *sums)
{
    ln_stats_avx2 st;
    float m0_next = 0.0f;
    st.mlo = st.rstd = st.mean = 0.0f;
    int r = norm_ln_finish(s0, s.s1, s.s2, m0, inv_n, eps, 0, &st.mlo, &st.rstd, &st.mean,
                           &m0_next);
    if (r == NORM_LN_AGAIN) {
        m0 = m0_next;
        s = ln_pass2_avx2(x, n, m0);
        r = norm_ln_finish(s0, s.s1, s.s2, m0, inv_n, eps, 1, &st.mlo, &st.rstd, &st.mean,
                           &m0_next);
    }
    norm_ln_put_sums(sums, s0, s.s1, s.s2);
    st.m0 = m0;
    st.rare = r != NORM_LN_OK;
    return st;
}

/* Pass 3 (or the rare path) and the optional statistics of one row of n = j->dim floats. */
NORM_AVX2_INLINE void ln_emit_avx2(const norm_job *j, size_t row, size_t n,
                                   const ln_stats_avx2 *st, int hw, int hb, int nt,
                                   const float *pf, int pfh)
{
    const float *x = j->x + row * j->xs;
    float *y = j->y + row * j->ys;
    if (st->rare) {
        norm_layernorm_row_rare(y, x, j->w, j->b, j->dim, j->eps,
                                j->mean ? j->mean + row : NULL, j->rstd ? j->rstd + row : NULL,
                                j->wplus);
        return;
    }
    ln_out_avx2(y, x, j->w, j->b, n, st->m0, st->mlo, st->rstd, hw, hb, nt, pf, pfh);
    if (j->mean)
        j->mean[row] = st->mean;
    if (j->rstd)
        j->rstd[row] = st->rstd;
}

/* ---- rows of n <= NORM_LN_SHORT: the short-row order (norm_internal.h) ----
 * One row held in V ymm (V = 4, 8 or 16: n <= 8 V; vector k holds elements 8k .. 8k + 7, so the
 * leaf row j of the canonical lanes is vectors 2j (lanes 0-7) and 2j + 1 (lanes 8-15)); x is
 * loaded once: the vectors inside the row by plain loads, the last partial one by vmaskmovps
 * (masked-out memory never read), those past the row not at all (+0); the leaves zeroed past the
 * row AFTER the shift. full: n = 8 V (a compile-time constant: no masks). vmaskmovps for every
 * vector (as before) measured 2x slower from DRAM (lnab, avx2, 128 MiB of x, streaming jobs,
 * thread CPU ns/row, min of 9, 2026-12-06, old -> new, 1 / 2 threads): w+b 72 80 / 81 -> 39 /
 * 39, 96 97 / 99 -> 45 / 42, 100 105 / 105 -> 52 / 54; plain 72 81 / 81 -> 37 / 38, 96 96 / 98
 * -> 47 / 45, 100 101 / 102 -> 51 / 48 (dims 64 and 128: full, unchanged); in cache (2-row jobs)
 * the same. Per row:
 *   pass 1: the probe, the first min(n, 32) elements = vectors 0-3: lane sums (x - x0) of leaf
 *           rows 0 and 1 (one add per lane group), the float lane total -> s0; m0 as one fma
 *           where inv_k = 1/32 (n >= 32: s0 * inv_k exact, norm_ln_row_m0_x86()), else
 *           norm_ln_m0();
 *   pass 2: d = x - m0 in the same registers, the trees of sums and squares per lane group over
 *           the V / 2 leaf rows (the absent ones +0: only a zero's sign differs from the pruned
 *           tree, which the lane total's + 0 removes), float lane totals -> s1, s2;
 *   finish: norm_ln_row_finish_x86() where inv_n is a power of two (n = 1, 2, .., 128: var as
 *           one fmsub, exact there), else norm_ln_finish();
 *   pass 3: y = fma((d - mlo) * rstd, w, b) from the registers, ordinary stores.
 * The float lane total (ln_ftot_avx2()): lanes l + 8 (the two lane groups), l + 4 (the ymm
 * halves), l + 2, l + 1, in float, then + 0 (a -0 made +0), widened. The fast path leaves the
 * + 0 out: a float sum is -0 only when every addend is, which no total of a row it finishes
 * can be (s0: lane 0's leaf is x0 - x0 = +0; s2: squares; s1: all leaves +-0 make s2 = 0, a
 * rare row). A row it does not finish (pass 2 again, or the rare path) is done again by the
 * slow instance (ln_short_slow_avx2(): any n, the + 0 in, the repeated pass 2 from the
 * registers, the exact definition), which returns 1 for a rare row after storing its NORM_SUMS;
 * the caller then takes its rare path (f32 or 16-bit). */

/* The float lane total of lane sums a (lanes 0-7) and b (8-15), widened, in lane 0; z: + 0. */
NORM_AVX2_INLINE __m128d ln_ftot_avx2(__m256 a, __m256 b, int z)
{
    const __m256 h8 = _mm256_add_ps(a, b);
    const __m128 h4 = _mm_add_ps(_mm256_castps256_ps128(h8), _mm256_extractf128_ps(h8, 1));
    const __m128 h2 = _mm_add_ps(h4, _mm_movehl_ps(h4, h4));
    __m128 h1 = _mm_add_ss(h2, _mm_movehdup_ps(h2));
    if (z)
        h1 = _mm_add_ss(h1, _mm_setzero_ps());
    return _mm_cvtss_sd(_mm_setzero_pd(), h1);
}

/* The in-block trees of one lane group over R = 2, 4 or 8 leaf rows l[0], l[2], .., l[2R - 2]:
 * sums ((l0 + l1) + (l2 + l3)) + .., squares fma(l1, l1, l0 * l0) + .. (norm_t8_avx2()). */
NORM_AVX2_INLINE __m256 ln_stree_avx2(const __m256 *l, int R)
{
#define P_(a) _mm256_add_ps(l[2 * (a)], l[2 * (a) + 2])
    const __m256 s = R == 2 ? P_(0) : _mm256_add_ps(P_(0), P_(2));
    return R <= 4 ? s : _mm256_add_ps(s, _mm256_add_ps(P_(4), P_(6)));
#undef P_
}
NORM_AVX2_INLINE __m256 ln_qtree_avx2(const __m256 *l, int R)
{
#define P_(a) _mm256_fmadd_ps(l[2 * (a) + 2], l[2 * (a) + 2], _mm256_mul_ps(l[2 * (a)], l[2 * (a)]))
    const __m256 s = R == 2 ? P_(0) : _mm256_add_ps(P_(0), P_(2));
    return R <= 4 ? s : _mm256_add_ps(s, _mm256_add_ps(P_(4), P_(6)));
#undef P_
}

static __attribute__((noinline)) int ln_short_slow_avx2(float *y, const float *x, const float *w,
                                                        const float *b, size_t n, float eps,
                                                        int hw, int hb, float *mean, float *rstd,
                                                        double *sums);

/* One row of 1 <= n <= 8 V floats (see above; hw, hb as ln_out_avx2(); mean, rstd, sums: NULL or
 * the row's outputs). slow: the slow instance. Returns 0 (row done) or 1 (a rare row: its
 * NORM_SUMS stored, nothing else written; the caller's rare path does the rest). */
NORM_AVX2_INLINE int ln_short_avx2(float *y, const float *x, const float *w, const float *b,
                                   size_t n, int V, int full, float eps, int hw, int hb,
                                   float *mean, float *rstd, double *sums, int slow, int nt)
{
    enum { VMAX = 16 };
    __m256 xv[VMAX], d[VMAX];
    __m256i m[VMAX];
    const __m256 c = _mm256_broadcast_ss(x);
    for (int k = 0; k < V; k++) {
        if (full) {
            xv[k] = _mm256_loadu_ps(x + 8 * k);
        } else {
            /* plain loads inside the row, none past it (masked loads: 2x slower from DRAM) */
            m[k] = norm_mask_avx2((ptrdiff_t)n - 8 * k);
            if ((size_t)(8 * k + 8) <= n)
                xv[k] = _mm256_loadu_ps(x + 8 * k);
            else if ((size_t)(8 * k) >= n)
                xv[k] = _mm256_setzero_ps();
            else
                xv[k] = _mm256_maskload_ps(x + 8 * k, m[k]);
        }
    }
#define LN_LEAF_(k, s) (full ? _mm256_sub_ps(xv[k], (s))                                      \
                             : _mm256_and_ps(_mm256_sub_ps(xv[k], (s)), _mm256_castsi256_ps(m[k])))
    /* pass 1: the probe, vectors 0-3 (m[k] of k < 4 is all ones when n >= 32) */
    for (int k = 0; k < 4; k++)
        d[k] = LN_LEAF_(k, c);
    const __m128d s0 = ln_ftot_avx2(_mm256_add_ps(d[0], d[2]), _mm256_add_ps(d[1], d[3]), slow);
    const __m128 m0 = n >= 32 ? norm_ln_row_m0_x86(s0, _mm256_castps256_ps128(c), 1.0 / 32.0)
                              : _mm_set_ss(norm_ln_m0(x[0], _mm_cvtsd_f64(s0),
                                                      1.0 / (double)norm_ln_probe(n)));
    /* pass 2 around m0 (the slow instance: again around m0_next when norm_ln_finish() asks) */
    __m256 vm0 = _mm256_broadcastss_ps(m0);
    __m128d s1, s2;
#define LN_PASS2_()                                                                            \
    do {                                                                                       \
        for (int k = 0; k < V; k++)                                                            \
            d[k] = LN_LEAF_(k, vm0);                                                           \
        s1 = ln_ftot_avx2(ln_stree_avx2(d, V / 2), ln_stree_avx2(d + 1, V / 2), slow);         \
        s2 = ln_ftot_avx2(ln_qtree_avx2(d, V / 2), ln_qtree_avx2(d + 1, V / 2), slow);         \
    } while (0)
    LN_PASS2_();
    const double inv_n = 1.0 / (double)n;
    float mlof, rf, meanf;
    if (!slow && (n & (n - 1)) == 0) {
        __m128 vmlo, vr;
        __m128d ml;
        if (__builtin_expect(!norm_ln_row_finish_x86(s0, s1, s2, inv_n, eps, &vmlo, &vr, &ml), 0))
            return ln_short_slow_avx2(y, x, w, b, n, eps, hw, hb, mean, rstd, sums);
        mlof = _mm_cvtss_f32(vmlo);
        rf = _mm_cvtss_f32(vr);
        meanf = mean ? _mm_cvtss_f32(norm_ln_row_mean_x86(m0, ml)) : 0.0f;
    } else {
        float m0f = _mm_cvtss_f32(m0), m0_next = 0.0f;
        mlof = rf = meanf = 0.0f;
        int r = norm_ln_finish(_mm_cvtsd_f64(s0), _mm_cvtsd_f64(s1), _mm_cvtsd_f64(s2), m0f,
                               inv_n, eps, 0, &mlof, &rf, &meanf, &m0_next);
        if (!slow && __builtin_expect(r != NORM_LN_OK, 0))
            return ln_short_slow_avx2(y, x, w, b, n, eps, hw, hb, mean, rstd, sums);
        if (r == NORM_LN_AGAIN) {
            vm0 = _mm256_set1_ps(m0_next);
            LN_PASS2_();
            r = norm_ln_finish(_mm_cvtsd_f64(s0), _mm_cvtsd_f64(s1), _mm_cvtsd_f64(s2), m0_next,
                               inv_n, eps, 1, &mlof, &rf, &meanf, &m0_next);
        }
        if (r != NORM_LN_OK) {
            norm_ln_put_sums(sums, _mm_cvtsd_f64(s0), _mm_cvtsd_f64(s1), _mm_cvtsd_f64(s2));
            return 1;
        }
    }
#undef LN_PASS2_
#undef LN_LEAF_
    norm_ln_put_sums(sums, _mm_cvtsd_f64(s0), _mm_cvtsd_f64(s1), _mm_cvtsd_f64(s2));
    /* pass 3 */
    const __m256 vml = _mm256_set1_ps(mlof), vr = _mm256_set1_ps(rf);
    const __m256 one = _mm256_set1_ps(1.0f), zero = _mm256_setzero_ps();
    for (int k = 0; k < V; k++) {
        if (!full && (size_t)(8 * k) >= n)
            break;
        const int whole = full || (size_t)(8 * k + 8) <= n;
#define LN_LD_(p) (whole ? _mm256_loadu_ps((p) + 8 * k) : _mm256_maskload_ps((p) + 8 * k, m[k]))
        const __m256 t = _mm256_mul_ps(_mm256_sub_ps(d[k], vml), vr);
        const __m256 wv = hw ? LN_LD_(w) : one;
        const __m256 v = _mm256_fmadd_ps(t, hw == 2 ? _mm256_add_ps(one, wv) : wv,
                                         hb ? LN_LD_(b) : zero);
#undef LN_LD_
        if (whole && nt)
            _mm256_stream_ps(y + 8 * k, v);
        else if (whole)
            _mm256_storeu_ps(y + 8 * k, v);
        else
            _mm256_maskstore_ps(y + 8 * k, m[k], v);
    }
    if (mean)
        *mean = meanf;
    if (rstd)
        *rstd = rf;
    return 0;
}

/* The slow instance (any n <= 128, w / b variant at run time). */
static __attribute__((noinline)) int ln_short_slow_avx2(float *y, const float *x, const float *w,
                                                        const float *b, size_t n, float eps,
                                                        int hw, int hb, float *mean, float *rstd,
                                                        double *sums)
{
    return ln_short_avx2(y, x, w, b, n, 16, 0, eps, hw, hb, mean, rstd, sums, 1, 0);
}

/* LN_S128_NT 1: streaming jobs of rows of 128 floats whose y rows start on 32-byte boundaries
 * (ln_s128_nt()) store y non-temporally, whole 32-byte vectors (the other register rows of
 * streaming jobs: ordinary stores). bench/lnab.sh build main avx2 11 128 1|2 3 (x 128 MiB
 * from DRAM, huge pages, thread CPU ns/row min, 2026-12-06, session 26), ordinary ->
 * non-temporal (floor): 1 thread w+b 40 -> 38 (22), plain 38 -> 38 (26); 2 threads (the
 * slower thread; wall) w+b 61 -> 41 (39; wall 30 -> 21, floor 20), plain 50 -> 39 (38; 26 ->
 * 20, 20). A prefetch of x 4, 8 or 16 rows ahead into L2 besides: no better (1 thread 37-46). */
#ifndef LN_S128_NT
#define LN_S128_NT 1
#endif
static inline int ln_s128_nt(const norm_job *j)
{
    return LN_S128_NT && j->dim == 128 && norm_stream_job(j) && ((uintptr_t)j->y & 31) == 0 &&
           j->ys % 8 == 0;
}

/* The rows of job j (n = j->dim <= NORM_LN_SHORT) one by one, n a constant where given (dims 64
 * and 128: cn); a rare row takes norm_layernorm_row_rare() unless x16 (a one-row job of the
 * bf16 / f16 kernel: returns 1 instead). Returns 0 otherwise. */
NORM_AVX2_INLINE int ln_short_rows_avx2(const norm_job *j, size_t r0, size_t n, int V, int full,
                                        int hw, int hb, int x16, int nt)
{
    for (size_t r = r0; r < j->rows; r++) {
        const float *x = j->x + r * j->xs;
        float *y = j->y + r * j->ys;
        float *mean = j->mean ? j->mean + r : NULL, *rstd = j->rstd ? j->rstd + r : NULL;
        if (ln_short_avx2(y, x, j->w, j->b, n, V, full, j->eps, hw, hb, mean, rstd,
                          norm_ln_sums_at(j, r), 0, nt)) {
            if (x16)
                return 1;
            norm_layernorm_row_rare(y, x, j->w, j->b, n, j->eps, mean, rstd, j->wplus);
        }
    }
    return 0;
}

/* The instances: dims 64 and 128 with n a constant, the others by V; the w / b variant; NT: a
 * copy with non-temporal stores (ln_s128_nt()), or 0. */
#define LN_SHORT_VARIANTS_(F, NT, ...)                                                         \
    static __attribute__((noinline)) int F(const norm_job *j, size_t r0, int x16)              \
    {                                                                                          \
        const int hw = !j->w ? 0 : j->wplus ? 2 : 1;                                           \
        if (j->b)                                                                              \
            return hw == 1 ? ln_short_rows_avx2(j, r0, __VA_ARGS__, 1, 1, x16, NT)                  \
                 : hw == 0 ? ln_short_rows_avx2(j, r0, __VA_ARGS__, 0, 1, x16, NT)                  \
                           : ln_short_rows_avx2(j, r0, __VA_ARGS__, 2, 1, x16, NT);                 \
        return hw == 1 ? ln_short_rows_avx2(j, r0, __VA_ARGS__, 1, 0, x16, NT)                      \
             : hw == 0 ? ln_short_rows_avx2(j, r0, __VA_ARGS__, 0, 0, x16, NT)                      \
                       : ln_short_rows_avx2(j, r0, __VA_ARGS__, 2, 0, x16, NT);                     \
    }
LN_SHORT_VARIANTS_(ln_short64_avx2, 0, 64, 8, 1)
LN_SHORT_VARIANTS_(ln_short128_avx2, 0, 128, 16, 1)
LN_SHORT_VARIANTS_(ln_short128nt_avx2, 1, 128, 16, 1)
LN_SHORT_VARIANTS_(ln_short32v_avx2, 0, j->dim, 4, 0)
LN_SHORT_VARIANTS_(ln_short64v_avx2, 0, j->dim, 8, 0)
LN_SHORT_VARIANTS_(ln_short128v_avx2, 0, j->dim, 16, 0)
#undef LN_SHORT_VARIANTS_

/* LN_SHORT_BATCHES 1: cached jobs of at least four rows of n <= NORM_LN_SHORT go in the batches
 * (ln_batches_avx2(), float lane totals); 0: every such row through the register rows. In one
 * process, 32 rows in L1, thread CPU ns/row, min of 41 (2026-12-06), batches / register rows:
 * dim 64 w+b 17.3 / 26.0, plain 15.5 / 24.2; dim 128 w+b 25.3 / 36.7, plain 23.5 / 34.7 (the
 * register row's chain, trees -> lane total -> m0 -> trees -> lane totals -> square root and
 * division -> pass 3, is ~30 ns long; the batches share the square root and division of four
 * rows and interleave their chains). Streaming jobs keep the register rows: the eight-row
 * batches there (non-temporal stores, x prefetched 8 rows ahead, one row after each pair of
 * trees) measured no faster from DRAM (lnab, 128 MiB, thread CPU ns/row, min of 9, 2026-12-06,
 * register rows / batches: w+b 64 25 / 27, 72 38 / 39, 96 47 / 46, 100 48 / 175, 128 51 / 50;
 * plain 64 24 / 26, 72 37 / 36, 96 45 / 43, 100 48 / 173, 128 44 / 48), and 1.3-2.5x slower
 * with ordinary stores or with each batch's prefetches issued at once. */
#ifndef LN_SHORT_BATCHES
#define LN_SHORT_BATCHES 1
#endif
/* The rows r0 .. of job j, n = j->dim <= NORM_LN_SHORT (x16: see ln_short_rows_avx2()). */
static int ln_short_job_avx2(const norm_job *j, size_t r0, int x16)
{
    const size_t n = j->dim;
    if (n == 64)
        return ln_short64_avx2(j, r0, x16);
    if (n == 128)
        return ln_s128_nt(j) ? ln_short128nt_avx2(j, r0, x16) : ln_short128_avx2(j, r0, x16);
    if (n <= 32)
        return ln_short32v_avx2(j, r0, x16);
    if (n <= 64)
        return ln_short64v_avx2(j, r0, x16);
    return ln_short128v_avx2(j, r0, x16);
}

int norm_ln_short_f32_avx2(float *y, const float *x, const float *w, const float *b, size_t n,
                           float eps, int wplus, float *mean, float *rstd, double *sums)
{
    norm_job j;
    norm_job_row(&j, y, x, w, b, n, eps, wplus);
    j.mean = mean;
    j.rstd = rstd;
    j.sums = sums;
    return ln_short_job_avx2(&j, 0, 1);
}

/* The batches (ln_stats4_avx2()): pass 1 and pass 2 of a row of NORM_LN_SHORT < n <= NORM_BLOCK
 * floats (the probe is the whole row), to v[0..3] of their lane totals. */
static __attribute__((noinline)) __m256d ln_h4p1_avx2(const float *x, size_t n, float c)
{
    __m256 sa, qa, sb, qb;
    norm_block_avx2(x, n, c, 1, 1, 0, &sa, &qa, &sb, &qb);
    return norm_lanes_h4_avx2(sa, sb);
}

static __attribute__((noinline)) void ln_h4p2_avx2(const float *x, size_t n, float c,
                                                   __m256d *s1, __m256d *s2)
{
    __m256 sa, qa, sb, qb;
    norm_block_avx2(x, n, c, 1, 1, 1, &sa, &qa, &sb, &qb);
    *s1 = norm_lanes_h4_avx2(sa, sb);
    *s2 = norm_lanes_h4_avx2(qa, qb);
}

/* The short-row batches (ln_stats8s_avx2()): pass 1 and pass 2 of a row of n <= NORM_LN_SHORT
 * floats (the probe its first min(n, 32)), each total to the first step of its float lane total
 * (ln_ftot_avx2()'s h = 8: v[l] + v[l + 8], l = 0..7, lanes 0-7 plus lanes 8-15); inlined where
 * n is a constant (dims 64 and 128: no masks, no branches in the trees), out of line otherwise. */
NORM_AVX2_INLINE __m256 ln_h8p1_inl_avx2(const float *x, size_t n, float c)
{
    __m256 sa, qa, sb, qb;
    norm_block_avx2(x, norm_ln_probe(n), c, 1, 1, 0, &sa, &qa, &sb, &qb);
    return _mm256_add_ps(sa, sb);
}

NORM_AVX2_INLINE void ln_h8p2_inl_avx2(const float *x, size_t n, float c, __m256 *s1, __m256 *s2)
{
    __m256 sa, qa, sb, qb;
    norm_block_avx2(x, n, c, 1, 1, 1, &sa, &qa, &sb, &qb);
    *s1 = _mm256_add_ps(sa, sb);
    *s2 = _mm256_add_ps(qa, qb);
}

static __attribute__((noinline)) __m256 ln_h8p1_avx2(const float *x, size_t n, float c)
{
    return ln_h8p1_inl_avx2(x, n, c);
}

static __attribute__((noinline)) void ln_h8p2_avx2(const float *x, size_t n, float c, __m256 *s1,
                                                   __m256 *s2)
{
    ln_h8p2_inl_avx2(x, n, c, s1, s2);
}

/* The rest of the float lane totals of a batch of R = 4G rows (G = 1 or 2), transposed: rows k
 * and k + 2G (k < 2G) are paired, each step one vector instruction for every row of its
 * operands, each add the definition's (v[l] + v[l + h]: the lower lanes the first operand).
 *   ln_tp4_avx2(a, b): h = 4 of rows a, b (their h = 8 vectors):
 *     [a0 + a4 .. a3 + a7 | b0 + b4 .. b3 + b7];
 *   ln_tp2_avx2(p, q): h = 2 of two such pairs (rows k, k + 2G and k + 1, k + 1 + 2G):
 *     [p0 + p2, p1 + p3, q0 + q2, q1 + q3 | p4 + p6, p5 + p7, q4 + q6, q5 + q7];
 *   ln_ftot8_avx2(u): h = 1 of the two results of h = 2 (G = 2; G = 1: the one, twice), then
 *     + 0 (a -0 made +0), widened: the totals of rows 0-3 (and 4-7) in row order. */
NORM_AVX2_INLINE __m256 ln_tp4_avx2(__m256 a, __m256 b)
{
    return _mm256_add_ps(_mm256_permute2f128_ps(a, b, 0x20), _mm256_permute2f128_ps(a, b, 0x31));
}

NORM_AVX2_INLINE __m256 ln_tp2_avx2(__m256 p, __m256 q)
{
    return _mm256_add_ps(_mm256_shuffle_ps(p, q, _MM_SHUFFLE(1, 0, 1, 0)),
                         _mm256_shuffle_ps(p, q, _MM_SHUFFLE(3, 2, 3, 2)));
}

NORM_AVX2_INLINE void ln_ftot8_avx2(const __m256 u[2], int G, __m256d t[2])
{
    /* G = 2: u = [r0 r0 r1 r1 | r4 r4 r5 r5], [r2 r2 r3 r3 | r6 r6 r7 r7] (each row's two
     * partial totals) -> [r0 r1 r2 r3 | r4 r5 r6 r7]; G = 1: u[0] = [r0 r0 r1 r1 | r2 r2 r3 r3]
     * -> [r0 r1 r0 r1 | r2 r3 r2 r3], rows 0-3 gathered to the low half */
    const __m256 v = G == 2 ? u[1] : u[0];
    __m256 h1 = _mm256_add_ps(_mm256_shuffle_ps(u[0], v, _MM_SHUFFLE(2, 0, 2, 0)),
                              _mm256_shuffle_ps(u[0], v, _MM_SHUFFLE(3, 1, 3, 1)));
    h1 = _mm256_add_ps(h1, _mm256_setzero_ps());
    if (G == 1)
        h1 = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(h1), 0x08));
    t[0] = _mm256_cvtps_pd(_mm256_castps256_ps128(h1));
    if (G == 2)
        t[1] = _mm256_cvtps_pd(_mm256_extractf128_ps(h1, 1));
}

/* Pass 3 and the optional statistics of row row + k of a batch (st: its statistics); a row the
 * first pass 2 did not finish goes through ln_finish_avx2() (norm_ln_finish(): pass 2 again, or
 * the rare path). */
NORM_AVX2_INLINE void ln_out1_avx2(const norm_job *j, size_t row, int k, size_t n,
                                   const norm_ln_st4_avx2 *st, double inv_n, int hw, int hb,
                                   int nt)
{
    const size_t r = row + (size_t)k;
    if ((st->ok >> k) & 1) {
        ln_out_avx2(j->y + r * j->ys, j->x + r * j->xs, j->w, j->b, n, st->m0[k], st->mlo[k],
                    st->rstd[k], hw, hb, nt, NULL, 0);
        if (j->mean)
            j->mean[r] = st->mean[k];
        if (j->rstd)
            j->rstd[r] = st->rstd[k];
    } else if (n <= NORM_LN_SHORT) {
        /* the short-row order: the slow instance (pass 2 again, or the rare path) */
        const float *x = j->x + r * j->xs;
        float *y = j->y + r * j->ys;
        float *mean = j->mean ? j->mean + r : NULL, *rstd = j->rstd ? j->rstd + r : NULL;
        if (ln_short_slow_avx2(y, x, j->w, j->b, n, j->eps, hw, hb, mean, rstd,
                               norm_ln_sums_at(j, r)))
            norm_layernorm_row_rare(y, x, j->w, j->b, n, j->eps, mean, rstd, j->wplus);
    } else {
        ln_sums_avx2 t = {st->s1[k], st->s2[k]};
        ln_stats_avx2 s1 = ln_finish_avx2(j->x + r * j->xs, n, st->s0[k], t, st->m0[k], inv_n,
                                          j->eps, norm_ln_sums_at(j, r));
        ln_emit_avx2(j, r, n, &s1, hw, hb, nt, NULL, 0);
    }
}

/* The batches' shared steps: */
/* m0 = norm_ln_m0() of rows 4g .. 4g + 3 of the batch at x (row stride xs; s0: their pass-1
 * totals; vinvk: 1 / k), lane k computing exactly row 4g + k's, into st->m0; returns them
 * widened. */
NORM_AVX2_INLINE __m256d ln_m04_avx2(norm_ln_st4_avx2 *st, int g, const float *x, size_t xs,
                                     __m256d s0, __m256d vinvk)
{
    x += (size_t)(4 * g) * xs;
    /* m0 = (float)((double)x0 + s0 * inv_k) */
    const __m128 vx0 = _mm_setr_ps(x[0], x[xs], x[2 * xs], x[3 * xs]);
    const __m128 m0 = _mm256_cvtpd_ps(_mm256_add_pd(_mm256_cvtps_pd(vx0),
                                                    _mm256_mul_pd(s0, vinvk)));
    _mm_storeu_ps(st->m0 + 4 * g, m0);
    return _mm256_cvtps_pd(m0);
}

/* norm_ln_finish4_avx2() of the batch's G groups of four, then the NORM_SUMS of the rows it
 * finished (the others store theirs when ln_out1_avx2() finishes them). */
NORM_AVX2_INLINE void ln_finish8_avx2(const norm_job *j, size_t row, int G, norm_ln_st4_avx2 *st,
                                      const __m256d *s0, const __m256d *s1, const __m256d *s2,
                                      const __m256d *vm0, double inv_n)
{
    const __m256d vinv = _mm256_set1_pd(inv_n);
    st->ok = 0;
    for (int g = 0; g < G; g++)
        norm_ln_finish4_avx2(st, g, s0[g], s1[g], s2[g], vm0[g], vinv, j->eps);
    for (int k = 0; j->sums && k < 4 * G; k++)
        if ((st->ok >> k) & 1)
            norm_ln_put_sums(norm_ln_sums_at(j, row + (size_t)k), st->s0[k], st->s1[k],
                             st->s2[k]);
}

/* pv (not NULL): the previous batch's statistics (rows prow .. prow + 4G - 1), whose pass 3
 * (ln_out1_avx2) the functions below emit one row after each pair of this batch's trees (2G in
 * pass 1, 2G in pass 2: all 4G rows). Pass 3 of a row writes only its own y, which is none of
 * these rows' x. */
#define LN_EMIT_()                                                                             \
    do {                                                                                       \
        if (pv) {                                                                              \
            ln_out1_avx2(j, prow, e, n, pv, inv_n, hw, hb, nt);                                \
            e++;                                                                               \
        }                                                                                      \
    } while (0)

/* Pass 1, pass 2 and the statistics of rows row .. row + 4G - 1 (G = 1 or 2, a compile-time
 * constant) of NORM_LN_SHORT < n <= NORM_BLOCK floats each. The rows' trees, lane totals (four
 * rows to a vector), m0 (ln_m04_avx2()) and the finish (ln_finish8_avx2()); the groups'
 * dependency chains are interleaved step by step; pv as above. */
NORM_AVX2_INLINE void ln_stats4_avx2(const norm_job *j, size_t row, size_t n, double inv_n,
                                     int G, norm_ln_st4_avx2 *st,
                                     const norm_ln_st4_avx2 *pv, size_t prow, int hw, int hb,
                                     int nt)
{
    int e = 0; /* the previous batch's rows emitted so far */
    const float *xr = j->x + row * j->xs;
    const size_t xs = j->xs;
    const __m256d vinvk = _mm256_set1_pd(1.0 / (double)norm_ln_probe(n));
    __m256d s0[2], vm0[2], s1[2], s2[2];
    for (int g = 0; g < G; g++) {
        const float *x = xr + (size_t)(4 * g) * xs;
        __m256d u[2];
        for (int h = 0; h < 2; h++) {
            const float *xa = x + (size_t)(2 * h) * xs, *xb = xa + xs;
            u[h] = norm_lanes_pair_avx2(ln_h4p1_avx2(xa, n, xa[0]), ln_h4p1_avx2(xb, n, xb[0]));
            LN_EMIT_();
        }
        s0[g] = norm_lanes_total4_avx2(u[0], u[1]);
    }
    for (int g = 0; g < G; g++)
        vm0[g] = ln_m04_avx2(st, g, xr, xs, s0[g], vinvk);
    for (int g = 0; g < G; g++) {
        const float *x = xr + (size_t)(4 * g) * xs;
        __m256d u[2], w[2];
        for (int h = 0; h < 2; h++) {
            __m256d v[2], q[2];
            for (int k = 0; k < 2; k++) {
                const float *xk = x + (size_t)(2 * h + k) * xs;
                ln_h4p2_avx2(xk, n, st->m0[4 * g + 2 * h + k], &v[k], &q[k]);
            }
            u[h] = norm_lanes_pair_avx2(v[0], v[1]);
            w[h] = norm_lanes_pair_avx2(q[0], q[1]);
            LN_EMIT_();
        }
        s1[g] = norm_lanes_total4_avx2(u[0], u[1]);
        s2[g] = norm_lanes_total4_avx2(w[0], w[1]);
    }
    ln_finish8_avx2(j, row, G, st, s0, s1, s2, vm0, inv_n);
}

/* The same for rows of n <= NORM_LN_SHORT (the short-row order: float lane totals), the rows'
 * totals combined transposed: per pass, row r's h = 8 step is one vector (ln_h8p1_avx2(),
 * ln_h8p2_avx2()), rows k and k + 2G are paired (ln_tp4_avx2()) as soon as both are done, two
 * pairs' h = 2 in one vector (ln_tp2_avx2()), and h = 1, + 0 and the widening of all 4G rows in
 * one (ln_ftot8_avx2()). The rows are read in the order 0, 2G, 1, 2G + 1, .. Against four rows'
 * float totals to four floats each, then two steps for four rows in one vector: normbench, avx2,
 * 1 thread, min, 3 runs alternating (2026-12-06), ns/row old -> new, 32 rows (L1) / 512 (L2):
 * w+b 64 15.3 / 15.7 -> 13.4 / 13.6, 96 26.0 / 25.8 -> 23.1 / 23.1, 128 24.7 / 22.2 -> 22.1 /
 * 20.2; plain 64 13.9 / 14.4 -> 12.6 / 12.9, 96 25.8 / 24.9 -> 21.8 / 22.0, 128 23.8 / 21.0 ->
 * 20.8 / 18.8. */
NORM_AVX2_INLINE void ln_stats8s_avx2(const norm_job *j, size_t row, size_t n, double inv_n,
                                      int cn, int G, norm_ln_st4_avx2 *st,
                                      const norm_ln_st4_avx2 *pv, size_t prow, int hw, int hb,
                                      int nt)
{
    int e = 0; /* the previous batch's rows emitted so far */
    const float *x = j->x + row * j->xs;
    const size_t xs = j->xs, H = 2 * (size_t)G;
    const __m256d vinvk = _mm256_set1_pd(1.0 / (double)norm_ln_probe(n));
    __m256d s0[2], vm0[2], s1[2], s2[2];
    __m256 p[4], u[2], pq[4], uq[2];
    for (size_t k = 0; k < H; k++) {
        const float *xa = x + k * xs, *xb = xa + H * xs;
        const __m256 a = cn ? ln_h8p1_inl_avx2(xa, n, xa[0]) : ln_h8p1_avx2(xa, n, xa[0]);
        const __m256 b = cn ? ln_h8p1_inl_avx2(xb, n, xb[0]) : ln_h8p1_avx2(xb, n, xb[0]);
        p[k] = ln_tp4_avx2(a, b);
        if (k & 1)
            u[k / 2] = ln_tp2_avx2(p[k - 1], p[k]);
        LN_EMIT_();
    }
    ln_ftot8_avx2(u, G, s0);
    for (int g = 0; g < G; g++)
        vm0[g] = ln_m04_avx2(st, g, x, xs, s0[g], vinvk);
    for (size_t k = 0; k < H; k++) {
        const float *xa = x + k * xs, *xb = xa + H * xs;
        __m256 a, aq, b, bq;
        if (cn) {
            ln_h8p2_inl_avx2(xa, n, st->m0[k], &a, &aq);
            ln_h8p2_inl_avx2(xb, n, st->m0[k + H], &b, &bq);
        } else {
            ln_h8p2_avx2(xa, n, st->m0[k], &a, &aq);
            ln_h8p2_avx2(xb, n, st->m0[k + H], &b, &bq);
        }
        p[k] = ln_tp4_avx2(a, b);
        pq[k] = ln_tp4_avx2(aq, bq);
        if (k & 1) {
            u[k / 2] = ln_tp2_avx2(p[k - 1], p[k]);
            uq[k / 2] = ln_tp2_avx2(pq[k - 1], pq[k]);
        }
        LN_EMIT_();
    }
    ln_ftot8_avx2(u, G, s1);
    ln_ftot8_avx2(uq, G, s2);
    ln_finish8_avx2(j, row, G, st, s0, s1, s2, vm0, inv_n);
}
#undef LN_EMIT_

/* Rows of NORM_LN_SHORT < n <= NORM_BLOCK floats, 4 * NORM_AVX2_LN_GROUPS at a time, software-pipelined: the
 * statistics of the next rows are computed with the output of the current ones interleaved
 * (ln_stats4_avx2's pv), so that their dependency chains (tree, lane totals, mean, tree, lane
 * totals, square root and division) overlap the current rows' output. Pass 3 of a row writes
 * only its own y, which is no other row's x (the API forbids any overlap but exactly in place). Then one group of four when four rows are left.
 * Returns the rows done. */
#ifndef NORM_AVX2_LN_GROUPS
#define NORM_AVX2_LN_GROUPS 2
#endif
/* Streaming jobs: the batches prefetch x of the rows NORM_AVX2_LN_BPF batches (of
 * 4 * NORM_AVX2_LN_GROUPS rows) after the one whose statistics are computed next (0: none;
 * norm_ln_prefetch_rows_x86(), src/x86/norm_ln_pf_x86.h). In one process, interleaved, DRAM
 * (64 MiB of x), thread CPU ns/row, min of 15-21 (2026-12-05, a loaded machine), old -> new: dim
 * 128 (then in these batches) plain 76 -> 49 (1 thread), 49 -> 43 (2 threads), w+b 92 -> 76; 2
 * and 4-8 batches ahead alike. */
/* LN_SNT_L2 1: the short-row batches of streaming jobs (ln_short_nt_batches()) prefetch with
 * locality 1 (prefetcht2). */
#ifndef LN_SNT_L2
#define LN_SNT_L2 1
#endif
#ifndef NORM_AVX2_LN_BPF
#define NORM_AVX2_LN_BPF 2
#endif
/* pf: the job streams (prefetch ahead); nt: non-temporal stores; sh: n <= NORM_LN_SHORT
 * (ln_stats8s_avx2(), n a constant where cn says so), else ln_stats4_avx2(). */
NORM_AVX2_INLINE size_t ln_batches_avx2(const norm_job *j, size_t n, double inv_n, int sh, int cn,
                                        int hw, int hb, int nt, int pf)
{
    const int G = NORM_AVX2_LN_GROUPS;
    const size_t nb = 4 * (size_t)G;
    size_t row = 0;
#define LN_STATS_(r, g, s, p, pr)                                                              \
    (sh ? ln_stats8s_avx2(j, r, n, inv_n, cn, g, s, p, pr, hw, hb, nt)                          \
        : ln_stats4_avx2(j, r, n, inv_n, g, s, p, pr, hw, hb, nt))
    pf = pf && NORM_AVX2_LN_BPF;
    if (j->rows >= nb) {
        norm_ln_st4_avx2 st[2];
        int c = 0;
        if (pf)
            norm_ln_prefetch_rows_x86(j, nb, nb * NORM_AVX2_LN_BPF, n, sh && LN_SNT_L2);
        LN_STATS_(0, G, &st[0], NULL, 0);
        for (; j->rows - row >= 2 * nb; row += nb, c ^= 1) {
            if (pf)
                norm_ln_prefetch_rows_x86(j, row + nb + nb * NORM_AVX2_LN_BPF, nb, n,
                                          sh && LN_SNT_L2);
            LN_STATS_(row + nb, G, &st[c ^ 1], &st[c], row);
        }
        for (int k = 0; k < (int)nb; k++)
            ln_out1_avx2(j, row, k, n, &st[c], inv_n, hw, hb, nt);
        row += nb;
    }
    if (G > 1 && j->rows - row >= 4) {
        norm_ln_st4_avx2 st;
        LN_STATS_(row, 1, &st, NULL, 0);
        for (int k = 0; k < 4; k++)
            ln_out1_avx2(j, row, k, n, &st, inv_n, hw, hb, nt);
        row += 4;
    }
#undef LN_STATS_
    return row;
}

NORM_AVX2_INLINE void ln_rows_avx2(const norm_job *j, int hw, int hb, int nt)
{
    const size_t n = j->dim, k = norm_ln_probe(n);
    const double inv_n = 1.0 / (double)n, inv_k = 1.0 / (double)k;
    size_t row = 0;
    if (n == 64)
        row = ln_batches_avx2(j, 64, inv_n, 1, 1, hw, hb, nt, nt);
    else if (n == 128)
        row = ln_batches_avx2(j, 128, inv_n, 1, 1, hw, hb, nt, nt);
    else if (n <= NORM_LN_SHORT)
        row = ln_batches_avx2(j, n, inv_n, 1, 0, hw, hb, nt, nt);
    else if (n <= NORM_BLOCK)
        row = ln_batches_avx2(j, n, inv_n, 0, 0, hw, hb, nt, nt);
    if (n <= NORM_LN_SHORT) {
        ln_short_job_avx2(j, row, 0);
        return;
    }
    /* streaming jobs: their own limits (NORM_AVX2_LN_NT_PAIR_MAX_*) */
    const size_t pmax = !nt                ? (size_t)NORM_AVX2_LN_PAIR_MAX
                        : hw || hb         ? (size_t)NORM_AVX2_LN_NT_PAIR_MAX_AFF
                                           : (size_t)NORM_AVX2_LN_NT_PAIR_MAX_PLAIN;
    const int pfh = !hw && !hb && NORM_AVX2_LN_NT_PLAIN_L2 ? 2 : 0;
    if (n <= pmax) {
        /* Two independent rows, step by step: pass 3 of a row writes only that row's y, which
         * (the API forbids any other overlap) is not the other row's x. */
        ln_stats_avx2 pa, pb; /* the previous pair's statistics (rows row - 2, row - 1) */
        int have = 0;
        for (; j->rows - row >= 2; row += 2) {
            const float *xa = j->x + row * j->xs, *xb = xa + j->xs;
            const float xa0 = xa[0], xb0 = xb[0];
            double sa0 = ln_pass1_avx2(xa, k, xa0);
            double sb0 = ln_pass1_avx2(xb, k, xb0);
            if (have)
                ln_emit_avx2(j, row - 2, n, &pa, hw, hb, nt, NULL, 0);
            float ma0 = norm_ln_m0(xa0, sa0, inv_k), mb0 = norm_ln_m0(xb0, sb0, inv_k);
            ln_sums_avx2 sa = ln_pass2_avx2(xa, n, ma0);
            ln_sums_avx2 sb = ln_pass2_avx2(xb, n, mb0);
            if (have)
                ln_emit_avx2(j, row - 1, n, &pb, hw, hb, nt, NULL, 0);
            pa = ln_finish_avx2(xa, n, sa0, sa, ma0, inv_n, j->eps, norm_ln_sums_at(j, row));
            pb = ln_finish_avx2(xb, n, sb0, sb, mb0, inv_n, j->eps,
                                norm_ln_sums_at(j, row + 1));
            have = 1;
            if (nt) {
                /* streaming jobs: each pair's output right after its statistics (pipelined,
                 * 1.2-1.3x slower from DRAM at dims 768-2048) */
                const size_t rn = row + 2 * (size_t)NORM_AVX2_LN_PF;
                const float *pfa = NORM_AVX2_LN_PF && rn < j->rows ? xa + (rn - row) * j->xs
                                                                   : NULL;
                const float *pfb = NORM_AVX2_LN_PF && rn + 1 < j->rows ? pfa + j->xs : NULL;
                ln_emit_avx2(j, row, n, &pa, hw, hb, nt, pfa, pfh);
                ln_emit_avx2(j, row + 1, n, &pb, hw, hb, nt, pfb, pfh);
                have = 0;
            }
        }
        if (have) {
            ln_emit_avx2(j, row - 2, n, &pa, hw, hb, nt, NULL, 0);
            ln_emit_avx2(j, row - 1, n, &pb, hw, hb, nt, NULL, 0);
        }
    }
    /* The rows left one at a time. */
    for (; row < j->rows; row++) {
        const float *x = j->x + row * j->xs;
        const float x0 = x[0];
        const float *pf = nt && NORM_AVX2_LN_PF1 && row + NORM_AVX2_LN_PF1 < j->rows
                              ? x + NORM_AVX2_LN_PF1 * j->xs
                              : NULL;
        /* NORM_AVX2_LN_PF2: pass 2 prefetches pf[0 .. 256 nblk), pass 3 the rest */
        const int pf2 = NORM_AVX2_LN_PF2 && pf && n > pmax;
        double s0 = ln_pass1_avx2(x, k, x0);
        float m0 = norm_ln_m0(x0, s0, inv_k);
        ln_sums_avx2 s = pf2 ? ln_pass2_pf_avx2(x, n, m0, pf) : ln_pass2_avx2(x, n, m0);
        ln_stats_avx2 st = ln_finish_avx2(x, n, s0, s, m0, inv_n, j->eps,
                                          norm_ln_sums_at(j, row));
        ln_emit_avx2(j, row, n, &st, hw, hb, nt,
                     pf2 ? pf + n / NORM_BLOCK * (NORM_BLOCK / 2) : pf, pf2);
    }
}

/* LN_SHORT_NT 1: streaming jobs of rows of 64 floats whose y rows start on 32-byte boundaries go
 * in the batches too (non-temporal stores, pipelined), their prefetches with locality 1
 * (prefetcht2) where LN_SNT_L2 (measured in the header comment; dim 128 measured slower there). */
#ifndef LN_SHORT_NT
#define LN_SHORT_NT 1
#endif
static inline int ln_short_nt_batches(const norm_job *j)
{
    return LN_SHORT_NT && j->dim == 64 && j->rows >= 4 &&
           ((uintptr_t)j->y & 31) == 0 && j->ys % 8 == 0;
}

void norm_layernorm_f32_avx2(const norm_job *j)
{
    const int nt = norm_stream_job(j);
    if (j->dim <= NORM_LN_SHORT &&
        (nt ? !ln_short_nt_batches(j) : j->rows < 4 || LN_SHORT_BATCHES == 0)) {
        ln_short_job_avx2(j, 0, 0);
        return;
    }
    /* one instance of the row loop per weight/bias variant and store kind (streaming jobs:
     * non-temporal) */
#define LN_ROWS(HW, HB) (nt ? ln_rows_avx2(j, HW, HB, 1) : ln_rows_avx2(j, HW, HB, 0))
    if (j->w && j->wplus) {
        if (j->b)
            LN_ROWS(2, 1);
        else
            LN_ROWS(2, 0);
    } else if (j->w) {
        if (j->b)
            LN_ROWS(1, 1);
        else
            LN_ROWS(1, 0);
    } else {
        if (j->b)
            LN_ROWS(0, 1);
        else
            LN_ROWS(0, 0);
    }
#undef LN_ROWS
    if (nt && j->stream != NORM_STREAM_NOFENCE)
        _mm_sfence();
}

/* ---- one row (norm_dsp.layernorm_row_f32: the entry points' rows = 1 calls) ----
 * Rows of n <= NORM_LN_SHORT: ln_short_avx2() in one small out-of-line instance per class of n
 * (ln_short_job_avx2()'s: dims 64 and 128 with n a constant, else V = 4, 8, 16 with n's range
 * given to the compiler) and weight/bias variant, tail-called from the row function, which
 * keeps no frame and builds no job; longer rows: the general kernel on a job of the row.
 * gcc's loop distribution turned ln_short_avx2()'s loads of x into a copy of the row to the
 * stack in these instances (not in the job's): hence no-tree-loop-distribute-patterns (an
 * optimization option added to the command line's; -ffp-contract=off stays).
 * Measured (2026-12-06, alternating with main, which ran ln_short_job_avx2() on a job of one
 * row, LIBNORM_ISA=avx2, min): /tmp harness of 2000 API calls w+b (min of 200, thread CPU) dim
 * 64 back to back 29.2 -> 24.0 ns, chained 40.7 -> 37.6; dim 128 37.3 -> 35.9, chained 46.8 ->
 * 48.5 (its instance spills: 16 ymm of x); normbench --single 64,128 --stat min (API, 4
 * alternations) dim 64 32.3 -> 25.7, dim 128 46.7 -> 38.0. */
static __attribute__((noinline)) int ln_row_job_avx2(float *y, const float *x, const float *w,
                                                     const float *b, size_t n, float eps,
                                                     int wplus)
{
    norm_job j;
    norm_job_row(&j, y, x, w, b, n, eps, wplus);
    norm_layernorm_f32_avx2(&j);
    return 0;
}

/* The instance of class C (n NN, V ymm, full: ln_short_avx2()'s; lo < n <= 8 V) and variant
 * HW, HB; a rare row goes to norm_layernorm_row_rare(). */
#define LN_ROW_INST_(C, NN, V, FULL, LO, HW, HB)                                               \
    static __attribute__((noinline, optimize("no-tree-loop-distribute-patterns"))) int       \
        ln_row_##C##_##HW##_##HB##_avx2(                                                       \
        float *y, const float *x, const float *w, const float *b, size_t n, float eps,         \
        int wplus)                                                                             \
    {                                                                                          \
        if (!(FULL) && (n > 8 * (V) || n <= (LO)))                                            \
            __builtin_unreachable();                                                           \
        if (ln_short_avx2(y, x, w, b, (NN), (V), (FULL), eps, (HW), (HB), NULL, NULL, NULL,    \
                          0, 0))                                                               \
            norm_layernorm_row_rare(y, x, w, b, n, eps, NULL, NULL, wplus);                    \
        return 0;                                                                              \
    }
#define LN_ROW_INSTS_(C, NN, V, FULL, LO)                                                      \
    LN_ROW_INST_(C, NN, V, FULL, LO, 0, 0) LN_ROW_INST_(C, NN, V, FULL, LO, 0, 1)              \
    LN_ROW_INST_(C, NN, V, FULL, LO, 1, 0) LN_ROW_INST_(C, NN, V, FULL, LO, 1, 1)              \
    LN_ROW_INST_(C, NN, V, FULL, LO, 2, 0) LN_ROW_INST_(C, NN, V, FULL, LO, 2, 1)
LN_ROW_INSTS_(d64, 64, 8, 1, 63)
LN_ROW_INSTS_(d128, 128, 16, 1, 127)
LN_ROW_INSTS_(v4, n, 4, 0, 0)
LN_ROW_INSTS_(v8, n, 8, 0, 32)
LN_ROW_INSTS_(v16, n, 16, 0, 64)
#undef LN_ROW_INSTS_
#undef LN_ROW_INST_

int norm_layernorm_row_f32_avx2(float *y, const float *x, const float *w, const float *b,
                                size_t n, float eps, int wplus)
{
    if (n > NORM_LN_SHORT)
        return ln_row_job_avx2(y, x, w, b, n, eps, wplus);
#define LN_ROW_(C, HW, HB) return ln_row_##C##_##HW##_##HB##_avx2(y, x, w, b, n, eps, wplus)
#define LN_ROW_HB_(C, HW)                                                                      \
    do {                                                                                       \
        if (b)                                                                                 \
            LN_ROW_(C, HW, 1);                                                                 \
        LN_ROW_(C, HW, 0);                                                                     \
    } while (0)
#define LN_ROW_C_(C)                                                                           \
    do {                                                                                       \
        if (w && !wplus)                                                                       \
            LN_ROW_HB_(C, 1);                                                                  \
        if (!w)                                                                                \
            LN_ROW_HB_(C, 0);                                                                  \
        LN_ROW_HB_(C, 2);                                                                      \
    } while (0)
    if (n == 64)
        LN_ROW_C_(d64);
    if (n == 128)
        LN_ROW_C_(d128);
    if (n <= 32)
        LN_ROW_C_(v4);
    if (n <= 64)
        LN_ROW_C_(v8);
    LN_ROW_C_(v16);
#undef LN_ROW_C_
#undef LN_ROW_HB_
#undef LN_ROW_
}
