/*
 * RMSNorm, AVX2 + FMA tier. Bit-identical to norm_rmsnorm_f32_scalar (the canonical order in
 * norm_internal.h; the trees, fold and lane total in norm_avx2.h). Per row:
 *   pass 1: s2 = total of squares of x   -> norm_rms_finish() (or the rare path)
 *   pass 2: y = (x * rstd) * w           (y = x * rstd when w is NULL)
 * Rows of at most one block (n <= NORM_BLOCK) go four at a time: four trees, then the four
 * rows' lane totals combined in one vector (norm_lanes_total4_avx2), then each row's
 * norm_rms_finish() and pass 2; dims 64 and 128 have their own copy with n a constant (no masks,
 * no branches in the trees). Other short rows are software-pipelined: pass 1 of the next row is
 * issued before pass 2 of the current one, so the next reduction overlaps the current row's lane
 * total, sqrt and division. Streaming jobs (norm_stream_job()) write y with non-temporal stores,
 * and pass 2 of each row prefetches x of a later row line by line (one prefetch into L1 per two
 * 32-byte stores): NORM_AVX2_RMS_PF_BATCH rows ahead in the batches, otherwise the first row at
 * least NORM_AVX2_RMS_PF_BYTES of x ahead (pipelined rows: 2 at least), so that reads overlap
 * the stores instead of waiting behind them (rmsnorm_avx512.c has the why). In one process
 * against the base commit's kernel, interleaved (2026-12-05, a loaded machine, thread CPU ns/row,
 * min of 21, DRAM, weight), old -> new (non-temporal streaming loop), 1 thread: dim 64 32 -> 28
 * (27), 128 71 -> 55 (55), 768 414 -> 327 (341), 2048 1353 -> 919 (969), 4096 2645 -> 1891
 * (1812), 65536 42133 -> 32027 (29673); 2 threads (the slower thread): 64 24 -> 16 (15), 768
 * 266 -> 163 (158), 2048 776 -> 505 (476), 65536 24757 -> 18219 (16787). Batch distances of
 * 24-64 rows measured alike (8-16 worse).
 * Streaming jobs of dim 128 (RMSNorm's kind) go row by row instead (rms_rows1_avx2(): the
 * one-row function's statistics, then pass 2 at once from x still in L1, non-temporal stores
 * where the row's y is 64-byte aligned, no prefetch), and so do non-streaming jobs of dim 128 with
 * at least NORM_AVX2_RMS_ROW1_BYTES of x (L3-resident). Dim 64 keeps the batches: the row loop
 * measured 5-15% faster from DRAM in the harnesses below but not in normbench (13.7 / 12.8 ->
 * 13.5 / 13.4 ns/row, 1 thread), and 30% slower on a streaming job whose x is in L3 (10 -> 13:
 * the fused add + norm calls whose h was just written). In one process (bench/lnab.sh build main
 * avx2 9 64,128 3 4; x 128 MiB, thread CPU ns/row min, 2026-12-06, a loaded machine) four-row
 * batches -> row loop (floor): dim 64 1 thread 22 -> 20 (17), 2 threads 23 -> 20 (18); dim 128
 * 55 -> 37 (35), 56 -> 37 (36). Ordinary stores in the loop: 20 / 42; a prefetch 2 or 8 rows
 * ahead: no better (38-40 at 128). In cache the batches stay (the row loop measured 1.07-1.62x
 * slower on 32-512 rows, bench/regab.sh, and on x of 8 MiB at dim 64, 11 -> 13); dim 128 on x of
 * 8 MiB 17.3 -> 16.5 (normbench, 16384 rows, 1 thread); per-head rows (32 heads x 512 tokens, x
 * stride 3 x 128, bench/regab.sh) 31.2 -> 25.6.
 */
#include "norm_avx2.h"
#include "../x86/norm_rms_row_x86.h"

