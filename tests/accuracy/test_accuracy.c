/*
 * The accuracy contract (include/libnorm.h, "Accuracy"): every tier's kernels against an exact
 * MPFR oracle on adversarial input families. An output's error is
 *     |y - y_exact| / max(1, |y_exact|, |w| * max(1, |xhat|))
 * in FLT_EPSILON (xhat the exact normalized value, |w| = 1 without a weight: see oracle.h); the
 * per-row mean and rstd are checked too (relative to max(|exact|, sigma) resp. |exact|,
 * subnormals in units of the smallest subnormal). Every family must stay within CONTRACT_EPS (8)
 * FLT_EPSILON on every tier this CPU supports, and every tier must have the same worst errors
 * (the tiers are bit-identical); the test prints the table family x tier -> worst error and
 * fails otherwise. The weight and bias families go up to |w| ~ 1e3 and |b| ~ 1e3.
 *
 * Two columns are not under contract. "old y" is the worst y error (over the tiers) under the
 * measure without the weight term, max(1, |y_exact|): it exceeds 8 on the large-weight families,
 * which is why the contract has the weight term. "naive f32" is a naive float32 two-pass
 * LayerNorm/RMSNorm (float sums, float mean) under the contract's measure: it must break the
 * contract on the large-mean and overflow families (also with weights ~1e3), which shows that the
 * oracle and the measure can tell a bad kernel.
 *
 *   test_accuracy [--quick] [--seed=N] [--verbose]      (LIBNORM_TEST_QUICK=1 = --quick)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libnorm.h"
#include "norm_internal.h"
#include "oracle.h"

/* OP_L2: libnorm_l2norm_f32_ex's kernels (RMSNorm, kind L2) on the same rows, no weight.
 * OP_GN: group normalisation through the entry layer on each tier's table (norm_groupnorm_call),
 * each row of the family one batch of gn_channels(n) channels in gn_groups() groups (even,
 * uneven and empty groups), the first channels of the family's weight and bias per channel; the
 * oracle is the exact LayerNorm of each group's run with the per-channel affine. */
enum op { OP_LN, OP_RMS, OP_L2, OP_GN, OP_LN1, OP_RMS1, OP_ADDLN, OP_ADDRMS };
static const char *const op_tag[8] = {"LN", "RMS", "L2", "GN", "LN w+1", "RMS w+1", "LN add",
                                      "RMS add"};
/* (0.4) OP_LN1 / OP_RMS1: LIBNORM_WEIGHT_PLUS_ONE, the oracle given the factor (float)(1 + w)
 * (the header's definition; without a weight the factor is 1). OP_ADDLN / OP_ADDRMS: the fused
 * residual add + norm (norm_add_call on each tier's table), r drawn from the family's own rows
 * (add_residual): h must be the float sum x + r bit for bit, and y, mean, rstd are measured
 * against the exact norm of that h (the op is defined as the plain norm of the rounded sum). */
#define OP_IS_LN(op) ((op) == OP_LN || (op) == OP_LN1 || (op) == OP_ADDLN)
#define OP_IS_ADD(op) ((op) == OP_ADDLN || (op) == OP_ADDRMS)

/* r for the fused op from the family's rows: half of another element of the row (a shifted
 * index), sign flipped where x + r would overflow (so h stays finite, as the oracle needs). */
static void add_residual(float *r, const float *x, size_t rows, size_t n)
{
    for (size_t t = 0; t < rows; t++)
        for (size_t i = 0; i < n; i++) {
            float a = x[t * n + i], v = 0.5f * x[t * n + (i + 1) % n];
            if (!(fabsf(a + v) <= FLT_MAX))
                v = -v;
            r[t * n + i] = v;
        }
}

/* The largest of 12, 8, 6, 5, 4, 3, 2, 1 that divides n. */
static size_t gn_channels(size_t n)
{
    static const size_t cs[] = {12, 8, 6, 5, 4, 3, 2, 1};
    for (size_t i = 0;; i++)
        if (n % cs[i] == 0)
            return cs[i];
}

/* 12 -> 5 (cpg 3: 3,3,3,3,0), 8 -> 3 (3,3,2), 6 -> 4 (2,2,2,0), 5 -> 3 (2,2,1), 4 -> 2, 3 -> 2
 * (2,1), 2 -> 1, 1 -> 1. */
static size_t gn_groups(size_t c)
{
    switch (c) {
    case 12: return 5;
    case 8: return 3;
    case 6: return 4;
    case 5: return 3;
    case 4: return 2;
    case 3: return 2;
    default: return 1;
    }
}

#define MAX_ROWS 128
#define NAME_LEN 40
#define NAIVE NORM_TIER_COUNT /* the naive column */
#define NCOL (NORM_TIER_COUNT + 1)

typedef struct entry {
    char name[NAME_LEN];
    enum op op;
    size_t outputs;
    double worst_y[NCOL], worst_mean[NCOL], worst_rstd[NCOL];
    double worst_old[NCOL]; /* y under max(1, |y_exact|) */
    char where_old[200];    /* the worst old-measure y's place (scalar tier) */
    char where[NCOL][200];   /* the worst y's place */
    char where_s[NCOL][200]; /* the worst statistic's place */
} entry;

