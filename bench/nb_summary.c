/*
 * The summary after the table: for every libnorm row, the geometric mean (and the worst) of
 * "% limit" and of the speedups over the shapes; then issue 9's performance targets for every
 * vector tier measured and for the dispatched API, met or missed, with the worst shape of each
 * (or "not measured in this sweep" when the sweep has no shape for one).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "libnorm.h"
#include "nb_internal.h"

/* the geometric mean and the minimum of the values added (NaN: none) */
typedef struct geo {
    double lsum, min;
    int n;
} geo;

static void geo_add(geo *g, double v)
{
    if (isnan(v))
        return;
    g->lsum += log(v);
    g->min = fmin(g->min, v);
    g->n++;
}

/* One target over the shapes: how many have a value, how many miss the goal, the worst. hi: the
 * goal is a floor (v >= goal), else a ceiling (v <= goal). */
typedef struct target {
    int n, miss, hi;
    double goal;
    const result *worst;
    double wv;
    geo g;
} target;

static target target_new(double goal, int hi)
{
    target t = {0};
    t.goal = goal;
    t.hi = hi;
    t.g = (geo){0, INFINITY, 0};
    return t;
}

static void target_add(target *t, const result *r, double v)
{
    if (isnan(v))
        return;
    t->n++;
    t->miss += t->hi ? !(v >= t->goal) : !(v <= t->goal);
    if (v > 0)
        geo_add(&t->g, v);
    if (!t->worst || (t->hi ? v < t->wv : v > t->wv)) {
        t->worst = r;
        t->wv = v;
    }
}

static void shape_str(char *out, size_t n, const result *r)
{
    int k = snprintf(out, n, "%s dim %zu rows %zu thr %u", nb_op_names[r->op], r->dim, r->rows,
                     r->thr);
    if (r->xs != r->dim && k > 0 && (size_t)k < n)
        snprintf(out + k, n - (size_t)k, " stride %zu", r->xs);
}

/* value v in the unit of the target: "%" percent, "x" ratio, "ns" nanoseconds */
static void fmt_val(char *out, size_t n, double v, const char *unit)
{
    if (!strcmp(unit, "%"))
        snprintf(out, n, "%.0f%%", v);
    else if (!strcmp(unit, "x"))
        snprintf(out, n, "%.2fx", v);
    else
        snprintf(out, n, "%.1f ns", v);
}

/* "  <what>  <measured>  MET|MISSED  worst: <shape>", or "not measured in this sweep".
 * geomean: the measured value is the geometric mean (judged against the goal), else the worst
 * shape's value, with the count of shapes that meet the goal. */
static void target_line(const char *what, const target *t, const char *unit, int geomean)
{
    char m[96], v[32];
    if (!t->n) {
        printf("  %-50s not measured in this sweep\n", what);
        return;
    }
    int met;
    if (geomean) {
        double gm = exp(t->g.lsum / t->g.n);
        fmt_val(v, sizeof v, gm, unit);
        snprintf(m, sizeof m, "geomean %s over %d shape%s", v, t->n, t->n == 1 ? "" : "s");
        met = t->hi ? gm >= t->goal : gm <= t->goal;
    } else {
        fmt_val(v, sizeof v, t->wv, unit);
        if (t->n == 1)
            snprintf(m, sizeof m, "%s", v);
        else
            snprintf(m, sizeof m, "%s worst, %d of %d shapes met", v, t->n - t->miss, t->n);
        met = !t->miss;
    }
    char sh[96];
    shape_str(sh, sizeof sh, t->worst);
    printf("  %-50s %-34s %-6s  %s: %s\n", what, m, met ? "MET" : "MISSED",
           t->n == 1 ? "at" : "worst", sh);
}

/* the result of implementation ii on a shape (grid or single group), or NULL */
static const result *find(int ii, int op, size_t dim, size_t rows, unsigned thr)
{
    for (size_t k = 0; k < g_nres; k++) {
        const result *r = &g_res[k];
        if (r->impl == ii && r->op == op && r->dim == dim && r->rows == rows && r->thr == thr &&
            r->xs == r->dim && r->status == ST_OK && !r->stalled)
            return r;
    }
    return NULL;
}

/* Issue 9's targets for implementation ii (a tier, or the API: api also gets the single-row
 * targets). */
