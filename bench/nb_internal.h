/*
 * normbench's own interface between its files: the structs and globals they share and the
 * functions each exports. Which file owns what:
 *   normbench.c    main: the sweep loop, one shape's check-calibrate-time run, derived columns
 *   nb_options.c   the sweep definition (ops, default lists, the grid, per-head and single-row
 *                  groups: nb_build_sweep), --help, argument parsing
 *   nb_pool.c      the thread pool (persistent workers, barrier) and pinning
 *   nb_timing.c    calibration, repetitions and their statistics
 *   nb_machine.c   CPU count, caches, CPU model and features, the load of other processes
 *   nb_limits.c    the physical limits: the portable floors, DRAM copy bandwidth, its self-check,
 *                  and which limit (streaming or two-pass) each row is judged against
 *   nb_data.c      the buffers every implementation runs on and the check against the scalar tier
 *   nb_impls.c     the implementations (floors, tiers, api, baselines) and what one call does
 *   nb_table.c     the text report on stdout (and the progress line on stderr)
 *   nb_csv.c, nb_json.c, nb_plot.c   the files written by --csv, --json, --plot
 *   nb_summary.c   the geometric means and issue 9's targets per tier and API, met or missed
 *   nb_fused.c     the fused group (issue 10): fused ops against separate passes, its targets;
 *                  nb_fused_kern.c (per ISA) its floors and separate passes
 * nb.h is the interface of the per-ISA kernels (floors, baselines) and of the oneDNN wrapper.
 */
#ifndef NB_INTERNAL_H
#define NB_INTERNAL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include "nb.h"
#include "norm_internal.h"

#define MAXT 256
#define MAX_REPS 4096
#define BASE_TOL 1e-3   /* baselines: max |y - ref| / max(1, |ref|) */
#define STALL_NS 50e3   /* a pool round trip above this: other processes hold the CPUs */

#if defined(NB_HAVE_DNNL)
#define HAVE_DNNL 1
#else
#define HAVE_DNNL 0
#endif

/* ---- small helpers (nb_die, nb_open_out: normbench.c; nb_cmp_double: nb_timing.c) ---- */

static inline double now_ns(void)
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

/* "normbench: <message>" on stderr, exit status 2 */
void nb_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* fopen(path, "w"), or NULL after saying why on stderr */
FILE *nb_open_out(const char *path);
/* qsort comparator for doubles */
int nb_cmp_double(const void *a, const void *b);

/* ---- the sweep (nb_options.c) ---- */

/* ln-head, rms-head: LayerNorm (w+b) and RMSNorm (w) per attention head: rows = heads x
 * tokens, x's rows xs = --head-stride * dim floats apart, y contiguous */
enum { OP_LN, OP_LN_PLAIN, OP_RMS, OP_LN_HEAD, OP_RMS_HEAD, OP_COUNT };

/* the norm an op computes: OP_RMS or not (LayerNorm), and whether it is a per-head op */
static inline int nb_op_is_rms(int op) { return op == OP_RMS || op == OP_RMS_HEAD; }
static inline int nb_op_is_head(int op) { return op == OP_LN_HEAD || op == OP_RMS_HEAD; }

typedef struct list {
    size_t v[64];
    int n;
} list;

#define ROWS_DRAM ((size_t)0) /* in a rows list: the DRAM batch (nb_rows_for) */

/* The groups of shapes of a sweep: the grid (--op x --dim x --rows x --threads over ln,
 * ln-plain, rms), the per-head norms (ln-head, rms-head x --head-dim x --tokens x --threads)
 * and the single-row decode calls (--single: rows 1 and the 32-row batch, 1 thread). */
enum { G_GRID, G_HEAD, G_SINGLE, G_COUNT };
extern const char *const nb_group_names[G_COUNT]; /* grid, head, single */

typedef struct shape {
    int op, group;
    int dram; /* the rows came from the DRAM-batch rule */
    size_t dim, rows, xs; /* xs: x's row stride in floats (dim, or more for per-head rows) */
    unsigned thr;
} shape;