static entry g_tab[256];
static int g_ntab;
static norm_dsp g_dsp[NCOL];
static int g_have[NCOL];
static int g_verbose;

static int new_entry(const char *name, enum op op)
{
    entry *e = &g_tab[g_ntab];
    memset(e, 0, sizeof(*e));
    snprintf(e->name, sizeof(e->name), "%s %s", name, op_tag[op]);
    e->op = op;
    return g_ntab++;
}

/* The naive column: float sums in index order, float mean, 1/sqrtf. */
static void naive_layernorm(const norm_job *j)
{
    for (size_t r = 0; r < j->rows; r++) {
        const float *x = j->x + r * j->xs;
        float *y = j->y + r * j->ys;
        float s = 0.0f, v = 0.0f;
        for (size_t i = 0; i < j->dim; i++)
            s += x[i];
        float m = s / (float)j->dim;
        for (size_t i = 0; i < j->dim; i++)
            v += (x[i] - m) * (x[i] - m);
        float rs = 1.0f / sqrtf(v / (float)j->dim + j->eps);
        for (size_t i = 0; i < j->dim; i++)
            y[i] = (x[i] - m) * rs * (j->w ? j->w[i] : 1.0f) + (j->b ? j->b[i] : 0.0f);
        if (j->mean)
            j->mean[r] = m;
        if (j->rstd)
            j->rstd[r] = rs;
    }
}

static void naive_rmsnorm(const norm_job *j)
{
    for (size_t r = 0; r < j->rows; r++) {
        const float *x = j->x + r * j->xs;
        float *y = j->y + r * j->ys;
        float v = 0.0f;
        for (size_t i = 0; i < j->dim; i++)
            v += x[i] * x[i];
        float rs = 1.0f / sqrtf(v / (float)j->dim + j->eps);
        for (size_t i = 0; i < j->dim; i++)
            y[i] = x[i] * rs * (j->w ? j->w[i] : 1.0f);
        if (j->rstd)
            j->rstd[r] = rs;
    }
}

static const char *col_name(int t) { return t == NAIVE ? "naive f32" : norm_tier_name(t); }

/* Runs `rows` rows of `n` floats through op `op` of every supported tier and folds the errors
 * against the oracle into entry `ei`. */
