/*
 * Public API tests, against libnorm.so exactly as an engine links it: every bad input returns its
 * status and touches no output; rows == 0; in place; strides; the ith/nth row split; per-row
 * statistics; strerror and version; concurrent first calls from many threads.
 */
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libnorm.h"

/* gcc 12 for aarch64 crashes vectorizing one of this file's reductions at -O3 (an internal
 * compiler error in vect_transform_reduction); these tests need no vectorizing. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-tree-vectorize")
#endif

static int passed, failed;

#define CHECK(cond, ...)                                                                        \
    do {                                                                                        \
        if (cond) {                                                                             \
            passed++;                                                                           \
        } else {                                                                                \
            failed++;                                                                           \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                                         \
            printf(__VA_ARGS__);                                                                \
            printf("\n");                                                                       \
        }                                                                                       \
    } while (0)

#define N 4096
static float xbuf[N], ybuf[N], wbuf[N], bbuf[N], mbuf[64], rbuf[64];
static const float SENT = 12345.5f;

static void fill_inputs(void)
{
    for (int i = 0; i < N; i++) {
        xbuf[i] = (float)sin(i * 0.37) * 3.0f + 0.25f;
        wbuf[i] = 1.0f + 0.01f * (float)(i % 7);
        bbuf[i] = 0.1f * (float)(i % 5);
    }
}

static void fill_sentinel(float *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = SENT;
}

static int untouched(const float *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != SENT)
            return 0;
    return 1;
}

/* Calls LayerNorm (is_ln) or RMSNorm with y/mean/rstd preset to the sentinel and expects `want`
 * and, for an error, no output touched. */
static void expect(int want, int is_ln, float *y, const float *x, const float *w, const float *b,
                   size_t rows, size_t dim, float eps, const libnorm_opts *o, const char *what)
{
    fill_sentinel(ybuf, N);
    fill_sentinel(mbuf, 64);
    fill_sentinel(rbuf, 64);
    int st = is_ln ? libnorm_layernorm_f32_ex(y, x, w, b, rows, dim, eps, o)
                   : libnorm_rmsnorm_f32_ex(y, x, w, rows, dim, eps, o);
    CHECK(st == want, "%s (%s): got %d (%s), want %d (%s)", what, is_ln ? "layernorm" : "rmsnorm",
          st, libnorm_strerror(st), want, libnorm_strerror(want));
    if (want != LIBNORM_OK && y != xbuf)
        CHECK(untouched(ybuf, N) && untouched(mbuf, 64) && untouched(rbuf, 64),
              "%s: an output was touched on error", what);
}

static void test_bad_inputs(void)
{
    libnorm_opts o = LIBNORM_OPTS_INIT;
    for (int ln = 0; ln <= 1; ln++) {
        expect(LIBNORM_ENULL, ln, NULL, xbuf, wbuf, bbuf, 2, 16, 1e-5f, NULL, "y NULL");
        expect(LIBNORM_ENULL, ln, ybuf, NULL, wbuf, bbuf, 2, 16, 1e-5f, NULL, "x NULL");
        expect(LIBNORM_EDIM, ln, ybuf, xbuf, wbuf, bbuf, 2, 0, 1e-5f, NULL, "dim 0");
        expect(LIBNORM_EEPS, ln, ybuf, xbuf, wbuf, bbuf, 2, 16, -1e-5f, NULL, "eps < 0");
        expect(LIBNORM_EEPS, ln, ybuf, xbuf, wbuf, bbuf, 2, 16, NAN, NULL, "eps NaN");
        expect(LIBNORM_EEPS, ln, ybuf, xbuf, wbuf, bbuf, 2, 16, INFINITY, NULL, "eps Inf");
        expect(LIBNORM_OK, ln, ybuf, xbuf, wbuf, bbuf, 0, 16, 1e-5f, NULL, "rows 0");
        CHECK(untouched(ybuf, N), "rows 0 touched y");
        expect(LIBNORM_OK, ln, ybuf, xbuf, NULL, NULL, 2, 16, 0.0f, NULL, "eps 0, no affine");

        /* Overlap: y partly over x, x partly over y; exact in place is fine. */
        expect(LIBNORM_EOVERLAP, ln, xbuf + 8, xbuf, wbuf, bbuf, 2, 16, 1e-5f, NULL, "y = x + 8");
        expect(LIBNORM_EOVERLAP, ln, ybuf, ybuf + 3, wbuf, bbuf, 2, 16, 1e-5f, NULL, "x = y + 3");
        expect(LIBNORM_EOVERLAP, ln, ybuf, xbuf, ybuf + 20, bbuf, 2, 16, 1e-5f, NULL, "w inside y");
        if (ln)
            expect(LIBNORM_EOVERLAP, ln, ybuf, xbuf, wbuf, ybuf, 2, 16, 1e-5f, NULL, "b over y");

        /* Strides. */
        o = (libnorm_opts)LIBNORM_OPTS_INIT;
        o.x_stride = 15;
        expect(LIBNORM_ESTRIDE, ln, ybuf, xbuf, wbuf, bbuf, 2, 16, 1e-5f, &o, "x_stride < dim");
        o = (libnorm_opts)LIBNORM_OPTS_INIT;
        o.y_stride = 1;
        expect(LIBNORM_ESTRIDE, ln, ybuf, xbuf, wbuf, bbuf, 2, 16, 1e-5f, &o, "y_stride < dim");
        /* In place with different strides moves rows onto each other. */
        o = (libnorm_opts)LIBNORM_OPTS_INIT;
        o.x_stride = 32;
        o.y_stride = 16;
        expect(LIBNORM_EOVERLAP, ln, ybuf, ybuf, NULL, NULL, 2, 16, 1e-5f, &o,
               "in place, unequal strides");
        /* x and y interleaved row by row in one buffer: no byte shared, allowed. */
        o = (libnorm_opts)LIBNORM_OPTS_INIT;
        o.x_stride = 32;
        o.y_stride = 32;
        expect(LIBNORM_OK, ln, ybuf + 16, ybuf, NULL, NULL, 4, 16, 1e-5f, &o, "interleaved rows");
        expect(LIBNORM_EOVERLAP, ln, ybuf + 15, ybuf, NULL, NULL, 4, 16, 1e-5f, &o,
               "interleaved, one float shared");

        /* Statistics outputs must not overlap anything. */
        o = (libnorm_opts)LIBNORM_OPTS_INIT;
        o.rstd = ybuf + 4;
        expect(LIBNORM_EOVERLAP, ln, ybuf, xbuf, NULL, NULL, 2, 16, 1e-5f, &o, "rstd inside y");
        o.rstd = xbuf;
        expect(LIBNORM_EOVERLAP, ln, ybuf, xbuf, NULL, NULL, 2, 16, 1e-5f, &o, "rstd over x");
        if (ln) {
            o = (libnorm_opts)LIBNORM_OPTS_INIT;
            o.mean = mbuf;
            o.rstd = mbuf + 1;
            expect(LIBNORM_EOVERLAP, ln, ybuf, xbuf, NULL, NULL, 2, 16, 1e-5f, &o,
                   "mean and rstd overlap");
        }

        /* Options. */
        o = (libnorm_opts)LIBNORM_OPTS_INIT;
        o.size = 0;
        expect(LIBNORM_EOPTS, ln, ybuf, xbuf, NULL, NULL, 2, 16, 1e-5f, &o, "opts size 0");
        o = (libnorm_opts)LIBNORM_OPTS_INIT;
        o.flags = 4; /* (0.4: bits 0 and 1 are the LIBNORM_WEIGHT_* flags) */
        expect(LIBNORM_EOPTS, ln, ybuf, xbuf, NULL, NULL, 2, 16, 1e-5f, &o, "unknown flag");
        o.flags = 1u << 31 | LIBNORM_WEIGHT_PLUS_ONE;
        expect(LIBNORM_EOPTS, ln, ybuf, xbuf, NULL, NULL, 2, 16, 1e-5f, &o,
               "unknown flag with a known one");
        o.flags = LIBNORM_WEIGHT_PLUS_ONE | LIBNORM_WEIGHT_ACT_TYPE;
        expect(LIBNORM_OK, ln, ybuf, xbuf, wbuf, bbuf, 2, 16, 1e-5f, &o, "the defined flags");
        o = (libnorm_opts)LIBNORM_OPTS_INIT;
        o.nth = 4;
        o.ith = 4;
        expect(LIBNORM_EOPTS, ln, ybuf, xbuf, NULL, NULL, 2, 16, 1e-5f, &o, "ith >= nth");
        /* nth = 0 or 1 means all rows, from ith = 0 only. */
        for (unsigned nth = 0; nth <= 1; nth++) {
            o = (libnorm_opts)LIBNORM_OPTS_INIT;
            o.nth = nth;
            o.ith = 1;
            expect(LIBNORM_EOPTS, ln, ybuf, xbuf, NULL, NULL, 2, 16, 1e-5f, &o,
                   nth ? "nth 1, ith 1" : "nth 0, ith 1");
            o.ith = 0;
            expect(LIBNORM_OK, ln, ybuf, xbuf, NULL, NULL, 2, 16, 1e-5f, &o,
                   nth ? "nth 1, ith 0" : "nth 0, ith 0");
        }
        o = (libnorm_opts)LIBNORM_OPTS_INIT;
        o.reserved = 1;
        expect(LIBNORM_EOPTS, ln, ybuf, xbuf, NULL, NULL, 2, 16, 1e-5f, &o, "reserved not 0");
        /* A 0.1 caller's struct ends at flags: reserved is not read. */
        o.size = LIBNORM_OPTS_MIN_SIZE;
        expect(LIBNORM_OK, ln, ybuf, xbuf, NULL, NULL, 2, 16, 1e-5f, &o,
               "minimal size, reserved beyond it");
        o.size = LIBNORM_OPTS_MIN_SIZE - 1;
        o.reserved = 0;
        expect(LIBNORM_EOPTS, ln, ybuf, xbuf, NULL, NULL, 2, 16, 1e-5f, &o, "size below minimum");

        /* Pointers that are not float-aligned: every one of them, and before the dim check. */
        {
            char *cy = (char *)ybuf + 1, *cx = (char *)xbuf + 2;
            float *my = (float *)(void *)cy;
            const float *mx = (const float *)(const void *)cx;
            const float *mw = (const float *)(const void *)((char *)wbuf + 3);
            const float *mb = (const float *)(const void *)((char *)bbuf + 1);
            expect(LIBNORM_EALIGN, ln, my, xbuf, wbuf, bbuf, 2, 16, 1e-5f, NULL, "y misaligned");
            expect(LIBNORM_EALIGN, ln, ybuf, mx, wbuf, bbuf, 2, 16, 1e-5f, NULL, "x misaligned");
            expect(LIBNORM_EALIGN, ln, ybuf, xbuf, mw, bbuf, 2, 16, 1e-5f, NULL, "w misaligned");
            if (ln)
                expect(LIBNORM_EALIGN, ln, ybuf, xbuf, wbuf, mb, 2, 16, 1e-5f, NULL,
                       "b misaligned");
            expect(LIBNORM_EALIGN, ln, my, xbuf, wbuf, bbuf, 2, 0, 1e-5f, NULL,
                   "misaligned before dim 0");
            expect(LIBNORM_EALIGN, ln, my, xbuf, wbuf, bbuf, 0, 16, 1e-5f, NULL,
                   "misaligned with rows 0");
            o = (libnorm_opts)LIBNORM_OPTS_INIT;
            o.rstd = (float *)(void *)((char *)rbuf + 2);
            expect(LIBNORM_EALIGN, ln, ybuf, xbuf, NULL, NULL, 2, 16, 1e-5f, &o,
                   "rstd misaligned");
            if (ln) {
                o = (libnorm_opts)LIBNORM_OPTS_INIT;
                o.mean = (float *)(void *)((char *)mbuf + 1);
                expect(LIBNORM_EALIGN, ln, ybuf, xbuf, NULL, NULL, 2, 16, 1e-5f, &o,
                       "mean misaligned");
            }
        }
        /* The order of the checks (include/libnorm.h): rows == 0 does not excuse NULL or dim 0. */
        expect(LIBNORM_ENULL, ln, NULL, xbuf, NULL, NULL, 0, 16, 1e-5f, NULL, "rows 0, y NULL");
        expect(LIBNORM_EDIM, ln, ybuf, xbuf, NULL, NULL, 0, 0, 1e-5f, NULL, "rows 0, dim 0");

        /* Sizes that do not fit the address space. */
        o = (libnorm_opts)LIBNORM_OPTS_INIT;
        o.x_stride = SIZE_MAX / 8;
        expect(LIBNORM_ESIZE, ln, ybuf, xbuf, NULL, NULL, 16, 16, 1e-5f, &o, "huge stride");
    }
}

/* y computed by the simple contiguous API, as the reference for the extended forms. */
static void reference(int ln, float *y, const float *x, size_t rows, size_t dim, const float *w,
                      const float *b)
{
    int st = ln ? libnorm_layernorm_f32(y, x, w, b, rows, dim, 1e-5f)
                : libnorm_rmsnorm_f32(y, x, w, rows, dim, 1e-5f);
    CHECK(st == LIBNORM_OK, "reference call failed: %s", libnorm_strerror(st));
}

/* Single rows (rows = 1): the entry points take valid ones on a path of their own (src/libnorm.c,
 * row_ok(), then the tier's one-row function or the job), so every check is repeated here with
 * rows = 1, on dims 64 and 128 (the constant-dim copies), 16 and 4096, through the _ex forms
 * (opts NULL and a default opts) and the short forms: each bad call gets its status and touches
 * no output. Valid single rows must give the bits of the same row inside a three-row call (the
 * batch path), with and without the weight, its plus-one flag and in place. */
static int row_call(int ln, int form, float *y, const float *x, const float *w, const float *b,
                    size_t dim, float eps, const libnorm_opts *o)
{
    if (form == 2) /* the short forms (no options) */
        return ln ? libnorm_layernorm_f32(y, x, w, b, 1, dim, eps)
                  : libnorm_rmsnorm_f32(y, x, w, 1, dim, eps);
    return ln ? libnorm_layernorm_f32_ex(y, x, w, b, 1, dim, eps, o)
              : libnorm_rmsnorm_f32_ex(y, x, w, 1, dim, eps, o);
}

static void expect_row(int want, int ln, int form, float *y, const float *x, const float *w,
                       const float *b, size_t dim, float eps, const libnorm_opts *o,
                       const char *what)
{
    libnorm_opts def = LIBNORM_OPTS_INIT;
    if (form == 1 && !o)
        o = &def;
    fill_sentinel(ybuf, N);
    fill_sentinel(mbuf, 64);
    fill_sentinel(rbuf, 64);
    int st = row_call(ln, form, y, x, w, b, dim, eps, o);
    CHECK(st == want, "rows 1, %s (%s, dim %zu, form %d): got %d (%s), want %d (%s)", what,
          ln ? "layernorm" : "rmsnorm", dim, form, st, libnorm_strerror(st), want,
          libnorm_strerror(want));
    if (want != LIBNORM_OK)
        CHECK(untouched(ybuf, N) && untouched(mbuf, 64) && untouched(rbuf, 64),
              "rows 1, %s (dim %zu): an output was touched on error", what, dim);
}

