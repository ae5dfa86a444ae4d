/*
 * The row code the x86 tiers' bf16 / f16 kernels share (src/avx2/norm_x16_avx2.c,
 * src/avx512/norm_x16_avx512.c): what follows a row's totals (the finish, the repeated pass 2, the
 * rare path, the statistics and the NORM_SUMS hook) and the choice of the output instance. Each
 * tier's TU includes it after its ISA header, having defined
 *   X16_FM_F16              its format code of f16 rows (the other 16-bit format is bf16),
 * and it supplies, as static functions of these names (declared here, defined there):
 *   x16_out_{ln,rms}[_nt]_{bf16,f16}(j, y, x, o, k) the output pass of one row (_nt: streaming;
 *                                                  k: the flags the rows were given, X16_NT and
 *                                                  the tier's own),
 *   x16_sum(x, n, c, fm)                           the canonical total of leaves x - c,
 *   x16_ss(x, n, c, &s1, &s2, fm)                  the totals of x - c and of its squares,
 * on rows of the format fm. The arithmetic here is the scalar definition's (norm_internal.h,
 * src/x16_tmpl.h), the same in every tier: norm_rms_finish(), norm_ln_m0(), norm_ln_finish().
 */
#ifndef NORM_X16_ROWS_H
#define NORM_X16_ROWS_H

#include "../norm_x16.h"

#ifndef X16_FM_F16
#error "define X16_FM_F16 before including norm_x16_rows.h"
#endif

/* The output's per-row constants (RMSNorm: m0 = mlo = 0, unused), and pf: NULL, or a later row
 * of the job whose reads the output pass starts (software prefetch, streaming jobs only: see
 * x16_pf()). */
typedef struct x16_out {
    float m0, mlo, r;
    const uint16_t *pf;
} x16_out;

#define X16_OUT_DECL_(NAME)                                                                    \
    static void NAME(const norm_x16_job *j, uint16_t *y, const uint16_t *x, x16_out o, int k)
X16_OUT_DECL_(x16_out_ln_bf16);
X16_OUT_DECL_(x16_out_ln_nt_bf16);
X16_OUT_DECL_(x16_out_rms_bf16);
X16_OUT_DECL_(x16_out_rms_nt_bf16);
X16_OUT_DECL_(x16_out_ln_f16);
X16_OUT_DECL_(x16_out_ln_nt_f16);
X16_OUT_DECL_(x16_out_rms_f16);
X16_OUT_DECL_(x16_out_rms_nt_f16);
#undef X16_OUT_DECL_
#ifdef X16_HAVE_OUT2
/* (tiers defining X16_HAVE_OUT2) the output pass of two LayerNorm rows a, b in one loop, ordinary
 * stores (k: the rows' flags) */
#define X16_OUT2_DECL_(NAME)                                                                   \
    static void NAME(const norm_x16_job *j, uint16_t *ya, const uint16_t *xa, x16_out oa,       \
                     uint16_t *yb, const uint16_t *xb, x16_out ob, int k)
X16_OUT2_DECL_(x16_out2_ln_bf16);
X16_OUT2_DECL_(x16_out2_ln_f16);
#undef X16_OUT2_DECL_
#endif
/* A row's LayerNorm totals and m0 after passes 1 and 2. */
typedef struct x16_st {
    double s0, s1, s2;
    float m0;
} x16_st;
#ifdef X16_HAVE_STATS2
/* (tiers defining X16_HAVE_STATS2) passes 1 and 2 of two LayerNorm rows, interleaved */
static void x16_ln_stats2_bf16(const uint16_t *xa, const uint16_t *xb, size_t n, double inv_k,
                               x16_st *a, x16_st *b);
static void x16_ln_stats2_f16(const uint16_t *xa, const uint16_t *xb, size_t n, double inv_k,
                              x16_st *a, x16_st *b);
