/*
 * libnorm — LayerNorm and RMSNorm kernels for CPU inference engines.
 *
 * One header, one prefix. Every function is stateless, thread-safe and allocation-free. The
 * library detects the CPU once at load time and binds each entry point to the best kernel it has
 * (scalar, AVX2, AVX-512 or NEON). Every tier produces bit-identical output (see README.md,
 * "Numerics").
 *
 * Semantics (all tiers):
 *   LayerNorm: mean = sum(x)/dim, var = sum((x-mean)^2)/dim (population variance, computed around
 *              the mean), rstd = 1/sqrt(var+eps), y = (x-mean)*rstd*w + b.
 *   RMSNorm:   rstd = 1/sqrt(sum(x^2)/dim + eps), y = x*rstd*w.
 *   L2 norm:   s = 1/max(sqrt(sum(x^2)), eps) (eps clamps, as ggml's GGML_OP_L2_NORM), y = x*s.
 *   GroupNorm: each (batch, group of channels) is one LayerNorm row (no weight), then the
 *              per-channel affine y = fma(t, w[c], b[c]) (libnorm_groupnorm_f32_ex).
 *   weight == NULL means w = 1; bias == NULL means b = 0. With LIBNORM_WEIGHT_PLUS_ONE in
 *   opts->flags the weight factor is (float)(1.0f + w) (Gemma; see below).
 *   Residual add + norm (0.4): h = x + r (float), y = norm(h) (libnorm_add_*norm_f32_ex).
 *
 * Accuracy (tests/accuracy): |y - y_exact| <= 8·FLT_EPSILON·max(1, |y_exact|, |w|·max(1, |x̂|)),
 *   x̂ the exact normalized value (x-mean)·rstd (RMSNorm: x·rstd): x̂ is computed to about
 *   FLT_EPSILON·max(1, |x̂|) (float sums and a rounded mean), which the weight scales. mean within
 *   8·FLT_EPSILON·max(|mean|, σ), rstd within 8·FLT_EPSILON·rstd (σ = sqrt(var)).
 *
 * Edge semantics:
 *   - A constant row under LayerNorm gives exactly bias (0 without bias), also with eps = 0;
 *     dim == 1 is such a row.
 *   - An all-zero row under RMSNorm gives zeros, also with eps = 0.
 *   - NaN or Inf anywhere in a row makes that row's whole output NaN (and its mean/rstd NaN);
 *     every other row is computed as if it were alone.
 *   - Finite input never produces Inf or NaN through overflow or underflow of the sums: such rows
 *     are recomputed in double internally (the same code on every tier). Denormal inputs are
 *     handled.
 *   - rows == 0 succeeds and does nothing.
 *
 * Errors: a negative status, and no output is touched (see enum libnorm_status).
 */
#ifndef LIBNORM_H
#define LIBNORM_H

#include <stddef.h>
#include <stdint.h>

#define LIBNORM_VERSION_MAJOR 0
#define LIBNORM_VERSION_MINOR 5
#define LIBNORM_VERSION_PATCH 0
#define LIBNORM_VERSION_STRING "0.5.0"
/* (major << 16) | (minor << 8) | patch, comparable with libnorm_version(). */
#define LIBNORM_VERSION \
    ((LIBNORM_VERSION_MAJOR << 16) | (LIBNORM_VERSION_MINOR << 8) | LIBNORM_VERSION_PATCH)