static void targets_for(int ii)
{
    const impl *im = &g_impl[ii];
    if (im->kind == K_API)
        printf("\nTargets, dispatched API (-> %s):\n", libnorm_active_isa());
    else
        printf("\nTargets, %s tier:\n", im->name);
    target dn = target_new(1.0, 1), dg = target_new(1.6, 1), r64 = target_new(60, 1),
           r128 = target_new(80, 1), cache = target_new(90, 1), dram = target_new(90, 1);
    int nstall = 0;
    for (size_t k = 0; k < g_nres; k++) {
        const result *r = &g_res[k];
        if (r->impl != ii || r->status != ST_OK)
            continue;
        if (r->stalled) {
            nstall++;
            continue;
        }
        target_add(&dn, r, r->sp[B_DNNL]);
        target_add(&dg, r, r->sp[B_DNNL]);
        if (r->thr > 2)
            continue;
        if (r->dim == 64)
            target_add(&r64, r, r->pct_floor);
        if (r->dim == 128)
            target_add(&r128, r, r->pct_floor);
        if (r->limit == LIM_2PASS)
            target_add(&cache, r, r->pct_limit);
        if (!strcmp(r->mem, "DRAM"))
            target_add(&dram, r, r->pct_floor);
    }
    if (!HAVE_DNNL) {
        printf("  %-50s oneDNN not built\n", "every shape >= 1.0x oneDNN, geomean >= 1.6x");
    } else {
        target_line("every shape >= 1.0x oneDNN", &dn, "x", 0);
        target_line("geomean >= 1.6x oneDNN", &dg, "x", 1);
    }
    target_line("dim 64 (in registers) >= 60% of stream, 1-2 thr", &r64, "%", 0);
    target_line("dim 128 (in registers) >= 80% of stream, 1-2 thr", &r128, "%", 0);
    target_line("rows in cache >= 90% of 2pass, 1-2 thr", &cache, "%", 0);
    target_line("from DRAM >= 90% of stream, 1-2 thr", &dram, "%", 0);
    if (im->kind == K_API) {
        /* single-row calls, 1 thread: the time of one call */
        const struct {
            int op;
            double goal;
            const char *what;
        } one[] = {{OP_RMS, 15, "rows = 1: rms dim 64 <= 15 ns"},
                   {OP_LN, 25, "rows = 1: ln dim 64 <= 25 ns"}};
        for (int i = 0; i < 2; i++) {
            target t = target_new(one[i].goal, 0);
            const result *r = find(ii, one[i].op, 64, 1, 1);
            if (r)
                target_add(&t, r, r->t.val);
            target_line(one[i].what, &t, "ns", 0);
        }
        /* dim 4096: one row alone against the same row in a 32-row batch */
        target b = target_new(1.15, 0);
        for (int op = OP_LN; op <= OP_RMS; op++) {
            if (op == OP_LN_PLAIN)
                continue;
            const result *r1 = find(ii, op, 4096, 1, 1), *r32 = find(ii, op, 4096, 32, 1);
            if (r1 && r32)
                target_add(&b, r1, r1->t.val / (r32->t.val / 32));
        }
        target_line("rows = 1, dim 4096 <= 1.15x its ns/row in 32", &b, "x", 0);
        /* the API's overhead over the dispatched tier's kernel */
        int kern = -1;
        for (int jj = 0; jj < g_nimpl; jj++)
            if (g_impl[jj].kind == K_TIER && g_impl[jj].dsp.tier == norm_dsp_global()->tier)
                kern = jj;
        target ov = target_new(5, 0);
        for (int op = OP_LN; op <= OP_RMS; op++) {
            if (op == OP_LN_PLAIN || kern < 0)
                continue;
            const result *ra = find(ii, op, 64, 1, 1), *rk = find(kern, op, 64, 1, 1);
            if (ra && rk)
                target_add(&ov, ra, ra->t.val - rk->t.val);
        }
        target_line("API overhead over the kernel <= 5 ns (rows 1)", &ov, "ns", 0);
    }
    if (nstall)
        printf("  (%d shape%s left out: thread pool stalled by other processes; rerun on an idle "
               "machine)\n", nstall, nstall == 1 ? "" : "s");
}

void nb_summary(void)
{
    printf("\nSummary (geometric mean over shapes, worst in brackets; stalled shapes left out):\n");
    printf("%-8s %16s", "impl", "% limit");
    for (int b = 0; b < NBASE; b++) {
        char title[32];
        snprintf(title, sizeof title, "vs %s", nb_baselines[b].title);
        printf(" %18s", title);
    }
    printf("\n");
    for (int ii = 0; ii < g_nimpl; ii++) {
        if (!g_impl[ii].libnorm)
            continue;
        geo g[1 + NBASE]; /* % limit, then the speedups */
        for (int c = 0; c < 1 + NBASE; c++)
            g[c] = (geo){0, INFINITY, 0};
        for (size_t k = 0; k < g_nres; k++) {
            const result *r = &g_res[k];
            if (r->impl != ii || r->status != ST_OK || r->stalled)
                continue;
            geo_add(&g[0], r->pct_limit);
            for (int b = 0; b < NBASE; b++)
                geo_add(&g[1 + b], r->sp[b]);
        }
        char c[40];
        if (g[0].n)
            snprintf(c, sizeof c, "%.0f%% [%.0f%%]", exp(g[0].lsum / g[0].n), g[0].min);
        else
            snprintf(c, sizeof c, "-");
        printf("%-8s %16s", g_impl[ii].name, c);
        for (int b = 0; b < NBASE; b++) {
            const geo *s = &g[1 + b];
            if (s->n)
                snprintf(c, sizeof c, "%.2fx [%.2fx]", exp(s->lsum / s->n), s->min);
            else if (nb_kind_built(nb_baselines[b].kind))
                snprintf(c, sizeof c, "-");
            else
                snprintf(c, sizeof c, "not built");
            printf(" %18s", c);
        }
        printf("\n");
    }

    /* Issue 9's targets: every vector tier measured, then the dispatched API. */
    printf("\nPerformance targets (issue 9; --help: the rules), each with the measured value, MET or "
           "MISSED, and the worst shape:\n"
           "oneDNN: the LayerNorm shapes it has; dims 64, 128: every group, against the streaming "
           "limit;\nin cache: the rows whose lim is 2pass; DRAM: mem DRAM; rows = 1: 1 thread, "
           "dispatched API only\n");
    int any = 0;
    for (int ii = 0; ii < g_nimpl; ii++)
        if (g_impl[ii].kind == K_TIER && g_impl[ii].dsp.tier != NORM_TIER_SCALAR) {
            targets_for(ii);
            any = 1;
        }
    for (int ii = 0; ii < g_nimpl; ii++)
        if (g_impl[ii].kind == K_API) {
            targets_for(ii);
            any = 1;
        }
    if (!any)
        printf("  no vector tier or api measured (--tier)\n");
}
