/*
 * checkasm for the bf16 / f16 ops (libnorm_{layernorm,rmsnorm}_{bf16,f16}_ex), linked into
 * checkasm: --test=layernorm_bf16|rmsnorm_bf16|layernorm_f16|rmsnorm_f16 (or x16 for all four;
 * every test runs them when no --test is given).
 *
 * Each case runs the entry layer (norm_x16_rows_call: checks, row split, two-level rows) on the
 * scalar table and on the tier's, on the same seeded rows, and asserts:
 *   - the tier's y buffer (every byte: rows, the gaps between rows, canaries around) is
 *     bit-identical to the scalar tier's, and so are mean, rstd and the canonical totals (sums);
 *   - both equal round16(the f32 op on the widened inputs): the scalar f32 table's op on x, w, b
 *     widened exactly (w replaced by (float)(1.0f + w) under LIBNORM_WEIGHT_PLUS_ONE), its
 *     output narrowed by the definition in src/norm_x16.h (x16_narrow1), and its mean, rstd and
 *     totals equal bit for bit;
 *   - the inputs are unchanged, and nothing outside y's rows, mean and rstd is written.
 * Cases: dims 1..130 and the block edges (255 .. 2049, 4097), rows 1..9, random strides, in
 * place; a sweep of row counts 1..20 (--no-sweep leaves it out) and two streaming-size jobs per
 * op (norm_x16_stream_job(); --no-stream and --quick leave them out); weight float or 16-bit
 * (LIBNORM_WEIGHT_ACT_TYPE), with or without bias, PLUS_ONE,
 * statistics, two-level layouts and ith/nth splits; rows from every family of tests/test_rows.h
 * (NaN, Inf, huge, tiny, subnormal, constant, shifted means) plus weights of random magnitude
 * 2^-150 .. 2^40 (a few NaN and Inf), so that outputs reach subnormals, overflow to Inf and NaN
 * from the fast path (not only the rare one), or ordinary weights and biases with one NaN or Inf
 * (the last element, the first, or any); and every buffer (x, y,
 * weight, bias) ending at or starting on an inaccessible page (guard pages).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "checkasm_x16.h"
#include "libnorm.h"
#include "norm_x16.h"
#include "test_rows.h"

#define X16_CANARY 0xa5a5u

static const char *const x16_names[4] = {"layernorm_bf16", "rmsnorm_bf16", "layernorm_f16",
                                         "rmsnorm_f16"};

const char *checkasm_x16_name(int which)
{
    return which >= 0 && which < 4 ? x16_names[which] : NULL;
}

/* A buffer of `n` bytes in the middle of its own pages, or (guard = 1) ending exactly at an
 * inaccessible page, or (guard = -1) starting at an inaccessible page's end. */
typedef struct gbuf {
    unsigned char *map;
    size_t maplen;
    void *p;
} gbuf;

