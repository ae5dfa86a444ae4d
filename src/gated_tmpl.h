/*
 * Gated RMSNorm's row driver, shared by the SIMD tiers (src/{avx2,avx512,neon}/
 * gated_rmsnorm_*.c): the per-group structure of the definition (src/scalar/
 * gated_rmsnorm_scalar.c) with the gates computed ahead, span by span, into a stack buffer.
 * Each tier's TU defines, then includes this file (as src/x16_tmpl.h for the 16-bit kernels):
 *   GT_TIER                  the name suffix (avx2, avx512, neon)
 *   GT_INLINE                its force-inline qualifier (static inline in sanitizer builds)
 *   gt_gates_loop(g, x, z, yp, n, mode)   g[i] = silu(z[i]) (mode 0), x[i] * silu(z[i])
 *                            (mode 1: u of SILU_BEFORE) or sigmoid(z[i]) (mode 2), i < n,
 *                            n >= 1 (force-inline, mode a constant: gt_gates() below is its one
 *                            out-of-line copy per mode); the tier's SLEEF exp in a tight loop
 *                            (nothing else live across the calls). g never meets x or z, or is
 *                            exactly x or z (u into y in place). The same loop calls
 *                            norm_gated_prefetch() once per 64 bytes: x's lines (AFTER: pass 1
 *                            reads x next) and, when yp is not NULL, yp[0 .. n-1]'s for writing
 *                            (the read-for-ownership of y's lines then overlaps the exp).
 *   gt_gates_loop_pf(g, x, z, yp, n, mode, pz, pk)   optional (the tier defines GT_GATE_PF:
 *                            the x86 tiers): gt_gates_loop, and once per 16 gates at i < pk the
 *                            line of pz + i (the next span's z; AFTER modes, streaming jobs).
 *   gt_total_sq(v, n)        the canonical total of squares of v[0 .. n-1] (the RMSNorm
 *                            reduction of the tier with the group as the row)
 *   gt_out(y, v, g, w, n, rs, hw, po, mode)   the output pass of n elements, hw, po and mode
 *                            compile-time constants: AFTER (mode 0, 2) y = ((v * rs) * wf) * g,
 *                            BEFORE (mode 1) y = (v * rs) * wf; every NaN lane NAN (the scalar
 *                            tier's canon()).
 *
 * Per span of whole groups (at most GT_CAP floats; a span runs on across rows when x, z and y
 * rows follow on in memory, so short rows are batched):
 *   1. gt_gates over the whole span into gb (AFTER: the gates; BEFORE: u = x * silu(z)). The
 *      same loop prefetches x's lines (AFTER) and y's for writing, so that the loads of both
 *      inputs and the read-for-ownership of the output overlap the exp.
 *   2. per group: s2 = gt_total_sq(x, or u in gb), the sums hook, norm_rms_finish() or the rare
 *      path, then gt_out from x and gb (AFTER) or from gb (BEFORE) into y.
 * A group longer than GT_CAP goes alone: BEFORE writes u into y first (y is the definition's
 * scratch; in place over x or z each element is read before it is written), AFTER computes its
 * gates in pass 2, GT_CAP elements at a time. No operation changes: every element gets the
 * definition's operations in its order, only the schedule differs. In place over x or z is
 * fine: a span's z is consumed by step 1 before any y of it is written, and group g writes only
 * its own elements after reading them.
 * Measured on Zen 5 (AVX-512, DRAM batches of dims 768 and 4096, 14 alternating repetitions):
 * the gate loop is bound by SLEEF's exp (~2.7 ns per 16 floats in a loop of calls, ~700 ns of a
 * 4096-float row); non-temporal y stores (as the plain kernels' streaming jobs) and a software
 * pipeline (span k's gates interleaved with span k-1's output pass, two buffers) were both
 * slower than ordinary stores with y's lines prefetched for writing here, and were left out.
 * In streaming-size jobs with AFTER gates the next span's z is prefetched while this span
 * computes: where the tier has gt_gates_loop_pf (x86) by step 1, one line per 16 gates, else by
 * step 2, a group's share before each group. Issue 10, 2026-12-06 (in-process A/B as below,
 * minimum thread CPU time of 10-30 repetitions, the gate loop's against the per-group
 * prefetch): the per-group burst is the whole next span when a span holds one or two groups
 * (up to 256 prefetches at once before a group's passes), and the gate loop's spread gives dim
 * 4096 SILU_AFTER 1.07-1.18x on 1 thread, 1.04-1.05x on 2, SIGMOID_AFTER 1.11-1.13x, AVX2
 * 1.06-1.18x; 2048 1.06-1.14x, 1536 1.02-1.10x, 1024 1.03-1.05x, 768 0.96-1.05x (the noise:
 * two identical copies differed by up to 7%). The per-group prefetch (issue 10; DRAM batches
 * of 64 MiB, 1 thread, the AVX-512 kernel with and without it in one process, interleaved,
 * minimum thread CPU time over 30-40 repetitions:
 * SILU_AFTER dim 768 1.08-1.22x, 4096 1.04-1.10x, SIGMOID_AFTER 768 1.21-1.27x, 4096
 * 1.08-1.12x, where an identical copy of the old code measured 0.97-1.05x). In cache it cost 4-5% at dim 768, and
 * with SILU_BEFORE (whose pass 2 reads u from the buffer) 0.85-0.91x: both are left out. x as
 * well as z: 0.82-1.03x, y for writing too: 0.77-0.86x; z into L2: 0.98-1.13x, non-temporal
 * (prefetchnta): 1.11-1.16x, about the same as into L1.
 * Tried again for issue 10 (2026-12-06; the AVX-512 kernel and variants in one process,
 * interleaved, 64 MiB DRAM batches, minimum thread CPU time of 12-40 repetitions) and not kept:
 * y non-temporal in streaming jobs, the gate loop prefetching the next span's x and z: stored by
 * the output pass, 0.90-1.12x at dim 768, 0.91x at 4096 (3/4 of the output pass's cpu-clock
 * samples wait behind the streamed store); kept in a second stack buffer and streamed by the
 * next span's gate loop, one line per 16 gates, 0.81-0.94x at 768 (1 and 2 threads), 0.94x at
 * 4096 (the samples move to the store in the gate loop). A one-loop probe (z, exp, output,
 * store per vector) lost the same way with streamed stores (0.87-0.92x) and tied with ordinary
 * ones: streamed stores stall behind the exp's compute on this host. At dim 768 the next
 * span's z prefetched in the output pass, one line per store: 0.96x. With
 * ordinary stores the limit is their own (y's read-for-ownership: a loop reading x and z and
 * writing y reaches 74-83% of the non-temporal floor at 768, 64% at 4096), and this kernel is
 * at 0.76-0.86 of it at 768 (0.67 at 4096): what remains is the compute (the whole kernel in
 * cache takes about the floor's time), which an inline port of SLEEF's exp would cut (same bits
 * on the harness's data; 1.14-1.19x in cache, 1.04-1.12x from DRAM), but the design calls SLEEF
 * by name.
 */
