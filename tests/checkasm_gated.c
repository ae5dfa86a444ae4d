/*
 * checkasm, gated RMSNorm (`checkasm --test=gated`; part of every full run): the tier's
 * gated_rmsnorm_f32 kernel against the scalar tier's on identical inputs, bit for bit — y (the
 * whole buffer: canaries around and between the rows must survive), the per-group rstd and the
 * per-group canonical totals of squares (norm_gated_job.sums) — for dims 1..130 and the block
 * edges, groups (dim itself, halves, quarters, and every small divisor), all three gates, with
 * and without a weight, with (1 + w), random row strides, in place over x and over z, x == z.
 * x rows come from the shared row families (test_rows.h: NaN, Inf, huge, tiny, zero rows: the
 * rare path); z mixes ordinary values with the special ones: +-0, +-Inf, NaN, subnormals, and
 * the large |z| where SLEEF's exp over- or underflows (+-88..89, +-100, +-104, +-105, 1e30,
 * FLT_MAX). Inputs must be unchanged (not in place). Guard pages: every buffer against an
 * inaccessible page, before and after. The entry layer (norm_gated_call): two-level layouts,
 * every ith/nth share, rstd placement, on both tables. And the scalar tier's own total of squares
 * (src/scalar/gated_rmsnorm_scalar.c) against the RMSNorm kernel's canonical totals of the same
 * groups (it is a second implementation of the canonical order).
 */
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "libnorm.h"
#include "norm_internal.h"
#include "test_rows.h"

int checkasm_gated(const norm_dsp *ref, const norm_dsp *tst, uint64_t seed, int quick, int guard,
                   int check_sums, size_t *cases);
/* checkasm.c: f(arg) under the crash handler; 0 or the signal. */
int checkasm_guarded(void (*f)(const void *), const void *arg);

static const uint32_t GCANARY = 0xa5a5a5a5u;
static const uint64_t GSUMS_CANARY = 0x7ff0deadbeefcafeull;
static const char *const gate_names[3] = {"silu_after", "silu_before", "sigmoid_after"};

typedef struct {
    norm_gated_fn fn;
    const norm_gated_job *job;
} thunk;
static void run_thunk(const void *a)
{
    const thunk *t = a;
    t->fn(t->job);
}

static void *xalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "checkasm: out of memory\n");
        exit(2);
    }
    return p;
}

static float *canary_buf(size_t n)
{
    float *p = xalloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++)
        memcpy(&p[i], &GCANARY, 4);
    return p;
}

static double *sums_buf(size_t n)
{
    double *p = xalloc(n * sizeof(double));
    for (size_t i = 0; i < n; i++)
        memcpy(&p[i], &GSUMS_CANARY, 8);
    return p;
}

/* The special gate values. */
static float special_z(void)
{
    static const float v[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, -NAN, 1e-45f, -1e-45f,
                              1e-40f, 88.0f, -88.0f, 88.7f, -88.7f, 89.0f, -89.0f, 100.0f,
                              -100.0f, 100.5f, -100.5f, 104.0f, -104.0f, 105.0f, -105.0f, 1e30f,
                              -1e30f, FLT_MAX, -FLT_MAX, 17.0f, -17.0f, 0.5f, -0.5f};
    return v[irand(sizeof v / sizeof v[0])];
}

static void gen_z(float *z, size_t n)
{
    size_t kind = irand(10);
    double sc = kind < 3 ? 1.0 : kind < 6 ? 4.0 : kind < 8 ? 30.0 : 1e-3;
    for (size_t i = 0; i < n; i++)
        z[i] = (float)(sc * nrand());
    if (kind >= 5) /* special values sprinkled in */
        for (size_t k = 0, m = 1 + irand(n < 8 ? n : 8); k < m; k++)
            z[irand(n)] = special_z();
}

static int bits_eq(const float *a, const float *b, size_t n)
{
    return memcmp(a, b, n * sizeof(float)) == 0;
}

static int sums_eq(const double *a, const double *b, size_t n, size_t *at)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t u, v;
        memcpy(&u, &a[i], 8);
        memcpy(&v, &b[i], 8);
        int bad = u == GSUMS_CANARY || v == GSUMS_CANARY ||
                  (isfinite(a[i]) ? u != v : isfinite(b[i]));
        if (bad) {
            *at = i;
            return 0;
        }
    }
    return 1;
}

