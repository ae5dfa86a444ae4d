/*
 * Gated RMSNorm, the scalar tier: THE DEFINITION every tier reproduces bit for bit
 * (libnorm_gated_rmsnorm_f32_ex; norm_gated_job in src/norm_internal.h). Per row, per group of
 * G = group elements (weight slice w + g*G, wf = w, or (float)(1.0f + w) with PLUS_ONE, 1 when w
 * is NULL):
 *   gate:   e = expf(-z) (SLEEF's u10 algorithm with exact FMAs: gated_expf.h), d = 1.0f + e,
 *           sigmoid = 1.0f / d, silu = z / d                       (each operation in float)
 *   AFTER (SILU_AFTER, SIGMOID_AFTER):
 *     pass 1: s2 = canonical total of squares of x over the group -> norm_rms_finish(): rstd
 *     pass 2: y = ((x * rstd) * wf) * g,  g = silu(z) or sigmoid(z)
 *   BEFORE (SILU_BEFORE):
 *     pass 1: u = x * silu(z), stored into y (y is the scratch: in place over x or z is fine, each
 *             element is read before it is written); s2 = canonical total of squares of u
 *     pass 2: y = (u * rstd) * wf
 *   A group whose total is not in [NORM_RARE_MIN, DBL_MAX] takes norm_gated_group_rare() (below,
 *   the same code for every tier). Every NaN written to y is NAN (0x7fc00000): canon() below.
 * The canonical total of squares is RMSNorm's (norm_internal.h) with the group as the row:
 * computed here as src/scalar/norm_scalar.c does (only the leaf rows a block holds; the pruning
 * is exact, see there), and checked against the RMSNorm kernel's totals by checkasm.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "../norm_internal.h"
#include "gated_expf.h"

float norm_gate_expf(float d)
{
    return norm_gate_expf_inl(d);
}

/* The canonical total of squares of n >= 1 floats (norm_internal.h), padding pruned. */
static double gated_total_sq(const float *x, size_t n)
{
    float hi[NORM_LANES] = {0}, lo[NORM_LANES] = {0};
    float p[NORM_LEAVES / 2][NORM_LANES];
    for (size_t start = 0; start < n; start += NORM_BLOCK) {
        const size_t avail = n - start < NORM_BLOCK ? n - start : NORM_BLOCK;
        const int rows = (int)((avail + NORM_LANES - 1) / NORM_LANES);
        const int lanes = avail < NORM_LANES ? (int)avail : NORM_LANES;
        const float *b = x + start;
#define LEAF(j, l) ((size_t)(j) * NORM_LANES + (size_t)(l) < avail ? b[(j) * NORM_LANES + (l)] : 0.0f)
        for (int j = 0; j < rows / 2; j++)
            for (int l = 0; l < lanes; l++) {
                float a0 = LEAF(2 * j, l), a1 = LEAF(2 * j + 1, l);
                p[j][l] = norm_fmaf(a1, a1, a0 * a0);
            }
        if (rows & 1)
            for (int l = 0; l < lanes; l++) {
                float a0 = LEAF(rows - 1, l);
                p[rows / 2][l] = a0 * a0;
            }
#undef LEAF
        for (int w = (rows + 1) / 2; w > 1; w = (w + 1) / 2) {
            for (int j = 0; j < w / 2; j++)
                for (int l = 0; l < lanes; l++)
                    p[j][l] = p[2 * j][l] + p[2 * j + 1][l];
            if (w & 1)
                for (int l = 0; l < lanes; l++)
                    p[w / 2][l] = p[w - 1][l];
        }
        for (int l = 0; l < lanes; l++)
            norm_fold(&hi[l], &lo[l], p[0][l]);
    }
    return norm_lanes_total(hi, lo);
}

static inline float gate_of(float z, int gate)
{
    float d = 1.0f + norm_gate_expf_inl(-z);
    return gate == NORM_GATE_SIGMOID_AFTER ? 1.0f / d : z / d;
}

