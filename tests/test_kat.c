/*
 * Known-answer digests of the canonical arithmetic.
 *
 * checkasm proves every SIMD tier equals the scalar tier; nothing there notices when the shared
 * arithmetic itself changes (the probe length NORM_LN_PROBE, the repeat threshold of
 * norm_ln_finish(), NORM_RARE_MIN, the TwoSum fold, the lane-total tree, rstd in double...),
 * because all tiers move together. This test pins it: for a fixed list of cases (op, weight and
 * bias or not, dim, rows, strides, eps, row families) whose inputs are generated bit-identically
 * on every platform, every tier this CPU has computes y, mean and rstd, and a 64-bit digest of
 * each must equal the one committed below (the same table on x86-64 and AArch64).
 *
 * The inputs use only integer random numbers (splitmix64) and exact float construction (integers
 * times powers of two, IEEE +, -, *, / and sqrt, each correctly rounded everywhere); no libm
 * log/exp/pow/cos, whose last bits differ between libm builds and architectures. Built with
 * -ffp-contract=off (gcc would otherwise fuse a*b+c on AArch64).
 *
 *   test_kat            check every case on every tier this CPU has; exit 1 on any difference
 *   test_kat --print    print the digest table of this build (scalar tier; fails if the tiers
 *                       disagree) to paste below
 *   test_kat --verbose  also list every case, and how many LayerNorm rows took the repeated
 *                       pass 2 near the 0.25 threshold (a coverage check of the step family)
 *
 * WHEN AN ARITHMETIC CHANGE IS INTENDED: run `test_kat --print`, replace kat_table[] below with
 * its output, AND re-measure the README's accuracy table (tests/accuracy/test_accuracy prints it)
 * and say so in the same commit: the digests changing means every published number may have.
 * A change that only makes the code faster must not change a single digest.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libnorm.h"
#include "norm_internal.h"
#include "norm_x16.h"

/* ---- exact input generation ---- */

static uint64_t rng;
static uint64_t rnd(void)
{
    uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static size_t irand(size_t n) { return (size_t)(rnd() % n); }

/* 2^e exactly, e in [-1074, 1023], built from its bits. */
static double p2(int e)
{
    uint64_t bits = e >= -1022 ? (uint64_t)(e + 1023) << 52 : (uint64_t)1 << (e + 1074);
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

/* Roughly normal noise (a sum of four uniform 16-bit integers, centred), exactly an integer times
 * 2^-15: in [-4, 4], standard deviation 2/sqrt(3) = 1.1547. */
#define NOISE_SD 1.1547005383792515
static double noise(void)
{
    uint64_t r = rnd();
    int64_t s = (int64_t)(r & 0xffff) + (int64_t)((r >> 16) & 0xffff) +
                (int64_t)((r >> 32) & 0xffff) + (int64_t)(r >> 48) - 131070;
    return (double)s * p2(-15);
}

/* An integer in [-k, k] (k small), as a double. */
static double ismall(int k) { return (double)((int)irand((size_t)(2 * k + 1)) - k); }

/* FNV-1a over the little-endian bytes of each float: the same digest on any byte order. */
static uint64_t fnv(uint64_t h, const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &v[i], 4);
        for (int k = 0; k < 4; k++) {
            h ^= (u >> (8 * k)) & 0xffu;
            h *= 0x100000001b3ull;
        }
    }
    return h;
}
#define FNV_INIT 0xcbf29ce484222325ull

/* ---- row families ---- */
enum fam {
    F_NORMAL,     /* mu + sc * noise, mu and sc varied */
    F_NORMAL_OFF, /* offset larger than the spread */
    F_LARGEMEAN,  /* 1e4 or -3e5, spread ~1e-2 */
    F_ULPMEAN,    /* 8192 + a few ulps: m0's rounding is a visible part of the spread */
    F_STEP,       /* the probe unlike the rest: a step at a position, height chosen for a ratio
                   * mlo^2/var near the 0.25 repeat threshold (ratio ladder by row) */
    F_HUGE,       /* squares overflow float: up to FLT_MAX */
    F_TINY,       /* 2^-67 scale, squares underflow */
    F_DENORM,     /* subnormal inputs */
    F_NEARRARE,   /* sum of squares near NORM_RARE_MIN (a ladder by row, 2^-72 .. 2^-56) */
    F_CONST,
    F_ZERO,       /* signed zeros */
    F_NAN,
    F_INF,
    F_OUTLIER,    /* one huge element somewhere */
    F_OUTLIER0,   /* one huge element at x[0] */
    F_MIXMAG,     /* magnitudes 2^-100 .. 2^100 */
    F_CANCEL,     /* lane sums that cancel: the total is what the TwoSum low parts hold */
    F_FOLDSENS,   /* block sums chosen so that the fold's exact association shows in the mean */
    F_LANESENS,   /* lane totals 1e6 apart that cancel: the lane-total order shows */
    F_LANEPERM,   /* 16 lane totals +-u_i that cancel exactly: only the rounding of the lane-total
                   * tree is left, and any other order leaves another residue */
    F_COUNT,
    F_MIX = F_COUNT /* case family: row r takes family (r + offset) mod F_COUNT */
};
static const char *const fam_names[F_COUNT + 1] = {
    "normal", "offset", "largemean", "ulpmean", "step", "huge", "tiny", "denorm", "nearrare",
    "const", "zero", "nan", "inf", "outlier", "outlier0", "mixmag", "cancel", "foldsens", "lanesens", "laneperm", "mix"};

/* Ratio ladder of the step family (nominal mlo^2/var; sampling moves each by a few percent). */
static const double step_ratio[] = {0.15, 0.19, 0.215, 0.235, 0.246, 0.254, 0.265, 0.285, 0.35};
#define NSTEP_RATIO (sizeof(step_ratio) / sizeof(step_ratio[0]))

static size_t ilog2(size_t n)
{
    size_t l = 0;
    while (n >>= 1)
        l++;
    return l;
}

