/*
 * Gated RMSNorm (libnorm_gated_rmsnorm_f32_ex) against an exact MPFR oracle, every tier this CPU
 * has, and the gate's exp on its own.
 *
 * The exact result of a group of n elements, from the float inputs at ORACLE_PREC bits (rounded
 * to double at the end): e = exp(-z), sigmoid = 1/(1 + e), silu = z/(1 + e) (exact, not the
 * float formula); AFTER: v = x, BEFORE: v = x * silu(z) (exact); S = sum v^2,
 * r = 1/sqrt(S/n + eps), y = v * r * wf (* g for AFTER), wf the defined weight factor (w, or the
 * float 1.0f + w with (1 + w)). The error of each output: |y - y_exact| / max(1, |y_exact|) in
 * FLT_EPSILON (the measure; the weights here are 0.5..1.5), within CONTRACT_EPS = 8; rstd
 * within 8 FLT_EPSILON of the exact r (relative). Every tier must give the same numbers as the
 * scalar tier (they are bit-identical). z is finite here (its +-Inf and NaN edges are tested in
 * test_api and checkasm); |z| up to 120 reaches the exp's over- and underflow.
 *
 * The exp: norm_gate_expf (the scalar tier's port; every tier's exp gives its bits,
 * tests/test_gate_exp.c) against MPFR's exp, in ulps of the exact value (SLEEF's u10 promise: at
 * most 1.0 ulp) and in FLT_EPSILON relative, on every 397th float of [-103.9, 88.7] (--quick: 9973rd) (the inputs
 * whose exp is neither 0 nor Inf in float), and exact +0 / +Inf past them.
 *
 *   test_accuracy_gated [--quick] [--seed=N] [--verbose: where each worst case is]
 *   (LIBNORM_TEST_QUICK=1 = --quick)
 */
#include <math.h>
#include <mpfr.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libnorm.h"
#include "norm_internal.h"
#include "oracle.h"

#define MAX_ROWS 4

static norm_dsp g_dsp[NORM_TIER_COUNT];
static int g_have[NORM_TIER_COUNT];
static const char *const gate_names[3] = {"silu after", "silu before", "sigmoid after"};

typedef struct fam {
    const char *name;
    double worst_y[3][NORM_TIER_COUNT], worst_r[3][NORM_TIER_COUNT];
    char where[3][NORM_TIER_COUNT][160];
    size_t outputs;
} fam;
static fam g_fam[16];
static int g_nfam;

static mpfr_t o_s, o_t, o_u, o_r, o_e, o_g;

/* g = the exact gate of z (silu or sigmoid) into o_g. */
static void exact_gate(float z, int sig)
{
    mpfr_set_flt(o_t, z, MPFR_RNDN);
    mpfr_neg(o_e, o_t, MPFR_RNDN);
    mpfr_exp(o_e, o_e, MPFR_RNDN);
    mpfr_add_ui(o_e, o_e, 1, MPFR_RNDN);
    if (sig)
        mpfr_ui_div(o_g, 1, o_e, MPFR_RNDN);
    else
        mpfr_div(o_g, o_t, o_e, MPFR_RNDN);
}

/* y_exact of one group and its exact r. */
static void oracle_gated(const float *x, const float *z, const float *wf, size_t n, float eps,
                         int gate, double *ye, double *r_exact, float *r_exact_f)
{
    mpfr_set_zero(o_s, 1);
    for (size_t i = 0; i < n; i++) {
        mpfr_set_flt(o_u, x[i], MPFR_RNDN);
        if (gate == LIBNORM_GATE_SILU_BEFORE) {
            exact_gate(z[i], 0);
            mpfr_mul(o_u, o_u, o_g, MPFR_RNDN);
        }
        mpfr_sqr(o_u, o_u, MPFR_RNDN);
        mpfr_add(o_s, o_s, o_u, MPFR_RNDN);
    }
    mpfr_div_ui(o_s, o_s, (unsigned long)n, MPFR_RNDN);
    mpfr_set_flt(o_t, eps, MPFR_RNDN);
    mpfr_add(o_s, o_s, o_t, MPFR_RNDN);
    mpfr_rec_sqrt(o_r, o_s, MPFR_RNDN);
    *r_exact = mpfr_get_d(o_r, MPFR_RNDN);
    *r_exact_f = mpfr_get_flt(o_r, MPFR_RNDN);
    for (size_t i = 0; i < n; i++) {
        exact_gate(z[i], gate == LIBNORM_GATE_SIGMOID_AFTER);
        mpfr_set_flt(o_u, x[i], MPFR_RNDN);
        mpfr_mul(o_u, o_u, o_g, MPFR_RNDN); /* x * g: v * g (AFTER) or u (BEFORE) */
        mpfr_mul(o_u, o_u, o_r, MPFR_RNDN);
        if (wf) {
            mpfr_set_flt(o_t, wf[i], MPFR_RNDN);
            mpfr_mul(o_u, o_u, o_t, MPFR_RNDN);
        }
        ye[i] = mpfr_get_d(o_u, MPFR_RNDN);
    }
}