static void test_single_rows(void)
{
    static const size_t dims[] = {64, 128, 16, 4096};
    libnorm_opts o;
    for (int ln = 0; ln <= 1; ln++)
        for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++)
            for (int form = 0; form <= 2; form++) {
                const size_t d = dims[di];
                float *const y = ybuf;
                const float *const x = xbuf;
                const float *const mis = (const float *)((const char *)xbuf + 2);
                expect_row(LIBNORM_ENULL, ln, form, NULL, x, wbuf, bbuf, d, 1e-5f, NULL, "y NULL");
                expect_row(LIBNORM_ENULL, ln, form, y, NULL, wbuf, bbuf, d, 1e-5f, NULL, "x NULL");
                expect_row(LIBNORM_EALIGN, ln, form, (float *)((char *)ybuf + 1), x, wbuf, bbuf, d,
                           1e-5f, NULL, "y misaligned");
                expect_row(LIBNORM_EALIGN, ln, form, y, mis, wbuf, bbuf, d, 1e-5f, NULL,
                           "x misaligned");
                expect_row(LIBNORM_EALIGN, ln, form, y, x, mis, bbuf, d, 1e-5f, NULL,
                           "w misaligned");
                if (ln)
                    expect_row(LIBNORM_EALIGN, ln, form, y, x, wbuf, mis, d, 1e-5f, NULL,
                               "b misaligned");
                expect_row(LIBNORM_EDIM, ln, form, y, x, wbuf, bbuf, 0, 1e-5f, NULL, "dim 0");
                expect_row(LIBNORM_EEPS, ln, form, y, x, wbuf, bbuf, d, -1e-5f, NULL, "eps < 0");
                expect_row(LIBNORM_EEPS, ln, form, y, x, wbuf, bbuf, d, NAN, NULL, "eps NaN");
                expect_row(LIBNORM_EEPS, ln, form, y, x, wbuf, bbuf, d, INFINITY, NULL, "eps Inf");
                expect_row(LIBNORM_OK, ln, form, y, x, wbuf, bbuf, d, -0.0f, NULL, "eps -0");
                expect_row(LIBNORM_OK, ln, form, y, x, wbuf, bbuf, d, FLT_MAX, NULL,
                           "eps FLT_MAX");
                /* a range that wraps the address space: ESIZE (never read) */
                const float *top = (const float *)(UINTPTR_MAX - 63);
                expect_row(LIBNORM_ESIZE, ln, form, y, top, wbuf, bbuf, d, 1e-5f, NULL,
                           "x range wraps");
                expect_row(LIBNORM_ESIZE, ln, form, y, x, top, bbuf, d, 1e-5f, NULL,
                           "w range wraps");
                if (ln)
                    expect_row(LIBNORM_ESIZE, ln, form, y, x, wbuf, top, d, 1e-5f, NULL,
                               "b range wraps");
                expect_row(LIBNORM_EOVERLAP, ln, form, xbuf + 8, x, wbuf, bbuf, d, 1e-5f, NULL,
                           "y = x + 8");
                expect_row(LIBNORM_EOVERLAP, ln, form, ybuf + 8, ybuf, wbuf, bbuf, d, 1e-5f, NULL,
                           "y = x + 8 (x = y's buffer)");
                expect_row(LIBNORM_EOVERLAP, ln, form, ybuf, ybuf + 3, wbuf, bbuf, d, 1e-5f, NULL,
                           "x = y + 3");
                expect_row(LIBNORM_EOVERLAP, ln, form, ybuf, ybuf + d - 1, wbuf, bbuf, d, 1e-5f,
                           NULL, "x shares y's last float");
                if (2 * d <= N) { /* both rows inside ybuf */
                    expect_row(LIBNORM_OK, ln, form, ybuf, ybuf + d, wbuf, bbuf, d, 1e-5f, NULL,
                               "x right after y");
                    expect_row(LIBNORM_OK, ln, form, ybuf + d, ybuf, wbuf, bbuf, d, 1e-5f, NULL,
                               "y right after x");
                }
                expect_row(LIBNORM_EOVERLAP, ln, form, ybuf + 4, x, ybuf, bbuf, d, 1e-5f, NULL,
                           "w over y");
                expect_row(LIBNORM_EOVERLAP, ln, form, ybuf, x, ybuf + d - 1, bbuf, d, 1e-5f, NULL,
                           "w shares y's last float");
                expect_row(LIBNORM_EOVERLAP, ln, form, ybuf, x, ybuf, bbuf, d, 1e-5f, NULL,
                           "w == y");
                expect_row(LIBNORM_EOVERLAP, ln, form, ybuf, ybuf, ybuf, bbuf, d, 1e-5f, NULL,
                           "in place, w == y");
                if (ln)
                    expect_row(LIBNORM_EOVERLAP, ln, form, ybuf, x, wbuf, ybuf + 1, d, 1e-5f,
                               NULL, "b over y");
                expect_row(LIBNORM_OK, ln, form, ybuf, x, NULL, NULL, d, 1e-5f, NULL, "no affine");
                if (form != 1)
                    continue;
                /* options (the _ex forms) */
                o = (libnorm_opts)LIBNORM_OPTS_INIT;
                o.x_stride = d - 1;
                expect_row(LIBNORM_ESTRIDE, ln, form, y, x, wbuf, bbuf, d, 1e-5f, &o,
                           "x_stride < dim");
                o = (libnorm_opts)LIBNORM_OPTS_INIT;
                o.y_stride = 1;
                expect_row(LIBNORM_ESTRIDE, ln, form, y, x, wbuf, bbuf, d, 1e-5f, &o,
                           "y_stride < dim");
                o = (libnorm_opts)LIBNORM_OPTS_INIT;
                o.x_stride = 2 * d;
                o.y_stride = d;
                expect_row(LIBNORM_EOVERLAP, ln, form, ybuf, ybuf, NULL, NULL, d, 1e-5f, &o,
                           "in place, unequal strides");
                o.y_stride = 2 * d;
                expect_row(LIBNORM_OK, ln, form, ybuf, ybuf, NULL, NULL, d, 1e-5f, &o,
                           "in place, equal strides");
                o = (libnorm_opts)LIBNORM_OPTS_INIT;
                o.size = 0;
                expect_row(LIBNORM_EOPTS, ln, form, y, x, NULL, NULL, d, 1e-5f, &o, "opts size 0");
                o = (libnorm_opts)LIBNORM_OPTS_INIT;
                o.flags = 0x4u;
                expect_row(LIBNORM_EOPTS, ln, form, y, x, NULL, NULL, d, 1e-5f, &o,
                           "unknown flag");
                o = (libnorm_opts)LIBNORM_OPTS_INIT;
                o.reserved = 1;
                expect_row(LIBNORM_EOPTS, ln, form, y, x, NULL, NULL, d, 1e-5f, &o,
                           "reserved set");
                o = (libnorm_opts)LIBNORM_OPTS_INIT;
                o.ith = 1;
                expect_row(LIBNORM_EOPTS, ln, form, y, x, NULL, NULL, d, 1e-5f, &o,
                           "ith 1 of nth 0");
                o.nth = 2;
                expect_row(LIBNORM_OK, ln, form, y, x, NULL, NULL, d, 1e-5f, &o, "ith 1 of 2");
                CHECK(untouched(ybuf, N), "rows 1, ith 1 of 2 (dim %zu): wrote y", d);
                o.rstd = ybuf;
                o.ith = 0;
                expect_row(LIBNORM_EOVERLAP, ln, form, ybuf, x, NULL, NULL, d, 1e-5f, &o,
                           "rstd inside y");
            }

    /* values: rows = 1 (through each form) against the same row in a three-row call */
    static float yb[3 * N], xb[3 * N], yr[N];
    for (size_t d = 1; d <= 4096; d = d < 140 ? d + 1 : d * 2) {
        for (size_t i = 0; i < 3 * d; i++)
            xb[i] = (float)sin((double)i * 0.71 + (double)d) * (float)(1 + i % 5) + 0.1f;
        for (int ln = 0; ln <= 1; ln++)
            for (int variant = 0; variant < 6; variant++) {
                /* 0: w (and b); 1: no affine; 2: w with LIBNORM_WEIGHT_PLUS_ONE; 3: in place;
                 * 4: w, no b; 5: b, no w (LayerNorm: the one-row functions' six variants) */
                if (variant >= 4 && !ln)
                    continue;
                const float *w = variant == 1 || variant == 5 ? NULL : wbuf;
                const float *b = variant == 1 || variant == 4 ? NULL : bbuf;
                libnorm_opts po = LIBNORM_OPTS_INIT;
                po.flags = variant == 2 ? LIBNORM_WEIGHT_PLUS_ONE : 0;
                int st = ln ? libnorm_layernorm_f32_ex(yb, xb, w, b, 3, d, 1e-5f, &po)
                            : libnorm_rmsnorm_f32_ex(yb, xb, w, 3, d, 1e-5f, &po);
                CHECK(st == LIBNORM_OK, "three rows dim %zu: status %d", d, st);
                for (int form = 0; form <= 2; form++) {
                    if (variant == 2 && form != 1)
                        continue;
                    float *yo = yr;
                    const float *xi = xb + d;
                    if (variant == 3) {
                        memcpy(yr, xb + d, d * sizeof(float));
                        xi = yo;
                    }
                    libnorm_opts def = LIBNORM_OPTS_INIT;
                    st = row_call(ln, form, yo, xi, w, b, d, 1e-5f,
                                  variant == 2 ? &po : form == 1 ? &def : NULL);
                    CHECK(st == LIBNORM_OK && memcmp(yo, yb + d, d * sizeof(float)) == 0,
                          "rows 1 (%s, dim %zu, variant %d, form %d): status %d, or not the bits "
                          "of the same row in a three-row call", ln ? "layernorm" : "rmsnorm", d,
                          variant, form, st);
                }
            }
    }
}

static void test_semantics(void)
{
    enum { R = 13, D = 100 };
    static float ref[R * D], got[R * 256], xs[R * 256];
    for (int ln = 0; ln <= 1; ln++) {
        reference(ln, ref, xbuf, R, D, wbuf, bbuf);

        /* Spot-check the formula in double on one row. */
        const float *x3 = xbuf + 3 * D;
        double m = 0, v = 0, ms = 0;
        for (int i = 0; i < D; i++)
            m += x3[i], ms += (double)x3[i] * x3[i];
        m /= D;
        for (int i = 0; i < D; i++)
            v += (x3[i] - m) * (x3[i] - m);
        v /= D;
        ms /= D;
        double maxerr = 0;
        for (int i = 0; i < D; i++) {
            double e = ln ? (x3[i] - m) / sqrt(v + 1e-5) * wbuf[i] + bbuf[i]
                          : x3[i] / sqrt(ms + 1e-5) * wbuf[i];
            maxerr = fmax(maxerr, fabs(e - ref[3 * D + i]) / fmax(1.0, fabs(e)));
        }
        CHECK(maxerr < 1e-6, "%s formula: relative error %g", ln ? "layernorm" : "rmsnorm", maxerr);

        /* Strided x and y give the same rows. */
        libnorm_opts o = LIBNORM_OPTS_INIT;
        o.x_stride = 256;
        o.y_stride = 128;
        for (int r = 0; r < R; r++)
            memcpy(xs + r * 256, xbuf + r * D, D * sizeof(float));
        int st = ln ? libnorm_layernorm_f32_ex(got, xs, wbuf, bbuf, R, D, 1e-5f, &o)
                    : libnorm_rmsnorm_f32_ex(got, xs, wbuf, R, D, 1e-5f, &o);
        CHECK(st == 0, "strided call: %s", libnorm_strerror(st));
        int same = 1;
        for (int r = 0; r < R; r++)
            same &= memcmp(got + r * 128, ref + r * D, D * sizeof(float)) == 0;
        CHECK(same, "strided rows differ from contiguous ones");

        /* In place gives the same bits. */
        memcpy(got, xbuf, R * D * sizeof(float));
        st = ln ? libnorm_layernorm_f32(got, got, wbuf, bbuf, R, D, 1e-5f)
                : libnorm_rmsnorm_f32(got, got, wbuf, R, D, 1e-5f);
        CHECK(st == 0 && memcmp(got, ref, R * D * sizeof(float)) == 0, "in place differs");

        /* The ith/nth split: every chunk writes only its rows, and together they write all. */
        for (unsigned nth = 2; nth <= 17; nth += 5) {
            fill_sentinel(got, R * D);
            fill_sentinel(rbuf, 64);
            fill_sentinel(mbuf, 64);
            for (unsigned ith = 0; ith < nth; ith++) {
                o = (libnorm_opts)LIBNORM_OPTS_INIT;
                o.ith = ith;
                o.nth = nth;
                o.rstd = rbuf;
                o.mean = mbuf;
                size_t q = R / nth, rem = R % nth;
                size_t begin = ith * q + (ith < rem ? ith : rem);
                size_t count = q + (ith < rem);
                size_t before = 0;
                for (size_t i = 0; i < (size_t)R * D; i++)
                    before += got[i] != SENT;
                st = ln ? libnorm_layernorm_f32_ex(got, xbuf, wbuf, bbuf, R, D, 1e-5f, &o)
                        : libnorm_rmsnorm_f32_ex(got, xbuf, wbuf, R, D, 1e-5f, &o);
                size_t after = 0;
                for (size_t i = 0; i < (size_t)R * D; i++)
                    after += got[i] != SENT;
                CHECK(st == 0 && after - before == count * D &&
                          (count == 0 || got[begin * D] != SENT),
                      "chunk %u/%u wrote %zu floats, want rows [%zu, %zu)", ith, nth,
                      after - before, begin, begin + count);
            }
            CHECK(memcmp(got, ref, R * D * sizeof(float)) == 0, "split %u: rows differ", nth);
            CHECK(!ln || untouched(mbuf + R, 64 - R), "mean written past rows");
            int stats_ok = 1;
            for (int r = 0; r < R; r++)
                stats_ok &= rbuf[r] > 0 && isfinite(rbuf[r]) && (!ln || isfinite(mbuf[r]));
            CHECK(stats_ok, "split %u: per-row statistics missing", nth);
            if (!ln)
                CHECK(untouched(mbuf, 64), "rmsnorm wrote mean");
        }

        /* An older caller's smaller options struct (just size .. y_stride) is read correctly. */
        o = (libnorm_opts)LIBNORM_OPTS_INIT;
        o.size = LIBNORM_OPTS_MIN_SIZE;
        CHECK((ln ? libnorm_layernorm_f32_ex(got, xbuf, NULL, NULL, 1, D, 0.f, &o)
                  : libnorm_rmsnorm_f32_ex(got, xbuf, NULL, 1, D, 0.f, &o)) == LIBNORM_OK,
              "opts with the minimal size rejected");
    }

    /* Per-row statistics match their definition. */
    libnorm_opts o = LIBNORM_OPTS_INIT;
    o.mean = mbuf;
    o.rstd = rbuf;
    CHECK(libnorm_layernorm_f32_ex(ref, xbuf, NULL, NULL, 2, D, 1e-5f, &o) == 0, "stats call");
    double m = 0, v = 0;
    for (int i = 0; i < D; i++)
        m += xbuf[D + i];
    m /= D;
    for (int i = 0; i < D; i++)
        v += (xbuf[D + i] - m) * (xbuf[D + i] - m);
    v /= D;
    CHECK(fabs(mbuf[1] - m) <= 1e-6 * fmax(1, fabs(m)) &&
              fabs(rbuf[1] - 1 / sqrt(v + 1e-5)) <= 1e-6 / sqrt(v + 1e-5),
          "mean/rstd: got %g %g want %g %g", mbuf[1], rbuf[1], m, 1 / sqrt(v + 1e-5));
}

/* ---- RMSNorm backward (libnorm_rmsnorm_back_f32_ex) ---- */
static float dzbuf[N], dzcopy[N], xcopy[N];

/* dx (normally in ybuf) and rstd (rbuf) preset to the sentinel; on error nothing may change:
 * ybuf, rbuf and mbuf keep the sentinel, x and dz their values. */
static void expect_b(int want, float *dx, const float *dz, const float *x, size_t rows, size_t dim,
                     float eps, const libnorm_opts *o, const char *what)
{
    fill_sentinel(ybuf, N);
    fill_sentinel(mbuf, 64);
    fill_sentinel(rbuf, 64);
    memcpy(dzcopy, dzbuf, sizeof dzbuf);
    memcpy(xcopy, xbuf, sizeof xbuf);
    int st = libnorm_rmsnorm_back_f32_ex(dx, dz, x, rows, dim, eps, o);
    CHECK(st == want, "%s (rmsnorm_back): got %d (%s), want %d (%s)", what, st,
          libnorm_strerror(st), want, libnorm_strerror(want));
    if (want != LIBNORM_OK)
        CHECK(untouched(ybuf, N) && untouched(mbuf, 64) && untouched(rbuf, 64) &&
                  memcmp(dzcopy, dzbuf, sizeof dzbuf) == 0 && memcmp(xcopy, xbuf, sizeof xbuf) == 0,
              "%s (rmsnorm_back): an output or input was touched on error", what);
}

