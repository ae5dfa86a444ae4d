/*
 * The header's edge semantics, on every tier this CPU supports (through the per-tier tables):
 *   - a constant row under LayerNorm gives exactly bias (0 without bias), also with eps = 0, and
 *     its rstd is +Inf with eps = 0;
 *   - an all-zero row under RMSNorm gives zeros, also with eps = 0;
 *   - dim = 1: LayerNorm gives bias, RMSNorm follows the formula (MPFR oracle, contract);
 *   - NaN or Inf anywhere in a row makes that row's whole output (and mean/rstd) NaN and leaves
 *     every other row bit-identical to that row computed alone;
 *   - finite input never produces Inf or NaN (huge, tiny, subnormal and mixed rows), and those
 *     outputs are within the accuracy contract too.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "norm_internal.h"
#include "oracle.h"

enum op { OP_LN, OP_RMS };
static const char *const op_name[2] = {"layernorm", "rmsnorm"};

static norm_dsp g_dsp[NORM_TIER_COUNT];
static int g_have[NORM_TIER_COUNT];
static long g_checks;

#define MAX_N 4097
#define ROWS 5

static void run(int tier, enum op op, float *y, const float *x, const float *w, const float *b,
                size_t rows, size_t n, float eps, float *mean, float *rstd)
{
    norm_job j = {y, x, w, op == OP_LN ? b : NULL, rows, n, n, n, eps,
                  op == OP_LN ? mean : NULL, rstd, NULL, NORM_KIND_RMS, NULL, 0, 0};
    if (op == OP_LN)
        g_dsp[tier].layernorm_f32(&j);
    else
        g_dsp[tier].rmsnorm_f32(&j);
}

static uint32_t bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof(u));
    return u;
}

static void random_wb(float *w, float *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        w[i] = (float)(4.0 * rng_uniform() - 2.0);
        b[i] = (float)(4.0 * rng_uniform() - 2.0);
    }
}

static const size_t dims[] = {1, 2, 3, 15, 16, 17, 100, 120, 511, 513, 4097};
#define N_DIMS (sizeof(dims) / sizeof(dims[0]))

/* ---- constant rows (LayerNorm), all-zero rows (RMSNorm) ---- */
static void test_constant(int t)
{
    static const float vals[] = {0.0f,    -0.0f,    1.0f,     -2.5f,   0.1f,    -3e5f,
                                 1e4f,    1e30f,    FLT_MAX,  -FLT_MAX, 1e-41f, -1e-41f,
                                 1e-20f,  FLT_MIN,  0x1p-149f, 3e19f};
    static const float epss[] = {0.0f, 1e-5f, 1e-6f};
    float *x = test_xmalloc(MAX_N * sizeof(float)), *y = test_xmalloc(MAX_N * sizeof(float));
    float *w = test_xmalloc(MAX_N * sizeof(float)), *b = test_xmalloc(MAX_N * sizeof(float));
    random_wb(w, b, MAX_N);
    for (size_t di = 0; di < N_DIMS; di++) {
        size_t n = dims[di];
        for (size_t vi = 0; vi < sizeof(vals) / sizeof(vals[0]); vi++) {
            for (size_t ei = 0; ei < 3; ei++) {
                float eps = epss[ei];
                for (int wb = 0; wb < 4; wb++) {
                    const float *wp = (wb & 1) ? w : NULL, *bp = (wb & 2) ? b : NULL;
                    for (size_t i = 0; i < n; i++)
                        x[i] = vals[vi];
                    float mean = -1.0f, rstd = -1.0f;
                    run(t, OP_LN, y, x, wp, bp, 1, n, eps, &mean, &rstd);
                    g_checks++;
                    for (size_t i = 0; i < n; i++) {
                        float want = bp ? bp[i] : 0.0f;
                        if (!(y[i] == want)) {
                            test_fail("%s layernorm constant row %.9g dim %zu eps %g w%s b%s: y[%zu] = "
                                 "%.9g, want exactly %.9g",
                                 norm_tier_name(t), (double)vals[vi], n, (double)eps,
                                 wp ? "" : "=NULL", bp ? "" : "=NULL", i, (double)y[i],
                                 (double)want);
                            break;
                        }
                    }
                    /* mean: the constant itself (contract); rstd: 1/sqrt(eps), +Inf for eps=0 */
                    double em = stat_err_eps(mean, (double)vals[vi], vals[vi], 0.0);
                    double re = eps > 0.0f ? 1.0 / sqrt((double)eps) : INFINITY;
                    double er = stat_err_eps(rstd, re, (float)re, 0.0);
                    if (!(em <= CONTRACT_EPS && er <= CONTRACT_EPS))
                        test_fail("%s layernorm constant row %.9g dim %zu eps %g: mean %.9g rstd %.9g "
                             "(want %.9g, %.9g)",
                             norm_tier_name(t), (double)vals[vi], n, (double)eps, (double)mean,
                             (double)rstd, (double)vals[vi], re);
                }
            }
        }
        /* all-zero rows under RMSNorm (with +0 and -0 mixed) */
        for (size_t ei = 0; ei < 3; ei++) {
            float eps = epss[ei];
            for (int wb = 0; wb < 2; wb++) {
                for (size_t i = 0; i < n; i++)
                    x[i] = (i % 3 == 1) ? -0.0f : 0.0f;
                float rstd = -1.0f;
                run(t, OP_RMS, y, x, wb ? w : NULL, NULL, 1, n, eps, NULL, &rstd);
                g_checks++;
                for (size_t i = 0; i < n; i++) {
                    if (!(y[i] == 0.0f)) {
                        test_fail("%s rmsnorm zero row dim %zu eps %g: y[%zu] = %.9g", norm_tier_name(t),
                             n, (double)eps, i, (double)y[i]);
                        break;
                    }
                }
                double re = eps > 0.0f ? 1.0 / sqrt((double)eps) : INFINITY;
                if (!(stat_err_eps(rstd, re, (float)re, 0.0) <= CONTRACT_EPS))
                    test_fail("%s rmsnorm zero row dim %zu eps %g: rstd %.9g, want %.9g",
                         norm_tier_name(t), n, (double)eps, (double)rstd, re);
            }
        }
    }
    free(x);
    free(y);
    free(w);
    free(b);
}

