/*
 * normbench's fused group (issue 10): libnorm's fused entry points against the same work done as
 * separate passes, each against its own streaming limit, after the main sweep and in the same
 * process, on its own buffers.
 *
 * Ops (--fused):
 *   add-rms, add-ln  residual add + norm: h = x + r written, y = norm(h) (RMSNorm with w,
 *                    LayerNorm with w and b)
 *   gated-rms        y = rmsnorm(x) * w * silu(z) (Mamba-2's norm_before_gate)
 *   rms-bf16, ln-bf16, rms-f16   16-bit activations in and out, f32 weights
 * Rows of each shape:
 *   floor     the op's streaming limit: every input stream read once, every output written once
 *             (add: x, r in, h, y out; gated: x, z in, y out; 16-bit: x in, y out at 2 bytes an
 *             element), non-temporal stores for DRAM-sized jobs; the dim-vectors w, b are left out
 *             (they stay in cache);
 *   fused     the libnorm entry point (libnorm_opts ith/nth);
 *   sep-nt    (add ops) the separate add, written with the store kind of the fused op
 *             (non-temporal for DRAM jobs), then libnorm's plain norm over h: 5 streams where
 *             the fused op has 4;
 *   sep       the separate passes an engine runs: the add with ordinary stores (each h line
 *             read before it is written), then the norm; gated: libnorm's RMSNorm, then a
 *             y *= silu(z) pass with SLEEF's vector expf; 16-bit: widen x into an f32 buffer,
 *             libnorm's f32 norm in place, narrow into y;
 *   f32       (16-bit ops) the same norm through libnorm's f32 entry point on f32 rows holding
 *             the same values: the 16-bit op should be faster by the bytes it does not move.
 *   gate      (gated-rms) the gate's arithmetic alone, g = silu(z) with SLEEF's vector expf and
 *             the division, every row of a thread's share on the same cache-resident z row:
 *             no memory traffic, the compute any SLEEF-gated norm must do per row. Its %lim is
 *             the cap on the gated op: no overlap of memory and compute can make the op take
 *             less than the longer of floor and gate.
 * Every row is checked before it is timed: fused against sep, bit for bit (y, and h for the add
 * ops) — by libnorm's contract for the add and 16-bit ops; for gated-rms the check column shows
 * whether the separate SLEEF gate pass happens to give the same bits.
 * Bytes per row: add 4*dim*4 (fused) / 4*dim*5 (sep-nt); gated 4*dim*3; 16-bit 2*dim*2; plus the
 * dim-vectors once per call. GB/s and %limit use the fused op's own bytes for every row.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libnorm.h"
#include "nb_internal.h"

const char *const nb_fused_names[F_COUNT] = {"add-rms", "add-ln", "gated-rms",
                                             "rms-bf16", "ln-bf16", "rms-f16"};

enum { FI_FLOOR, FI_FUSED, FI_SEP_NT, FI_SEP, FI_F32, FI_GATE, FI_COUNT };
static const char *const fi_names[FI_COUNT] = {"floor", "fused", "sep-nt", "sep", "f32", "gate"};

static int op_is_add(int op) { return op == F_ADD_RMS || op == F_ADD_LN; }
static int op_is_16(int op) { return op >= F_RMS_BF16; }
static int op_is_ln(int op) { return op == F_ADD_LN || op == F_LN_BF16; }

static int op_has_impl(int op, int fi)
{
    if (fi == FI_SEP_NT)
        return op_is_add(op);
    if (fi == FI_F32)
        return op_is_16(op);
    if (fi == FI_GATE)
        return op == F_GATED;
    return 1;
}

static nb_fused_fns K;
/* the buffers, for the largest shape: f32 x, r, z, h, y, the sep reference's y and h, the f32
 * rows of the 16-bit ops (xf: x widened, sf: the sep passes' scratch), 16-bit x, y, ref */
static float *fx, *fr, *fz, *fh, *fy, *fyref, *fhref, *fxf, *fsf, *fw, *fb;
static uint16_t *x16, *y16, *y16ref;

typedef struct fjob {
    int op, fi;
    size_t rows, dim;
    float eps;
    int nt; /* a DRAM-sized job: the floor and sep-nt's add stream their stores */
    size_t inner;
    atomic_int fail;
} fjob;

