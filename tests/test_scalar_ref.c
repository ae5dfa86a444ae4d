/*
 * The scalar tier against the literal reference (tests/canon_ref.c: the unpruned definition of
 * the canonical order, frozen), bit for bit: y (and the stride gaps, which must stay untouched),
 * mean and rstd, for LayerNorm (with and without weight and bias) and RMSNorm, on every dim
 * 1..1100 and on 1537, 2047, 2048, 2049, 4097 and 8193, with rows of every special family (as
 * checkasm's gen_row) and steps that make LayerNorm repeat pass 2; every row count 1..17 on the
 * short dims (the row groups of two, four and eight rows and the rows left over), weights of 0
 * (the output's redo), rows whose elements span 2^30 .. 1e-9 (where the order of the totals'
 * additions shows in the bits); and norm_fmaf() with its quick forms (the four- and two-lane
 * SSE2 ones too) against fmaf() on hard triples.
 *
 * The scalar tier prunes what the literal definition computes and throws away (padding subtrees,
 * empty lanes); this proves the pruning changes no bit. checkasm then carries the equality to
 * every SIMD tier, and tests/test_kat.c pins the result across architectures.
 *
 *   test_scalar_ref [--seed=N] [--verbose]     (fixed default seed: the same rows every run)
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canon_ref.h"
#include "test_rows.h"
#include "norm_internal.h"
#include "scalar/norm_fmaf.h"

static int same(const float *a, const float *b, size_t n, size_t *at)
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], 4) != 0) {
            *at = i;
            return 0;
        }
    return 1;
}

/* One job on both; returns 1 when every bit agrees. wplus: the scalar tier's job has
 * LIBNORM_WEIGHT_PLUS_ONE (norm_job.wplus), and the reference (which has no such flag) gets the
 * weight (float)(1.0f + w), the factor the flag defines. inplace: the scalar tier's job runs in
 * place (y == x, one row stride; the reference out of place), and only the rows' elements are
 * compared (the gaps hold x's). */
