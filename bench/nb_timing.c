/*
 * normbench's timing: how many calls make one repetition (calibration), repetitions until the
 * time box (--time) is used, and the statistics of the repetitions (--stat: the median or the
 * minimum is the time every column uses).
 */
#include <math.h>
#include <stdlib.h>

#include "nb_internal.h"

#define TARGET_REP_NS 100e3 /* a repetition batches calls until it lasts ~100 us */

int g_stat_min; /* --stat min */

double g_box_ns = 25e6; /* time box per implementation and shape */

int nb_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double quantile_sorted(const double *v, size_t n, double q)
{
    double pos = q * (double)(n - 1);
    size_t i = (size_t)pos;
    if (i + 1 >= n)
        return v[n - 1];
    return v[i] + (v[i + 1] - v[i]) * (pos - (double)i);
}

double nb_run_rep(work_fn fn, job *j, unsigned nth)
{
    double t0 = now_ns();
    nb_pool_run(fn, j, nth);
    return now_ns() - t0;
}

/* Calls per repetition so that a repetition lasts about TARGET_REP_NS; `one` is the fastest
 * single call seen (a preempted calibration call must not decide it). */
size_t nb_calls_per_rep(double one)
{
    if (one >= TARGET_REP_NS)
        return 1;
    double k = ceil(TARGET_REP_NS / (one > 1.0 ? one : 1.0));
    return k > 1e6 ? 1000000 : (size_t)k;
}

/* The time of one call, to choose the calls per repetition. `first` is a call already made
 * through the pool (the correctness check), or < 0. A long call (over 50 ms, or over a quarter of
 * the time box on one thread) is taken as it is. A shorter one is timed again on the calling
 * thread alone, doing all the rows (fastest of up to three), and divided by the thread count: the
 * pool's wake-up latency, which other processes holding the CPUs stretch to a scheduler tick or
 * two (4-8 ms), must not decide how many calls a repetition makes. */
double nb_calibrate(work_fn fn, job *j, unsigned nth, double first)
{
    j->inner = 1;
    if (first < 0)
        first = nb_run_rep(fn, j, nth);
    if (first >= 50e6 || (nth == 1 && first >= g_box_ns / 4))
        return first;
    double best = INFINITY, spent = 0;
    for (int k = 0; k < 3 && spent < g_box_ns / 2; k++) {
        double t0 = now_ns();
        fn(j, 0, 1);
        double t = now_ns() - t0;
        spent += t;
        best = t < best ? t : best;
    }
    return best / nth;
}

timing nb_stats(double *v, size_t n, size_t inner)
{
    timing t = {0};
    qsort(v, n, sizeof(double), nb_cmp_double);
    t.med = quantile_sorted(v, n, 0.5);
    t.val = g_stat_min ? v[0] : t.med;
    t.min = v[0];
    t.p25 = quantile_sorted(v, n, 0.25);
    t.p75 = quantile_sorted(v, n, 0.75);
    t.reps = n;
    t.inner = inner;
    return t;
}

/* One implementation alone (the DRAM copy bandwidth): calibrate, warm up, time repetitions
 * until the time box is used (at least 3). */
timing nb_measure(work_fn fn, job *j, unsigned nth)
{
    static double buf[MAX_REPS];
    double one = nb_calibrate(fn, j, nth, -1);
    j->inner = nb_calls_per_rep(one);
    double start = now_ns();
    while (now_ns() - start < g_box_ns / 10 && one * (double)j->inner < g_box_ns / 10)
        nb_run_rep(fn, j, nth);
    size_t n = 0;
    start = now_ns();
    while (n < MAX_REPS && (n < 3 || now_ns() - start < g_box_ns))
        buf[n++] = nb_run_rep(fn, j, nth) / (double)j->inner;
    return nb_stats(buf, n, j->inner);
}