/* Rows of up to this many floats are pipelined (two rows' x plus w and y stay in L1D up to
 * about here: 32 KiB on the CI machine). 2048 until session 26 (written for a 48 KiB L1D):
 * normbench --op rms --dim 2048 --rows 32,512,dram --tier avx2 (2026-12-06, two builds
 * alternating, two runs), 2048 -> 1024: dim 2048 32 rows 1 thread 242 -> 180 ns/row, 2 threads
 * 120 -> 91, 512 rows 289-290 -> 207-209, 145 -> 105; from DRAM alike (588-602 -> 579-601). */
#ifndef NORM_AVX2_RMS_PIPE_MAX
#define NORM_AVX2_RMS_PIPE_MAX 1024
#endif
/* Streaming jobs: pass 2 of a row prefetches x of a row ahead, one 64-byte line per two 32-byte
 * stores: in the four-row batches NORM_AVX2_RMS_PF_BATCH rows ahead; other rows the first row at
 * least NORM_AVX2_RMS_PF_BYTES of x ahead (pipelined rows: 2 rows at least, others 1). 0: none. */
#ifndef NORM_AVX2_RMS_PF_BATCH
#define NORM_AVX2_RMS_PF_BATCH 40
#endif
#ifndef NORM_AVX2_RMS_PF_BYTES
#define NORM_AVX2_RMS_PF_BYTES 16384
#endif
#ifndef NORM_AVX2_RMS_PF_LOC
#define NORM_AVX2_RMS_PF_LOC 3
#endif
/* Rows of at most this many floats prefetch with locality 1 (prefetcht2) instead (0: none).
 * bench/lnab.sh build main avx2 7 768,1024,2048 1 7 (x 128 MiB from DRAM, huge pages, thread
 * CPU ns/row min, 2026-12-06, session 25), locality 3 -> 1 (floor): dim 768 260 -> 153 (139),
 * 1024 295 -> 259 (183); 2048 607 -> 621 (365) with locality 1 there too (hence 1024). The
 * LayerNorm pairs measured worse with it on this tier (768 w+b 282 -> 355): they keep L1. */
#ifndef NORM_AVX2_RMS_PF_L2_MAX
#define NORM_AVX2_RMS_PF_L2_MAX 1024
#endif
/* ... and of at least this many (shorter rows: L1). normbench --op rms --dim 64 --rows dram
 * --tier avx2 (2026-12-06, session 26, two builds alternating, two runs): the four-row batches
 * of dim 64 took 24.5-27.1 ns/row (1 thread) with prefetcht2 against 12.7-13.7 with prefetcht0,
 * 2 threads 11.0-14.1 / 6.2-9.6 (floor 10.5-11.2 / 9.2-9.3), where bench/lnab.sh had measured
 * prefetcht2 better (10 against 14); at 256-1024 prefetcht2 stays 1.1-2.1x faster there
 * (256: 44-47 against 98-103). */
#ifndef NORM_AVX2_RMS_PF_L2_MIN
#define NORM_AVX2_RMS_PF_L2_MIN 128
#endif
/* Rows one at a time of at least NORM_AVX2_RMS_PF2_MIN floats in streaming jobs: 1, pass 1
 * prefetches the first half of the row ahead, pass 2 the rest at half the rate (as the
 * LayerNorm's long rows, NORM_AVX2_LN_PF2); 0, pass 2 the whole row. bench/lnab.sh build HEAD
 * avx2 7 DIMS 1|2 4 (x 128 MiB from DRAM, huge pages, thread CPU ns/row min, 2026-12-06,
 * session 26), 0 -> 1 (floor): 1 thread 16384 6691 -> 5917 (3928), 65536 24300 -> 22636
 * (15452); 2 threads 16384 8511 -> 7843, 65536 26805 -> 23966; but 4096 1064 -> 1352 and 8192
 * 2921 -> 2882 (hence the minimum). */
