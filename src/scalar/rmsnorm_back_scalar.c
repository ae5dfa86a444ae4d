/*
 * RMSNorm backward, the scalar reference kernel: it DEFINES the arithmetic of every tier (the
 * canonical order at the top of src/norm_internal.h, "RMSNorm backward"). ggml's
 * GGML_OP_RMS_NORM_BACK (ggml/src/ggml-cpu/ops.cpp, ggml_compute_forward_rms_norm_back_f32):
 *
 *   sum_xx = sum x*x, sum_xdz = sum x*dz, mean_eps = sum_xx/n + eps, sum_eps = sum_xx + eps*n,
 *   rrms = 1/sqrt(mean_eps), dx = (dz + x * (-sum_xdz/sum_eps)) * rrms
 *
 * the same formula, with the canonical totals and c, r computed in double and rounded once each
 * (ggml rounds the totals to float, then computes mean_eps, sum_eps, rrms and c in float), and
 * dz + x*c fused (one rounding, ggml's build may or may not contract it).
 *
 * Per row: one pass for both totals (sxx = RMSNorm's total of squares, bit for bit; sxdz the
 * total of leaves x*dz with the first tree level fused: pair(a, b) = fma(b.x, b.dz, a.x*a.dz)),
 * then dx = fmaf(x, c, dz) * r. The all-padding subtrees are left out as in norm_scalar.c (the
 * same three facts make that exact: see there); a lone product whose partner was left out is
 * a.x*a.dz = fma(0, 0, a.x*a.dz) up to the sign of a zero, which cannot reach the result.
 *
 * Also here: the rare path, shared by every tier.
 */
#include <math.h>
#include <stddef.h>

#include "../norm_internal.h"
#include "norm_fmaf.h"

/* In-block tree levels after the first, over the w first nodes of p (the lane sums end in p[0]):
 * neighbours added level by level, a last node without neighbour passed on. */
static void rb_levels(float p[NORM_LEAVES / 2][NORM_LANES], int w, int lanes)
{
    for (; w > 1; w = (w + 1) / 2) {
        for (int j = 0; j < w / 2; j++)
            for (int l = 0; l < lanes; l++)
                p[j][l] = p[2 * j][l] + p[2 * j + 1][l];
        if (w & 1)
            for (int l = 0; l < lanes; l++)
                p[w / 2][l] = p[w - 1][l];
    }
}

/* Both trees of the block at (x, dz) of which `avail` >= 1 elements are in the row (lanes =
 * min(avail, 16)): q[0] gets the lane sums of squares of x, d[0] those of the products x*dz.
 * Only the leaf rows that hold elements are read (leaf row j holds leaf j of every lane): the
 * full ones without a bounds test, the last one, when the row ends inside it, with +0 leaves
 * past the end. Inline, so that the full blocks get their own copy (avail = 512, a constant). */
static inline void rb_block(float q[NORM_LEAVES / 2][NORM_LANES],
                            float d[NORM_LEAVES / 2][NORM_LANES], const float *x, const float *dz,
                            size_t avail, int lanes)
{
    float ex[NORM_LEAVES][NORM_LANES], ed[NORM_LEAVES][NORM_LANES];
    size_t m = avail < NORM_BLOCK ? avail : NORM_BLOCK;
    int full = (int)(m / NORM_LANES), rem = (int)(m % NORM_LANES);
    int rows = full + (rem != 0);
    for (int j = 0; j < full; j++)
        for (int l = 0; l < NORM_LANES; l++) {
            ex[j][l] = x[j * NORM_LANES + l];
            ed[j][l] = dz[j * NORM_LANES + l];
        }
    if (rem)
        for (int l = 0; l < lanes; l++) {
            ex[full][l] = l < rem ? x[full * NORM_LANES + l] : 0.0f;
            ed[full][l] = l < rem ? dz[full * NORM_LANES + l] : 0.0f;
        }
    for (int j = 0; j < rows / 2; j++)
        for (int l = 0; l < lanes; l++) {
            float ax = ex[2 * j][l], bx = ex[2 * j + 1][l];
            q[j][l] = norm_fmaf(bx, bx, ax * ax);
            d[j][l] = norm_fmaf(bx, ed[2 * j + 1][l], ax * ed[2 * j][l]);
        }
    if (rows & 1)
        for (int l = 0; l < lanes; l++) {
            float ax = ex[rows - 1][l];
            q[rows / 2][l] = ax * ax;
            d[rows / 2][l] = ax * ed[rows - 1][l];
        }
    rb_levels(q, (rows + 1) / 2, lanes);
    rb_levels(d, (rows + 1) / 2, lanes);
}

