/*
 * LayerNorm, AVX2 + FMA tier. Bit-identical to norm_layernorm_f32_scalar (the canonical order in
 * norm_internal.h; the trees, fold and lane total in norm_avx2.h). Per row:
 *   pass 1: s0 = total of leaves (x - x[0]) over the probe (the first min(n, 512))
 *                                                       -> m0 = norm_ln_m0()
 *   pass 2: s1, s2 = totals of (x - m0) and its squares -> norm_ln_finish() (pass 2 once more
 *           around a better m0 when it asks for it, or the rare path)
 *   pass 3: y = fma(((x - m0) - mlo) * rstd, w, b), w = 1 and b = 0 when NULL (as an FMA with
 *           broadcast constants: fma(t, 1, 0) is not t * 1 for t = -0).
 * Rows of at most one block (n <= NORM_BLOCK) go four at a time: the four rows' trees of a pass,
 * then their lane totals combined in one vector (norm_lanes_total4_avx2), then each row's
 * norm_ln_m0() / norm_ln_finish() (with the repeated pass 2 or the rare path where it asks for
 * them) and pass 3; dims 64 and 128 have their own copy with n a constant (no masks, no branches
 * in the trees). The batches are software-pipelined eight rows at a time: the next eight rows'
 * statistics are computed while this eight's pass 3 is emitted, one row after each pair of the
 * next rows' trees (so that its stores drain while the next rows load, rather than in a burst
 * after them). Other short rows are taken two at a time, so that the two rows' dependency
 * chains (reduction, lane total, the scalar finishing code) overlap; outside streaming jobs
 * pass 3 of a pair is likewise split between the next pair's pass 1 and pass 2. Streaming jobs
 * (norm_stream_job()) write y with non-temporal stores, except at dims 64 and 128, where
 * ordinary stores measured faster from DRAM on the AMD EPYC VM (ln_rows_avx2()). Streaming pairs
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
 * 1326 -> 1384, plain 1021 -> 1023. Batches of
 * short rows from dim 65 up prefetch x NORM_AVX2_LN_BPF batches ahead (measured below); the
 * streaming batches at dims 64 and 128 are not pipelined (NORM_AVX2_LN_NOPIPE_MAX). None of
 * this changes an operation: every output is the scalar reference's.
 */
#include "norm_avx2.h"
#include "../x86/norm_ln_pf_x86.h"

/* Rows of up to this many floats are processed in pairs (both rows' x, y and w, b stay in a
 * 48 KiB L1D up to here; beyond it, pairing measured slower). */
/* Streaming pairs: pass 3 prefetches x of the pair this many pairs ahead (0: none), with this
 * locality hint (3: L1). */
#ifndef NORM_AVX2_LN_PF
#define NORM_AVX2_LN_PF 2
#endif
#ifndef NORM_AVX2_LN_PFLOC
#define NORM_AVX2_LN_PFLOC 3
#endif
#ifndef NORM_AVX2_LN_PAIR_MAX
#define NORM_AVX2_LN_PAIR_MAX 2048
#endif
/* Rows taken one at a time in streaming jobs (n > NORM_AVX2_LN_PAIR_MAX): pass 3 prefetches x of
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

/* Pass 1: the total of leaves (x - c). */
NORM_AVX2_INLINE double ln_pass1_inl_avx2(const float *x, size_t n, float c)
{
    double s, unused;
    norm_reduce_avx2(x, n, c, 1, 1, 0, &s, &unused);
    return s;
}

/* Pass 2: the totals of leaves (x - c) and of their squares. */
NORM_AVX2_INLINE ln_sums_avx2 ln_pass2_inl_avx2(const float *x, size_t n, float c)
{
    ln_sums_avx2 r;
    norm_reduce_avx2(x, n, c, 1, 1, 1, &r.s1, &r.s2);
    return r;
}

/* The same out of line, for every n: the reduction is large and called from every variant (the
 * constant-dim single rows inline theirs). */
