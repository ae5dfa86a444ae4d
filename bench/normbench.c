/*
 * normbench: libnorm's benchmark.
 *
 * For every shape (op x dim x rows x threads) it measures, in one process, on the same
 * pre-allocated and pre-touched buffers:
 *   - the memory floors: a read-only pass over x ("floor-rd") and a pass that reads x, w, b and
 *     writes y ("floor", the least any norm moves), written with AVX-512/AVX2 intrinsics, with
 *     non-temporal stores for DRAM-sized jobs as libnorm's kernels then use;
 *   - every libnorm tier this CPU supports, through the internal per-tier tables, and the
 *     dispatched public API ("api", with libnorm_opts ith/nth);
 *   - the baselines: a naive two-pass float implementation, ggml's CPU algorithm (norm node, then
 *     mul and add nodes) and oneDNN's layer normalization primitive (when built);
 * plus the DRAM copy bandwidth once per thread count. Every multi-threaded measurement runs on a
 * persistent pool of pthreads that split the rows as an engine does (contiguous chunks, the same
 * split as libnorm_opts ith/nth; ggml's own split for the ggml baseline), with a barrier per
 * repetition. Each result is checked against the scalar tier before it is timed: libnorm tiers
 * must be bit-identical, baselines within 1e-3 relative.
 *
 * Byte model (GB/s and "% floor"): a norm call must read x and write y once and read w and b
 * once: bytes = 4 * dim * (2*rows + P), P = 2 for LayerNorm with weight and bias, 1 for RMSNorm
 * with weight, 0 for LayerNorm without affine. Write-allocate traffic and re-reads of x from
 * cache are not counted (they are the implementation's cost). "% floor" = floor time / time,
 * the floor being the read-x,w,b/write-y pass of the same shape and thread count in the same run.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libnorm.h"
#include "nb.h"
#include "norm_internal.h"

extern char **environ;

#define MAXT 256
#define MAX_REPS 4096
#define TARGET_REP_NS 100e3 /* a repetition batches calls until it lasts ~100 us */
#define SPIN_NS 5e6         /* idle pool threads spin this long, then sleep */
#define BASE_TOL 1e-3       /* baselines: max |y - ref| / max(1, |ref|) */
#define STALL_NS 50e3       /* a pool round trip above this: other processes hold the CPUs */

/* ------------------------------------------------------------------------------------------ */
/* small helpers                                                                              */

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("normbench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static int cmp_double(const void *a, const void *b)
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

/* A large buffer: 2 MiB aligned, transparent huge pages asked for (fewer TLB misses and page
 * faults; every implementation gets the same memory), then written in full by the caller. */
static void *big_alloc(size_t bytes)
{
    void *p = NULL;
    size_t align = (size_t)2 << 20;
    bytes = (bytes + align - 1) / align * align;
    if (posix_memalign(&p, align, bytes) != 0)
        die("cannot allocate %zu MiB", bytes >> 20);
#if defined(MADV_HUGEPAGE)
    madvise(p, bytes, MADV_HUGEPAGE);
#endif
    return p;
}

/* ------------------------------------------------------------------------------------------ */
/* thread pool: persistent workers, one job per repetition, spin barrier                      */

typedef void (*work_fn)(void *ctx, unsigned ith, unsigned nth);

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
                 * ctl store / sleepers read in pool_run cannot both miss each other. */
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

static void pool_start(unsigned n, const int *cpus)
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
            die("pthread_create failed");
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
static void pool_run(work_fn fn, void *ctx, unsigned nth)
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
static void pool_barrier(unsigned nth)
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

static void pool_stop(void)
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

/* ------------------------------------------------------------------------------------------ */
/* ops, implementations                                                                       */

enum { OP_LN, OP_LN_PLAIN, OP_RMS, OP_COUNT };
static const char *const op_names[OP_COUNT] = {"ln", "ln-plain", "rms"};
static const char *const op_titles[OP_COUNT] = {"LayerNorm, weight + bias", "LayerNorm, no affine",
                                                "RMSNorm, weight"};
static const int op_params[OP_COUNT] = {2, 0, 1}; /* dim-vectors read: w, b */

enum kind { K_FLOOR_RD, K_FLOOR, K_TIER, K_API, K_NAIVE, K_GGML, K_DNNL };

typedef struct impl {
    char name[16];
    int kind;
    int libnorm; /* a libnorm row: speedups are reported for it */
    norm_dsp dsp;
} impl;

static impl g_impl[16];
static int g_nimpl;
static nb_floor_fns g_floor;
static nb_base_fns g_base;
static const char *g_dnnl_state = "not built"; /* or the oneDNN version */

#if defined(NB_HAVE_DNNL)
#define HAVE_DNNL 1
#else
#define HAVE_DNNL 0
/* not built: never called */
const char *nb_dnnl_version(void) { return "not built"; }
void nb_dnnl_thread_init(void) {}
nb_dnnl *nb_dnnl_create(int affine, float *y, const float *x, const float *w, const float *b,
                        size_t rows, size_t dim, float eps, char *err, size_t errlen)
{
    snprintf(err, errlen, "oneDNN not built");
    return NULL;
}
int nb_dnnl_exec(nb_dnnl *d) { return -1; }
void nb_dnnl_destroy(nb_dnnl *d) {}
#endif

/* portable floors for CPUs without AVX2 (and other architectures) */
static float gen_read(const float *x, size_t n)
{
    float a[8] = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++)
            a[k] += x[i + k];
    for (; i < n; i++)
        a[0] += x[i];
    return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}

static void gen_rw(float *y, const float *x, const float *w, const float *b, size_t rows,
                   size_t dim)
{
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * dim;
        float *yr = y + r * dim;
        if (w && b)
            for (size_t i = 0; i < dim; i++)
                yr[i] = xr[i] * w[i] + b[i];
        else if (w)
            for (size_t i = 0; i < dim; i++)
                yr[i] = xr[i] * w[i];
        else
            for (size_t i = 0; i < dim; i++)
                yr[i] = xr[i];
    }
}

static void gen_copy(float *dst, const float *src, size_t n)
{
    memcpy(dst, src, n * sizeof(float));
}

void nb_floor_generic(nb_floor_fns *f)
{
    f->isa = "generic";
    f->read = gen_read;
    f->rw = gen_rw;
    f->copy = gen_copy;
}