static void test_rmsnorm_back(void)
{
    for (int i = 0; i < N; i++)
        dzbuf[i] = (float)cos(i * 0.71) * 0.5f - 0.125f;
    libnorm_opts o = LIBNORM_OPTS_INIT;
    float *my = (float *)(void *)((char *)ybuf + 1);
    const float *mz = (const float *)(const void *)((char *)dzbuf + 2);
    const float *mx = (const float *)(const void *)((char *)xbuf + 3);

    /* The order: EOPTS, ENULL (dx, dz, x), EALIGN, EDIM, EEPS, ESTRIDE, rows 0, ESIZE, EOVERLAP. */
    o.flags = 8;
    expect_b(LIBNORM_EOPTS, ybuf, NULL, NULL, 2, 16, 1e-5f, &o, "opts before NULL");
    o = (libnorm_opts)LIBNORM_OPTS_INIT;
    o.nth = 2;
    o.ith = 2;
    expect_b(LIBNORM_EOPTS, ybuf, dzbuf, xbuf, 2, 16, 1e-5f, &o, "ith >= nth");
    expect_b(LIBNORM_ENULL, NULL, dzbuf, xbuf, 2, 16, 1e-5f, NULL, "dx NULL");
    expect_b(LIBNORM_ENULL, ybuf, NULL, xbuf, 2, 16, 1e-5f, NULL, "dz NULL");
    expect_b(LIBNORM_ENULL, ybuf, dzbuf, NULL, 2, 16, 1e-5f, NULL, "x NULL");
    expect_b(LIBNORM_ENULL, my, dzbuf, NULL, 2, 16, 1e-5f, NULL, "x NULL before dx misaligned");
    expect_b(LIBNORM_ENULL, ybuf, dzbuf, NULL, 0, 0, 1e-5f, NULL, "x NULL, rows 0, dim 0");
    expect_b(LIBNORM_EALIGN, my, dzbuf, xbuf, 2, 16, 1e-5f, NULL, "dx misaligned");
    expect_b(LIBNORM_EALIGN, ybuf, mz, xbuf, 2, 16, 1e-5f, NULL, "dz misaligned");
    expect_b(LIBNORM_EALIGN, ybuf, dzbuf, mx, 2, 0, 1e-5f, NULL, "x misaligned before dim 0");
    o = (libnorm_opts)LIBNORM_OPTS_INIT;
    o.rstd = (float *)(void *)((char *)rbuf + 2);
    expect_b(LIBNORM_EALIGN, ybuf, dzbuf, xbuf, 2, 16, 1e-5f, &o, "rstd misaligned");
    expect_b(LIBNORM_EDIM, ybuf, dzbuf, xbuf, 2, 0, 1e-5f, NULL, "dim 0");
    expect_b(LIBNORM_EEPS, ybuf, dzbuf, xbuf, 2, 16, -1.0f, NULL, "eps < 0");
    expect_b(LIBNORM_EEPS, ybuf, dzbuf, xbuf, 2, 16, NAN, NULL, "eps NaN");
    o = (libnorm_opts)LIBNORM_OPTS_INIT;
    o.x_stride = 15;
    expect_b(LIBNORM_ESTRIDE, ybuf, dzbuf, xbuf, 2, 16, 1e-5f, &o, "x_stride < dim");
    o = (libnorm_opts)LIBNORM_OPTS_INIT;
    o.y_stride = 15;
    expect_b(LIBNORM_ESTRIDE, ybuf, dzbuf, xbuf, 2, 16, 1e-5f, &o, "y_stride < dim");
    expect_b(LIBNORM_OK, ybuf, dzbuf, xbuf, 0, 16, 1e-5f, NULL, "rows 0");
    CHECK(untouched(ybuf, N), "rows 0 touched dx");
    expect_b(LIBNORM_OK, ybuf, ybuf, xbuf, 0, 16, 1e-5f, NULL, "rows 0, dx == dz");
    o = (libnorm_opts)LIBNORM_OPTS_INIT;
    o.x_stride = SIZE_MAX / 8;
    expect_b(LIBNORM_ESIZE, ybuf, dzbuf, xbuf, 16, 16, 1e-5f, &o, "huge stride");
    {
        /* x's extent (alone) wraps the address space; never dereferenced. ESIZE before the
         * overlap of dx with dz. */
        const float *xtop = (const float *)((UINTPTR_MAX - 255) & ~(uintptr_t)3);
        expect_b(LIBNORM_ESIZE, ybuf, dzbuf, xtop, 8, 16, 1e-5f, NULL, "x extent wraps");
        expect_b(LIBNORM_ESIZE, ybuf, ybuf + 1, xtop, 8, 16, 1e-5f, NULL,
                 "x extent wraps, before overlap");
    }
    expect_b(LIBNORM_EOVERLAP, (float *)xbuf, dzbuf, xbuf, 2, 16, 1e-5f, NULL, "dx == x");
    expect_b(LIBNORM_EOVERLAP, ybuf, dzbuf, ybuf + 17, 2, 16, 1e-5f, NULL, "x over dx");
    expect_b(LIBNORM_EOVERLAP, ybuf, ybuf + 8, xbuf, 2, 16, 1e-5f, NULL, "dz = dx + 8");
    o = (libnorm_opts)LIBNORM_OPTS_INIT;
    o.rstd = ybuf + 4;
    expect_b(LIBNORM_EOVERLAP, ybuf, dzbuf, xbuf, 2, 16, 1e-5f, &o, "rstd inside dx");
    o.rstd = dzbuf + 31;
    expect_b(LIBNORM_EOVERLAP, ybuf, dzbuf, xbuf, 2, 16, 1e-5f, &o, "rstd over dz");
    o.rstd = xbuf + 1;
    expect_b(LIBNORM_EOVERLAP, ybuf, dzbuf, xbuf, 2, 16, 1e-5f, &o, "rstd over x");
    o = (libnorm_opts)LIBNORM_OPTS_INIT;
    o.x_stride = 32;
    o.y_stride = 16;
    expect_b(LIBNORM_EOVERLAP, ybuf, ybuf, xbuf, 2, 16, 1e-5f, &o, "dx == dz, unequal strides");
    o.x_stride = o.y_stride = 32;
    expect_b(LIBNORM_OK, ybuf, ybuf + 16, ybuf + 2048, 4, 16, 1e-5f, &o,
             "dx and dz interleaved rows");
    expect_b(LIBNORM_EOVERLAP, ybuf, ybuf + 2048, ybuf + 15, 4, 16, 1e-5f, &o,
             "dx and x interleaved, one float shared");
    o = (libnorm_opts)LIBNORM_OPTS_INIT;
    o.mean = ybuf; /* ignored by RMSNorm backward: neither checked nor written */
    expect_b(LIBNORM_OK, ybuf + 64, dzbuf, xbuf, 2, 16, 1e-5f, &o, "mean ignored");
    CHECK(untouched(ybuf, 64), "rmsnorm_back wrote opts.mean");

    /* Semantics. The formula in double on every row, rstd = the forward RMSNorm's rstd bit for
     * bit, in place, strides and the ith/nth split give the same bits. */
    enum { R = 11, D = 97 };
    static float ref[R * D], got[R * 256], dzs[R * 256], xsd[R * 256], fr[R], rr[64];
    o = (libnorm_opts)LIBNORM_OPTS_INIT;
    o.rstd = rr;
    int st = libnorm_rmsnorm_back_f32_ex(ref, dzbuf, xbuf, R, D, 1e-5f, &o);
    CHECK(st == 0, "rmsnorm_back: %s", libnorm_strerror(st));
    double maxerr = 0;
    for (int r = 0; r < R; r++) {
        const float *x = xbuf + r * D, *dz = dzbuf + r * D;
        double sxx = 0, sxdz = 0;
        for (int i = 0; i < D; i++)
            sxx += (double)x[i] * x[i], sxdz += (double)x[i] * dz[i];
        double rr_ = 1 / sqrt(sxx / D + 1e-5f), c = -sxdz / (sxx + (double)1e-5f * D);
        for (int i = 0; i < D; i++) {
            double e = (dz[i] + x[i] * c) * rr_;
            double scale = fmax(fabs(e), fmax(fabs(dz[i]) * rr_, fabs(x[i] * c * rr_)));
            double err = fabs(e - ref[r * D + i]) / scale;
            if (!(err <= maxerr)) /* (a branch, not fmax: gcc 12 for aarch64 ICEs vectorizing it) */
                maxerr = err;
        }
        if (!(fabs(rr[r] - rr_) / rr_ <= maxerr))
            maxerr = fabs(rr[r] - rr_) / rr_;
    }
    CHECK(maxerr < 1e-6, "rmsnorm_back formula: relative error %g", maxerr);
    libnorm_opts of = LIBNORM_OPTS_INIT;
    of.rstd = fr;
    CHECK(libnorm_rmsnorm_f32_ex(got, xbuf, NULL, R, D, 1e-5f, &of) == 0 &&
              memcmp(fr, rr, sizeof fr) == 0,
          "rmsnorm_back rstd is not RMSNorm's rstd bit for bit");
    memcpy(got, dzbuf, R * D * sizeof(float));
    CHECK(libnorm_rmsnorm_back_f32_ex(got, got, xbuf, R, D, 1e-5f, NULL) == 0 &&
              memcmp(got, ref, R * D * sizeof(float)) == 0,
          "rmsnorm_back in place (dx == dz) differs");
    o = (libnorm_opts)LIBNORM_OPTS_INIT;
    o.x_stride = 256;
    o.y_stride = 128;
    for (int r = 0; r < R; r++) {
        memcpy(dzs + r * 256, dzbuf + r * D, D * sizeof(float));
        memcpy(xsd + r * 256, xbuf + r * D, D * sizeof(float));
    }
    CHECK(libnorm_rmsnorm_back_f32_ex(got, dzs, xsd, R, D, 1e-5f, &o) == 0, "strided call");
    int same = 1;
    for (int r = 0; r < R; r++)
        same &= memcmp(got + r * 128, ref + r * D, D * sizeof(float)) == 0;
    CHECK(same, "rmsnorm_back: strided rows differ from contiguous ones");
    /* the split, on the strided layout (dz and x at x_stride, dx at y_stride) */
    for (unsigned nth = 2; nth <= 14; nth += 4) {
        fill_sentinel(got, R * 128);
        fill_sentinel(rbuf, 64);
        for (unsigned ith = 0; ith < nth; ith++) {
            o = (libnorm_opts)LIBNORM_OPTS_INIT;
            o.x_stride = 256;
            o.y_stride = 128;
            o.ith = ith;
            o.nth = nth;
            o.rstd = rbuf;
            size_t q = R / nth, rem = R % nth;
            size_t begin = ith * q + (ith < rem ? ith : rem), count = q + (ith < rem);
            size_t before = 0, after = 0;
            for (size_t i = 0; i < (size_t)R * 128; i++)
                before += got[i] != SENT;
            st = libnorm_rmsnorm_back_f32_ex(got, dzs, xsd, R, D, 1e-5f, &o);
            for (size_t i = 0; i < (size_t)R * 128; i++)
                after += got[i] != SENT;
            CHECK(st == 0 && after - before == count * D &&
                      (count == 0 || got[begin * 128] != SENT),
                  "rmsnorm_back chunk %u/%u wrote %zu floats, want rows [%zu, %zu)", ith, nth,
                  after - before, begin, begin + count);
        }
        same = 1;
        for (int r = 0; r < R; r++)
            same &= memcmp(got + r * 128, ref + r * D, D * sizeof(float)) == 0;
        CHECK(same && memcmp(rbuf, rr, R * 4) == 0 && untouched(rbuf + R, 64 - R),
              "rmsnorm_back split %u: rows or rstd differ", nth);
    }
    /* (0.3) two-level rows: 3 groups of 3 rows (t = o * 3 + r), dz and x at the x strides (rows
     * 100 apart, groups 337), dx at the y strides (128, 389); whole and split in 4 */
    for (unsigned nth = 1; nth <= 4; nth += 3) {
        fill_sentinel(got, R * 256);
        fill_sentinel(dzs, R * 256);
        fill_sentinel(xsd, R * 256);
        fill_sentinel(rbuf, 64);
        for (size_t t = 0; t < 9; t++) {
            memcpy(dzs + t / 3 * 337 + t % 3 * 100, dzbuf + t * D, D * sizeof(float));
            memcpy(xsd + t / 3 * 337 + t % 3 * 100, xbuf + t * D, D * sizeof(float));
        }
        st = 0;
        for (unsigned ith = 0; ith < nth; ith++) {
            o = (libnorm_opts)LIBNORM_OPTS_INIT;
            o.x_stride = 100;
            o.y_stride = 128;
            o.outer = 3;
            o.x_outer_stride = 337;
            o.y_outer_stride = 389;
            o.ith = ith;
            o.nth = nth;
            o.rstd = rbuf;
            st |= libnorm_rmsnorm_back_f32_ex(got, dzs, xsd, 3, D, 1e-5f, &o);
        }
        same = st == 0;
        size_t written = 0;
        for (size_t t = 0; t < 9; t++)
            same &= memcmp(got + t / 3 * 389 + t % 3 * 128, ref + t * D, D * sizeof(float)) == 0;
        for (size_t i = 0; i < (size_t)R * 256; i++)
            written += got[i] != SENT;
        CHECK(same && written == 9 * D && memcmp(rbuf, rr, 9 * 4) == 0 &&
                  untouched(rbuf + 9, 64 - 9),
              "rmsnorm_back two-level (nth %u): rows, rstd or the floats written differ", nth);
    }
    /* x's second group reaching into dx's rows: EOVERLAP (x laid out with dz's outer stride) */
    o = (libnorm_opts)LIBNORM_OPTS_INIT;
    o.outer = 2;
    o.x_outer_stride = 1000;
    expect_b(LIBNORM_EOVERLAP, ybuf + 1000, dzbuf, ybuf, 2, 16, 1e-5f, &o,
             "x's second group over dx (two-level)");
}

static void test_misc(void)
{
    const int codes[] = {LIBNORM_OK, LIBNORM_ENULL, LIBNORM_EDIM, LIBNORM_EEPS, LIBNORM_EOVERLAP,
                         LIBNORM_ESTRIDE, LIBNORM_EOPTS, LIBNORM_ESIZE, LIBNORM_EALIGN};
    const int nc = (int)(sizeof(codes) / sizeof(codes[0]));
    const char *unknown = libnorm_strerror(-999);
    for (int i = 0; i < nc; i++) {
        const char *s = libnorm_strerror(codes[i]);
        CHECK(s && *s && strcmp(s, unknown) != 0, "strerror(%d)", codes[i]);
        for (int k = 0; k < i; k++)
            CHECK(strcmp(s, libnorm_strerror(codes[k])) != 0, "strerror(%d) == strerror(%d)",
                  codes[i], codes[k]);
        CHECK(i == 0 || codes[i] < 0, "status %d not negative", codes[i]);
    }
    /* The options struct has no padding: its size is the sum of its fields. */
    CHECK(sizeof(libnorm_opts) == 6 * sizeof(size_t) + 4 * sizeof(unsigned) + 2 * sizeof(float *),
          "libnorm_opts has padding (%zu bytes)", sizeof(libnorm_opts));
    CHECK(libnorm_version() == LIBNORM_VERSION, "version %x vs header %x", libnorm_version(),
          LIBNORM_VERSION);
    CHECK(strcmp(libnorm_version_string(), LIBNORM_VERSION_STRING) == 0, "version string");
    const char *isa = libnorm_active_isa();
    CHECK(isa && (!strcmp(isa, "scalar") || !strcmp(isa, "avx2") || !strcmp(isa, "avx512") ||
                  !strcmp(isa, "neon")),
          "active isa %s", isa ? isa : "(null)");
}

/* ---- 0.3: two-level layouts, L2 normalisation, group normalisation ---- */

/* op: 0 RMSNorm, 1 LayerNorm, 2 L2 */
static int call_op(int op, float *y, const float *x, const float *w, const float *b, size_t rows,
                   size_t dim, float eps, const libnorm_opts *o)
{
    return op == 1   ? libnorm_layernorm_f32_ex(y, x, w, b, rows, dim, eps, o)
           : op == 0 ? libnorm_rmsnorm_f32_ex(y, x, w, rows, dim, eps, o)
                     : libnorm_l2norm_f32_ex(y, x, rows, dim, eps, o);
}

static const char *const op_name[3] = {"rmsnorm", "layernorm", "l2norm"};

/* Like expect(), for every op, with y/mean/rstd inside ybuf/mbuf/rbuf (or x when in place). */
static void expect3(int want, int op, float *y, const float *x, size_t rows, size_t dim,
                    const libnorm_opts *o, const char *what)
{
    fill_sentinel(ybuf, N);
    fill_sentinel(mbuf, 64);
    fill_sentinel(rbuf, 64);
    int st = call_op(op, y, x, wbuf, bbuf, rows, dim, 1e-5f, o);
    CHECK(st == want, "%s (%s): got %d (%s), want %d (%s)", what, op_name[op], st,
          libnorm_strerror(st), want, libnorm_strerror(want));
    if (want != LIBNORM_OK)
        CHECK(untouched(ybuf, N) && untouched(mbuf, 64) && untouched(rbuf, 64),
              "%s (%s): an output was touched on error", what, op_name[op]);
}