static void run_op(int ei, const float *x, const float *w, const float *b, size_t rows, size_t n,
                   float eps)
{
    entry *e = &g_tab[ei];
    size_t tot = rows * n;
    double *ye = test_xmalloc(tot * sizeof(double)), *sc = test_xmalloc(tot * sizeof(double));
    /* group norm: per (row, group) statistics; the others: per row */
    const size_t gc = gn_channels(n), gg = e->op == OP_GN ? gn_groups(gc) : 1;
    const size_t gs = n / gc, cpg = (gc + gg - 1) / gg, units = rows * gg;
    oracle_stats *st = test_xmalloc(units * sizeof(oracle_stats));
    float *y = test_xmalloc(tot * sizeof(float));
    float *mean = test_xmalloc(units * sizeof(float)), *rstd = test_xmalloc(units * sizeof(float));
    int *empty = test_xmalloc(units * sizeof(int));
    if (e->op == OP_L2)
        w = b = NULL;
    if (e->op == OP_RMS || e->op == OP_RMS1 || e->op == OP_ADDRMS)
        b = NULL;
    /* the factor the oracle sees (PLUS_ONE: 1 + w in float), and the fused op's r and h */
    float *wf = NULL, *rres = NULL, *hsum = NULL, *hout = NULL;
    const float *wo = w, *xo = x;
    if ((e->op == OP_LN1 || e->op == OP_RMS1) && w) {
        wf = test_xmalloc(n * sizeof(float));
        for (size_t i = 0; i < n; i++)
            wf[i] = 1.0f + w[i];
        wo = wf;
    }
    if (OP_IS_ADD(e->op)) {
        rres = test_xmalloc(tot * sizeof(float));
        hsum = test_xmalloc(tot * sizeof(float));
        hout = test_xmalloc(tot * sizeof(float));
        add_residual(rres, x, rows, n);
        for (size_t i = 0; i < tot; i++)
            hsum[i] = x[i] + rres[i];
        xo = hsum;
    }

    for (size_t r = 0; r < rows; r++) {
        if (OP_IS_LN(e->op))
            oracle_layernorm(xo + r * n, wo, b, n, eps, ye + r * n, sc + r * n, &st[r]);
        else if (e->op == OP_RMS || e->op == OP_RMS1 || e->op == OP_ADDRMS)
            oracle_rmsnorm(xo + r * n, wo, n, eps, ye + r * n, sc + r * n, &st[r]);
        else if (e->op == OP_L2)
            oracle_l2norm(x + r * n, n, eps, ye + r * n, sc + r * n, &st[r]);
        else {
            float *we = test_xmalloc(n * sizeof(float)), *be = test_xmalloc(n * sizeof(float));
            for (size_t g = 0; g < gg; g++) {
                size_t c0 = g * cpg, c1 = c0 + cpg < gc ? c0 + cpg : gc;
                empty[r * gg + g] = c0 >= gc;
                if (c0 >= gc)
                    continue;
                size_t off = r * n + c0 * gs, len = (c1 - c0) * gs;
                for (size_t i = 0; i < len; i++) {
                    we[i] = w ? w[c0 + i / gs] : 1.0f;
                    be[i] = b ? b[c0 + i / gs] : 0.0f;
                }
                oracle_layernorm(x + off, w ? we : NULL, b ? be : NULL, len, eps, ye + off,
                                 sc + off, &st[r * gg + g]);
            }
            free(we);
            free(be);
        }
    }
    e->outputs += tot;

    for (int t = 0; t < NCOL; t++) {
        if (!g_have[t] || (t == NAIVE && e->op >= OP_L2))
            continue;
        const int ln = OP_IS_LN(e->op);
        for (size_t i = 0; i < tot; i++)
            y[i] = -12345.0f;
        for (size_t u = 0; u < units; u++)
            mean[u] = rstd[u] = -12345.0f;
        norm_job job = {y, x, w, ln ? b : NULL, rows, n, n, n, eps,
                        ln ? mean : NULL, rstd, NULL,
                        e->op == OP_L2 ? NORM_KIND_L2 : NORM_KIND_RMS, NULL,
                        e->op == OP_LN1 || e->op == OP_RMS1, 0};
        if (OP_IS_ADD(e->op)) {
            libnorm_opts o = LIBNORM_OPTS_INIT;
            o.mean = ln ? mean : NULL;
            o.rstd = rstd;
            for (size_t i = 0; i < tot; i++)
                hout[i] = -12345.0f;
            if (norm_add_call(&g_dsp[t], ln ? NORM_OP_LN : NORM_OP_RMS, y, hout, x, rres, w,
                              ln ? b : NULL, rows, n, eps, &o, NULL) != 0 ||
                memcmp(hout, hsum, tot * sizeof(float)) != 0)
                e->worst_y[t] = INFINITY; /* a failed call, or h not the float sum */
        } else if (e->op == OP_GN) {
            libnorm_opts o = LIBNORM_OPTS_INIT;
            o.mean = mean;
            o.rstd = rstd;
            if (norm_groupnorm_call(&g_dsp[t], y, x, w, b, rows, gc, gs, gg, eps, &o, NULL) != 0)
                e->worst_y[t] = INFINITY; /* a failed call is out of contract */
        } else if (ln) {
            g_dsp[t].layernorm_f32(&job);
        } else {
            g_dsp[t].rmsnorm_f32(&job);
        }

        for (size_t r = 0; r < rows; r++) {
            for (size_t i = 0; i < n; i++) {
                size_t k = r * n + i;
                double err = err_eps(y[k], ye[k], sc[k]);
                double old = err_eps(y[k], ye[k], scale_y(ye[k]));
                if (!(old <= e->worst_old[t])) {
                    e->worst_old[t] = old;
                    if (t == NORM_TIER_SCALAR)
                        snprintf(e->where_old, sizeof(e->where_old),
                                 "dim %zu row %zu i %zu: x %.9g w %.9g b %.9g -> y %.9g, exact "
                                 "%.17g",
                                 n, r, i, (double)xo[k], wo ? (double)wo[i] : 1.0,
                                 (b && ln) ? (double)b[i] : 0.0, (double)y[k], ye[k]);
                }
                if (!(err <= e->worst_y[t])) {
                    e->worst_y[t] = err;
                    snprintf(e->where[t], sizeof(e->where[t]),
                             "dim %zu eps %g row %zu i %zu: x %.9g w %.9g b %.9g -> y %.9g, "
                             "exact %.17g",
                             n, (double)eps, r, i, (double)xo[k], wo ? (double)wo[i] : 1.0,
                             (b && ln) ? (double)b[i] : 0.0, (double)y[k], ye[k]);
                }
            }
        }
        for (size_t u = 0; u < units; u++) {
            if (e->op == OP_GN && empty[u]) {
                /* an empty group: no output, statistics NaN */
                if (!isnan(mean[u]) || !isnan(rstd[u]))
                    e->worst_mean[t] = INFINITY;
                continue;
            }
            double em = 0.0;
            if (ln || e->op == OP_GN) {
                em = stat_err_eps(mean[u], st[u].mean, (float)st[u].mean, st[u].sigma);
                if (!(em <= e->worst_mean[t]))
                    e->worst_mean[t] = em;
            }
            double er = stat_err_eps(rstd[u], st[u].rstd, st[u].rstd_f, 0.0);
            if (!(er <= e->worst_rstd[t]))
                e->worst_rstd[t] = er;
            if ((em > CONTRACT_EPS || er > CONTRACT_EPS) && !e->where_s[t][0])
                snprintf(e->where_s[t], sizeof(e->where_s[t]),
                         "dim %zu eps %g unit %zu: mean %.9g (exact %.17g, sigma %.3g) "
                         "rstd %.9g (exact %.17g)",
                         n, (double)eps, u, (double)mean[u], st[u].mean, st[u].sigma,
                         (double)rstd[u], st[u].rstd);
        }
    }
    free(wf);
    free(rres);
    free(hsum);
    free(hout);
    free(ye);
    free(sc);
    free(y);
    free(st);
    free(mean);
    free(rstd);
    free(empty);
}

