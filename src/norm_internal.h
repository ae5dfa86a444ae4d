/*
 * Internal interface of libnorm: the job a kernel receives, the dispatch table, the canonical
 * reduction's constants and the per-row finishing code shared by every tier.
 *
 * THE CANONICAL ORDER (every tier computes exactly this; src/scalar/norm_scalar.c spells it out):
 *
 *   Lanes and blocks. A row of n floats is cut into blocks of NORM_BLOCK = 512 elements. Inside a
 *   block, element i belongs to lane i mod 16 and is that lane's leaf number (i mod 512) / 16, so
 *   every lane has 32 leaves per block. Leaves past the end of the row are +0 (for shifted sums:
 *   zero AFTER the shift is subtracted).
 *
 *   In-block tree. Each lane's 32 leaves are summed by the complete binary tree that pairs
 *   neighbours level by level: (l0+l1), (l2+l3), ... then ((l0+l1)+(l2+l3)), ... (5 levels).
 *   For sums of squares the first level is fused: pair(a, b) = fma(b, b, a*a); the rest are adds.
 *   A subtree whose leaves are all padding may be skipped: its value is +/-0 and a zero's sign
 *   cannot reach the result (see the fold).
 *
 *   Fold across blocks. Each lane keeps a TwoSum accumulator (hi, lo), both starting at +0. A
 *   block's lane sum s is folded as t = hi + s; bp = t - hi; ap = t - bp;
 *   lo = lo + ((hi - ap) + (s - bp)); hi = t.
 *
 *   Across lanes (in double). v[l] = (double)hi[l] + (double)lo[l]; then v[l] += v[l + h] for
 *   l < h, h = 8, 4, 2, 1; the total is v[0]. norm_lanes_total() below is the definition.
 *
 *   Short LayerNorm rows (0.5): for n <= NORM_LN_SHORT (128) the probe below is the first
 *   k = min(n, NORM_LN_SHORT_PROBE = 32) elements, and every LayerNorm total of the row (s0, s1,
 *   s2, the repeated pass 2's too) combines its lanes in float instead (norm_lanes_total_f():
 *   v[l] = hi[l] + lo[l] and the same halving tree, each add rounded to float, then widened
 *   exactly to double). Everything else is as below.
 *
 *   LayerNorm, per row (x0 = x[0], inv_n = 1.0 / n in double, k = norm_ln_probe(n): min(n, 512),
 *   or min(n, 32) for the short rows above; inv_k = 1.0 / k in double):
 *     pass 1: s0 = total of leaves (x - x0) over the first k
 *             elements only (the probe)                           m0 = (float)(x0 + s0*inv_k)
 *     pass 2: s1 = total of leaves d = (x - m0),
 *             s2 = total of squares of d                          norm_ln_finish(): mlo, rstd
 *             When m0 is too far from the mean (mlo^2 > var/4: rows whose probe is not like
 *             the rest), pass 2 is done once more around m0 = (float)(m0 + mlo).
 *     pass 3: y = fmaf(((x - m0) - mlo) * rstd, w, b)             (w = 1, b = 0 when NULL)
 *   RMSNorm, per row:
 *     pass 1: s2 = total of squares of x                          norm_rms_finish(): rstd
 *     pass 2: y = (x * rstd) * w
 *   (0.4) With norm_job.wplus (LIBNORM_WEIGHT_PLUS_ONE) w above is the factor
 *   wf = (float)(1.0f + w[i]) (norm_wf), in every output pass and in the rare path. The fused
 *   residual add + norm is the entry layer's: h = x + r (norm_add_fn, the NaN of x pinned), then
 *   these kernels on h (src/libnorm.c, norm_add_call).
 *   RMSNorm backward (ggml's GGML_OP_RMS_NORM_BACK: dx for y = x * rstd, dz = dL/dy), per row:
 *     pass 1: sxx  = total of squares of x (exactly RMSNorm's s2),
 *             sxdz = total of leaves x*dz, the same lanes, blocks, tree, fold and lane total,
 *                    with the fused first level pair(a, b) = fma(b.x, b.dz, a.x*a.dz) (a lone
 *                    leaf is a.x*a.dz), the rest adds                 norm_rmsb_finish():
 *             r = (float)(1/sqrt(sxx*inv_n + eps)) (RMSNorm's rstd, bit for bit),
 *             c = (float)(-sxdz / (sxx + eps*n)), all in double, each rounded once
 *     pass 2: dx = fmaf(x, c, dz) * r
 *     Rare path (norm_rmsnorm_back_row_rare): sums not finite, sxx below NORM_RARE_MIN, or c
 *     beyond float range or subnormal.
 *   L2 normalisation (norm_job.kind = NORM_KIND_L2: the RMSNorm kernels, no weight), per row:
 *     pass 1: s2 as RMSNorm's              s = (float)(1.0 / max(sqrt(s2), eps)) (norm_rmsk_finish)
 *     pass 2: y = x * s
 *   Group normalisation is LayerNorm rows (one per (batch, group) run) through the entry layer,
 *   then norm_channel_affine() (fmaf, correctly rounded: the same on every tier).
 *   A row whose sums are not finite, or whose sum of squares is below NORM_RARE_MIN (zero,
 *   constant or tiny rows, where float squares lose bits), goes to the rare path: one shared
 *   function computed in double (norm_*_row_rare), identical for every tier because it is the
 *   same code.
 */