/* rows of dim through every tier, groups of G, the gate; wmode 0 none, 1 w, 2 (1 + w). */
static void run(int fi, const float *x, const float *z, const float *w, size_t rows, size_t dim,
                size_t G, int gate, int wmode, float eps)
{
    fam *f = &g_fam[fi];
    const size_t tot = rows * dim, ng = dim / G;
    double *ye = test_xmalloc(tot * sizeof(double));
    double re[MAX_ROWS * 64];
    float ref[MAX_ROWS * 64], rstd[MAX_ROWS * 64];
    float *y = test_xmalloc(tot * sizeof(float)), *wf = test_xmalloc(dim * sizeof(float));
    for (size_t i = 0; i < dim && wmode; i++)
        wf[i] = wmode == 2 ? 1.0f + w[i] : w[i];
    for (size_t r = 0; r < rows; r++)
        for (size_t g = 0; g < ng; g++)
            oracle_gated(x + r * dim + g * G, z + r * dim + g * G, wmode ? wf + g * G : NULL, G,
                         eps, gate, ye + r * dim + g * G, &re[r * ng + g], &ref[r * ng + g]);
    f->outputs += tot;
    for (int t = 0; t < NORM_TIER_COUNT; t++) {
        if (!g_have[t])
            continue;
        libnorm_opts o = LIBNORM_OPTS_INIT;
        o.rstd = rstd;
        o.flags = wmode == 2 ? 1u : 0u;
        for (size_t i = 0; i < tot; i++)
            y[i] = -12345.0f;
        if (norm_gated_call(&g_dsp[t], y, x, z, wmode ? w : NULL, rows, dim, G, gate, eps, &o,
                            NULL) != 0) {
            test_fail("%s: the call failed", f->name);
            continue;
        }
        for (size_t i = 0; i < tot; i++) {
            double e = err_eps(y[i], ye[i], scale_y(ye[i]));
            if (e > f->worst_y[gate][t]) {
                f->worst_y[gate][t] = e;
                snprintf(f->where[gate][t], sizeof f->where[gate][t],
                         "dim %zu G %zu elem %zu: x %.9g z %.9g y %.9g exact %.17g", dim, G, i,
                         x[i], z[i], y[i], ye[i]);
            }
        }
        for (size_t k = 0; k < rows * ng; k++) {
            double e = stat_err_eps(rstd[k], re[k], ref[k], 0.0);
            if (e > f->worst_r[gate][t])
                f->worst_r[gate][t] = e;
        }
    }
    free(ye);
    free(y);
    free(wf);
}

enum { K_RANDN, K_ODD, K_LARGEZ, K_SMALLZ, K_PLUS1, K_HUGE, K_TINY, K_OUTLIER, K_MIXMAG, K_COUNT };
static const char *const k_names[K_COUNT] = {
    "randn x, z ~ 3 N(0,1), dims 64..4096",
    "odd dims 1..1025, groups",
    "large |z| (10..120: e over/underflows)",
    "small |z| (1e-30..1e-3)",
    "(1 + w), w ~ 0.3 N(0,1)",
    "huge x ~3e19 (squares overflow float)",
    "tiny x 1e-20, eps = 0",
    "one outlier 1e10 in x",
    "mixed magnitudes 1e-30..1e30 in x",
};

