/*
 * RMSNorm backward (libnorm_rmsnorm_back_f32_ex, ggml's GGML_OP_RMS_NORM_BACK) against an exact
 * MPFR oracle, every tier this CPU has. The exact result of a row is
 *     S = sum x^2 + eps*n, r = 1/sqrt(sum x^2 / n + eps), c = -sum x*dz / S,
 *     dx = (dz + x*c) * r
 * (all at ORACLE_PREC bits from the float inputs, rounded to double at the end). The contract
 * (include/libnorm.h) for every element:
 *     |dx - dx_exact| <= 8·FLT_EPSILON·D,
 *     D = max(|dx_exact|, |dz|·r, |x|·r·(A + n·FLT_MIN)/S, max(1, r)·FLT_MIN),  A = sum |x*dz|
 * dx is linear in dz, so D has no absolute floor of 1 (gradients are often 1e-6 and smaller);
 * the |x|·r·A/S term is the conditioning of sum x*dz (the float leaves x*dz are rounded and the
 * sum may cancel: then dx's x*c part is only known to FLT_EPSILON of A, not of sum x*dz);
 * n·FLT_MIN and max(1, r)·FLT_MIN cover leaves, intermediates and results in the subnormal
 * range, whose rounding is absolute. An exact dx beyond float range must come out as the Inf
 * of its sign. rstd must be within 8 FLT_EPSILON of the exact r (it is RMSNorm's rstd).
 * The table: worst dx and rstd error per family and tier in FLT_EPSILON; every tier must have the
 * same numbers (they are bit-identical). The "ggml f32" column is ggml's own CPU code for the op
 * (float products summed in double, then mean_eps, sum_eps, rrms and c in float, dz + x*c and the
 * scaling unfused), under the same measure: it is not under contract, it shows that the measure
 * tells a float formula from ours (ggml's huge rows overflow in float).
 *
 *   test_accuracy_back [--quick] [--seed=N]     (LIBNORM_TEST_QUICK=1 = --quick)
 */
#include <math.h>
#include <mpfr.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "norm_internal.h"
#include "oracle.h"

#define NCOL (NORM_TIER_COUNT + 1)
#define GGML NORM_TIER_COUNT
#define MAX_ROWS 16

static norm_dsp g_dsp[NORM_TIER_COUNT];
static int g_have[NCOL];

typedef struct fam {
    const char *name;
    double worst_dx[NCOL], worst_rstd[NCOL];
    char where[NCOL][240];
    size_t outputs;
} fam;

static fam g_fam[32];
static int g_nfam;

/* ---- the exact oracle ---- */
static mpfr_t o_sxx, o_sxdz, o_a, o_t, o_u, o_s, o_r, o_c, o_dx;

static void oracle_init(void)
{
    mpfr_inits2(ORACLE_PREC, o_sxx, o_sxdz, o_a, o_t, o_u, o_s, o_r, o_c, o_dx, (mpfr_ptr)0);
}

/* dx_exact[i], D[i] and the exact r of one row. */
static void oracle_back(const float *x, const float *dz, size_t n, float eps, double *dxe,
                        double *den, double *r_exact, float *r_exact_f)
{
    mpfr_set_zero(o_sxx, 1);
    mpfr_set_zero(o_sxdz, 1);
    mpfr_set_zero(o_a, 1);
    for (size_t i = 0; i < n; i++) {
        mpfr_set_flt(o_t, x[i], MPFR_RNDN);
        mpfr_set_flt(o_u, dz[i], MPFR_RNDN);
        mpfr_mul(o_u, o_t, o_u, MPFR_RNDN); /* exact: 48 bits */
        mpfr_add(o_sxdz, o_sxdz, o_u, MPFR_RNDN);
        mpfr_abs(o_u, o_u, MPFR_RNDN);
        mpfr_add(o_a, o_a, o_u, MPFR_RNDN);
        mpfr_sqr(o_t, o_t, MPFR_RNDN);
        mpfr_add(o_sxx, o_sxx, o_t, MPFR_RNDN);
    }
    mpfr_set_flt(o_t, eps, MPFR_RNDN);
    mpfr_mul_ui(o_t, o_t, (unsigned long)n, MPFR_RNDN);
    mpfr_add(o_s, o_sxx, o_t, MPFR_RNDN);          /* S = sxx + eps*n */
    mpfr_div_ui(o_t, o_s, (unsigned long)n, MPFR_RNDN);
    mpfr_rec_sqrt(o_r, o_t, MPFR_RNDN);            /* r = 1/sqrt(S/n) */
    mpfr_div(o_c, o_sxdz, o_s, MPFR_RNDN);
    mpfr_neg(o_c, o_c, MPFR_RNDN);                 /* c = -sxdz/S */
    *r_exact = mpfr_get_d(o_r, MPFR_RNDN);
    *r_exact_f = mpfr_get_flt(o_r, MPFR_RNDN);
    /* (A + n*FLT_MIN) / S */
    mpfr_set_d(o_t, FLT_MIN, MPFR_RNDN);
    mpfr_mul_ui(o_t, o_t, (unsigned long)n, MPFR_RNDN);
    mpfr_add(o_t, o_t, o_a, MPFR_RNDN);
    mpfr_div(o_t, o_t, o_s, MPFR_RNDN);
    double acond = mpfr_get_d(o_t, MPFR_RNDN), r = *r_exact;
    for (size_t i = 0; i < n; i++) {
        mpfr_set_flt(o_t, x[i], MPFR_RNDN);
        mpfr_mul(o_t, o_t, o_c, MPFR_RNDN);
        mpfr_set_flt(o_u, dz[i], MPFR_RNDN);
        mpfr_add(o_dx, o_t, o_u, MPFR_RNDN);
        mpfr_mul(o_dx, o_dx, o_r, MPFR_RNDN);
        dxe[i] = mpfr_get_d(o_dx, MPFR_RNDN);
        double d = fabs(dxe[i]);
        d = fmax(d, fabs((double)dz[i]) * r);
        d = fmax(d, fabs((double)x[i]) * r * acond);
        d = fmax(d, fmax(r, 1.0) * FLT_MIN);
        den[i] = d;
    }
}