static void print_first_diff(const char *what, const float *a, const float *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], 4) != 0) {
            uint32_t u, v;
            memcpy(&u, &a[i], 4);
            memcpy(&v, &b[i], 4);
            printf("     %s[%zu]: scalar %.9g (0x%08x) vs %.9g (0x%08x)\n", what, i, a[i], u,
                   b[i], v);
            return;
        }
}

/* One kernel case: rows of dim, the given group and gate; inplace 0 none, 1 y == x, 2 y == z,
 * 3 x == z; pad: the row strides' padding (x, z and y), or -1: random. Returns 1 on success. */
static int gated_case(const norm_dsp *ref, const norm_dsp *tst, size_t dim, size_t group,
                      size_t rows, int gate, int wmode, int inplace, int check_sums, int pad)
{
    const size_t ng = dim / group;
    size_t xs = dim + (pad >= 0 ? (size_t)pad : irand(3) == 0 ? irand(9) : 0);
    size_t ys = inplace == 1 || inplace == 2 ? xs
                : dim + (pad >= 0 ? (size_t)pad : irand(3) == 0 ? irand(9) : 0);
    const size_t nx = rows * xs + 16, ny = rows * ys + 16;
    float *x0 = xalloc(nx * sizeof(float)), *z0 = xalloc(nx * sizeof(float));
    for (size_t i = 0; i < nx; i++)
        x0[i] = z0[i] = 1234.5f; /* gaps between the rows (never read) */
    for (size_t r = 0; r < rows; r++) {
        gen_row(x0 + r * xs, dim);
        gen_z(z0 + r * xs, dim);
    }
    if (inplace == 3)
        memcpy(z0, x0, nx * sizeof(float));
    float *w = xalloc(dim * sizeof(float));
    for (size_t i = 0; i < dim; i++)
        w[i] = (float)(wmode == 2 ? 0.3 * nrand() : 1.0 + 0.5 * nrand());
    float *bufs[2][3]; /* per side: x, z, y */
    float *rs[2];
    double *sm[2];
    for (int s = 0; s < 2; s++) {
        bufs[s][0] = xalloc(nx * sizeof(float));
        memcpy(bufs[s][0], x0, nx * sizeof(float));
        bufs[s][1] = xalloc(nx * sizeof(float));
        memcpy(bufs[s][1], z0, nx * sizeof(float));
        bufs[s][2] = canary_buf(ny);
        rs[s] = canary_buf(rows * ng + 2);
        sm[s] = sums_buf(rows * ng);
    }
    int ok = 1, sig = 0;
    for (int s = 0; s < 2; s++) {
        float *x = bufs[s][0], *z = inplace == 3 ? bufs[s][0] : bufs[s][1];
        float *y = inplace == 1 ? x : inplace == 2 ? z : bufs[s][2];
        norm_gated_job j = {y, x, z, wmode ? w : NULL, rows, dim, group, xs, ys, 1e-5f, gate,
                            wmode == 2, rs[s] + 1, check_sums ? sm[s] : NULL};
        if (s == 0) {
            ref->gated_rmsnorm_f32(&j);
        } else {
            thunk t = {tst->gated_rmsnorm_f32, &j};
            sig = checkasm_guarded(run_thunk, &t);
        }
    }
    const char *why = NULL;
    size_t at = 0;
    if (sig)
        why = "crashed";
    else if (!bits_eq(bufs[0][2], bufs[1][2], ny) || !bits_eq(bufs[0][0], bufs[1][0], nx) ||
             !bits_eq(bufs[0][1], bufs[1][1], nx))
        why = "y differs (or a canary / gap was written)";
    else if (!bits_eq(rs[0], rs[1], rows * ng + 2))
        why = "rstd differs";
    else if (check_sums && !sums_eq(sm[0], sm[1], rows * ng, &at))
        why = "group total of squares differs";
    else if ((inplace == 0 || inplace == 3) &&
             (!bits_eq(bufs[1][0], x0, nx) || !bits_eq(bufs[1][1], z0, nx)))
        why = "an input was changed";
    if (!why) { /* every NaN the scalar tier wrote is 0x7fc00000 (NAN) */
        const float *yy = bufs[0][inplace == 1 ? 0 : inplace == 2 ? 1 : 2];
        for (size_t i = 0; i < rows * ys && !why; i++) {
            uint32_t u;
            memcpy(&u, &yy[i], 4);
            if (i % ys < dim && yy[i] != yy[i] && u != 0x7fc00000u)
                why = "a NaN output is not 0x7fc00000";
        }
    }
    if (!why && inplace != 1 && inplace != 2) {
        /* every float of y outside the rows still the canary, every one inside written */
        for (size_t i = 0; i < ny && !why; i++) {
            uint32_t u;
            memcpy(&u, &bufs[0][2][i], 4);
            int inside = i < rows * ys && i % ys < dim;
            if (!inside && u != GCANARY)
                why = "the scalar tier wrote outside the rows";
        }
    }
    if (why) {
        printf("   FAIL %s gated_rmsnorm_f32 %s dim=%zu group=%zu rows=%zu w=%d inplace=%d "
               "xs=%zu ys=%zu: %s\n",
               tst->name, gate_names[gate], dim, group, rows, wmode, inplace, xs, ys, why);
        if (!sig) {
            print_first_diff("y", bufs[0][2], bufs[1][2], ny);
            print_first_diff("x/y", bufs[0][0], bufs[1][0], nx);
            print_first_diff("z/y", bufs[0][1], bufs[1][1], nx);
            print_first_diff("rstd", rs[0], rs[1], rows * ng + 2);
            if (check_sums && !sums_eq(sm[0], sm[1], rows * ng, &at))
                printf("     sums[%zu]: %.17g vs %.17g\n", at, sm[0][at], sm[1][at]);
        }
        ok = 0;
    }
    for (int s = 0; s < 2; s++) {
        for (int k = 0; k < 3; k++)
            free(bufs[s][k]);
        free(rs[s]);
        free(sm[s]);
    }
    free(x0);
    free(z0);
    free(w);
    return ok;
}

