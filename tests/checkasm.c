/*
 * checkasm for libnorm, after dav1d's: every kernel of a SIMD tier is run against the scalar
 * reference on identical seeded random inputs and must give bit-identical results: y, the per-row
 * mean/rstd, and the canonical totals each row's reductions computed (norm_job.sums: s0, s1, s2
 * for LayerNorm, s2 for RMSNorm, sxx and sxdz for RMSNorm backward; NORM_SUMS in
 * norm_internal.h), so that a change in a reduction
 * that happens not to move a float output is still caught. Output buffers are surrounded and
 * interleaved with canary values (any write outside a row fails), inputs are checked unchanged,
 * and a crash (SIGSEGV, SIGILL, SIGBUS, SIGFPE) inside a kernel is reported as a failure instead
 * of killing the run.
 *
 * What runs, per tier and kernel: dims 1..130 and the block edges up to 65537, with rows 1..7 and
 * 8..24 at random strides, offsets, in place or not, with or without weight, bias and statistics
 * (6 cases a dim, 2 with --quick); the sweep (every row count 1..24 on dims 1..130 and the block
 * edges 255..2049: the eight-row batches, pairs and single rows of every remainder; --no-sweep
 * leaves it out); two jobs large enough to take the streaming path (non-temporal stores;
 * --no-stream leaves them out); and
 * every buffer against an inaccessible page (guard pages; --no-guard leaves them out, for
 * qemu-x86_64, which faults on masked-off vmaskmov lanes where CPUs do not).
 *
 * Tiers: avx2, avx512 and avx512-emu on x86-64 (the last: the AVX-512 tier's own sources compiled
 * over SIMDe on AVX2 + FMA, test builds only: tests/test_tiers.h), neon on aarch64. meson runs
 * one test per tier (`--tier=X`). A tier this CPU (or build) cannot run is never passed over in
 * silence: checkasm prints "checkasm: tier X: NOT RUN (why)" and, when no selected tier ran,
 * exits 77 (meson: SKIP). --expect=run makes that a failure; --expect=skip asserts the opposite
 * (every selected tier is refused here: the qemu-x86_64 -cpu Haswell-v4 / Nehalem tests). The
 * lines "checkasm: tier X: PASS|FAIL|NOT RUN|REFUSED as expected" feed ./test.sh's tier report
 * (tools/tier_report.py).
 *
 * L2 normalisation (l2norm_f32) is the RMSNorm kernel with norm_job.kind = NORM_KIND_L2: the same
 * cases, no weight, some rows scaled so that their norm is near eps (both sides of the clamp).
 * "layouts": the entry layer (norm_rows_call, norm_groupnorm_call) on the scalar table and on the
 * tier, random two-level layouts (groups following on, with gaps, transposed, overlapping input
 * groups; in place), every thread share of an ith/nth split, and group norms (short and empty
 * last groups, affine, batch strides): whole buffers bit-identical, exactly the layout's rows
 * written, per-row (per-unit) totals equal.
 *
 * (0.4) bf16 / f16: tests/checkasm_x16.c (--test=layernorm_bf16, rmsnorm_bf16, layernorm_f16,
 * rmsnorm_f16, or x16 for the four): the entry layer on the scalar table and the tier's, bit
 * for bit, and both against round16 of the scalar f32 op on the widened inputs.
 *
 * The seed is fixed (printed), so every run checks the same cases; --seed=N varies them.
 *
 * (0.4) "add_layernorm", "add_rmsnorm": the fused residual add + norm through the entry layer
 * (norm_add_call): see check_add() below. LIBNORM_WEIGHT_PLUS_ONE is drawn in every kernel case
 * with a weight (norm_job.wplus) and in the layouts (opts.flags).
 *
 *   checkasm [--seed=N] [--test=layernorm|rmsnorm|l2norm|rmsnorm_back|layouts|add_layernorm|add_rmsnorm|gated|x16|...]
 *            [--tier=NAME[,NAME...]] [--expect=run|skip]
 *            [--quick] [--no-sweep] [--no-stream] [--no-guard] [--no-sums] [--bench] [--verbose]
 */
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "libnorm.h"
#include "norm_internal.h"
#include "checkasm_x16.h"
#include "test_rows.h"
#include "test_tiers.h"

/* ---- crash handling ---- */
static sigjmp_buf crash_jmp;
static volatile sig_atomic_t crash_armed;
static void on_crash(int sig)
{
    if (crash_armed)
        siglongjmp(crash_jmp, sig);
    signal(sig, SIG_DFL);
    raise(sig);
}
/* Calls f(j); returns 0, or the signal that crashed it. */
static int call_guarded(norm_kernel_fn f, const norm_job *j)
{
    int sig;
    crash_armed = 1;
    if ((sig = sigsetjmp(crash_jmp, 1)) == 0)
        f(j);
    crash_armed = 0;
    return sig;
}

/* For checkasm_gated.c (kernels of another type): f(arg) under the crash handler. */
int checkasm_guarded(void (*f)(const void *), const void *arg);
int checkasm_guarded(void (*f)(const void *), const void *arg)
{
    int sig;
    crash_armed = 1;
    if ((sig = sigsetjmp(crash_jmp, 1)) == 0)
        f(arg);
    crash_armed = 0;
    return sig;
}
/* checkasm_gated.c: the gated RMSNorm kernels (--test=gated). Returns the failures. */
int checkasm_gated(const norm_dsp *ref, const norm_dsp *tst, uint64_t seed, int quick, int guard,
                   int check_sums, size_t *cases);
#define TEST_GATED 100 /* only_op for --test=gated */

static void install_crash_handler(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_crash;
    sa.sa_flags = SA_NODEFER;
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGILL, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    sigaction(SIGFPE, &sa, NULL);
}

/* ---- one case ---- */
enum op { OP_LN, OP_RMS, OP_L2, OP_RMSB, OP_COUNT };
static const char *const op_names[OP_COUNT] = {"layernorm_f32", "rmsnorm_f32", "l2norm_f32",
                                               "rmsnorm_back_f32"};
/* OP_L2 is the RMSNorm kernel with norm_job.kind = NORM_KIND_L2 and no weight. */
#define OP_KIND(op) ((op) == OP_L2 ? NORM_KIND_L2 : NORM_KIND_RMS)

static norm_kernel_fn kernel_of(const norm_dsp *d, enum op op)
{
    return op == OP_LN ? d->layernorm_f32 : op == OP_RMSB ? d->rmsnorm_back_f32 : d->rmsnorm_f32;
}

#define GUARD 64               /* canary floats before and after every output buffer */
static const uint32_t CANARY = 0xa5a5a5a5u;

typedef struct buf {
    float *mem;                /* allocation */
    float *p;                  /* GUARD (+ misalignment) floats in */
    size_t n;                  /* floats available at p */
} buf;

static buf buf_new(size_t n, size_t mis)
{
    buf b;
    size_t total = n + 2 * GUARD + 16;
    b.mem = aligned_alloc(64, ((total * sizeof(float)) + 63) / 64 * 64);
    if (!b.mem) {
        fprintf(stderr, "checkasm: out of memory\n");
        exit(2);
    }
    b.p = b.mem + GUARD + mis;
    b.n = n;
    for (size_t i = 0; i < total; i++)
        memcpy(&b.mem[i], &CANARY, 4);
    return b;
}

/* Every float of the allocation that is not inside a row still holds the canary. */
static int canaries_intact(const buf *b, size_t rows, size_t stride, size_t dim, size_t mis)
{
    size_t total = b->n + 2 * GUARD + 16;
    for (size_t i = 0; i < total; i++) {
        long off = (long)i - (long)(GUARD + mis);
        int inside = 0;
        if (off >= 0 && (size_t)off < rows * stride && (size_t)off % stride < dim &&
            (size_t)off / stride < rows)
            inside = 1;
        uint32_t v;
        memcpy(&v, &b->mem[i], 4);
        if (!inside && v != CANARY)
            return 0;
    }
    return 1;
}

typedef struct stats {
    size_t cases, fails;
    double worst;              /* in units of 1e-5 * max(1, |y_ref|) */
} stats;

static int verbose;

static void report_mismatch(const char *what, const char *tier, enum op op, size_t dim,
                            size_t rows, size_t r, size_t i, float ref, float got)
{
    uint32_t a, b;
    memcpy(&a, &ref, 4);
    memcpy(&b, &got, 4);
    printf("   FAIL %s %s dim=%zu rows=%zu: %s row %zu [%zu]: scalar %.9g (0x%08x) vs %.9g (0x%08x)\n",
           tier, op_names[op], dim, rows, what, r, i, ref, a, got, b);
}

/* ---- the canonical totals of every row (norm_job.sums, NORM_SUMS in norm_internal.h) ----
 * Compared bit for bit when the scalar tier's total is finite; a non-finite total (which only
 * sends its row to the rare path, and whose value the canonical order leaves open) must be
 * non-finite in the tier too. The buffers start filled with a signalling-NaN pattern that no
 * arithmetic produces, so a row whose totals were not stored is caught as such. */
static int check_sums = 1;
static const uint64_t SUMS_CANARY = 0x7ff0deadbeefcafeull;

static size_t sums_per_row(enum op op)
{
    return op == OP_LN ? NORM_LN_SUMS_PER_ROW : op == OP_RMSB ? 2 : 1;
}

static __attribute__((noinline)) double *sums_new(size_t n)
{
    double *p = malloc((n ? n : 1) * sizeof(double));
    if (!p) {
        fprintf(stderr, "checkasm: out of memory\n");
        exit(2);
    }
    for (size_t i = 0; i < n; i++)
        memcpy(&p[i], &SUMS_CANARY, 8);
    return p;
}

/* Row r's totals: ref (scalar) against got (the tier); 1 when they agree. */
static int sums_row_match(const double *ref, const double *got, enum op op, size_t r,
                          const char *tier, size_t dim, size_t rows, const char *where)
{
    static const char *const ln_names[3] = {"s0", "s1", "s2"};
    static const char *const rb_names[2] = {"sxx", "sxdz"};
    for (size_t k = 0; k < sums_per_row(op); k++) {
        const char *nm = op == OP_LN ? ln_names[k] : op == OP_RMSB ? rb_names[k] : "s2";
        uint64_t a, b;
        memcpy(&a, &ref[k], 8);
        memcpy(&b, &got[k], 8);
        const char *bad = NULL;
        if (a == SUMS_CANARY)
            bad = "the scalar tier did not store it";
        else if (b == SUMS_CANARY)
            bad = "not stored";
        else if (isfinite(ref[k]) ? a != b : isfinite(got[k]))
            bad = "differs";
        if (bad) {
            printf("   FAIL %s %s dim=%zu rows=%zu: total %s of row %zu%s: %s: scalar %.17g "
                   "(0x%016llx) vs %.17g (0x%016llx)\n",
                   tier, op_names[op], dim, rows, nm, r, where, bad, ref[k],
                   (unsigned long long)a, got[k], (unsigned long long)b);
            return 0;
        }
    }
    return 1;
}

static int sums_match(const double *ref, const double *got, enum op op, const char *tier,
                      size_t dim, size_t rows, const char *where)
{
    size_t per = sums_per_row(op);
    for (size_t r = 0; r < rows; r++)
        if (!sums_row_match(ref + r * per, got + r * per, op, r, tier, dim, rows, where))
            return 0;
    return 1;
}

/* run_case() with force_stream set: a streaming call (norm_job.stream), out of place, with
 * weight and bias both present or both absent as force_affine says (LayerNorm; RMSNorm: the
 * weight). */
static int force_stream, force_affine;
/* run_case() with force_aligny set: y and its row stride 64-byte aligned, as an engine's
 * buffers are (the other cases draw a misaligned y most of the time). */
static int force_aligny;