static void fail_if(fjob *j, int st)
{
    if (st != LIBNORM_OK)
        atomic_store(&j->fail, st);
}

static int norm_f32(float *y, const float *x, int ln, size_t rows, size_t dim, float eps,
                    unsigned ith, unsigned nth)
{
    libnorm_opts o = LIBNORM_OPTS_INIT;
    o.ith = ith;
    o.nth = nth;
    return ln ? libnorm_layernorm_f32_ex(y, x, fw, fb, rows, dim, eps, &o)
              : libnorm_rmsnorm_f32_ex(y, x, fw, rows, dim, eps, &o);
}

static void fjob_fn(void *ctx, unsigned ith, unsigned nth)
{
    fjob *j = ctx;
    const size_t dim = j->dim, rows = j->rows;
    const int op = j->op, ln = op_is_ln(op);
    size_t r0, r1;
    nb_split_rows(rows, ith, nth, &r0, &r1);
    const size_t o0 = r0 * dim, n = (r1 - r0) * dim;
    libnorm_opts o = LIBNORM_OPTS_INIT;
    o.ith = ith;
    o.nth = nth;
    for (size_t k = 0; k < j->inner; k++) {
        switch (j->fi) {
        case FI_FLOOR:
            if (!n)
                break;
            if (op_is_add(op)) {
                void *out[2] = {fh + o0, fy + o0};
                const void *in[2] = {fx + o0, fr + o0};
                K.floor(out, 2, in, 2, n * 4, j->nt);
            } else if (op == F_GATED) {
                void *out[1] = {fy + o0};
                const void *in[2] = {fx + o0, fz + o0};
                K.floor(out, 1, in, 2, n * 4, j->nt);
            } else {
                void *out[1] = {y16 + o0};
                const void *in[1] = {x16 + o0};
                K.floor(out, 1, in, 1, n * 2, j->nt);
            }
            break;
        case FI_FUSED:
            switch (op) {
            case F_ADD_RMS:
                fail_if(j, libnorm_add_rmsnorm_f32_ex(fy, fh, fx, fr, fw, rows, dim, j->eps, &o));
                break;
            case F_ADD_LN:
                fail_if(j, libnorm_add_layernorm_f32_ex(fy, fh, fx, fr, fw, fb, rows, dim, j->eps,
                                                        &o));
                break;
            case F_GATED:
                fail_if(j, libnorm_gated_rmsnorm_f32_ex(fy, fx, fz, fw, rows, dim, 0,
                                                        LIBNORM_GATE_SILU_AFTER, j->eps, &o));
                break;
            case F_RMS_BF16:
                fail_if(j, libnorm_rmsnorm_bf16_ex(y16, x16, fw, rows, dim, j->eps, &o));
                break;
            case F_LN_BF16:
                fail_if(j, libnorm_layernorm_bf16_ex(y16, x16, fw, fb, rows, dim, j->eps, &o));
                break;
            case F_RMS_F16:
                fail_if(j, libnorm_rmsnorm_f16_ex(y16, x16, fw, rows, dim, j->eps, &o));
                break;
            }
            break;
        case FI_SEP_NT:
        case FI_SEP:
            if (op_is_add(op)) {
                if (n)
                    K.add(fh + o0, fx + o0, fr + o0, n, j->fi == FI_SEP_NT && j->nt);
                fail_if(j, norm_f32(fy, fh, ln, rows, dim, j->eps, ith, nth));
            } else if (op == F_GATED) {
                fail_if(j, norm_f32(fy, fx, 0, rows, dim, j->eps, ith, nth));
                if (n)
                    K.gate_silu(fy + o0, fz + o0, n);
            } else {
                if (n) {
                    if (op == F_RMS_F16)
                        K.f16_to_f32(fsf + o0, x16 + o0, n);
                    else
                        K.bf16_to_f32(fsf + o0, x16 + o0, n);
                }
                fail_if(j, norm_f32(fsf, fsf, ln, rows, dim, j->eps, ith, nth));
                if (n) {
                    if (op == F_RMS_F16)
                        K.f32_to_f16(y16 + o0, fsf + o0, n);
                    else
                        K.f32_to_bf16(y16 + o0, fsf + o0, n);
                }
            }
            break;
        case FI_F32:
            fail_if(j, norm_f32(fy, fxf, ln, rows, dim, j->eps, ith, nth));
            break;
        case FI_GATE:
            /* the gate's arithmetic alone, each row of the share from the same cached z row
             * into the same cached row: the compute every SLEEF-gated norm does per row */
            for (size_t q = r0; q < r1; q++)
                K.gate_only(fsf + o0, fz + o0, dim);
            break;
        }
    }
}