/* ---- dim = 1 ---- */
static void test_dim1(int t)
{
    static const float vals[] = {1.0f,    -1.0f,  3.7f,     -0.3f,     1e30f, 3e19f,
                                 FLT_MAX, -FLT_MAX, 1e-41f, 0x1p-149f, 1e-20f, -1e-3f,
                                 1e4f,    0.0f};
    static const float epss[] = {0.0f, 1e-5f, 1e-6f, 1.0f};
    static const float ws[] = {1.0f, 2.5f, -0.75f};
    for (size_t vi = 0; vi < sizeof(vals) / sizeof(vals[0]); vi++) {
        for (size_t ei = 0; ei < 4; ei++) {
            for (int wi = -1; wi < 3; wi++) {
                float x = vals[vi], eps = epss[ei], b = -1.25f, y = -7.0f, mean, rstd;
                const float *w = wi < 0 ? NULL : &ws[wi];
                /* LayerNorm: y = b */
                run(t, OP_LN, &y, &x, w, &b, 1, 1, eps, &mean, &rstd);
                g_checks++;
                if (!(y == b))
                    test_fail("%s layernorm dim 1 x %.9g eps %g: y %.9g, want bias %.9g",
                         norm_tier_name(t), (double)x, (double)eps, (double)y, (double)b);
                run(t, OP_LN, &y, &x, w, NULL, 1, 1, eps, &mean, &rstd);
                if (!(y == 0.0f))
                    test_fail("%s layernorm dim 1 x %.9g eps %g no bias: y %.9g, want 0",
                         norm_tier_name(t), (double)x, (double)eps, (double)y);
                /* RMSNorm: x * w / sqrt(x^2 + eps) against the oracle */
                double ye, sc;
                oracle_stats st;
                oracle_rmsnorm(&x, w, 1, eps, &ye, &sc, &st);
                run(t, OP_RMS, &y, &x, w, NULL, 1, 1, eps, NULL, &rstd);
                g_checks++;
                double e = err_eps(y, ye, scale_y(ye));
                double er = stat_err_eps(rstd, st.rstd, st.rstd_f, 0.0);
                if (!(e <= CONTRACT_EPS && er <= CONTRACT_EPS))
                    test_fail("%s rmsnorm dim 1 x %.9g w %g eps %g: y %.9g (exact %.17g, %.3g eps) "
                         "rstd %.9g (exact %.17g)",
                         norm_tier_name(t), (double)x, w ? (double)*w : 1.0, (double)eps,
                         (double)y, ye, e, (double)rstd, st.rstd);
            }
        }
    }
}

/* ---- NaN / Inf poisoning ---- */

/* Five rows, one of each path: ordinary, huge (float squares overflow), large mean, subnormal,
 * constant. */
