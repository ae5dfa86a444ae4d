/*
 * LayerNorm, AVX-512 tier: the canonical order of src/norm_internal.h with 16 lanes per zmm
 * (helpers in norm_avx512.h), bit-identical to the scalar reference.
 *
 * Per row: pass 1 totals the leaves (x - x[0]) of the probe (norm_ln_probe(n): the first
 * min(n, 512), min(n, 32) for short rows) -> m0; pass 2 totals d = (x - m0) and d^2 in one sweep
 * -> norm_ln_finish() (which may ask for pass 2 once more around a better m0, or send the row to
 * the shared rare path); pass 3 writes y = fma(((x - m0) - mlo) * rstd, w, b), with broadcast
 * 1 / 0 for a NULL weight / bias.
 *
 * Scheduling (none of it changes an operation; every output is the scalar reference's):
 *   - (2026-12-06, session 23) Short rows (n <= NORM_LN_SHORT = 128, the short-row order of
 *     norm_internal.h: a 32-element probe, float lane totals) go through ln_short_avx512()
 *     (norm_ln_short_avx512.h): each row held in registers for its three passes, the rows of a
 *     job LN_SHORT_NR4 (n <= 64) or LN_SHORT_NR8 at a time in one interleaved chain, cached and
 *     streaming jobs alike (ordinary stores), and the API's rows = 1 calls by the same function.
 *     This replaced, for those rows, the eight-row batches (pipelined, non-temporal in streaming
 *     jobs), the dim-64 ordinary-store batches, the dim-128 streaming row loop and the
 *     constant-dim one-row functions of sessions 21-22. One row alone is one dependency chain
 *     (the API's decode calls); a group of rows interleaved gives the out-of-order core
 *     independent work, which measured best in L1/L2, while from DRAM (and from L3 at dim
 *     128) the plain row loop did (its loads stream behind the previous rows' chains).
 *     Measured 2026-12-06 (a loaded 2-vCPU machine), old (main: batches, row loop, constant-dim
 *     row functions) -> new, ns/row: normbench --op ln,ln-plain --dim 64,128 --rows 32
 *     --threads 1 --tier avx512,api --single 64,128 --stat min, 5 alternations, min: in cache
 *     32 rows w+b 64 19.6 -> 18.0, 128 27.8 -> 27.0, plain 64 19.0 -> 17.3, 128 26.5 -> 26.4;
 *     rows = 1 through the API 64 30.3 -> 30.0, 128 39.0 -> 35.1. bench/lnab.sh build main
 *     avx512 9 64,128 3 3 (x 128 MiB from DRAM, thread CPU min): w+b 64 32 -> 24 (2 threads 32
 *     -> 25), 128 46 -> 42 (45 -> 42); plain 64 31 -> 23 (31 -> 24), 128 42 -> 40 (43 -> 42).
 *     Groups of rows (nr): n <= 64 four at a time (DRAM w+b 64 23 against 25 one by one); dim
 *     128 two at a time in L1/L2 (32 rows in cache 27.5 against 35.5 one by one) but one by one
 *     from DRAM (45 against 65 in pairs) and from L3 (x 8 MiB, not streaming: w+b 37 against
 *     45, plain 35 against 33; hence LN_SHORT_SMALL). Not better than the old batches there: L3
 *     (x 8 MiB) at dim 128, old 31 -> new 36 ns/row in one run (51 -> 37 in another).
 *   - (2026-12-06, session 24) In jobs that do not stream, short rows go SIXTEEN at a time
 *     first (ln_short16_avx512(); the rows left over as above): pass 1 of the sixteen rows, their
 *     float lane totals combined transposed (ft16_*_avx512() in norm_ln_short_avx512.h: the
 *     rows' lane-sum vectors packed side by side after each halving step, the sixteen totals
 *     ending in one vector), m0 for the sixteen rows as vectors of doubles, pass 2 likewise, the
 *     finish eight rows to a vector (ln_finish8_avx512()), then pass 3 row by row; the rows are
 *     read from memory (L1) in each pass. The horizontal steps and the double-precision finish,
 *     most of a short row's work, cost a sixteenth each. Measured (normbench --op ln,ln-plain
 *     --dim 64,96,128 --rows 32,512 --threads 1 --tier avx512 --stat min, main and this
 *     alternately, 2 rounds), ns/row old -> new: w+b 64 18.0-18.2 -> 11.5-11.7, 96 24 -> 17.5,
 *     128 24.6-27.3 -> 18.2-19.2; plain 64 17.4-17.8 -> 11.5, 96 23.7 -> 17.6, 128 24-26.4 ->
 *     18.2-19.0; from L3 (4096-16384 rows, not streaming) w+b 64 18.3-18.7 -> 12.1, 128
 *     35.2-36.1 -> 19.4-22.0. Not in streaming jobs: from DRAM (bench/lnab.sh, x 128 MiB) the
 *     batches measured 1.3-1.6x slower at dim 64 and 2-2.5x at dim 128 than the row loop,
 *     with ordinary or non-temporal stores, with the next batch prefetched at once or line by
 *     line during pass 3, in quad or in natural row order (cpu-clock samples on the prefetches
 *     and the stores: the misses of a batch's rows are not overlapped with its computing as the
 *     row loop's are). Software-pipelining the sixteen-row batches (the next batch's statistics
 *     before this batch's pass 3) measured no better in cache (bench/regab.sh: 0.98-1.07x).
 *   - (2026-12-06, session 25) Streaming jobs of short rows of whole vectors (n = 16, 32, 64,
 *     128) with y rows on 64-byte boundaries go sixteen at a time too, software-pipelined
 *     (ln_short16p_avx512()): batch k's statistics (ln16_stats_avx512()) with pass 3 of batch
 *     k - 1 spread over its pass 1 (one row of output after each row's loads), every store a
 *     whole-line non-temporal one, and x of the rows 16 KiB ahead (LN16P_PF) prefetched into L2
 *     (prefetcht2, LN16_PF_LOC 1) during pass 2, row by row in natural order. What had made the
 *     batches lose from DRAM (session 24, above): (1) pass 3 stored the second half of a row's
 *     vectors (the ones the code treats as possibly partial) with masked ordinary stores next to
 *     the first half's, and a row's masked ordinary stores next to non-temporal ones cost 2-3x;
 *     storing every vector whose mask is whole non-temporally took the batches from 46-49 to
 *     16-23 ns/row at dim 64; (2) prefetches into L1 (prefetcht0) hold a miss buffer each until
 *     DRAM answers: with the stores left out, reading alone took 35 ns/row with prefetcht0 or
 *     prefetcht1, 22 with prefetcht2 and 19 with prefetchnta. Measured (bench/lnab.sh build main
 *     avx512 7-9 DIMS 1|3 3, x 128 MiB, huge pages, thread CPU ns/row min; main's row loop ->
 *     this (floor)): w+b 64 20-21 -> 16 (12), plain 64 19-20 -> 14-15 (12), 2 threads w+b 64
 *     21 -> 16, plain 20 -> 15; w+b 32 15 -> 11 (6), 16 13 -> 8 (3); 128 37 -> 32-35 (24-25),
 *     plain 35-37 -> 30-34. 8 or 32 KiB ahead measured alike; 1 batch ahead a little slower.
 *     Dims 96 and 100 (masked vectors, y rows off 64-byte boundaries) measured 37 -> 55 and
 *     38 -> 65 through the batches: they keep the row loop (ln_short16p_fits()).
 *   - Rows of NORM_LN_SHORT < n <= LN_BATCH_MAX go eight at a time: the eight trees are
 *     independent work, and the per-row scalar steps (lane totals, mean, statistics, 1/sqrt) run
 *     for the eight rows together, lane k of a vector of doubles doing exactly row k's scalar
 *     arithmetic. In streaming jobs, batches of rows up to LN_PIPE_NT_MAX are
 *     software-pipelined: the next eight rows' passes 1 and 2 run before this eight's pass 3,
 *     which is placed right after the next rows' pass-2 trees (before their lane totals and
 *     1/sqrt: measured 0.5-1 ns/row less at dims 64-128 in cache than after them, when those
 *     dims were batched), and is cut into four pairs of rows spread over the next rows' trees.
 *   - Streaming jobs (from DRAM) prefetch x LN_PF_DIST batches ahead. Why they need it: the next
 *     batch's pass-1 loads miss, and everything the core could do meanwhile (this batch's pass 3)
 *     comes 300-600 instructions later in program order, beyond the reorder window, so each
 *     batch paid a DRAM latency that the hardware prefetchers did not hide (cpu-clock samples
 *     piled up behind the stores that could not retire). A prefetch retires at once. Measured
 *     in one process, interleaved, 1 thread, thread CPU ns/row (min of 30; 2026-12-05, a loaded
 *     machine): dim 64 w+b 33-39 -> 21-26 (AVX2 27-33), dim 128 54-60 -> 28-54 (AVX2 52-67);
 *     2 threads: dim 64 19.0 -> 12.9, dim 128 38.7 -> 25.8. Distances of 1-4 batches measured
 *     alike; L2 hints (locality 2) a little slower.
 *   - Other rows go two at a time: two independent dependency chains (tree -> lane total -> mean
 *     -> tree -> lane totals -> 1/sqrt -> output) overlap in the out-of-order core, and pass 3
 *     of the pair is one loop, so each weight and bias vector is loaded once per two rows.
 *   - Pass 3 recomputes d = x - m0 rather than reading it back from y: storing d in pass 2
 *     (an earlier version did) measured 5-20% slower once pass 1 read only the probe.
 *   - Streaming jobs (norm_stream_job() in norm_internal.h: x and y from and to DRAM) write y
 *     with non-temporal stores (cached stores in the pipelined batches measured slower: dim 64
 *     38 vs 22 ns/row, when dim 64 was batched), except the short rows (above).
 *   - Streaming pairs (rows longer than LN_BATCH_MAX, and the pairs left after the batches)
 *     prefetch x of the pair LN_NT_PF pairs ahead line by line during pass 3, one prefetch per
 *     64-byte store. Why: cpu-clock samples (dim 768 from DRAM) piled up on the instruction
 *     after the non-temporal stores (35% of the kernel's samples): while pass 3 drained its
 *     stores no read was in flight, and the next pair's pass 1 then waited for DRAM again, so a
 *     pair cost its reads plus its writes (~ floor + compute). With the prefetches the reads of
 *     the pairs ahead overlap the stores. Measured in one process, interleaved, 1 thread, DRAM
 *     (64 MiB of x), min of 15 (2026-12-05, a loaded machine), ns/row old -> new (oneDNN,
 *     NT-store floor): w+b 768 331 -> 176 (291, 139), 1024 389 -> 207 (326, 182), 2048 648 ->
 *     441 (694, 427); plain 768 275 -> 127 (181, 121), 1024 401 -> 190 (305, 172), 2048 661 ->
 *     465 (692, 372). 1 or 2 pairs ahead measured alike at 1024-2048 (2 better at 768); an L2
 *     hint (locality 2) no better. An earlier note here said prefetching the next rows (whole
 *     rows, or line by line during pass 2 or 3) measured no net gain on the bench; why that
 *     differs from these in-process runs was not investigated.
 *   - Long rows (n > LN_PAIR_MAX) of streaming jobs: single rows (no affine) prefetch x of the
 *     next row (LN_NT_PF1) during pass 3, one line per 64-byte store, so the probe comes first
 *     and then the rest; rows with affine keep their pairs and their prefetch LN_NT_PFP pairs
 *     ahead. Into L1 even when a row is larger than the 48 KiB L1D: L2 hints measured slower at
 *     every length. In one process, interleaved, 1 thread, DRAM (64 MiB of x), thread CPU
 *     ns/row (2026-12-05, a loaded machine), old -> new (NT-store floor, oneDNN): plain 4096
 *     2348 -> 1599 (1437, 2308; min of 25; 2 rows ahead 1636, an L2 hint 1700); 16384 9220 ->
 *     7143 (5397, 9118; min of 15; L2 hint 8144); 65536 33452 -> 26724 (21009, 46372; min of 11;
 *     L2 hint 29461). w+b 4096 (pairs, already prefetching): 2209 -> 2224, within noise; 1 pair
 *     ahead, or single rows with the next-row prefetch, measured 2051-2064 against 2048 old in
 *     another run (oneDNN 1984-2227), so the pairs stayed then.
 *   - (2026-12-06) Long rows with weight or bias now go one at a time too (LN_NT_WBP 0), and
 *     their pass 2 prefetches the first half of the next row's x, 16 lines before each
 *     512-float block it reduces, pass 3 the second half at half the rate (LN_NT_PF2): the
 *     reads spread over passes 2 and 3 instead of sharing pass 3 with the non-temporal stores
 *     (cpu-clock samples of the pairs, w+b 4096 from DRAM: 41% of the kernel's on the
 *     instruction after pass 3's stores). In one process, interleaved, DRAM (64 MiB of x unless
 *     said), thread CPU ns/row, min of 7-15 (2026-12-06, compiles on both cores), pairs ->
 *     singles + LN_NT_PF2 (NT-store floor): w+b 4096 1 thread 1266 -> 1143 (1029), 1452 ->
 *     1225 (1093), 1303 -> 1269 (895; 128 MiB); 8192 2470 -> 2374 (3095); 16384 4885 -> 4136
 *     (4706), 6274 -> 6146 (5339; 128 MiB); 2 threads 4096 681 -> 547, 8192 1950 -> 1192,
 *     16384 3631 -> 3706 (noisy: the second thread shared its core with compiles). Still 70% of
 *     the floor at 4096 where the AVX2 tier, with the same scheme, measured 857 (104%): why
 *     was not found. Not kept: LN_NT_PF2 for the rows without affine (4096 872 -> 886, 16384
 *     3364 -> 3656); a software-pipelined long-row loop (pass 3 of the previous row cut into
 *     one slice per block of this row's pass 2, the next row prefetched block by block), w+b
 *     4096 1452 -> 1413 against 1225 for LN_NT_PF2, plain 872 -> 868.
 *   - (session 26) ... and so do those of 1025-2048 floats (LN_NT_WB_PAIR_MAX): 2048 1 thread
 *     650-678 -> 524-551 ns/row from DRAM.
 *   - (2026-12-06, session 22; replaced in session 23, above) Streaming jobs at dim 128 went
 *     row by row, each row held in registers, ordinary stores: the batches issue 64 lines of
 *     loads for eight rows, then a burst of stores; the row loop streams 8 lines in and 8 out per
 *     row, and the out-of-order core overlaps consecutive rows' chains. On that session's machine
 *     the batches took ~compute + memory (dim 128 w+b: 28 ns/row in cache, 70-80 from DRAM
 *     against a 26-34 ns floor); bench/lnab.sh avx512 15 64,128 3 3 (x 128 MiB, thread CPU
 *     ns/row, min of 15), batches -> row loop (NT-store floor): w+b 128 1 thread 70 -> 41 (26),
 *     2 threads 71 -> 43 (27); plain 62 -> 39 (26), 2 threads 62 -> 39 (28). Not taken then: the
 *     row loop with non-temporal stores (54 against 42, w+b 128 1 thread; dim 64 38 against 29);
 *     with a software prefetch 4 or 8 rows ahead (53, 57 against 48).
 *   - (2026-12-06, session 21) Pass 3's non-temporal stores write each 64-byte line as two
 *     32-byte vmovntps of the zmm's halves (LN_NT_YMM), as the AVX2 tier's stores do: the same
 *     values to the same addresses. In one process, interleaved (bench/lnab.sh), DRAM (128 MiB
 *     of x), thread CPU ns/row min of 15-21, one 64-byte store -> two halves (NT floor): w+b
 *     4096 1 thread 1476 -> 1427 (1195), 1461 -> 1424 (1209); 2 threads 1492 -> 1451, 1450 ->
 *     1418; 16384 6362 -> 6162 (5461), 6121 -> 6017; 2 threads 6431 -> 6166, 6110 -> 6037; plain
 *     4096 1060 -> 1056, 2 threads 1063 -> 1083; 16384 4755 -> 4613; 768 (pairs) w+b 313 -> 320,
 *     plain 279 -> 269. The w+b rows still reach only ~84% of the floor at 4096 against ~95% for
 *     the AVX2 tier in the same runs (cpu-clock: half the kernel's samples in pass 3, most on
 *     the instructions after its stores; the pass-3 loop keeps m0, mlo and rstd in registers).
 *     Not kept (same runs): pass 2 prefetching more of the next row (24 or 32 lines per block,
 *     pass 3 the rest: 83%, 81% against 87%) or less (8 lines: 79% against 83%); the next row
 *     but one (LN_NT_PF1 2: w+b alike, plain 4096 -7%).
 */