#ifndef NORM_AVX2_RMS_PF2
#define NORM_AVX2_RMS_PF2 1
#endif
#ifndef NORM_AVX2_RMS_PF2_MIN
#define NORM_AVX2_RMS_PF2_MIN 16384
#endif
/* Non-streaming jobs of dim 128 with at least this many bytes of x (rows * 128 floats) go row by
 * row too (rms_rows1_avx2()); 0: never. */
#ifndef NORM_AVX2_RMS_ROW1_BYTES
#define NORM_AVX2_RMS_ROW1_BYTES (4.0 * 1024 * 1024)
#endif

/* Pass 1: the total of squares of x; out of line for every n (the reduction is large and called
 * from every variant), inline for the constant-dim single rows. */
NORM_AVX2_INLINE double rms_pass1_inl_avx2(const float *x, size_t n)
{
    double unused, s;
    norm_reduce_avx2(x, n, 0.0f, 0, 0, 1, &unused, &s);
    return s;
}

static __attribute__((noinline)) double rms_pass1_avx2(const float *x, size_t n)
{
    return rms_pass1_inl_avx2(x, n);
}

/* Lane sums of squares of a row of n <= NORM_BLOCK floats, to v[0..3] of its lane total. Inlined
 * for the constant dims, out of line for the others. */
NORM_AVX2_INLINE __m256d rms_h4_inl_avx2(const float *x, size_t n)
{
    __m256 sa, qa, sb, qb;
    norm_block_avx2(x, n, 0.0f, 0, 0, 1, &sa, &qa, &sb, &qb);
    return norm_lanes_h4_avx2(qa, qb);
}

static __attribute__((noinline)) __m256d rms_h4_avx2(const float *x, size_t n)
{
    return rms_h4_inl_avx2(x, n);
}

/* Pass 2 over one row; hw (0: no weight, 1: weight, 2: the weight factor 1 + w,
 * LIBNORM_WEIGHT_PLUS_ONE) and nt (non-temporal stores past y's first 32-byte boundary) are
 * compile-time flags. pf (NULL: none): a row of x to prefetch, one 64-byte line per 64 bytes
 * stored. */
NORM_AVX2_INLINE void rms_out2_avx2(float *y, const float *x, const float *w, size_t n, float rf,
                                    int hw, int nt, const float *pf, int pfh)
{
    const __m256 r = _mm256_set1_ps(rf), one = _mm256_set1_ps(1.0f);
#define RMS_W_(wv) (hw == 2 ? _mm256_add_ps(one, (wv)) : (wv))
#define RMS_Y_(v, i) (hw ? _mm256_mul_ps(_mm256_mul_ps((v), r), RMS_W_(_mm256_loadu_ps(w + (i)))) \
                         : _mm256_mul_ps((v), r))
#define RMS_ST_(p, v) (nt ? _mm256_stream_ps((p), (v)) : _mm256_storeu_ps((p), (v)))
/* k (1..8) elements at i, masked: the head before y's first 32-byte boundary and the tail */
#define RMS_PART_(i, k)                                                                        \
    do {                                                                                       \
        __m256i m_ = norm_mask_avx2((ptrdiff_t)(k));                                           \
        __m256 t_ = _mm256_mul_ps(_mm256_maskload_ps(x + (i), m_), r);                         \
        if (hw)                                                                                \
            t_ = _mm256_mul_ps(t_, RMS_W_(_mm256_maskload_ps(w + (i), m_)));                   \
        _mm256_maskstore_ps(y + (i), m_, t_);                                                  \
    } while (0)
    size_t i = 0;
    if (nt && (i = norm_nt_head(y, n, 32)) != 0)
        RMS_PART_(0, i);
    for (; i + 32 <= n; i += 32) {
        __m256 t0 = RMS_Y_(_mm256_loadu_ps(x + i), i);
        __m256 t1 = RMS_Y_(_mm256_loadu_ps(x + i + 8), i + 8);
        __m256 t2 = RMS_Y_(_mm256_loadu_ps(x + i + 16), i + 16);
        __m256 t3 = RMS_Y_(_mm256_loadu_ps(x + i + 24), i + 24);
        RMS_ST_(y + i, t0);
        RMS_ST_(y + i + 8, t1);
        RMS_ST_(y + i + 16, t2);
        RMS_ST_(y + i + 24, t3);
        if (pf && pfh) {
            /* half the rate (NORM_AVX2_RMS_PF2): pf[0 .. n / 2) */
            __builtin_prefetch(pf + i / 2, 0, NORM_AVX2_RMS_PF_LOC);
        } else if (pf && n <= NORM_AVX2_RMS_PF_L2_MAX && n >= NORM_AVX2_RMS_PF_L2_MIN) {
            /* rows up to NORM_AVX2_RMS_PF_L2_MAX: into L2 (prefetcht2) */
            __builtin_prefetch(pf + i, 0, 1);
            __builtin_prefetch(pf + i + 16, 0, 1);
        } else if (pf) {
            __builtin_prefetch(pf + i, 0, NORM_AVX2_RMS_PF_LOC);
            __builtin_prefetch(pf + i + 16, 0, NORM_AVX2_RMS_PF_LOC);
        }
    }
    for (; i + 8 <= n; i += 8)
        RMS_ST_(y + i, RMS_Y_(_mm256_loadu_ps(x + i), i));
    if (i < n)
        RMS_PART_(i, n - i);