static void gen(int k, float *x, float *z, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        x[i] = (float)rng_normal();
        z[i] = (float)(3.0 * rng_normal());
    }
    switch (k) {
    case K_LARGEZ:
        for (size_t i = 0; i < n; i++)
            z[i] = (float)((rng_uniform() < 0.5 ? -1 : 1) * (10.0 + 110.0 * rng_uniform()));
        break;
    case K_SMALLZ:
        for (size_t i = 0; i < n; i++)
            z[i] = (float)(rng_normal() * pow(10.0, -30.0 + 27.0 * rng_uniform()));
        break;
    case K_HUGE:
        for (size_t i = 0; i < n; i++)
            x[i] = (float)(3e19 * rng_normal());
        break;
    case K_TINY:
        for (size_t i = 0; i < n; i++)
            x[i] = (float)(1e-20 * rng_normal());
        break;
    case K_OUTLIER:
        x[rng_below(n)] = (float)(1e10 * rng_normal());
        break;
    case K_MIXMAG:
        for (size_t i = 0; i < n; i++)
            x[i] = (float)(rng_normal() * pow(10.0, -30.0 + 60.0 * rng_uniform()));
        break;
    default:
        break;
    }
}

/* The exp alone: worst ulps and FLT_EPSILON (relative) of norm_gate_expf against MPFR. */
static int check_exp(int quick, double *worst_ulp, double *worst_rel, size_t *count)
{
    int bad = 0;
    const uint32_t step = quick ? 9973 : 397;
    *worst_ulp = *worst_rel = 0.0;
    *count = 0;
    for (int sign = 0; sign < 2; sign++) {
        const float lim = sign ? -103.9f : 88.7f;
        uint32_t lb;
        memcpy(&lb, &lim, 4);
        lb &= 0x7fffffffu;
        for (uint32_t b = 0; b <= lb; b += step) {
            uint32_t bb = b | (sign ? 0x80000000u : 0u);
            float d;
            memcpy(&d, &bb, 4);
            float got = norm_gate_expf(d);
            mpfr_set_flt(o_t, d, MPFR_RNDN);
            mpfr_exp(o_e, o_t, MPFR_RNDN);
            double ex = mpfr_get_d(o_e, MPFR_RNDN);
            int ee;
            frexp(ex, &ee);
            double ulp = ldexp(1.0, (ee - 1 < -126 ? -126 : ee - 1) - 23);
            double eu = fabs((double)got - ex) / ulp;
            double er = fabs((double)got - ex) / ex / FLT_EPSILON;
            if (!(eu <= 1.0)) {
                if (bad++ < 5)
                    printf("  FAIL exp(%.9g) = %.9g, exact %.17g: %.3g ulp\n", d, got, ex, eu);
            }
            if (eu > *worst_ulp)
                *worst_ulp = eu;
            if (ex >= FLT_MIN && er > *worst_rel)
                *worst_rel = er;
            ++*count;
        }
    }
    /* past the range: exact +0 and +Inf */
    static const float past[] = {-104.5f, -1e30f, -FLT_MAX, 100.5f, 1e30f, FLT_MAX};
    for (size_t i = 0; i < sizeof past / sizeof past[0]; i++) {
        float got = norm_gate_expf(past[i]);
        if (past[i] < 0 ? !(got == 0.0f && !signbit(got)) : !(isinf(got) && got > 0)) {
            printf("  FAIL exp(%g) = %g\n", past[i], got);
            bad++;
        }
    }
    return bad;
}

