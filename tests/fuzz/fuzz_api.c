/*
 * libFuzzer target over the public API (every entry point listed in `entries[]` below: adding an
 * entry point to the library means adding one row there).
 *
 * (0.4: LIBNORM_WEIGHT_PLUS_ONE / ACT_TYPE decoded in the flags byte and modelled (the oracle
 * takes the factor 1 + w); libnorm_add_{layer,rms}norm_f32_ex have their own decoder and model,
 * fuzz_add().)
 * (0.3: libnorm_l2norm_f32_ex is one more row there; the two-level fields outer,
 * x_outer_stride and y_outer_stride are decoded for every _ex entry and modelled row by row
 * (t = o * rows + r), y's groups overlapping or interleaving included; libnorm_groupnorm_f32_ex
 * has its own decoder and model, fuzz_groupnorm(). 0.4: the bf16 / f16 entry points
 * libnorm_{layernorm,rmsnorm}_{bf16,f16}_ex have theirs, fuzz_x16(); the add ops fuzz_add();
 * libnorm_gated_rmsnorm_f32_ex fuzz_gated().)
 *
 * One input decodes into one call: entry point, rows, dim, strides, in place or not, where each
 * pointer goes (its own region, anywhere in the arena, misaligned, NULL, aliasing x or y or the
 * other statistic), eps (bad values included), weight/bias presence and contents, mean/rstd
 * outputs, ith/nth, the options' size, flags and reserved field, and each row's contents (raw
 * float bits from the input, or generated families: normal around large means, constant, huge,
 * tiny and subnormal, zeros, mixed magnitudes, an outlier, a NaN or an Inf).
 * Every buffer lives in one arena (cells that hold no data are 0xFF bytes, a NaN: a kernel that
 * reads outside its rows poisons its result).
 *
 * The oracle, per call:
 *   1. the status is exactly the one the header's rules give, computed here independently (the
 *      order of the checks; overlap by a byte-set model over the arena);
 *   2. on error the whole arena (and the options) is unchanged, byte for byte;
 *   3. on success nothing is written outside this call's ith/nth chunk of y rows and its
 *      mean/rstd entries;
 *   4. outputs are within the numerics contract against a long-double reference:
 *      |y - y_exact| <= 8 FLT_EPSILON max(1, |y_exact|, |w| max(1, |x^|)); a row holding NaN or
 *      Inf gives an all-NaN row and NaN statistics; a constant LayerNorm row gives exactly bias
 *      (0 without); an all-zero RMSNorm row gives zeros; mean and rstd within 8 FLT_EPSILON;
 *   5. NaN stays in its row (a finite row next to a NaN row is still within the contract);
 *   6. y, mean and rstd are bit-identical to the scalar tier run on each row alone (NaN payloads
 *      are not compared: any NaN equals any NaN).
 * A violation prints the call and aborts (libFuzzer saves the input). The public API runs on the
 * tier LIBNORM_ISA selects; the target exits 77 at start when that tier is not available here.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libnorm.h"
#include "norm_internal.h"
#include "norm_x16.h"

/* ---- limits: every execution stays small and fast ---- */
#define ARENA 65536                /* bytes; every buffer of a call lives in here */
#define MAX_ROWS 16                /* rows of a normal call (huge row counts are errors) */
#define MAX_DIM 1100               /* crosses the 512-element block and the LayerNorm probe */
#define REGION_BUDGET (ARENA / 5)  /* bytes one x or y extent may take */

static unsigned char arena[ARENA] __attribute__((aligned(64)));
static unsigned char snap[ARENA] __attribute__((aligned(64)));  /* the arena before the call */
static unsigned char expect[ARENA];                              /* the arena as it must be after */

/* ---- the call ---- */
typedef struct fz_call {
    float *y;
    const float *x, *w, *b;
    size_t rows, dim;
    float eps;
    const libnorm_opts *opts; /* NULL or `opts_buf` */
    const float *x2;          /* RMSNorm backward: the forward input x (then .x is dz, .y dx) */
} fz_call;

/* Exact (long double) reference of one row: fills y[dim], *mean, *rstd, *sigma (the standard
 * deviation, for the mean's tolerance) and xhat[dim]; returns the row's kind. */
enum row_kind { ROW_NORMAL, ROW_NONFINITE, ROW_DEGENERATE };
typedef enum row_kind (*exact_fn)(const float *x, const float *w, const float *b, size_t n,
                                  float eps, long double *y, long double *xhat, long double *mean,
                                  long double *rstd, long double *sigma);

/* One public entry point: how to call it, what it takes and writes, its scalar kernel and its
 * exact reference. */
typedef struct entry {
    const char *name;
    int has_bias;  /* takes a bias pointer */
    int has_mean;  /* writes opts->mean */
    int has_opts;  /* takes a libnorm_opts (else: always the defaults) */
    int (*call)(const fz_call *c);
    size_t scalar_off; /* offset of its kernel in norm_dsp */
    exact_fn exact;
    int kind;      /* norm_job.kind of its kernel (NORM_KIND_L2: no weight) */
    int is_back;   /* RMSNorm backward: (dx, dz, x), no weight; x (c->x2) laid out as dz */
} entry;

static int is_finite(float v) { return fabsf(v) <= FLT_MAX; }

static enum row_kind exact_layernorm(const float *x, const float *w, const float *b, size_t n,
                                     float eps, long double *y, long double *xhat,
                                     long double *mean, long double *rstd, long double *sigma)
{
    int constant = 1;
    for (size_t i = 0; i < n; i++) {
        if (!is_finite(x[i]))
            return ROW_NONFINITE;
        constant &= x[i] == x[0];
    }
    long double m1 = 0, s1 = 0, s2 = 0;
    for (size_t i = 0; i < n; i++)
        m1 += x[i];
    m1 /= (long double)n;
    for (size_t i = 0; i < n; i++)
        s1 += (long double)x[i] - m1;
    long double m = m1 + s1 / (long double)n;
    for (size_t i = 0; i < n; i++) {
        long double d = (long double)x[i] - m;
        s2 += d * d;
    }
    long double var = s2 / (long double)n;
    *mean = m;
    *sigma = sqrtl(var);
    *rstd = 1.0L / sqrtl(var + (long double)eps);
    for (size_t i = 0; i < n; i++) {
        xhat[i] = constant ? 0.0L : ((long double)x[i] - m) * *rstd;
        y[i] = xhat[i] * (w ? (long double)w[i] : 1.0L) + (b ? (long double)b[i] : 0.0L);
    }
    return constant ? ROW_DEGENERATE : ROW_NORMAL;
}

static enum row_kind exact_rmsnorm(const float *x, const float *w, const float *b, size_t n,
                                   float eps, long double *y, long double *xhat, long double *mean,
                                   long double *rstd, long double *sigma)
{
    (void)b;
    int zero = 1;
    long double s2 = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_finite(x[i]))
            return ROW_NONFINITE;
        zero &= x[i] == 0.0f;
        s2 += (long double)x[i] * x[i];
    }
    *mean = 0;
    *sigma = 0;
    *rstd = 1.0L / sqrtl(s2 / (long double)n + (long double)eps);
    for (size_t i = 0; i < n; i++) {
        xhat[i] = zero ? 0.0L : (long double)x[i] * *rstd;
        y[i] = xhat[i] * (w ? (long double)w[i] : 1.0L);
    }
    return zero ? ROW_DEGENERATE : ROW_NORMAL;
}

static enum row_kind exact_l2norm(const float *x, const float *w, const float *b, size_t n,
                                  float eps, long double *y, long double *xhat, long double *mean,
                                  long double *rstd, long double *sigma)
{
    (void)w;
    (void)b;
    int zero = 1;
    long double s2 = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_finite(x[i]))
            return ROW_NONFINITE;
        zero &= x[i] == 0.0f;
        s2 += (long double)x[i] * x[i];
    }
    *mean = 0;
    *sigma = 0;
    long double nrm = sqrtl(s2);
    *rstd = 1.0L / (nrm >= (long double)eps ? nrm : (long double)eps);
    for (size_t i = 0; i < n; i++) {
        xhat[i] = zero ? 0.0L : (long double)x[i] * *rstd;
        y[i] = xhat[i];
    }
    return zero ? ROW_DEGENERATE : ROW_NORMAL;
}

static int call_l2_ex(const fz_call *c)
{
    return libnorm_l2norm_f32_ex(c->y, c->x, c->rows, c->dim, c->eps, c->opts);
}
static int call_ln_ex(const fz_call *c)
{
    return libnorm_layernorm_f32_ex(c->y, c->x, c->w, c->b, c->rows, c->dim, c->eps, c->opts);
}
static int call_rms_ex(const fz_call *c)
{
    return libnorm_rmsnorm_f32_ex(c->y, c->x, c->w, c->rows, c->dim, c->eps, c->opts);
}
static int call_rmsb_ex(const fz_call *c)
{
    return libnorm_rmsnorm_back_f32_ex(c->y, c->x, c->x2, c->rows, c->dim, c->eps, c->opts);
}
static int call_ln(const fz_call *c)
{
    return libnorm_layernorm_f32(c->y, c->x, c->w, c->b, c->rows, c->dim, c->eps);
}
static int call_rms(const fz_call *c)
{
    return libnorm_rmsnorm_f32(c->y, c->x, c->w, c->rows, c->dim, c->eps);
}

/* Every public entry point that computes. A new one is one row here. */
static const entry entries[] = {
    {"libnorm_layernorm_f32_ex", 1, 1, 1, call_ln_ex, offsetof(norm_dsp, layernorm_f32),
     exact_layernorm, NORM_KIND_RMS, 0},
    {"libnorm_rmsnorm_f32_ex", 0, 0, 1, call_rms_ex, offsetof(norm_dsp, rmsnorm_f32),
     exact_rmsnorm, NORM_KIND_RMS, 0},
    {"libnorm_layernorm_f32", 1, 0, 0, call_ln, offsetof(norm_dsp, layernorm_f32),
     exact_layernorm, NORM_KIND_RMS, 0},
    {"libnorm_rmsnorm_f32", 0, 0, 0, call_rms, offsetof(norm_dsp, rmsnorm_f32), exact_rmsnorm,
     NORM_KIND_RMS, 0},
    {"libnorm_l2norm_f32_ex", 0, 0, 1, call_l2_ex, offsetof(norm_dsp, rmsnorm_f32), exact_l2norm,
     NORM_KIND_L2, 0},
    {"libnorm_rmsnorm_back_f32_ex", 0, 0, 1, call_rmsb_ex, offsetof(norm_dsp, rmsnorm_back_f32),
     NULL, NORM_KIND_RMS, 1},
};
#define N_ENTRIES (sizeof(entries) / sizeof(entries[0]))
/* The entry byte modulo 20: the _ex forms are decoded three times as often as the plain ones;
 * GN_ENTRY is libnorm_groupnorm_f32_ex (its own decoder and model: fuzz_groupnorm below); 16..19
 * libnorm_rmsnorm_back_f32_ex (entry 5). */
#define GN_ENTRY 255
#define X16_ENTRY 254 /* (0.4) 20..23: the bf16 / f16 entry points, fuzz_x16() */
/* (0.4) 24..27: libnorm_add_layernorm_f32_ex (24, 25) and libnorm_add_rmsnorm_f32_ex (26, 27),
 * their own decoder and model (fuzz_add) */
#define ADD_LN_ENTRY 253
#define ADD_RMS_ENTRY 252
/* (0.4) 28..31: libnorm_gated_rmsnorm_f32_ex (its own decoder and model: fuzz_gated below) */
#define GATED_ENTRY 251
#define OP_MAP_N 32
static const unsigned char op_map[OP_MAP_N] = {0, 1, 4, 0, 1, 4, 0, 1, 4, 2, 3, GN_ENTRY,
                                               GN_ENTRY, GN_ENTRY, 0, 1, 5, 5, 5, 5,
                                               X16_ENTRY, X16_ENTRY, X16_ENTRY, X16_ENTRY,
                                               ADD_LN_ENTRY, ADD_LN_ENTRY, ADD_RMS_ENTRY,
                                               ADD_RMS_ENTRY, GATED_ENTRY, GATED_ENTRY,
                                               GATED_ENTRY, GATED_ENTRY};
_Static_assert(N_ENTRIES == 6, "a new entry point: add it to op_map too");
/* (0.4) the add ops: ADD_LN_ENTRY / ADD_RMS_ENTRY in op_map, fuzz_add() */

