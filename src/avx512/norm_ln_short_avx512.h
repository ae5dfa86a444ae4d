/*
 * LayerNorm's short rows (n <= NORM_LN_SHORT = 128), AVX-512 tier: one row held in registers,
 * the short-row order of norm_internal.h (0.5) bit for bit. Included by layernorm_avx512.c (the
 * job kernel's rows and norm_dsp.layernorm_row_f32) and norm_x16_avx512.c (the bf16 / f16
 * LayerNorm's short rows, widened into a float buffer), after norm_avx512.h.
 *
 * A row of n floats is nv = 1, 2, 4 or 8 leaf rows (nv the smallest power of two with 16 nv >= n,
 * a compile-time constant after inlining). x is loaded once into nv zmm: the first nv / 2 are
 * whole (n > 8 nv), the others zero-masked loads (a leaf row wholly past the row is a mask of 0:
 * nothing read), every subtraction past the row zero-masked too, so the padding leaves are +0
 * AFTER the shift. Then:
 *   pass 1  the probe, the first k = min(n, 32) elements: leaf rows 0 and 1, lane l's sum
 *           (x[l] - x0) + (x[16 + l] - x0) (one leaf row for n <= 16);
 *           s0 = ln_ftot_avx512() of it, m0 = norm_ln_m0(x0, s0, inv_k);
 *   pass 2  d = x - m0 in registers; s1, s2 the float lane totals of the complete pairwise trees
 *           over the nv leaf rows (squares: first level fma(b, b, a*a));
 *   finish  norm_ln_finish(): pass 2 again around m0_next in registers when it asks, the rare
 *           path left to the caller (the f32 or the 16-bit one);
 *   pass 3  y = fma(((x - m0) - mlo) * rstd, w, b) with ordinary (masked) stores.
 * Why the complete tree over nv leaf rows is the canonical pruned tree: the leaf rows it adds are
 * +0, and a pair (a, +0) or (+0, +0) gives a (or a zero) up to the sign of a zero, which cannot
 * reach a float lane total (its last + 0.0f makes every zero +0; a sum is -0 only when every
 * addend is); for squares fma(0, 0, a*a) = a*a exactly (a*a is never -0).
 * Shortcuts, each the same bits as the definition:
 *   - m0 as one fma where inv_k is a power of two (k = 32, or n = 1, 2, 4, 8, 16), and
 *     norm_ln_finish()'s tests as one flag with var as one fmsub where inv_n is a power of two
 *     (n = 1, 2, ..., 128): the x86 helpers of src/x86/norm_ln_row_x86.h, whose header says why
 *     those are exact; other dims take norm_ln_m0() and norm_ln_finish() themselves. A row the
 *     flag does not pass goes through norm_ln_finish() again (pass 2 again, the rare path).
 *   - One row (nr = 1: the row function, a job's rows left over, the 16-bit rows), a shorter
 *     chain: the lane totals without their + 0.0f, where the result cannot tell: s0 is never
 *     -0 (lane 0's leaf is x0 - x0 = +0, and a float sum is -0 only when every addend is),
 *     s2 neither (squares); s1 is -0 only when every leaf is +-0, i.e. s2 = 0, a rare row,
 *     which the flag sends to norm_ln_finish(), after s1 + 0 (other dims, which go there at
 *     once, alike). Where k is a power of two, m0 as one float fma of s0's float total
 *     (norm_ln_row_m0f_x86()), and for n a power of two var as fnmadd(ml, ml, s2 inv_n)
 *     (norm_ln_row_finish_t_x86()): the same bits, see src/x86/norm_ln_row_x86.h. Rows in
 *     groups (nr > 1) keep the + 0 and the double m0 (unchanged; not measured there).
 */
#ifndef NORM_LN_SHORT_AVX512_H
#define NORM_LN_SHORT_AVX512_H

#include "../x86/norm_ln_row_x86.h"

/* The halving adds of one block's lane sums s in float, lanes l and l + 8 (the zmm's 256-bit
 * halves) first, then l + 4, l + 2, l + 1: the lane total before its + 0.0f, in lane 0. */
N5_INLINE __m128 ln_fsum_avx512(__m512 s)
{
    const __m256 a = _mm256_add_ps(_mm512_castps512_ps256(s), _mm512_extractf32x8_ps(s, 1));
    const __m128 b = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    const __m128 c = _mm_add_ps(b, _mm_movehl_ps(b, b));
    return _mm_add_ss(c, _mm_movehdup_ps(c));
}