#undef RMS_PART_
#undef RMS_W_
#undef RMS_Y_
#undef RMS_ST_
}

NORM_AVX2_INLINE void rms_out_avx2(float *y, const float *x, const float *w, size_t n, float rf,
                                   int hw, int nt, const float *pf)
{
    rms_out2_avx2(y, x, w, n, rf, hw, nt, pf, 0);
}

/* Streaming jobs (nt): x of row `row` + d, the row that pass 2 of row `row` prefetches, or NULL
 * (not streaming, d = 0, or no such row). row < j->rows. */
NORM_AVX2_INLINE const float *rms_pf_row_avx2(const norm_job *j, size_t row, size_t d, int nt)
{
    return nt && d && d < j->rows - row ? j->x + (row + d) * j->xs : NULL;
}

/* The prefetch distance in rows of the rows outside the batches (n floats):
 * NORM_AVX2_RMS_PF_BYTES of x, at least lo rows (0 when that is 0). */
static inline size_t rms_pf_dist_avx2(size_t n, size_t lo)
{
    const size_t rb = n * sizeof(float), d = rb ? (NORM_AVX2_RMS_PF_BYTES + rb - 1) / rb : lo;
    return NORM_AVX2_RMS_PF_BYTES == 0 ? 0 : d > lo ? d : lo;
}

/* Pass 2 (or the rare path) and the optional rstd of one row of n = j->dim floats (n may be the
 * compile-time constant of a constant-dim copy), after pass 1 gave s2; pass 2 prefetches x of
 * the row pfd rows ahead in streaming jobs. */
NORM_AVX2_INLINE void rms_emit2_avx2(const norm_job *j, size_t row, size_t n, double s2,
                                     double inv_n, int hw, int nt, size_t pfd, int pfh)
{
    const float *x = j->x + row * j->xs;
    float *y = j->y + row * j->ys;
    float rstd;
    if (j->sums)
        j->sums[row] = s2;
    if (norm_rmsk_finish(j->kind, s2, inv_n, j->eps, &rstd)) {
        norm_rmsk_row_rare(j->kind, y, x, j->w, j->dim, j->eps, j->rstd ? j->rstd + row : NULL,
                           j->wplus);
        return;
    }
    const float *pf = rms_pf_row_avx2(j, row, pfd, nt);
    if (pf && pfh)
        rms_out2_avx2(y, x, j->w, n, rstd, hw, nt, pf + n / NORM_BLOCK * (NORM_BLOCK / 2), 1);
    else
        rms_out_avx2(y, x, j->w, n, rstd, hw, nt, pf);
    if (j->rstd)
        j->rstd[row] = rstd;
}