static void test_outer_errors(void)
{
    for (int op = 0; op < 3; op++) {
        libnorm_opts o = LIBNORM_OPTS_INIT;
        /* one-row groups closer than a row (x's rows overlap one another): rstd in the middle of
         * them (found by fuzz_api: the exact test started at the wrong row) */
        o.outer = 2;
        o.x_outer_stride = 1;
        o.rstd = xbuf + 400;
        expect3(LIBNORM_EOVERLAP, op, ybuf, xbuf, 1, 576, &o, "rstd inside overlapping x rows");
        o = (libnorm_opts)LIBNORM_OPTS_INIT;
        /* extents past the address space, and outer * rows overflowing */
        o.outer = 3;
        o.x_outer_stride = SIZE_MAX / 4;
        expect3(LIBNORM_ESIZE, op, ybuf, xbuf, 2, 16, &o, "huge x outer stride");
        o = (libnorm_opts)LIBNORM_OPTS_INIT;
        o.outer = 3;
        o.y_outer_stride = SIZE_MAX / 8;
        expect3(LIBNORM_ESIZE, op, ybuf, xbuf, 2, 16, &o, "huge y outer stride");
        o = (libnorm_opts)LIBNORM_OPTS_INIT;
        o.outer = SIZE_MAX / 2;
        o.x_outer_stride = o.y_outer_stride = 1;
        o.y_stride = 16;
        expect3(LIBNORM_ESIZE, op, ybuf, xbuf, 4, 16, &o, "outer * rows overflows");
        o.outer = SIZE_MAX / 64;
        o.x_outer_stride = o.y_outer_stride = 0;
        expect3(LIBNORM_ESIZE, op, ybuf, xbuf, 4, 16, &o, "default outer strides, huge outer");
        /* ESTRIDE (a row stride) comes before ESIZE, and rows == 0 returns before both */
        o.x_stride = 15;
        expect3(LIBNORM_ESTRIDE, op, ybuf, xbuf, 4, 16, &o, "row stride < dim, huge outer");
        o.x_stride = 0;
        expect3(LIBNORM_OK, op, ybuf, xbuf, 0, 16, &o, "rows 0, huge outer");
        CHECK(untouched(ybuf, N), "rows 0 with outer touched y");

        /* y's groups overlapping each other: EOVERLAP (x's may: it is only read) */
        o = (libnorm_opts)LIBNORM_OPTS_INIT;
        o.outer = 2;
        o.y_outer_stride = 8;
        expect3(LIBNORM_EOVERLAP, op, ybuf, xbuf, 2, 16, &o, "y groups overlap");
        o.y_outer_stride = 0;
        o.x_outer_stride = 8;
        expect3(LIBNORM_OK, op, ybuf, xbuf, 2, 16, &o, "x groups overlap");
        o.x_outer_stride = 1;
        expect3(LIBNORM_OK, op, ybuf, xbuf, 3, 16, &o, "x groups one float apart");
        /* one-row groups closer than dim in y */
        o = (libnorm_opts)LIBNORM_OPTS_INIT;
        o.outer = 4;
        o.y_outer_stride = 15;
        expect3(LIBNORM_EOVERLAP, op, ybuf, xbuf, 1, 16, &o, "one-row y groups overlap");
        o.y_outer_stride = 16;
        expect3(LIBNORM_OK, op, ybuf, xbuf, 1, 16, &o, "one-row y groups adjacent");
        /* interleaved in whole row slots: groups 16 floats apart, rows 32 (a permuted view) */
        o = (libnorm_opts)LIBNORM_OPTS_INIT;
        o.outer = 2;
        o.x_stride = o.y_stride = 32;
        o.x_outer_stride = o.y_outer_stride = 16;
        expect3(LIBNORM_OK, op, ybuf, xbuf, 3, 16, &o, "transposed groups");
        expect3(LIBNORM_OK, op, ybuf, ybuf, 3, 16, &o, "transposed groups, in place");
        o.y_outer_stride = 17;
        expect3(LIBNORM_EOVERLAP, op, ybuf, xbuf, 3, 16, &o, "transposed groups, one float shared");
        o.outer = 3;
        o.y_outer_stride = 16;
        o.y_stride = 32;
        expect3(LIBNORM_EOVERLAP, op, ybuf, xbuf, 3, 16, &o, "three groups in two row slots");
        /* in place needs equal outer strides too */
        o = (libnorm_opts)LIBNORM_OPTS_INIT;
        o.outer = 2;
        o.x_outer_stride = 40;
        o.y_outer_stride = 40;
        expect3(LIBNORM_OK, op, ybuf, ybuf, 2, 16, &o, "in place, two levels");
        o.y_outer_stride = 48;
        expect3(LIBNORM_EOVERLAP, op, ybuf, ybuf, 2, 16, &o, "in place, unequal outer strides");
        /* x and y interleaved group by group in one buffer: no byte shared */
        o = (libnorm_opts)LIBNORM_OPTS_INIT;
        o.outer = 3;
        o.x_outer_stride = o.y_outer_stride = 64;
        expect3(LIBNORM_OK, op, ybuf + 32, ybuf, 2, 16, &o, "x and y groups interleaved");
        expect3(LIBNORM_EOVERLAP, op, ybuf + 31, ybuf, 2, 16, &o, "interleaved, one float shared");
        /* statistics against the two-level y: in a gap between groups is fine, in a group not */
        o.rstd = ybuf + 32 + 40;
        expect3(LIBNORM_OK, op, ybuf + 32, xbuf, 2, 16, &o, "rstd in a gap of y");
        o.rstd = ybuf + 32 + 64 + 20;
        expect3(LIBNORM_EOVERLAP, op, ybuf + 32, xbuf, 2, 16, &o, "rstd over y's second group");
        o.rstd = rbuf;
        o.outer = 40; /* 80 statistics: past rbuf's 64 into nothing we own; use ybuf instead */
        o.rstd = ybuf + 4000;
        o.x_outer_stride = o.y_outer_stride = 0;
        expect3(LIBNORM_EOVERLAP, op, ybuf, xbuf, 2, 51, &o, "rstd (outer*rows) reaches y's end");
        o.rstd = ybuf + 4000 + 16;
        expect3(LIBNORM_OK, op, ybuf, xbuf, 2, 50, &o, "rstd (outer*rows) just after y");
        /* EOPTS still first */
        o = (libnorm_opts)LIBNORM_OPTS_INIT;
        o.outer = 2;
        o.flags = 4;
        expect3(LIBNORM_EOPTS, op, ybuf, NULL, 2, 16, &o, "EOPTS before ENULL, with outer");

        /* A 0.2 caller's struct ends at `reserved`: whatever follows is not read. */
        o = (libnorm_opts)LIBNORM_OPTS_INIT;
        o.size = offsetof(libnorm_opts, outer);
        o.outer = 1000;
        o.x_outer_stride = 1;
        o.y_outer_stride = 1;
        expect3(LIBNORM_OK, op, ybuf, xbuf, 2, 16, &o, "0.2-size opts, garbage after it");
        CHECK(untouched(ybuf + 32, N - 32), "0.2-size opts: wrote past the two rows");
        /* ... and outer is read when the size covers it, but not the strides beyond */
        o.size = offsetof(libnorm_opts, x_outer_stride);
        o.outer = 2;
        expect3(LIBNORM_OK, op, ybuf, xbuf, 2, 16, &o, "size covering outer only");
        CHECK(!untouched(ybuf + 48, 16) && untouched(ybuf + 64, N - 64),
              "size covering outer only: not the 2 x 2 rows at the default strides (%s)",
              op_name[op]);
    }
}

/* Two-level calls give, row for row, what the one-level call gives on each row alone; the split
 * cuts outer * rows; every share writes only its rows and statistics. */
static void test_outer_semantics(void)
{
    enum { O = 3, R = 5, D = 37, XS = 40, YS = 45, XOS = 7 * XS + 3, YOS = 6 * YS + 1 };
    static float x[O * XOS], y[O * YOS], want[O * R * D], got1[D], rs[O * R], ms[O * R];
    float wantr[O * R], wantm[O * R];
    for (size_t i = 0; i < (size_t)O * XOS; i++)
        x[i] = (float)sin(i * 0.71) * 2.0f + 0.5f;
    for (int op = 0; op < 3; op++) {
        for (int t = 0; t < O * R; t++) {
            libnorm_opts o1 = LIBNORM_OPTS_INIT;
            o1.rstd = &wantr[t];
            o1.mean = &wantm[t];
            int st = call_op(op, want + t * D, x + (t / R) * XOS + (t % R) * XS, wbuf, bbuf, 1, D,
                             1e-5f, &o1);
            CHECK(st == 0, "one-row reference");
        }
        for (unsigned nth = 1; nth <= 17; nth += 4) {
            fill_sentinel(y, O * YOS);
            fill_sentinel(rs, O * R);
            fill_sentinel(ms, O * R);
            for (unsigned ith = 0; ith < nth; ith++) {
                libnorm_opts o = LIBNORM_OPTS_INIT;
                o.x_stride = XS;
                o.y_stride = YS;
                o.outer = O;
                o.x_outer_stride = XOS;
                o.y_outer_stride = YOS;
                o.ith = ith;
                o.nth = nth;
                o.rstd = rs;
                o.mean = ms;
                size_t q = O * R / nth, rem = O * R % nth;
                size_t begin = ith * q + (ith < rem ? ith : rem), count = q + (ith < rem);
                static float before[O * YOS];
                memcpy(before, y, sizeof(y));
                int st = call_op(op, y, x, wbuf, bbuf, R, D, 1e-5f, &o);
                CHECK(st == 0, "two-level call (%s)", op_name[op]);
                /* exactly rows begin .. begin+count-1 changed */
                int ok = 1;
                for (size_t t = 0; t < O * R; t++) {
                    const float *yr = y + (t / R) * YOS + (t % R) * YS;
                    const float *br = before + (t / R) * YOS + (t % R) * YS;
                    int mine = t >= begin && t < begin + count;
                    ok &= mine ? !untouched(yr, 1) && untouched(br, 1)
                               : memcmp(yr, br, D * sizeof(float)) == 0;
                    ok &= mine ? rs[t] != SENT : 1;
                }
                CHECK(ok, "share %u/%u (%s) did not write exactly its rows", ith, nth,
                      op_name[op]);
            }
            int same = 1, gaps = 1;
            for (size_t t = 0; t < O * R; t++) {
                memcpy(got1, y + (t / R) * YOS + (t % R) * YS, sizeof(got1));
                same &= memcmp(got1, want + t * D, sizeof(got1)) == 0;
                same &= memcmp(&rs[t], &wantr[t], 4) == 0;
                same &= op == 1 ? memcmp(&ms[t], &wantm[t], 4) == 0 : ms[t] == SENT;
            }
            /* nothing between the rows */
            for (size_t i = 0; i < (size_t)O * YOS; i++) {
                size_t o = i / YOS, off = i % YOS;
                int inside = o < O && off / YS < R && off % YS < D;
                gaps &= inside || y[i] == SENT;
            }
            CHECK(same, "%s: two-level rows (nth %u) differ from one-row calls", op_name[op], nth);
            CHECK(gaps, "%s: two-level call wrote between rows", op_name[op]);
        }
    }
}

static void test_l2(void)
{
    enum { D = 33 };
    static float x[4 * D], y[4 * D];
    for (int i = 0; i < D; i++) {
        x[i] = (float)cos(i * 1.3) * 3.0f;          /* ordinary */
        x[D + i] = (float)cos(i * 0.4) * 1e-8f;     /* norm below eps = 1e-5: clamped */
        x[2 * D + i] = 0.0f;                        /* zero */
        x[3 * D + i] = i == 5 ? NAN : 1.0f;         /* NaN */
    }
    libnorm_opts o = LIBNORM_OPTS_INIT;
    float rs[4], ms[4] = {SENT, SENT, SENT, SENT};
    o.rstd = rs;
    o.mean = ms;
    CHECK(libnorm_l2norm_f32_ex(y, x, 4, D, 1e-5f, &o) == 0, "l2norm call");
    for (int r = 0; r < 2; r++) {
        double s2 = 0;
        for (int i = 0; i < D; i++)
            s2 += (double)x[r * D + i] * x[r * D + i];
        double s = 1.0 / fmax(sqrt(s2), 1e-5f);
        double maxerr = 0;
        for (int i = 0; i < D; i++)
            maxerr = fmax(maxerr, fabs(y[r * D + i] - x[r * D + i] * s));
        CHECK(maxerr < 1e-6, "l2norm row %d: error %g", r, maxerr);
        CHECK(fabs(rs[r] - s) <= 1e-6 * s, "l2norm rstd row %d: %g want %g", r, rs[r], s);
    }
    CHECK(rs[1] == 1.0f / 1e-5f || fabs(rs[1] - 1e5) < 1e-2, "clamped s %g", rs[1]);
    int zeros = 1, nans = 1;
    for (int i = 0; i < D; i++) {
        zeros &= y[2 * D + i] == 0.0f;
        nans &= isnan(y[3 * D + i]);
    }
    CHECK(zeros && rs[2] == (float)(1.0 / (double)1e-5f), "zero row: zeros, s = 1/eps (%g)",
          rs[2]);
    CHECK(nans && isnan(rs[3]), "NaN row: NaN");
    CHECK(ms[0] == SENT && ms[3] == SENT, "l2norm wrote mean");
    /* eps = 0: a zero row still gives zeros, s = +Inf */
    CHECK(libnorm_l2norm_f32_ex(y, x + 2 * D, 1, D, 0.0f, &o) == 0 && y[0] == 0.0f &&
              isinf(rs[0]),
          "zero row, eps 0");
    /* in place gives the same bits */
    static float z[4 * D];
    memcpy(z, x, sizeof(z));
    CHECK(libnorm_l2norm_f32_ex(z, z, 2, D, 1e-5f, NULL) == 0 &&
              libnorm_l2norm_f32_ex(y, x, 2, D, 1e-5f, NULL) == 0 &&
              memcmp(z, y, 2 * D * sizeof(float)) == 0,
          "l2norm in place differs");
    /* the checks of the other entry points */
    expect3(LIBNORM_ENULL, 2, NULL, xbuf, 2, 16, NULL, "y NULL");
    expect3(LIBNORM_EDIM, 2, ybuf, xbuf, 2, 0, NULL, "dim 0");
    CHECK(libnorm_l2norm_f32_ex(ybuf, xbuf, 2, 16, -1.0f, NULL) == LIBNORM_EEPS, "l2 eps < 0");
    expect3(LIBNORM_EOVERLAP, 2, xbuf + 3, xbuf, 2, 16, NULL, "y = x + 3");
    libnorm_opts ob = LIBNORM_OPTS_INIT;
    ob.rstd = (float *)(void *)((char *)rbuf + 1);
    expect3(LIBNORM_EALIGN, 2, ybuf, xbuf, 2, 16, &ob, "rstd misaligned");
    ob = (libnorm_opts)LIBNORM_OPTS_INIT;
    ob.mean = (float *)(void *)((char *)mbuf + 1);
    expect3(LIBNORM_OK, 2, ybuf, xbuf, 2, 16, &ob, "mean ignored (even misaligned)");
    ob = (libnorm_opts)LIBNORM_OPTS_INIT;
    ob.y_stride = 15;
    expect3(LIBNORM_ESTRIDE, 2, ybuf, xbuf, 2, 16, &ob, "y_stride < dim");
    ob = (libnorm_opts)LIBNORM_OPTS_INIT;
    ob.nth = 2;
    ob.ith = 2;
    expect3(LIBNORM_EOPTS, 2, ybuf, xbuf, 2, 16, &ob, "ith >= nth");
}

/* Group norm: the reference in double (ggml's grouping), batch 2. */
static void gn_ref(double *yd, double *md, double *rd, const float *x, const float *w,
                   const float *b, size_t B, size_t C, size_t S, size_t G, float eps)
{
    size_t cpg = (C + G - 1) / G;
    for (size_t bi = 0; bi < B; bi++)
        for (size_t g = 0; g < G; g++) {
            size_t c0 = g * cpg, c1 = c0 + cpg < C ? c0 + cpg : C;
            md[bi * G + g] = rd[bi * G + g] = NAN;
            if (c0 >= C)
                continue;
            const float *xg = x + bi * C * S + c0 * S;
            size_t n = (c1 - c0) * S;
            double m = 0, v = 0;
            for (size_t i = 0; i < n; i++)
                m += xg[i];
            m /= (double)n;
            for (size_t i = 0; i < n; i++)
                v += (xg[i] - m) * (xg[i] - m);
            v /= (double)n;
            md[bi * G + g] = m;
            rd[bi * G + g] = 1 / sqrt(v + eps);
            for (size_t i = 0; i < n; i++) {
                size_t c = c0 + i / S;
                double t = (xg[i] - m) / sqrt(v + eps);
                yd[bi * C * S + c0 * S + i] = t * (w ? w[c] : 1.0) + (b ? b[c] : 0.0);
            }
        }
}

static int gn_call(float *y, const float *x, const float *w, const float *b, size_t B, size_t C,
                   size_t S, size_t G, const libnorm_opts *o)
{
    return libnorm_groupnorm_f32_ex(y, x, w, b, B, C, S, G, 1e-5f, o);
}

static void expect_gn(int want, float *y, const float *x, const float *w, const float *b,
                      size_t B, size_t C, size_t S, size_t G, const libnorm_opts *o,
                      const char *what)
{
    fill_sentinel(ybuf, N);
    fill_sentinel(mbuf, 64);
    fill_sentinel(rbuf, 64);
    int st = gn_call(y, x, w, b, B, C, S, G, o);
    CHECK(st == want, "groupnorm %s: got %d (%s), want %d (%s)", what, st, libnorm_strerror(st),
          want, libnorm_strerror(want));
    if (want != LIBNORM_OK)
        CHECK(untouched(ybuf, N) && untouched(mbuf, 64) && untouched(rbuf, 64),
              "groupnorm %s: an output was touched on error", what);
}