static int run_one(int ln, size_t dim, size_t rows, int verbose, int wplus, int inplace)
{
    size_t xs = dim + ((rnd() & 1) ? 0 : irand(9)), ys = dim + ((rnd() & 1) ? 0 : irand(9));
    if (inplace)
        ys = xs;
    int use_w = irand(3) != 0, use_b = ln && irand(3) != 0;
    float eps = (rnd() & 1) ? 1e-5f : ((rnd() & 1) ? 0.0f : 1e-6f);
    float *x = malloc(rows * xs * sizeof(float)), *w = malloc(dim * sizeof(float));
    float *b = malloc(dim * sizeof(float));
    float *y[2], *mean[2], *rstd[2];
    for (int k = 0; k < 2; k++) {
        y[k] = malloc(rows * ys * sizeof(float));
        mean[k] = malloc(rows * sizeof(float));
        rstd[k] = malloc(rows * sizeof(float));
        if (!y[k] || !mean[k] || !rstd[k]) {
            fprintf(stderr, "test_scalar_ref: out of memory\n");
            exit(2);
        }
        for (size_t i = 0; i < rows * ys; i++)
            y[k][i] = -7.0f;
        for (size_t r = 0; r < rows; r++)
            mean[k][r] = rstd[k][r] = -7.0f;
    }
    if (!x || !w || !b) {
        fprintf(stderr, "test_scalar_ref: out of memory\n");
        exit(2);
    }
    for (size_t r = 0; r < rows; r++) {
        gen_row(x + r * xs, dim);
        for (size_t i = dim; i < xs; i++)
            x[r * xs + i] = NAN;
    }
    float *wref = malloc(dim * sizeof(float));
    if (!wref) {
        fprintf(stderr, "test_scalar_ref: out of memory\n");
        exit(2);
    }
    for (size_t i = 0; i < dim; i++) {
        w[i] = (float)((wplus ? 0.0 : 1.0) + 0.5 * nrand());
        b[i] = (float)(0.5 * nrand());
    }
    /* Sometimes a weight factor of 0: outputs of exactly b (or 0), which the output passes' quick
     * fmaf test sends through their redo (the recompute with norm_fmaf()). */
    if (irand(3) == 0)
        w[irand(dim)] = wplus ? -1.0f : 0.0f;
    for (size_t i = 0; i < dim; i++)
        wref[i] = wplus ? 1.0f + w[i] : w[i];
    if (inplace)
        memcpy(y[1], x, rows * xs * sizeof(float));
    norm_job j[2];
    for (int k = 0; k < 2; k++) {
        norm_job t = {y[k], k == 1 && inplace ? y[1] : x, use_w ? (k ? w : wref) : NULL,
                      use_b ? b : NULL, rows, dim, xs, ys, eps, ln ? mean[k] : NULL, rstd[k],
                      NULL, NORM_KIND_RMS, NULL, k ? wplus : 0, 0};
        j[k] = t;
    }
    if (ln) {
        canon_ref_layernorm_f32(&j[0]);
        norm_layernorm_f32_scalar(&j[1]);
    } else {
        canon_ref_rmsnorm_f32(&j[0]);
        norm_rmsnorm_f32_scalar(&j[1]);
    }
    size_t at = 0;
    int ok = 1;
    const char *op = ln ? "layernorm" : "rmsnorm";
    int ydiff = 0;
    if (inplace) {
        for (size_t r = 0; r < rows && !ydiff; r++)
            if (!same(y[0] + r * ys, y[1] + r * ys, dim, &at)) {
                at += r * ys;
                ydiff = 1;
            }
    } else {
        ydiff = !same(y[0], y[1], rows * ys, &at);
    }
    if (ydiff) {
        printf("  FAIL %s dim=%zu rows=%zu w=%d b=%d eps=%g wplus=%d inplace=%d: y row %zu [%zu]: "
               "reference %.9g, scalar %.9g\n",
               op, dim, rows, use_w, use_b, eps, wplus, inplace, at / ys, at % ys, y[0][at],
               y[1][at]);
        ok = 0;
    } else if (!same(mean[0], mean[1], rows, &at) || !same(rstd[0], rstd[1], rows, &at)) {
        printf("  FAIL %s dim=%zu rows=%zu w=%d b=%d eps=%g wplus=%d inplace=%d: mean/rstd of "
               "row %zu: reference %.9g/%.9g, scalar %.9g/%.9g\n",
               op, dim, rows, use_w, use_b, eps, wplus, inplace, at, mean[0][at], rstd[0][at],
               mean[1][at], rstd[1][at]);
        ok = 0;
    } else if (verbose) {
        printf("  ok %s dim=%zu rows=%zu\n", op, dim, rows);
    }
    free(x);
    free(w);
    free(wref);
    free(b);
    for (int k = 0; k < 2; k++) {
        free(y[k]);
        free(mean[k]);
        free(rstd[k]);
    }
    return ok;
}

/* RMSNorm backward: the scalar tier against canon_ref_rmsnorm_back_f32(), dx, rstd and the
 * totals (finite ones bit for bit, non-finite ones only as non-finite). */