#if defined(_WIN32)
#define LIBNORM_API
#elif defined(__GNUC__)
#define LIBNORM_API __attribute__((visibility("default")))
#else
#define LIBNORM_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes: 0 is success, every error is negative. */
enum libnorm_status {
    LIBNORM_OK = 0,
    LIBNORM_ENULL = -1,     /* y or x is NULL (add_*: y, x or r; rmsnorm_back: dx, dz or x) */
    LIBNORM_EDIM = -2,      /* dim == 0 */
    LIBNORM_EEPS = -3,      /* eps is negative, NaN or Inf */
    LIBNORM_EOVERLAP = -4,  /* y overlaps x (other than exactly in place), weight, bias, mean or
                               rstd; or mean and rstd overlap each other or an input */
    LIBNORM_ESTRIDE = -5,   /* a row stride smaller than dim (group norm: a channel stride other
                               than spatial, or a batch stride below channels * spatial) */
    LIBNORM_EOPTS = -6,     /* options: size below LIBNORM_OPTS_MIN_SIZE, a flag bit other than
                               the LIBNORM_WEIGHT_* ones below, reserved not 0, or ith >= nth
                               (ith != 0 when nth is 0 or 1); group norm: outer other than 0
                               or 1 */
    LIBNORM_ESIZE = -7,     /* rows * stride (or outer * rows, or an outer extent) does not fit
                               in the address space */
    LIBNORM_EALIGN = -8,    /* a pointer (y, x, weight, bias, mean, rstd) is not aligned to
                               its element type: float 4 bytes, bf16/f16 (uint16_t) 2 */
    LIBNORM_EGATE = -9      /* (0.4) gated RMSNorm: gate is not one of enum libnorm_gate */
};

/*
 * Which checks every entry point makes, in this order (the first that fails is returned, and no
 * output is touched): options (EOPTS); y and x not NULL (ENULL); every pointer float-aligned
 * (EALIGN); dim > 0 (EDIM); eps finite and >= 0 (EEPS); row strides >= dim (ESTRIDE). Then
 * rows == 0 returns LIBNORM_OK and does nothing (opts->outer == 0 means 1, never "no rows");
 * otherwise the extents must fit the address space (ESIZE) and no output may overlap an input or
 * another output (EOVERLAP). So rows == 0 with a NULL y or dim == 0 is still an error.
 *
 * Two-level layouts (opts->outer > 1): an outer stride may be any value. Groups of INPUT rows may
 * overlap each other (x is only read). The rows of y must be pairwise disjoint, or the call is
 * LIBNORM_EOVERLAP: this is decided exactly when the groups do not interleave (outer stride at
 * least the group's extent) or interleave in whole row slots (one stride a multiple of the other,
 * large enough), and conservatively (EOVERLAP) for other interleavings. Overlap between the sets
 * (x, y, weight, bias, mean, rstd) is exact; y == x with equal row and outer strides is in place.
 */

/*
 * Options for the extended entry points. Start from the initializer, then set what you need:
 *     libnorm_opts o = LIBNORM_OPTS_INIT;
 * `size` is sizeof(libnorm_opts) as the caller's header knew it. The library reads only the
 * first `size` bytes: a field beyond them takes its zero meaning, so a caller built against an
 * older (shorter) header keeps working. `size` below LIBNORM_OPTS_MIN_SIZE (the struct of
 * version 0.1, up to `flags`) is LIBNORM_EOPTS; a larger size than this header's is accepted
 * (the caller's header is newer; fields this library does not know are not read).
 *
 * Rules for appending fields (the ABI): fields are only ever appended; every field's zero value
 * means the behaviour of the versions before it; the struct never has padding, inside or at the
 * tail (bytes a caller may leave indeterminate must never become a field later), so fields are
 * appended in groups that end on an 8-byte boundary, with an explicit `reserved` member (must be
 * 0) where a group would leave a hole; the library reads a field only when `size` covers it.
 */