/* The float lane total of one block's lane sums s (norm_lanes_total_f() with lo = +0): the
 * halving adds, then (z) + 0.0f (the same bits as adding +0 to every lane first: see
 * norm_internal.h), widened exactly to double, in lane 0. Without the + 0 (z = 0: the one-row
 * fast path, see ln_short_avx512()) a total differs only where it is -0. */
N5_INLINE __m128d ln_ftot_avx512(__m512 s, int z)
{
    __m128 d = ln_fsum_avx512(s);
    if (z)
        d = _mm_add_ss(d, _mm_setzero_ps());
    return _mm_cvtss_sd(_mm_setzero_pd(), d);
}

/* Lanes of leaf row k (elements 16 k .. 16 k + 15) inside a row of n. */
N5_INLINE __mmask16 ln_short_mask_avx512(size_t n, int k)
{
    const size_t i = 16 * (size_t)k;
    return n >= i + 16 ? (__mmask16)0xFFFF : n <= i ? (__mmask16)0 : tail_mask_avx512(n - i);
}

/* Pass 2's lane sums of the leaves d = x - m0 (masked past the row) of nv leaf rows: the complete
 * pairwise trees over the leaf rows, the sums to *s1, the squares (first level fma(b, b, a*a)) to
 * *s2, before their lane totals. */
N5_INLINE void ln_short_p2t_avx512(const __m512 *xv, const __mmask16 *mk, __m512 vm0, int nv,
                                   __m512 *s1, __m512 *s2)
{
    __m512 d[8], s[8], q[8];
    for (int k = 0; k < nv; k++)
        d[k] = k < nv / 2 ? _mm512_sub_ps(xv[k], vm0) : _mm512_maskz_sub_ps(mk[k], xv[k], vm0);
    if (nv == 1) {
        s[0] = d[0];
        q[0] = _mm512_mul_ps(d[0], d[0]);
    } else {
        for (int k = 0; k < nv; k += 2) {
            s[k / 2] = _mm512_add_ps(d[k], d[k + 1]);
            q[k / 2] = _mm512_fmadd_ps(d[k + 1], d[k + 1], _mm512_mul_ps(d[k], d[k]));
        }
        for (int w = nv / 2; w > 1; w /= 2) {
            for (int k = 0; k < w; k += 2) {
                s[k / 2] = _mm512_add_ps(s[k], s[k + 1]);
                q[k / 2] = _mm512_add_ps(q[k], q[k + 1]);
            }
        }
    }
    *s1 = s[0];
    *s2 = q[0];
}

/* Pass 2's float lane totals (ln_short_p2t_avx512(), then ln_ftot_avx512(); z: with their
 * + 0.0f). */
N5_INLINE void ln_short_p2_avx512(const __m512 *xv, const __mmask16 *mk, __m512 vm0, int nv,
                                  int z, __m128d *s1, __m128d *s2)
{
    __m512 s, q;
    ln_short_p2t_avx512(xv, mk, vm0, nv, &s, &q);
    *s1 = ln_ftot_avx512(s, z);
    *s2 = ln_ftot_avx512(q, z);
}

/* Pass 1's lane sums of a row in nv leaf rows xv (masks mk) shifted by c = x[0]: the probe, leaf
 * rows 0 and 1 (leaf row 1 is whole for nv >= 4), lane l's (x[l] - x0) + (x[16 + l] - x0). */
N5_INLINE __m512 ln_short_p1t_avx512(const __m512 *xv, const __mmask16 *mk, __m512 c, int nv)
{
    __m512 p = nv == 1 ? _mm512_maskz_sub_ps(mk[0], xv[0], c) : _mm512_sub_ps(xv[0], c);
    if (nv > 1)
        p = _mm512_add_ps(p, nv == 2 ? _mm512_maskz_sub_ps(mk[1], xv[1], c)
                                     : _mm512_sub_ps(xv[1], c));
    return p;
}