static int run_back(size_t dim, size_t rows, int verbose)
{
    size_t xs = dim + ((rnd() & 1) ? 0 : irand(9)), ys = dim + ((rnd() & 1) ? 0 : irand(9));
    float eps = (rnd() & 1) ? 1e-5f : ((rnd() & 1) ? 0.0f : 1e-6f);
    float *x = malloc(rows * xs * sizeof(float)), *dz = malloc(rows * xs * sizeof(float));
    float *y[2], *rstd[2];
    double *sums[2];
    if (!x || !dz) {
        fprintf(stderr, "test_scalar_ref: out of memory\n");
        exit(2);
    }
    for (int k = 0; k < 2; k++) {
        y[k] = malloc(rows * ys * sizeof(float));
        rstd[k] = malloc(rows * sizeof(float));
        sums[k] = malloc(2 * rows * sizeof(double));
        if (!y[k] || !rstd[k] || !sums[k]) {
            fprintf(stderr, "test_scalar_ref: out of memory\n");
            exit(2);
        }
        for (size_t i = 0; i < rows * ys; i++)
            y[k][i] = -7.0f;
        for (size_t r = 0; r < rows; r++)
            rstd[k][r] = -7.0f;
        for (size_t i = 0; i < 2 * rows; i++)
            sums[k][i] = -7.0;
    }
    for (size_t r = 0; r < rows; r++) {
        gen_row(x + r * xs, dim);
        gen_dz(dz + r * xs, x + r * xs, dim);
        for (size_t i = dim; i < xs; i++)
            x[r * xs + i] = dz[r * xs + i] = NAN;
    }
    norm_job j[2];
    for (int k = 0; k < 2; k++) {
        norm_job t = {y[k], x, NULL, NULL, rows, dim, xs, ys, eps, NULL, rstd[k], sums[k],
                      NORM_KIND_RMS, dz, 0, 0};
        j[k] = t;
    }
    canon_ref_rmsnorm_back_f32(&j[0]);
    norm_rmsnorm_back_f32_scalar(&j[1]);
    size_t at = 0;
    int ok = 1;
    for (size_t i = 0; i < 2 * rows && ok; i++)
        if (isfinite(sums[0][i]) ? memcmp(&sums[0][i], &sums[1][i], 8) != 0
                                 : isfinite(sums[1][i])) {
            printf("  FAIL rmsnorm_back dim=%zu rows=%zu eps=%g: total %s of row %zu: reference "
                   "%.17g, scalar %.17g\n",
                   dim, rows, eps, i % 2 ? "sxdz" : "sxx", i / 2, sums[0][i], sums[1][i]);
            ok = 0;
        }
    if (ok && !same(y[0], y[1], rows * ys, &at)) {
        printf("  FAIL rmsnorm_back dim=%zu rows=%zu eps=%g: dx row %zu [%zu]: reference %.9g, "
               "scalar %.9g\n",
               dim, rows, eps, at / ys, at % ys, y[0][at], y[1][at]);
        ok = 0;
    } else if (ok && !same(rstd[0], rstd[1], rows, &at)) {
        printf("  FAIL rmsnorm_back dim=%zu rows=%zu: rstd of row %zu: reference %.9g, scalar "
               "%.9g\n",
               dim, rows, at, rstd[0][at], rstd[1][at]);
        ok = 0;
    } else if (ok && verbose) {
        printf("  ok rmsnorm_back dim=%zu rows=%zu\n", dim, rows);
    }
    free(x);
    free(dz);
    for (int k = 0; k < 2; k++) {
        free(y[k]);
        free(rstd[k]);
        free(sums[k]);
    }
    return ok;
}

/* norm_fmaf() and its quick forms (src/scalar/norm_fmaf.h) against libm's fmaf(), which is
 * correctly rounded: random triples of every magnitude, and triples built so that a*b + c lands
 * next to or exactly on a point halfway between two floats (where rounding a double sum to float
 * would round twice), in the normal and the subnormal range. Returns the number of mismatches. */
#if defined(NORM_FMAF_X4)
/* norm_fmaf_quick0_x4() on four triples, norm_fmaf_quick0_x2() on the first two: each lane that
 * its flag leaves alone must be fmaf()'s result. Returns the number of lanes that differ. */