static __attribute__((noinline)) double ln_pass1_avx2(const float *x, size_t n, float c)
{
    return ln_pass1_inl_avx2(x, n, c);
}

static __attribute__((noinline)) ln_sums_avx2 ln_pass2_avx2(const float *x, size_t n, float c)
{
    return ln_pass2_inl_avx2(x, n, c);
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
        if (pf && pfh) {
            /* half the rate (NORM_AVX2_LN_PF2): pf[0 .. n / 2) */
            __builtin_prefetch(pf + i / 2, 0, NORM_AVX2_LN_PFLOC);
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

/* Pass 3 (or the rare path) and the optional statistics of one row of n = j->dim floats (n may be
 * the compile-time constant of a constant-dim copy). */
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

/* Pass 1 and pass 2 of a row of n <= NORM_BLOCK floats (the probe is the whole row), to v[0..3]
 * of their lane totals. Inlined for the constant dims, out of line for the others. */
NORM_AVX2_INLINE __m256d ln_h4p1_inl_avx2(const float *x, size_t n, float c)
{
    __m256 sa, qa, sb, qb;
    norm_block_avx2(x, n, c, 1, 1, 0, &sa, &qa, &sb, &qb);
    return norm_lanes_h4_avx2(sa, sb);
}

NORM_AVX2_INLINE void ln_h4p2_inl_avx2(const float *x, size_t n, float c, __m256d *s1,
                                       __m256d *s2)
{
    __m256 sa, qa, sb, qb;
    norm_block_avx2(x, n, c, 1, 1, 1, &sa, &qa, &sb, &qb);
    *s1 = norm_lanes_h4_avx2(sa, sb);
    *s2 = norm_lanes_h4_avx2(qa, qb);
}

static __attribute__((noinline)) __m256d ln_h4p1_avx2(const float *x, size_t n, float c)
{
    return ln_h4p1_inl_avx2(x, n, c);
}

static __attribute__((noinline)) void ln_h4p2_avx2(const float *x, size_t n, float c,
                                                   __m256d *s1, __m256d *s2)
{
    ln_h4p2_inl_avx2(x, n, c, s1, s2);
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
    } else {
        ln_sums_avx2 t = {st->s1[k], st->s2[k]};
        ln_stats_avx2 s1 = ln_finish_avx2(j->x + r * j->xs, n, st->s0[k], t, st->m0[k], inv_n,
                                          j->eps, norm_ln_sums_at(j, r));
        ln_emit_avx2(j, r, n, &s1, hw, hb, nt, NULL, 0);
    }
}

/* Pass 1, pass 2 and the statistics of rows row .. row + 4G - 1 (G = 1 or 2, a compile-time
 * constant) of at most one block each (n a constant in the constant-dim copies: cn). The rows'
 * trees, lane totals (four rows to a vector), m0 = norm_ln_m0() (lane k computing exactly row
 * k's) and norm_ln_finish4_avx2(); the groups' dependency chains are interleaved step by step.
 * pv (not NULL): the previous batch's statistics (rows prow .. prow + 4G - 1), whose pass 3
 * (ln_out1_avx2) is emitted one row after each pair of this batch's trees (2G in pass 1, 2G in
 * pass 2: all 4G rows). Pass 3 of a row writes only its own y, which is none of these rows' x. */
NORM_AVX2_INLINE void ln_stats4_avx2(const norm_job *j, size_t row, size_t n, double inv_n,
                                     int cn, int G, norm_ln_st4_avx2 *st,
                                     const norm_ln_st4_avx2 *pv, size_t prow, int hw, int hb,
                                     int nt)
{
    int e = 0; /* the previous batch's rows emitted so far */
#define LN_EMIT_()                                                                             \
    do {                                                                                       \
        if (pv) {                                                                              \
            ln_out1_avx2(j, prow, e, n, pv, inv_n, hw, hb, nt);                                \
            e++;                                                                               \
        }                                                                                      \
    } while (0)
    const float *xr = j->x + row * j->xs;
    const size_t xs = j->xs;
    const __m256d vinv = _mm256_set1_pd(inv_n); /* = inv_k: the probe is the whole row */
    __m256d s0[2], vm0[2], s1[2], s2[2];
    for (int g = 0; g < G; g++) {
        const float *x = xr + (size_t)(4 * g) * xs;
        __m256d u[2];
        for (int h = 0; h < 2; h++) {
            const float *xa = x + (size_t)(2 * h) * xs, *xb = xa + xs;
            __m256d a = cn ? ln_h4p1_inl_avx2(xa, n, xa[0]) : ln_h4p1_avx2(xa, n, xa[0]);
            __m256d b = cn ? ln_h4p1_inl_avx2(xb, n, xb[0]) : ln_h4p1_avx2(xb, n, xb[0]);
            u[h] = norm_lanes_pair_avx2(a, b);
            LN_EMIT_();
        }
        s0[g] = norm_lanes_total4_avx2(u[0], u[1]);
    }
    for (int g = 0; g < G; g++) {
        const float *x = xr + (size_t)(4 * g) * xs;
        /* m0 = (float)((double)x0 + s0 * inv_k) */
        const __m128 vx0 = _mm_setr_ps(x[0], x[xs], x[2 * xs], x[3 * xs]);
        const __m128 m0 = _mm256_cvtpd_ps(_mm256_add_pd(_mm256_cvtps_pd(vx0),
                                                        _mm256_mul_pd(s0[g], vinv)));
        _mm_storeu_ps(st->m0 + 4 * g, m0);
        vm0[g] = _mm256_cvtps_pd(m0);
    }
    for (int g = 0; g < G; g++) {
        const float *x = xr + (size_t)(4 * g) * xs;
        __m256d u[2], w[2];
        for (int h = 0; h < 2; h++) {
            __m256d v[2], q[2];
            for (int k = 0; k < 2; k++) {
                const float *xk = x + (size_t)(2 * h + k) * xs;
                const float m0 = st->m0[4 * g + 2 * h + k];
                if (cn)
                    ln_h4p2_inl_avx2(xk, n, m0, &v[k], &q[k]);
                else
                    ln_h4p2_avx2(xk, n, m0, &v[k], &q[k]);
            }
            u[h] = norm_lanes_pair_avx2(v[0], v[1]);
            w[h] = norm_lanes_pair_avx2(q[0], q[1]);
            LN_EMIT_();
        }
        s1[g] = norm_lanes_total4_avx2(u[0], u[1]);
        s2[g] = norm_lanes_total4_avx2(w[0], w[1]);
    }
    st->ok = 0;
    for (int g = 0; g < G; g++)
        norm_ln_finish4_avx2(st, g, s0[g], s1[g], s2[g], vm0[g], vinv, j->eps);
    /* NORM_SUMS: the rows not finished here store theirs in ln_finish_avx2() */
    for (int k = 0; j->sums && k < 4 * G; k++)
        if ((st->ok >> k) & 1)
            norm_ln_put_sums(norm_ln_sums_at(j, row + (size_t)k), st->s0[k], st->s1[k],
                             st->s2[k]);
#undef LN_EMIT_
}

/* Rows of at most one block each, 4 * NORM_AVX2_LN_GROUPS at a time, software-pipelined: the
 * statistics of the next rows are computed with the output of the current ones interleaved
 * (ln_stats4_avx2's pv), so that their dependency chains (tree, lane totals, mean, tree, lane
 * totals, square root and division) overlap the current rows' output. Pass 3 of a row writes only its own y, which is no other row's x (the API
 * forbids any overlap but exactly in place). Then one group of four when four rows are left.
 * Returns the rows done. */
#ifndef NORM_AVX2_LN_GROUPS
#define NORM_AVX2_LN_GROUPS 2
#endif
/* Streaming jobs, rows of at least NORM_AVX2_LN_BPF_MIN floats: the batches prefetch x of the
 * rows NORM_AVX2_LN_BPF batches (of 4 * NORM_AVX2_LN_GROUPS rows) after the one whose statistics
 * are computed next (0: none; norm_ln_prefetch_rows_x86(), src/x86/norm_ln_pf_x86.h). In one
 * process, interleaved, DRAM (64 MiB of x), thread CPU ns/row, min of 15-21 (2026-12-05, a
 * loaded machine), old -> new: dim 128 plain 76 -> 49 (1 thread), 49 -> 43 (2 threads), w+b
 * 92 -> 76; 2 and 4-8 batches ahead alike. Dim 64 measured 1-3 ns/row slower with it (26 -> 30
 * w+b, 28 -> 29 plain): the hardware prefetchers keep up with its 256-byte rows, so it has none
 * (nor with the unpipelined batches below: 21.8 against 20.5 plain, 2026-12-06). */
#ifndef NORM_AVX2_LN_BPF
#define NORM_AVX2_LN_BPF 2
#endif
#ifndef NORM_AVX2_LN_BPF_MIN
#define NORM_AVX2_LN_BPF_MIN 65
#endif
/* Streaming jobs at dims 64 and 128 (ordinary stores, see ln_rows_avx2()) up to this dim: the
 * batches are not software-pipelined (statistics of eight rows, then their pass 3; the prefetch
 * as above). In one process, interleaved, DRAM (64 MiB of x), 1 thread, thread CPU ns/row, min
 * / p10 of 25-31 (2026-12-06, load average 4-6 on 2 cores), pipelined -> not (oneDNN): dim 64
 * plain 18.6 / 22.4 -> 17.7 / 18.1 (17.6 / 18.6), 23.9 -> 20.5 in another run, w+b 21.9 / 24.9
 * -> 22.0 / 22.5 (19.4 / 21.8); dim 128 plain 43.8 -> 38.7 (29.8), w+b 44.2 -> 36.7 (32.6),
 * 57.4 / 66.2 -> 53.5 / 58.6 in another run; 2 threads plain 128 29.8 -> 23.5 (25.4). */
#ifndef NORM_AVX2_LN_NOPIPE_MAX
#define NORM_AVX2_LN_NOPIPE_MAX 128
#endif
/* pf: the job streams (prefetch ahead); nt: non-temporal stores (not at dims 64 and 128). */
NORM_AVX2_INLINE size_t ln_batches_avx2(const norm_job *j, size_t n, double inv_n, int cn,
                                        int hw, int hb, int nt, int pf)
{
    const int G = NORM_AVX2_LN_GROUPS;
    const size_t nb = 4 * (size_t)G;
    size_t row = 0;
    const int pf0 = pf;
    pf = pf && NORM_AVX2_LN_BPF && n >= NORM_AVX2_LN_BPF_MIN;
    if (j->rows >= nb) {
        norm_ln_st4_avx2 st[2];
        int c = 0;
        /* streaming dims 64 and 128 (ordinary stores): not pipelined */
        if (nt == 0 && pf0 && n <= NORM_AVX2_LN_NOPIPE_MAX) {
            for (; j->rows - row >= nb; row += nb) {
                if (pf)
                    norm_ln_prefetch_rows_x86(j, row + nb * NORM_AVX2_LN_BPF, nb, n);
                ln_stats4_avx2(j, row, n, inv_n, cn, G, &st[0], NULL, 0, hw, hb, nt);
                for (int k = 0; k < (int)nb; k++)
                    ln_out1_avx2(j, row, k, n, &st[0], inv_n, hw, hb, nt);
            }
            return row;
        }
        if (pf)
            norm_ln_prefetch_rows_x86(j, nb, nb * NORM_AVX2_LN_BPF, n);
        ln_stats4_avx2(j, 0, n, inv_n, cn, G, &st[0], NULL, 0, hw, hb, nt);
        for (; j->rows - row >= 2 * nb; row += nb, c ^= 1) {
            if (pf)
                norm_ln_prefetch_rows_x86(j, row + nb + nb * NORM_AVX2_LN_BPF, nb, n);
            ln_stats4_avx2(j, row + nb, n, inv_n, cn, G, &st[c ^ 1], &st[c], row, hw, hb, nt);
        }
        for (int k = 0; k < (int)nb; k++)
            ln_out1_avx2(j, row, k, n, &st[c], inv_n, hw, hb, nt);
        row += nb;
    }
    if (G > 1 && j->rows - row >= 4) {
        norm_ln_st4_avx2 st;
        ln_stats4_avx2(j, row, n, inv_n, cn, 1, &st, NULL, 0, hw, hb, nt);
        for (int k = 0; k < 4; k++)
            ln_out1_avx2(j, row, k, n, &st, inv_n, hw, hb, nt);
        row += 4;
    }
    return row;
}

NORM_AVX2_INLINE void ln_rows_avx2(const norm_job *j, int hw, int hb, int nt)
{
    const size_t n = j->dim, k = norm_ln_probe(n);
    const double inv_n = 1.0 / (double)n, inv_k = 1.0 / (double)k;
    size_t row = 0;
    if (n <= NORM_BLOCK) {
        /* Dims 64 and 128 write y with ordinary stores even in streaming jobs: from DRAM they
         * measured 0.65-0.75x (dim 64) and 0.85-0.95x (128) the thread CPU time of
         * non-temporal stores here (in-process A/B, 1 and 2 threads); dim 768: no difference. */
#define LN_BATCHES(N, CN, NT) row = ln_batches_avx2(j, (N), inv_n, (CN), hw, hb, (NT), nt)
        switch (n) {
        case 64: LN_BATCHES(64, 1, 0); break;
        case 128: LN_BATCHES(128, 1, 0); break;
        default: LN_BATCHES(n, 0, nt); break;
        }
#undef LN_BATCHES
    }
    if (n <= NORM_AVX2_LN_PAIR_MAX) {
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
                ln_emit_avx2(j, row, n, &pa, hw, hb, nt, pfa, 0);
                ln_emit_avx2(j, row + 1, n, &pb, hw, hb, nt, pfb, 0);
                have = 0;
            }
        }
        if (have) {
            ln_emit_avx2(j, row - 2, n, &pa, hw, hb, nt, NULL, 0);
            ln_emit_avx2(j, row - 1, n, &pb, hw, hb, nt, NULL, 0);
        }
    }
    /* The rows left one at a time (decode-time calls of one row), with constant-dim copies for
     * dims 64 and 128 outside streaming jobs (whose rows are never this short). */
