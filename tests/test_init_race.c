/*
 * Threads call the API from process start, racing the dispatch init (src/dispatch.c: a load-time
 * constructor, pthread_once, an atomic ready flag). The library is linked statically (norm_core),
 * so its constructor is an ordinary one of this executable; ours has a higher priority (101) and
 * runs first: it starts the threads, which call every entry point at once while the library's
 * constructor runs on the main thread. main() joins them, then recomputes every result on one
 * thread and requires the same bits, and the same tier everywhere.
 *
 * Built with -fsanitize=thread by ./test.sh (build-tsan, TSAN_OPTIONS=halt_on_error=1): a data
 * race in the init is a TSan report and a non-zero exit. In other builds it checks the results.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libnorm.h"
#include "norm_internal.h"

#define THREADS 6
#define ROUNDS 40
#define ROWS 3
#define DIM 70

typedef struct work {
    pthread_t tid;
    int started;
    float x[ROWS * DIM], w[DIM], b[DIM];
    float y_ln[ROUNDS][ROWS * DIM], y_rms[ROUNDS][ROWS * DIM], y_plain[ROUNDS][ROWS * DIM];
    float mean[ROUNDS][ROWS], rstd[ROUNDS][ROWS];
    int status[ROUNDS][3];
    const char *isa_first, *isa_last;
} work;

static work g_work[THREADS];

static void fill(work *wk, int t)
{
    uint32_t s = 0x9e3779b9u * (uint32_t)(t + 1);
    for (int i = 0; i < ROWS * DIM; i++) {
        s = s * 1664525u + 1013904223u;
        wk->x[i] = (float)(int)(s >> 8) * 0x1p-20f + (float)t;
    }
    for (int i = 0; i < DIM; i++) {
        wk->w[i] = 1.0f + 0.01f * (float)((i + t) % 9);
        wk->b[i] = 0.1f * (float)((i * 3 + t) % 5) - 0.2f;
    }
}

/* Everything one thread computes (also the single-threaded recomputation, into `out`). */
static void compute(const work *wk, int round, float *y_ln, float *y_rms, float *y_plain,
                    float *mean, float *rstd, int *status)
{
    libnorm_opts o = LIBNORM_OPTS_INIT;
    o.mean = mean;
    o.rstd = rstd;
    float eps = 1e-5f * (float)(round + 1);
    status[0] = libnorm_layernorm_f32_ex(y_ln, wk->x, wk->w, wk->b, ROWS, DIM, eps, &o);
    o.mean = NULL;
    status[1] = libnorm_rmsnorm_f32_ex(y_rms, wk->x, wk->w, ROWS, DIM, eps, &o);
    status[2] = libnorm_layernorm_f32(y_plain, wk->x, NULL, NULL, ROWS, DIM, eps);
}

static void *thread_main(void *arg)
{
    work *wk = arg;
    wk->isa_first = libnorm_active_isa();
    for (int r = 0; r < ROUNDS; r++)
        compute(wk, r, wk->y_ln[r], wk->y_rms[r], wk->y_plain[r], wk->mean[r], wk->rstd[r],
                wk->status[r]);
    wk->isa_last = libnorm_active_isa();
    return NULL;
}

/* Runs before the library's own constructor (default priority 65535). */
__attribute__((constructor(101))) static void start_threads(void)
{
    for (int t = 0; t < THREADS; t++)
        fill(&g_work[t], t);
    for (int t = 0; t < THREADS; t++)
        g_work[t].started = pthread_create(&g_work[t].tid, NULL, thread_main, &g_work[t]) == 0;
}

int main(void)
{
    int fails = 0, joined = 0;
    for (int t = 0; t < THREADS; t++)
        if (g_work[t].started && pthread_join(g_work[t].tid, NULL) == 0)
            joined++;
    if (joined != THREADS) {
        printf("FAIL: %d of %d threads started and joined\n", joined, THREADS);
        return 1;
    }
    const char *isa = libnorm_active_isa();
    static float y_ln[ROWS * DIM], y_rms[ROWS * DIM], y_plain[ROWS * DIM];
    float mean[ROWS], rstd[ROWS];
    int status[3];
    for (int t = 0; t < THREADS; t++) {
        const work *wk = &g_work[t];
        if (wk->isa_first != isa || wk->isa_last != isa) {
            printf("FAIL: thread %d saw tier %s then %s, main %s\n", t, wk->isa_first,
                   wk->isa_last, isa);
            fails++;
        }
        for (int r = 0; r < ROUNDS; r++) {
            compute(wk, r, y_ln, y_rms, y_plain, mean, rstd, status);
            if (memcmp(status, wk->status[r], sizeof(status)) != 0 || status[0] || status[1] ||
                status[2] || memcmp(y_ln, wk->y_ln[r], sizeof(y_ln)) != 0 ||
                memcmp(y_rms, wk->y_rms[r], sizeof(y_rms)) != 0 ||
                memcmp(y_plain, wk->y_plain[r], sizeof(y_plain)) != 0 ||
                memcmp(mean, wk->mean[r], sizeof(mean)) != 0 ||
                memcmp(rstd, wk->rstd[r], sizeof(rstd)) != 0) {
                printf("FAIL: thread %d round %d differs from the single-threaded result\n", t,
                       r);
                fails++;
            }
        }
    }
    /* and the global table is the one norm_dsp_init builds for its tier */
    const norm_dsp *g = norm_dsp_global();
    norm_dsp d;
    if (norm_dsp_init(&d, g->tier) != 0 || d.layernorm_f32 != g->layernorm_f32 ||
        d.rmsnorm_f32 != g->rmsnorm_f32 || strcmp(g->name, isa) != 0) {
        printf("FAIL: the global dispatch table is not tier %s's\n", isa);
        fails++;
    }
    printf("test_init_race (%s): %d threads x %d rounds from a constructor, %s\n", isa, THREADS,
           ROUNDS, fails ? "FAILED" : "all equal to the single-threaded results");
    return fails != 0;
}
