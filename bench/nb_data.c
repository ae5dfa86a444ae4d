/*
 * The data every implementation runs on: x, y, the reference output and w, b, allocated once
 * for the largest shape (huge pages asked for) and written in full before any timing; and the
 * check of a result against the scalar tier's output over the same x.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "nb_internal.h"

float *g_x, *g_y, *g_ref, *g_w, *g_b;
size_t g_cap; /* floats in x, y, ref */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static inline uint32_t rng(void)
{
    uint64_t x = rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return (uint32_t)((x * 0x2545F4914F6CDD1Dull) >> 40); /* 24 bits */
}

static inline float urand(void) { return (float)rng() * (1.0f / 16777216.0f); }

/* A large buffer: 2 MiB aligned, transparent huge pages asked for (fewer TLB misses and page
 * faults; every implementation gets the same memory), then written in full by the caller. */
static void *big_alloc(size_t bytes)
{
    void *p = NULL;
    size_t align = (size_t)2 << 20;
    bytes = (bytes + align - 1) / align * align;
    if (posix_memalign(&p, align, bytes) != 0)
        nb_die("cannot allocate %zu MiB", bytes >> 20);
#if defined(MADV_HUGEPAGE)
    madvise(p, bytes, MADV_HUGEPAGE);
#endif
    return p;
}

void nb_alloc_buffers(void)
{
    size_t cap = g_dram_bytes / 4, maxdim = 1;
    for (size_t k = 0; k < g_nshapes; k++) {
        const shape *sh = &g_shapes[k];
        if (sh->dim > maxdim)
            maxdim = sh->dim;
        if (sh->xs > SIZE_MAX / 16 / sh->rows)
            nb_die("shape %zu x %zu (stride %zu) too large", sh->rows, sh->dim, sh->xs);
        if (sh->rows * sh->xs > cap) /* x spans rows * xs floats; y rows * dim */
            cap = sh->rows * sh->xs;
    }
    /* x, y, ref + slack; refuse to swap */
    double need = 3.0 * (double)cap * 4 + (8 << 20);
    long pages = sysconf(_SC_AVPHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
    if (pages > 0 && psz > 0 && need > 0.8 * (double)pages * (double)psz)
        nb_die("the largest shape needs %.0f MiB of buffers, only %.0f MiB are free: reduce --rows "
            "or --dim", need / 1048576, (double)pages * (double)psz / 1048576);
    g_cap = cap;
    /* y sits 2 KiB past x modulo 4 KiB: both 64-byte aligned, no 4K aliasing between them */
    g_x = big_alloc(cap * 4);
    g_y = (float *)big_alloc(cap * 4 + 4096) + 512;
    g_ref = big_alloc(cap * 4);
    g_w = big_alloc(maxdim * 4 + 64);
    g_b = big_alloc(maxdim * 4 + 64);
    /* Pre-touch everything (first-touch faults are expensive on VMs). x: uniform in
     * [-1.5, 2.5) (mean 0.5), w in [0.5, 1.5), b in [-0.5, 0.5). */
    for (size_t i = 0; i < cap; i++)
        g_x[i] = 4.0f * urand() - 1.5f;
    memset(g_y, 0, cap * 4);
    memset(g_ref, 0, cap * 4);
    for (size_t i = 0; i < maxdim; i++) {
        g_w[i] = 0.5f + urand();
        g_b[i] = urand() - 0.5f;
    }
}

/* The scalar tier's output over the whole shape, single-threaded; returns its time. */
double nb_compute_ref(int op, size_t rows, size_t dim, size_t xs)
{
    norm_dsp s;
    norm_dsp_init(&s, NORM_TIER_SCALAR);
    norm_job nj = {g_ref, g_x, nb_op_params[op] >= 1 ? g_w : NULL, nb_op_params[op] >= 2 ? g_b : NULL,
                   rows, dim, xs, dim, g_opt.eps, NULL, NULL, NULL, NORM_KIND_RMS, NULL, 0, 0};
    double t0 = now_ns();
    if (nb_op_is_rms(op))
        s.rmsnorm_f32(&nj);
    else
        s.layernorm_f32(&nj);
    return now_ns() - t0;
}

/* Compare y with the reference: exact (bitwise) or the max relative difference. */
void nb_compare(size_t n, int *exact, double *maxdiff)
{
    *exact = memcmp(g_y, g_ref, n * sizeof(float)) == 0;
    double md = 0;
    if (!*exact)
        for (size_t i = 0; i < n; i++) {
            double r = g_ref[i], d = fabs((double)g_y[i] - r) / fmax(1.0, fabs(r));
            if (!(d <= md)) /* NaN too */
                md = isnan(d) ? INFINITY : d;
        }
    *maxdiff = md;
}
