/*
 * The implementations normbench measures, one row of the table each: the floors (floor-rd,
 * floor: the streaming limit, floor-2p: the two-pass limit), every libnorm
 * tier this CPU and build have, the dispatched API, and the baselines (naive, ggml's algorithm,
 * oneDNN). What one call of each does on a thread's share of the rows is nb_job_fn.
 * Adding a baseline: its K_ kind (and B_ index, for a speedup column) in nb_internal.h; here a
 * line of `others`, a case in nb_job_fn and a line of nb_baselines; its kernel in its own file.
 * The table, csv, json, plot and summary show it with no change of theirs; --help lists the
 * names --tier takes (nb_options.c).
 */
#include <stdio.h>
#include <string.h>

#include "libnorm.h"
#include "nb_internal.h"

impl g_impl[16];
int g_nimpl;
nb_floor_fns g_floor;
nb_base_fns g_base;
const char *g_dnnl_state; /* the oneDNN version, or "not built" */

/* the implementations after the tiers, in the order of the table */
static const struct {
    const char *n;
    int k, lib;
} others[] = {{"api", K_API, 1}, {"naive", K_NAIVE, 0}, {"ggml", K_GGML, 0},
              {"onednn", K_DNNL, 0}};
#define NOTHERS (sizeof others / sizeof others[0])

const nb_baseline nb_baselines[NBASE] = {
    [B_NAIVE] = {K_NAIVE, "naive", "naive"},
    [B_GGML] = {K_GGML, "ggml", "ggml"},
    [B_DNNL] = {K_DNNL, "oneDNN", "onednn"},
};

int nb_kind_has_op(int kind, int op)
{
    return !(kind == K_DNNL && (nb_op_is_rms(op) || nb_op_is_head(op)));
}

int nb_kind_built(int kind)
{
    return kind != K_DNNL || HAVE_DNNL;
}

static void select_variants(void)
{
    nb_floor_generic(&g_floor);
    nb_base_generic(&g_base);
#if defined(__x86_64__) && defined(NB_HAVE_X86_VARIANTS)
    if (nb_cpu_has_avx512()) {
        nb_floor_avx512(&g_floor);
        if (!g_opt.generic_baselines)
            nb_base_avx512(&g_base);
    } else if (nb_cpu_has_avx2()) {
        nb_floor_avx2(&g_floor);
        if (!g_opt.generic_baselines)
            nb_base_avx2(&g_base);
    }
#endif
}

/* libnorm_opts' split: nth contiguous chunks of rows/nth rows, the first rows%nth one longer */
void nb_split_rows(size_t rows, unsigned ith, unsigned nth, size_t *r0, size_t *r1)
{
    size_t q = rows / nth, rem = rows % nth;
    *r0 = ith * q + (ith < rem ? ith : rem);
    *r1 = *r0 + q + (ith < rem);
}

void nb_job_fn(void *ctx, unsigned ith, unsigned nth)
{
    job *j = ctx;
    const impl *im = j->im;
    const size_t dim = j->dim, rows = j->rows, xs = j->xs;
    const int rms = nb_op_is_rms(j->op);
    size_t r0, r1;
    nb_split_rows(rows, ith, nth, &r0, &r1);
    const size_t nr = r1 - r0;
    for (size_t k = 0; k < j->inner; k++) {
        switch (im->kind) {
        case K_FLOOR_RD:
            if (nr)
                j->sink[ith][0] += g_floor.read(j->x + r0 * xs, nr, dim, xs);
            break;
        case K_FLOOR:
            if (nr)
                g_floor.rw(j->y + r0 * dim, j->x + r0 * xs, j->w, j->b, nr, dim, xs);
            break;
        case K_FLOOR_2P:
            if (nr)
                j->sink[ith][0] += g_floor.rw2(j->y + r0 * dim, j->x + r0 * xs, j->w, j->b, nr,
                                               dim, xs);
            break;
        case K_TIER:
            if (nr) {
                norm_job nj = {j->y + r0 * dim, j->x + r0 * xs, j->w, j->b, nr, dim, xs, dim,
                               j->eps, NULL, NULL, NULL, NORM_KIND_RMS, NULL, 0, 0};
                if (rms)
                    im->dsp.rmsnorm_f32(&nj);
                else
                    im->dsp.layernorm_f32(&nj);
            }
            break;
        case K_API: {
            libnorm_opts o = LIBNORM_OPTS_INIT;
            o.ith = ith;
            o.nth = nth;
            o.x_stride = xs;
            int st = rms
                         ? libnorm_rmsnorm_f32_ex(j->y, j->x, j->w, rows, dim, j->eps, &o)
                         : libnorm_layernorm_f32_ex(j->y, j->x, j->w, j->b, rows, dim, j->eps, &o);
            if (st != LIBNORM_OK)
                atomic_store(&j->fail, st);
            break;
        }
        case K_NAIVE:
            if (rms)
                g_base.naive_rms(j->y, j->x, j->w, r0, r1, dim, xs, j->eps);
            else
                g_base.naive_ln(j->y, j->x, j->w, j->b, r0, r1, dim, xs, j->eps);
            break;
        case K_GGML: {
            /* graph: norm -> [mul w] -> [add b], a barrier after each node */
            size_t dr = (rows + nth - 1) / nth;
            size_t g0 = dr * ith < rows ? dr * ith : rows;
            size_t g1 = g0 + dr < rows ? g0 + dr : rows;
            if (rms)
                g_base.ggml_rms_norm(j->y, j->x, rows, dim, xs, j->eps, ith, nth);
            else
                g_base.ggml_norm(j->y, j->x, rows, dim, xs, j->eps, ith, nth);
            nb_pool_barrier(nth);
            if (j->w) {
                g_base.ggml_mul(j->y, j->w, g0, g1, dim);
                nb_pool_barrier(nth);
            }
            if (j->b) {
                g_base.ggml_add(j->y, j->b, g0, g1, dim);
                nb_pool_barrier(nth);
            }
            break;
        }
        case K_DNNL:
            if (j->dn[ith] && nb_dnnl_exec(j->dn[ith]) != 0)
                atomic_store(&j->fail, -100);
            break;
        }
    }
}