/* Runs one configuration on the reference and on the tier; returns 1 on success. */
static int run_case(const norm_dsp *ref, const norm_dsp *tst, enum op op, size_t dim, size_t rows,
                    stats *st)
{
    size_t xpad = (rnd() & 1) ? 0 : irand(17) + 1;
    int inplace = irand(4) == 0;
    if (force_stream)
        inplace = 0;
    size_t ypad = inplace ? xpad : ((rnd() & 1) ? 0 : irand(17) + 1);
    if (force_aligny)
        ypad = (16 - dim % 16) % 16 + 16 * irand(2);
    size_t xs = dim + xpad, ys = dim + ypad;
    size_t misx = irand(16), misy = inplace ? misx : force_aligny ? 0 : irand(16);
    int use_w = op != OP_RMSB && op != OP_L2 && irand(4) != 0, use_b = op == OP_LN && irand(4) != 0;
    if (force_stream && op == OP_LN)
        use_w = use_b = force_affine;
    if (force_stream && op == OP_RMS)
        use_w = force_affine;
    int use_stats = irand(2) == 0;
    float eps = (rnd() & 1) ? 1e-5f : ((rnd() & 1) ? 0.0f : 1e-6f);
    int wplus = use_w && irand(3) == 0; /* (0.4) LIBNORM_WEIGHT_PLUS_ONE */

    size_t xn = rows * xs;
    float *x = malloc(xn * sizeof(float));
    float *w = malloc(dim * sizeof(float)), *bb = malloc(dim * sizeof(float));
    for (size_t r = 0; r < rows; r++) {
        gen_row(x + r * xs, dim);
        /* L2: some rows scaled down so that their norm is near eps (both sides of the clamp) */
        if (op == OP_L2 && irand(4) == 0) {
            float sc = (float)ldexp(1.0, -14 - (int)irand(10));
            for (size_t i = 0; i < dim; i++)
                x[r * xs + i] *= sc;
        }
    }
    for (size_t i = 0; i < dim; i++) {
        w[i] = (float)(1.0 + 0.5 * nrand());
        bb[i] = (float)(0.5 * nrand());
    }
    float *x_copy = malloc(xn * sizeof(float));
    memcpy(x_copy, x, xn * sizeof(float));
    /* RMSNorm backward: "in place" is dx == dz, and x is a separate input; the "x" above is dz
     * (what the outputs may replace), fx the forward input */
    float *fx = NULL;
    buf fx_r = {0}, fx_t = {0};
    if (op == OP_RMSB) {
        fx = malloc(xn * sizeof(float));
        for (size_t r = 0; r < rows; r++) {
            gen_row(fx + r * xs, dim);
            gen_dz(x + r * xs, fx + r * xs, dim);
        }
        memcpy(x_copy, x, xn * sizeof(float));
        fx_r = buf_new(xn, irand(16));
        fx_t = buf_new(xn, 0);
        fx_t.p = fx_t.mem + (fx_r.p - fx_r.mem);
        memcpy(fx_r.p, fx, xn * sizeof(float));
        memcpy(fx_t.p, fx, xn * sizeof(float));
    }

    buf yr = buf_new(rows * ys, misy), yt = buf_new(rows * ys, misy);
    buf mr = buf_new(rows, 0), mt = buf_new(rows, 0), rr = buf_new(rows, 0), rt = buf_new(rows, 0);
    buf xin_r, xin_t;          /* inputs: separate buffers, or the outputs when in place */
    if (inplace) {
        for (size_t r = 0; r < rows; r++) {
            memcpy(yr.p + r * ys, x + r * xs, dim * sizeof(float));
            memcpy(yt.p + r * ys, x + r * xs, dim * sizeof(float));
        }
        xin_r = yr;
        xin_t = yt;
    } else {
        xin_r = buf_new(xn, misx);
        xin_t = buf_new(xn, misx);
        memcpy(xin_r.p, x, xn * sizeof(float));
        memcpy(xin_t.p, x, xn * sizeof(float));
    }

    double *sr = sums_new(rows * sums_per_row(op)), *stt = sums_new(rows * sums_per_row(op));
    norm_job jr = {yr.p, xin_r.p, use_w ? w : NULL, use_b ? bb : NULL, rows, dim, xs, ys, eps,
                   use_stats && op == OP_LN ? mr.p : NULL, use_stats ? rr.p : NULL,
                   check_sums ? sr : NULL, OP_KIND(op), NULL, wplus, 0};
    norm_job jt = jr;
    /* every other row count of a dim as part of a streaming call (norm_job.stream: the x86
     * tiers' non-temporal path, prefetch and pipelining of streaming jobs, on short jobs) */
    jt.stream = force_stream || ((dim + rows) & 1) != 0;
    jt.sums = check_sums ? stt : NULL;
    jt.y = yt.p;
    jt.x = xin_t.p;
    jt.mean = jr.mean ? mt.p : NULL;
    jt.rstd = jr.rstd ? rt.p : NULL;
    if (op == OP_RMSB) {
        jr.dz = jr.x;
        jt.dz = jt.x;
        jr.x = fx_r.p;
        jt.x = fx_t.p;
    }

    norm_kernel_fn fr = kernel_of(ref, op);
    norm_kernel_fn ft = kernel_of(tst, op);
    fr(&jr);
    int ok = 1;
    int sig = call_guarded(ft, &jt);
    if (sig != 0) {
        printf("   FAIL %s %s dim=%zu rows=%zu: crashed with signal %d (%s)\n", tst->name,
               op_names[op], dim, rows, sig, strsignal(sig));
        ok = 0;
        goto done;
    }

    for (size_t r = 0; r < rows && ok; r++) {
        const float *a = yr.p + r * ys, *b = yt.p + r * ys;
        for (size_t i = 0; i < dim; i++) {
            double den = 1e-5 * fmax(1.0, fabs(a[i]));
            double d = fabs((double)a[i] - (double)b[i]) / den;
            if (d == d && d > st->worst)
                st->worst = d;
        }
        if (memcmp(a, b, dim * sizeof(float)) != 0) {
            for (size_t i = 0; i < dim; i++)
                if (memcmp(&a[i], &b[i], 4) != 0) {
                    report_mismatch("y", tst->name, op, dim, rows, r, i, a[i], b[i]);
                    break;
                }
            ok = 0;
        }
    }
    if (ok && jr.mean && memcmp(mr.p, mt.p, rows * sizeof(float)) != 0) {
        for (size_t r = 0; r < rows; r++)
            if (memcmp(&mr.p[r], &mt.p[r], 4) != 0) {
                report_mismatch("mean", tst->name, op, dim, rows, r, 0, mr.p[r], mt.p[r]);
                break;
            }
        ok = 0;
    }
    if (ok && jr.rstd && memcmp(rr.p, rt.p, rows * sizeof(float)) != 0) {
        for (size_t r = 0; r < rows; r++)
            if (memcmp(&rr.p[r], &rt.p[r], 4) != 0) {
                report_mismatch("rstd", tst->name, op, dim, rows, r, 0, rr.p[r], rt.p[r]);
                break;
            }
        ok = 0;
    }
    if (ok && check_sums && !sums_match(sr, stt, op, tst->name, dim, rows, ""))
        ok = 0;
    if (ok && !canaries_intact(&yt, rows, ys, dim, misy)) {
        printf("   FAIL %s %s dim=%zu rows=%zu: wrote outside the rows of y\n", tst->name,
               op_names[op], dim, rows);
        ok = 0;
    }
    if (ok && (!canaries_intact(&mt, jt.mean ? rows : 0, 1, 1, 0) ||
               !canaries_intact(&rt, jt.rstd ? rows : 0, 1, 1, 0))) {
        printf("   FAIL %s %s dim=%zu rows=%zu: wrote outside mean/rstd (or to ones not asked for)\n",
               tst->name, op_names[op], dim, rows);
        ok = 0;
    }
    if (ok && !inplace) {
        for (size_t r = 0; r < rows && ok; r++)
            if (memcmp(xin_t.p + r * xs, x_copy + r * xs, dim * sizeof(float)) != 0) {
                printf("   FAIL %s %s dim=%zu rows=%zu: modified %s\n", tst->name, op_names[op],
                       dim, rows, op == OP_RMSB ? "dz" : "x");
                ok = 0;
            }
    }
    if (ok && op == OP_RMSB) {
        for (size_t r = 0; r < rows && ok; r++)
            if (memcmp(fx_t.p + r * xs, fx + r * xs, dim * sizeof(float)) != 0) {
                printf("   FAIL %s %s dim=%zu rows=%zu: modified x\n", tst->name, op_names[op],
                       dim, rows);
                ok = 0;
            }
    }
done:
    if (verbose && ok)
        printf("   ok %s %s dim=%zu rows=%zu xs=%zu ys=%zu inplace=%d w=%d%s b=%d stats=%d\n",
               tst->name, op_names[op], dim, rows, xs, ys, inplace, use_w, wplus ? "+1" : "",
               use_b, use_stats);
    st->cases++;
    if (!ok)
        st->fails++;
    free(x);
    free(x_copy);
    free(fx);
    free(fx_r.mem);
    free(fx_t.mem);
    free(w);
    free(bb);
    free(sr);
    free(stt);
    free(yr.mem);
    free(yt.mem);
    free(mr.mem);
    free(mt.mem);
    free(rr.mem);
    free(rt.mem);
    if (!inplace) {
        free(xin_r.mem);
        free(xin_t.mem);
    }
    return ok;
}

/* A job big enough to take a tier's streaming path (norm_stream_job(): x and y together at
 * least NORM_STREAM_BYTES; the AVX-512 and AVX2 tiers then write y with non-temporal stores).
 * Rows are independent, so the tier runs the whole job and sampled rows are compared with the
 * scalar reference run on those rows alone (the scalar tier is too slow for 4M floats in a test);
 * the canaries around every row of y, mean and rstd and the unchanged x cover the whole job. */
static int run_batch_case(const norm_dsp *ref, const norm_dsp *tst, enum op op, size_t dim,
                          stats *st)
{
    size_t rows = (size_t)(NORM_STREAM_BYTES / (8.0 * (double)dim)) + 3;
    size_t xs = dim + irand(3), ys = dim + irand(3);
    size_t misx = irand(16), misy = irand(16);
    float eps = (rnd() & 1) ? 1e-5f : 0.0f;
    buf xb = buf_new(rows * xs, misx), yt = buf_new(rows * ys, misy);
    buf mt = buf_new(rows, 0), rt = buf_new(rows, 0);
    float *w = malloc(dim * sizeof(float)), *bb = malloc(dim * sizeof(float));
    float *x_copy = malloc(rows * xs * sizeof(float));
    float *yr = malloc(dim * sizeof(float));
    if (!w || !bb || !x_copy || !yr) {
        fprintf(stderr, "checkasm: out of memory\n");
        exit(2);
    }
    for (size_t r = 0; r < rows; r++)
        gen_row(xb.p + r * xs, dim);
    for (size_t i = 0; i < dim; i++) {
        w[i] = (float)(1.0 + 0.5 * nrand());
        bb[i] = (float)(0.5 * nrand());
    }
    memcpy(x_copy, xb.p, rows * xs * sizeof(float));
    double *stt = sums_new(rows * sums_per_row(op));
    norm_job jt = {yt.p, xb.p, op == OP_L2 ? NULL : w, op == OP_LN ? bb : NULL, rows, dim, xs,
                   ys, eps, op == OP_LN ? mt.p : NULL, rt.p, check_sums ? stt : NULL,
                   OP_KIND(op), NULL, op != OP_L2 && (rnd() & 1), 0};
    int ok = norm_stream_job(&jt);
    if (!ok)
        printf("   FAIL %s %s dim=%zu rows=%zu: the batch case is not a streaming job\n", tst->name,
               op_names[op], dim, rows);
    int sig = ok ? call_guarded(op == OP_LN ? tst->layernorm_f32 : tst->rmsnorm_f32, &jt) : 0;
    if (sig != 0) {
        printf("   FAIL %s %s dim=%zu rows=%zu: crashed with signal %d (%s)\n", tst->name,
               op_names[op], dim, rows, sig, strsignal(sig));
        ok = 0;
    }
    for (size_t k = 0; k < 64 && ok; k++) {
        size_t r = k == 0 ? 0 : k == 1 ? rows - 1 : k == 2 ? rows / 2 : irand(rows);
        float mr = 0.0f, rr = 0.0f;
        double sr[NORM_LN_SUMS_PER_ROW];
        for (size_t q = 0; q < NORM_LN_SUMS_PER_ROW; q++)
            memcpy(&sr[q], &SUMS_CANARY, 8);
        norm_job jr = {yr, xb.p + r * xs, jt.w, jt.b, 1, dim, xs, dim, eps,
                       jt.mean ? &mr : NULL, &rr, check_sums ? sr : NULL, OP_KIND(op), NULL,
                       jt.wplus, 0};
        (op == OP_LN ? ref->layernorm_f32 : ref->rmsnorm_f32)(&jr);
        const float *got = yt.p + r * ys;
        for (size_t i = 0; i < dim; i++) {
            double d = fabs((double)yr[i] - (double)got[i]) / (1e-5 * fmax(1.0, fabs(yr[i])));
            if (d == d && d > st->worst)
                st->worst = d;
        }
        if (memcmp(yr, got, dim * sizeof(float)) != 0) {
            for (size_t i = 0; i < dim; i++)
                if (memcmp(&yr[i], &got[i], 4) != 0) {
                    report_mismatch("y (streaming job)", tst->name, op, dim, rows, r, i, yr[i],
                                    got[i]);
                    break;
                }
            ok = 0;
        } else if ((jt.mean && memcmp(&mr, &mt.p[r], 4) != 0) || memcmp(&rr, &rt.p[r], 4) != 0) {
            report_mismatch("mean/rstd (streaming job)", tst->name, op, dim, rows, r, 0, rr,
                            rt.p[r]);
            ok = 0;
        } else if (check_sums && !sums_row_match(sr, stt + r * sums_per_row(op), op, r,
                                                 tst->name, dim, rows, " (streaming job)")) {
            ok = 0;
        }
    }
    if (ok && !canaries_intact(&yt, rows, ys, dim, misy)) {
        printf("   FAIL %s %s dim=%zu rows=%zu: wrote outside the rows of y (streaming job)\n",
               tst->name, op_names[op], dim, rows);
        ok = 0;
    }
    if (ok && (!canaries_intact(&mt, jt.mean ? rows : 0, 1, 1, 0) ||
               !canaries_intact(&rt, rows, 1, 1, 0))) {
        printf("   FAIL %s %s dim=%zu rows=%zu: wrote outside mean/rstd (streaming job)\n",
               tst->name, op_names[op], dim, rows);
        ok = 0;
    }
    if (ok && memcmp(xb.p, x_copy, rows * xs * sizeof(float)) != 0) {
        printf("   FAIL %s %s dim=%zu rows=%zu: modified x (streaming job)\n", tst->name,
               op_names[op], dim, rows);
        ok = 0;
    }
    if (verbose && ok)
        printf("   ok %s %s dim=%zu rows=%zu (streaming job, 64 rows checked)\n", tst->name,
               op_names[op], dim, rows);
    st->cases++;
    if (!ok)
        st->fails++;
    free(xb.mem);
    free(yt.mem);
    free(mt.mem);
    free(rt.mem);
    free(w);
    free(bb);
    free(x_copy);
    free(yr);
    free(stt);
    return ok;
}

