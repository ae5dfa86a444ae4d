/*
 * THE LITERAL REFERENCE of the canonical order: src/scalar/norm_scalar.c's reduction and row
 * functions exactly as they stood before that file was optimised (commit 4dd1581), renamed. It
 * walks every 512-element block in full, padding leaves included, with no pruning of any kind:
 * the definition in its plainest form. tests/test_scalar_ref.c checks that the scalar tier (which
 * prunes padding and skips empty lanes) gives the same bits. Built with -ffp-contract=off.
 *
 * The rare path is the literal original too (ref_*_row_rare, renamed). What it shares with every
 * tier is shared code anyway: norm_internal.h's norm_fold(), norm_lanes_total(), norm_ln_finish()
 * and norm_rms_finish(). Changing those changes the arithmetic: tests/test_kat.c catches that.
 * Do not "fix" or speed up this file; it is meant to stay the literal text.
 * (0.5) The one change since: LayerNorm's short rows (n <= NORM_LN_SHORT) take a probe of
 * norm_ln_probe(n) = min(n, 32) elements and float lane totals (norm_lanes_total_f()), the
 * definition's change of that version (norm_internal.h).
 */
#include <math.h>
#include <stdint.h>

#include "canon_ref.h"

static void ref_layernorm_row_rare(float *y, const float *x, const float *w, const float *b,
                                   size_t n, float eps, float *mean, float *rstd);
static void ref_rmsnorm_row_rare(float *y, const float *x, const float *w, size_t n, float eps,
                                 float *rstd);

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
 * (if sq != NULL). ftot (0.5: LayerNorm's short rows, n <= NORM_LN_SHORT): the lanes combined in
 * float, norm_lanes_total_f(). */
static void canon_reduce(const float *x, size_t n, float shift, double *sum, double *sq,
                         int ftot)
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
        *sum = ftot ? norm_lanes_total_f(h1, l1) : norm_lanes_total(h1, l1);
    if (sq)
        *sq = ftot ? norm_lanes_total_f(h2, l2) : norm_lanes_total(h2, l2);
}