NORM_AVX2_INLINE void rms_emit_avx2(const norm_job *j, size_t row, size_t n, double s2,
                                    double inv_n, int hw, int nt, size_t pfd)
{
    rms_emit2_avx2(j, row, n, s2, inv_n, hw, nt, pfd, 0);
}

/* The statistics of four rows of at most one block each. */
typedef struct {
    float rstd[4];
    int ok; /* bit k: row k takes the ordinary path (else the rare one) */
} rms_st4_avx2;

/* Pass 1 and the statistics of rows row .. row + 3 of at most one block each (n a constant in the
 * constant-dim copies: cn). */
NORM_AVX2_INLINE void rms_stats4_avx2(const norm_job *j, size_t row, size_t n, double inv_n,
                                      int cn, rms_st4_avx2 *st)
{
    const float *x = j->x + row * j->xs;
    const size_t xs = j->xs;
    __m256d u01, u23;
    if (cn) {
        u01 = norm_lanes_pair_avx2(rms_h4_inl_avx2(x, n), rms_h4_inl_avx2(x + xs, n));
        u23 = norm_lanes_pair_avx2(rms_h4_inl_avx2(x + 2 * xs, n),
                                   rms_h4_inl_avx2(x + 3 * xs, n));
    } else {
        u01 = norm_lanes_pair_avx2(rms_h4_avx2(x, n), rms_h4_avx2(x + xs, n));
        u23 = norm_lanes_pair_avx2(rms_h4_avx2(x + 2 * xs, n), rms_h4_avx2(x + 3 * xs, n));
    }
    const __m256d s2 = norm_lanes_total4_avx2(u01, u23);
    if (j->sums)
        _mm256_storeu_pd(j->sums + row, s2);
    st->ok = norm_rms_finish4_avx2(s2, inv_n, j->eps, st->rstd);
}

/* Pass 2 (or the rare path) and the optional rstd of rows row .. row + 3. */
NORM_AVX2_INLINE void rms_out4_avx2(const norm_job *j, size_t row, size_t n,
                                    const rms_st4_avx2 *st, int hw, int nt)
{
    for (int k = 0; k < 4; k++) {
        const size_t r = row + (size_t)k;
        const float *x = j->x + r * j->xs;
        float *y = j->y + r * j->ys;
        if ((st->ok >> k) & 1) {
            rms_out_avx2(y, x, j->w, n, st->rstd[k], hw, nt,
                         rms_pf_row_avx2(j, r, NORM_AVX2_RMS_PF_BATCH, nt));
            if (j->rstd)
                j->rstd[r] = st->rstd[k];
        } else {
            norm_rmsnorm_row_rare(y, x, j->w, n, j->eps, j->rstd ? j->rstd + r : NULL, j->wplus);
        }
    }
}

/* Rows row .. (returned) of at most one block each, four at a time, software-pipelined: the
 * statistics of the next four rows are computed before the output of the current four, so that
 * their trees overlap the current rows' square root and division. The next rows' pass 1 reads
 * only their x, which the current rows' output (their own y) cannot touch: the API forbids any
 * overlap other than exactly in place. */
NORM_AVX2_INLINE size_t rms_batches_avx2(const norm_job *j, size_t n, double inv_n, int cn,
                                         int hw, int nt)
{
    size_t row = 0;
    if (j->rows < 4)
        return 0;
    rms_st4_avx2 cur, nxt;
    rms_stats4_avx2(j, 0, n, inv_n, cn, &cur);
    for (; j->rows - row >= 8; row += 4) {
        rms_stats4_avx2(j, row + 4, n, inv_n, cn, &nxt);
        rms_out4_avx2(j, row, n, &cur, hw, nt);
        cur = nxt;
    }
    rms_out4_avx2(j, row, n, &cur, hw, nt);
    return row + 4;
}

/* The statistics of one row of n = 64 or 128 floats (a constant after inlining), RMSNorm's kind:
 * *s2 its total of squares; returns 0 for the rare path, else 1 with *rstd (the one-row section
 * below has why these shortcuts give norm_rms_finish()'s bits). */
