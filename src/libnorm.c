/*
 * Public entry points: argument checks, the row split, then one call through the dispatch table.
 * No arithmetic on data here, no allocation, no locks on the hot path.
 */
#include <math.h>
#include <stdint.h>

#include "libnorm.h"
#include "norm_internal.h"

/* The options struct has no padding (include/libnorm.h, rules for appending fields), and its
 * first version is what LIBNORM_OPTS_MIN_SIZE says. */
_Static_assert(sizeof(libnorm_opts) == offsetof(libnorm_opts, reserved) + sizeof(unsigned),
               "libnorm_opts has tail padding");
_Static_assert(LIBNORM_OPTS_MIN_SIZE == offsetof(libnorm_opts, flags) + sizeof(unsigned),
               "LIBNORM_OPTS_MIN_SIZE is not the 0.1 struct");

/* A set of byte ranges: `rows` ranges of `len` bytes starting `stride` bytes apart from `base`. */
typedef struct span {
    uintptr_t base;
    size_t rows, stride, len;
} span;

static span mk_span(const void *p, size_t rows, size_t stride_floats, size_t len_floats)
{
    span s = {(uintptr_t)p, rows, stride_floats * sizeof(float), len_floats * sizeof(float)};
    return s;
}

static inline uintptr_t span_end(const span *s)
{
    return s->base + (s->rows - 1) * s->stride + s->len;
}

/* Does the single range [a, a + alen) intersect any row of s? */
static int range_hits(uintptr_t a, size_t alen, const span *s)
{
    if (a + alen <= s->base || a >= span_end(s))
        return 0;
    if (s->rows == 1 || s->stride == s->len)
        return 1;
    /* The rows of s that could meet [a, a+alen): those starting before a+alen, the last one
     * starting at or before a and the ones after it. */
    size_t first = a > s->base ? (a - s->base) / s->stride : 0;
    for (size_t r = first; r < s->rows; r++) {
        uintptr_t lo = s->base + r * s->stride;
        if (lo >= a + alen)
            break;
        if (lo + s->len > a)
            return 1;
    }
    return 0;
}

/* Do two strided sets share a byte? Exact for equal strides (rows interleaved in one buffer are
 * fine), otherwise row by row. */
static int spans_overlap(const span *p, const span *q)
{
    if (p->rows == 0 || q->rows == 0 || p->len == 0 || q->len == 0)
        return 0;
    if (span_end(p) <= q->base || span_end(q) <= p->base)
        return 0;
    if (p->stride == q->stride && p->rows > 1 && q->rows > 1) {
        uintptr_t lo = p->base < q->base ? p->base : q->base;
        uintptr_t hi = p->base < q->base ? q->base : p->base;
        size_t lolen = p->base < q->base ? p->len : q->len;
        size_t hilen = p->base < q->base ? q->len : p->len;
        size_t off = (size_t)((hi - lo) % p->stride);
        /* hi's rows sit at offset `off` inside lo's row frame. */
        return !(off >= lolen && off + hilen <= p->stride);
    }
    const span *few = p->rows <= q->rows ? p : q;
    const span *many = few == p ? q : p;
    for (size_t r = 0; r < few->rows; r++)
        if (range_hits(few->base + r * few->stride, few->len, many))
            return 1;
    return 0;
}

typedef struct call {
    float *y;
    const float *x, *w, *b;
    size_t rows, dim, xs, ys;
    float eps;
    float *mean, *rstd;
    unsigned ith, nth;
    const float *x2; /* a second input laid out as x (x_stride), never written in place; RMSNorm
                        backward: x is dz (dx == dz is in place) and x2 the forward input */
    int x2n;         /* x2 is required (ENULL when NULL) */
} call;

/* The exact test, for the calls whose bounding ranges meet: does an output share a byte with
 * an input or another output (y with x only when not in place)? */
static __attribute__((noinline)) int exact_overlap(const call *c, int inplace)
{
    span x = mk_span(c->x, c->rows, c->xs, c->dim), y = mk_span(c->y, c->rows, c->ys, c->dim);
    span w = mk_span(c->w, 1, c->dim, c->dim), b = mk_span(c->b, 1, c->dim, c->dim);
    span m = mk_span(c->mean, 1, c->rows, c->rows), r = mk_span(c->rstd, 1, c->rows, c->rows);
    const span *outs[3] = {&y, c->mean ? &m : NULL, c->rstd ? &r : NULL};
    span x2 = mk_span(c->x2, c->rows, c->xs, c->dim);
    const span *ins[4] = {&x, c->w ? &w : NULL, c->b ? &b : NULL, c->x2 ? &x2 : NULL};
    for (int i = 0; i < 3; i++) {
        if (!outs[i])
            continue;
        for (int k = 0; k < 4; k++)
            if (ins[k] && !(i == 0 && k == 0 && inplace) && spans_overlap(outs[i], ins[k]))
                return 1;
        for (int k = i + 1; k < 3; k++)
            if (outs[k] && spans_overlap(outs[i], outs[k]))
                return 1;
    }
    return 0;
}