#if defined(__x86_64__) && defined(NB_HAVE_X86_VARIANTS)
static int cpu_has_avx2(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

/* exactly the flags the AVX-512 variants are built with (__builtin_cpu_supports also requires
 * the OS to save the registers) */
static int cpu_has_avx512(void)
{
    __builtin_cpu_init();
    return cpu_has_avx2() && __builtin_cpu_supports("avx512f") &&
           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512vl");
}
#endif

static void select_variants(void)
{
    nb_floor_generic(&g_floor);
    nb_base_generic(&g_base);
#if defined(__x86_64__) && defined(NB_HAVE_X86_VARIANTS)
    if (cpu_has_avx512()) {
        nb_floor_avx512(&g_floor);
        nb_base_avx512(&g_base);
    } else if (cpu_has_avx2()) {
        nb_floor_avx2(&g_floor);
        nb_base_avx2(&g_base);
    }
#endif
}

/* ------------------------------------------------------------------------------------------ */
/* one measurement job                                                                        */

typedef struct job {
    const impl *im;
    int op;
    float *y;
    const float *x, *w, *b; /* w, b: NULL when the op does not use them */
    size_t rows, dim;
    float eps;
    size_t inner; /* calls per repetition */
    /* copy bandwidth */
    float *cdst;
    const float *csrc;
    size_t cn;
    /* oneDNN: one primitive per thread, over that thread's rows */
    nb_dnnl *dn[MAXT];
    char dn_err[MAXT][96];
    float sink[MAXT][16];
    atomic_int fail;
} job;

/* libnorm_opts' split: nth contiguous chunks of rows/nth rows, the first rows%nth one longer */
static void split_rows(size_t rows, unsigned ith, unsigned nth, size_t *r0, size_t *r1)
{
    size_t q = rows / nth, rem = rows % nth;
    *r0 = ith * q + (ith < rem ? ith : rem);
    *r1 = *r0 + q + (ith < rem);
}

static void job_fn(void *ctx, unsigned ith, unsigned nth)
{
    job *j = ctx;
    const impl *im = j->im;
    const size_t dim = j->dim, rows = j->rows;
    size_t r0, r1;
    split_rows(rows, ith, nth, &r0, &r1);
    const size_t nr = r1 - r0;
    for (size_t k = 0; k < j->inner; k++) {
        switch (im->kind) {
        case K_FLOOR_RD:
            if (nr)
                j->sink[ith][0] += g_floor.read(j->x + r0 * dim, nr * dim);
            break;
        case K_FLOOR:
            if (nr)
                g_floor.rw(j->y + r0 * dim, j->x + r0 * dim, j->w, j->b, nr, dim);
            break;
        case K_TIER:
            if (nr) {
                norm_job nj = {j->y + r0 * dim, j->x + r0 * dim, j->w, j->b, nr, dim, dim, dim,
                               j->eps, NULL, NULL, NULL};
                if (j->op == OP_RMS)
                    im->dsp.rmsnorm_f32(&nj);
                else
                    im->dsp.layernorm_f32(&nj);
            }
            break;
        case K_API: {
            libnorm_opts o = LIBNORM_OPTS_INIT;
            o.ith = ith;
            o.nth = nth;
            int st = j->op == OP_RMS
                         ? libnorm_rmsnorm_f32_ex(j->y, j->x, j->w, rows, dim, j->eps, &o)
                         : libnorm_layernorm_f32_ex(j->y, j->x, j->w, j->b, rows, dim, j->eps, &o);
            if (st != LIBNORM_OK)
                atomic_store(&j->fail, st);
            break;
        }
        case K_NAIVE:
            if (j->op == OP_RMS)
                g_base.naive_rms(j->y, j->x, j->w, r0, r1, dim, j->eps);
            else
                g_base.naive_ln(j->y, j->x, j->w, j->b, r0, r1, dim, j->eps);
            break;
        case K_GGML: {
            /* graph: norm -> [mul w] -> [add b], a barrier after each node */
            size_t dr = (rows + nth - 1) / nth;
            size_t g0 = dr * ith < rows ? dr * ith : rows;
            size_t g1 = g0 + dr < rows ? g0 + dr : rows;
            if (j->op == OP_RMS)
                g_base.ggml_rms_norm(j->y, j->x, rows, dim, j->eps, ith, nth);
            else
                g_base.ggml_norm(j->y, j->x, rows, dim, j->eps, ith, nth);
            pool_barrier(nth);
            if (j->w) {
                g_base.ggml_mul(j->y, j->w, g0, g1, dim);
                pool_barrier(nth);
            }
            if (j->b) {
                g_base.ggml_add(j->y, j->b, g0, g1, dim);
                pool_barrier(nth);
            }
            break;
        }
        case K_DNNL:
            if (j->dn[ith] && nb_dnnl_exec(j->dn[ith]) != 0)
                atomic_store(&j->fail, -100);
            break;
        }
    }
}

static void dnnl_setup_fn(void *ctx, unsigned ith, unsigned nth)
{
    job *j = ctx;
    size_t r0, r1;
    split_rows(j->rows, ith, nth, &r0, &r1);
    j->dn[ith] = NULL;
    j->dn_err[ith][0] = 0;
    if (r1 == r0)
        return;
    nb_dnnl_thread_init();
    j->dn[ith] = nb_dnnl_create(j->op == OP_LN, j->y + r0 * j->dim, j->x + r0 * j->dim, j->w,
                                j->b, r1 - r0, j->dim, j->eps, j->dn_err[ith],
                                sizeof j->dn_err[ith]);
    if (!j->dn[ith])
        atomic_store(&j->fail, -101);
}

static void dnnl_teardown_fn(void *ctx, unsigned ith, unsigned nth)
{
    job *j = ctx;
    nb_dnnl_destroy(j->dn[ith]);
    j->dn[ith] = NULL;
}

static void copy_fn(void *ctx, unsigned ith, unsigned nth)
{
    job *j = ctx;
    size_t blocks = j->cn / 16, b0, b1;
    split_rows(blocks, ith, nth, &b0, &b1);
    size_t e1 = ith + 1 == nth ? j->cn : b1 * 16;
    for (size_t k = 0; k < j->inner; k++)
        g_floor.copy(j->cdst + b0 * 16, j->csrc + b0 * 16, e1 - b0 * 16);
}

/* ------------------------------------------------------------------------------------------ */
/* timing                                                                                     */

typedef struct timing {
    double val;                /* the reported statistic (--stat): median, or minimum */
    double med, min, p25, p75; /* ns per call */
    size_t reps, inner;
} timing;

static int g_stat_min; /* --stat min */

static double g_box_ns = 25e6; /* time box per implementation and shape */

static double run_rep(work_fn fn, job *j, unsigned nth)
{
    double t0 = now_ns();
    pool_run(fn, j, nth);
    return now_ns() - t0;
}

/* Calls per repetition so that a repetition lasts about TARGET_REP_NS; `one` is the fastest
 * single call seen (a preempted calibration call must not decide it). */
static size_t calls_per_rep(double one)
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
static double calibrate(work_fn fn, job *j, unsigned nth, double first)
{
    j->inner = 1;
    if (first < 0)
        first = run_rep(fn, j, nth);
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

static timing stats(double *v, size_t n, size_t inner)
{
    timing t = {0};
    qsort(v, n, sizeof(double), cmp_double);
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
static timing measure(work_fn fn, job *j, unsigned nth)
{
    static double buf[MAX_REPS];
    double one = calibrate(fn, j, nth, -1);
    j->inner = calls_per_rep(one);
    double start = now_ns();
    while (now_ns() - start < g_box_ns / 10 && one * (double)j->inner < g_box_ns / 10)
        run_rep(fn, j, nth);
    size_t n = 0;
    start = now_ns();
    while (n < MAX_REPS && (n < 3 || now_ns() - start < g_box_ns))
        buf[n++] = run_rep(fn, j, nth) / (double)j->inner;
    return stats(buf, n, j->inner);
}

/* ------------------------------------------------------------------------------------------ */
/* results                                                                                    */

enum { ST_OK, ST_FAIL, ST_ERROR };

typedef struct result {
    int impl, op;
    size_t dim, rows;
    unsigned thr;
    int dram; /* the rows came from the DRAM-batch rule */
    const char *mem;
    double bytes, ws_bytes;
    timing t;
    double gbps, pct_floor;
    int status, exact, is_ref;
    int stalled; /* the pool's round trip was far too long around this measurement */
    double maxdiff;
    double sp[3]; /* speedup vs naive, ggml, oneDNN; NAN: none */
    char note[96];
} result;

static result *g_res;
static size_t g_nres, g_capres;

static result *new_result(void)
{
    if (g_nres == g_capres) {
        g_capres = g_capres ? 2 * g_capres : 256;
        g_res = realloc(g_res, g_capres * sizeof *g_res);
        if (!g_res)
            die("out of memory");
    }
    result *r = &g_res[g_nres++];
    memset(r, 0, sizeof *r);
    r->sp[0] = r->sp[1] = r->sp[2] = NAN;
    r->pct_floor = NAN;
    return r;
}

/* ------------------------------------------------------------------------------------------ */
/* options                                                                                    */

typedef struct list {
    size_t v[64];
    int n;
} list;

#define ROWS_DRAM ((size_t)0)

static struct {
    int ops[OP_COUNT], nops;
    list dims, rows, thr;
    char tiers[256]; /* comma list, empty: all */
    int quick, pin;
    double time_ms;
    size_t llc_override;
    float eps;
    const char *csv, *json, *plot;
} opt;

static unsigned g_ncpu;
static int g_cpus[MAXT];
static size_t g_l1d, g_l2, g_llc_reported, g_llc;
static char g_llc_src[160];
static size_t g_dram_bytes;
static double g_copy_gbps[MAXT + 1];

static void usage(FILE *f)
{
    fprintf(f,
"usage: normbench [options]\n"
"  Benchmarks libnorm's LayerNorm/RMSNorm: every tier this CPU supports and the dispatched API,\n"
"  against the memory floor and the naive, ggml and oneDNN baselines, in one run.\n"
"\n"
"  --op LIST        ops: ln (LayerNorm, weight+bias), ln-plain (LayerNorm, no affine),\n"
"                   rms (RMSNorm, weight). Default: all.\n"
"  --dim LIST       row lengths. Default: 64,128,768,1024,2048,4096,8192,16384,65536.\n"
"  --rows LIST      rows per call; 'dram' = a batch whose x is twice the last-level cache\n"
"                   (x and y then stream from DRAM). Default: 1,32,512,dram.\n"
"  --threads LIST   threads splitting the rows (the benchmark's own pthreads, libnorm_opts\n"
"                   ith/nth); 'max' = all CPUs. Default: 1,2,4,... up to all CPUs.\n"
"  --tier LIST      implementations: scalar,avx2,avx512,neon,api,naive,ggml,onednn.\n"
"                   Default: all available. The floors are always measured.\n"
"  --quick          short time box (5 ms) and, unless given, dims 64,1024,4096,65536,\n"
"                   rows 32,dram, threads 1,max.\n"
"  --time MS        time box per implementation and shape (default 25 ms).\n"
"  --stat S         median (default) or min of the repetitions: the time every column uses.\n"
"                   min is steadier on a machine that other processes share.\n"
"  --llc SIZE       last-level cache size for the DRAM batch (e.g. 32M); default: sysfs, then\n"
"                   sysconf, then 32 MiB (also used when the reported size exceeds 256 MiB,\n"
"                   which some hypervisors report: the whole host's L3).\n"
"  --eps E          epsilon (default 1e-5).\n"
"  --pin            pin thread i to the i-th allowed CPU.\n"
"  --csv FILE, --json FILE   write every result (all statistics, checks, speedups).\n"
"  --plot FILE.png  GB/s against dim per implementation, floor drawn in (runs gnuplot; the\n"
"                   script is kept next to the image).\n"
"  --help\n"
"\n"
"Rows of the table: floor-rd (read-only pass over x), floor (reads x, w, b, writes y: the least\n"
"any norm moves; AVX-512/AVX2 intrinsics, non-temporal stores for a job whose x and y span\n"
"32 MiB or more, as libnorm), every libnorm tier through its internal table, api\n"
"(the dispatched public entry point, libnorm_opts ith/nth), naive (two-pass float), ggml (its\n"
"CPU algorithm: norm node then mul and add nodes, barriers between), onednn (oneDNN 2.6 layer\n"
"normalization, one primitive per thread over its rows; it has no RMSNorm).\n"
"Every result is checked first: libnorm bit-identical to the scalar tier, baselines within 1e-3\n"
"relative (check column: 'exact' or the max relative difference).\n"
"Byte model: a call moves 4*dim*(2*rows + P) bytes, P = 2 (ln: w, b), 1 (rms: w), 0\n"
"(ln-plain): x read once, y written once, w and b read once (write-allocate traffic and\n"
"re-reads from cache not counted). GB/s = those bytes / time; floor-rd counts x only.\n"
"%% floor = floor time / time, same shape, threads and buffers, measured interleaved with the\n"
"others. Speedups (vs naive/ggml/oneDNN): baseline time / libnorm time.\n");
}

static int parse_list(const char *s, list *l, int allow_dram, int allow_max)
{
    l->n = 0;
    char buf[512];
    snprintf(buf, sizeof buf, "%s", s);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        if (l->n == 64)
            return -1;
        if (allow_dram && (strcmp(tok, "dram") == 0 || strcmp(tok, "llc") == 0)) {
            l->v[l->n++] = ROWS_DRAM;
            continue;
        }
        if (allow_max && (strcmp(tok, "max") == 0 || strcmp(tok, "all") == 0)) {
            l->v[l->n++] = g_ncpu;
            continue;
        }
        char *end;
        errno = 0;
        unsigned long long v = strtoull(tok, &end, 10);
        if (errno || *end || v == 0 || tok[0] == '-')
            return -1;
        l->v[l->n++] = (size_t)v;
    }
    return l->n ? 0 : -1;
}

static size_t parse_size(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || v <= 0)
        return 0;
    switch (toupper((unsigned char)*end)) {
    case 'K': v *= 1024; break;
    case 'M': v *= 1024 * 1024; break;
    case 'G': v *= 1024.0 * 1024 * 1024; break;
    default: break;
    }
    return (size_t)v;
}

static int tier_wanted(const char *name)
{
    if (!opt.tiers[0])
        return 1;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", opt.tiers);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ","))
        if (strcmp(tok, name) == 0)
            return 1;
    return 0;
}

static void parse_args(int argc, char **argv)
{
    const char *op_s = NULL, *dim_s = NULL, *rows_s = NULL, *thr_s = NULL;
    opt.eps = 1e-5f;
    opt.time_ms = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEEDV()                                                                             \
    do {                                                                                    \
        if (!v)                                                                             \
            die("%s needs a value (--help)", a);                                            \
        i++;                                                                                \
    } while (0)
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            exit(0);
        } else if (!strcmp(a, "--op")) {
            NEEDV();
            op_s = v;
        } else if (!strcmp(a, "--dim")) {
            NEEDV();
            dim_s = v;
        } else if (!strcmp(a, "--rows")) {
            NEEDV();
            rows_s = v;
        } else if (!strcmp(a, "--threads")) {
            NEEDV();
            thr_s = v;
        } else if (!strcmp(a, "--tier")) {
            NEEDV();
            snprintf(opt.tiers, sizeof opt.tiers, "%s", v);
        } else if (!strcmp(a, "--quick")) {
            opt.quick = 1;
        } else if (!strcmp(a, "--stat")) {
            NEEDV();
            if (!strcmp(v, "min"))
                g_stat_min = 1;
            else if (strcmp(v, "median"))
                die("--stat: median or min");
        } else if (!strcmp(a, "--pin")) {
            opt.pin = 1;
        } else if (!strcmp(a, "--time")) {
            NEEDV();
            opt.time_ms = atof(v);
            if (!(opt.time_ms > 0))
                die("--time: a positive number of milliseconds");
        } else if (!strcmp(a, "--llc")) {
            NEEDV();
            opt.llc_override = parse_size(v);
            if (!opt.llc_override)
                die("--llc: a size such as 32M");
        } else if (!strcmp(a, "--eps")) {
            NEEDV();
            opt.eps = strtof(v, NULL);
            if (!(opt.eps >= 0) || !isfinite(opt.eps))
                die("--eps: a finite non-negative number");
        } else if (!strcmp(a, "--csv")) {
            NEEDV();
            opt.csv = v;
        } else if (!strcmp(a, "--json")) {
            NEEDV();
            opt.json = v;
        } else if (!strcmp(a, "--plot")) {
            NEEDV();
            opt.plot = v;
        } else {
            fprintf(stderr, "normbench: unknown argument '%s'\n\n", a);
            usage(stderr);
            exit(2);
        }
#undef NEEDV
    }
    if (op_s) {
        char buf[256];
        snprintf(buf, sizeof buf, "%s", op_s);
        for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
            int k = -1;
            for (int o = 0; o < OP_COUNT; o++)
                if (!strcmp(tok, op_names[o]))
                    k = o;
            if (k < 0)
                die("--op: unknown op '%s' (ln, ln-plain, rms)", tok);
            opt.ops[opt.nops++] = k;
        }
    } else {
        for (int o = 0; o < OP_COUNT; o++)
            opt.ops[opt.nops++] = o;
    }
    const char *dd = opt.quick ? "64,1024,4096,65536" : "64,128,768,1024,2048,4096,8192,16384,65536";
    if (parse_list(dim_s ? dim_s : dd, &opt.dims, 0, 0))
        die("--dim: a comma list of positive integers");
    if (parse_list(rows_s ? rows_s : opt.quick ? "32,dram" : "1,32,512,dram", &opt.rows, 1, 0))
        die("--rows: a comma list of positive integers and 'dram'");
    if (thr_s) {
        if (parse_list(thr_s, &opt.thr, 0, 1))
            die("--threads: a comma list of positive integers and 'max'");
    } else if (opt.quick) {
        parse_list(g_ncpu > 1 ? "1,max" : "1", &opt.thr, 0, 1);
    } else {
        opt.thr.n = 0;
        for (size_t t = 1; t < g_ncpu && opt.thr.n < 63; t *= 2)
            opt.thr.v[opt.thr.n++] = t;
        opt.thr.v[opt.thr.n++] = g_ncpu;
    }
    for (int i = 0; i < opt.thr.n; i++)
        if (opt.thr.v[i] > g_ncpu)
            die("--threads: at most %u, the CPUs this process may run on (the pool's threads "
                "spin-wait, as an engine's do: more threads than CPUs would measure the "
                "scheduler)", g_ncpu);
    if (opt.time_ms == 0)
        opt.time_ms = opt.quick ? 5 : 25;
    g_box_ns = opt.time_ms * 1e6;
}

