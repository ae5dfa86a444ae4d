/* ab_util: shared parts of the in-process A/B harnesses (see ab_util.h). */
#define _GNU_SOURCE
#include "ab_util.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <string.h>

double ab_now(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmpd(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

void ab_stats(double *v, int n, double *min, double *p10)
{
    qsort(v, (size_t)n, sizeof(double), cmpd);
    if (min)
        *min = v[0];
    if (p10)
        *p10 = v[n / 10];
}

static uint64_t rng = 0x243F6A8885A308D3ull;
float ab_urand(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (float)((rng * 0x2545F4914F6CDD1Dull) >> 40) * (1.0f / 16777216.0f);
}

void *ab_alloc(size_t bytes)
{
    void *p = NULL;
    if (posix_memalign(&p, (size_t)2 << 20, bytes + 4096) != 0) {
        fprintf(stderr, "%s: cannot allocate %zu MiB\n", ab_name, bytes >> 20);
        exit(1);
    }
#ifdef MADV_HUGEPAGE
    /* transparent huge pages (THP in madvise mode), as normbench's buffers (nb_data.c); AB_HUGE=0
     * in the environment: not (4 KiB pages: the floor from DRAM measured 12 -> 17 ns/row at dim
     * 64 here, 2026-12-06) */
    if (!getenv("AB_HUGE") || atoi(getenv("AB_HUGE")))
        madvise(p, bytes + 4096, MADV_HUGEPAGE);
#endif
    memset(p, 0, bytes + 4096);
    return p;
}

static void (*run_fn)(unsigned);
static unsigned cur_nth; /* 0: the worker exits */
static pthread_barrier_t bar;
static pthread_t worker_th;
static double cpu_t[2];

static void *worker(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_barrier_wait(&bar);
        if (cur_nth == 0)
            return NULL;
        const double c0 = ab_now(CLOCK_THREAD_CPUTIME_ID);
        if (cur_nth == 2)
            run_fn(1);
        cpu_t[1] = ab_now(CLOCK_THREAD_CPUTIME_ID) - c0;
        pthread_barrier_wait(&bar);
    }
}

int ab_threads_start(void (*run)(unsigned ith))
{
    run_fn = run;
    pthread_barrier_init(&bar, NULL, 2);
    return pthread_create(&worker_th, NULL, worker, NULL) != 0 ? -1 : 0;
}

double ab_one(unsigned nth, double *cpu)
{
    cur_nth = nth;
    pthread_barrier_wait(&bar);
    const double t0 = ab_now(CLOCK_MONOTONIC), c0 = ab_now(CLOCK_THREAD_CPUTIME_ID);
    run_fn(0);
    cpu_t[0] = ab_now(CLOCK_THREAD_CPUTIME_ID) - c0;
    pthread_barrier_wait(&bar);
    const double t = ab_now(CLOCK_MONOTONIC) - t0;
    *cpu = nth == 2 && cpu_t[1] > cpu_t[0] ? cpu_t[1] : cpu_t[0];
    return t;
}

void ab_threads_stop(void)
{
    cur_nth = 0;
    pthread_barrier_wait(&bar);
    pthread_join(worker_th, NULL);
}