static gbuf gbuf_new(size_t n, int guard, size_t align)
{
    const size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    size_t body = (n + 64 + pg - 1) / pg * pg + pg;
    gbuf g;
    g.maplen = body + 2 * pg;
    g.map = mmap(NULL, g.maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (g.map == MAP_FAILED) {
        fprintf(stderr, "checkasm: mmap failed\n");
        exit(2);
    }
    mprotect(g.map, pg, PROT_NONE);
    mprotect(g.map + pg + body, pg, PROT_NONE);
    if (guard > 0)
        g.p = g.map + pg + body - ((n + align - 1) / align * align);
    else if (guard < 0)
        g.p = g.map + pg;
    else
        g.p = g.map + pg + 32 + align * (size_t)irand(4);
    memset(g.map + pg, 0xa5, body);
    return g;
}

static void gbuf_free(gbuf *g)
{
    munmap(g->map, g->maplen);
}

/* weights: ordinary around 1, or random magnitudes (outputs from subnormal to overflow) */
static float gen_weight(int wide, int fmt)
{
    if (wide && irand(64) == 0) /* NaN (either sign) or Inf: NaN outputs of the fast path, whose
                                   float bits differ between platforms before the narrowing */
        return irand(3) == 0 ? INFINITY : (rnd() & 1) ? -NAN : NAN;
    if (!wide)
        return (float)(1.0 + 0.5 * nrand());
    int lo = fmt == NORM_X16_F16 ? -30 : -150, hi = fmt == NORM_X16_F16 ? 16 : 40;
    return (float)((rnd() & 1 ? -1.0 : 1.0) * (1.0 + urand()) * ldexp(1.0, lo + (int)irand((size_t)(hi - lo))));
}

typedef struct x16_case {
    int op, fmt;          /* NORM_OP_LN / NORM_OP_RMS, NORM_X16_* */
    size_t dim, rows, outer, xs, ys, xos, yos;
    int inplace, use_w, use_b, wact, plus1, stats, wide;
    int lone;             /* 1..3: one NaN or Inf among ordinary weights (lone_nonfinite) */
    unsigned ith, nth;
    int guard;            /* 0, 1 (ends at a guard page), -1 (starts after one) */
    float eps;
} x16_case;

static int x16_bad(const char *tier, const x16_case *c, const char *what, size_t at)
{
    printf("   FAIL %s %s: dim %zu rows %zu outer %zu xs %zu ys %zu in-place %d w %d(act %d, +1 %d) "
           "b %d guard %d ith %u/%u: %s (at %zu)\n",
           tier, x16_names[(c->fmt == NORM_X16_F16) * 2 + (c->op == NORM_OP_RMS)], c->dim,
           c->rows, c->outer, c->xs, c->ys, c->inplace, c->use_w, c->wact, c->plus1, c->use_b,
           c->guard, c->ith, c->nth, what, at);
    return 1;
}

static int same_double(double a, double b)
{
    if (!isfinite(a) || !isfinite(b))
        return !isfinite(a) && !isfinite(b);
    return memcmp(&a, &b, sizeof a) == 0;
}

/* One case on both tables; returns the number of failures (0 or 1). */
static int x16_run(const norm_dsp *ref, const norm_dsp *tst, const char *tier, const x16_case *c)
{
    const size_t nrows = c->outer * c->rows, dim = c->dim;
    const size_t xext = (c->outer - 1) * c->xos + (c->rows - 1) * c->xs + dim;
    const size_t yext = (c->outer - 1) * c->yos + (c->rows - 1) * c->ys + dim;
    const size_t wbytes = dim * (c->wact ? 2 : 4);
    gbuf gx = gbuf_new(xext * 2, c->guard, 2), gy0 = gbuf_new(yext * 2, c->guard, 2),
         gy1 = gbuf_new(yext * 2, c->guard, 2), gw = gbuf_new(wbytes, c->guard, c->wact ? 2 : 4),
         gb = gbuf_new(wbytes, -c->guard, c->wact ? 2 : 4);
    uint16_t *x = gx.p;
    float *w32 = malloc(dim * sizeof(float)), *b32 = malloc(dim * sizeof(float));
    float *xf = malloc(xext * sizeof(float)), *yf = malloc(yext * sizeof(float));
    float *st = malloc(8 * (nrows + 1) * sizeof(float));
    double *sums = malloc(3 * 4 * (nrows + 1) * sizeof(double));
    float *row = malloc(dim * sizeof(float));
    /* inputs: x rows (a random family each), the gaps random too */
    for (size_t i = 0; i < xext; i++)
        x[i] = (uint16_t)rnd();
    for (size_t o = 0; o < c->outer; o++)
        for (size_t r = 0; r < c->rows; r++) {
            gen_row(row, dim);
            uint16_t *xr = x + o * c->xos + r * c->xs;
            for (size_t i = 0; i < dim; i++)
                xr[i] = x16_narrow1(row[i], c->fmt);
        }
    for (size_t i = 0; i < dim; i++) {
        float wv = gen_weight(c->wide, c->fmt), bv = (float)(nrand() * (c->wide ? 100 : 1));
        if (c->wact) {
            uint16_t wh = x16_narrow1(wv, c->fmt), bh = x16_narrow1(bv, c->fmt);
            ((uint16_t *)gw.p)[i] = wh;
            ((uint16_t *)gb.p)[i] = bh;
            wv = x16_widen1(wh, c->fmt);
            bv = x16_widen1(bh, c->fmt);
        } else {
            ((float *)gw.p)[i] = wv;
            ((float *)gb.p)[i] = bv;
        }
        w32[i] = c->plus1 ? 1.0f + wv : wv;
        b32[i] = bv;
    }
    if (c->lone && (c->use_w || c->use_b)) {
        /* one NaN or Inf in an otherwise ordinary weight or bias, at its last element, its
         * first or anywhere: a tier that decides once per job whether its outputs can be NaN
         * (AVX2: x16_finite_avx2) must find it wherever it is */
        size_t at = c->lone == 1 ? dim - 1 : c->lone == 2 ? 0 : irand(dim);
        int inb = c->use_b && (!c->use_w || (rnd() & 1));
        /* a negative NaN: a positive one would narrow to the canonical NaN by itself */
        float v = irand(3) == 0 ? INFINITY : (rnd() & 1) ? -NAN : NAN;
        void *dst = inb ? gb.p : gw.p;
        if (c->wact) {
            uint16_t h = x16_narrow1(v, c->fmt);
            ((uint16_t *)dst)[at] = h;
            v = x16_widen1(h, c->fmt);
        } else {
            ((float *)dst)[at] = v;
        }
        if (inb)
            b32[at] = v;
        else
            w32[at] = c->plus1 ? 1.0f + v : v;
    }
    for (size_t i = 0; i < xext; i++)
        xf[i] = x16_widen1(x[i], c->fmt);
    uint16_t *xcopy = malloc(xext * 2);
    memcpy(xcopy, x, xext * 2);
    uint16_t *y0 = c->inplace ? x : gy0.p, *y1 = c->inplace ? NULL : gy1.p;
    if (c->inplace) { /* the tier's run gets its own copy of x */
        memcpy(gy1.p, x, xext * 2);
        y1 = gy1.p;
    }
    const void *w = c->use_w ? gw.p : NULL, *b = c->use_b ? gb.p : NULL;
    /* statistics: [0, nrows) scalar, [2n, 3n) tier, [4n, 5n) f32 op; NaN-canary-filled */
    float *mean0 = st, *rstd0 = st + nrows, *mean1 = st + 2 * nrows, *rstd1 = st + 3 * nrows,
          *mean2 = st + 4 * nrows, *rstd2 = st + 5 * nrows;
    for (size_t i = 0; i < 8 * (nrows + 1); i++)
        st[i] = -12345.0f;
    const size_t per = c->op == NORM_OP_LN ? 3 : 1;
    double *sums0 = sums, *sums1 = sums + per * nrows, *sums2 = sums + 2 * per * nrows;
    for (size_t i = 0; i < 3 * per * nrows; i++)
        sums[i] = -777.0;
    libnorm_opts o = LIBNORM_OPTS_INIT;
    o.x_stride = c->xs;
    o.y_stride = c->ys;
    o.outer = c->outer;
    o.x_outer_stride = c->xos;
    o.y_outer_stride = c->yos;
    o.ith = c->ith;
    o.nth = c->nth;
    o.flags = (c->wact ? LIBNORM_WEIGHT_ACT_TYPE : 0u) | (c->plus1 ? LIBNORM_WEIGHT_PLUS_ONE : 0u);
    int fail = 0;
    o.mean = c->stats ? mean0 : NULL;
    o.rstd = c->stats ? rstd0 : NULL;
    int s0 = norm_x16_rows_call(ref, c->op, c->fmt, y0, c->inplace ? x : x, w, b, c->rows, dim,
                                c->eps, &o, sums0);
    o.mean = c->stats ? mean1 : NULL;
    o.rstd = c->stats ? rstd1 : NULL;
    int s1 = norm_x16_rows_call(tst, c->op, c->fmt, y1, c->inplace ? y1 : xcopy, w, b, c->rows,
                                dim, c->eps, &o, sums1);
    /* the f32 op on the widened inputs (out of place; flags: none, the factor is in w32) */
    libnorm_opts of = o;
    of.flags = 0;
    of.mean = c->stats ? mean2 : NULL;
    of.rstd = c->stats ? rstd2 : NULL;
    for (size_t i = 0; i < yext; i++)
        yf[i] = 0.0f;
    int s2 = norm_rows_call(ref, c->op, yf, xf, c->use_w ? w32 : NULL, c->use_b ? b32 : NULL,
                            c->rows, dim, c->eps, &of, sums2);
    if (s0 || s1 || s2) {
        fail = x16_bad(tier, c, "a call failed", (size_t)(s0 ? s0 : s1 ? s1 : s2));
        goto out;
    }
    /* which rows this share computes: t in [first, first + count) */
    size_t first = 0, count = nrows;
    if (c->nth > 1) {
        size_t q = nrows / c->nth, rem = nrows % c->nth;
        first = c->ith * q + (c->ith < rem ? c->ith : rem);
        count = q + (c->ith < rem ? 1 : 0);
    }
    const uint16_t *yr = y0, *yt = y1;
    /* canaries right before and after y (where no guard page is) */
    for (int k = 0; k < 2 && !fail; k++) {
        const unsigned char *p = k ? (const unsigned char *)gy1.p
                                   : (const unsigned char *)(c->inplace ? NULL : gy0.p);
        if (!p)
            continue;
        for (size_t i = 1; c->guard >= 0 && i <= 16 && !fail; i++)
            if (p[-(ptrdiff_t)i] != 0xa5)
                fail = x16_bad(tier, c, "written before y", i);
        for (size_t i = 0; c->guard <= 0 && i < 32 && !fail; i++)
            if (p[yext * 2 + i] != 0xa5)
                fail = x16_bad(tier, c, "written after y", i);
    }
    /* whole y buffers identical (rows and the gaps between them) */
    for (size_t i = 0; i < yext && !fail; i++)
        if (yr[i] != yt[i])
            fail = x16_bad(tier, c, "y differs from the scalar tier", i);
    /* each row: round16(f32 op); elsewhere untouched */
    for (size_t oo = 0; oo < c->outer && !fail; oo++)
        for (size_t r = 0; r < c->rows && !fail; r++) {
            size_t t = oo * c->rows + r;
            int mine = t >= first && t < first + count;
            const uint16_t *yrow = yt + oo * c->yos + r * c->ys;
            const float *frow = yf + oo * c->yos + r * c->ys;
            const uint16_t *xrow = xcopy + oo * c->xos + r * c->xs;
            for (size_t i = 0; i < dim && !fail; i++) {
                uint16_t want = mine ? x16_narrow1(frow[i], c->fmt)
                                     : (c->inplace ? xrow[i] : (uint16_t)X16_CANARY);
                if (yrow[i] != want)
                    fail = x16_bad(tier, c, mine ? "y != round16(f32 op)" : "row outside the share written", t * dim + i);
            }
        }
    if (!c->inplace)
        for (size_t i = 0; i < xext && !fail; i++)
            if (x[i] != xcopy[i])
                fail = x16_bad(tier, c, "x changed", i);
    if (c->stats)
        for (size_t t = 0; t < nrows && !fail; t++) {
            const float *m[3] = {mean0, mean1, mean2}, *rs[3] = {rstd0, rstd1, rstd2};
            for (int k = 1; k < 3 && !fail; k++) {
                if (c->op == NORM_OP_LN && memcmp(&m[0][t], &m[k][t], 4) != 0)
                    fail = x16_bad(tier, c, k == 1 ? "mean differs" : "mean != f32 op's", t);
                if (c->op == NORM_OP_RMS && m[k][t] != -12345.0f)
                    fail = x16_bad(tier, c, "RMSNorm wrote mean", t);
                if (memcmp(&rs[0][t], &rs[k][t], 4) != 0 &&
                    !(isnan(rs[0][t]) && isnan(rs[k][t])))
                    fail = x16_bad(tier, c, k == 1 ? "rstd differs" : "rstd != f32 op's", t);
            }
        }
    for (size_t i = 0; i < per * nrows && !fail; i++)
        if (!same_double(sums0[i], sums1[i]) || !same_double(sums0[i], sums2[i]))
            fail = x16_bad(tier, c, "canonical totals differ", i);
out:
    free(xcopy);
    gbuf_free(&gx);
    gbuf_free(&gy0);
    gbuf_free(&gy1);
    gbuf_free(&gw);
    gbuf_free(&gb);
    free(w32);
    free(b32);
    free(xf);
    free(yf);
    free(st);
    free(sums);
    free(row);
    return fail;
}

/* A random case for dim and rows. */
static x16_case x16_random(int op, int fmt, size_t dim, size_t rows)
{
    x16_case c;
    memset(&c, 0, sizeof c);
    c.op = op;
    c.fmt = fmt;
    c.dim = dim;
    c.rows = rows;
    c.outer = irand(5) == 0 ? 1 + irand(3) : 1;
    c.inplace = irand(4) == 0;
    c.xs = dim + ((rnd() & 1) ? 0 : irand(9));
    c.ys = c.inplace ? c.xs : dim + ((rnd() & 1) ? 0 : irand(9));
    c.xos = c.outer > 1 ? c.rows * c.xs + irand(5) : 0;
    c.yos = c.inplace ? c.xos : c.outer > 1 ? c.rows * c.ys + irand(5) : 0;
    c.use_w = irand(4) != 0;
    c.use_b = op == NORM_OP_LN && irand(3) != 0;
    c.wact = rnd() & 1;
    c.plus1 = irand(4) == 0;
    c.stats = rnd() & 1;
    c.wide = irand(3) == 0;
    c.lone = !c.wide && irand(4) == 0 ? 1 + (int)irand(3) : 0;
    c.eps = irand(4) == 0 ? 0.0f : (float)ldexp(1.0, -(int)irand(30));
    if (irand(4) == 0) {
        c.nth = 1 + (unsigned)irand(4);
        c.ith = (unsigned)irand(c.nth);
    }
    return c;
}

int checkasm_x16(const norm_dsp *ref, const norm_dsp *tst, const char *tier, int which,
                 uint64_t seed, int quick, int guard, int sweep, int stream, size_t *cases)
{
    const int op = which % 2 ? NORM_OP_RMS : NORM_OP_LN, fmt = which / 2 ? NORM_X16_F16 : NORM_X16_BF16;
    rng_state = seed * 4 + (uint64_t)which;
    int fails = 0;
    size_t n = 0;
    static const size_t edges[] = {255, 256, 257, 511, 512, 513, 1023, 1024, 1025, 2047, 2049, 4097};
    for (size_t d = 1; d <= 130 + sizeof(edges) / sizeof(edges[0]) && fails < 10; d++) {
        size_t dim = d <= 130 ? d : edges[d - 131];
        int reps = quick ? 2 : (dim <= 130 ? 8 : 4);
        for (int k = 0; k < reps && fails < 10; k++, n++) {
            x16_case c = x16_random(op, fmt, dim, 1 + irand(dim > 2000 ? 3 : 9));
            fails += x16_run(ref, tst, tier, &c);
        }
    }
    static const size_t gdims[] = {1, 3, 8, 15, 16, 17, 31, 64, 100, 129, 511, 512, 513, 1025};
    for (size_t gi = 0; guard && gi < sizeof(gdims) / sizeof(gdims[0]) && fails < 10; gi++)
        for (int g = -1; g <= 1; g += 2, n++) {
            x16_case c = x16_random(op, fmt, gdims[gi], 1 + irand(3));
            c.guard = g;
            c.outer = 1;
            c.xos = c.yos = 0;
            c.xs = c.ys = gdims[gi]; /* the row ends exactly at the page */
            c.use_w = 1;
            c.use_b = op == NORM_OP_LN;
            fails += x16_run(ref, tst, tier, &c);
        }
    /* the row-count sweep: every row count 1..20 (the SIMD tiers' eight-row batches, pairs and
     * single rows, every remainder) on short, batched, paired and single-row dims */
    static const size_t sdims[] = {1, 7, 16, 33, 100, 512, 513, 768, 2048, 2049};
    for (size_t si = 0; sweep && si < sizeof(sdims) / sizeof(sdims[0]) && fails < 10; si++)
        for (size_t rows = 1; rows <= 20 && fails < 10; rows += quick ? 3 : 1, n++) {
            x16_case c = x16_random(op, fmt, sdims[si], rows);
            c.outer = 1;
            c.xos = c.yos = 0;
            c.nth = c.ith = 0;
            fails += x16_run(ref, tst, tier, &c);
        }
    /* streaming-size jobs (x and y together past NORM_STREAM_BYTES, norm_x16_stream_job(): the
     * x86 tiers store y non-temporally past its first 32-byte boundary), out of place, one
     * kernel call: a batched dim and a paired one, y rows at every alignment (odd strides), with
     * the statistics outputs */
    static const size_t ndims[] = {99, 1031};
    for (size_t ni = 0; stream && ni < sizeof(ndims) / sizeof(ndims[0]) && fails < 10; ni++, n++) {
        const size_t dim = ndims[ni], rows = (size_t)(NORM_STREAM_BYTES / (4.0 * dim)) + 3;
        x16_case c = x16_random(op, fmt, dim, rows);
        c.outer = 1;
        c.xos = c.yos = 0;
        c.nth = c.ith = 0;
        c.inplace = 0;
        c.stats = 1; /* the streaming pairs store mean and rstd apart from their output */
        c.xs = dim + 1;
        c.ys = dim + 3;
        norm_x16_job j;
        memset(&j, 0, sizeof j);
        j.y = (uint16_t *)(uintptr_t)2; /* any distinct, aligned y */
        j.x = (const uint16_t *)(uintptr_t)4;
        j.rows = rows;
        j.dim = dim;
        if (!norm_x16_stream_job(&j)) {
            printf("   FAIL %s %s dim=%zu rows=%zu: not a streaming job\n", tier, x16_names[which],
                   dim, rows);
            fails++;
            continue;
        }
        fails += x16_run(ref, tst, tier, &c);
    }
    *cases = n;
    return fails;
}