static void test_groupnorm(void)
{
    /* errors, in the documented order, nothing touched */
    libnorm_opts o = LIBNORM_OPTS_INIT;
    o.outer = 2;
    expect_gn(LIBNORM_EOPTS, ybuf, xbuf, NULL, NULL, 2, 8, 4, 2, &o, "outer 2");
    o.outer = 1;
    expect_gn(LIBNORM_OK, ybuf, xbuf, NULL, NULL, 2, 8, 4, 2, &o, "outer 1");
    o = (libnorm_opts)LIBNORM_OPTS_INIT;
    o.nth = 3;
    o.ith = 3;
    expect_gn(LIBNORM_EOPTS, ybuf, xbuf, NULL, NULL, 2, 8, 4, 2, &o, "ith >= nth");
    expect_gn(LIBNORM_ENULL, NULL, xbuf, NULL, NULL, 2, 8, 4, 2, NULL, "y NULL");
    expect_gn(LIBNORM_ENULL, ybuf, NULL, NULL, NULL, 0, 8, 4, 2, NULL, "x NULL, batch 0");
    expect_gn(LIBNORM_EALIGN, ybuf, xbuf, (const float *)(const void *)((char *)wbuf + 2), NULL,
              2, 8, 4, 2, NULL, "weight misaligned");
    expect_gn(LIBNORM_EDIM, ybuf, xbuf, NULL, NULL, 2, 0, 4, 2, NULL, "channels 0");
    expect_gn(LIBNORM_EDIM, ybuf, xbuf, NULL, NULL, 2, 8, 0, 2, NULL, "spatial 0");
    expect_gn(LIBNORM_EDIM, ybuf, xbuf, NULL, NULL, 0, 8, 4, 0, NULL, "groups 0, batch 0");
    CHECK(libnorm_groupnorm_f32_ex(ybuf, xbuf, NULL, NULL, 2, 8, 4, 2, NAN, NULL) == LIBNORM_EEPS,
          "groupnorm eps NaN");
    o = (libnorm_opts)LIBNORM_OPTS_INIT;
    o.x_stride = 5;
    expect_gn(LIBNORM_ESTRIDE, ybuf, xbuf, NULL, NULL, 2, 8, 4, 2, &o, "channel stride != spatial");
    o.x_stride = 4;
    o.y_stride = 4;
    expect_gn(LIBNORM_OK, ybuf, xbuf, NULL, NULL, 2, 8, 4, 2, &o, "channel strides = spatial");
    o = (libnorm_opts)LIBNORM_OPTS_INIT;
    o.y_outer_stride = 31;
    expect_gn(LIBNORM_ESTRIDE, ybuf, xbuf, NULL, NULL, 2, 8, 4, 2, &o, "batch stride < C*S");
    o.y_outer_stride = 0;
    o.x_outer_stride = 40;
    expect_gn(LIBNORM_OK, ybuf, xbuf, NULL, NULL, 2, 8, 4, 2, &o, "x batch stride 40");
    expect_gn(LIBNORM_ESIZE, ybuf, xbuf, NULL, NULL, 2, SIZE_MAX / 2, 4, 2, NULL,
              "channels * spatial overflows");
    expect_gn(LIBNORM_OK, ybuf, xbuf, NULL, NULL, 0, SIZE_MAX / 2, 4, 2, NULL,
              "batch 0, channels * spatial overflows");
    o = (libnorm_opts)LIBNORM_OPTS_INIT;
    o.rstd = rbuf;
    expect_gn(LIBNORM_ESIZE, ybuf, xbuf, NULL, NULL, 2, 8, 1, SIZE_MAX / 2, &o,
              "batch * groups overflows");
    o.x_outer_stride = SIZE_MAX / 8;
    o.rstd = NULL;
    expect_gn(LIBNORM_ESIZE, ybuf, xbuf, NULL, NULL, 8, 8, 4, 2, &o, "huge batch stride");
    expect_gn(LIBNORM_EOVERLAP, ybuf, xbuf, ybuf + 60, NULL, 2, 8, 4, 2, NULL, "weight over y");
    expect_gn(LIBNORM_OK, ybuf, xbuf, ybuf + 64, NULL, 2, 8, 4, 2, NULL, "weight just after y");
    expect_gn(LIBNORM_EOVERLAP, ybuf, xbuf, NULL, ybuf + 63, 2, 8, 4, 2, NULL, "bias over y");
    o = (libnorm_opts)LIBNORM_OPTS_INIT;
    o.mean = mbuf;
    o.rstd = mbuf + 5;
    expect_gn(LIBNORM_EOVERLAP, ybuf, xbuf, NULL, NULL, 2, 8, 4, 3, &o,
              "mean (6 units) and rstd overlap");
    o.rstd = mbuf + 6;
    expect_gn(LIBNORM_OK, ybuf, xbuf, NULL, NULL, 2, 8, 4, 3, &o, "mean and rstd adjacent");
    o = (libnorm_opts)LIBNORM_OPTS_INIT;
    expect_gn(LIBNORM_EOVERLAP, ybuf + 4, ybuf, NULL, NULL, 2, 8, 4, 2, NULL, "y = x + 4");
    expect_gn(LIBNORM_OK, ybuf, ybuf, NULL, NULL, 2, 8, 4, 2, NULL, "in place");
    o.x_outer_stride = 40;
    expect_gn(LIBNORM_EOVERLAP, ybuf, ybuf, NULL, NULL, 2, 8, 4, 2, &o,
              "in place, unequal batch strides");

    /* semantics against double: uneven and empty groups, affine, batch strides, the split */
    static const size_t cases[][3] = {{8, 9, 2}, {7, 9, 3}, {5, 6, 4}, {3, 50, 3}, {1, 7, 3},
                                      {6, 1, 6}};
    static double yd[2 * 8 * 60], md[16], rd[16];
    static float x[2 * 512], y[2 * 512], y1[2 * 512];
    float ms[16], rs[16], m1[16], r1[16];
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        size_t C = cases[k][0], S = cases[k][1], G = cases[k][2], CS = C * S, XBS = CS + 3,
               YBS = CS + 5;
        for (int aff = 0; aff < 3; aff++) {
            const float *w = aff ? wbuf : NULL, *b = aff == 2 ? bbuf : NULL;
            static float xd[2 * 8 * 60];
            for (size_t i = 0; i < 2 * CS; i++)
                xd[i] = xbuf[i * 3 % 2000] * (float)(1 + (i % 3));
            gn_ref(yd, md, rd, xd, w, b, 2, C, S, G, 1e-5f);
            for (size_t bi = 0; bi < 2; bi++)
                memcpy(x + bi * XBS, xd + bi * CS, CS * sizeof(float));
            for (unsigned nth = 1; nth <= 9; nth += 2) {
                fill_sentinel(y, 2 * 512);
                fill_sentinel(ms, 16);
                fill_sentinel(rs, 16);
                for (unsigned ith = 0; ith < nth; ith++) {
                    o = (libnorm_opts)LIBNORM_OPTS_INIT;
                    o.x_outer_stride = XBS;
                    o.y_outer_stride = YBS;
                    o.mean = ms;
                    o.rstd = rs;
                    o.ith = ith;
                    o.nth = nth;
                    size_t written_before = 0, written_after = 0;
                    for (size_t u = 0; u < 16; u++)
                        written_before += rs[u] != SENT;
                    CHECK(libnorm_groupnorm_f32_ex(y, x, w, b, 2, C, S, G, 1e-5f, &o) == 0,
                          "groupnorm call");
                    for (size_t u = 0; u < 16; u++)
                        written_after += rs[u] != SENT;
                    size_t units = 2 * G, q = units / nth, rem = units % nth;
                    size_t cnt = q + (ith < rem);
                    CHECK(written_after - written_before == cnt,
                          "groupnorm share %u/%u wrote %zu statistics, want %zu", ith, nth,
                          written_after - written_before, cnt);
                }
                double maxerr = 0;
                int gaps = 1, stats = 1;
                for (size_t bi = 0; bi < 2; bi++) {
                    for (size_t i = 0; i < CS; i++) {
                        double e = yd[bi * CS + i], g = y[bi * YBS + i];
                        maxerr = fmax(maxerr, fabs(e - g) / fmax(1.0, fabs(e)));
                    }
                    for (size_t i = CS; i < YBS; i++)
                        gaps &= y[bi * YBS + i] == SENT;
                }
                for (size_t u = 0; u < 2 * G; u++) {
                    if (isnan(md[u]))
                        stats &= isnan(ms[u]) && isnan(rs[u]);
                    else
                        stats &= fabs(ms[u] - md[u]) <= 1e-5 * fmax(1, fabs(md[u])) &&
                                 fabs(rs[u] - rd[u]) <= 1e-5 * rd[u];
                }
                stats &= untouched(ms + 2 * G, 16 - 2 * G);
                CHECK(maxerr < 2e-5, "groupnorm C=%zu S=%zu G=%zu aff=%d nth=%u: error %g", C, S,
                      G, aff, nth, maxerr);
                CHECK(gaps, "groupnorm wrote between batches");
                CHECK(stats, "groupnorm C=%zu S=%zu G=%zu statistics wrong", C, S, G);
                if (nth == 1) {
                    memcpy(y1, y, sizeof(y1));
                    memcpy(m1, ms, sizeof(m1));
                    memcpy(r1, rs, sizeof(r1));
                } else {
                    CHECK(memcmp(y1, y, sizeof(y1)) == 0 && memcmp(m1, ms, sizeof(m1)) == 0 &&
                              memcmp(r1, rs, sizeof(r1)) == 0,
                          "groupnorm split %u differs from nth 1", nth);
                }
            }
            /* in place (equal batch strides) gives the same bits */
            static float z[2 * 512];
            for (size_t bi = 0; bi < 2; bi++)
                memcpy(z + bi * YBS, xd + bi * CS, CS * sizeof(float));
            o = (libnorm_opts)LIBNORM_OPTS_INIT;
            o.x_outer_stride = o.y_outer_stride = YBS;
            CHECK(libnorm_groupnorm_f32_ex(z, z, w, b, 2, C, S, G, 1e-5f, &o) == 0,
                  "groupnorm in place");
            int same = 1;
            for (size_t bi = 0; bi < 2; bi++)
                same &= memcmp(z + bi * YBS, y1 + bi * YBS, CS * sizeof(float)) == 0;
            CHECK(same, "groupnorm in place differs");
        }
    }
    /* a single group with no affine is one LayerNorm row of channels * spatial */
    static float a[300], bb2[300];
    CHECK(libnorm_groupnorm_f32_ex(a, xbuf, NULL, NULL, 1, 10, 30, 1, 1e-5f, NULL) == 0 &&
              libnorm_layernorm_f32(bb2, xbuf, NULL, NULL, 1, 300, 1e-5f) == 0 &&
              memcmp(a, bb2, sizeof(a)) == 0,
          "groupnorm with one group != LayerNorm of the row");
    /* an old (0.2-size) opts struct is read up to its size */
    o = (libnorm_opts)LIBNORM_OPTS_INIT;
    o.size = offsetof(libnorm_opts, outer);
    o.outer = 7;
    expect_gn(LIBNORM_OK, ybuf, xbuf, NULL, NULL, 2, 8, 4, 2, &o, "0.2-size opts");
}

/* ---- 0.4: residual add + norm, and the weight offset LIBNORM_WEIGHT_PLUS_ONE ---- */
static float hbuf[N], rinp[N], rcopy[N], xcopy2[N];

/* ln: add_layernorm (else add_rmsnorm). hbuf, ybuf, mbuf, rbuf preset to the sentinel; on error
 * none of them may change, nor x or r (in xbuf / rinp). */
static void expect_add(int want, int ln, float *y, float *h, const float *x, const float *r,
                       size_t rows, size_t dim, float eps, const libnorm_opts *o, const char *what)
{
    fill_sentinel(ybuf, N);
    fill_sentinel(hbuf, N);
    fill_sentinel(mbuf, 64);
    fill_sentinel(rbuf, 64);
    memcpy(xcopy2, xbuf, sizeof xbuf);
    memcpy(rcopy, rinp, sizeof rinp);
    int st = ln ? libnorm_add_layernorm_f32_ex(y, h, x, r, wbuf, bbuf, rows, dim, eps, o)
                : libnorm_add_rmsnorm_f32_ex(y, h, x, r, wbuf, rows, dim, eps, o);
    CHECK(st == want, "%s (add_%s): got %d (%s), want %d (%s)", what, ln ? "layernorm" : "rmsnorm",
          st, libnorm_strerror(st), want, libnorm_strerror(want));
    if (want != LIBNORM_OK)
        CHECK(untouched(ybuf, N) && untouched(hbuf, N) && untouched(mbuf, 64) &&
                  untouched(rbuf, 64) && memcmp(xcopy2, xbuf, sizeof xbuf) == 0 &&
                  memcmp(rcopy, rinp, sizeof rinp) == 0,
              "%s (add_%s): an output or input was touched on error", what,
              ln ? "layernorm" : "rmsnorm");
}

static void test_add_errors(void)
{
    for (int i = 0; i < N; i++)
        rinp[i] = (float)cos(i * 0.53) * 2.0f - 0.5f;
    float *my = (float *)(void *)((char *)ybuf + 1), *mh = (float *)(void *)((char *)hbuf + 2);
    const float *mr = (const float *)(const void *)((char *)rinp + 3);
    for (int ln = 0; ln <= 1; ln++) {
        libnorm_opts o = LIBNORM_OPTS_INIT;
        /* the order: EOPTS; ENULL (y, x, r); EALIGN; EDIM; EEPS; ESTRIDE; rows 0; ESIZE; EOVERLAP */
        o.flags = 4;
        expect_add(LIBNORM_EOPTS, ln, ybuf, hbuf, NULL, NULL, 2, 16, 1e-5f, &o, "unknown flag");
        o.flags = LIBNORM_WEIGHT_PLUS_ONE | LIBNORM_WEIGHT_ACT_TYPE;
        expect_add(LIBNORM_OK, ln, ybuf, hbuf, xbuf, rinp, 2, 16, 1e-5f, &o, "the defined flags");
        expect_add(LIBNORM_ENULL, ln, NULL, hbuf, xbuf, rinp, 2, 16, 1e-5f, NULL, "y NULL");
        expect_add(LIBNORM_ENULL, ln, ybuf, hbuf, NULL, rinp, 2, 16, 1e-5f, NULL, "x NULL");
        expect_add(LIBNORM_ENULL, ln, ybuf, hbuf, xbuf, NULL, 2, 16, 1e-5f, NULL, "r NULL");
        expect_add(LIBNORM_ENULL, ln, ybuf, hbuf, xbuf, NULL, 0, 0, 1e-5f, NULL,
                   "r NULL, rows 0, dim 0");
        expect_add(LIBNORM_ENULL, ln, my, hbuf, xbuf, NULL, 2, 16, 1e-5f, NULL,
                   "r NULL before y misaligned");
        expect_add(LIBNORM_OK, ln, ybuf, NULL, xbuf, rinp, 2, 16, 1e-5f, NULL, "h NULL is fine");
        CHECK(untouched(hbuf, N), "h NULL: hbuf touched");
        expect_add(LIBNORM_EALIGN, ln, ybuf, mh, xbuf, rinp, 2, 16, 1e-5f, NULL, "h misaligned");
        expect_add(LIBNORM_EALIGN, ln, ybuf, hbuf, xbuf, mr, 2, 0, 1e-5f, NULL,
                   "r misaligned before dim 0");
        expect_add(LIBNORM_EDIM, ln, ybuf, hbuf, xbuf, rinp, 2, 0, 1e-5f, NULL, "dim 0");
        expect_add(LIBNORM_EEPS, ln, ybuf, hbuf, xbuf, rinp, 2, 16, NAN, NULL, "eps NaN");
        o = (libnorm_opts)LIBNORM_OPTS_INIT;
        o.y_stride = 15;
        expect_add(LIBNORM_ESTRIDE, ln, ybuf, hbuf, xbuf, rinp, 2, 16, 1e-5f, &o, "y_stride < dim");
        expect_add(LIBNORM_OK, ln, ybuf, hbuf, xbuf, rinp, 0, 16, 1e-5f, NULL, "rows 0");
        CHECK(untouched(ybuf, N) && untouched(hbuf, N), "rows 0 touched y or h");
        expect_add(LIBNORM_OK, ln, ybuf, ybuf, ybuf, ybuf, 0, 16, 1e-5f, NULL,
                   "rows 0, y == h (no overlap check)");
        {
            const float *rtop = (const float *)((UINTPTR_MAX - 255) & ~(uintptr_t)3);
            expect_add(LIBNORM_ESIZE, ln, ybuf, hbuf, xbuf, rtop, 8, 16, 1e-5f, NULL,
                       "r extent wraps");
            float *htop = (float *)((UINTPTR_MAX - 255) & ~(uintptr_t)3);
            expect_add(LIBNORM_ESIZE, ln, ybuf, htop, xbuf, rinp, 8, 16, 1e-5f, NULL,
                       "h extent wraps");
        }
        /* EOVERLAP: y == h; partial overlaps of h or y with x or r; h with y, w, mean, rstd */
        expect_add(LIBNORM_EOVERLAP, ln, ybuf, ybuf, xbuf, rinp, 2, 16, 1e-5f, NULL, "y == h");
        expect_add(LIBNORM_EOVERLAP, ln, ybuf, ybuf + 20, xbuf, rinp, 2, 16, 1e-5f, NULL,
                   "h over y's second row");
        expect_add(LIBNORM_EOVERLAP, ln, ybuf, hbuf, hbuf + 3, rinp, 2, 16, 1e-5f, NULL,
                   "x = h + 3");
        expect_add(LIBNORM_EOVERLAP, ln, ybuf, hbuf, xbuf, hbuf + 31, 2, 16, 1e-5f, NULL,
                   "r over h's last float");
        expect_add(LIBNORM_EOVERLAP, ln, ybuf, hbuf, xbuf, ybuf + 1, 2, 16, 1e-5f, NULL,
                   "r = y + 1");
        expect_add(LIBNORM_EOVERLAP, ln, ybuf, hbuf, ybuf + 16, rinp, 2, 16, 1e-5f, NULL,
                   "x = y + 16 (y's second row)");
        expect_add(LIBNORM_EOVERLAP, ln, ybuf, hbuf, hbuf, hbuf + 1, 2, 16, 1e-5f, NULL,
                   "h == x, r = x + 1 (r overlaps h)");
        expect_add(LIBNORM_EOVERLAP, ln, ybuf, (float *)wbuf, xbuf, rinp, 2, 16, 1e-5f, NULL,
                   "h over the weight");
        o = (libnorm_opts)LIBNORM_OPTS_INIT;
        o.rstd = hbuf + 5;
        expect_add(LIBNORM_EOVERLAP, ln, ybuf, hbuf, xbuf, rinp, 2, 16, 1e-5f, &o, "rstd inside h");
        o.rstd = rinp + 7;
        expect_add(LIBNORM_EOVERLAP, ln, ybuf, hbuf, xbuf, rinp, 2, 16, 1e-5f, &o, "rstd over r");
        if (ln) {
            o = (libnorm_opts)LIBNORM_OPTS_INIT;
            o.mean = rinp + 30;
            expect_add(LIBNORM_EOVERLAP, ln, ybuf, hbuf, xbuf, rinp, 2, 16, 1e-5f, &o,
                       "mean over r");
            o.mean = hbuf + 31;
            expect_add(LIBNORM_EOVERLAP, ln, ybuf, hbuf, xbuf, rinp, 2, 16, 1e-5f, &o,
                       "mean over h");
        }
        /* in place needs equal strides (x, r at x_stride; h, y at y_stride) */
        o = (libnorm_opts)LIBNORM_OPTS_INIT;
        o.x_stride = 32;
        o.y_stride = 16;
        expect_add(LIBNORM_EOVERLAP, ln, ybuf, hbuf, hbuf, rinp, 2, 16, 1e-5f, &o,
                   "h == x, unequal strides");
        expect_add(LIBNORM_EOVERLAP, ln, hbuf, NULL, xbuf, hbuf, 2, 16, 1e-5f, &o,
                   "y == r, unequal strides");
        /* two levels: h's second group over x */
        o = (libnorm_opts)LIBNORM_OPTS_INIT;
        o.outer = 2;
        o.y_outer_stride = 1000;
        expect_add(LIBNORM_EOVERLAP, ln, ybuf, hbuf, hbuf + 1000 + 8, rinp, 2, 16, 1e-5f, &o,
                   "x inside h's second group (two-level)");
        /* allowed: every exact in-place combination, interleaved rows, x == r */
        o = (libnorm_opts)LIBNORM_OPTS_INIT;
        expect_add(LIBNORM_OK, ln, ybuf, hbuf, hbuf, rinp, 2, 16, 1e-5f, NULL, "h == x");
        expect_add(LIBNORM_OK, ln, ybuf, hbuf, xbuf, hbuf, 2, 16, 1e-5f, NULL, "h == r");
        expect_add(LIBNORM_OK, ln, ybuf, hbuf, ybuf, rinp, 2, 16, 1e-5f, NULL, "y == x");
        expect_add(LIBNORM_OK, ln, ybuf, hbuf, xbuf, ybuf, 2, 16, 1e-5f, NULL, "y == r");
        expect_add(LIBNORM_OK, ln, ybuf, hbuf, ybuf, hbuf, 2, 16, 1e-5f, NULL, "y == x, h == r");
        expect_add(LIBNORM_OK, ln, ybuf, hbuf, hbuf, ybuf, 2, 16, 1e-5f, NULL, "y == r, h == x");
        expect_add(LIBNORM_OK, ln, ybuf, NULL, ybuf, ybuf, 2, 16, 1e-5f, NULL, "y == x == r, h NULL");
        expect_add(LIBNORM_OK, ln, ybuf, hbuf, xbuf, xbuf, 2, 16, 1e-5f, NULL, "x == r");
        o.x_stride = o.y_stride = 32;
        expect_add(LIBNORM_OK, ln, ybuf, ybuf + 16, hbuf, hbuf + 16, 4, 16, 1e-5f, &o,
                   "y and h interleaved rows");
        expect_add(LIBNORM_EOVERLAP, ln, ybuf, ybuf + 15, hbuf, hbuf + 16, 4, 16, 1e-5f, &o,
                   "y and h interleaved, one float shared");
    }
}