static void layernorm_row(float *y, const float *x, const float *w, const float *b, size_t n,
                          float eps, double inv_n, double inv_k, float *mean, float *rstd)
{
    double s0, s1, s2;
    const int ft = n <= NORM_LN_SHORT; /* (0.5) the short rows: float lane totals */
    canon_reduce(x, norm_ln_probe(n), x[0], &s0, NULL, ft);
    float m0 = norm_ln_m0(x[0], s0, inv_k);
    canon_reduce(x, n, m0, &s1, &s2, ft);
    float mlo, r, mo, m0_next;
    int st = norm_ln_finish(s0, s1, s2, m0, inv_n, eps, 0, &mlo, &r, &mo, &m0_next);
    if (st == NORM_LN_AGAIN) {
        m0 = m0_next;
        canon_reduce(x, n, m0, &s1, &s2, ft);
        st = norm_ln_finish(s0, s1, s2, m0, inv_n, eps, 1, &mlo, &r, &mo, &m0_next);
    }
    if (st != NORM_LN_OK) {
        ref_layernorm_row_rare(y, x, w, b, n, eps, mean, rstd);
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
                        double inv_n, float *rstd)
{
    double s2;
    canon_reduce(x, n, 0.0f, NULL, &s2, 0);
    float r;
    if (norm_rms_finish(s2, inv_n, eps, &r)) {
        ref_rmsnorm_row_rare(y, x, w, n, eps, rstd);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        float t = x[i] * r;
        y[i] = w ? t * w[i] : t;
    }
    if (rstd)
        *rstd = r;
}

void canon_ref_layernorm_f32(const norm_job *j)
{
    double inv_n = 1.0 / (double)j->dim, inv_k = 1.0 / (double)norm_ln_probe(j->dim);
    for (size_t r = 0; r < j->rows; r++)
        layernorm_row(j->y + r * j->ys, j->x + r * j->xs, j->w, j->b, j->dim, j->eps, inv_n,
                      inv_k, j->mean ? j->mean + r : NULL, j->rstd ? j->rstd + r : NULL);
}

void canon_ref_rmsnorm_f32(const norm_job *j)
{
    double inv_n = 1.0 / (double)j->dim;
    for (size_t r = 0; r < j->rows; r++)
        rmsnorm_row(j->y + r * j->ys, j->x + r * j->xs, j->w, j->dim, j->eps, inv_n,
                    j->rstd ? j->rstd + r : NULL);
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

static void ref_layernorm_row_rare(float *y, const float *x, const float *w, const float *b,
                                   size_t n, float eps, float *mean, float *rstd)
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

static void ref_rmsnorm_row_rare(float *y, const float *x, const float *w, size_t n, float eps,
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

/* ---- RMSNorm backward, literally (added with the op in 0.3; not a copy of older code) ----
 * Every block walked in full, padding leaves (x = dz = +0) included, both trees complete:
 * pair(a, b) = fmaf(b.x, b.x, a.x*a.x) for the squares, fmaf(b.x, b.dz, a.x*a.dz) for the
 * products, then adds; the fold and lane total of norm_internal.h; norm_rmsb_finish(); dx =
 * fmaf(x, c, dz) * r. The rare path is the library's shared function (the same code for every
 * tier, so there is nothing to compare it with). Stores the totals as the NORM_SUMS hook. */
static float rb_tree(const float ex[NORM_LEAVES], const float ed[NORM_LEAVES], int products)
{
    float p[NORM_LEAVES / 2];
    for (int j = 0; j < NORM_LEAVES / 2; j++) {
        float ax = ex[2 * j], bx = ex[2 * j + 1];
        p[j] = products ? fmaf(bx, ed[2 * j + 1], ax * ed[2 * j]) : fmaf(bx, bx, ax * ax);
    }
    for (int w = NORM_LEAVES / 2; w > 1; w /= 2)
        for (int j = 0; j < w / 2; j++)
            p[j] = p[2 * j] + p[2 * j + 1];
    return p[0];
}

void canon_ref_rmsnorm_back_f32(const norm_job *j)
{
    size_t n = j->dim;
    double inv_n = 1.0 / (double)n;
    for (size_t r = 0; r < j->rows; r++) {
        const float *x = j->x + r * j->xs, *dz = j->dz + r * j->xs;
        float *dx = j->y + r * j->ys;
        float h1[NORM_LANES] = {0}, l1[NORM_LANES] = {0};
        float h2[NORM_LANES] = {0}, l2[NORM_LANES] = {0};
        for (size_t base = 0; base < n; base += NORM_BLOCK)
            for (int l = 0; l < NORM_LANES; l++) {
                float ex[NORM_LEAVES], ed[NORM_LEAVES];
                for (int k = 0; k < NORM_LEAVES; k++) {
                    ex[k] = leaf(x, n, base, l, k, 0.0f);
                    ed[k] = leaf(dz, n, base, l, k, 0.0f);
                }
                norm_fold(&h1[l], &l1[l], rb_tree(ex, ed, 0));
                norm_fold(&h2[l], &l2[l], rb_tree(ex, ed, 1));
            }
        double sxx = norm_lanes_total(h1, l1), sxdz = norm_lanes_total(h2, l2);
        if (j->sums) {
            j->sums[2 * r] = sxx;
            j->sums[2 * r + 1] = sxdz;
        }
        float c, rs;
        float *rstd = j->rstd ? j->rstd + r : NULL;
        if (norm_rmsb_finish(sxx, sxdz, inv_n, n, j->eps, &c, &rs)) {
            norm_rmsnorm_back_row_rare(dx, dz, x, n, j->eps, rstd);
            continue;
        }
        for (size_t i = 0; i < n; i++)
            dx[i] = fmaf(x[i], c, dz[i]) * rs;
        if (rstd)
            *rstd = rs;
    }
}