#ifndef NORM_INTERNAL_H
#define NORM_INTERNAL_H

#include <float.h>
#include <math.h>
#include <stdatomic.h>
#include <stddef.h>

#define NORM_LANES 16
#define NORM_LEAVES 32
#define NORM_BLOCK (NORM_LANES * NORM_LEAVES)
#define NORM_RARE_MIN 0x1p-64
#define NORM_LN_PROBE NORM_BLOCK
/* (0.5) LayerNorm rows of at most NORM_LN_SHORT elements take the short-row order: a probe of
 * the first min(n, NORM_LN_SHORT_PROBE) elements and the lanes combined in float
 * (norm_lanes_total_f). */
#define NORM_LN_SHORT 128
#define NORM_LN_SHORT_PROBE 32
/* Pass 2 is repeated when mlo^2 > NORM_LN_AGAIN_RATIO * var (m0 more than half a standard
 * deviation from the mean). Every tier reads it from here. */
#define NORM_LN_AGAIN_RATIO 0.25

#if defined(__GNUC__)
#define NORM_HIDDEN __attribute__((visibility("hidden")))
#else
#define NORM_HIDDEN
#endif

/* One kernel call: `rows` rows starting at x / y. Kernels never check, allocate or read globals. */
typedef struct norm_job {
    float *y;
    const float *x;
    const float *w;      /* NULL: 1 */
    const float *b;      /* NULL: 0 (LayerNorm only) */
    size_t rows;
    size_t dim;
    size_t xs, ys;       /* row strides in floats */
    float eps;
    float *mean;         /* NULL or rows floats (LayerNorm only) */
    float *rstd;         /* NULL or rows floats */
    double *sums;        /* test hook, NULL in every library call: see NORM_SUMS below */
    int kind;            /* RMSNorm kernels: NORM_KIND_RMS (0) or NORM_KIND_L2 (norm_rmsk_finish) */
    const float *dz;     /* RMSNorm backward only: the incoming gradient, row stride xs (y is
                            dx, x is the forward input; dz == y exactly in place) */
    /* (0.4) Appended: a zero-initialised job keeps the 0.3 behaviour. */
    int wplus;           /* LIBNORM_WEIGHT_PLUS_ONE: the weight factor is (float)(1.0f + w[i])
                            (norm_wf), in every output pass and the rare path; ignored when w is
                            NULL */
    int stream;          /* 1: part of a streaming call (the fused add + norm's tiles): store y
                            non-temporally whatever this job's own size (norm_stream_job);
                            NORM_STREAM_NOFENCE (2): the same, and the x86 kernels leave the
                            sfence after their non-temporal stores to the caller */
} norm_job;
#define NORM_STREAM_NOFENCE 2

/* The weight factor of element i: w[i], or (float)(1.0f + w[i]) with LIBNORM_WEIGHT_PLUS_ONE
 * (one float addition; the SIMD tiers add the broadcast 1.0f, the same IEEE operation). */
static inline float norm_wf(const float *w, size_t i, int wplus)
{
    return wplus ? 1.0f + w[i] : w[i];
}

/* What an RMSNorm kernel computes from its canonical total of squares s2 (the reduction and the
 * output pass y = (x * s) * w are the same; only the per-row finish and the rare path differ):
 *   NORM_KIND_RMS: s = (float)(1.0 / sqrt(s2 / n + eps))            (libnorm_rmsnorm_f32_ex)
 *   NORM_KIND_L2:  s = (float)(1.0 / fmax(sqrt(s2), eps)), w NULL   (libnorm_l2norm_f32_ex) */
enum { NORM_KIND_RMS = 0, NORM_KIND_L2 = 1 };

/* The job of one contiguous row of n floats (the entry points' single-row calls and the tiers'
 * one-row functions): no statistics outputs, no sums, kind RMS, ordinary stores. */