/* The scalar gated kernel's totals of squares (AFTER: of x) against the scalar RMSNorm kernel's
 * canonical totals of the same groups as rows. */
static int scalar_total_matches_rmsnorm(const norm_dsp *ref, size_t dim, size_t group)
{
    const size_t ng = dim / group;
    float *x = xalloc(dim * sizeof(float)), *z = xalloc(dim * sizeof(float));
    float *y = xalloc(dim * sizeof(float));
    double *s_g = sums_buf(ng), *s_r = sums_buf(ng);
    gen_row(x, dim);
    gen_z(z, dim);
    norm_gated_job jg = {y, x, z, NULL, 1, dim, group, dim, dim, 1e-5f, 0, 0, NULL, s_g};
    ref->gated_rmsnorm_f32(&jg);
    norm_job jr = {y, x, NULL, NULL, ng, group, group, group, 1e-5f, NULL, NULL, s_r,
                   NORM_KIND_RMS, NULL, 0, 0};
    ref->rmsnorm_f32(&jr);
    size_t at;
    int ok = sums_eq(s_r, s_g, ng, &at);
    if (!ok)
        printf("   FAIL scalar gated total of squares dim=%zu group=%zu group %zu: %.17g, the "
               "RMSNorm kernel's %.17g\n", dim, group, at, s_g[at], s_r[at]);
    free(x);
    free(z);
    free(y);
    free(s_g);
    free(s_r);
    return ok;
}

/* ---- guard pages ---- */
typedef struct {
    char *base;
    size_t len;
    float *p;
} gpage;

static gpage gpage_new(size_t n, int at_end)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    size_t data = (n * sizeof(float) + pg - 1) / pg * pg;
    gpage g;
    g.len = data + 2 * pg;
    g.base = mmap(NULL, g.len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (g.base == MAP_FAILED || mprotect(g.base, pg, PROT_NONE) != 0 ||
        mprotect(g.base + pg + data, pg, PROT_NONE) != 0) {
        fprintf(stderr, "checkasm: mmap failed\n");
        exit(2);
    }
    g.p = at_end ? (float *)(g.base + pg + data) - n : (float *)(g.base + pg);
    return g;
}