static size_t check_fmaf_x4(const float a[4], const float b[4], const float c[4])
{
    static size_t printed = 0;
    __m128i flag;
    float got[4];
    int32_t fl[4];
    _mm_storeu_ps(got, norm_fmaf_quick0_x4(_mm_loadu_ps(a), _mm_loadu_ps(b), _mm_loadu_ps(c),
                                           &flag));
    _mm_storeu_si128((__m128i *)fl, flag);
    /* and the two-lane form on lanes 0 and 1 (lanes 2 and 3: result 0, flag clear) */
    __m128i flag2;
    float got2[4];
    int32_t fl2[4];
    _mm_storeu_ps(got2, norm_fmaf_quick0_x2(_mm_loadu_ps(a), _mm_loadu_ps(b), _mm_loadu_ps(c),
                                            &flag2));
    _mm_storeu_si128((__m128i *)fl2, flag2);
    size_t bad = 0;
    for (int k = 0; k < 4; k++) {
        float want = fmaf(a[k], b[k], c[k]);
        if (!fl[k] && memcmp(&want, &got[k], 4) != 0) {
            if (printed++ < 5)
                printf("  FAIL norm_fmaf_quick0_x4 lane %d (%a, %a, %a): fmaf %a, x4 %a\n", k,
                       a[k], b[k], c[k], want, got[k]);
            bad++;
        }
        if (k < 2 ? !fl2[k] && memcmp(&want, &got2[k], 4) != 0 : fl2[k] != 0 || got2[k] != 0.0f) {
            if (printed++ < 5)
                printf("  FAIL norm_fmaf_quick0_x2 lane %d (%a, %a, %a): fmaf %a, x2 %a (flag "
                       "%d)\n", k, a[k], b[k], c[k], want, got2[k], fl2[k]);
            bad++;
        }
    }
    return bad;
}
#endif

static size_t check_fmaf(size_t count)
{
    size_t bad = 0;
#if defined(NORM_FMAF_X4)
    float qa[4], qb[4], qc[4];
#endif
    for (size_t k = 0; k < count; k++) {
        float a = (float)(nrand() * pow(2.0, (double)(int)irand(60) - 30));
        float b = (float)(nrand() * pow(2.0, (double)(int)irand(60) - 30));
        float c;
        switch (k % 4) {
        case 0:                          /* anything */
            c = (float)(nrand() * pow(2.0, (double)(int)irand(120) - 60));
            break;
        case 1: {
            /* a*b + c = M - k^2 2^(E-70) with M = F + ulp(F)/2 halfway between the floats F and
             * F + ulp(F) (c = F, a*b = 2^(E-24) (1 + k 2^-23)(1 - k 2^-23)): the double sum
             * rounds to M exactly, and only rounding to odd gets F; with c = F + ulp(F) and a*b
             * negated it is M + k^2 2^(E-70), which must give F + ulp(F). */
            int kk = 1 + (int)irand(255), E = (int)irand(200) - 100;
            double F = ldexp(1.0 + (double)irand(1u << 23) * 0x1p-23, E), u = ldexp(1.0, E - 23);
            a = (float)ldexp(1.0 + kk * 0x1p-23, E - 24);
            b = (float)(1.0 - kk * 0x1p-23);
            c = (float)F;
            if (rnd() & 1) {
                a = -a;
                c = (float)(F + u);
            }
            if (rnd() & 1) {
                a = -a;
                c = -c;
            }
            break;
        }
        case 2: {                        /* the same below FLT_MIN: F = m 2^-149, a*b ~ 2^-150 */
            double F = (double)irand(1u << 23) * 0x1p-149;
            a = (float)(0x1p-75 * (1.0 + 0x1p-23));
            b = (float)(0x1p-75 * (1.0 - 0x1p-23));
            c = (float)F;
            if (rnd() & 1) {
                a = -a;
                c = (float)(F + 0x1p-149);
            }
            break;
        }
        default:                         /* the lone square and c = 0, signed zeros */
            c = (rnd() & 1) ? 0.0f : -0.0f;
            if (rnd() & 1)
                b = (rnd() & 1) ? 0.0f : -0.0f;
            break;
        }
#if defined(NORM_FMAF_X4)
        /* the four-lane form, four triples at a time (lane k % 4 holds this one) */
        qa[k % 4] = a;
        qb[k % 4] = b;
        qc[k % 4] = c;
        if (k % 4 == 3)
            bad += check_fmaf_x4(qa, qb, qc);
#endif
        float want = fmaf(a, b, c), got = norm_fmaf(a, b, c);
        int redo = 0, redo_q = 0, redo_0 = 0;
        float fast = norm_fmaf_fast(a, b, c, &redo), quick = norm_fmaf_quick(a, b, c, &redo_q);
        float quick0 = norm_fmaf_quick0(a, b, c, &redo_0);
        if (memcmp(&want, &got, 4) != 0 || (!redo && memcmp(&want, &fast, 4) != 0) ||
            (!redo_q && memcmp(&want, &quick, 4) != 0) ||
            (!redo_0 && memcmp(&want, &quick0, 4) != 0)) {
            if (bad < 5)
                printf("  FAIL norm_fmaf(%a, %a, %a): fmaf %a, norm_fmaf %a, fast %a (redo %d), "
                       "quick %a (redo %d), quick0 %a (redo %d)\n",
                       a, b, c, want, got, fast, redo, quick, redo_q, quick0, redo_0);
            bad++;
        }
    }
    return bad;
}

