/*
 * The scalar reference kernels. They DEFINE the arithmetic that every other tier reproduces bit
 * for bit: read the canonical order at the top of src/norm_internal.h, then the code below.
 * Built with -ffp-contract=off: every fused multiply-add is an explicit one (norm_fmaf(), see
 * src/scalar/norm_fmaf.h: fmaf() computed without a library call, bit for bit).
 *
 * What is computed is the canonical order exactly; what is NOT computed is the padding the
 * definition adds and then throws away (tests/canon_ref.c keeps the literal, unpruned text, and
 * tests/test_scalar_ref.c checks that this file gives the same bits on every dim 1..1100 and
 * more). Three facts make the pruning exact:
 *   - a subtree of the in-block tree whose leaves are all padding is +0 (padding is +0 after the
 *     shift; a pair of padding squares is fma(0, 0, 0*0) = +0), so leaving it out changes at
 *     most the sign of a zero node, and a zero's sign cannot reach the result: the fold gives the
 *     same (hi, lo) for s = +0 and s = -0, and norm_lanes_total() adds (double)lo, never -0, to
 *     every lane (norm_internal.h, and the proof sketch at the top of src/avx512/norm_avx512.h);
 *     a lone square whose partner was left out is a*a = fma(0, 0, a*a) exactly;
 *   - a lane that gets no leaf in a block folds s = +0, which leaves (hi, lo) as they are;
 *   - a lane that never gets a leaf (n < 16) has v = +0 in norm_lanes_total(), and adding +0 to a
 *     v that is never -0 changes nothing, so the halving tree can skip it (short_total()).
 * So a row costs what it contains: dim 1 is one leaf, one fold and one lane, not 512 leaves.
 *
 * Also here: the rare path (norm_*_row_rare), which every tier calls for the rows the fast
 * arithmetic cannot take (non-finite input, float over/underflow of the sums, constant rows).
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "../norm_internal.h"
#include "norm_fmaf.h"

/* ---- the canonical reduction ---- */

/* The leaves of the block at x, of which `avail` (>= 1) elements are in the row: leaf row j holds
 * leaf j of every lane, e[j][l] = x[16j + l] - shift, and only the leaf rows that hold elements
 * are filled (the rest are padding, left out below). In the last leaf row, lanes past the row are
 * +0 after the shift. Returns the number of leaf rows. Only lanes < `lanes` are filled (lanes =
 * min(avail, 16): a last block of fewer than 16 elements reaches no other lane). */
static int block_leaves(float e[NORM_LEAVES][NORM_LANES], const float *x, size_t avail,
                        int lanes, float shift)
{
    int full = avail >= NORM_BLOCK ? NORM_LEAVES : (int)(avail / NORM_LANES);
    for (int j = 0; j < full; j++)
        for (int l = 0; l < lanes; l++)
            e[j][l] = x[j * NORM_LANES + l] - shift;
    if (full == NORM_LEAVES || avail % NORM_LANES == 0)
        return full;
    int rem = (int)(avail % NORM_LANES);
    for (int l = 0; l < lanes; l++)
        e[full][l] = l < rem ? x[full * NORM_LANES + l] - shift : 0.0f;
    return full + 1;
}

/* The in-block tree of each lane over `rows` leaf rows: the complete pairwise tree over 32 leaf
 * rows with its all-padding subtrees left out, i.e. every level adds neighbours (2j, 2j+1) and a
 * last node without a right neighbour passes on unchanged. The loops run lane-wise (the lanes are
 * independent; the compiler may put them in vector registers: the arithmetic is the same).
 * tree_sum: leaves added; tree_sq: the first level is pair(a, b) = fma(b, b, a*a), a lone a is
 * a*a (= fma(0, 0, a*a) exactly). p is scratch; the lane sums end up in p[0]. */
static void tree_levels(float p[NORM_LEAVES / 2][NORM_LANES], int w, int lanes)
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

static void tree_sum(float p[NORM_LEAVES / 2][NORM_LANES],
                     const float e[NORM_LEAVES][NORM_LANES], int rows, int lanes)
{
    if (rows == 1) {
        for (int l = 0; l < lanes; l++)
            p[0][l] = e[0][l];
        return;
    }
    for (int j = 0; j < rows / 2; j++)
        for (int l = 0; l < lanes; l++)
            p[j][l] = e[2 * j][l] + e[2 * j + 1][l];
    if (rows & 1)
        for (int l = 0; l < lanes; l++)
            p[rows / 2][l] = e[rows - 1][l];
    tree_levels(p, (rows + 1) / 2, lanes);
}