static inline void norm_job_row(norm_job *j, float *y, const float *x, const float *w,
                                const float *b, size_t n, float eps, int wplus)
{
    j->y = y;
    j->x = x;
    j->w = w;
    j->b = b;
    j->rows = 1;
    j->dim = n;
    j->xs = j->ys = n;
    j->eps = eps;
    j->mean = j->rstd = NULL;
    j->sums = NULL;
    j->kind = NORM_KIND_RMS;
    j->dz = NULL;
    j->wplus = wplus;
    j->stream = 0;
}

/* NORM_SUMS: when job->sums is not NULL, every kernel of every tier stores the canonical totals
 * it computed for each row, so that tests compare the reductions themselves (bit for bit), not
 * only the float outputs they feed:
 *   LayerNorm, row r: sums[3r] = s0 (the probe), sums[3r + 1] = s1, sums[3r + 2] = s2, the totals
 *     of the LAST pass 2 (the repeated one when norm_ln_finish() asked for it);
 *   RMSNorm, row r:   sums[r] = s2.
 *   RMSNorm backward, row r: sums[2r] = sxx, sums[2r + 1] = sxdz.
 * Rows that take the rare path store the totals that sent them there (the same definition).
 * Finite totals are canonical (identical in every tier); a non-finite one is not: the SIMD
 * tiers' first-block shortcut (hi = s rather than the fold from +0) and the platforms' NaN rules
 * may give Inf where another gives NaN, which the rare path never reads. Tests compare
 * non-finite totals only as being non-finite. Cost in the kernels: one predictable branch per
 * row (per eight rows in the AVX-512 batches). */
#define NORM_LN_SUMS_PER_ROW 3

/* Where row `row`'s LayerNorm totals go: NULL (the library), or 3 doubles. */
static inline double *norm_ln_sums_at(const norm_job *j, size_t row)
{
    return j->sums ? j->sums + NORM_LN_SUMS_PER_ROW * row : NULL;
}

static inline void norm_ln_put_sums(double *p, double s0, double s1, double s2)
{
    if (p) {
        p[0] = s0;
        p[1] = s1;
        p[2] = s2;
    }
}

typedef void (*norm_kernel_fn)(const norm_job *job);

/* ---- (0.4) gated RMSNorm (libnorm_gated_rmsnorm_f32_ex) ----
 * One kernel call: `rows` rows of dim floats, each cut into dim / group groups of `group`
 * elements; every group is one RMSNorm "row" of the canonical order (its own total of squares
 * and rstd, weight slice w + g * group). z uses x's row stride xs. The arithmetic is defined by
 * src/scalar/gated_rmsnorm_scalar.c (the header comment there); every tier gives its bits:
 *   e = expf(-z) (SLEEF u10, FMA form), d = 1 + e, sigmoid = 1 / d, silu = z / d;
 *   AFTER:  y = ((x * rstd) * wf) * gate(z),  rstd from the total of squares of x;
 *   BEFORE: u = x * silu(z) (stored into y), rstd from the total of squares of u,
 *           y = (u * rstd) * wf;
 *   wf = w[i], or (float)(1.0f + w[i]) with plus_one; no factor when w is NULL.
 * rstd (if not NULL) and sums (the test hook: s2 of each group, NORM_SUMS) are indexed by
 * r * (dim / group) + g. Groups whose total is not in [NORM_RARE_MIN, DBL_MAX] take
 * norm_gated_group_rare(). The gate values are those of enum libnorm_gate. */
enum { NORM_GATE_SILU_AFTER = 0, NORM_GATE_SILU_BEFORE = 1, NORM_GATE_SIGMOID_AFTER = 2 };
typedef struct norm_gated_job {
    float *y;
    const float *x;
    const float *z;
    const float *w;      /* NULL: no weight factor */
    size_t rows, dim, group;
    size_t xs, ys;       /* row strides in floats (z: xs) */
    float eps;
    int gate;            /* NORM_GATE_* */
    int plus_one;        /* wf = 1 + w */
    float *rstd;         /* NULL or rows * (dim / group) floats */
    double *sums;        /* test hook, NULL in every library call */
} norm_gated_job;
typedef void (*norm_gated_fn)(const norm_gated_job *job);
/* The SIMD tiers' gate loops (src/gated_tmpl.h), once per 64 bytes at element i: prefetch x's
 * line (AFTER gates: the total of squares reads x next) and y's for writing (yp not NULL), so
 * that their loads overlap the exp. A hint: no fault, no result changes. */