/* The plain norm of `h` (rows at y layout) with the same options: the reference of the fused op. */
static int plain_of(int ln, float *y, const float *h, const float *w, const float *b, size_t rows,
                    size_t dim, const libnorm_opts *o_add)
{
    libnorm_opts o = *o_add;
    o.x_stride = o.y_stride;
    o.x_outer_stride = o.y_outer_stride;
    o.ith = 0;
    o.nth = 0;
    return ln ? libnorm_layernorm_f32_ex(y, h, w, b, rows, dim, 1e-5f, &o)
              : libnorm_rmsnorm_f32_ex(y, h, w, rows, dim, 1e-5f, &o);
}

static void test_add_semantics(void)
{
    enum { R = 7, D = 61, XS = 70, YS = 64, CAP = R * XS + 64 };
    static float x[CAP], r[CAP], h[CAP], y[CAP], h2[CAP], y2[CAP], want_h[CAP];
    static float m1[16], s1[16], m2[16], s2[16];
    for (int ln = 0; ln <= 1; ln++)
        for (int variant = 0; variant < 6; variant++) {
            /* 0 contiguous; 1 strided; 2 strided, PLUS_ONE and statistics; 3 two-level; 4 split
             * in 3; 5 huge and tiny rows (the rare path) */
            libnorm_opts o = LIBNORM_OPTS_INIT;
            size_t rows = R, xs = D, ys = D;
            if (variant >= 1) {
                xs = XS;
                ys = YS;
            }
            o.x_stride = xs;
            o.y_stride = ys;
            if (variant == 2 || variant == 5) {
                o.flags = LIBNORM_WEIGHT_PLUS_ONE;
                o.mean = m1;
                o.rstd = s1;
            }
            if (variant == 3) { /* 2 groups of 3 rows, outer strides 3 * stride + 5 */
                rows = 3;
                o.outer = 2;
                o.x_outer_stride = 3 * xs + 5;
                o.y_outer_stride = 3 * ys + 5;
                o.rstd = s1;
            }
            const size_t nrow = o.outer > 1 ? 6 : rows;
            fill_sentinel(x, CAP);
            fill_sentinel(r, CAP);
            fill_sentinel(want_h, CAP);
            for (size_t t = 0; t < nrow; t++) {
                size_t ox = o.outer > 1 ? t / 3 * o.x_outer_stride + t % 3 * xs : t * xs;
                size_t oy = o.outer > 1 ? t / 3 * o.y_outer_stride + t % 3 * ys : t * ys;
                for (size_t i = 0; i < D; i++) {
                    float a = xbuf[t * D + i], c = rinp[t * D + i];
                    if (variant == 5 && t % 2)
                        a *= 1e-25f, c *= 1e-25f; /* squares below 2^-64: the rare path */
                    if (variant == 5 && t == 2)
                        a *= 1e30f, c *= 1e30f;   /* squares overflow float */
                    x[ox + i] = a;
                    r[ox + i] = c;
                    want_h[oy + i] = a + c;
                }
            }
            fill_sentinel(h, CAP);
            fill_sentinel(y, CAP);
            fill_sentinel(m1, 16);
            fill_sentinel(s1, 16);
            int st = 0;
            unsigned nth = variant == 4 ? 3 : 1;
            for (unsigned ith = 0; ith < nth; ith++) {
                o.ith = ith;
                o.nth = nth;
                st |= ln ? libnorm_add_layernorm_f32_ex(y, h, x, r, wbuf, bbuf, rows, D, 1e-5f, &o)
                         : libnorm_add_rmsnorm_f32_ex(y, h, x, r, wbuf, rows, D, 1e-5f, &o);
            }
            CHECK(st == 0, "add_%s variant %d: status %d", ln ? "layernorm" : "rmsnorm", variant,
                  st);
            CHECK(memcmp(h, want_h, sizeof h) == 0,
                  "add_%s variant %d: h is not x + r (or written outside its rows)",
                  ln ? "layernorm" : "rmsnorm", variant);
            memcpy(m2, m1, sizeof m1);
            memcpy(s2, s1, sizeof s1);
            fill_sentinel(y2, CAP);
            fill_sentinel(m1, 16);
            fill_sentinel(s1, 16);
            CHECK(plain_of(ln, y2, h, wbuf, bbuf, rows, D, &o) == 0 &&
                      memcmp(y, y2, sizeof y) == 0 && memcmp(m1, m2, sizeof m1) == 0 &&
                      memcmp(s1, s2, sizeof s1) == 0,
                  "add_%s variant %d: y (or mean/rstd) is not the plain norm of h bit for bit",
                  ln ? "layernorm" : "rmsnorm", variant);
            /* h NULL: the same y, nothing else written */
            fill_sentinel(h2, CAP);
            fill_sentinel(y2, CAP);
            o.ith = 0;
            o.nth = 0;
            o.mean = o.rstd = NULL;
            st = ln ? libnorm_add_layernorm_f32_ex(y2, NULL, x, r, wbuf, bbuf, rows, D, 1e-5f, &o)
                    : libnorm_add_rmsnorm_f32_ex(y2, NULL, x, r, wbuf, rows, D, 1e-5f, &o);
            CHECK(st == 0 && memcmp(y, y2, sizeof y) == 0 && untouched(h2, CAP),
                  "add_%s variant %d: h NULL gives another y", ln ? "layernorm" : "rmsnorm",
                  variant);
            /* in place, where the strides allow it: h == x, then y == r */
            if (xs == ys) {
                memcpy(h2, x, sizeof x);
                memcpy(y2, r, sizeof r);
                st = ln ? libnorm_add_layernorm_f32_ex(y2, h2, h2, y2, wbuf, bbuf, rows, D, 1e-5f,
                                                       &o)
                        : libnorm_add_rmsnorm_f32_ex(y2, h2, h2, y2, wbuf, rows, D, 1e-5f, &o);
                int same = st == 0;
                for (size_t t = 0; t < nrow; t++) {
                    size_t oy = o.outer > 1 ? t / 3 * o.y_outer_stride + t % 3 * ys : t * ys;
                    same &= memcmp(h2 + oy, want_h + oy, D * 4) == 0 &&
                            memcmp(y2 + oy, y + oy, D * 4) == 0;
                }
                CHECK(same, "add_%s variant %d: in place (h == x, y == r) differs",
                      ln ? "layernorm" : "rmsnorm", variant);
            }
        }
}

/* LIBNORM_WEIGHT_PLUS_ONE is exactly the weight 1.0f + w in float, on every op with a weight, and
 * on rows of the rare path too; weight NULL stays 1; ops without a weight ignore it; ACT_TYPE
 * changes nothing on the f32 ops. */
static void test_weight_plus_one(void)
{
    enum { R = 5, D = 40 };
    static float x[R * D], y1[R * D], y2[R * D], w1[D], r[R * D];
    static float m1[R], s1[R], m2[R], s2[R];
    for (size_t t = 0; t < R; t++)
        for (size_t i = 0; i < D; i++) {
            float v = xbuf[t * D + i];
            x[t * D + i] = t == 1 ? v * 1e-25f : t == 2 ? 3.5f : t == 3 ? v * 1e30f : v;
            r[t * D + i] = rinp[t * D + i];
        }
    for (size_t i = 0; i < D; i++)
        w1[i] = 1.0f + (wbuf[i] - 1.0f) * 37.0f; /* weights around 1, some negative */
    static float wp[D], w0[D];
    for (size_t i = 0; i < D; i++) {
        w0[i] = w1[i] - 1.0f;    /* exact: the offset weight */
        wp[i] = 1.0f + w0[i];    /* the factor PLUS_ONE must use */
    }
    libnorm_opts of = LIBNORM_OPTS_INIT, on = LIBNORM_OPTS_INIT;
    of.flags = LIBNORM_WEIGHT_PLUS_ONE;
    of.mean = m1;
    of.rstd = s1;
    on.mean = m2;
    on.rstd = s2;
    for (int op = 0; op < 4; op++) {
        static const char *const nm[4] = {"layernorm", "rmsnorm", "add_layernorm", "add_rmsnorm"};
        int a, b;
        if (op == 0) {
            a = libnorm_layernorm_f32_ex(y1, x, w0, bbuf, R, D, 1e-5f, &of);
            b = libnorm_layernorm_f32_ex(y2, x, wp, bbuf, R, D, 1e-5f, &on);
        } else if (op == 1) {
            a = libnorm_rmsnorm_f32_ex(y1, x, w0, R, D, 1e-5f, &of);
            b = libnorm_rmsnorm_f32_ex(y2, x, wp, R, D, 1e-5f, &on);
        } else if (op == 2) {
            a = libnorm_add_layernorm_f32_ex(y1, NULL, x, r, w0, bbuf, R, D, 1e-5f, &of);
            b = libnorm_add_layernorm_f32_ex(y2, NULL, x, r, wp, bbuf, R, D, 1e-5f, &on);
        } else {
            a = libnorm_add_rmsnorm_f32_ex(y1, NULL, x, r, w0, R, D, 1e-5f, &of);
            b = libnorm_add_rmsnorm_f32_ex(y2, NULL, x, r, wp, R, D, 1e-5f, &on);
        }
        CHECK(a == 0 && b == 0 && memcmp(y1, y2, sizeof y1) == 0 &&
                  memcmp(s1, s2, sizeof s1) == 0 && (op == 1 || op == 3 || memcmp(m1, m2, sizeof m1) == 0),
              "%s: PLUS_ONE with w is not the weight 1.0f + w bit for bit", nm[op]);
        /* and it does change the result (w0 is not wp) */
        if (op == 1)
            CHECK(libnorm_rmsnorm_f32_ex(y2, x, w0, R, D, 1e-5f, NULL) == 0 &&
                      memcmp(y1, y2, sizeof y1) != 0,
                  "rmsnorm: PLUS_ONE changed nothing");
        /* weight NULL: the factor is 1 */
        if (op == 0) {
            a = libnorm_layernorm_f32_ex(y1, x, NULL, bbuf, R, D, 1e-5f, &of);
            b = libnorm_layernorm_f32_ex(y2, x, NULL, bbuf, R, D, 1e-5f, NULL);
        } else {
            a = libnorm_rmsnorm_f32_ex(y1, x, NULL, R, D, 1e-5f, &of);
            b = libnorm_rmsnorm_f32_ex(y2, x, NULL, R, D, 1e-5f, NULL);
        }
        if (op < 2)
            CHECK(a == 0 && b == 0 && memcmp(y1, y2, sizeof y1) == 0,
                  "%s: PLUS_ONE without a weight is not the factor 1", nm[op]);
    }
    /* group norm: 2 batches, 8 channels of 5, 3 groups */
    {
        libnorm_opts g1 = LIBNORM_OPTS_INIT, g2 = LIBNORM_OPTS_INIT;
        g1.flags = LIBNORM_WEIGHT_PLUS_ONE | LIBNORM_WEIGHT_ACT_TYPE;
        int a = libnorm_groupnorm_f32_ex(y1, x, w0, bbuf, 2, 8, 5, 3, 1e-5f, &g1);
        int b = libnorm_groupnorm_f32_ex(y2, x, wp, bbuf, 2, 8, 5, 3, 1e-5f, &g2);
        CHECK(a == 0 && b == 0 && memcmp(y1, y2, 80 * sizeof(float)) == 0,
              "groupnorm: PLUS_ONE with w is not the weight 1.0f + w bit for bit");
        a = libnorm_groupnorm_f32_ex(y1, x, NULL, bbuf, 2, 8, 5, 3, 1e-5f, &g1);
        b = libnorm_groupnorm_f32_ex(y2, x, NULL, bbuf, 2, 8, 5, 3, 1e-5f, &g2);
        CHECK(a == 0 && b == 0 && memcmp(y1, y2, 80 * sizeof(float)) == 0,
              "groupnorm: PLUS_ONE without a weight is not the factor 1");
    }
    /* ignored where there is no weight (l2norm, rmsnorm_back); ACT_TYPE ignored on f32 */
    {
        libnorm_opts g1 = LIBNORM_OPTS_INIT;
        g1.flags = LIBNORM_WEIGHT_PLUS_ONE | LIBNORM_WEIGHT_ACT_TYPE;
        int a = libnorm_l2norm_f32_ex(y1, x, R, D, 1e-5f, &g1);
        int b = libnorm_l2norm_f32_ex(y2, x, R, D, 1e-5f, NULL);
        CHECK(a == 0 && b == 0 && memcmp(y1, y2, sizeof y1) == 0, "l2norm: a flag changed y");
        a = libnorm_rmsnorm_back_f32_ex(y1, r, x, R, D, 1e-5f, &g1);
        b = libnorm_rmsnorm_back_f32_ex(y2, r, x, R, D, 1e-5f, NULL);
        CHECK(a == 0 && b == 0 && memcmp(y1, y2, sizeof y1) == 0, "rmsnorm_back: a flag changed dx");
        g1.flags = LIBNORM_WEIGHT_ACT_TYPE;
        a = libnorm_layernorm_f32_ex(y1, x, w1, bbuf, R, D, 1e-5f, &g1);
        b = libnorm_layernorm_f32_ex(y2, x, w1, bbuf, R, D, 1e-5f, NULL);
        CHECK(a == 0 && b == 0 && memcmp(y1, y2, sizeof y1) == 0,
              "layernorm: ACT_TYPE changed an f32 result");
    }
}

/* Many threads call at once; each result must equal the single-threaded one. */
#define NT 8
static pthread_barrier_t barrier;
static float tout[NT][4 * 300];
static void *worker(void *arg)
{
    int k = (int)(intptr_t)arg;
    pthread_barrier_wait(&barrier);
    for (int rep = 0; rep < 200; rep++) {
        if (libnorm_layernorm_f32(tout[k], xbuf, wbuf, bbuf, 4, 300, 1e-5f) != 0)
            return (void *)1;
    }
    return NULL;
}