/* ---- guard pages: a read (or write) outside a row faults ----
 * Each buffer sits against an inaccessible page: its end at the page boundary (over-reads past
 * the last row), or its start (under-reads). Masked loads and stores may cover the inaccessible
 * page with masked-off lanes (AVX-512 and AVX2 suppress faults there); any real access faults,
 * and the crash handler reports it. Not under qemu-x86_64 (--no-guard): qemu 7.2 faults on
 * masked-off vmaskmov lanes, which real CPUs do not. */
typedef struct gbuf {
    char *base;
    size_t len;
    float *p;
} gbuf;

static gbuf gbuf_new(size_t n, int at_end)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    size_t data = (n * sizeof(float) + pg - 1) / pg * pg;
    gbuf g;
    g.len = data + 2 * pg;
    g.base = mmap(NULL, g.len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (g.base == MAP_FAILED) {
        fprintf(stderr, "checkasm: mmap failed\n");
        exit(2);
    }
    if (mprotect(g.base, pg, PROT_NONE) != 0 || mprotect(g.base + pg + data, pg, PROT_NONE) != 0) {
        fprintf(stderr, "checkasm: mprotect failed\n");
        exit(2);
    }
    g.p = at_end ? (float *)(g.base + pg + data) - n : (float *)(g.base + pg);
    return g;
}

static int run_guard_case(const norm_dsp *ref, const norm_dsp *tst, enum op op, size_t dim,
                          size_t rows, int at_end, stats *st)
{
    size_t n = rows * dim;
    gbuf xg = gbuf_new(n, at_end), yg = gbuf_new(n, at_end);
    gbuf wg = gbuf_new(dim, at_end), bg = gbuf_new(dim, at_end), dg = gbuf_new(n, at_end);
    float *yr = malloc(n * sizeof(float));
    if (!yr) {
        fprintf(stderr, "checkasm: out of memory\n");
        exit(2);
    }
    for (size_t r = 0; r < rows; r++) {
        gen_row(xg.p + r * dim, dim);
        gen_dz(dg.p + r * dim, xg.p + r * dim, dim);
    }
    for (size_t i = 0; i < dim; i++) {
        wg.p[i] = (float)(1.0 + 0.5 * nrand());
        bg.p[i] = (float)(0.5 * nrand());
    }
    double *sr = sums_new(rows * sums_per_row(op)), *stt = sums_new(rows * sums_per_row(op));
    norm_job jr = {yr, xg.p, op == OP_RMSB || op == OP_L2 ? NULL : wg.p, op == OP_LN ? bg.p : NULL,
                   rows, dim, dim, dim, 1e-5f, NULL, NULL, check_sums ? sr : NULL, OP_KIND(op),
                   op == OP_RMSB ? dg.p : NULL, (op == OP_LN || op == OP_RMS) && rows > 1, 0};
    norm_job jt = jr;
    jt.sums = check_sums ? stt : NULL;
    jt.y = yg.p;
    kernel_of(ref, op)(&jr);
    int ok = 1;
    int sig = call_guarded(kernel_of(tst, op), &jt);
    if (sig != 0) {
        printf("   FAIL %s %s dim=%zu rows=%zu: touched memory %s the buffers (signal %d, %s)\n",
               tst->name, op_names[op], dim, rows, at_end ? "after" : "before", sig,
               strsignal(sig));
        ok = 0;
    } else if (memcmp(yr, yg.p, n * sizeof(float)) != 0) {
        printf("   FAIL %s %s dim=%zu rows=%zu: differs from scalar (guard-page case)\n",
               tst->name, op_names[op], dim, rows);
        ok = 0;
    } else if (check_sums && !sums_match(sr, stt, op, tst->name, dim, rows, " (guard-page case)")) {
        ok = 0;
    }
    st->cases++;
    if (!ok)
        st->fails++;
    munmap(xg.base, xg.len);
    munmap(yg.base, yg.len);
    munmap(wg.base, wg.len);
    munmap(bg.base, bg.len);
    munmap(dg.base, dg.len);
    free(yr);
    free(sr);
    free(stt);
    return ok;
}

/* ---- the entry layer on each tier: two-level layouts, the row split, group norm ----
 * norm_rows_call() / norm_groupnorm_call() (src/libnorm.c) run every check and split of the
 * public entry points on a given table; each case runs on the scalar table and on the tier with
 * identical buffers (y, mean and rstd prefilled with the canary, x inside a canary-filled buffer),
 * every thread share ith = 0 .. nth-1 in turn. The whole buffers must be bit-identical (inside the
 * rows: the same results; outside: both untouched), the scalar run must have written exactly the
 * rows of the layout (every float of y outside them still the canary, every one inside not), and
 * the per-row (per-unit) canonical totals must match. */
static int canary_at(const float *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v == CANARY;
}

typedef struct lay {
    int op;                    /* OP_LN, OP_RMS, OP_L2, or OP_COUNT: group norm */
    size_t outer, rows, dim, xs, ys, xos, yos;   /* group norm: batch, -, channels*spatial, ... */
    size_t channels, spatial, groups;
    unsigned nth;
    int inplace, use_w, use_b, use_stats;
    float eps;
    unsigned flags;            /* (0.4) opts.flags: LIBNORM_WEIGHT_* */
} lay;

/* Float offsets of y's rows: calls f(off, len) for each (group norm: each batch's whole run). */
static size_t lay_rows(const lay *L)
{
    return L->op == OP_COUNT ? L->outer * L->groups : L->outer * L->rows;
}

typedef struct lay_call {
    const norm_dsp *d;
    const lay *L;
    float *y;
    const float *x, *w, *b;
    const libnorm_opts *o;
    double *sums;
} lay_call;

/* One entry-layer call; its status, or -100 - the signal that crashed it. */
static int lay_call_guarded(const lay_call *c)
{
    volatile int rc = 0;
    int sig;
    crash_armed = 1;
    if ((sig = sigsetjmp(crash_jmp, 1)) == 0) {
        const lay *L = c->L;
        if (L->op == OP_COUNT)
            rc = norm_groupnorm_call(c->d, c->y, c->x, c->w, c->b, L->outer, L->channels,
                                     L->spatial, L->groups, L->eps, c->o, c->sums);
        else
            rc = norm_rows_call(c->d, L->op, c->y, c->x, c->w, c->b, L->rows, L->dim, L->eps,
                                c->o, c->sums);
    } else {
        rc = -100 - sig;
    }
    crash_armed = 0;
    return rc;
}