/* Fills x[0..n) with row number r of family f; pos: the step position (F_STEP). */
static void gen_row(float *x, size_t n, enum fam f, size_t r, size_t pos)
{
    switch (f) {
    case F_NORMAL:
    case F_NORMAL_OFF: {
        double mu = ismall(4) * p2((int)irand(6) - 3), sc = p2((int)irand(21) - 10);
        if (f == F_NORMAL_OFF)
            mu = (double)(int)(irand(2001) - 1000) * p2((int)irand(8));
        for (size_t i = 0; i < n; i++)
            x[i] = (float)(mu + sc * noise());
        break;
    }
    case F_LARGEMEAN: {
        double m = (rnd() & 1) ? 10000.0 : -300000.0;
        for (size_t i = 0; i < n; i++)
            x[i] = (float)(m + p2(-7) * noise());
        break;
    }
    case F_ULPMEAN: {
        /* 8192 + k ulps (ulp = 2^-10), k mostly 0, a fraction q of 1 (q ladder by row) */
        size_t ones = (n * (15 + 2 * (r % 9)) + 50) / 100;
        for (size_t i = 0; i < n; i++)
            x[i] = (float)(8192.0 + (irand(n) < ones ? p2(-10) : 0.0) + ismall(1) * p2(-11) * (r & 1));
        break;
    }
    case F_STEP: {
        double sd = p2((int)irand(9) - 4), a = ismall(50) * p2(-2);
        size_t p = pos < n ? pos : n / 2, k = norm_ln_probe(n);
        double nn = (double)n, pp = (double)p, kk = (double)k;
        double cm = (nn - pp) / nn - (p < k ? (kk - pp) / kk : 0.0); /* mlo per unit height */
        double v = pp * (nn - pp) / (nn * nn);                        /* var per unit height^2 */
        double R = step_ratio[r % NSTEP_RATIO], den = cm * cm - R * v;
        double h = den > 0.0 ? sd * NOISE_SD * sqrt(R / den) : sd * 64.0;
        if (r & 1)
            h = -h;
        for (size_t i = 0; i < n; i++)
            x[i] = (float)(a + (i >= p ? h : 0.0) + sd * noise());
        break;
    }
    case F_HUGE: {
        double m = p2(64 + (int)irand(64));
        for (size_t i = 0; i < n; i++) {
            double u = (double)(int64_t)(rnd() >> 40) * p2(-24); /* [0, 1) */
            x[i] = (float)(m * (1.0 - p2(-25)) * ((rnd() & 1) ? u : -u));
        }
        if (r % 3 == 0)
            x[irand(n)] = (rnd() & 1) ? FLT_MAX : -FLT_MAX;
        break;
    }
    case F_TINY:
        for (size_t i = 0; i < n; i++)
            x[i] = (float)(p2(-67) * noise());
        break;
    case F_DENORM:
        for (size_t i = 0; i < n; i++)
            x[i] = (float)(p2(-136 - (int)(r % 4)) * noise());
        break;
    case F_NEARRARE: {
        /* sum of squares about 1.3 * 2^(2e) * n: e chosen so that it is ~2^(-72 + 2r) */
        int e = -36 + (int)(r % 9) - (int)(ilog2(n) / 2);
        for (size_t i = 0; i < n; i++)
            x[i] = (float)(p2(e) * noise());
        break;
    }
    case F_CONST: {
        float c = (float)(noise() * p2((int)irand(20) - 10));
        for (size_t i = 0; i < n; i++)
            x[i] = c;
        break;
    }
    case F_ZERO:
        for (size_t i = 0; i < n; i++)
            x[i] = (rnd() & 1) ? 0.0f : -0.0f;
        break;
    case F_NAN:
    case F_INF:
        for (size_t i = 0; i < n; i++)
            x[i] = (float)noise();
        x[r % 3 == 0 ? 0 : irand(n)] = f == F_NAN ? NAN : (rnd() & 1) ? INFINITY : -INFINITY;
        break;
    case F_OUTLIER:
    case F_OUTLIER0:
        for (size_t i = 0; i < n; i++)
            x[i] = (float)(ismall(3) + noise());
        x[f == F_OUTLIER0 ? 0 : irand(n)] =
            (float)(noise() * p2(f == F_OUTLIER0 ? 60 + (int)irand(66) : 33));
        break;
    case F_MIXMAG:
        for (size_t i = 0; i < n; i++)
            x[i] = (float)(noise() * p2((int)irand(201) - 100));
        break;
    case F_CANCEL: {
        /* The first block is zero (so m0 = 0 exactly and d = x); in every later full block k,
         * lanes 0 and 5 hold 32 copies of A_k (exact in-block sums) and lanes 9 and 6 hold
         * -A_j of another block j: the exact total is 0, but each lane folds its block sums in
         * its own order, with exponents far apart, so the TwoSum low parts hold the only
         * information left and the mean (and y = (0 - mlo) * rstd at the zeros) shows how
         * they were accumulated and combined. */
        size_t nb = n / NORM_BLOCK;
        double A[64];
        for (size_t i = 0; i < n; i++)
            x[i] = 0.0f;
        if (nb > 64)
            nb = 64;
        for (size_t k = 1; k < nb; k++)
            A[k] = (double)(2 * irand(2048) + 1) * p2((int)irand(41) - 20 - (int)(r % 3) * 8) *
                   ((rnd() & 1) ? 1.0 : -1.0);
        for (size_t k = 1; k < nb; k++) {
            size_t rev = nb - k, rot = k + 1 < nb ? k + 1 : 1;
            for (size_t j = 0; j < NORM_LEAVES; j++) {
                float *b = x + k * NORM_BLOCK + j * NORM_LANES;
                b[0] = (float)A[k];
                b[9] = (float)-A[rev];
                b[5] = (float)A[k];
                b[6] = (float)-A[rot];
            }
        }
        break;
    }
    case F_FOLDSENS: {
        /* First block zero (m0 = 0); in blocks k >= 1 lane 0 holds 32 copies of A_k and lane 9
         * 32 copies of -A_(k+1 mod): the exact total is 0. The A_k are drawn until folding the
         * two lanes' block sums with lo + ((hi - ap) + (s - bp)) and with the other association
         * (lo + (hi - ap)) + (s - bp) gives different means: a search over deterministic
         * candidates, so that the digest pins the fold's exact form. */
        size_t nb = n / NORM_BLOCK;
        for (size_t i = 0; i < n; i++)
            x[i] = 0.0f;
        if (nb < 3)
            break;
        if (nb > 64)
            nb = 64;
        float A[64];
        for (int tries = 0; tries < 2000; tries++) {
            for (size_t k = 1; k < nb; k++)
                A[k] = (float)((double)(int)(rnd() >> 40) * p2((int)irand(40) - 40));
            float hi[2][2] = {{0, 0}, {0, 0}}, lo[2][2] = {{0, 0}, {0, 0}};
            for (size_t k = 1; k < nb; k++)
                for (int v = 0; v < 2; v++)
                    for (int lane = 0; lane < 2; lane++) {
                        float s = 32.0f * (lane ? -A[k + 1 < nb ? k + 1 : 1] : A[k]);
                        float *h = &hi[v][lane], *l = &lo[v][lane];
                        float t = *h + s, bp = t - *h, ap = t - bp;
                        *l = v ? (*l + (*h - ap)) + (s - bp) : *l + ((*h - ap) + (s - bp));
                        *h = t;
                    }
            double tot[2];
            for (int v = 0; v < 2; v++)
                tot[v] = ((double)hi[v][0] + (double)lo[v][0]) +
                         ((double)hi[v][1] + (double)lo[v][1]);
            if ((float)(tot[0] / (double)n) != (float)(tot[1] / (double)n))
                break;
        }
        for (size_t k = 1; k < nb; k++)
            for (size_t j = 0; j < NORM_LEAVES; j++) {
                x[k * NORM_BLOCK + j * NORM_LANES + 0] = A[k];
                x[k * NORM_BLOCK + j * NORM_LANES + 9] = -A[k + 1 < nb ? k + 1 : 1];
            }
        break;
    }
    case F_LANESENS: {
        /* First block zero (m0 = 0); lanes 0 and 8 hold B and -B (|B| ~ 2^20 per leaf), which
         * the halving tree cancels first (v0 + v8); lanes 1..7 hold values ~2^-10 with all their
         * bits, which any other order of the lane total would add to 2^25 first and lose. */
        for (size_t i = 0; i < n; i++)
            x[i] = 0.0f;
        for (size_t k = 1; k < n / NORM_BLOCK; k++) {
            float B = (float)((double)(2 * irand(4096) + 1) * p2(8 + (int)irand(4)));
            for (size_t j = 0; j < NORM_LEAVES; j++) {
                float *b = x + k * NORM_BLOCK + j * NORM_LANES;
                b[0] = B;
                b[8] = -B;
                for (int l = 1; l < 8; l++)
                    b[l] = (float)(noise() * p2(-10 - (int)irand(4)));
            }
        }
        break;
    }
    case F_LANEPERM: {
        /* First block zero (m0 = 0); the second block holds, in lane l, 32 copies of u[l]: eight
         * values of random sign and magnitude (2^-50 .. 2^42, 12 bits) and their negations, in
         * a random lane order, so every lane's total is exact and their exact sum is 0. What
         * the halving tree leaves is its rounding residue; the values are drawn until three
         * other orders (sequential, neighbour pairs, the last two levels swapped) give other
         * means. */
        for (size_t i = 0; i < n; i++)
            x[i] = 0.0f;
        if (n < 2 * NORM_BLOCK)
            break;
        float u[NORM_LANES];
        for (int tries = 0; tries < 2000; tries++) {
            for (int l = 0; l < NORM_LANES / 2; l++) {
                u[l] = (float)((double)(int)(irand(4095) + 1) * p2((int)irand(81) - 50) *
                               ((rnd() & 1) ? 1.0 : -1.0));
                u[l + NORM_LANES / 2] = -u[l];
            }
            for (int l = NORM_LANES - 1; l > 0; l--) { /* Fisher-Yates */
                int m = (int)irand((size_t)l + 1);
                float t = u[l];
                u[l] = u[m];
                u[m] = t;
            }
            double v[NORM_LANES], q[NORM_LANES], seq = 0.0;
            for (int l = 0; l < NORM_LANES; l++) {
                v[l] = q[l] = (double)(32.0f * u[l]) + 0.0;
                seq += v[l];
            }
            double a[8], b[4];
            for (int l = 0; l < 8; l++)
                a[l] = v[l] + v[l + 8];
            for (int l = 0; l < 4; l++)
                b[l] = a[l] + a[l + 4];
            double canon = (b[0] + b[2]) + (b[1] + b[3]), swap = (b[0] + b[1]) + (b[2] + b[3]);
            for (int w = NORM_LANES; w > 1; w /= 2) /* neighbour pairs */
                for (int l = 0; l < w / 2; l++)
                    q[l] = q[2 * l] + q[2 * l + 1];
            float mc = (float)(canon / (double)n);
            if (mc != (float)(seq / (double)n) && mc != (float)(q[0] / (double)n) &&
                mc != (float)(swap / (double)n))
                break;
        }
        for (size_t j = 0; j < NORM_LEAVES; j++)
            for (int l = 0; l < NORM_LANES; l++)
                x[NORM_BLOCK + j * NORM_LANES + (size_t)l] = u[l];
        break;
    }
    default:
        abort();
    }
}