/* ---- input decoding: bytes of the input, then a generator seeded from the whole input ---- */
typedef struct reader {
    const uint8_t *p;
    size_t n, i;
    uint64_t rng;
} reader;

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static uint8_t u8(reader *r) { return r->i < r->n ? r->p[r->i++] : (uint8_t)splitmix(&r->rng); }
static uint16_t u16(reader *r) { uint16_t lo = u8(r); return (uint16_t)(lo | (u8(r) << 8)); }
static uint32_t u32(reader *r) { uint32_t lo = u16(r); return lo | ((uint32_t)u16(r) << 16); }
static float fbits(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static uint32_t bitsf(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

/* A generator seeded from four input bytes: row contents that are not raw bits. */
typedef struct gen { uint64_t s; } gen;
static double g_unif(gen *g) { return (double)(splitmix(&g->s) >> 11) * 0x1p-53; }
static double g_norm(gen *g)
{
    double u = g_unif(g), v = g_unif(g);
    return sqrt(-2.0 * log(u + 1e-300)) * cos(6.283185307179586 * v);
}
static float g_sign(gen *g, float v) { return (splitmix(&g->s) & 1) ? -v : v; }

static const float special_vals[] = {0.0f, -0.0f, 1.0f, -1.0f, FLT_MAX, -FLT_MAX, FLT_MIN,
                                     0x1p-149f, -0x1p-149f, 1e-41f, 3e38f, 1e4f, -3e5f, 0.5f};
#define N_SPECIAL (sizeof(special_vals) / sizeof(special_vals[0]))

/* Row `x` (dim floats, written with memcpy: x may be misaligned) of family `fam`. */
static void fill_row(unsigned char *dst, size_t dim, unsigned fam, reader *r)
{
    gen g = {u32(r) * 0x100000001b3ull + fam};
    float mu = 0.0f, sd = 1.0f, c = 0.0f;
    size_t pos = dim ? (size_t)(splitmix(&g.s) % dim) : 0;
    switch (fam) {
    case 1: {
        static const float mus[4] = {0.0f, 1e4f, -3e5f, 1.0f}, sds[4] = {1.0f, 1e-2f, 1e3f, 1e-6f};
        unsigned k = u8(r);
        mu = mus[k & 3];
        sd = sds[(k >> 2) & 3];
        break;
    }
    case 2: {
        uint32_t v = u32(r);
        c = (v & 0x80) ? special_vals[(v >> 8) % N_SPECIAL] : fbits(v & 0xff7fffffu);
        break;
    }
    default:
        break;
    }
    for (size_t i = 0; i < dim; i++) {
        float v;
        switch (fam) {
        case 0: /* raw bits: anything, NaN and Inf included */
            v = fbits(u32(r));
            break;
        case 1: /* normal around a mean */
        case 5: /* ... with one NaN or Inf */
        case 8: /* ... with one huge outlier (at x[0] half of the time) */
            v = fam == 1 ? (float)(mu + sd * g_norm(&g)) : (float)g_norm(&g);
            break;
        case 2: /* constant */
            v = c;
            break;
        case 3: /* huge */
            v = g_sign(&g, (float)(1e30 * pow(3.4e8, g_unif(&g))));
            break;
        case 4: /* tiny, subnormal included */
            v = g_sign(&g, (float)(0x1p-149 * pow(2.0, 140.0 * g_unif(&g))));
            break;
        case 6: /* zeros of both signs */
            v = g_sign(&g, 0.0f);
            break;
        case 7: /* mixed magnitudes */
            v = g_sign(&g, (float)pow(10.0, 60.0 * g_unif(&g) - 30.0));
            break;
        case 9: /* a step: the probe is unlike the row */
            v = (float)((i < dim / 3 ? 100.0 : -7.0) + g_norm(&g));
            break;
        default: /* raw bits with a finite exponent */
            v = fbits(u32(r) & 0xff7fffffu);
            break;
        }
        memcpy(dst + 4 * i, &v, 4);
    }
    if (dim && fam == 5) {
        static const float bad[3] = {NAN, INFINITY, -INFINITY};
        memcpy(dst + 4 * pos, &bad[splitmix(&g.s) % 3], 4);
    }
    if (dim && fam == 8) {
        float v = g_sign(&g, (float)pow(10.0, 10.0 + 28.0 * g_unif(&g)));
        memcpy(dst + 4 * ((splitmix(&g.s) & 1) ? 0 : pos), &v, 4);
    }
}

/* Weight (is_bias 0) or bias contents of family `fam`. */
static void fill_param(unsigned char *dst, size_t dim, unsigned fam, int is_bias, reader *r)
{
    gen g = {u32(r) ^ 0xabcdef12u};
    for (size_t i = 0; i < dim; i++) {
        float v;
        switch (fam & 7) {
        case 0:
            v = is_bias ? 0.0f : 1.0f;
            break;
        case 1:
        case 2:
            v = (float)(4.0 * g_unif(&g) - 2.0);
            break;
        case 3: /* magnitudes up to 1e3 */
            v = g_sign(&g, (float)pow(10.0, 6.0 * g_unif(&g) - 3.0));
            break;
        case 4: /* raw bits, anything */
            v = fbits(u32(r));
            break;
        case 5: /* raw bits, finite */
            v = fbits(u32(r) & 0xff7fffffu);
            break;
        case 6:
            v = special_vals[splitmix(&g.s) % N_SPECIAL];
            break;
        default:
            v = g_sign(&g, 0.0f);
            break;
        }
        memcpy(dst + 4 * i, &v, 4);
    }
}

/* ---- the documented rules, independently ---- */
typedef struct model {
    const entry *e;
    fz_call c;
    libnorm_opts o;    /* the options as the library may read them (zero past `size`) */
    size_t xs, ys;     /* effective strides */
    size_t outer, xos, yos; /* (0.3) effective groups of rows and their strides */
    size_t begin, count;    /* this call's share of the outer * rows rows t */
    int inplace;
} model;

/* Float offset of row t (= o * rows + r) from x (is_y 0) or y. */
static size_t row_at(const model *m, size_t t, int is_y)
{
    size_t o = t / m->c.rows, r = t % m->c.rows;
    return is_y ? o * m->yos + r * m->ys : o * m->xos + r * m->xs;
}

/* Is [p, p + len) inside the arena? */
static int in_arena(const void *p, unsigned __int128 len)
{
    uintptr_t a = (uintptr_t)arena, q = (uintptr_t)p;
    return q >= a && (unsigned __int128)(q - a) + len <= ARENA;
}

/* Bytes from base to the end of `rows` rows of `dim` floats, `stride` floats apart, exactly. */
static unsigned __int128 extent(size_t rows, size_t stride, size_t dim)
{
    return ((unsigned __int128)(rows - 1) * stride + dim) * 4;
}

/* A byte set: the union of up to MAX_ROWS + 1 intervals [lo, hi) of addresses. */
typedef struct byteset {
    int n;
    uintptr_t lo[MAX_ROWS + 1], hi[MAX_ROWS + 1];
} byteset;

/* The rows t = first .. first + count - 1 of a two-level layout. */
static void set_rows2(byteset *s, const model *m, int is_y, size_t first, size_t count)
{
    s->n = 0;
    /* is_y 2: the second input c.x2 (RMSNorm backward's x), laid out as x */
    const float *p = is_y == 1 ? m->c.y : is_y == 2 ? m->c.x2 : m->c.x;
    for (size_t t = first; t < first + count; t++) {
        s->lo[s->n] = (uintptr_t)(p + row_at(m, t, is_y == 1));
        s->hi[s->n] = s->lo[s->n] + 4 * m->c.dim;
        s->n++;
    }
}

static void set_rows(byteset *s, const void *p, size_t rows, size_t stride_f, size_t len_f)
{
    s->n = 0;
    if (!p)
        return;
    for (size_t r = 0; r < rows; r++) {
        s->lo[s->n] = (uintptr_t)p + 4 * r * stride_f;
        s->hi[s->n] = s->lo[s->n] + 4 * len_f;
        s->n++;
    }
}

/* Do two byte sets share a byte? */
static int sets_meet(const byteset *a, const byteset *b)
{
    for (int i = 0; i < a->n; i++)
        for (int k = 0; k < b->n; k++)
            if (a->lo[i] < b->hi[k] && b->lo[k] < a->hi[i])
                return 1;
    return 0;
}

/* The expected status. Sets m->xs, ys, inplace. *reach is set when the model got to the extent
 * checks (the library then computes addresses from rows and strides). */
static int expected_status(model *m, int *reach_size, int *reach_overlap)
{
    const fz_call *c = &m->c;
    const entry *e = m->e;
    *reach_size = *reach_overlap = 0;
    m->xs = m->ys = c->dim;
    unsigned ith = 0, nth = 1;
    const float *mean = NULL, *rstd = NULL;
    if (c->opts) {
        const libnorm_opts *o = &m->o;
        if (o->size < LIBNORM_OPTS_MIN_SIZE)
            return LIBNORM_EOPTS;
        if (o->flags & ~(LIBNORM_WEIGHT_PLUS_ONE | LIBNORM_WEIGHT_ACT_TYPE))
            return LIBNORM_EOPTS;
        if (o->size >= offsetof(libnorm_opts, reserved) + sizeof(o->reserved) && o->reserved != 0)
            return LIBNORM_EOPTS;
        if (o->nth == 0 || o->nth == 1) {
            if (o->ith != 0)
                return LIBNORM_EOPTS;
        } else if (o->ith >= o->nth) {
            return LIBNORM_EOPTS;
        }
        ith = o->nth > 1 ? o->ith : 0;
        nth = o->nth > 1 ? o->nth : 1;
        if (o->x_stride)
            m->xs = o->x_stride;
        if (o->y_stride)
            m->ys = o->y_stride;
        mean = e->has_mean ? o->mean : NULL;
        rstd = o->rstd;
    }
    /* (0.3) the second level: outer groups (0 and 1: one), outer strides (0: rows * stride) */
    const libnorm_opts *oo = &m->o;
    unsigned __int128 outer = c->opts && oo->outer > 1 ? oo->outer : 1;
    unsigned __int128 xos = c->opts && oo->x_outer_stride ? oo->x_outer_stride
                                                          : (unsigned __int128)c->rows * m->xs;
    unsigned __int128 yos = c->opts && oo->y_outer_stride ? oo->y_outer_stride
                                                          : (unsigned __int128)c->rows * m->ys;
    unsigned __int128 nstat = outer * c->rows;
    /* the chunk: nth pieces of the outer * rows rows, the first nstat % nth one row longer */
    size_t begin = 0, count = 0;
    if (nstat < ((unsigned __int128)1 << 64))
        for (unsigned k = 0; k <= ith && nth; k++) {
            begin += count;
            count = (size_t)(nstat / nth + ((size_t)k < nstat % nth));
        }
    m->begin = begin;
    m->count = count;
    if (!c->y || !c->x || (e->is_back && !c->x2))
        return LIBNORM_ENULL;
    const void *ptrs[7] = {c->y, c->x, c->w, e->has_bias ? c->b : NULL, mean, rstd, c->x2};
    for (int i = 0; i < 7; i++)
        if ((uintptr_t)ptrs[i] % sizeof(float))
            return LIBNORM_EALIGN;
    if (c->dim == 0)
        return LIBNORM_EDIM;
    if (isnan(c->eps) || isinf(c->eps) || c->eps < 0.0f)
        return LIBNORM_EEPS;
    if (m->xs < c->dim || m->ys < c->dim)
        return LIBNORM_ESTRIDE;
    if (c->rows == 0)
        return LIBNORM_OK;
    *reach_size = 1;
    const unsigned __int128 top = (unsigned __int128)1 << 64;
    if (outer > 1 && (xos >= top || yos >= top || nstat >= top))
        return LIBNORM_ESIZE;
    if ((outer - 1) * xos >= top || (outer - 1) * yos >= top)
        return LIBNORM_ESIZE;
    unsigned __int128 ex = extent(c->rows, m->xs, c->dim) + (outer - 1) * xos * 4,
                      ey = extent(c->rows, m->ys, c->dim) + (outer - 1) * yos * 4;
    if ((uintptr_t)c->x + ex >= top || (uintptr_t)c->y + ey >= top || nstat * 4 >= top ||
        (c->x2 && (uintptr_t)c->x2 + ex >= top) ||
        (mean && (uintptr_t)mean + nstat * 4 >= top) || (rstd && (uintptr_t)rstd + nstat * 4 >= top))
        return LIBNORM_ESIZE;
    *reach_overlap = 1;
    m->outer = (size_t)outer;
    m->xos = (size_t)xos;
    m->yos = (size_t)yos;
    /* from here every buffer is in the arena (the decoder makes sure): the byte-set model */
    if (!in_arena(c->x, ex) || !in_arena(c->y, ey) || (c->w && !in_arena(c->w, c->dim * 4)) ||
        (ptrs[3] && !in_arena(ptrs[3], c->dim * 4)) ||
        (mean && !in_arena(mean, nstat * 4)) || (rstd && !in_arena(rstd, nstat * 4)) ||
        (c->x2 && !in_arena(c->x2, ex)))
        return -1000; /* the decoder's business: not a call to make */
    m->inplace = (const void *)c->y == (const void *)c->x && m->xs == m->ys &&
                 (m->outer <= 1 || m->xos == m->yos);
    if (nstat > MAX_ROWS)
        return -1000;
    byteset Y, X, W, B, M, R, X2;
    set_rows2(&Y, m, 1, 0, (size_t)nstat);
    set_rows2(&X, m, 0, 0, (size_t)nstat);
    set_rows(&W, c->w, 1, c->dim, c->dim);
    set_rows(&B, ptrs[3], 1, c->dim, c->dim);
    set_rows(&M, mean, 1, (size_t)nstat, (size_t)nstat);
    set_rows(&R, rstd, 1, (size_t)nstat, (size_t)nstat);
    set_rows2(&X2, m, 2, 0, c->x2 ? (size_t)nstat : 0); /* RMSNorm backward's x, laid out as dz */
    /* y's rows pairwise disjoint (exactly), and, where y's groups interleave other than in
     * whole row slots, EOVERLAP whatever the bytes (the header's documented conservative rule) */
    for (int i = 0; i < Y.n; i++)
        for (int k = i + 1; k < Y.n; k++)
            if (Y.lo[i] < Y.hi[k] && Y.lo[k] < Y.hi[i])
                return LIBNORM_EOVERLAP;
    if (m->outer > 1 && c->rows > 1 && m->yos != c->rows * m->ys &&
        m->yos < (c->rows - 1) * m->ys + c->dim &&
        !(m->yos % m->ys == 0 && m->yos / m->ys >= c->rows) &&
        !(m->yos >= c->dim && m->ys % m->yos == 0 && m->ys / m->yos >= m->outer))
        return LIBNORM_EOVERLAP;
    const byteset *outs[3] = {&Y, &M, &R}, *ins[4] = {&X, &W, &B, &X2};
    for (int i = 0; i < 3; i++) {
        for (int k = 0; k < 4; k++)
            if (!(i == 0 && k == 0 && m->inplace) && sets_meet(outs[i], ins[k]))
                return LIBNORM_EOVERLAP;
        for (int k = i + 1; k < 3; k++)
            if (sets_meet(outs[i], outs[k]))
                return LIBNORM_EOVERLAP;
    }
    return LIBNORM_OK;
}

/* ---- reporting ---- */
static const char *g_isa;
static unsigned long g_calls, g_status[16], g_rows_checked, g_nan_rows, g_degenerate_rows;

/* At exit: what the calls were (so a run shows that it exercised successes and every error). */
static void print_stats(void)
{
    static const char *const names[11] = {"ok", "ENULL", "EDIM", "EEPS", "EOVERLAP", "ESTRIDE",
                                          "EOPTS", "ESIZE", "EALIGN", "EGATE", "?"};
    fprintf(stderr, "fuzz_api (%s): %lu calls:", g_isa, g_calls);
    for (int i = 0; i < 11; i++)
        fprintf(stderr, " %s %lu", names[i], g_status[i]);
    fprintf(stderr, "; %lu rows checked (%lu NaN/Inf, %lu constant/zero)\n", g_rows_checked,
            g_nan_rows, g_degenerate_rows);
}

static void describe(const model *m, int got, int want)
{
    const fz_call *c = &m->c;
    uintptr_t a = (uintptr_t)arena;
#define OFF(p) ((p) ? (long)((uintptr_t)(p) - a) : -1L)
    fprintf(stderr,
            "fuzz_api (%s): %s(y@%ld, x@%ld, w@%ld, b@%ld, rows %zu, dim %zu, eps %a (0x%08x), "
            "opts %s)\n",
            g_isa, m->e->name, OFF(c->y), OFF(c->x), OFF(c->w),
            m->e->has_bias ? OFF(c->b) : -1L, c->rows, c->dim, (double)c->eps, bitsf(c->eps),
            c->opts ? "given" : "NULL");
    if (m->e->is_back)
        fprintf(stderr, "  (rmsnorm_back: y is dx, x is dz; the forward x @%ld)\n", OFF(c->x2));
    if (c->opts)
        fprintf(stderr,
                "  opts: size %zu x_stride %zu y_stride %zu ith %u nth %u mean@%ld rstd@%ld "
                "flags %u reserved %u outer %zu x_outer_stride %zu y_outer_stride %zu\n",
                m->o.size, m->o.x_stride, m->o.y_stride, m->o.ith, m->o.nth, OFF(m->o.mean),
                OFF(m->o.rstd), m->o.flags, m->o.reserved, m->o.outer, m->o.x_outer_stride,
                m->o.y_outer_stride);
#undef OFF
    fprintf(stderr, "  status %d (%s), expected %d (%s); chunk rows %zu..+%zu\n", got,
            libnorm_strerror(got), want, libnorm_strerror(want), m->begin, m->count);
}

#define FAIL(m, got, want, ...)                                                                 \
    do {                                                                                        \
        describe(m, got, want);                                                                 \
        fprintf(stderr, "  FAIL: " __VA_ARGS__);                                                \
        fprintf(stderr, "\n");                                                                  \
        abort();                                                                                \
    } while (0)

/* ---- the checks of a successful call ---- */
static norm_dsp g_scalar;
static float ref_y[MAX_ROWS][MAX_DIM], ref_m[MAX_ROWS], ref_r[MAX_ROWS];
static long double ex_y[MAX_DIM], ex_xhat[MAX_DIM];

static int same_bits(float a, float b) { return bitsf(a) == bitsf(b) || (isnan(a) && isnan(b)); }

/* |got - want| <= tol, where an Inf is right when the exact value is (near) beyond FLT_MAX */
static int close_to(float got, long double want, long double tol)
{
    if (isnan(got))
        return 0;
    if (isinf(got))
        return (got > 0) == (want > 0) && fabsl(want) + tol >= (long double)FLT_MAX;
    if (isinf(want))
        return 0;
    return fabsl((long double)got - want) <= tol;
}

/* RMSNorm backward rows of a successful call: the contract of include/libnorm.h against a long
 * double reference, NaN rows, and the scalar tier's bits on each row alone. */
static void check_back_rows(const model *m, const float *rstd, uintptr_t delta)
{
    const fz_call *c = &m->c;
    const long double eps8 = 8.0L * FLT_EPSILON, fmin = FLT_MIN;
    norm_kernel_fn scalar = g_scalar.rmsnorm_back_f32;
    for (size_t k = 0; k < m->count; k++) {
        size_t r = m->begin + k, n = c->dim;
        const float *dz = (const float *)((uintptr_t)(c->x + row_at(m, r, 0)) + delta);
        const float *xr = (const float *)((uintptr_t)(c->x2 + row_at(m, r, 0)) + delta);
        const float *dx = c->y + row_at(m, r, 1);
        norm_job j = {ref_y[k], xr, NULL, NULL, 1, n, n, n, c->eps, NULL,
                      rstd ? &ref_r[k] : NULL, NULL, NORM_KIND_RMS, dz, 0, 0};
        scalar(&j);
        int nonfinite = 0;
        long double sxx = 0, sxdz = 0, a = 0;
        for (size_t i = 0; i < n; i++) {
            nonfinite |= !is_finite(xr[i]) || !is_finite(dz[i]);
            sxx += (long double)xr[i] * xr[i];
            sxdz += (long double)xr[i] * dz[i];
            a += fabsl((long double)xr[i] * dz[i]);
        }
        long double s = sxx + (long double)c->eps * n, rr = 1.0L / sqrtl(s / n), cc = -sxdz / s;
        int degenerate = !nonfinite && s == 0; /* x all zero, eps 0: no gradient (NaN) */
        g_rows_checked++;
        g_nan_rows += nonfinite;
        g_degenerate_rows += degenerate;
        for (size_t i = 0; i < n; i++) {
            float got = dx[i];
            if (nonfinite || degenerate) {
                if (!isnan(got))
                    FAIL(m, 0, 0, "rmsnorm_back row %zu %s but dx[%zu] = %a is not NaN", r,
                         nonfinite ? "holds NaN/Inf" : "is zero with eps 0", i, (double)got);
            } else {
                long double t = (long double)dz[i] + (long double)xr[i] * cc, want = t * rr;
                long double d = fmaxl(fabsl(want), fabsl((long double)dz[i]) * rr);
                d = fmaxl(d, fabsl((long double)xr[i]) * rr * (a + n * fmin) / s);
                d = fmaxl(d, fmaxl(rr, 1.0L) * fmin);
                /* dz + x*c is a float: past FLT_MAX it is Inf, whatever r does; and where the
                 * allowance 8 FLT_EPSILON D itself is past FLT_MAX (the terms dz*r, x*c*r are),
                 * the residue of their cancellation may be Inf (header) */
                int inf_ok = isinf(got) && (((got > 0) == (t > 0) &&
                                             fabsl(t) * (1 + eps8) >= (long double)FLT_MAX) ||
                                            eps8 * d >= (long double)FLT_MAX);
                if (!inf_ok && !close_to(got, want, eps8 * d))
                    FAIL(m, 0, 0,
                         "rmsnorm_back row %zu dx[%zu] = %.9g (x %a dz %a), exact %.12Lg: error "
                         "%.3Lg FLT_EPSILON units of D %.3Lg (contract 8)",
                         r, i, (double)got, (double)xr[i], (double)dz[i], want,
                         fabsl((long double)got - want) / (d * FLT_EPSILON), d);
            }
            if (!same_bits(got, ref_y[k][i]))
                FAIL(m, 0, 0, "rmsnorm_back row %zu dx[%zu] = %a, scalar tier %a", r, i,
                     (double)got, (double)ref_y[k][i]);
        }
        if (rstd) {
            float got = rstd[r];
            int ok = nonfinite ? isnan(got)
                     : isinf(rr) ? isinf(got) && got > 0
                                 : close_to(got, rr, eps8 * rr + 0x1p-149L);
            if (!ok)
                FAIL(m, 0, 0, "rmsnorm_back row %zu rstd = %a, exact %.12Lg", r, (double)got, rr);
            if (!same_bits(got, ref_r[k]))
                FAIL(m, 0, 0, "rmsnorm_back row %zu rstd = %a, scalar tier %a", r, (double)got,
                     (double)ref_r[k]);
        }
    }
}

static void check_success(const model *m)
{
    const fz_call *c = &m->c;
    const entry *e = m->e;
    const float *mean = c->opts && e->has_mean ? m->o.mean : NULL;
    const float *rstd = c->opts ? m->o.rstd : NULL;
    const float *bias = e->has_bias ? c->b : NULL;
    const long double eps8 = 8.0L * FLT_EPSILON;
    const uintptr_t delta = (uintptr_t)snap - (uintptr_t)arena;
#define SNAP(p) ((const float *)((uintptr_t)(p) + delta))

    /* 3: only this chunk's y rows and statistics were written: the arena must equal the
     * snapshot with those bytes taken from the arena */
    byteset allowed[3];
    memset(allowed, 0, sizeof(allowed));
    if (m->count) { /* (an empty chunk may start past a huge stride) */
        set_rows2(&allowed[0], m, 1, m->begin, m->count);
        set_rows(&allowed[1], mean ? mean + m->begin : NULL, 1, m->count, m->count);
        set_rows(&allowed[2], rstd ? rstd + m->begin : NULL, 1, m->count, m->count);
    }
    memcpy(expect, snap, ARENA);
    for (int s = 0; s < 3; s++)
        for (int i = 0; i < allowed[s].n; i++) {
            size_t off = allowed[s].lo[i] - (uintptr_t)arena;
            memcpy(expect + off, arena + off, allowed[s].hi[i] - allowed[s].lo[i]);
        }
    if (memcmp(expect, arena, ARENA) != 0) {
        size_t i = 0;
        while (expect[i] == arena[i])
            i++;
        FAIL(m, 0, 0, "byte %zu of the arena written, outside this call's rows and stats", i);
    }

    if (m->count > MAX_ROWS)
        abort();
    if (e->is_back) {
        check_back_rows(m, rstd, delta);
        return;
    }
    norm_kernel_fn scalar = *(const norm_kernel_fn *)((const char *)&g_scalar + e->scalar_off);
    /* (0.4) LIBNORM_WEIGHT_PLUS_ONE: the factor (float)(1 + w), the oracle's weight */
    const int wplus = c->opts && (m->o.flags & LIBNORM_WEIGHT_PLUS_ONE) && c->w &&
                      e->kind != NORM_KIND_L2;
    static float wfac[MAX_DIM];
    for (size_t i = 0; wplus && i < c->dim; i++)
        wfac[i] = 1.0f + SNAP(c->w)[i];
    for (size_t k = 0; k < m->count; k++) {
        size_t r = m->begin + k;
        const float *xr = SNAP(c->x + row_at(m, r, 0)), *w = c->w ? SNAP(c->w) : NULL,
                    *b = bias ? SNAP(bias) : NULL;
        const float *yr = c->y + row_at(m, r, 1);
        /* 6: the scalar tier on this row alone */
        norm_job j = {ref_y[k], xr, w, b, 1, c->dim, c->dim, c->dim, c->eps,
                      mean ? &ref_m[k] : NULL, rstd ? &ref_r[k] : NULL, NULL, e->kind, NULL,
                      wplus, 0};
        scalar(&j);
        if (wplus)
            w = wfac; /* the contract is on the factor */
        /* 4, 5: the contract */
        long double xm = 0, xr_ = 0, sigma = 0;
        enum row_kind kind = e->exact(xr, w, b, c->dim, c->eps, ex_y, ex_xhat, &xm, &xr_, &sigma);
        g_rows_checked++;
        g_nan_rows += kind == ROW_NONFINITE;
        g_degenerate_rows += kind == ROW_DEGENERATE;
        for (size_t i = 0; i < c->dim; i++) {
            float got = yr[i];
            int wb_finite = (!w || is_finite(w[i])) && (!b || is_finite(b[i]));
            if (kind == ROW_NONFINITE) {
                if (!isnan(got))
                    FAIL(m, 0, 0, "row %zu holds NaN/Inf but y[%zu] = %a is not NaN", r, i,
                         (double)got);
            } else if (!wb_finite) {
                /* no contract for a non-finite weight or bias element: bits only */
            } else if (isnan(got)) {
                FAIL(m, 0, 0, "NaN in finite row %zu at %zu (x %a, w %a, b %a)", r, i,
                     (double)xr[i], w ? (double)w[i] : 1.0, b ? (double)b[i] : 0.0);
            } else if (kind == ROW_DEGENERATE) {
                float want = b ? b[i] : 0.0f;
                if (got != want)
                    FAIL(m, 0, 0, "row %zu is %s: y[%zu] = %a, want exactly %a", r,
                         e->has_bias ? "constant" : "all zero", i, (double)got, (double)want);
            } else {
                long double aw = w ? fabsl((long double)w[i]) : 1.0L;
                long double tol = eps8 * fmaxl(1.0L, fmaxl(fabsl(ex_y[i]),
                                                           aw * fmaxl(1.0L, fabsl(ex_xhat[i]))));
                if (!close_to(got, ex_y[i], tol))
                    FAIL(m, 0, 0,
                         "row %zu y[%zu] = %.9g, exact %.12Lg: error %.3Lg FLT_EPSILON units of "
                         "max(1, |y|, |w| max(1, |x^|)) (contract 8)",
                         r, i, (double)got, ex_y[i],
                         fabsl((long double)got - ex_y[i]) / (tol / 8.0L));
            }
            if (!same_bits(got, ref_y[k][i]))
                FAIL(m, 0, 0, "row %zu y[%zu] = %a (0x%08x), scalar tier %a (0x%08x)", r, i,
                     (double)got, bitsf(got), (double)ref_y[k][i], bitsf(ref_y[k][i]));
        }
        if (mean) {
            float got = mean[r];
            if (kind == ROW_NONFINITE ? !isnan(got)
                                      : !close_to(got, xm, eps8 * fmaxl(fabsl(xm), sigma) +
                                                               0x1p-149L))
                FAIL(m, 0, 0, "row %zu mean = %a, exact %.12Lg (sigma %.6Lg)", r, (double)got, xm,
                     sigma);
            if (!same_bits(got, ref_m[k]))
                FAIL(m, 0, 0, "row %zu mean = %a, scalar tier %a", r, (double)got,
                     (double)ref_m[k]);
        }
        if (rstd) {
            float got = rstd[r];
            int ok;
            if (kind == ROW_NONFINITE)
                ok = isnan(got);
            else if (isinf(xr_))
                ok = isinf(got) && got > 0;
            else
                ok = close_to(got, xr_, eps8 * xr_ + 0x1p-149L);
            if (!ok)
                FAIL(m, 0, 0, "row %zu rstd = %a, exact %.12Lg", r, (double)got, xr_);
            if (!same_bits(got, ref_r[k]))
                FAIL(m, 0, 0, "row %zu rstd = %a, scalar tier %a", r, (double)got,
                     (double)ref_r[k]);
        }
    }
#undef SNAP
}

/* ---- decoding one input into a call ---- */
static const size_t huge_vals[] = {SIZE_MAX, SIZE_MAX / 4, SIZE_MAX / 4 + 1, SIZE_MAX / 8,
                                   (size_t)1 << 62, ((size_t)1 << 62) + 1, SIZE_MAX / 2,
                                   SIZE_MAX - 1};
#define N_HUGE (sizeof(huge_vals) / sizeof(huge_vals[0]))

/* Placement of one buffer of `len` bytes, reserved with slack in the sequential layout. */
typedef struct layout {
    size_t next; /* next free offset of the sequential layout */
} layout;

static size_t place_seq(layout *L, size_t len, unsigned gap)
{
    size_t off = L->next + 4 * (gap % 16);
    L->next = off + len + 4; /* +4: room for a misaligned start */
    return off;
}

static size_t place_any(reader *r, size_t len)
{
    if (len >= ARENA)
        return 0;
    return (u16(r) % (ARENA - len + 1)) & ~(size_t)3;
}

/* ---- libnorm_groupnorm_f32_ex: its own decoder and model ----
 * batch 0..3, channels 0..12 (or huge), spatial 0..40, groups 0..channels+2 (or huge); channel
 * strides 0, spatial or wrong; batch strides 0, padded, too small or huge; outer 0..2; weight,
 * bias, mean, rstd placed apart, over y, misaligned or NULL; in place. The status from the
 * header's rules; on error nothing written; on success exactly this call's units' y bytes and
 * statistics written, everything bit-identical to the scalar table's run of the same call
 * (norm_groupnorm_call) on a copy of the arena, and each unit within the contract against a
 * long-double LayerNorm of its run with the per-channel affine. */
static unsigned char gn_arena2[ARENA] __attribute__((aligned(64)));
static long double gn_ex_y[12 * 40], gn_ex_xh[12 * 40];
static float gn_we[12 * 40], gn_be[12 * 40];

static void gn_fail(const char *what, int got, int want, size_t batch, size_t C, size_t S,
                    size_t G, const libnorm_opts *o)
{
    fprintf(stderr,
            "fuzz_api (%s): libnorm_groupnorm_f32_ex(batch %zu, C %zu, S %zu, G %zu, opts %s): "
            "status %d, expected %d: FAIL: %s\n",
            g_isa, batch, C, S, G, o ? "given" : "NULL", got, want, what);
    if (o)
        fprintf(stderr, "  opts: x_stride %zu y_stride %zu outer %zu xbs %zu ybs %zu ith %u nth %u\n",
                o->x_stride, o->y_stride, o->outer, o->x_outer_stride, o->y_outer_stride, o->ith,
                o->nth);
    abort();
}

static int fuzz_groupnorm(reader *r)
{
    unsigned char *A = arena;
    unsigned bb = u8(r), cb = u8(r), sb = u8(r), gb = u8(r), smode = u8(r), pmode = u16(r),
             emode = u8(r), tb = u8(r), ob = u8(r);
    size_t batch = bb % 4, S = sb % 41, C = cb >= 0xfc ? SIZE_MAX / 4 : cb % 13;
    if (C == SIZE_MAX / 4 && S < 8)
        S = 8; /* channels * spatial overflows: ESIZE, never a walk */
    size_t G = gb >= 0xfc ? SIZE_MAX / 2 : gb % (C < 13 ? C + 3 : 15);
    const int huge_c = C > 12;
    size_t cs = huge_c ? 0 : C * S, cs_sat = huge_c ? SIZE_MAX : cs;
    /* strides as passed */
    size_t chx = 0, chy = 0, xbs = 0, ybs = 0;
    switch (smode & 3) {
    case 1: chx = S; break;
    case 2: chx = S + 1; break;
    default: break;
    }
    switch ((smode >> 2) & 3) {
    case 1: chy = S; break;
    case 2: chy = S ? S - 1 : 1; break;
    default: break;
    }
    for (int k = 0; k < 2; k++) {
        unsigned md = (smode >> (4 + 2 * k)) & 3;
        size_t v = 0;
        if (md == 1)
            v = cs + 1 + (ob & 7);
        else if (md == 2)
            v = (ob & 8) ? SIZE_MAX / 2 : (cs ? cs - 1 : 0);
        else if (md == 3)
            v = cs;
        *(k ? &ybs : &xbs) = v;
    }
    const size_t exbs = xbs && xbs != SIZE_MAX / 2 ? xbs : cs, eybs = ybs && ybs != SIZE_MAX / 2 ? ybs : cs;
    const size_t lb = batch ? batch : 1;
    size_t xlen = huge_c ? 4 : 4 * ((lb - 1) * exbs + cs) + 4,
           ylen = huge_c ? 4 : 4 * ((lb - 1) * eybs + cs) + 4;
    size_t units = G > 64 ? 1 : lb * G, slen = 4 * (units ? units : 1) + 4;
    size_t plen = 4 * (huge_c ? 1 : C ? C : 1) + 4;
    /* placement: x, y, w, b, mean, rstd one after another (all small), then the modes */
    size_t xo = 4 * (pmode & 3), yo = xo + xlen + 4 * ((pmode >> 2) & 3), wo = yo + ylen,
           bo = wo + plen, mo = bo + plen, ro = mo + slen;
    if (ro + slen > ARENA)
        abort();
    const float *x = (const float *)(A + xo);
    float *y = (float *)(A + yo);
    switch ((pmode >> 4) & 7) {
    case 5: y = (float *)(uintptr_t)x; break;                  /* in place */
    case 6: y = (pmode & 0x100) ? NULL : (float *)(A + yo + 2); break;
    case 7: x = (pmode & 0x100) ? NULL : (const float *)(A + xo + 4 * (1 + (pmode >> 9) % 9)); break;
    default: break;
    }
    const float *pw = NULL, *pb = NULL;
    float *pm = NULL, *pr = NULL;
    for (int k = 0; k < 4; k++) {
        unsigned md = (pmode >> (7 + 2 * k)) & 3, extra = (tb >> (2 * k)) & 3;
        size_t seq = k == 0 ? wo : k == 1 ? bo : k == 2 ? mo : ro;
        unsigned char *p = NULL;
        if (md == 1 || md == 2)
            p = A + seq;
        else if (md == 3)
            p = extra == 0 ? A + seq + 1                            /* misaligned */
                : extra == 1 ? A + yo + 4 * ((ob >> 4) % 8)         /* over y */
                : extra == 2 ? A + mo + 4 * (ob >> 5)               /* near mean */
                             : A + seq;
        if (k == 0) pw = (const float *)p;
        else if (k == 1) pb = (const float *)p;
        else if (k == 2) pm = (float *)p;
        else pr = (float *)p;
    }
    static const float bad_eps[] = {-1e-5f, NAN, INFINITY};
    float eps = (emode & 3) == 3 ? bad_eps[(emode >> 2) % 3] : (emode & 1) ? 1e-5f : 0.0f;
    libnorm_opts o = LIBNORM_OPTS_INIT;
    o.x_stride = chx;
    o.y_stride = chy;
    o.x_outer_stride = xbs;
    o.y_outer_stride = ybs;
    o.outer = (ob >> 6) == 3 ? 2 : (ob >> 6) & 1;
    o.nth = (tb >> 4) % 6;
    o.ith = (tb & 0x80) && o.nth ? o.nth : ((emode >> 4) % (o.nth > 1 ? o.nth : 1));
    o.mean = pm;
    o.rstd = pr;
    const int use_opts = (emode & 0x80) == 0;
    const libnorm_opts *op = use_opts ? &o : NULL;
    if (!use_opts)
        pm = pr = NULL, xbs = ybs = chx = chy = 0;

    /* the expected status, in the header's order */
    const size_t bx = xbs ? xbs : cs_sat, by = ybs ? ybs : cs_sat;
    const unsigned __int128 top = (unsigned __int128)1 << 64;
    int want;
    unsigned __int128 nst = (unsigned __int128)batch * G;
    if (use_opts && (o.ith >= (o.nth > 1 ? o.nth : 1) || o.outer > 1))
        want = LIBNORM_EOPTS;
    else if (!y || !x)
        want = LIBNORM_ENULL;
    else if (((uintptr_t)y | (uintptr_t)x | (uintptr_t)pw | (uintptr_t)pb | (uintptr_t)pm |
              (uintptr_t)pr) & 3)
        want = LIBNORM_EALIGN;
    else if (C == 0 || S == 0 || G == 0)
        want = LIBNORM_EDIM;
    else if (!(eps >= 0.0f && eps <= FLT_MAX))
        want = LIBNORM_EEPS;
    else if ((chx && chx != S) || (chy && chy != S) || bx < cs_sat || by < cs_sat)
        want = LIBNORM_ESTRIDE;
    else if (batch == 0)
        want = LIBNORM_OK;
    else if (huge_c || nst * 4 >= top ||
             (uintptr_t)x + ((unsigned __int128)(batch - 1) * bx + cs) * 4 >= top ||
             (uintptr_t)y + ((unsigned __int128)(batch - 1) * by + cs) * 4 >= top)
        want = LIBNORM_ESIZE;
    else {
        /* byte sets: batch runs of x and y, w and b (C floats), mean and rstd (batch*G floats) */
        const unsigned char *lo[6], *hi[6];
        want = LIBNORM_OK;
        const int inplace = (const void *)y == (const void *)x && bx == by;
        const float *st_p[2] = {pm, pr};
        /* (no offset on a NULL pointer: UB that UBSan stops on) */
        lo[2] = (const unsigned char *)pw;
        hi[2] = lo[2] ? lo[2] + 4 * C : NULL;
        lo[3] = (const unsigned char *)pb;
        hi[3] = lo[3] ? lo[3] + 4 * C : NULL;
        for (int k = 0; k < 2; k++) {
            lo[4 + k] = (const unsigned char *)st_p[k];
            hi[4 + k] = lo[4 + k] ? lo[4 + k] + 4 * (size_t)nst : NULL;
        }
        /* outputs y (per batch), mean, rstd against inputs x (per batch), w, b and each other */
        for (size_t b1 = 0; b1 < batch && want == LIBNORM_OK; b1++) {
            const unsigned char *ylo = (const unsigned char *)(y + b1 * by), *yhi = ylo + 4 * cs;
            for (size_t b2 = 0; b2 < batch; b2++) {
                const unsigned char *xlo = (const unsigned char *)(x + b2 * bx), *xhi = xlo + 4 * cs;
                if (!inplace && ylo < xhi && xlo < yhi)
                    want = LIBNORM_EOVERLAP;
            }
            for (int k = 2; k < 6; k++)
                if (lo[k] && ylo < hi[k] && lo[k] < yhi)
                    want = LIBNORM_EOVERLAP;
        }
        for (int k = 4; k < 6; k++) {
            if (!lo[k])
                continue;
            for (size_t b2 = 0; b2 < batch; b2++) {
                const unsigned char *xlo = (const unsigned char *)(x + b2 * bx), *xhi = xlo + 4 * cs;
                if (lo[k] < xhi && xlo < hi[k])
                    want = LIBNORM_EOVERLAP;
            }
            for (int q = 2; q < 6; q++)
                if (q != k && lo[q] && lo[k] < hi[q] && lo[q] < hi[k])
                    want = LIBNORM_EOVERLAP;
        }
    }

    /* contents: NaN everywhere, then x's batches, w, b */
    memset(arena, 0xff, sizeof(arena));
    if (x && !huge_c)
        for (size_t b1 = 0; b1 < lb; b1++) {
            size_t off = (size_t)((const unsigned char *)x - A) + 4 * b1 * exbs;
            for (size_t c = 0; c < C && off + 4 * (c + 1) * S <= ARENA; c++)
                fill_row(A + off + 4 * c * S, S, u8(r) % 14, r);
        }
    if (pw && !huge_c && ((uintptr_t)pw & 3) == 0)
        fill_param(A + ((const unsigned char *)pw - A), C, u8(r), 0, r);
    if (pb && !huge_c && ((uintptr_t)pb & 3) == 0)
        fill_param(A + ((const unsigned char *)pb - A), C, u8(r), 1, r);
    memcpy(snap, arena, sizeof(arena));

    int got = libnorm_groupnorm_f32_ex(y, x, pw, pb, batch, C, S, G, eps, op);
    g_calls++;
    g_status[got <= 0 && got >= -9 ? -got : 10]++;
    if (got != want)
        gn_fail("wrong status", got, want, batch, C, S, G, op);
    if (got != LIBNORM_OK || batch == 0) {
        if (memcmp(arena, snap, sizeof(arena)) != 0)
            gn_fail("an output was written", got, want, batch, C, S, G, op);
        return 0;
    }
    /* bit-identical to the scalar table's run on a copy (the same offsets) */
    memcpy(gn_arena2, snap, sizeof(snap));
    const intptr_t d2 = (intptr_t)gn_arena2 - (intptr_t)arena;
#define RB(p) ((p) ? (__typeof__(p))(void *)((intptr_t)(p) + d2) : NULL)
    libnorm_opts o2 = o;
    o2.mean = RB(pm);
    o2.rstd = RB(pr);
    if (norm_groupnorm_call(&g_scalar, RB(y), RB(x), RB(pw), RB(pb), batch, C, S, G, eps,
                            use_opts ? &o2 : NULL, NULL) != 0)
        gn_fail("the scalar table refused the call", got, want, batch, C, S, G, op);
    if (memcmp(arena, gn_arena2, sizeof(arena)) != 0)
        gn_fail("differs from the scalar table's run (or wrote elsewhere)", got, want, batch, C,
                S, G, op);
#undef RB
    /* exactly this call's units written: the snapshot with those bytes from the arena */
    size_t units_all = batch * G, q = units_all, u0 = 0, cnt = units_all;
    unsigned nth = use_opts && o.nth > 1 ? o.nth : 1, ith = use_opts && o.nth > 1 ? o.ith : 0;
    if (nth > 1) {
        q = units_all / nth;
        size_t rem = units_all % nth;
        u0 = ith * q + (ith < rem ? ith : rem);
        cnt = q + (ith < rem);
    }
    const size_t cpg = C / G + (C % G != 0);
    memcpy(expect, snap, ARENA);
    for (size_t u = u0; u < u0 + cnt; u++) {
        size_t b1 = u / G, g = u % G, c0 = g * cpg, c1 = c0 + cpg < C ? c0 + cpg : C;
        if (c0 < C) {
            size_t off = (size_t)((unsigned char *)(y + b1 * by + c0 * S) - A);
            memcpy(expect + off, A + off, 4 * (c1 - c0) * S);
        }
        if (pm)
            memcpy(expect + ((unsigned char *)(pm + u) - A), pm + u, 4);
        if (pr)
            memcpy(expect + ((unsigned char *)(pr + u) - A), pr + u, 4);
    }
    if (memcmp(expect, arena, ARENA) != 0)
        gn_fail("bytes written outside this call's units", got, want, batch, C, S, G, op);
    /* the contract, unit by unit */
    const uintptr_t delta = (uintptr_t)snap - (uintptr_t)arena;
    for (size_t u = u0; u < u0 + cnt; u++) {
        size_t b1 = u / G, g = u % G, c0 = g * cpg, c1 = c0 + cpg < C ? c0 + cpg : C;
        if (c0 >= C) {
            if ((pm && !isnan(pm[u])) || (pr && !isnan(pr[u])))
                gn_fail("an empty group's statistics are not NaN", got, want, batch, C, S, G, op);
            continue;
        }
        size_t n = (c1 - c0) * S;
        const float *xr = (const float *)((uintptr_t)(x + b1 * bx + c0 * S) + delta);
        const float *ws = pw ? (const float *)((uintptr_t)pw + delta) : NULL;
        const float *bs = pb ? (const float *)((uintptr_t)pb + delta) : NULL;
        int wb_finite = 1;
        for (size_t i = 0; i < n; i++) {
            gn_we[i] = ws ? ws[c0 + i / S] : 1.0f;
            gn_be[i] = bs ? bs[c0 + i / S] : 0.0f;
            wb_finite &= is_finite(gn_we[i]) && is_finite(gn_be[i]);
        }
        long double xm = 0, xr_ = 0, sigma = 0;
        enum row_kind kind = exact_layernorm(xr, ws ? gn_we : NULL, bs ? gn_be : NULL, n, eps,
                                             gn_ex_y, gn_ex_xh, &xm, &xr_, &sigma);
        g_rows_checked++;
        const float *yr = y + b1 * by + c0 * S;
        for (size_t i = 0; i < n && wb_finite; i++) {
            float gy = yr[i];
            long double aw = fabsl((long double)gn_we[i]);
            long double tol = 8.0L * FLT_EPSILON *
                              fmaxl(1.0L, fmaxl(fabsl(gn_ex_y[i]), aw * fmaxl(1.0L, fabsl(gn_ex_xh[i]))));
            int ok = kind == ROW_NONFINITE ? isnan(gy)
                     : kind == ROW_DEGENERATE ? gy == fmaf(0.0f, gn_we[i], gn_be[i]) || gy == gn_be[i]
                                              : close_to(gy, gn_ex_y[i], tol);
            if (!ok)
                gn_fail("a unit out of contract", got, want, batch, C, S, G, op);
        }
        if (pm && kind == ROW_NORMAL &&
            !close_to(pm[u], xm, 8.0L * FLT_EPSILON * fmaxl(fabsl(xm), sigma) + 0x1p-149L))
            gn_fail("a unit's mean out of contract", got, want, batch, C, S, G, op);
    }
    return 0;
}

/* ---- (0.4) libnorm_{layernorm,rmsnorm}_{bf16,f16}_ex: their own decoder and model ----
 * op and format, rows 0..8 (or a stride that overflows the address space), dim 0..71 or
 * 0..1100, x/y strides 0, padded or below dim; y apart, NULL, in place, overlapping x, odd, or
 * right after x; weight and bias NULL, float or 16-bit (LIBNORM_WEIGHT_ACT_TYPE), 2 mod 4, odd,
 * over y, over x (allowed: both are inputs), right after y; mean/rstd NULL, apart, over y or x,
 * 2 mod 4, the same; flags (PLUS_ONE, ACT_TYPE, an undefined bit); eps good and bad; ith/nth.
 * Oracle: the status from the header's rules (overlap on a byte map of the arena); on error the
 * arena unchanged; on success exactly this call's rows of y written, each equal to
 * round16(scalar f32 op on the widened inputs) (x16_narrow1), mean/rstd equal to its (NaN as
 * NaN), nothing else touched. */
static unsigned char x16_map[ARENA]; /* which buffers cover each byte: bit k = buffer k */
static float x16_xf[MAX_DIM], x16_wf[MAX_DIM], x16_bf[MAX_DIM], x16_yf[MAX_DIM];

static void x16_mark(size_t off, size_t rows, size_t stride_b, size_t len_b, int bit)
{
    for (size_t r = 0; r < rows; r++)
        for (size_t i = 0; i < len_b; i++)
            x16_map[off + r * stride_b + i] |= (unsigned char)(1u << bit);
}

static void x16_fail(const char *what, int got, int want, int op, int fmt, size_t rows,
                     size_t dim)
{
    fprintf(stderr, "fuzz_api x16 [%s]: %s_%s rows %zu dim %zu: %s (status %d, want %d)\n", g_isa,
            op == NORM_OP_LN ? "layernorm" : "rmsnorm", fmt ? "f16" : "bf16", rows, dim, what,
            got, want);
    abort();
}

static int fuzz_x16(reader *r, unsigned opb)
{
    const int op = (opb & 1) ? NORM_OP_RMS : NORM_OP_LN, fmt = (opb >> 1) & 1;
    unsigned rows_b = u8(r);
    uint16_t dim_v = u16(r);
    unsigned smode = u8(r), xpad = u8(r) % 20, ypad = u8(r) % 20, ymode = u8(r), xmode = u8(r),
             wmode = u8(r), bmode = u8(r), stmode = u8(r), fmode = u8(r), emode = u8(r),
             nth_b = u8(r), ith_b = u8(r);
    size_t dim = (dim_v & 0x8000) ? (size_t)(dim_v % (MAX_DIM + 1)) : (size_t)(dim_v % 72);
    int huge = rows_b >= 0xf8;
    size_t rows = huge ? 3 + rows_b % 5 : rows_b % 9;
    size_t sx = 0, sy = 0;
    for (int k = 0; k < 2; k++) {
        unsigned md = (smode >> (2 * k)) & 3;
        size_t s = md == 1 ? dim + (k ? ypad : xpad) : md == 2 && dim >= 2 ? dim - 1 : 0;
        *(k ? &sy : &sx) = s;
    }
    if (smode & 0x10)
        sy = sx;
    if (huge)
        sx = SIZE_MAX / 2; /* (rows - 1) * stride * 2 bytes overflows: ESIZE */
    const size_t exs = sx ? sx : dim, eys = sy ? sy : dim;
    const size_t xrows = huge ? 1 : rows;
    /* the arena: x at 1024 (.. 19.7 KiB), y at 21504 (.. 39.6 KiB), w at 41000, b at 46000,
     * mean at 51000, rstd at 51200 (each at most 8 rows of 1120 16-bit values / 1100 floats) */
    const int wact = (fmode & 2) != 0;
    const size_t wes = wact ? 2 : 4;
    size_t xo = 1024 + ((xmode & 1) ? 1 : 0) + ((xmode & 2) ? 2 : 0);
    size_t xext = rows ? (((huge ? 0 : rows - 1) * exs) + dim) * 2 : 0;
    size_t yext = rows ? ((rows - 1) * eys + dim) * 2 : 0;
    size_t yo = 21504;
    int ynull = 0;
    switch (ymode & 7) {
    case 1: ynull = 1; break;
    case 2: yo = xo; break;                                                 /* in place */
    case 3: yo = xo + 2 * ((ymode >> 4) % (dim + 1)); break;                /* into x */
    case 4: yo = 21504 + 1; break;                                          /* odd */
    case 5: yo = xo + xext; break;                                          /* right after x */
    case 6: yo = 21504 + 2; break;                                          /* 2 mod 4 */
    default: break;
    }
    size_t po[4] = {41000, 46000, 51000, 51200}; /* w, b, mean, rstd */
    unsigned pm[4] = {wmode & 7, bmode & 7, stmode & 7, (stmode >> 3) & 7};
    int pnull[4];
    for (int k = 0; k < 4; k++) {
        pnull[k] = pm[k] == 0;
        switch (pm[k]) {
        case 2: po[k] += 2; break;                         /* 2 mod 4 */
        case 3: po[k] += 1; break;                         /* odd */
        case 4: po[k] = yo + 2 * (dim / 2) - (yo & 1); break; /* over y */
        case 5: po[k] = xo + 2 * (dim / 3) - (xo & 1); break; /* over x */
        case 6: po[k] = yo + yext + ((yo + yext) & 1); break; /* right after y */
        case 7: po[k] = po[k == 3 ? 2 : k]; break;         /* rstd == mean */
        default: break;
        }
    }
    if (huge) /* no overlap test reached with a huge extent: keep the others apart */
        for (int k = 0; k < 4; k++)
            if (pm[k] >= 4 && pm[k] <= 6)
                pnull[k] = 1;
    unsigned flags = (fmode & 1 ? LIBNORM_WEIGHT_PLUS_ONE : 0u) | (wact ? LIBNORM_WEIGHT_ACT_TYPE : 0u) |
                     ((fmode & 0x1c) == 0x1c ? 4u << (fmode >> 5) : 0u);
    static const float eps_vals[8] = {1e-5f, 0.0f, -1.0f, NAN, INFINITY, 1e-6f, 0.5f, -0.0f};
    float eps = eps_vals[emode & 7];
    unsigned nth = nth_b % 5, ith = ith_b % 6;

    /* contents: x rows, w, b (anything in the rest of the arena: 0xFF bytes) */
    memset(arena, 0xff, ARENA);
    reader *rr = r;
    for (size_t t = 0; t < xrows && !huge; t++) {
        fill_row((unsigned char *)x16_xf, dim, u8(rr), rr);
        for (size_t i = 0; i < dim; i++) {
            uint16_t h = x16_narrow1(x16_xf[i], fmt);
            memcpy(arena + xo + (t * exs + i) * 2, &h, 2);
        }
    }
    for (int k = 0; k < 2; k++) {
        if (pnull[k] || po[k] + dim * 4 > ARENA)
            continue;
        fill_param((unsigned char *)x16_wf, dim, u8(rr), k, rr);
        for (size_t i = 0; i < dim; i++) {
            if (wact) {
                uint16_t h = x16_narrow1(x16_wf[i], fmt);
                memcpy(arena + po[k] + 2 * i, &h, 2);
            } else {
                memcpy(arena + po[k] + 4 * i, &x16_wf[i], 4);
            }
        }
    }
    memcpy(snap, arena, ARENA);

    /* the expected status, in the header's order */
    const size_t nrows = rows;
    int want;
    if ((flags & ~3u) || ith >= (nth ? nth : 1u))
        want = LIBNORM_EOPTS;
    else if (ynull)
        want = LIBNORM_ENULL;
    else if (((xo | yo) & 1) || (!pnull[0] && (po[0] & (wes - 1))) ||
             (op == NORM_OP_LN && !pnull[1] && (po[1] & (wes - 1))) ||
             (op == NORM_OP_LN && !pnull[2] && (po[2] & 3)) || (!pnull[3] && (po[3] & 3)))
        want = LIBNORM_EALIGN;
    else if (dim == 0)
        want = LIBNORM_EDIM;
    else if (!(eps >= 0.0f && eps <= FLT_MAX))
        want = LIBNORM_EEPS;
    else if (exs < dim || eys < dim)
        want = LIBNORM_ESTRIDE;
    else if (rows == 0)
        want = LIBNORM_OK;
    else if (huge)
        want = LIBNORM_ESIZE;
    else {
        memset(x16_map, 0, ARENA);
        x16_mark(xo, rows, exs * 2, dim * 2, 0);
        x16_mark(yo, rows, eys * 2, dim * 2, 1);
        const int used[4] = {!pnull[0], op == NORM_OP_LN && !pnull[1],
                             op == NORM_OP_LN && !pnull[2], !pnull[3]};
        const size_t len[4] = {dim * wes, dim * wes, nrows * 4, nrows * 4};
        for (int k = 0; k < 4; k++)
            if (used[k])
                x16_mark(po[k], 1, 0, len[k], 2 + k);
        const int inplace = xo == yo && exs == eys;
        int ov = 0;
        for (size_t i = 0; i < ARENA && !ov; i++) {
            unsigned m = x16_map[i];
            unsigned outs = m & (2u | 16u | 32u); /* y, mean, rstd */
            if (!outs)
                continue;
            unsigned ins = m & (inplace ? 4u | 8u : 1u | 4u | 8u);
            if (ins || (outs & (outs - 1)))
                ov = 1;
        }
        want = ov ? LIBNORM_EOVERLAP : LIBNORM_OK;
    }

    libnorm_opts o = LIBNORM_OPTS_INIT;
    o.x_stride = sx;
    o.y_stride = sy;
    o.flags = flags;
    o.nth = nth;
    o.ith = ith;
    o.mean = pnull[2] ? NULL : (float *)(void *)(arena + po[2]);
    o.rstd = pnull[3] ? NULL : (float *)(void *)(arena + po[3]);
    uint16_t *y = ynull ? NULL : (uint16_t *)(void *)(arena + yo);
    const uint16_t *x = (const uint16_t *)(const void *)(arena + xo);
    const void *w = pnull[0] ? NULL : arena + po[0], *b = pnull[1] ? NULL : arena + po[1];
    int got = op == NORM_OP_LN
                  ? (fmt ? libnorm_layernorm_f16_ex(y, x, w, b, rows, dim, eps, &o)
                         : libnorm_layernorm_bf16_ex(y, x, w, b, rows, dim, eps, &o))
                  : (fmt ? libnorm_rmsnorm_f16_ex(y, x, w, rows, dim, eps, &o)
                         : libnorm_rmsnorm_bf16_ex(y, x, w, rows, dim, eps, &o));
    g_calls++;
    g_status[got <= 0 && got > -16 ? -got : 15]++;
    if (got != want)
        x16_fail("status", got, want, op, fmt, rows, dim);
    if (got != LIBNORM_OK || rows == 0) {
        if (memcmp(arena, snap, ARENA) != 0)
            x16_fail("the arena changed", got, want, op, fmt, rows, dim);
        return 0;
    }
    /* the expected arena: this share's rows from the scalar f32 op on the widened inputs */
    memcpy(expect, snap, ARENA);
    size_t first = 0, count = nrows;
    if (nth > 1) {
        size_t q = nrows / nth, rem = nrows % nth;
        first = ith * q + (ith < rem ? ith : rem);
        count = q + (ith < rem ? 1 : 0);
    }
    for (size_t i = 0; i < dim; i++) {
        if (w) {
            float v;
            if (wact) {
                uint16_t h;
                memcpy(&h, snap + po[0] + 2 * i, 2);
                v = x16_widen1(h, fmt);
            } else {
                memcpy(&v, snap + po[0] + 4 * i, 4);
            }
            x16_wf[i] = (flags & LIBNORM_WEIGHT_PLUS_ONE) ? 1.0f + v : v;
        }
        if (b && op == NORM_OP_LN) {
            float v;
            if (wact) {
                uint16_t h;
                memcpy(&h, snap + po[1] + 2 * i, 2);
                v = x16_widen1(h, fmt);
            } else {
                memcpy(&v, snap + po[1] + 4 * i, 4);
            }
            x16_bf[i] = v;
        }
    }
    float em[MAX_ROWS], er[MAX_ROWS];
    for (size_t t = first; t < first + count; t++) {
        for (size_t i = 0; i < dim; i++) {
            uint16_t h;
            memcpy(&h, snap + xo + (t * exs + i) * 2, 2);
            x16_xf[i] = x16_widen1(h, fmt);
        }
        libnorm_opts of = LIBNORM_OPTS_INIT;
        of.mean = &em[t];
        of.rstd = &er[t];
        if (norm_rows_call(&g_scalar, op, x16_yf, x16_xf, w ? x16_wf : NULL,
                           b && op == NORM_OP_LN ? x16_bf : NULL, 1, dim, eps, &of, NULL) != 0)
            x16_fail("the f32 reference call failed", got, want, op, fmt, rows, dim);
        for (size_t i = 0; i < dim; i++) {
            uint16_t h = x16_narrow1(x16_yf[i], fmt);
            memcpy(expect + yo + (t * eys + i) * 2, &h, 2);
        }
        if (o.mean && op == NORM_OP_LN)
            memcpy(expect + po[2] + 4 * t, arena + po[2] + 4 * t, 4); /* compared below */
        if (o.rstd)
            memcpy(expect + po[3] + 4 * t, arena + po[3] + 4 * t, 4);
        g_rows_checked++;
    }
    if (memcmp(arena, expect, ARENA) != 0)
        x16_fail("y (or bytes outside the call's rows) differ from round16(f32 op)", got, want,
                 op, fmt, rows, dim);
    for (size_t t = first; t < first + count; t++) {
        float v;
        if (o.mean && op == NORM_OP_LN) {
            memcpy(&v, arena + po[2] + 4 * t, 4);
            if (!same_bits(v, em[t]))
                x16_fail("mean differs from the f32 op's", got, want, op, fmt, rows, dim);
        }
        if (o.rstd) {
            memcpy(&v, arena + po[3] + 4 * t, 4);
            if (!same_bits(v, er[t]))
                x16_fail("rstd differs from the f32 op's", got, want, op, fmt, rows, dim);
        }
    }
    return 0;
}

/* ---- (0.4) gated RMSNorm: its own decoder and model ----
 * One call of libnorm_gated_rmsnorm_f32_ex: rows (huge ones included), dim, the group (0, a
 * divisor, a non-divisor), the gate (bad values included), strides (too small included), y over
 * x or z (in place, partly, misaligned, NULL), z equal to x, NULL, misaligned or over y, the
 * weight and rstd (NULL, own, misaligned, over y or x), eps, the flags (0, (1 + w), unknown
 * bits), the options' size, outer (groups of rows that never interleave) and ith/nth. Checked:
 * the status in the header's order (overlap by byte sets over the arena); on error the arena
 * unchanged; on success the arena bit-identical to the scalar table's run of the same call,
 * exactly this call's rows and rstd entries written, every NaN 0x7fc00000, and the groups with
 * finite inputs within the contract against a long double reference. */
static unsigned char gt_arena2[ARENA] __attribute__((aligned(64)));

static void gt_fail(const char *what, int got, int want, size_t rows, size_t dim, size_t group,
                    int gate, const libnorm_opts *o)
{
    fprintf(stderr,
            "fuzz_api (%s): libnorm_gated_rmsnorm_f32_ex(rows %zu, dim %zu, group %zu, gate %d, "
            "opts %s): status %d, expected %d: FAIL: %s\n",
            g_isa, rows, dim, group, gate, o ? "given" : "NULL", got, want, what);
    if (o)
        fprintf(stderr, "  opts: size %zu x_stride %zu y_stride %zu outer %zu xos %zu yos %zu "
                "ith %u nth %u flags 0x%x\n", o->size, o->x_stride, o->y_stride, o->outer,
                o->x_outer_stride, o->y_outer_stride, o->ith, o->nth, o->flags);
    abort();
}

/* Does [a, a + an) meet the rows of a two-level set (outer groups of rows rows)? */
static int gt_meets(const unsigned char *a, size_t an, const unsigned char *base, size_t outer,
                    size_t os, size_t rows, size_t rs, size_t len)
{
    for (size_t o = 0; o < outer; o++)
        for (size_t r = 0; r < rows; r++) {
            const unsigned char *p = base + 4 * (o * os + r * rs);
            if (p < a + an && a < p + 4 * len)
                return 1;
        }
    return 0;
}

/* expf(-z) overflows to +Inf for z below -GT_EXP_OVF (ln FLT_MAX, rounded down) */
#define GT_EXP_OVF 88.72f

static long double gt_gate(long double z, int sig)
{
    long double d = 1.0L + expl(-z);
    return sig ? 1.0L / d : z / d;
}

static int fuzz_gated(reader *r)
{
    unsigned char *A = arena;
    unsigned rb = u8(r), db = u8(r), gb = u8(r), gateb = u8(r), smode = u8(r), pmode = u16(r),
             emode = u8(r), tb = u8(r), ob = u8(r), fb = u8(r), padb = u8(r);
    const int huge_rows = rb >= 0xfc;
    size_t rows = huge_rows ? SIZE_MAX / 2 : rb % 7, dim = db % 80;
    size_t group;
    switch (gb & 3) {
    case 0: group = 0; break;
    case 1: { /* a divisor of dim */
        size_t k = dim ? 1 + (gb >> 2) % dim : 1;
        while (dim && dim % k)
            k--;
        group = k;
        break;
    }
    case 2: group = dim + 1 + (gb >> 2) % 3; break; /* never divides */
    default: group = 1 + (gb >> 2) % 9; break;      /* may or may not */
    }
    static const int bad_gates[4] = {3, -1, 7, INT32_MIN};
    int gate = (gateb & 7) < 6 ? (int)(gateb & 7) % 3 : bad_gates[(gateb >> 3) & 3];
    const size_t G = group ? group : dim;
    const int good_group = dim && G && dim % G == 0;
    const size_t ng = good_group ? dim / G : 1;
    /* strides as passed: 0, dim + pad, dim - 1 (too small), dim */
    size_t sx = 0, sy = 0;
    for (int k = 0; k < 2; k++) {
        unsigned md = (smode >> (2 * k)) & 3;
        size_t v = md == 1 ? dim + 1 + (padb >> (4 * k)) % 9 : md == 2 ? (dim ? dim - 1 : 0)
                 : md == 3 ? dim : 0;
        *(k ? &sy : &sx) = v;
    }
    const size_t xs = sx ? sx : dim, ys = sy ? sy : dim;
    size_t outer = (ob & 3) == 3 ? 3 : ob & 3, oe = outer > 1 ? outer : 1;
    const size_t lr = huge_rows ? 1 : rows ? rows : 1;
    const size_t gx = (lr - 1) * xs + dim, gy = (lr - 1) * ys + dim; /* a group's extent */
    size_t xos = (ob & 4) ? gx + ((ob >> 3) & 7) : 0, yos = (ob & 0x40) ? gy + ((ob >> 5) & 3) : 0;
    const size_t exos = outer > 1 ? (xos ? xos : lr * xs) : 0,
                 eyos = outer > 1 ? (yos ? yos : lr * ys) : 0;
    const size_t xlen = 4 * ((oe - 1) * exos + gx) + 8, ylen = 4 * ((oe - 1) * eyos + gy) + 8;
    const size_t nst = oe * lr * ng, slen = 4 * nst + 8, wlen = 4 * (dim ? dim : 1) + 8;
    size_t xo = 4 * (pmode & 3), zo = xo + xlen, yo = zo + xlen, wo = yo + ylen, ro = wo + wlen;
    if (ro + slen > ARENA)
        return 0; /* too big for the arena (never with these limits) */
    const float *x = (const float *)(A + xo), *z = (const float *)(A + zo);
    float *y = (float *)(A + yo);
    switch ((pmode >> 2) & 7) {
    case 4: y = (float *)(uintptr_t)x; break;                          /* in place over x */
    case 5: y = (float *)(uintptr_t)z; break;                          /* in place over z */
    case 6: y = (pmode & 0x200) ? NULL : (float *)(A + yo + 2); break;  /* NULL, misaligned */
    case 7: y = (float *)(A + xo + 4 * (1 + (pmode >> 10) % 5)); break; /* over x, shifted */
    default: break;
    }
    switch ((pmode >> 5) & 7) {
    case 4: z = x; break;
    case 5: z = (pmode & 0x200) ? NULL : (const float *)(A + zo + 1); break;
    case 6: z = (const float *)(A + yo + 4 * ((pmode >> 10) % 8)); break; /* over y's region */
    case 7: x = (pmode & 0x400) ? NULL : (const float *)(A + xo + 3); break;
    default: break;
    }
    const float *w = NULL;
    float *rs = NULL;
    switch ((pmode >> 8) & 3) {
    case 1: w = (const float *)(A + wo); break;
    case 2: w = (const float *)(A + wo + 2); break;
    case 3: w = (tb & 0x80) ? (const float *)(A + yo + 4 * (fb >> 5)) : (const float *)(A + wo); break;
    default: break;
    }
    switch (pmode >> 13) {
    case 1: case 2: rs = (float *)(A + ro); break;
    case 3: rs = (float *)(A + ro + 1); break;
    case 4: rs = (float *)(A + yo + 4 * ((fb >> 5) & 3)); break;
    case 5: rs = (float *)(A + xo + 4 * (padb & 7)); break;
    default: break;
    }
    static const float bad_eps[] = {-1e-5f, NAN, INFINITY};
    float eps = (emode & 3) == 3 ? bad_eps[(emode >> 2) % 3] : (emode & 1) ? 1e-5f : 0.0f;
    /* 0; PLUS_ONE; ACT_TYPE (accepted, no effect on f32); PLUS_ONE with an undefined bit */
    static const unsigned flag_vals[4] = {0u, 1u, 2u, 0x80000001u};
    libnorm_opts o = LIBNORM_OPTS_INIT;
    o.x_stride = sx;
    o.y_stride = sy;
    o.outer = outer;
    o.x_outer_stride = xos;
    o.y_outer_stride = yos;
    o.rstd = rs;
    o.flags = flag_vals[fb & 3];
    o.nth = (tb >> 2) % 6;
    o.ith = (tb & 2) && o.nth ? o.nth : (unsigned)((emode >> 4) % (o.nth > 1 ? o.nth : 1));
    if (((fb >> 2) & 7) == 7)
        o.size = LIBNORM_OPTS_MIN_SIZE - 4;
    const int use_opts = (emode & 0x80) == 0;
    const libnorm_opts *op = use_opts ? &o : NULL;
    const int plus_one = use_opts && (o.flags & LIBNORM_WEIGHT_PLUS_ONE) != 0;
    const size_t eouter = use_opts ? oe : 1, ers = use_opts ? xs : dim, eys = use_opts ? ys : dim;
    if (!use_opts)
        rs = NULL;

    /* the expected status, in the header's order */
    int want = LIBNORM_OK;
    const size_t nth = use_opts && o.nth > 1 ? o.nth : 1;
    if (use_opts && (o.size < LIBNORM_OPTS_MIN_SIZE ||
                     (o.flags & ~(LIBNORM_WEIGHT_PLUS_ONE | LIBNORM_WEIGHT_ACT_TYPE)) ||
                     o.ith >= nth))
        want = LIBNORM_EOPTS;
    else if (gate < 0 || gate > 2)
        want = LIBNORM_EGATE;
    else if (!y || !x || !z)
        want = LIBNORM_ENULL;
    else if (((uintptr_t)y | (uintptr_t)x | (uintptr_t)z | (uintptr_t)w | (uintptr_t)rs) & 3)
        want = LIBNORM_EALIGN;
    else if (!good_group)
        want = LIBNORM_EDIM;
    else if (!(eps >= 0.0f && eps <= FLT_MAX))
        want = LIBNORM_EEPS;
    else if (ers < dim || eys < dim)
        want = LIBNORM_ESTRIDE;
    else if (rows == 0)
        want = LIBNORM_OK;
    else if (huge_rows)
        want = LIBNORM_ESIZE;
    else {
        const size_t xos_e = eouter > 1 ? exos : 0, yos_e = eouter > 1 ? eyos : 0;
        const int inpl_x = (const void *)y == (const void *)x && ers == eys &&
                           (eouter <= 1 || xos_e == yos_e);
        const int inpl_z = (const void *)y == (const void *)z && ers == eys &&
                           (eouter <= 1 || xos_e == yos_e);
        /* every y row against x's rows, z's rows, w, rstd; rstd against everything */
        for (size_t oo = 0; oo < eouter && want == LIBNORM_OK; oo++)
            for (size_t rr = 0; rr < rows && want == LIBNORM_OK; rr++) {
                const unsigned char *p = (const unsigned char *)(y + oo * yos_e + rr * eys);
                if ((!inpl_x && gt_meets(p, 4 * dim, (const unsigned char *)x, eouter, xos_e, rows,
                                         ers, dim)) ||
                    (!inpl_z && gt_meets(p, 4 * dim, (const unsigned char *)z, eouter, xos_e, rows,
                                         ers, dim)) ||
                    (w && p < (const unsigned char *)(w + dim) && (const unsigned char *)w < p + 4 * dim) ||
                    (rs && p < (const unsigned char *)(rs + nst) &&
                     (const unsigned char *)rs < p + 4 * dim))
                    want = LIBNORM_EOVERLAP;
            }
        if (rs && want == LIBNORM_OK &&
            (gt_meets((const unsigned char *)rs, 4 * nst, (const unsigned char *)x, eouter,
                      eouter > 1 ? exos : 0, rows, ers, dim) ||
             gt_meets((const unsigned char *)rs, 4 * nst, (const unsigned char *)z, eouter,
                      eouter > 1 ? exos : 0, rows, ers, dim) ||
             (w && (const unsigned char *)rs < (const unsigned char *)(w + dim) &&
              (const unsigned char *)w < (const unsigned char *)(rs + nst))))
            want = LIBNORM_EOVERLAP;
    }

    /* contents: NaN everywhere, then x's and z's rows (z's when it is not x), w */
    memset(arena, 0xff, sizeof(arena));
    for (int k = 0; k < 2 && !huge_rows; k++) {
        const float *b = k ? z : x;
        if (!b || ((uintptr_t)b & 3) || (k && z == x))
            continue;
        for (size_t oo = 0; oo < oe; oo++)
            for (size_t rr = 0; rr < lr; rr++) {
                size_t off = (size_t)((const unsigned char *)(b + oo * exos + rr * xs) - A);
                if (off + 4 * dim <= ARENA)
                    fill_row(A + off, dim, u8(r) % 14, r);
            }
    }
    if (w && ((uintptr_t)w & 3) == 0)
        fill_param(A + ((const unsigned char *)w - A), dim, u8(r), 0, r);
    memcpy(snap, arena, sizeof(arena));
    libnorm_opts osnap = o;

    int got = libnorm_gated_rmsnorm_f32_ex(y, x, z, w, rows, dim, group, gate, eps, op);
    g_calls++;
    g_status[got <= 0 && got >= -9 ? -got : 10]++;
    if (got != want)
        gt_fail("wrong status", got, want, rows, dim, group, gate, op);
    if (memcmp(&osnap, &o, sizeof o) != 0)
        gt_fail("the options were written", got, want, rows, dim, group, gate, op);
    if (got != LIBNORM_OK || rows == 0) {
        if (memcmp(arena, snap, sizeof(arena)) != 0)
            gt_fail("an output was written", got, want, rows, dim, group, gate, op);
        return 0;
    }
    /* bit-identical to the scalar table's run on a copy (the same offsets) */
    memcpy(gt_arena2, snap, sizeof(snap));
    const intptr_t d2 = (intptr_t)gt_arena2 - (intptr_t)arena;
#define RB(p) ((p) ? (__typeof__(p))(void *)((intptr_t)(p) + d2) : NULL)
    libnorm_opts o2 = o;
    o2.rstd = RB(rs);
    if (norm_gated_call(&g_scalar, RB(y), RB(x), RB(z), RB(w), rows, dim, group, gate, eps,
                        use_opts ? &o2 : NULL, NULL) != 0)
        gt_fail("the scalar table refused the call", got, want, rows, dim, group, gate, op);
    if (memcmp(arena, gt_arena2, sizeof(arena)) != 0)
        gt_fail("differs from the scalar table's run (or wrote elsewhere)", got, want, rows, dim,
                group, gate, op);
#undef RB
    /* exactly this call's rows written */
    const size_t total = eouter * rows;
    size_t t0 = 0, cnt = total;
    if (nth > 1) {
        size_t q = total / nth, rem = total % nth;
        t0 = o.ith * q + (o.ith < rem ? o.ith : rem);
        cnt = q + (o.ith < rem);
    }
    const size_t yos_e = eouter > 1 ? eyos : 0, xos_e = eouter > 1 ? exos : 0;
    memcpy(expect, snap, ARENA);
    for (size_t t = t0; t < t0 + cnt; t++) {
        size_t off = (size_t)((unsigned char *)(y + (t / rows) * yos_e + (t % rows) * eys) - A);
        memcpy(expect + off, A + off, 4 * dim);
        if (rs)
            memcpy(expect + ((unsigned char *)(rs + t * ng) - A), rs + t * ng, 4 * ng);
    }
    if (memcmp(expect, arena, ARENA) != 0)
        gt_fail("bytes written outside this call's rows", got, want, rows, dim, group, gate, op);
    /* NaNs canonical; groups of finite inputs within the contract */
    const uintptr_t delta = (uintptr_t)snap - (uintptr_t)arena;
    static long double ye[80], xh[80], gg[80];
    for (size_t t = t0; t < t0 + cnt; t++) {
        const float *yr = y + (t / rows) * yos_e + (t % rows) * eys;
        const float *xr = (const float *)((uintptr_t)(x + (t / rows) * xos_e + (t % rows) * ers) + delta);
        const float *zr = (const float *)((uintptr_t)(z + (t / rows) * xos_e + (t % rows) * ers) + delta);
        const float *ws = w ? (const float *)((uintptr_t)w + delta) : NULL;
        for (size_t i = 0; i < dim; i++)
            if (yr[i] != yr[i] && bitsf(yr[i]) != 0x7fc00000u)
                gt_fail("a NaN output is not 0x7fc00000", got, want, rows, dim, group, gate, op);
        for (size_t g0 = 0; g0 < dim; g0 += G) {
            int fin = 1;
            long double s = 0;
            for (size_t i = g0; i < g0 + G; i++) {
                float wf = ws ? (plus_one ? 1.0f + ws[i] : ws[i]) : 1.0f;
                fin &= is_finite(xr[i]) && is_finite(zr[i]) && is_finite(wf) &&
                       fabsf(zr[i]) < 1e30f;
                if (!fin)
                    break;
                gg[i] = gt_gate(zr[i], gate == LIBNORM_GATE_SIGMOID_AFTER);
                long double v = gate == LIBNORM_GATE_SILU_BEFORE ? xr[i] * gg[i] : (long double)xr[i];
                fin &= fabsl(v) <= FLT_MAX / 4;
                /* BEFORE: a float u (or silu) below FLT_MIN has lost its relative precision (the
                 * header leaves such groups out of the bound) */
                if (gate == LIBNORM_GATE_SILU_BEFORE &&
                    ((gg[i] != 0 && fabsl(gg[i]) < FLT_MIN) || (v != 0 && fabsl(v) < FLT_MIN) ||
                     zr[i] < -GT_EXP_OVF))
                    fin = 0;
                s += v * v;
            }
            if (!fin || !(s > 0))
                continue;
            long double rr = 1.0L / sqrtl(s / (long double)G + (long double)eps);
            int skip = 0;
            for (size_t i = g0; i < g0 + G; i++) {
                float wf = ws ? (plus_one ? 1.0f + ws[i] : ws[i]) : 1.0f;
                long double v = gate == LIBNORM_GATE_SILU_BEFORE ? xr[i] * gg[i] : (long double)xr[i];
                xh[i] = v * rr;
                ye[i] = gate == LIBNORM_GATE_SILU_BEFORE ? xh[i] * wf : xh[i] * wf * gg[i];
                skip |= !(fabsl(ye[i]) <= FLT_MAX / 2);
            }
            for (size_t i = g0; i < g0 + G && !skip; i++) {
                float wf = ws ? (plus_one ? 1.0f + ws[i] : ws[i]) : 1.0f;
                /* the formula's (x * rstd) * wf beyond float range: +-Inf before the gate (the
                 * header says so), whatever g makes of it */
                if (!(fabsl(xh[i] * wf) <= FLT_MAX / 2))
                    continue;
                /* the header's exclusion: a gate whose e = expf(-z) overflows (the formula's
                 * gate is then 0) or whose exact value is below FLT_MIN (found by the fuzzer:
                 * z = -94, w = 2^125) */
                if (gate != LIBNORM_GATE_SILU_BEFORE &&
                    (zr[i] < -GT_EXP_OVF || (gg[i] != 0 && fabsl(gg[i]) < FLT_MIN)))
                    continue;
                long double gm = gate == LIBNORM_GATE_SILU_BEFORE ? 1.0L : fabsl(gg[i]);
                long double tol = 8.0L * FLT_EPSILON *
                                      fmaxl(1.0L, fmaxl(fabsl(ye[i]),
                                                        fabsl((long double)wf) *
                                                            fmaxl(1.0L, fabsl(xh[i])) * gm)) +
                                  0x1p-140L;
                g_rows_checked += i == g0;
                if (!close_to(yr[i], ye[i], tol))
                    gt_fail("an output out of contract", got, want, rows, dim, group, gate, op);
            }
        }
    }
    return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    g_isa = libnorm_active_isa();
    const char *want = getenv("LIBNORM_ISA");
    if (want && *want && strcmp(want, g_isa) != 0) {
        fprintf(stderr, "fuzz_api: LIBNORM_ISA=%s is not available on this CPU (active: %s)\n",
                want, g_isa);
        exit(77);
    }
    if (norm_dsp_init(&g_scalar, NORM_TIER_SCALAR) != 0) {
        fprintf(stderr, "fuzz_api: no scalar tier\n");
        exit(1);
    }
    fprintf(stderr, "fuzz_api: public API on tier %s, checked against scalar\n", g_isa);
    atexit(print_stats);
    return 0;
}

/* ---- (0.4) libnorm_add_{layer,rms}norm_f32_ex: their own decoder and model ----
 * rows 0..6 (or huge), dim 0..70, one or two levels (outer 2 with default or padded outer
 * strides), x/r strides and h/y strides padded or not; where h and y go: apart, NULL h, exactly
 * over x or r (in place, the strides then equal or not), over each other, one float into x, r or
 * y, misaligned; r NULL or misaligned; weight (PLUS_ONE or not), bias, mean and rstd apart, NULL,
 * over h or r; eps good and bad; flags (the defined ones, or an unknown bit); ith/nth. The status
 * from the header's rules (a byte-set model); on error nothing written; on success exactly this
 * call's rows of h and y and statistics written, the whole arena bit-identical to the scalar
 * table's run of the same call (norm_add_call) on a copy, h the float sum x + r (a NaN x: its
 * NaN), and y within the contract against a long-double norm of the h written. */
static unsigned char add_arena2[ARENA] __attribute__((aligned(64)));
static long double add_ex_y[72], add_ex_xh[72];
static float add_wf[72];

static void add_fail(int ln, const char *what, int got, int want, size_t outer, size_t rows,
                     size_t dim, unsigned pm, const libnorm_opts *o)
{
    fprintf(stderr,
            "fuzz_api (%s): libnorm_add_%snorm_f32_ex(outer %zu, rows %zu, dim %zu, placement 0x%x, "
            "opts %s): status %d, expected %d: FAIL: %s\n",
            g_isa, ln ? "layer" : "rms", outer, rows, dim, pm, o ? "given" : "NULL", got, want,
            what);
    if (o)
        fprintf(stderr, "  opts: x_stride %zu y_stride %zu outer %zu xos %zu yos %zu ith %u nth %u "
                        "flags %u\n",
                o->x_stride, o->y_stride, o->outer, o->x_outer_stride, o->y_outer_stride, o->ith,
                o->nth, o->flags);
    abort();
}

/* rows t of a two-level layout into a byte set (t < 16) */
static void add_rows_set(byteset *s, const void *p, size_t outer, size_t rows, size_t os,
                         size_t st, size_t dim, size_t first, size_t count)
{
    s->n = 0;
    if (!p)
        return;
    for (size_t t = first; t < first + count; t++) {
        s->lo[s->n] = (uintptr_t)p + 4 * ((t / rows) * os + (t % rows) * st);
        s->hi[s->n] = s->lo[s->n] + 4 * dim;
        s->n++;
    }
}

static int fuzz_add(reader *r, int ln)
{
    unsigned char *A = arena;
    unsigned rb = u8(r), db = u8(r), sm = u8(r), pm = u16(r), qm = u8(r), em = u8(r), tb = u8(r),
             fb = u8(r);
    const int huge_rows = rb >= 0xfc;
    size_t rows = huge_rows ? SIZE_MAX / 2 : rb % 7, dim = db % 71;
    size_t outer = (sm & 0x40) ? 2 : 1;
    size_t xs = dim + ((sm & 1) ? 1 + (sm >> 1) % 5 : 0), ys = dim + ((sm & 8) ? 1 + (sm >> 4) % 3 : 0);
    if ((pm & 7) >= 1 && (pm & 7) <= 4 && (sm & 0x80))
        ys = xs; /* in place with equal strides (else the strides decide) */
    size_t xos = (sm & 0x20) ? rows * xs + 3 : 0, yos = (sm & 0x20) && (pm & 0x400) ? rows * ys + 5 : 0;
    const size_t lr = huge_rows ? 1 : rows ? rows : 1;
    /* the extents laid out in the arena (huge rows: only the first row is, the call is ESIZE) */
    const size_t exs = xos && !huge_rows ? xos : lr * xs, eys = yos && !huge_rows ? yos : lr * ys;
    size_t xlen = 4 * ((outer - 1) * exs + (lr - 1) * xs + dim) + 8,
           ylen = 4 * ((outer - 1) * eys + (lr - 1) * ys + dim) + 8;
    if (xlen < ylen)
        xlen = ylen; /* in place: one region serves both layouts */
    const size_t nst = outer * lr, slen = 4 * nst + 4, plen = 4 * (dim ? dim : 1) + 4;
    size_t xo = 0, ro = xo + xlen, ho = ro + xlen, yo = ho + xlen, wo = yo + xlen, bo = wo + plen,
           mo = bo + plen, so = mo + slen;
    if (so + slen > ARENA)
        abort();
    const float *x = (const float *)(A + xo), *rr = (const float *)(A + ro);
    float *h = (float *)(A + ho), *y = (float *)(A + yo);
    switch (pm & 15) {
    case 1: h = (float *)(uintptr_t)x; break;
    case 2: h = (float *)(uintptr_t)rr; break;
    case 3: y = (float *)(uintptr_t)x; break;
    case 4: y = (float *)(uintptr_t)rr; break;
    case 5: h = NULL; break;
    case 6: h = NULL; y = (float *)(uintptr_t)x; break;
    case 7: h = y; break;                                                   /* y == h */
    case 8: h = (float *)(uintptr_t)(x + 1 + (pm >> 8) % 4); break;         /* into x */
    case 9: y = (float *)(uintptr_t)(rr + (pm >> 8) % 3 + 1); break;       /* into r */
    case 10: h = y + 1 + (pm >> 8) % (dim ? dim : 1); break;                   /* into y */
    case 11: h = (float *)(A + ho + 2); break;                              /* misaligned */
    case 12: rr = (pm & 0x100) ? NULL : (const float *)(A + ro + 1); break; /* NULL, misaligned */
    case 13: y = (pm & 0x100) ? NULL : y; x = (pm & 0x200) ? NULL : x; break;
    case 14: y = (float *)(uintptr_t)x; h = (float *)(uintptr_t)rr; break;
    case 15: y = (float *)(uintptr_t)rr; h = (float *)(uintptr_t)x; break;
    default: break;
    }
    const float *pw = (pm & 0x1000) ? NULL : (const float *)(A + wo);
    const float *pb = (pm & 0x2000) || !ln ? NULL : (const float *)(A + bo);
    float *pmn = NULL, *prs = NULL;
    switch (qm & 3) {
    case 1: pmn = (float *)(A + mo); prs = (float *)(A + so); break;
    case 2: prs = h ? h + (qm >> 2) % 8 : (float *)(A + so); break;            /* rstd over h */
    case 3: pmn = (float *)(uintptr_t)(rr ? rr + (qm >> 2) % 8 : NULL); prs = (float *)(A + so); break;
    default: break;
    }
    static const float bad_eps[] = {-1e-5f, NAN, INFINITY};
    float eps = (em & 3) == 3 ? bad_eps[(em >> 2) % 3] : (em & 1) ? 1e-5f : 0.0f;
    libnorm_opts o = LIBNORM_OPTS_INIT;
    o.x_stride = (sm & 2) || xs != dim ? xs : 0;
    o.y_stride = (sm & 4) || ys != dim ? ys : 0;
    o.outer = outer;
    o.x_outer_stride = xos;
    o.y_outer_stride = yos;
    o.nth = (tb & 7) % 5;
    o.ith = (tb & 0x80) && o.nth ? o.nth : ((tb >> 3) % (o.nth > 1 ? o.nth : 1));
    o.mean = pmn;
    o.rstd = prs;
    o.flags = (fb & 3) == 3 ? 1u << (2 + (fb >> 2) % 30) : (fb & 3) == 1 ? LIBNORM_WEIGHT_PLUS_ONE
              : (fb & 3) == 2 ? LIBNORM_WEIGHT_PLUS_ONE | LIBNORM_WEIGHT_ACT_TYPE : 0u;
    const int use_opts = (em & 0x80) == 0;
    const libnorm_opts *op = use_opts ? &o : NULL;
    if (!use_opts) {
        pmn = prs = NULL;
        xs = ys = dim;
        xos = yos = 0;
        outer = 1;
    }
    const int wplus = use_opts && (o.flags & LIBNORM_WEIGHT_PLUS_ONE);
    if (!ln)
        pmn = NULL; /* RMSNorm ignores mean */

    /* the expected status, in the header's order */
    const size_t bx = xos ? xos : rows * xs, by = yos ? yos : rows * ys, nstat = outer * rows;
    int want;
    if (use_opts && ((o.flags & ~3u) || o.ith >= (o.nth > 1 ? o.nth : 1)))
        want = LIBNORM_EOPTS;
    else if (!y || !x || !rr)
        want = LIBNORM_ENULL;
    else if (((uintptr_t)y | (uintptr_t)x | (uintptr_t)rr | (uintptr_t)h | (uintptr_t)pw |
              (uintptr_t)pb | (uintptr_t)pmn | (uintptr_t)prs) & 3)
        want = LIBNORM_EALIGN;
    else if (dim == 0)
        want = LIBNORM_EDIM;
    else if (!(eps >= 0.0f && eps <= FLT_MAX))
        want = LIBNORM_EEPS;
    else if (rows == 0)
        want = LIBNORM_OK;
    else if (huge_rows)
        want = LIBNORM_ESIZE;
    else {
        want = LIBNORM_OK;
        byteset X, Rr, H, Y, W, B, M, S;
        add_rows_set(&X, x, outer, rows, bx, xs, dim, 0, nstat);
        add_rows_set(&Rr, rr, outer, rows, bx, xs, dim, 0, nstat);
        add_rows_set(&H, h, outer, rows, by, ys, dim, 0, nstat);
        add_rows_set(&Y, y, outer, rows, by, ys, dim, 0, nstat);
        set_rows(&W, pw, 1, dim, dim);
        set_rows(&B, pb, 1, dim, dim);
        set_rows(&M, pmn, 1, nstat, nstat);
        set_rows(&S, prs, 1, nstat, nstat);
        const int same = xs == ys && (outer <= 1 || bx == by);
        const int yx = same && (const void *)y == (const void *)x,
                  yr = same && (const void *)y == (const void *)rr,
                  hx = same && h && (const void *)h == (const void *)x,
                  hr = same && h && (const void *)h == (const void *)rr;
        for (int i = 0; i < Y.n; i++) /* y's rows disjoint (then h's too: the same layout) */
            for (int k = i + 1; k < Y.n; k++)
                if (Y.lo[i] < Y.hi[k] && Y.lo[k] < Y.hi[i])
                    want = LIBNORM_EOVERLAP;
        const byteset *outs[4] = {&Y, &H, &M, &S}, *ins[4] = {&X, &Rr, &W, &B};
        const int okp[4][4] = {{yx, yr, 0, 0}, {hx, hr, 0, 0}};
        for (int i = 0; i < 4; i++) {
            for (int k = 0; k < 4; k++)
                if (!okp[i][k] && sets_meet(outs[i], ins[k]))
                    want = LIBNORM_EOVERLAP;
            for (int k = i + 1; k < 4; k++)
                if (sets_meet(outs[i], outs[k]))
                    want = LIBNORM_EOVERLAP;
        }
    }

    /* contents: NaN everywhere, then x's and r's rows, w, b */
    memset(arena, 0xff, sizeof(arena));
    for (int k = 0; k < 2; k++) {
        const float *p = k ? rr : x;
        if (!p || ((uintptr_t)p & 3) || !dim)
            continue;
        for (size_t t = 0; t < (huge_rows ? 1 : outer * lr); t++) {
            size_t off = (size_t)((const unsigned char *)p - A) + 4 * ((t / lr) * exs + (t % lr) * xs);
            if (off + 4 * dim <= ARENA)
                fill_row(A + off, dim, u8(r) % 14, r);
        }
    }
    if (pw && dim)
        fill_param(A + wo, dim, u8(r), 0, r);
    if (pb && dim)
        fill_param(A + bo, dim, u8(r), 1, r);
    memcpy(snap, arena, sizeof(arena));

    int got = ln ? libnorm_add_layernorm_f32_ex(y, h, x, rr, pw, pb, rows, dim, eps, op)
                 : libnorm_add_rmsnorm_f32_ex(y, h, x, rr, pw, rows, dim, eps, op);
    g_calls++;
    g_status[got <= 0 && got >= -8 ? -got : 9]++;
    if (got != want)
        add_fail(ln, "wrong status", got, want, outer, rows, dim, pm, op);
    if (got != LIBNORM_OK || rows == 0) {
        if (memcmp(arena, snap, sizeof(arena)) != 0)
            add_fail(ln, "an output was written", got, want, outer, rows, dim, pm, op);
        return 0;
    }
    /* bit-identical to the scalar table's run on a copy (the same offsets) */
    memcpy(add_arena2, snap, sizeof(snap));
    const intptr_t d2 = (intptr_t)add_arena2 - (intptr_t)arena;
#define RB(p) ((p) ? (__typeof__(p))(void *)((intptr_t)(p) + d2) : NULL)
    libnorm_opts o2 = o;
    o2.mean = RB(pmn);
    o2.rstd = RB(prs);
    if (norm_add_call(&g_scalar, ln ? NORM_OP_LN : NORM_OP_RMS, RB(y), RB(h), RB(x), RB(rr),
                      RB(pw), RB(pb), rows, dim, eps, use_opts ? &o2 : NULL, NULL) != 0)
        add_fail(ln, "the scalar table refused the call", got, want, outer, rows, dim, pm, op);
    /* byte for byte, except that a NaN matches any NaN: an element whose weight or bias is NaN
     * or Inf (0 * Inf) gets the platform's NaN from the SIMD fma and another sign from the scalar
     * tier's fmaf, as in the plain ops (same_bits); found by CI's fuzzer on avx2 and avx512 */
    for (size_t q = 0; q + 4 <= sizeof(arena); q += 4)
        if (memcmp(arena + q, add_arena2 + q, 4) != 0) {
            float u, v;
            memcpy(&u, arena + q, 4);
            memcpy(&v, add_arena2 + q, 4);
            if (!(isnan(u) && isnan(v)))
                add_fail(ln, "differs from the scalar table's run (or wrote elsewhere)", got, want,
                         outer, rows, dim, pm, op);
        }
#undef RB
    /* exactly this call's rows of h and y and its statistics written */
    size_t first = 0, cnt = nstat;
    unsigned nth = use_opts && o.nth > 1 ? o.nth : 1, ith = use_opts && o.nth > 1 ? o.ith : 0;
    if (nth > 1) {
        size_t q = nstat / nth, rem = nstat % nth;
        first = ith * q + (ith < rem ? ith : rem);
        cnt = q + (ith < rem);
    }
    byteset al[4];
    add_rows_set(&al[0], y, outer, rows, by, ys, dim, first, cnt);
    add_rows_set(&al[1], h, outer, rows, by, ys, dim, first, cnt);
    set_rows(&al[2], pmn ? pmn + first : NULL, 1, cnt, cnt);
    set_rows(&al[3], prs ? prs + first : NULL, 1, cnt, cnt);
    memcpy(expect, snap, ARENA);
    for (int s = 0; s < 4; s++)
        for (int i = 0; i < al[s].n; i++) {
            size_t off = al[s].lo[i] - (uintptr_t)arena;
            memcpy(expect + off, arena + off, al[s].hi[i] - al[s].lo[i]);
        }
    if (memcmp(expect, arena, ARENA) != 0)
        add_fail(ln, "bytes written outside this call's rows", got, want, outer, rows, dim, pm, op);
    /* h = x + r, y within the contract against the exact norm of h (the snapshot's x and r) */
    const uintptr_t delta = (uintptr_t)snap - (uintptr_t)arena;
    const float *ws = pw ? (const float *)((uintptr_t)pw + delta) : NULL;
    const float *bs = pb ? (const float *)((uintptr_t)pb + delta) : NULL;
    for (size_t i = 0; ws && i < dim; i++)
        add_wf[i] = wplus ? 1.0f + ws[i] : ws[i];
    static float hrow[72];
    for (size_t t = first; t < first + cnt; t++) {
        const size_t ox = (t / rows) * bx + (t % rows) * xs, oy = (t / rows) * by + (t % rows) * ys;
        const float *xr = (const float *)((uintptr_t)(x + ox) + delta);
        const float *rrow = (const float *)((uintptr_t)(rr + ox) + delta);
        for (size_t i = 0; i < dim; i++) {
            hrow[i] = xr[i] + rrow[i];
            if (isnan(xr[i])) {
                uint32_t u = bitsf(xr[i]) | 0x00400000u;
                hrow[i] = fbits(u);
            }
            if (h && bitsf(h[oy + i]) != bitsf(hrow[i]))
                add_fail(ln, "h is not x + r", got, want, outer, rows, dim, pm, op);
        }
        long double xm = 0, xr_ = 0, sigma = 0;
        enum row_kind kind = (ln ? exact_layernorm : exact_rmsnorm)(
            hrow, ws ? add_wf : NULL, bs, dim, eps, add_ex_y, add_ex_xh, &xm, &xr_, &sigma);
        g_rows_checked++;
        for (size_t i = 0; i < dim; i++) {
            float gy = y[oy + i];
            int wb_ok = (!ws || is_finite(add_wf[i])) && (!bs || is_finite(bs[i]));
            long double aw = ws ? fabsl((long double)add_wf[i]) : 1.0L;
            long double tol = 8.0L * FLT_EPSILON *
                              fmaxl(1.0L, fmaxl(fabsl(add_ex_y[i]), aw * fmaxl(1.0L, fabsl(add_ex_xh[i]))));
            int ok = kind == ROW_NONFINITE ? isnan(gy)
                     : !wb_ok                ? 1
                     : kind == ROW_DEGENERATE ? gy == (bs ? bs[i] : 0.0f)
                                              : close_to(gy, add_ex_y[i], tol);
            if (!ok)
                add_fail(ln, "y out of contract (against the exact norm of h)", got, want, outer,
                         rows, dim, pm, op);
        }
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    reader rd = {data, size, 0, 0x5eed};
    for (size_t i = 0; i < size; i++)
        rd.rng = (rd.rng ^ data[i]) * 0x100000001b3ull;
    reader *r = &rd;

    model m;
    memset(&m, 0, sizeof(m));
    unsigned opb = u8(r), op = op_map[opb % OP_MAP_N];
    if (op == GN_ENTRY)
        return fuzz_groupnorm(r);
    if (op == X16_ENTRY)
        return fuzz_x16(r, opb % OP_MAP_N - 20);
    if (op == ADD_LN_ENTRY || op == ADD_RMS_ENTRY)
        return fuzz_add(r, op == ADD_LN_ENTRY);
    if (op == GATED_ENTRY)
        return fuzz_gated(r);
    m.e = &entries[op];
    const entry *e = m.e;
    fz_call *c = &m.c;

    /* header */
    unsigned rows_b = u8(r);
    uint16_t dim_v = u16(r);
    unsigned smode = u8(r), xpad = u8(r) % 40, ypad = u8(r) % 40;
    unsigned ymode = u8(r), xmode = u8(r), wmode = u8(r), bmode = u8(r), mmode = u8(r),
             rmode = u8(r), emode = u8(r);
    uint32_t eps_raw = u32(r);
    unsigned osize_mode = u8(r), oflag_mode = u8(r), nth_b = u8(r), ith_b = u8(r);
    unsigned gaps = u16(r);
    unsigned outer_mode = u8(r), os_mode = u8(r);

    size_t dim = (dim_v & 0x8000) ? (size_t)(dim_v % (MAX_DIM + 1)) : (size_t)(dim_v % 72);
    int huge_rows = rows_b >= 0xf8;
    size_t rows = huge_rows ? huge_vals[rows_b % N_HUGE] : rows_b % (MAX_ROWS + 1);
    int interleave = (ymode & 7) == 6;

    /* strides (in floats, as passed; 0 = dim) */
    size_t sx = 0, sy = 0;
    int huge_x = 0, huge_y = 0;
    for (int k = 0; k < 2; k++) {
        unsigned md = (smode >> (2 * k)) & 3;
        size_t pad = k ? ypad : xpad, s = 0;
        if (md == 1)
            s = dim + pad;
        else if (md == 2)
            s = dim >= 2 ? 1 + pad % (dim - 1) : dim; /* a stride below dim (ESTRIDE) */
        else if (md == 3 && (pad & 1)) {
            s = huge_vals[pad / 2 % N_HUGE];
            *(k ? &huge_y : &huge_x) = 1;
        } else if (md == 3)
            s = dim; /* exactly dim, spelt out */
        *(k ? &sy : &sx) = s;
    }
    if (smode & 0x10) { /* the same stride for x and y */
        sy = sx;
        huge_y = huge_x;
    }
    if (interleave) { /* y's rows between x's rows: strides of at least 2 dim */
        sx = sy = 2 * dim + xpad;
        huge_x = huge_y = 0;
    }
    size_t exs = sx && !huge_x ? sx : dim, eys = sy && !huge_y ? sy : dim;
    if (exs < dim)
        exs = dim;
    if (eys < dim)
        eys = dim;
    /* (0.3) outer groups: 0..3 (0 and 1: one level), or a huge count */
    int huge_outer = e->has_opts && outer_mode >= 0xf8;
    size_t outer_v = !e->has_opts ? 0 : huge_outer ? huge_vals[outer_mode % N_HUGE] : outer_mode & 3;
    size_t louter = huge_outer || outer_v < 2 ? 1 : outer_v; /* groups laid out */
    /* fit the normal (non-huge) extents into their budget */
    if (!huge_rows)
        while (rows > 1 && (extent(rows, exs > eys ? exs : eys, dim) > REGION_BUDGET ||
                            rows * louter > MAX_ROWS))
            rows--;
    size_t lrows = huge_rows ? 1 : (rows ? rows : 1); /* rows laid out */
    /* outer strides as passed (0: the default) and as laid out */
    size_t oxs = 0, oys = 0, eoxs, eoys;
    for (int k = 0; k < 2; k++) {
        size_t es = k ? eys : exs, g = (size_t)extent(lrows, es, dim ? dim : 1) / 4, v = 0;
        size_t pad = (os_mode >> 6) + (size_t)k * 3;
        switch ((os_mode >> (3 * k)) & 7) {
        case 2: v = g + pad; break;                    /* a gap between the groups */
        case 3: v = 1 + pad % (g ? g : 1); break;      /* groups that overlap or interleave */
        case 4: v = lrows * es; break;                 /* the default, spelt out */
        case 5: v = dim ? dim : 1; break;              /* one row slot apart */
        default: break;
        }
        *(k ? &oys : &oxs) = v;
    }
    if ((os_mode & 0x3f) == 0x3f) /* the same outer stride for x and y */
        oys = oxs;
    eoxs = oxs ? oxs : lrows * exs;
    eoys = oys ? oys : lrows * eys;
    size_t xlen = (size_t)extent(lrows, exs, dim ? dim : 1) + 4 * (louter - 1) * eoxs,
           ylen = (size_t)extent(lrows, eys, dim ? dim : 1) + 4 * (louter - 1) * eoys;
    if (louter > 1 && (xlen > REGION_BUDGET || ylen > REGION_BUDGET || interleave)) {
        louter = 1; /* does not fit: one level (outer 0, strides 0) */
        outer_v = huge_outer ? outer_v : 0;
        oxs = oys = 0;
        eoxs = lrows * exs;
        eoys = lrows * eys;
        xlen = (size_t)extent(lrows, exs, dim ? dim : 1);
        ylen = (size_t)extent(lrows, eys, dim ? dim : 1);
    }
    size_t plen = 4 * (dim ? dim : 1), slen = 4 * lrows * louter;

    /* placement: a sequential layout of separate regions, then the modes */
    layout L = {4 * (gaps % 16)};
    unsigned g2 = gaps >> 4;
    size_t xo = place_seq(&L, xlen + (interleave ? 4 * exs : 0), g2), yo = place_seq(&L, ylen, g2 >> 2),
           wo = place_seq(&L, plen, g2 >> 4), bo = place_seq(&L, plen, g2 >> 6),
           mo = place_seq(&L, slen, g2 >> 8), ro = place_seq(&L, slen, g2 >> 10);
    size_t x2o = e->is_back ? place_seq(&L, xlen, g2 >> 12) : 0;
    if (L.next > ARENA)
        abort(); /* the budget above keeps this from happening */
    unsigned char *A = arena;
    float *y = (float *)(A + yo);
    const unsigned char *x = A + xo;
    switch (xmode & 7) {
    case 7:
        x = (xmode & 8) ? NULL : x + 1 + (xmode >> 4) % 3; /* NULL or misaligned */
        break;
    default:
        break;
    }
    switch (ymode & 7) {
    case 5: /* in place */
        y = (float *)(uintptr_t)x;
        break;
    case 6: /* interleaved rows (sharing bytes when the offset is below dim) */
        y = x ? (float *)(uintptr_t)(x + 4 * (((ymode >> 3) & 1) ? (size_t)(ymode >> 4) % (dim + 1)
                                                                   : dim + (ymode >> 4) % (xpad + 1)))
              : y;
        break;
    case 7:
        switch ((ymode >> 3) & 3) {
        case 0: y = NULL; break;
        case 1: y = (float *)(A + yo + 1 + (ymode >> 5) % 3); break;
        default: y = (float *)(A + place_any(r, ylen)); break;
        }
        break;
    default:
        break;
    }
    const unsigned char *pw = NULL, *pb = NULL;
    unsigned char *pm = NULL, *pr = NULL;
    for (int k = 0; k < 4; k++) {
        unsigned md = (k == 0 ? wmode : k == 1 ? bmode : k == 2 ? mmode : rmode) & 7;
        size_t seq = k == 0 ? wo : k == 1 ? bo : k == 2 ? mo : ro;
        size_t len = k < 2 ? plen : slen;
        unsigned char *p;
        switch (md) {
        case 0: case 1: case 2: p = A + seq; break;
        case 3: case 4: p = NULL; break;
        case 5: p = A + place_any(r, len); break;                      /* anywhere: may overlap */
        case 6: p = A + seq + 1 + u8(r) % 3; break;                    /* misaligned */
        default:                                                       /* aliasing */
            if (k < 2)
                p = (unsigned char *)(uintptr_t)(x ? x : A + xo);      /* w or b at x */
            else if (k == 2)
                p = A + (y ? (size_t)((unsigned char *)y - A) : yo);   /* mean in y */
            else {                                                     /* rstd near mean */
                long d = (long)(u8(r) % (2 * lrows + 1)) - (long)lrows;
                long o = (long)(pm ? (size_t)(pm - A) : mo) + 4 * d;
                if (o > (long)(ARENA - slen))
                    o = (long)(ARENA - slen);
                p = A + (o < 0 ? 0 : (size_t)o);
            }
            break;
        }
        if (k == 0) pw = p;
        else if (k == 1) pb = p;
        else if (k == 2) pm = p;
        else pr = p;
    }

    /* RMSNorm backward: no weight; the bias mode places the forward x instead */
    const unsigned char *px2 = NULL;
    if (e->is_back) {
        pw = NULL;
        switch (bmode & 7) {
        case 3: px2 = NULL; break;
        case 4: px2 = A + x2o + 1 + (bmode >> 3) % 3; break;         /* misaligned */
        case 5: px2 = A + place_any(r, xlen); break;                  /* anywhere: may overlap */
        case 6: /* x == dx: EOVERLAP (where x, laid out as dz, still fits the arena at y) */
            px2 = y && (size_t)((unsigned char *)y - A) + xlen <= ARENA
                      ? (const unsigned char *)y
                      : A + x2o;
            break;
        case 7: px2 = x; break;                                       /* x == dz: both inputs */
        default: px2 = A + x2o; break;
        }
    }

    /* eps */
    static const float bad_eps[] = {-1e-5f, NAN, INFINITY, -INFINITY, -FLT_MIN, -0x1p-149f, -NAN};
    static const float odd_eps[] = {0.0f, -0.0f, 0x1p-149f, FLT_MIN, FLT_MAX, 1.0f, 1e30f};
    float eps;
    switch (emode & 7) {
    case 0: case 1: eps = 1e-5f; break;
    case 2: eps = 0.0f; break;
    case 3: eps = 1e-6f; break;
    case 4: eps = fbits(eps_raw); break;
    case 5: eps = odd_eps[eps_raw % 7]; break;
    case 6: eps = bad_eps[eps_raw % 7]; break;
    default: eps = (float)(emode >> 3) * 1e-3f; break;
    }

    /* options: a buffer of exactly the size the caller's header knew (ASan catches reads past it) */
    libnorm_opts o = LIBNORM_OPTS_INIT;
    o.x_stride = sx;
    o.y_stride = sy;
    o.outer = outer_v;
    o.x_outer_stride = oxs;
    o.y_outer_stride = oys;
    o.nth = nth_b >= 0xf0 ? 2 + nth_b % 40 : nth_b % 6;
    switch (ith_b & 7) {
    case 0: o.ith = o.nth; break;                         /* one too far */
    case 1: o.ith = (ith_b >> 3) & 1 ? UINT32_MAX : o.nth + (ith_b >> 4); break;
    default: o.ith = (ith_b >> 3) % (o.nth > 1 ? o.nth : 1); break;
    }
    o.mean = (float *)pm;
    o.rstd = (float *)pr;
    /* (0.4) bits 0 and 1 are defined (LIBNORM_WEIGHT_PLUS_ONE, _ACT_TYPE) */
    o.flags = (oflag_mode & 15) == 15   ? 1u << (oflag_mode >> 4 & 31)
              : (oflag_mode & 15) == 13 ? LIBNORM_WEIGHT_PLUS_ONE | ((oflag_mode >> 4) & 2u)
                                        : 0;
    o.reserved = (oflag_mode & 15) == 14 ? 1u << (oflag_mode >> 4 & 31) : 0;
    size_t osize = sizeof(libnorm_opts), obytes = sizeof(libnorm_opts);
    switch (osize_mode & 7) {
    case 5: osize = obytes = LIBNORM_OPTS_MIN_SIZE; break;        /* the 0.1 struct */
    case 6: osize = obytes = (osize_mode >> 3) % (sizeof(libnorm_opts) + 8); break;
    case 7:                                                       /* a newer, longer struct */
        osize = (osize_mode & 8) ? SIZE_MAX : sizeof(libnorm_opts) + 4 * ((osize_mode >> 4) + 1);
        obytes = sizeof(libnorm_opts) + 64;
        break;
    default: break;
    }
    o.size = osize;
    if (obytes < sizeof(size_t))
        obytes = sizeof(size_t);
    unsigned char *obuf = NULL;
    int use_opts = e->has_opts && !(smode & 0x20);
    if (use_opts) {
        obuf = malloc(obytes);
        if (!obuf)
            abort();
        for (size_t i = 0; i < obytes; i++)
            obuf[i] = u8(r);
        memcpy(obuf, &o, obytes < sizeof(o) ? obytes : sizeof(o));
        /* what the library may read: the first `size` bytes, the rest zero */
        size_t seen = osize < sizeof(m.o) ? osize : sizeof(m.o);
        if (seen > obytes)
            seen = obytes;
        if (seen < sizeof(size_t))
            seen = sizeof(size_t); /* `size` itself is always read */
        memset(&m.o, 0, sizeof(m.o));
        memcpy(&m.o, obuf, seen);
    }

    c->y = y;
    c->x = (const float *)x;
    c->w = e->kind == NORM_KIND_L2 ? NULL : (const float *)pw; /* L2 takes no weight */
    c->b = (const float *)pb;
    c->rows = rows;
    c->dim = dim;
    c->eps = eps;
    c->opts = use_opts ? (const libnorm_opts *)obuf : NULL;
    c->x2 = (const float *)px2;

    int reach_size, reach_overlap;
    int want = expected_status(&m, &reach_size, &reach_overlap);
    if (want == -1000 && (huge_rows || huge_x || huge_y || huge_outer)) {
        /* a huge row count or stride that still fits the address space would make the library
         * walk outside the arena: make it one that does not fit */
        if (huge_rows)
            c->rows = SIZE_MAX;
        if (huge_x && use_opts)
            ((libnorm_opts *)obuf)->x_stride = m.o.x_stride = SIZE_MAX;
        if (huge_y && use_opts)
            ((libnorm_opts *)obuf)->y_stride = m.o.y_stride = SIZE_MAX;
        if (huge_outer && use_opts && m.o.size >= offsetof(libnorm_opts, outer) + sizeof(size_t))
            ((libnorm_opts *)obuf)->outer = m.o.outer = SIZE_MAX;
        want = expected_status(&m, &reach_size, &reach_overlap);
    }
    if (want == -1000) {
        describe(&m, 0, 0);
        fprintf(stderr, "fuzz_api: decoder bug: a buffer outside the arena\n");
        abort();
    }

    /* contents: 0xFF (NaN) everywhere, then x's rows, w, b (inputs may overlap: the snapshot is
     * what the call sees) */
    memset(arena, 0xff, sizeof(arena));
    if (x && dim) {
        size_t xrows = huge_rows ? 1 : (rows ? rows : 1);
        for (size_t k = 0; k < xrows * louter; k++) {
            size_t off = (size_t)(x - A) + 4 * ((k / xrows) * eoxs + (k % xrows) * exs);
            if (off + 4 * dim > ARENA)
                break;
            fill_row(A + off, dim, u8(r) % 14, r);
        }
    }
    if (px2 && px2 != x && dim) {
        size_t xrows = huge_rows ? 1 : (rows ? rows : 1);
        for (size_t k = 0; k < xrows * louter; k++) {
            size_t off = (size_t)(px2 - A) + 4 * ((k / xrows) * eoxs + (k % xrows) * exs);
            if ((uintptr_t)px2 % 4 || off + 4 * dim > ARENA)
                break;
            fill_row(A + off, dim, u8(r) % 14, r);
        }
    }
    if (pw && dim && (size_t)(pw - A) + 4 * dim <= ARENA)
        fill_param(A + (pw - A), dim, wmode >> 3, 0, r);
    if (pb && dim && (size_t)(pb - A) + 4 * dim <= ARENA)
        fill_param(A + (pb - A), dim, bmode >> 3, 1, r);
    memcpy(snap, arena, sizeof(arena));
    unsigned char obuf_copy[sizeof(libnorm_opts) + 64];
    if (obuf)
        memcpy(obuf_copy, obuf, obytes);

    int got = e->call(c);
    g_calls++;
    g_status[got <= 0 && got >= -9 ? -got : 10]++;

    if (got != want)
        FAIL(&m, got, want, "wrong status");
    if (obuf && memcmp(obuf_copy, obuf, obytes) != 0)
        FAIL(&m, got, want, "the options were written");
    if (got != LIBNORM_OK || c->rows == 0) {
        if (memcmp(arena, snap, sizeof(arena)) != 0) {
            size_t i = 0;
            while (arena[i] == snap[i])
                i++;
            FAIL(&m, got, want, "%s, but byte %zu of the arena was written",
                 got ? "an error" : "rows == 0", i);
        }
    } else {
        check_success(&m);
    }
    free(obuf);
    return 0;
}
