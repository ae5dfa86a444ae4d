/*
 * RMSNorm, AVX-512 tier: the canonical order of src/norm_internal.h with 16 lanes per zmm
 * (helpers in norm_avx512.h), bit-identical to the scalar reference.
 *
 * Per row: pass 1 totals the squares of x -> norm_rms_finish() (or the shared rare path);
 * pass 2 writes y = (x * rstd) * w, or x * rstd without a weight.
 *
 * Scheduling (none of it changes an operation):
 *   - Streaming jobs of dims 64 and 128 (RMSNorm's kind; L2 jobs take the batches) go row by
 *     row instead (rms_rows1_avx512()): each row's statistics as the one-row function computes
 *     them, then its pass 2 at once from x still in L1, non-temporal stores where the row's y is
 *     64-byte aligned, no software prefetch; non-streaming jobs of dim 128 with at least
 *     RMS_ROW1_BYTES of x (an L3-resident job, e.g. per-head norms of 512 tokens) too (jobs of
 *     fewer than eight rows keep the single-row loop below, with its prefetch). From
 *     DRAM the batches cost about compute + memory (no overlap): in one process (bench/lnab.sh
 *     build main avx512 9 64,128 3 4; x 128 MiB, thread CPU ns/row min, floor = normbench's
 *     streaming pass, 2026-12-06, a loaded machine) batches -> row loop (floor): dim 64 1 thread
 *     22 -> 20 (18), 2 threads 23 -> 20 (19); dim 128 53 -> 39 (38), 57 -> 42 (40). The same loop
 *     with ordinary stores: 20-21 / 44-48; with a prefetch 2 or 8 rows ahead: no better (dim 128
 *     39-44). In cache the batches stay: the row loop measured 1.07-1.28x slower on 32-512 rows
 *     (bench/regab.sh) and at dim 64 also on x of 8 MiB (9 -> 10); dim 128 x 8 MiB: 18.4 -> 16.8
 *     (normbench, 16384 rows, 1 thread), 2 threads on x + y of 32 MiB 38 -> 22; per-head rows
 *     (32 heads x 512 tokens, x stride 3 x 128, bench/regab.sh) 28.4 -> 24.1.
 *   - Other short rows (n <= RMS_BATCH_MAX) go eight at a time: eight independent trees, then the
 *     eight rows' lane totals and 1/sqrt as vectors of doubles, lane k doing exactly row k's
 *     scalar arithmetic (norm_rms_finish); up to RMS_PIPE_MAX software-pipelined (the next eight
 *     rows' statistics before this eight's pass 2), as the AVX2 tier's four-row batches are.
 *   - Other rows go two at a time (up to RMS_PAIR_MAX), so that two rows' dependency chains
 *     (tree -> lane total -> 1/sqrt -> output) overlap in the out-of-order core.
 *   - Streaming jobs (norm_stream_job() in norm_internal.h) write y with non-temporal stores,
 *     then sfence, and (but for the row loop above) pass 2 of each row prefetches x of a later
 *     row line by line, one
 *     prefetch (into L1) per 64-byte store: RMS_PF_BATCH rows ahead in the batches, otherwise
 *     the first row at least RMS_PF_BYTES of x ahead (pairs: 2 rows at least). Why: from DRAM,
 *     cpu-clock samples (dim 768) piled up on the non-temporal stores (about half of the
 *     kernel's samples): while pass 2 drained its stores no read was in flight, and the next
 *     row's pass 1 then waited for DRAM, so a row cost its reads plus its writes, as the
 *     LayerNorm pairs did before theirs (layernorm_avx512.c). Measured in one process, the
 *     base kernel (commit 91e118b) and this one interleaved with a non-temporal streaming loop
 *     y = x * s * w (2026-12-05, a loaded machine: thread CPU ns/row, min of 21, 64 MiB of x,
 *     weight), old -> new (streaming loop), 1 thread: dim 64 35 -> 28 (27), 128 64 -> 57 (55),
 *     768 403 -> 283 (341), 2048 1148 -> 943 (969), 4096 2357 -> 1829 (1812), 16384 8973 ->
 *     8391 (7863), 65536 35962 -> 31568 (29673); 2 threads (the slower thread): 64 20 -> 15
 *     (15), 768 236 -> 154 (158), 2048 667 -> 517 (476), 4096 1385 -> 1119 (922), 65536 22398
 *     -> 18008 (16787). Batch distances of 40-96 rows measured alike (16-24 worse at dims 64
 *     and 128); pairs 4-6 rows ahead alike at 768-1024 (2 worse); single rows of 4096 1 row
 *     ahead better than 2; an L2 hint no better. A wrong prefetch address changes no result
 *     (checkasm cannot see it); only timing does.
 */