/* The same comparison on the triples whose a*b + c lies next to the point halfway between the
 * largest subnormal float and FLT_MIN (and next to the smallest ones): the double sum rounds onto
 * that point, below FLT_MIN, and rounding it to float gives FLT_MIN where the exact sum gives the
 * subnormal (or the other way round): a range test that left out the results equal to FLT_MIN
 * would miss it. Returns the number of mismatches. */
static size_t check_fmaf_edges(void)
{
    static const double ms[] = {8388607, 8388606, 8388605, 1, 2, 0};
    size_t bad = 0;
    for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++)
        for (int v = 0; v < 4; v++) {
            float a = (float)(0x1p-75 * (1.0 + 0x1p-23)), b = (float)(0x1p-75 * (1.0 - 0x1p-23));
            float c = (float)(ms[i] * 0x1p-149);
            if (v & 1) { /* a*b below c + ulp: M + tiny from above */
                a = -a;
                c = (float)((ms[i] + 1) * 0x1p-149);
            }
            if (v & 2) {
                a = -a;
                c = -c;
            }
#if defined(NORM_FMAF_X4)
            {
                float qa[4] = {a, a, a, a}, qb[4] = {b, b, b, b}, qc[4] = {c, c, c, c};
                qa[1] = qa[3] = 0.75f; /* ordinary lanes beside it */
                bad += check_fmaf_x4(qa, qb, qc);
            }
#endif
            float want = fmaf(a, b, c);
            int r1 = 0, r2 = 0, r3 = 0;
            float got[4] = {norm_fmaf(a, b, c), norm_fmaf_fast(a, b, c, &r1),
                            norm_fmaf_quick(a, b, c, &r2), norm_fmaf_quick0(a, b, c, &r3)};
            int redo[4] = {0, r1, r2, r3};
            for (int k = 0; k < 4; k++)
                if (!redo[k] && memcmp(&want, &got[k], 4) != 0) {
                    if (bad < 5)
                        printf("  FAIL fmaf edge (%a, %a, %a): fmaf %a, form %d gives %a\n", a, b,
                               c, want, k, got[k]);
                    bad++;
                }
        }
    return bad;
}

/* RMSNorm rows whose pairs of squares fma(b, b, a*a) have sums on a float midpoint: a = 1 and
 * b = 2^-12 (times powers of 4) give 1 + 2^-24 exactly, which the scalar tier's quick test flags
 * (it cannot tell such a sum from an inexact one without the rounding error), so its block goes
 * through the re-test and norm_fmaf(): that path, compared with the literal reference. Returns the
 * number of rows that differ. */