#include "norm_avx512.h"
#include "../x86/norm_ln_pf_x86.h"

/* Rows up to this long (and longer than NORM_LN_SHORT) go eight at a time (one partial block
 * each); longer ones in pairs (measured at 32 rows: dim 640 96 ns/row paired vs 111 batched, 768
 * 108 vs 120). */
#ifndef LN_BATCH_MAX
#define LN_BATCH_MAX 512
#endif
/* The batches of cached jobs are not software-pipelined (dim 512, 32 rows in cache, measured
 * 46-51 ns/row unpipelined against 52-60 pipelined); those of streaming jobs (x from DRAM) are, up
 * to here (DRAM, 1 thread, ns/row: dim 256 107 -> 89 pipelined; 384 and 512 no gain). */
#ifndef LN_PIPE_NT_MAX
#define LN_PIPE_NT_MAX 256
#endif
/* Rows longer than this go in pairs only with a weight or bias (pass 3 of a pair loads each
 * weight and bias vector once for both rows; without them a pair only doubles the footprint:
 * LayerNorm without affine, 32 rows, measured 437 vs 479 ns/row at dim 4096, 1010 vs 1083 at
 * 8192, single vs paired). */
/* Streaming pairs: pass 3 prefetches x of the pair this many pairs ahead (0: none), with this
 * locality hint (3: L1). LN_NT_ORD 1 (experiments only): ordinary stores for streaming pairs. */
#ifndef LN_NT_PF
#define LN_NT_PF 2
#endif
/* The same for rows without weight and bias: 1 pair ahead since session 25 (bench/lnab.sh build
 * main avx512 7 768,1024,2048 3 2, x 128 MiB from DRAM, huge pages, thread CPU ns/row min, 2
 * pairs -> 1 (floor), 1 thread: 768 236 -> 204 (153), 1024 369 -> 338 (202), 2048 622 -> 588
 * (404); 2 threads 291 -> 273, 432 -> 404, 904 -> 823; with weight and bias 1 pair measured
 * worse: w+b 768 167 -> 227). */
/* Streaming jobs: rows without weight and bias longer than this go one at a time (the pairs
 * only up to it). bench/lnab.sh build HEAD avx512 7 768,1024,2048 1 2 (x 128 MiB from DRAM,
 * huge pages, thread CPU ns/row min, 2026-12-06, session 25), pairs -> single rows: 1 thread
 * 768 209 -> 159 (floor 150), 1024 329 -> 220 (215), 2048 584 -> 497 (402); 2 threads 269 ->
 * 234, 394 -> 374, 727 -> 677; the rows with weight and bias (unchanged) level. */
#ifndef LN_NT_PLAIN_PAIR_MAX
#define LN_NT_PLAIN_PAIR_MAX 512
#endif
/* Streaming jobs: rows with weight or bias longer than this go one at a time (with LN_NT_PF2),
 * the pairs only up to it (LN_PAIR_MAX, 2048, until session 26). normbench --op ln --dim 2048
 * --rows dram --tier avx512 (2026-12-06, session 26, two builds alternating, two runs): 1
 * thread 650-678 -> 524-529 ns/row; 2 threads 290-366 -> 313-321 (the noise). */
