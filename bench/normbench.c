/*
 * normbench: libnorm's benchmark.
 *
 * For every shape of the sweep (three groups, nb_options.c: the grid op x dim x rows x threads;
 * per-head norms, rows = heads x tokens strided inside a wider tensor; single-row decode calls and
 * their 32-row batch) it measures, in one process, on the same pre-allocated and pre-touched
 * buffers:
 *   - the limits: a read-only pass over x ("floor-rd"), a pass that reads x, w, b and writes y
 *     ("floor": the streaming limit, the least any norm moves) and, per row, the read pass then
 *     the read-write pass ("floor-2p": the two-pass limit of rows that must be read twice), written
 *     with AVX-512/AVX2 intrinsics, with non-temporal stores for DRAM-sized jobs as libnorm's
 *     kernels then use, over the same (strided) rows as the norms;
 *   - every libnorm tier this CPU supports, through the internal per-tier tables, and the
 *     dispatched public API ("api", with libnorm_opts ith/nth and x_stride);
 *   - the baselines: a naive two-pass float implementation, ggml's CPU algorithm (norm node, then
 *     mul and add nodes) and oneDNN's layer normalization primitive (when built; not on RMSNorm
 *     nor on strided per-head rows);
 * plus the DRAM copy bandwidth once per thread count. Every multi-threaded measurement runs on a
 * persistent pool of pthreads that split the rows as an engine does (contiguous chunks, the same
 * split as libnorm_opts ith/nth; ggml's own split for the ggml baseline), with a barrier per
 * repetition. Each result is checked against the scalar tier before it is timed: libnorm tiers
 * must be bit-identical, baselines within 1e-3 relative.
 *
 * Byte model (GB/s): a norm call must read x and write y once and read w and b once:
 * bytes = 4 * dim * (2*rows + P), P = 2 for LayerNorm with weight and bias (ln, ln-head), 1 for
 * RMSNorm with weight (rms, rms-head), 0 for LayerNorm without affine. Per-head rows are strided:
 * row r of x starts at x + r*xs (xs = --head-stride * dim floats), y is contiguous; the model
 * counts the dim floats each row reads, not the stride (x spans rows * xs floats, the rest of each
 * stride is never touched), and the floors read the same strided rows. Write-allocate traffic and
 * re-reads of x from cache are not counted (they are the implementation's cost).
 * "% limit" = limit time / time, the limit being the floor row (streaming limit) for jobs from
 * DRAM and rows up to the tier's register rows (nb_reg_dim), the floor-2p row (two-pass limit)
 * for the other rows in cache, same shape and thread count in the same run (--help: the limits).
 *
 * This file is the driver: main, the sweep loop, one shape's check-calibrate-time run, the
 * derived columns and the store of results. The exit status is 0 when every result passed its
 * check and every call succeeded, 1 otherwise, 2 on a usage or setup error. The other files and
 * what each owns are listed at the top of nb_internal.h.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nb_internal.h"

void nb_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("normbench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

FILE *nb_open_out(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        fprintf(stderr, "normbench: cannot write %s: %s\n", path, strerror(errno));
    return f;
}

result *g_res;
size_t g_nres;
static size_t g_capres;

const char *nb_status_name(int status)
{
    return status == ST_OK ? "ok" : status == ST_FAIL ? "check_failed" : "error";
}

static result *new_result(void)
{
    if (g_nres == g_capres) {
        g_capres = g_capres ? 2 * g_capres : 256;
        g_res = realloc(g_res, g_capres * sizeof *g_res);
        if (!g_res)
            nb_die("out of memory");
    }
    result *r = &g_res[g_nres++];
    memset(r, 0, sizeof *r);
    for (int k = 0; k < NBASE; k++)
        r->sp[k] = NAN;
    r->pct_floor = NAN;
    r->pct_limit = NAN;
    return r;
}

static job g_job[16]; /* one per implementation of the current shape */
static double g_reps[16][MAX_REPS];

/* Measure every implementation on one shape. Each one is first checked against the scalar
 * tier's output, then calibrated; then the timed repetitions go round-robin over the
 * implementations (the start rotating each round), so that all of them, the floor included, see
 * the same machine: DRAM bandwidth and the neighbours' load drift over seconds on shared
 * machines. Fills g_res[first .. first + g_nimpl) (the implementations that apply). */