#ifndef GT_TIER
#error "define GT_TIER before including gated_tmpl.h"
#endif

#include <string.h>

#define GT_CAT_(a, b) a##_##b
#define GT_CAT(a, b) GT_CAT_(a, b)

/* floats of the gate buffer (16 KiB of stack) */
#ifndef GT_CAP
#define GT_CAP 4096
#endif

/* The gate loop of one mode per copy (not inlined into the row loops: one copy of each). */
static __attribute__((noinline)) void gt_gates(float *g, const float *x, const float *z,
                                               float *yp, size_t n, int mode)
{
    if (mode == 1)
        gt_gates_loop(g, x, z, yp, n, 1);
    else if (mode == 2)
        gt_gates_loop(g, x, z, yp, n, 2);
    else
        gt_gates_loop(g, x, z, yp, n, 0);
}

#if defined(GT_GATE_PF)
/* The gate loop of streaming-size AFTER jobs (gt_gates_loop_pf), one copy per mode. */
static __attribute__((noinline)) void gt_gates_pf(float *g, const float *x, const float *z,
                                                  float *yp, size_t n, int mode, const float *pz,
                                                  size_t pk)
{
    if (mode == 2)
        gt_gates_loop_pf(g, x, z, yp, n, 2, pz, pk);
    else
        gt_gates_loop_pf(g, x, z, yp, n, 0, pz, pk);
}
#endif

/* Prefetch z[i0 .. i1) (every 64-byte line it touches; nothing when i0 >= i1). */
GT_INLINE void gt_prefetch_z(const float *z, size_t i0, size_t i1)
{
#if defined(__GNUC__)
    for (size_t i = i0; i < i1; i += 16)
        __builtin_prefetch(z + i, 0, 3);
    if (i0 < i1)
        __builtin_prefetch(z + i1 - 1, 0, 3);
#else
    (void)z, (void)i0, (void)i1;
#endif
}