#ifndef LN_NT_WB_PAIR_MAX
#define LN_NT_WB_PAIR_MAX 1024
#endif
#ifndef LN_NT_PF_PLAIN
#define LN_NT_PF_PLAIN 1
#endif
#ifndef LN_NT_PFLOC
#define LN_NT_PFLOC 3
#endif
/* Rows of at most this many floats prefetch with locality 1 (prefetcht2) instead (0: none).
 * bench/lnab.sh build main avx512 5-7 768,1024,2048 1|2 7 (x 128 MiB from DRAM, huge pages,
 * thread CPU ns/row min, 2026-12-06, session 25), locality 3 -> 1 (floor), 1 thread: w+b 768
 * 293-297 -> 166-167 (150-153), plain 258-267 -> 214-239 (147-151), w+b 1024 378 -> 243 (198),
 * plain 336 -> 312 (177); 2 threads w+b 768 352 -> 277 (257), plain 424 -> 287, w+b 1024 420
 * -> 352 (315), plain 382 -> 404; at 2048 worse (plain 625 -> 677, 1 thread): hence 1024. */
#ifndef LN_PF_L2_MAX
#define LN_PF_L2_MAX 1024
#endif
#ifndef LN_NT_ORD
#define LN_NT_ORD 0
#endif
#ifndef LN_PAIR_MAX
#define LN_PAIR_MAX 2048
#endif
/* Long rows (n > LN_PAIR_MAX) of streaming jobs: pass 3 prefetches x of the row LN_NT_PF1 rows
 * ahead (single rows) or of the pair LN_NT_PFP pairs ahead (rows with weight or bias, which go
 * in pairs), one 64-byte line per store (0: none), with locality LN_NT_PFLOC. */
#ifndef LN_NT_PF1
#define LN_NT_PF1 1
#endif
#ifndef LN_NT_PFP
#define LN_NT_PFP 2
#endif
/* Long rows of streaming jobs with weight or bias: 1 in pairs (LN_NT_PFP), 0 one at a time
 * (LN_NT_PF1, LN_NT_PF2; measured in the header comment). */
#ifndef LN_NT_WBP
#define LN_NT_WBP 0
#endif
/* Long single rows of streaming jobs with weight or bias: 1, pass 2 prefetches the first half
 * of the next row's x (16 lines before each 512-float block it reduces) and pass 3 the rest at
 * half the rate (two lines per four 64-byte stores); 0, pass 3 prefetches the whole next row (as
 * the rows without: LN_NT_PF2 measured 0-9% slower there). */
#ifndef LN_NT_PF2
#define LN_NT_PF2 1
#endif
/* Pass 3 of streaming rows (ln_out_avx512()): 1, each non-temporal 64-byte line is written as
 * two 32-byte vmovntps of the zmm's halves; 0, one 64-byte vmovntps (measured in the header
 * comment). */
#ifndef LN_NT_YMM
#define LN_NT_YMM 1
#endif
typedef struct dpair_avx512 {
    double s1, s2;
} dpair_avx512;

/* Pass 2 totals around m0; pf (NULL: none, a compile-time constant after inlining): a later row
 * whose lines pf[0 .. 256 nb) are prefetched as it goes, 16 before each of the nb full blocks'
 * trees (acc_ssf_avx512()'s hook; the same operations). */
N5_INLINE dpair_avx512 ln_pass2_avx512(const float *x, size_t n, float m0, const float *pf)
{
    acc_avx512 s, q;
    const n5_hook h = {pf, NULL, NULL};
    acc_ssf_avx512(x, n, _mm512_set1_ps(m0), &s, &q, N5_F32, h);
    dpair_avx512 r = {lanes_total_avx512(s.hi, s.lo), lanes_total_avx512(q.hi, q.lo)};
    return r;
}

/* ---- pass 3 ---- */

/* One row; with nt, y is written with non-temporal stores (the first elements up to y's 64-byte
 * boundary and the tail with ordinary masked stores). hw, hb, nt are compile-time constants
 * after inlining. pf (NULL: none): a row of x to prefetch, one 64-byte line per store. */
N5_INLINE void ln_out_avx512(float *y, const float *src, const float *w, const float *b,
                             size_t n, float m0, float mlo, float rstd, int hw, int hb, int nt,
                             const float *pf, int pfh)
{
    const __m512 vm0 = _mm512_set1_ps(m0), vml = _mm512_set1_ps(mlo), vr = _mm512_set1_ps(rstd);
    const __m512 one = _mm512_set1_ps(1.0f), zero = _mm512_setzero_ps();
#define LN_D(X) _mm512_sub_ps((X), vm0)
#define LN_T(X) _mm512_mul_ps(_mm512_sub_ps(LN_D(X), vml), vr)
#define LN_WF(V) (hw == 2 ? _mm512_add_ps(one, (V)) : (V))
#define LN_W(I) (hw ? LN_WF(_mm512_loadu_ps(w + (I))) : one)
#define LN_B(I) (hb ? _mm512_loadu_ps(b + (I)) : zero)
/* non-temporal: each 64-byte line as two 32-byte halves (LN_NT_YMM) or one 64-byte store */
#define LN_ST(P, V)                                                                            \
    (nt ? (LN_NT_YMM ? (_mm256_stream_ps((P), _mm512_castps512_ps256(V)),                     \
                        _mm256_stream_ps((P) + 8, _mm512_extractf32x8_ps((V), 1)))              \
                     : _mm512_stream_ps((P), (V)))                                             \
        : _mm512_storeu_ps((P), (V)))
/* k (1..15) elements at i, masked: the head before y's first 64-byte boundary and the tail */
#define LN_PART(i, k)                                                                          \
    do {                                                                                       \
        __mmask16 m_ = tail_mask_avx512(k);                                                    \
        __m512 xv_ = _mm512_maskz_loadu_ps(m_, src + (i));                                     \
        __m512 wv_ = hw ? LN_WF(_mm512_maskz_loadu_ps(m_, w + (i))) : one;                    \
        __m512 bv_ = hb ? _mm512_maskz_loadu_ps(m_, b + (i)) : zero;                           \
        _mm512_mask_storeu_ps(y + (i), m_, _mm512_fmadd_ps(LN_T(xv_), wv_, bv_));              \
    } while (0)
    size_t i = 0;
    if (nt && (i = norm_nt_head(y, n, 64)) != 0)
        LN_PART(0, i);
    for (; i + 64 <= n; i += 64) {
        __m512 x0 = _mm512_loadu_ps(src + i), x1 = _mm512_loadu_ps(src + i + 16);
        __m512 x2 = _mm512_loadu_ps(src + i + 32), x3 = _mm512_loadu_ps(src + i + 48);
        __m512 y0 = _mm512_fmadd_ps(LN_T(x0), LN_W(i), LN_B(i));
        __m512 y1 = _mm512_fmadd_ps(LN_T(x1), LN_W(i + 16), LN_B(i + 16));
        __m512 y2 = _mm512_fmadd_ps(LN_T(x2), LN_W(i + 32), LN_B(i + 32));
        __m512 y3 = _mm512_fmadd_ps(LN_T(x3), LN_W(i + 48), LN_B(i + 48));
        LN_ST(y + i, y0);
        LN_ST(y + i + 16, y1);
        LN_ST(y + i + 32, y2);
        LN_ST(y + i + 48, y3);
        N5_PF_STEP(pf, i, n, pfh, LN_PF_L2_MAX, LN_NT_PFLOC); /* pfh: LN_NT_PF2 */
    }
    for (; i + 16 <= n; i += 16)
        LN_ST(y + i, _mm512_fmadd_ps(LN_T(_mm512_loadu_ps(src + i)), LN_W(i), LN_B(i)));
    if (i < n)
        LN_PART(i, n - i);
#undef LN_PART
#undef LN_D
#undef LN_T
#undef LN_WF
#undef LN_W
#undef LN_B
#undef LN_ST
}

/* Pass 3 of one row with the weight/bias variant chosen at run time (one predictable branch
 * per row; the reductions are then instantiated once instead of four times). */
N5_INLINE void ln_out_sel_avx512(float *y, const float *x, const float *w, const float *b,
                                 size_t n, float m0, float mlo, float rstd, int nt, int wp,
                                 const float *pf, int pfh)
{
#define LN_OUT(HW, HB)                                                                         \
    do {                                                                                       \
        if (nt)                                                                                \
            ln_out_avx512(y, x, w, b, n, m0, mlo, rstd, HW, HB, 1, pf, pfh);                   \
        else                                                                                   \
            ln_out_avx512(y, x, w, b, n, m0, mlo, rstd, HW, HB, 0, pf, pfh);                   \
    } while (0)
    if (w && wp) {
        if (b)
            LN_OUT(2, 1);
        else
            LN_OUT(2, 0);
    } else if (w) {
        if (b)
            LN_OUT(1, 1);
        else
            LN_OUT(1, 0);
    } else {
        if (b)
            LN_OUT(0, 1);
        else
            LN_OUT(0, 0);
    }
#undef LN_OUT
}

