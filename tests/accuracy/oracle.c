/* The MPFR oracle and shared helpers of the accuracy tests (see oracle.h). */
#include "oracle.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpfr.h>

static int g_init;
static mpfr_t m_sum, m_mean, m_d, m_t, m_var, m_rstd, m_eps, m_xh, m_y, m_w;

static void oracle_setup(void)
{
    if (g_init)
        return;
    mpfr_inits2(ORACLE_PREC, m_sum, m_mean, m_d, m_t, m_var, m_rstd, m_eps, m_xh, m_y, m_w,
                (mpfr_ptr)0);
    g_init = 1;
}

/* m_rstd = 1/sqrt(m_var + eps) (+Inf when that is 0); fills st->rstd, rstd_f, sigma. */
static void finish_stats(float eps, oracle_stats *st)
{
    mpfr_set_flt(m_eps, eps, MPFR_RNDN);
    mpfr_sqrt(m_t, m_var, MPFR_RNDN);
    st->sigma = mpfr_get_d(m_t, MPFR_RNDN);
    mpfr_add(m_t, m_var, m_eps, MPFR_RNDN);
    mpfr_rec_sqrt(m_rstd, m_t, MPFR_RNDN); /* +0 -> +Inf */
    st->rstd = mpfr_get_d(m_rstd, MPFR_RNDN);
    st->rstd_f = mpfr_get_flt(m_rstd, MPFR_RNDN);
}

/* y and scale from m_xh (xhat) and w, b. */
static void finish_elem(size_t i, const float *w, const float *b, double *y, double *scale)
{
    double axh = fabs(mpfr_get_d(m_xh, MPFR_RNDN));
    double aw = w ? fabs((double)w[i]) : 1.0;
    if (w) {
        mpfr_set_flt(m_w, w[i], MPFR_RNDN);
        mpfr_mul(m_xh, m_xh, m_w, MPFR_RNDN);
    }
    if (b) {
        mpfr_set_flt(m_t, b[i], MPFR_RNDN);
        mpfr_add(m_y, m_xh, m_t, MPFR_RNDN);
    } else {
        mpfr_set(m_y, m_xh, MPFR_RNDN);
    }
    y[i] = mpfr_get_d(m_y, MPFR_RNDN);
    /* The contract's measure, max(1, |y_exact|, |w|·max(1, |x̂|)) (see oracle.h). */
    double sw = aw * (axh > 1.0 ? axh : 1.0);
    double sy = scale_y(y[i]);
    scale[i] = sw > sy ? sw : sy;
}

double scale_y(double y_exact)
{
    double ay = fabs(y_exact);
    return ay > 1.0 ? ay : 1.0;
}

void oracle_layernorm(const float *x, const float *w, const float *b, size_t n, float eps,
                      double *y, double *scale, oracle_stats *st)
{
    oracle_setup();
    mpfr_set_zero(m_sum, 1);
    for (size_t i = 0; i < n; i++)
        mpfr_add_d(m_sum, m_sum, (double)x[i], MPFR_RNDN); /* exact at ORACLE_PREC */
    mpfr_div_ui(m_mean, m_sum, (unsigned long)n, MPFR_RNDN);
    st->mean = mpfr_get_d(m_mean, MPFR_RNDN);
    mpfr_set_zero(m_var, 1);
    for (size_t i = 0; i < n; i++) {
        mpfr_sub_d(m_d, m_mean, (double)x[i], MPFR_RNDN);
        mpfr_sqr(m_d, m_d, MPFR_RNDN);
        mpfr_add(m_var, m_var, m_d, MPFR_RNDN);
    }
    mpfr_div_ui(m_var, m_var, (unsigned long)n, MPFR_RNDN);
    finish_stats(eps, st);
    int degenerate = mpfr_inf_p(m_rstd); /* var + eps == 0: every deviation is exactly 0 */
    for (size_t i = 0; i < n; i++) {
        if (degenerate) {
            mpfr_set_zero(m_xh, 1);
        } else {
            mpfr_d_sub(m_d, (double)x[i], m_mean, MPFR_RNDN);
            mpfr_mul(m_xh, m_d, m_rstd, MPFR_RNDN);
        }
        finish_elem(i, w, b, y, scale);
    }
}