static void run_shape(size_t first, int op, size_t rows, size_t dim, size_t xs, unsigned thr,
                      double ref_ns)
{
    int idx[16], n = 0;
    size_t inner[16];
    for (size_t k = first; k < g_nres; k++)
        idx[n++] = (int)k;
    /* set up and check */
    double one[16];
    for (int s = 0; s < n; s++) {
        result *r = &g_res[idx[s]];
        const impl *im = &g_impl[r->impl];
        job *j = &g_job[s];
        j->im = im;
        j->op = op;
        j->x = g_x;
        j->y = g_y;
        j->w = nb_op_params[op] >= 1 ? g_w : NULL;
        j->b = nb_op_params[op] >= 2 ? g_b : NULL;
        j->rows = rows;
        j->dim = dim;
        j->xs = xs;
        j->eps = g_opt.eps;
        j->inner = 1;
        one[s] = -1;
        atomic_store(&j->fail, 0);
        if (im->kind == K_DNNL) {
            nb_pool_run(nb_dnnl_job_setup, j, thr);
            if (atomic_load(&j->fail)) {
                r->status = ST_ERROR;
                for (unsigned t = 0; t < thr; t++)
                    if (j->dn_err[t][0]) {
                        snprintf(r->note, sizeof r->note, "%s", j->dn_err[t]);
                        break;
                    }
                continue;
            }
        }
        if (nb_kind_is_floor(im->kind))
            continue;
        if (im->kind == K_TIER && im->dsp.tier == NORM_TIER_SCALAR && thr == 1) {
            /* the reference itself (same kernel, same call): its run is the reference's */
            r->exact = 1;
            r->is_ref = 1;
            one[s] = ref_ns;
            continue;
        }
        /* correctness first: poison y, one call, compare with the scalar tier */
        memset(g_y, 0xff, rows * dim * sizeof(float));
        one[s] = nb_run_rep(nb_job_fn, j, thr);
        if (atomic_load(&j->fail)) {
            r->status = ST_ERROR;
            snprintf(r->note, sizeof r->note, "call failed (%d)", atomic_load(&j->fail));
            continue;
        }
        nb_compare(rows * dim, &r->exact, &r->maxdiff);
        if (im->libnorm ? !r->exact : !(r->maxdiff <= BASE_TOL)) {
            r->status = ST_FAIL;
            snprintf(r->note, sizeof r->note, "%s (max rel diff %.3g)",
                     im->libnorm ? "not bit-identical to the scalar tier"
                                 : "differs from the scalar tier by more than 1e-3",
                     r->maxdiff);
        }
    }
    /* calibrate, warm up */
    int nok = 0;
    double round_est = 0;
    for (int s = 0; s < n; s++) {
        if (g_res[idx[s]].status != ST_OK)
            continue;
        nok++;
        one[s] = nb_calibrate(nb_job_fn, &g_job[s], thr, one[s]);
        inner[s] = nb_calls_per_rep(one[s]);
        g_job[s].inner = inner[s];
        round_est += one[s] * (double)inner[s];
    }
    double start = now_ns();
    while (round_est < g_box_ns * nok / 10 && now_ns() - start < g_box_ns * nok / 10)
        for (int s = 0; s < n; s++)
            if (g_res[idx[s]].status == ST_OK)
                nb_run_rep(nb_job_fn, &g_job[s], thr);
    /* timed rounds, with the pool's round trip checked before and after */
    double stall = thr > 1 ? nb_pool_round_trip(thr, 5) : 0;
    size_t rounds = 0;
    start = now_ns();
    while (nok && rounds < MAX_REPS && (rounds < 3 || now_ns() - start < g_box_ns * nok)) {
        for (int k = 0; k < n; k++) {
            int s = (int)((k + rounds) % (size_t)n);
            if (g_res[idx[s]].status == ST_OK)
                g_reps[s][rounds] = nb_run_rep(nb_job_fn, &g_job[s], thr) / (double)inner[s];
        }
        rounds++;
    }
    if (thr > 1) {
        double after = nb_pool_round_trip(thr, 5);
        stall = after > stall ? after : stall;
    }
    for (int s = 0; s < n; s++) {
        result *r = &g_res[idx[s]];
        if (stall > STALL_NS) {
            r->stalled = 1;
            if (r->status == ST_OK)
                snprintf(r->note, sizeof r->note,
                         "thread pool stalled (%.0f us round trip): CPUs held by other processes",
                         stall / 1e3);
        }
        if (r->status == ST_OK) {
            r->t = nb_stats(g_reps[s], rounds, inner[s]);
            if (atomic_load(&g_job[s].fail)) {
                r->status = ST_ERROR;
                snprintf(r->note, sizeof r->note, "call failed during timing");
            }
        }
        if (g_impl[r->impl].kind == K_DNNL)
            nb_pool_run(nb_dnnl_job_teardown, &g_job[s], thr);
    }
}

/* The derived columns of one shape's results g_res[first .. g_nres): GB/s, % floor (against
 * the streaming limit), the limit each row is judged against and % of it, and the speedups of
 * the libnorm rows over the baselines. Returns how many of them failed. */