/* Two rows sharing the weight and bias loads (ordinary stores). */
N5_INLINE void ln_out2_avx512(float *ya, const float *sa, float *yb, const float *sb,
                              const float *w, const float *b, size_t n, float m0a, float mloa,
                              float ra, float m0b, float mlob, float rb, int hw, int hb)
{
    const __m512 am = _mm512_set1_ps(m0a), al = _mm512_set1_ps(mloa), ar = _mm512_set1_ps(ra);
    const __m512 bm = _mm512_set1_ps(m0b), bl = _mm512_set1_ps(mlob), br = _mm512_set1_ps(rb);
    const __m512 one = _mm512_set1_ps(1.0f), zero = _mm512_setzero_ps();
#define LN_D(X, M) _mm512_sub_ps((X), (M))
#define LN_T(X, M, L, R) _mm512_mul_ps(_mm512_sub_ps(LN_D(X, M), (L)), (R))
#define LN_WF(V) (hw == 2 ? _mm512_add_ps(one, (V)) : (V))
#define LN_W(I) (hw ? LN_WF(_mm512_loadu_ps(w + (I))) : one)
#define LN_B(I) (hb ? _mm512_loadu_ps(b + (I)) : zero)
#define LN_2(I)                                                                                \
    do {                                                                                       \
        __m512 wv_ = LN_W(I), bv_ = LN_B(I);                                                   \
        __m512 xa_ = _mm512_loadu_ps(sa + (I)), xb_ = _mm512_loadu_ps(sb + (I));               \
        _mm512_storeu_ps(ya + (I), _mm512_fmadd_ps(LN_T(xa_, am, al, ar), wv_, bv_));          \
        _mm512_storeu_ps(yb + (I), _mm512_fmadd_ps(LN_T(xb_, bm, bl, br), wv_, bv_));          \
    } while (0)
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        LN_2(i);
        LN_2(i + 16);
    }
    for (; i + 16 <= n; i += 16)
        LN_2(i);
    if (i < n) {
        __mmask16 m = tail_mask_avx512(n - i);
        __m512 wv = hw ? LN_WF(_mm512_maskz_loadu_ps(m, w + i)) : one;
        __m512 bv = hb ? _mm512_maskz_loadu_ps(m, b + i) : zero;
        __m512 xa = _mm512_maskz_loadu_ps(m, sa + i), xb = _mm512_maskz_loadu_ps(m, sb + i);
        _mm512_mask_storeu_ps(ya + i, m, _mm512_fmadd_ps(LN_T(xa, am, al, ar), wv, bv));
        _mm512_mask_storeu_ps(yb + i, m, _mm512_fmadd_ps(LN_T(xb, bm, bl, br), wv, bv));
    }
#undef LN_2
#undef LN_D
#undef LN_T
#undef LN_WF
#undef LN_W
#undef LN_B
}

/* Pass 3 of two rows; with nt, row by row (each row's y has its own alignment). */
N5_INLINE void ln_out2_sel_avx512(float *ya, const float *xa, float *yb, const float *xb,
                                  const float *w, const float *b, size_t n, float m0a,
                                  float mloa, float ra, float m0b, float mlob, float rb, int nt,
                                  int wp, const float *pfa, const float *pfb)
{
    if (nt) {
        ln_out_sel_avx512(ya, xa, w, b, n, m0a, mloa, ra, 1, wp, pfa, 0);
        ln_out_sel_avx512(yb, xb, w, b, n, m0b, mlob, rb, 1, wp, pfb, 0);
    } else if (w && wp) {
        if (b)
            ln_out2_avx512(ya, xa, yb, xb, w, b, n, m0a, mloa, ra, m0b, mlob, rb, 2, 1);
        else
            ln_out2_avx512(ya, xa, yb, xb, w, b, n, m0a, mloa, ra, m0b, mlob, rb, 2, 0);
    } else if (w) {
        if (b)
            ln_out2_avx512(ya, xa, yb, xb, w, b, n, m0a, mloa, ra, m0b, mlob, rb, 1, 1);
        else
            ln_out2_avx512(ya, xa, yb, xb, w, b, n, m0a, mloa, ra, m0b, mlob, rb, 1, 0);
    } else {
        if (b)
            ln_out2_avx512(ya, xa, yb, xb, w, b, n, m0a, mloa, ra, m0b, mlob, rb, 0, 1);
        else
            ln_out2_avx512(ya, xa, yb, xb, w, b, n, m0a, mloa, ra, m0b, mlob, rb, 0, 0);
    }
}

/* ---- rows ---- */

/* After pass 2: the statistics (and pass 2 once more when norm_ln_finish() asks for it), then
 * pass 3 or the rare path. sums: NULL, or where the row's totals go (NORM_SUMS). */
N5_INLINE void ln_finish_row_avx512(float *y, const float *x, const float *w, const float *b,
                                    size_t n, float eps, double inv_n, double s0, dpair_avx512 t,
                                    float m0, float *mean, float *rstdp, double *sums, int nt,
                                    int wp, const float *pf, int pfh)
{
    float mlo, rstd, mo, m0_next;
    int st = norm_ln_finish(s0, t.s1, t.s2, m0, inv_n, eps, 0, &mlo, &rstd, &mo, &m0_next);
    if (st == NORM_LN_AGAIN) {
        m0 = m0_next;
        t = ln_pass2_avx512(x, n, m0, NULL);
        st = norm_ln_finish(s0, t.s1, t.s2, m0, inv_n, eps, 1, &mlo, &rstd, &mo, &m0_next);
    }
    norm_ln_put_sums(sums, s0, t.s1, t.s2);
    if (st != NORM_LN_OK) {
        norm_layernorm_row_rare(y, x, w, b, n, eps, mean, rstdp, wp);
        return;
    }
    ln_out_sel_avx512(y, x, w, b, n, m0, mlo, rstd, nt, wp, pf, pfh);
    if (mean)
        *mean = mo;
    if (rstdp)
        *rstdp = rstd;
}

/* One row. */
N5_INLINE void ln_row_avx512(float *y, const float *x, const float *w, const float *b, size_t n,
                             float eps, double inv_n, double inv_k, float *mean, float *rstdp,
                             double *sums, int nt, int wp, const float *pf)
{
    double s0 = total_sum_avx512(x, norm_ln_probe(n), _mm512_set1_ps(x[0]));
    float m0 = norm_ln_m0(x[0], s0, inv_k);
    if (LN_NT_PF2 && nt && pf && n > LN_NT_WB_PAIR_MAX && (w || b)) {
        /* pass 2 prefetches pf[0 .. 256 nb), pass 3 the rest at half the rate */
        dpair_avx512 t = ln_pass2_avx512(x, n, m0, pf);
        ln_finish_row_avx512(y, x, w, b, n, eps, inv_n, s0, t, m0, mean, rstdp, sums, nt, wp,
                             pf + n / NORM_BLOCK * (NORM_BLOCK / 2), 1);
        return;
    }
    dpair_avx512 t = ln_pass2_avx512(x, n, m0, NULL);
    ln_finish_row_avx512(y, x, w, b, n, eps, inv_n, s0, t, m0, mean, rstdp, sums, nt, wp, pf, 0);
}

/* Two rows, interleaved step by step; each computes exactly what ln_row_avx512() computes (if
 * either needs pass 2 again or the rare path, both are finished one by one). */
N5_INLINE void ln_row2_avx512(float *ya, const float *xa, float *yb, const float *xb,
                              const float *w, const float *b, size_t n, float eps, double inv_n,
                              double inv_k, float *meana, float *rstda, float *meanb,
                              float *rstdb, double *sumsa, double *sumsb, int nt, int wp,
                              const float *pfa, const float *pfb)
{
    const size_t k = norm_ln_probe(n);
    double sa0 = total_sum_avx512(xa, k, _mm512_set1_ps(xa[0]));
    double sb0 = total_sum_avx512(xb, k, _mm512_set1_ps(xb[0]));
    float ma0 = norm_ln_m0(xa[0], sa0, inv_k), mb0 = norm_ln_m0(xb[0], sb0, inv_k);
    dpair_avx512 ta = ln_pass2_avx512(xa, n, ma0, NULL);
    dpair_avx512 tb = ln_pass2_avx512(xb, n, mb0, NULL);
    float mla = 0.0f, ra = 0.0f, moa = 0.0f, mlb = 0.0f, rb = 0.0f, mob = 0.0f, unused;
    int sta = norm_ln_finish(sa0, ta.s1, ta.s2, ma0, inv_n, eps, 0, &mla, &ra, &moa, &unused);
    int stb = norm_ln_finish(sb0, tb.s1, tb.s2, mb0, inv_n, eps, 0, &mlb, &rb, &mob, &unused);
    if (sta == NORM_LN_OK && stb == NORM_LN_OK) {
        ln_out2_sel_avx512(ya, xa, yb, xb, w, b, n, ma0, mla, ra, mb0, mlb, rb, nt, wp, pfa, pfb);
        if (sumsa) {
            norm_ln_put_sums(sumsa, sa0, ta.s1, ta.s2);
            norm_ln_put_sums(sumsb, sb0, tb.s1, tb.s2);
        }
        if (meana)
            *meana = moa;
        if (rstda)
            *rstda = ra;
        if (meanb)
            *meanb = mob;
        if (rstdb)
            *rstdb = rb;
        return;
    }
    ln_finish_row_avx512(ya, xa, w, b, n, eps, inv_n, sa0, ta, ma0, meana, rstda, sumsa, nt, wp,
                         pfa, 0);
    ln_finish_row_avx512(yb, xb, w, b, n, eps, inv_n, sb0, tb, mb0, meanb, rstdb, sumsb, nt, wp,
                         pfb, 0);
}

/* The batches' trees of one row of n floats, to lanes_h8_avx512() of its accumulators (the lane
 * total's first step): pass 1 over the probe, pass 2 (s1, s2). */
N5_INLINE __m512d ln_h8p1_avx512(const float *x, size_t n, float x0)
{
    return lanes_h8_avx512(acc_sum_avx512(x, norm_ln_probe(n), _mm512_set1_ps(x0)));
}
N5_INLINE void ln_h8p2_avx512(const float *x, size_t n, float m0, __m512d *s1, __m512d *s2)
{
    acc_avx512 a, b;
    acc_ss_avx512(x, n, _mm512_set1_ps(m0), &a, &b);
    *s1 = lanes_h8_avx512(a);
    *s2 = lanes_h8_avx512(b);
}

/* The statistics of eight rows (short rows), computed by ln_stats8_avx512() before pass 3 of the
 * previous eight (ln_out8_avx512()). */
typedef struct ln_st8_avx512 {
    float m0[8], mlo[8], rstd[8], mean[8];
    double s0[8], s1[8], s2[8]; /* stored when some row is not finished here, or for NORM_SUMS */
    unsigned ok;                /* bit k: row k finished here (else ln_finish_row_avx512()) */
} ln_st8_avx512;