static inline void norm_gated_prefetch(const float *x, float *yp, size_t i, int mode)
{
#if defined(__GNUC__)
    if (mode != NORM_GATE_SILU_BEFORE)
        __builtin_prefetch(x + i, 0, 3);
    if (yp)
        __builtin_prefetch(yp + i, 1, 3);
#else
    (void)x, (void)yp, (void)i, (void)mode;
#endif
}
/* The x86 gate loops' prefetch of the next span's z (gt_gates_loop_pf in src/gated_tmpl.h): the
 * line of pz + i, once per 16 gates while i < pk. A hint: no fault, no result changes. */
static inline void norm_gated_prefetch_z(const float *pz, size_t i, size_t pk)
{
#if defined(__GNUC__)
    if (i < pk)
        __builtin_prefetch(pz + i, 0, 3);
#else
    (void)pz, (void)i, (void)pk;
#endif
}

enum norm_tier {
    NORM_TIER_SCALAR = 0,
    NORM_TIER_AVX2 = 1,
    NORM_TIER_AVX512 = 2,
    NORM_TIER_NEON = 3,
    NORM_TIER_COUNT = 4
};

struct norm_x16_job; /* src/norm_x16.h */
/* (0.4) h[i] = x[i] + r[i], i < n (float additions; the residual add of the fused add + norm).
 * h may be x or r exactly. */
typedef void (*norm_add_fn)(float *h, const float *x, const float *r, size_t n);
/* (0.5) h[i] = s[i] = x[i] + r[i], i < n: h (apart from x, r and s) with non-temporal stores
 * past its first 64-byte boundary and no sfence (the caller's), s with ordinary stores (the
 * cache-resident copy a streaming fused add + norm normalises, src/libnorm.c add_run). */
typedef void (*norm_add2_fn)(float *h, float *s, const float *x, const float *r, size_t n);

typedef int (*norm_row_fn)(float *y, const float *x, const float *w, size_t n, float eps,
                           int wplus);
typedef int (*norm_ln_row_fn)(float *y, const float *x, const float *w, const float *b, size_t n,
                              float eps, int wplus);

typedef struct norm_dsp {
    norm_kernel_fn layernorm_f32;
    norm_kernel_fn rmsnorm_f32;
    int tier;
    const char *name;
    norm_kernel_fn rmsnorm_back_f32;
    /* (0.4) bf16 / f16 activations (src/norm_x16.h) */
    void (*layernorm_x16)(const struct norm_x16_job *job);
    void (*rmsnorm_x16)(const struct norm_x16_job *job);
    norm_add_fn add_f32;         /* (0.4) */
    void (*gated_rmsnorm_f32)(const struct norm_gated_job *job); /* (0.4) gated RMSNorm */
    /* One RMSNorm row of n floats, no statistics outputs, kind RMS, wplus as norm_job.wplus:
     * exactly what rmsnorm_f32 computes for that job (the entry points' checked rows = 1 calls,
     * which tail-call it: it returns LIBNORM_OK, 0). The AVX2 and AVX-512 tiers have their own
     * (constant-dim copies for dims 64 and 128); the others build the job (dispatch.c). */
    norm_row_fn rmsnorm_row_f32;
    /* One LayerNorm row of n floats (b: NULL or n floats), no statistics outputs, wplus as
     * norm_job.wplus: exactly what layernorm_f32 computes for that job (ln_entry() in
     * src/libnorm.c tail-calls it for checked rows = 1 calls; it returns 0). The AVX2 and
     * AVX-512 tiers have their own (0.5: the short rows' register kernel for n <= NORM_LN_SHORT,
     * the job kernel for the others); the others build the job (dispatch.c). */
    norm_ln_row_fn layernorm_row_f32;
    /* (0.4) The AVX-512 tier's bf16 output may narrow by vcvtne2ps2bf16: the CPU has
     * AVX512-BF16 (cpu_features, dispatch.c); passed to the kernels as norm_x16_job.cvt. */
    int x16_cvt;
    /* (0.5) NULL on the tiers without it (scalar, NEON): their fused calls keep the tiles */
    norm_add2_fn add2_f32;
} norm_dsp;

/* Name of a tier ("scalar", ...), NULL for an invalid one. */
NORM_HIDDEN const char *norm_tier_name(int tier);
/* Tier number for a name, -1 when unknown. */
NORM_HIDDEN int norm_tier_from_name(const char *name);
/* Best tier this CPU (and this build) supports. Runs CPU detection; not for the hot path. */
NORM_HIDDEN int norm_best_tier(void);
/* Fill a caller-owned table for `tier`. Returns 0, or -1 when this CPU or build lacks the tier
 * (the table is then left untouched). For tests and the benchmark. */
