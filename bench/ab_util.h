/*
 * ab_util: the parts the in-process A/B harnesses (bench/x16ab.c, bench/lnab.c, bench/regab.c,
 * all built by bench/ab.sh) share: the clocks, a main thread plus one worker timing one call
 * behind a barrier, min / 10th percentile of the repetitions, the xorshift random numbers and the
 * 2 MiB-aligned, zeroed buffers.
 */
#ifndef AB_UTIL_H
#define AB_UTIL_H

#include <stddef.h>
#include <time.h>

/* seconds on clock c (CLOCK_MONOTONIC, CLOCK_THREAD_CPUTIME_ID) */
double ab_now(clockid_t c);

/* Sorts v[0 .. n) ascending; *min = v[0], *p10 = v[n / 10] (either may be NULL). */
void ab_stats(double *v, int n, double *min, double *p10);

/* uniform in [0, 1), xorshift64* with a fixed seed: the same numbers every run */
float ab_urand(void);

/* bytes (+ 4096 of slack) aligned to 2 MiB and zeroed; exits with a message naming the harness
 * (ab_name) when it cannot */
void *ab_alloc(size_t bytes);
extern const char *ab_name;

/* Two threads timing one call: ab_threads_start starts the worker, which runs run(1) for each
 * ab_one on 2 threads while the calling thread runs run(0). ab_one returns the call's wall
 * seconds and *cpu the busiest thread's CLOCK_THREAD_CPUTIME_ID seconds (nth 1: run(0) only).
 * ab_threads_stop ends the worker. ab_threads_start returns 0, or -1 if it cannot start it. */
int ab_threads_start(void (*run)(unsigned ith));
double ab_one(unsigned nth, double *cpu);
void ab_threads_stop(void);

#endif