static inline int check(call *c, const libnorm_opts *opts, int is_ln)
{
    c->xs = c->ys = c->dim;
    c->ith = 0;
    c->nth = 1;
    c->mean = c->rstd = NULL;
    if (opts) {
        /* every field up to flags is there (a caller's struct may be newer and longer); reserved
         * is read only when the caller's struct has it */
        if (opts->size < LIBNORM_OPTS_MIN_SIZE || opts->flags != 0 ||
            (opts->size >= offsetof(libnorm_opts, reserved) + sizeof(opts->reserved) &&
             opts->reserved != 0) ||
            opts->ith >= (opts->nth ? opts->nth : 1u))
            return LIBNORM_EOPTS;
        c->xs = opts->x_stride ? opts->x_stride : c->dim;
        c->ys = opts->y_stride ? opts->y_stride : c->dim;
        c->mean = is_ln ? opts->mean : NULL;
        c->rstd = opts->rstd;
        if (opts->nth > 1) {
            c->ith = opts->ith;
            c->nth = opts->nth;
        }
    }
    if (!c->y || !c->x || (c->x2n && !c->x2))
        return LIBNORM_ENULL;
    /* Every pointer float-aligned (C requires it of a float *; x86 forgives it, other CPUs and
     * the sanitizers do not). */
    if (((uintptr_t)c->y | (uintptr_t)c->x | (uintptr_t)c->w | (uintptr_t)c->b |
         (uintptr_t)c->mean | (uintptr_t)c->rstd | (uintptr_t)c->x2) & (_Alignof(float) - 1))
        return LIBNORM_EALIGN;
    if (c->dim == 0)
        return LIBNORM_EDIM;
    if (!(c->eps >= 0.0f && c->eps <= FLT_MAX))
        return LIBNORM_EEPS;
    if (c->xs < c->dim || c->ys < c->dim)
        return LIBNORM_ESTRIDE;
    if (c->rows == 0)
        return LIBNORM_OK;
    /* Every strided extent must be addressable: (rows - 1) * stride + dim floats from its base. */
    size_t ex, ey;
    if (__builtin_mul_overflow(c->rows - 1, c->xs, &ex) || __builtin_add_overflow(ex, c->dim, &ex) ||
        __builtin_mul_overflow(ex, sizeof(float), &ex) ||
        __builtin_mul_overflow(c->rows - 1, c->ys, &ey) || __builtin_add_overflow(ey, c->dim, &ey) ||
        __builtin_mul_overflow(ey, sizeof(float), &ey) || c->rows > SIZE_MAX / sizeof(float))
        return LIBNORM_ESIZE;
    const uintptr_t x0 = (uintptr_t)c->x, y0 = (uintptr_t)c->y, x1 = x0 + ex, y1 = y0 + ey;
    const uintptr_t v0 = (uintptr_t)c->x2, v1 = v0 + ex;
    if (x1 < x0 || y1 < y0 || v1 < v0)
        return LIBNORM_ESIZE;
    /* Outputs must not overlap inputs or each other (y == x with equal strides is in place).
     * First a screen on bounding ranges, which separate buffers always pass; only sets whose
     * bounds meet (rows interleaved in one buffer, say) take the exact test below. */
    const int inplace = x0 == y0 && c->xs == c->ys;
    const uintptr_t wb = (uintptr_t)c->w, bb = (uintptr_t)c->b, mb = (uintptr_t)c->mean,
                    rb = (uintptr_t)c->rstd, dl = c->dim * sizeof(float),
                    rl = c->rows * sizeof(float);
#define MEET(p0, p1, q0, q1) ((p0) < (q1) && (q0) < (p1))
    int meet = (!inplace && MEET(y0, y1, x0, x1)) || (wb && MEET(y0, y1, wb, wb + dl)) ||
               (bb && MEET(y0, y1, bb, bb + dl)) || (v0 && MEET(y0, y1, v0, v1));
    if (mb)
        meet |= MEET(mb, mb + rl, x0, x1) || MEET(mb, mb + rl, y0, y1) ||
                (wb && MEET(mb, mb + rl, wb, wb + dl)) || (bb && MEET(mb, mb + rl, bb, bb + dl));
    if (rb)
        meet |= MEET(rb, rb + rl, x0, x1) || MEET(rb, rb + rl, y0, y1) ||
                (wb && MEET(rb, rb + rl, wb, wb + dl)) || (bb && MEET(rb, rb + rl, bb, bb + dl)) ||
                (mb && MEET(rb, rb + rl, mb, mb + rl)) || (v0 && MEET(rb, rb + rl, v0, v1));
#undef MEET
    if (!meet)
        return LIBNORM_OK;
    return exact_overlap(c, inplace) ? LIBNORM_EOVERLAP : LIBNORM_OK;
}