/* ------------------------------------------------------------------------------------------ */
/* machine                                                                                    */

static size_t read_sysfs_size(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char buf[64] = {0};
    size_t v = 0;
    if (fgets(buf, sizeof buf, f))
        v = parse_size(buf);
    fclose(f);
    return v;
}

static void detect_machine(void)
{
    cpu_set_t set;
    g_ncpu = 0;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        for (int c = 0; c < CPU_SETSIZE && g_ncpu < MAXT; c++)
            if (CPU_ISSET(c, &set))
                g_cpus[g_ncpu++] = c;
    }
    if (g_ncpu == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        g_ncpu = n > 0 ? (unsigned)(n < MAXT ? n : MAXT) : 1;
        for (unsigned c = 0; c < g_ncpu; c++)
            g_cpus[c] = (int)c;
    }
    long v;
    g_l1d = (v = sysconf(_SC_LEVEL1_DCACHE_SIZE)) > 0 ? (size_t)v : 32 << 10;
    g_l2 = (v = sysconf(_SC_LEVEL2_CACHE_SIZE)) > 0 ? (size_t)v : 1 << 20;
}

/* Last-level cache: --llc; else the highest level in sysfs (the size of one instance); else
 * sysconf; else 32 MiB. A reported size above 256 MiB is taken for a virtual machine's artefact
 * (no core complex shares that much; some hypervisors report the whole host's L3) and replaced by
 * the 32 MiB fallback, with a note: pass --llc to override. */
static void detect_llc(void)
{
    size_t sz = 0;
    int level = 0;
    char src[96] = "";
    for (int i = 0; i < 10; i++) {
        char p[128];
        snprintf(p, sizeof p, "/sys/devices/system/cpu/cpu0/cache/index%d/level", i);
        FILE *f = fopen(p, "r");
        if (!f)
            continue;
        int lv = 0;
        if (fscanf(f, "%d", &lv) != 1)
            lv = 0;
        fclose(f);
        snprintf(p, sizeof p, "/sys/devices/system/cpu/cpu0/cache/index%d/size", i);
        size_t s = read_sysfs_size(p);
        if (lv > level && s) {
            level = lv;
            sz = s;
            snprintf(src, sizeof src, "sysfs L%d", lv);
        }
    }
    if (!sz) {
        long v = sysconf(_SC_LEVEL3_CACHE_SIZE);
        if (v > 0) {
            sz = (size_t)v;
            snprintf(src, sizeof src, "sysconf L3");
        } else if ((v = sysconf(_SC_LEVEL2_CACHE_SIZE)) > 0) {
            sz = (size_t)v;
            snprintf(src, sizeof src, "sysconf L2");
        }
    }
    g_llc_reported = sz;
    if (opt.llc_override) {
        g_llc = opt.llc_override;
        snprintf(g_llc_src, sizeof g_llc_src, "--llc");
    } else if (!sz) {
        g_llc = (size_t)32 << 20;
        snprintf(g_llc_src, sizeof g_llc_src, "not reported: 32 MiB fallback");
    } else if (sz > ((size_t)256 << 20)) {
        g_llc = (size_t)32 << 20;
        snprintf(g_llc_src, sizeof g_llc_src,
                 "%s reports %zu MiB, implausible for one core complex (VM?): 32 MiB fallback, "
                 "--llc overrides", src, sz >> 20);
    } else {
        g_llc = sz;
        snprintf(g_llc_src, sizeof g_llc_src, "%s", src);
    }
    g_dram_bytes = 2 * g_llc;
}