#endif
#ifdef X16_HAVE_PIPE_NT
/* (tiers defining X16_HAVE_PIPE_NT) streaming LayerNorm pairs: rows row, row + 1 finished from
 * their totals cur, their output interleaved with passes 1 and 2 of rows row + 2, row + 3 (into
 * next); 0 (nothing done) unless norm_ln_finish() finishes both rows at once. */
static int x16_ln_pipe_nt(const norm_x16_job *j, size_t row, double inv_n, double inv_k, int fm,
                          int k, const struct x16_st cur[2], struct x16_st next[2]);
#endif
static double x16_sum(const uint16_t *x, size_t n, float c, int fm);
static void x16_ss(const uint16_t *x, size_t n, float c, double *s1, double *s2, int fm);

/* The `nt` argument of the functions below: flags, X16_NT (streaming job: non-temporal stores)
 * and X16_FIN (x16_flags()), which the rows pass on to the output instances. */
#define X16_NT 1
/* The weight and bias are finite (or absent). Then, in a row whose statistics are finite, no
 * result can be a NaN: the rows on the ordinary path have finite x (a non-finite one makes the
 * totals non-finite: the rare path) and finite t = x * r or ((x - m0) - mlo) * r (|t| is at most
 * about sqrt(n): the totals bound every leaf), so t * w, (t * r) * w and fma(t, w, b) are finite
 * or +-Inf, never NaN; the output may leave the NaN fix-up out (x16_nn()). */
#define X16_FIN 2

/* Whether the n values at p (floats, or wa: 16-bit values of the format whose exponent field is
 * e) are all finite (p NULL: yes). Plain C: the loop vectorizes. */
static int x16_finite(const void *p, size_t n, int wa, unsigned e)
{
    if (!p)
        return 1;
    unsigned bad = 0;
    if (wa) {
        const uint16_t *h = (const uint16_t *)p;
        for (size_t i = 0; i < n; i++)
            bad |= (h[i] & e) == e;
    } else {
        const float *w = (const float *)p;
        for (size_t i = 0; i < n; i++) {
            uint32_t u;
            memcpy(&u, &w[i], sizeof u);
            bad |= (u & 0x7f800000u) == 0x7f800000u;
        }
    }
    return !bad;
}

/* The flags of a job's rows: X16_NT for streaming jobs; X16_FIN when the weight and bias are
 * finite (scanned once per job of at least 8 rows, or nothing to scan). */
static int x16_flags(const norm_x16_job *j, int ln, int fm)
{
    const void *b = ln ? j->b : NULL;
    const unsigned e = fm == X16_FM_F16 ? 0x7c00u : 0x7f80u;
    int k = norm_x16_stream_job(j) ? X16_NT : 0;
    if ((!j->w && !b) ||
        (j->rows >= 8 && x16_finite(j->w, j->dim, j->wact, e) && x16_finite(b, j->dim, j->wact, e)))
        k |= X16_FIN;
    return k;
}

/* Whether the output of a row with the constants o may leave the NaN fix-up out: the rows'
 * flags k say the weight and bias are finite, and o's statistics are finite (X16_FIN). */
static inline int x16_nn(int k, x16_out o)
{
    return (k & X16_FIN) && fabsf(o.r) <= FLT_MAX && fabsf(o.m0) <= FLT_MAX &&
           fabsf(o.mlo) <= FLT_MAX;
}

/* The output pass of row y, x: the instance of the format, op (ln) and store kind (nt). */
static inline void x16_out_sel(const norm_x16_job *j, uint16_t *y, const uint16_t *x, x16_out o,
                               int ln, int fm, int nt)
{
    if (fm == X16_FM_F16) {
        if (ln)
            (nt & X16_NT ? x16_out_ln_nt_f16 : x16_out_ln_f16)(j, y, x, o, nt);
        else
            (nt & X16_NT ? x16_out_rms_nt_f16 : x16_out_rms_f16)(j, y, x, o, nt);
    } else {
        if (ln)
            (nt & X16_NT ? x16_out_ln_nt_bf16 : x16_out_ln_bf16)(j, y, x, o, nt);
        else
            (nt & X16_NT ? x16_out_rms_nt_bf16 : x16_out_rms_bf16)(j, y, x, o, nt);
    }
}