#include "norm_avx512.h"
#include "../x86/norm_rms_row_x86.h"

/* Batches of rows up to this long are software-pipelined; longer ones not (32 rows in cache,
 * measured: dim 64 7.0 -> 5.1 ns/row pipelined, 128 8.8 -> 7.8, but 512 32-36 -> 40-41). */
#ifndef RMS_PIPE_MAX
#define RMS_PIPE_MAX 128
#endif
#ifndef RMS_PAIR_MAX
#define RMS_PAIR_MAX 2048
#endif
#ifndef RMS_BATCH_MAX
#define RMS_BATCH_MAX 512
#endif
/* Streaming jobs: pass 2 of a row prefetches x of a row ahead, one 64-byte line per 64-byte
 * store: in the eight-row batches RMS_PF_BATCH rows ahead; other rows (pairs, single rows) the
 * first row at least RMS_PF_BYTES of x ahead (pairs: 2 rows at least, single rows 1). 0: none. */
#ifndef RMS_PF_BATCH
#define RMS_PF_BATCH 64
#endif
#ifndef RMS_PF_BYTES
#define RMS_PF_BYTES 16384
#endif
#ifndef RMS_PF_LOC
#define RMS_PF_LOC 3
#endif
/* Rows of at most this many floats prefetch with locality 1 (prefetcht2) instead (0: none).
 * bench/lnab.sh build main avx512 5-7 768,1024,2048 1|2 7 (x 128 MiB from DRAM, huge pages,
 * thread CPU ns/row min, 2026-12-06, session 25), locality 3 -> 1 (floor): 1 thread dim 768
 * 220 -> 155 (149), 1024 300 -> 255 (215), 2048 568 -> 596 (464); 2 threads 768 389 -> 252
 * (261), 1024 350 -> 346 (315). Prefetches into L1 hold a miss buffer each until DRAM answers
 * (layernorm_avx512.c, session 25). */
#ifndef RMS_PF_L2_MAX
#define RMS_PF_L2_MAX 1024
#endif
/* Streaming rows one at a time (n > RMS_PAIR_MAX) of at least RMS_PF2_MIN floats with a weight:
 * 1, pass 1 prefetches the first half of the row ahead, pass 2 the rest at half the rate
 * (rms_row_pf2_avx512(), as the LayerNorm's long rows, LN_NT_PF2); 0, pass 2 the whole row.
 * bench/lnab.sh build HEAD avx512 7 DIMS 1|2 4 (x 128 MiB from DRAM, huge pages, thread CPU
 * ns/row min, 2026-12-06, session 26), 0 -> 1 (floor): 1 thread 8192 2867 -> 2756 (1970),
 * 16384 5968 -> 5465 (3981), 65536 22184 -> 20512 (15728); 2 threads (the slower thread)
 * 8192 3276 -> 3150, 16384 6861 -> 7037, 65536 27228 -> 27543 (the noise); 4096 1 thread
 * 1155 -> 1285 (hence the minimum). */
#ifndef RMS_PF2
#define RMS_PF2 1
#endif
#ifndef RMS_PF2_MIN
#define RMS_PF2_MIN 8192
#endif
/* Non-streaming jobs of dim 128 with at least this many bytes of x (rows * 128 floats) go row by
 * row too (rms_rows1_avx512()); 0: never. */
#ifndef RMS_ROW1_BYTES
#define RMS_ROW1_BYTES (4.0 * 1024 * 1024)
#endif

/* Pass 2 for one row; hw (0: no weight, 1: weight, 2: the factor 1 + w, LIBNORM_WEIGHT_PLUS_ONE)
 * and nt (non-temporal stores for y past its first 64-byte boundary) are compile-time constants
 * after inlining. pf (NULL: none): a row of x to prefetch, one 64-byte line per 64-byte store. */