/* ---- sixteen rows' float lane totals at once ----
 * norm_lanes_total_f() of the lane sums of 16 rows, the 16 totals in one vector (lane r: row r):
 * the same adds on the same operands (v[l] + v[l + h], h = 8, 4, 2, 1), the rows packed side by
 * side after each step: two rows per vector after h = 8 (ft16_h8), four after h = 4 (a "quad":
 * rows k, k + 4, k + 8, k + 12 for the sums of quad k, in that order), eight after h = 2, sixteen
 * after h = 1 (the quads' rows interleave back to lane r = row r). */
N5_INLINE __m512 ft16_h8_avx512(__m512 a, __m512 b) /* [a_l + a_l+8 | b_l + b_l+8], l < 8 */
{
    return _mm512_add_ps(_mm512_shuffle_f32x4(a, b, 0x44), _mm512_shuffle_f32x4(a, b, 0xEE));
}
N5_INLINE __m512 ft16_h4_avx512(__m512 u, __m512 v) /* 128-bit lanes: (0 + 1, 2 + 3) of u, v */
{
    return _mm512_add_ps(_mm512_shuffle_f32x4(u, v, 0x88), _mm512_shuffle_f32x4(u, v, 0xDD));
}
N5_INLINE __m512 ft16_h2_avx512(__m512 u, __m512 v) /* in each 128-bit lane: l + (l + 2) */
{
    return _mm512_add_ps(_mm512_shuffle_ps(u, v, 0x44), _mm512_shuffle_ps(u, v, 0xEE));
}
N5_INLINE __m512 ft16_h1_avx512(__m512 u, __m512 v) /* in each 128-bit lane: l + (l + 1) */
{
    return _mm512_add_ps(_mm512_shuffle_ps(u, v, 0x88), _mm512_shuffle_ps(u, v, 0xDD));
}
/* The lane sums a[0..3] of rows k, k + 4, k + 8, k + 12 -> quad k (h = 8 and h = 4 done). */
N5_INLINE __m512 ft16_quad_avx512(const __m512 a[4])
{
    return ft16_h4_avx512(ft16_h8_avx512(a[0], a[1]), ft16_h8_avx512(a[2], a[3]));
}
/* Quads 0..3 -> the 16 float lane totals (+ 0.0f: norm_lanes_total_f()), lane r = row r. */
N5_INLINE __m512 ft16_fin_avx512(const __m512 g[4])
{
    const __m512 t = ft16_h1_avx512(ft16_h2_avx512(g[0], g[1]), ft16_h2_avx512(g[2], g[3]));
    return _mm512_add_ps(t, _mm512_setzero_ps());
}

/* nr = 1, 2 or 4 LayerNorm rows of 1 <= n <= NORM_LN_SHORT floats each, in nv = 1, 2, 4, 8 leaf
 * rows (n <= 16 nv, n > 8 nv unless nv = 1): row r at x + r xs, its output at y + r ys, its
 * statistics at mean + r, rstdp + r and sums + 3 r (NULL: none; NORM_SUMS). inv_n = 1.0 / n,
 * inv_k = 1.0 / norm_ln_probe(n). hw: 0 no weight, 1 w, 2 1 + w (wplus); hb: a bias. nr, nv, hw,
 * hb are compile-time constants after inlining. The rows' chains are interleaved in program
 * order (independent work for the out-of-order core; pass 3 loads each weight and bias vector
 * once for the nr rows). Every x is loaded before anything is written (y may be x exactly).
 * Returns 0 with every output written; for nr = 1, 1 for a row the rare path must do (only its
 * sums written); for nr > 1, 2 having written nothing when a row needs more than the first
 * pass 2 (the caller then does the rows one by one). */
