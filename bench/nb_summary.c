/*
 * The summary after the table: for every libnorm row, the geometric mean (and the worst) of
 * "% floor" and of the speedups over the shapes; then the performance targets for the
 * dispatched API, met or missed, with the worst shape of each.
 */
#include <math.h>
#include <stdio.h>

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

/* one target over the shapes: how many have a value, how many miss the goal, the worst */
typedef struct target {
    int n, miss;
    const result *worst;
    double wv;
} target;

static void target_add(target *t, const result *r, double v, double goal)
{
    if (isnan(v))
        return;
    t->n++;
    t->miss += v < goal;
    if (!t->worst || v < t->wv) {
        t->worst = r;
        t->wv = v;
    }
}

/* "M of N shapes met[ (MISS)][; worst V at <shape>]", V a percentage or a ratio */
static void target_print(const target *t, int pct)
{
    printf("%d of %d shapes met%s", t->n - t->miss, t->n, t->miss ? " (MISS)" : "");
    if (!t->worst)
        return;
    const result *r = t->worst;
    if (pct)
        printf("; worst %.0f%%", t->wv);
    else
        printf("; worst %.2fx", t->wv);
    printf(" at %s dim %zu rows %zu thr %u", nb_op_names[r->op], r->dim, r->rows, r->thr);
}

void nb_summary(void)
{
    printf("\nSummary (geometric mean over shapes, worst in brackets; stalled shapes left out):\n");
    printf("%-8s %16s", "impl", "% floor");
    for (int b = 0; b < NBASE; b++) {
        char title[32];
        snprintf(title, sizeof title, "vs %s", nb_baselines[b].title);
        printf(" %18s", title);
    }
    printf("\n");
    for (int ii = 0; ii < g_nimpl; ii++) {
        if (!g_impl[ii].libnorm)
            continue;
        geo g[1 + NBASE]; /* % floor, then the speedups */
        for (int c = 0; c < 1 + NBASE; c++)
            g[c] = (geo){0, INFINITY, 0};
        for (size_t k = 0; k < g_nres; k++) {
            const result *r = &g_res[k];
            if (r->impl != ii || r->status != ST_OK || r->stalled)
                continue;
            geo_add(&g[0], r->pct_floor);
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

    /* The performance targets, for the dispatched API: on every shape >= 90% of the floor,
     * >= 1.6x oneDNN and >= 6x the ggml algorithm; the single-row LayerNorm call's time. */
    int api = -1;
    for (int ii = 0; ii < g_nimpl; ii++)
        if (g_impl[ii].kind == K_API)
            api = ii;
    if (api < 0)
        return;
    target fl = {0}, dn = {0}, gg = {0};
    int nstall = 0;
    for (size_t k = 0; k < g_nres; k++) {
        const result *r = &g_res[k];
        if (r->impl != api || r->status != ST_OK)
            continue;
        if (r->stalled) {
            nstall++;
            continue;
        }
        target_add(&fl, r, r->pct_floor, 90);
        target_add(&dn, r, r->sp[B_DNNL], 1.6);
        target_add(&gg, r, r->sp[B_GGML], 6);
    }
    printf("\nPerformance targets, dispatched API (%s):\n", libnorm_active_isa());
    printf("  >= 90%% of the floor: ");
    target_print(&fl, 1);
    printf("\n  >= 1.6x oneDNN:      ");
    if (dn.n)
        target_print(&dn, 0);
    else
        printf("%s", HAVE_DNNL ? "no LayerNorm shapes measured" : "oneDNN not built");
    printf("\n  >= 6x ggml:          ");
    target_print(&gg, 0);
    printf("\n");
    if (nstall)
        printf("  (%d shape%s left out: thread pool stalled by other processes; rerun on an idle "
               "machine)\n", nstall, nstall == 1 ? "" : "s");
    for (size_t k = 0; k < g_nres; k++) {
        const result *r = &g_res[k];
        if (r->impl == api && r->status == ST_OK && r->rows == 1 && r->thr == 1 &&
            r->dim == 64 && r->op == OP_LN)
            printf("  single-row call, ln dim 64: %.1f ns per call (target: overhead <~20 ns)\n",
                   r->t.val);
    }
}