extern shape *g_shapes; /* the sweep, in the order measured (nb_build_sweep) */
extern size_t g_nshapes;

/* the fused group's ops (nb_fused.c) */
enum { F_ADD_RMS, F_ADD_LN, F_GATED, F_RMS_BF16, F_LN_BF16, F_RMS_F16, F_COUNT };
extern const char *const nb_fused_names[F_COUNT];

typedef struct nb_options {
    int ops[OP_COUNT], nops;
    int fused[F_COUNT], nfused; /* --fused (0: none) */
    list fdims, frows;          /* --fused-dim, --fused-rows */
    list dims, rows, thr;
    list head_dims, tokens, single; /* single.n == 0: no single-row group */
    size_t heads, head_stride;
    char tiers[256]; /* comma list, empty: all */
    int quick, pin;
    int generic_baselines; /* --baseline-isa generic: naive and ggml compiled for baseline x86-64 */
    double time_ms;
    size_t llc_override;
    float eps;
    const char *csv, *json, *plot;
} nb_options;

extern const char *const nb_op_names[OP_COUNT];  /* ln, ln-plain, rms */
extern const char *const nb_op_titles[OP_COUNT]; /* for the plot */
extern const int nb_op_params[OP_COUNT];         /* dim-vectors read: 2 (w, b), 1 (w), 0 */
extern nb_options g_opt;

/* Parses the command line into g_opt (and g_stat_min, g_box_ns); exits on an error. */
void nb_parse_args(int argc, char **argv);
/* The shapes of the sweep into g_shapes (after nb_detect_llc: the DRAM batch's rows). */
void nb_build_sweep(void);
/* Whether --tier asks for the implementation called name (no --tier: all). */
int nb_tier_wanted(const char *name);
/* The rows of a --rows entry at this dim (ROWS_DRAM: a batch whose x is g_dram_bytes). */
size_t nb_rows_for(size_t spec, size_t dim);

/* a size such as 32M, 48K (as sysfs writes it) or 1G, in bytes; 0 when not a size */
size_t nb_parse_size(const char *s);

/* ---- the machine (nb_machine.c) ---- */

extern unsigned g_ncpu;    /* CPUs this process may run on */
extern int g_cpus[MAXT];   /* their numbers */
extern size_t g_l1d, g_l2; /* cache sizes in bytes */
extern size_t g_llc_reported, g_llc; /* last-level cache: as reported, as used */
extern char g_llc_src[160];          /* where g_llc came from */
extern size_t g_dram_bytes;          /* x of the DRAM batch: twice g_llc */

void nb_detect_machine(void);
/* Sets g_llc (llc_override when not 0) and g_dram_bytes. */
void nb_detect_llc(size_t llc_override);
void nb_cpu_model(char *out, size_t n);
/* "L1", "L2", "L3" or "DRAM": where a working set of ws bytes split over thr threads lives */
const char *nb_mem_level(double ws, unsigned thr);
/* CPUs kept busy by other processes over 200 ms (< 0: unknown) */
double nb_others_busy_cpus(void);
#if defined(__x86_64__) && defined(NB_HAVE_X86_VARIANTS)
int nb_cpu_has_avx2(void);
int nb_cpu_has_avx512(void);
#endif

/* ---- the data (nb_data.c) ---- */

extern float *g_x, *g_y, *g_ref, *g_w, *g_b;
extern size_t g_cap; /* floats in x, y, ref: the largest rows * xs of the sweep (y: rows * dim) */

/* Allocates and fills the buffers for the sweep's largest shape; exits when memory is short. */
void nb_alloc_buffers(void);
/* The scalar tier's output over the whole shape into g_ref, single-threaded; returns its time. */
double nb_compute_ref(int op, size_t rows, size_t dim, size_t xs);
/* Compares g_y with g_ref over n floats: exact (bitwise), else the max relative difference. */
void nb_compare(size_t n, int *exact, double *maxdiff);