N5_INLINE int ln_short_avx512(int nr, float *y, size_t ys, const float *x, size_t xs,
                              const float *w, const float *b, size_t n, float eps, double inv_n,
                              double inv_k, int nv, int hw, int hb, float *mean, float *rstdp,
                              double *sums)
{
    __m512 xv[4][8], c[4], vm0[4];
    __mmask16 mk[8];
    __m128d s0[4], s1[4], s2[4];
    __m128 m0[4];
    for (int k = 0; k < nv; k++)
        mk[k] = k < nv / 2 ? (__mmask16)0xFFFF : ln_short_mask_avx512(n, k);
    for (int r = 0; r < nr; r++) {
        const float *xr = x + (size_t)r * xs;
        for (int k = 0; k < nv; k++)
            xv[r][k] = k < nv / 2 ? _mm512_loadu_ps(xr + 16 * k)
                                  : _mm512_maskz_loadu_ps(mk[k], xr + 16 * k);
        /* c = x[0] in every lane, by a broadcast load (gcc otherwise loads x[0] into an xmm for
         * both uses and broadcasts the register: 2 cycles more on the chain) */
#if defined(NORM_AVX512_EMU)
        c[r] = _mm512_set1_ps(xr[0]);
#else
        __asm__("vbroadcastss %1, %0" : "=v"(c[r]) : "m"(*xr));
#endif
    }
    /* pass 1: the probe, leaf rows 0 and 1 (leaf row 1 is whole for nv >= 4) */
    const size_t k = norm_ln_probe(n);
    const int f1 = nr == 1; /* one row: the shorter chain (see the header comment) */
    for (int r = 0; r < nr; r++) {
        const __m512 p = ln_short_p1t_avx512(xv[r], mk, c[r], nv);
        if (f1 && (k & (k - 1)) == 0) { /* s0 without its + 0, m0 in float */
            const __m128 s0f = ln_fsum_avx512(p);
            s0[r] = _mm_cvtss_sd(_mm_setzero_pd(), s0f);
            m0[r] = norm_ln_row_m0f_x86(s0f, _mm512_castps512_ps128(c[r]), (float)inv_k);
        } else {
            s0[r] = ln_ftot_avx512(p, !f1);
            if ((k & (k - 1)) == 0) /* inv_k = 2^-j */
                m0[r] = norm_ln_row_m0_x86(s0[r], _mm512_castps512_ps128(c[r]), inv_k);
            else
                m0[r] = _mm_set_ss(norm_ln_m0(x[(size_t)r * xs], _mm_cvtsd_f64(s0[r]), inv_k));
        }
        vm0[r] = _mm512_broadcastss_ps(m0[r]);
    }
    /* pass 2 */
    for (int r = 0; r < nr; r++)
        ln_short_p2_avx512(xv[r], mk, vm0[r], nv, !f1, &s1[r], &s2[r]);
    /* the statistics */
    float mlo[4] = {0}, rstd[4] = {0}, mo[4] = {0};
    int ok = (n & (n - 1)) == 0;
    if (ok) {
        for (int r = 0; r < nr; r++) {
            __m128 vml, vr;
            __m128d ml;
            if (f1)
                ok &= norm_ln_row_finish_t_x86(s0[r], s1[r], s2[r], inv_n, eps, &vml, &vr, &ml);
            else
                ok &= norm_ln_row_finish_x86(s0[r], s1[r], s2[r], inv_n, eps, &vml, &vr, &ml);
            mlo[r] = _mm_cvtss_f32(vml);
            rstd[r] = _mm_cvtss_f32(vr);
            mo[r] = _mm_cvtss_f32(norm_ln_row_mean_x86(m0[r], ml));
        }
    }
    if (__builtin_expect(!ok, 0)) {
        /* norm_ln_finish() itself: other dims, pass 2 again, the rare path */
        int st[4];
        float m0_next = 0.0f;
        ok = 1;
        if (f1) /* s1's + 0 (s0 and s2 cannot be -0) */
            s1[0] = _mm_add_sd(s1[0], _mm_setzero_pd());
        for (int r = 0; r < nr; r++) {
            st[r] = norm_ln_finish(_mm_cvtsd_f64(s0[r]), _mm_cvtsd_f64(s1[r]),
                                   _mm_cvtsd_f64(s2[r]), _mm_cvtss_f32(m0[r]), inv_n, eps, 0,
                                   &mlo[r], &rstd[r], &mo[r], &m0_next);
            ok &= st[r] == NORM_LN_OK;
        }
        if (!ok) {
            if (nr > 1)
                return 2;
            if (st[0] == NORM_LN_AGAIN) {
                vm0[0] = _mm512_set1_ps(m0_next);
                ln_short_p2_avx512(xv[0], mk, vm0[0], nv, 1, &s1[0], &s2[0]);
                st[0] = norm_ln_finish(_mm_cvtsd_f64(s0[0]), _mm_cvtsd_f64(s1[0]),
                                       _mm_cvtsd_f64(s2[0]), m0_next, inv_n, eps, 1, &mlo[0],
                                       &rstd[0], &mo[0], &m0_next);
            }
            if (st[0] != NORM_LN_OK) {
                norm_ln_put_sums(sums, _mm_cvtsd_f64(s0[0]), _mm_cvtsd_f64(s1[0]),
                                 _mm_cvtsd_f64(s2[0]));
                return 1;
            }
        }
    }
    for (int r = 0; r < nr; r++) {
        norm_ln_put_sums(sums ? sums + NORM_LN_SUMS_PER_ROW * r : NULL, _mm_cvtsd_f64(s0[r]),
                         _mm_cvtsd_f64(s1[r]), _mm_cvtsd_f64(s2[r]));
        if (mean)
            mean[r] = mo[r];
        if (rstdp)
            rstdp[r] = rstd[r];
    }
    /* pass 3 */
    __m512 vl[4], vrs[4];
    for (int r = 0; r < nr; r++) {
        vl[r] = _mm512_set1_ps(mlo[r]);
        vrs[r] = _mm512_set1_ps(rstd[r]);
    }
    const __m512 one = _mm512_set1_ps(1.0f), z = _mm512_setzero_ps();
    for (int q = 0; q < nv; q++) {
        const int full = q < nv / 2;
        __m512 wv = one, bv = z;
        if (hw)
            wv = full ? _mm512_loadu_ps(w + 16 * q) : _mm512_maskz_loadu_ps(mk[q], w + 16 * q);
        if (hw == 2)
            wv = _mm512_add_ps(one, wv);
        if (hb)
            bv = full ? _mm512_loadu_ps(b + 16 * q) : _mm512_maskz_loadu_ps(mk[q], b + 16 * q);
        for (int r = 0; r < nr; r++) {
            const __m512 t = _mm512_mul_ps(
                _mm512_sub_ps(_mm512_sub_ps(xv[r][q], vm0[r]), vl[r]), vrs[r]);
            const __m512 o = _mm512_fmadd_ps(t, wv, bv);
            float *yq = y + (size_t)r * ys + 16 * q;
            if (full)
                _mm512_storeu_ps(yq, o);
            else
                _mm512_mask_storeu_ps(yq, mk[q], o);
        }
    }
    return 0;
}