N5_INLINE void rms_out2_avx512(float *y, const float *x, const float *w, size_t n, float rstd,
                               int hw, int nt, const float *pf, int pfh)
{
    const __m512 vr = _mm512_set1_ps(rstd), one = _mm512_set1_ps(1.0f);
#define RMS_WF(V) (hw == 2 ? _mm512_add_ps(one, (V)) : (V))
#define RMS_Y(X, I) (hw ? _mm512_mul_ps(_mm512_mul_ps((X), vr), RMS_WF(_mm512_loadu_ps(w + (I)))) \
                        : _mm512_mul_ps((X), vr))
#define RMS_ST(P, V) (nt ? _mm512_stream_ps((P), (V)) : _mm512_storeu_ps((P), (V)))
/* k (1..15) elements at i, masked: the head before y's first 64-byte boundary and the tail */
#define RMS_PART(i, k)                                                                         \
    do {                                                                                       \
        __mmask16 m_ = tail_mask_avx512(k);                                                    \
        __m512 t_ = _mm512_mul_ps(_mm512_maskz_loadu_ps(m_, x + (i)), vr);                     \
        if (hw)                                                                                \
            t_ = _mm512_mul_ps(t_, RMS_WF(_mm512_maskz_loadu_ps(m_, w + (i))));                \
        _mm512_mask_storeu_ps(y + (i), m_, t_);                                                \
    } while (0)
    size_t i = 0;
    if (nt && (i = norm_nt_head(y, n, 64)) != 0)
        RMS_PART(0, i);
    for (; i + 64 <= n; i += 64) {
        __m512 x0 = _mm512_loadu_ps(x + i), x1 = _mm512_loadu_ps(x + i + 16);
        __m512 x2 = _mm512_loadu_ps(x + i + 32), x3 = _mm512_loadu_ps(x + i + 48);
        __m512 y0 = RMS_Y(x0, i), y1 = RMS_Y(x1, i + 16);
        __m512 y2 = RMS_Y(x2, i + 32), y3 = RMS_Y(x3, i + 48);
        RMS_ST(y + i, y0);
        RMS_ST(y + i + 16, y1);
        RMS_ST(y + i + 32, y2);
        RMS_ST(y + i + 48, y3);
        N5_PF_STEP(pf, i, n, pfh, RMS_PF_L2_MAX, RMS_PF_LOC); /* pfh: RMS_PF2 */
    }
    for (; i + 16 <= n; i += 16)
        RMS_ST(y + i, RMS_Y(_mm512_loadu_ps(x + i), i));
    if (i < n)
        RMS_PART(i, n - i);
#undef RMS_PART
#undef RMS_WF
#undef RMS_Y
#undef RMS_ST
}

N5_INLINE void rms_out_avx512(float *y, const float *x, const float *w, size_t n, float rstd,
                              int hw, int nt, const float *pf)
{
    rms_out2_avx512(y, x, w, n, rstd, hw, nt, pf, 0);
}

/* Streaming rows one at a time of at least RMS_PF2_MIN floats, RMSNorm's kind with a weight
 * (w: hw 1 or 2): pass 1 prefetches the first half of row pf (16 lines before each block's
 * tree, n5_hook), pass 2 the rest at half the rate. */
N5_INLINE void rms_row_pf2_avx512(const norm_job *j, size_t r, size_t n, double inv_n,
                                  const float *pf)
{
    const float *x = j->x + r * j->xs;
    float *y = j->y + r * j->ys;
    const acc_avx512 a = acc_sqf_avx512(x, n, N5_F32, (n5_hook){pf, NULL, NULL});
    const double s2 = lanes_total_avx512(a.hi, a.lo);
    float rstd;
    if (j->sums)
        j->sums[r] = s2;
    if (norm_rmsk_finish(j->kind, s2, inv_n, j->eps, &rstd)) {
        norm_rmsk_row_rare(j->kind, y, x, j->w, n, j->eps, j->rstd ? j->rstd + r : NULL,
                           j->wplus);
        return;
    }
    const float *pf2 = pf + n / NORM_BLOCK * (NORM_BLOCK / 2);
    if (j->wplus)
        rms_out2_avx512(y, x, j->w, n, rstd, 2, 1, pf2, 1);
    else
        rms_out2_avx512(y, x, j->w, n, rstd, 1, 1, pf2, 1);
    if (j->rstd)
        j->rstd[r] = rstd;
}