/* ---- input families ---- */

static const size_t odd_dims[] = {1,  3,   7,   15,  17,  31,   33,   63,
                                  65, 127, 129, 511, 513, 1000, 4095, 4097};
#define N_ODD (sizeof(odd_dims) / sizeof(odd_dims[0]))
static const float eps_set[3] = {1e-5f, 1e-6f, 0.0f};

typedef struct data {
    size_t rows, n;
    float *x, *w, *b; /* w, b may be set to NULL by the generator */
    float *wbuf, *bbuf;
    float eps;
} data;

static void data_alloc(data *d, size_t rows, size_t n)
{
    d->rows = rows;
    d->n = n;
    d->x = test_xmalloc(rows * n * sizeof(float));
    d->wbuf = d->w = test_xmalloc(n * sizeof(float));
    d->bbuf = d->b = test_xmalloc(n * sizeof(float));
}

static void data_free(data *d)
{
    free(d->x);
    free(d->wbuf);
    free(d->bbuf);
}

/* Weight ~ 1 + 0.5 N(0,1) (some negative), bias ~ 0.5 N(0,1); either NULL now and then. */
static void random_wb(data *d, int k)
{
    for (size_t i = 0; i < d->n; i++) {
        d->w[i] = (float)(1.0 + 0.5 * rng_normal());
        d->b[i] = (float)(0.5 * rng_normal());
    }
    if (k % 4 == 3)
        d->w = NULL;
    if (k % 5 == 4)
        d->b = NULL;
}

static size_t random_dim(int k)
{
    static const size_t fixed[] = {64, 768, 4096, 120};
    if (k < 4)
        return fixed[k];
    return 1 + rng_below(5000);
}

static double sign(void) { return (rng_u64() & 1) ? 1.0 : -1.0; }

typedef struct family {
    const char *name;
    int cases, quick_cases;
    void (*gen)(data *d, int k);
} family;

static void gen_randn(data *d, int k)
{
    data_alloc(d, 2, random_dim(k));
    for (size_t i = 0; i < d->rows * d->n; i++)
        d->x[i] = (float)rng_normal();
    random_wb(d, k);
    d->eps = eps_set[k % 3];
}

/* Rows whose norm is within a factor 4 of eps (1e-5 or 1e-3): L2 normalisation's clamp
 * max(||x||, eps) on both sides (the sums stay far above the rare-path threshold). */
static void gen_norm_near_eps(data *d, int k)
{
    data_alloc(d, 3, random_dim(k));
    d->eps = k % 2 ? 1e-3f : 1e-5f;
    for (size_t r = 0; r < d->rows; r++) {
        double s2 = 0.0;
        float *x = d->x + r * d->n;
        for (size_t i = 0; i < d->n; i++) {
            x[i] = (float)rng_normal();
            s2 += (double)x[i] * x[i];
        }
        double target = d->eps * pow(2.0, 4.0 * rng_uniform() - 2.0);
        double f = s2 > 0 ? target / sqrt(s2) : 1.0;
        for (size_t i = 0; i < d->n; i++)
            x[i] = (float)(x[i] * f);
    }
    random_wb(d, k);
}

static void gen_uniform(data *d, int k)
{
    data_alloc(d, 2, random_dim(k));
    double c = 4.0 * (2.0 * rng_uniform() - 1.0);
    double s = pow(10.0, 3.0 * rng_uniform() - 1.5);
    for (size_t i = 0; i < d->rows * d->n; i++)
        d->x[i] = (float)(c + s * (2.0 * rng_uniform() - 1.0));
    for (size_t i = 0; i < d->n; i++) {
        d->w[i] = (float)(4.0 * rng_uniform() - 2.0);
        d->b[i] = (float)(2.0 * rng_uniform() - 1.0);
    }
    if (k % 4 == 3)
        d->w = NULL;
    if (k % 5 == 4)
        d->b = NULL;
    d->eps = eps_set[k % 3];
}

static void gen_odd(data *d, int k)
{
    data_alloc(d, 2, odd_dims[k % N_ODD]);
    for (size_t i = 0; i < d->rows * d->n; i++)
        d->x[i] = (float)(0.5 + 3.0 * rng_normal());
    random_wb(d, k);
    d->eps = 1e-5f;
}