static int guard_case(const norm_dsp *ref, const norm_dsp *tst, size_t dim, size_t group,
                      size_t rows, int gate, int at_end)
{
    const size_t n = rows * dim, ng = dim / group;
    gpage xg = gpage_new(n, at_end), zg = gpage_new(n, at_end), yg = gpage_new(n, at_end);
    gpage wg = gpage_new(dim, at_end), rg = gpage_new(rows * ng, at_end);
    float *yr = xalloc(n * sizeof(float)), *rr = xalloc(rows * ng * sizeof(float));
    for (size_t r = 0; r < rows; r++) {
        gen_row(xg.p + r * dim, dim);
        gen_z(zg.p + r * dim, dim);
    }
    for (size_t i = 0; i < dim; i++)
        wg.p[i] = (float)(1.0 + 0.5 * nrand());
    norm_gated_job jr = {yr, xg.p, zg.p, wg.p, rows, dim, group, dim, dim, 1e-5f, gate, 0, rr,
                         NULL};
    norm_gated_job jt = jr;
    jt.y = yg.p;
    jt.rstd = rg.p;
    ref->gated_rmsnorm_f32(&jr);
    thunk t = {tst->gated_rmsnorm_f32, &jt};
    int sig = checkasm_guarded(run_thunk, &t), ok = 1;
    if (sig) {
        printf("   FAIL %s gated_rmsnorm_f32 %s dim=%zu group=%zu rows=%zu: touched memory %s "
               "the buffers (signal %d)\n",
               tst->name, gate_names[gate], dim, group, rows, at_end ? "after" : "before", sig);
        ok = 0;
    } else if (!bits_eq(yr, yg.p, n) || !bits_eq(rr, rg.p, rows * ng)) {
        printf("   FAIL %s gated_rmsnorm_f32 %s dim=%zu group=%zu rows=%zu: differs from scalar "
               "(guard-page case)\n",
               tst->name, gate_names[gate], dim, group, rows);
        ok = 0;
    }
    gpage *all[5] = {&xg, &zg, &yg, &wg, &rg};
    for (int k = 0; k < 5; k++)
        munmap(all[k]->base, all[k]->len);
    free(yr);
    free(rr);
    return ok;
}

/* ---- the entry layer: two-level layouts and the row split ---- */
static int layout_case(const norm_dsp *ref, const norm_dsp *tst, int check_sums)
{
    const size_t dim = 1 + irand(70);
    size_t group = dim;
    for (int k = 0; k < 4; k++) { /* a random divisor */
        size_t c = 1 + irand(dim);
        if (dim % c == 0) {
            group = c;
            break;
        }
    }
    const size_t ng = dim / group, rows = 1 + irand(5), outer = 1 + irand(3);
    const size_t xs = dim + irand(4), ys = dim + irand(4);
    const size_t xos = irand(2) ? 0 : rows * xs + irand(7), yos = irand(2) ? 0 : rows * ys + irand(7);
    const size_t nx = outer * (xos ? xos : rows * xs) + rows * xs + 8;
    const size_t ny = outer * (yos ? yos : rows * ys) + rows * ys + 8;
    const int gate = (int)irand(3), nth = (int)irand(4), wmode = (int)irand(3);
    float *x = xalloc(nx * sizeof(float)), *z = xalloc(nx * sizeof(float));
    float *w = xalloc(dim * sizeof(float));
    for (size_t i = 0; i < nx; i++) {
        x[i] = (float)nrand();
        z[i] = (float)(3 * nrand());
    }
    for (size_t i = 0; i < dim; i++)
        w[i] = (float)(1 + 0.3 * nrand());
    const size_t nst = outer * rows * ng;
    float *y[2] = {canary_buf(ny), canary_buf(ny)}, *rs[2] = {canary_buf(nst), canary_buf(nst)};
    double *sm[2] = {sums_buf(nst), sums_buf(nst)};
    int st[2] = {0, 0};
    for (int s = 0; s < 2; s++) {
        libnorm_opts o = LIBNORM_OPTS_INIT;
        o.x_stride = xs;
        o.y_stride = ys;
        o.outer = outer;
        o.x_outer_stride = xos;
        o.y_outer_stride = yos;
        o.rstd = rs[s];
        o.nth = (unsigned)nth;
        o.flags = wmode == 2 ? 1u : 0u;
        for (unsigned i = 0; i < (nth > 1 ? (unsigned)nth : 1u); i++) {
            o.ith = i;
            st[s] |= norm_gated_call(s ? tst : ref, y[s], x, z, wmode ? w : NULL, rows, dim, group,
                                     gate, 1e-5f, &o, check_sums ? sm[s] : NULL);
        }
    }
    size_t at;
    int ok = st[0] == 0 && st[1] == 0 && bits_eq(y[0], y[1], ny) && bits_eq(rs[0], rs[1], nst) &&
             (!check_sums || sums_eq(sm[0], sm[1], nst, &at));
    /* every stat written (the split covered every row) */
    for (size_t i = 0; ok && i < nst; i++) {
        uint32_t u;
        memcpy(&u, &rs[0][i], 4);
        if (u == GCANARY)
            ok = 0;
    }
    if (!ok)
        printf("   FAIL %s gated layout dim=%zu group=%zu rows=%zu outer=%zu xs=%zu ys=%zu "
               "xos=%zu yos=%zu nth=%d gate=%d w=%d: status %d/%d or results differ\n",
               tst->name, dim, group, rows, outer, xs, ys, xos, yos, nth, gate, wmode, st[0],
               st[1]);
    free(x);
    free(z);
    free(w);
    for (int s = 0; s < 2; s++) {
        free(y[s]);
        free(rs[s]);
        free(sm[s]);
    }
    return ok;
}