NORM_HIDDEN int norm_dsp_init(norm_dsp *dsp, int tier);
/* The global table (filled once at load time; read-only afterwards). */
NORM_HIDDEN const norm_dsp *norm_dsp_global(void);
/* The same, inline for the entry points (a single-row call is a few tens of ns): dispatch.c's
 * table and its flag, published with release order once filled (norm_dsp_global_init() fills it
 * under a pthread_once, at load time or on the first call that finds the flag unset). */
NORM_HIDDEN extern norm_dsp norm_g_dsp;
NORM_HIDDEN extern atomic_int norm_g_ready;
NORM_HIDDEN void norm_dsp_global_init(void);
static inline const norm_dsp *norm_dsp_now(void)
{
    if (__builtin_expect(!atomic_load_explicit(&norm_g_ready, memory_order_acquire), 0))
        norm_dsp_global_init();
    return &norm_g_dsp;
}

/* Kernels. */
NORM_HIDDEN void norm_layernorm_f32_scalar(const norm_job *job);
NORM_HIDDEN void norm_rmsnorm_f32_scalar(const norm_job *job);
NORM_HIDDEN void norm_layernorm_f32_avx2(const norm_job *job);
NORM_HIDDEN void norm_rmsnorm_f32_avx2(const norm_job *job);
NORM_HIDDEN void norm_layernorm_f32_avx512(const norm_job *job);
NORM_HIDDEN void norm_rmsnorm_f32_avx512(const norm_job *job);
NORM_HIDDEN void norm_layernorm_f32_neon(const norm_job *job);
NORM_HIDDEN void norm_rmsnorm_f32_neon(const norm_job *job);
NORM_HIDDEN int norm_rmsnorm_row_f32_avx2(float *y, const float *x, const float *w, size_t n,
                                          float eps, int wplus);
NORM_HIDDEN int norm_rmsnorm_row_f32_avx512(float *y, const float *x, const float *w, size_t n,
                                            float eps, int wplus);
NORM_HIDDEN int norm_layernorm_row_f32_avx2(float *y, const float *x, const float *w,
                                            const float *b, size_t n, float eps, int wplus);
NORM_HIDDEN int norm_layernorm_row_f32_avx512(float *y, const float *x, const float *w,
                                              const float *b, size_t n, float eps, int wplus);
NORM_HIDDEN void norm_rmsnorm_back_f32_scalar(const norm_job *job);
NORM_HIDDEN void norm_rmsnorm_back_f32_avx2(const norm_job *job);
NORM_HIDDEN void norm_rmsnorm_back_f32_avx512(const norm_job *job);
NORM_HIDDEN void norm_rmsnorm_back_f32_neon(const norm_job *job);
NORM_HIDDEN void norm_add_f32_scalar(float *h, const float *x, const float *r, size_t n);
NORM_HIDDEN void norm_add_f32_avx2(float *h, const float *x, const float *r, size_t n);
NORM_HIDDEN void norm_add_f32_avx512(float *h, const float *x, const float *r, size_t n);
NORM_HIDDEN void norm_add_f32_neon(float *h, const float *x, const float *r, size_t n);
NORM_HIDDEN void norm_add2_f32_avx2(float *h, float *s, const float *x, const float *r, size_t n);
NORM_HIDDEN void norm_add2_f32_avx512(float *h, float *s, const float *x, const float *r,
                                      size_t n);
NORM_HIDDEN void norm_gated_rmsnorm_f32_scalar(const norm_gated_job *job);
NORM_HIDDEN void norm_gated_rmsnorm_f32_avx2(const norm_gated_job *job);
NORM_HIDDEN void norm_gated_rmsnorm_f32_avx512(const norm_gated_job *job);
NORM_HIDDEN void norm_gated_rmsnorm_f32_neon(const norm_gated_job *job);
/* The scalar tier's expf (src/scalar/gated_expf.h: SLEEF's u10 algorithm with exact FMAs), for
 * the tests. */
NORM_HIDDEN float norm_gate_expf(float d);
/* Gated RMSNorm's rare path of one group, every tier's (src/scalar/gated_rmsnorm_scalar.c): v is
 * x (AFTER gates) or u (SILU_BEFORE, where v == y). */
NORM_HIDDEN void norm_gated_group_rare(float *y, const float *v, const float *z, const float *w,
                                       size_t n, float eps, int gate, int plus_one, float *rstd);

/* The entry layer (src/libnorm.c) on a given table, for tests: every check and the row split of
 * the public entry points, which call these with norm_dsp_global() and sums = NULL. sums: the
 * test hook (NORM_SUMS), indexed by absolute row t (group norm: by unit u), or NULL. */