/* Every NaN the op writes is the quiet NaN NAN (0x7fc00000): x86 and AArch64 generate different
 * default NaNs for invalid operations (-Inf / Inf in silu(-Inf), 0 * Inf), and which of two NaN
 * operands a product passes on depends on the operand order the compiler picks. */
static inline float canon(float v)
{
    return v != v ? NAN : v;
}

static inline float wf_of(const float *w, size_t i, int plus_one)
{
    return plus_one ? 1.0f + w[i] : w[i];
}

/* The rare path of one group, every tier's (computed in double like norm_rmsnorm_row_rare):
 * v is x (AFTER) or u (BEFORE: v == y, u already stored there). A group with a non-finite v is
 * NaN (and its rstd); otherwise r = 1/sqrt(sum v^2 / n + eps) in double, t = v * r (0 for an
 * all-zero group) times wf in double, rounded to float once; AFTER then multiplies by the gate
 * in float: y = (float)t * g. Each element's z is read before its y is written. */
void norm_gated_group_rare(float *y, const float *v, const float *z, const float *w, size_t n,
                           float eps, int gate, int plus_one, float *rstd)
{
    int bad = 0;
    for (size_t i = 0; i < n; i++)
        bad |= !(fabsf(v[i]) <= FLT_MAX);
    if (bad) {
        for (size_t i = 0; i < n; i++)
            y[i] = NAN;
        if (rstd)
            *rstd = NAN;
        return;
    }
    double s2 = 0.0;
    for (size_t i = 0; i < n; i++)
        s2 += (double)v[i] * (double)v[i];
    double ms = (n & (n - 1)) == 0 ? s2 * (1.0 / (double)n) : s2 / (double)n;
    double r = 1.0 / sqrt(ms + (double)eps);
    double scale = ms > 0.0 ? r : 0.0;
    for (size_t i = 0; i < n; i++) {
        double t = (double)v[i] * scale;
        float tf = (float)(w ? t * (double)wf_of(w, i, plus_one) : t);
        y[i] = canon(gate == NORM_GATE_SILU_BEFORE ? tf : tf * gate_of(z[i], gate));
    }
    if (rstd)
        *rstd = (float)r;
}

void norm_gated_rmsnorm_f32_scalar(const norm_gated_job *j)
{
    const size_t G = j->group, ng = j->dim / G;
    const double inv_n = 1.0 / (double)G;
    const int before = j->gate == NORM_GATE_SILU_BEFORE, po = j->plus_one;
    for (size_t r = 0; r < j->rows; r++) {
        for (size_t g = 0; g < ng; g++) {
            const size_t t = r * ng + g;
            const float *x = j->x + r * j->xs + g * G, *z = j->z + r * j->xs + g * G;
            const float *w = j->w ? j->w + g * G : NULL;
            float *y = j->y + r * j->ys + g * G;
            if (before)
                for (size_t i = 0; i < G; i++)
                    y[i] = x[i] * gate_of(z[i], NORM_GATE_SILU_AFTER);
            const float *v = before ? y : x;
            double s2 = gated_total_sq(v, G);
            if (j->sums)
                j->sums[t] = s2;
            float rs;
            if (norm_rms_finish(s2, inv_n, j->eps, &rs)) {
                norm_gated_group_rare(y, v, z, w, G, j->eps, j->gate, po,
                                      j->rstd ? j->rstd + t : NULL);
                continue;
            }
            if (before) {
                for (size_t i = 0; i < G; i++)
                    y[i] = canon(w ? (y[i] * rs) * wf_of(w, i, po) : y[i] * rs);
            } else {
                for (size_t i = 0; i < G; i++) {
                    float a = w ? (x[i] * rs) * wf_of(w, i, po) : x[i] * rs;
                    y[i] = canon(a * gate_of(z[i], j->gate));
                }
            }
            if (j->rstd)
                j->rstd[t] = rs;
        }
    }
}