/* Pass 3 (or the rest of the work, for rows not finished in ln_stats8_avx512()) and the
 * statistics outputs of rows r + k, r + k + 1 (k = 0, 2, 4, 6) of a batch; nt as
 * ln_batches_avx512() (1: non-temporal stores). */
N5_INLINE void ln_out8_part_avx512(const norm_job *j, size_t r, size_t n, double inv_n,
                                   const ln_st8_avx512 *st, int nt, int k)
{
    const unsigned ok = st->ok;
    const float *x = j->x + (r + (size_t)k) * j->xs;
    float *y = j->y + (r + (size_t)k) * j->ys;
    /* NORM_SUMS: the rows not finished here store theirs in ln_finish_row_avx512() */
    for (int h = k; j->sums && h < k + 2; h++)
        if ((ok >> h) & 1u)
            norm_ln_put_sums(norm_ln_sums_at(j, r + (size_t)h), st->s0[h], st->s1[h], st->s2[h]);
    if (((ok >> k) & 3u) == 3u) {
        ln_out2_sel_avx512(y, x, y + j->ys, x + j->xs, j->w, j->b, n, st->m0[k], st->mlo[k],
                           st->rstd[k], st->m0[k + 1], st->mlo[k + 1], st->rstd[k + 1],
                           nt, j->wplus, NULL, NULL);
    } else {
        for (int h = k; h < k + 2; h++, x += j->xs, y += j->ys) {
            if ((ok >> h) & 1u) {
                ln_out_sel_avx512(y, x, j->w, j->b, n, st->m0[h], st->mlo[h], st->rstd[h],
                                  nt, j->wplus, NULL, 0);
            } else {
                dpair_avx512 t = {st->s1[h], st->s2[h]};
                ln_finish_row_avx512(y, x, j->w, j->b, n, j->eps, inv_n, st->s0[h], t,
                                     st->m0[h], j->mean ? j->mean + r + h : NULL,
                                     j->rstd ? j->rstd + r + h : NULL,
                                     norm_ln_sums_at(j, r + (size_t)h), nt, j->wplus,
                                     NULL, 0);
            }
        }
    }
    for (int h = k; h < k + 2; h++) {
        if ((ok >> h) & 1u) {
            if (j->mean)
                j->mean[r + h] = st->mean[h];
            if (j->rstd)
                j->rstd[r + h] = st->rstd[h];
        }
    }
}

/* The same for all eight rows. */
N5_INLINE void ln_out8_avx512(const norm_job *j, size_t r, size_t n, double inv_n,
                              const ln_st8_avx512 *st, int nt)
{
    for (int k = 0; k < 8; k += 2)
        ln_out8_part_avx512(j, r, n, inv_n, st, nt, k);
}

/* Passes 1 and 2 and the statistics of rows r .. r+7. Lane k of the double vectors computes
 * exactly what norm_ln_m0() and norm_ln_finish() compute for row k, operation for operation.
 * With prev (not NULL), pass 3 of the previous batch (rows rp .. rp+7, statistics prev) is
 * interleaved with this work, two rows at a time (LN_MIX), so that its stores spread over the
 * batch. */
#ifndef LN_MIX
#define LN_MIX 1
#endif
N5_INLINE void ln_stats8_avx512(const norm_job *j, size_t r, size_t n, double inv_n,
                                double inv_k, ln_st8_avx512 *st, const ln_st8_avx512 *prev,
                                size_t rp, int nt)
{
    const float *x[8];
    __m512d a[8], q[8];
    float x0[8];
#define LN_PREV(K)                                                                             \
    do {                                                                                       \
        if (prev)                                                                              \
            ln_out8_part_avx512(j, rp, n, inv_n, prev, nt, (K));                               \
    } while (0)
    for (int k = 0; k < 8; k++) {
        x[k] = j->x + (r + (size_t)k) * j->xs;
        x0[k] = x[k][0];
    }
    /* pass 1 over the probe; m0 = (float)((double)x0 + s0 * inv_k) */
    const int mix = LN_MIX && nt;
    for (int k = 0; k < 4; k++)
        a[k] = ln_h8p1_avx512(x[k], n, x0[k]);
    if (mix)
        LN_PREV(0);
    for (int k = 4; k < 8; k++)
        a[k] = ln_h8p1_avx512(x[k], n, x0[k]);
    if (mix)
        LN_PREV(2);
    const __m512d s0 = lanes_fin8_avx512(a);
    const __m256 vm0 = _mm512_cvtpd_ps(_mm512_add_pd(_mm512_cvtps_pd(_mm256_loadu_ps(x0)),
                                                     _mm512_mul_pd(s0, _mm512_set1_pd(inv_k))));
    _mm256_storeu_ps(st->m0, vm0);
    /* pass 2 */
    for (int k = 0; k < 4; k++)
        ln_h8p2_avx512(x[k], n, st->m0[k], &a[k], &q[k]);
    if (mix)
        LN_PREV(4);
    for (int k = 4; k < 8; k++)
        ln_h8p2_avx512(x[k], n, st->m0[k], &a[k], &q[k]);
    if (mix)
        LN_PREV(6);
    else if (prev)
        ln_out8_avx512(j, rp, n, inv_n, prev, nt);
#undef LN_PREV
    const __m512d s1 = lanes_fin8_avx512(a), s2 = lanes_fin8_avx512(q);
    /* norm_ln_finish() for the rows it finishes at once (NORM_LN_OK after the first pass 2);
     * the others (pass 2 again, or the rare path) go through ln_finish_row_avx512(). */
    st->ok = ln_finish8_avx512(s0, s1, s2, vm0, inv_n, j->eps, st->mlo, st->rstd, st->mean);
    if (st->ok != 0xFF || j->sums) {
        _mm512_storeu_pd(st->s0, s0);
        _mm512_storeu_pd(st->s1, s1);
        _mm512_storeu_pd(st->s2, s2);
    }
}

/* Streaming jobs: the batches prefetch x of the eight rows LN_PF_DIST batches after the one
 * whose passes 1 and 2 run next (0: none; norm_ln_prefetch_rows_x86(), src/x86/norm_ln_pf_x86.h,
 * shared with the AVX2 tier). */
#ifndef LN_PF_DIST
#define LN_PF_DIST 2
#endif
/* nt: 0 cached job; 1 streaming, non-temporal stores. Rows 0 .. (returned) of at most
 * LN_BATCH_MAX floats (and more than NORM_LN_SHORT: shorter ones go row by row,
 * ln_short_job_avx512()), eight at a time; in streaming jobs up to LN_PIPE_NT_MAX
 * software-pipelined: the statistics of the next eight rows are computed before pass 3 of the
 * current eight, so that their loads (from DRAM) and trees overlap the current rows' square
 * roots, divisions and stores. The next rows' passes read only their x, which the current rows'
 * pass 3 (their own y, mean and rstd) cannot touch: the API forbids any overlap other than
 * exactly in place. */
N5_INLINE size_t ln_batches_avx512(const norm_job *j, size_t n, double inv_n, double inv_k,
                                   int nt)
{
    if (j->rows < 8)
        return 0;
    ln_st8_avx512 st[2];
    int c = 0;
    size_t r = 0;
    if (!nt || n > LN_PIPE_NT_MAX) {
        for (; r + 8 <= j->rows; r += 8) {
            if (nt)
                if (LN_PF_DIST)
                    norm_ln_prefetch_rows_x86(j, r + 8 * LN_PF_DIST, 8, n, 0);
            ln_stats8_avx512(j, r, n, inv_n, inv_k, &st[0], NULL, 0, nt);
            ln_out8_avx512(j, r, n, inv_n, &st[0], nt);
        }
        return r;
    }
    ln_stats8_avx512(j, 0, n, inv_n, inv_k, &st[0], NULL, 0, nt);
    for (; j->rows - r >= 16; r += 8, c ^= 1) {
        if (nt)
            if (LN_PF_DIST)
                norm_ln_prefetch_rows_x86(j, r + 8 + 8 * LN_PF_DIST, 8, n, 0);
        ln_stats8_avx512(j, r + 8, n, inv_n, inv_k, &st[c ^ 1], &st[c], r, nt);
    }
    ln_out8_avx512(j, r, n, inv_n, &st[c], nt);
    return r + 8;
}

/* ---- short rows (n <= NORM_LN_SHORT): row by row, each held in registers ----
 * ln_short_avx512() (norm_ln_short_avx512.h) per row, in a plain loop: the rows' dependency
 * chains overlap in the out-of-order core, and in a streaming job the hardware prefetcher streams
 * x while the rows compute (ordinary stores; measured in the header comment). Jobs that do not
 * stream take sixteen rows at a time first (ln_short16_avx512()), streaming jobs of whole-vector
 * rows too, pipelined (ln_short16p_avx512()). A row on the rare path is
 * norm_layernorm_row_rare()'s. */
#include "norm_ln_short_avx512.h"

/* Short row r of the job alone (ln_short_avx512() with nr = 1, then the rare path). */
N5_INLINE void ln_short_row_avx512(const norm_job *j, size_t r, double inv_n, double inv_k,
                                   int nv, int hw, int hb)
{
    float *y = j->y + r * j->ys, *m = j->mean ? j->mean + r : NULL;
    float *rs = j->rstd ? j->rstd + r : NULL;
    const float *x = j->x + r * j->xs;
    if (ln_short_avx512(1, y, 0, x, 0, j->w, j->b, j->dim, j->eps, inv_n, inv_k, nv, hw, hb, m,
                        rs, norm_ln_sums_at(j, r)))
        norm_layernorm_row_rare(y, x, j->w, j->b, j->dim, j->eps, m, rs, j->wplus);
}

