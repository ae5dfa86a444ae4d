/*
 * x16ab: in-process A/B of the x86 tiers' bf16 / f16 kernels from DRAM (bench/x16ab.sh builds
 * it). Two versions of src/avx2/norm_x16_avx2.c and src/avx512/norm_x16_avx512.c are linked into
 * one binary with their entry points renamed (base_* from a base commit, cur_* from the working
 * tree), next to the f32 op of the same build (norm_rows_call on the tier's table). Each shape is
 * timed interleaved (f32, base, cur, rotating the order every repetition), so that the shared
 * machine's swings hit all three alike; the numbers to compare are the ratios within one line.
 *
 *   x16ab TIER REPS [OPS [THREADS [LLCX]]]
 *     TIER avx2 | avx512; REPS repetitions per shape; OPS bit mask rms-bf16 1, ln-bf16 2,
 *     rms-f16 4, ln-f16 8 (default 7); THREADS bit mask 1 thread 1, 2 threads 2 (default 3);
 *     LLCX the f32 x in units of 8 MiB (default 16: 128 MiB, so that the 16-bit x, 64 MiB, is
 *     twice a 32 MiB L3 and a 16-bit call finds none of its rows in cache after the previous
 *     call).
 *   DIMS=mask (768 1, 4096 2) in the environment picks the dims. HOT=rows in the environment
 *   times rows in cache instead: each timing is that many rows (split between the threads),
 *   called repeatedly on the same buffers (about 1 MiB of 16-bit x per timing).
 *
 * Rows per call = the f32 x's floats / dim, the same rows for all three; weight f32 (and bias for
 * LayerNorm), x random in [-2, 2] rounded to bf16 (the f16 ops read the same bits as f16), as
 * normbench's fused group. Before timing, base's and cur's outputs are compared bit for bit.
 * Printed per shape: ns per row (wall) of the f32 op, then the f32 op's time over each 16-bit
 * version's (>= 1.7 is issue 10's target), for the minimum and the 10th percentile of the wall
 * times and for the minimum of the thread CPU time (the busiest thread's
 * CLOCK_THREAD_CPUTIME_ID: time lost to other processes' turns on the core drops out).
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ab_util.h"
#include "libnorm.h"
#include "norm_x16.h"

int norm_x16_rows_call(const norm_dsp *d, int op, int fmt, uint16_t *y, const uint16_t *x,
                       const void *weight, const void *bias, size_t rows, size_t dim, float eps,
                       const struct libnorm_opts *opts, double *sums);

typedef void (*x16_fn)(const norm_x16_job *);
void base_rms_avx2(const norm_x16_job *);
void base_ln_avx2(const norm_x16_job *);
void base_rms_avx512(const norm_x16_job *);
void base_ln_avx512(const norm_x16_job *);
void cur_rms_avx2(const norm_x16_job *);
void cur_ln_avx2(const norm_x16_job *);
void cur_rms_avx512(const norm_x16_job *);
void cur_ln_avx512(const norm_x16_job *);

enum { V_F32, V_BASE, V_CUR, NV };
static const char *const vnames[NV] = {"f32", "base", "cur"};

static norm_dsp D;
static int avx512;
static float *fx, *fy, *fw, *fb;
static uint16_t *x16, *y16, *ybase;

static struct {
    int op; /* 0 rms-bf16, 1 ln-bf16, 2 rms-f16, 3 ln-f16; nth 0: the worker exits */
    size_t rows, dim, iters;
    int v;
    unsigned nth;
    uint16_t *y;
} W;

/* Thread ith's share of the call: the f32 op through the entry layer's row split, the 16-bit
 * kernels directly on rows [rows * ith / nth, rows * (ith + 1) / nth). */
static void run1(unsigned ith)
{
    const int ln = W.op & 1, fmt = W.op >= 2 ? NORM_X16_F16 : NORM_X16_BF16;
    const float eps = 1e-5f;
    if (W.v == V_F32) {
        libnorm_opts o = LIBNORM_OPTS_INIT;
        o.ith = ith;
        o.nth = W.nth;
        norm_rows_call(&D, ln ? NORM_OP_LN : NORM_OP_RMS, fy, fx, fw, ln ? fb : NULL, W.rows,
                       W.dim, eps, &o, NULL);
        return;
    }
    const size_t r0 = W.rows * ith / W.nth, r1 = W.rows * (ith + 1) / W.nth;
    if (r1 <= r0)
        return;
    norm_x16_job j;
    memset(&j, 0, sizeof j);
    j.y = W.y + r0 * W.dim;
    j.x = x16 + r0 * W.dim;
    j.w = fw;
    j.b = ln ? fb : NULL;
    j.rows = r1 - r0;
    j.dim = j.xs = j.ys = W.dim;
    j.eps = eps;
    j.fmt = fmt;
    j.cvt = avx512 && W.v == V_CUR && D.x16_cvt; /* as the library's calls (norm_dsp.x16_cvt) */
    static const x16_fn fns[2][2][2] = {
        {{base_rms_avx2, base_ln_avx2}, {base_rms_avx512, base_ln_avx512}},
        {{cur_rms_avx2, cur_ln_avx2}, {cur_rms_avx512, cur_ln_avx512}}};
    fns[W.v == V_CUR][avx512][ln](&j);
}