/* The row a streaming job's output pass of row `row` prefetches: the row `ahead` rows on, or NULL
 * (not streaming, ahead 0, or past the job's rows: the rows after them are another thread's). From
 * DRAM that row's reads are then in flight while this row and the next are computed, rather than
 * only when its own pass 1 starts: a row of 4096 bf16 is 8 KiB, whose reads one thread otherwise
 * issues only after the previous row's output pass (measured: RMSNorm bf16 4096 from DRAM 1.8x
 * -> 3x the f32 op's rows/s on this machine's AVX2 tier). ahead is X16_AHEAD_ONE for rows one
 * by one and X16_AHEAD_PAIR for rows in pairs or with the next row's pass 1 before this output
 * (the row after the next one's: the very next one's first lines would get little time; for
 * pairs 2 -> 4 measured up to 15% faster at dim 768, never clearly slower), the batch size for
 * batches (the next batch's totals follow this batch's output), twice that when they precede
 * it. No result depends on it. The lines went to L1 (X16_PF_HINT; L2 since session 25), as the f32 LayerNorm's
 * streaming pairs do since they gained from it: an earlier version sent them to L2 (two rows
 * ahead of 8 KiB with the current row and a 16 KiB weight seemed to crowd a 48 KiB L1), and L1
 * measured as fast or faster (bench/x16ab.sh, DRAM, 12 interleaved repetitions, the f32 op's
 * time over the 16-bit op's, L2 -> L1: AVX-512 ln-bf16 4096 2.21 -> 2.40x (1 thr), 2.26 ->
 * 2.36x (2 thr), rms-f16 4096 3.56 -> 3.82x, 3.07 -> 3.88x, the 768 rows within 0.05x either
 * way; AVX2 rms-bf16 4096 2.49 -> 2.74x (2 thr), rms-f16 4096 3.35 -> 3.96x (2 thr), 768 rows
 * within 0.08x either way). */
#ifndef X16_AHEAD_ONE
#define X16_AHEAD_ONE 2
#endif
#ifndef X16_AHEAD_PAIR
#define X16_AHEAD_PAIR 4
#endif
#ifndef X16_AHEAD_PIPE
#define X16_AHEAD_PIPE 6
#endif
static inline const uint16_t *x16_pf(const norm_x16_job *j, size_t row, size_t ahead, int nt)
{
    return (nt & X16_NT) && ahead && row + ahead < j->rows ? j->x + (row + ahead) * j->xs : NULL;
}

/* A read prefetch of the line at p (a hint: it cannot fault), into L2 (prefetcht2) since session
 * 25 (2026-12-06): on that session's host a prefetch into L1 held a miss buffer until DRAM
 * answered (src/avx512/layernorm_avx512.c, session 25), and bench/x16ab.sh build main avx512 9 7
 * 1 / avx2 7 7 3 (DRAM, the f32 op's time over the 16-bit op's, T0 -> T2) measured: AVX-512
 * rms-bf16 768 1.79 -> 2.06x, 4096 1.91 -> 2.16x, ln-bf16 768 1.52 -> 1.71x, 4096 1.55 ->
 * 1.76x, rms-f16 768 1.75 -> 1.89x, 4096 1.86 -> 2.17x; AVX2 (1 / 2 threads) rms-bf16 4096 1.59
 * -> 1.88x / 2.05 -> 2.21x, ln-bf16 4096 1.53 -> 1.71x / 1.58 -> 1.62x, rms-f16 4096 1.79 ->
 * 1.97x / level, the 768 rows level but rms-f16 768 1 thread 2.04 -> 1.92x. The L1 choice
 * described above was measured on an earlier host, against _MM_HINT_T1. */
#ifndef X16_PF_HINT
#define X16_PF_HINT _MM_HINT_T2
#endif
#define X16_PREFETCH(p) _mm_prefetch((const char *)(p), X16_PF_HINT)