/* Streaming jobs: sixteen rows at a time, pipelined (ln_short16p_avx512()); LN16P_NT its
 * non-temporal stores, LN16P_PF its prefetch distance in bytes of x (at least one batch),
 * LN16_PF_LOC the prefetch's locality hint (1: prefetcht2), LN16_PF_NAT 1: the rows prefetched in
 * natural order (0: in the order pass 2 visits them). */
#ifndef LN_SHORT16P
#define LN_SHORT16P 1
#endif
#ifndef LN16P_NT
#define LN16P_NT 1
#endif
#ifndef LN16_PF_NAT
#define LN16_PF_NAT 1
#endif
#ifndef LN16_PF_LOC
#define LN16_PF_LOC 1
#endif
#ifndef LN16P_PF
#define LN16P_PF 16384
#endif

/* The statistics of sixteen short rows (ln16_stats_avx512()) for their pass 3
 * (ln16_out_row_avx512()): row r of the batch is row r0 + r of the job, at x + r xs; ok bit r set
 * for a row the vector finish finished (the others go through ln_short_row_avx512()). */
typedef struct {
    const float *x;
    size_t r0;
    unsigned ok;
    float m0[16], mlo[16], rstd[16], mean[16];
} ln16_st_avx512;

/* Pass 3 of row r of batch s (if its ok bit is set): y = fma(((x - m0) - mlo) * rstd, w, b),
 * wv, bv the weight and bias vectors (1, 0 without); nt (a compile-time constant): in a y row
 * that starts on a 64-byte boundary, non-temporal stores for every vector whose mask is whole
 * (masked ordinary stores next to non-temporal ones measured 2-3x slower), else ordinary. */
N5_INLINE void ln16_out_row_avx512(const norm_job *j, const ln16_st_avx512 *s, int r,
                                   const __m512 *wv, const __m512 *bv, const __mmask16 *mk,
                                   int nv, int nt)
{
    if (!((s->ok >> r) & 1))
        return;
    const float *xr = s->x + (size_t)r * j->xs;
    float *yr = j->y + (s->r0 + (size_t)r) * j->ys;
    const int al = nt && ((uintptr_t)yr & 63) == 0;
    const __m512 vm0 = _mm512_set1_ps(s->m0[r]), vl = _mm512_set1_ps(s->mlo[r]);
    const __m512 vr = _mm512_set1_ps(s->rstd[r]);
    for (int k = 0; k < nv; k++) {
        const int full = k < nv / 2;
        const __m512 xk = full ? _mm512_loadu_ps(xr + 16 * k)
                               : _mm512_maskz_loadu_ps(mk[k], xr + 16 * k);
        const __m512 t = _mm512_mul_ps(_mm512_sub_ps(_mm512_sub_ps(xk, vm0), vl), vr);
        const __m512 o = _mm512_fmadd_ps(t, wv[k], bv[k]);
        if (al && (full || mk[k] == (__mmask16)0xFFFF))
            _mm512_stream_ps(yr + 16 * k, o);
        else if (full)
            _mm512_storeu_ps(yr + 16 * k, o);
        else
            _mm512_mask_storeu_ps(yr + 16 * k, mk[k], o);
    }
    if (j->mean)
        j->mean[s->r0 + (size_t)r] = s->mean[r];
    if (j->rstd)
        j->rstd[s->r0 + (size_t)r] = s->rstd[r];
}

/* The rows of batch s the vector finish did not finish (pass 2 again, or the rare path), one by
 * one through ln_short_row_avx512(). */
N5_INLINE void ln16_rest_avx512(const norm_job *j, const ln16_st_avx512 *s, double inv_n,
                                double inv_k, int nv, int hw, int hb)
{
    for (int r = 0; s->ok != 0xFFFFu && r < 16; r++)
        if (!((s->ok >> r) & 1))
            ln_short_row_avx512(j, s->r0 + (size_t)r, inv_n, inv_k, nv, hw, hb);
}

/* The weight and bias vectors of pass 3 (1 and 0 without; 1 + w for hw = 2). */
N5_INLINE void ln16_wb_avx512(const norm_job *j, const __mmask16 *mk, int nv, int hw, int hb,
                              __m512 *wv, __m512 *bv)
{
    const __m512 one = _mm512_set1_ps(1.0f), z = _mm512_setzero_ps();
    for (int k = 0; k < nv; k++) {
        const int full = k < nv / 2;
        wv[k] = one;
        bv[k] = z;
        if (hw)
            wv[k] = full ? _mm512_loadu_ps(j->w + 16 * k)
                         : _mm512_maskz_loadu_ps(mk[k], j->w + 16 * k);
        if (hw == 2)
            wv[k] = _mm512_add_ps(one, wv[k]);
        if (hb)
            bv[k] = full ? _mm512_loadu_ps(j->b + 16 * k)
                         : _mm512_maskz_loadu_ps(mk[k], j->b + 16 * k);
    }
}

/* Sixteen short rows r0 .. r0 + 15 of the job, their lane totals transposed (ft16_*_avx512(),
 * norm_ln_short_avx512.h: the 16 rows' float lane totals in one vector) and m0 and
 * norm_ln_finish() vectorised (lane r doing row r's arithmetic: the same IEEE operations), so that
 * the per-row horizontal steps and the double-precision finish cost a sixteenth each: passes 1
 * and 2 and the finish into st (and the job's sums). The rows are read from memory (L1 after
 * pass 1) in each pass. prev (a compile-time NULL or not): the previous batch, whose pass 3 runs
 * here spread over this batch's pass 1 (row r of prev after the loads of row r), and whose rows
 * not finished at once go through ln_short_row_avx512() after it; pf (NULL: none): x of a later
 * batch, prefetched row by row during pass 2 (the whole of row r at row r). nv, hw, hb as
 * ln_short_avx512(); wv, bv, nt for prev's pass 3 (ln16_out_row_avx512()). */
N5_INLINE void ln16_stats_avx512(const norm_job *j, size_t r0, double inv_n, double inv_k, int nv,
                                 const __mmask16 *mk, ln16_st_avx512 *st,
                                 const ln16_st_avx512 *prev, const __m512 *wv, const __m512 *bv,
                                 int hw, int hb, int nt, const float *pf)
{
    const size_t xs = j->xs;
    const float *const x = j->x + r0 * xs;
    st->x = x;
    st->r0 = r0;
#define LN16_LOAD_(xr, xv)                                                                     \
    for (int k_ = 0; k_ < nv; k_++)                                                            \
        (xv)[k_] = k_ < nv / 2 ? _mm512_loadu_ps((xr) + 16 * k_)                               \
                               : _mm512_maskz_loadu_ps(mk[k_], (xr) + 16 * k_)
    /* pass 1: the probe's lane sums of the rows of quad q (rows q, q + 4, q + 8, q + 12), x0 of
     * row r to lane r of vx0 */
    __m512 g[4], vx0 = _mm512_setzero_ps();
    _Pragma("GCC unroll 4") for (int q = 0; q < 4; q++) {
        __m512 p[4];
        _Pragma("GCC unroll 4") for (int i = 0; i < 4; i++) {
            const int r = q + 4 * i;
            const float *xr = x + (size_t)r * xs;
            __m512 xv[8];
            LN16_LOAD_(xr, xv);
            const __m512 c = _mm512_set1_ps(xr[0]);
            vx0 = _mm512_mask_mov_ps(vx0, (__mmask16)(1u << r), c);
            p[i] = ln_short_p1t_avx512(xv, mk, c, nv);
            if (prev)
                ln16_out_row_avx512(j, prev, r, wv, bv, mk, nv, nt);
        }
        g[q] = ft16_quad_avx512(p);
    }
    if (prev)
        ln16_rest_avx512(j, prev, inv_n, inv_k, nv, hw, hb);
    const __m512 s0f = ft16_fin_avx512(g);
    __m512d s0[2], s1[2], s2[2];
    __m256 m0h[2];
    const __m512d vinvk = _mm512_set1_pd(inv_k);
    for (int h = 0; h < 2; h++) {
        /* m0 = norm_ln_m0(): (float)((double)x0 + s0 * inv_k) */
        s0[h] = _mm512_cvtps_pd(h ? _mm512_extractf32x8_ps(s0f, 1) : _mm512_castps512_ps256(s0f));
        const __m512d x0 = _mm512_cvtps_pd(h ? _mm512_extractf32x8_ps(vx0, 1)
                                             : _mm512_castps512_ps256(vx0));
        m0h[h] = _mm512_cvtpd_ps(_mm512_add_pd(x0, _mm512_mul_pd(s0[h], vinvk)));
        _mm256_storeu_ps(st->m0 + 8 * h, m0h[h]);
    }
    /* pass 2 */
    __m512 gs[4], gq[4];
    _Pragma("GCC unroll 4") for (int q = 0; q < 4; q++) {
        __m512 ps[4], pq[4];
        _Pragma("GCC unroll 4") for (int i = 0; i < 4; i++) {
            const int r = q + 4 * i;
            __m512 xv[8];
            LN16_LOAD_(x + (size_t)r * xs, xv);
            ln_short_p2t_avx512(xv, mk, _mm512_set1_ps(st->m0[r]), nv, &ps[i], &pq[i]);
            if (pf) {
                const float *pr = pf + (size_t)(LN16_PF_NAT ? 4 * q + i : r) * xs;
                for (int k = 0; k < nv; k++)
                    __builtin_prefetch(pr + 16 * k, 0, LN16_PF_LOC);
                __builtin_prefetch(pr + j->dim - 1, 0, LN16_PF_LOC);
            }
        }
        gs[q] = ft16_quad_avx512(ps);
        gq[q] = ft16_quad_avx512(pq);
    }
    const __m512 s1f = ft16_fin_avx512(gs), s2f = ft16_fin_avx512(gq);
    unsigned ok = 0;
    for (int h = 0; h < 2; h++) {
        s1[h] = _mm512_cvtps_pd(h ? _mm512_extractf32x8_ps(s1f, 1) : _mm512_castps512_ps256(s1f));
        s2[h] = _mm512_cvtps_pd(h ? _mm512_extractf32x8_ps(s2f, 1) : _mm512_castps512_ps256(s2f));
        ok |= (unsigned)ln_finish8_avx512(s0[h], s1[h], s2[h], m0h[h], inv_n, j->eps,
                                          st->mlo + 8 * h, st->rstd + 8 * h, st->mean + 8 * h)
              << (8 * h);
    }
    st->ok = ok;
    if (j->sums) {
        double t[3][16];
        for (int h = 0; h < 2; h++) {
            _mm512_storeu_pd(t[0] + 8 * h, s0[h]);
            _mm512_storeu_pd(t[1] + 8 * h, s1[h]);
            _mm512_storeu_pd(t[2] + 8 * h, s2[h]);
        }
        for (int r = 0; r < 16; r++)
            if ((ok >> r) & 1)
                norm_ln_put_sums(norm_ln_sums_at(j, r0 + (size_t)r), t[0][r], t[1][r], t[2][r]);
    }
#undef LN16_LOAD_
}