/* The leaf rows of a short row of n floats: 1, 2, 4 or 8. */
static inline int ln_short_nv(size_t n)
{
    return n <= 16 ? 1 : n <= 32 ? 2 : n <= 64 ? 4 : 8;
}

/* OP(NV, HW, HB) for a short row of n floats with weight w (wplus: the factor 1 + w) and bias b,
 * the constants chosen at run time (a predictable branch per call). */
#define LN_SHORT_SEL(n, w, wplus, b, OP)                                                       \
    do {                                                                                       \
        const int nv_ = ln_short_nv(n), hw_ = !(w) ? 0 : (wplus) ? 2 : 1, hb_ = (b) != NULL;   \
        LN_SHORT_SEL_NV_(nv_, hw_, hb_, OP);                                                   \
    } while (0)
#define LN_SHORT_SEL_HB_(NV, HW, hb, OP)                                                       \
    do {                                                                                       \
        if ((hb) != 0)                                                                         \
            OP(NV, HW, 1);                                                                     \
        else                                                                                   \
            OP(NV, HW, 0);                                                                     \
    } while (0)
#define LN_SHORT_SEL_HW_(NV, hw, hb, OP)                                                       \
    do {                                                                                       \
        if ((hw) == 1)                                                                         \
            LN_SHORT_SEL_HB_(NV, 1, hb, OP);                                                   \
        else if ((hw) == 0)                                                                    \
            LN_SHORT_SEL_HB_(NV, 0, hb, OP);                                                   \
        else                                                                                   \
            LN_SHORT_SEL_HB_(NV, 2, hb, OP);                                                   \
    } while (0)
#define LN_SHORT_SEL_NV_(nv, hw, hb, OP)                                                       \
    do {                                                                                       \
        switch (nv) {                                                                          \
        case 1: LN_SHORT_SEL_HW_(1, hw, hb, OP); break;                                        \
        case 2: LN_SHORT_SEL_HW_(2, hw, hb, OP); break;                                        \
        case 4: LN_SHORT_SEL_HW_(4, hw, hb, OP); break;                                        \
        default: LN_SHORT_SEL_HW_(8, hw, hb, OP); break;                                       \
        }                                                                                      \
    } while (0)

#endif /* NORM_LN_SHORT_AVX512_H */
