/*
 * regab: in-process A/B of the x86 tiers' f32 LayerNorm / RMSNorm kernels on the rows that stay in
 * registers (issue 9: dims 64 and 128; bench/regab.sh builds it). Two versions of
 * src/avx2/{layernorm,rmsnorm}_avx2.c and src/avx512/{layernorm,rmsnorm}_avx512.c are linked into
 * one binary with their entry points renamed (base_* from a base commit, cur_* from the working
 * tree), next to a plain streaming floor (y = x * w + b, one pass, the tier's vector width,
 * non-temporal stores where the kernels stream; indicative only: normbench's floor row is the
 * reference, and the AVX2 floor without w and b measured slower than with them here). Each
 * shape is timed interleaved (floor, base, cur, the order rotated every repetition), one thread,
 * the kernel called directly on a norm_job; the numbers to compare are those of one line.
 *
 *   regab TIER REPS [SHAPES]
 *     TIER avx2 | avx512; REPS repetitions per shape (each a time box of about 2 ms of calls);
 *     SHAPES a bit mask of the list printed by `regab list` (default: all).
 *
 * Printed per shape: ns per row (thread CPU time, CLOCK_THREAD_CPUTIME_ID: time lost to other
 * processes' turns on the core drops out) of the floor, base and cur, minimum and 10th percentile
 * of the repetitions, cur's time over base's (minimum) and the floor's over cur's (% of the
 * streaming limit). Before timing, base's and cur's outputs are compared bit for bit
 * (REGAB_NOCHECK=1 in the environment skips that: prototypes that change results on purpose,
 * e.g. to measure what a step of the canonical order costs by leaving it out).
 * The DRAM shapes (x 64 MiB, twice a 32 MiB L3) time one call per repetition, each on another
 * third of a 192 MiB x so that none of it is cached.
 */
#define _GNU_SOURCE
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ab_util.h"
#include "norm_internal.h"

void base_ln_avx2(const norm_job *);
void base_rms_avx2(const norm_job *);
void base_ln_avx512(const norm_job *);
void base_rms_avx512(const norm_job *);
void cur_ln_avx2(const norm_job *);
void cur_rms_avx2(const norm_job *);
void cur_ln_avx512(const norm_job *);
void cur_rms_avx512(const norm_job *);

typedef struct {
    const char *name;
    int op;          /* 0 ln w+b, 1 ln plain, 2 rms w */
    size_t dim, rows, stride; /* stride: x row stride / dim */
} shape_t;

#define DRAM_ROWS(d) ((size_t)64 * 1024 * 1024 / 4 / (d))
static const shape_t shapes[] = {
    {"ln 64 x32", 0, 64, 32, 1},        {"ln-plain 64 x32", 1, 64, 32, 1},
    {"rms 64 x32", 2, 64, 32, 1},       {"ln 128 x32", 0, 128, 32, 1},
    {"ln-plain 128 x32", 1, 128, 32, 1}, {"rms 128 x32", 2, 128, 32, 1},
    {"ln 64 x512", 0, 64, 512, 1},      {"rms 64 x512", 2, 64, 512, 1},
    {"ln 128 x512", 0, 128, 512, 1},    {"rms 128 x512", 2, 128, 512, 1},
    {"rms-head 64 32x32", 2, 64, 1024, 3}, {"rms-head 128 32x32", 2, 128, 1024, 3},
    {"ln-head 128 32x32", 0, 128, 1024, 3}, {"rms-head 128 32x1", 2, 128, 32, 3},
    {"ln 64 dram", 0, 64, 0, 1},        {"ln-plain 64 dram", 1, 64, 0, 1},
    {"rms 64 dram", 2, 64, 0, 1},       {"ln 128 dram", 0, 128, 0, 1},
    {"ln-plain 128 dram", 1, 128, 0, 1}, {"rms 128 dram", 2, 128, 0, 1},
    {"rms-head 64 32x512", 2, 64, 16384, 3}, {"rms-head 128 32x512", 2, 128, 16384, 3},
};
#define NSHAPES (sizeof shapes / sizeof shapes[0])

static int avx512;

/* the streaming floor: y = x * w + b (w, b NULL: 1, 0), one pass; one instance per vector width
 * (V the vector type, N its floats, P the intrinsics' prefix) */
#define FLOOR_FN(name, tgt, V, N, P)                                                              \
    __attribute__((target(tgt))) static void name(const norm_job *j, int nt)                      \
    {                                                                                             \
        const size_t n = j->dim;                                                                  \
        const float *const w = j->w, *const b = j->b; /* (locals: no reload after each store) */ \
        for (size_t r = 0; r < j->rows; r++) {                                                    \
            const float *x = j->x + r * j->xs;                                                    \
            float *y = j->y + r * j->ys;                                                          \
            for (size_t i = 0; i < n; i += N) {                                                   \
                V v = P##_loadu_ps(x + i);                                                        \
                if (w)                                                                            \
                    v = P##_mul_ps(v, P##_loadu_ps(w + i));                                       \
                if (b)                                                                            \
                    v = P##_add_ps(v, P##_loadu_ps(b + i));                                       \
                if (nt)                                                                           \
                    P##_stream_ps(y + i, v);                                                      \
                else                                                                              \
                    P##_storeu_ps(y + i, v);                                                      \
            }                                                                                     \
        }                                                                                         \
        if (nt)                                                                                   \
            _mm_sfence();                                                                         \
    }