GT_INLINE void gt_rows(const norm_gated_job *j, int hw, int po, int mode)
{
    float gb[GT_CAP] __attribute__((aligned(64)));
    const size_t G = j->group, D = j->dim, ng = D / G;
    const double inv_n = 1.0 / (double)G;
    const int buf = G <= GT_CAP;
    /* rows that follow on in x, z and y: one long row of rows * D floats (groups never cross
     * a row's end: the span is whole groups and G divides D) */
    const int flat = j->xs == D && j->ys == D;
    const size_t R = flat ? 1 : j->rows, L = flat ? j->rows * D : D;
    const size_t span = buf ? (GT_CAP / G) * G : G;
    /* the next span's z prefetch (below): AFTER gates, in streaming-size jobs (x, z and y at
     * least NORM_STREAM_BYTES: from DRAM) */
    const int pf = buf && mode != 1 && (double)j->rows * (double)D * 12.0 >= NORM_STREAM_BYTES;
#if defined(GT_GATE_PF)
    /* x86: the gate loop spreads the next span's z prefetch over the exp (below) */
    const int zpf_gate = pf;
#endif
    for (size_t r = 0; r < R; r++) {
        const float *xr = j->x + r * j->xs, *zr = j->z + r * j->xs;
        float *yr = j->y + r * j->ys;
        size_t t = r * ng;
        for (size_t s = 0; s < L; s += span) {
            const size_t sn = L - s < span ? L - s : span;
            /* the next span's z (on in this row, or the next row's first span), prefetched
             * while this span computes (a hint: no result changes): by the gate loop, one line
             * per 16 gates, where the tier has gt_gates_loop_pf (x86), otherwise one group's
             * share before each group's passes; its loads then overlap this span's work instead
             * of being waited for in the next gate loop */
            const float *nz = NULL;
            size_t nn = 0;
            if (pf && s + span < L) {
                nz = zr + s + span;
                nn = L - s - span < span ? L - s - span : span;
            } else if (pf && r + 1 < R) {
                nz = j->z + (r + 1) * j->xs;
                nn = L < span ? L : span;
            }
#if defined(GT_GATE_PF)
            const int zpf_groups = !zpf_gate;
            if (zpf_gate)
                gt_gates_pf(gb, xr + s, zr + s, yr + s, sn, mode, nz, nn);
            else
#else
            const int zpf_groups = 1;
#endif
            if (buf)
                gt_gates(gb, xr + s, zr + s, yr + s, sn, mode);
            else if (mode == 1)
                gt_gates(yr + s, xr + s, zr + s, NULL, sn, 1);
            for (size_t o = 0; o < sn; o += G, t++) {
                const size_t p = s + o;
                if (zpf_groups)
                    gt_prefetch_z(nz, o, o + G < nn ? o + G : nn);
                const float *x = xr + p, *z = zr + p;
                float *y = yr + p;
                const float *w = hw ? j->w + p % D : NULL;
                const float *v = mode == 1 ? (buf ? gb + o : y) : x;
                const double s2 = gt_total_sq(v, G);
                if (j->sums)
                    j->sums[t] = s2;
                float rs;
                if (norm_rms_finish(s2, inv_n, j->eps, &rs)) {
                    if (mode == 1 && buf)
                        memcpy(y, v, G * sizeof(float)); /* u into y, as the definition */
                    norm_gated_group_rare(y, mode == 1 ? y : x, z, w, G, j->eps, mode, po,
                                          j->rstd ? j->rstd + t : NULL);
                    continue;
                }
                if (buf || mode == 1) {
                    gt_out(y, v, gb + o, w, G, rs, hw, po, mode);
                } else {
                    for (size_t c = 0; c < G; c += GT_CAP) {
                        const size_t k = G - c < GT_CAP ? G - c : GT_CAP;
                        gt_gates(gb, x + c, z + c, y + c, k, mode);
                        gt_out(y + c, x + c, gb, hw ? w + c : NULL, k, rs, hw, po, mode);
                    }
                }
                if (j->rstd)
                    j->rstd[t] = rs;
            }
        }
    }
}

GT_INLINE void gt_modes(const norm_gated_job *j, int hw, int po)
{
    if (j->gate == NORM_GATE_SILU_BEFORE)
        gt_rows(j, hw, po, 1);
    else if (j->gate == NORM_GATE_SIGMOID_AFTER)
        gt_rows(j, hw, po, 2);
    else
        gt_rows(j, hw, po, 0);
}

void GT_CAT(norm_gated_rmsnorm_f32, GT_TIER)(const norm_gated_job *j)
{
    if (!j->w)
        gt_modes(j, 0, 0);
    else if (j->plus_one)
        gt_modes(j, 1, 1);
    else
        gt_modes(j, 1, 0);
}
