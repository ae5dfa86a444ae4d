/*
 * threadprobe: does a second thread add throughput on this machine, for libnorm's kernels, and
 * what does a per-node barrier (ggml's) cost on top? It answers the question behind the 2-thread
 * rows of `./bench.sh --ggml` (README, "Using libnorm from ggml"): a node there is a chain step
 * of `rows` RMSNorm rows split between the threads, then a spin barrier.
 *
 *   threadprobe [dim [rows [nodes]]]     (defaults 768 32 32000)
 *
 * Three runs over the same chain (node k reads buffer k % 2 and writes the other, the rows of a
 * thread always its own contiguous half, as libnorm's ith/nth split gives them):
 *   1 thread         every row of every node;
 *   2 threads free   each thread its half of every node, no barrier (per-thread CPU ns/node: on
 *                    two real cores about half the 1-thread time; on two hardware threads of one
 *                    core, or vCPUs that share one, about the 1-thread time);
 *   2 threads + bar  the same with ggml's spin barrier (atomic counter, pause loop) after every
 *                    node: the main thread's CPU ns/node, as ggmlbench measures it.
 * Times are thread CPU time (CLOCK_THREAD_CPUTIME_ID) and wall time per node. Not a test: it
 * asserts nothing; it prints what the machine does.
 */
#define _GNU_SOURCE
#include <libnorm.h>

#include <immintrin.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(clockid_t c)
{
    struct timespec t;
    clock_gettime(c, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

static size_t g_dim = 768, g_rows = 32;
static long g_nodes = 32000;
static int g_nt = 1, g_barrier = 0;
static float *g_buf[2];
static atomic_int g_nb, g_np;
static double g_cpu[2];

/* ggml_barrier (ggml-cpu.c, ggml 0.23.0, no OpenMP): the last thread in resets the counter and
 * bumps the pass count; the others spin on it. */
static void barrier(void)
{
    const int p = atomic_load_explicit(&g_np, memory_order_relaxed);
    if (atomic_fetch_add(&g_nb, 1) == g_nt - 1) {
        atomic_store_explicit(&g_nb, 0, memory_order_relaxed);
        atomic_fetch_add(&g_np, 1);
        return;
    }
    while (atomic_load_explicit(&g_np, memory_order_relaxed) == p)
        _mm_pause();
    atomic_thread_fence(memory_order_seq_cst);
}

static void *thread(void *arg)
{
    const unsigned ith = (unsigned)(size_t)arg;
    libnorm_opts o = LIBNORM_OPTS_INIT;
    o.ith = ith;
    o.nth = (unsigned)g_nt;
    const double c0 = now(CLOCK_THREAD_CPUTIME_ID);
    for (long k = 0; k < g_nodes; k++) {
        if (libnorm_rmsnorm_f32_ex(g_buf[(k + 1) & 1], g_buf[k & 1], NULL, g_rows, g_dim, 1e-5f,
                                   &o) != LIBNORM_OK)
            abort();
        if (g_barrier)
            barrier();
    }
    g_cpu[ith] = (now(CLOCK_THREAD_CPUTIME_ID) - c0) / (double)g_nodes;
    return NULL;
}

static void run(const char *what, int nt, int bar)
{
    g_nt = nt;
    g_barrier = bar;
    pthread_t t[2];
    const double w0 = now(CLOCK_MONOTONIC);
    for (int i = 1; i < nt; i++)
        if (pthread_create(&t[i], NULL, thread, (void *)(size_t)i) != 0)
            abort();
    thread((void *)0);
    for (int i = 1; i < nt; i++)
        pthread_join(t[i], NULL);
    const double wall = (now(CLOCK_MONOTONIC) - w0) / (double)g_nodes;
    printf("%-16s cpu ns/node: thread 0 %8.0f", what, g_cpu[0]);
    if (nt > 1)
        printf(", thread 1 %8.0f", g_cpu[1]);
    else
        printf("%19s", "");
    printf("   wall ns/node %8.0f\n", wall);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        g_dim = (size_t)atol(argv[1]);
    if (argc > 2)
        g_rows = (size_t)atol(argv[2]);
    if (argc > 3)
        g_nodes = atol(argv[3]);
    if (g_dim == 0 || g_rows < 2 || g_nodes < 1) {
        fprintf(stderr, "usage: threadprobe [dim [rows >= 2 [nodes]]]\n");
        return 2;
    }
    for (int i = 0; i < 2; i++) {
        g_buf[i] = aligned_alloc(64, (g_rows * g_dim * sizeof(float) + 63) / 64 * 64);
        if (!g_buf[i])
            return 1;
        for (size_t j = 0; j < g_rows * g_dim; j++)
            g_buf[i][j] = (float)(j * 7919 % 1000) / 250.0f - 1.7f;
    }
    printf("threadprobe: RMSNorm, dim %zu, %zu rows per node, %ld nodes, libnorm tier %s\n",
           g_dim, g_rows, g_nodes, libnorm_active_isa());
    run("1 thread", 1, 0);
    run("2 threads free", 2, 0);
    run("2 threads + bar", 2, 1);
    return 0;
}