#define LN_ONE(N, K, P)                                                                        \
    for (; row < j->rows; row++) {                                                             \
        const float *x = j->x + row * j->xs;                                                   \
        const float x0 = x[0];                                                                 \
        const float *pf = nt && NORM_AVX2_LN_PF1 && row + NORM_AVX2_LN_PF1 < j->rows           \
                              ? x + NORM_AVX2_LN_PF1 * j->xs                                   \
                              : NULL;                                                          \
        /* NORM_AVX2_LN_PF2: pass 2 prefetches pf[0 .. 256 nblk), pass 3 the rest */           \
        const int pf2 = NORM_AVX2_LN_PF2 && pf && (N) > NORM_AVX2_LN_PAIR_MAX;                 \
        double s0 = ln_pass1##P##avx2(x, (K), x0);                                             \
        float m0 = norm_ln_m0(x0, s0, inv_k);                                                  \
        ln_sums_avx2 s = pf2 ? ln_pass2_pf_avx2(x, (N), m0, pf) : ln_pass2##P##avx2(x, (N), m0); \
        ln_stats_avx2 st = ln_finish_avx2(x, (N), s0, s, m0, inv_n, j->eps,                    \
                                          norm_ln_sums_at(j, row));                            \
        ln_emit_avx2(j, row, (N), &st, hw, hb, nt,                                             \
                     pf2 ? pf + (N) / NORM_BLOCK * (NORM_BLOCK / 2) : pf, pf2);                \
    }
    if (!nt && n == 64) {
        LN_ONE(64, 64, _inl_)
    } else if (!nt && n == 128) {
        LN_ONE(128, 128, _inl_)
    } else {
        LN_ONE(n, k, _)
    }