/* ggml's ggml_compute_forward_rms_norm_back_f32 (ggml 0.23.0, ops.cpp), one row, as written
 * there (ggml_float is double). */
static void ggml_back_row(float *dx, const float *dz, const float *x, size_t n, float eps,
                          float *rstd)
{
    double sum_xx = 0.0, sum_xdz = 0.0;
    for (size_t i = 0; i < n; i++) {
        sum_xx += (double)(x[i] * x[i]);
        sum_xdz += (double)(x[i] * dz[i]);
    }
    const float mean_eps = (float)(sum_xx) / (float)n + eps;
    const float sum_eps = (float)(sum_xx) + eps * (float)n;
    const float rrms = 1.0f / sqrtf(mean_eps);
    const float scale_x = (float)(-sum_xdz) / sum_eps;
    for (size_t i = 0; i < n; i++)
        dx[i] = (dz[i] + x[i] * scale_x) * rrms;
    *rstd = rrms;
}

/* ---- one batch of rows through every column ---- */
static void run(int fi, const float *x, const float *dz, size_t rows, size_t n, float eps)
{
    fam *f = &g_fam[fi];
    size_t tot = rows * n;
    double *dxe = test_xmalloc(tot * sizeof(double)), *den = test_xmalloc(tot * sizeof(double));
    float *dx = test_xmalloc(tot * sizeof(float));
    double re[MAX_ROWS];
    float ref[MAX_ROWS], rstd[MAX_ROWS];
    for (size_t r = 0; r < rows; r++)
        oracle_back(x + r * n, dz + r * n, n, eps, dxe + r * n, den + r * n, &re[r], &ref[r]);
    f->outputs += tot;
    for (int t = 0; t < NCOL; t++) {
        if (!g_have[t])
            continue;
        for (size_t i = 0; i < tot; i++)
            dx[i] = -12345.0f;
        if (t == GGML) {
            for (size_t r = 0; r < rows; r++)
                ggml_back_row(dx + r * n, dz + r * n, x + r * n, n, eps, &rstd[r]);
        } else {
            norm_job j = {dx, x, NULL, NULL, rows, n, n, n, eps, NULL, rstd, NULL, NORM_KIND_RMS, dz, 0, 0};
            g_dsp[t].rmsnorm_back_f32(&j);
        }
        for (size_t r = 0; r < rows; r++) {
            for (size_t i = 0; i < n; i++) {
                size_t k = r * n + i;
                /* an exact dx that rounds past FLT_MAX: the Inf of its sign, exactly */
                double e = isinf((float)dxe[k]) ? (dx[k] == (float)dxe[k] ? 0.0 : INFINITY)
                                                : err_eps(dx[k], dxe[k], den[k]);
                if (!(e <= f->worst_dx[t])) {
                    f->worst_dx[t] = e;
                    snprintf(f->where[t], sizeof f->where[t],
                             "dim %zu eps %g row %zu i %zu: x %.9g dz %.9g -> dx %.9g, exact "
                             "%.17g, D %.3g",
                             n, (double)eps, r, i, (double)x[k], (double)dz[k], (double)dx[k],
                             dxe[k], den[k]);
                }
            }
            double er = stat_err_eps(rstd[r], re[r], ref[r], 0.0);
            if (!(er <= f->worst_rstd[t]))
                f->worst_rstd[t] = er;
        }
    }
    free(dxe);
    free(den);
    free(dx);
}

