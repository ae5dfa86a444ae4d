/*
 * The scalar reference kernels. They DEFINE the arithmetic that every other tier reproduces bit
 * for bit: read the canonical order at the top of src/norm_internal.h, then the code below, which
 * is written to be read rather than to be fast. Built with -ffp-contract=off: every fused
 * multiply-add is an explicit fmaf().
 *
 * Also here: the rare path (norm_*_row_rare), which every tier calls for the rows the fast
 * arithmetic cannot take (non-finite input, float over/underflow of the sums, constant rows).
 */
#include <math.h>
#include <stdint.h>

#include "../norm_internal.h"

enum leaf_kind { LEAF_SHIFTED, LEAF_SQUARE };

/* Leaf j (0..31) of lane l in the block starting at element `base`: x - shift, or +0 past n. */
static float leaf(const float *x, size_t n, size_t base, int l, int j, float shift)
{
    size_t i = base + (size_t)j * NORM_LANES + (size_t)l;
    return i < n ? x[i] - shift : 0.0f;
}

/* The in-block tree over one lane's 32 leaves. */
static float block_tree(const float e[NORM_LEAVES], enum leaf_kind kind)
{
    float p[NORM_LEAVES / 2];
    for (int j = 0; j < NORM_LEAVES / 2; j++) {
        float a = e[2 * j], b = e[2 * j + 1];
        p[j] = kind == LEAF_SQUARE ? fmaf(b, b, a * a) : a + b;
    }
    for (int w = NORM_LEAVES / 2; w > 1; w /= 2)
        for (int j = 0; j < w / 2; j++)
            p[j] = p[2 * j] + p[2 * j + 1];
    return p[0];
}

/* Canonical totals of leaves (x - shift): the plain sum (if sum != NULL) and the sum of squares
 * (if sq != NULL). */
static void canon_reduce(const float *x, size_t n, float shift, double *sum, double *sq)
{
    float h1[NORM_LANES] = {0}, l1[NORM_LANES] = {0};
    float h2[NORM_LANES] = {0}, l2[NORM_LANES] = {0};
    for (size_t base = 0; base < n; base += NORM_BLOCK) {
        for (int l = 0; l < NORM_LANES; l++) {
            float e[NORM_LEAVES];
            for (int j = 0; j < NORM_LEAVES; j++)
                e[j] = leaf(x, n, base, l, j, shift);
            if (sum)
                norm_fold(&h1[l], &l1[l], block_tree(e, LEAF_SHIFTED));
            if (sq)
                norm_fold(&h2[l], &l2[l], block_tree(e, LEAF_SQUARE));
        }
    }
    if (sum)
        *sum = norm_lanes_total(h1, l1);
    if (sq)
        *sq = norm_lanes_total(h2, l2);
}

static void layernorm_row(float *y, const float *x, const float *w, const float *b, size_t n,
                          float eps, double inv_n, double inv_k, float *mean, float *rstd,
                          double *sums)
{
    double s0, s1, s2;
    canon_reduce(x, norm_ln_probe(n), x[0], &s0, NULL);
    float m0 = norm_ln_m0(x[0], s0, inv_k);
    canon_reduce(x, n, m0, &s1, &s2);
    float mlo, r, mo, m0_next;
    int st = norm_ln_finish(s0, s1, s2, m0, inv_n, eps, 0, &mlo, &r, &mo, &m0_next);
    if (st == NORM_LN_AGAIN) {
        m0 = m0_next;
        canon_reduce(x, n, m0, &s1, &s2);
        st = norm_ln_finish(s0, s1, s2, m0, inv_n, eps, 1, &mlo, &r, &mo, &m0_next);
    }
    norm_ln_put_sums(sums, s0, s1, s2);
    if (st != NORM_LN_OK) {
        norm_layernorm_row_rare(y, x, w, b, n, eps, mean, rstd);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        float t = ((x[i] - m0) - mlo) * r;
        y[i] = fmaf(t, w ? w[i] : 1.0f, b ? b[i] : 0.0f);
    }
    if (mean)
        *mean = mo;
    if (rstd)
        *rstd = r;
}