/* ---- cases ---- */
/* OP_L2: the RMSNorm kernels with kind L2 (libnorm_l2norm_f32_ex). OP_GN: group normalisation
 * through the entry layer on each tier's table (norm_groupnorm_call): `rows` batches of `chans`
 * channels of dim / chans floats in `groups` groups, xpad / ypad added to the batch strides;
 * mean and rstd per (batch, group). OP_RMSB: RMSNorm backward (x and a generated dz, gen_dz). */
enum op { OP_LN, OP_RMS, OP_L2, OP_GN, OP_RMSB, OP_ADDLN, OP_ADDRMS, OP_GATED };
/* (0.4) wplus: LIBNORM_WEIGHT_PLUS_ONE ("+1" after the weight in the name). OP_ADDLN, OP_ADDRMS:
 * the fused residual add + norm through the entry layer (norm_add_call) with h written; r is
 * generated from the case too (finite: x + r is then the same on every platform, NaN and
 * Inf x included), and the "mean" digest covers h after the mean. */
typedef struct kcase {
    char name[96];
    enum op op;
    int use_w, use_b, wplus;
    size_t dim, rows, xpad, ypad, pos;
    int eps_i;
    int fam;
    size_t chans, groups;
    int x16, fmt, wact;  /* (0.4) a bf16 / f16 case (op OP_LN or OP_RMS): fmt NORM_X16_*, wact:
                            weight and bias 16-bit (LIBNORM_WEIGHT_ACT_TYPE) */
    int gate, plus_one; /* OP_GATED: the gate; the weight as (1 + w); `groups` is the group size */
} kcase;
/* 0.25: L2 normalisation's clamp max(||x||, eps) reached by ordinary rows */
static const float eps_val[4] = {0.0f, 1e-5f, 1e-6f, 0.25f};
static const char *const eps_name[4] = {"0", "1e-5", "1e-6", "0.25"};

#define MAX_CASES 2048
static kcase cases[MAX_CASES];
static size_t ncases;

static void add_case_wp(enum op op, int use_w, int wplus, int use_b, size_t dim, size_t rows,
                        size_t xpad, size_t ypad, int eps_i, int fam, size_t pos)
{
    if (ncases == MAX_CASES)
        abort();
    kcase *c = &cases[ncases++];
    c->op = op;
    c->use_w = use_w;
    c->use_b = use_b;
    c->dim = dim;
    c->rows = rows;
    c->xpad = xpad;
    c->ypad = ypad;
    c->eps_i = eps_i;
    c->fam = fam;
    c->pos = pos;
    c->wplus = wplus;
    static const char *const op_pfx[7] = {"ln", "rms", "l2", "gn", "rmsb", "addln", "addrms"};
    c->chans = c->groups = 0;
    c->x16 = c->fmt = c->wact = 0;
    c->gate = c->plus_one = 0;
    snprintf(c->name, sizeof c->name, "%s%s%s%s d=%zu r=%zu xs+%zu ys+%zu eps=%s %s",
             op_pfx[op], use_w ? "-w" : "", wplus ? "+1" : "", use_b ? "-b" : "", dim, rows, xpad,
             ypad, eps_name[eps_i], fam_names[fam]);
    if (fam == F_STEP) {
        size_t l = strlen(c->name);
        snprintf(c->name + l, sizeof c->name - l, "@%zu", pos);
    }
}

static void add_case(enum op op, int use_w, int use_b, size_t dim, size_t rows, size_t xpad,
                     size_t ypad, int eps_i, int fam, size_t pos)
{
    add_case_wp(op, use_w, 0, use_b, dim, rows, xpad, ypad, eps_i, fam, pos);
}

/* (0.4) A bf16 / f16 case: the f32 case's inputs rounded to the type (x16_narrow1), the op
 * through the entry layer (norm_x16_rows_call); y digested as 16-bit values. */
static void add_x16_case(enum op op, int fmt, int wact, int use_w, int use_b, size_t dim,
                         size_t rows, size_t xpad, size_t ypad, int eps_i, int fam)
{
    add_case(op, use_w, use_b, dim, rows, xpad, ypad, eps_i, fam, 0);
    kcase *c = &cases[ncases - 1];
    c->x16 = 1;
    c->fmt = fmt;
    c->wact = wact;
    char full[sizeof c->name + 16];
    snprintf(full, sizeof full, "%s%s %s", fmt == NORM_X16_F16 ? "f16" : "bf16",
             wact ? "/w16" : "", c->name);
    memcpy(c->name, full, sizeof c->name - 1); /* (the names are far shorter) */
    c->name[sizeof c->name - 1] = 0;
}

/* A group norm case: batch rows of chans * spatial floats in `groups` groups. */
static void add_gn_case(int use_w, int use_b, size_t chans, size_t spatial, size_t groups,
                        size_t batch, size_t xpad, size_t ypad, int eps_i, int fam)
{
    if (ncases == MAX_CASES)
        abort();
    kcase *c = &cases[ncases++];
    c->op = OP_GN;
    c->use_w = use_w;
    c->use_b = use_b;
    c->dim = chans * spatial;
    c->rows = batch;
    c->xpad = xpad;
    c->ypad = ypad;
    c->eps_i = eps_i;
    c->fam = fam;
    c->pos = 0;
    c->chans = chans;
    c->groups = groups;
    c->wplus = 0;
    c->gate = c->plus_one = 0;
    snprintf(c->name, sizeof c->name, "gn%s%s C=%zu S=%zu G=%zu r=%zu xs+%zu ys+%zu eps=%s %s",
             use_w ? "-w" : "", use_b ? "-b" : "", chans, spatial, groups, batch, xpad, ypad,
             eps_name[eps_i], fam_names[fam]);
}