static void cpu_model(char *out, size_t n)
{
    snprintf(out, n, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, "model name", 10) || !strncmp(line, "Model", 5)) {
            char *c = strchr(line, ':');
            if (c) {
                c++;
                while (*c == ' ' || *c == '\t')
                    c++;
                c[strcspn(c, "\n")] = 0;
                snprintf(out, n, "%s", c);
                break;
            }
        }
    }
    fclose(f);
}

/* ------------------------------------------------------------------------------------------ */
/* data                                                                                       */

static float *g_x, *g_y, *g_ref, *g_w, *g_b;
static size_t g_cap; /* floats in x, y, ref */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static inline uint32_t rng(void)
{
    uint64_t x = rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return (uint32_t)((x * 0x2545F4914F6CDD1Dull) >> 40); /* 24 bits */
}
static inline float urand(void) { return (float)rng() * (1.0f / 16777216.0f); }

static size_t rows_for(size_t spec, size_t dim)
{
    if (spec != ROWS_DRAM)
        return spec;
    size_t r = (g_dram_bytes + dim * 4 - 1) / (dim * 4);
    return r ? r : 1;
}

static void alloc_buffers(void)
{
    size_t cap = g_dram_bytes / 4, maxdim = 1;
    for (int d = 0; d < opt.dims.n; d++) {
        size_t dim = opt.dims.v[d];
        if (dim > maxdim)
            maxdim = dim;
        for (int r = 0; r < opt.rows.n; r++) {
            size_t rows = rows_for(opt.rows.v[r], dim);
            if (dim > SIZE_MAX / 16 / rows)
                die("shape %zu x %zu too large", rows, dim);
            if (rows * dim > cap)
                cap = rows * dim;
        }
    }
    /* x, y, ref + slack; refuse to swap */
    double need = 3.0 * (double)cap * 4 + (8 << 20);
    long pages = sysconf(_SC_AVPHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
    if (pages > 0 && psz > 0 && need > 0.8 * (double)pages * (double)psz)
        die("the largest shape needs %.0f MiB of buffers, only %.0f MiB are free: reduce --rows "
            "or --dim", need / 1048576, (double)pages * (double)psz / 1048576);
    g_cap = cap;
    /* y sits 2 KiB past x modulo 4 KiB: both 64-byte aligned, no 4K aliasing between them */
    g_x = big_alloc(cap * 4);
    g_y = (float *)big_alloc(cap * 4 + 4096) + 512;
    g_ref = big_alloc(cap * 4);
    g_w = big_alloc(maxdim * 4 + 64);
    g_b = big_alloc(maxdim * 4 + 64);
    /* Pre-touch everything (first-touch faults are expensive on VMs). x: uniform in
     * [-1.5, 2.5) (mean 0.5), w in [0.5, 1.5), b in [-0.5, 0.5). */
    for (size_t i = 0; i < cap; i++)
        g_x[i] = 4.0f * urand() - 1.5f;
    memset(g_y, 0, cap * 4);
    memset(g_ref, 0, cap * 4);
    for (size_t i = 0; i < maxdim; i++) {
        g_w[i] = 0.5f + urand();
        g_b[i] = urand() - 0.5f;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* checking                                                                                   */

/* The scalar tier's output over the whole shape, single-threaded; returns its time. */
static double compute_ref(int op, size_t rows, size_t dim)
{
    norm_dsp s;
    norm_dsp_init(&s, NORM_TIER_SCALAR);
    norm_job nj = {g_ref, g_x, op_params[op] >= 1 ? g_w : NULL, op == OP_LN ? g_b : NULL,
                   rows, dim, dim, dim, opt.eps, NULL, NULL, NULL};
    double t0 = now_ns();
    if (op == OP_RMS)
        s.rmsnorm_f32(&nj);
    else
        s.layernorm_f32(&nj);
    return now_ns() - t0;
}

/* Compare y with the reference: exact (bitwise) or the max relative difference. */
static void compare(size_t n, int *exact, double *maxdiff)
{
    *exact = memcmp(g_y, g_ref, n * sizeof(float)) == 0;
    double md = 0;
    if (!*exact)
        for (size_t i = 0; i < n; i++) {
            double r = g_ref[i], d = fabs((double)g_y[i] - r) / fmax(1.0, fabs(r));
            if (!(d <= md)) /* NaN too */
                md = isnan(d) ? INFINITY : d;
        }
    *maxdiff = md;
}

/* ------------------------------------------------------------------------------------------ */
/* output                                                                                     */

static int g_tty_err;
static int g_progress_shown;

static void progress_clear(void)
{
    if (g_progress_shown) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
        g_progress_shown = 0;
    }
}

static void progress(size_t done, size_t total, const char *what, double t0)
{
    double el = (now_ns() - t0) / 1e9;
    static double last_plain;
    if (g_tty_err) {
        char eta[32] = "";
        if (done > 0)
            snprintf(eta, sizeof eta, ", ~%.0f s left", el / (double)done * (double)(total - done));
        fprintf(stderr, "\r\033[K[%zu/%zu shapes, %.0f s%s] %s", done, total, el, eta, what);
        fflush(stderr);
        g_progress_shown = 1;
    } else if (el - last_plain >= 15) {
        last_plain = el;
        fprintf(stderr, "normbench: %zu/%zu shapes, %.0f s\n", done, total, el);
    }
}

static const char *sp_str(char *buf, size_t n, const result *r, int k)
{
    if (!g_impl[r->impl].libnorm || r->status != ST_OK)
        return "";
    if (k == 2 && r->op == OP_RMS)
        return "n/a";
    if (k == 2 && !HAVE_DNNL)
        return "not built";
    if (isnan(r->sp[k]))
        return "-";
    snprintf(buf, n, "%.2fx", r->sp[k]);
    return buf;
}

static void print_header(void)
{
    printf("%-8s %-8s %6s %7s %3s %4s %8s %11s %8s %6s %-7s %8s %8s %9s\n", "impl", "op", "dim",
           "rows", "thr", "mem", "MiB", "ns/row", "GB/s", "%floor", "check", "vs naive",
           "vs ggml", "vs oneDNN");
}

/* print a table line without trailing blanks */
static void put_line(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    size_t n = strlen(line);
    while (n && line[n - 1] == ' ')
        line[--n] = 0;
    puts(line);
}

static int noisy(const result *r)
{
    return r->t.p75 - r->t.p25 > 0.1 * r->t.med;
}

static void print_result(const result *r)
{
    char chk[24], p[16], s0[16], s1[16], s2[16], ns[24];
    const impl *im = &g_impl[r->impl];
    if (im->kind == K_FLOOR || im->kind == K_FLOOR_RD)
        snprintf(chk, sizeof chk, "-");
    else if (r->status == ST_ERROR)
        snprintf(chk, sizeof chk, "ERROR");
    else if (r->is_ref)
        snprintf(chk, sizeof chk, "ref");
    else if (r->exact)
        snprintf(chk, sizeof chk, "exact");
    else
        snprintf(chk, sizeof chk, "%s%.0e", r->status == ST_FAIL ? "FAIL " : "", r->maxdiff);
    if (r->status != ST_OK) {
        put_line("%-8s %-8s %6zu %7zu %3u %4s %8.2f %11s %8s %6s %-7s  %s", im->name,
                 op_names[r->op], r->dim, r->rows, r->thr, r->mem, r->ws_bytes / 1048576.0, "-",
                 "-", "-", chk, r->note);
        return;
    }
    if (im->kind == K_FLOOR_RD || isnan(r->pct_floor))
        snprintf(p, sizeof p, "-");
    else
        snprintf(p, sizeof p, "%.0f%%", r->pct_floor);
    snprintf(ns, sizeof ns, "%.1f%s", r->t.val / (double)r->rows,
             r->stalled ? "!" : noisy(r) ? "~" : " ");
    put_line("%-8s %-8s %6zu %7zu %3u %4s %8.2f %11s %8.1f %6s %-7s %8s %8s %9s", im->name,
             op_names[r->op], r->dim, r->rows, r->thr, r->mem, r->ws_bytes / 1048576.0, ns,
             r->gbps, p, chk, sp_str(s0, sizeof s0, r, 0), sp_str(s1, sizeof s1, r, 1),
             sp_str(s2, sizeof s2, r, 2));
}

static void write_csv(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "normbench: cannot write %s: %s\n", path, strerror(errno));
        return;
    }
    fprintf(f, "impl,op,dim,rows,threads,dram_batch,mem,bytes_per_call,working_set_bytes,"
               "ns_per_call,ns_per_row,gbps,pct_floor,ns_min,ns_p25,ns_median,ns_p75,reps,calls_per_rep,"
               "status,exact,max_rel_diff,speedup_naive,speedup_ggml,speedup_onednn,note\n");
    for (size_t i = 0; i < g_nres; i++) {
        const result *r = &g_res[i];
        fprintf(f, "%s,%s,%zu,%zu,%u,%d,%s,%.0f,%.0f,", g_impl[r->impl].name, op_names[r->op],
                r->dim, r->rows, r->thr, r->dram, r->mem, r->bytes, r->ws_bytes);
        if (r->status == ST_OK)
            fprintf(f, "%.2f,%.3f,%.3f,", r->t.val, r->t.val / (double)r->rows, r->gbps);
        else
            fprintf(f, ",,,");
        if (isnan(r->pct_floor))
            fprintf(f, ",");
        else
            fprintf(f, "%.2f,", r->pct_floor);
        if (r->status == ST_OK)
            fprintf(f, "%.2f,%.2f,%.2f,%.2f,%zu,%zu,", r->t.min, r->t.p25, r->t.med, r->t.p75,
                    r->t.reps, r->t.inner);
        else
            fprintf(f, ",,,,,,");
        fprintf(f, "%s,%d,%.3g,",
                r->status == ST_OK ? "ok" : r->status == ST_FAIL ? "check_failed" : "error",
                r->exact, r->maxdiff);
        for (int k = 0; k < 3; k++) {
            if (isnan(r->sp[k]))
                fprintf(f, ",");
            else
                fprintf(f, "%.4f,", r->sp[k]);
        }
        fprintf(f, "\"%s\"\n", r->note);
    }
    fclose(f);
}

