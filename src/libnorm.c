/*
 * Public entry points: argument checks, the row split, then one call through the dispatch table.
 * No arithmetic on data here, no allocation, no locks on the hot path.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "libnorm.h"
#include "norm_internal.h"
#include "norm_x16.h"

/* The options struct has no padding (include/libnorm.h, rules for appending fields), and its
 * first version is what LIBNORM_OPTS_MIN_SIZE says. */
_Static_assert(sizeof(libnorm_opts) == offsetof(libnorm_opts, y_outer_stride) + sizeof(size_t),
               "libnorm_opts has tail padding");
/* The 0.3 group follows the 0.2 struct (through `reserved`) without a hole. */
_Static_assert(offsetof(libnorm_opts, outer) == offsetof(libnorm_opts, reserved) + sizeof(unsigned),
               "libnorm_opts has padding before outer");
_Static_assert(offsetof(libnorm_opts, y_outer_stride) ==
                   offsetof(libnorm_opts, outer) + 2 * sizeof(size_t),
               "libnorm_opts has padding inside the 0.3 group");
_Static_assert(LIBNORM_OPTS_MIN_SIZE == offsetof(libnorm_opts, flags) + sizeof(unsigned),
               "LIBNORM_OPTS_MIN_SIZE is not the 0.1 struct");

/* A set of byte ranges: `rows` ranges of `len` bytes starting `stride` bytes apart from `base`.
 * Strides and lengths are given in elements of `esz` bytes (floats, or 16-bit values). */
typedef struct span {
    uintptr_t base;
    size_t rows, stride, len;
} span;