/* (0.4) A group norm case with LIBNORM_WEIGHT_PLUS_ONE. */
static void add_gn_case_wp(size_t chans, size_t spatial, size_t groups, size_t batch, int eps_i)
{
    add_gn_case(1, 1, chans, spatial, groups, batch, 0, 0, eps_i, F_MIX);
    kcase *c = &cases[ncases - 1];
    c->wplus = 1;
    snprintf(c->name, sizeof c->name, "gn-w+1-b C=%zu S=%zu G=%zu r=%zu eps=%s mix", chans,
             spatial, groups, batch, eps_name[eps_i]);
}

/* (0.4) A gated RMSNorm case through the entry layer (norm_gated_call): rows of dim, groups of
 * `group`, the gate, weight none (wmode 0), w (1) or (1 + w) (2); z from gen_z(). */
static void add_gated_case(int gate, int wmode, size_t dim, size_t group, size_t rows,
                           size_t xpad, size_t ypad, int eps_i, int fam)
{
    if (ncases == MAX_CASES)
        abort();
    kcase *c = &cases[ncases++];
    memset(c, 0, sizeof *c);
    c->op = OP_GATED;
    c->use_w = wmode != 0;
    c->plus_one = wmode == 2;
    c->gate = gate;
    c->dim = dim;
    c->groups = group;
    c->rows = rows;
    c->xpad = xpad;
    c->ypad = ypad;
    c->eps_i = eps_i;
    c->fam = fam;
    static const char *const gname[3] = {"silu-after", "silu-before", "sigmoid-after"};
    snprintf(c->name, sizeof c->name, "gated-%s%s d=%zu G=%zu r=%zu xs+%zu ys+%zu eps=%s %s",
             gname[gate], wmode == 2 ? "-pw" : wmode ? "-w" : "", dim, group, rows, xpad, ypad,
             eps_name[eps_i], fam_names[fam]);
}

/* The F_STEP cases: every dim with every step position below it (99999: the last element). */
static void add_step_ladder(const size_t *dims, size_t nd, const size_t *pos, size_t np)
{
    for (size_t di = 0; di < nd; di++)
        for (size_t pi = 0; pi < np; pi++) {
            size_t d = dims[di], p = pos[pi];
            if (p != 99999 && p >= d)
                continue;
            add_case(OP_LN, (pi & 1) == 0, (pi & 2) == 0, d, 9, pi % 3 ? 0 : 5, 0,
                     (int)((di + pi) % 3), F_STEP, p == 99999 ? d - 1 : p);
        }
}

