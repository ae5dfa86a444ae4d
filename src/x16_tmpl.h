/*
 * The bf16 / f16 kernels as one C template (see src/norm_x16.h for what they compute), for the
 * tiers without kernels of their own (scalar, NEON; the x86 tiers read the 16-bit rows in their
 * f32 trees directly). Each such tier's TU (src/<tier>/norm_x16_<tier>.c) defines, then includes
 * this file:
 *   X16_TIER               the name suffix (scalar, neon)
 *   X16_FMAF(a, b, c)      the correctly rounded fmaf (an instruction where the tier has one)
 *   x16_widen_f16(d, s, n) f16 -> float, exact, n >= 1 (the tier's conversion instruction)
 *   x16_narrow_f16(d, s, n) float -> f16, RNE, every NaN X16_F16_NAN
 *   X16_BLOCK_SUMS         optional: the tier's own block sums (x16_block_sums()'s contract)
 * and it is compiled with that tier's flags (-ffp-contract=off everywhere, so every operation
 * below is one IEEE operation, rounded as written, whatever the vector width the compiler picks:
 * the lanes of the canonical order are independent, so vectorizing the lane loops changes no
 * bit).
 *
 * Per row, exactly the canonical order of norm_internal.h, on widened blocks:
 *   block sums  x16_block_sums(): the in-block tree of each of the 16 lanes over the block's
 *               leaves (the scalar tier's pruned tree: all-padding subtrees left out, a partial
 *               last leaf row +0 past the row AFTER the shift; lanes without a leaf give +0,
 *               which the fold leaves unchanged);
 *   fold        norm_fold() per lane, from (+0, +0); lane total norm_lanes_total() (the
 *               LayerNorm rows of n <= NORM_LN_SHORT: norm_lanes_total_f());
 *   finish      norm_ln_finish() / norm_rms_finish(), the rare path norm_x16_*_row_rare();
 *   output      LayerNorm fmaf(((x - m0) - mlo) * r, wf, b) (w NULL: t + b, b NULL: t + 0),
 *               RMSNorm (x * r) * wf (w NULL: x * r); rounded by the narrowing.
 */
#ifndef X16_TIER
#error "define X16_TIER before including x16_tmpl.h"
#endif

#define X16_CAT_(a, b) a##_##b
#define X16_CAT(a, b) X16_CAT_(a, b)

static inline void x16_widen(float *d, const uint16_t *s, size_t n, int fmt)
{
    if (fmt == NORM_X16_F16) {
        x16_widen_f16(d, s, n);
        return;
    }
    for (size_t i = 0; i < n; i++)
        d[i] = x16_bits_f32((uint32_t)s[i] << 16);
}

static inline void x16_narrow(uint16_t *d, const float *s, size_t n, int fmt)
{
    if (fmt == NORM_X16_F16) {
        x16_narrow_f16(d, s, n);
        return;
    }
    /* x16_f32_to_bf16(), written without a branch (the loop vectorizes) */
    for (size_t i = 0; i < n; i++) {
        uint32_t u = x16_f32_bits(s[i]);
        uint32_t r = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
        d[i] = (uint16_t)((u & 0x7fffffffu) > 0x7f800000u ? X16_BF16_NAN : r);
    }
}

/* The factors wf = w (or 1 + w) and the biases of elements i0 .. i0 + k - 1 (k <= NORM_BLOCK):
 * pointers into the float weight itself where nothing is to be converted, else into wb / bb. */
static inline void x16_wchunk(const norm_x16_job *j, size_t i0, size_t k, float *wb, float *bb,
                              const float **wp, const float **bp)
{
    *wp = *bp = NULL;
    if (j->w) {
        if (j->wact)
            x16_widen(wb, (const uint16_t *)j->w + i0, k, j->fmt);
        else if (j->plus1)
            memcpy(wb, (const float *)j->w + i0, k * sizeof(float));
        if (j->plus1)
            for (size_t i = 0; i < k; i++)
                wb[i] = 1.0f + wb[i];
        *wp = j->wact || j->plus1 ? wb : (const float *)j->w + i0;
    }
    if (j->b) {
        if (j->wact) {
            x16_widen(bb, (const uint16_t *)j->b + i0, k, j->fmt);
            *bp = bb;
        } else {
            *bp = (const float *)j->b + i0;
        }
    }
}

/* Levels 2.. of the pruned tree: w nodes in p[0 .. w-1] -> the lane sums in p[0]. */
static inline void x16_tree_levels(float p[NORM_LEAVES / 2][NORM_LANES], int w)
{
    for (; w > 1; w = (w + 1) / 2) {
        for (int k = 0; k < w / 2; k++)
            for (int l = 0; l < NORM_LANES; l++)
                p[k][l] = p[2 * k][l] + p[2 * k + 1][l];
        if (w & 1)
            for (int l = 0; l < NORM_LANES; l++)
                p[w / 2][l] = p[w - 1][l];
    }
}