/* ---- the limits (nb_limits.c; the floor kernels: nb.h) ---- */

/* The limit a result is measured against (--help, "The limits"): the streaming limit (the floor
 * row: x, w, b read once, y written) or the two-pass limit (the floor-2p row: x read twice). */
enum { LIM_NONE, LIM_STREAM, LIM_2PASS };
extern const char *const nb_limit_names[3]; /* "-", "stream", "2pass" */
/* The longest row (floats) a kernel of this tier keeps in registers between reading x and
 * writing y: rows up to it are measured against the streaming limit. */
size_t nb_reg_dim(int tier);
/* The tier whose register rule applies to implementation ii: its own for a tier row, the
 * dispatched API's for every other row (floors, api, baselines). */
int nb_impl_tier(int ii);
/* The limit of implementation ii on a shape of this dim whose working set lives in mem. */
int nb_limit_for(int ii, size_t dim, const char *mem);

extern double g_copy_gbps[MAXT + 1]; /* DRAM copy bandwidth by thread count; 0: not measured */

/* The copy bandwidth of the DRAM batch's buffers for every thread count of the sweep. */
void nb_measure_copy(void);
/* Warns when the DRAM batch's floor beats the copy bandwidth by far. */
void nb_dram_self_check(void);

/* ---- the thread pool (nb_pool.c) ---- */

typedef void (*work_fn)(void *ctx, unsigned ith, unsigned nth);

/* Start n threads in all (the caller is thread 0); cpus[i]: thread i's CPU, or NULL: unpinned. */
void nb_pool_start(unsigned n, const int *cpus);
/* Run fn(ctx, i, nth) on threads 0..nth-1 (0 is the caller) and wait for all of them. */
void nb_pool_run(work_fn fn, void *ctx, unsigned nth);
/* A barrier among the nth threads of the running job (ggml's barrier between graph nodes). */
void nb_pool_barrier(unsigned nth);
void nb_pool_stop(void);
/* Median time of up to n empty jobs on thr threads: the pool's wake-up and barrier cost. */
double nb_pool_round_trip(unsigned thr, int n);

/* ---- implementations (nb_impls.c) ---- */

enum kind { K_FLOOR_RD, K_FLOOR, K_FLOOR_2P, K_TIER, K_API, K_NAIVE, K_GGML, K_DNNL };
static inline int nb_kind_is_floor(int k) { return k == K_FLOOR_RD || k == K_FLOOR || k == K_FLOOR_2P; }

typedef struct impl {
    char name[16];
    int kind;
    int libnorm; /* a libnorm row: speedups are reported for it */
    norm_dsp dsp;
} impl;

extern impl g_impl[16]; /* the rows of every shape, in this order */
extern int g_nimpl;
extern nb_floor_fns g_floor; /* the best variants this CPU runs */
extern nb_base_fns g_base;
extern const char *g_dnnl_state; /* the oneDNN version, or "not built" */

/* Picks the floor and baseline variants and lists the implementations --tier asks for. */
void nb_build_impls(void);

/* libnorm_opts' split: nth contiguous chunks of rows/nth rows, the first rows%nth one longer */
void nb_split_rows(size_t rows, unsigned ith, unsigned nth, size_t *r0, size_t *r1);

/* The baselines libnorm's rows are compared with: result.sp[], the "vs X" columns of the table and
 * the summary, the speedup_X fields of the csv and json files, in this order. */
enum { B_NAIVE, B_GGML, B_DNNL, NBASE };
typedef struct nb_baseline {
    int kind;          /* the implementation measured */
    const char *title; /* "vs <title>" */
    const char *key;   /* "speedup_<key>" */
} nb_baseline;
extern const nb_baseline nb_baselines[NBASE];

/* Whether an implementation of this kind has the op (oneDNN 2.6 has no RMSNorm, and no strided
 * per-head rows: its layer normalization takes one memory descriptor for x and y). */