static void build_cases(void)
{
    static const struct { enum op op; int w, b; } variants[] = {
        {OP_LN, 1, 1}, {OP_LN, 0, 0}, {OP_LN, 1, 0}, {OP_LN, 0, 1}, {OP_RMS, 1, 0}, {OP_RMS, 0, 0}};
    size_t dims[40], nd = 0;
    for (size_t d = 1; d <= 20; d++)
        dims[nd++] = d;
    static const size_t more[] = {64, 100, 128, 511, 512, 513, 1024, 4097, 8211};
    for (size_t i = 0; i < sizeof more / sizeof more[0]; i++)
        dims[nd++] = more[i];

    /* every variant x every dim, rows of every family mixed (9 rows up to 512: the AVX-512
     * eight-row batch and a single row; 2-3 long rows); strides and eps varied with the dim */
    for (size_t v = 0; v < sizeof variants / sizeof variants[0]; v++)
        for (size_t di = 0; di < nd; di++) {
            size_t d = dims[di];
            size_t rows = d <= 512 ? 9 : d <= 1024 ? 5 : 2 + di % 2;
            add_case(variants[v].op, variants[v].w, variants[v].b, d, rows,
                     (di + v) % 3 == 0 ? 0 : 1 + (di * 7 + v) % 17, (di + v) % 2 ? 3 : 0,
                     (int)((di + v) % 3), F_MIX, 0);
        }
    /* a second round of mixed rows on the short dims where the kernels batch: 17 rows */
    for (size_t d = 1; d <= 20; d += 3)
        for (int o = 0; o < 2; o++)
            add_case(o ? OP_RMS : OP_LN, 1, !o, d, 17, d % 5, 0, (int)(d % 3), F_MIX, 0);

    /* steps: the probe (first 512) unlike the rest, a ratio ladder around the 0.25 threshold */
    static const size_t step_dims[] = {513, 700, 1024, 4097, 8211};
    static const size_t step_pos[] = {1, 37, 200, 400, 511, 512, 513, 900, 3000, 99999};
    add_step_ladder(step_dims, sizeof step_dims / sizeof step_dims[0], step_pos,
                    sizeof step_pos / sizeof step_pos[0]);
    /* (0.5) the same ladder on short rows (n <= NORM_LN_SHORT: the probe is the first 32) */
    static const size_t sstep_dims[] = {33, 64, 100, 128};
    static const size_t sstep_pos[] = {1, 5, 16, 31, 32, 33, 60, 99999};
    add_step_ladder(sstep_dims, sizeof sstep_dims / sizeof sstep_dims[0], sstep_pos,
                    sizeof sstep_pos / sizeof sstep_pos[0]);

    /* every special family on its own, short, block-edge and long rows */
    static const size_t fam_dims[] = {3, 16, 100, 512, 513, 2049};
    for (int f = 0; f < F_COUNT; f++) {
        if (f == F_STEP)
            continue;
        for (size_t di = 0; di < sizeof fam_dims / sizeof fam_dims[0]; di++) {
            size_t d = fam_dims[di], rows = d <= 512 ? 9 : 3;
            int eps_i = (int)((di + (size_t)f) % 3);
            add_case(OP_LN, 1, 1, d, rows, 0, 0, eps_i, f, 0);
            add_case(OP_RMS, 1, 0, d, rows, 0, 0, eps_i, f, 0);
        }
    }
    /* cancellation: several blocks, so the fold and the lane-total order reach the outputs */
    static const size_t cancel_dims[] = {1536, 2049, 4097, 8211, 16384};
    for (size_t di = 0; di < sizeof cancel_dims / sizeof cancel_dims[0]; di++) {
        add_case(OP_LN, 1, 1, cancel_dims[di], 6, 0, 0, (int)(di % 3), F_CANCEL, 0);
        add_case(OP_LN, 0, 0, cancel_dims[di], 6, 0, 0, (int)((di + 1) % 3), F_CANCEL, 0);
    }
    /* fold- and lane-order-sensitive rows (LayerNorm: the mean and y at the zeros show them) */
    static const size_t sens_dims[] = {1536, 2049, 4097, 8211, 32768};
    for (size_t di = 0; di < sizeof sens_dims / sizeof sens_dims[0]; di++)
        for (int f = F_FOLDSENS; f <= F_LANEPERM; f++) {
            add_case(OP_LN, 1, 1, sens_dims[di], 4, 0, 0, (int)(di % 3), f, 0);
            add_case(OP_LN, 0, 0, sens_dims[di], 4, 0, 0, (int)((di + 1) % 3), f, 0);
        }
    /* the ladders that cross thresholds get every row count they need at more dims */
    static const size_t ladder_dims[] = {1, 7, 64, 257, 1000, 4097};
    for (size_t di = 0; di < sizeof ladder_dims / sizeof ladder_dims[0]; di++)
        for (int e = 0; e < 3; e++) {
            add_case(OP_LN, 1, 1, ladder_dims[di], 9, 0, 0, e, F_NEARRARE, 0);
            add_case(OP_RMS, e != 1, 0, ladder_dims[di], 9, 0, 0, e, F_NEARRARE, 0);
            add_case(OP_LN, e != 2, 0, ladder_dims[di], 9, 0, 0, e, F_ULPMEAN, 0);
        }

    /* (0.3) L2 normalisation: every dim with mixed rows (eps 0.25 clamps ordinary rows), every
     * special family, the rare-path ladder */
    for (size_t di = 0; di < nd; di++) {
        size_t d = dims[di];
        add_case(OP_L2, 0, 0, d, d <= 512 ? 9 : d <= 1024 ? 5 : 2 + di % 2, di % 3 ? 1 + di % 5 : 0,
                 di % 2 ? 3 : 0, (int)(di % 4), F_MIX, 0);
    }
    for (int f = 0; f < F_COUNT; f++) {
        if (f == F_STEP)
            continue;
        for (size_t di = 0; di < sizeof fam_dims / sizeof fam_dims[0]; di++) {
            size_t d = fam_dims[di];
            add_case(OP_L2, 0, 0, d, d <= 512 ? 9 : 3, 0, 0, (int)((di + (size_t)f) % 4), f, 0);
        }
    }
    for (size_t di = 0; di < sizeof ladder_dims / sizeof ladder_dims[0]; di++)
        for (int e = 0; e < 4; e++)
            add_case(OP_L2, 0, 0, ladder_dims[di], 9, 0, 0, e, F_NEARRARE, 0);

    /* (0.3) group normalisation: even, uneven (short last group) and empty groups, short and
     * block-crossing runs, affine variants, batch strides */
    static const struct { size_t c, g; } gcg[] = {{1, 1}, {4, 2}, {5, 3}, {6, 4}, {8, 3},
                                                  {12, 5}, {32, 8}, {3, 7}};
    static const size_t gsp[] = {1, 7, 64, 100, 513};
    for (size_t ci = 0; ci < sizeof gcg / sizeof gcg[0]; ci++)
        for (size_t si = 0; si < sizeof gsp / sizeof gsp[0]; si++) {
            size_t k = ci * 5 + si;
            add_gn_case(k % 3 != 2, k % 2 == 0, gcg[ci].c, gsp[si], gcg[ci].g, 1 + k % 3,
                        k % 4 ? 0 : 1 + k % 7, k % 3 ? 0 : 2, (int)(k % 3), F_MIX);
        }
    for (int f = 0; f < F_COUNT; f++)
        if (f != F_STEP)
            add_gn_case(1, 1, 6, 86, 4, 2, 0, 0, f % 3, f);

    /* RMSNorm backward: every dim with mixed rows of x (and every dz kind, see gen_dz), every
     * family of x on its own, the rare-path ladder, and the cancelling families at long rows */
    for (size_t di = 0; di < nd; di++) {
        size_t d = dims[di];
        add_case(OP_RMSB, 0, 0, d, d <= 512 ? 11 : d <= 1024 ? 5 : 3, di % 3 ? 0 : 1 + di % 17,
                 di % 2 ? 3 : 0, (int)(di % 3), F_MIX, 0);
    }
    for (int f = 0; f < F_COUNT; f++) {
        if (f == F_STEP)
            continue;
        for (size_t di = 0; di < sizeof fam_dims / sizeof fam_dims[0]; di++) {
            size_t d = fam_dims[di];
            add_case(OP_RMSB, 0, 0, d, d <= 512 ? 10 : 5, 0, 0, (int)((di + (size_t)f) % 3), f, 0);
        }
    }
    for (size_t di = 0; di < sizeof ladder_dims / sizeof ladder_dims[0]; di++)
        for (int e = 0; e < 3; e++)
            add_case(OP_RMSB, 0, 0, ladder_dims[di], 10, 0, 0, e, F_NEARRARE, 0);
    for (size_t di = 0; di < sizeof cancel_dims / sizeof cancel_dims[0]; di++)
        add_case(OP_RMSB, 0, 0, cancel_dims[di], 5, 0, 0, (int)(di % 3), F_LANEPERM, 0);

    /* (0.4) bf16 / f16: every variant at short, block-edge and long dims with mixed rows, and
     * every family on its own at a short and a two-block row */
    static const size_t hdims[] = {1, 2, 3, 7, 16, 17, 64, 100, 511, 512, 513, 1024, 4097};
    for (int fmt = 0; fmt < 2; fmt++)
        for (size_t v = 0; v < 4; v++)
            for (size_t di = 0; di < sizeof hdims / sizeof hdims[0]; di++) {
                size_t d = hdims[di];
                add_x16_case(v < 2 ? OP_LN : OP_RMS, fmt, (int)((di + v) % 2), v % 2 == 0,
                             v == 0, d, d <= 512 ? 9 : 3, (di + v) % 3 == 0 ? 0 : 1 + di % 5,
                             (di + v) % 2 ? 3 : 0, (int)((di + v) % 3), F_MIX);
            }
    for (int fmt = 0; fmt < 2; fmt++)
        for (int f = 0; f < F_COUNT; f++) {
            if (f == F_STEP)
                continue;
            add_x16_case(OP_LN, fmt, f % 2, 1, 1, 16, 9, 0, 0, f % 3, f);
            add_x16_case(OP_RMS, fmt, (f + 1) % 2, 1, 0, 1025, 3, 0, 0, f % 3, f);
        }

    /* (0.4) LIBNORM_WEIGHT_PLUS_ONE: every dim with mixed rows (LayerNorm with and without a
     * bias, RMSNorm; a weight-less RMSNorm, factor 1), every special family (the rare path
     * uses the factor too), group norm */
    for (size_t di = 0; di < nd; di++) {
        size_t d = dims[di], rows = d <= 512 ? 9 : d <= 1024 ? 5 : 2 + di % 2;
        add_case_wp(OP_LN, 1, 1, (int)(di & 1), d, rows, di % 3 ? 0 : 2, di % 2 ? 3 : 0,
                    (int)(di % 3), F_MIX, 0);
        add_case_wp(OP_RMS, 1, 1, 0, d, rows, di % 3 ? 1 : 0, di % 2 ? 0 : 3, (int)((di + 1) % 3),
                    F_MIX, 0);
    }
    for (size_t di = 0; di < 4; di++)
        add_case_wp(OP_RMS, 0, 1, 0, dims[di * 7], 9, 0, 0, 1, F_MIX, 0);
    for (int f = 0; f < F_COUNT; f++) {
        if (f == F_STEP)
            continue;
        for (size_t di = 0; di < sizeof fam_dims / sizeof fam_dims[0]; di += 2) {
            size_t d = fam_dims[di], rows = d <= 512 ? 9 : 3;
            add_case_wp(OP_LN, 1, 1, 1, d, rows, 0, 0, (int)((di + (size_t)f) % 3), f, 0);
            add_case_wp(OP_RMS, 1, 1, 0, d, rows, 0, 0, (int)((di + (size_t)f) % 3), f, 0);
        }
    }
    add_gn_case_wp(5, 7, 3, 2, 1);
    add_gn_case_wp(32, 64, 8, 1, 0);
    add_gn_case_wp(12, 100, 5, 3, 2);

    /* (0.4) the fused residual add + norm: every dim with mixed rows of x (and r, see
     * make_inputs), every variant of weight, PLUS_ONE and bias; every special family of x */
    for (size_t di = 0; di < nd; di++) {
        size_t d = dims[di], rows = d <= 512 ? 9 : d <= 1024 ? 5 : 2 + di % 2;
        add_case_wp(OP_ADDLN, di % 3 != 0, di % 3 == 2, di % 2 == 0, d, rows, di % 4 ? 0 : 5,
                    di % 3 ? 2 : 0, (int)(di % 3), F_MIX, 0);
        add_case_wp(OP_ADDRMS, di % 3 != 1, di % 3 == 0, 0, d, rows, di % 4 == 1 ? 3 : 0,
                    di % 2 ? 1 : 0, (int)((di + 2) % 3), F_MIX, 0);
    }
    for (int f = 0; f < F_COUNT; f++) {
        if (f == F_STEP)
            continue;
        add_case_wp(OP_ADDLN, 1, f & 1, 1, 100, 9, 0, 0, f % 3, f, 0);
        add_case_wp(OP_ADDRMS, 1, !(f & 1), 0, 513, 3, 0, 0, (f + 1) % 3, f, 0);
    }

    /* (0.4) gated RMSNorm: every gate x weight kind over dims with a whole-row group and a
     * smaller one, mixed rows of x and z with its special values (gen_z) */
    static const size_t gdims[][2] = {{1, 1},    {2, 1},     {3, 3},     {5, 5},     {8, 4},
                                      {16, 16},  {17, 17},   {31, 31},   {64, 16},   {100, 25},
                                      {128, 64}, {512, 128}, {513, 171}, {1024, 512}, {4097, 4097},
                                      {8192, 1024}};
    for (int gate = 0; gate < 3; gate++)
        for (size_t di = 0; di < sizeof gdims / sizeof gdims[0]; di++)
            for (int k = 0; k < 2; k++) {
                size_t d = gdims[di][0], g = k ? gdims[di][1] : d;
                if (k && g == d)
                    continue;
                add_gated_case(gate, (int)((di + (size_t)k + (size_t)gate) % 3), d, g,
                               d <= 512 ? 5 : 2, di % 3 ? 0 : 1 + di % 7, (di + k) % 2 ? 3 : 0,
                               (int)((di + (size_t)gate) % 3), F_MIX);
            }
}