static void tree_sq(float p[NORM_LEAVES / 2][NORM_LANES], const float e[NORM_LEAVES][NORM_LANES],
                    int rows, int lanes)
{
    /* The pairs with norm_fmaf_quick(): the double sum rounded to float, and a flag raised by
     * every pair that may be wrong (a sum on a float midpoint or below FLT_MIN; exact sums there
     * raise it too, for nothing). Almost never raised; when it is, the pairs are tested again and
     * the flagged ones recomputed with norm_fmaf(). Cheaper than norm_fmaf_fast(), whose test
     * needs the sum's rounding error (TwoSum) for every pair. */
    int redo = 0;
    for (int j = 0; j < rows / 2; j++)
        for (int l = 0; l < lanes; l++) {
            float a = e[2 * j][l], b = e[2 * j + 1][l];
            p[j][l] = norm_fmaf_quick(b, b, a * a, &redo);
        }
    if (__builtin_expect(redo, 0))
        for (int j = 0; j < rows / 2; j++)
            for (int l = 0; l < lanes; l++) {
                float a = e[2 * j][l], b = e[2 * j + 1][l];
                int flagged = 0;
                (void)norm_fmaf_quick(b, b, a * a, &flagged);
                if (flagged)
                    p[j][l] = norm_fmaf(b, b, a * a);
            }
    if (rows & 1)
        for (int l = 0; l < lanes; l++)
            p[rows / 2][l] = e[rows - 1][l] * e[rows - 1][l];
    tree_levels(p, (rows + 1) / 2, lanes);
}

/* The canonical total of a row of n <= 16 elements: one leaf per lane, whose tree is the leaf
 * (for squares leaf*leaf), and whose fold from (+0, +0) gives hi = the leaf and lo = +0 (for a
 * finite leaf, up to the sign of a zero; a non-finite one takes the rare path whatever the
 * total). So v[l] = (double)leaf + 0 in norm_lanes_total(); the lanes past n are +0 there, and
 * adding them changes nothing (v is never -0): the halving tree leaves them out. */
static double short_total(const float *x, size_t n, float shift, int square)
{
    double v[NORM_LANES];
    for (size_t l = 0; l < n; l++) {
        float d = x[l] - shift;
        v[l] = (double)(square ? d * d : d) + 0.0;
    }
    for (size_t h = NORM_LANES / 2; h > 0; h >>= 1)
        for (size_t l = 0; l < h && l + h < n; l++)
            v[l] += v[l + h];
    return v[0];
}

/* Canonical totals of leaves (x - shift): the plain sum (if sum != NULL) and the sum of squares
 * (if sq != NULL). Each block's lane sums are folded into the lanes' TwoSum accumulators
 * (norm_fold); a lane that a short last block does not reach keeps its accumulator as it is. */
static void canon_reduce(const float *x, size_t n, float shift, double *sum, double *sq)
{
    if (n <= NORM_LANES) {
        if (sum)
            *sum = short_total(x, n, shift, 0);
        if (sq)
            *sq = short_total(x, n, shift, 1);
        return;
    }
    float h1[NORM_LANES] = {0}, l1[NORM_LANES] = {0};
    float h2[NORM_LANES] = {0}, l2[NORM_LANES] = {0};
    float e[NORM_LEAVES][NORM_LANES], p[NORM_LEAVES / 2][NORM_LANES];
    for (size_t base = 0; base < n; base += NORM_BLOCK) {
        size_t avail = n - base;
        int lanes = avail < NORM_LANES ? (int)avail : NORM_LANES;
        int rows = block_leaves(e, x + base, avail, lanes, shift);
        if (sum) {
            tree_sum(p, e, rows, lanes);
            for (int l = 0; l < lanes; l++)
                norm_fold(&h1[l], &l1[l], p[0][l]);
        }
        if (sq) {
            tree_sq(p, e, rows, lanes);
            for (int l = 0; l < lanes; l++)
                norm_fold(&h2[l], &l2[l], p[0][l]);
        }
    }
    if (sum)
        *sum = norm_lanes_total(h1, l1);
    if (sq)
        *sq = norm_lanes_total(h2, l2);
}