static void run(unsigned ith)
{
    for (size_t i = 0; i < W.iters; i++)
        run1(ith);
}

const char *ab_name = "x16ab";

int main(int argc, char **argv)
{
    if (argc < 3 || (strcmp(argv[1], "avx2") && strcmp(argv[1], "avx512"))) {
        fprintf(stderr, "usage: x16ab avx2|avx512 REPS [OPS [THREADS [LLCX]]]\n");
        return 2;
    }
    avx512 = !strcmp(argv[1], "avx512");
    if (norm_dsp_init(&D, avx512 ? NORM_TIER_AVX512 : NORM_TIER_AVX2) != 0) {
        fprintf(stderr, "x16ab: this CPU has no %s\n", argv[1]);
        return 77;
    }
    const int reps = atoi(argv[2]) > 0 ? atoi(argv[2]) : 1;
    const unsigned opmask = argc > 3 ? (unsigned)atoi(argv[3]) : 7u;
    const unsigned thrmask = argc > 4 ? (unsigned)atoi(argv[4]) : 3u;
    const size_t llcx = argc > 5 && atoi(argv[5]) > 0 ? (size_t)atoi(argv[5]) : 16u;
    const unsigned dimmask = getenv("DIMS") ? (unsigned)atoi(getenv("DIMS")) : 3u;
    const size_t hot = getenv("HOT") ? (size_t)atoi(getenv("HOT")) : 0u;
    const size_t cap = llcx * ((size_t)8 << 20) / 4, maxdim = 4096;
    fx = ab_alloc(cap * 4);
    fy = ab_alloc(cap * 4);
    x16 = ab_alloc(cap * 2);
    y16 = ab_alloc(cap * 2);
    ybase = ab_alloc(cap * 2);
    fw = ab_alloc(maxdim * 4);
    fb = ab_alloc(maxdim * 4);
    for (size_t i = 0; i < cap; i++) {
        x16[i] = x16_f32_to_bf16(4.0f * ab_urand() - 2.0f);
        fx[i] = x16_bf16_to_f32(x16[i]);
    }
    for (size_t i = 0; i < maxdim; i++) {
        fw[i] = 0.5f + ab_urand();
        fb[i] = ab_urand() - 0.5f;
    }
    if (ab_threads_start(run) != 0)
        return 1;
    static const char *const opn[4] = {"rms-bf16", "ln-bf16", "rms-f16", "ln-f16"};
    static const size_t dims[2] = {768, 4096};
    double *t = malloc(sizeof(double) * (size_t)reps * NV);
    double *c = malloc(sizeof(double) * (size_t)reps * NV);
    if (!t || !c)
        return 1;
    printf("%s%s, %d repetitions; ns per row of the f32 op, then f32 / %s and f32 / %s\n", argv[1],
           hot ? " (rows in cache)" : "", reps, vnames[V_BASE], vnames[V_CUR]);
    printf("%-8s %5s %3s | %8s %6s %6s | %8s %6s %6s | %8s %6s %6s\n", "op", "dim", "thr",
           "wall min", "base", "cur", "p10", "base", "cur", "cpu min", "base", "cur");
    int bad = 0;
    for (int op = 0; op < 4; op++)
        for (int d = 0; d < 2; d++)
            for (unsigned nth = 1; nth <= 2; nth++) {
                if (!(opmask >> op & 1) || !(dimmask >> d & 1) || !(thrmask >> (nth - 1) & 1))
                    continue;
                W.op = op;
                W.dim = dims[d];
                W.rows = hot ? hot : cap / dims[d];
                W.iters = 1;
                W.nth = nth;
                double cu;
                W.v = V_BASE;
                W.y = ybase;
                ab_one(nth, &cu);
                W.v = V_CUR;
                W.y = y16;
                ab_one(nth, &cu);
                W.iters = hot ? ((size_t)1 << 19) / (hot * dims[d]) + 1 : 1;
                if (memcmp(ybase, y16, W.rows * W.dim * 2) != 0) {
                    printf("%-8s %5zu %3u | base and cur differ\n", opn[op], dims[d], nth);
                    bad = 1;
                    continue;
                }
                for (int r = 0; r < reps; r++)
                    for (int k = 0; k < NV; k++) {
                        const int v = (k + r) % NV;
                        W.v = v;
                        double *tv = &t[v * reps + r], *cv = &c[v * reps + r];
                        const double nr = (double)(W.rows * W.iters);
                        *tv = ab_one(nth, cv) / nr * 1e9;
                        *cv = *cv / nr * 1e9 * nth;
                    }
                double mn[NV], p10[NV], cmn[NV];
                for (int v = 0; v < NV; v++) {
                    ab_stats(t + v * reps, reps, &mn[v], &p10[v]);
                    ab_stats(c + v * reps, reps, &cmn[v], NULL);
                }
                printf("%-8s %5zu %3u | %8.1f %5.2fx %5.2fx | %8.1f %5.2fx %5.2fx | %8.1f %5.2fx "
                       "%5.2fx\n",
                       opn[op], dims[d], nth, mn[0], mn[0] / mn[1], mn[0] / mn[2], p10[0],
                       p10[0] / p10[1], p10[0] / p10[2], cmn[0], cmn[0] / cmn[1],
                       cmn[0] / cmn[2]);
                fflush(stdout);
            }
    ab_threads_stop();
    free(t);
    free(c);
    return bad;
}