static void json_num(FILE *f, const char *key, double v, int last)
{
    if (isnan(v) || isinf(v))
        fprintf(f, "\"%s\": null%s", key, last ? "" : ", ");
    else
        fprintf(f, "\"%s\": %.6g%s", key, v, last ? "" : ", ");
}

static void write_json(const char *path, const char *model)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "normbench: cannot write %s: %s\n", path, strerror(errno));
        return;
    }
    fprintf(f, "{\n  \"program\": \"normbench\", \"libnorm_version\": \"%s\",\n",
            libnorm_version_string());
    fprintf(f, "  \"machine\": {\"cpu\": \"%s\", \"cpus\": %u, \"l1d_bytes\": %zu, "
               "\"l2_bytes\": %zu, \"llc_reported_bytes\": %zu, \"llc_used_bytes\": %zu, "
               "\"llc_source\": \"%s\", \"dram_batch_x_bytes\": %zu, \"dram_copy_gbps\": {",
            model, g_ncpu, g_l1d, g_l2, g_llc_reported, g_llc, g_llc_src, g_dram_bytes);
    int first = 1;
    for (int i = 0; i < opt.thr.n; i++) {
        unsigned t = (unsigned)opt.thr.v[i];
        fprintf(f, "%s\"%u\": %.3f", first ? "" : ", ", t, g_copy_gbps[t]);
        first = 0;
    }
    fprintf(f, "}},\n");
    fprintf(f, "  \"config\": {\"time_box_ms\": %g, \"eps\": %g, \"pinned\": %s, \"statistic\": \"%s\", "
               "\"api_isa\": \"%s\", \"floor_isa\": \"%s\", \"baseline_isa\": \"%s\", "
               "\"onednn\": \"%s\", \"byte_model\": \"4*dim*(2*rows+P), P=2 ln, 1 rms, 0 "
               "ln-plain\"},\n",
            opt.time_ms, (double)opt.eps, opt.pin ? "true" : "false",
            g_stat_min ? "min" : "median", libnorm_active_isa(), g_floor.isa, g_base.isa,
            g_dnnl_state);
    fprintf(f, "  \"results\": [\n");
    for (size_t i = 0; i < g_nres; i++) {
        const result *r = &g_res[i];
        fprintf(f, "    {\"impl\": \"%s\", \"op\": \"%s\", \"dim\": %zu, \"rows\": %zu, "
                   "\"threads\": %u, \"dram_batch\": %s, \"mem\": \"%s\", ",
                g_impl[r->impl].name, op_names[r->op], r->dim, r->rows, r->thr,
                r->dram ? "true" : "false", r->mem);
        fprintf(f, "\"status\": \"%s\", \"exact\": %s, ",
                r->status == ST_OK ? "ok" : r->status == ST_FAIL ? "check_failed" : "error",
                r->exact ? "true" : "false");
        json_num(f, "max_rel_diff", r->maxdiff, 0);
        json_num(f, "bytes_per_call", r->bytes, 0);
        int ok = r->status == ST_OK;
        json_num(f, "ns_per_call", ok ? r->t.val : NAN, 0);
        json_num(f, "ns_median", ok ? r->t.med : NAN, 0);
        json_num(f, "ns_per_row", ok ? r->t.val / (double)r->rows : NAN, 0);
        json_num(f, "gbps", ok ? r->gbps : NAN, 0);
        json_num(f, "pct_floor", r->pct_floor, 0);
        json_num(f, "ns_min", ok ? r->t.min : NAN, 0);
        json_num(f, "ns_p25", ok ? r->t.p25 : NAN, 0);
        json_num(f, "ns_p75", ok ? r->t.p75 : NAN, 0);
        json_num(f, "reps", ok ? (double)r->t.reps : NAN, 0);
        json_num(f, "speedup_naive", r->sp[0], 0);
        json_num(f, "speedup_ggml", r->sp[1], 0);
        json_num(f, "speedup_onednn", r->sp[2], 0);
        fprintf(f, "\"note\": \"%s\"}%s\n", r->note, i + 1 < g_nres ? "," : "");
    }
    fprintf(f, "  ]\n}\n");
    fclose(f);
}

/* ---- plot ---- */

static int find_in_path(const char *prog)
{
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/bin:/bin";
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *d = strtok(buf, ":"); d; d = strtok(NULL, ":")) {
        char p[4200];
        snprintf(p, sizeof p, "%s/%s", *d ? d : ".", prog);
        if (access(p, X_OK) == 0)
            return 1;
    }
    return 0;
}

static const char *impl_color(const impl *im)
{
    static const struct {
        const char *n, *c;
    } tab[] = {{"floor", "#000000"}, {"scalar", "#8c8c8c"}, {"avx2", "#1f77b4"},
               {"avx512", "#d62728"}, {"neon", "#17becf"}, {"api", "#2ca02c"},
               {"naive", "#8c564b"}, {"ggml", "#ff7f0e"}, {"onednn", "#9467bd"}};
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (!strcmp(tab[i].n, im->name))
            return tab[i].c;
    return "#444444";
}

/* Whether implementation ii has a plottable point (measured, not stalled) in a panel. */
static int series_valid(int ii, int op, size_t rs, unsigned th)
{
    for (size_t k = 0; k < g_nres; k++) {
        const result *r = &g_res[k];
        if (r->impl == ii && r->op == op && r->thr == th && r->status == ST_OK && !r->stalled &&
            (rs == ROWS_DRAM ? r->dram : (!r->dram && r->rows == rs)))
            return 1;
    }
    return 0;
}