typedef struct libnorm_opts {
    size_t size;        /* sizeof(libnorm_opts) as the caller knows it */
    /* Row strides in FLOATS (elements, not bytes: ggml's nb1 is bytes, pass nb1 / 4), between the
     * starts of consecutive rows; 0 means dim. */
    size_t x_stride;
    size_t y_stride;
    /* Row split for the engine's own thread pool (the library owns no threads), as ggml passes
     * ith/nth: with nth > 1 the rows (all outer * rows of them, numbered t below) are cut into nth contiguous chunks of rows/nth rows, the
     * first rows%nth chunks one row longer, and this call computes chunk ith only. nth = 0 or 1
     * computes all rows (ith must then be 0). Argument checks always cover the whole tensor (every thread gets the
     * same status), and in-place (y == x) needs x_stride == y_stride. */
    unsigned ith;
    unsigned nth;
    /* Optional per-row outputs, indexed by absolute row t (0 .. outer*rows - 1), dim-independent:
     * mean[r] (LayerNorm only: RMSNorm ignores the field, neither checks nor writes it) and
     * rstd[r] = 1/sqrt(var + eps) (RMSNorm: 1/sqrt(mean(x^2) + eps)); the rstd of a constant row
     * with eps = 0 is +Inf. */
    float *mean;
    float *rstd;
    unsigned flags;     /* LIBNORM_WEIGHT_* bits (0.4); any other bit set is LIBNORM_EOPTS */
    unsigned reserved;  /* must be 0 (closes what was tail padding in 0.1) */
    /* (0.3) A second level of rows: the call covers `outer` groups of `rows` rows (0 means 1).
     * Row r of group o starts at x + o * x_outer_stride + r * x_stride (y likewise); outer
     * strides in floats, 0 means rows * (row stride). Rows are numbered t = o * rows + r
     * (0 .. outer*rows - 1): the ith/nth split cuts that sequence, and mean/rstd are indexed by
     * t. A ggml_view_3d (ne0 = dim, ne1 = rows, ne2 = outer, nb1/4, nb2/4) is one call.
     * A 0.2 caller's struct ends before these fields: they then take their zero meaning. */
    size_t outer;
    size_t x_outer_stride;
    size_t y_outer_stride;
} libnorm_opts;

/* (0.4) opts->flags bits. Any other bit set: LIBNORM_EOPTS.
 * LIBNORM_WEIGHT_PLUS_ONE: the weight factor is wf = (float)(1.0f + w[i]) -- one float addition,
 *   rounded once, as Gemma 1-3's reference computes (1 + w) -- used exactly where w is used
 *   otherwise: RMSNorm y = (x * rstd) * wf; LayerNorm y = fmaf(t, wf, b) (the bias is not
 *   offset); group norm y = fmaf(t, wf[c], b[c]). It applies to every entry point that takes a
 *   weight (layernorm, rmsnorm, groupnorm, add_layernorm, add_rmsnorm); weight == NULL still
 *   means the factor 1 (not 2). Entry points without a weight (l2norm, rmsnorm_back) accept and
 *   ignore it.
 * LIBNORM_WEIGHT_ACT_TYPE: for entry points whose activations are not float (bf16/f16): weight
 *   (and bias) are in the activation type, not float. It has no effect on the f32 entry points
 *   (accepted and ignored). */
#define LIBNORM_WEIGHT_PLUS_ONE 0x1u
#define LIBNORM_WEIGHT_ACT_TYPE 0x2u

#define LIBNORM_OPTS_INIT { sizeof(libnorm_opts), 0, 0, 0, 0, NULL, NULL, 0, 0, 0, 0, 0 }
/* The smallest `size` accepted: the 0.1 struct, through `flags`. */
#define LIBNORM_OPTS_MIN_SIZE (3 * sizeof(size_t) + 2 * sizeof(unsigned) + 2 * sizeof(float *) + \
                               sizeof(unsigned))

/* y[r][i] = LayerNorm(x[r])[i] for r < rows, i < dim. Rows are contiguous (stride dim).
 * y == x (exactly in place) is allowed.
 * Returns LIBNORM_OK, ENULL, EALIGN, EDIM, EEPS, ESIZE or EOVERLAP (the _ex forms also EOPTS
 * and ESTRIDE), in the order of the checks above. */
LIBNORM_API int libnorm_layernorm_f32(float *y, const float *x, const float *weight,
                                      const float *bias, size_t rows, size_t dim, float eps);

/* y[r][i] = RMSNorm(x[r])[i]. y == x is allowed. */
LIBNORM_API int libnorm_rmsnorm_f32(float *y, const float *x, const float *weight, size_t rows,
                                    size_t dim, float eps);

/* Extended forms: strides, a row split, per-row statistics. opts may be NULL (= defaults). */
LIBNORM_API int libnorm_layernorm_f32_ex(float *y, const float *x, const float *weight,
                                         const float *bias, size_t rows, size_t dim, float eps,
                                         const libnorm_opts *opts);