/* The masks of a short row's leaf vectors (the last nv / 2 masked). */
N5_INLINE void ln16_masks_avx512(size_t n, int nv, __mmask16 *mk)
{
    for (int k = 0; k < nv; k++)
        mk[k] = k < nv / 2 ? (__mmask16)0xFFFF : ln_short_mask_avx512(n, k);
}

/* Sixteen short rows r0 .. r0 + 15 of the job: ln16_stats_avx512(), then pass 3 row by row, then
 * the rows not finished at once. A pass 3 of a row writes only its own y, which is no other
 * row's x. */
N5_INLINE void ln_short16_avx512(const norm_job *j, size_t r0, double inv_n, double inv_k, int nv,
                                 int hw, int hb)
{
    __mmask16 mk[8];
    __m512 wv[8], bv[8];
    ln16_st_avx512 st;
    ln16_masks_avx512(j->dim, nv, mk);
    ln16_stats_avx512(j, r0, inv_n, inv_k, nv, mk, &st, NULL, NULL, NULL, hw, hb, 0, NULL);
    ln16_wb_avx512(j, mk, nv, hw, hb, wv, bv);
    for (int r = 0; r < 16; r++)
        ln16_out_row_avx512(j, &st, r, wv, bv, mk, nv, 0);
    ln16_rest_avx512(j, &st, inv_n, inv_k, nv, hw, hb);
}

/* A streaming job's short rows sixteen at a time, software-pipelined: the statistics of batch k
 * with pass 3 of batch k - 1 spread over its pass 1, and x of the batch LN16P_PF bytes ahead
 * prefetched during its pass 2; nt: non-temporal stores. Returns the rows done. */
N5_INLINE size_t ln_short16p_avx512(const norm_job *j, double inv_n, double inv_k, int nv, int hw,
                                    int hb, int nt)
{
    if (j->rows < 16)
        return 0;
    __mmask16 mk[8];
    __m512 wv[8], bv[8];
    ln16_st_avx512 st[2];
    ln16_masks_avx512(j->dim, nv, mk);
    ln16_wb_avx512(j, mk, nv, hw, hb, wv, bv);
    const size_t pb = (size_t)LN16P_PF / (64 * j->dim), d = 16 * (pb ? pb : 1);
#define LN16P_PFX(r) (LN16P_PF && (r) + d + 16 <= j->rows ? j->x + ((r) + d) * j->xs : NULL)
    ln16_stats_avx512(j, 0, inv_n, inv_k, nv, mk, &st[0], NULL, wv, bv, hw, hb, nt,
                      LN16P_PFX(0));
    size_t r = 16;
    int c = 1;
    for (; r + 16 <= j->rows; r += 16, c ^= 1)
        ln16_stats_avx512(j, r, inv_n, inv_k, nv, mk, &st[c], &st[c ^ 1], wv, bv, hw, hb, nt,
                          LN16P_PFX(r));
#undef LN16P_PFX
    const ln16_st_avx512 *last = &st[c ^ 1];
    for (int q = 0; q < 16; q++)
        ln16_out_row_avx512(j, last, q, wv, bv, mk, nv, nt);
    ln16_rest_avx512(j, last, inv_n, inv_k, nv, hw, hb);
    return r;
}

/* All rows of a job of short rows, nr at a time (a group with a row that needs more than the
 * first pass 2: one by one), then the rest one by one: nr = LN_SHORT_NR4 for n <= 64, else
 * LN_SHORT_NR8, or LN_SHORT_NR8_BIG in a job from beyond L2 (big: streaming, or x and y over
 * LN_SHORT_SMALL bytes; measured in the header comment); nv, hw, hb as ln_short_avx512(), big:
 * compile-time constants. */
#ifndef LN_SHORT_NR4
#define LN_SHORT_NR4 4
#endif
#ifndef LN_SHORT_NR8
#define LN_SHORT_NR8 2
#endif
#ifndef LN_SHORT_NR8_BIG
#define LN_SHORT_NR8_BIG 1
#endif
#ifndef LN_SHORT16
#define LN_SHORT16 1
#endif
#ifndef LN_SHORT_SMALL
#define LN_SHORT_SMALL (1024.0 * 1024)
#endif
N5_INLINE void ln_short_rows_avx512(const norm_job *j, double inv_n, double inv_k, int nv, int hw,
                                    int hb, int big, size_t r)
{
    const int nr = nv < 8 ? LN_SHORT_NR4 : big ? LN_SHORT_NR8_BIG : LN_SHORT_NR8;
    for (; nr > 1 && r + (size_t)nr <= j->rows; r += (size_t)nr)
        if (ln_short_avx512(nr, j->y + r * j->ys, j->ys, j->x + r * j->xs, j->xs, j->w,
                            j->b, j->dim, j->eps, inv_n, inv_k, nv, hw, hb,
                            j->mean ? j->mean + r : NULL, j->rstd ? j->rstd + r : NULL,
                            norm_ln_sums_at(j, r)))
            for (size_t q = r; q < r + (size_t)nr; q++)
                ln_short_row_avx512(j, q, inv_n, inv_k, nv, hw, hb);
    for (; r < j->rows; r++)
        ln_short_row_avx512(j, r, inv_n, inv_k, nv, hw, hb);
}

/* The rows of a job of short rows sixteen at a time (ln_short16_avx512()), its instance chosen
 * once; returns the rows done (out of line: the row-by-row instances keep their own code). */
static __attribute__((noinline)) size_t ln_short16_job_avx512(const norm_job *j)
{
    const double inv_n = 1.0 / (double)j->dim, inv_k = 1.0 / (double)norm_ln_probe(j->dim);
    size_t r = 0;
#define LN_S16_(NV, HW, HB)                                                                    \
    for (; r + 16 <= j->rows; r += 16)                                                         \
        ln_short16_avx512(j, r, inv_n, inv_k, (NV), (HW), (HB))
    LN_SHORT_SEL(j->dim, j->w, j->wplus, j->b, LN_S16_);
#undef LN_S16_
    return r;
}

/* Does a streaming job take ln_short16p_avx512()? Rows of whole vectors (n = 16, 32, 64, 128)
 * whose y rows all start on a 64-byte boundary: every store of its pass 3 is then a whole-line
 * non-temporal store. Not the others (measured in the header comment): a row's masked ordinary
 * stores next to its non-temporal ones made the batches 2-3x slower than the row loop. */
static inline int ln_short16p_fits(const norm_job *j)
{
    return j->dim == 16 * (size_t)ln_short_nv(j->dim) && ((uintptr_t)j->y & 63) == 0 &&
           j->ys % 16 == 0;
}

/* A streaming job's rows sixteen at a time, pipelined (ln_short16p_avx512()); returns the rows
 * done. */
static __attribute__((noinline)) size_t ln_short16p_job_avx512(const norm_job *j)
{
    const double inv_n = 1.0 / (double)j->dim, inv_k = 1.0 / (double)norm_ln_probe(j->dim);
    size_t r = 0;
#define LN_S16P_(NV, HW, HB) r = ln_short16p_avx512(j, inv_n, inv_k, (NV), (HW), (HB), LN16P_NT)
    LN_SHORT_SEL(j->dim, j->w, j->wplus, j->b, LN_S16P_);
#undef LN_S16P_
    return r;
}

/* A job of short rows (nt: streaming; ordinary stores either way), its instance chosen once. */
static __attribute__((noinline)) void ln_short_job_avx512(const norm_job *j, int nt)
{
    const double inv_n = 1.0 / (double)j->dim, inv_k = 1.0 / (double)norm_ln_probe(j->dim);
    const int big = nt || (double)j->rows * (double)j->dim * 8.0 > LN_SHORT_SMALL;
    const size_t r = LN_SHORT16 && !nt ? ln_short16_job_avx512(j)
                     : nt && LN_SHORT16P && ln_short16p_fits(j) ? ln_short16p_job_avx512(j)
                                                                : 0;
#define LN_SJ_(NV, HW, HB)                                                                     \
    do {                                                                                       \
        if ((NV) == 8 && big)                                                                  \
            ln_short_rows_avx512(j, inv_n, inv_k, (NV), (HW), (HB), 1, r);                     \
        else                                                                                   \
            ln_short_rows_avx512(j, inv_n, inv_k, (NV), (HW), (HB), 0, r);                     \
    } while (0)
    LN_SHORT_SEL(j->dim, j->w, j->wplus, j->b, LN_SJ_);
#undef LN_SJ_
}

/* All rows of the job; nt: a streaming job, non-temporal stores for y (a compile-time
 * constant). */