/* x[0] widened. */
static inline float x16_x0(const uint16_t *x, int fm)
{
    return x16_widen1(x[0], fm == X16_FM_F16 ? NORM_X16_F16 : NORM_X16_BF16);
}

/* RMSNorm row `row` after its statistics: ok (norm_rms_finish() gave r) -> the output and rstd,
 * else the rare path. */
static void x16_rms_put(const norm_x16_job *j, size_t row, int ok, float r, int fm, int nt,
                        size_t ahead)
{
    uint16_t *y = j->y + row * j->ys;
    const uint16_t *x = j->x + row * j->xs;
    if (!ok) {
        norm_x16_rmsnorm_row_rare(j, y, x, j->rstd ? j->rstd + row : NULL);
        return;
    }
    x16_out o = {0.0f, 0.0f, r, x16_pf(j, row, ahead, nt)};
    x16_out_sel(j, y, x, o, 0, fm, nt);
    if (j->rstd)
        j->rstd[row] = r;
}

/* RMSNorm row `row` after pass 1 (total s2): the sums hook, norm_rms_finish(), then x16_rms_put. */
static void x16_rms_emit(const norm_x16_job *j, size_t row, double s2, double inv_n, int fm,
                         int nt, size_t ahead)
{
    if (j->sums)
        j->sums[row] = s2;
    float r = 0.0f;
    const int rare = norm_rms_finish(s2, inv_n, j->eps, &r);
    x16_rms_put(j, row, !rare, r, fm, nt, ahead);
}

/* LayerNorm row `row` whose first pass 2 finished it (norm_ln_finish() gave NORM_LN_OK: mlo, r,
 * mean): the sums hook, the output, mean and rstd. */
static void x16_ln_put(const norm_x16_job *j, size_t row, double s0, double s1, double s2,
                       float m0, float mlo, float r, float mean, int fm, int nt, size_t ahead)
{
    norm_ln_put_sums(j->sums ? j->sums + NORM_LN_SUMS_PER_ROW * row : NULL, s0, s1, s2);
    x16_out o = {m0, mlo, r, x16_pf(j, row, ahead, nt)};
    x16_out_sel(j, j->y + row * j->ys, j->x + row * j->xs, o, 1, fm, nt);
    if (j->mean)
        j->mean[row] = mean;
    if (j->rstd)
        j->rstd[row] = r;
}

/* LayerNorm row `row` after pass 2 around m0 (totals s0, s1, s2): norm_ln_finish() (pass 2 once
 * more when it asks), then x16_ln_put or the rare path. */
static void x16_ln_emit(const norm_x16_job *j, size_t row, double s0, double s1, double s2,
                        float m0, double inv_n, int fm, int nt, size_t ahead)
{
    const uint16_t *x = j->x + row * j->xs;
    float mlo, r, mo, m0_next;
    int st = norm_ln_finish(s0, s1, s2, m0, inv_n, j->eps, 0, &mlo, &r, &mo, &m0_next);
    if (st == NORM_LN_AGAIN) {
        m0 = m0_next;
        x16_ss(x, j->dim, m0, &s1, &s2, fm);
        st = norm_ln_finish(s0, s1, s2, m0, inv_n, j->eps, 1, &mlo, &r, &mo, &m0_next);
    }
    if (st != NORM_LN_OK) {
        norm_ln_put_sums(j->sums ? j->sums + NORM_LN_SUMS_PER_ROW * row : NULL, s0, s1, s2);
        norm_x16_layernorm_row_rare(j, j->y + row * j->ys, x, j->mean ? j->mean + row : NULL,
                                    j->rstd ? j->rstd + row : NULL);
        return;
    }
    x16_ln_put(j, row, s0, s1, s2, m0, mlo, r, mo, fm, nt, ahead);
}