void oracle_rmsnorm(const float *x, const float *w, size_t n, float eps, double *y,
                    double *scale, oracle_stats *st)
{
    oracle_setup();
    mpfr_set_zero(m_var, 1);
    for (size_t i = 0; i < n; i++) {
        mpfr_set_flt(m_d, x[i], MPFR_RNDN);
        mpfr_sqr(m_d, m_d, MPFR_RNDN);
        mpfr_add(m_var, m_var, m_d, MPFR_RNDN);
    }
    mpfr_div_ui(m_var, m_var, (unsigned long)n, MPFR_RNDN);
    st->mean = 0.0;
    finish_stats(eps, st);
    int degenerate = mpfr_inf_p(m_rstd); /* all-zero row with eps == 0 */
    for (size_t i = 0; i < n; i++) {
        if (degenerate) {
            mpfr_set_zero(m_xh, 1);
        } else {
            mpfr_set_flt(m_d, x[i], MPFR_RNDN);
            mpfr_mul(m_xh, m_d, m_rstd, MPFR_RNDN);
        }
        finish_elem(i, w, NULL, y, scale);
    }
}

double err_eps(float got, double exact, double scale)
{
    if (isnan(got) || isinf(got))
        return (isinf(got) && got == exact) ? 0.0 : INFINITY;
    return fabs((double)got - exact) / scale / FLT_EPSILON;
}

double stat_err_eps(float got, double exact, float exact_f, double floor)
{
    if (isinf(exact_f))
        return got == exact_f ? 0.0 : INFINITY;
    if (isnan(got) || isinf(got))
        return INFINITY;
    double d = fabs(exact);
    if (d < floor)
        d = floor;
    if (d < FLT_MIN)
        d = FLT_MIN;
    return fabs((double)got - exact) / d / FLT_EPSILON;
}

static uint64_t g_rng = 0x1234567887654321ull;

void rng_seed(uint64_t seed) { g_rng = seed; }

uint64_t rng_u64(void)
{
    uint64_t z = (g_rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

double rng_uniform(void) { return (double)(rng_u64() >> 11) * 0x1p-53; }

double rng_normal(void)
{
    double u = rng_uniform(), v = rng_uniform();
    return sqrt(-2.0 * log(1.0 - u)) * cos(6.283185307179586 * v);
}

size_t rng_below(size_t n) { return (size_t)(rng_u64() % n); }

int quick_from_env(void)
{
    const char *q = getenv("LIBNORM_TEST_QUICK");
    return q && *q && strcmp(q, "0") != 0;
}

void *test_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "out of memory (%zu bytes)\n", n);
        exit(99);
    }
    return p;
}

long test_fails;

void test_fail(const char *fmt, ...)
{
    if (test_fails++ < 40) {
        va_list ap;
        va_start(ap, fmt);
        printf("FAIL ");
        vprintf(fmt, ap);
        printf("\n");
        va_end(ap);
    }
}

float test_clampf(double v)
{
    return v > FLT_MAX ? FLT_MAX : v < -FLT_MAX ? -FLT_MAX : (float)v;
}

void oracle_l2norm(const float *x, size_t n, float eps, double *y, double *scale,
                   oracle_stats *st)
{
    oracle_setup();
    mpfr_set_zero(m_var, 1);
    for (size_t i = 0; i < n; i++) {
        mpfr_set_flt(m_d, x[i], MPFR_RNDN);
        mpfr_sqr(m_d, m_d, MPFR_RNDN);
        mpfr_add(m_var, m_var, m_d, MPFR_RNDN);
    }
    mpfr_sqrt(m_t, m_var, MPFR_RNDN);
    st->mean = 0.0;
    st->sigma = mpfr_get_d(m_t, MPFR_RNDN);
    mpfr_set_flt(m_eps, eps, MPFR_RNDN);
    if (mpfr_less_p(m_t, m_eps))
        mpfr_set(m_t, m_eps, MPFR_RNDN);
    mpfr_ui_div(m_rstd, 1, m_t, MPFR_RNDN); /* 1/+0 -> +Inf (zero row, eps 0) */
    st->rstd = mpfr_get_d(m_rstd, MPFR_RNDN);
    st->rstd_f = mpfr_get_flt(m_rstd, MPFR_RNDN);
    int degenerate = mpfr_inf_p(m_rstd); /* an all-zero row with eps == 0 gives zeros */
    for (size_t i = 0; i < n; i++) {
        if (degenerate) {
            mpfr_set_zero(m_xh, 1);
        } else {
            mpfr_set_flt(m_d, x[i], MPFR_RNDN);
            mpfr_mul(m_xh, m_d, m_rstd, MPFR_RNDN);
        }
        finish_elem(i, NULL, NULL, y, scale);
    }
}