/* This call's rows: nth nearly equal contiguous chunks, the first rows % nth one row longer. */
static void run(const call *c, norm_kernel_fn fn)
{
    size_t begin = 0, count = c->rows;
    if (c->nth > 1) { /* a 64-bit division costs more than a short row's whole check */
        size_t q = c->rows / c->nth, rem = c->rows % c->nth;
        begin = c->ith * q + (c->ith < rem ? c->ith : rem);
        count = q + (c->ith < rem ? 1 : 0);
    }
    if (count == 0)
        return;
    norm_job j = {
        .y = c->y + begin * c->ys,
        .x = (c->x2 ? c->x2 : c->x) + begin * c->xs,
        .w = c->w,
        .b = c->b,
        .rows = count,
        .dim = c->dim,
        .xs = c->xs,
        .ys = c->ys,
        .eps = c->eps,
        .mean = c->mean ? c->mean + begin : NULL,
        .rstd = c->rstd ? c->rstd + begin : NULL,
        .dz = c->x2 ? c->x + begin * c->xs : NULL,
    };
    fn(&j);
}

int libnorm_layernorm_f32_ex(float *y, const float *x, const float *weight, const float *bias,
                             size_t rows, size_t dim, float eps, const libnorm_opts *opts)
{
    call c = {.y = y, .x = x, .w = weight, .b = bias, .rows = rows, .dim = dim, .eps = eps};
    int st = check(&c, opts, 1);
    if (st != LIBNORM_OK || rows == 0)
        return st;
    run(&c, norm_dsp_global()->layernorm_f32);
    return LIBNORM_OK;
}

int libnorm_rmsnorm_f32_ex(float *y, const float *x, const float *weight, size_t rows, size_t dim,
                           float eps, const libnorm_opts *opts)
{
    call c = {.y = y, .x = x, .w = weight, .rows = rows, .dim = dim, .eps = eps};
    int st = check(&c, opts, 0);
    if (st != LIBNORM_OK || rows == 0)
        return st;
    run(&c, norm_dsp_global()->rmsnorm_f32);
    return LIBNORM_OK;
}

int libnorm_rmsnorm_back_f32_ex(float *dx, const float *dz, const float *x, size_t rows,
                                size_t dim, float eps, const libnorm_opts *opts)
{
    /* dz takes the place of x in the checks (so dx == dz is in place), x is the second input */
    call c = {.y = dx, .x = dz, .x2 = x, .x2n = 1, .rows = rows, .dim = dim, .eps = eps};
    int st = check(&c, opts, 0);
    if (st != LIBNORM_OK || rows == 0)
        return st;
    run(&c, norm_dsp_global()->rmsnorm_back_f32);
    return LIBNORM_OK;
}

int libnorm_layernorm_f32(float *y, const float *x, const float *weight, const float *bias,
                          size_t rows, size_t dim, float eps)
{
    return libnorm_layernorm_f32_ex(y, x, weight, bias, rows, dim, eps, NULL);
}

int libnorm_rmsnorm_f32(float *y, const float *x, const float *weight, size_t rows, size_t dim,
                        float eps)
{
    return libnorm_rmsnorm_f32_ex(y, x, weight, rows, dim, eps, NULL);
}

const char *libnorm_active_isa(void)
{
    return norm_dsp_global()->name;
}

const char *libnorm_strerror(int status)
{
    switch (status) {
    case LIBNORM_OK:
        return "success";
    case LIBNORM_ENULL:
        return "a required pointer (y or x; dx, dz or x) is NULL";
    case LIBNORM_EDIM:
        return "dim is zero";
    case LIBNORM_EEPS:
        return "eps is negative, NaN or infinite";
    case LIBNORM_EOVERLAP:
        return "an output overlaps an input or another output (only y == x, or dx == dz, is allowed)";
    case LIBNORM_ESTRIDE:
        return "a row stride is smaller than dim";
    case LIBNORM_EOPTS:
        return "invalid options (size, flags or reserved not 0, or ith not below nth)";
    case LIBNORM_ESIZE:
        return "rows * stride exceeds the address space";
    case LIBNORM_EALIGN:
        return "a pointer is not aligned to float (4 bytes)";
    default:
        return "unknown status";
    }
}

unsigned libnorm_version(void)
{
    return LIBNORM_VERSION;
}

const char *libnorm_version_string(void)
{
    return LIBNORM_VERSION_STRING;
}