static void test_threads(void)
{
    static float ref[4 * 300];
    pthread_t th[NT];
    pthread_barrier_init(&barrier, NULL, NT);
    for (int k = 0; k < NT; k++)
        pthread_create(&th[k], NULL, worker, (void *)(intptr_t)k);
    int bad = 0;
    for (int k = 0; k < NT; k++) {
        void *r;
        pthread_join(th[k], &r);
        bad |= r != NULL;
    }
    pthread_barrier_destroy(&barrier);
    libnorm_layernorm_f32(ref, xbuf, wbuf, bbuf, 4, 300, 1e-5f);
    for (int k = 0; k < NT; k++)
        bad |= memcmp(tout[k], ref, sizeof(ref)) != 0;
    CHECK(!bad, "concurrent calls disagree");
}

/* ---- (0.4) bf16 / f16 activations: checks, the no-output-touched rule, edge values ---- */
static uint16_t h16[4 * N], hy16[4 * N];

static int x16_call(int fmt16, int ln, uint16_t *y, const uint16_t *x, const void *w,
                    const void *b, size_t rows, size_t dim, float eps, const libnorm_opts *o)
{
    if (fmt16)
        return ln ? libnorm_layernorm_f16_ex(y, x, w, b, rows, dim, eps, o)
                  : libnorm_rmsnorm_f16_ex(y, x, w, rows, dim, eps, o);
    return ln ? libnorm_layernorm_bf16_ex(y, x, w, b, rows, dim, eps, o)
              : libnorm_rmsnorm_bf16_ex(y, x, w, rows, dim, eps, o);
}

static void expect16(int want, int fmt16, int ln, uint16_t *y, const uint16_t *x, const void *w,
                     const void *b, size_t rows, size_t dim, float eps, const libnorm_opts *o,
                     const char *what)
{
    for (size_t i = 0; i < 4 * N; i++)
        hy16[i] = 0x5a5a;
    fill_sentinel(mbuf, 64);
    fill_sentinel(rbuf, 64);
    uint16_t hcopy[256];
    memcpy(hcopy, h16, sizeof hcopy);
    int st = x16_call(fmt16, ln, y, x, w, b, rows, dim, eps, o);
    CHECK(st == want, "%s (%s_%s): got %d (%s), want %d (%s)", what, ln ? "layernorm" : "rmsnorm",
          fmt16 ? "f16" : "bf16", st, libnorm_strerror(st), want, libnorm_strerror(want));
    if (want != LIBNORM_OK) {
        int ok = untouched(mbuf, 64) && untouched(rbuf, 64) &&
                 memcmp(hcopy, h16, sizeof hcopy) == 0;
        for (size_t i = 0; i < 4 * N; i++)
            ok &= hy16[i] == 0x5a5a;
        CHECK(ok, "%s (%s_%s): an output was touched on error", what, ln ? "layernorm" : "rmsnorm",
              fmt16 ? "f16" : "bf16");
    }
}

static void test_x16(void)
{
    for (int i = 0; i < 4 * N; i++)
        h16[i] = (uint16_t)(0x3c00 + (i * 37) % 512); /* f16 1.0 .. 1.5, bf16 ~ 0.0078 .. */
    for (int f = 0; f < 2; f++)
        for (int ln = 0; ln < 2; ln++) {
            libnorm_opts o = LIBNORM_OPTS_INIT;
            const uint16_t *x = h16;
            uint16_t *y = hy16;
            const float *w = wbuf, *b = ln ? bbuf : NULL;
            const uint16_t *wh = h16 + 2 * N; /* 16-bit weights */
            /* the order: EOPTS; ENULL; EALIGN; EDIM; EEPS; ESTRIDE; rows 0; ESIZE; EOVERLAP */
            o.flags = 0x4u;
            expect16(LIBNORM_EOPTS, f, ln, y, x, w, b, 2, 16, 1e-5f, &o, "undefined flag");
            o.flags = LIBNORM_WEIGHT_ACT_TYPE | LIBNORM_WEIGHT_PLUS_ONE;
            expect16(LIBNORM_OK, f, ln, y, x, wh, ln ? wh : NULL, 2, 16, 1e-5f, &o, "both flags");
            o.flags = 0;
            expect16(LIBNORM_ENULL, f, ln, NULL, x, w, b, 2, 16, 1e-5f, &o, "y NULL");
            expect16(LIBNORM_ENULL, f, ln, y, NULL, w, b, 0, 16, 1e-5f, &o, "x NULL, rows 0");
            const uint16_t *xo = (const uint16_t *)(const void *)((const char *)h16 + 1);
            uint16_t *yo = (uint16_t *)(void *)((char *)hy16 + 1);
            expect16(LIBNORM_EALIGN, f, ln, yo, x, w, b, 2, 16, 1e-5f, &o, "y odd");
            expect16(LIBNORM_EALIGN, f, ln, y, xo, w, b, 2, 0, 1e-5f, &o, "x odd, before EDIM");
            /* 2-byte aligned 16-bit pointers are fine; float weights need 4 */
            expect16(LIBNORM_OK, f, ln, hy16 + 1, h16 + 1, w, b, 2, 16, 1e-5f, &o,
                     "x, y 2 mod 4");
            const float *w2 = (const float *)(const void *)((const char *)wbuf + 2);
            expect16(LIBNORM_EALIGN, f, ln, y, x, w2, b, 2, 16, 1e-5f, &o, "float w 2 mod 4");
            if (ln)
                expect16(LIBNORM_EALIGN, f, ln, y, x, w, w2, 2, 16, 1e-5f, &o, "float b 2 mod 4");
            o.flags = LIBNORM_WEIGHT_ACT_TYPE;
            expect16(LIBNORM_OK, f, ln, y, x, wh + 1, ln ? wh + 1 : NULL, 2, 16, 1e-5f, &o,
                     "16-bit w 2 mod 4");
            expect16(LIBNORM_EALIGN, f, ln, y, x, (const char *)wh + 1, NULL, 2, 16, 1e-5f, &o,
                     "16-bit w odd");
            o.flags = 0;
            o.rstd = (float *)(void *)((char *)rbuf + 2);
            expect16(LIBNORM_EALIGN, f, ln, y, x, w, b, 2, 16, 1e-5f, &o, "rstd 2 mod 4");
            o.rstd = NULL;
            expect16(LIBNORM_EDIM, f, ln, y, x, w, b, 2, 0, 1e-5f, &o, "dim 0");
            expect16(LIBNORM_EEPS, f, ln, y, x, w, b, 2, 16, -1.0f, &o, "eps < 0");
            expect16(LIBNORM_EEPS, f, ln, y, x, w, b, 2, 16, NAN, &o, "eps NaN");
            o.x_stride = 15;
            expect16(LIBNORM_ESTRIDE, f, ln, y, x, w, b, 2, 16, 1e-5f, &o, "x stride < dim");
            o.x_stride = 0;
            expect16(LIBNORM_OK, f, ln, NULL == y ? y : y, x, w, b, 0, 16, 1e-5f, &o, "rows 0");
            o.x_stride = SIZE_MAX / 4;
            expect16(LIBNORM_ESIZE, f, ln, y, x, w, b, 3, 16, 1e-5f, &o, "extent overflows");
            o.x_stride = 0;
            /* overlap in BYTES of 16-bit elements: y = hy16[0..16), x right after is fine, one
             * element earlier overlaps */
            expect16(LIBNORM_OK, f, ln, hy16, hy16 + 16, w, b, 1, 16, 1e-5f, &o, "x right after y");
            expect16(LIBNORM_EOVERLAP, f, ln, hy16, hy16 + 15, w, b, 1, 16, 1e-5f, &o,
                     "x one element into y");
            expect16(LIBNORM_OK, f, ln, hy16, hy16, w, b, 1, 16, 1e-5f, &o, "in place");
            o.flags = LIBNORM_WEIGHT_ACT_TYPE;
            expect16(LIBNORM_OK, f, ln, hy16, x, hy16 + 16, NULL, 1, 16, 1e-5f, &o,
                     "16-bit w right after y");
            expect16(LIBNORM_EOVERLAP, f, ln, hy16, x, hy16 + 15, NULL, 1, 16, 1e-5f, &o,
                     "16-bit w one element into y");
            o.flags = 0;
            expect16(LIBNORM_EOVERLAP, f, ln, hy16, x, (const float *)(const void *)(hy16 + 14),
                     NULL, 1, 16, 1e-5f, &o, "float w over y's end");
            o.rstd = (float *)(void *)(hy16 + 32);
            expect16(LIBNORM_EOVERLAP, f, ln, hy16, hy16 + 32, NULL, NULL, 1, 16, 1e-5f, &o,
                     "rstd inside x");
            o.rstd = NULL;
        }
    /* edge values: f16's largest finite value, overflow to Inf, subnormal outputs, NaN */
    {
        uint16_t xh[2] = {0x3c00, 0xbc00}, yh[2]; /* f16 [1, -1]: rstd = 1 with eps = 0 */
        float wv[2];
        const float wcase[4] = {65504.0f, 65519.0f, 65520.0f, 0x1p-20f};
        const uint16_t want[4] = {0x7bff, 0x7bff, 0x7c00, 0x0010};
        for (int k = 0; k < 4; k++) {
            wv[0] = wv[1] = wcase[k];
            int st = libnorm_rmsnorm_f16_ex(yh, xh, wv, 1, 2, 0.0f, NULL);
            CHECK(st == 0 && yh[0] == want[k] && yh[1] == (uint16_t)(want[k] | 0x8000u),
                  "f16 RMSNorm [1,-1] * %g: got %04x %04x, want %04x", (double)wcase[k], yh[0],
                  yh[1], want[k]);
        }
        uint16_t xb[2] = {0x3f80, 0xbf80}; /* bf16 [1, -1] */
        wv[0] = wv[1] = 0x1p-130f;          /* a float subnormal: bf16 8 * 2^-133, 0x0008 */
        int st = libnorm_rmsnorm_bf16_ex(yh, xb, wv, 1, 2, 0.0f, NULL);
        CHECK(st == 0 && yh[0] == 0x0008 && yh[1] == 0x8008, "bf16 subnormal output: %04x %04x",
              yh[0], yh[1]);
        wv[0] = wv[1] = FLT_MAX;
        st = libnorm_rmsnorm_bf16_ex(yh, xb, wv, 1, 2, 0.0f, NULL);
        CHECK(st == 0 && yh[0] == 0x7f80 && yh[1] == 0xff80, "bf16 FLT_MAX rounds to Inf: %04x %04x",
              yh[0], yh[1]);
        uint16_t xn[2] = {0x7c01, 0x3c00}; /* an f16 sNaN */
        st = libnorm_layernorm_f16_ex(yh, xn, NULL, NULL, 1, 2, 1e-5f, NULL);
        CHECK(st == 0 && yh[0] == 0x7e00 && yh[1] == 0x7e00, "f16 NaN row: %04x %04x", yh[0], yh[1]);
        uint16_t xbn[2] = {0xff81, 0x3f80};
        st = libnorm_layernorm_bf16_ex(yh, xbn, NULL, NULL, 1, 2, 1e-5f, NULL);
        CHECK(st == 0 && yh[0] == 0x7fc0 && yh[1] == 0x7fc0, "bf16 NaN row: %04x %04x", yh[0],
              yh[1]);
        /* PLUS_ONE: the factor is 1 + w; a constant LayerNorm row gives exactly the bias */
        libnorm_opts o = LIBNORM_OPTS_INIT;
        o.flags = LIBNORM_WEIGHT_PLUS_ONE;
        wv[0] = wv[1] = 1.0f; /* factor 2 */
        st = libnorm_rmsnorm_bf16_ex(yh, xb, wv, 1, 2, 0.0f, &o);
        CHECK(st == 0 && yh[0] == 0x4000 && yh[1] == 0xc000, "bf16 PLUS_ONE: %04x %04x", yh[0],
              yh[1]);
        uint16_t xc[2] = {0x4040, 0x4040}, bh[2] = {0x3f00, 0xbe80}; /* 3, 3; bias 0.5, -0.25 */
        o.flags = LIBNORM_WEIGHT_ACT_TYPE;
        st = libnorm_layernorm_bf16_ex(yh, xc, NULL, bh, 1, 2, 0.0f, &o);
        CHECK(st == 0 && yh[0] == 0x3f00 && yh[1] == 0xbe80, "bf16 constant row = bias: %04x %04x",
              yh[0], yh[1]);
    }
}

/* ---- (0.4) gated RMSNorm (libnorm_gated_rmsnorm_f32_ex) ---- */
static float zbuf[N], zcopy[N];

/* y (normally in ybuf) and rstd (rbuf) preset to the sentinel; on error nothing may change. */
static void expect_g(int want, float *y, const float *x, const float *z, const float *w,
                     size_t rows, size_t dim, size_t group, int gate, float eps,
                     const libnorm_opts *o, const char *what)
{
    fill_sentinel(ybuf, N);
    fill_sentinel(mbuf, 64);
    fill_sentinel(rbuf, 64);
    memcpy(zcopy, zbuf, sizeof zbuf);
    memcpy(xcopy, xbuf, sizeof xbuf);
    int st = libnorm_gated_rmsnorm_f32_ex(y, x, z, w, rows, dim, group, gate, eps, o);
    CHECK(st == want, "%s (gated): got %d (%s), want %d (%s)", what, st, libnorm_strerror(st),
          want, libnorm_strerror(want));
    if (want != LIBNORM_OK)
        CHECK(untouched(ybuf, N) && untouched(mbuf, 64) && untouched(rbuf, 64) &&
                  memcmp(zcopy, zbuf, sizeof zbuf) == 0 && memcmp(xcopy, xbuf, sizeof xbuf) == 0,
              "%s (gated): an output or input was touched on error", what);
}

static double silu_d(double z)
{
    return z / (1.0 + exp(-z));
}