LIBNORM_API int libnorm_rmsnorm_f32_ex(float *y, const float *x, const float *weight, size_t rows,
                                       size_t dim, float eps, const libnorm_opts *opts);

/* (0.3) RMSNorm backward, ggml's GGML_OP_RMS_NORM_BACK: dx for y = x * rstd (no weight: ggml
 * applies the weight in a separate MUL), given dz = dL/dy. Per row, with n = dim:
 *   sxx = sum x^2, sxdz = sum x*dz (the canonical double totals, as RMSNorm's),
 *   r = (float)(1/sqrt(sxx/n + eps))        (RMSNorm's rstd, bit for bit),
 *   c = (float)(-sxdz / (sxx + eps*n))      (in double, rounded once),
 *   dx = fmaf(x, c, dz) * r.
 * Rows the float sums cannot take (non-finite x or dz, sxx below 2^-64 or overflowing, c beyond
 * float range or subnormal) are computed in double, the same code on every tier. NaN or Inf in x or dz makes
 * the row's dx and rstd NaN; an all-zero x row with eps = 0 has no gradient (dx NaN, as the
 * formula gives, and rstd +Inf); with eps > 0 it gives dz * r. Where |dz + x*c| exceeds FLT_MAX
 * the float fmaf gives +/-Inf even if r < 1 would bring dx back into range (as ggml's float
 * formula); and where the formula's terms |dz|·r or |x·c|·r are beyond FLT_MAX, their
 * cancellation leaves a residue that may round to +/-Inf (the error allowance below then
 * exceeds FLT_MAX too).
 * Accuracy (tests/accuracy/test_accuracy_back.c, against MPFR): |dx - dx_exact| <=
 *   8·FLT_EPSILON·max(|dx_exact|, |dz|·r, |x|·r·(sum|x·dz| + n·FLT_MIN)/(sxx + eps·n),
 *   max(1, r)·FLT_MIN), r and the sums exact. No absolute floor of 1: dx is linear in dz. The
 *   sum|x·dz| term is the conditioning of sxdz (its float leaves x*dz are rounded, and the sum
 *   may cancel); the FLT_MIN terms cover subnormal leaves, intermediates and results. rstd is
 *   within 8·FLT_EPSILON of the exact r. An exact dx beyond float range gives the Inf of its
 *   sign.
 * Layout: dz and x use opts->x_stride (and x_outer_stride), dx opts->y_stride (and
 * y_outer_stride); ggml passes equal layouts. Two-level rows (opts->outer) and the ith/nth split
 * apply as to libnorm_rmsnorm_f32_ex (row t = o * rows + r);
 * opts->rstd[t] receives r, opts->mean is ignored. dx == dz (exactly, equal strides) is allowed
 * in place (and equal outer strides); any other overlap of dx or rstd with dz or x is
 * LIBNORM_EOVERLAP. Checks as above,
 * in that order: EOPTS; ENULL (dx, dz, x); EALIGN; EDIM; EEPS; ESTRIDE; rows == 0 is OK; ESIZE;
 * EOVERLAP. */
LIBNORM_API int libnorm_rmsnorm_back_f32_ex(float *dx, const float *dz, const float *x,
                                            size_t rows, size_t dim, float eps,
                                            const libnorm_opts *opts);

/* L2 normalisation (ggml GGML_OP_L2_NORM semantics: eps clamps, it is not added):
 * y[r][i] = x[r][i] * s, s = 1 / max(sqrt(sum_i x[r][i]^2), eps), the sum the canonical RMSNorm
 * total of squares (double), s rounded to float once. opts->rstd[t] receives s (opts->mean is
 * ignored: neither checked nor written). An all-zero row gives zeros (s = 1/eps, +Inf when
 * eps = 0); a row with NaN or Inf gives NaN. y == x is allowed. All opts fields apply. */
LIBNORM_API int libnorm_l2norm_f32_ex(float *y, const float *x, size_t rows, size_t dim,
                                      float eps, const libnorm_opts *opts);