static size_t check_square_midpoints(void)
{
    static const size_t dims[] = {17, 32, 48, 100, 512, 700};
    size_t bad = 0;
    for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++) {
        size_t n = dims[di];
        float x[700], y[2][700], rstd[2];
        for (size_t i = 0; i < n; i++) {
            float sc = ldexpf(1.0f, 2 * (int)(i % 5) - 4);
            x[i] = (i / 16) % 2 == 0 ? sc : sc * 0x1p-12f;
            if (i % 3 == 1)
                x[i] = (float)(0.3 + 0.1 * nrand());   /* ordinary pairs in between */
        }
        for (int k = 0; k < 2; k++) {
            norm_job t = {y[k], x, NULL, NULL, 1, n, n, n, 1e-5f, NULL, &rstd[k], NULL, NORM_KIND_RMS, NULL, 0, 0};
            if (k == 0)
                canon_ref_rmsnorm_f32(&t);
            else
                norm_rmsnorm_f32_scalar(&t);
        }
        size_t at = 0;
        if (!same(y[0], y[1], n, &at) || memcmp(&rstd[0], &rstd[1], 4) != 0) {
            printf("  FAIL rmsnorm dim=%zu, squares on midpoints: y[%zu] reference %.9g, scalar "
                   "%.9g\n", n, at, y[0][at], y[1][at]);
            bad++;
        }
    }
    return bad;
}

/* Rows whose elements span 60 binary orders of magnitude (+-2^30 exactly, which cancel exactly,
 * and elements near +-1 and +-1e-9; the first one 0, the probe's shift), where the double additions
 * of the lanes' totals are inexact and their order shows in the bits (on ordinary rows the totals
 * of a few floats are exact in any order): LayerNorm with weight and bias
 * and without, RMSNorm, on dims 1..40 and 1, 8, 9 and 17 rows (the groups of eight rows and the
 * rows left over). Returns the number of jobs that differ from the literal reference. */
static size_t check_wide_rows(void)
{
    static const double scale[3] = {0x1p30, 1.0, 1e-9};
    static const size_t rowss[] = {1, 8, 9, 17};
    enum { MAXD = 40, MAXR = 17 };
    static float x[MAXR * MAXD], y[2][MAXR * MAXD], w[MAXD], b[MAXD], mean[2][MAXR],
        rstd[2][MAXR];
    size_t bad = 0;
    for (size_t n = 1; n <= MAXD; n++)
        for (size_t ri = 0; ri < sizeof rowss / sizeof rowss[0]; ri++)
            for (int op = 0; op < 3; op++) {
                size_t rows = rowss[ri];
                for (size_t i = 0; i < rows * n; i++) {
                    size_t sc = irand(3);
                    x[i] = (float)(((rnd() & 1) ? -1.0 : 1.0) * scale[sc] *
                                   (sc ? 1.0 + 0.25 * nrand() : 1.0));
                    if (i % n == 0)
                        x[i] = 0.0f;
                }
                for (size_t i = 0; i < n; i++) {
                    w[i] = (float)(1.0 + 0.5 * nrand());
                    b[i] = (float)(0.5 * nrand());
                }
                for (int k = 0; k < 2; k++) {
                    for (size_t i = 0; i < rows * n; i++)
                        y[k][i] = -7.0f;
                    norm_job t = {y[k], x, op == 1 ? NULL : w, op == 0 ? b : NULL, rows, n, n, n,
                                  1e-5f, op == 2 ? NULL : mean[k], rstd[k], NULL, NORM_KIND_RMS,
                                  NULL, 0, 0};
                    if (op == 2)
                        (k ? norm_rmsnorm_f32_scalar : canon_ref_rmsnorm_f32)(&t);
                    else
                        (k ? norm_layernorm_f32_scalar : canon_ref_layernorm_f32)(&t);
                }
                size_t at = 0;
                if (!same(y[0], y[1], rows * n, &at) || !same(rstd[0], rstd[1], rows, &at) ||
                    (op != 2 && !same(mean[0], mean[1], rows, &at))) {
                    if (bad < 5)
                        printf("  FAIL %s dim=%zu rows=%zu, elements of 2^30, 1 and 1e-9: row %zu "
                               "differs from the reference\n",
                               op == 2 ? "rmsnorm" : op ? "layernorm (no affine)" : "layernorm",
                               n, rows, at / n);
                    bad++;
                }
            }
    return bad;
}