int main(int argc, char **argv)
{
    int quick = quick_from_env(), verbose = 0;
    uint64_t seed = 20261205;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
        else if (strncmp(argv[i], "--seed=", 7) == 0)
            seed = strtoull(argv[i] + 7, NULL, 0);
        else if (strcmp(argv[i], "--verbose") == 0)
            verbose = 1;
        else {
            fprintf(stderr, "usage: test_accuracy_gated [--quick] [--seed=N] [--verbose]\n");
            return 2;
        }
    }
    rng_seed(seed);
    mpfr_inits2(ORACLE_PREC, o_s, o_t, o_u, o_r, o_e, o_g, (mpfr_ptr)0);
    for (int t = 0; t < NORM_TIER_COUNT; t++)
        g_have[t] = norm_dsp_init(&g_dsp[t], t) == 0;
    const size_t maxn = 4096;
    float *x = test_xmalloc(MAX_ROWS * maxn * sizeof(float));
    float *z = test_xmalloc(MAX_ROWS * maxn * sizeof(float));
    float *w = test_xmalloc(maxn * sizeof(float));
    const int reps = quick ? 2 : 6;
    for (int k = 0; k < K_COUNT; k++) {
        fam *f = &g_fam[g_nfam++];
        memset(f, 0, sizeof *f);
        f->name = k_names[k];
        for (int rep = 0; rep < (k == K_ODD ? 12 : reps); rep++)
            for (int gate = 0; gate < 3; gate++) {
                size_t n = k == K_ODD ? 1 + rng_below(1025) : 64 + rng_below(maxn - 64 + 1);
                if (quick && n > 1024)
                    n = 1024;
                /* a group size: the row, or a divisor up to 64 groups */
                size_t G = n;
                for (int tries = 0; tries < 8 && rep % 2; tries++) {
                    size_t c = 1 + rng_below(n);
                    if (n % c == 0 && n / c <= 64) {
                        G = c;
                        break;
                    }
                }
                size_t rows = 1 + rng_below(MAX_ROWS);
                for (size_t r = 0; r < rows; r++)
                    gen(k, x + r * n, z + r * n, n);
                int wmode = k == K_PLUS1 ? 2 : (int)rng_below(2);
                for (size_t i = 0; i < n; i++)
                    w[i] = (float)(k == K_PLUS1 ? 0.3 * rng_normal() : 0.5 + rng_uniform());
                float eps = k == K_TINY ? 0.0f : rep % 3 == 0 ? 1e-6f : 1e-5f;
                run(g_nfam - 1, x, z, w, rows, n, G, gate, wmode, eps);
            }
    }
    printf("Gated RMSNorm against MPFR (%d bits); worst error in FLT_EPSILON relative to "
           "max(1, |y_exact|), y / rstd\n",
           ORACLE_PREC);
    printf("  %-40s %-14s", "family", "gate");
    for (int t = 0; t < NORM_TIER_COUNT; t++)
        if (g_have[t])
            printf(" %15s", norm_tier_name(t));
    printf("\n");
    int bad = 0, differ = 0;
    for (int fi = 0; fi < g_nfam; fi++) {
        fam *f = &g_fam[fi];
        for (int gate = 0; gate < 3; gate++) {
            printf("  %-40s %-14s", gate ? "" : f->name, gate_names[gate]);
            for (int t = 0; t < NORM_TIER_COUNT; t++) {
                if (!g_have[t])
                    continue;
                printf("   %5.3g / %5.3g", f->worst_y[gate][t], f->worst_r[gate][t]);
                if (!(f->worst_y[gate][t] <= CONTRACT_EPS && f->worst_r[gate][t] <= CONTRACT_EPS))
                    bad = 1;
                if (f->worst_y[gate][t] != f->worst_y[gate][0] ||
                    f->worst_r[gate][t] != f->worst_r[gate][0])
                    differ = 1;
            }
            printf("\n");
        }
    }
    for (int fi = 0; fi < g_nfam && verbose; fi++)
        for (int gate = 0; gate < 3; gate++)
            if (g_fam[fi].worst_y[gate][0] > 0)
                printf("  worst %s / %s: %s\n", g_fam[fi].name, gate_names[gate],
                       g_fam[fi].where[gate][0]);
    double wu, wr;
    size_t cnt;
    int ebad = check_exp(quick, &wu, &wr, &cnt);
    printf("gate exp (SLEEF u10 algorithm, every tier's bits): %zu inputs in [-103.9, 88.7], "
           "worst %.3f ulp, %.3f FLT_EPSILON relative (normal results); 0 and Inf past them: "
           "%s\n",
           cnt, wu, wr, ebad ? "FAIL" : "ok");
    free(x);
    free(z);
    free(w);
    mpfr_clears(o_s, o_t, o_u, o_r, o_e, o_g, (mpfr_ptr)0);
    mpfr_free_cache();
    if (bad)
        printf("FAIL: an error above the contract (%g FLT_EPSILON)\n", CONTRACT_EPS);
    if (differ)
        printf("FAIL: a tier's numbers differ from the scalar tier's\n");
    if (test_fails)
        printf("FAIL: %ld failures\n", test_fails);
    return bad || differ || ebad || test_fails ? 1 : 0;
}