N5_INLINE void rms_out_sel_avx512(float *y, const float *x, const float *w, size_t n, float rstd,
                                  int nt, int wp, const float *pf)
{
    if (w && wp) {
        if (nt)
            rms_out_avx512(y, x, w, n, rstd, 2, 1, pf);
        else
            rms_out_avx512(y, x, w, n, rstd, 2, 0, NULL);
    } else if (w) {
        if (nt)
            rms_out_avx512(y, x, w, n, rstd, 1, 1, pf);
        else
            rms_out_avx512(y, x, w, n, rstd, 1, 0, NULL);
    } else {
        if (nt)
            rms_out_avx512(y, x, w, n, rstd, 0, 1, pf);
        else
            rms_out_avx512(y, x, w, n, rstd, 0, 0, NULL);
    }
}

/* After pass 1: the statistics, then pass 2 or the rare path. sums: NULL, or where the row's
 * total goes (NORM_SUMS). */
N5_INLINE void rms_finish_row_avx512(float *y, const float *x, const float *w, size_t n,
                                     float eps, double inv_n, double s2, float *rstdp,
                                     double *sums, int nt, int kind, int wp, const float *pf)
{
    float rstd;
    if (sums)
        *sums = s2;
    if (norm_rmsk_finish(kind, s2, inv_n, eps, &rstd)) {
        norm_rmsk_row_rare(kind, y, x, w, n, eps, rstdp, wp);
        return;
    }
    rms_out_sel_avx512(y, x, w, n, rstd, nt, wp, pf);
    if (rstdp)
        *rstdp = rstd;
}

/* Streaming jobs (nt): x of row r + d, the row that pass 2 of row r prefetches, or NULL (not
 * streaming, d = 0, or no such row). r < j->rows. */
N5_INLINE const float *rms_pf_row_avx512(const norm_job *j, size_t r, size_t d, int nt)
{
    return nt && d && d < j->rows - r ? j->x + (r + d) * j->xs : NULL;
}

/* The prefetch distance in rows of pairs and single rows of n floats: RMS_PF_BYTES of x, at
 * least lo rows (0 when RMS_PF_BYTES is 0). */
static inline size_t rms_pf_dist_avx512(size_t n, size_t lo)
{
    const size_t rb = n * sizeof(float), d = rb ? (RMS_PF_BYTES + rb - 1) / rb : lo;
    return RMS_PF_BYTES == 0 ? 0 : d > lo ? d : lo;
}

/* The statistics of eight rows (short rows), computed by rms_stats8_avx512() before pass 2 of the
 * previous eight (rms_out8_avx512()). */
typedef struct rms_st8_avx512 {
    float rstd[8];
    unsigned ok; /* bit k: row k takes pass 2 (else the rare path) */
} rms_st8_avx512;

/* Pass 1 and the statistics of rows r .. r+7 (RMSNorm's kind). Lane k computes exactly
 * norm_rms_finish() of row k: rare unless RARE_MIN <= s2 <= DBL_MAX,
 * rstd = (float)(1.0 / sqrt(s2 * inv_n + (double)eps)). */
N5_INLINE void rms_stats8_avx512(const norm_job *j, size_t r, size_t n, double inv_n,
                                 rms_st8_avx512 *st)
{
    acc_avx512 a[8];
    for (int k = 0; k < 8; k++)
        a[k] = acc_sq_avx512(j->x + (r + (size_t)k) * j->xs, n);
    const __m512d s2 = lanes_total8_avx512(a);
    if (j->sums)
        _mm512_storeu_pd(j->sums + r, s2);
    st->ok = _mm512_cmp_pd_mask(s2, _mm512_set1_pd(NORM_RARE_MIN), _CMP_GE_OQ) &
             _mm512_cmp_pd_mask(s2, _mm512_set1_pd(DBL_MAX), _CMP_LE_OQ);
    const __m512d sd = _mm512_sqrt_pd(_mm512_add_pd(_mm512_mul_pd(s2, _mm512_set1_pd(inv_n)),
                                                    _mm512_set1_pd((double)j->eps)));
    _mm256_storeu_ps(st->rstd, _mm512_cvtpd_ps(_mm512_div_pd(_mm512_set1_pd(1.0), sd)));
}