/* LayerNorm's output pass: y = fmaf(((x - m0) - mlo) * r, w, b) (w = 1, b = 0 when NULL).
 * Without w that is t + b rounded once, a float addition (t + 0 when b is NULL too). With w it is
 * norm_fmaf_quick() over a stretch at a time, redone with norm_fmaf() when it asks for it; in
 * place (y == x) a stretch goes through a buffer, so that x is still there for the redo. */
#define OUT_CHUNK 256
static void ln_output(float *y, const float *x, const float *w, const float *b, size_t n,
                      float m0, float mlo, float r, int wp)
{
    if (!w) {
        for (size_t i = 0; i < n; i++)
            y[i] = ((x[i] - m0) - mlo) * r + (b ? b[i] : 0.0f);
        return;
    }
    for (size_t i0 = 0; i0 < n; i0 += OUT_CHUNK) {
        size_t m = n - i0 < OUT_CHUNK ? n - i0 : OUT_CHUNK;
        const float *xc = x + i0, *wc = w + i0, *bc = b ? b + i0 : NULL;
        float buf[OUT_CHUNK];
        float *out = y == x ? buf : y + i0;
        int redo = 0;
        for (size_t i = 0; i < m; i++) {
            float t = ((xc[i] - m0) - mlo) * r;
            out[i] = norm_fmaf_quick(t, norm_wf(wc, i, wp), bc ? bc[i] : 0.0f, &redo);
        }
        if (redo)
            for (size_t i = 0; i < m; i++) {
                float t = ((xc[i] - m0) - mlo) * r;
                out[i] = norm_fmaf(t, norm_wf(wc, i, wp), bc ? bc[i] : 0.0f);
            }
        if (out == buf)
            memcpy(y + i0, buf, m * sizeof(float));
    }
}

static void layernorm_row(float *y, const float *x, const float *w, const float *b, size_t n,
                          float eps, double inv_n, double inv_k, float *mean, float *rstd,
                          double *sums, int wp)
{
    /* A row of one element is constant: s0 = (x0 - x0) + 0 = +0, so m0 = x0, and s2 = +0, below
     * NORM_RARE_MIN (a non-finite x0 makes s0 NaN): norm_ln_finish() would send it to the rare
     * path, whatever x0 is. So it goes there directly (unless the test hook wants the totals). */
    if (n == 1 && !sums) {
        norm_layernorm_row_rare(y, x, w, b, n, eps, mean, rstd, wp);
        return;
    }
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
        norm_layernorm_row_rare(y, x, w, b, n, eps, mean, rstd, wp);
        return;
    }
    ln_output(y, x, w, b, n, m0, mlo, r, wp);
    if (mean)
        *mean = mo;
    if (rstd)
        *rstd = r;
}

static void rmsnorm_row(float *y, const float *x, const float *w, size_t n, float eps,
                        double inv_n, float *rstd, double *sums, int kind, int wp)
{
    double s2;
    canon_reduce(x, n, 0.0f, NULL, &s2);
    if (sums)
        *sums = s2;
    float r;
    if (norm_rmsk_finish(kind, s2, inv_n, eps, &r)) {
        norm_rmsk_row_rare(kind, y, x, w, n, eps, rstd, wp);
        return;
    }
    if (w && wp)
        for (size_t i = 0; i < n; i++)
            y[i] = (x[i] * r) * (1.0f + w[i]);
    else if (w)
        for (size_t i = 0; i < n; i++)
            y[i] = (x[i] * r) * w[i];
    else
        for (size_t i = 0; i < n; i++)
            y[i] = x[i] * r;
    if (rstd)
        *rstd = r;
}

void norm_layernorm_f32_scalar(const norm_job *j)
{
    double inv_n = 1.0 / (double)j->dim, inv_k = 1.0 / (double)norm_ln_probe(j->dim);
    for (size_t r = 0; r < j->rows; r++)
        layernorm_row(j->y + r * j->ys, j->x + r * j->xs, j->w, j->b, j->dim, j->eps, inv_n,
                      inv_k, j->mean ? j->mean + r : NULL, j->rstd ? j->rstd + r : NULL,
                      norm_ln_sums_at(j, r), j->wplus);
}

void norm_rmsnorm_f32_scalar(const norm_job *j)
{
    double inv_n = 1.0 / (double)j->dim;
    for (size_t r = 0; r < j->rows; r++)
        rmsnorm_row(j->y + r * j->ys, j->x + r * j->xs, j->w, j->dim, j->eps, inv_n,
                    j->rstd ? j->rstd + r : NULL, j->sums ? j->sums + r : NULL, j->kind,
                    j->wplus);
}