static void gen_mean(data *d, int k, double c, double s)
{
    size_t n = k < (int)N_ODD ? odd_dims[(k * 5) % N_ODD] : 4096;
    data_alloc(d, 2, n);
    for (size_t i = 0; i < d->rows * n; i++)
        d->x[i] = (float)(c + s * rng_normal());
    random_wb(d, k);
    d->eps = eps_set[k % 3];
}
static void gen_mean_1e4(data *d, int k) { gen_mean(d, k, 1e4, 1e-2); }
static void gen_mean_3e5(data *d, int k) { gen_mean(d, k, -3e5, 1.0); }

static void gen_huge_3e19(data *d, int k)
{
    data_alloc(d, 2, k < 4 ? odd_dims[(k * 7 + 3) % N_ODD] : random_dim(k));
    double c = (k % 2) ? 3e19 * sign() : 0.0;
    for (size_t i = 0; i < d->rows * d->n; i++)
        d->x[i] = (float)(c + 3e19 * rng_normal());
    random_wb(d, k);
    d->eps = eps_set[k % 3];
}

static void gen_huge_max(data *d, int k)
{
    data_alloc(d, 2, k < 4 ? odd_dims[(k * 7 + 5) % N_ODD] : random_dim(k));
    for (size_t i = 0; i < d->rows * d->n; i++) {
        double u = rng_uniform();
        switch (k % 4) {
        case 0: d->x[i] = test_clampf((2.0 * u - 1.0) * FLT_MAX); break;     /* across the range */
        case 1: d->x[i] = test_clampf((0.5 + 0.5 * u) * FLT_MAX); break;     /* sum overflows */
        case 2: d->x[i] = (float)(sign() * FLT_MAX); break;             /* +-FLT_MAX */
        default: d->x[i] = test_clampf(-FLT_MAX * (1.0 - 1e-3 * u)); break;  /* near -FLT_MAX */
        }
    }
    random_wb(d, k);
    d->eps = eps_set[k % 3];
}

static void gen_tiny(data *d, int k, double s)
{
    data_alloc(d, 2, k < 4 ? odd_dims[(k * 3 + 1) % N_ODD] : random_dim(k));
    double c = (k % 2) ? 3.0 * s * sign() : 0.0;
    for (size_t i = 0; i < d->rows * d->n; i++)
        d->x[i] = (float)(c + s * rng_normal());
    random_wb(d, k);
    d->eps = 0.0f;
}
static void gen_tiny_1e20(data *d, int k) { gen_tiny(d, k, 1e-20); }
static void gen_denorm_1e41(data *d, int k) { gen_tiny(d, k, 1e-41); }
static void gen_near_min(data *d, int k) { gen_tiny(d, k, 1e-38); }

static void gen_outlier(data *d, int k)
{
    data_alloc(d, 2, k < 4 ? odd_dims[(k * 5 + 2) % N_ODD] : random_dim(k));
    for (size_t r = 0; r < d->rows; r++) {
        float *x = d->x + r * d->n;
        for (size_t i = 0; i < d->n; i++)
            x[i] = (float)rng_normal();
        x[rng_below(d->n)] = (float)(1e10 * sign());
    }
    random_wb(d, k);
    d->eps = eps_set[k % 3];
}

static void gen_outlier0(data *d, int k)
{
    static const double big[3] = {1e10, 1e30, 3e38};
    data_alloc(d, 2, k < 4 ? odd_dims[(k * 5 + 4) % N_ODD] : random_dim(k));
    for (size_t r = 0; r < d->rows; r++) {
        float *x = d->x + r * d->n;
        for (size_t i = 0; i < d->n; i++)
            x[i] = (float)rng_normal();
        x[0] = (float)(big[(k + r) % 3] * sign());
    }
    random_wb(d, k);
    d->eps = eps_set[k % 3];
}

static void gen_wide(data *d, int k)
{
    data_alloc(d, 2, random_dim(k));
    for (size_t i = 0; i < d->rows * d->n; i++)
        d->x[i] = (float)(sign() * pow(10.0, 60.0 * rng_uniform() - 30.0));
    random_wb(d, k);
    d->eps = eps_set[k % 3];
}

static void gen_small_var(data *d, int k)
{
    static const double sv[4] = {1e-2, 3e-3, 1e-3, 1e-4};
    static const double cv[3] = {0.0, 1.0, -100.0};
    data_alloc(d, 2, random_dim(k));
    double c = cv[k % 3], s = sv[(k / 3) % 4];
    for (size_t i = 0; i < d->rows * d->n; i++)
        d->x[i] = (float)(c + s * rng_normal());
    random_wb(d, k);
    d->eps = eps_set[(k / 2) % 3];
}

/* LayerNorm's pass 1 looks at the first 512 elements only (the probe; 32 for rows of at most
 * 128): rows whose probe is unlike the rest (a step at 1/8 .. 1/2 of the row, a ramp, the large
 * values all past the probe) make m0 miss the mean by several standard deviations, and pass 2
 * must run again. rows, n: the case's shape. */