/* ---- families ---- */
enum {
    K_RANDN, K_ODD, K_OFFSET, K_PARALLEL, K_ORTHO, K_GRAD_SMALL, K_GRAD_TINY, K_GRAD_SUBN,
    K_GRAD_HUGE, K_HUGE_X, K_MAX_X, K_TINY_X, K_SUBN_X, K_NEAR_RARE, K_EPS, K_OUTLIER, K_MIXMAG,
    K_ZERO_X, K_SMALL_C, K_COUNT
};
static const char *const k_names[K_COUNT] = {
    "randn x, randn dz, dims 64..5000", "odd dims 1..4097", "x mean 1e4 +- 1",
    "dz = k*x + 1e-3 noise (dx cancels)", "dz orthogonal to x (sum x*dz cancels)",
    "gradients ~1e-8", "gradients ~1e-30", "subnormal gradients ~1e-42",
    "gradients ~1e30", "huge x ~3e19 (squares overflow float)", "x up to FLT_MAX/2",
    "tiny x 1e-20, eps = 0", "subnormal x 1e-41, eps = 0", "x near the rare-path threshold",
    "mean square small against eps", "one outlier 1e10 in x", "mixed magnitudes 1e-30..1e30",
    "all-zero x, eps > 0", "x ~1e17, dz ~1e-25 (c below FLT_MIN)"};

static const size_t odd_dims[] = {1,  3,   7,   15,  17,  31,   33,   63,
                                  65, 127, 129, 511, 513, 1000, 4095, 4097};

static void gen(int k, float *x, float *dz, size_t n, float *eps)
{
    double gs = pow(10.0, rng_uniform() * 6 - 3); /* gradient scale */
    for (size_t i = 0; i < n; i++) {
        x[i] = (float)rng_normal();
        dz[i] = (float)(gs * rng_normal());
    }
    switch (k) {
    case K_OFFSET:
        for (size_t i = 0; i < n; i++)
            x[i] = (float)(1e4 + rng_normal());
        break;
    case K_PARALLEL: {
        double kk = rng_normal() * gs;
        for (size_t i = 0; i < n; i++)
            dz[i] = (float)(kk * x[i] + 1e-3 * gs * rng_normal());
        break;
    }
    case K_ORTHO: {
        /* dz minus its projection on x, in double, then rounded */
        double sxx = 0, sxd = 0;
        for (size_t i = 0; i < n; i++)
            sxx += (double)x[i] * x[i], sxd += (double)x[i] * dz[i];
        for (size_t i = 0; i < n; i++)
            dz[i] = (float)(dz[i] - sxd / sxx * x[i]);
        break;
    }
    case K_GRAD_SMALL:
    case K_GRAD_TINY:
    case K_GRAD_SUBN:
    case K_GRAD_HUGE: {
        double s = k == K_GRAD_SMALL ? 1e-8 : k == K_GRAD_TINY ? 1e-30 : k == K_GRAD_SUBN ? 1e-42
                                                                                         : 1e30;
        for (size_t i = 0; i < n; i++)
            dz[i] = (float)(s * rng_normal());
        break;
    }
    case K_HUGE_X:
        for (size_t i = 0; i < n; i++)
            x[i] = (float)(3e19 * rng_normal());
        break;
    case K_MAX_X:
        for (size_t i = 0; i < n; i++)
            x[i] = (float)(1.7e38 * (rng_uniform() * 2 - 1));
        break;
    case K_TINY_X:
    case K_SUBN_X:
        for (size_t i = 0; i < n; i++)
            x[i] = (float)((k == K_TINY_X ? 1e-20 : 1e-41) * rng_normal());
        *eps = 0.0f;
        break;
    case K_NEAR_RARE: {
        double m = pow(2.0, -31 - 2 * rng_uniform()) / sqrt((double)n);
        for (size_t i = 0; i < n; i++)
            x[i] = (float)(m * rng_normal());
        break;
    }
    case K_EPS:
        for (size_t i = 0; i < n; i++)
            x[i] = (float)(1e-3 * rng_normal());
        *eps = (float)pow(10.0, -6 + 4 * rng_uniform());
        break;
    case K_OUTLIER:
        x[rng_below(n)] = (float)(1e10 * rng_normal());
        break;
    case K_MIXMAG:
        for (size_t i = 0; i < n; i++)
            x[i] = (float)(pow(10.0, rng_uniform() * 60 - 30) * rng_normal());
        break;
    case K_SMALL_C:
        for (size_t i = 0; i < n; i++) {
            x[i] = (float)(1e17 * rng_normal());
            dz[i] = (float)(1e-25 * rng_normal());
        }
        break;
    case K_ZERO_X:
        for (size_t i = 0; i < n; i++)
            x[i] = (rng_u64() & 1) ? 0.0f : -0.0f;
        if (*eps == 0.0f)
            *eps = 1e-5f;
        break;
    default:
        break;
    }
}