N5_INLINE void ln_rows_avx512(const norm_job *j, int nt)
{
    const size_t n = j->dim;
    const double inv_n = 1.0 / (double)n, inv_k = 1.0 / (double)norm_ln_probe(n);
    float *const mean = j->mean, *const rstd = j->rstd;
    size_t r = 0;
    if (n <= NORM_LN_SHORT) {
        ln_short_job_avx512(j, nt);
        return;
    }
    if (n <= LN_BATCH_MAX)
        r = ln_batches_avx512(j, n, inv_n, inv_k, nt);
    const int pairs = !nt            ? n <= LN_PAIR_MAX || j->w || j->b
                      : j->w || j->b ? n <= LN_NT_WB_PAIR_MAX || LN_NT_WBP
                                     : n <= LN_NT_PLAIN_PAIR_MAX;
    /* the rows left: pairs, then one by one */
    for (; pairs && r + 2 <= j->rows; r += 2) {
        const float *xa = j->x + r * j->xs;
        float *ya = j->y + r * j->ys;
        const size_t rn = r + 2 * (size_t)(n > LN_PAIR_MAX       ? LN_NT_PFP
                                           : j->w || j->b        ? LN_NT_PF
                                                                 : LN_NT_PF_PLAIN);
        const float *pfa = nt && rn > r && rn < j->rows ? xa + (rn - r) * j->xs : NULL;
        const float *pfb = pfa && rn + 1 < j->rows ? pfa + j->xs : NULL;
        ln_row2_avx512(ya, xa, ya + j->ys, xa + j->xs, j->w, j->b, n, j->eps, inv_n, inv_k,
                       mean ? mean + r : NULL, rstd ? rstd + r : NULL, mean ? mean + r + 1 : NULL,
                       rstd ? rstd + r + 1 : NULL, norm_ln_sums_at(j, r),
                       norm_ln_sums_at(j, r + 1), nt && !LN_NT_ORD, j->wplus, pfa, pfb);
    }
    for (; r < j->rows; r++)
        ln_row_avx512(j->y + r * j->ys, j->x + r * j->xs, j->w, j->b, n, j->eps, inv_n, inv_k,
                      mean ? mean + r : NULL, rstd ? rstd + r : NULL, norm_ln_sums_at(j, r), nt,
                      j->wplus,
                      nt && LN_NT_PF1 && r + LN_NT_PF1 < j->rows ? j->x + (r + LN_NT_PF1) * j->xs
                                                                 : NULL);
}

static void ln_cached_avx512(const norm_job *j) { ln_rows_avx512(j, 0); }
static void ln_stream_avx512(const norm_job *j) { ln_rows_avx512(j, 1); }

void norm_layernorm_f32_avx512(const norm_job *j)
{
    if (norm_stream_job(j)) {
        ln_stream_avx512(j);
        if (j->stream != NORM_STREAM_NOFENCE)
            _mm_sfence();
    } else {
        ln_cached_avx512(j);
    }
}

/* ---- one row (norm_dsp.layernorm_row_f32: the entry points' rows = 1 calls) ---- */

/* Rows longer than NORM_LN_SHORT: the row as a job of the general kernel (out of line and
 * tail-called: the short rows' instances keep a frame-less function). */
static __attribute__((noinline)) int ln_row_job_avx512(float *y, const float *x, const float *w,
                                                       const float *b, size_t n, float eps,
                                                       int wplus)
{
    norm_job j;
    norm_job_row(&j, y, x, w, b, n, eps, wplus);
    norm_layernorm_f32_avx512(&j);
    return 0;
}

/* A short row on the rare path (out of line). */
static __attribute__((noinline)) int ln_row_rare_avx512(float *y, const float *x, const float *w,
                                                        const float *b, size_t n, float eps,
                                                        int wplus)
{
    norm_layernorm_row_rare(y, x, w, b, n, eps, NULL, NULL, wplus);
    return 0;
}

/* LN_ROW_WHOLE 1: rows of 64 and 128 floats take their own instances, n a constant: every load
 * whole (the others load the upper half of the row with masks computed from n), no stack frame.
 * Session 28, normbench --op ln,ln-plain --dim 64,128 --rows 32 --tier api --single 64,128
 * (medians, three rounds, alternating with the build without): dim 64 26.9-27.0 -> 25.5-25.7 ns
 * (--stat min 26.6-26.9 -> 24.4-24.6), dim 128 33.3-33.4 -> 31.1-31.3; the 32-row calls
 * unchanged. Tried besides and not kept: the one-row lane sums of passes 1 and 2 in 256-bit
 * halves (no extract of the upper half on the chain): dim 64 25.3, dim 128 35.7-41 (spills). */
#ifndef LN_ROW_WHOLE
#define LN_ROW_WHOLE 1
#endif

/* A short row, one instance per (nv, hw, hb): out of line, so that each is a small function
 * (no spills) the dispatcher below tail-calls; the range of n its nv implies is given to the
 * compiler (for nv >= 4 the probe is 32: inv_k a constant, no division), and n = 16 nv (the
 * dim the fast path serves: 64, 128) has inv_n as a constant (its masks stay computed from n:
 * hence, since session 28, the LN_ROW_WHOLE instances for those two dims). Before,
 * the 24 instances were inlined in this one function of ~6,400 instructions, which spilled.
 * Measured (2026-12-06, /tmp harness of 2000 API calls dim 64 w+b, min of 200, thread CPU,
 * alternating with main): back to back 27.5 -> 25.8 ns; with the one-row shortcuts of
 * norm_ln_short_avx512.h 24.1 (chained: 42.5 -> 39.4); with inv_n a constant 23.7. */
#define LN_ROW_INST_(NV, HW, HB)                                                               \
    static __attribute__((noinline)) int ln_row_##NV##_##HW##_##HB##_avx512(                   \
        float *y, const float *x, const float *w, const float *b, size_t n, float eps,         \
        int wplus)                                                                             \
    {                                                                                          \
        if (n > 16 * (NV) || ((NV) > 1 && n <= 8 * (NV)))                                      \
            __builtin_unreachable();                                                           \
        const double inv_n = n == 16 * (NV) ? 1.0 / (16 * (NV)) : 1.0 / (double)n;             \
        const double inv_k = 1.0 / (double)norm_ln_probe(n);                                   \
        return ln_short_avx512(1, y, 0, x, 0, w, b, n, eps, inv_n, inv_k, (NV), (HW), (HB),    \
                               NULL, NULL, NULL)                                               \
                   ? ln_row_rare_avx512(y, x, w, b, n, eps, wplus)                             \
                   : 0;                                                                        \
    }
#if LN_ROW_WHOLE
/* n = 16 nv (64, 128: whole vectors), n a compile-time constant: no masks, no loads
 * masked, inv_n and inv_k constants (LN_ROW_WHOLE, measured above LN_ROW_FN). */
#define LN_ROWW_INST_(NV, HW, HB)                                                              \
    static __attribute__((noinline)) int ln_roww_##NV##_##HW##_##HB##_avx512(                  \
        float *y, const float *x, const float *w, const float *b, size_t n, float eps,         \
        int wplus)                                                                             \
    {                                                                                          \
        (void)n;                                                                               \
        return ln_short_avx512(1, y, 0, x, 0, w, b, 16 * (NV), eps, 1.0 / (16 * (NV)),         \
                               1.0 / (double)norm_ln_probe(16 * (NV)), (NV), (HW), (HB), NULL, \
                               NULL, NULL)                                                     \
                   ? ln_row_rare_avx512(y, x, w, b, 16 * (NV), eps, wplus)                     \
                   : 0;                                                                        \
    }
#else
#define LN_ROWW_INST_(NV, HW, HB)
#endif
#define LN_ROW_INST_HB_(NV, HW)                                                                \
    LN_ROW_INST_(NV, HW, 0) LN_ROW_INST_(NV, HW, 1) LN_ROWW_INST_##NV(NV, HW, 0)               \
        LN_ROWW_INST_##NV(NV, HW, 1)
#define LN_ROWW_INST_1(NV, HW, HB)
#define LN_ROWW_INST_2(NV, HW, HB)
#define LN_ROWW_INST_4 LN_ROWW_INST_
#define LN_ROWW_INST_8 LN_ROWW_INST_
#define LN_ROW_INST_HW_(NV) LN_ROW_INST_HB_(NV, 0) LN_ROW_INST_HB_(NV, 1) LN_ROW_INST_HB_(NV, 2)
LN_ROW_INST_HW_(1)
LN_ROW_INST_HW_(2)
LN_ROW_INST_HW_(4)
LN_ROW_INST_HW_(8)
#undef LN_ROW_INST_HW_
#undef LN_ROW_INST_HB_
#undef LN_ROW_INST_
#undef LN_ROWW_INST_1
#undef LN_ROWW_INST_2
#undef LN_ROWW_INST_4
#undef LN_ROWW_INST_8
#undef LN_ROWW_INST_

#if defined(NORM_AVX512_EMU)
/* the emulated build's name (tests/test_tiers.h) */
#define LN_ROW_FN norm_layernorm_row_f32_avx512emu
int LN_ROW_FN(float *y, const float *x, const float *w, const float *b, size_t n, float eps,
              int wplus);
#else
#define LN_ROW_FN norm_layernorm_row_f32_avx512
#endif
int LN_ROW_FN(float *y, const float *x, const float *w, const float *b, size_t n, float eps,
              int wplus)
{
    if (n > NORM_LN_SHORT)
        return ln_row_job_avx512(y, x, w, b, n, eps, wplus);
#if LN_ROW_WHOLE
#define LN_ROWW_(NV, HW, HB) return ln_roww_##NV##_##HW##_##HB##_avx512(y, x, w, b, n, eps, wplus)
    if (n == 64 || n == 128) {
        const int hw = !w ? 0 : wplus ? 2 : 1, hb = b != NULL;
        if (n == 64)
            LN_SHORT_SEL_HW_(4, hw, hb, LN_ROWW_);
        LN_SHORT_SEL_HW_(8, hw, hb, LN_ROWW_);
    }
#undef LN_ROWW_
#endif
#define LN_ROW_(NV, HW, HB) return ln_row_##NV##_##HW##_##HB##_avx512(y, x, w, b, n, eps, wplus)
    LN_SHORT_SEL(n, w, wplus, b, LN_ROW_);
#undef LN_ROW_
    return 0;
}
#undef LN_ROW_FN