NORM_AVX2_INLINE int rms_row_stat_avx2(const float *x, size_t n, float eps, double *s2p,
                                       float *rstd)
{
    __m256 sa, qa, sb, qb;
    norm_block_avx2(x, n, 0.0f, 0, 0, 1, &sa, &qa, &sb, &qb);
    const __m128d s2v = lanes_total1_avx2(qa, qb);
    return norm_rms_row_finish_x86(s2v, n, eps, s2p, rstd);
}

/* rms_rows1_avx2(): the row loop (streaming jobs and large ones of dim 128: the header says
 * why) of src/x86/norm_rms_row_x86.h on this tier's rms_row_stat_avx2() and rms_out_avx2(). */
#define NRR_INLINE NORM_AVX2_INLINE
#define NRR_STAT rms_row_stat_avx2
#define NRR_OUT(y, x, w, n, rstd, hw, nt) rms_out_avx2((y), (x), (w), (n), (rstd), (hw), (nt), NULL)
#define NRR_ROWS1 rms_rows1_avx2
#include "../x86/norm_rms_row_x86.h"
#undef NRR_INLINE
#undef NRR_STAT
#undef NRR_OUT
#undef NRR_ROWS1

NORM_AVX2_INLINE void rms_rows_avx2(const norm_job *j, int hw, int nt)
{
    const size_t n = j->dim;
    const double inv_n = 1.0 / (double)n;
    size_t row = 0;
    /* streaming jobs and large ones of dim 128: row by row */
    if (n == 128 && j->kind == NORM_KIND_RMS &&
        (nt || (NORM_AVX2_RMS_ROW1_BYTES > 0 &&
                (double)j->rows * 128.0 * 4.0 >= NORM_AVX2_RMS_ROW1_BYTES))) {
        rms_rows1_avx2(j, 128, hw, nt);
        return;
    }
    /* the four-row batches finish RMSNorm's kind inline; L2 rows go one at a time below */
    if (n <= NORM_BLOCK && j->kind == NORM_KIND_RMS) {
#define RMS_BATCHES(N, CN) row = rms_batches_avx2(j, (N), inv_n, (CN), hw, nt)
        switch (n) {
        case 64: RMS_BATCHES(64, 1); break;
        case 128: RMS_BATCHES(128, 1); break;
        default: RMS_BATCHES(n, 0); break;
        }
#undef RMS_BATCHES
    }
    if (!nt && row + 1 == j->rows && (n == 64 || n == 128)) {
        /* one row left (decode-time calls of one row): constant-dim copies */
        if (n == 64)
            rms_emit_avx2(j, row, 64, rms_pass1_inl_avx2(j->x + row * j->xs, 64), inv_n, hw,
                          nt, 0);
        else
            rms_emit_avx2(j, row, 128, rms_pass1_inl_avx2(j->x + row * j->xs, 128), inv_n, hw,
                          nt, 0);
        return;
    }
    if (n <= NORM_AVX2_RMS_PIPE_MAX && row < j->rows) {
        /* Pass 1 of row r + 1 reads only x of row r + 1, which pass 2 of row r (writing y of
         * row r) cannot touch: the API forbids any overlap other than exactly in place. */
        const size_t pfd = rms_pf_dist_avx2(n, 2);
        double s = rms_pass1_avx2(j->x + row * j->xs, n);
        for (; row < j->rows; row++) {
            double next = row + 1 < j->rows ? rms_pass1_avx2(j->x + (row + 1) * j->xs, n) : 0.0;
            rms_emit_avx2(j, row, n, s, inv_n, hw, nt, pfd);
            s = next;
        }
        return;
    }
    const size_t pfd = rms_pf_dist_avx2(n, 1);
    for (; row < j->rows; row++) {
        const float *pf = rms_pf_row_avx2(j, row, pfd, nt);
        if (NORM_AVX2_RMS_PF2 && pf && n >= NORM_AVX2_RMS_PF2_MIN) {
            /* pass 1 prefetches the first half of that row (16 lines before each block's
             * trees), pass 2 the rest at half the rate */
            double unused, s;
            norm_reducepf_avx2(j->x + row * j->xs, n, 0.0f, 0, 0, 1, &unused, &s, N2_F32, pf);
            rms_emit2_avx2(j, row, n, s, inv_n, hw, nt, pfd, 1);
        } else {
            rms_emit_avx2(j, row, n, rms_pass1_avx2(j->x + row * j->xs, n), inv_n, hw, nt, pfd);
        }
    }
}

