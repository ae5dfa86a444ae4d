/*
 * The summary after the table: for every libnorm row, the geometric mean (and the worst) of
 * "% floor" and of the speedups over the shapes; then the performance targets for the
 * dispatched API, met or missed, with the worst shape of each.
 */
#include <math.h>
#include <stdio.h>

#include "libnorm.h"
#include "nb_internal.h"

void nb_summary(void)
{
    printf("\nSummary (geometric mean over shapes, worst in brackets; stalled shapes left out):\n");
    printf("%-8s %16s %18s %18s %18s\n", "impl", "% floor", "vs naive", "vs ggml", "vs oneDNN");
    for (int ii = 0; ii < g_nimpl; ii++) {
        if (!g_impl[ii].libnorm)
            continue;
        double lp = 0, lsp[3] = {0}, mp = INFINITY, msp[3] = {INFINITY, INFINITY, INFINITY};
        int np = 0, nsp[3] = {0};
        for (size_t k = 0; k < g_nres; k++) {
            const result *r = &g_res[k];
            if (r->impl != ii || r->status != ST_OK || r->stalled)
                continue;
            if (!isnan(r->pct_floor)) {
                lp += log(r->pct_floor);
                mp = fmin(mp, r->pct_floor);
                np++;
            }
            for (int s = 0; s < 3; s++)
                if (!isnan(r->sp[s])) {
                    lsp[s] += log(r->sp[s]);
                    msp[s] = fmin(msp[s], r->sp[s]);
                    nsp[s]++;
                }
        }
        char c[4][40];
        if (np)
            snprintf(c[0], 40, "%.0f%% [%.0f%%]", exp(lp / np), mp);
        else
            snprintf(c[0], 40, "-");
        for (int s = 0; s < 3; s++) {
            if (nsp[s])
                snprintf(c[s + 1], 40, "%.2fx [%.2fx]", exp(lsp[s] / nsp[s]), msp[s]);
            else
                snprintf(c[s + 1], 40, "%s", s == 2 && !HAVE_DNNL ? "not built" : "-");
        }
        printf("%-8s %16s %18s %18s %18s\n", g_impl[ii].name, c[0], c[1], c[2], c[3]);
    }

    /* The performance targets, for the dispatched API: on every shape >= 90% of the floor,
     * >= 1.6x oneDNN and >= 6x the ggml algorithm; the single-row LayerNorm call's time. */
    int api = -1;
    for (int ii = 0; ii < g_nimpl; ii++)
        if (g_impl[ii].kind == K_API)
            api = ii;
    if (api < 0)
        return;
    int n = 0, nf = 0, nd = 0, ndf = 0, ng = 0, ngf = 0, nstall = 0;
    const result *wf = NULL, *wd = NULL, *wg = NULL;
    for (size_t k = 0; k < g_nres; k++) {
        const result *r = &g_res[k];
        if (r->impl != api || r->status != ST_OK)
            continue;
        if (r->stalled) {
            nstall++;
            continue;
        }
        if (!isnan(r->pct_floor)) {
            n++;
            if (r->pct_floor < 90)
                nf++;
            if (!wf || r->pct_floor < wf->pct_floor)
                wf = r;
        }
        if (!isnan(r->sp[2])) {
            nd++;
            if (r->sp[2] < 1.6)
                ndf++;
            if (!wd || r->sp[2] < wd->sp[2])
                wd = r;
        }
        if (!isnan(r->sp[1])) {
            ng++;
            if (r->sp[1] < 6)
                ngf++;
            if (!wg || r->sp[1] < wg->sp[1])
                wg = r;
        }
    }
    printf("\nPerformance targets, dispatched API (%s):\n", libnorm_active_isa());
#define WORST(r, fmt, v)                                                                    \
    if (r)                                                                                  \
        printf("; worst " fmt " at %s dim %zu rows %zu thr %u", v, nb_op_names[r->op], r->dim,   \
               r->rows, r->thr)
    printf("  >= 90%% of the floor: %d of %d shapes met%s", n - nf, n, nf ? " (MISS)" : "");
    WORST(wf, "%.0f%%", wf->pct_floor);
    printf("\n  >= 1.6x oneDNN:      ");
    if (nd) {
        printf("%d of %d shapes met%s", nd - ndf, nd, ndf ? " (MISS)" : "");
        WORST(wd, "%.2fx", wd->sp[2]);
    } else {
        printf("%s", HAVE_DNNL ? "no LayerNorm shapes measured" : "oneDNN not built");
    }
    printf("\n  >= 6x ggml:          %d of %d shapes met%s", ng - ngf, ng, ngf ? " (MISS)" : "");
    WORST(wg, "%.2fx", wg->sp[1]);
    printf("\n");
    if (nstall)
        printf("  (%d shape%s left out: thread pool stalled by other processes; rerun on an idle "
               "machine)\n", nstall, nstall == 1 ? "" : "s");
#undef WORST
    for (size_t k = 0; k < g_nres; k++) {
        const result *r = &g_res[k];
        if (r->impl == api && r->status == ST_OK && r->rows == 1 && r->thr == 1 &&
            r->dim == 64 && r->op == OP_LN)
            printf("  single-row call, ln dim 64: %.1f ns per call (target: overhead <~20 ns)\n",
                   r->t.val);
    }
}