static void fill_rows(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        x[0 * n + i] = (float)rng_normal();
        x[1 * n + i] = (float)(3e19 * rng_normal());
        x[2 * n + i] = (float)(1e4 + 1e-2 * rng_normal());
        x[3 * n + i] = (float)(1e-41 * rng_normal());
        x[4 * n + i] = 0.75f;
    }
}

static void test_poison(int t)
{
    const float qnan = NAN, inf = INFINITY;
    float *x = test_xmalloc(ROWS * MAX_N * sizeof(float)), *xc = test_xmalloc(ROWS * MAX_N * sizeof(float));
    float *y = test_xmalloc(ROWS * MAX_N * sizeof(float)), *ya = test_xmalloc(ROWS * MAX_N * sizeof(float));
    float *w = test_xmalloc(MAX_N * sizeof(float)), *b = test_xmalloc(MAX_N * sizeof(float));
    random_wb(w, b, MAX_N);
    for (size_t di = 0; di < N_DIMS; di++) {
        size_t n = dims[di];
        fill_rows(xc, n);
        for (int op = OP_LN; op <= OP_RMS; op++) {
            for (float eps = 0.0f; eps < 1e-4f; eps = eps == 0.0f ? 1e-5f : 1.0f) {
                /* every row alone */
                float ma[ROWS], ra[ROWS];
                for (int r = 0; r < ROWS; r++)
                    run(t, op, ya + r * n, xc + r * n, w, b, 1, n, eps, &ma[r], &ra[r]);
                /* positions: first, last, middle, first of the tail, inside the second block */
                size_t pos[5] = {0, n - 1, n / 2, n - 1 - (n - 1) % 16, n > 600 ? 600 : n / 3};
                for (int kind = 0; kind < 5; kind++) {
                    for (int br = 0; br < ROWS; br++) {
                        for (int pi = 0; pi < 5; pi++) {
                            memcpy(x, xc, ROWS * n * sizeof(float));
                            float *row = x + (size_t)br * n;
                            size_t p = pos[pi], q = (p + n / 2 + 1) % n;
                            switch (kind) {
                            case 0: row[p] = qnan; break;
                            case 1: row[p] = inf; break;
                            case 2: row[p] = -inf; break;
                            case 3: row[p] = inf; row[q] = -inf; break; /* Inf - Inf */
                            default: row[p] = -qnan; row[q] = inf; break;
                            }
                            float m[ROWS], rs[ROWS];
                            for (size_t i = 0; i < ROWS * n; i++)
                                y[i] = -12345.0f;
                            run(t, op, y, x, w, b, ROWS, n, eps, m, rs);
                            g_checks++;
                            for (int r = 0; r < ROWS; r++) {
                                const float *yr = y + (size_t)r * n, *ar = ya + (size_t)r * n;
                                if (r == br) {
                                    size_t i = 0;
                                    while (i < n && isnan(yr[i]))
                                        i++;
                                    if (i < n || !isnan(rs[r]) || (op == OP_LN && !isnan(m[r]))) {
                                        test_fail("%s %s dim %zu eps %g: bad value kind %d at row %d "
                                             "pos %zu: y[%zu] = %.9g, mean %.9g, rstd %.9g "
                                             "(want all NaN)",
                                             norm_tier_name(t), op_name[op], n, (double)eps, kind,
                                             br, p, i < n ? i : 0, (double)yr[i < n ? i : 0],
                                             (double)m[r], (double)rs[r]);
                                        goto next;
                                    }
                                } else {
                                    int same = memcmp(yr, ar, n * sizeof(float)) == 0 &&
                                               bits(rs[r]) == bits(ra[r]) &&
                                               (op == OP_RMS || bits(m[r]) == bits(ma[r]));
                                    if (!same) {
                                        test_fail("%s %s dim %zu eps %g: bad value in row %d changed "
                                             "row %d (not identical to it computed alone)",
                                             norm_tier_name(t), op_name[op], n, (double)eps, br,
                                             r);
                                        goto next;
                                    }
                                }
                            }
                        next:;
                        }
                    }
                }
            }
        }
    }
    free(x);
    free(xc);
    free(y);
    free(ya);
    free(w);
    free(b);
}