static int run_layout_case(const norm_dsp *ref, const norm_dsp *tst, const lay *L, stats *st)
{
    const int gn = L->op == OP_COUNT;
    const size_t nrow = gn ? L->outer : L->outer * L->rows;   /* rows of the memory layout */
    const size_t nstat = lay_rows(L), per = gn || L->op == OP_LN ? NORM_LN_SUMS_PER_ROW : 1;
    const size_t wlen = gn ? L->channels : L->dim;
    size_t xn = 0, yn = 0;
    /* the extents: the largest row start + dim */
    for (size_t t = 0; t < nrow; t++) {
        size_t o = gn ? t : t / L->rows, r = gn ? 0 : t % L->rows;
        size_t xe = o * L->xos + r * L->xs + L->dim, ye = o * L->yos + r * L->ys + L->dim;
        xn = xe > xn ? xe : xn;
        yn = ye > yn ? ye : yn;
    }
    if (L->inplace)
        xn = yn = xn > yn ? xn : yn;
    buf xr = buf_new(xn, 0), xt = buf_new(xn, 0), yr = buf_new(yn, 0), yt = buf_new(yn, 0);
    buf mr = buf_new(nstat, 0), mt = buf_new(nstat, 0), rr = buf_new(nstat, 0), rt = buf_new(nstat, 0);
    float *w = malloc(wlen * sizeof(float)), *b = malloc(wlen * sizeof(float));
    unsigned char *in = calloc(yn ? yn : 1, 1);
    double *sr = sums_new(nstat * per), *stt = sums_new(nstat * per);
    for (size_t i = 0; i < wlen; i++) {
        w[i] = (float)(1.0 + 0.5 * nrand());
        b[i] = (float)(0.5 * nrand());
    }
    /* x: every row of the layout drawn (rows of overlapping groups share floats); the gaps keep
     * the canary, which no row reads */
    for (size_t t = 0; t < nrow; t++) {
        size_t o = gn ? t : t / L->rows, r = gn ? 0 : t % L->rows;
        gen_row(xr.p + o * L->xos + r * L->xs, L->dim);
        for (size_t i = 0; i < L->dim; i++)
            in[o * L->yos + r * L->ys + i] = 1;
    }
    if (L->inplace) {
        memcpy(yr.p, xr.p, xn * sizeof(float));
    }
    memcpy(xt.p, xr.p, xn * sizeof(float));
    memcpy(yt.p, yr.p, yn * sizeof(float));
    float *x_copy = malloc(xn * sizeof(float));
    memcpy(x_copy, xr.p, xn * sizeof(float));

    libnorm_opts o = LIBNORM_OPTS_INIT;
    o.x_stride = gn ? (L->dim & 1 ? L->spatial : 0) : L->xs;    /* 0 and spatial both mean spatial */
    o.y_stride = gn ? (L->dim & 2 ? L->spatial : 0) : L->ys;
    o.outer = gn ? (L->dim & 4 ? 1 : 0) : L->outer;
    /* the default (0) where it is the layout */
    o.x_outer_stride = L->xos == (gn ? L->dim : L->rows * L->xs) && (L->dim & 8) ? 0 : L->xos;
    o.y_outer_stride = L->yos == (gn ? L->dim : L->rows * L->ys) && (L->dim & 8) ? 0 : L->yos;
    o.nth = L->nth;
    o.flags = L->flags;
    int ok = 1, st_r = 0, st_t = 0;
    for (int side = 0; side < 2; side++) {
        const norm_dsp *d = side ? tst : ref;
        buf *yb = side ? &yt : &yr, *xb = side ? &xt : &xr, *mb = side ? &mt : &mr,
            *rb = side ? &rt : &rr;
        double *sums = check_sums ? (side ? stt : sr) : NULL;
        o.mean = L->use_stats ? mb->p : NULL;
        o.rstd = L->use_stats ? rb->p : NULL;
        const float *x = L->inplace ? yb->p : xb->p;
        for (unsigned ith = 0; ith < (L->nth ? L->nth : 1); ith++) {
            o.ith = ith;
            lay_call lc = {d, L, yb->p, x, L->use_w ? w : NULL, L->use_b ? b : NULL, &o, sums};
            *(side ? &st_t : &st_r) |= lay_call_guarded(&lc);
        }
    }
    const char *name = gn ? "groupnorm_f32" : op_names[L->op];
    const char *bad = NULL;
    if (st_r != 0 || st_t != 0)
        bad = "a call failed (or crashed)";
    else if (memcmp(yr.mem, yt.mem, (yn + 2 * GUARD + 16) * sizeof(float)) != 0)
        bad = "y differs from scalar (or wrote outside the rows)";
    else if (memcmp(mr.mem, mt.mem, (nstat + 2 * GUARD + 16) * sizeof(float)) != 0 ||
             memcmp(rr.mem, rt.mem, (nstat + 2 * GUARD + 16) * sizeof(float)) != 0)
        bad = "mean/rstd differ from scalar";
    else if (!L->inplace && (memcmp(xt.p, x_copy, xn * sizeof(float)) != 0 ||
                             memcmp(xr.p, x_copy, xn * sizeof(float)) != 0))
        bad = "modified x";
    if (!bad && !canaries_intact(&yr, 1, yn, yn, 0))
        bad = "wrote before or after y";
    if (!bad && !L->inplace) {
        for (size_t i = 0; i < yn && !bad; i++) {
            if (!in[i] && !canary_at(yr.p + i))
                bad = "wrote between the rows of y";
            else if (in[i] && canary_at(yr.p + i))
                bad = "left a float of a row unwritten";
        }
    }
    if (!bad && L->use_stats)
        for (size_t t = 0; t < nstat && !bad; t++)
            if (canary_at(rr.p + t) || (L->op != OP_LN && !gn) != canary_at(mr.p + t))
                bad = "statistics not written (or mean written for RMSNorm / L2)";
    if (!bad && check_sums)
        for (size_t t = 0; t < nstat && !bad; t++)
            if (!sums_row_match(sr + t * per, stt + t * per, gn ? OP_LN : (enum op)L->op, t,
                                tst->name, L->dim, nstat, " (layout case)"))
                bad = "totals differ";
    if (bad) {
        ok = 0;
        printf("   FAIL %s %s layout outer=%zu rows=%zu dim=%zu xs=%zu ys=%zu xos=%zu yos=%zu "
               "C=%zu S=%zu G=%zu nth=%u inplace=%d w=%d b=%d stats=%d flags=%u: %s (status %d / %d)\n",
               tst->name, name, L->outer, L->rows, L->dim, L->xs, L->ys, L->xos, L->yos,
               L->channels, L->spatial, L->groups, L->nth, L->inplace, L->use_w, L->use_b,
               L->use_stats, L->flags, bad, st_r, st_t);
    } else if (verbose) {
        printf("   ok %s %s layout outer=%zu rows=%zu dim=%zu xos=%zu yos=%zu nth=%u\n", tst->name,
               name, L->outer, L->rows, L->dim, L->xos, L->yos, L->nth);
    }
    st->cases++;
    if (!ok)
        st->fails++;
    free(xr.mem);
    free(xt.mem);
    free(yr.mem);
    free(yt.mem);
    free(mr.mem);
    free(mt.mem);
    free(rr.mem);
    free(rt.mem);
    free(w);
    free(b);
    free(in);
    free(sr);
    free(stt);
    free(x_copy);
    return ok;
}