/* Pass 2 (or the rare path) and rstd of rows r .. r+7. */
N5_INLINE void rms_out8_avx512(const norm_job *j, size_t r, size_t n, const rms_st8_avx512 *st,
                               int nt)
{
    for (int k = 0; k < 8; k++) {
        const float *x = j->x + (r + (size_t)k) * j->xs;
        float *y = j->y + (r + (size_t)k) * j->ys;
        if ((st->ok >> k) & 1u) {
            rms_out_sel_avx512(y, x, j->w, n, st->rstd[k], nt, j->wplus,
                               rms_pf_row_avx512(j, r + (size_t)k, RMS_PF_BATCH, nt));
            if (j->rstd)
                j->rstd[r + k] = st->rstd[k];
        } else {
            norm_rmsnorm_row_rare(y, x, j->w, n, j->eps, j->rstd ? j->rstd + r + k : NULL,
                                  j->wplus);
        }
    }
}

/* Eight rows r .. r+7 of another kind (L2): the eight totals, then each row's own scalar finish
 * (norm_rmsk_finish). */
N5_INLINE void rms_rows8_kind_avx512(const norm_job *j, size_t r, size_t n, double inv_n, int nt)
{
    acc_avx512 a[8];
    double t[8];
    for (int k = 0; k < 8; k++)
        a[k] = acc_sq_avx512(j->x + (r + (size_t)k) * j->xs, n);
    _mm512_storeu_pd(t, lanes_total8_avx512(a));
    for (int k = 0; k < 8; k++)
        rms_finish_row_avx512(j->y + (r + (size_t)k) * j->ys, j->x + (r + (size_t)k) * j->xs,
                              j->w, n, j->eps, inv_n, t[k], j->rstd ? j->rstd + r + k : NULL,
                              j->sums ? j->sums + r + k : NULL, nt, j->kind, j->wplus,
                              rms_pf_row_avx512(j, r + (size_t)k, RMS_PF_BATCH, nt));
}

/* The statistics of one row of n = 64 or 128 floats (a constant after inlining), RMSNorm's kind:
 * *s2 its total of squares; returns 0 for the rare path, else 1 with *rstd (see the one-row
 * section below for why these shortcuts give norm_rms_finish()'s bits). */
N5_INLINE int rms_row_stat_avx512(const float *x, size_t n, float eps, double *s2p, float *rstd)
{
    const __m128d s2v = lanes_total1_avx512(psq_avx512(x, n, N5_F32));
    return norm_rms_row_finish_x86(s2v, n, eps, s2p, rstd);
}

/* rms_rows1_avx512(): the row loop (streaming jobs and large ones of dim 128: the header says
 * why) of src/x86/norm_rms_row_x86.h on this tier's rms_row_stat_avx512() and rms_out_avx512(). */
#define NRR_INLINE N5_INLINE
#define NRR_STAT rms_row_stat_avx512
#define NRR_OUT(y, x, w, n, rstd, hw, nt)                                                     \
    rms_out_avx512((y), (x), (w), (n), (rstd), (hw), (nt), NULL)
#define NRR_ROWS1 rms_rows1_avx512
#include "../x86/norm_rms_row_x86.h"
#undef NRR_INLINE
#undef NRR_STAT
#undef NRR_OUT
#undef NRR_ROWS1

/* rms_rows1_avx512() for n = j->dim, 64 or 128: one instance per dim and weight variant. */
static void rms_rows1_sel_avx512(const norm_job *j, int nt)
{
    const int hw = !j->w ? 0 : j->wplus ? 2 : 1;
#define RMS_R1(N) (hw == 1   ? rms_rows1_avx512(j, (N), 1, nt)                                  \
                   : hw == 0 ? rms_rows1_avx512(j, (N), 0, nt)                                  \
                             : rms_rows1_avx512(j, (N), 2, nt))
    if (j->dim == 64)
        RMS_R1(64);
    else
        RMS_R1(128);
#undef RMS_R1
}

/* Rows 0 .. (returned) of at most RMS_BATCH_MAX floats (jobs of eight rows or more; those of
 * dims 64 and 128 that go row by row, all of them through rms_rows1_sel_avx512()), eight at a
 * time; RMSNorm's of at most RMS_PIPE_MAX floats are software-pipelined: pass 1 and the
 * statistics of the next eight rows come before pass 2 of the current eight, so that their
 * loads and trees overlap the current rows' square roots, divisions and stores. The next rows'
 * pass 1 reads only their x, which the current rows' pass 2 (their own y and rstd) cannot touch:
 * the API forbids any overlap other than exactly in place. */
