/*
 * Public API tests, against libnorm.so exactly as an engine links it: every bad input returns its
 * status and touches no output; rows == 0; in place; strides; the ith/nth row split; per-row
 * statistics; strerror and version; concurrent first calls from many threads.
 */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libnorm.h"

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
        o.flags = 1;
        expect(LIBNORM_EOPTS, ln, ybuf, xbuf, NULL, NULL, 2, 16, 1e-5f, &o, "unknown flag");
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
    o.flags = 1;
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
    CHECK(sizeof(libnorm_opts) == 3 * sizeof(size_t) + 4 * sizeof(unsigned) + 2 * sizeof(float *),
          "libnorm_opts has padding (%zu bytes)", sizeof(libnorm_opts));
    CHECK(libnorm_version() == LIBNORM_VERSION, "version %x vs header %x", libnorm_version(),
          LIBNORM_VERSION);
    CHECK(strcmp(libnorm_version_string(), LIBNORM_VERSION_STRING) == 0, "version string");
    const char *isa = libnorm_active_isa();
    CHECK(isa && (!strcmp(isa, "scalar") || !strcmp(isa, "avx2") || !strcmp(isa, "avx512") ||
                  !strcmp(isa, "neon")),
          "active isa %s", isa ? isa : "(null)");
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

int main(void)
{
    fill_inputs();
    test_bad_inputs();
    test_semantics();
    test_rmsnorm_back();
    test_misc();
    test_threads();
    printf("test_api (%s): %d passed, %d failed\n", libnorm_active_isa(), passed, failed);
    return failed ? 1 : 0;
}