#undef LN_ONE
}

void norm_layernorm_f32_avx2(const norm_job *j)
{
    const int nt = norm_stream_job(j);
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
    if (nt)
        _mm_sfence();
}

/* ---- one row (norm_dsp.layernorm_row_f32: the entry points' rows = 1 calls) ----
 * As in layernorm_avx512.c (the comment there gives the reasons): for dims 64 and 128 (n a
 * constant) the row's one partial block is reduced by the trees of norm_block_avx2() (lanes 0-7
 * and 8-15 in two vectors) on x loaded once; the lane totals leave out lo's +0 (pass 1: lane 0
 * is never -0; s2: sums of squares are never -0; s1: all lanes -0 only in a rare row) and add
 * halves on quarters; m0 is one fma, var one fmsub and the statistics' tests one flag
 * (src/x86/norm_ln_row_x86.h). Same bits; a row the fast path does not finish (pass 2 again,
 * rare), and every other dim, is the job of the general kernel. */
#include "../x86/norm_ln_row_x86.h"

/* Other dims, and the rows the fast path leaves: the row as a job of the general kernel (out of
 * line and tail-called). */
static __attribute__((noinline)) int ln_row_job_avx2(float *y, const float *x, const float *w,
                                                     const float *b, size_t n, float eps,
                                                     int wplus)
{
    norm_job j;
    norm_job_row(&j, y, x, w, b, n, eps, wplus);
    norm_layernorm_f32_avx2(&j);
    return 0;
}