int main(int argc, char **argv)
{
    int quick = quick_from_env();
    uint64_t seed = 20261205;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
        else if (strncmp(argv[i], "--seed=", 7) == 0)
            seed = strtoull(argv[i] + 7, NULL, 0);
        else {
            fprintf(stderr, "usage: test_accuracy_back [--quick] [--seed=N]\n");
            return 2;
        }
    }
    rng_seed(seed);
    oracle_init();
    for (int t = 0; t < NORM_TIER_COUNT; t++)
        g_have[t] = norm_dsp_init(&g_dsp[t], t) == 0;
    g_have[GGML] = 1;
    static const float eps_set[3] = {1e-5f, 1e-6f, 0.0f};
    const int reps = quick ? 3 : 12;
    size_t maxn = 5000;
    float *x = test_xmalloc(MAX_ROWS * maxn * sizeof(float));
    float *dz = test_xmalloc(MAX_ROWS * maxn * sizeof(float));
    for (int k = 0; k < K_COUNT; k++) {
        fam *f = &g_fam[g_nfam++];
        memset(f, 0, sizeof *f);
        f->name = k_names[k];
        for (int rep = 0; rep < (k == K_ODD ? 16 : reps); rep++) {
            size_t n = k == K_ODD ? odd_dims[rep] : 64 + rng_below(maxn - 64 + 1);
            if (quick && n > 1200)
                n = 1200 - rep;
            size_t rows = 1 + rng_below(4);
            float eps = eps_set[rep % 3];
            for (size_t r = 0; r < rows; r++) {
                float e = eps;
                gen(k, x + r * n, dz + r * n, n, &e);
                eps = e; /* the families that need one eps set it for every row */
            }
            run(g_nfam - 1, x, dz, rows, n, eps);
        }
    }
    /* The table. */
    printf("RMSNorm backward against MPFR (%d bits); worst error in FLT_EPSILON, dx / rstd;\n"
           "dx relative to D = max(|dx|, |dz|*r, |x|*r*(sum|x*dz| + n*FLT_MIN)/S, max(1,r)*FLT_MIN)\n",
           ORACLE_PREC);
    printf("  %-42s", "family");
    for (int t = 0; t < NCOL; t++)
        if (g_have[t])
            printf(" %17s", t == GGML ? "ggml f32" : norm_tier_name(t));
    printf("\n");
    int bad = 0, differ = 0;
    double ggml_worst = 0.0;
    for (int fi = 0; fi < g_nfam; fi++) {
        fam *f = &g_fam[fi];
        printf("  %-42s", f->name);
        for (int t = 0; t < NCOL; t++) {
            if (!g_have[t])
                continue;
            printf("   %6.3g / %6.3g", f->worst_dx[t], f->worst_rstd[t]);
            if (t == GGML) {
                if (!(f->worst_dx[t] <= ggml_worst))
                    ggml_worst = f->worst_dx[t];
                continue;
            }
            if (!(f->worst_dx[t] <= CONTRACT_EPS) || !(f->worst_rstd[t] <= CONTRACT_EPS))
                bad = 1;
            if (f->worst_dx[t] != f->worst_dx[NORM_TIER_SCALAR] ||
                f->worst_rstd[t] != f->worst_rstd[NORM_TIER_SCALAR])
                differ = 1;
        }
        printf("\n");
        for (int t = 0; t < NORM_TIER_COUNT; t++)
            if (g_have[t] && !(f->worst_dx[t] <= CONTRACT_EPS))
                printf("    FAIL %s: %s\n", norm_tier_name(t), f->where[t]);
    }
    if (differ)
        printf("FAIL: the tiers' worst errors differ (they must be bit-identical)\n");
    /* The measure must be able to fail: ggml's float formula breaks it somewhere. */
    if (!(ggml_worst > CONTRACT_EPS)) {
        printf("FAIL: ggml's float formula stays within the contract everywhere (worst %.3g): "
               "the families no longer tell a float formula apart\n", ggml_worst);
        bad = 1;
    }
    printf("test_accuracy_back: %s\n", bad || differ ? "FAIL" : "PASS (contract: 8 FLT_EPSILON)");
    free(x);
    free(dz);
    return bad || differ ? 1 : 0;
}