/* Group normalisation (ggml GGML_OP_GROUP_NORM semantics, plus an optional per-channel affine).
 * x is [batch][channels][spatial] floats. Channels are cut into `groups` groups of
 * cpg = ceil(channels / groups) channels (the last group may be shorter, as in ggml; a group
 * with no channel is empty: nothing is written for it in y, and its mean and rstd are NaN). Each
 * (batch, group) is normalised as ONE LayerNorm row of spatial * (channels in group) elements
 * (the canonical LayerNorm order over that contiguous run; eps inside the sqrt), then
 * y = fmaf(t, weight[c], bias[c]) per channel c when weight or bias is given (NULL: 1 / 0;
 * both NULL: y = t). Strides: opts->x_stride / y_stride are the CHANNEL strides in floats and
 * must be 0 or spatial (groups must be contiguous; otherwise LIBNORM_ESTRIDE);
 * opts->x_outer_stride / y_outer_stride are the batch strides (0: channels * spatial; nonzero
 * and below channels * spatial: LIBNORM_ESTRIDE). opts->outer must be 0 or 1 (LIBNORM_EOPTS;
 * the batch count is the `batch` argument). The ith/nth split cuts the batch * groups units
 * (unit u = b * groups + g); mean/rstd (if given) are indexed by u. EDIM: channels, spatial or
 * groups is 0. batch == 0 succeeds and does nothing. weight and bias are `channels` floats.
 * y == x (with equal batch strides) is allowed. */
LIBNORM_API int libnorm_groupnorm_f32_ex(float *y, const float *x, const float *weight,
                                         const float *bias, size_t batch, size_t channels,
                                         size_t spatial, size_t groups, float eps,
                                         const libnorm_opts *opts);

/* (0.4) bf16 and f16 activations. x and y are bf16 or f16 values passed as their bit patterns
 * in uint16_t (ggml_bf16_t / ggml_fp16_t bits, torch's storage); weight and bias are float, or
 * with opts->flags & LIBNORM_WEIGHT_ACT_TYPE uint16_t values of the activation type;
 * LIBNORM_WEIGHT_PLUS_ONE makes the factor (float)(1.0f + w[i]) (weight NULL: factor 1).
 * Exactly:
 *   1. every input is widened to float exactly (bf16: the bits shifted up 16; f16: exact,
 *      subnormals included);
 *   2. the float result is what libnorm_layernorm_f32_ex / libnorm_rmsnorm_f32_ex compute on the
 *      widened x, weight and bias, bit for bit (the same canonical order, every tier);
 *   3. it is rounded once to the output type, round-to-nearest-even: y = round16(f32 op).
 * So the accuracy is the f32 op's plus the final rounding: the correctly rounded 16-bit value or
 * its neighbour. A NaN result is written as the quiet NaN 0x7fc0 (bf16) / 0x7e00 (f16), on every
 * tier. A result beyond the type's range rounds to +/-Inf: that is the only Inf a finite input
 * can produce. bf16 has float's range; f16's largest finite value is 65504, and results of
 * magnitude 65520 or more become Inf (LayerNorm's normalized values are at most sqrt(dim) in
 * magnitude before the weight, so it is the weight and bias that decide).
 * mean/rstd (opts) are floats, as for the f32 ops. Strides are in elements. y == x exactly (same
 * strides) is in place; every other overlap is LIBNORM_EOVERLAP. Checks, in the order above:
 * EOPTS (flags other than the two above), ENULL (y, x), EALIGN (x, y and 16-bit weight/bias to
 * 2 bytes; float weight/bias, mean, rstd to 4), EDIM, EEPS, ESTRIDE, rows == 0 is OK, ESIZE,
 * EOVERLAP. Two-level rows and the ith/nth split as for the f32 ops. */
LIBNORM_API int libnorm_layernorm_bf16_ex(uint16_t *y, const uint16_t *x, const void *weight,
                                          const void *bias, size_t rows, size_t dim, float eps,
                                          const libnorm_opts *opts);
LIBNORM_API int libnorm_rmsnorm_bf16_ex(uint16_t *y, const uint16_t *x, const void *weight,
                                        size_t rows, size_t dim, float eps,
                                        const libnorm_opts *opts);