int main(int argc, char **argv)
{
    uint64_t seed = 20261205;
    int verbose = 0;
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--seed=", 7) == 0)
            seed = strtoull(argv[i] + 7, NULL, 0);
        else if (strcmp(argv[i], "--verbose") == 0 || strcmp(argv[i], "-v") == 0)
            verbose = 1;
        else {
            fprintf(stderr, "usage: test_scalar_ref [--seed=N] [--verbose]\n");
            return 2;
        }
    }
    rng_state = seed;
    printf("test_scalar_ref: seed %llu (--seed=N to vary)\n", (unsigned long long)seed);
    size_t fma_bad = check_fmaf(2000000) + check_fmaf_edges();
    printf("test_scalar_ref: norm_fmaf against fmaf, 2000000 triples and 24 next to FLT_MIN "
           "(%s%s): %zu differ\n",
#if defined(FP_FAST_FMAF)
           "it is fmaf here",
#else
           "computed in double",
#endif
#if defined(NORM_FMAF_X4)
           ", and on four SSE2 lanes",
#else
           "",
#endif
           fma_bad);
    size_t mid_bad = check_square_midpoints();
    printf("test_scalar_ref: RMSNorm rows with squares on float midpoints: %zu differ\n", mid_bad);
    size_t wide_bad = check_wide_rows();
    printf("test_scalar_ref: rows of elements 2^30, 1 and 1e-9 (dims 1..40, 1 to 17 rows, 480 "
           "jobs): %zu differ\n", wide_bad);
    mid_bad += wide_bad;
    size_t dims[1200], nd = 0;
    for (size_t d = 1; d <= 1100; d++)
        dims[nd++] = d;
    static const size_t extra[] = {1537, 2047, 2048, 2049, 4097, 8193};
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++)
        dims[nd++] = extra[i];
    size_t jobs = 0, rows_total = 0, fails = 0;
    for (size_t di = 0; di < nd && fails < 20; di++)
        for (int ln = 0; ln < 2; ln++)
            for (int k = 0; k < 2; k++) {
                size_t rows = 1 + irand(dims[di] <= 1100 ? 6 : 12);
                fails += !run_one(ln, dims[di], rows, verbose, 0, 0);
                jobs++;
                rows_total += rows;
            }
    printf("test_scalar_ref: %zu jobs (%zu rows, dims 1..1100 and 6 long ones), %zu differ from "
           "the literal reference\n",
           jobs, rows_total, fails);
    /* The row groups and LIBNORM_WEIGHT_PLUS_ONE: every row count 1..17 (whole groups of two,
     * four and eight rows, the pairs in them and the rows left over) on every short dim and some
     * longer ones, with and without the flag, out of place and in place. */
    static const size_t gdims[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 24,
                                   31, 32, 33, 48, 64, 100, 128, 512, 513, 768, 1030};
    size_t gjobs = 0, gfails = 0;
    for (size_t di = 0; di < sizeof gdims / sizeof gdims[0] && gfails < 20; di++)
        for (size_t rows = 1; rows <= 17; rows++)
            for (int ln = 0; ln < 2; ln++)
                for (int v = 0; v < 4; v++) {
                    gfails += !run_one(ln, gdims[di], rows, verbose, v & 1, v >> 1);
                    gjobs++;
                }
    printf("test_scalar_ref: row groups, %zu jobs (rows 1..17 on %zu dims, with and without "
           "LIBNORM_WEIGHT_PLUS_ONE, out of place and in place), %zu differ from the literal "
           "reference\n",
           gjobs, sizeof gdims / sizeof gdims[0], gfails);
    fails += gfails;
    size_t bjobs = 0, bfails = 0;
    for (size_t di = 0; di < nd && bfails < 20; di++)
        for (int k = 0; k < 2; k++) {
            bfails += !run_back(dims[di], 1 + irand(dims[di] <= 1100 ? 4 : 8), verbose);
            bjobs++;
        }
    printf("test_scalar_ref: RMSNorm backward, %zu jobs (dims 1..1100 and 6 long ones): %zu "
           "differ from the literal reference\n",
           bjobs, bfails);
    fails += bfails;
    return fails || fma_bad || mid_bad ? 1 : 0;
}
