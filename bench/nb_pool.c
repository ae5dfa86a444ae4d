/*
 * normbench's thread pool: persistent pthreads (optionally pinned, --pin) that run one job per
 * repetition, spin while idle (as an engine's workers do) and sleep after SPIN_NS; the barrier
 * the ggml baseline puts between its graph nodes; and the pool's round trip, by which normbench
 * notices other processes holding the CPUs.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "nb_internal.h"

#define SPIN_NS 5e6 /* idle pool threads spin this long, then sleep */

typedef struct pool {
    unsigned n; /* threads including the calling (main) thread */
    pthread_t tid[MAXT];
    unsigned id[MAXT];
    int cpu[MAXT]; /* -1: not pinned */
    /* (generation << 16) | nth, published in one store so that a worker sees the thread count of
     * the job it wakes for (a slow non-participant of one job may first look at the next one) */
    atomic_ullong ctl;
    atomic_uint done, quit;
    atomic_int sleepers;
    atomic_uint bar_cnt, bar_gen;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    work_fn fn;
    void *ctx;
} pool;

static pool g_pool;

static void pin_self(int cpu)
{
    if (cpu < 0)
        return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

static void *worker_main(void *arg)
{
    unsigned id = *(unsigned *)arg;
    pool *p = &g_pool;
    pin_self(p->cpu[id]);
    unsigned long long seen = 0; /* ctl's initial value: a job posted before this thread ran
                                  * is still seen as new */
    for (;;) {
        unsigned long long g;
        unsigned spins = 0;
        double t0 = 0;
        while ((g = atomic_load_explicit(&p->ctl, memory_order_acquire)) == seen) {
            cpu_relax();
            if (++spins < 4096)
                continue;
            spins = 0;
            double t = now_ns();
            if (t0 == 0) {
                t0 = t;
            } else if (t - t0 > SPIN_NS) {
                /* Sleep until the next job; the seq_cst pairs sleepers++ / ctl re-check here and
                 * ctl store / sleepers read in nb_pool_run cannot both miss each other. */
                atomic_fetch_add(&p->sleepers, 1);
                pthread_mutex_lock(&p->mu);
                while (atomic_load(&p->ctl) == seen)
                    pthread_cond_wait(&p->cv, &p->mu);
                pthread_mutex_unlock(&p->mu);
                atomic_fetch_sub(&p->sleepers, 1);
                t0 = 0;
            }
        }
        seen = g;
        if (atomic_load_explicit(&p->quit, memory_order_relaxed))
            return NULL;
        unsigned nth = (unsigned)(g & 0xffff);
        if (id < nth) {
            p->fn(p->ctx, id, nth);
            atomic_fetch_add_explicit(&p->done, 1, memory_order_acq_rel);
        }
    }
}

void nb_pool_start(unsigned n, const int *cpus)
{
    pool *p = &g_pool;
    p->n = n;
    atomic_init(&p->ctl, 0);
    atomic_init(&p->done, 0);
    atomic_init(&p->quit, 0);
    atomic_init(&p->sleepers, 0);
    atomic_init(&p->bar_cnt, 0);
    atomic_init(&p->bar_gen, 0);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    for (unsigned i = 0; i < n; i++) {
        p->id[i] = i;
        p->cpu[i] = cpus ? cpus[i] : -1;
    }
    pin_self(p->cpu[0]);
    for (unsigned i = 1; i < n; i++)
        if (pthread_create(&p->tid[i], NULL, worker_main, &p->id[i]) != 0)
            nb_die("pthread_create failed");
}

static void pool_wake(pool *p)
{
    if (atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
}

/* Run fn(ctx, i, nth) on threads 0..nth-1 (0 is the caller) and wait for all of them. */
void nb_pool_run(work_fn fn, void *ctx, unsigned nth)
{
    pool *p = &g_pool;
    if (nth <= 1) {
        fn(ctx, 0, 1);
        return;
    }
    p->fn = fn;
    p->ctx = ctx;
    atomic_store_explicit(&p->done, 0, memory_order_relaxed);
    unsigned long long gen = (atomic_load_explicit(&p->ctl, memory_order_relaxed) >> 16) + 1;
    atomic_store(&p->ctl, (gen << 16) | nth);
    pool_wake(p);
    fn(ctx, 0, nth);
    while (atomic_load_explicit(&p->done, memory_order_acquire) < nth - 1)
        cpu_relax();
}

/* A barrier among the nth threads of the running job (ggml's barrier between graph nodes). */
void nb_pool_barrier(unsigned nth)
{
    pool *p = &g_pool;
    if (nth <= 1)
        return;
    unsigned g = atomic_load(&p->bar_gen);
    if (atomic_fetch_add(&p->bar_cnt, 1) + 1 == nth) {
        atomic_store(&p->bar_cnt, 0);
        atomic_fetch_add(&p->bar_gen, 1);
    } else {
        while (atomic_load(&p->bar_gen) == g)
            cpu_relax();
    }
}

void nb_pool_stop(void)
{
    pool *p = &g_pool;
    atomic_store(&p->quit, 1);
    unsigned long long gen = (atomic_load(&p->ctl) >> 16) + 1;
    atomic_store(&p->ctl, gen << 16);
    pthread_mutex_lock(&p->mu);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 1; i < p->n; i++)
        pthread_join(p->tid[i], NULL);
}

static void empty_fn(void *ctx, unsigned ith, unsigned nth) {}

/* Median time of n jobs that do nothing, on thr threads: the pool's wake-up and barrier cost,
 * which balloons when other processes hold the CPUs. */
double nb_pool_round_trip(unsigned thr, int n)
{
    double v[201];
    if (n > 201)
        n = 201;
    for (int i = 0; i < 3; i++)
        nb_pool_run(empty_fn, NULL, thr);
    double start = now_ns();
    int m = 0;
    while (m < n && (m < 3 || now_ns() - start < 20e6)) {
        double t0 = now_ns();
        nb_pool_run(empty_fn, NULL, thr);
        v[m++] = now_ns() - t0;
    }
    qsort(v, (size_t)m, sizeof(double), nb_cmp_double);
    return v[m / 2];
}