/* Pass 1 of a row -> (s0, m0). */
static float x16_ln_m0(const uint16_t *x, size_t n, double inv_k, int fm, double *s0)
{
    const float x0 = x16_x0(x, fm);
    *s0 = x16_sum(x, norm_ln_probe(n), x0, fm);
    return norm_ln_m0(x0, *s0, inv_k);
}

/* One LayerNorm row alone: pass 1, pass 2, x16_ln_emit. */
static void x16_ln_row(const norm_x16_job *j, size_t row, double inv_n, double inv_k, int fm,
                       int nt)
{
    const uint16_t *x = j->x + row * j->xs;
    double s0, s1, s2;
    const float m0 = x16_ln_m0(x, j->dim, inv_k, fm, &s0);
    x16_ss(x, j->dim, m0, &s1, &s2, fm);
    x16_ln_emit(j, row, s0, s1, s2, m0, inv_n, fm, nt, X16_AHEAD_ONE);
}

/* Passes 1 and 2 of LayerNorm rows row, row + 1 (t[0], t[1]), their dependency chains
 * interleaved: the tier's x16_ln_stats2_*() (X16_HAVE_STATS2), else row by row. */
static void x16_ln_stats2(const norm_x16_job *j, size_t row, double inv_k, int fm, x16_st t[2])
{
    const size_t n = j->dim;
    const uint16_t *xa = j->x + row * j->xs, *xb = xa + j->xs;
#ifdef X16_HAVE_STATS2
    (fm == X16_FM_F16 ? x16_ln_stats2_f16 : x16_ln_stats2_bf16)(xa, xb, n, inv_k, &t[0], &t[1]);
#else
    t[0].m0 = x16_ln_m0(xa, n, inv_k, fm, &t[0].s0);
    t[1].m0 = x16_ln_m0(xb, n, inv_k, fm, &t[1].s0);
    x16_ss(xa, n, t[0].m0, &t[0].s1, &t[0].s2, fm);
    x16_ss(xb, n, t[1].m0, &t[1].s1, &t[1].s2, fm);
#endif
}

/* LayerNorm rows row, row + 1 after x16_ln_stats2(): each exactly as alone (x16_ln_emit), the
 * two outputs in one loop sharing the weight and bias loads where the tier has it
 * (X16_HAVE_OUT2: ordinary stores, both rows finished by their first pass 2). A row's output
 * writes only its own y, which the API forbids to be another row's x (but exactly in place). */
static void x16_ln_fin2(const norm_x16_job *j, size_t row, double inv_n, int fm, int nt,
                        const x16_st t[2], size_t ahead)
{
#ifdef X16_HAVE_OUT2
    if (!(nt & X16_NT)) {
        float mla = 0.0f, ra = 0.0f, moa = 0.0f, mlb = 0.0f, rb = 0.0f, mob = 0.0f, unused;
        const int sta = norm_ln_finish(t[0].s0, t[0].s1, t[0].s2, t[0].m0, inv_n, j->eps, 0,
                                       &mla, &ra, &moa, &unused);
        const int stb = norm_ln_finish(t[1].s0, t[1].s1, t[1].s2, t[1].m0, inv_n, j->eps, 0,
                                       &mlb, &rb, &mob, &unused);
        if (sta == NORM_LN_OK && stb == NORM_LN_OK) {
            uint16_t *ya = j->y + row * j->ys;
            const uint16_t *xa = j->x + row * j->xs;
            const x16_out oa = {t[0].m0, mla, ra, NULL}, ob = {t[1].m0, mlb, rb, NULL};
            (fm == X16_FM_F16 ? x16_out2_ln_f16 : x16_out2_ln_bf16)(j, ya, xa, oa, ya + j->ys,
                                                                   xa + j->xs, ob, nt);
            for (int k = 0; k < 2 && j->sums; k++)
                norm_ln_put_sums(j->sums + NORM_LN_SUMS_PER_ROW * (row + (size_t)k), t[k].s0,
                                 t[k].s1, t[k].s2);
            if (j->mean) {
                j->mean[row] = moa;
                j->mean[row + 1] = mob;
            }
            if (j->rstd) {
                j->rstd[row] = ra;
                j->rstd[row + 1] = rb;
            }
            return;
        }
    }
#endif
    for (int k = 0; k < 2; k++)
        x16_ln_emit(j, row + (size_t)k, t[k].s0, t[k].s1, t[k].s2, t[k].m0, inv_n, fm, nt,
                    ahead);
}