/* The canonical totals sxx and sxdz of a row of n floats. */
static void rb_totals(const float *x, const float *dz, size_t n, double *sxx, double *sxdz)
{
    if (n <= NORM_LANES) {
        /* One leaf per lane (see short_total() in norm_scalar.c): v = (double)leaf + 0. */
        double vq[NORM_LANES], vd[NORM_LANES];
        for (size_t l = 0; l < n; l++) {
            vq[l] = (double)(x[l] * x[l]) + 0.0;
            vd[l] = (double)(x[l] * dz[l]) + 0.0;
        }
        for (size_t h = NORM_LANES / 2; h > 0; h >>= 1)
            for (size_t l = 0; l < h && l + h < n; l++) {
                vq[l] += vq[l + h];
                vd[l] += vd[l + h];
            }
        *sxx = vq[0];
        *sxdz = vd[0];
        return;
    }
    float hq[NORM_LANES] = {0}, lq[NORM_LANES] = {0}, hd[NORM_LANES] = {0}, ld[NORM_LANES] = {0};
    float q[NORM_LEAVES / 2][NORM_LANES], d[NORM_LEAVES / 2][NORM_LANES];
    for (size_t base = 0; base < n; base += NORM_BLOCK) {
        size_t avail = n - base;
        int lanes = avail < NORM_LANES ? (int)avail : NORM_LANES;
        if (avail >= NORM_BLOCK)
            rb_block(q, d, x + base, dz + base, NORM_BLOCK, NORM_LANES);
        else
            rb_block(q, d, x + base, dz + base, avail, lanes);
        for (int l = 0; l < lanes; l++) {
            norm_fold(&hq[l], &lq[l], q[0][l]);
            norm_fold(&hd[l], &ld[l], d[0][l]);
        }
    }
    *sxx = norm_lanes_total(hq, lq);
    *sxdz = norm_lanes_total(hd, ld);
}

static void rb_row(float *dx, const float *dz, const float *x, size_t n, float eps, double inv_n,
                   float *rstd, double *sums)
{
    double sxx, sxdz;
    rb_totals(x, dz, n, &sxx, &sxdz);
    if (sums) {
        sums[0] = sxx;
        sums[1] = sxdz;
    }
    float c, r;
    if (norm_rmsb_finish(sxx, sxdz, inv_n, n, eps, &c, &r)) {
        norm_rmsnorm_back_row_rare(dx, dz, x, n, eps, rstd);
        return;
    }
    /* dx may be dz (in place): element i reads dz[i] before writing dx[i]. */
    for (size_t i = 0; i < n; i++)
        dx[i] = norm_fmaf(x[i], c, dz[i]) * r;
    if (rstd)
        *rstd = r;
}

void norm_rmsnorm_back_f32_scalar(const norm_job *j)
{
    double inv_n = 1.0 / (double)j->dim;
    for (size_t r = 0; r < j->rows; r++)
        rb_row(j->y + r * j->ys, j->dz + r * j->xs, j->x + r * j->xs, j->dim, j->eps, inv_n,
               j->rstd ? j->rstd + r : NULL, j->sums ? j->sums + 2 * r : NULL);
}

/* ---- the rare path, every tier's: the same formula in double ----
 * Rows with a NaN or Inf in x or dz give NaN (dx and rstd). Otherwise sxx and sxdz are summed in
 * double (the products of floats are exact there; no float input over- or underflows them), and
 * dx = (dz + x*c)*r with c = -sxdz/(sxx + eps*n) and r = 1/sqrt(sxx/n + eps) unrounded: a
 * double fma, one product, one rounding to float. An all-zero x with eps = 0 has no gradient
 * (r = Inf, c = -0/0): NaN, as the formula (and ggml) give, and rstd = +Inf. */
void norm_rmsnorm_back_row_rare(float *dx, const float *dz, const float *x, size_t n, float eps,
                                float *rstd)
{
    int bad = 0;
    for (size_t i = 0; i < n; i++)
        bad |= !(fabsf(x[i]) <= FLT_MAX) | !(fabsf(dz[i]) <= FLT_MAX);
    if (bad) {
        for (size_t i = 0; i < n; i++)
            dx[i] = NAN;
        if (rstd)
            *rstd = NAN;
        return;
    }
    double sxx = 0.0, sxdz = 0.0;
    for (size_t i = 0; i < n; i++) {
        sxx += (double)x[i] * (double)x[i];
        sxdz += (double)x[i] * (double)dz[i];
    }
    double dn = (double)n;
    double c = -sxdz / (sxx + (double)eps * dn);
    double r = 1.0 / sqrt(sxx / dn + (double)eps);
    if (!(sxx + (double)eps * dn > 0.0)) {
        /* all-zero x, eps = 0: no gradient. c = -0/0 would be a NaN whose sign and payload
         * differ between CPUs; the row gets the NAN constant (bit-identical everywhere), and
         * rstd = +Inf (RMSNorm's rstd of that row). */
        for (size_t i = 0; i < n; i++)
            dx[i] = NAN;
        if (rstd)
            *rstd = (float)r;
        return;
    }
    for (size_t i = 0; i < n; i++)
        dx[i] = (float)(fma((double)x[i], c, (double)dz[i]) * r);
    if (rstd)
        *rstd = (float)r;
}