enum { NORM_OP_LN = 0, NORM_OP_RMS = 1, NORM_OP_L2 = 2 };
struct libnorm_opts;
NORM_HIDDEN int norm_rows_call(const norm_dsp *d, int op, float *y, const float *x,
                               const float *weight, const float *bias, size_t rows, size_t dim,
                               float eps, const struct libnorm_opts *opts, double *sums);
/* (0.4) The fused residual add + norm (libnorm_add_{rms,layer}norm_f32_ex) on a given table:
 * op NORM_OP_LN or NORM_OP_RMS. */
NORM_HIDDEN int norm_add_call(const norm_dsp *d, int op, float *y, float *h, const float *x,
                              const float *r, const float *weight, const float *bias, size_t rows,
                              size_t dim, float eps, const struct libnorm_opts *opts,
                              double *sums);
/* (0.4) libnorm_gated_rmsnorm_f32_ex on a given table (sums: s2 per (row t, group), or NULL). */
NORM_HIDDEN int norm_gated_call(const norm_dsp *d, float *y, const float *x, const float *z,
                                const float *weight, size_t rows, size_t dim, size_t group,
                                int gate, float eps, const struct libnorm_opts *opts,
                                double *sums);
NORM_HIDDEN int norm_groupnorm_call(const norm_dsp *d, float *y, const float *x,
                                    const float *weight, const float *bias, size_t batch,
                                    size_t channels, size_t spatial, size_t groups, float eps,
                                    const struct libnorm_opts *opts, double *sums);

/* The rare path (src/scalar/norm_scalar.c), shared by every tier: non-finite rows, rows whose
 * float sums over- or underflow, constant and all-zero rows. Computed in double. */
NORM_HIDDEN void norm_layernorm_row_rare(float *y, const float *x, const float *w,
                                         const float *b, size_t n, float eps, float *mean,
                                         float *rstd, int wplus);
NORM_HIDDEN void norm_rmsnorm_row_rare(float *y, const float *x, const float *w, size_t n,
                                       float eps, float *rstd, int wplus);
/* RMSNorm backward's rare path (src/scalar/rmsnorm_back_scalar.c): dx of one row in double. */
NORM_HIDDEN void norm_rmsnorm_back_row_rare(float *dx, const float *dz, const float *x, size_t n,
                                            float eps, float *rstd);
/* L2 normalisation's rare path (non-finite rows, and rows whose total of squares is below
 * NORM_RARE_MIN or above DBL_MAX): s = 1 / max(sqrt(sum x^2), eps) in double, y = (float)(x * s);
 * an all-zero row gives zeros (and s = 1/eps, +Inf for eps = 0). */
NORM_HIDDEN void norm_l2norm_row_rare(float *y, const float *x, size_t n, float eps, float *rstd);
/* Group normalisation's per-channel affine over one (batch, group) unit of y (channels c0 .. c1-1
 * of `spatial` floats each, contiguous): y = fmaf(y, w[c], b[c]) (w NULL: 1, b NULL: 0; wplus:
 * the factor norm_wf()). The same correctly rounded operation on every tier
 * (src/scalar/norm_scalar.c). */
NORM_HIDDEN void norm_channel_affine(float *y, const float *w, const float *b, size_t c0,
                                     size_t c1, size_t spatial, int wplus);

/* ---- streaming jobs (x86 tiers) ----
 * A job whose x and y rows together span at least NORM_STREAM_BYTES cannot stay in a core's
 * caches (that is twice the L3 of the machines here, and several times any current core's share
 * of one): its rows come from DRAM and its output goes back there. Out of place, such jobs write
 * y with non-temporal stores (no read-for-ownership of y's lines: measured 10-40% faster on DRAM
 * batches) and end with an sfence. Smaller jobs are assumed hot, where non-temporal stores would
 * push out the y that the caller reads next. The rule of memcpy's non-temporal threshold; it
 * changes no result. y must be float-aligned for the aligned stream stores (C requires it of a
 * float *; a job that is not simply does not stream). */
#ifndef NORM_STREAM_BYTES
#define NORM_STREAM_BYTES (32.0 * 1024 * 1024)
#endif

/* The fused residual add's cache tiles (src/libnorm.c add_run(): a call that does not stream adds
 * this many bytes of h, then runs the norm over those rows; checkasm's cache-tile cases go past
 * it). */
#ifndef NORM_ADD_TILE_BYTES_CACHE
#define NORM_ADD_TILE_BYTES_CACHE 131072
#endif