static void probe_miss_rows(data *d, int k, size_t rows, size_t n)
{
    data_alloc(d, rows, n);
    for (size_t r = 0; r < d->rows; r++) {
        float *x = d->x + r * d->n;
        double a = 10.0 * rng_normal(), step = sign() * pow(10.0, 6.0 * rng_uniform() - 2.0);
        double noise = pow(10.0, 2.0 * rng_uniform() - 3.0);
        size_t at = d->n / (2u << (k % 3));
        for (size_t i = 0; i < d->n; i++) {
            double v = (k + r) % 2 ? a + (i < at ? 0.0 : step) : a + step * (double)i / d->n;
            x[i] = (float)(v + noise * rng_normal());
        }
    }
    random_wb(d, k);
    d->eps = eps_set[k % 3];
}

static void gen_probe_miss(data *d, int k)
{
    static const size_t dims[4] = {1024, 4096, 600, 16384};
    probe_miss_rows(d, k, 2, k < 4 ? dims[k] : 513 + rng_below(20000));
}

/* (0.5) The short rows' probe (the first 32 of at most 128). */
static void gen_probe_miss_short(data *d, int k)
{
    static const size_t dims[4] = {64, 128, 100, 48};
    probe_miss_rows(d, k, 64, k < 4 ? dims[k] : 33 + rng_below(96));
}

/* ---- weight and bias magnitudes up to 1e3 ----
 * The rows cycle through four kinds (k % 4): N(0,1); offset and scaled (c in +-4, spread 0.03 ..
 * 30); a large mean with a tiny spread (1e4 +- 1e-2); and rows of the rare path (tiny 1e-20 with
 * eps 0, or huge ~3e19). */
static void mag_rows(data *d, int k)
{
    data_alloc(d, 2, random_dim(k));
    double c = 4.0 * (2.0 * rng_uniform() - 1.0), s = pow(10.0, 3.0 * rng_uniform() - 1.5);
    for (size_t i = 0; i < d->rows * d->n; i++) {
        double v;
        switch (k % 4) {
        case 0: v = rng_normal(); break;
        case 1: v = c + s * rng_normal(); break;
        case 2: v = 1e4 + 1e-2 * rng_normal(); break;
        default: v = (k / 4) % 2 ? 3e19 * rng_normal() : 1e-20 * (3.0 + rng_normal()); break;
        }
        d->x[i] = (float)v;
    }
    d->eps = k % 4 == 3 && (k / 4) % 2 == 0 ? 0.0f : eps_set[k % 3];
}

/* |w| in [W/2, 3W/2) with random sign; b ~ bs * N(0,1) (bs = 0.5) or, with bs < 0, |b| in
 * [-bs/2, -3bs/2) with random sign. b is NULL now and then. */
static void mag_wb(data *d, int k, double W, double bs)
{
    for (size_t i = 0; i < d->n; i++) {
        d->w[i] = (float)(sign() * W * (0.5 + rng_uniform()));
        d->b[i] = (float)(bs > 0 ? bs * rng_normal() : sign() * -bs * (0.5 + rng_uniform()));
    }
    if (k % 5 == 4)
        d->b = NULL;
}

static void gen_w10(data *d, int k) { mag_rows(d, k); mag_wb(d, k, 10.0, 0.5); }
static void gen_w100(data *d, int k) { mag_rows(d, k); mag_wb(d, k, 100.0, 0.5); }
static void gen_w1e3(data *d, int k) { mag_rows(d, k); mag_wb(d, k, 1e3, 0.5); }
static void gen_wb1e3(data *d, int k) { mag_rows(d, k); mag_wb(d, k, 1e3, -1e3); }

/* Bias 1 .. 1e3 (log-uniform, random sign), weight ~ 1 + 0.5 N(0,1). */
static void gen_b1e3(data *d, int k)
{
    mag_rows(d, k);
    for (size_t i = 0; i < d->n; i++) {
        d->w[i] = (float)(1.0 + 0.5 * rng_normal());
        d->b[i] = (float)(sign() * pow(10.0, 3.0 * rng_uniform()));
    }
    if (k % 4 == 3)
        d->w = NULL;
}

/* Bias that cancels x̂·w: |w| log-uniform in 1 .. 1e3, b = -(x̂·w) of row 0 (x̂ from a double
 * two-pass, rounded to float), so row 0's outputs are tiny against |w|·|x̂|; row 1 is another
 * row of the same kind. */
static void gen_cancel(data *d, int k)
{
    mag_rows(d, k);
    const float *x = d->x;
    size_t n = d->n;
    double m = 0.0, v = 0.0;
    for (size_t i = 0; i < n; i++)
        m += x[i];
    m /= (double)n;
    for (size_t i = 0; i < n; i++)
        v += ((double)x[i] - m) * ((double)x[i] - m);
    v /= (double)n;
    double rs = v + d->eps > 0.0 ? 1.0 / sqrt(v + d->eps) : 0.0;
    for (size_t i = 0; i < n; i++) {
        d->w[i] = (float)(sign() * pow(10.0, 3.0 * rng_uniform()));
        d->b[i] = (float)(-((double)x[i] - m) * rs * d->w[i]);
    }
}

