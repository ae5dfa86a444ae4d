/*
 * Accuracy of the bf16 / f16 ops against the exact MPFR oracle (tests/accuracy/oracle.c).
 *
 * For each family of rows (below) and each format, LayerNorm (weight and bias) and RMSNorm
 * (weight), with 16-bit weights (LIBNORM_WEIGHT_ACT_TYPE) or float ones: the rows are drawn in
 * float, rounded to the format, and the library's output y16 (every tier this CPU has) is
 * compared with the exact result on the WIDENED inputs (the oracle in 384 bits, rounded to a
 * double: v), and with cr = v rounded to the format (round to nearest even, from the double).
 * Measured: the share of outputs equal to cr, the number one ulp off it, and the worst distance
 * in ulps of the format. Asserted: at least 99% of each cell's outputs equal cr, and for every
 * output:
 *   - y16 == cr, or one ulp of the format off it (the 16-bit contract), OR
 *   - |y16 - v| <= 8 FLT_EPSILON * scale + ulp16(v) / 2: the f32 op's own contract (scale as in
 *     test_accuracy: max(1, |y|, |w| max(1, |x̂|))) plus the final rounding. This second branch
 *     is needed where the output is much smaller than the scale (y near 0 of a row of large
 *     normalized values, or a weight near 0): there a 16-bit ulp is finer than the float
 *     computation's allowed error; the table says how often it was used ("f32-bound").
 *   - Inf only where |v| rounds to Inf in the format; NaN never (finite rows, finite weights);
 *   - every tier gives the same bits (checkasm proves it more widely).
 * The families include outputs that overflow f16 (weights near 65504 / rows where |x̂| * w
 * passes 65520) and subnormal outputs.
 *
 *   test_accuracy_x16 [--quick]      (prints the README's table)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libnorm.h"
#include "norm_internal.h"
#include "norm_x16.h"
#include "oracle.h"

/* the grid spacing of the format at |v| (subnormals: the fixed smallest spacing) */
static double ulp16(double v, int fmt)
{
    int e;
    frexp(fabs(v), &e); /* |v| in [2^(e-1), 2^e) */
    e -= 1;
    if (fmt == NORM_X16_F16)
        return ldexp(1.0, (e < -14 ? -14 : e) - 10);
    return ldexp(1.0, (e < -126 ? -126 : e) - 7);
}

/* v rounded to the format, RNE, directly from the double (no double rounding through float) */
static double round16(double v, int fmt)
{
    if (v == 0.0 || !isfinite(v))
        return v;
    double u = ulp16(v, fmt);
    double r = nearbyint(v / u) * u; /* v / u is exact (u a power of two, no underflow) */
    double maxv = fmt == NORM_X16_F16 ? 65504.0 : 0x1.fep127; /* bf16: 0x7f7f */
    double lim = fmt == NORM_X16_F16 ? 65520.0 : 0x1.ffp127; /* max + half an ulp: a tie -> Inf */
    if (fabs(v) >= lim)
        return v > 0 ? INFINITY : -INFINITY;
    if (fabs(r) > maxv)
        return v > 0 ? INFINITY : -INFINITY;
    return r;
}

typedef struct fam {
    const char *name;
    double mu, sigma;   /* x ~ mu + sigma N(0,1) */
    double wmag;        /* |w| ~ wmag * (0.5 .. 1.5); the bias ~ wmag N(0,1) */
} fam;

static const fam fams[] = {
    {"randn", 0.0, 1.0, 1.0},
    {"mean 100 +- 1", 100.0, 1.0, 1.0},
    {"mean 1e4 +- 10 (bf16)", 1e4, 10.0, 1.0},
    {"wide 1e-3 .. 1e3", 0.0, 1.0, 1e3},
    {"weight ~ 2e4 (f16 overflow)", 0.0, 1.0, 2e4},
    {"weight ~ 1e-6 (f16 subnormal)", 0.0, 1.0, 1e-6},
    {"weight ~ 1e-38 (bf16 subnormal)", 0.0, 1.0, 1e-38},
    {"tiny rows 1e-6", 0.0, 1e-6, 1.0},
};
#define NFAM (sizeof fams / sizeof fams[0])