LIBNORM_API int libnorm_layernorm_f16_ex(uint16_t *y, const uint16_t *x, const void *weight,
                                         const void *bias, size_t rows, size_t dim, float eps,
                                         const libnorm_opts *opts);
LIBNORM_API int libnorm_rmsnorm_f16_ex(uint16_t *y, const uint16_t *x, const void *weight,
                                       size_t rows, size_t dim, float eps,
                                       const libnorm_opts *opts);
/* (0.4) Residual add + norm, fused: per row t and element i,
 *   h[t][i] = x[t][i] + r[t][i]          (one float addition, rounded once; where x[t][i] is
 *                                         a NaN, h is that NaN quieted, so which NaN a sum of
 *                                         two NaNs gives is the same on every tier)
 *   y[t]    = RMSNorm(h[t]) or LayerNorm(h[t]), exactly the plain norm of that h
 * so y is bit for bit what libnorm_rmsnorm_f32_ex / libnorm_layernorm_f32_ex give on the h
 * written (every tier). h is written when h != NULL (the next block's residual); h == NULL: h is
 * not written (y still is the norm of x + r). x and r are read once.
 * Layout: x and r use opts->x_stride / x_outer_stride; h and y use y_stride / y_outer_stride.
 * Two-level rows, the ith/nth split, mean (LayerNorm only) and rstd per row t, and the flags
 * (LIBNORM_WEIGHT_PLUS_ONE) as for the plain norms.
 * In place: h may be x or r exactly (the same pointer, and the strides equal), and y may be x or
 * r exactly; y == h, and any other overlap (an output with an input, h with y, mean or rstd with
 * anything), is LIBNORM_EOVERLAP. Inputs may overlap each other.
 * Checks, in this order: EOPTS; ENULL (y, x or r NULL); EALIGN (every pointer, h included);
 * EDIM; EEPS; ESTRIDE; rows == 0 is OK; ESIZE; EOVERLAP. */
LIBNORM_API int libnorm_add_rmsnorm_f32_ex(float *y, float *h, const float *x, const float *r,
                                           const float *weight, size_t rows, size_t dim,
                                           float eps, const libnorm_opts *opts);
LIBNORM_API int libnorm_add_layernorm_f32_ex(float *y, float *h, const float *x, const float *r,
                                             const float *weight, const float *bias, size_t rows,
                                             size_t dim, float eps, const libnorm_opts *opts);
/* (0.4) Gated RMSNorm (Mamba-2's RMSNormGated, Qwen3-Next's gated norm): a gate z laid out as x
 * multiplies the norm's output (AFTER) or its input (BEFORE). */
enum libnorm_gate {
    LIBNORM_GATE_SILU_AFTER = 0,   /* y = rmsnorm(x) * wf * silu(z)   (Mamba-2 norm_before_gate) */
    LIBNORM_GATE_SILU_BEFORE = 1,  /* y = rmsnorm(x * silu(z)) * wf   (Mamba-2 gate first)       */
    LIBNORM_GATE_SIGMOID_AFTER = 2 /* y = rmsnorm(x) * wf * sigmoid(z)                           */
};