N5_INLINE size_t rms_batches_avx512(const norm_job *j, size_t n, double inv_n, int nt)
{
    size_t r = 0;
    if (j->rows < 8)
        return 0;
    if ((n == 64 || n == 128) && j->kind == NORM_KIND_RMS &&
        (nt || (n == 128 && RMS_ROW1_BYTES > 0 &&
                (double)j->rows * 128.0 * 4.0 >= RMS_ROW1_BYTES))) {
        rms_rows1_sel_avx512(j, nt);
        return j->rows;
    }
    if (j->kind != NORM_KIND_RMS) {
        for (; r + 8 <= j->rows; r += 8)
            rms_rows8_kind_avx512(j, r, n, inv_n, nt);
        return r;
    }
    rms_st8_avx512 st[2];
    int c = 0;
    if (n > RMS_PIPE_MAX) {
        for (; r + 8 <= j->rows; r += 8) {
            rms_stats8_avx512(j, r, n, inv_n, &st[0]);
            rms_out8_avx512(j, r, n, &st[0], nt);
        }
        return r;
    }
    rms_stats8_avx512(j, 0, n, inv_n, &st[0]);
    for (; j->rows - r >= 16; r += 8, c ^= 1) {
        rms_stats8_avx512(j, r + 8, n, inv_n, &st[c ^ 1]);
        rms_out8_avx512(j, r, n, &st[c], nt);
    }
    rms_out8_avx512(j, r, n, &st[c], nt);
    return r + 8;
}

N5_INLINE void rms_rows_avx512(const norm_job *j, int nt)
{
    const size_t n = j->dim;
    const double inv_n = 1.0 / (double)n;
    float *const rstd = j->rstd;
    size_t r = 0;
    if (n <= RMS_BATCH_MAX) {
        /* dims 64 and 128 get their own copy with n a constant (as in layernorm_avx512.c) */
#define RMS_BATCHES(N) r = rms_batches_avx512(j, (N), inv_n, nt)
        switch (n) {
        case 64: RMS_BATCHES(64); break;
        case 128: RMS_BATCHES(128); break;
        default: RMS_BATCHES(n); break;
        }
#undef RMS_BATCHES
    }
    const size_t pfp = rms_pf_dist_avx512(n, 2), pfr = rms_pf_dist_avx512(n, 1);
    /* The rows left (fewer than eight short ones: decode-time calls of one row) get the same
     * constant-dim copies for dims 64 and 128. Pairs (up to RMS_PAIR_MAX) compute exactly what
     * the single-row loop computes. */
#define RMS_REST(N)                                                                            \
    do {                                                                                       \
        for (; (N) <= RMS_PAIR_MAX && r + 2 <= j->rows; r += 2) {                              \
            const float *xa = j->x + r * j->xs, *xb = xa + j->xs;                              \
            float *ya = j->y + r * j->ys, *yb = ya + j->ys;                                    \
            double sa = total_sq_avx512(xa, (N));                                              \
            double sb = total_sq_avx512(xb, (N));                                              \
            rms_finish_row_avx512(ya, xa, j->w, (N), j->eps, inv_n, sa, rstd ? rstd + r : NULL, \
                                  j->sums ? j->sums + r : NULL, nt, j->kind, j->wplus,         \
                                  rms_pf_row_avx512(j, r, pfp, nt));                           \
            rms_finish_row_avx512(yb, xb, j->w, (N), j->eps, inv_n, sb,                        \
                                  rstd ? rstd + r + 1 : NULL, j->sums ? j->sums + r + 1 : NULL, \
                                  nt, j->kind, j->wplus,                                       \
                                  rms_pf_row_avx512(j, r + 1, pfp, nt));                       \
        }                                                                                      \
        for (; r < j->rows; r++) {                                                             \
            const float *x = j->x + r * j->xs;                                                 \
            float *y = j->y + r * j->ys;                                                       \
            const float *pf_ = rms_pf_row_avx512(j, r, pfr, nt);                               \
            if (RMS_PF2 && pf_ && j->w && (N) >= RMS_PF2_MIN) {                                \
                rms_row_pf2_avx512(j, r, (N), inv_n, pf_);                                     \
                continue;                                                                      \
            }                                                                                  \
            rms_finish_row_avx512(y, x, j->w, (N), j->eps, inv_n, total_sq_avx512(x, (N)),     \
                                  rstd ? rstd + r : NULL, j->sums ? j->sums + r : NULL, nt,    \
                                  j->kind, j->wplus, rms_pf_row_avx512(j, r, pfr, nt));        \
        }                                                                                      \
    } while (0)
    switch (n) {
    case 64: RMS_REST(64); break;
    case 128: RMS_REST(128); break;
    default: RMS_REST(n); break;
    }
#undef RMS_REST
}