static void rmsnorm_row(float *y, const float *x, const float *w, size_t n, float eps,
                        double inv_n, float *rstd, double *sums)
{
    double s2;
    canon_reduce(x, n, 0.0f, NULL, &s2);
    if (sums)
        *sums = s2;
    float r;
    if (norm_rms_finish(s2, inv_n, eps, &r)) {
        norm_rmsnorm_row_rare(y, x, w, n, eps, rstd);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        float t = x[i] * r;
        y[i] = w ? t * w[i] : t;
    }
    if (rstd)
        *rstd = r;
}

void norm_layernorm_f32_scalar(const norm_job *j)
{
    double inv_n = 1.0 / (double)j->dim, inv_k = 1.0 / (double)norm_ln_probe(j->dim);
    for (size_t r = 0; r < j->rows; r++)
        layernorm_row(j->y + r * j->ys, j->x + r * j->xs, j->w, j->b, j->dim, j->eps, inv_n,
                      inv_k, j->mean ? j->mean + r : NULL, j->rstd ? j->rstd + r : NULL,
                      norm_ln_sums_at(j, r));
}

void norm_rmsnorm_f32_scalar(const norm_job *j)
{
    double inv_n = 1.0 / (double)j->dim;
    for (size_t r = 0; r < j->rows; r++)
        rmsnorm_row(j->y + r * j->ys, j->x + r * j->xs, j->w, j->dim, j->eps, inv_n,
                    j->rstd ? j->rstd + r : NULL, j->sums ? j->sums + r : NULL);
}

/* ---- the rare path: computed in double, where no float input can over- or underflow ---- */

/* 1 when the row holds a NaN or an Inf. */
static int row_nonfinite(const float *x, size_t n)
{
    int bad = 0;
    for (size_t i = 0; i < n; i++)
        bad |= !(fabsf(x[i]) <= FLT_MAX);
    return bad;
}

static void nan_row(float *y, size_t n, float *mean, float *rstd)
{
    for (size_t i = 0; i < n; i++)
        y[i] = NAN;
    if (mean)
        *mean = NAN;
    if (rstd)
        *rstd = NAN;
}

void norm_layernorm_row_rare(float *y, const float *x, const float *w, const float *b, size_t n,
                             float eps, float *mean, float *rstd)
{
    if (row_nonfinite(x, n)) {
        nan_row(y, n, mean, rstd);
        return;
    }
    /* Corrected two-pass in double: m1, then the sums of d = x - m1 and of d^2. */
    double m1 = 0.0;
    for (size_t i = 0; i < n; i++)
        m1 += (double)x[i];
    m1 /= (double)n;
    double s1 = 0.0, s2 = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)x[i] - m1;
        s1 += d;
        s2 += d * d;
    }
    double ml = s1 / (double)n;
    double var = s2 / (double)n - ml * ml;
    if (var < 0.0)
        var = 0.0;
    double r = 1.0 / sqrt(var + (double)eps);
    /* A constant row has var == 0: its normalized values are exactly 0 (so y = b, also when
     * eps == 0 makes r infinite). */
    double scale = var > 0.0 ? r : 0.0;
    for (size_t i = 0; i < n; i++) {
        double t = (((double)x[i] - m1) - ml) * scale;
        y[i] = (float)fma(t, w ? (double)w[i] : 1.0, b ? (double)b[i] : 0.0);
    }
    if (mean)
        *mean = (float)(m1 + ml);
    if (rstd)
        *rstd = (float)r;
}

void norm_rmsnorm_row_rare(float *y, const float *x, const float *w, size_t n, float eps,
                           float *rstd)
{
    if (row_nonfinite(x, n)) {
        nan_row(y, n, NULL, rstd);
        return;
    }
    double s2 = 0.0;
    for (size_t i = 0; i < n; i++)
        s2 += (double)x[i] * (double)x[i];
    double ms = s2 / (double)n;
    double r = 1.0 / sqrt(ms + (double)eps);
    /* An all-zero row gives zeros, also when eps == 0 makes r infinite. */
    double scale = ms > 0.0 ? r : 0.0;
    for (size_t i = 0; i < n; i++) {
        double t = (double)x[i] * scale;
        y[i] = (float)(w ? t * (double)w[i] : t);
    }
    if (rstd)
        *rstd = (float)r;
}