/* (0.4) Gated RMSNorm. Each row of dim floats is cut into dim / group groups of `group`
 * consecutive elements (group 0 means dim; dim % group != 0 is LIBNORM_EDIM); each group is
 * normalised on its own with its slice of the weight, weight[g*group .. (g+1)*group - 1]
 * (weight: dim floats, NULL means the factor 1). The exact arithmetic, every operation rounded
 * in float unless said otherwise (the same bits on every tier):
 *   e = expf(-z)        SLEEF's expf u10 in its FMA form (the scalar tier: the same algorithm in
 *                       C with exact fmaf, so a CPU without FMA gives the same bits), within 1 ulp
 *                       of e^-z; z < -100 gives +Inf, z > 104 gives +0;
 *   d = 1.0f + e;  sigmoid(z) = 1.0f / d;  silu(z) = z / d;
 *   wf = weight[i]      (with opts->flags bit 0x1, Gemma's (1 + w): wf = 1.0f + weight[i]);
 *   SILU_AFTER, SIGMOID_AFTER: rstd = (float)(1/sqrt(S/group + eps)), S the canonical double
 *       total of squares of x over the group (RMSNorm's, the group as the row);
 *       y = ((x * rstd) * wf) * g,  g = silu(z) or sigmoid(z);
 *   SILU_BEFORE: u = x * silu(z); rstd from the canonical total of squares of u;
 *       y = (u * rstd) * wf.
 * Without a weight the "* wf" is left out. Groups whose total of squares is not finite or below
 * 2^-64 are computed in double (t = v * rstd * wf with v = x or u, rounded once, then AFTER
 * t * g in float), the same code on every tier; a non-finite x (AFTER) or u (BEFORE) in a group
 * makes that group's y and rstd NaN. Every NaN written to y is the quiet NaN 0x7fc00000 (NAN),
 * whatever NaN the inputs carried (x86 and AArch64 make different NaNs, e.g. for silu(-Inf)), so
 * the output bits are the same on every CPU. Edge values of z (the formulas, as PyTorch's silu and
 * sigmoid): z = +Inf gives sigmoid 1, silu +Inf; z = -Inf gives sigmoid 0 and silu NaN
 * (-Inf / Inf); z NaN gives NaN; large finite |z| is handled (silu(z) is z itself once
 * 1 + e rounds to 1, z > 16.7, and -0 once e overflows to +Inf, z < -88.72). An AFTER gate touches only its own element; BEFORE puts
 * u = x * silu(z) into the group's sum, so a NaN or Inf u turns the whole group NaN. The
 * order is the formula's: where (x * rstd) * wf is beyond float range (|w| near FLT_MAX) it is
 * +-Inf before the gate multiplies it, even if g would bring y back into range.
 * Accuracy (tests/accuracy, against MPFR): |y - y_exact| <= 8·FLT_EPSILON·max(1, |y_exact|,
 * |w|·max(1,|x̂|)·|g|) (BEFORE: g = 1), the gate's exp included; rstd within
 * 8·FLT_EPSILON of exact. Not covered: SILU_BEFORE groups where silu(z) or u = x * silu(z) falls
 * below FLT_MIN (a subnormal float u has lost its relative precision, and u = 0 from underflow
 * drops the element from the group: no float evaluation of the formula keeps it), and gates
 * whose z is below -88.72, where e = expf(-z) overflows and the formula's gate is 0 (silu -0,
 * sigmoid +0) though the exact gate is a tiny nonzero number: the difference shows only with a
 * weight near float's range (|g| < 1e-36 there; found with w = 2^125).
 * Layout: z uses x's strides (x_stride, x_outer_stride), y y_stride / y_outer_stride; two-level
 * rows, the ith/nth split (of the rows t = o * rows + r) and the checks as for
 * libnorm_rmsnorm_f32_ex, in this order: EOPTS; EGATE; ENULL (y, x, z); EALIGN; EDIM (dim 0, or
 * not a multiple of group); EEPS; ESTRIDE; rows == 0 is OK; ESIZE; EOVERLAP. opts->rstd receives
 * outer * rows * (dim / group) floats, rstd[t * (dim / group) + g]; opts->mean is ignored. y may
 * be x or z exactly (in place: the same pointer and strides); any other overlap of y or rstd
 * with an input, or of rstd with y, is LIBNORM_EOVERLAP. x == z is allowed (inputs). */
LIBNORM_API int libnorm_gated_rmsnorm_f32_ex(float *y, const float *x, const float *z,
                                             const float *weight, size_t rows, size_t dim,
                                             size_t group, int gate, float eps,
                                             const libnorm_opts *opts);

/* "scalar", "avx2", "avx512" or "neon": the tier every entry point is bound to. */
LIBNORM_API const char *libnorm_active_isa(void);

/* A static English message for a status code ("unknown status" for others). */
LIBNORM_API const char *libnorm_strerror(int status);

/* LIBNORM_VERSION of the library actually loaded, and its version string. */
LIBNORM_API unsigned libnorm_version(void);
LIBNORM_API const char *libnorm_version_string(void);

#ifdef __cplusplus
}
#endif

#endif /* LIBNORM_H */