/* Random two-level layouts of the three row ops, and group norms; returns the stats. */
static stats check_layouts(const norm_dsp *ref, const norm_dsp *tst, uint64_t seed, int quick)
{
    static const size_t dims[] = {1, 3, 7, 8, 16, 17, 31, 64, 65, 100, 128, 257, 513, 1030};
    stats st = {0, 0, 0.0};
    rng_state = seed ^ ((uint64_t)(tst->tier * 16 + 15) << 40);
    const int n = quick ? 150 : 600;
    for (int k = 0; k < n && st.fails <= 10; k++) {
        lay L;
        memset(&L, 0, sizeof(L));
        L.op = (int)irand(4);   /* OP_LN, OP_RMS, OP_L2, or group norm */
        if (L.op == OP_RMSB)
            L.op = OP_COUNT;
        L.eps = (rnd() & 1) ? 1e-5f : 0.0f;
        L.nth = (unsigned)irand(5);
        L.use_w = L.op != OP_L2 && irand(3) != 0;
        L.use_b = (L.op == OP_LN || L.op == OP_COUNT) && irand(3) != 0;
        L.use_stats = irand(3) != 0;
        /* (0.4) flags: PLUS_ONE (ignored by L2), ACT_TYPE (no effect on f32) */
        L.flags = (irand(3) == 0 ? LIBNORM_WEIGHT_PLUS_ONE : 0u) |
                  (irand(4) == 0 ? LIBNORM_WEIGHT_ACT_TYPE : 0u);
        if (L.op == OP_COUNT) {
            L.outer = 1 + irand(4);
            L.channels = 1 + irand(12);
            L.groups = 1 + irand(L.channels + 2);
            L.spatial = 1 + irand(k & 1 ? 40 : 300);
            L.dim = L.channels * L.spatial;
            L.rows = 1;
            /* batch b at b * xos (the batch strides; the channel strides are spatial) */
            L.xos = irand(2) ? L.dim : L.dim + irand(9);
            L.inplace = irand(4) == 0;
            L.yos = L.inplace ? L.xos : (irand(2) ? L.dim : L.dim + irand(9));
        } else {
            L.outer = 1 + irand(5);
            L.rows = 1 + irand(k & 1 ? 10 : 3);
            L.dim = dims[irand(sizeof(dims) / sizeof(dims[0]))];
            L.xs = L.dim + (irand(2) ? 0 : irand(5));
            L.ys = L.dim + (irand(2) ? 0 : irand(5));
            L.inplace = irand(4) == 0;
            size_t xg = (L.rows - 1) * L.xs + L.dim, yg = (L.rows - 1) * L.ys + L.dim;
            switch (irand(4)) {
            case 0: /* the default: groups follow on */
                L.xos = L.rows * L.xs;
                L.yos = L.rows * L.ys;
                break;
            case 1: /* gaps between the groups */
                L.xos = xg + irand(20);
                L.yos = yg + irand(20);
                break;
            case 2: /* transposed (a permuted view): groups one row slot apart, rows outer
                     * slots apart */
                L.xs = L.ys = L.outer * (L.dim + irand(3));
                L.xos = L.yos = L.xs / L.outer;
                break;
            default: /* input groups that overlap (x is only read), separate y */
                L.xos = 1 + irand(xg);
                L.yos = yg + irand(3);
                L.inplace = 0;
                break;
            }
            if (L.inplace) {
                L.ys = L.xs;
                L.yos = L.xos;
            }
        }
        run_layout_case(ref, tst, &L, &st);
    }
    /* a streaming-size two-level job (the SIMD tiers' non-temporal path, called per group) */
    if (!quick && st.fails <= 10) {
        lay L;
        memset(&L, 0, sizeof(L));
        L.op = OP_RMS;
        L.outer = 3;
        L.rows = 700;
        L.dim = 2048;
        L.xs = L.ys = 2048;
        L.xos = L.yos = 701 * 2048;
        L.nth = 2;
        L.use_w = 1;
        L.use_stats = 1;
        L.eps = 1e-6f;
        run_layout_case(ref, tst, &L, &st);
    }
    return st;
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* --bench: median ns/row of every tier's kernels, after all checks passed. */
static void bench(const norm_dsp *tabs, const int *have, int only_op)
{
    static const size_t dims[] = {64, 768, 4096};
    const size_t rows = 32;
    printf("\nbench (median ns/row, %zu rows, hot):\n", rows);
    for (int op = 0; op < OP_COUNT; op++) {
        if (only_op >= 0 && op != only_op)
            continue;
        for (size_t di = 0; di < sizeof(dims) / sizeof(dims[0]); di++) {
            size_t dim = dims[di];
            float *x = aligned_alloc(64, rows * dim * 4), *y = aligned_alloc(64, rows * dim * 4);
            float *w = aligned_alloc(64, dim * 4), *b = aligned_alloc(64, dim * 4);
            for (size_t i = 0; i < rows * dim; i++)
                x[i] = (float)nrand();
            for (size_t i = 0; i < dim; i++) {
                w[i] = 1.0f;
                b[i] = 0.0f;
            }
            printf("  %-14s dim %-6zu", op_names[op], dim);
            for (int t = 0; t < TEST_TIER_COUNT; t++) {
                if (have[t] != TEST_TIER_OK)
                    continue;
                norm_job j = {y, x, op == OP_RMSB || op == OP_L2 ? NULL : w, op == OP_LN ? b : NULL,
                              rows, dim, dim, dim, 1e-5f, NULL, NULL, NULL, OP_KIND(op),
                              op == OP_RMSB ? x : NULL, 0, 0};
                norm_kernel_fn f = kernel_of(&tabs[t], (enum op)op);
                double times[31];
                for (int rep = 0; rep < 31; rep++) {
                    double t0 = now_ns();
                    int inner = 0;
                    do {
                        f(&j);
                        inner++;
                    } while (now_ns() - t0 < 2e5);
                    times[rep] = (now_ns() - t0) / inner / rows;
                }
                qsort(times, 31, sizeof(double), cmp_double);
                printf("  %s %8.1f", tabs[t].name, times[15]);
            }
            printf("\n");
            free(x);
            free(y);
            free(w);
            free(b);
        }
    }
}

/* dims 1..130 exhaustively, block edges, and large odd ones. */
static const size_t extra_dims[] = {255,  256,  257,  511,  512,  513,  767,  768,  1000, 1023,
                                    1024, 1025, 1536, 2047, 4095, 4096, 4097, 8191, 16385, 65537};
/* The sweep: every row count 1..24 (the eight-row batches, pairs and single rows of every
 * remainder) on dims 1..130 and the block edges. */
static const size_t sweep_edges[] = {255,  256,  257,  511,  512,  513,  1023, 1024,
                                     1025, 1535, 1536, 1537, 2047, 2048, 2049};

/* The two streaming jobs (32 MiB each) run unless --no-stream (valgrind in ./test.sh: they cost
 * it minutes, and the native and ASan runs cover the streaming path). */
static int stream_jobs = 1;
/* ---- (0.4) the fused residual add + norm (norm_add_call: the entry layer of
 * libnorm_add_{rms,layer}norm_f32_ex) on each tier ----
 * Each case runs on the scalar table and on the tier with identical buffers (x, r, h, y, mean,
 * rstd, each inside a canary-filled buffer; in place: the aliased ones shared), every thread share
 * ith = 0 .. nth-1 in turn, and must give: whole buffers bit-identical to scalar (h, y and the
 * statistics, canaries included) and equal totals; h == x + r (float) exactly, and exactly the
 * rows of the layout written in h and y; y (and mean/rstd, and the totals) bit for bit the plain
 * norm (norm_rows_call, scalar table) of the h written -- of x + r computed here when h is NULL;
 * the inputs that are not outputs unchanged. In place: h == x, h == r, y == x, y == r, and the
 * pairs (y == x, h == r), (y == r, h == x); h NULL with or without y == x. Rows: dims 1..130 and
 * block edges, one or two levels, random strides; weight (with or without
 * LIBNORM_WEIGHT_PLUS_ONE), bias, statistics; rows whose x + r cancels to zero (the rare path),
 * NaN and Inf. Then streaming-size calls (non-temporal y) and guard pages around every buffer. */
enum { ADD_NONE, ADD_H_X, ADD_H_R, ADD_Y_X, ADD_Y_R, ADD_HNULL, ADD_HNULL_Y_X, ADD_Y_X_H_R,
       ADD_Y_R_H_X, ADD_MODES };
static const char *const add_mode_names[ADD_MODES] = {"apart", "h==x", "h==r", "y==x", "y==r",
                                                      "h NULL", "h NULL, y==x", "y==x h==r",
                                                      "y==r h==x"};

typedef struct add_case {
    int ln;                        /* LayerNorm (else RMSNorm) */
    size_t outer, rows, dim, xs, ys, xos, yos;
    int mode, use_w, wplus, use_b, use_stats;
    unsigned nth;
    float eps;
} add_case;

static size_t add_row(const add_case *A, size_t t, int is_y)
{
    size_t o = t / A->rows, r = t % A->rows;
    return is_y ? o * A->yos + r * A->ys : o * A->xos + r * A->xs;
}

/* Float extent of the x (is_y 0) or y layout: the largest row start + dim. */
static size_t add_extent(const add_case *A, int is_y)
{
    size_t e = 0;
    for (size_t t = 0; t < A->outer * A->rows; t++) {
        size_t v = add_row(A, t, is_y) + A->dim;
        e = v > e ? v : e;
    }
    return e;
}

/* One side's buffers. */
typedef struct add_side {
    buf x, r, h, y, m, s;
    float *px, *pr, *ph, *py;      /* what is passed (the aliases in place; ph may be NULL) */
    double *sums;
} add_side;

static int add_call_guarded(const norm_dsp *d, const add_case *A, const add_side *S,
                            const float *w, const float *b, const libnorm_opts *o)
{
    volatile int rc = 0;
    int sig;
    crash_armed = 1;
    if ((sig = sigsetjmp(crash_jmp, 1)) == 0)
        rc = norm_add_call(d, A->ln ? NORM_OP_LN : NORM_OP_RMS, S->py, S->ph, S->px, S->pr, w, b,
                           A->rows, A->dim, A->eps, o, S->sums);
    else
        rc = -100 - sig;
    crash_armed = 0;
    return rc;
}

static int run_add_case(const norm_dsp *ref, const norm_dsp *tst, const add_case *A, stats *st)
{
    const size_t nrow = A->outer * A->rows, dim = A->dim;
    const size_t xn = add_extent(A, 0), yn = add_extent(A, 1), per = A->ln ? NORM_LN_SUMS_PER_ROW : 1;
    const enum op sop = A->ln ? OP_LN : OP_RMS;
    float *x0 = malloc(xn * sizeof(float)), *r0 = malloc(xn * sizeof(float));
    float *w = malloc(dim * sizeof(float)), *b = malloc(dim * sizeof(float));
    float *hc = malloc(yn * sizeof(float));          /* x + r, laid out as y */
    unsigned char *in_y = calloc(yn, 1);
    if (!x0 || !r0 || !w || !b || !hc || !in_y) {
        fprintf(stderr, "checkasm: out of memory\n");
        exit(2);
    }
    for (size_t i = 0; i < xn; i++)
        x0[i] = r0[i] = NAN; /* not a row: never read */
    for (size_t i = 0; i < dim; i++) {
        w[i] = (float)(0.5 * nrand()); /* 1 + w near 1 with PLUS_ONE, near 0.5 without */
        b[i] = (float)(0.5 * nrand());
    }
    for (size_t t = 0; t < nrow; t++) {
        float *xr = x0 + add_row(A, t, 0), *rr = r0 + add_row(A, t, 0);
        gen_row(xr, dim);
        switch (irand(10)) {
        case 0: /* h = 0: the rare path (all zero; LayerNorm: a constant row) */
            for (size_t i = 0; i < dim; i++)
                rr[i] = -xr[i];
            break;
        case 1: /* a residual much larger than x */
            gen_row(rr, dim);
            for (size_t i = 0; i < dim; i++)
                rr[i] *= 4096.0f;
            break;
        case 2: /* a NaN or an Inf in r */
            gen_row(rr, dim);
            rr[irand(dim)] = (rnd() & 1) ? NAN : -INFINITY;
            break;
        default: {
            float sc = (float)ldexp(1.0, (int)irand(9) - 4);
            gen_row(rr, dim);
            for (size_t i = 0; i < dim; i++)
                rr[i] *= sc;
            break;
        }
        }
        for (size_t i = 0; i < dim; i++) {
            hc[add_row(A, t, 1) + i] = xr[i] + rr[i];
            in_y[add_row(A, t, 1) + i] = 1;
        }
    }
    const size_t nb = yn > xn ? yn : xn; /* in place: one layout (xs == ys, xos == yos) */
    add_side side[2];
    libnorm_opts o = LIBNORM_OPTS_INIT;
    o.x_stride = A->xs;
    o.y_stride = A->ys;
    o.outer = A->outer;
    o.x_outer_stride = A->xos;
    o.y_outer_stride = A->yos;
    o.nth = A->nth;
    o.flags = A->wplus ? LIBNORM_WEIGHT_PLUS_ONE : 0u;
    int status[2] = {0, 0};
    for (int k = 0; k < 2; k++) {
        add_side *S = &side[k];
        S->x = buf_new(nb, 0);
        S->r = buf_new(nb, 0);
        S->h = buf_new(nb, 0);
        S->y = buf_new(nb, 0);
        S->m = buf_new(nrow, 0);
        S->s = buf_new(nrow, 0);
        S->sums = sums_new(nrow * per);
        for (size_t t = 0; t < nrow; t++) {
            memcpy(S->x.p + add_row(A, t, 0), x0 + add_row(A, t, 0), dim * sizeof(float));
            memcpy(S->r.p + add_row(A, t, 0), r0 + add_row(A, t, 0), dim * sizeof(float));
        }
        S->px = S->x.p;
        S->pr = S->r.p;
        S->ph = S->h.p;
        S->py = S->y.p;
        /* in place: the input's rows go into the output's buffer (the layouts are equal) */
        float **alias_out = NULL, **alias_in = NULL, **alias_out2 = NULL, **alias_in2 = NULL;
        switch (A->mode) {
        case ADD_H_X: alias_out = &S->ph; alias_in = &S->px; break;
        case ADD_H_R: alias_out = &S->ph; alias_in = &S->pr; break;
        case ADD_Y_X: alias_out = &S->py; alias_in = &S->px; break;
        case ADD_Y_R: alias_out = &S->py; alias_in = &S->pr; break;
        case ADD_HNULL: S->ph = NULL; break;
        case ADD_HNULL_Y_X: S->ph = NULL; alias_out = &S->py; alias_in = &S->px; break;
        case ADD_Y_X_H_R:
            alias_out = &S->py; alias_in = &S->px; alias_out2 = &S->ph; alias_in2 = &S->pr;
            break;
        case ADD_Y_R_H_X:
            alias_out = &S->py; alias_in = &S->pr; alias_out2 = &S->ph; alias_in2 = &S->px;
            break;
        default: break;
        }
        for (int q = 0; q < 2; q++) {
            float **ao = q ? alias_out2 : alias_out, **ai = q ? alias_in2 : alias_in;
            if (!ao)
                continue;
            for (size_t t = 0; t < nrow; t++)
                memcpy(*ao + add_row(A, t, 1), *ai + add_row(A, t, 0), dim * sizeof(float));
            *ai = *ao;
        }
        o.mean = A->use_stats && A->ln ? S->m.p : NULL;
        o.rstd = A->use_stats ? S->s.p : NULL;
        for (unsigned ith = 0; ith < (A->nth ? A->nth : 1); ith++) {
            o.ith = ith;
            status[k] |= add_call_guarded(k ? tst : ref, A, S, A->use_w ? w : NULL,
                                          A->use_b ? b : NULL, &o);
        }
    }
    /* the plain norm of the h written (of x + r when h is NULL), scalar table, one call */
    buf y2 = buf_new(yn, 0), m2 = buf_new(nrow, 0), s2 = buf_new(nrow, 0);
    double *sums2 = sums_new(nrow * per);
    libnorm_opts o2 = LIBNORM_OPTS_INIT;
    o2.x_stride = o2.y_stride = A->ys;
    o2.outer = A->outer;
    o2.x_outer_stride = o2.y_outer_stride = A->yos;
    o2.flags = o.flags;
    o2.mean = o.mean ? m2.p : NULL;
    o2.rstd = o.rstd ? s2.p : NULL;
    const float *hw = side[0].ph ? side[0].ph : hc;
    int st2 = norm_rows_call(ref, A->ln ? NORM_OP_LN : NORM_OP_RMS, y2.p, hw,
                             A->use_w ? w : NULL, A->use_b ? b : NULL, A->rows, dim, A->eps, &o2,
                             check_sums ? sums2 : NULL);

    const char *bad = NULL;
    add_side *R = &side[0], *T = &side[1];
    const size_t bytes = (nb + 2 * GUARD + 16) * sizeof(float),
                 sbytes = (nrow + 2 * GUARD + 16) * sizeof(float);
    if (status[0] != 0 || status[1] != 0)
        bad = "a call failed (or crashed)";
    else if (st2 != 0)
        bad = "the plain norm of h failed";
    else if (memcmp(R->y.mem, T->y.mem, bytes) != 0)
        bad = "y differs from scalar (or wrote outside the rows)";
    else if (memcmp(R->h.mem, T->h.mem, bytes) != 0) {
        bad = "h differs from scalar (or wrote outside the rows)";
        for (size_t i = 0; i < nb + 2 * GUARD + 16; i++)
            if (memcmp(&R->h.mem[i], &T->h.mem[i], 4) != 0) {
                uint32_t u, v;
                memcpy(&u, &R->h.mem[i], 4);
                memcpy(&v, &T->h.mem[i], 4);
                printf("   h: float %ld of the buffer: scalar 0x%08x, tier 0x%08x\n",
                       (long)i - (long)GUARD, u, v);
                break;
            }
    }
    else if (memcmp(R->x.mem, T->x.mem, bytes) != 0 || memcmp(R->r.mem, T->r.mem, bytes) != 0)
        bad = "x or r (an input, or an output in place) differs from scalar";
    else if (memcmp(R->m.mem, T->m.mem, sbytes) != 0 || memcmp(R->s.mem, T->s.mem, sbytes) != 0)
        bad = "mean/rstd differ from scalar";
    for (size_t t = 0; t < nrow && !bad && check_sums; t++)
        if (!sums_row_match(R->sums + t * per, T->sums + t * per, sop, t, tst->name, dim, nrow,
                            " (add case)"))
            bad = "totals differ";
    /* h == x + r exactly, every float of the rows of h and y written and nothing else */
    for (size_t i = 0; i < yn && !bad; i++) {
        if (R->ph && in_y[i] && memcmp(&R->ph[i], &hc[i], 4) != 0 && !(isnan(R->ph[i]) && isnan(hc[i])))
            bad = "h is not x + r";
        else if (R->ph == R->h.p && !in_y[i] && !canary_at(R->h.p + i))
            bad = "wrote between the rows of h";
        else if (R->py == R->y.p && !in_y[i] && !canary_at(R->y.p + i))
            bad = "wrote between the rows of y";
        else if (in_y[i] && canary_at(R->py + i))
            bad = "left a float of a row of y unwritten";
    }
    if (!bad && !R->ph && !canaries_intact(&R->h, 0, 1, 1, 0))
        bad = "h NULL, but the h buffer was written";
    /* y (and statistics, totals) == the plain norm of h, bit for bit */
    for (size_t t = 0; t < nrow && !bad; t++) {
        if (memcmp(R->py + add_row(A, t, 1), y2.p + add_row(A, t, 1), dim * sizeof(float)) != 0)
            bad = "y is not the plain norm of h (bit for bit)";
        else if ((o.mean && memcmp(&R->m.p[t], &m2.p[t], 4) != 0) ||
                 (o.rstd && memcmp(&R->s.p[t], &s2.p[t], 4) != 0))
            bad = "mean/rstd are not the plain norm's";
        else if (check_sums && !sums_row_match(sums2 + t * per, R->sums + t * per, sop, t,
                                               "plain norm of h", dim, nrow, " (add case)"))
            bad = "totals are not the plain norm's";
    }
    /* the inputs that are not outputs are unchanged */
    for (size_t t = 0; t < nrow && !bad; t++) {
        const size_t off = add_row(A, t, 0);
        if ((R->px == R->x.p && memcmp(R->x.p + off, x0 + off, dim * sizeof(float)) != 0) ||
            (R->pr == R->r.p && memcmp(R->r.p + off, r0 + off, dim * sizeof(float)) != 0))
            bad = "modified x or r";
    }
    if (bad) {
        printf("   FAIL %s add_%s outer=%zu rows=%zu dim=%zu xs=%zu ys=%zu xos=%zu yos=%zu "
               "mode=%s nth=%u w=%d%s b=%d stats=%d eps=%g: %s (status %d / %d)\n",
               tst->name, A->ln ? "layernorm" : "rmsnorm", A->outer, A->rows, dim, A->xs, A->ys,
               A->xos, A->yos, add_mode_names[A->mode], A->nth, A->use_w, A->wplus ? "+1" : "",
               A->use_b, A->use_stats, (double)A->eps, bad, status[0], status[1]);
    } else if (verbose) {
        printf("   ok %s add_%s outer=%zu rows=%zu dim=%zu mode=%s nth=%u\n", tst->name,
               A->ln ? "layernorm" : "rmsnorm", A->outer, A->rows, dim, add_mode_names[A->mode],
               A->nth);
    }
    st->cases++;
    if (bad)
        st->fails++;
    for (int k = 0; k < 2; k++) {
        free(side[k].x.mem);
        free(side[k].r.mem);
        free(side[k].h.mem);
        free(side[k].y.mem);
        free(side[k].m.mem);
        free(side[k].s.mem);
        free(side[k].sums);
    }
    free(y2.mem);
    free(m2.mem);
    free(s2.mem);
    free(sums2);
    free(x0);
    free(r0);
    free(w);
    free(b);
    free(hc);
    free(in_y);
    return !bad;
}

/* A random case of the fused op `ln` at dim with `rows` rows. */
static void add_random_case(add_case *A, int ln, size_t dim, size_t rows)
{
    memset(A, 0, sizeof(*A));
    A->ln = ln;
    A->dim = dim;
    A->rows = rows;
    A->outer = irand(4) == 0 ? 2 + irand(2) : 1;
    A->mode = (int)irand(ADD_MODES);
    A->xs = dim + (irand(2) ? 0 : irand(9));
    A->ys = dim + (irand(2) ? 0 : irand(9));
    const int inplace = A->mode != ADD_NONE && A->mode != ADD_HNULL;
    if (inplace)
        A->ys = A->xs;
    A->xos = A->rows * A->xs + (irand(2) ? 0 : irand(20));
    A->yos = inplace ? A->xos : A->rows * A->ys + (irand(2) ? 0 : irand(20));
    A->use_w = irand(4) != 0;
    A->wplus = A->use_w && irand(2);
    A->use_b = ln && irand(4) != 0;
    A->use_stats = irand(2);
    A->nth = irand(3) == 0 ? (unsigned)(2 + irand(4)) : 0;
    A->eps = (rnd() & 1) ? 1e-5f : ((rnd() & 1) ? 0.0f : 1e-6f);
}

/* Guard pages: every buffer of a contiguous call against an inaccessible page (after its end, or
 * before its start); the tier's output must equal the scalar table's. */
static int run_add_guard_case(const norm_dsp *ref, const norm_dsp *tst, int ln, size_t dim,
                              size_t rows, int at_end, int mode, stats *st)
{
    const size_t n = rows * dim;
    gbuf xg = gbuf_new(n, at_end), rg = gbuf_new(n, at_end), hg = gbuf_new(n, at_end),
         yg = gbuf_new(n, at_end), wg = gbuf_new(dim, at_end), bg = gbuf_new(dim, at_end);
    float *x0 = malloc(n * sizeof(float)), *r0 = malloc(n * sizeof(float));
    float *hr = malloc(n * sizeof(float)), *yr = malloc(n * sizeof(float));
    if (!x0 || !r0 || !hr || !yr) {
        fprintf(stderr, "checkasm: out of memory\n");
        exit(2);
    }
    for (size_t t = 0; t < rows; t++) {
        gen_row(x0 + t * dim, dim);
        gen_row(r0 + t * dim, dim);
    }
    for (size_t i = 0; i < dim; i++) {
        wg.p[i] = (float)(0.5 * nrand());
        bg.p[i] = (float)(0.5 * nrand());
    }
    libnorm_opts o = LIBNORM_OPTS_INIT;
    o.flags = rows > 1 ? LIBNORM_WEIGHT_PLUS_ONE : 0u;
    const int op = ln ? NORM_OP_LN : NORM_OP_RMS;
    /* the reference: plain buffers; mode 0 apart, 1 h NULL, 2 h == x */
    memcpy(hr, x0, n * sizeof(float));
    int sr = norm_add_call(ref, op, yr, mode == 1 ? NULL : hr, mode == 2 ? hr : x0, r0, wg.p,
                           ln ? bg.p : NULL, rows, dim, 1e-5f, &o, NULL);
    memcpy(xg.p, x0, n * sizeof(float));
    memcpy(rg.p, r0, n * sizeof(float));
    memcpy(hg.p, x0, n * sizeof(float));
    volatile int stt = 0;
    int sig;
    crash_armed = 1;
    if ((sig = sigsetjmp(crash_jmp, 1)) == 0)
        stt = norm_add_call(tst, op, yg.p, mode == 1 ? NULL : hg.p, mode == 2 ? hg.p : xg.p, rg.p,
                            wg.p, ln ? bg.p : NULL, rows, dim, 1e-5f, &o, NULL);
    crash_armed = 0;
    int ok = 1;
    if (sig != 0) {
        printf("   FAIL %s add_%s dim=%zu rows=%zu: touched memory %s the buffers (signal %d, %s)\n",
               tst->name, ln ? "layernorm" : "rmsnorm", dim, rows, at_end ? "after" : "before",
               sig, strsignal(sig));
        ok = 0;
    } else if (sr != 0 || stt != 0 || memcmp(yr, yg.p, n * sizeof(float)) != 0 ||
               (mode != 1 && memcmp(hr, hg.p, n * sizeof(float)) != 0)) {
        printf("   FAIL %s add_%s dim=%zu rows=%zu mode %d: differs from scalar (guard-page case)\n",
               tst->name, ln ? "layernorm" : "rmsnorm", dim, rows, mode);
        ok = 0;
    }
    st->cases++;
    if (!ok)
        st->fails++;
    munmap(xg.base, xg.len);
    munmap(rg.base, rg.len);
    munmap(hg.base, hg.len);
    munmap(yg.base, yg.len);
    munmap(wg.base, wg.len);
    munmap(bg.base, bg.len);
    free(x0);
    free(r0);
    free(hr);
    free(yr);
    return ok;
}

/* Every check of one fused op on one tier. */
static stats check_add(const norm_dsp *ref, const norm_dsp *tst, int ln, uint64_t seed, int quick,
                       int guard, int sweep)
{
    stats st = {0, 0, 0.0};
    rng_state = seed ^ ((uint64_t)(tst->tier * 16 + 13 + ln) << 40);
    add_case A;
    size_t dims[256], nd = 0;
    for (size_t d = 1; d <= 130; d++)
        dims[nd++] = d;
    for (size_t i = 0; i < sizeof(extra_dims) / sizeof(extra_dims[0]); i++)
        dims[nd++] = extra_dims[i];
    const int reps = quick ? 2 : 5;
    for (size_t di = 0; di < nd && st.fails <= 10; di++)
        for (int k = 0; k < (dims[di] <= 1100 ? reps : 1) && st.fails <= 10; k++) {
            size_t dim = dims[di];
            size_t rows = dim > 20000 ? 1 + irand(2)
                          : (k & 1) && dim <= 2048 ? 8 + irand(17) : 1 + irand(7);
            add_random_case(&A, ln, dim, rows);
            run_add_case(ref, tst, &A, &st);
        }
    /* every mode on rows 1..24 of a few dims (the batches, pairs and single rows, and the cache
     * tiles of the longer rows) */
    static const size_t sweep_dims[] = {1, 7, 16, 64, 100, 128, 513, 1024, 2049};
    for (size_t di = 0; sweep && di < sizeof(sweep_dims) / sizeof(sweep_dims[0]); di++)
        for (size_t rows = 1; rows <= 24 && st.fails <= 10; rows += quick ? 5 : 1) {
            add_random_case(&A, ln, sweep_dims[di], rows);
            A.mode = (int)(rows % ADD_MODES);
            if (A.mode != ADD_NONE && A.mode != ADD_HNULL) {
                A.ys = A.xs;
                A.yos = A.xos;
            }
            run_add_case(ref, tst, &A, &st);
        }
    /* the cache tiles of calls that do not stream (NORM_ADD_TILE_BYTES_CACHE of h a tile; the
     * add one call over a tile's rows where they follow on, else row by row): rows past one or
     * two tiles, ending on a partial tile, random modes; rows that follow on (k = 0, 1), random
     * strides (2), and a split in two (3) */
    static const size_t ctile_dims[] = {64, 1000, 1024, 4097};
    for (size_t di = 0; di < sizeof(ctile_dims) / sizeof(ctile_dims[0]); di++)
        for (int k = 0; k < 4 && st.fails <= 10; k++) {
            const size_t dim = ctile_dims[di];
            const size_t tr = NORM_ADD_TILE_BYTES_CACHE / sizeof(float) / dim;
            add_random_case(&A, ln, dim, (tr ? tr : 1) * (size_t)(1 + k % 2) + 1 + irand(3));
            A.outer = 1;
            A.nth = k == 3 ? 2 : 0;
            if (k < 2)
                A.xs = A.ys = dim;
            if (A.mode != ADD_NONE && A.mode != ADD_HNULL)
                A.ys = A.xs;
            A.xos = A.rows * A.xs;
            A.yos = A.rows * A.ys;
            run_add_case(ref, tst, &A, &st);
        }
    /* streaming-size calls (x, r, h, y past NORM_STREAM_BYTES: y non-temporal, the next tile's
     * x and r prefetched), not --quick: every in-place mode and h NULL, tiles of one row (4096,
     * 4097) and of several ending on a partial tile (the count is not a multiple of the tile),
     * row strides of dim + 1 or + 3 (every row of y at another alignment: the stream heads).
     * h apart (out of place, the case a non-temporal h would change): row strides of dim + 1
     * (771), a tile of exactly one row (4096) and rows past one tile (4097), and y in place over
     * x with h apart (1000). On the x86 tiers, h apart: RMSNorm's rows of up to 4096 floats
     * (67, 771, 4096 and y in place over x or r: 768, 1000) and LayerNorm's of 4096 take the
     * one-pass schedule (src/libnorm.c add_run: h streamed by add2_f32, the norm reading a
     * stack scratch), the other rows that follow on (4097; LayerNorm's 67, 768, 1000) the two
     * streaming passes (the add streams h, norm_add_stream()). */
    static const struct { size_t dim, pad; int mode; } stream_cases[] = {
        {67, 0, ADD_NONE},    {4097, 1, ADD_Y_X},  {4096, 1, ADD_H_X}, {768, 3, ADD_HNULL},
        {100, 3, ADD_Y_R_H_X}, {1000, 1, ADD_H_R}, {33, 0, ADD_HNULL_Y_X},
        {771, 1, ADD_NONE},   {4096, 0, ADD_NONE}, {1000, 3, ADD_Y_X}, {4097, 0, ADD_NONE},
        {768, 0, ADD_Y_X},    {1000, 0, ADD_Y_R},
    };
    for (size_t di = 0; !quick && di < sizeof(stream_cases) / sizeof(stream_cases[0]) &&
                        st.fails <= 10; di++) {
        size_t dim = stream_cases[di].dim;
        add_random_case(&A, ln, dim, (size_t)(NORM_STREAM_BYTES / (16.0 * (double)dim)) + 3);
        A.outer = 1;
        A.nth = 0;
        A.mode = stream_cases[di].mode;
        A.ys = A.xs = dim + stream_cases[di].pad;
        A.xos = A.yos = A.rows * A.xs;
        run_add_case(ref, tst, &A, &st);
    }
    static const size_t guard_dims[] = {1, 3, 7, 8, 15, 16, 17, 33, 64, 65, 100, 129, 513, 4097};
    for (size_t gi = 0; guard && gi < sizeof(guard_dims) / sizeof(guard_dims[0]); gi++)
        for (int at_end = 0; at_end < 2; at_end++)
            for (size_t gr = 1; gr <= 9; gr += 8)
                run_add_guard_case(ref, tst, ln, guard_dims[gi], gr, at_end,
                                   (int)((gi + gr + (size_t)at_end) % 3), &st);
    if (st.fails > 10)
        printf("   (stopped after 10 failures)\n");
    return st;
}

/* Every check of one kernel of one tier; returns its stats. */
/* ---- the one-row functions (norm_dsp.rmsnorm_row_f32, norm_dsp.layernorm_row_f32) ----
 * The entry points' rows = 1 calls tail-call them instead of building a job (src/libnorm.c): on
 * every tier they must give the bits of the scalar tier's kernel on the job of that row (y, rows
 * 1, no statistics outputs, w or NULL, b or NULL (LayerNorm), wplus), and return 0. x and y (and
 * w, b) sit against guard pages (not with --no-guard: heap buffers), at the start or at the end
 * of their pages, so that a read or write past the row faults; x must be unchanged (out of
 * place). Dims 1..130 and the block edges, with dims 64 and 128 run many times over every row
 * family of gen_row() (rare rows, and LayerNorm rows that need pass 2 again, included). */
static norm_row_fn row_fn_under_test;
static norm_ln_row_fn ln_row_fn_under_test;
static int row_fn_rc;
static void row_fn_adapter(const norm_job *j)
{
    row_fn_rc = row_fn_under_test(j->y, j->x, j->w, j->dim, j->eps, j->wplus);
}
static void ln_row_fn_adapter(const norm_job *j)
{
    row_fn_rc = ln_row_fn_under_test(j->y, j->x, j->w, j->b, j->dim, j->eps, j->wplus);
}

/* A gbuf, or (guard = 0: --no-guard) the same on the heap (base NULL: free(p)). */
static gbuf row_buf(size_t n, int at_end, int guard)
{
    if (guard)
        return gbuf_new(n, at_end);
    gbuf g = {NULL, 0, malloc(n * sizeof(float))};
    if (!g.p) {
        fprintf(stderr, "checkasm: out of memory\n");
        exit(2);
    }
    return g;
}

static void row_buf_free(gbuf *g)
{
    if (g->base)
        munmap(g->base, g->len);
    else
        free(g->p);
}

/* ln: the LayerNorm function (with a bias half of the time), else the RMSNorm one. */
static int run_row_case(const norm_dsp *ref, const norm_dsp *tst, int ln, size_t dim, int at_end,
                        int guard, stats *st)
{
    const int inplace = irand(4) == 0, use_w = irand(4) != 0, wplus = use_w && irand(3) == 0;
    const int use_b = ln && irand(2) == 0;
    const float eps = (rnd() & 1) ? 1e-5f : ((rnd() & 1) ? 0.0f : (rnd() & 1) ? 1e-6f : 3.0f);
    const char *fn = ln ? "layernorm_row_f32" : "rmsnorm_row_f32";
    gbuf xg = row_buf(dim, at_end, guard), yg = row_buf(dim, at_end, guard);
    gbuf wg = row_buf(dim, at_end, guard), bg = row_buf(dim, at_end, guard);
    float *x = malloc(dim * sizeof(float)), *yr = malloc(dim * sizeof(float));
    if (!x || !yr) {
        fprintf(stderr, "checkasm: out of memory\n");
        exit(2);
    }
    gen_row(x, dim);
    for (size_t i = 0; i < dim; i++) {
        wg.p[i] = (float)(1.0 + 0.5 * nrand());
        bg.p[i] = (float)(0.5 * nrand());
    }
    memcpy(xg.p, x, dim * sizeof(float));
    memcpy(yg.p, x, dim * sizeof(float)); /* the input itself when in place */
    norm_job jr = {yr, x, use_w ? wg.p : NULL, use_b ? bg.p : NULL, 1, dim, dim, dim, eps, NULL,
                   NULL, NULL, NORM_KIND_RMS, NULL, wplus, 0};
    if (ln)
        ref->layernorm_f32(&jr);
    else
        ref->rmsnorm_f32(&jr);
    norm_job jt = jr;
    jt.y = yg.p;
    jt.x = inplace ? yg.p : xg.p;
    row_fn_under_test = tst->rmsnorm_row_f32;
    ln_row_fn_under_test = tst->layernorm_row_f32;
    row_fn_rc = -1;
    int ok = 1;
    int sig = call_guarded(ln ? ln_row_fn_adapter : row_fn_adapter, &jt);
    if (sig != 0) {
        printf("   FAIL %s %s dim=%zu: crashed or touched memory %s the row (signal %d, %s)\n",
               tst->name, fn, dim, at_end ? "after" : "before", sig, strsignal(sig));
        ok = 0;
    } else if (row_fn_rc != 0) {
        printf("   FAIL %s %s dim=%zu: returned %d, not 0\n", tst->name, fn, dim, row_fn_rc);
        ok = 0;
    } else if (memcmp(yr, yg.p, dim * sizeof(float)) != 0) {
        for (size_t i = 0; i < dim; i++)
            if (memcmp(&yr[i], &yg.p[i], 4) != 0) {
                printf("   FAIL %s %s dim=%zu (w=%d%s, b=%d, eps=%g, %s): [%zu] scalar %.9g vs "
                       "%.9g\n", tst->name, fn, dim, use_w, wplus ? "+1" : "", use_b, eps,
                       inplace ? "in place" : "out of place", i, yr[i], yg.p[i]);
                break;
            }
        ok = 0;
    } else if (!inplace && memcmp(xg.p, x, dim * sizeof(float)) != 0) {
        printf("   FAIL %s %s dim=%zu: modified x\n", tst->name, fn, dim);
        ok = 0;
    }
    st->cases++;
    if (!ok)
        st->fails++;
    row_buf_free(&xg);
    row_buf_free(&yg);
    row_buf_free(&wg);
    row_buf_free(&bg);
    free(x);
    free(yr);
    return ok;
}

static void check_row_fn(const norm_dsp *ref, const norm_dsp *tst, int ln, int quick, int guard,
                         stats *st)
{
    for (size_t d = 1; d <= 130 + sizeof extra_dims / sizeof extra_dims[0] && st->fails <= 10;
         d++) {
        size_t dim = d <= 130 ? d : extra_dims[d - 131];
        if (dim > 8192)
            continue;
        int reps = dim == 64 || dim == 128 ? (quick ? 40 : 400) : (quick ? 1 : 4);
        for (int k = 0; k < reps && st->fails <= 10; k++)
            run_row_case(ref, tst, ln, dim, k & 1, guard, st);
    }
}

static stats check_kernel(const norm_dsp *ref, const norm_dsp *tst, enum op op, uint64_t seed,
                          int quick, int guard, int sweep)
{
    stats st = {0, 0, 0.0};
    rng_state = seed ^ ((uint64_t)(tst->tier * 16 + (int)op) << 40);
    size_t dims[256], nd = 0;
    for (size_t d = 1; d <= 130; d++)
        dims[nd++] = d;
    for (size_t i = 0; i < sizeof(extra_dims) / sizeof(extra_dims[0]); i++)
        dims[nd++] = extra_dims[i];
    int reps_small = quick ? 2 : 6;
    for (size_t di = 0; di < nd && st.fails <= 10; di++) {
        size_t dim = dims[di];
        int reps = dim <= 1100 ? reps_small : (quick ? 1 : 2);
        for (int k = 0; k < reps && st.fails <= 10; k++) {
            /* rows 1..7, and (every other case of dims up to 2048) 8..24: the kernels batch
             * short rows eight at a time and pair the rest */
            size_t rows = dim > 20000 ? 1 + irand(2)
                          : (k & 1) && dim <= 2048 ? 8 + irand(17) : 1 + irand(7);
            run_case(ref, tst, op, dim, rows, &st);
        }
    }
    if (sweep) {
        nd = 0;
        for (size_t d = 1; d <= 130; d++)
            dims[nd++] = d;
        for (size_t i = 0; i < sizeof(sweep_edges) / sizeof(sweep_edges[0]); i++)
            dims[nd++] = sweep_edges[i];
        for (size_t di = 0; di < nd && st.fails <= 10; di++)
            for (size_t rows = 1; rows <= 24 && st.fails <= 10; rows++)
                run_case(ref, tst, op, dims[di], rows, &st);
    }
    /* Short rows as streaming calls (norm_job.stream: dim + rows odd) with more rows than the
     * x86 tiers' row prefetch distance in their batches (pass 2 of a streaming row prefetches
     * x of the row 64 (AVX-512) or 40 (AVX2) rows ahead): the prefetching pass 2 of the
     * batches, with n a constant (64, 128) and not. */
    static const size_t pf_dims[] = {64, 67, 128, 200, 512};
    for (size_t pi = 0; pi < sizeof(pf_dims) / sizeof(pf_dims[0]) && st.fails <= 10; pi++)
        for (int k = 0; k < (quick ? 1 : 3) && st.fails <= 10; k++) {
            size_t rows = 72 + irand(25);
            run_case(ref, tst, op, pf_dims[pi], rows + !((pf_dims[pi] + rows) & 1), &st);
        }
    /* LayerNorm as streaming calls with rows enough for the x86 tiers' prefetches of the rows
     * ahead: short-row batches (AVX2 from dim 65, AVX-512 every dim), pairs, and long rows one at
     * a time (with affine: pass 2 prefetching the first half of the next row, pass 3 the rest),
     * rows shorter and longer than L1D, with and without weight and bias. A wrong
     * prefetch address changes no result (only timing sees it); these cases make sure the
     * code around the prefetches runs. */
    static const struct {
        size_t dim, rows;
    } pf_cases[] = {{64, 41}, {67, 41}, {128, 41}, {2049, 6}, {4096, 5}, {4097, 6}, {8191, 3}};
    for (size_t pi = 0; op == OP_LN && pi < 2 * (sizeof pf_cases / sizeof pf_cases[0]) &&
                        st.fails <= 10;
         pi++) {
        force_stream = 1;
        force_affine = (int)(pi & 1);
        run_case(ref, tst, op, pf_cases[pi / 2].dim, pf_cases[pi / 2].rows, &st);
        force_stream = 0;
    }
    /* RMSNorm's long rows as streaming calls, with and without the weight: rows one at a time
     * whose pass 1 prefetches the first half of the next row and the output pass the rest
     * (AVX-512 rms_row_pf2_avx512() from RMS_PF2_MIN = 8192 floats with a weight, AVX2 from
     * NORM_AVX2_RMS_PF2_MIN = 16384), and the rows just below. Without these only a native
     * AVX-512 run reached that code by chance (the avx512-emu tier, which an AVX2-only machine
     * runs instead, did not: session 26). */
    static const struct {
        size_t dim, rows;
    } rms_pf_cases[] = {{8191, 3}, {8192, 3}, {8197, 3}, {16384, 3}, {16389, 2}};
    for (size_t pi = 0;
         op == OP_RMS && pi < 2 * (sizeof rms_pf_cases / sizeof rms_pf_cases[0]) && st.fails <= 10;
         pi++) {
        force_stream = 1;
        force_affine = (int)(pi & 1);
        run_case(ref, tst, op, rms_pf_cases[pi / 2].dim, rms_pf_cases[pi / 2].rows, &st);
        force_stream = 0;
    }
    /* Streaming calls at dims 64 and 128 (the short LayerNorm rows' register kernels, the
     * RMSNorm row loops), y and its stride 64-byte aligned, out of place, 1 to 20 rows,
     * every weight / bias / statistics variant run_case() draws. */
    for (int k = 0; k < (quick ? 8 : 24) && st.fails <= 10; k++) {
        force_stream = force_aligny = 1;
        force_affine = k & 1;
        run_case(ref, tst, op, (k & 2) ? 128 : 64, 1 + irand(20), &st);
        force_stream = force_aligny = 0;
    }
    /* RMSNorm: a cached job of dim 128 with 4 MiB of x or more (8192 rows and more, dim + rows
     * even: not a streaming call), the x86 tiers' row loop for L3-resident jobs
     * (RMS_ROW1_BYTES, NORM_AVX2_RMS_ROW1_BYTES) */
    if (op == OP_RMS && st.fails <= 10)
        run_case(ref, tst, op, 128, 8192 + 2 * irand(8), &st);
    /* two streaming jobs: short rows (the batched path) and long odd ones */
    static const size_t batch_dims[] = {67, 4097};
    for (size_t bi = 0; stream_jobs && op != OP_RMSB && bi < 2 && st.fails <= 10; bi++)
        run_batch_case(ref, tst, op, batch_dims[bi], &st);
    /* guard pages after and before every buffer: short, block-edge and long rows, one row and a
     * batch of nine (the eight-row path and a single row after it) */
    static const size_t guard_dims[] = {1,   2,   3,   5,   7,   8,   13,  15,   16,
                                        17,  31,  33,  63,  64,  65,  100, 127,  128,
                                        129, 255, 511, 512, 513, 640, 641, 1000, 4097};
    for (size_t gi = 0; guard && gi < sizeof(guard_dims) / sizeof(guard_dims[0]); gi++)
        for (int at_end = 0; at_end < 2; at_end++)
            for (size_t gr = 1; gr <= 9; gr += 8)
                run_guard_case(ref, tst, op, guard_dims[gi], gr, at_end, &st);
    /* the entry points' single-row function */
    if (op == OP_RMS || op == OP_LN)
        check_row_fn(ref, tst, op == OP_LN, quick, guard, &st);
    if (st.fails > 10)
        printf("   (stopped after 10 failures)\n");
    return st;
}

/* --test values after the f32 kernels' and "layouts" (= OP_COUNT): the fused add + norm, then
 * the bf16 / f16 ops */
enum { T_ADD_LN = OP_COUNT + 1, T_ADD_RMS = OP_COUNT + 2, X16_FIRST = OP_COUNT + 3,
       X16_ALL = OP_COUNT + 7 };

static void usage(void)
{
    fprintf(stderr,
            "usage: checkasm [--seed=N] [--test=layernorm|rmsnorm|l2norm|rmsnorm_back|layouts|\n"
            "                 add_layernorm|add_rmsnorm|gated|\n"
            "                 layernorm_bf16|rmsnorm_bf16|layernorm_f16|rmsnorm_f16|x16]\n"
            "                [--tier=NAME[,NAME...]]\n"
            "                [--expect=run|skip] [--quick] [--no-sweep] [--no-stream] [--no-guard]\n"
            "                [--no-sums]\n"
            "                [--bench] [--verbose]\n"
            "  tiers: avx2, avx512, avx512-emu (x86-64), neon (aarch64); default: all of this build\n"
            "  exit: 0 all selected tiers ran and passed; 1 a failure; 77 (skip) none of them\n"
            "        can run here; --expect=run: a tier that cannot run is a failure;\n"
            "        --expect=skip: every selected tier must be refused here (0), else 1\n");
}

int main(int argc, char **argv)
{
    /* Fixed by default, so that `meson test` runs the same cases every time. */
    uint64_t seed = 20261205;
    int only_op = -1, quick = 0, do_bench = 0, guard = 1, sweep = 1, expect = 0;
    int want[TEST_TIER_COUNT] = {0}, any_want = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--seed=", 7) == 0)
            seed = strtoull(a + 7, NULL, 0);
        else if (strncmp(a, "--test=", 7) == 0) {
            only_op = strcmp(a + 7, "layernorm") == 0      ? OP_LN
                      : strcmp(a + 7, "rmsnorm") == 0      ? OP_RMS
                      : strcmp(a + 7, "l2norm") == 0       ? OP_L2
                      : strcmp(a + 7, "rmsnorm_back") == 0 ? OP_RMSB
                      : strcmp(a + 7, "layouts") == 0      ? OP_COUNT
                      : strcmp(a + 7, "x16") == 0          ? X16_ALL
                      : strcmp(a + 7, "add_layernorm") == 0 ? T_ADD_LN
                      : strcmp(a + 7, "add_rmsnorm") == 0  ? T_ADD_RMS
                      : strcmp(a + 7, "gated") == 0        ? TEST_GATED
                                                           : -2;
            for (int k = 0; k < 4; k++) /* (0.4) bf16 / f16: tests/checkasm_x16.c */
                if (strcmp(a + 7, checkasm_x16_name(k)) == 0)
                    only_op = X16_FIRST + k;
            if (only_op == -2) {
                fprintf(stderr, "checkasm: unknown test %s (layernorm, rmsnorm, l2norm, rmsnorm_back, "
                        "layouts, add_layernorm, add_rmsnorm, gated, layernorm_bf16, rmsnorm_bf16, "
                        "layernorm_f16, rmsnorm_f16, x16)\n",
                        a + 7);
                return 2;
            }
        } else if (strncmp(a, "--tier=", 7) == 0) {
            char list[256];
            snprintf(list, sizeof(list), "%s", a + 7);
            for (char *save = NULL, *t = strtok_r(list, ",", &save); t;
                 t = strtok_r(NULL, ",", &save)) {
                int tier = test_tier_from_name(t);
                if (tier <= NORM_TIER_SCALAR) {
                    fprintf(stderr, "checkasm: unknown tier %s (the scalar tier is the "
                                    "reference, not a tier to check)\n", t);
                    return 2;
                }
                want[tier] = any_want = 1;
            }
        } else if (strcmp(a, "--expect=run") == 0)
            expect = 1;
        else if (strcmp(a, "--expect=skip") == 0)
            expect = -1;
        else if (strcmp(a, "--quick") == 0)
            quick = 1;
        else if (strcmp(a, "--no-sweep") == 0)
            sweep = 0;
        else if (strcmp(a, "--no-stream") == 0)
            stream_jobs = 0;
        else if (strcmp(a, "--no-guard") == 0)
            guard = 0;
        else if (strcmp(a, "--no-sums") == 0)
            check_sums = 0;
        else if (strcmp(a, "--bench") == 0)
            do_bench = 1;
        else if (strcmp(a, "--verbose") == 0 || strcmp(a, "-v") == 0)
            verbose = 1;
        else {
            usage();
            return 2;
        }
    }
    install_crash_handler();
    printf("checkasm: seed %llu (the default; another: --seed=N)\n", (unsigned long long)seed);

    norm_dsp tabs[TEST_TIER_COUNT];
    int have[TEST_TIER_COUNT] = {0};
    for (int t = 0; t < TEST_TIER_COUNT; t++)
        have[t] = test_dsp_init(&tabs[t], t);
    if (have[NORM_TIER_SCALAR] != TEST_TIER_OK) {
        printf("checkasm: FAIL: no scalar table\n");
        return 1;
    }
    if (!any_want)
        for (int t = 1; t < TEST_TIER_COUNT; t++)
            want[t] = test_tier_built(t);
    printf("checkasm: best library tier here: %s\n", norm_tier_name(norm_best_tier()));

    /* One line per selected tier, "checkasm: tier NAME: ...", read by tools/tier_report.py. */
    int failed = 0, ran = 0, not_run = 0, unexpected = 0;
    for (int t = 1; t < TEST_TIER_COUNT; t++) {
        if (!want[t])
            continue;
        const char *name = test_tier_name(t);
        if (have[t] != TEST_TIER_OK) {
            const char *why = have[t] == TEST_TIER_NOT_BUILT
                                  ? (t == TEST_TIER_AVX512EMU ? "not built (needs x86-64 and SIMDe, "
                                                                "Debian libsimde-dev)"
                                                              : "not built for this architecture")
                                  : (t == TEST_TIER_AVX512EMU ? "this CPU lacks AVX2/FMA"
                                                              : "this CPU lacks it");
            not_run++;
            if (expect < 0)
                printf("checkasm: tier %s: REFUSED as expected (%s)\n", name, why);
            else
                printf("checkasm: tier %s: NOT RUN (%s)%s\n", name, why,
                       expect > 0 ? ": FAIL, it was expected to run" : "");
            continue;
        }
        if (expect < 0) {
            printf("checkasm: tier %s: FAIL: available here, but expected to be refused\n", name);
            unexpected++;
            continue;
        }
        int tier_failed = 0;
        size_t cases = 0;
        for (int op = 0; op < OP_COUNT; op++) {
            if (only_op >= 0 && op != only_op)
                continue;
            stats st = check_kernel(&tabs[0], &tabs[t], (enum op)op, seed, quick, guard, sweep);
            cases += st.cases;
            printf(" %-10s %-14s %s  %zu cases, %zu failed; worst |diff| = %.3g x 1e-5*max(1,|y|)%s\n",
                   name, op_names[op], st.fails ? "FAILED" : "OK", st.cases, st.fails, st.worst,
                   st.fails ? "" : " (bit-identical)");
            tier_failed |= st.fails != 0;
        }
        if (only_op < 0 || only_op == OP_COUNT) {
            stats st = check_layouts(&tabs[0], &tabs[t], seed, quick);
            cases += st.cases;
            printf(" %-10s %-14s %s  %zu cases, %zu failed (two-level layouts, row split, group "
                   "norm; entry layer)\n",
                   name, "layouts", st.fails ? "FAILED" : "OK", st.cases, st.fails);
            tier_failed |= st.fails != 0;
        }
        for (int k = 0; k < 4; k++) { /* (0.4) bf16 / f16 */
            if (only_op >= 0 && only_op != X16_ALL && only_op != X16_FIRST + k)
                continue;
            size_t nc = 0;
            int nf = checkasm_x16(&tabs[0], &tabs[t], name, k, seed, quick, guard, sweep,
                                  stream_jobs && !quick, &nc);
            cases += nc;
            printf(" %-10s %-14s %s  %zu cases, %d failed (entry layer; vs scalar and vs "
                   "round16(f32 op))\n",
                   name, checkasm_x16_name(k), nf ? "FAILED" : "OK", nc, nf);
            tier_failed |= nf != 0;
            if (tabs[t].x16_cvt && t != TEST_TIER_AVX512EMU &&
                (k == 0 || k == 1)) { /* bf16: the integer rounding the CPU's vcvtne2ps2bf16
                                       * otherwise replaces (norm_dsp.x16_cvt), --quick */
                norm_dsp nocvt = tabs[t];
                nocvt.x16_cvt = 0;
                nc = 0;
                nf = checkasm_x16(&tabs[0], &nocvt, name, k, seed, 1, guard, 0, 0, &nc);
                cases += nc;
                printf(" %-10s %-14s %s  %zu cases, %d failed (without vcvtne2ps2bf16, --quick)\n",
                       name, checkasm_x16_name(k), nf ? "FAILED" : "OK", nc, nf);
                tier_failed |= nf != 0;
            }
        }
        for (int ln = 1; ln >= 0; ln--) {
            if (only_op >= 0 && only_op != (ln ? T_ADD_LN : T_ADD_RMS))
                continue;
            stats st = check_add(&tabs[0], &tabs[t], ln, seed, quick, guard, sweep);
            cases += st.cases;
            printf(" %-10s %-14s %s  %zu cases, %zu failed (residual add + norm; entry layer)%s\n",
                   name, ln ? "add_layernorm" : "add_rmsnorm", st.fails ? "FAILED" : "OK",
                   st.cases, st.fails, st.fails ? "" : " (bit-identical)");
            tier_failed |= st.fails != 0;
        }
        if (only_op < 0 || only_op == TEST_GATED) {
            size_t gc = 0;
            int gf = checkasm_gated(&tabs[0], &tabs[t], seed, quick, guard, check_sums, &gc);
            cases += gc;
            printf(" %-10s %-14s %s  %zu cases, %d failed (gated RMSNorm: three gates, groups, "
                   "in place, special z, guard pages, entry layer)\n",
                   name, "gated_rmsnorm", gf ? "FAILED" : "OK", gc, gf);
            tier_failed |= gf != 0;
        }
        ran++;
        failed += tier_failed;
        printf("checkasm: tier %s: %s (%zu cases%s%s%s%s)\n", name, tier_failed ? "FAIL" : "PASS",
               cases, quick ? ", --quick" : "", sweep ? ", sweep" : "",
               guard ? ", guard pages" : ", no guard pages", check_sums ? ", totals" : ", NO totals");
    }
    printf("checkasm: %d tier(s) passed, %d failed, %d not run\n", ran - failed, failed, not_run);
    if (do_bench && failed == 0)
        bench(tabs, have, only_op);
    if (failed || unexpected)
        return 1;
    if (expect > 0 && not_run)
        return 1;
    if (expect < 0)
        return 0;
    return ran == 0 ? 77 : 0;
}
