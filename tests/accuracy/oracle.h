/*
 * The exact oracle of libnorm's accuracy tests, and the helpers they share.
 *
 * oracle_layernorm() / oracle_rmsnorm() compute the true outputs of one row from its float inputs
 * with MPFR at ORACLE_PREC bits: the sums of x and of the squared deviations are exact (a float
 * sum spans 2^128 .. 2^-149 plus log2(n) carry bits, well under ORACLE_PREC), then mean, variance
 * around the mean, 1/sqrt(var + eps), (x - mean) * rstd * w + b, each rounded once at ORACLE_PREC
 * bits, and only the final results rounded to double (or to float, for the statistics as a float
 * output should be). The oracle shares no code and no order of operations with the library.
 *
 * The error measure (the contract, stated in include/libnorm.h): an output's error is
 *     |y - y_exact| / max(1, |y_exact|, |w| * max(1, |xhat|))
 * in units of FLT_EPSILON, xhat the exact normalized value ((x - mean) * rstd; x * rstd for
 * RMSNorm) and |w| = 1 without a weight. The weight term is what the conditioning allows: xhat
 * itself is only known to about FLT_EPSILON * max(1, |xhat|) (the mean and rstd it is computed
 * from are rounded), the weight multiplies that error, and a bias can cancel xhat * w down to a
 * small y. With |w| <= 1-ish and no cancellation it is max(1, |y_exact|), the measure used
 * before the weight term was added (and still used by test_edges and test_realdata, whose weights
 * are below 5): scale_y() gives that one. The oracle returns the contract's denominator per
 * element.
 */
#ifndef LIBNORM_TEST_ORACLE_H
#define LIBNORM_TEST_ORACLE_H

#include <float.h>
#include <stddef.h>
#include <stdint.h>

#define ORACLE_PREC 384

/* The contract: at most this many FLT_EPSILON on every output (y, mean, rstd). */
#define CONTRACT_EPS 8.0

typedef struct oracle_stats {
    double mean;    /* exact mean (LayerNorm), as a double */
    double sigma;   /* exact sqrt(var) (LayerNorm) or sqrt(mean(x^2)) (RMSNorm) */
    double rstd;    /* exact 1/sqrt(var + eps), as a double; +Inf when var + eps == 0 */
    float rstd_f;   /* the exact rstd correctly rounded to float (+Inf past FLT_MAX) */
} oracle_stats;

/* y[i] (exact, rounded to double) and scale[i] = max(1, |y[i]|, |w[i]| * max(1, |xhat[i]|)) of
 * one row.
 * w == NULL means 1, b == NULL means 0. A zero variance (or mean square) with eps == 0 gives
 * xhat = 0 (the header's edge semantics), i.e. y = b. Inputs must be finite. */
void oracle_layernorm(const float *x, const float *w, const float *b, size_t n, float eps,
                      double *y, double *scale, oracle_stats *st);
void oracle_rmsnorm(const float *x, const float *w, size_t n, float eps, double *y,
                    double *scale, oracle_stats *st);

/* L2 normalisation: y = x / max(||x||, eps) exactly; st->rstd the exact 1/max(||x||, eps), sigma
 * the exact ||x||. An all-zero row with eps == 0 gives zeros (rstd +Inf). */
void oracle_l2norm(const float *x, size_t n, float eps, double *y, double *scale,
                   oracle_stats *st);

/* max(1, |y_exact|): the measure without the weight term. */
double scale_y(double y_exact);

/* Error of `got` in FLT_EPSILON units relative to `scale`; +Inf when got is NaN or Inf while the
 * exact value is finite. */
double err_eps(float got, double exact, double scale);
/* Error of a statistic: |got - exact| / max(|exact|, floor, FLT_MIN) in FLT_EPSILON units (so a
 * correctly rounded float, subnormal or not, is at most 0.5). `exact_f` is the exact value
 * rounded to float: when that is +Inf, `got` must be +Inf (error 0), otherwise any Inf/NaN is
 * +Inf error. */
double stat_err_eps(float got, double exact, float exact_f, double floor);

/* Seeded random numbers (splitmix64), independent of libc. */
void rng_seed(uint64_t seed);
uint64_t rng_u64(void);
double rng_uniform(void);            /* [0, 1) */
double rng_normal(void);             /* N(0, 1) */
size_t rng_below(size_t n);          /* 0 .. n-1 */

/* 1 when the environment variable LIBNORM_TEST_QUICK is set (non-empty, not "0"). */
int quick_from_env(void);

/* Shared by the accuracy tests: malloc that exits (status 99) when out of memory; a failure
 * counter with its message (the first 40 printed, "FAIL ..."); a double clamped into float. */
void *test_xmalloc(size_t n);
extern long test_fails;
void test_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
float test_clampf(double v);

#endif