int checkasm_gated(const norm_dsp *ref, const norm_dsp *tst, uint64_t seed, int quick, int guard,
                   int check_sums, size_t *cases)
{
    rng_state = seed ^ 0x6a7ed0a7ull;
    size_t fails = 0, n = 0;
    static const size_t edges[] = {255, 256, 257, 511, 512, 513, 1023, 1024, 1025, 2048, 2049,
                                   4096, 5120};
    const size_t ndims = 130 + sizeof edges / sizeof edges[0];
    for (size_t k = 0; k < ndims; k++) {
        const size_t dim = k < 130 ? k + 1 : edges[k - 130];
        /* groups: the whole row, halves, quarters, and small divisors */
        size_t groups[8], ngr = 0;
        groups[ngr++] = dim;
        if (dim % 2 == 0)
            groups[ngr++] = dim / 2;
        if (dim % 4 == 0)
            groups[ngr++] = dim / 4;
        static const size_t small[] = {1, 3, 16, 17, 64};
        for (size_t s = 0; s < 5; s++)
            if (dim % small[s] == 0 && small[s] < dim / 4 && (dim / small[s]) <= 512)
                groups[ngr++] = small[s];
        for (size_t gi = 0; gi < ngr; gi++) {
            const size_t group = groups[gi];
            const int reps = quick ? 1 : 2;
            for (int rep = 0; rep < reps; rep++)
                for (int gate = 0; gate < 3; gate++) {
                    size_t rows = dim > 1024 ? 1 + irand(2) : 1 + irand(5);
                    int wmode = (int)irand(3), inplace = irand(3) ? 0 : 1 + (int)irand(3);
                    n++;
                    fails += !gated_case(ref, tst, dim, group, rows, gate, wmode, inplace,
                                         check_sums, -1);
                }
        }
        if (k % (quick ? 16 : 4) == 0) {
            n++;
            fails += !scalar_total_matches_rmsnorm(ref, dim, groups[ngr - 1]);
        }
        if (guard && (k < 40 || k >= 130))
            for (int gate = 0; gate < 3; gate++) {
                n += 2;
                fails += !guard_case(ref, tst, dim, groups[ngr - 1], 1 + irand(3), gate, 1);
                fails += !guard_case(ref, tst, dim, groups[ngr - 1], 1 + irand(3), gate, 0);
            }
    }
    for (int i = 0; i < (quick ? 100 : 600); i++) {
        n++;
        fails += !layout_case(ref, tst, check_sums);
    }
    /* streaming-size jobs (x, z and y past NORM_STREAM_BYTES: with AFTER gates the SIMD tiers
     * prefetch the next span's z, src/gated_tmpl.h), not --quick: rows that follow on (one run
     * of 4096-float spans, the last one partial) and padded rows (the next row's first span
     * prefetched from the last group of a row), groups of the row and of a quarter of it, and
     * spans of one group (4096 padded, 3000 following on); on x86 the gate loop prefetches the
     * next span's z (gt_gates_loop_pf) in each of them */
    static const struct { size_t dim, group; int gate, pad; } big[] = {
        {768, 768, NORM_GATE_SILU_AFTER, 0}, {1000, 250, NORM_GATE_SIGMOID_AFTER, 3},
        {4096, 4096, NORM_GATE_SILU_AFTER, 1}, {3000, 3000, NORM_GATE_SIGMOID_AFTER, 0}};
    for (size_t k = 0; !quick && k < sizeof big / sizeof big[0]; k++) {
        const size_t rows = (size_t)(NORM_STREAM_BYTES / (12.0 * (double)big[k].dim)) + 3;
        n++;
        fails += !gated_case(ref, tst, big[k].dim, big[k].group, rows, big[k].gate, 1 + (int)k % 2,
                             0, check_sums, big[k].pad);
    }
    *cases = n;
    return (int)fails;
}
