/*
 * The random rows shared by the test harnesses (checkasm, test_scalar_ref): a seeded splitmix64
 * generator and the row families. Header-only, static: each harness has its own generator state.
 * (test_kat does NOT use this: its inputs must be bit-identical on every platform, so it builds
 * them from integers alone, without libm.)
 */
#ifndef TEST_ROWS_H
#define TEST_ROWS_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

/* splitmix64; each harness seeds rng_state itself */
static uint64_t rng_state;
static inline uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static inline double urand(void) { return (double)(rnd() >> 11) * 0x1p-53; }
static inline size_t irand(size_t n) { return (size_t)(rnd() % n); }
static inline double nrand(void)
{
    double u = urand(), v = urand();
    return sqrt(-2.0 * log(u + 1e-300)) * cos(6.283185307179586 * v);
}

/* The row families the harnesses draw from: mostly ordinary data, and every special family
 * mixed in (LayerNorm's probe unlike the rest, large mean with a tiny spread, constant, signed
 * zeros, NaN, Inf, rows whose float squares overflow, tiny and denormal rows, rows near the
 * rare-path threshold, outliers). */
static inline void gen_row(float *x, size_t n)
{
    size_t kind = irand(100);
    double mu = (urand() * 4 - 2), sc = pow(10.0, urand() * 6 - 3);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(mu + sc * nrand());
    if (kind < 50)
        return;
    if (kind < 62) {                     /* a step at a random position, random height */
        size_t p = irand(n);
        double a = nrand() * 100, b2 = a + (urand() < 0.5 ? 1 : -1) * pow(10.0, urand() * 5 - 2);
        double sd = pow(10.0, urand() * 3 - 2);
        for (size_t i = 0; i < n; i++)
            x[i] = (float)((i < p ? a : b2) + sd * nrand());
        return;
    }
    if (kind < 70) {                     /* large mean, tiny spread */
        double m = urand() < 0.5 ? 1e4 : -3e5;
        for (size_t i = 0; i < n; i++)
            x[i] = (float)(m + pow(10.0, -1 - 3 * urand()) * nrand());
    } else if (kind < 74) {              /* constant */
        float c = (float)(nrand() * 10);
        for (size_t i = 0; i < n; i++)
            x[i] = c;
    } else if (kind < 77) {              /* zeros, signed */
        for (size_t i = 0; i < n; i++)
            x[i] = (rnd() & 1) ? 0.0f : -0.0f;
    } else if (kind < 80) {              /* NaN somewhere */
        x[irand(n)] = NAN;
    } else if (kind < 83) {              /* +-Inf somewhere */
        x[irand(n)] = (rnd() & 1) ? INFINITY : -INFINITY;
    } else if (kind < 87) {              /* huge: squares overflow float */
        double m = pow(10.0, 19 + urand() * 19);
        for (size_t i = 0; i < n; i++)
            x[i] = (float)(m * (urand() * 2 - 1) * 0.9);
    } else if (kind < 92) {              /* tiny, denormal, or near the rare-path threshold */
        double m = urand() < 0.3 ? 1e-20 : urand() < 0.5 ? 1e-41 : pow(2.0, -32 - 4 * urand()) / sqrt((double)n);
        for (size_t i = 0; i < n; i++)
            x[i] = (float)(m * nrand());
    } else if (kind < 96) {              /* one outlier, at x[0] or anywhere */
        x[(rnd() & 1) ? 0 : irand(n)] = (float)(1e10 * nrand());
    } else {                             /* signed zeros among ordinary values */
        for (size_t i = 0; i < n; i++)
            if (rnd() & 1)
                x[i] = (rnd() & 1) ? 0.0f : -0.0f;
    }
}

/* Incoming gradients dz for a row x (RMSNorm backward): ordinary ones at scales 1e-8..1e3, dz
 * nearly parallel to x (sum x*dz and dz + x*c cancel), orthogonal-ish, huge (x*dz overflows,
 * or c beyond float range), tiny and denormal, zeros, and NaN/Inf in dz. */
static inline void gen_dz(float *dz, const float *x, size_t n)
{
    size_t kind = irand(100);
    double sc = pow(10.0, urand() * 11 - 8);
    for (size_t i = 0; i < n; i++)
        dz[i] = (float)(sc * nrand());
    if (kind < 55)
        return;
    if (kind < 70) {                     /* k*x + small noise: cancellation */
        double k = nrand() * sc, e = pow(10.0, -1 - 6 * urand());
        for (size_t i = 0; i < n; i++)
            dz[i] = (float)(k * (double)x[i] + e * sc * nrand());
    } else if (kind < 76) {              /* huge */
        double m = pow(10.0, 20 + urand() * 18);
        for (size_t i = 0; i < n; i++)
            dz[i] = (float)(m * (urand() * 2 - 1));
    } else if (kind < 82) {              /* tiny or denormal */
        double m = urand() < 0.5 ? 1e-30 : 1e-42;
        for (size_t i = 0; i < n; i++)
            dz[i] = (float)(m * nrand());
    } else if (kind < 86) {              /* zeros, signed */
        for (size_t i = 0; i < n; i++)
            dz[i] = (rnd() & 1) ? 0.0f : -0.0f;
    } else if (kind < 89) {              /* NaN or Inf somewhere */
        dz[irand(n)] = (rnd() & 1) ? NAN : ((rnd() & 1) ? INFINITY : -INFINITY);
    } else if (kind < 94) {              /* one outlier */
        dz[irand(n)] = (float)(1e10 * sc * nrand());
    } else {                             /* signed zeros among ordinary values */
        for (size_t i = 0; i < n; i++)
            if (rnd() & 1)
                dz[i] = (rnd() & 1) ? 0.0f : -0.0f;
    }
}

#endif /* TEST_ROWS_H */