static const family families[] = {
    {"randn", 48, 16, gen_randn},
    {"uniform", 48, 16, gen_uniform},
    {"odd dims", (int)N_ODD * 3, (int)N_ODD, gen_odd},
    {"mean 1e4 +- 1e-2", 40, 16, gen_mean_1e4},
    {"mean -3e5 +- 1", 40, 16, gen_mean_3e5},
    {"huge ~3e19", 24, 8, gen_huge_3e19},
    {"huge to FLT_MAX", 24, 8, gen_huge_max},
    {"tiny 1e-20 eps0", 24, 8, gen_tiny_1e20},
    {"subnormal 1e-41 eps0", 24, 8, gen_denorm_1e41},
    {"near FLT_MIN eps0", 16, 8, gen_near_min},
    {"outlier 1e10", 24, 8, gen_outlier},
    {"huge outlier x[0]", 24, 8, gen_outlier0},
    {"wide 1e-30..1e30", 24, 8, gen_wide},
    {"small var vs eps", 48, 16, gen_small_var},
    {"probe unlike the row", 24, 8, gen_probe_miss},
    {"weight ~10", 32, 8, gen_w10},
    {"weight ~100", 32, 8, gen_w100},
    {"weight ~1e3", 32, 8, gen_w1e3},
    {"bias 1..1e3", 32, 8, gen_b1e3},
    {"weight, bias ~1e3", 32, 8, gen_wb1e3},
    {"bias cancels xhat*w", 32, 8, gen_cancel},
    {"norm near eps", 32, 8, gen_norm_near_eps},
    /* (0.5; last, so that the families above keep their random streams) */
    {"probe unlike the row, n <= 128", 24, 8, gen_probe_miss_short},
};
#define N_FAM (sizeof(families) / sizeof(families[0]))

/* The worst old-measure y error over the contract's tiers. */
static double worst_old(const entry *e)
{
    double w = 0.0;
    for (int t = 0; t < NORM_TIER_COUNT; t++)
        if (g_have[t] && !(e->worst_old[t] <= w))
            w = e->worst_old[t];
    return w;
}

static void print_table(void)
{
    printf("\nworst error in FLT_EPSILON (y / mean / rstd); contract <= %.0f, y relative to "
           "max(1, |y|, |w|*max(1, |xhat|)); old y: relative to max(1, |y|), not under contract; "
           "'-' = tier not on this CPU\n",
           CONTRACT_EPS);
    printf("%-26s %9s", "family", "outputs");
    for (int t = 0; t < NORM_TIER_COUNT; t++)
        printf(" %20s", col_name(t));
    printf(" %9s %12s\n", "old y", col_name(NAIVE));
    for (int i = 0; i < g_ntab; i++) {
        entry *e = &g_tab[i];
        printf("%-26s %9zu", e->name, e->outputs);
        for (int t = 0; t < NCOL; t++) {
            char cell[64];
            if (t == NAIVE)
                printf(" %9.3g", worst_old(e));
            if (!g_have[t])
                snprintf(cell, sizeof(cell), "-");
            else if (t == NAIVE)
                snprintf(cell, sizeof(cell), "%.3g", e->worst_y[t]);
            else if (OP_IS_LN(e->op) || e->op == OP_GN)
                snprintf(cell, sizeof(cell), "%.2f / %.2f / %.2f", e->worst_y[t],
                         e->worst_mean[t], e->worst_rstd[t]);
            else
                snprintf(cell, sizeof(cell), "%.2f / - / %.2f", e->worst_y[t], e->worst_rstd[t]);
            printf(t == NAIVE ? " %12s" : " %20s", cell);
        }
        printf("\n");
    }
}