int nb_kind_has_op(int kind, int op);
/* Whether an implementation of this kind is built (oneDNN: when meson found it). */
int nb_kind_built(int kind);

/* One implementation on one shape: what every thread of a repetition runs (nb_job_fn). */
typedef struct job {
    const impl *im;
    int op;
    float *y;
    const float *x, *w, *b; /* w, b: NULL when the op does not use them */
    size_t rows, dim, xs; /* xs: x's row stride in floats; y's is dim */
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

/* A job's repetition on thread ith of nth: j->inner calls over that thread's share of the rows. */
void nb_job_fn(void *ctx, unsigned ith, unsigned nth);
/* oneDNN's primitives: one per thread over its rows (j->fail set on an error), and their end. */
void nb_dnnl_job_setup(void *ctx, unsigned ith, unsigned nth);
void nb_dnnl_job_teardown(void *ctx, unsigned ith, unsigned nth);

/* ---- timing (nb_timing.c) ---- */

typedef struct timing {
    double val;                /* the reported statistic (--stat): median, or minimum */
    double med, min, p25, p75; /* ns per call */
    size_t reps, inner;
} timing;

extern int g_stat_min;  /* --stat min */
extern double g_box_ns; /* time box per implementation and shape */

/* One repetition: fn on nth threads through the pool; its time in ns. */
double nb_run_rep(work_fn fn, job *j, unsigned nth);
/* Calls per repetition so that a repetition lasts about 100 us, `one` being one call's time. */
size_t nb_calls_per_rep(double one);
/* One call's time, to choose the calls per repetition (first: a call already timed, or < 0). */
double nb_calibrate(work_fn fn, job *j, unsigned nth, double first);
/* Sorts v (n repetitions, ns per call) and returns its statistics. */
timing nb_stats(double *v, size_t n, size_t inner);
/* One job alone: calibrate, warm up, repetitions until the time box is used (at least 3). */
timing nb_measure(work_fn fn, job *j, unsigned nth);

/* ---- results (normbench.c) ---- */

enum { ST_OK, ST_FAIL, ST_ERROR };

typedef struct result {
    int impl, op, group;
    size_t dim, rows, xs;
    unsigned thr;
    int dram; /* the rows came from the DRAM-batch rule */
    const char *mem;
    double bytes, ws_bytes;
    timing t;
    double gbps;
    double pct_floor; /* streaming floor time / time (NaN: none) */
    int limit;        /* LIM_*: the limit this result is judged against */
    double pct_limit; /* that limit's time / time (NaN: none) */
    int status, exact, is_ref;
    int stalled; /* the pool's round trip was far too long around this measurement */
    double maxdiff;
    double sp[NBASE]; /* speedup vs nb_baselines[]; NAN: none */
    char note[96];
} result;

extern result *g_res; /* every measurement of the run, in the order of the table */
extern size_t g_nres;

/* "ok", "check_failed" or "error": the status as the csv and json files write it */
const char *nb_status_name(int status);

/* ---- the files (nb_csv.c, nb_json.c, nb_plot.c; model: the CPU model) ---- */

void nb_write_csv(const char *path);
void nb_write_json(const char *path, const char *model);
void nb_write_plot(const char *png, const char *model);

/* ---- the text report (nb_table.c) ---- */

void nb_table_machine(const char *model);
void nb_table_start(double others, const double *rt);
void nb_table_shape(size_t first);
void nb_table_end(int failures, double seconds);
/* The progress line on stderr (done of total shapes, what is measured now, the run's start). */
void nb_progress(size_t done, size_t total, const char *what, double t0);
void nb_progress_clear(void);

/* ---- the fused group (nb_fused.c): measured after the sweep, its own table and targets ---- */

void nb_fused_run(void);
/* results of the fused group that failed their check or call */
int nb_fused_failures(void);

/* ---- the summary and the targets (nb_summary.c) ---- */

void nb_summary(void);

#endif /* NB_INTERNAL_H */