static span mk_span(const void *p, size_t rows, size_t stride_floats, size_t len_floats,
                    size_t esz)
{
    span s = {(uintptr_t)p, rows, stride_floats * esz, len_floats * esz};
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
    /* The rows of s that could meet [a, a+alen): from the first that may end after a (rows may
     * overlap one another: a two-level set of one-row groups closer than a row), up to the
     * first starting at or after a+alen. */
    size_t first = a >= s->base + s->len ? (a - s->base - s->len) / s->stride : 0;
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

/* ---- two-level sets: `outer` groups (ostride bytes apart) of 1-level spans ---- */
typedef struct set2 {
    span g;                /* group 0 */
    size_t outer, ostride; /* ostride: bytes */
} set2;

static set2 mk_set2(const void *p, size_t outer, size_t ostride_floats, size_t rows,
                    size_t stride_floats, size_t len_floats, size_t esz)
{
    set2 s = {mk_span(p, rows, stride_floats, len_floats, esz), outer, ostride_floats * esz};
    /* the forms that are one level: one group, one row a group, or groups that follow on */
    if (s.outer > 1 && s.g.rows == 1) {
        s.g.rows = s.outer;
        s.g.stride = s.ostride;
        s.outer = 1;
    } else if (s.outer > 1 && s.ostride == s.g.rows * s.g.stride) {
        s.g.rows *= s.outer;
        s.outer = 1;
    }
    if (s.outer <= 1)
        s.ostride = 0;
    return s;
}

/* Bytes from a group's first byte to its last, plus one. */
static inline size_t group_ext(const span *g)
{
    return (g->rows - 1) * g->stride + g->len;
}

static inline span group_at(const set2 *s, size_t o)
{
    span g = s->g;
    g.base += o * s->ostride;
    return g;
}

/* Does the 1-level span p share a byte with the set q? Only q's groups whose bounds meet p's are
 * tested (group bases increase with o). */
static int span_set_overlap(const span *p, const set2 *q)
{
    if (q->outer <= 1)
        return spans_overlap(p, &q->g);
    const uintptr_t lo = p->base, hi = span_end(p);
    const size_t qe = group_ext(&q->g);
    size_t o = lo > q->g.base + qe ? (lo - q->g.base - qe) / q->ostride : 0;
    for (; o < q->outer; o++) {
        span g = group_at(q, o);
        if (g.base >= hi)
            break;
        if (g.base + qe > lo && spans_overlap(p, &g))
            return 1;
    }
    return 0;
}

static int sets_overlap(const set2 *p, const set2 *q)
{
    if (p->g.rows == 0 || q->g.rows == 0 || p->g.len == 0 || q->g.len == 0)
        return 0;
    if (p->outer <= 1)
        return span_set_overlap(&p->g, q);
    for (size_t o = 0; o < p->outer; o++) {
        span g = group_at(p, o);
        if (span_set_overlap(&g, q))
            return 1;
    }
    return 0;
}

/* Are the rows of a set pairwise disjoint (y's rows, which the call writes)? Exact for one level
 * (row stride >= row length) and for groups that do not interleave or interleave in whole row
 * slots; other interleavings are taken as overlapping (conservative). */
static int set_rows_disjoint(const set2 *s)
{
    const span *g = &s->g;
    if (g->rows > 1 && g->stride < g->len)
        return 0;
    if (s->outer <= 1)
        return 1;
    /* here g->rows > 1 (mk_set2 made one-row groups one level) */
    if (s->ostride >= group_ext(g))
        return 1;
    if (s->ostride % g->stride == 0 && s->ostride / g->stride >= g->rows)
        return 1;   /* group o's row r in slot o * k + r, k >= rows */
    if (s->ostride >= g->len && g->stride % s->ostride == 0 && g->stride / s->ostride >= s->outer)
        return 1;   /* row r of group o in slot r * m + o, m >= outer */
    return 0;
}

typedef struct call {
    void *y;                  /* float, or 16-bit values when esz is 2 */
    const void *x, *w, *b;    /* w, b: float, or 16-bit values when wesz is 2 */
    size_t rows, dim, xs, ys;
    size_t outer, xos, yos;   /* groups of rows (1: one level) and their strides in floats */
    size_t wlen;              /* floats of w and b (0: dim) */
    size_t stat_per_row;      /* statistics a row (0: 1; group norm: groups) */
    size_t nstat;             /* floats of mean and rstd (set by check: outer * rows * per row) */
    float eps;
    float *mean, *rstd;
    unsigned ith, nth;
    const float *x2; /* a second input laid out as x (x_stride, x_outer_stride), never written in place; RMSNorm
                        backward: x is dz (dx == dz is in place) and x2 the forward input */
    int x2n;         /* x2 is required (ENULL when NULL) */
    size_t esz, wesz;         /* (0.4) bytes of an element of x and y / of w and b (0: float) */
    unsigned flags;           /* opts->flags as read */
    /* (0.4) the fused add + norm: x2 is r (h = x + r), h a second output laid out as y (NULL:
     * not written); y and h may each be x or x2 exactly (in place) */
    float *h;
    int add;
    int wplus;       /* LIBNORM_WEIGHT_PLUS_ONE */
} call;

/* A call with every field set: the given buffers and sizes, the rest empty (read_opts and
 * check_args fill the options and nstat). Fields are assigned one by one: gcc clears a
 * designated-initialised call (200 bytes) with a `rep stos` first, which measured ~10 ns of a
 * single-row call (as it did for norm_job in 0.3). */
static inline __attribute__((always_inline)) void call_init(call *c, void *y, const void *x,
                                                            const void *w, const void *b,
                                                            size_t rows, size_t dim, float eps)
{
    c->y = y;
    c->x = x;
    c->w = w;
    c->b = b;
    c->rows = rows;
    c->dim = dim;
    c->xs = c->ys = dim;
    c->outer = 1;
    c->xos = c->yos = 0;
    c->wlen = 0;
    c->stat_per_row = 0;
    c->nstat = 0;
    c->eps = eps;
    c->mean = c->rstd = NULL;
    c->ith = 0;
    c->nth = 1;
    c->x2 = NULL;
    c->x2n = 0;
    c->esz = c->wesz = 0;
    c->flags = 0;
    c->h = NULL;
    c->add = 0;
    c->wplus = 0;
}

/* Bytes of an element of x and y, of w and b. */
#define CALL_ESZ(c) ((c)->esz ? (c)->esz : sizeof(float))
#define CALL_WESZ(c) ((c)->wesz ? (c)->wesz : sizeof(float))

/* (0.4) Is the output p exactly in place over the input q (same pointer, same layout)? */
static inline int same_rows(const call *c, const void *p, const void *q)
{
    return p && p == q && c->xs == c->ys && (c->outer <= 1 || c->xos == c->yos);
}

/* The exact test, for the calls whose bounding ranges meet: does an output share a byte with
 * an input or another output (y with x only when not in place)? And are y's rows disjoint? */
static __attribute__((noinline)) int exact_overlap(const call *c, int inplace)
{
    const size_t es = CALL_ESZ(c), wes = CALL_WESZ(c), fs = sizeof(float);
    set2 x = mk_set2(c->x, c->outer, c->xos, c->rows, c->xs, c->dim, es);
    set2 y = mk_set2(c->y, c->outer, c->yos, c->rows, c->ys, c->dim, es);
    set2 w = mk_set2(c->w, 1, 0, 1, c->wlen, c->wlen, wes);
    set2 b = mk_set2(c->b, 1, 0, 1, c->wlen, c->wlen, wes);
    set2 m = mk_set2(c->mean, 1, 0, 1, c->nstat, c->nstat, fs);
    set2 r = mk_set2(c->rstd, 1, 0, 1, c->nstat, c->nstat, fs);
    set2 x2 = mk_set2(c->x2, c->outer, c->xos, c->rows, c->xs, c->dim, es);
    set2 h = mk_set2(c->h, c->outer, c->yos, c->rows, c->ys, c->dim, es);
    if (!set_rows_disjoint(&y))
        return 1;
    /* in place: y over x (inplace); the add ops also y over r, h over x, h over r (exactly) */
    const int ok_in[4][4] = {{inplace, 0, 0, c->add && same_rows(c, c->y, c->x2)},
                             {same_rows(c, c->h, c->x), 0, 0, same_rows(c, c->h, c->x2)}};
    const set2 *outs[4] = {&y, c->h ? &h : NULL, c->mean ? &m : NULL, c->rstd ? &r : NULL};
    const set2 *ins[4] = {&x, c->w ? &w : NULL, c->b ? &b : NULL, c->x2 ? &x2 : NULL};
    for (int i = 0; i < 4; i++) {
        if (!outs[i])
            continue;
        for (int k = 0; k < 4; k++)
            if (ins[k] && !ok_in[i][k] && sets_overlap(outs[i], ins[k]))
                return 1;
        for (int k = i + 1; k < 4; k++)
            if (outs[k] && sets_overlap(outs[i], outs[k]))
                return 1;
    }
    return 0;
}

/* Reads the options into c (the defaults without them). Returns LIBNORM_OK or LIBNORM_EOPTS. */
static inline __attribute__((always_inline)) int read_opts(call *c, const libnorm_opts *opts, int is_ln)
{
    c->xs = c->ys = c->dim;
    c->outer = 1;
    c->xos = c->yos = 0;
    c->ith = 0;
    c->nth = 1;
    c->mean = c->rstd = NULL;
    c->wplus = 0;
    if (opts) {
        /* every field up to flags is there (a caller's struct may be newer and longer); later
         * fields are read only when the caller's struct has them */
#define HAS(f) (opts->size >= offsetof(libnorm_opts, f) + sizeof(opts->f))
        if (opts->size < LIBNORM_OPTS_MIN_SIZE ||
            (opts->flags & ~(LIBNORM_WEIGHT_PLUS_ONE | LIBNORM_WEIGHT_ACT_TYPE)) != 0 ||
            (HAS(reserved) && opts->reserved != 0) || opts->ith >= (opts->nth ? opts->nth : 1u))
            return LIBNORM_EOPTS;
        c->flags = opts->flags;
        c->xs = opts->x_stride ? opts->x_stride : c->dim;
        c->ys = opts->y_stride ? opts->y_stride : c->dim;
        c->mean = is_ln ? opts->mean : NULL;
        c->rstd = opts->rstd;
        c->wplus = (opts->flags & LIBNORM_WEIGHT_PLUS_ONE) != 0;
        if (opts->nth > 1) {
            c->ith = opts->ith;
            c->nth = opts->nth;
        }
        if (HAS(outer) && opts->outer > 1)
            c->outer = opts->outer;
        if (HAS(x_outer_stride))
            c->xos = opts->x_outer_stride;
        if (HAS(y_outer_stride))
            c->yos = opts->y_outer_stride;
#undef HAS
    }
    return LIBNORM_OK;
}

/* The checks after the options (include/libnorm.h, in its order). c->outer >= 1; c->xos / yos
 * 0 for the default; c->wlen 0 for dim. */
static inline __attribute__((always_inline)) int check_args(call *c)
{
    if (!c->y || !c->x || (c->x2n && !c->x2))
        return LIBNORM_ENULL;
    /* Every pointer float-aligned (C requires it of a float *; x86 forgives it, other CPUs and
     * the sanitizers do not). */
    const size_t es = CALL_ESZ(c), wes = CALL_WESZ(c);
    if ((((uintptr_t)c->y | (uintptr_t)c->x | (uintptr_t)c->x2 | (uintptr_t)c->h) & (es - 1)) |
        (((uintptr_t)c->w | (uintptr_t)c->b) & (wes - 1)) |
        (((uintptr_t)c->mean | (uintptr_t)c->rstd) & (_Alignof(float) - 1)))
        return LIBNORM_EALIGN;
    if (c->dim == 0)
        return LIBNORM_EDIM;
    if (!(c->eps >= 0.0f && c->eps <= FLT_MAX))
        return LIBNORM_EEPS;
    if (c->xs < c->dim || c->ys < c->dim)
        return LIBNORM_ESTRIDE;
    if (c->rows == 0)
        return LIBNORM_OK;
    if (!c->wlen)
        c->wlen = c->dim;
    /* Every strided extent must be addressable: (outer - 1) * outer stride + (rows - 1) * stride
     * + dim floats from its base; outer * rows statistics. */
    size_t ex, ey, t;
    if (c->outer > 1) {
        if ((!c->xos && __builtin_mul_overflow(c->rows, c->xs, &c->xos)) ||
            (!c->yos && __builtin_mul_overflow(c->rows, c->ys, &c->yos)) ||
            __builtin_mul_overflow(c->outer, c->rows, &c->nstat))
            return LIBNORM_ESIZE;
    } else {
        c->nstat = c->rows;
    }
    if (c->stat_per_row > 1 && __builtin_mul_overflow(c->nstat, c->stat_per_row, &c->nstat))
        return LIBNORM_ESIZE;
    if (__builtin_mul_overflow(c->rows - 1, c->xs, &ex) || __builtin_add_overflow(ex, c->dim, &ex) ||
        __builtin_mul_overflow(c->outer - 1, c->xos, &t) || __builtin_add_overflow(ex, t, &ex) ||
        __builtin_mul_overflow(ex, es, &ex) ||
        __builtin_mul_overflow(c->rows - 1, c->ys, &ey) || __builtin_add_overflow(ey, c->dim, &ey) ||
        __builtin_mul_overflow(c->outer - 1, c->yos, &t) || __builtin_add_overflow(ey, t, &ey) ||
        __builtin_mul_overflow(ey, es, &ey) || c->nstat > SIZE_MAX / sizeof(float) ||
        c->wlen > SIZE_MAX / wes)
        return LIBNORM_ESIZE;
    const uintptr_t x0 = (uintptr_t)c->x, y0 = (uintptr_t)c->y, x1 = x0 + ex, y1 = y0 + ey;
    const uintptr_t v0 = (uintptr_t)c->x2, v1 = v0 + ex;
    const uintptr_t h0 = (uintptr_t)c->h, h1 = h0 + ey;
    const uintptr_t wb = (uintptr_t)c->w, bb = (uintptr_t)c->b, mb = (uintptr_t)c->mean,
                    rb = (uintptr_t)c->rstd, dl = c->wlen * wes,
                    rl = c->nstat * sizeof(float);
    if (x1 < x0 || y1 < y0 || v1 < v0 || h1 < h0 || (wb && wb + dl < wb) || (bb && bb + dl < bb) ||
        (mb && mb + rl < mb) || (rb && rb + rl < rb))
        return LIBNORM_ESIZE;
    /* Outputs must not overlap inputs or each other (y == x with equal strides is in place).
     * First a screen on bounding ranges, which separate buffers always pass; only sets whose
     * bounds meet (rows interleaved in one buffer, say) take the exact test below, and so do
     * two-level outputs whose groups come closer than a group's extent (y's rows must be
     * disjoint). */
    const int inplace = x0 == y0 && c->xs == c->ys && (c->outer <= 1 || c->xos == c->yos);
#define MEET(p0, p1, q0, q1) ((p0) < (q1) && (q0) < (p1))
    int meet = (!inplace && MEET(y0, y1, x0, x1)) || (wb && MEET(y0, y1, wb, wb + dl)) ||
               (bb && MEET(y0, y1, bb, bb + dl)) ||
               (v0 && !(c->add && same_rows(c, c->y, c->x2)) && MEET(y0, y1, v0, v1));
    if (h0) /* (0.4) the add ops' h: against x, r (unless exactly in place), y, w, b */
        meet |= (!same_rows(c, c->h, c->x) && MEET(h0, h1, x0, x1)) ||
                (!same_rows(c, c->h, c->x2) && MEET(h0, h1, v0, v1)) || MEET(h0, h1, y0, y1) ||
                (wb && MEET(h0, h1, wb, wb + dl)) || (bb && MEET(h0, h1, bb, bb + dl)) ||
                (mb && MEET(h0, h1, mb, mb + rl)) || (rb && MEET(h0, h1, rb, rb + rl));
    if (mb && v0)
        meet |= MEET(mb, mb + rl, v0, v1);
    if (mb)
        meet |= MEET(mb, mb + rl, x0, x1) || MEET(mb, mb + rl, y0, y1) ||
                (wb && MEET(mb, mb + rl, wb, wb + dl)) || (bb && MEET(mb, mb + rl, bb, bb + dl));
    if (rb)
        meet |= MEET(rb, rb + rl, x0, x1) || MEET(rb, rb + rl, y0, y1) ||
                (wb && MEET(rb, rb + rl, wb, wb + dl)) || (bb && MEET(rb, rb + rl, bb, bb + dl)) ||
                (mb && MEET(rb, rb + rl, mb, mb + rl)) || (v0 && MEET(rb, rb + rl, v0, v1));
#undef MEET
    if (c->outer > 1 && c->yos < (c->rows - 1) * c->ys + c->dim)
        meet = 1;
    if (!meet)
        return LIBNORM_OK;
    return exact_overlap(c, inplace) ? LIBNORM_EOVERLAP : LIBNORM_OK;
}

static inline __attribute__((always_inline)) int check(call *c, const libnorm_opts *opts,
                                                       int is_ln)
{
    int st = read_opts(c, opts, is_ln);
    return st != LIBNORM_OK ? st : check_args(c);
}

/* Rows t = first .. first + count - 1 of the two-level set as kernel calls: one per group's
 * contiguous chunk (one in all when the groups follow on in x and y), statistics and the test
 * hook's sums at absolute row t. */
static inline __attribute__((always_inline)) void run_rows(const call *c, norm_kernel_fn fn,
                                                           size_t first, size_t count, int kind,
                     double *sums, size_t sums_per_row)
{
    /* every field assigned, no initializer: gcc clears a designated-initialized job with a
     * `rep stos` first, which measured ~10 ns of a single-row call */
    norm_job j;
    j.w = c->w;
    j.b = c->b;
    j.dim = c->dim;
    j.xs = c->xs;
    j.ys = c->ys;
    j.eps = c->eps;
    j.kind = kind;
    j.wplus = c->wplus;
    j.stream = 0;
    if (c->outer <= 1 || (c->xos == c->rows * c->xs && c->yos == c->rows * c->ys)) {
        j.y = (float *)c->y + first * c->ys;
        j.x = (c->x2 ? c->x2 : (const float *)c->x) + first * c->xs;
        j.dz = c->x2 ? (const float *)c->x + first * c->xs : NULL;
        j.rows = count;
        j.mean = c->mean ? c->mean + first : NULL;
        j.rstd = c->rstd ? c->rstd + first : NULL;
        j.sums = sums ? sums + first * sums_per_row : NULL;
        fn(&j);
        return;
    }
    size_t o = first / c->rows, r = first % c->rows, t = first;
    while (count) {
        size_t n = c->rows - r < count ? c->rows - r : count;
        j.y = (float *)c->y + o * c->yos + r * c->ys;
        j.x = (c->x2 ? c->x2 : (const float *)c->x) + o * c->xos + r * c->xs;
        j.dz = c->x2 ? (const float *)c->x + o * c->xos + r * c->xs : NULL;
        j.rows = n;
        j.mean = c->mean ? c->mean + t : NULL;
        j.rstd = c->rstd ? c->rstd + t : NULL;
        j.sums = sums ? sums + t * sums_per_row : NULL;
        fn(&j);
        t += n;
        count -= n;
        o++;
        r = 0;
    }
}

/* This call's share of n units: nth nearly equal contiguous chunks, the first n % nth one
 * longer. */
static inline void split(const call *c, size_t n, size_t *begin, size_t *count)
{
    *begin = 0;
    *count = n;
    if (c->nth > 1) { /* a 64-bit division costs more than a short row's whole check */
        size_t q = n / c->nth, rem = n % c->nth;
        *begin = c->ith * q + (c->ith < rem ? c->ith : rem);
        *count = q + (c->ith < rem ? 1 : 0);
    }
}

/* This call's rows of the outer * rows. */
static inline void run(const call *c, norm_kernel_fn fn, int kind, double *sums, size_t per)
{
    size_t begin, count;
    split(c, c->nstat, &begin, &count);
    if (count)
        run_rows(c, fn, begin, count, kind, sums, per);
}

/* The common call, decided with only the checks it needs: f32 rows, no options or options
 * without statistics outputs or a second level, every size below 2^31 (so no extent can
 * overflow), y apart from x (or exactly over it), w and b. Returns 1 when it ran the kernel;
 * 0 sends the call on to the general checks (check()), which decide the status: every call this
 * accepts, they accept too, and this runs the same rows with the same job. A single-row call
 * spends ~20 ns in the general checks (measured on the AMD EPYC: normbench's api row against
 * the kernel's, dim 64, 1 row), a few here. */
static inline __attribute__((always_inline)) int fast_rows(norm_kernel_fn fn, int kind, float *y,
                                                           const float *x, const float *w,
                                                           const float *b, size_t rows,
                                                           size_t dim, float eps,
                                                           const libnorm_opts *opts,
                                                           double *sums, size_t per)
{
    size_t xs = dim, ys = dim;
    unsigned ith = 0, nth = 1;
    int wplus = 0;
    if (opts) {
        if (opts->size < sizeof(libnorm_opts) ||
            (opts->flags & ~(LIBNORM_WEIGHT_PLUS_ONE | LIBNORM_WEIGHT_ACT_TYPE)) != 0 ||
            opts->reserved != 0 || opts->mean || opts->rstd || opts->outer > 1)
            return 0;
        xs = opts->x_stride ? opts->x_stride : dim;
        ys = opts->y_stride ? opts->y_stride : dim;
        nth = opts->nth > 1 ? opts->nth : 1;
        ith = opts->ith;
        wplus = (opts->flags & LIBNORM_WEIGHT_PLUS_ONE) != 0;
    }
    const uintptr_t x0 = (uintptr_t)x, y0 = (uintptr_t)y, w0 = (uintptr_t)w, b0 = (uintptr_t)b;
    if (!y || !x || ((x0 | y0 | w0 | b0) & (_Alignof(float) - 1)) || dim == 0 || rows == 0 ||
        !(eps >= 0.0f && eps <= FLT_MAX) || xs < dim || ys < dim || ith >= nth ||
        ((rows | xs | ys) >> 31) != 0)
        return 0;
    const uintptr_t x1 = x0 + ((rows - 1) * xs + dim) * sizeof(float),
                    y1 = y0 + ((rows - 1) * ys + dim) * sizeof(float),
                    wl = dim * sizeof(float);
#define MEET(p0, p1, q0, q1) ((p0) < (q1) && (q0) < (p1))
    if (x1 < x0 || y1 < y0 || w0 + wl < w0 || b0 + wl < b0 ||
        (!(x0 == y0 && xs == ys) && MEET(y0, y1, x0, x1)) || (w && MEET(y0, y1, w0, w0 + wl)) ||
        (b && MEET(y0, y1, b0, b0 + wl)))
        return 0;
#undef MEET
    size_t first = 0, count = rows;
    if (nth > 1) {
        const size_t q = rows / nth, rem = rows % nth;
        first = ith * q + (ith < rem ? ith : rem);
        count = q + (ith < rem ? 1 : 0);
        if (count == 0)
            return 1;
    }
    norm_job j;
    j.y = y + first * ys;
    j.x = x + first * xs;
    j.w = w;
    j.b = b;
    j.rows = count;
    j.dim = dim;
    j.xs = xs;
    j.ys = ys;
    j.eps = eps;
    j.mean = NULL;
    j.rstd = NULL;
    j.sums = sums ? sums + first * per : NULL;
    j.kind = kind;
    j.dz = NULL;
    j.wplus = wplus;
    j.stream = 0;
    fn(&j);
    return 1;
}

/* The general checks and run of the f32 row ops (every call fast_rows() does not take). */
static __attribute__((noinline)) int rows_general(const norm_dsp *d, int op, float *y,
                                                  const float *x, const float *weight,
                                                  const float *bias, size_t rows, size_t dim,
                                                  float eps, const libnorm_opts *opts,
                                                  double *sums)
{
    call c;
    call_init(&c, y, x, op == NORM_OP_L2 ? NULL : weight, op == NORM_OP_LN ? bias : NULL, rows,
              dim, eps);
    int st = check(&c, opts, op == NORM_OP_LN);
    if (st != LIBNORM_OK || rows == 0)
        return st;
    if (op == NORM_OP_LN)
        run(&c, d->layernorm_f32, NORM_KIND_RMS, sums, NORM_LN_SUMS_PER_ROW);
    else
        run(&c, d->rmsnorm_f32, op == NORM_OP_L2 ? NORM_KIND_L2 : NORM_KIND_RMS, sums, 1);
    return LIBNORM_OK;
}

/* An f32 row op: the fast path inline in each entry point, the general one out of line. */
static inline __attribute__((always_inline)) int rows_call(const norm_dsp *d, int op, float *y,
                                                           const float *x, const float *weight,
                                                           const float *bias, size_t rows,
                                                           size_t dim, float eps,
                                                           const libnorm_opts *opts, double *sums)
{
    if (op == NORM_OP_LN
            ? fast_rows(d->layernorm_f32, NORM_KIND_RMS, y, x, weight, bias, rows, dim, eps, opts,
                        sums, NORM_LN_SUMS_PER_ROW)
            : fast_rows(d->rmsnorm_f32, op == NORM_OP_L2 ? NORM_KIND_L2 : NORM_KIND_RMS, y, x,
                        op == NORM_OP_L2 ? NULL : weight, NULL, rows, dim, eps, opts, sums, 1))
        return LIBNORM_OK;
    return rows_general(d, op, y, x, weight, bias, rows, dim, eps, opts, sums);
}

int norm_rows_call(const norm_dsp *d, int op, float *y, const float *x, const float *weight,
                   const float *bias, size_t rows, size_t dim, float eps,
                   const struct libnorm_opts *opts, double *sums)
{
    return rows_call(d, op, y, x, weight, bias, rows, dim, eps, opts, sums);
}

/* ---- single rows (decode-time calls) ----
 * A rows = 1 call is a few tens of ns, so the entry points take it with the fewest instructions
 * and no stack frame of their own: row_ok() decides in registers whether the call is valid and
 * simple (one row, no statistics outputs or second level, this thread's share of the split),
 * then the entry point tail-calls the tier's one-row function (norm_dsp.rmsnorm_row_f32,
 * norm_dsp.layernorm_row_f32; the tiers without their own build the job in dispatch.c). Every
 * other call, including every invalid one (whose status the general checks decide), and any
 * call before the dispatch table is ready, tail-calls the entry
 * point's general path (*_general below: fast_rows(), then check()). row_ok() accepts only
 * calls that check() accepts, and the row runs the job fast_rows() would have run. */

/* Is this a valid single-row call that the entry point may take itself? The conditions are combined without branches (one at the end): a decode-time call is
 * a few tens of ns. A condition that rejects too much only sends the call to the general path. */
static inline __attribute__((always_inline)) int row_ok(const float *y, const float *x,
                                                        const float *w, const float *b,
                                                        size_t dim, float eps,
                                                        const libnorm_opts *opts)
{
    /* the options reduced to three flags at once (fewer live registers: no stack frame) */
    int bad = 0, same_strides = 1;
    if (opts) {
        /* as fast_rows(): the whole current struct, known flags, no statistics outputs, one
         * level; ith = 0 (of any nth) is the thread whose share is the row */
        if (opts->size < sizeof(libnorm_opts) ||
            (opts->flags & ~(LIBNORM_WEIGHT_PLUS_ONE | LIBNORM_WEIGHT_ACT_TYPE)) != 0 ||
            opts->reserved != 0 || opts->mean || opts->rstd || opts->outer > 1 || opts->ith != 0)
            return 0;
        const size_t xs = opts->x_stride ? opts->x_stride : dim;
        const size_t ys = opts->y_stride ? opts->y_stride : dim;
        bad = (xs < dim) | (ys < dim); /* ESTRIDE */
        same_strides = xs == ys;       /* in place needs equal strides */
    }
    const uintptr_t x0 = (uintptr_t)x, y0 = (uintptr_t)y, w0 = (uintptr_t)w, b0 = (uintptr_t)b;
    const uintptr_t len = dim * sizeof(float);
    /* [p, p + len) meets [y, y + len): |y - p| < len, in modular arithmetic (exact here: no range
     * wraps). For p = NULL (no w or b) it holds only for y below len, which the general path then
     * decides. */
#define ROW_MEETS_Y(p0) ((uintptr_t)(y0 - (p0) + (len - 1)) < 2 * len - 1)
    /* y and x non-NULL; every pointer float-aligned and below 2^62 (so that no range of at most
     * 2^32 bytes wraps: ESIZE); dim in 1 .. 2^30; eps in [0, FLT_MAX]; y apart from x (or
     * exactly over it, equal strides), w and b */
    bad |= (y0 == 0) | (x0 == 0) |
           (((x0 | y0 | w0 | b0) & (((uintptr_t)3 << 62) | (_Alignof(float) - 1))) != 0) |
           (dim - 1 >= (size_t)1 << 30) | !(eps >= 0.0f) | !(eps <= FLT_MAX) |
           (x0 == y0 ? !same_strides : ROW_MEETS_Y(x0)) | ROW_MEETS_Y(w0) | ROW_MEETS_Y(b0);
#undef ROW_MEETS_Y
    return !bad;
}

/* The general paths (the entry points' signatures, so that they are tail calls too). */
static __attribute__((noinline)) int ln_general(float *y, const float *x, const float *weight,
                                                const float *bias, size_t rows, size_t dim,
                                                float eps, const libnorm_opts *opts)
{
    return rows_call(norm_dsp_now(), NORM_OP_LN, y, x, weight, bias, rows, dim, eps, opts,
                     NULL);
}

static __attribute__((noinline)) int rms_general(float *y, const float *x, const float *weight,
                                                 size_t rows, size_t dim, float eps,
                                                 const libnorm_opts *opts)
{
    return rows_call(norm_dsp_now(), NORM_OP_RMS, y, x, weight, NULL, rows, dim, eps, opts,
                     NULL);
}

/* The dispatch table is ready (norm_dsp_now() without the call that fills it). */
static inline int dsp_ready(void)
{
    return __builtin_expect(atomic_load_explicit(&norm_g_ready, memory_order_acquire) != 0, 1);
}

/* The weight flag of a call row_ok() accepted (read again at the end: one register fewer live
 * through the checks). */
static inline int row_wplus(const libnorm_opts *opts)
{
    return opts ? (opts->flags & LIBNORM_WEIGHT_PLUS_ONE) != 0 : 0;
}

static inline __attribute__((always_inline)) int ln_entry(float *y, const float *x,
                                                          const float *weight, const float *bias,
                                                          size_t rows, size_t dim, float eps,
                                                          const libnorm_opts *opts)
{
    if (rows == 1 && dsp_ready()) {
        if (row_ok(y, x, weight, bias, dim, eps, opts))
            return norm_g_dsp.layernorm_row_f32(y, x, weight, bias, dim, eps, row_wplus(opts));
        return ln_general(y, x, weight, bias, 1, dim, eps, opts);
    }
    return ln_general(y, x, weight, bias, rows, dim, eps, opts);
}

static inline __attribute__((always_inline)) int rms_entry(float *y, const float *x,
                                                           const float *weight, size_t rows,
                                                           size_t dim, float eps,
                                                           const libnorm_opts *opts)
{
    if (rows == 1 && dsp_ready()) {
        if (row_ok(y, x, weight, NULL, dim, eps, opts))
            return norm_g_dsp.rmsnorm_row_f32(y, x, weight, dim, eps, row_wplus(opts));
        return rms_general(y, x, weight, 1, dim, eps, opts);
    }
    return rms_general(y, x, weight, rows, dim, eps, opts);
}

int libnorm_layernorm_f32_ex(float *y, const float *x, const float *weight, const float *bias,
                             size_t rows, size_t dim, float eps, const libnorm_opts *opts)
{
    return ln_entry(y, x, weight, bias, rows, dim, eps, opts);
}

int libnorm_rmsnorm_f32_ex(float *y, const float *x, const float *weight, size_t rows, size_t dim,
                           float eps, const libnorm_opts *opts)
{
    return rms_entry(y, x, weight, rows, dim, eps, opts);
}

int libnorm_l2norm_f32_ex(float *y, const float *x, size_t rows, size_t dim, float eps,
                          const libnorm_opts *opts)
{
    return rows_call(norm_dsp_now(), NORM_OP_L2, y, x, NULL, NULL, rows, dim, eps, opts, NULL);
}

/* ---- group normalisation ---- */

/* One kernel job of LayerNorm rows (no weight, no bias) for units u .. u + rows - 1. */
static inline void gn_job(const call *c, norm_kernel_fn fn, float *y, const float *x, size_t rows,
                          size_t len, size_t u, double *sums)
{
    norm_job j = {
        .y = y,
        .x = x,
        .rows = rows,
        .dim = len,
        .xs = len,
        .ys = len,
        .eps = c->eps,
        .mean = c->mean ? c->mean + u : NULL,
        .rstd = c->rstd ? c->rstd + u : NULL,
        .sums = sums ? sums + NORM_LN_SUMS_PER_ROW * u : NULL,
    };
    fn(&j);
}

int norm_groupnorm_call(const norm_dsp *d, float *y, const float *x, const float *weight,
                        const float *bias, size_t batch, size_t channels, size_t spatial,
                        size_t groups, float eps, const struct libnorm_opts *opts, double *sums)
{
    /* Checked as a call of `batch` rows of channels * spatial floats (an overflowing product
     * fails the extent check: ESIZE), the batch strides as row strides, weight and bias of
     * `channels` floats and `groups` statistics a row. */
    size_t cs;
    if (__builtin_mul_overflow(channels, spatial, &cs))
        cs = SIZE_MAX;
    call c;
    call_init(&c, y, x, weight, bias, batch, cs, eps);
    c.wlen = channels;
    c.stat_per_row = groups;
    int st = read_opts(&c, opts, 1);
    if (st != LIBNORM_OK)
        return st;
    if (c.outer > 1)
        return LIBNORM_EOPTS;
    const size_t chx = opts ? opts->x_stride : 0, chy = opts ? opts->y_stride : 0;
    c.xs = c.xos ? c.xos : cs;
    c.ys = c.yos ? c.yos : cs;
    c.xos = c.yos = 0;
    if (channels == 0 || spatial == 0 || groups == 0)
        c.dim = 0;              /* EDIM, in its place among the checks */
    else if ((chx && chx != spatial) || (chy && chy != spatial))
        c.xs = 0;               /* ESTRIDE, in its place (dim > 0 here) */
    st = check_args(&c);
    if (st != LIBNORM_OK || batch == 0)
        return st;

    const size_t cpg = channels / groups + (channels % groups != 0);
    const size_t nfull = channels / cpg, part = channels - nfull * cpg; /* full groups; channels
                                                                           of the short one */
    const size_t glen = cpg * spatial;
    const int affine = weight || bias;
    norm_kernel_fn fn = d->layernorm_f32;
    size_t u, cnt;
    split(&c, c.nstat, &u, &cnt);
    if (cnt == 0)
        return LIBNORM_OK;
    if (!affine && nfull == groups && c.xs == cs && c.ys == cs) {
        /* every unit is a full group and the batches follow on: one job */
        gn_job(&c, fn, y + u * glen, x + u * glen, cnt, glen, u, sums);
        return LIBNORM_OK;
    }
    size_t bi = u / groups, g = u % groups;
    while (cnt) {
        const size_t gend = groups - g < cnt ? groups : g + cnt;
        float *yb = y + bi * c.ys;
        const float *xb = x + bi * c.xs;
        const size_t ub = bi * groups;
        const size_t fend = gend < nfull ? gend : nfull;
        if (!affine && g < fend) {
            gn_job(&c, fn, yb + g * glen, xb + g * glen, fend - g, glen, ub + g, sums);
        } else {
            for (size_t k = g; k < fend; k++) {
                gn_job(&c, fn, yb + k * glen, xb + k * glen, 1, glen, ub + k, sums);
                norm_channel_affine(yb + k * glen, weight, bias, k * cpg, (k + 1) * cpg, spatial,
                                    c.wplus);
            }
        }
        size_t k = g > nfull ? g : nfull;
        if (part && k == nfull && k < gend) {
            gn_job(&c, fn, yb + k * glen, xb + k * glen, 1, part * spatial, ub + k, sums);
            if (affine)
                norm_channel_affine(yb + k * glen, weight, bias, k * cpg, channels, spatial,
                                    c.wplus);
            k++;
        }
        for (k = c.mean || c.rstd || sums ? k : gend; k < gend; k++) { /* empty groups: no
                                                                           output, stats NaN */
            if (c.mean)
                c.mean[ub + k] = NAN;
            if (c.rstd)
                c.rstd[ub + k] = NAN;
            if (sums)
                for (int q = 0; q < NORM_LN_SUMS_PER_ROW; q++)
                    sums[NORM_LN_SUMS_PER_ROW * (ub + k) + q] = NAN;
        }
        cnt -= gend - g;
        g = 0;
        bi++;
    }
    return LIBNORM_OK;
}

int libnorm_rmsnorm_back_f32_ex(float *dx, const float *dz, const float *x, size_t rows,
                                size_t dim, float eps, const libnorm_opts *opts)
{
    /* dz takes the place of x in the checks (so dx == dz is in place), x is the second input,
     * laid out as dz (x_stride, x_outer_stride) */
    call c;
    call_init(&c, dx, dz, NULL, NULL, rows, dim, eps);
    c.x2 = x;
    c.x2n = 1;
    int st = check(&c, opts, 0);
    if (st != LIBNORM_OK || rows == 0)
        return st;
    run(&c, norm_dsp_now()->rmsnorm_back_f32, NORM_KIND_RMS, NULL, 1);
    return LIBNORM_OK;
}

/* ---- (0.4) residual add + norm ----
 * Cache-tiled fusion: the rows go in tiles of about NORM_ADD_TILE_BYTES of h (at least one row).
 * For each tile the tier's add kernel writes h = x + r row by row (into y when h is NULL), then
 * the tier's own norm kernel runs over those rows with h as its input, from cache. So x and r
 * are read once from memory, and y is by construction the plain norm of the h written (the
 * same kernel, the same bits). Nothing is allocated: h (or y) is the scratch. The kernel's x
 * and y never overlap other than exactly (y == h is EOVERLAP; h NULL: y in place). A tile's add
 * reads only its own rows of x and r, which no earlier tile wrote: outputs are disjoint from
 * the inputs but for exact in place, row for row.
 * Calls that do not stream (x, r, h and y in cache) take tiles of NORM_ADD_TILE_BYTES_CACHE
 * (128 KiB, norm_internal.h), and where the rows follow on (x and y strides = dim) the tile's
 * add is one call over its rows. The 16 KiB tiles of streaming calls had cost these calls a
 * kernel job per tile (a LayerNorm row of 4096 floats a job: no pairs, no next-row prefetch) and
 * an add call per row; h written into L2 and read back from there costs less than that on this
 * host. Session 28, normbench --fused add-rms,add-ln --fused-rows 32,256 --fused-dim
 * 128,768,4096 --threads 1,2 (AVX-512, three builds alternating, three rounds), the separate
 * passes' time over the fused op's, 16 KiB -> 128 KiB and one add call: add+LayerNorm 768 x 32
 * 1 thread 0.93 -> 0.99x, 768 x 256 0.91 -> 1.00x, 4096 x 32 0.90 -> 1.01x (2 threads 0.89-0.93
 * -> 0.99-1.02x), 4096 x 256 0.95 -> 1.05x; add+RMSNorm 768 x 32 0.94 -> 0.99x, 768 x 256 0.94
 * -> 0.99x, 4096 x 32 0.98 -> 1.01x, 4096 x 256 1.06-1.08 -> 1.07-1.08x. 256 KiB measured the
 * same as 128 KiB, 64 KiB between the two; 128 KiB keeps x, r and h of a tile inside a 512 KiB
 * L2. The AVX2 tier (LIBNORM_ISA=avx2, two rounds): add+LayerNorm 768 x 256 0.96 -> 1.03x,
 * 4096 x 32 0.98 -> 1.01x, 2 threads 0.97 -> 1.02x; add+RMSNorm 4096 x 32 0.99 -> 1.02x, but
 * 4096 x 256 1.09-1.10 -> 1.05x on 1 thread. */
#ifndef NORM_ADD_TILE_BYTES
#define NORM_ADD_TILE_BYTES 16384
#endif

/* Software prefetch of one row of x and r (every 64-byte line it touches). A hint: no fault, no
 * result changes. */
static inline void add_prefetch_row(const float *x, const float *r, size_t dim, int l2)
{
#if defined(__GNUC__)
    if (l2) { /* prefetcht2 */
        for (size_t i = 0; i < dim; i += 16) {
            __builtin_prefetch(x + i, 0, 1);
            __builtin_prefetch(r + i, 0, 1);
        }
        __builtin_prefetch(x + dim - 1, 0, 1);
        __builtin_prefetch(r + dim - 1, 0, 1);
        return;
    }
    for (size_t i = 0; i < dim; i += 16) {
        __builtin_prefetch(x + i, 0, 3);
        __builtin_prefetch(r + i, 0, 3);
    }
    __builtin_prefetch(x + dim - 1, 0, 3);
    __builtin_prefetch(r + dim - 1, 0, 3);
#else
    (void)x, (void)r, (void)dim, (void)l2;
#endif
}

/* add_run()'s one-pass schedule (below): rows of at most NORM_ADD_SCRATCH floats (the stack
 * scratch; 0: none; LayerNorm's of at least NORM_ADD_SCRATCH_LN_MIN), NORM_ADD_SCRATCH_TILE
 * floats of rows (at least one row) a job; x and r prefetched (into L2) the first row at least
 * NORM_ADD_SCRATCH_PF bytes of x ahead. */
#ifndef NORM_ADD_SCRATCH
#define NORM_ADD_SCRATCH 4096
#endif
#ifndef NORM_ADD_SCRATCH_LN_MIN
#define NORM_ADD_SCRATCH_LN_MIN 4096
#endif
#ifndef NORM_ADD_SCRATCH_PF
#define NORM_ADD_SCRATCH_PF 12288
#endif
#ifndef NORM_ADD_SCRATCH_TILE
#define NORM_ADD_SCRATCH_TILE 1024
#endif
/* 1: add_run()'s streaming norm jobs (the one-pass schedule's and the tiles') leave their
 * sfence out (norm_job.stream NORM_STREAM_NOFENCE) and add_run() fences once after all of
 * them; 0: an sfence per job. */
#ifndef NORM_ADD_NOFENCE
#define NORM_ADD_NOFENCE 1
#endif

/* The norm of add_run()'s rows k0 .. k0 + n - 1 (of its run starting at absolute row t) on job
 * j, whose input (x, xs) the caller has set: y, statistics and the test hook's sums there. */
static inline void add_job_rows(const call *c, norm_job *j, norm_kernel_fn fn, float *y,
                                size_t t, size_t k0, size_t n, double *sums, size_t per)
{
    j->y = y + k0 * c->ys;
    j->rows = n;
    j->mean = c->mean ? c->mean + t + k0 : NULL;
    j->rstd = c->rstd ? c->rstd + t + k0 : NULL;
    j->sums = sums ? sums + (t + k0) * per : NULL;
    fn(j);
}

/* Rows t = first .. first + count - 1, `rows` at a time in one group of the two-level layout:
 * row k of the run at x + k * xs (r likewise), h and y at k * ys.
 * Streaming calls (x and r from DRAM): before the add of row k, the same row of the next tile
 * (k + tile) is prefetched, so that its reads are in flight while this tile's norm runs from
 * cache, when the core would otherwise issue none (issue 10; 1 thread, both versions in one
 * process, interleaved, p10 of 32-row chunks, ratio to the separate add (non-temporal) + norm,
 * three runs: add+RMSNorm dim 768 1.08-1.11x -> 1.14-1.22x, dim 4096 0.93-1.04x -> 0.97-1.03x;
 * add+LayerNorm 768 0.96-1.13x -> 1.10-1.20x, 4096 0.93-1.04x -> 0.99-1.07x).
 * Tried on this host and not kept (docs/PERFORMANCE-LOG.md, issue 10; in-process A/B against
 * this code): h written non-temporally, from a stack scratch tile by a copy (0.79-0.92x) or by
 * the add itself (0.84-0.98x); h NULL through the scratch with y streamed (0.80-1.03x); the next tile's
 * prefetch spread over the norm's rows, into L2, or tiles of 4-32 KiB; a row-by-row add/norm
 * pipeline (all within +-5%, the noise). What costs is h's read-for-ownership, but a second
 * non-temporal stream costs more here: in place (h == x, no RFO) this code is 1.09-1.29x faster
 * than with h apart (the byte model: 5/4 = 1.25x).
 * Since the plain kernels' streaming jobs prefetch the rows ahead (RMS_PF_*, LN_NT_PF*), the
 * separate passes beat these tiles from DRAM: with h apart both move 20 bytes an element (tiles:
 * x, r, h's read-for-ownership and write-back, y; passes: x, r, h streamed, h read back, y), and
 * two long streams use DRAM better than the tiles' alternating add and norm phases (the reason
 * the fused op lost to sep-nt at 2 threads). So on x86 (the tiers whose add streams at that
 * size, norm_add_stream()), a streaming call with h apart and rows that follow on ran as the
 * two passes over the whole share (session 22: 1.01-1.30x over the tiles), which is what the
 * separate passes do: fused = sep-nt (normbench, session 25: 0.96-1.06x).
 * One pass (0.5, session 26; the tiers with add2_f32, AVX2 and AVX-512): the tier's add2 writes
 * h non-temporally (no read-for-ownership) and the same sums into a stack scratch (ordinary
 * stores, L1), and the norm's streaming job reads the scratch: 16 bytes an element from DRAM
 * (x, r in; h, y out), the fused op's own byte model. y is still the plain norm of h (the same
 * sums, the same kernel). Rows go NORM_ADD_SCRATCH_TILE floats (1024: several short rows,
 * else one) to a job, since a streaming job ended with an sfence, which waits for its
 * non-temporal stores (a job per row of 64 floats: 120 ns/row against 41). Since session 27 the
 * jobs leave it out (NORM_ADD_NOFENCE) and the schedule fences once at its end: the same
 * stores, and the thread's own later loads see them in any case; normbench from DRAM, three
 * runs of three builds alternating, sep-nt / fused, mean of the three (session 27), AVX-512
 * add+RMSNorm 768 1 thread 1.15 -> 1.24-1.26x, 2 threads 1.00 -> 1.09-1.10x, 4096 1.07 ->
 * 1.08-1.09x, 1.13-1.15 -> 1.16-1.20x; add+LayerNorm 4096 1.04-1.06 -> 1.04-1.07x, 1.10-1.14
 * -> 1.16-1.17x (the runs' spread is +-0.1: this VM's DRAM); the tiles likewise (h over x, rows
 * of 4096 from DRAM, 1 thread, thread CPU ns/row, min of 9, three runs: add+RMSNorm
 * 2863-2968 -> 2762-2849, add+LayerNorm 2914-2921 -> 2762-2817; 768 unchanged). x and r of a later
 * row are prefetched into L2 (12 KiB of x ahead). normbench from DRAM, ratio of fused to
 * sep-nt (the separate add with non-temporal stores + norm) in the same run, two runs each,
 * 1 / 2 threads, against the two passes (fused = sep-nt): AVX-512 add+RMSNorm dim 64 1.0-1.04 /
 * 1.13-1.17x, 128 1.02-1.03 / 1.00-1.15x, 256 1.10-1.12 / 1.16-1.19x, 768 1.06-1.16 /
 * 0.93-1.20x (the noise of this 2-vCPU VM), 2048 0.97-0.99 / 1.07-1.12x, 4096 1.03 /
 * 1.10-1.14x; add+LayerNorm 4096 1.00-1.05 / 1.02-1.09x; AVX2 (LIBNORM_ISA=avx2) add+RMSNorm
 * 768 1.08-1.12 / 1.21-1.22x, 4096 1.04-1.12 / 1.14-1.22x, add+LayerNorm 4096 1.04-1.11 /
 * 1.16-1.21x. LayerNorm rows below 4096 floats keep the two passes: its heavier pass from L1
 * overlapped the prefetched reads less well (768: 0.80-0.89x with 1 thread; 2048: 0.95-1.05x).
 * Strided rows take it too. h NULL (y the scratch: 16 bytes an element in the tiles, 20 as
 * passes), h over x or r, the scalar and NEON tiers and the rows it does not take keep the
 * tiles, or on x86 (rows that follow on, h apart) the two passes. */
static inline void add_run(const call *c, const norm_dsp *d, norm_kernel_fn fn, float *y,
                           float *h, const float *x, const float *r, size_t t, size_t count,
                           int stream, double *sums, size_t per)
{
    const size_t tb = stream ? NORM_ADD_TILE_BYTES : NORM_ADD_TILE_BYTES_CACHE;
    const size_t tile = c->dim >= tb / sizeof(float) ? 1 : tb / sizeof(float) / c->dim;
    float *const hs = h ? h : y; /* the scratch the norm reads */
    norm_job j;
    j.w = c->w;
    j.b = c->b;
    j.dim = c->dim;
    j.xs = c->ys; /* the kernel reads h, laid out as y */
    j.ys = c->ys;
    j.eps = c->eps;
    j.kind = NORM_KIND_RMS;
    j.dz = NULL;
    j.wplus = c->wplus;
    j.stream = stream && h != NULL; /* h NULL: y is normalised in place, from cache */
#if NORM_ADD_SCRATCH > 0
    if (h && h != x && h != r && stream && d->add2_f32 && c->dim <= NORM_ADD_SCRATCH &&
        (fn == d->rmsnorm_f32 || c->dim >= NORM_ADD_SCRATCH_LN_MIN)) {
        /* the one-pass schedule (the comment above) */
        _Alignas(64) float s[NORM_ADD_SCRATCH];
        const size_t rb = c->dim * sizeof(float), pd = (NORM_ADD_SCRATCH_PF + rb - 1) / rb;
        const size_t ts = c->dim < NORM_ADD_SCRATCH_TILE ? NORM_ADD_SCRATCH_TILE / c->dim : 1;
        j.x = s;
        j.xs = c->dim;
        j.stream = NORM_ADD_NOFENCE ? NORM_STREAM_NOFENCE : 1;
        for (size_t k0 = 0; k0 < count; k0 += ts) {
            const size_t n = count - k0 < ts ? count - k0 : ts;
            for (size_t k = k0; k < k0 + n; k++) {
                if (k + pd < count)
                    add_prefetch_row(x + (k + pd) * c->xs, r + (k + pd) * c->xs, c->dim, 1);
                d->add2_f32(h + k * c->ys, s + (k - k0) * c->dim, x + k * c->xs,
                            r + k * c->xs, c->dim);
            }
            add_job_rows(c, &j, fn, y, t, k0, n, sums, per);
        }
#if NORM_ADD_NOFENCE && (defined(__x86_64__) || defined(__i386__))
        __builtin_ia32_sfence(); /* the jobs' non-temporal stores (h, y), once */
#endif
        return;
    }
#endif
    if (h && c->xs == c->dim && c->ys == c->dim &&
        d->tier != NORM_TIER_SCALAR && d->tier != NORM_TIER_NEON && /* x86: the add streams */
        norm_add_stream(h, x, r, count * c->dim)) {
        /* x86, h apart, rows that follow on, of streaming size: the two passes, each a stream
         * (the add writes h non-temporally, norm_add_stream(); the norm's streaming job reads
         * it back with its own prefetch and streams y) */
        d->add_f32(h, x, r, count * c->dim);
        j.y = y;
        j.x = h;
        j.rows = count;
        j.stream = 1;
        j.mean = c->mean ? c->mean + t : NULL;
        j.rstd = c->rstd ? c->rstd + t : NULL;
        j.sums = sums ? sums + t * per : NULL;
        fn(&j);
        return;
    }
#if NORM_ADD_NOFENCE
    if (j.stream)
        j.stream = NORM_STREAM_NOFENCE; /* fenced once below */
#endif
    for (size_t k0 = 0; k0 < count; k0 += tile) {
        const size_t n = count - k0 < tile ? count - k0 : tile;
        if (!stream && c->xs == c->dim && c->ys == c->dim) {
            /* rows that follow on, in cache: the tile's add as one call */
            d->add_f32(hs + k0 * c->dim, x + k0 * c->dim, r + k0 * c->dim, n * c->dim);
        } else {
            for (size_t k = k0; k < k0 + n; k++) {
                if (stream && k + tile < count)
                    add_prefetch_row(x + (k + tile) * c->xs, r + (k + tile) * c->xs, c->dim,
                                     0);
                d->add_f32(hs + k * c->ys, x + k * c->xs, r + k * c->xs, c->dim);
            }
        }
        j.x = hs + k0 * c->ys;
        add_job_rows(c, &j, fn, y, t, k0, n, sums, per);
    }
#if NORM_ADD_NOFENCE && (defined(__x86_64__) || defined(__i386__))
    if (j.stream == NORM_STREAM_NOFENCE)
        __builtin_ia32_sfence(); /* the jobs' non-temporal stores of y, once */
#endif
}

int norm_add_call(const norm_dsp *d, int op, float *y, float *h, const float *x, const float *r,
                  const float *weight, const float *bias, size_t rows, size_t dim, float eps,
                  const struct libnorm_opts *opts, double *sums)
{
    const int ln = op == NORM_OP_LN;
    call c;
    call_init(&c, y, x, weight, ln ? bias : NULL, rows, dim, eps);
    c.x2 = r;
    c.x2n = 1;
    c.h = h;
    c.add = 1;
    int st = check(&c, opts, ln);
    if (st != LIBNORM_OK || rows == 0)
        return st;
    size_t first, count;
    split(&c, c.nstat, &first, &count);
    if (count == 0)
        return LIBNORM_OK;
    norm_kernel_fn fn = ln ? d->layernorm_f32 : d->rmsnorm_f32;
    const size_t per = ln ? NORM_LN_SUMS_PER_ROW : 1;
    /* a call that streams x, r, h and y (16 bytes an element) past NORM_STREAM_BYTES writes y
     * with non-temporal stores, as a plain norm of that size does; h stays ordinary (the norm
     * reads it back at once, from cache) */
    const int stream = (double)count * (double)dim * 16.0 >= NORM_STREAM_BYTES;
    if (c.outer <= 1 || (c.xos == c.rows * c.xs && c.yos == c.rows * c.ys)) {
        add_run(&c, d, fn, y + first * c.ys, h ? h + first * c.ys : NULL, x + first * c.xs,
                r + first * c.xs, first, count, stream, sums, per);
        return LIBNORM_OK;
    }
    size_t o = first / c.rows, rr = first % c.rows, t = first;
    while (count) {
        const size_t n = c.rows - rr < count ? c.rows - rr : count;
        const size_t yo = o * c.yos + rr * c.ys, xo = o * c.xos + rr * c.xs;
        add_run(&c, d, fn, y + yo, h ? h + yo : NULL, x + xo, r + xo, t, n, stream, sums, per);
        t += n;
        count -= n;
        o++;
        rr = 0;
    }
    return LIBNORM_OK;
}

/* ---- (0.4) gated RMSNorm ---- */

int norm_gated_call(const norm_dsp *d, float *y, const float *x, const float *z,
                    const float *weight, size_t rows, size_t dim, size_t group, int gate,
                    float eps, const struct libnorm_opts *opts, double *sums)
{
    /* z is the second input, laid out as x. When y is z (in place over the gate) z takes x's
     * place in the checks, so that y == z is the in-place case and y may not meet x; x == z
     * adds no range to check. */
    const int over_z = y == z && y != x;
    call c;
    call_init(&c, y, over_z ? z : x, weight, NULL, rows, dim, eps);
    c.x2 = x == z ? NULL : over_z ? x : z;
    c.x2n = x != z;
    int st = read_opts(&c, opts, 0);
    if (st != LIBNORM_OK)
        return st;
    if (gate != LIBNORM_GATE_SILU_AFTER && gate != LIBNORM_GATE_SILU_BEFORE &&
        gate != LIBNORM_GATE_SIGMOID_AFTER)
        return LIBNORM_EGATE;
    if (!z)
        c.x2 = NULL, c.x2n = 1; /* ENULL, in its place (x == z == NULL: x's ENULL) */
    const size_t G = group ? group : dim;
    if (dim != 0 && dim % G != 0)
        c.dim = 0; /* EDIM, in its place */
    c.stat_per_row = dim != 0 ? dim / G : 1;
    st = check_args(&c);
    if (st != LIBNORM_OK || rows == 0)
        return st;
    size_t begin, count;
    split(&c, c.nstat / c.stat_per_row, &begin, &count);
    if (count == 0)
        return LIBNORM_OK;
    const size_t ng = c.stat_per_row;
    norm_gated_job j;
    j.w = weight;
    j.dim = dim;
    j.group = G;
    j.xs = c.xs;
    j.ys = c.ys;
    j.eps = eps;
    j.gate = gate;
    j.plus_one = c.wplus; /* LIBNORM_WEIGHT_PLUS_ONE (read_opts) */
    /* Rows t = begin .. begin + count - 1 as kernel calls: one per group of rows (one in all
     * when the groups follow on in x and y). */
    const int flat = c.outer <= 1 || (c.xos == c.rows * c.xs && c.yos == c.rows * c.ys);
    size_t t = begin;
    while (count) {
        size_t o = flat ? 0 : t / c.rows, r = flat ? t : t % c.rows;
        size_t n = flat ? count : (c.rows - r < count ? c.rows - r : count);
        j.y = y + o * c.yos + r * c.ys;
        j.x = x + o * c.xos + r * c.xs;
        j.z = z + o * c.xos + r * c.xs;
        j.rows = n;
        j.rstd = c.rstd ? c.rstd + t * ng : NULL;
        j.sums = sums ? sums + t * ng : NULL;
        d->gated_rmsnorm_f32(&j);
        t += n;
        count -= n;
    }
    return LIBNORM_OK;
}

int libnorm_add_rmsnorm_f32_ex(float *y, float *h, const float *x, const float *r,
                               const float *weight, size_t rows, size_t dim, float eps,
                               const libnorm_opts *opts)
{
    return norm_add_call(norm_dsp_now(), NORM_OP_RMS, y, h, x, r, weight, NULL, rows, dim, eps,
                         opts, NULL);
}

int libnorm_add_layernorm_f32_ex(float *y, float *h, const float *x, const float *r,
                                 const float *weight, const float *bias, size_t rows, size_t dim,
                                 float eps, const libnorm_opts *opts)
{
    return norm_add_call(norm_dsp_now(), NORM_OP_LN, y, h, x, r, weight, bias, rows, dim, eps,
                         opts, NULL);
}

int libnorm_gated_rmsnorm_f32_ex(float *y, const float *x, const float *z, const float *weight,
                                 size_t rows, size_t dim, size_t group, int gate, float eps,
                                 const libnorm_opts *opts)
{
    return norm_gated_call(norm_dsp_now(), y, x, z, weight, rows, dim, group, gate, eps, opts,
                           NULL);
}

int libnorm_groupnorm_f32_ex(float *y, const float *x, const float *weight, const float *bias,
                             size_t batch, size_t channels, size_t spatial, size_t groups,
                             float eps, const libnorm_opts *opts)
{
    return norm_groupnorm_call(norm_dsp_now(), y, x, weight, bias, batch, channels, spatial,
                               groups, eps, opts, NULL);
}

/* ---- (0.4) bf16 / f16 activations ---- */

/* The same checks and row split as the f32 ops, on 16-bit x and y (and w, b with
 * LIBNORM_WEIGHT_ACT_TYPE): 2-byte alignment and extents for those, 4 for the float ones. */
static int x16_call(const norm_dsp *d, int op, int fmt, uint16_t *y, const uint16_t *x,
                    const void *weight, const void *bias, size_t rows, size_t dim, float eps,
                    const libnorm_opts *opts, double *sums)
{
    call c;
    call_init(&c, y, x, weight, op == NORM_OP_LN ? bias : NULL, rows, dim, eps);
    c.esz = sizeof(uint16_t);
    int st = read_opts(&c, opts, op == NORM_OP_LN);
    if (st != LIBNORM_OK)
        return st;
    c.wesz = (c.flags & LIBNORM_WEIGHT_ACT_TYPE) ? sizeof(uint16_t) : sizeof(float);
    st = check_args(&c);
    if (st != LIBNORM_OK || rows == 0)
        return st;
    void (*fn)(const norm_x16_job *) = op == NORM_OP_LN ? d->layernorm_x16 : d->rmsnorm_x16;
    const size_t per = op == NORM_OP_LN ? NORM_LN_SUMS_PER_ROW : 1;
    norm_x16_job j;
    j.w = c.w;
    j.b = c.b;
    j.dim = c.dim;
    j.xs = c.xs;
    j.ys = c.ys;
    j.eps = c.eps;
    j.fmt = fmt;
    j.wact = (c.flags & LIBNORM_WEIGHT_ACT_TYPE) != 0;
    j.plus1 = (c.flags & LIBNORM_WEIGHT_PLUS_ONE) != 0;
    j.cvt = d->x16_cvt;
    size_t t, count;
    split(&c, c.nstat, &t, &count);
    /* one kernel call per group's contiguous chunk of this call's rows */
    const int flat = c.outer <= 1 || (c.xos == c.rows * c.xs && c.yos == c.rows * c.ys);
    size_t o = flat ? 0 : t / c.rows, r = flat ? t : t % c.rows;
    while (count) {
        size_t n = flat ? count : (c.rows - r < count ? c.rows - r : count);
        j.y = y + o * c.yos + r * c.ys;
        j.x = x + o * c.xos + r * c.xs;
        j.rows = n;
        j.mean = c.mean ? c.mean + t : NULL;
        j.rstd = c.rstd ? c.rstd + t : NULL;
        j.sums = sums ? sums + t * per : NULL;
        fn(&j);
        t += n;
        count -= n;
        o++;
        r = 0;
    }
    return LIBNORM_OK;
}

int norm_x16_rows_call(const norm_dsp *d, int op, int fmt, uint16_t *y, const uint16_t *x,
                       const void *weight, const void *bias, size_t rows, size_t dim, float eps,
                       const struct libnorm_opts *opts, double *sums)
{
    return x16_call(d, op, fmt, y, x, weight, bias, rows, dim, eps, opts, sums);
}

int libnorm_layernorm_bf16_ex(uint16_t *y, const uint16_t *x, const void *weight,
                              const void *bias, size_t rows, size_t dim, float eps,
                              const libnorm_opts *opts)
{
    return x16_call(norm_dsp_now(), NORM_OP_LN, NORM_X16_BF16, y, x, weight, bias, rows, dim,
                    eps, opts, NULL);
}

int libnorm_rmsnorm_bf16_ex(uint16_t *y, const uint16_t *x, const void *weight, size_t rows,
                            size_t dim, float eps, const libnorm_opts *opts)
{
    return x16_call(norm_dsp_now(), NORM_OP_RMS, NORM_X16_BF16, y, x, weight, NULL, rows, dim,
                    eps, opts, NULL);
}

int libnorm_layernorm_f16_ex(uint16_t *y, const uint16_t *x, const void *weight,
                             const void *bias, size_t rows, size_t dim, float eps,
                             const libnorm_opts *opts)
{
    return x16_call(norm_dsp_now(), NORM_OP_LN, NORM_X16_F16, y, x, weight, bias, rows, dim,
                    eps, opts, NULL);
}

int libnorm_rmsnorm_f16_ex(uint16_t *y, const uint16_t *x, const void *weight, size_t rows,
                           size_t dim, float eps, const libnorm_opts *opts)
{
    return x16_call(norm_dsp_now(), NORM_OP_RMS, NORM_X16_F16, y, x, weight, NULL, rows, dim,
                    eps, opts, NULL);
}

/* The short forms: the _ex entry points' code inline (a call to the exported _ex would go through
 * the PLT: it may be interposed), opts NULL. */
int libnorm_layernorm_f32(float *y, const float *x, const float *weight, const float *bias,
                          size_t rows, size_t dim, float eps)
{
    return ln_entry(y, x, weight, bias, rows, dim, eps, NULL);
}

int libnorm_rmsnorm_f32(float *y, const float *x, const float *weight, size_t rows, size_t dim,
                        float eps)
{
    return rms_entry(y, x, weight, rows, dim, eps, NULL);
}

const char *libnorm_active_isa(void)
{
    return norm_dsp_now()->name;
}

const char *libnorm_strerror(int status)
{
    switch (status) {
    case LIBNORM_OK:
        return "success";
    case LIBNORM_ENULL:
        return "a required pointer (y or x; add_*: y, x or r; dx, dz or x; the gate z) is NULL";
    case LIBNORM_EDIM:
        return "dim is zero";
    case LIBNORM_EEPS:
        return "eps is negative, NaN or infinite";
    case LIBNORM_EOVERLAP:
        return "an output overlaps an input or another output (only y == x, dx == dz, y == z, or "
               "add_*: y or h == x or r, is allowed)";
    case LIBNORM_ESTRIDE:
        return "a row stride is smaller than dim";
    case LIBNORM_EOPTS:
        return "invalid options (size, an unknown flag, reserved not 0, or ith not below nth)";
    case LIBNORM_ESIZE:
        return "rows * stride exceeds the address space";
    case LIBNORM_EALIGN:
        return "a pointer is not aligned to its element type (float: 4 bytes, bf16/f16: 2)";
    case LIBNORM_EGATE:
        return "gate is not a libnorm_gate value";
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