static void write_plot(const char *png, const char *model)
{
    if (!find_in_path("gnuplot")) {
        fprintf(stderr, "normbench: gnuplot not found, plot skipped (Debian: apt-get install "
                        "gnuplot-nox)\n");
        return;
    }
    /* panels: (rows spec, threads) x op */
    int ops[OP_COUNT], nops = 0;
    for (int i = 0; i < opt.nops; i++)
        ops[nops++] = opt.ops[i];
    int npr = opt.rows.n * opt.thr.n;
    char gp[4096];
    snprintf(gp, sizeof gp, "%s", png);
    char *dot = strrchr(gp, '.');
    if (dot && !strchr(dot, '/'))
        *dot = 0;
    strncat(gp, ".gp", sizeof gp - strlen(gp) - 1);
    FILE *f = fopen(gp, "w");
    if (!f) {
        fprintf(stderr, "normbench: cannot write %s: %s\n", gp, strerror(errno));
        return;
    }
    int W = 700 * nops, H = 360 * npr + 60;
    fprintf(f, "# normbench plot script (rerun: gnuplot %s)\n", gp);
    fprintf(f, "set terminal pngcairo size %d,%d font 'sans,9'\nset output '%s'\n", W, H, png);
    /* data */
    for (int pr = 0; pr < npr; pr++)
        for (int oi = 0; oi < nops; oi++)
            for (int ii = 0; ii < g_nimpl; ii++) {
                if (g_impl[ii].kind == K_FLOOR_RD)
                    continue;
                size_t rs = opt.rows.v[pr / opt.thr.n];
                unsigned th = (unsigned)opt.thr.v[pr % opt.thr.n];
                if (!series_valid(ii, ops[oi], rs, th))
                    continue;
                int any = 0;
                for (int d = 0; d < opt.dims.n; d++)
                    for (size_t k = 0; k < g_nres; k++) {
                        const result *r = &g_res[k];
                        if (r->impl != ii || r->op != ops[oi] || r->thr != th ||
                            r->dim != opt.dims.v[d] || r->status != ST_OK ||
                            (rs == ROWS_DRAM ? !r->dram : (r->dram || r->rows != rs)))
                            continue;
                        if (!any)
                            fprintf(f, "$d%d_%d_%d << EOD\n", pr, oi, ii);
                        any = 1;
                        if (r->stalled) /* not a measurement: a gap in the line */
                            fprintf(f, "\n");
                        else
                            fprintf(f, "%zu %.4f\n", r->dim, r->gbps);
                    }
                if (any)
                    fprintf(f, "EOD\n");
            }
    fprintf(f, "set multiplot layout %d,%d title \"normbench, libnorm %s on %s (%u CPUs): GB/s = "
               "bytes of x, y, w, b per call / %s time (higher is better)\\nfloor: a pass that "
               "reads x, w, b and writes y (%s intrinsics; non-temporal stores for DRAM-sized "
               "jobs), same shape and threads; DRAM copy: read + non-temporal write bandwidth\" "
               "font 'sans,11'\n",
            npr, nops, libnorm_version_string(), model, g_ncpu, g_stat_min ? "minimum" : "median",
            g_floor.isa);
    fprintf(f, "set logscale x 2\nset grid\nset yrange [0:*]\nset xlabel 'dim'\n"
               "set ylabel 'GB/s'\nset key outside right top vertical font ',8' samplen 2 spacing 1.0\n");
    fprintf(f, "set xtics (");
    for (int d = 0; d < opt.dims.n; d++) {
        size_t v = opt.dims.v[d];
        if (v >= 1024 && v % 1024 == 0)
            fprintf(f, "%s\"%zuK\" %zu", d ? ", " : "", v / 1024, v);
        else
            fprintf(f, "%s\"%zu\" %zu", d ? ", " : "", v, v);
    }
    fprintf(f, ")\n");
    size_t dmin = SIZE_MAX, dmax = 0;
    for (int d = 0; d < opt.dims.n; d++) {
        dmin = opt.dims.v[d] < dmin ? opt.dims.v[d] : dmin;
        dmax = opt.dims.v[d] > dmax ? opt.dims.v[d] : dmax;
    }
    fprintf(f, "set xrange [%g:%g]\nset xtics rotate by 45 right font ',8'\n", dmin / 1.3,
            dmax * 1.3);
    for (int pr = 0; pr < npr; pr++) {
        size_t rs = opt.rows.v[pr / opt.thr.n];
        unsigned th = (unsigned)opt.thr.v[pr % opt.thr.n];
        for (int oi = 0; oi < nops; oi++) {
            char rowsdesc[96];
            if (rs == ROWS_DRAM)
                snprintf(rowsdesc, sizeof rowsdesc, "DRAM batch (x = %zu MiB)", g_dram_bytes >> 20);
            else
                snprintf(rowsdesc, sizeof rowsdesc, "%zu row%s", rs, rs == 1 ? "" : "s");
            fprintf(f, "set title \"%s | %s | %u thread%s\"\n", op_titles[ops[oi]], rowsdesc, th,
                    th == 1 ? "" : "s");
            int nser = 0;
            for (int ii = 0; ii < g_nimpl; ii++)
                nser += g_impl[ii].kind != K_FLOOR_RD && series_valid(ii, ops[oi], rs, th);
            if (!nser) {
                /* nothing measured here (every point stalled, or failed): say so */
                fprintf(f, "set label 1 'no data (stalled thread pool or failed)' at graph 0.5,0.5 "
                           "center\nset yrange [0:1]\n"
                           "plot 0 lc rgb '#ffffff' notitle\nunset label 1\nset yrange [0:*]\n");
                continue;
            }
            fprintf(f, "plot NaN notitle");
            for (int ii = 0; ii < g_nimpl; ii++) {
                const impl *im = &g_impl[ii];
                if (im->kind == K_FLOOR_RD || !series_valid(ii, ops[oi], rs, th))
                    continue;
                int floor = im->kind == K_FLOOR;
                fprintf(f, ", $d%d_%d_%d u 1:2 w lp lw %s pt 7 ps 0.5 lc rgb '%s'%s t '%s'", pr,
                        oi, ii, floor ? "3" : "1.5", impl_color(im),
                        im->kind == K_API ? " dt 2" : "",
                        floor ? "floor" : im->name);
            }
            if (rs == ROWS_DRAM && g_copy_gbps[th] > 0)
                fprintf(f, ", %.3f w l dt 3 lw 1.5 lc rgb '#555555' t 'DRAM copy %.0f'",
                        g_copy_gbps[th], g_copy_gbps[th]);
            fprintf(f, "\n");
        }
    }
    fprintf(f, "unset multiplot\n");
    fclose(f);
    pid_t pid;
    char *argv[] = {"gnuplot", gp, NULL};
    if (posix_spawnp(&pid, "gnuplot", NULL, NULL, argv, environ) != 0) {
        fprintf(stderr, "normbench: cannot run gnuplot, plot skipped\n");
        return;
    }
    int st = 0;
    waitpid(pid, &st, 0);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        printf("plot: %s (gnuplot script: %s)\n", png, gp);
    else
        fprintf(stderr, "normbench: gnuplot failed on %s\n", gp);
}

/* ------------------------------------------------------------------------------------------ */
/* summary                                                                                    */

static void summary(void)
{
    printf("\nSummary (geometric mean over shapes, worst in brackets; stalled shapes left out):\n");
    printf("%-8s %16s %18s %18s %18s\n", "impl", "% floor", "vs naive", "vs ggml", "vs oneDNN");
    for (int ii = 0; ii < g_nimpl; ii++) {
        if (!g_impl[ii].libnorm)
            continue;
        double lp = 0, lsp[3] = {0}, mp = INFINITY, msp[3] = {INFINITY, INFINITY, INFINITY};
        int np = 0, nsp[3] = {0};
        for (size_t k = 0; k < g_nres; k++) {
            const result *r = &g_res[k];
            if (r->impl != ii || r->status != ST_OK || r->stalled)
                continue;
            if (!isnan(r->pct_floor)) {
                lp += log(r->pct_floor);
                mp = fmin(mp, r->pct_floor);
                np++;
            }
            for (int s = 0; s < 3; s++)
                if (!isnan(r->sp[s])) {
                    lsp[s] += log(r->sp[s]);
                    msp[s] = fmin(msp[s], r->sp[s]);
                    nsp[s]++;
                }
        }
        char c[4][40];
        if (np)
            snprintf(c[0], 40, "%.0f%% [%.0f%%]", exp(lp / np), mp);
        else
            snprintf(c[0], 40, "-");
        for (int s = 0; s < 3; s++) {
            if (nsp[s])
                snprintf(c[s + 1], 40, "%.2fx [%.2fx]", exp(lsp[s] / nsp[s]), msp[s]);
            else
                snprintf(c[s + 1], 40, "%s", s == 2 && !HAVE_DNNL ? "not built" : "-");
        }
        printf("%-8s %16s %18s %18s %18s\n", g_impl[ii].name, c[0], c[1], c[2], c[3]);
    }

    /* DESIGN.md section 5 targets, for the dispatched API */
    int api = -1;
    for (int ii = 0; ii < g_nimpl; ii++)
        if (g_impl[ii].kind == K_API)
            api = ii;
    if (api < 0)
        return;
    int n = 0, nf = 0, nd = 0, ndf = 0, ng = 0, ngf = 0, nstall = 0;
    const result *wf = NULL, *wd = NULL, *wg = NULL;
    for (size_t k = 0; k < g_nres; k++) {
        const result *r = &g_res[k];
        if (r->impl != api || r->status != ST_OK)
            continue;
        if (r->stalled) {
            nstall++;
            continue;
        }
        if (!isnan(r->pct_floor)) {
            n++;
            if (r->pct_floor < 90)
                nf++;
            if (!wf || r->pct_floor < wf->pct_floor)
                wf = r;
        }
        if (!isnan(r->sp[2])) {
            nd++;
            if (r->sp[2] < 1.6)
                ndf++;
            if (!wd || r->sp[2] < wd->sp[2])
                wd = r;
        }
        if (!isnan(r->sp[1])) {
            ng++;
            if (r->sp[1] < 6)
                ngf++;
            if (!wg || r->sp[1] < wg->sp[1])
                wg = r;
        }
    }
    printf("\nDESIGN.md section 5 targets, dispatched API (%s):\n", libnorm_active_isa());
#define WORST(r, fmt, v)                                                                    \
    if (r)                                                                                  \
        printf("; worst " fmt " at %s dim %zu rows %zu thr %u", v, op_names[r->op], r->dim,   \
               r->rows, r->thr)
    printf("  >= 90%% of the floor: %d of %d shapes met%s", n - nf, n, nf ? " (MISS)" : "");
    WORST(wf, "%.0f%%", wf->pct_floor);
    printf("\n  >= 1.6x oneDNN:      ");
    if (nd) {
        printf("%d of %d shapes met%s", nd - ndf, nd, ndf ? " (MISS)" : "");
        WORST(wd, "%.2fx", wd->sp[2]);
    } else {
        printf("%s", HAVE_DNNL ? "no LayerNorm shapes measured" : "oneDNN not built");
    }
    printf("\n  >= 6x ggml:          %d of %d shapes met%s", ng - ngf, ng, ngf ? " (MISS)" : "");
    WORST(wg, "%.2fx", wg->sp[1]);
    printf("\n");
    if (nstall)
        printf("  (%d shape%s left out: thread pool stalled by other processes; rerun on an idle "
               "machine)\n", nstall, nstall == 1 ? "" : "s");
#undef WORST
    for (size_t k = 0; k < g_nres; k++) {
        const result *r = &g_res[k];
        if (r->impl == api && r->status == ST_OK && r->rows == 1 && r->thr == 1 &&
            r->dim == 64 && r->op == OP_LN)
            printf("  single-row call, ln dim 64: %.1f ns per call (target: overhead <~20 ns)\n",
                   r->t.val);
    }
}

/* ------------------------------------------------------------------------------------------ */

static const char *mem_level(double ws, unsigned thr)
{
    double per = ws / thr;
    if (ws > (double)g_llc)
        return "DRAM";
    if (per <= (double)g_l1d)
        return "L1";
    if (per <= (double)g_l2)
        return "L2";
    return "L3";
}