/* ---- the sweep of the group ---- */

typedef struct fres {
    int op, fi;
    size_t dim, rows;
    unsigned thr;
    int dram;
    const char *mem;
    double bytes; /* the fused op's bytes per call */
    timing t;
    int status, exact;
    double maxdiff;
    char note[80];
} fres;

static fres *g_fres;
static size_t g_nfres, g_capfres;

static uint64_t frng = 0x243F6A8885A308D3ull;
static float furand(void)
{
    frng ^= frng >> 12;
    frng ^= frng << 25;
    frng ^= frng >> 27;
    return (float)((frng * 0x2545F4914F6CDD1Dull) >> 40) * (1.0f / 16777216.0f);
}

static void *falloc(size_t bytes)
{
    void *p = NULL;
    if (posix_memalign(&p, (size_t)2 << 20, bytes + 4096) != 0)
        nb_die("cannot allocate %zu MiB for the fused group", bytes >> 20);
    memset(p, 0, bytes + 4096);
    return p;
}

static size_t fused_rows(size_t spec, size_t dim)
{
    return nb_rows_for(spec, dim);
}

static void alloc_fused(void)
{
    size_t cap = 1, maxdim = 1;
    for (int d = 0; d < g_opt.fdims.n; d++)
        for (int r = 0; r < g_opt.frows.n; r++) {
            size_t dim = g_opt.fdims.v[d], rows = fused_rows(g_opt.frows.v[r], dim);
            if (rows > SIZE_MAX / 16 / dim)
                nb_die("fused shape too large");
            cap = rows * dim > cap ? rows * dim : cap;
            maxdim = dim > maxdim ? dim : maxdim;
        }
    double need = (10.0 * 4 + 3.0 * 2) * (double)cap;
    long pages = sysconf(_SC_AVPHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
    if (pages > 0 && psz > 0 && need > 0.8 * (double)pages * (double)psz)
        nb_die("the fused group needs %.0f MiB of buffers: reduce --fused-rows or --fused-dim",
               need / 1048576);
    fx = falloc(cap * 4);
    fr = falloc(cap * 4);
    fz = falloc(cap * 4);
    fh = (float *)falloc(cap * 4 + 2048) + 256; /* outputs 1 KiB off the inputs' 4 KiB phase */
    fy = (float *)falloc(cap * 4 + 4096) + 512;
    fyref = falloc(cap * 4);
    fhref = falloc(cap * 4);
    fxf = falloc(cap * 4);
    fsf = falloc(cap * 4);
    x16 = falloc(cap * 2);
    y16 = (uint16_t *)falloc(cap * 2 + 4096) + 1024;
    y16ref = falloc(cap * 2);
    fw = falloc(maxdim * 4);
    fb = falloc(maxdim * 4);
    /* x and r as a residual stream and a block's output; z a gate pre-activation; the 16-bit
     * x the bf16 of x (the f16 ops read the same bits as f16: values in [-2, 2] either way,
     * since bf16 bits of |x| < 4 read as f16 are small normal numbers) */
    for (size_t i = 0; i < cap; i++) {
        fx[i] = 4.0f * furand() - 1.5f;
        fr[i] = furand() - 0.5f;
        fz[i] = 8.0f * furand() - 4.0f;
    }
    K.f32_to_bf16(x16, fx, cap);
    for (size_t i = 0; i < maxdim; i++) {
        fw[i] = 0.5f + furand();
        fb[i] = furand() - 0.5f;
    }
}

static void fill_xf(int op, size_t n)
{
    if (op == F_RMS_F16)
        K.f16_to_f32(fxf, x16, n);
    else
        K.bf16_to_f32(fxf, x16, n);
}

/* One shape: check each row against sep, calibrate, then time the rows round-robin. */
static void run_fshape(size_t first, unsigned thr)
{
    static fjob jobs[FI_COUNT];
    static double reps[FI_COUNT][MAX_REPS];
    const fres *s0 = &g_fres[first];
    const int op = s0->op;
    const size_t rows = s0->rows, dim = s0->dim, n = rows * dim;
    const int nimp = (int)(g_nfres - first);
    double elem = op_is_16(op) ? 2.0 : 4.0;
    int streams = op_is_add(op) ? 4 : op == F_GATED ? 3 : 2;
    int nt = (double)n * elem * (op_is_16(op) ? 2 : streams) >= 32.0 * 1024 * 1024;
    if (op_is_16(op))
        fill_xf(op, n);
    /* the reference: the separate passes, one thread */
    fjob ref = {op, FI_SEP, rows, dim, g_opt.eps, nt, 1, 0};
    nb_pool_run(fjob_fn, &ref, 1);
    memcpy(fyref, fy, n * 4);
    memcpy(fhref, fh, n * 4);
    memcpy(y16ref, y16, n * 2);
    double one[FI_COUNT];
    int nok = 0;
    for (int s = 0; s < nimp; s++) {
        fres *r = &g_fres[first + s];
        fjob *j = &jobs[s];
        j->op = op;
        j->fi = r->fi;
        j->rows = rows;
        j->dim = dim;
        j->eps = g_opt.eps;
        j->nt = nt;
        j->inner = 1;
        atomic_store(&j->fail, 0);
        memset(fy, 0xff, n * 4);
        memset(fh, 0xff, n * 4);
        memset(y16, 0xff, n * 2);
        double t0 = now_ns();
        nb_pool_run(fjob_fn, j, thr);
        one[s] = now_ns() - t0;
        if (atomic_load(&j->fail)) {
            r->status = ST_ERROR;
            snprintf(r->note, sizeof r->note, "call failed (%d)", atomic_load(&j->fail));
            continue;
        }
        if (r->fi == FI_FUSED || r->fi == FI_SEP_NT || r->fi == FI_SEP) {
            if (op_is_16(op)) {
                r->exact = memcmp(y16, y16ref, n * 2) == 0;
            } else {
                r->exact = memcmp(fy, fyref, n * 4) == 0 &&
                           (!op_is_add(op) || memcmp(fh, fhref, n * 4) == 0);
                double md = 0;
                for (size_t i = 0; !r->exact && i < n; i++) {
                    double d = fabs((double)fy[i] - fyref[i]) / fmax(1.0, fabs((double)fyref[i]));
                    md = d > md || isnan(d) ? (isnan(d) ? INFINITY : d) : md;
                }
                r->maxdiff = md;
            }
            if (!r->exact && (op != F_GATED || !(r->maxdiff <= BASE_TOL))) {
                r->status = ST_FAIL;
                snprintf(r->note, sizeof r->note, "differs from the separate passes");
                continue;
            }
        }
        /* calibrate on the calling thread alone (the pool's wake-up must not decide it) */
        t0 = now_ns();
        fjob_fn(j, 0, 1);
        double t = (now_ns() - t0) / thr;
        one[s] = t < one[s] ? t : one[s];
        j->inner = nb_calls_per_rep(one[s]);
        nok++;
    }
    size_t rounds = 0;
    double start = now_ns();
    while (nok && rounds < MAX_REPS && (rounds < 3 || now_ns() - start < g_box_ns * nok)) {
        for (int k = 0; k < nimp; k++) {
            int s = (int)((k + rounds) % (size_t)nimp);
            if (g_fres[first + s].status != ST_OK)
                continue;
            double t0 = now_ns();
            nb_pool_run(fjob_fn, &jobs[s], thr);
            reps[s][rounds] = (now_ns() - t0) / (double)jobs[s].inner;
        }
        rounds++;
    }
    for (int s = 0; s < nimp; s++) {
        fres *r = &g_fres[first + s];
        if (r->status == ST_OK)
            r->t = nb_stats(reps[s], rounds, jobs[s].inner);
    }
}

static const fres *find(size_t first, size_t end, int fi)
{
    for (size_t k = first; k < end; k++)
        if (g_fres[k].fi == fi && g_fres[k].status == ST_OK)
            return &g_fres[k];
    return NULL;
}

static void print_shape(size_t first, size_t end)
{
    const fres *fl = find(first, end, FI_FLOOR), *fu = find(first, end, FI_FUSED);
    for (size_t k = first; k < end; k++) {
        const fres *r = &g_fres[k];
        char rowsb[32], lim[16] = "", vs[48] = "", chk[24] = "";
        snprintf(rowsb, sizeof rowsb, "%zu%s", r->rows, r->dram ? "*" : "");
        if (r->status != ST_OK) {
            printf("%-9s %6zu %7s %3u %-5s %-7s %s\n", nb_fused_names[r->op], r->dim, rowsb,
                   r->thr, r->mem, fi_names[r->fi], r->note);
            continue;
        }
        double ns = r->t.val / (double)r->rows;
        if (fl && r->fi != FI_FLOOR)
            snprintf(lim, sizeof lim, "%.0f%%", 100.0 * fl->t.val / r->t.val);
        if (fu && r->fi != FI_FUSED && r->fi != FI_FLOOR)
            snprintf(vs, sizeof vs, "fused %.2fx", r->t.val / fu->t.val);
        if (r->fi == FI_FUSED || r->fi == FI_SEP || r->fi == FI_SEP_NT)
            snprintf(chk, sizeof chk, "%s", r->exact ? "exact" : "differs");
        if (r->op == F_GATED && !r->exact && r->fi != FI_FLOOR && r->fi != FI_F32 &&
            r->fi != FI_GATE)
            snprintf(chk, sizeof chk, "%.1e", r->maxdiff);
        printf("%-9s %6zu %7s %3u %-5s %-7s %9.1f %7.1f %6s  %-12s %s\n", nb_fused_names[r->op],
               r->dim, rowsb, r->thr, r->mem, fi_names[r->fi], ns, r->bytes / r->t.val, lim, vs,
               chk);
    }
}

/* ---- the targets (issue 10), from DRAM ---- */
static void fused_summary(void)
{
    printf("\nfused targets (issue 10, DRAM shapes, %s):\n",
           g_stat_min ? "min of the repetitions" : "medians");
    int shown = 0;
    for (int op = 0; op < F_COUNT; op++) {
        double worst_lim = INFINITY, worst_sep = INFINITY, worst_sepp = INFINITY,
               worst_16 = INFINITY, worst_cap = INFINITY, worst_ofcap = INFINITY;
        int any = 0;
        for (size_t k = 0; k < g_nfres; k++) {
            const fres *r = &g_fres[k];
            if (r->op != op || r->fi != FI_FLOOR || !r->dram)
                continue;
            size_t end = k;
            while (end < g_nfres && g_fres[end].op == op && g_fres[end].dim == r->dim &&
                   g_fres[end].rows == r->rows && g_fres[end].thr == r->thr)
                end++;
            const fres *fu = find(k, end, FI_FUSED), *sn = find(k, end, FI_SEP_NT),
                       *sp = find(k, end, FI_SEP), *f32 = find(k, end, FI_F32),
                       *ga = find(k, end, FI_GATE);
            if (!fu || r->status != ST_OK)
                continue;
            any = 1;
            worst_lim = fmin(worst_lim, 100.0 * r->t.val / fu->t.val);
            if (sn)
                worst_sep = fmin(worst_sep, sn->t.val / fu->t.val);
            if (sp)
                worst_sepp = fmin(worst_sepp, sp->t.val / fu->t.val);
            if (f32)
                worst_16 = fmin(worst_16, f32->t.val / fu->t.val);
            if (ga) {
                /* the cap: the op takes at least max(floor, gate) */
                double cap = 100.0 * r->t.val / fmax(r->t.val, ga->t.val);
                worst_cap = fmin(worst_cap, cap);
                worst_ofcap = fmin(worst_ofcap, 100.0 * r->t.val / fu->t.val / cap * 100.0);
            }
        }
        if (!any)
            continue;
        shown++;
        printf("  %-9s >= 90%% of its streaming limit: %s (worst %.0f%%)\n", nb_fused_names[op],
               worst_lim >= 90 ? "met" : "MISSED", worst_lim);
        if (op_is_add(op))
            printf("  %-9s >= 1.125x the separate add + norm, same stores (90%% of 5/4 streams): "
                   "%s (worst %.2fx); vs an ordinary-store add: worst %.2fx\n",
                   nb_fused_names[op], worst_sep >= 1.125 ? "met" : "MISSED", worst_sep,
                   worst_sepp);
        else if (!op_is_16(op)) {
            printf("  %-9s vs the separate norm + gate passes: worst %.2fx\n", nb_fused_names[op],
                   worst_sepp);
            if (worst_cap < INFINITY)
                printf("  %-9s the gate's arithmetic alone (SLEEF exp + division, from cache) caps "
                       "it at %.0f%% of its streaming limit (worst shape); it reaches %.0f%% of "
                       "that cap (worst)\n", nb_fused_names[op], worst_cap, worst_ofcap);
        }
        else
            printf("  %-9s >= 1.7x the f32 op's rows/s: %s (worst %.2fx); vs widen + norm + "
                   "narrow: worst %.2fx\n", nb_fused_names[op], worst_16 >= 1.7 ? "met" : "MISSED",
                   worst_16, worst_sepp);
    }
    if (!shown)
        printf("  not measured in this run (no DRAM shapes: --fused-rows dram)\n");
}

void nb_fused_run(void)
{
    if (g_opt.nfused == 0)
        return;
    nb_fused_kern_generic(&K);
#if defined(__x86_64__) && defined(NB_HAVE_X86_VARIANTS)
    if (nb_cpu_has_avx512())
        nb_fused_kern_avx512(&K);
    else if (nb_cpu_has_avx2())
        nb_fused_kern_avx2(&K);
#endif
    alloc_fused();
    printf("\n== fused ops (issue 10): libnorm's fused entry points (fused) against the same work "
           "as separate passes (sep, sep-nt); separate passes: %s ==\n", K.isa);
    printf("ns/row, GB/s of the fused op's bytes, %%lim = its streaming limit (floor) time / "
           "time; 'fused Nx' = this row's time / fused's; rows* = the DRAM batch\n");
    printf("gate (gated-rms): the gate's arithmetic alone, from cache; its %%lim is the most any "
           "SLEEF-gated op can reach (it takes at least the longer of floor and gate)\n");
    printf("%-9s %6s %7s %3s %-5s %-7s %9s %7s %6s  %-12s %s\n", "op", "dim", "rows", "thr", "mem",
           "impl", "ns/row", "GB/s", "%lim", "vs", "check");
    for (int oi = 0; oi < g_opt.nfused; oi++) {
        int op = g_opt.fused[oi];
        for (int d = 0; d < g_opt.fdims.n; d++)
            for (int ri = 0; ri < g_opt.frows.n; ri++)
                for (int ti = 0; ti < g_opt.thr.n; ti++) {
                    size_t dim = g_opt.fdims.v[d], rows = fused_rows(g_opt.frows.v[ri], dim);
                    unsigned thr = (unsigned)g_opt.thr.v[ti];
                    double per_row = op_is_add(op) ? 16.0 : op == F_GATED ? 12.0 : 4.0;
                    double params = op_is_ln(op) ? 8.0 : 4.0;
                    double bytes = (double)dim * (per_row * (double)rows + params);
                    size_t first = g_nfres;
                    for (int fi = 0; fi < FI_COUNT; fi++) {
                        if (!op_has_impl(op, fi))
                            continue;
                        if (g_nfres == g_capfres) {
                            g_capfres = g_capfres ? 2 * g_capfres : 64;
                            g_fres = realloc(g_fres, g_capfres * sizeof *g_fres);
                            if (!g_fres)
                                nb_die("out of memory");
                        }
                        fres *r = &g_fres[g_nfres++];
                        memset(r, 0, sizeof *r);
                        r->op = op;
                        r->fi = fi;
                        r->dim = dim;
                        r->rows = rows;
                        r->thr = thr;
                        r->dram = g_opt.frows.v[ri] == ROWS_DRAM;
                        r->bytes = bytes;
                        r->mem = nb_mem_level(bytes, thr);
                    }
                    run_fshape(first, thr);
                    print_shape(first, g_nfres);
                    fflush(stdout);
                }
    }
    fused_summary();
}

int nb_fused_failures(void)
{
    int f = 0;
    for (size_t k = 0; k < g_nfres; k++)
        f += g_fres[k].status != ST_OK;
    return f;
}