/* FNV-1a over 16-bit values (little-endian bytes). */
static uint64_t fnv16(uint64_t h, const uint16_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < 2; k++) {
            h ^= (v[i] >> (8 * k)) & 0xffu;
            h *= 0x100000001b3ull;
        }
    return h;
}

/* The gate z of a gated case's row r, exactly constructed: noise at 2^-4..2^5, and in every
 * other row some of the special values (+-0, +-Inf, NaN, +-88.5, +-100.5, +-104.5, +-2^100). */
static void gen_z(float *z, size_t n, size_t r)
{
    double sc = p2((int)irand(10) - 4);
    for (size_t i = 0; i < n; i++)
        z[i] = (float)(noise() * sc);
    if (r % 2 == 1) {
        static const float sp[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 88.5f, -88.5f, 100.5f,
                                   -100.5f, 104.5f, -104.5f, 0x1p100f, -0x1p100f};
        for (size_t k = 0, m = 1 + n / 8; k < m; k++)
            z[irand(n)] = sp[irand(sizeof sp / sizeof sp[0])];
    }
}

/* RMSNorm backward's dz for row r of x, exactly constructed: kind r % 6 is plain noise at
 * 2^-12..2^8, dz = k*x + small noise (sum x*dz and dz + x*c cancel), huge (x*dz overflows
 * float, or c beyond float range), subnormal, signed zeros among noise, and noise with a NaN or
 * Inf (every 7th such row). */
static void gen_dz(float *dz, const float *x, size_t n, size_t r)
{
    double sc = p2((int)irand(21) - 12);
    switch (r % 6) {
    case 0:
        for (size_t i = 0; i < n; i++)
            dz[i] = (float)(noise() * sc);
        break;
    case 1: {
        double k = ismall(3) * p2((int)irand(9) - 4) + p2(-7);
        for (size_t i = 0; i < n; i++)
            dz[i] = (float)((double)x[i] * k + noise() * sc * p2(-20));
        break;
    }
    case 2:
        for (size_t i = 0; i < n; i++)
            dz[i] = (float)(noise() * p2(90 + (int)irand(35)));
        break;
    case 3:
        for (size_t i = 0; i < n; i++)
            dz[i] = (float)(noise() * p2(-140));
        break;
    case 4:
        for (size_t i = 0; i < n; i++)
            dz[i] = irand(3) == 0 ? ((rnd() & 1) ? 0.0f : -0.0f) : (float)(noise() * sc);
        break;
    default:
        for (size_t i = 0; i < n; i++)
            dz[i] = (float)(noise() * sc);
        if (r % 7 == 5)
            dz[irand(n)] = (rnd() & 1) ? (float)NAN : (float)INFINITY;
        break;
    }
}

/* ---- running a case ---- */
typedef struct digest {
    uint64_t y, mean, rstd;
} digest;

typedef struct inputs {
    float *x, *w, *b, *dz, *z;
    size_t xs;
} inputs;

static uint64_t fnv_str(const char *s)
{
    uint64_t h = FNV_INIT;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ull;
    }
    return h;
}

static inputs make_inputs(const kcase *c)
{
    inputs in;
    in.xs = c->dim + c->xpad;
    in.x = malloc(c->rows * in.xs * sizeof(float));
    in.w = malloc(c->dim * sizeof(float));
    in.b = malloc(c->dim * sizeof(float));
    if (!in.x || !in.w || !in.b) {
        fprintf(stderr, "test_kat: out of memory\n");
        exit(2);
    }
    rng = fnv_str(c->name); /* the seed is the case: adding a case changes no other digest */
    for (size_t i = 0; i < c->dim; i++) {
        in.w[i] = (float)(1.0 + noise() * 0.25);
        in.b[i] = (float)(noise() * 0.5);
    }
    size_t off = irand(F_COUNT);
    for (size_t r = 0; r < c->rows; r++) {
        float *row = in.x + r * in.xs;
        enum fam f = c->fam == F_MIX ? (enum fam)((r + off) % F_COUNT) : (enum fam)c->fam;
        gen_row(row, c->dim, f, r, c->pos);
        for (size_t i = c->dim; i < in.xs; i++)
            row[i] = NAN; /* stride padding: never read */
    }
    in.dz = in.z = NULL;
    if (c->op == OP_GATED) {
        in.z = malloc(c->rows * in.xs * sizeof(float));
        if (!in.z) {
            fprintf(stderr, "test_kat: out of memory\n");
            exit(2);
        }
        for (size_t r = 0; r < c->rows; r++) {
            gen_z(in.z + r * in.xs, c->dim, r);
            for (size_t i = c->dim; i < in.xs; i++)
                in.z[r * in.xs + i] = NAN;
        }
    }
    if (c->op == OP_RMSB) {
        in.dz = malloc(c->rows * in.xs * sizeof(float));
        if (!in.dz) {
            fprintf(stderr, "test_kat: out of memory\n");
            exit(2);
        }
        for (size_t r = 0; r < c->rows; r++) {
            gen_dz(in.dz + r * in.xs, in.x + r * in.xs, c->dim, r);
            for (size_t i = c->dim; i < in.xs; i++)
                in.dz[r * in.xs + i] = NAN;
        }
    }
    if (c->op == OP_ADDLN || c->op == OP_ADDRMS) {
        /* the residual r (in .dz): row kind r % 4 is ordinary noise (finite, exactly
         * constructed), -x (h = 0: the rare path; LayerNorm: a constant row), x (h = 2x) and
         * noise 2^20 times larger; -x and x for a non-finite x give NaN/Inf the same way on
         * every platform (one NaN operand, or Inf + Inf) */
        in.dz = malloc(c->rows * in.xs * sizeof(float));
        if (!in.dz) {
            fprintf(stderr, "test_kat: out of memory\n");
            exit(2);
        }
        for (size_t r = 0; r < c->rows; r++) {
            float *rr = in.dz + r * in.xs;
            const float *xr = in.x + r * in.xs;
            for (size_t i = 0; i < c->dim; i++) {
                switch (r % 4) {
                case 0: rr[i] = (float)noise(); break;
                case 1: rr[i] = -xr[i]; break;
                case 2: rr[i] = xr[i]; break;
                default: rr[i] = (float)(noise() * p2(20)); break;
                }
                if (r % 4 == 1 && !(fabsf(xr[i]) <= FLT_MAX))
                    rr[i] = 1.0f; /* not -Inf + Inf (its NaN's sign differs by platform) */
            }
            for (size_t i = c->dim; i < in.xs; i++)
                rr[i] = NAN;
        }
    }
    return in;
}