/* ---- finite in, finite (and accurate) out ---- */
static void extreme_row(float *x, size_t n, int k)
{
    for (size_t i = 0; i < n; i++) {
        double u = rng_uniform();
        double s = (rng_u64() & 1) ? 1.0 : -1.0;
        switch (k) {
        case 0: x[i] = (float)(s * FLT_MAX); break;                         /* +-FLT_MAX */
        case 1: x[i] = FLT_MAX; break;                                      /* constant max */
        case 2: x[i] = i == 0 ? FLT_MAX : 0.0f; break;                      /* one max, zeros */
        case 3: x[i] = i % 2 ? -FLT_MAX : FLT_MAX * 0.999f; break;          /* near-cancelling */
        case 4: x[i] = i == n / 2 ? -FLT_MAX : 0x1p-149f; break;            /* max among min */
        case 5: x[i] = (float)(s * 0x1p-149); break;                        /* +-min subnormal */
        case 6: x[i] = i == n - 1 ? 0x1p-149f : 0.0f; break;                /* one subnormal */
        case 7: x[i] = (float)(s * u * 1e-41); break;                       /* subnormals */
        case 8: x[i] = (float)(1e-30 + 1e-37 * u); break;                   /* tiny spread */
        case 9: x[i] = test_clampf(s * pow(2.0, 254.0 * u - 126.0)); break;     /* all exponents */
        case 10: x[i] = (float)(FLT_MAX * (1.0 - 0x1p-20 * u)); break;      /* max, tiny spread */
        default: x[i] = test_clampf(s * pow(2.0, 277.0 * u - 149.0)); break;    /* incl. subnormal */
        }
    }
}
#define N_EXTREME 12

static void test_finite(int t)
{
    float *x = test_xmalloc(MAX_N * sizeof(float)), *y = test_xmalloc(MAX_N * sizeof(float));
    float *w = test_xmalloc(MAX_N * sizeof(float)), *b = test_xmalloc(MAX_N * sizeof(float));
    double *ye = test_xmalloc(MAX_N * sizeof(double)), *sc = test_xmalloc(MAX_N * sizeof(double));
    random_wb(w, b, MAX_N);
    static const float epss[] = {0.0f, 1e-5f};
    for (size_t di = 0; di < N_DIMS; di++) {
        size_t n = dims[di];
        for (int k = 0; k < N_EXTREME; k++) {
            extreme_row(x, n, k);
            for (int ei = 0; ei < 2; ei++) {
                float eps = epss[ei];
                for (int op = OP_LN; op <= OP_RMS; op++) {
                    oracle_stats st;
                    float mean = 0.0f, rstd = 0.0f;
                    if (op == OP_LN)
                        oracle_layernorm(x, w, b, n, eps, ye, sc, &st);
                    else
                        oracle_rmsnorm(x, w, n, eps, ye, sc, &st);
                    run(t, op, y, x, w, b, 1, n, eps, &mean, &rstd);
                    g_checks++;
                    double worst = 0.0;
                    size_t wi = 0;
                    int nonfinite = 0;
                    for (size_t i = 0; i < n; i++) {
                        nonfinite |= !isfinite(y[i]);
                        double e = err_eps(y[i], ye[i], scale_y(ye[i]));
                        if (!(e <= worst)) {
                            worst = e;
                            wi = i;
                        }
                    }
                    int bad_stats = isnan(rstd) || (isinf(rstd) && !isinf(st.rstd_f)) ||
                                    (op == OP_LN && !isfinite(mean));
                    if (nonfinite || bad_stats || !(worst <= CONTRACT_EPS))
                        test_fail("%s %s extreme row %d dim %zu eps %g: y[%zu] = %.9g (x %.9g, exact "
                             "%.17g, %.3g FLT_EPSILON)%s, mean %.9g, rstd %.9g (exact %.9g)",
                             norm_tier_name(t), op_name[op], k, n, (double)eps, wi,
                             (double)y[wi], (double)x[wi], ye[wi], worst,
                             nonfinite ? " NON-FINITE OUTPUT" : "", (double)mean, (double)rstd,
                             st.rstd);
                }
            }
        }
    }
    free(x);
    free(y);
    free(w);
    free(b);
    free(ye);
    free(sc);
}

int main(void)
{
    rng_seed(77);
    int any = 0;
    for (int t = 0; t < NORM_TIER_COUNT; t++) {
        g_have[t] = norm_dsp_init(&g_dsp[t], t) == 0;
        if (!g_have[t])
            continue;
        any = 1;
        long f0 = test_fails, c0 = g_checks;
        test_constant(t);
        test_dim1(t);
        test_poison(t);
        test_finite(t);
        printf("test_edges: %-7s %6ld checks, %ld failed\n", norm_tier_name(t), g_checks - c0,
               test_fails - f0);
    }
    if (!any) {
        printf("test_edges: no tier available\n");
        return 1;
    }
    if (test_fails) {
        printf("test_edges: %ld of %ld checks failed\n", test_fails, g_checks);
        return 1;
    }
    printf("test_edges: all %ld checks passed\n", g_checks);
    return 0;
}