static int derive(size_t first)
{
    int failures = 0;
    const result *fl = NULL, *fl2 = NULL, *base[NBASE] = {NULL};
    for (size_t k = first; k < g_nres; k++) {
        result *r = &g_res[k];
        if (r->status != ST_OK) {
            failures++;
            continue;
        }
        r->gbps = r->bytes / r->t.val;
        int kind = g_impl[r->impl].kind;
        if (kind == K_FLOOR)
            fl = r;
        if (kind == K_FLOOR_2P)
            fl2 = r;
        for (int b = 0; b < NBASE; b++)
            if (kind == nb_baselines[b].kind)
                base[b] = r;
    }
    for (size_t k = first; k < g_nres; k++) {
        result *r = &g_res[k];
        if (r->status != ST_OK)
            continue;
        if (fl && g_impl[r->impl].kind != K_FLOOR_RD)
            r->pct_floor = 100.0 * fl->t.val / r->t.val;
        r->limit = nb_limit_for(r->impl, r->dim, r->mem);
        const result *lim = r->limit == LIM_STREAM ? fl : r->limit == LIM_2PASS ? fl2 : NULL;
        if (lim)
            r->pct_limit = 100.0 * lim->t.val / r->t.val;
        if (g_impl[r->impl].libnorm)
            for (int b = 0; b < NBASE; b++)
                if (base[b])
                    r->sp[b] = base[b]->t.val / r->t.val;
    }
    return failures;
}

int main(int argc, char **argv)
{
    nb_detect_machine();
    nb_parse_args(argc, argv);
    nb_detect_llc(g_opt.llc_override);
    nb_build_sweep();
    nb_build_impls();

    unsigned maxthr = 1;
    for (int i = 0; i < g_opt.thr.n; i++)
        maxthr = g_opt.thr.v[i] > maxthr ? (unsigned)g_opt.thr.v[i] : maxthr;
    int cpus[MAXT];
    for (unsigned i = 0; i < maxthr; i++)
        cpus[i] = g_cpus[i % g_ncpu];
    nb_pool_start(maxthr, g_opt.pin ? cpus : NULL);

    char model[256];
    nb_cpu_model(model, sizeof model);
    nb_table_machine(model);

    double t_start = now_ns();
    nb_alloc_buffers();
    nb_measure_copy();
    double others = nb_others_busy_cpus();
    double rt[MAXT + 1] = {0}; /* the pool's round trip by thread count, 2 and more */
    for (int i = 0; i < g_opt.thr.n; i++) {
        unsigned t = (unsigned)g_opt.thr.v[i];
        if (t >= 2)
            rt[t] = nb_pool_round_trip(t, 201);
    }
    nb_table_start(others, rt);

    size_t total = g_nshapes;
    int failures = 0;
    double ref_ns = 0;
    for (size_t si = 0; si < g_nshapes; si++) {
        const shape *sh = &g_shapes[si];
        const shape *prev = si ? &g_shapes[si - 1] : NULL;
        /* the reference: once for the thread counts of the same shape */
        if (!prev || prev->op != sh->op || prev->dim != sh->dim || prev->rows != sh->rows ||
            prev->xs != sh->xs)
            ref_ns = nb_compute_ref(sh->op, sh->rows, sh->dim, sh->xs);
        size_t first = g_nres;
        double bytes = 4.0 * (double)sh->dim * (2.0 * (double)sh->rows + nb_op_params[sh->op]);
        char what[128];
        snprintf(what, sizeof what, "%s dim %zu rows %zu thr %u", nb_op_names[sh->op], sh->dim,
                 sh->rows, sh->thr);
        nb_progress(si, total, what, t_start);
        for (int ii = 0; ii < g_nimpl; ii++) {
            if (!nb_kind_has_op(g_impl[ii].kind, sh->op))
                continue;
            result *r = new_result();
            r->impl = ii;
            r->op = sh->op;
            r->group = sh->group;
            r->dim = sh->dim;
            r->rows = sh->rows;
            r->xs = sh->xs;
            r->thr = sh->thr;
            r->dram = sh->dram;
            r->bytes = g_impl[ii].kind == K_FLOOR_RD ? 4.0 * (double)sh->dim * sh->rows : bytes;
            r->ws_bytes = bytes;
            r->mem = nb_mem_level(bytes, sh->thr);
        }
        run_shape(first, sh->op, sh->rows, sh->dim, sh->xs, sh->thr, ref_ns);
        failures += derive(first);
        nb_table_shape(first);
    }
    nb_progress_clear();
    nb_fused_run();
    failures += nb_fused_failures();
    nb_pool_stop();

    nb_dram_self_check();
    nb_summary();
    nb_table_end(failures, (now_ns() - t_start) / 1e9);
    if (g_opt.csv) {
        nb_write_csv(g_opt.csv);
        printf("csv: %s\n", g_opt.csv);
    }
    if (g_opt.json) {
        nb_write_json(g_opt.json, model);
        printf("json: %s\n", g_opt.json);
    }
    if (g_opt.plot)
        nb_write_plot(g_opt.plot, model);
    return failures ? 1 : 0;
}