typedef struct acc {
    size_t n, cr, one, bound, inf;
    double worst;
} acc;

int main(int argc, char **argv)
{
    int quick = quick_from_env() || (argc > 1 && strcmp(argv[1], "--quick") == 0);
    norm_dsp tabs[NORM_TIER_COUNT];
    int have[NORM_TIER_COUNT];
    for (int t = 0; t < NORM_TIER_COUNT; t++)
        have[t] = norm_dsp_init(&tabs[t], t) == 0;
    static const size_t dims[] = {1, 2, 7, 16, 64, 100, 511, 513, 1000, 4096};
    const int rows_per = quick ? 2 : 8;
    printf("| family | format | op | outputs | correctly rounded | 1 ulp off (count) | f32-bound "
           "(count) | worst (ulps) |\n|---|---|---|---:|---:|---:|---:|---:|\n");
    for (size_t fi = 0; fi < NFAM; fi++)
        for (int fmt = 0; fmt < 2; fmt++)
            for (int op = 0; op < 2; op++) { /* NORM_OP_LN, NORM_OP_RMS */
                const fam *f = &fams[fi];
                if (fmt == NORM_X16_F16 && (f->wmag < 1e-30 || f->mu > 1e3))
                    continue; /* beyond f16's range: the bf16 families */
                if (fmt == NORM_X16_BF16 && f->wmag > 1e4)
                    continue;
                rng_seed(0x5eed0000u + fi * 4 + (size_t)fmt * 2 + (size_t)op);
                acc a = {0};
                for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++) {
                    const size_t n = dims[di];
                    float *xf = test_xmalloc(n * sizeof(float)), *wf = test_xmalloc(n * 4);
                    float *bf = test_xmalloc(n * 4), *wfac = test_xmalloc(n * 4);
                    uint16_t *x = test_xmalloc(n * 2), *w16 = test_xmalloc(n * 2),
                             *b16 = test_xmalloc(n * 2), *y = test_xmalloc(n * 2),
                             *y0 = test_xmalloc(n * 2);
                    double *ye = test_xmalloc(n * sizeof(double)),
                           *sc = test_xmalloc(n * sizeof(double));
                    for (int r = 0; r < rows_per; r++) {
                        const int wact = r & 1, plus1 = (r & 2) && f->wmag == 1.0;
                        for (size_t i = 0; i < n; i++) {
                            x[i] = x16_narrow1((float)(f->mu + f->sigma * rng_normal()), fmt);
                            xf[i] = x16_widen1(x[i], fmt);
                            float wv = (float)(f->wmag * (0.5 + rng_uniform()) *
                                               ((rng_u64() & 1) ? 1 : -1));
                            float bv = (float)(f->wmag * rng_normal());
                            if (plus1)
                                wv = (float)(0.3 * rng_normal());
                            if (wact) {
                                w16[i] = x16_narrow1(wv, fmt);
                                b16[i] = x16_narrow1(bv, fmt);
                                wv = x16_widen1(w16[i], fmt);
                                bv = x16_widen1(b16[i], fmt);
                            }
                            wf[i] = wv;
                            bf[i] = bv;
                            wfac[i] = plus1 ? 1.0f + wv : wv;
                        }
                        oracle_stats st;
                        if (op == 0)
                            oracle_layernorm(xf, wfac, bf, n, 1e-5f, ye, sc, &st);
                        else
                            oracle_rmsnorm(xf, wfac, n, 1e-5f, ye, sc, &st);
                        libnorm_opts o = LIBNORM_OPTS_INIT;
                        o.flags = (wact ? LIBNORM_WEIGHT_ACT_TYPE : 0u) |
                                  (plus1 ? LIBNORM_WEIGHT_PLUS_ONE : 0u);
                        const void *wp = wact ? (const void *)w16 : (const void *)wf;
                        const void *bp = wact ? (const void *)b16 : (const void *)bf;
                        int first = 1;
                        for (int t = 0; t < NORM_TIER_COUNT; t++) {
                            if (!have[t])
                                continue;
                            int s = norm_x16_rows_call(&tabs[t], op == 0 ? NORM_OP_LN : NORM_OP_RMS,
                                                       fmt, y, x, wp, op == 0 ? bp : NULL, 1, n,
                                                       1e-5f, &o, NULL);
                            if (s != 0)
                                test_fail("%s: call failed (%d)", f->name, s);
                            if (first)
                                memcpy(y0, y, n * 2);
                            else if (memcmp(y0, y, n * 2) != 0)
                                test_fail("%s %s: tier %s differs from scalar", f->name,
                                          fmt ? "f16" : "bf16", norm_tier_name(t));
                            first = 0;
                        }
                        for (size_t i = 0; i < n; i++) {
                            double v = ye[i], cr = round16(v, fmt);
                            double got = (double)x16_widen1(y0[i], fmt);
                            a.n++;
                            if (isnan(got) || (isinf(got) && got != cr)) {
                                test_fail("%s %s %s n=%zu: y[%zu] = %g, exact %.9g", f->name,
                                          fmt ? "f16" : "bf16", op ? "RMS" : "LN", n, i, got, v);
                                continue;
                            }
                            if (isinf(cr) && got == cr) {
                                a.inf++;
                                a.cr++;
                                continue;
                            }
                            double uu = ulp16(fmin(fabs(got), fabs(cr)), fmt);
                            double d = isinf(cr) ? 1.0 : fabs(got - cr) / uu;
                            if (d > a.worst)
                                a.worst = d;
                            if (d == 0)
                                a.cr++;
                            else if (d <= 1.0)
                                a.one++;
                            else if (fabs(got - v) <= CONTRACT_EPS * FLT_EPSILON * sc[i] +
                                                          0.5 * ulp16(v, fmt))
                                a.bound++;
                            else
                                test_fail("%s %s %s n=%zu: y[%zu] = %.9g, exact %.9g (%.3g ulps, "
                                          "scale %.3g)", f->name, fmt ? "f16" : "bf16",
                                          op ? "RMS" : "LN", n, i, got, v, d, sc[i]);
                        }
                    }
                    free(xf);
                    free(wf);
                    free(bf);
                    free(wfac);
                    free(x);
                    free(w16);
                    free(b16);
                    free(y);
                    free(y0);
                    free(ye);
                    free(sc);
                }
                printf("| %s | %s | %s | %zu | %.2f%% | %zu | %zu | %.3g |%s\n", f->name,
                       fmt ? "f16" : "bf16", op ? "RMSNorm" : "LayerNorm", a.n,
                       100.0 * (double)a.cr / (double)a.n, a.one, a.bound, a.worst,
                       a.inf ? " (some outputs overflow to Inf, correctly)" : "");
                /* teeth: an output rounding that is not to nearest (truncation, say) stays within
                 * one ulp but leaves about half the outputs off; measured: >= 99.9% everywhere */
                if ((double)a.cr < 0.99 * (double)a.n)
                    test_fail("%s %s %s: only %.2f%% correctly rounded (< 99%%)", f->name,
                              fmt ? "f16" : "bf16", op ? "RMS" : "LN",
                              100.0 * (double)a.cr / (double)a.n);
            }
    if (test_fails) {
        printf("test_accuracy_x16: %ld failures\n", test_fails);
        return 1;
    }
    printf("test_accuracy_x16: every output correctly rounded, 1 ulp off, or within the f32 "
           "contract plus half an ulp\n");
    return 0;
}