static inline int norm_stream_job(const norm_job *j)
{
    return j->y != j->x && ((size_t)j->y & (sizeof(float) - 1)) == 0 &&
           (j->stream || (double)j->rows * (double)j->dim * 8.0 >= NORM_STREAM_BYTES);
}

/* Floats of y before its first `align`-byte boundary (a power of two), at most n: the elements a
 * streaming row writes with ordinary (masked) stores before its aligned non-temporal ones. */
static inline size_t norm_nt_head(const float *y, size_t n, size_t align)
{
    size_t h = ((align - ((size_t)y & (align - 1))) & (align - 1)) / sizeof(float);
    return h < n ? h : n;
}

/* (0.4) The x86 tiers' residual add streams h (non-temporal stores, then an sfence) when one
 * call covers a streaming fused call's share (16 bytes an element: x, r, h and the norm's y, at
 * least NORM_STREAM_BYTES; src/libnorm.c add_run makes such calls) and h is apart from x and r.
 * Store kinds only: no result changes. */
static inline int norm_add_stream(const float *h, const float *x, const float *r, size_t n)
{
    return h != x && h != r && ((size_t)h & (sizeof(float) - 1)) == 0 &&
           (double)n * 16.0 >= NORM_STREAM_BYTES;
}

/* ---- per-row finishing code, shared by every tier (static inline: compiled into each TU, all
 * of which are built with -ffp-contract=off, so it is the same arithmetic everywhere) ---- */

/* The canonical combination of the 16 lanes' TwoSum accumulators: v[l] = hi[l] + lo[l], then
 * v[l] += v[l + h] for l < h, h = 8, 4, 2, 1, written out on named doubles (which compilers keep
 * in registers; the same additions in the same order). */
static inline double norm_lanes_total(const float hi[NORM_LANES], const float lo[NORM_LANES])
{
    double v[NORM_LANES];
    for (int l = 0; l < NORM_LANES; l++)
        v[l] = (double)hi[l] + (double)lo[l];
    double a0 = v[0] + v[8], a1 = v[1] + v[9], a2 = v[2] + v[10], a3 = v[3] + v[11];
    double a4 = v[4] + v[12], a5 = v[5] + v[13], a6 = v[6] + v[14], a7 = v[7] + v[15];
    double b0 = a0 + a4, b1 = a1 + a5, b2 = a2 + a6, b3 = a3 + a7;
    double c0 = b0 + b2, c1 = b1 + b3;
    return c0 + c1;
}

/* The canonical TwoSum fold of one block's lane sum s into (hi, lo). */
static inline void norm_fold(float *hi, float *lo, float s)
{
    float t = *hi + s;
    float bp = t - *hi;
    float ap = t - bp;
    *lo = *lo + ((*hi - ap) + (s - bp));
    *hi = t;
}

/* LayerNorm pass 1 covers the first norm_ln_probe(n) elements of a row: min(n, 512), or for the
 * short rows (n <= NORM_LN_SHORT) min(n, 32). */
static inline size_t norm_ln_probe(size_t n)
{
    if (n <= NORM_LN_SHORT)
        return n < NORM_LN_SHORT_PROBE ? n : NORM_LN_SHORT_PROBE;
    return n < NORM_LN_PROBE ? n : NORM_LN_PROBE;
}

/* (0.5) The lane total of LayerNorm's short rows (n <= NORM_LN_SHORT: one block, so the fold
 * gives hi = the lane sum, lo = +0): v[l] = hi[l] + lo[l], then v[l] += v[l + h] for l < h,
 * h = 8, 4, 2, 1, all in float; the total is v[0] widened exactly to double. The same halving
 * tree as norm_lanes_total(), one rounding per add. Equivalent (the same bits): the halving tree
 * over the lane sums themselves, then + 0.0f (a float sum is -0 only when every addend is -0, and
 * adding +0 first or last makes every zero total +0, while it changes no other value). */
static inline double norm_lanes_total_f(const float hi[NORM_LANES], const float lo[NORM_LANES])
{
    float v[NORM_LANES];
    for (int l = 0; l < NORM_LANES; l++)
        v[l] = hi[l] + lo[l];
    for (int h = NORM_LANES / 2; h >= 1; h /= 2)
        for (int l = 0; l < h; l++)
            v[l] += v[l + h];
    return (double)v[0];
}

/* LayerNorm pass 1 -> the float part of the mean (inv_k = 1.0 / norm_ln_probe(n)). */
static inline float norm_ln_m0(float x0, double s0, double inv_k)
{
    return (float)((double)x0 + s0 * inv_k);
}