static void test_gated(void)
{
    for (int i = 0; i < N; i++)
        zbuf[i] = (float)cos(i * 0.53) * 4.0f - 0.5f;
    libnorm_opts o = LIBNORM_OPTS_INIT;
    float *my = (float *)(void *)((char *)ybuf + 1);
    const float *mz = (const float *)(const void *)((char *)zbuf + 2);
    const float *mx = (const float *)(const void *)((char *)xbuf + 3);
    const float *mw = (const float *)(const void *)((char *)wbuf + 1);
    const int SA = LIBNORM_GATE_SILU_AFTER, SB = LIBNORM_GATE_SILU_BEFORE,
              GA = LIBNORM_GATE_SIGMOID_AFTER;

    /* The order: EOPTS, EGATE, ENULL (y, x, z), EALIGN, EDIM, EEPS, ESTRIDE, rows 0, ESIZE,
     * EOVERLAP. */
    o.flags = 4; /* an undefined bit (0x1 and 0x2 are the LIBNORM_WEIGHT_* flags) */
    expect_g(LIBNORM_EOPTS, ybuf, xbuf, zbuf, NULL, 2, 16, 0, 7, 1e-5f, &o, "opts before gate");
    o.flags = 0x80000001u;
    expect_g(LIBNORM_EOPTS, ybuf, xbuf, zbuf, NULL, 2, 16, 0, SA, 1e-5f, &o,
             "an unknown flag next to plus-one");
    o = (libnorm_opts)LIBNORM_OPTS_INIT;
    o.nth = 2;
    o.ith = 2;
    expect_g(LIBNORM_EOPTS, ybuf, xbuf, zbuf, NULL, 2, 16, 0, SA, 1e-5f, &o, "ith >= nth");
    o = (libnorm_opts)LIBNORM_OPTS_INIT;
    o.size = LIBNORM_OPTS_MIN_SIZE - 1;
    o.flags = 1;
    expect_g(LIBNORM_EOPTS, ybuf, xbuf, zbuf, NULL, 2, 16, 0, SA, 1e-5f, &o, "size too small");
    expect_g(LIBNORM_EGATE, NULL, NULL, NULL, NULL, 2, 16, 0, 3, 1e-5f, NULL, "gate 3 before NULL");
    expect_g(LIBNORM_EGATE, ybuf, xbuf, zbuf, NULL, 2, 16, 0, -1, 1e-5f, NULL, "gate -1");
    expect_g(LIBNORM_ENULL, NULL, xbuf, zbuf, NULL, 2, 16, 0, SA, 1e-5f, NULL, "y NULL");
    expect_g(LIBNORM_ENULL, ybuf, NULL, zbuf, NULL, 2, 16, 0, SA, 1e-5f, NULL, "x NULL");
    expect_g(LIBNORM_ENULL, ybuf, xbuf, NULL, NULL, 2, 16, 0, SB, 1e-5f, NULL, "z NULL");
    expect_g(LIBNORM_ENULL, zbuf, NULL, zbuf, NULL, 2, 16, 0, SB, 1e-5f, NULL, "x NULL, y == z");
    expect_g(LIBNORM_ENULL, ybuf, NULL, NULL, NULL, 2, 16, 0, SB, 1e-5f, NULL, "x == z == NULL");
    expect_g(LIBNORM_ENULL, my, xbuf, NULL, NULL, 2, 16, 0, SA, 1e-5f, NULL,
             "z NULL before y misaligned");
    expect_g(LIBNORM_ENULL, ybuf, xbuf, NULL, NULL, 0, 0, 0, SA, 1e-5f, NULL, "z NULL, rows 0, dim 0");
    expect_g(LIBNORM_EALIGN, my, xbuf, zbuf, NULL, 2, 16, 0, SA, 1e-5f, NULL, "y misaligned");
    expect_g(LIBNORM_EALIGN, ybuf, mx, zbuf, NULL, 2, 16, 0, SA, 1e-5f, NULL, "x misaligned");
    expect_g(LIBNORM_EALIGN, ybuf, xbuf, mz, NULL, 2, 0, 0, SA, 1e-5f, NULL,
             "z misaligned before dim 0");
    expect_g(LIBNORM_EALIGN, ybuf, xbuf, zbuf, mw, 2, 16, 3, SA, 1e-5f, NULL,
             "weight misaligned before a bad group");
    o = (libnorm_opts)LIBNORM_OPTS_INIT;
    o.rstd = (float *)(void *)((char *)rbuf + 2);
    expect_g(LIBNORM_EALIGN, ybuf, xbuf, zbuf, NULL, 2, 16, 0, SA, 1e-5f, &o, "rstd misaligned");
    expect_g(LIBNORM_EDIM, ybuf, xbuf, zbuf, NULL, 2, 0, 0, SA, 1e-5f, NULL, "dim 0");
    expect_g(LIBNORM_EDIM, ybuf, xbuf, zbuf, NULL, 2, 0, 4, SA, 1e-5f, NULL, "dim 0, group 4");
    expect_g(LIBNORM_EDIM, ybuf, xbuf, zbuf, NULL, 2, 16, 3, SA, -1.0f, NULL,
             "group does not divide dim, before eps");
    expect_g(LIBNORM_EDIM, ybuf, xbuf, zbuf, NULL, 2, 16, 32, SA, 1e-5f, NULL, "group > dim");
    expect_g(LIBNORM_EDIM, ybuf, xbuf, zbuf, NULL, 0, 16, 5, SA, 1e-5f, NULL,
             "bad group with rows 0");
    expect_g(LIBNORM_EEPS, ybuf, xbuf, zbuf, NULL, 2, 16, 4, SA, -1.0f, NULL, "eps < 0");
    expect_g(LIBNORM_EEPS, ybuf, xbuf, zbuf, NULL, 2, 16, 4, SA, INFINITY, NULL, "eps Inf");
    o = (libnorm_opts)LIBNORM_OPTS_INIT;
    o.x_stride = 15;
    expect_g(LIBNORM_ESTRIDE, ybuf, xbuf, zbuf, NULL, 2, 16, 0, SA, 1e-5f, &o, "x_stride < dim");
    o = (libnorm_opts)LIBNORM_OPTS_INIT;
    o.y_stride = 15;
    expect_g(LIBNORM_ESTRIDE, ybuf, xbuf, zbuf, NULL, 2, 16, 0, SA, 1e-5f, &o, "y_stride < dim");
    expect_g(LIBNORM_OK, ybuf, xbuf, zbuf, NULL, 0, 16, 4, SA, 1e-5f, NULL, "rows 0");
    CHECK(untouched(ybuf, N), "rows 0 touched y");
    expect_g(LIBNORM_OK, ybuf, ybuf + 1, zbuf, NULL, 0, 16, 4, SA, 1e-5f, NULL,
             "rows 0 with overlap");
    o = (libnorm_opts)LIBNORM_OPTS_INIT;
    o.x_stride = SIZE_MAX / 8;
    expect_g(LIBNORM_ESIZE, ybuf, xbuf, zbuf, NULL, 16, 16, 0, SA, 1e-5f, &o, "huge stride");
    {
        const float *ztop = (const float *)((UINTPTR_MAX - 255) & ~(uintptr_t)3);
        expect_g(LIBNORM_ESIZE, ybuf, xbuf, ztop, NULL, 8, 16, 0, SA, 1e-5f, NULL,
                 "z extent wraps");
        expect_g(LIBNORM_ESIZE, ybuf, ybuf + 1, ztop, NULL, 8, 16, 0, SA, 1e-5f, NULL,
                 "z extent wraps, before overlap");
        o = (libnorm_opts)LIBNORM_OPTS_INIT;
        o.outer = SIZE_MAX / 4;
        o.rstd = rbuf;
        expect_g(LIBNORM_ESIZE, ybuf, xbuf, zbuf, NULL, 4, 16, 1, SA, 1e-5f, &o,
                 "outer * rows * groups statistics overflow");
    }
    expect_g(LIBNORM_EOVERLAP, ybuf, ybuf + 1, zbuf, NULL, 2, 16, 0, SA, 1e-5f, NULL, "x = y + 1");
    expect_g(LIBNORM_EOVERLAP, ybuf, xbuf, ybuf + 31, NULL, 2, 16, 0, SA, 1e-5f, NULL,
             "z over y's last float");
    expect_g(LIBNORM_EOVERLAP, ybuf, xbuf, zbuf, ybuf + 8, 2, 16, 0, SA, 1e-5f, NULL,
             "weight inside y");
    o = (libnorm_opts)LIBNORM_OPTS_INIT;
    o.rstd = ybuf + 4;
    expect_g(LIBNORM_EOVERLAP, ybuf, xbuf, zbuf, NULL, 2, 16, 4, SA, 1e-5f, &o, "rstd inside y");
    o.rstd = zbuf + 31;
    expect_g(LIBNORM_EOVERLAP, ybuf, xbuf, zbuf, NULL, 2, 16, 4, SA, 1e-5f, &o, "rstd over z");
    o.rstd = xbuf + 24;
    expect_g(LIBNORM_EOVERLAP, ybuf, xbuf, zbuf, NULL, 2, 16, 4, SA, 1e-5f, &o,
             "rstd (8 floats: 2 rows x 4 groups) over x");
    o.rstd = wbuf + 15;
    expect_g(LIBNORM_EOVERLAP, ybuf, xbuf, zbuf, wbuf, 2, 16, 4, SA, 1e-5f, &o, "rstd over weight");
    o.rstd = wbuf + 16;
    expect_g(LIBNORM_OK, ybuf, xbuf, zbuf, wbuf, 2, 16, 4, SA, 1e-5f, &o, "rstd right after weight");
    o = (libnorm_opts)LIBNORM_OPTS_INIT;
    o.x_stride = 32;
    o.y_stride = 16;
    expect_g(LIBNORM_EOVERLAP, ybuf, ybuf, zbuf, NULL, 2, 16, 0, SA, 1e-5f, &o,
             "y == x, unequal strides");
    expect_g(LIBNORM_EOVERLAP, ybuf, xbuf, ybuf, NULL, 2, 16, 0, SA, 1e-5f, &o,
             "y == z, unequal strides");
    o.x_stride = o.y_stride = 32;
    expect_g(LIBNORM_OK, ybuf, ybuf + 16, ybuf + 2048, NULL, 4, 16, 0, SB, 1e-5f, &o,
             "y and x interleaved rows");
    expect_g(LIBNORM_EOVERLAP, ybuf, ybuf + 2048, ybuf + 15, NULL, 4, 16, 0, SB, 1e-5f, &o,
             "y and z interleaved, one float shared");
    expect_g(LIBNORM_EOVERLAP, ybuf, ybuf, ybuf + 8, NULL, 4, 16, 0, SB, 1e-5f, &o,
             "y == x in place, z overlapping y");
    o = (libnorm_opts)LIBNORM_OPTS_INIT;
    o.mean = ybuf; /* ignored: neither checked nor written */
    expect_g(LIBNORM_OK, ybuf + 64, xbuf, zbuf, NULL, 2, 16, 0, SA, 1e-5f, &o, "mean ignored");
    CHECK(untouched(ybuf, 64), "gated wrote opts.mean");
    CHECK(strcmp(libnorm_strerror(LIBNORM_EGATE), "unknown status") != 0, "strerror(EGATE)");

    /* Semantics. */
    enum { R = 3, D = 96 };
    static float ya[R * D], yb[R * D], yc[R * D], w1[D], xs[R * 128], zs[R * 128], ys2[R * 100];
    float ra[R * 8], rb[R * 8];
    for (int gate = 0; gate < 3; gate++) {
        static const size_t groups[] = {0, 16, 32, 48, 96};
        for (size_t gi = 0; gi < 5; gi++) {
            const size_t group = groups[gi];
            const size_t G = group ? group : D, ng = D / G;
            /* the formula in double, within 1e-5 relative */
            CHECK(libnorm_gated_rmsnorm_f32_ex(ya, xbuf, zbuf, wbuf, R, D, group, gate, 1e-5f,
                                                NULL) == 0, "gated call");
            double worst = 0;
            for (size_t r = 0; r < R; r++)
                for (size_t g = 0; g < ng; g++) {
                    double s = 0;
                    for (size_t i = 0; i < G; i++) {
                        size_t k = r * D + g * G + i;
                        double u = gate == SB ? xbuf[k] * silu_d(zbuf[k]) : xbuf[k];
                        s += u * u;
                    }
                    double rs = 1.0 / sqrt(s / (double)G + 1e-5);
                    for (size_t i = 0; i < G; i++) {
                        size_t k = r * D + g * G + i, c = g * G + i;
                        double gz = gate == GA ? 1.0 / (1.0 + exp(-(double)zbuf[k]))
                                               : silu_d(zbuf[k]);
                        double want = gate == SB ? xbuf[k] * gz * rs * wbuf[c]
                                                 : xbuf[k] * rs * wbuf[c] * gz;
                        double e = fabs(ya[k] - want) / fmax(1.0, fabs(want));
                        worst = e > worst ? e : worst;
                    }
                }
            CHECK(worst < 1e-5, "gate %d group %zu: %g from the formula in double", gate, group,
                  worst);
            /* rstd[t * ng + g]: AFTER, the RMSNorm rstd of the group's x, bit for bit */
            libnorm_opts q = LIBNORM_OPTS_INIT;
            q.rstd = ra;
            libnorm_gated_rmsnorm_f32_ex(ya, xbuf, zbuf, wbuf, R, D, group, gate, 1e-5f, &q);
            if (gate != SB) {
                q.rstd = rb;
                libnorm_rmsnorm_f32_ex(yb, xbuf, NULL, R * ng, G, 1e-5f, &q);
                CHECK(memcmp(ra, rb, R * ng * sizeof(float)) == 0,
                      "gate %d group %zu: rstd is not the RMSNorm rstd of each group", gate, group);
            }
            /* (1 + w): the same bits as the weight 1.0f + w passed in */
            for (size_t i = 0; i < D; i++)
                w1[i] = 1.0f + (wbuf[i] - 1.0f) * 3.0f - 1.0f;
            libnorm_opts p = LIBNORM_OPTS_INIT;
            p.flags = 1;
            CHECK(libnorm_gated_rmsnorm_f32_ex(ya, xbuf, zbuf, w1, R, D, group, gate, 1e-5f, &p) ==
                      0, "plus-one call");
            for (size_t i = 0; i < D; i++)
                w1[i] = 1.0f + w1[i];
            libnorm_gated_rmsnorm_f32_ex(yb, xbuf, zbuf, w1, R, D, group, gate, 1e-5f, NULL);
            CHECK(memcmp(ya, yb, sizeof ya) == 0, "gate %d group %zu: plus-one differs from "
                  "1.0f + w passed as the weight", gate, group);
            p.flags = 1;
            libnorm_gated_rmsnorm_f32_ex(ya, xbuf, zbuf, NULL, R, D, group, gate, 1e-5f, &p);
            libnorm_gated_rmsnorm_f32_ex(yb, xbuf, zbuf, NULL, R, D, group, gate, 1e-5f, NULL);
            CHECK(memcmp(ya, yb, sizeof ya) == 0, "plus-one without a weight is not the factor 1");
            /* in place over x, over z, x == z == y; strides; the split; outer */
            libnorm_gated_rmsnorm_f32_ex(ya, xbuf, zbuf, wbuf, R, D, group, gate, 1e-5f, NULL);
            memcpy(yb, xbuf, sizeof yb);
            libnorm_gated_rmsnorm_f32_ex(yb, yb, zbuf, wbuf, R, D, group, gate, 1e-5f, NULL);
            CHECK(memcmp(ya, yb, sizeof ya) == 0, "gate %d: in place over x differs", gate);
            memcpy(yb, zbuf, sizeof yb);
            libnorm_gated_rmsnorm_f32_ex(yb, xbuf, yb, wbuf, R, D, group, gate, 1e-5f, NULL);
            CHECK(memcmp(ya, yb, sizeof ya) == 0, "gate %d: in place over z differs", gate);
            libnorm_gated_rmsnorm_f32_ex(ya, xbuf, xbuf, wbuf, R, D, group, gate, 1e-5f, NULL);
            memcpy(yb, xbuf, sizeof yb);
            CHECK(libnorm_gated_rmsnorm_f32_ex(yb, yb, yb, wbuf, R, D, group, gate, 1e-5f, NULL) ==
                      0 && memcmp(ya, yb, sizeof ya) == 0, "gate %d: y == x == z differs", gate);
            libnorm_gated_rmsnorm_f32_ex(ya, xbuf, zbuf, wbuf, R, D, group, gate, 1e-5f, NULL);
            for (size_t r = 0; r < R; r++) {
                memcpy(xs + r * 128, xbuf + r * D, D * sizeof(float));
                memcpy(zs + r * 128, zbuf + r * D, D * sizeof(float));
            }
            fill_sentinel(ys2, R * 100);
            fill_sentinel(rb, R * 8);
            libnorm_opts t = LIBNORM_OPTS_INIT;
            t.x_stride = 128;
            t.y_stride = 100;
            t.nth = 2;
            t.rstd = rb;
            for (t.ith = 0; t.ith < 2; t.ith++)
                libnorm_gated_rmsnorm_f32_ex(ys2, xs, zs, wbuf, R, D, group, gate, 1e-5f, &t);
            int same = memcmp(ra, rb, R * ng * sizeof(float)) == 0 && untouched(rb + R * ng, 1);
            for (size_t r = 0; r < R; r++)
                same &= memcmp(ys2 + r * 100, ya + r * D, D * sizeof(float)) == 0 &&
                        (r == R - 1 || untouched(ys2 + r * 100 + D, 4));
            CHECK(same, "gate %d group %zu: strided, split call differs", gate, group);
            libnorm_opts u = LIBNORM_OPTS_INIT;
            u.outer = R;
            u.x_outer_stride = 128;
            libnorm_gated_rmsnorm_f32_ex(yc, xs, zs, wbuf, 1, D, group, gate, 1e-5f, &u);
            CHECK(memcmp(ya, yc, sizeof ya) == 0, "gate %d group %zu: two-level call differs",
                  gate, group);
        }
    }
    /* sigmoid of +Inf is exactly 1: SIGMOID_AFTER is then RMSNorm, bit for bit */
    for (int i = 0; i < R * D; i++)
        yc[i] = INFINITY;
    libnorm_gated_rmsnorm_f32_ex(ya, xbuf, yc, wbuf, R, D, 0, GA, 1e-5f, NULL);
    libnorm_rmsnorm_f32_ex(yb, xbuf, wbuf, R, D, 1e-5f, NULL);
    CHECK(memcmp(ya, yb, sizeof ya) == 0, "sigmoid(+Inf) gate is not RMSNorm");
    /* edge gates: z = -Inf gives silu NaN and sigmoid +0; a NaN z only its element */
    memcpy(yc, zbuf, sizeof yc);
    yc[5] = -INFINITY;
    yc[7] = NAN;
    libnorm_gated_rmsnorm_f32_ex(ya, xbuf, yc, NULL, 1, D, 0, SA, 1e-5f, NULL);
    CHECK(isnan(ya[5]) && isnan(ya[7]) && isinf(ya[6]) == 0 && isnan(ya[6]) == 0,
          "silu(-Inf), silu(NaN): %g %g %g", ya[5], ya[6], ya[7]);
    {
        /* every NaN written is 0x7fc00000, the same bits on every CPU (x86's -Inf / Inf is
         * 0xffc00000, AArch64's 0x7fc00000; the NaN z here is -NAN, 0xffc00000) */
        yc[7] = -NAN;
        libnorm_gated_rmsnorm_f32_ex(ya, xbuf, yc, NULL, 1, D, 0, SA, 1e-5f, NULL);
        uint32_t b5, b7;
        memcpy(&b5, &ya[5], 4);
        memcpy(&b7, &ya[7], 4);
        CHECK(b5 == 0x7fc00000u && b7 == 0x7fc00000u, "NaN outputs 0x%08x 0x%08x, not 0x7fc00000",
              b5, b7);
        yc[7] = NAN;
    }
    libnorm_gated_rmsnorm_f32_ex(ya, xbuf, yc, NULL, 1, D, 0, GA, 1e-5f, NULL);
    CHECK(ya[5] == 0.0f && isnan(ya[7]), "sigmoid(-Inf) = 0, sigmoid(NaN) NaN: %g %g", ya[5],
          ya[7]);
    libnorm_gated_rmsnorm_f32_ex(ya, xbuf, yc, NULL, 1, D, 32, SB, 1e-5f, NULL);
    CHECK(isnan(ya[0]) && isnan(ya[31]) && !isnan(ya[32]),
          "BEFORE: a NaN u makes its group NaN, only its group");
}

int main(void)
{
    fill_inputs();
    test_bad_inputs();
    test_single_rows();
    test_semantics();
    test_rmsnorm_back();
    test_misc();
    test_outer_errors();
    test_outer_semantics();
    test_l2();
    test_groupnorm();
    test_add_errors();
    test_add_semantics();
    test_weight_plus_one();
    test_gated();
    test_threads();
    test_x16();
    printf("test_api (%s): %d passed, %d failed\n", libnorm_active_isa(), passed, failed);
    return failed ? 1 : 0;
}