/* ---- the rare path: computed in double, where no float input can over- or underflow ---- */

/* v / n. For n a power of two that is v * (1/n), exactly the same value (both are the correctly
 * rounded v * 2^-k, subnormal results included) without a division. */
static double div_n(double v, size_t n)
{
    return (n & (n - 1)) == 0 ? v * (1.0 / (double)n) : v / (double)n;
}

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
                             float eps, float *mean, float *rstd, int wp)
{
    if (row_nonfinite(x, n)) {
        nan_row(y, n, mean, rstd);
        return;
    }
    /* Corrected two-pass in double: m1, then the sums of d = x - m1 and of d^2. */
    double m1 = 0.0;
    for (size_t i = 0; i < n; i++)
        m1 += (double)x[i];
    m1 = div_n(m1, n);
    double s1 = 0.0, s2 = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)x[i] - m1;
        s1 += d;
        s2 += d * d;
    }
    double ml = div_n(s1, n);
    double var = div_n(s2, n) - ml * ml;
    if (var < 0.0)
        var = 0.0;
    double r = 1.0 / sqrt(var + (double)eps);
    /* A constant row has var == 0: its normalized values are exactly 0 (so y = b, also when
     * eps == 0 makes r infinite). */
    double scale = var > 0.0 ? r : 0.0;
    if (scale == 0.0) {
        /* t = +/-0 (x and m1 are finite), so t*w is exact (+/-0, or NaN for a non-finite w), and
         * so is adding b (a float, in double): t*w + b is fma(t, w, b), without the fma call. */
        for (size_t i = 0; i < n; i++) {
            double t = (((double)x[i] - m1) - ml) * scale;
            y[i] = (float)(t * (w ? (double)norm_wf(w, i, wp) : 1.0) + (b ? (double)b[i] : 0.0));
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            double t = (((double)x[i] - m1) - ml) * scale;
            y[i] = (float)fma(t, w ? (double)norm_wf(w, i, wp) : 1.0, b ? (double)b[i] : 0.0);
        }
    }
    if (mean)
        *mean = (float)(m1 + ml);
    if (rstd)
        *rstd = (float)r;
}

void norm_rmsnorm_row_rare(float *y, const float *x, const float *w, size_t n, float eps,
                           float *rstd, int wp)
{
    if (row_nonfinite(x, n)) {
        nan_row(y, n, NULL, rstd);
        return;
    }
    double s2 = 0.0;
    for (size_t i = 0; i < n; i++)
        s2 += (double)x[i] * (double)x[i];
    double ms = div_n(s2, n);
    double r = 1.0 / sqrt(ms + (double)eps);
    /* An all-zero row gives zeros, also when eps == 0 makes r infinite. */
    double scale = ms > 0.0 ? r : 0.0;
    for (size_t i = 0; i < n; i++) {
        double t = (double)x[i] * scale;
        y[i] = (float)(w ? t * (double)norm_wf(w, i, wp) : t);
    }
    if (rstd)
        *rstd = (float)r;
}

void norm_l2norm_row_rare(float *y, const float *x, size_t n, float eps, float *rstd)
{
    if (row_nonfinite(x, n)) {
        nan_row(y, n, NULL, rstd);
        return;
    }
    /* The squares of floats are exact in double and their sum cannot overflow it. */
    double s2 = 0.0;
    for (size_t i = 0; i < n; i++)
        s2 += (double)x[i] * (double)x[i];
    double nrm = sqrt(s2);
    double s = 1.0 / (nrm >= (double)eps ? nrm : (double)eps); /* eps = -0: 1/+0 */
    /* An all-zero row gives zeros, also when eps == 0 makes s infinite. */
    double scale = s2 > 0.0 ? s : 0.0;
    for (size_t i = 0; i < n; i++)
        y[i] = (float)((double)x[i] * scale);
    if (rstd)
        *rstd = (float)s;
}

/* ---- group normalisation's per-channel affine (every tier calls this one) ---- */

void norm_channel_affine(float *y, const float *w, const float *b, size_t c0, size_t c1,
                         size_t spatial, int wp)
{
    for (size_t c = c0; c < c1; c++, y += spatial) {
        float wc = w ? norm_wf(w, c, wp) : 1.0f, bc = b ? b[c] : 0.0f;
        for (size_t i = 0; i < spatial; i++)
            y[i] = norm_fmaf(y[i], wc, bc);
    }
}
