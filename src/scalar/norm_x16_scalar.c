/*
 * bf16 / f16 activations, scalar tier: the template src/x16_tmpl.h with the exact software
 * conversions of src/norm_x16.h and norm_fmaf() (no FMA instruction assumed). Also here: the rare
 * paths every tier shares (the f32 rare paths of src/scalar/norm_scalar.c on the widened row,
 * the same arithmetic line for line, each result rounded by x16_narrow1()).
 */
#include <float.h>
#include <math.h>

#include "../norm_x16.h"
#include "norm_fmaf.h"

static inline void x16_widen_f16(float *d, const uint16_t *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        d[i] = x16_f16_to_f32(s[i]);
}

static inline void x16_narrow_f16(uint16_t *d, const float *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        d[i] = x16_f32_to_f16(s[i]);
}

#define X16_TIER scalar
#define X16_FMAF(a, b, c) norm_fmaf((a), (b), (c))
#include "../x16_tmpl.h"

/* ---- the shared rare paths (as norm_layernorm_row_rare / norm_rmsnorm_row_rare) ---- */

static double x16_div_n(double v, size_t n)
{
    return (n & (n - 1)) == 0 ? v * (1.0 / (double)n) : v / (double)n;
}

static int x16_row_nonfinite(const uint16_t *x, size_t n, int fmt)
{
    int bad = 0;
    for (size_t i = 0; i < n; i++)
        bad |= !(fabsf(x16_widen1(x[i], fmt)) <= FLT_MAX);
    return bad;
}

static void x16_nan_row(uint16_t *y, size_t n, int fmt, float *mean, float *rstd)
{
    const uint16_t q = fmt == NORM_X16_F16 ? X16_F16_NAN : X16_BF16_NAN;
    for (size_t i = 0; i < n; i++)
        y[i] = q;
    if (mean)
        *mean = NAN;
    if (rstd)
        *rstd = NAN;
}

void norm_x16_layernorm_row_rare(const norm_x16_job *j, uint16_t *y, const uint16_t *x,
                                 float *mean, float *rstd)
{
    const size_t n = j->dim;
    const int fmt = j->fmt;
    if (x16_row_nonfinite(x, n, fmt)) {
        x16_nan_row(y, n, fmt, mean, rstd);
        return;
    }
    double m1 = 0.0;
    for (size_t i = 0; i < n; i++)
        m1 += (double)x16_widen1(x[i], fmt);
    m1 = x16_div_n(m1, n);
    double s1 = 0.0, s2 = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)x16_widen1(x[i], fmt) - m1;
        s1 += d;
        s2 += d * d;
    }
    double ml = x16_div_n(s1, n);
    double var = x16_div_n(s2, n) - ml * ml;
    if (var < 0.0)
        var = 0.0;
    double r = 1.0 / sqrt(var + (double)j->eps);
    double scale = var > 0.0 ? r : 0.0;
    for (size_t i = 0; i < n; i++) {
        double t = (((double)x16_widen1(x[i], fmt) - m1) - ml) * scale;
        double w = j->w ? (double)x16_wf1(j, i) : 1.0, b = j->b ? (double)x16_b1(j, i) : 0.0;
        y[i] = x16_narrow1((float)(scale == 0.0 ? t * w + b : fma(t, w, b)), fmt);
    }
    if (mean)
        *mean = (float)(m1 + ml);
    if (rstd)
        *rstd = (float)r;
}

void norm_x16_rmsnorm_row_rare(const norm_x16_job *j, uint16_t *y, const uint16_t *x,
                               float *rstd)
{
    const size_t n = j->dim;
    const int fmt = j->fmt;
    if (x16_row_nonfinite(x, n, fmt)) {
        x16_nan_row(y, n, fmt, NULL, rstd);
        return;
    }
    double s2 = 0.0;
    for (size_t i = 0; i < n; i++) {
        double v = (double)x16_widen1(x[i], fmt);
        s2 += v * v;
    }
    double ms = x16_div_n(s2, n);
    double r = 1.0 / sqrt(ms + (double)j->eps);
    double scale = ms > 0.0 ? r : 0.0;
    for (size_t i = 0; i < n; i++) {
        double t = (double)x16_widen1(x[i], fmt) * scale;
        y[i] = x16_narrow1((float)(j->w ? t * (double)x16_wf1(j, i) : t), fmt);
    }
    if (rstd)
        *rstd = (float)r;
}