/* The lane sums of one block of `avail` (1 .. NORM_BLOCK) widened elements v: of the leaves
 * v - shift (ws) into s, of their squares (wq) into q. */
static inline void x16_block_sums(const float *v, size_t avail, float shift, int ws, int wq,
                                  float s[NORM_LANES], float q[NORM_LANES])
{
    float e[NORM_LEAVES][NORM_LANES], p[NORM_LEAVES / 2][NORM_LANES];
    int rows = avail >= NORM_BLOCK ? NORM_LEAVES : (int)(avail / NORM_LANES);
    for (int k = 0; k < rows; k++)
        for (int l = 0; l < NORM_LANES; l++)
            e[k][l] = v[k * NORM_LANES + l] - shift;
    if (rows < NORM_LEAVES && avail % NORM_LANES) {
        int rem = (int)(avail % NORM_LANES);
        for (int l = 0; l < NORM_LANES; l++)
            e[rows][l] = l < rem ? v[rows * NORM_LANES + l] - shift : 0.0f;
        rows++;
    }
    if (ws) {
        for (int k = 0; k < rows / 2; k++)
            for (int l = 0; l < NORM_LANES; l++)
                p[k][l] = e[2 * k][l] + e[2 * k + 1][l];
        if (rows & 1)
            for (int l = 0; l < NORM_LANES; l++)
                p[rows / 2][l] = e[rows - 1][l];
        x16_tree_levels(p, (rows + 1) / 2);
        for (int l = 0; l < NORM_LANES; l++)
            s[l] = p[0][l];
    }
    if (wq) {
        for (int k = 0; k < rows / 2; k++)
            for (int l = 0; l < NORM_LANES; l++)
                p[k][l] = X16_FMAF(e[2 * k + 1][l], e[2 * k + 1][l], e[2 * k][l] * e[2 * k][l]);
        if (rows & 1)
            for (int l = 0; l < NORM_LANES; l++)
                p[rows / 2][l] = e[rows - 1][l] * e[rows - 1][l];
        x16_tree_levels(p, (rows + 1) / 2);
        for (int l = 0; l < NORM_LANES; l++)
            q[l] = p[0][l];
    }
}

/* A tier may supply its own (faster) block sums with the same contract: X16_BLOCK_SUMS. */
#ifndef X16_BLOCK_SUMS
#define X16_BLOCK_SUMS x16_block_sums
#endif

/* Canonical totals over the first n elements of a row: of leaves x - shift (sum) and/or their
 * squares (sq). pre: the whole row already widened (rows of at most one block), else NULL and
 * each block is widened into buf. ftot: the lanes combined in float (norm_lanes_total_f(): the
 * LayerNorm rows of at most NORM_LN_SHORT elements). */
static void x16_reduce(const norm_x16_job *j, const uint16_t *x, const float *pre, size_t n,
                       float shift, double *sum, double *sq, float *buf, int ftot)
{
    float h1[NORM_LANES] = {0}, l1[NORM_LANES] = {0}, h2[NORM_LANES] = {0},
          l2[NORM_LANES] = {0}, s[NORM_LANES], q[NORM_LANES];
    for (size_t base = 0; base < n; base += NORM_BLOCK) {
        size_t k = n - base < NORM_BLOCK ? n - base : NORM_BLOCK;
        const float *v = pre;
        if (!v) {
            x16_widen(buf, x + base, k, j->fmt);
            v = buf;
        }
        X16_BLOCK_SUMS(v, k, shift, sum != NULL, sq != NULL, s, q);
        for (int l = 0; l < NORM_LANES; l++) {
            if (sum)
                norm_fold(&h1[l], &l1[l], s[l]);
            if (sq)
                norm_fold(&h2[l], &l2[l], q[l]);
        }
    }
    if (sum)
        *sum = ftot ? norm_lanes_total_f(h1, l1) : norm_lanes_total(h1, l1);
    if (sq)
        *sq = ftot ? norm_lanes_total_f(h2, l2) : norm_lanes_total(h2, l2);
}