static void free_inputs(inputs *in)
{
    free(in->x);
    free(in->w);
    free(in->b);
    free(in->dz);
    free(in->z);
}

static digest run_x16_case(const norm_dsp *d, const kcase *c, const inputs *in)
{
    size_t ys = c->dim + c->ypad;
    uint16_t *x = malloc(c->rows * in->xs * 2), *y = malloc(c->rows * ys * 2);
    uint16_t *w16 = malloc(c->dim * 2), *b16 = malloc(c->dim * 2);
    float *mean = malloc(c->rows * sizeof(float)), *rstd = malloc(c->rows * sizeof(float));
    if (!x || !y || !w16 || !b16 || !mean || !rstd) {
        fprintf(stderr, "test_kat: out of memory\n");
        exit(2);
    }
    for (size_t i = 0; i < c->rows * in->xs; i++)
        x[i] = x16_narrow1(in->x[i], c->fmt);
    for (size_t i = 0; i < c->dim; i++) {
        w16[i] = x16_narrow1(in->w[i], c->fmt);
        b16[i] = x16_narrow1(in->b[i], c->fmt);
    }
    for (size_t i = 0; i < c->rows * ys; i++)
        y[i] = 0xbfc0; /* the gaps must keep it */
    for (size_t r = 0; r < c->rows; r++)
        mean[r] = rstd[r] = -2.5f;
    libnorm_opts o = LIBNORM_OPTS_INIT;
    o.x_stride = in->xs;
    o.y_stride = ys;
    o.mean = c->op == OP_LN ? mean : NULL;
    o.rstd = rstd;
    o.flags = c->wact ? LIBNORM_WEIGHT_ACT_TYPE : 0u;
    const void *w = c->use_w ? (c->wact ? (const void *)w16 : (const void *)in->w) : NULL;
    const void *b = c->use_b ? (c->wact ? (const void *)b16 : (const void *)in->b) : NULL;
    if (norm_x16_rows_call(d, c->op == OP_LN ? NORM_OP_LN : NORM_OP_RMS, c->fmt, y, x, w, b,
                           c->rows, c->dim, eps_val[c->eps_i], &o, NULL) != 0) {
        fprintf(stderr, "test_kat: %s: the call failed\n", c->name);
        exit(1);
    }
    digest g = {fnv16(FNV_INIT, y, c->rows * ys), 0, fnv(FNV_INIT, rstd, c->rows)};
    g.mean = c->op == OP_LN ? fnv(FNV_INIT, mean, c->rows) : 0;
    free(x);
    free(y);
    free(w16);
    free(b16);
    free(mean);
    free(rstd);
    return g;
}

static digest run_case(const norm_dsp *d, const kcase *c, const inputs *in)
{
    if (c->x16)
        return run_x16_case(d, c, in);
    size_t ys = c->dim + c->ypad;
    float *y = malloc(c->rows * ys * sizeof(float));
    const size_t nst = c->op == OP_GN      ? c->rows * c->groups
                       : c->op == OP_GATED ? c->rows * (c->dim / c->groups)
                                           : c->rows;
    float *mean = malloc(nst * sizeof(float)), *rstd = malloc(nst * sizeof(float));
    if (!y || !mean || !rstd) {
        fprintf(stderr, "test_kat: out of memory\n");
        exit(2);
    }
    for (size_t i = 0; i < c->rows * ys; i++)
        y[i] = -1.5f;
    for (size_t r = 0; r < nst; r++)
        mean[r] = rstd[r] = -2.5f;
    double *sums = malloc(2 * (nst > c->rows ? nst : c->rows) * sizeof(double));
    float *h = malloc(c->rows * ys * sizeof(float));
    if (!sums || !h) {
        fprintf(stderr, "test_kat: out of memory\n");
        exit(2);
    }
    norm_job j = {y,
                  in->x,
                  c->use_w ? in->w : NULL,
                  c->use_b ? in->b : NULL,
                  c->rows,
                  c->dim,
                  in->xs,
                  ys,
                  eps_val[c->eps_i],
                  c->op == OP_LN ? mean : NULL,
                  rstd, c->op == OP_RMSB ? sums : NULL, c->op == OP_L2 ? NORM_KIND_L2 : NORM_KIND_RMS,
                  in->dz, c->wplus, 0};
    for (size_t i = 0; i < c->rows * ys; i++)
        h[i] = -1.5f;
    if (c->op == OP_L2)
        j.w = NULL;
    if (c->op == OP_GATED) {
        libnorm_opts o = LIBNORM_OPTS_INIT;
        o.x_stride = in->xs;
        o.y_stride = ys;
        o.rstd = rstd;
        o.flags = c->plus_one ? 1u : 0u; /* (1 + w) */
        if (norm_gated_call(d, y, in->x, in->z, j.w, c->rows, c->dim, c->groups, c->gate, j.eps,
                            &o, sums) != 0) {
            fprintf(stderr, "test_kat: %s: the gated call failed\n", c->name);
            exit(1);
        }
    } else if (c->op == OP_GN) {
        libnorm_opts o = LIBNORM_OPTS_INIT;
        o.x_outer_stride = in->xs;
        o.y_outer_stride = ys;
        o.mean = mean;
        o.rstd = rstd;
        o.flags = c->wplus ? LIBNORM_WEIGHT_PLUS_ONE : 0u;
        if (norm_groupnorm_call(d, y, in->x, j.w, c->use_b ? in->b : NULL, c->rows, c->chans,
                                c->dim / c->chans, c->groups, j.eps, &o, NULL) != 0) {
            fprintf(stderr, "test_kat: %s: the group norm call failed\n", c->name);
            exit(1);
        }
    } else if (c->op == OP_ADDLN || c->op == OP_ADDRMS) {
        libnorm_opts o = LIBNORM_OPTS_INIT;
        o.x_stride = in->xs;
        o.y_stride = ys;
        o.mean = c->op == OP_ADDLN ? mean : NULL;
        o.rstd = rstd;
        o.flags = c->wplus ? LIBNORM_WEIGHT_PLUS_ONE : 0u;
        if (norm_add_call(d, c->op == OP_ADDLN ? NORM_OP_LN : NORM_OP_RMS, y, h, in->x, in->dz,
                          j.w, j.b, c->rows, c->dim, j.eps, &o, NULL) != 0) {
            fprintf(stderr, "test_kat: %s: the add + norm call failed\n", c->name);
            exit(1);
        }
    } else {
        (c->op == OP_LN    ? d->layernorm_f32
         : c->op == OP_RMSB ? d->rmsnorm_back_f32
                            : d->rmsnorm_f32)(&j);
    }
    digest g = {FNV_INIT, FNV_INIT, FNV_INIT};
    for (size_t r = 0; r < c->rows; r++)
        g.y = fnv(g.y, y + r * ys, ys); /* the row and its stride gap (which must stay -1.5) */
    g.mean = c->op == OP_LN || c->op == OP_GN || c->op == OP_ADDLN ? fnv(g.mean, mean, nst) : 0;
    if (c->op == OP_ADDLN || c->op == OP_ADDRMS) /* then h, rows and stride gaps */
        for (size_t r = 0; r < c->rows; r++)
            g.mean = fnv(g.mean ? g.mean : FNV_INIT, h + r * ys, ys);
    if (c->op == OP_RMSB || c->op == OP_GATED) /* the "mean" digest of RMSNorm backward: its
                             totals sxx, sxdz; of gated RMSNorm: each group's s2 (the 64 bits of
                             each double, as two 32-bit words); a non-finite total as 0 (its
                             value is left open, NORM_SUMS in norm_internal.h) */
        for (size_t k = 0; k < (c->op == OP_RMSB ? 2 * c->rows : nst); k++) {
            double v = isfinite(sums[k]) ? sums[k] : 0.0;
            uint64_t u;
            memcpy(&u, &v, 8);
            uint32_t w2[2] = {(uint32_t)u, (uint32_t)(u >> 32)};
            float f2[2];
            memcpy(f2, w2, 8);
            g.mean = fnv(g.mean, f2, 2);
        }
    g.rstd = fnv(g.rstd, rstd, nst);
    free(y);
    free(mean);
    free(rstd);
    free(sums);
    free(h);
    return g;
}