/* The canonical trees of one lane group (8 lanes) of a partial block of 4 full leaf rows
 * l[0], l[2], l[4], l[6] (the group's leaves are every other vector: vector 2j holds lanes 0-7 of
 * leaf row j, vector 2j + 1 lanes 8-15): sums ((l0 + l1) + (l2 + l3)), squares
 * (fma(l1, l1, l0*l0) + fma(l3, l3, l2*l2)), as norm_block_avx2(). */
NORM_AVX2_INLINE __m256 ln_row_t4_avx2(const __m256 *l)
{
    return _mm256_add_ps(_mm256_add_ps(l[0], l[2]), _mm256_add_ps(l[4], l[6]));
}
NORM_AVX2_INLINE __m256 ln_row_q4_avx2(const __m256 *l)
{
    return _mm256_add_ps(_mm256_fmadd_ps(l[2], l[2], _mm256_mul_ps(l[0], l[0])),
                         _mm256_fmadd_ps(l[6], l[6], _mm256_mul_ps(l[4], l[4])));
}
/* Group g (0: lanes 0-7, 1: lanes 8-15) of a row of L = 8 or 16 vectors. */
#define LN_ROW_T_(F, l, g, L)                                                                  \
    ((L) == 8 ? F((l) + (g)) : _mm256_add_ps(F((l) + (g)), F((l) + 8 + (g))))