#ifndef X16_HAVE_STATS2
/* (tiers without X16_HAVE_STATS2) The body of x16_ln_pairs()' pipeline: rows row, row + 1
 * finished from their totals cur (x16_ln_emit(), each exactly as alone), their outputs placed
 * between the passes of rows row + 2, row + 3 (into next): pass 1 of both, the output of row,
 * pass 2 of both, the output of row + 1. A pass's trees end in a dependency chain (lane total ->
 * m0 or the statistics) on which the next pass waits; the output placed after each pass is
 * independent work the core runs meanwhile, instead of idling until the chain ends (the f32
 * LayerNorm's pairs do the same). */
static void x16_ln_split2(const norm_x16_job *j, size_t row, double inv_n, double inv_k, int fm,
                          int nt, const x16_st cur[2], x16_st next[2])
{
    const size_t n = j->dim;
    const uint16_t *xa = j->x + (row + 2) * j->xs, *xb = xa + j->xs;
    next[0].m0 = x16_ln_m0(xa, n, inv_k, fm, &next[0].s0);
    next[1].m0 = x16_ln_m0(xb, n, inv_k, fm, &next[1].s0);
    x16_ln_emit(j, row, cur[0].s0, cur[0].s1, cur[0].s2, cur[0].m0, inv_n, fm, nt,
                X16_AHEAD_PIPE);
    x16_ss(xa, n, next[0].m0, &next[0].s1, &next[0].s2, fm);
    x16_ss(xb, n, next[1].m0, &next[1].s1, &next[1].s2, fm);
    x16_ln_emit(j, row + 1, cur[1].s0, cur[1].s1, cur[1].s2, cur[1].m0, inv_n, fm, nt,
                X16_AHEAD_PIPE);
}
#endif

/* LayerNorm rows row .. (returned) two at a time while two are left, software-pipelined: passes
 * 1 and 2 of the next pair run before the output of this one, so that the next pair's
 * dependency chain (trees -> lane totals -> m0 -> trees -> lane totals -> statistics) overlaps
 * this pair's output in the out-of-order core rather than following it (AVX-512, 32 rows of
 * 768 in cache, in one process against the unpipelined pairs: ln-bf16 108.7 -> 107.4 ns/row,
 * ln-f16 105.2 -> 101.8; the f32 op 74-77). The next pair's passes read only its own x,
 * which this pair's output (its own y) cannot touch but exactly in place. */
static size_t x16_ln_pairs(const norm_x16_job *j, size_t row, double inv_n, double inv_k, int fm,
                           int nt)
{
    if (j->rows - row < 2)
        return row;
    x16_st t[2][2];
    int c = 0;
    x16_ln_stats2(j, row, inv_k, fm, t[0]);
    for (; j->rows - row >= 4; row += 2, c ^= 1) {
#ifdef X16_HAVE_PIPE_NT
        if ((nt & X16_NT) && x16_ln_pipe_nt(j, row, inv_n, inv_k, fm, nt, t[c], t[c ^ 1]))
            continue;
#endif
#ifdef X16_HAVE_STATS2
        x16_ln_stats2(j, row + 2, inv_k, fm, t[c ^ 1]);
        x16_ln_fin2(j, row, inv_n, fm, nt, t[c], X16_AHEAD_PIPE);
#else
        x16_ln_split2(j, row, inv_n, inv_k, fm, nt, t[c], t[c ^ 1]);
#endif
    }
    x16_ln_fin2(j, row, inv_n, fm, nt, t[c], X16_AHEAD_PIPE);
    return row + 2;
}

#endif /* NORM_X16_ROWS_H */