void norm_rmsnorm_f32_avx512(const norm_job *j)
{
    if (norm_stream_job(j)) {
        rms_rows_avx512(j, 1);
        if (j->stream != NORM_STREAM_NOFENCE)
            _mm_sfence();
    } else {
        rms_rows_avx512(j, 0);
    }
}

/* ---- one row (norm_dsp.rmsnorm_row_f32: the entry points' rows = 1 calls) ----
 * The latency chain of a decode-time row is loads -> tree -> lane total -> sqrt -> division ->
 * output; these copies (dims 64 and 128, n a constant) shorten it without changing an
 * operation's operands or order:
 *   - lanes_total1_avx512(): norm_lanes_total() of a row of one block, whose lo is +0 in every
 *     lane and whose lane sums of squares are never -0 (every leaf a*a and fma(b, b, a*a) is
 *     +0 or more, or NaN; a sum of such values is never -0), so v[l] = (double)hi[l] + 0.0 is
 *     (double)hi[l] exactly: the addition is left out. The halving adds are done on quarters
 *     (four floats widened to four doubles each, the quarters extracted in parallel), which
 *     is one cross-lane step fewer than widening halves.
 *   - s2 * inv_n + eps as one fma: for n a power of two inv_n is 2^-k, and s2 * 2^-k is exact for
 *     every s2 the ordinary path takes (NORM_RARE_MIN <= s2 <= DBL_MAX: no underflow, no
 *     overflow), so the fused and the separate forms round the same sum once, bit for bit.
 * No job to read, no batch or streaming test: the call is one row of n floats, no statistics
 * outputs (a row of this size never streams: norm_stream_job()). */

/* The rare path of a single row (out of line, tail-called: the hot function makes no call). */
static __attribute__((noinline)) int rms_row_rare_avx512(float *y, const float *x, const float *w,
                                                         size_t n, float eps, int wplus)
{
    norm_rmsnorm_row_rare(y, x, w, n, eps, NULL, wplus);
    return 0;
}

/* One row of n = 64 or 128 floats (a constant after inlining): wp as norm_job.wplus. */
N5_INLINE int rms_row_pow2_avx512(float *y, const float *x, const float *w, size_t n, float eps,
                                  int wp)
{
    double s2;
    float rstd;
    if (__builtin_expect(!rms_row_stat_avx512(x, n, eps, &s2, &rstd), 0))
        return rms_row_rare_avx512(y, x, w, n, eps, wp);
    rms_out_sel_avx512(y, x, w, n, rstd, 0, wp, NULL);
    return 0;
}

/* Other dims: the row as a job of the general kernel (out of line: the constant-dim copies keep
 * a frame-less function). */
static __attribute__((noinline)) int rms_row_job_avx512(float *y, const float *x, const float *w,
                                                        size_t n, float eps, int wplus)
{
    norm_job j;
    norm_job_row(&j, y, x, w, NULL, n, eps, wplus);
    norm_rmsnorm_f32_avx512(&j);
    return 0;
}

#if defined(NORM_AVX512_EMU)
/* the emulated build's name (tests/test_tiers.h) */
#define RMS_ROW_FN norm_rmsnorm_row_f32_avx512emu
int RMS_ROW_FN(float *y, const float *x, const float *w, size_t n, float eps, int wplus);
#else
#define RMS_ROW_FN norm_rmsnorm_row_f32_avx512
#endif
int RMS_ROW_FN(float *y, const float *x, const float *w, size_t n, float eps, int wplus)
{
    if (n == 64)
        return rms_row_pow2_avx512(y, x, w, 64, eps, wplus);
    if (n == 128)
        return rms_row_pow2_avx512(y, x, w, 128, eps, wplus);
    return rms_row_job_avx512(y, x, w, n, eps, wplus);
}
