/*
 * The physical limits normbench measures against, apart from the per-ISA floor kernels
 * (floor_x86.c): the portable floors for CPUs without AVX2, the DRAM copy bandwidth (once per
 * thread count), and the self-check that the DRAM batch really comes from DRAM.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nb_internal.h"

double g_copy_gbps[MAXT + 1]; /* by thread count; 0: not measured */

/* portable floors for CPUs without AVX2 (and other architectures) */
static float gen_read_n(const float *x, size_t n)
{
    float a[8] = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++)
            a[k] += x[i + k];
    for (; i < n; i++)
        a[0] += x[i];
    return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}

static float gen_read(const float *x, size_t rows, size_t dim, size_t xs)
{
    if (xs == dim)
        return gen_read_n(x, rows * dim);
    float s = 0;
    for (size_t r = 0; r < rows; r++)
        s += gen_read_n(x + r * xs, dim);
    return s;
}

static void gen_rw_row(float *yr, const float *xr, const float *w, const float *b, size_t dim)
{
    if (w && b)
        for (size_t i = 0; i < dim; i++)
            yr[i] = xr[i] * w[i] + b[i];
    else if (w)
        for (size_t i = 0; i < dim; i++)
            yr[i] = xr[i] * w[i];
    else
        for (size_t i = 0; i < dim; i++)
            yr[i] = xr[i];
}

static void gen_rw(float *y, const float *x, const float *w, const float *b, size_t rows,
                   size_t dim, size_t xs)
{
    for (size_t r = 0; r < rows; r++)
        gen_rw_row(y + r * dim, x + r * xs, w, b, dim);
}

static float gen_rw2(float *y, const float *x, const float *w, const float *b, size_t rows,
                     size_t dim, size_t xs)
{
    float s = 0;
    for (size_t r = 0; r < rows; r++) {
        s += gen_read_n(x + r * xs, dim);
        gen_rw_row(y + r * dim, x + r * xs, w, b, dim);
    }
    return s;
}

static void gen_copy(float *dst, const float *src, size_t n)
{
    memcpy(dst, src, n * sizeof(float));
}

void nb_floor_generic(nb_floor_fns *f)
{
    f->isa = "generic";
    f->read = gen_read;
    f->rw = gen_rw;
    f->rw2 = gen_rw2;
    f->copy = gen_copy;
}

static void copy_fn(void *ctx, unsigned ith, unsigned nth)
{
    job *j = ctx;
    size_t blocks = j->cn / 16, b0, b1;
    nb_split_rows(blocks, ith, nth, &b0, &b1);
    size_t e1 = ith + 1 == nth ? j->cn : b1 * 16;
    for (size_t k = 0; k < j->inner; k++)
        g_floor.copy(j->cdst + b0 * 16, j->csrc + b0 * 16, e1 - b0 * 16);
}

void nb_measure_copy(void)
{
    static job cj;
    job *j = &cj;
    j->csrc = g_x;
    j->cdst = g_y;
    j->cn = g_dram_bytes / 4 < g_cap ? g_dram_bytes / 4 : g_cap;
    for (int i = 0; i < g_opt.thr.n; i++) {
        unsigned t = (unsigned)g_opt.thr.v[i];
        if (g_copy_gbps[t] > 0)
            continue;
        timing tm = nb_measure(copy_fn, j, t);
        g_copy_gbps[t] = 2.0 * (double)j->cn * 4 / tm.min; /* a ceiling: the best repetition */
    }
}

/* The DRAM batch's floor should not beat the DRAM copy bandwidth by much: a warning when its
 * median over the dims is above 1.5 times the copy bandwidth. */
void nb_dram_self_check(void)
{
    for (int ti = 0; ti < g_opt.thr.n; ti++) {
        unsigned t = (unsigned)g_opt.thr.v[ti];
        double v[64];
        int nv = 0;
        for (size_t k = 0; k < g_nres && nv < 64; k++) {
            const result *r = &g_res[k];
            if (g_impl[r->impl].kind == K_FLOOR && r->dram && r->thr == t &&
                r->status == ST_OK && !r->stalled)
                v[nv++] = r->gbps;
        }
        if (!nv || !(g_copy_gbps[t] > 0))
            continue;
        qsort(v, (size_t)nv, sizeof(double), nb_cmp_double);
        double med = v[nv / 2];
        if (med > 1.5 * g_copy_gbps[t])
            printf("warning: the DRAM batch's floor (median %.1f GB/s, %u thr) is well above the "
                   "DRAM copy bandwidth (%.1f GB/s): the batch may be cache-resident; raise "
                   "--llc\n",
                   med, t, g_copy_gbps[t]);
    }
}

/* ---- which limit a result is judged against (--help: "The limits") ---- */

const char *const nb_limit_names[3] = {"-", "stream", "2pass"};

/* The longest row a kernel of the tier keeps in registers between reading x and writing y, in
 * floats: such a row is read once, so its limit is the streaming one. One line per tier, to be
 * revised with the kernels (a tier whose kernel keeps longer rows in registers raises its line):
 *   avx2:   16 ymm x 8 floats = 128: a row of 128 fills the register file (w, b from L1);
 *   avx512: 32 zmm x 16 floats = 512: half of it, 256, leaves room for w, b and the sums;
 *   neon:   32 q x 4 floats = 128;
 *   scalar: 0 (the scalar tier keeps no row in registers: it reads x twice). */
size_t nb_reg_dim(int tier)
{
    switch (tier) {
    case NORM_TIER_AVX2: return 128;
    case NORM_TIER_AVX512: return 256;
    case NORM_TIER_NEON: return 128;
    default: return 0;
    }
}

int nb_impl_tier(int ii)
{
    if (g_impl[ii].kind == K_TIER)
        return g_impl[ii].dsp.tier;
    return norm_dsp_global()->tier;
}

/* Streaming for a job from DRAM (the working set above the last-level cache: x is read from DRAM
 * once, a second read finds it in cache) and for rows that stay in registers; two-pass for the
 * other rows that fit in cache. */
int nb_limit_for(int ii, size_t dim, const char *mem)
{
    if (g_impl[ii].kind == K_FLOOR_RD)
        return LIM_NONE;
    if (!strcmp(mem, "DRAM") || dim <= nb_reg_dim(nb_impl_tier(ii)))
        return LIM_STREAM;
    return LIM_2PASS;
}