/* One row of n = 64 or 128 floats (a constant after inlining); hw, hb as ln_out_avx2(). x is
 * loaded once (L = n / 8 vectors kept in registers for the three passes; pass 3 takes d = x - m0
 * from pass 2: ln_out_avx2()'s operations), the leaves x - c are plain subtractions (the latency
 * form; norm_leaf_avx2()'s fnmadd is the same IEEE operation). */
NORM_AVX2_INLINE int ln_row_pow2_avx2(float *y, const float *x, const float *w, const float *b,
                                      size_t n, float eps, int hw, int hb)
{
    enum { LMAX = 16 };
    const int L = (int)(n / 8);
    __m256 xv[LMAX], l[LMAX];
    const __m256 c = _mm256_broadcast_ss(x);
    for (int k = 0; k < L; k++) {
        xv[k] = _mm256_loadu_ps(x + 8 * k);
        l[k] = _mm256_sub_ps(xv[k], c);
    }
    /* pass 1 (the probe is the row) -> m0 */
    const __m128d s0 = lanes_total1_avx2(LN_ROW_T_(ln_row_t4_avx2, l, 0, L),
                                      LN_ROW_T_(ln_row_t4_avx2, l, 1, L));
    const __m128 m0 = norm_ln_row_m0_x86(s0, _mm256_castps256_ps128(c), 1.0 / (double)n);
    /* pass 2 around m0 */
    const __m256 vm0 = _mm256_broadcastss_ps(m0);
    for (int k = 0; k < L; k++)
        l[k] = _mm256_sub_ps(xv[k], vm0);
    const __m128d s1 = lanes_total1_avx2(LN_ROW_T_(ln_row_t4_avx2, l, 0, L),
                                      LN_ROW_T_(ln_row_t4_avx2, l, 1, L));
    const __m128d s2 = lanes_total1_avx2(LN_ROW_T_(ln_row_q4_avx2, l, 0, L),
                                      LN_ROW_T_(ln_row_q4_avx2, l, 1, L));
    __m128 mlo, rstd;
    __m128d ml;
    if (__builtin_expect(
            !norm_ln_row_finish_x86(s0, s1, s2, 1.0 / (double)n, eps, &mlo, &rstd, &ml), 0))
        return ln_row_job_avx2(y, x, w, b, n, eps, hw == 2);
    /* pass 3 */
    const __m256 vml = _mm256_broadcastss_ps(mlo), vr = _mm256_broadcastss_ps(rstd);
    const __m256 one = _mm256_set1_ps(1.0f), zero = _mm256_setzero_ps();
    for (int k = 0; k < L; k++) {
        const __m256 t = _mm256_mul_ps(_mm256_sub_ps(l[k], vml), vr);
        const __m256 wv = hw ? _mm256_loadu_ps(w + 8 * k) : one;
        _mm256_storeu_ps(y + 8 * k, _mm256_fmadd_ps(t, hw == 2 ? _mm256_add_ps(one, wv) : wv,
                                                    hb ? _mm256_loadu_ps(b + 8 * k) : zero));
    }
    return 0;
}
#undef LN_ROW_T_

int norm_layernorm_row_f32_avx2(float *y, const float *x, const float *w, const float *b,
                                size_t n, float eps, int wplus)
{
    const int hw = !w ? 0 : wplus ? 2 : 1;
#define LN_ROW_(N)                                                                             \
    (b ? (hw == 1   ? ln_row_pow2_avx2(y, x, w, b, (N), eps, 1, 1)                             \
          : hw == 0 ? ln_row_pow2_avx2(y, x, w, b, (N), eps, 0, 1)                             \
                    : ln_row_pow2_avx2(y, x, w, b, (N), eps, 2, 1))                            \
       : (hw == 1   ? ln_row_pow2_avx2(y, x, w, b, (N), eps, 1, 0)                             \
          : hw == 0 ? ln_row_pow2_avx2(y, x, w, b, (N), eps, 0, 0)                             \
                    : ln_row_pow2_avx2(y, x, w, b, (N), eps, 2, 0)))
    if (n == 64)
        return LN_ROW_(64);
    if (n == 128)
        return LN_ROW_(128);
#undef LN_ROW_
    return ln_row_job_avx2(y, x, w, b, n, eps, wplus);
}