int main(int argc, char **argv)
{
    int quick = quick_from_env();
    unsigned long long seed = 20240521;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
        else if (strncmp(argv[i], "--seed=", 7) == 0)
            seed = strtoull(argv[i] + 7, NULL, 0);
        else if (strcmp(argv[i], "--verbose") == 0)
            g_verbose = 1;
        else {
            fprintf(stderr, "usage: test_accuracy [--quick] [--seed=N] [--verbose]\n");
            return 2;
        }
    }
    rng_seed(seed);
    int ntiers = 0;
    for (int t = 0; t < NORM_TIER_COUNT; t++) {
        g_have[t] = norm_dsp_init(&g_dsp[t], t) == 0;
        ntiers += g_have[t];
    }
    g_dsp[NAIVE].layernorm_f32 = naive_layernorm;
    g_dsp[NAIVE].rmsnorm_f32 = naive_rmsnorm;
    g_have[NAIVE] = 1;
    if (!g_have[NORM_TIER_SCALAR]) {
        fprintf(stderr, "test_accuracy: the scalar tier is missing\n");
        return 1;
    }
    printf("test_accuracy: seed %llu, %s, tiers:", seed, quick ? "quick" : "full");
    for (int t = 0; t < NORM_TIER_COUNT; t++)
        if (g_have[t])
            printf(" %s", norm_tier_name(t));
    printf("\n");

    for (size_t f = 0; f < N_FAM; f++) {
        int e_ln = new_entry(families[f].name, OP_LN);
        int e_rms = new_entry(families[f].name, OP_RMS);
        int e_l2 = new_entry(families[f].name, OP_L2);
        int e_gn = new_entry(families[f].name, OP_GN);
        int e_ln1 = new_entry(families[f].name, OP_LN1);
        int e_rms1 = new_entry(families[f].name, OP_RMS1);
        int e_addln = new_entry(families[f].name, OP_ADDLN);
        int e_addrms = new_entry(families[f].name, OP_ADDRMS);
        int cases = quick ? families[f].quick_cases : families[f].cases;
        for (int k = 0; k < cases; k++) {
            data d;
            families[f].gen(&d, k);
            run_op(e_ln, d.x, d.w, d.b, d.rows, d.n, d.eps);
            run_op(e_rms, d.x, d.w, NULL, d.rows, d.n, d.eps);
            run_op(e_l2, d.x, NULL, NULL, d.rows, d.n, d.eps);
            run_op(e_gn, d.x, d.w, d.b, d.rows, d.n, d.eps);
            run_op(e_ln1, d.x, d.w, d.b, d.rows, d.n, d.eps);
            run_op(e_rms1, d.x, d.w, NULL, d.rows, d.n, d.eps);
            run_op(e_addln, d.x, d.w, d.b, d.rows, d.n, d.eps);
            run_op(e_addrms, d.x, d.w, NULL, d.rows, d.n, d.eps);
            data_free(&d);
        }
    }

    print_table();
    int fails = 0;
    for (int i = 0; i < g_ntab; i++) {
        entry *e = &g_tab[i];
        for (int t = 0; t < NORM_TIER_COUNT; t++) {
            if (!g_have[t])
                continue;
            int bad_y = !(e->worst_y[t] <= CONTRACT_EPS);
            int bad_s = !(e->worst_mean[t] <= CONTRACT_EPS && e->worst_rstd[t] <= CONTRACT_EPS);
            if (bad_y || bad_s)
                fails++;
            if (bad_y || g_verbose)
                printf("%s %s %s: worst y %.3g FLT_EPSILON at %s\n", bad_y ? "FAIL" : "info",
                       e->name, norm_tier_name(t), e->worst_y[t], e->where[t]);
            if (bad_s)
                printf("FAIL %s %s: statistic out of contract at %s\n", e->name,
                       norm_tier_name(t), e->where_s[t]);
            /* the tiers are bit-identical, so their worst errors are the same numbers */
            int s = NORM_TIER_SCALAR;
            if (e->worst_y[t] != e->worst_y[s] || e->worst_mean[t] != e->worst_mean[s] ||
                e->worst_rstd[t] != e->worst_rstd[s] || e->worst_old[t] != e->worst_old[s]) {
                printf("FAIL %s: %s's worst errors (y %.17g, mean %.17g, rstd %.17g, old y "
                       "%.17g) differ from scalar's (%.17g, %.17g, %.17g, %.17g)\n",
                       e->name, norm_tier_name(t), e->worst_y[t], e->worst_mean[t],
                       e->worst_rstd[t], e->worst_old[t], e->worst_y[s], e->worst_mean[s],
                       e->worst_rstd[s], e->worst_old[s]);
                fails++;
            }
        }
        if (g_verbose)
            printf("info %s: worst old-measure y %.3g FLT_EPSILON at %s\n", e->name,
                   worst_old(e), e->where_old);
    }
    /* teeth: the naive kernels must fail where float32 arithmetic is known to fail */
    static const char *const must_break[] = {"mean 1e4 +- 1e-2 LN", "mean -3e5 +- 1 LN",
                                             "huge ~3e19 LN", "huge ~3e19 RMS",
                                             "tiny 1e-20 eps0 RMS", "weight ~1e3 LN",
                                             "weight ~1e3 RMS"};
    for (size_t k = 0; k < sizeof(must_break) / sizeof(must_break[0]); k++) {
        for (int i = 0; i < g_ntab; i++) {
            if (strcmp(g_tab[i].name, must_break[k]) == 0 &&
                !(g_tab[i].worst_y[NAIVE] > CONTRACT_EPS)) {
                printf("FAIL self-check: the naive float32 kernel stays within the contract on "
                       "'%s' (%.3g): the oracle or the error measure is broken\n",
                       must_break[k], g_tab[i].worst_y[NAIVE]);
                fails++;
            }
        }
    }
    if (fails) {
        printf("test_accuracy: %d failures (family x tier cells out of contract or unlike "
               "scalar's, self-checks)\n",
               fails);
        return 1;
    }
    printf("test_accuracy: all %d families x %d tiers within %.0f FLT_EPSILON\n", g_ntab, ntiers,
           CONTRACT_EPS);
    return 0;
}