static void build_impls(void)
{
    g_nimpl = 0;
    impl *im;
    im = &g_impl[g_nimpl++];
    snprintf(im->name, sizeof im->name, "floor-rd");
    im->kind = K_FLOOR_RD;
    im = &g_impl[g_nimpl++];
    snprintf(im->name, sizeof im->name, "floor");
    im->kind = K_FLOOR;
    for (int t = 0; t < NORM_TIER_COUNT; t++) {
        norm_dsp d;
        const char *name = norm_tier_name(t);
        if (!tier_wanted(name))
            continue;
        if (norm_dsp_init(&d, t) != 0) {
            if (opt.tiers[0])
                fprintf(stderr, "normbench: tier %s is not available on this CPU/build\n", name);
            continue;
        }
        im = &g_impl[g_nimpl++];
        snprintf(im->name, sizeof im->name, "%s", name);
        im->kind = K_TIER;
        im->libnorm = 1;
        im->dsp = d;
    }
    static const struct {
        const char *n;
        int k, lib;
    } rest[] = {{"api", K_API, 1}, {"naive", K_NAIVE, 0}, {"ggml", K_GGML, 0},
                {"onednn", K_DNNL, 0}};
    for (size_t i = 0; i < sizeof rest / sizeof rest[0]; i++) {
        if (!tier_wanted(rest[i].n))
            continue;
        if (rest[i].k == K_DNNL && !HAVE_DNNL) {
            if (opt.tiers[0])
                fprintf(stderr, "normbench: onednn: not built (install libdnnl-dev, reconfigure)\n");
            continue;
        }
        im = &g_impl[g_nimpl++];
        snprintf(im->name, sizeof im->name, "%s", rest[i].n);
        im->kind = rest[i].k;
        im->libnorm = rest[i].lib;
    }
    if (opt.tiers[0]) {
        char buf[256];
        snprintf(buf, sizeof buf, "%s", opt.tiers);
        for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ","))
            if (norm_tier_from_name(tok) < 0 && strcmp(tok, "api") && strcmp(tok, "naive") &&
                strcmp(tok, "ggml") && strcmp(tok, "onednn"))
                die("--tier: unknown implementation '%s'", tok);
    }
}

static void empty_fn(void *ctx, unsigned ith, unsigned nth) {}

/* Median time of n jobs that do nothing, on thr threads: the pool's wake-up and barrier cost,
 * which balloons when other processes hold the CPUs. */
static double pool_round_trip(unsigned thr, int n)
{
    double v[201];
    if (n > 201)
        n = 201;
    for (int i = 0; i < 3; i++)
        pool_run(empty_fn, NULL, thr);
    double start = now_ns();
    int m = 0;
    while (m < n && (m < 3 || now_ns() - start < 20e6)) {
        double t0 = now_ns();
        pool_run(empty_fn, NULL, thr);
        v[m++] = now_ns() - t0;
    }
    qsort(v, (size_t)m, sizeof(double), cmp_double);
    return v[m / 2];
}

static job g_job[16]; /* one per implementation of the current shape */
static double g_reps[16][MAX_REPS];

/* Measure every implementation on one shape. Each one is first checked against the scalar
 * tier's output, then calibrated; then the timed repetitions go round-robin over the
 * implementations (the start rotating each round), so that all of them, the floor included, see
 * the same machine: DRAM bandwidth and the neighbours' load drift over seconds on shared
 * machines. Fills g_res[first .. first + g_nimpl) (the implementations that apply). */
static void run_shape(size_t first, int op, size_t rows, size_t dim, unsigned thr, double ref_ns)
{
    int idx[16], n = 0;
    size_t inner[16];
    for (size_t k = first; k < g_nres; k++)
        idx[n++] = (int)k;
    /* set up and check */
    double one[16];
    for (int s = 0; s < n; s++) {
        result *r = &g_res[idx[s]];
        const impl *im = &g_impl[r->impl];
        job *j = &g_job[s];
        j->im = im;
        j->op = op;
        j->x = g_x;
        j->y = g_y;
        j->w = op_params[op] >= 1 ? g_w : NULL;
        j->b = op == OP_LN ? g_b : NULL;
        j->rows = rows;
        j->dim = dim;
        j->eps = opt.eps;
        j->inner = 1;
        one[s] = -1;
        atomic_store(&j->fail, 0);
        if (im->kind == K_DNNL) {
            pool_run(dnnl_setup_fn, j, thr);
            if (atomic_load(&j->fail)) {
                r->status = ST_ERROR;
                for (unsigned t = 0; t < thr; t++)
                    if (j->dn_err[t][0]) {
                        snprintf(r->note, sizeof r->note, "%s", j->dn_err[t]);
                        break;
                    }
                continue;
            }
        }
        if (im->kind == K_FLOOR || im->kind == K_FLOOR_RD)
            continue;
        if (im->kind == K_TIER && im->dsp.tier == NORM_TIER_SCALAR && thr == 1) {
            /* the reference itself (same kernel, same call): its run is the reference's */
            r->exact = 1;
            r->is_ref = 1;
            one[s] = ref_ns;
            continue;
        }
        /* correctness first: poison y, one call, compare with the scalar tier */
        memset(g_y, 0xff, rows * dim * sizeof(float));
        one[s] = run_rep(job_fn, j, thr);
        if (atomic_load(&j->fail)) {
            r->status = ST_ERROR;
            snprintf(r->note, sizeof r->note, "call failed (%d)", atomic_load(&j->fail));
            continue;
        }
        compare(rows * dim, &r->exact, &r->maxdiff);
        if (im->libnorm ? !r->exact : !(r->maxdiff <= BASE_TOL)) {
            r->status = ST_FAIL;
            snprintf(r->note, sizeof r->note, "%s (max rel diff %.3g)",
                     im->libnorm ? "not bit-identical to the scalar tier"
                                 : "differs from the scalar tier by more than 1e-3",
                     r->maxdiff);
        }
    }
    /* calibrate, warm up */
    int nok = 0;
    double round_est = 0;
    for (int s = 0; s < n; s++) {
        if (g_res[idx[s]].status != ST_OK)
            continue;
        nok++;
        one[s] = calibrate(job_fn, &g_job[s], thr, one[s]);
        inner[s] = calls_per_rep(one[s]);
        g_job[s].inner = inner[s];
        round_est += one[s] * (double)inner[s];
    }
    double start = now_ns();
    while (round_est < g_box_ns * nok / 10 && now_ns() - start < g_box_ns * nok / 10)
        for (int s = 0; s < n; s++)
            if (g_res[idx[s]].status == ST_OK)
                run_rep(job_fn, &g_job[s], thr);
    /* timed rounds, with the pool's round trip checked before and after */
    double stall = thr > 1 ? pool_round_trip(thr, 5) : 0;
    size_t rounds = 0;
    start = now_ns();
    while (nok && rounds < MAX_REPS && (rounds < 3 || now_ns() - start < g_box_ns * nok)) {
        for (int k = 0; k < n; k++) {
            int s = (int)((k + rounds) % (size_t)n);
            if (g_res[idx[s]].status == ST_OK)
                g_reps[s][rounds] = run_rep(job_fn, &g_job[s], thr) / (double)inner[s];
        }
        rounds++;
    }
    if (thr > 1) {
        double after = pool_round_trip(thr, 5);
        stall = after > stall ? after : stall;
    }
    for (int s = 0; s < n; s++) {
        result *r = &g_res[idx[s]];
        if (stall > STALL_NS) {
            r->stalled = 1;
            if (r->status == ST_OK)
                snprintf(r->note, sizeof r->note,
                         "thread pool stalled (%.0f us round trip): CPUs held by other processes",
                         stall / 1e3);
        }
        if (r->status == ST_OK) {
            r->t = stats(g_reps[s], rounds, inner[s]);
            if (atomic_load(&g_job[s].fail)) {
                r->status = ST_ERROR;
                snprintf(r->note, sizeof r->note, "call failed during timing");
            }
        }
        if (g_impl[r->impl].kind == K_DNNL)
            pool_run(dnnl_teardown_fn, &g_job[s], thr);
    }
}

/* CPUs kept busy by others (and stolen by the hypervisor) over 200 ms while this process
 * sleeps, from /proc/stat; < 0 when unknown. */
static double others_busy_cpus(void)
{
    unsigned long long a[2][8];
    for (int k = 0; k < 2; k++) {
        FILE *f = fopen("/proc/stat", "r");
        if (!f)
            return -1;
        int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &a[k][0], &a[k][1],
                       &a[k][2], &a[k][3], &a[k][4], &a[k][5], &a[k][6], &a[k][7]);
        fclose(f);
        if (n != 8)
            return -1;
        if (k == 0) {
            struct timespec ts = {0, 200000000};
            nanosleep(&ts, NULL);
        }
    }
    double busy = 0, total = 0;
    for (int i = 0; i < 8; i++) {
        double d = (double)(a[1][i] - a[0][i]);
        total += d;
        if (i != 3 && i != 4) /* idle, iowait */
            busy += d;
    }
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    return total > 0 ? busy / total * (double)(ncpu > 0 ? ncpu : 1) : -1;
}