static void x16_ln_row(const norm_x16_job *j, uint16_t *y, const uint16_t *x, double inv_n,
                       double inv_k, float *mean, float *rstd, double *sums)
{
    const size_t n = j->dim;
    float row[NORM_BLOCK], buf[NORM_BLOCK], wb[NORM_BLOCK], bb[NORM_BLOCK];
    const float *pre = NULL;
    if (n <= NORM_BLOCK) {
        x16_widen(row, x, n, j->fmt);
        pre = row;
    }
    const float x0 = x16_widen1(x[0], j->fmt); /* = pre[0] */
    const int ft = n <= NORM_LN_SHORT; /* the short rows' float lane totals */
    double s0, s1, s2;
    x16_reduce(j, x, pre, norm_ln_probe(n), x0, &s0, NULL, buf, ft);
    float m0 = norm_ln_m0(x0, s0, inv_k);
    x16_reduce(j, x, pre, n, m0, &s1, &s2, buf, ft);
    float mlo, r, mo, m0_next;
    int st = norm_ln_finish(s0, s1, s2, m0, inv_n, j->eps, 0, &mlo, &r, &mo, &m0_next);
    if (st == NORM_LN_AGAIN) {
        m0 = m0_next;
        x16_reduce(j, x, pre, n, m0, &s1, &s2, buf, ft);
        st = norm_ln_finish(s0, s1, s2, m0, inv_n, j->eps, 1, &mlo, &r, &mo, &m0_next);
    }
    norm_ln_put_sums(sums, s0, s1, s2);
    if (st != NORM_LN_OK) {
        norm_x16_layernorm_row_rare(j, y, x, mean, rstd);
        return;
    }
    for (size_t i0 = 0; i0 < n; i0 += NORM_BLOCK) {
        size_t k = n - i0 < NORM_BLOCK ? n - i0 : NORM_BLOCK;
        const float *v = pre ? pre + i0 : buf;
        if (!pre)
            x16_widen(buf, x + i0, k, j->fmt);
        const float *wf, *bf;
        x16_wchunk(j, i0, k, wb, bb, &wf, &bf);
        if (!wf) {
            if (bf)
                for (size_t i = 0; i < k; i++)
                    buf[i] = ((v[i] - m0) - mlo) * r + bf[i];
            else
                for (size_t i = 0; i < k; i++)
                    buf[i] = ((v[i] - m0) - mlo) * r + 0.0f;
        } else if (bf) {
            for (size_t i = 0; i < k; i++)
                buf[i] = X16_FMAF(((v[i] - m0) - mlo) * r, wf[i], bf[i]);
        } else {
            for (size_t i = 0; i < k; i++)
                buf[i] = X16_FMAF(((v[i] - m0) - mlo) * r, wf[i], 0.0f);
        }
        x16_narrow(y + i0, buf, k, j->fmt);
    }
    if (mean)
        *mean = mo;
    if (rstd)
        *rstd = r;
}

static void x16_rms_row(const norm_x16_job *j, uint16_t *y, const uint16_t *x, double inv_n,
                        float *rstd, double *sums)
{
    const size_t n = j->dim;
    float row[NORM_BLOCK], buf[NORM_BLOCK], wb[NORM_BLOCK], bb[NORM_BLOCK];
    const float *pre = NULL;
    if (n <= NORM_BLOCK) {
        x16_widen(row, x, n, j->fmt);
        pre = row;
    }
    double s2;
    x16_reduce(j, x, pre, n, 0.0f, NULL, &s2, buf, 0);
    if (sums)
        *sums = s2;
    float r;
    if (norm_rms_finish(s2, inv_n, j->eps, &r)) {
        norm_x16_rmsnorm_row_rare(j, y, x, rstd);
        return;
    }
    for (size_t i0 = 0; i0 < n; i0 += NORM_BLOCK) {
        size_t k = n - i0 < NORM_BLOCK ? n - i0 : NORM_BLOCK;
        const float *v = pre ? pre + i0 : buf;
        if (!pre)
            x16_widen(buf, x + i0, k, j->fmt);
        const float *wf, *bf;
        x16_wchunk(j, i0, k, wb, bb, &wf, &bf);
        if (wf)
            for (size_t i = 0; i < k; i++)
                buf[i] = (v[i] * r) * wf[i];
        else
            for (size_t i = 0; i < k; i++)
                buf[i] = v[i] * r;
        x16_narrow(y + i0, buf, k, j->fmt);
    }
    if (rstd)
        *rstd = r;
}

void X16_CAT(norm_layernorm_x16, X16_TIER)(const norm_x16_job *j)
{
    const double inv_n = 1.0 / (double)j->dim, inv_k = 1.0 / (double)norm_ln_probe(j->dim);
    for (size_t r = 0; r < j->rows; r++)
        x16_ln_row(j, j->y + r * j->ys, j->x + r * j->xs, inv_n, inv_k,
                   j->mean ? j->mean + r : NULL, j->rstd ? j->rstd + r : NULL,
                   j->sums ? j->sums + NORM_LN_SUMS_PER_ROW * r : NULL);
}

void X16_CAT(norm_rmsnorm_x16, X16_TIER)(const norm_x16_job *j)
{
    const double inv_n = 1.0 / (double)j->dim;
    for (size_t r = 0; r < j->rows; r++)
        x16_rms_row(j, j->y + r * j->ys, j->x + r * j->xs, inv_n, j->rstd ? j->rstd + r : NULL,
                    j->sums ? j->sums + r : NULL);
}