void nb_dnnl_job_setup(void *ctx, unsigned ith, unsigned nth)
{
    job *j = ctx;
    size_t r0, r1;
    nb_split_rows(j->rows, ith, nth, &r0, &r1);
    j->dn[ith] = NULL;
    j->dn_err[ith][0] = 0;
    if (r1 == r0)
        return;
    nb_dnnl_thread_init();
    j->dn[ith] = nb_dnnl_create(j->op == OP_LN, j->y + r0 * j->dim, j->x + r0 * j->dim, j->w,
                                j->b, r1 - r0, j->dim, j->eps, j->dn_err[ith],
                                sizeof j->dn_err[ith]);
    if (!j->dn[ith])
        atomic_store(&j->fail, -101);
}

void nb_dnnl_job_teardown(void *ctx, unsigned ith, unsigned nth)
{
    job *j = ctx;
    nb_dnnl_destroy(j->dn[ith]);
    j->dn[ith] = NULL;
}

void nb_build_impls(void)
{
    select_variants();
    g_dnnl_state = nb_dnnl_version();
    g_nimpl = 0;
    impl *im;
    im = &g_impl[g_nimpl++];
    snprintf(im->name, sizeof im->name, "floor-rd");
    im->kind = K_FLOOR_RD;
    im = &g_impl[g_nimpl++];
    snprintf(im->name, sizeof im->name, "floor");
    im->kind = K_FLOOR;
    im = &g_impl[g_nimpl++];
    snprintf(im->name, sizeof im->name, "floor-2p");
    im->kind = K_FLOOR_2P;
    for (int t = 0; t < NORM_TIER_COUNT; t++) {
        norm_dsp d;
        const char *name = norm_tier_name(t);
        if (!nb_tier_wanted(name))
            continue;
        if (norm_dsp_init(&d, t) != 0) {
            if (g_opt.tiers[0])
                fprintf(stderr, "normbench: tier %s is not available on this CPU/build\n", name);
            continue;
        }
        im = &g_impl[g_nimpl++];
        snprintf(im->name, sizeof im->name, "%s", name);
        im->kind = K_TIER;
        im->libnorm = 1;
        im->dsp = d;
    }
    for (size_t i = 0; i < NOTHERS; i++) {
        if (!nb_tier_wanted(others[i].n))
            continue;
        if (!nb_kind_built(others[i].k)) {
            if (g_opt.tiers[0])
                fprintf(stderr, "normbench: onednn: not built (install libdnnl-dev, reconfigure)\n");
            continue;
        }
        im = &g_impl[g_nimpl++];
        snprintf(im->name, sizeof im->name, "%s", others[i].n);
        im->kind = others[i].k;
        im->libnorm = others[i].lib;
    }
    if (g_opt.tiers[0]) {
        char buf[256];
        snprintf(buf, sizeof buf, "%s", g_opt.tiers);
        for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
            int known = norm_tier_from_name(tok) >= 0;
            for (size_t i = 0; i < NOTHERS; i++)
                known |= !strcmp(tok, others[i].n);
            if (!known)
                nb_die("--tier: unknown implementation '%s'", tok);
        }
    }
}