/* Coverage of the step family: rows whose ratio mlo^2/var (after the first pass 2, from an
 * independent double computation) lies within (0.2, 0.25] and (0.25, 0.3], the rows that a
 * threshold of 0.2 or 0.3 would treat differently. */
static void step_coverage(const kcase *c, const inputs *in, size_t *below, size_t *above)
{
    for (size_t r = 0; r < c->rows; r++) {
        const float *x = in->x + r * in->xs;
        size_t n = c->dim, k = norm_ln_probe(n);
        double s0 = 0, s1 = 0, s2 = 0;
        for (size_t i = 0; i < k; i++)
            s0 += (double)x[i] - (double)x[0];
        double m0 = (double)(float)((double)x[0] + s0 / (double)k);
        for (size_t i = 0; i < n; i++) {
            double d = (double)x[i] - m0;
            s1 += d;
            s2 += d * d;
        }
        double ml = s1 / (double)n, var = s2 / (double)n - ml * ml, q = ml * ml / var;
        if (q > 0.2 && q <= 0.25)
            ++*below;
        else if (q > 0.25 && q <= 0.3)
            ++*above;
    }
}

/* ---- the committed digests: `test_kat --print` writes this table ---- */
typedef struct kat_entry {
    const char *name;
    uint64_t y, mean, rstd;
} kat_entry;

static const kat_entry kat_table[] = {
#include "test_kat_table.h"
};

static const kat_entry *lookup(const char *name)
{
    for (size_t i = 0; i < sizeof kat_table / sizeof kat_table[0]; i++)
        if (strcmp(kat_table[i].name, name) == 0)
            return &kat_table[i];
    return NULL;
}

int main(int argc, char **argv)
{
    int print = 0, verbose = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--print") == 0)
            print = 1;
        else if (strcmp(argv[i], "--verbose") == 0 || strcmp(argv[i], "-v") == 0)
            verbose = 1;
        else {
            fprintf(stderr, "usage: test_kat [--print] [--verbose]\n");
            return 2;
        }
    }
    build_cases();
    norm_dsp tabs[NORM_TIER_COUNT];
    int have[NORM_TIER_COUNT], ntiers = 0;
    for (int t = 0; t < NORM_TIER_COUNT; t++) {
        have[t] = norm_dsp_init(&tabs[t], t) == 0;
        ntiers += have[t];
    }
    if (!print) {
        printf("test_kat: %zu cases, %zu committed digests; tiers:", ncases,
               sizeof kat_table / sizeof kat_table[0]);
        for (int t = 0; t < NORM_TIER_COUNT; t++)
            if (have[t])
                printf(" %s", tabs[t].name);
        printf("\n");
    }
    if (print)
        printf("/* Generated by `test_kat --print` (tests/test_kat.c): the committed known-answer\n"
               " * digests {case, y, mean, rstd}. Regenerate only for an intended change of the\n"
               " * arithmetic, and re-measure the README's accuracy table with it. */\n");
    size_t fails = 0, disagree = 0, missing = 0, cov_below = 0, cov_above = 0;
    for (size_t ci = 0; ci < ncases; ci++) {
        const kcase *c = &cases[ci];
        inputs in = make_inputs(c);
        if (c->fam == F_STEP)
            step_coverage(c, &in, &cov_below, &cov_above);
        digest ref = run_case(&tabs[NORM_TIER_SCALAR], c, &in);
        const kat_entry *e = lookup(c->name);
        if (print)
            printf("    {\"%s\", 0x%016llxull, 0x%016llxull, 0x%016llxull},\n", c->name,
                   (unsigned long long)ref.y, (unsigned long long)ref.mean,
                   (unsigned long long)ref.rstd);
        else if (!e) {
            printf("  MISSING %s: no committed digest (run test_kat --print)\n", c->name);
            missing++;
        }
        for (int t = 0; t < NORM_TIER_COUNT; t++) {
            if (!have[t])
                continue;
            digest g = t == NORM_TIER_SCALAR ? ref : run_case(&tabs[t], c, &in);
            if (g.y != ref.y || g.mean != ref.mean || g.rstd != ref.rstd) {
                fprintf(print ? stderr : stdout,
                        "  TIERS DISAGREE %s: %s differs from scalar in%s%s%s (checkasm will say "
                        "where)\n",
                        c->name, tabs[t].name, g.y != ref.y ? " y" : "",
                        g.mean != ref.mean ? " mean" : "", g.rstd != ref.rstd ? " rstd" : "");
                disagree++;
            }
            if (!print && e && (g.y != e->y || g.mean != e->mean || g.rstd != e->rstd)) {
                printf("  FAIL %s [%s]:%s%s%s differ from the committed digests\n", c->name,
                       tabs[t].name, g.y != e->y ? " y" : "", g.mean != e->mean ? " mean" : "",
                       g.rstd != e->rstd ? " rstd" : "");
                fails++;
            } else if (verbose && !print && e)
                printf("  ok %s [%s]\n", c->name, tabs[t].name);
        }
        free_inputs(&in);
    }
    if (print)
        return disagree ? 1 : 0;
    if (verbose)
        printf("test_kat: step rows with ratio in (0.2, 0.25]: %zu, in (0.25, 0.3]: %zu\n",
               cov_below, cov_above);
    printf("test_kat: %zu cases x %d tiers: %zu differ from the committed digests, %zu missing, "
           "%zu tier disagreements%s\n",
           ncases, ntiers, fails, missing, disagree,
           fails || missing ? "\n  (an intended arithmetic change: see the comment at the top of "
                              "tests/test_kat.c)"
                            : "");
    return fails || missing || disagree ? 1 : 0;
}