/* norm_ln_finish() results. */
enum { NORM_LN_OK = 0, NORM_LN_RARE = 1, NORM_LN_AGAIN = 2 };

/* LayerNorm statistics after pass 2 around m0 (again: this is the repeated pass 2). Returns
 * NORM_LN_OK with *mlo / *rstd (and *mean_out, the mean rounded to float) set; NORM_LN_RARE when
 * the row must take the rare path; or, after the first pass 2 only, NORM_LN_AGAIN with *m0_next
 * set: m0 is further than half a standard deviation from the mean (the probe was not like the
 * rest of the row), so var = s2/n - mlo^2 would cancel more than 1 bit in 4; pass 2 is then
 * repeated around *m0_next and this called again with again = 1. */
static inline int norm_ln_finish(double s0, double s1, double s2, float m0, double inv_n,
                                 float eps, int again, float *mlo, float *rstd, float *mean_out,
                                 float *m0_next)
{
    if (!(s2 >= NORM_RARE_MIN && s2 <= DBL_MAX && fabs(s1) <= DBL_MAX && fabs(s0) <= DBL_MAX))
        return NORM_LN_RARE;
    double ml = s1 * inv_n;
    double var = s2 * inv_n - ml * ml;
    if (!again && !(ml * ml <= NORM_LN_AGAIN_RATIO * var)) {
        *m0_next = (float)((double)m0 + ml);
        return NORM_LN_AGAIN;
    }
    if (!(var > 0.0))
        return NORM_LN_RARE;
    *mlo = (float)ml;
    *rstd = (float)(1.0 / sqrt(var + (double)eps));
    *mean_out = (float)((double)m0 + ml);
    return NORM_LN_OK;
}

/* RMSNorm statistics after pass 1: 0 with *rstd set, or 1 for the rare path. */
static inline int norm_rms_finish(double s2, double inv_n, float eps, float *rstd)
{
    if (!(s2 >= NORM_RARE_MIN && s2 <= DBL_MAX))
        return 1;
    *rstd = (float)(1.0 / sqrt(s2 * inv_n + (double)eps));
    return 0;
}

/* RMSNorm backward statistics after pass 1: 0 with *c and *r set (dx = fmaf(x, c, dz) * r), or 1
 * for the rare path (a total not finite, sxx below NORM_RARE_MIN, or c beyond float range or
 * below FLT_MIN without being 0).
 * r is norm_rms_finish()'s rstd bit for bit; c = -sxdz / (sxx + eps*n), rounded once. */
static inline int norm_rmsb_finish(double sxx, double sxdz, double inv_n, size_t n, float eps,
                                   float *c, float *r)
{
    if (!(sxx >= NORM_RARE_MIN && sxx <= DBL_MAX && fabs(sxdz) <= DBL_MAX))
        return 1;
    double cd = -sxdz / (sxx + (double)eps * (double)n);
    /* c must be a normal float (or exactly 0): a subnormal c has lost its relative precision,
     * and x*c then misses its share of dx (found by fuzz_api: rows of huge x, tiny dz) */
    if (!(fabs(cd) <= FLT_MAX) || (cd != 0.0 && fabs(cd) < FLT_MIN))
        return 1;
    *c = (float)cd;
    *r = (float)(1.0 / sqrt(sxx * inv_n + (double)eps));
    return 0;
}

/* The finish of an RMSNorm kernel's row for either kind (norm_job.kind): 0 with *s set, or 1 for
 * the rare path (norm_rmsk_row_rare). L2: the same rare rule as RMSNorm (a total below
 * NORM_RARE_MIN has lost bits in float squares), then s = 1 / max(sqrt(s2), eps) in double,
 * rounded to float once. */
static inline int norm_rmsk_finish(int kind, double s2, double inv_n, float eps, float *s)
{
    if (kind != NORM_KIND_L2)
        return norm_rms_finish(s2, inv_n, eps, s);
    if (!(s2 >= NORM_RARE_MIN && s2 <= DBL_MAX))
        return 1;
    double nrm = sqrt(s2);
    *s = (float)(1.0 / (nrm >= (double)eps ? nrm : (double)eps)); /* eps = -0: +0, not -0 */
    return 0;
}

/* The rare path of an RMSNorm kernel's row for either kind. */
static inline void norm_rmsk_row_rare(int kind, float *y, const float *x, const float *w, size_t n,
                                      float eps, float *rstd, int wplus)
{
    if (kind == NORM_KIND_L2)
        norm_l2norm_row_rare(y, x, n, eps, rstd);
    else
        norm_rmsnorm_row_rare(y, x, w, n, eps, rstd, wplus);
}

#endif /* NORM_INTERNAL_H */