FLOOR_FN(floor512, "avx512f,avx2,fma", __m512, 16, _mm512)
FLOOR_FN(floor256, "avx2,fma", __m256, 8, _mm256)

static void floor_fn(const norm_job *j)
{
    if (avx512)
        floor512(j, norm_stream_job(j));
    else
        floor256(j, norm_stream_job(j));
}

const char *ab_name = "regab";

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "list") == 0) {
        for (size_t s = 0; s < NSHAPES; s++)
            printf("%2zu %s\n", s, shapes[s].name);
        return 0;
    }
    if (argc < 3) {
        fprintf(stderr, "usage: regab avx2|avx512 REPS [SHAPES mask] | regab list\n");
        return 2;
    }
    avx512 = strcmp(argv[1], "avx512") == 0;
    const int reps = atoi(argv[2]);
    const unsigned long long mask = argc > 3 ? strtoull(argv[3], NULL, 0) : ~0ull;
    void (*const ln[2])(const norm_job *) = {avx512 ? base_ln_avx512 : base_ln_avx2,
                                             avx512 ? cur_ln_avx512 : cur_ln_avx2};
    void (*const rms[2])(const norm_job *) = {avx512 ? base_rms_avx512 : base_rms_avx2,
                                              avx512 ? cur_rms_avx512 : cur_rms_avx2};
    const size_t maxf = (size_t)64 * 1024 * 1024 / 4 + 4096;
    float *x = aligned_alloc(64, maxf * 4 * 3), *y = aligned_alloc(64, maxf * 4);
    float *y2 = aligned_alloc(64, maxf * 4), *w = aligned_alloc(64, 4096), *b = w + 512;
    srand(1);
    for (size_t i = 0; i < maxf * 3; i++)
        x[i] = (float)rand() / RAND_MAX * 4.0f - 2.0f + (i % 7 == 0 ? 3.0f : 0.0f);
    for (int i = 0; i < 512; i++)
        w[i] = 0.5f + (float)i / 512, b[i] = (float)i / 1024 - 0.25f;
    printf("%-20s %9s %9s %9s   %9s %9s %9s   %6s %6s  (ns/row, thread CPU; min | p10)\n",
           "shape", "floor", "base", "cur", "floor", "base", "cur", "cur/b", "%lim");
    for (size_t s = 0; s < NSHAPES; s++) {
        if (!((mask >> s) & 1))
            continue;
        const shape_t *sh = &shapes[s];
        const size_t rows = sh->rows ? sh->rows : DRAM_ROWS(sh->dim);
        const size_t xs = sh->dim * sh->stride;
        norm_job j;
        memset(&j, 0, sizeof j);
        j.x = x;
        j.y = y;
        j.w = sh->op == 1 ? NULL : w;
        j.b = sh->op == 0 ? b : NULL;
        j.rows = rows;
        j.dim = sh->dim;
        j.xs = xs;
        j.ys = sh->dim;
        j.eps = 1e-5f;
        void (*const *fn)(const norm_job *) = sh->op == 2 ? rms : ln;
        /* check: base and cur bit for bit */
        fn[0](&j);
        memcpy(y2, y, rows * sh->dim * 4);
        memset(y, 0, rows * sh->dim * 4);
        fn[1](&j);
        if (!getenv("REGAB_NOCHECK") && memcmp(y, y2, rows * sh->dim * 4) != 0) {
            printf("%-20s MISMATCH base / cur\n", sh->name);
            continue;
        }
        /* calls per repetition: about 2 ms (DRAM: one call) */
        const size_t calls = sh->rows ? (size_t)(2e6 / (double)(rows * sh->dim) * 16) + 1 : 1;
        double *t[3];
        for (int v = 0; v < 3; v++)
            t[v] = malloc(sizeof(double) * (size_t)reps);
        for (int rp = 0; rp < reps; rp++) {
            for (int q = 0; q < 3; q++) {
                const int v = (q + rp) % 3;
                /* DRAM: another part of x each time, so that none of it is cached */
                if (!sh->rows)
                    j.x = x + (size_t)((rp * 3 + q) % 3) * (maxf - 4096);
                const double t0 = ab_now(CLOCK_THREAD_CPUTIME_ID);
                for (size_t c = 0; c < calls; c++) {
                    if (v == 0)
                        floor_fn(&j);
                    else
                        fn[v - 1](&j);
                }
                const double t1 = ab_now(CLOCK_THREAD_CPUTIME_ID);
                t[v][rp] = (t1 - t0) / (double)calls / (double)rows * 1e9;
            }
        }
        double mn[3], p10[3];
        for (int v = 0; v < 3; v++) {
            ab_stats(t[v], reps, &mn[v], &p10[v]);
            free(t[v]);
        }
        printf("%-20s %9.2f %9.2f %9.2f   %9.2f %9.2f %9.2f   %6.3f %5.0f%%\n", sh->name, mn[0],
               mn[1], mn[2], p10[0], p10[1], p10[2], mn[2] / mn[1], 100.0 * mn[0] / mn[2]);
        fflush(stdout);
    }
    return 0;
}