void norm_rmsnorm_f32_avx2(const norm_job *j)
{
    const int nt = norm_stream_job(j);
    /* one instance of the row loop per weight variant and store kind */
#define RMS_ROWS(HW) (nt ? rms_rows_avx2(j, HW, 1) : rms_rows_avx2(j, HW, 0))
    if (j->w && j->wplus)
        RMS_ROWS(2);
    else if (j->w)
        RMS_ROWS(1);
    else
        RMS_ROWS(0);
#undef RMS_ROWS
    if (nt && j->stream != NORM_STREAM_NOFENCE)
        _mm_sfence();
}

/* ---- one row (norm_dsp.rmsnorm_row_f32: the entry points' rows = 1 calls) ----
 * As in rmsnorm_avx512.c: for dims 64 and 128 (n a constant), the lane total of the row's one
 * block without the +0.0 of lo (lane sums of squares are never -0, so (double)hi + 0.0 is
 * (double)hi exactly), and s2 * inv_n + eps as one fma (inv_n = 2^-k: the product is exact for
 * every s2 the ordinary path takes, so one rounding either way). Same bits; no job to read. */

/* The rare path of a single row (out of line, tail-called: the hot function makes no call). */
static __attribute__((noinline)) int rms_row_rare_avx2(float *y, const float *x, const float *w,
                                                       size_t n, float eps, int wplus)
{
    norm_rmsnorm_row_rare(y, x, w, n, eps, NULL, wplus);
    return 0;
}

/* One row of n = 64 or 128 floats (a constant after inlining); hw as rms_out_avx2(). */
NORM_AVX2_INLINE int rms_row_pow2_avx2(float *y, const float *x, const float *w, size_t n,
                                       float eps, int hw)
{
    double s2;
    float rstd;
    if (__builtin_expect(!rms_row_stat_avx2(x, n, eps, &s2, &rstd), 0))
        return rms_row_rare_avx2(y, x, w, n, eps, hw == 2);
    rms_out_avx2(y, x, w, n, rstd, hw, 0, NULL);
    return 0;
}

/* Other dims: the row as a job of the general kernel (out of line: the constant-dim copies keep
 * a frame-less function). */
static __attribute__((noinline)) int rms_row_job_avx2(float *y, const float *x, const float *w,
                                                      size_t n, float eps, int wplus)
{
    norm_job j;
    norm_job_row(&j, y, x, w, NULL, n, eps, wplus);
    norm_rmsnorm_f32_avx2(&j);
    return 0;
}

int norm_rmsnorm_row_f32_avx2(float *y, const float *x, const float *w, size_t n, float eps,
                              int wplus)
{
    const int hw = !w ? 0 : wplus ? 2 : 1;
#define RMS_ROW_(N)                                                                            \
    (hw == 1   ? rms_row_pow2_avx2(y, x, w, (N), eps, 1)                                       \
     : hw == 0 ? rms_row_pow2_avx2(y, x, w, (N), eps, 0)                                       \
               : rms_row_pow2_avx2(y, x, w, (N), eps, 2))
    if (n == 64)
        return RMS_ROW_(64);
    if (n == 128)
        return RMS_ROW_(128);
#undef RMS_ROW_
    return rms_row_job_avx2(y, x, w, n, eps, wplus);
}