static void measure_copy(void)
{
    job *j = &g_job[0];
    j->csrc = g_x;
    j->cdst = g_y;
    j->cn = g_dram_bytes / 4 < g_cap ? g_dram_bytes / 4 : g_cap;
    for (int i = 0; i < opt.thr.n; i++) {
        unsigned t = (unsigned)opt.thr.v[i];
        if (g_copy_gbps[t] > 0)
            continue;
        timing tm = measure(copy_fn, j, t);
        g_copy_gbps[t] = 2.0 * (double)j->cn * 4 / tm.min; /* a ceiling: the best repetition */
    }
}

int main(int argc, char **argv)
{
    detect_machine();
    parse_args(argc, argv);
    detect_llc();
    select_variants();
    g_tty_err = isatty(2);
#if HAVE_DNNL
    g_dnnl_state = nb_dnnl_version();
#endif
    build_impls();

    unsigned maxthr = 1;
    for (int i = 0; i < opt.thr.n; i++)
        maxthr = opt.thr.v[i] > maxthr ? (unsigned)opt.thr.v[i] : maxthr;
    int cpus[MAXT];
    for (unsigned i = 0; i < maxthr; i++)
        cpus[i] = g_cpus[i % g_ncpu];
    pool_start(maxthr, opt.pin ? cpus : NULL);

    char model[256];
    cpu_model(model, sizeof model);
    printf("normbench (libnorm %s): %s, %u CPU%s%s\n", libnorm_version_string(), model, g_ncpu,
           g_ncpu == 1 ? "" : "s", opt.pin ? ", threads pinned" : "");
    printf("libnorm tiers:");
    for (int i = 0; i < g_nimpl; i++)
        if (g_impl[i].kind == K_TIER)
            printf(" %s", g_impl[i].name);
    printf("; api -> %s (LIBNORM_ISA=%s)\n", libnorm_active_isa(),
           getenv("LIBNORM_ISA") ? getenv("LIBNORM_ISA") : "unset");
    printf("floors: %s; baselines: naive + ggml built for %s, oneDNN %s\n",
           strcmp(g_floor.isa, "generic") ? (!strcmp(g_floor.isa, "avx512") ? "avx512 intrinsics"
                                                                           : "avx2 intrinsics")
                                          : "portable C",
           g_base.isa, g_dnnl_state);
    printf("caches: L1d %zu KiB, L2 %zu KiB, LLC %zu MiB (%s); DRAM batch: x = %zu MiB\n",
           g_l1d >> 10, g_l2 >> 10, g_llc >> 20, g_llc_src, g_dram_bytes >> 20);

    double t_start = now_ns();
    alloc_buffers();
    measure_copy();
    printf("DRAM copy bandwidth (read + non-temporal write, %zu MiB, best repetition):",
           (g_dram_bytes >> 20));
    for (int i = 0; i < opt.thr.n; i++)
        printf(" %zu thr %.1f GB/s%s", opt.thr.v[i], g_copy_gbps[opt.thr.v[i]],
               i + 1 < opt.thr.n ? "," : "");
    double others = others_busy_cpus();
    printf("\n");
    int busy = 0, first_rt = 1;
    for (int i = 0; i < opt.thr.n; i++) {
        unsigned t = (unsigned)opt.thr.v[i];
        if (t < 2)
            continue;
        double rt = pool_round_trip(t, 201);
        busy |= rt > STALL_NS;
        printf("%s %u thr %.2f us", first_rt ? "thread pool round trip (empty job):" : ",", t,
               rt / 1e3);
        first_rt = 0;
    }
    if (others >= 0)
        printf("%sother processes kept %.2f of %u CPUs busy", first_rt ? "" : "; ", others,
               g_ncpu);
    printf("\n");
    if (busy || others > 0.25)
        printf("warning: other processes are using the CPUs: timings are noisy, multi-threaded ones "
               "above all\n");
    printf("time box %.0f ms per implementation and shape, repetitions interleaved across the "
           "implementations\n"
           "ns/row: %s of the repetitions; ~ interquartile range above 10%% of the median;\n"
           "        ! thread pool stalled by other processes (not a measurement)\n"
           "GB/s: bytes of x, y, w, b a call must move / time (--help: byte model)\n"
           "%%floor: floor time / time; vs X: X's time / this time; check: against the scalar "
           "tier\n\n",
           opt.time_ms, g_stat_min ? "minimum" : "median");
    print_header();
    fflush(stdout);

    size_t total = (size_t)opt.nops * opt.dims.n * opt.rows.n * opt.thr.n, done = 0;
    int failures = 0;
    int naive_i = -1, ggml_i = -1, dnnl_i = -1, floor_i = 1;
    for (int i = 0; i < g_nimpl; i++) {
        if (g_impl[i].kind == K_NAIVE)
            naive_i = i;
        if (g_impl[i].kind == K_GGML)
            ggml_i = i;
        if (g_impl[i].kind == K_DNNL)
            dnnl_i = i;
    }
    for (int oi = 0; oi < opt.nops; oi++) {
        int op = opt.ops[oi];
        for (int di = 0; di < opt.dims.n; di++) {
            size_t dim = opt.dims.v[di];
            for (int ri = 0; ri < opt.rows.n; ri++) {
                size_t rows = rows_for(opt.rows.v[ri], dim);
                int dram = opt.rows.v[ri] == ROWS_DRAM;
                double ref_ns = compute_ref(op, rows, dim);
                for (int ti = 0; ti < opt.thr.n; ti++) {
                    unsigned thr = (unsigned)opt.thr.v[ti];
                    size_t first = g_nres;
                    double bytes = 4.0 * (double)dim * (2.0 * (double)rows + op_params[op]);
                    char what[96];
                    snprintf(what, sizeof what, "%s dim %zu rows %zu thr %u", op_names[op], dim,
                             rows, thr);
                    progress(done, total, what, t_start);
                    for (int ii = 0; ii < g_nimpl; ii++) {
                        if (g_impl[ii].kind == K_DNNL && op == OP_RMS)
                            continue; /* oneDNN 2.6 has no RMSNorm */
                        result *r = new_result();
                        r->impl = ii;
                        r->op = op;
                        r->dim = dim;
                        r->rows = rows;
                        r->thr = thr;
                        r->dram = dram;
                        r->bytes = g_impl[ii].kind == K_FLOOR_RD ? 4.0 * (double)dim * rows : bytes;
                        r->ws_bytes = bytes;
                        r->mem = mem_level(bytes, thr);
                    }
                    run_shape(first, op, rows, dim, thr, ref_ns);
                    for (size_t k = first; k < g_nres; k++) {
                        result *r = &g_res[k];
                        if (r->status == ST_OK)
                            r->gbps = r->bytes / r->t.val;
                        else
                            failures++;
                    }
                    /* derived columns */
                    const result *fl = NULL, *base[3] = {NULL, NULL, NULL};
                    for (size_t k = first; k < g_nres; k++) {
                        const result *r = &g_res[k];
                        if (r->status != ST_OK)
                            continue;
                        if (r->impl == floor_i)
                            fl = r;
                        if (r->impl == naive_i)
                            base[0] = r;
                        if (r->impl == ggml_i)
                            base[1] = r;
                        if (r->impl == dnnl_i)
                            base[2] = r;
                    }
                    for (size_t k = first; k < g_nres; k++) {
                        result *r = &g_res[k];
                        if (r->status != ST_OK)
                            continue;
                        if (fl && g_impl[r->impl].kind != K_FLOOR_RD)
                            r->pct_floor = 100.0 * fl->t.val / r->t.val;
                        if (g_impl[r->impl].libnorm)
                            for (int s = 0; s < 3; s++)
                                if (base[s])
                                    r->sp[s] = base[s]->t.val / r->t.val;
                    }
                    progress_clear();
                    for (size_t k = first; k < g_nres; k++)
                        print_result(&g_res[k]);
                    printf("\n");
                    fflush(stdout);
                    done++;
                }
            }
        }
    }
    progress_clear();
    pool_stop();

    /* Self-check of the DRAM batch: its floor should not beat DRAM copy bandwidth by much. */
    for (int ti = 0; ti < opt.thr.n; ti++) {
        unsigned t = (unsigned)opt.thr.v[ti];
        double v[64];
        int nv = 0;
        for (size_t k = 0; k < g_nres && nv < 64; k++) {
            const result *r = &g_res[k];
            if (r->impl == floor_i && r->dram && r->thr == t && r->status == ST_OK && !r->stalled)
                v[nv++] = r->gbps;
        }
        if (!nv || !(g_copy_gbps[t] > 0))
            continue;
        qsort(v, (size_t)nv, sizeof(double), cmp_double);
        double med = v[nv / 2];
        if (med > 1.5 * g_copy_gbps[t])
            printf("warning: the DRAM batch's floor (median %.1f GB/s, %u thr) is well above the "
                   "DRAM copy bandwidth (%.1f GB/s): the batch may be cache-resident; raise "
                   "--llc\n",
                   med, t, g_copy_gbps[t]);
    }
    summary();
    printf("\n%zu measurements in %.0f s%s\n", g_nres, (now_ns() - t_start) / 1e9,
           failures ? "" : ", every result checked against the scalar tier");
    if (failures)
        printf("%d measurement%s FAILED (check or call error): see the rows marked FAIL/ERROR\n",
               failures, failures == 1 ? "" : "s");
    if (opt.csv) {
        write_csv(opt.csv);
        printf("csv: %s\n", opt.csv);
    }
    if (opt.json) {
        write_json(opt.json, model);
        printf("json: %s\n", opt.json);
    }
    if (opt.plot)
        write_plot(opt.plot, model);
    return failures ? 1 : 0;
}
