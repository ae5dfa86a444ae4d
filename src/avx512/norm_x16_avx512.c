/*
 * bf16 / f16 activations, AVX-512 tier: the f32 kernels' trees (norm_avx512.h) reading the 16-bit
 * rows directly (fm = N5_BF16 / N5_F16: each leaf row of 16 elements widened exactly in the
 * register, a zero-masked vpermw or vcvtph2ps), narrowed in the register (narrow16_avx512: bf16 by
 * integer round-to-nearest-even on the bits, or in the output's 32-element steps by
 * vcvtne2ps2bf16 where the CPU has AVX512-BF16 and the step holds no subnormal, which that
 * instruction flushes: X16_CVT below; f16 by vcvtps2ph imm 0; every NaN the canonical one). No
 * stack buffer, no copy.
 *
 * What it computes is src/norm_x16.h's definition, operation for operation the template
 * src/x16_tmpl.h (the scalar tier): the canonical totals of the widened row (the trees, fold and
 * lane total of layernorm_avx512.c / rmsnorm_avx512.c, whose f32 code is this code with
 * fm = N5_F32), norm_ln_finish() / norm_rms_finish(), the shared rare paths
 * norm_x16_*_row_rare(), and the output pass
 *   LayerNorm fma(((x - m0) - mlo) * r, wf, b) (w NULL: wf = 1, b NULL: b = 0; fma(t, 1, b) is
 *             the template's t + b, and fma(t, w, 0) its fmaf(t, w, 0.0f)),
 *   RMSNorm   (x * r) * wf (w NULL: x * r),
 * wf = w, or 1 + w (plus1), w and b float or (wact) 16-bit values of the row's format widened
 * the same way.
 *
 * Scheduling as the f32 kernels (none of it changes an operation): rows of at most
 * X16_BATCH_MAX elements go eight at a time (eight independent trees, then the eight rows' lane
 * totals and statistics as vectors of doubles, lane k doing row k's scalar arithmetic), longer
 * ones two at a time up to X16_PAIR_MAX (two dependency chains overlap; LayerNorm pairs
 * software-pipelined, the next pair's passes 1 and 2 before this pair's output, which is one loop
 * for both rows sharing the weight and bias loads: x16_ln_pairs() in norm_x16_rows.h), the rest
 * one by one. The output goes 32 elements (one 64-byte store) at a time, narrowed by one vpermt2w
 * (bf16) or two vcvtps2ph, without the NaN fix-up when no result can be a NaN (x16_nn()).
 * Streaming jobs (norm_x16_stream_job() in src/norm_x16.h) write y with non-temporal 64-byte
 * stores past its first 64-byte boundary, then sfence, and each row's output pass prefetches the
 * next row the row code will read (x16_pf() in src/x86/norm_x16_rows.h, one prefetch per 64
 * bytes). Their pairs (LayerNorm and RMSNorm) issue the output of a pair in slices between the
 * tree blocks of the next pair (x16_ln_pipe_nt(), x16_rms_pairs_nt()), so that the
 * non-temporal stores drain while the trees compute.
 *
 * tests/meson.build compiles this file once more with the AVX2 flags and -DNORM_AVX512_EMU over
 * SIMDe as the avx512-emu tier's kernel (norm_*_x16_avx512emu, checkasm only).
 */
#include "norm_avx512.h"

#define X16_FM_F16 N5_F16
#define X16_HAVE_OUT2 1
#define X16_HAVE_STATS2 1
#define X16_HAVE_PIPE_NT 1
#include "../x86/norm_x16_rows.h"

#ifndef X16_TIER
#define X16_TIER avx512
#endif
#define X16_CAT_(a, b) a##_##b
#define X16_CAT(a, b) X16_CAT_(a, b)

#ifndef X16_BATCH_MAX
#define X16_BATCH_MAX 512
#endif
#ifndef X16_PAIR_MAX
#define X16_PAIR_MAX 2048
#endif

/* The results of 16 widened elements xv with their factors wv (w, or 1 when there is none: hw 0)
 * and biases bv (0 when there is none); pw: the factor is 1 + w. ln: LayerNorm. */
N5_INLINE __m512 x16_res_w_avx512(__m512 xv, __m512 wv, __m512 bv, x16_out o, int ln, int hw,
                                  int pw)
{
    if (hw && pw)
        wv = _mm512_add_ps(_mm512_set1_ps(1.0f), wv);
    if (!ln) {
        const __m512 t = _mm512_mul_ps(xv, _mm512_set1_ps(o.r));
        return hw ? _mm512_mul_ps(t, wv) : t;
    }
    const __m512 t = _mm512_mul_ps(
        _mm512_sub_ps(_mm512_sub_ps(xv, _mm512_set1_ps(o.m0)), _mm512_set1_ps(o.mlo)),
        _mm512_set1_ps(o.r));
    return _mm512_fmadd_ps(t, wv, bv);
}

/* 16 results at element i (masked: the m lanes, others +0 and not read). ln: LayerNorm. */
N5_INLINE __m512 x16_res_avx512(const uint16_t *x, const void *w, const void *b, size_t i,
                                __mmask16 m, int masked, x16_out o, int ln, int fm, int hw,
                                int wa, int pw, int hb)
{
    const int wfm = wa ? fm : N5_F32;
    const __m512 xv = leaf_x_avx512(x + i, m, masked, fm);
    const __m512 wv = hw ? leaf_x_avx512(N5_AT(w, i, wfm), m, masked, wfm) : _mm512_set1_ps(1.0f);
    const __m512 bv = ln && hb ? leaf_x_avx512(N5_AT(b, i, wfm), m, masked, wfm)
                               : _mm512_setzero_ps();
    return x16_res_w_avx512(xv, wv, bv, o, ln, hw, pw);
}

/* ---- the output in steps of 32 elements (one 64-byte store of 16-bit values) ---- */

/* 32 elements of format f at p, widened: *a = elements 0-15, *b = 16-31. */
N5_INLINE void x16_ld32_avx512(const void *p, int f, __m512 *a, __m512 *b)
{
    *a = leaf_x_avx512(p, 0xFFFF, 0, f);
    *b = leaf_x_avx512(N5_AT(p, 16, f), 0xFFFF, 0, f);
}

/* x16_f32_to_bf16()'s rounding of 16 floats on their bits, before the shift: the bf16 value is
 * the high half of each 32-bit result, u + 0x7fff + ((u >> 16) & 1), the last term as a masked
 * add of 1 where vptestmd finds bit 16 set (three operations rather than four: measured 57 ->
 * 52 ns per 768 elements of LayerNorm output). */
N5_INLINE __m512i x16_rnd_bf16_avx512(__m512 v)
{
    const __m512i u = _mm512_castps_si512(v);
    const __mmask16 odd = _mm512_test_epi32_mask(u, _mm512_set1_epi32(0x10000));
    const __m512i r = _mm512_add_epi32(u, _mm512_set1_epi32(0x7fff));
    return _mm512_mask_add_epi32(r, odd, r, _mm512_set1_epi32(1));
}

/* X16_CVT (a flag of the rows, as X16_NT and X16_FIN, set for bf16 jobs with
 * norm_x16_job.cvt: the CPU has AVX512-BF16, as cpu_features tells dispatch.c, norm_dsp.x16_cvt):
 * the output narrows 32 floats to bf16 by one vcvtne2ps2bf16 (RNE,
 * exactly x16_f32_to_bf16() for every input but subnormals, which it flushes to a signed zero,
 * and NaNs, which it makes quiet keeping sign and payload), rather than the three integer
 * operations per 16 and the vpermt2w of x16_rnd_bf16_avx512(). A 32-element step whose floats
 * include a subnormal (vfpclassps, class 0x20) takes the integer rounding instead; NaNs get the
 * canonical-NaN fix-up as before (or cannot occur: x16_nn()). The subnormal test runs only on
 * steps whose converted words include a zero (one vptestnmw on the result: a subnormal becomes
 * a zero word, so a step without one has none), and the pairs' loop tests both rows' steps
 * with one branch: normbench --fused ln-bf16,rms-bf16 --fused-rows 32 (session 27, two builds
 * alternating), 1 thread, ns/row: LayerNorm 768 151 -> 145-147, 4096 610 -> 580, RMSNorm 768
 * 101-102 -> 98-99, 4096 408-413 -> 396-398; from DRAM unchanged within the noise (the test
 * left out entirely, which would be wrong: LayerNorm 768 137). Measured, the narrowing of 768
 * floats alone: 22.4 -> 15.1 ns. Issued by inline assembly (no target attribute, no compiler
 * flag: the instruction only runs when the flag says the CPU has it). The emulated build
 * (checkasm's avx512-emu tier, whose table sets x16_cvt on any CPU) takes this path with the
 * instruction emulated as Intel's pseudocode defines it (subnormals flushed), so that the
 * subnormal test matters there too; checkasm runs the native tier's bf16 ops both ways where
 * the CPU has the instruction. */
#define X16_CVT 4
#if defined(NORM_AVX512_EMU)
/* vcvtne2ps2bf16 as specified: words 0-15 from a, 16-31 from b. */
N5_INLINE __m512i x16_cvtne2_avx512(__m512 a, __m512 b)
{
    float f[32];
    uint16_t h[32];
    _mm512_storeu_ps(f, a);
    _mm512_storeu_ps(f + 16, b);
    for (int i = 0; i < 32; i++) {
        const uint32_t u = x16_f32_bits(f[i]);
        if ((u & 0x7fffffffu) > 0x7f800000u)
            h[i] = (uint16_t)((u >> 16) | 0x40u);
        else if ((u & 0x7f800000u) == 0)
            h[i] = (uint16_t)((u >> 16) & 0x8000u); /* zero or subnormal: a signed zero */
        else
            h[i] = (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
    }
    return _mm512_loadu_si512((const void *)h);
}
/* Whether a or b holds a subnormal. */
N5_INLINE int x16_sub2_avx512(__m512 a, __m512 b)
{
    float f[32];
    _mm512_storeu_ps(f, a);
    _mm512_storeu_ps(f + 16, b);
    int s = 0;
    for (int i = 0; i < 32; i++) {
        const uint32_t u = x16_f32_bits(f[i]);
        s |= (u & 0x7f800000u) == 0 && (u & 0x7fffffu) != 0;
    }
    return s;
}
/* Whether h (or a or b) holds a bf16 zero of either sign (SIMDe has no vptestnmw). */
N5_INLINE int x16_zero1_avx512(__m512i h)
{
    uint16_t w[32];
    _mm512_storeu_si512((void *)w, h);
    int z = 0;
    for (int i = 0; i < 32; i++)
        z |= (w[i] & 0x7fffu) == 0;
    return z;
}
N5_INLINE int x16_zero2_avx512(__m512i a, __m512i b)
{
    return x16_zero1_avx512(a) | x16_zero1_avx512(b);
}
#else
N5_INLINE __m512i x16_cvtne2_avx512(__m512 a, __m512 b)
{
    __m512i r;
    __asm__("vcvtne2ps2bf16 %2, %1, %0" : "=v"(r) : "v"(b), "v"(a));
    return r;
}
N5_INLINE int x16_sub2_avx512(__m512 a, __m512 b)
{
    return (_mm512_fpclass_ps_mask(a, 0x20) | _mm512_fpclass_ps_mask(b, 0x20)) != 0;
}
/* Whether h (or a or b) holds a bf16 zero of either sign (vptestnmw). */
N5_INLINE int x16_zero1_avx512(__m512i h)
{
    return _mm512_testn_epi16_mask(h, _mm512_set1_epi16(0x7fff)) != 0;
}
N5_INLINE int x16_zero2_avx512(__m512i a, __m512i b)
{
    const __m512i m = _mm512_set1_epi16(0x7fff);
    return (_mm512_testn_epi16_mask(a, m) | _mm512_testn_epi16_mask(b, m)) != 0;
}
#endif

/* The canonical NaN in the words of h whose float (a: words 0-15, b: 16-31) is a NaN, unless
 * nn (no result can be a NaN). */
N5_INLINE __m512i x16_nanfix32_avx512(__m512i h, __m512 a, __m512 b, int fm, int nn)
{
    if (nn)
        return h;
    const __mmask32 nan = (__mmask32)_mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q) |
                          (__mmask32)_mm512_cmp_ps_mask(b, b, _CMP_UNORD_Q) << 16;
    return _mm512_mask_mov_epi16(h, nan, _mm512_set1_epi16(fm == N5_F16 ? 0x7e00 : 0x7fc0));
}

/* 32 floats (a: elements 0-15, b: 16-31) -> bf16 by the integer rounding: word k of the result
 * is the odd word 2k + 1 of x16_rnd_bf16_avx512(a) (k < 16), of b's (k >= 16). */
N5_INLINE __m512i x16_rnd32_avx512(__m512 a, __m512 b)
{
    const __m512i odd = _mm512_set_epi16(63, 61, 59, 57, 55, 53, 51, 49, 47, 45, 43, 41, 39, 37,
                                         35, 33, 31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7,
                                         5, 3, 1);
    return _mm512_permutex2var_epi16(x16_rnd_bf16_avx512(a), odd, x16_rnd_bf16_avx512(b));
}

/* 32 floats (a: elements 0-15, b: 16-31) -> 32 values of fm, as narrow16_avx512() on each half:
 * bf16 by vcvtne2ps2bf16 (cv: X16_CVT, above) or by the high halves of the rounded words picked
 * by one vpermt2w (rather than a shift and a vpmovdw per 16: measured 47 -> 37 ns per 768
 * elements), f16 vcvtps2ph; nn: no value is a NaN (x16_nn(): the canonical-NaN fix-up left out,
 * a third of an f16 row's output time). */
N5_INLINE __m512i x16_narrow32_avx512(__m512 a, __m512 b, int fm, int nn, int cv)
{
    __m512i h;
    if (fm == N5_F16) {
#if defined(NORM_AVX512_EMU)
        return _mm512_inserti64x4(_mm512_castsi256_si512(narrow16_avx512(a, fm)),
                                  narrow16_avx512(b, fm), 1);
#else
        h = _mm512_inserti64x4(_mm512_castsi256_si512(_mm512_cvtps_ph(a, 0)),
                               _mm512_cvtps_ph(b, 0), 1);
#endif
    } else if (cv) {
        h = x16_cvtne2_avx512(a, b);
        /* a subnormal float gives a zero word: the subnormal test only where one is */
        if (__builtin_expect(x16_zero1_avx512(h), 0) && x16_sub2_avx512(a, b))
            h = x16_rnd32_avx512(a, b);
    } else {
        h = x16_rnd32_avx512(a, b);
    }
    return x16_nanfix32_avx512(h, a, b, fm, nn);
}

/* Stores 32 values of 2 bytes at p: non-temporal (nt: p 64-byte aligned) or plain. */
N5_INLINE void x16_st32_avx512(uint16_t *p, __m512i h, int nt)
{
    if (nt) {
#if defined(NORM_AVX512_EMU)
        if (((uintptr_t)p & 63u) != 0)
            __builtin_trap(); /* as vmovntdq m512 would fault */
        _mm256_stream_si256((__m256i *)p, _mm512_castsi512_si256(h));
        _mm256_stream_si256((__m256i *)p + 1, _mm512_extracti64x4_epi64(h, 1));
#else
        _mm512_stream_si512((void *)p, h);
#endif
    } else {
        _mm512_storeu_si512((void *)p, h);
    }
}

/* Elements of y before its first 64-byte boundary, at most n (the head of a streaming row). */
static inline size_t x16_nt_head64(const uint16_t *y, size_t n)
{
    size_t h = ((64u - ((size_t)y & 63u)) & 63u) / sizeof(uint16_t);
    return h < n ? h : n;
}

/* The output pass of one row (nt: non-temporal stores past y's first 64-byte boundary; nn: no
 * result can be a NaN, x16_nn(): the 32-element steps leave the NaN fix-up out), or the part
 * [u0, u1) of it in units: unit u < nch is the u-th 32-element step after the head (which goes
 * with unit 0), unit nch the rest of the row; nch = x16_units(y, n, nt) - 1. The whole row is
 * u0 = 0, u1 = SIZE_MAX. */
N5_INLINE void x16_out_avx512(uint16_t *y, const uint16_t *x, const void *w, const void *b,
                              size_t n, x16_out o, int ln, int fm, int hw, int wa, int pw, int hb,
                              int nt, int nn, int cv, size_t u0, size_t u1)
{
#define X16_PART(I, K)                                                                         \
    do {                                                                                       \
        const __mmask16 m_ = tail_mask_avx512(K);                                              \
        st16_avx512(y + (I),                                                                   \
                    narrow16_avx512(                                                           \
                        x16_res_avx512(x, w, b, (I), m_, 1, o, ln, fm, hw, wa, pw, hb), fm),   \
                    m_, 1, 0);                                                                 \
    } while (0)
#define X16_FULL(I)                                                                            \
    narrow16_avx512(x16_res_avx512(x, w, b, (I), 0xFFFF, 0, o, ln, fm, hw, wa, pw, hb), fm)
    const int wfm = wa ? fm : N5_F32;
    const size_t h = nt ? x16_nt_head64(y, n) : 0, nch = (n - h) / 32;
    size_t i = 0;
    /* streaming: one prefetch of o.pf (x itself when there is none: a hit) per 64 bytes of x,
     * every line of the row from pf + h on, its first and last lines by themselves */
    const uint16_t *pf = nt && o.pf ? o.pf : x;
    if (u0 == 0) {
        /* streaming: the head up to y's first 64-byte boundary in (masked) steps of up to 16 */
        for (; i + 16 <= h; i += 16)
            st16_avx512(y + i, X16_FULL(i), 0xFFFF, 0, 0);
        if (i < h)
            X16_PART(i, h - i);
        if (nt)
            X16_PREFETCH(pf);
    }
    i = h + 32 * (u0 < nch ? u0 : nch);
    for (const size_t e = h + 32 * (u1 < nch ? u1 : nch); i < e; i += 32) {
        if (nt)
            X16_PREFETCH(pf + i);
        __m512 xa, xb, wa_ = _mm512_set1_ps(1.0f), wb_ = wa_, ba = _mm512_setzero_ps(), bb = ba;
        x16_ld32_avx512(x + i, fm, &xa, &xb);
        if (hw)
            x16_ld32_avx512(N5_AT(w, i, wfm), wfm, &wa_, &wb_);
        if (ln && hb)
            x16_ld32_avx512(N5_AT(b, i, wfm), wfm, &ba, &bb);
        x16_st32_avx512(y + i,
                        x16_narrow32_avx512(x16_res_w_avx512(xa, wa_, ba, o, ln, hw, pw),
                                            x16_res_w_avx512(xb, wb_, bb, o, ln, hw, pw), fm,
                                            nn, cv),
                        nt);
    }
    if (u1 <= nch)
        return;
    if (nt) {
        X16_PREFETCH(pf + i);
        X16_PREFETCH(pf + n - 1);
    }
    for (; i + 16 <= n; i += 16)
        st16_avx512(y + i, X16_FULL(i), 0xFFFF, 0, 0);
    if (i < n)
        X16_PART(i, n - i);
#undef X16_PART
#undef X16_FULL
}

/* The output pass of two rows a, b with ordinary stores, one loop sharing the weight and bias
 * loads (as layernorm_avx512.c's pairs); each row's results exactly x16_out_avx512()'s. */
N5_INLINE void x16_out2_avx512(uint16_t *ya, const uint16_t *xa, x16_out oa, uint16_t *yb,
                               const uint16_t *xb, x16_out ob, const void *w, const void *b,
                               size_t n, int ln, int fm, int hw, int wa, int pw, int hb, int nn,
                               int cv)
{
    const int wfm = wa ? fm : N5_F32;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m512 w0 = _mm512_set1_ps(1.0f), w1 = w0, b0 = _mm512_setzero_ps(), b1 = b0, x0, x1;
        if (hw)
            x16_ld32_avx512(N5_AT(w, i, wfm), wfm, &w0, &w1);
        if (ln && hb)
            x16_ld32_avx512(N5_AT(b, i, wfm), wfm, &b0, &b1);
        x16_ld32_avx512(xa + i, fm, &x0, &x1);
        const __m512 ra0 = x16_res_w_avx512(x0, w0, b0, oa, ln, hw, pw);
        const __m512 ra1 = x16_res_w_avx512(x1, w1, b1, oa, ln, hw, pw);
        x16_ld32_avx512(xb + i, fm, &x0, &x1);
        const __m512 rb0 = x16_res_w_avx512(x0, w0, b0, ob, ln, hw, pw);
        const __m512 rb1 = x16_res_w_avx512(x1, w1, b1, ob, ln, hw, pw);
        if (fm == N5_BF16 && cv) {
            /* vcvtne2ps2bf16 with the zero-word test of x16_narrow32_avx512() for both rows'
             * steps at once (one branch, not two); a zero word: each step as there */
            const __m512i ha = x16_cvtne2_avx512(ra0, ra1), hb2 = x16_cvtne2_avx512(rb0, rb1);
            if (__builtin_expect(!x16_zero2_avx512(ha, hb2), 1)) {
                x16_st32_avx512(ya + i, x16_nanfix32_avx512(ha, ra0, ra1, fm, nn), 0);
                x16_st32_avx512(yb + i, x16_nanfix32_avx512(hb2, rb0, rb1, fm, nn), 0);
                continue;
            }
        }
        x16_st32_avx512(ya + i, x16_narrow32_avx512(ra0, ra1, fm, nn, cv), 0);
        x16_st32_avx512(yb + i, x16_narrow32_avx512(rb0, rb1, fm, nn, cv), 0);
    }
    for (int r = 0; r < 2; r++) {
        uint16_t *y = r ? yb : ya;
        const uint16_t *x = r ? xb : xa;
        const x16_out o = r ? ob : oa;
        size_t k = i;
        for (; k + 16 <= n; k += 16)
            st16_avx512(y + k,
                        narrow16_avx512(x16_res_avx512(x, w, b, k, 0xFFFF, 0, o, ln, fm, hw, wa,
                                                       pw, hb),
                                        fm),
                        0xFFFF, 0, 0);
        if (k < n) {
            const __mmask16 m = tail_mask_avx512(n - k);
            st16_avx512(y + k,
                        narrow16_avx512(
                            x16_res_avx512(x, w, b, k, m, 1, o, ln, fm, hw, wa, pw, hb), fm),
                        m, 1, 0);
        }
    }
}

/* The output pass with the weight / bias variant chosen at run time (one predictable branch per
 * row). */
N5_INLINE void x16_out_var_avx512(const norm_x16_job *j, uint16_t *y, const uint16_t *x,
                                  x16_out o, int ln, int fm, int nt, int nn, int cv,
                                  size_t u0, size_t u1)
{
    const size_t n = j->dim;
    const void *w = j->w, *b = ln ? j->b : NULL;
#define X16_O(HW, WA, PW, HB)                                                                  \
    x16_out_avx512(y, x, w, b, n, o, ln, fm, HW, WA, PW, HB, nt, nn, cv, u0, u1)
    NORM_X16_OUT_VARIANTS(j, w, b, X16_O);
#undef X16_O
}

/* The pair output with the weight / bias variant chosen at run time. */
N5_INLINE void x16_out2_var_avx512(const norm_x16_job *j, uint16_t *ya, const uint16_t *xa,
                                   x16_out oa, uint16_t *yb, const uint16_t *xb, x16_out ob,
                                   int ln, int fm, int nn, int cv)
{
    const size_t n = j->dim;
    const void *w = j->w, *b = ln ? j->b : NULL;
#define X16_O(HW, WA, PW, HB)                                                                  \
    x16_out2_avx512(ya, xa, oa, yb, xb, ob, w, b, n, ln, fm, HW, WA, PW, HB, nn, cv)
    NORM_X16_OUT_VARIANTS(j, w, b, X16_O);
#undef X16_O
}

/* ---- the per-format instances ----
 * The trees and output loops are instantiated once per format (and the output once per
 * store kind and op) in functions of their own: inlined into every call site of the row code,
 * as the f32 kernels do, they took gcc over a quarter of an hour on this file. The rows call them
 * through the selectors below (a predictable branch per call). */
#define X16_NOINLINE static __attribute__((noinline))
/* OP (an expression using the constants NN_ and CV_) instantiated for the row's nn (x16_nn())
 * and cv (bf16 rows with X16_CVT in the flags k: vcvtne2ps2bf16), chosen at run time. */
#define X16_OUT_CV_(OP, FM, k, NN)                                                             \
    do {                                                                                       \
        const int nn_ = (NN);                                                                  \
        if ((FM) == N5_BF16 && ((k) & X16_CVT)) {                                              \
            enum { CV_ = 1 };                                                                  \
            if (nn_) {                                                                         \
                enum { NN_ = 1 };                                                              \
                OP;                                                                            \
            } else {                                                                           \
                enum { NN_ = 0 };                                                              \
                OP;                                                                            \
            }                                                                                  \
        } else {                                                                               \
            enum { CV_ = 0 };                                                                  \
            if (nn_) {                                                                         \
                enum { NN_ = 1 };                                                              \
                OP;                                                                            \
            } else {                                                                           \
                enum { NN_ = 0 };                                                              \
                OP;                                                                            \
            }                                                                                  \
        }                                                                                      \
    } while (0)
#define X16_INSTANCES(SUF, FM)                                                                 \
    X16_NOINLINE acc_avx512 x16_acc_sq_##SUF(const uint16_t *x, size_t n)                      \
    {                                                                                          \
        return acc_sqf_avx512(x, n, FM, N5_NO_HOOK);                                           \
    }                                                                                          \
    X16_NOINLINE acc_avx512 x16_acc_sum_##SUF(const uint16_t *x, size_t n, float c)            \
    {                                                                                          \
        return acc_sumf_avx512(x, n, _mm512_set1_ps(c), FM, N5_NO_HOOK);                       \
    }                                                                                          \
    X16_NOINLINE void x16_acc_ss_##SUF(const uint16_t *x, size_t n, float c, acc_avx512 *s,    \
                                       acc_avx512 *q)                                          \
    {                                                                                          \
        acc_ssf_avx512(x, n, _mm512_set1_ps(c), s, q, FM, N5_NO_HOOK);                         \
    }                                                                                          \
    X16_NOINLINE void x16_out_ln_##SUF(const norm_x16_job *j, uint16_t *y,                     \
                                          const uint16_t *x, x16_out o, int k)                 \
    {                                                                                          \
        X16_OUT_CV_(x16_out_var_avx512(j, y, x, o, 1, FM, 0, NN_, CV_, 0, SIZE_MAX), FM,       \
                    k, x16_nn(k, o));                                                          \
    }                                                                                          \
    X16_NOINLINE void x16_out_ln_nt_##SUF(const norm_x16_job *j, uint16_t *y,                  \
                                          const uint16_t *x, x16_out o, int k)                 \
    {                                                                                          \
        X16_OUT_CV_(x16_out_var_avx512(j, y, x, o, 1, FM, 1, NN_, CV_, 0, SIZE_MAX), FM,       \
                    k, x16_nn(k, o));                                                          \
    }                                                                                          \
    X16_NOINLINE void x16_out_rms_##SUF(const norm_x16_job *j, uint16_t *y,                    \
                                          const uint16_t *x, x16_out o, int k)                 \
    {                                                                                          \
        X16_OUT_CV_(x16_out_var_avx512(j, y, x, o, 0, FM, 0, NN_, CV_, 0, SIZE_MAX), FM,       \
                    k, x16_nn(k, o));                                                          \
    }                                                                                          \
    X16_NOINLINE void x16_out_rms_nt_##SUF(const norm_x16_job *j, uint16_t *y,                 \
                                          const uint16_t *x, x16_out o, int k)                 \
    {                                                                                          \
        X16_OUT_CV_(x16_out_var_avx512(j, y, x, o, 0, FM, 1, NN_, CV_, 0, SIZE_MAX), FM,       \
                    k, x16_nn(k, o));                                                          \
    }
#define X16_INSTANCES_PART(SUF, FM)                                                            \
    X16_NOINLINE void x16_outp_ln_nt_##SUF(const norm_x16_job *j, uint16_t *y,                 \
                                           const uint16_t *x, x16_out o, int k, size_t u0,     \
                                           size_t u1)                                          \
    {                                                                                          \
        X16_OUT_CV_(x16_out_var_avx512(j, y, x, o, 1, FM, 1, NN_, CV_, u0, u1), FM, k,         \
                    x16_nn(k, o));                                                             \
    }                                                                                          \
    X16_NOINLINE void x16_outp_rms_nt_##SUF(const norm_x16_job *j, uint16_t *y,                \
                                            const uint16_t *x, x16_out o, int k, size_t u0,    \
                                            size_t u1)                                         \
    {                                                                                          \
        X16_OUT_CV_(x16_out_var_avx512(j, y, x, o, 0, FM, 1, NN_, CV_, u0, u1), FM, k,         \
                    x16_nn(k, o));                                                             \
    }
#define X16_INSTANCES2(SUF, FM)                                                                \
    X16_NOINLINE void x16_out2_ln_##SUF(const norm_x16_job *j, uint16_t *ya, const uint16_t *xa, \
                                        x16_out oa, uint16_t *yb, const uint16_t *xb,          \
                                        x16_out ob, int k)                                     \
    {                                                                                          \
        X16_OUT_CV_(x16_out2_var_avx512(j, ya, xa, oa, yb, xb, ob, 1, FM, NN_, CV_), FM, k,    \
                    x16_nn(k, oa) && x16_nn(k, ob));                                           \
    }
/* LayerNorm passes 1 and 2 of two rows a, b in one function (their trees, lane totals and m0
 * interleaved by the compiler, nothing through memory): what x16_ln_m0() and x16_ss() give
 * for each. */
#define X16_STATS2(SUF, FM)                                                                    \
    X16_NOINLINE void x16_ln_stats2_##SUF(const uint16_t *xa, const uint16_t *xb, size_t n,    \
                                          double inv_k, x16_st *a, x16_st *b)                  \
    {                                                                                          \
        const size_t np = norm_ln_probe(n);                                                    \
        const float x0a = x16_x0(xa, FM), x0b = x16_x0(xb, FM);                                \
        const acc_avx512 pa = acc_sumf_avx512(xa, np, _mm512_set1_ps(x0a), FM, N5_NO_HOOK);    \
        const acc_avx512 pb = acc_sumf_avx512(xb, np, _mm512_set1_ps(x0b), FM, N5_NO_HOOK);    \
        a->s0 = lanes_total_avx512(pa.hi, pa.lo);                                              \
        b->s0 = lanes_total_avx512(pb.hi, pb.lo);                                              \
        a->m0 = norm_ln_m0(x0a, a->s0, inv_k);                                                 \
        b->m0 = norm_ln_m0(x0b, b->s0, inv_k);                                                 \
        acc_avx512 sa, qa, sb, qb;                                                             \
        acc_ssf_avx512(xa, n, _mm512_set1_ps(a->m0), &sa, &qa, FM, N5_NO_HOOK);                \
        acc_ssf_avx512(xb, n, _mm512_set1_ps(b->m0), &sb, &qb, FM, N5_NO_HOOK);                \
        a->s1 = lanes_total_avx512(sa.hi, sa.lo);                                              \
        a->s2 = lanes_total_avx512(qa.hi, qa.lo);                                              \
        b->s1 = lanes_total_avx512(sb.hi, sb.lo);                                              \
        b->s2 = lanes_total_avx512(qb.hi, qb.lo);                                              \
    }
X16_STATS2(bf16, N5_BF16)
X16_STATS2(f16, N5_F16)
#undef X16_STATS2
X16_INSTANCES2(bf16, N5_BF16)
X16_INSTANCES2(f16, N5_F16)
#undef X16_INSTANCES2
X16_INSTANCES(bf16, N5_BF16)
X16_INSTANCES(f16, N5_F16)
#undef X16_INSTANCES
X16_INSTANCES_PART(bf16, N5_BF16)
X16_INSTANCES_PART(f16, N5_F16)
#undef X16_INSTANCES_PART
#undef X16_OUT_CV_

/* ---- streaming LayerNorm pairs: the next pair's passes 1 and 2 with this pair's output ----
 * From DRAM at one thread the pipelined pairs (x16_ln_pairs()) spent most of their output pass
 * stalled on the non-temporal stores (cpu-clock samples after vmovntdq: half of the output
 * instance's), and during the next pair's passes 1 and 2 no store was in flight: a pair cost
 * its stores plus its trees. Here the output of rows row, row + 1 is cut into slices issued
 * between the tree blocks of rows row + 2, row + 3 (after each block of 512 elements of either
 * row, the share of the output that keeps the two in step), so that the stores drain while the
 * trees compute. Every tree, fold, lane total and output step is the one the unsliced code
 * issues (the same acc_sumf_avx512() / acc_ssf_avx512() loops, with x16_oq_step() as their
 * per-block hook; x16_out_avx512() unit by unit); only their order in the program changes. */

/* The output of two rows in slices (units of x16_out_avx512()). */
typedef struct x16_oq {
    const norm_x16_job *j;
    void (*part)(const norm_x16_job *, uint16_t *, const uint16_t *, x16_out, int, size_t,
                 size_t);
    uint16_t *y[2];
    const uint16_t *x[2];
    x16_out o[2];
    int k;
    size_t units0, total, done; /* row 0's units, both rows', those output so far */
    size_t step, nsteps;        /* tree blocks done, of all the passes' */
} x16_oq;

/* Units of a streaming row's output (x16_out_avx512()): its 32-element steps, and the rest. */
static inline size_t x16_units(const uint16_t *y, size_t n)
{
    return (n - x16_nt_head64(y, n)) / 32 + 1;
}

/* Output units done .. upto - 1. */
static inline void x16_oq_run(x16_oq *q, size_t upto)
{
    while (q->done < upto) {
        const int r = q->done >= q->units0;
        const size_t base = r ? q->units0 : 0, end = r ? q->total : q->units0;
        const size_t e = upto < end ? upto : end;
        q->part(q->j, q->y[r], q->x[r], q->o[r], q->k, q->done - base, e - base);
        q->done = e;
    }
}

/* Blocks of NORM_BLOCK in m elements (the last one partial). */
static inline size_t x16_blocks(size_t m)
{
    return (m + NORM_BLOCK - 1) / NORM_BLOCK;
}

/* The output of streaming rows row, row + 1 (constants oa, ob; each prefetching the row `ahead`
 * rows on) by `part`, in slices after each of nsteps tree blocks. */
static void x16_oq_init(x16_oq *q, const norm_x16_job *j, size_t row, int k,
                        void (*part)(const norm_x16_job *, uint16_t *, const uint16_t *, x16_out,
                                     int, size_t, size_t),
                        x16_out oa, x16_out ob, size_t nsteps, size_t ahead)
{
    q->j = j;
    q->part = part;
    q->k = k;
    for (int h = 0; h < 2; h++) {
        q->y[h] = j->y + (row + (size_t)h) * j->ys;
        q->x[h] = j->x + (row + (size_t)h) * j->xs;
        q->o[h] = h ? ob : oa;
        q->o[h].pf = x16_pf(j, row + (size_t)h, ahead, k);
    }
    q->units0 = x16_units(q->y[0], j->dim);
    q->total = q->units0 + x16_units(q->y[1], j->dim);
    q->done = q->step = 0;
    q->nsteps = nsteps;
}

/* After a tree block: the output up to the share of the blocks done (the block loops' hook,
 * x16_oq_hook(): ctx is the x16_oq). */
N5_INLINE void x16_oq_step(void *ctx)
{
    x16_oq *q = ctx;
    q->step++;
    x16_oq_run(q, q->step >= q->nsteps ? q->total : q->total * q->step / q->nsteps);
}

/* The hook that makes acc_sumf_avx512() / acc_sqf_avx512() / acc_ssf_avx512() (norm_avx512.h)
 * call x16_oq_step() after each block. */
N5_INLINE n5_hook x16_oq_hook(x16_oq *q)
{
    const n5_hook h = {NULL, x16_oq_step, q};
    return h;
}

/* RMSNorm pass 1 of rows xa, xb (their totals of squares) with the output q in slices between
 * the blocks, all of it done on return. */
#define X16_SQ2Q(SUF, FM)                                                                      \
    X16_NOINLINE void x16_rms_sq2q_##SUF(const uint16_t *xa, const uint16_t *xb, size_t n,     \
                                         double *sa, double *sb, x16_oq *q)                    \
    {                                                                                          \
        const n5_hook h = x16_oq_hook(q);                                                      \
        const acc_avx512 a = acc_sqf_avx512(xa, n, FM, h);                                     \
        const acc_avx512 b = acc_sqf_avx512(xb, n, FM, h);                                     \
        x16_oq_run(q, q->total);                                                               \
        *sa = lanes_total_avx512(a.hi, a.lo);                                                  \
        *sb = lanes_total_avx512(b.hi, b.lo);                                                  \
    }
X16_SQ2Q(bf16, N5_BF16)
X16_SQ2Q(f16, N5_F16)
#undef X16_SQ2Q

/* x16_ln_stats2_*() of rows xa, xb with the output q in slices between the blocks, all of it
 * done on return. */
#define X16_STATS2Q(SUF, FM)                                                                   \
    X16_NOINLINE void x16_ln_stats2q_##SUF(const uint16_t *xa, const uint16_t *xb, size_t n,   \
                                           double inv_k, x16_st *a, x16_st *b, x16_oq *q)      \
    {                                                                                          \
        const size_t np = norm_ln_probe(n);                                                    \
        const float x0a = x16_x0(xa, FM), x0b = x16_x0(xb, FM);                                \
        const n5_hook h = x16_oq_hook(q);                                                      \
        const acc_avx512 pa = acc_sumf_avx512(xa, np, _mm512_set1_ps(x0a), FM, h);             \
        const acc_avx512 pb = acc_sumf_avx512(xb, np, _mm512_set1_ps(x0b), FM, h);             \
        a->s0 = lanes_total_avx512(pa.hi, pa.lo);                                              \
        b->s0 = lanes_total_avx512(pb.hi, pb.lo);                                              \
        a->m0 = norm_ln_m0(x0a, a->s0, inv_k);                                                 \
        b->m0 = norm_ln_m0(x0b, b->s0, inv_k);                                                 \
        acc_avx512 sa, qa, sb, qb;                                                             \
        acc_ssf_avx512(xa, n, _mm512_set1_ps(a->m0), &sa, &qa, FM, h);                         \
        acc_ssf_avx512(xb, n, _mm512_set1_ps(b->m0), &sb, &qb, FM, h);                         \
        x16_oq_run(q, q->total);                                                               \
        a->s1 = lanes_total_avx512(sa.hi, sa.lo);                                              \
        a->s2 = lanes_total_avx512(qa.hi, qa.lo);                                              \
        b->s1 = lanes_total_avx512(sb.hi, sb.lo);                                              \
        b->s2 = lanes_total_avx512(qb.hi, qb.lo);                                              \
    }
X16_STATS2Q(bf16, N5_BF16)
X16_STATS2Q(f16, N5_F16)
#undef X16_STATS2Q

/* Streaming LayerNorm rows row, row + 1 (totals cur) and the next pair's passes 1 and 2 (into
 * next): when norm_ln_finish() finishes both rows at once, their output interleaved with the
 * next pair's trees (x16_ln_stats2q_*()), then their statistics; returns 1. Else returns 0
 * having done nothing (the caller takes the unsliced way). */
static int x16_ln_pipe_nt(const norm_x16_job *j, size_t row, double inv_n, double inv_k, int fm,
                          int k, const x16_st cur[2], x16_st next[2])
{
    float ml[2], r[2], mo[2], unused;
    for (int h = 0; h < 2; h++)
        if (norm_ln_finish(cur[h].s0, cur[h].s1, cur[h].s2, cur[h].m0, inv_n, j->eps, 0, &ml[h],
                           &r[h], &mo[h], &unused) != NORM_LN_OK)
            return 0;
    const size_t n = j->dim, np = norm_ln_probe(n);
    x16_oq q;
    const x16_out oa = {cur[0].m0, ml[0], r[0], NULL}, ob = {cur[1].m0, ml[1], r[1], NULL};
    x16_oq_init(&q, j, row, k, fm == N5_F16 ? x16_outp_ln_nt_f16 : x16_outp_ln_nt_bf16, oa, ob,
                2 * (x16_blocks(np) + x16_blocks(n)), X16_AHEAD_PIPE);
    const uint16_t *xn = q.x[0] + 2 * j->xs;
    (fm == N5_F16 ? x16_ln_stats2q_f16 : x16_ln_stats2q_bf16)(xn, xn + j->xs, n, inv_k, &next[0],
                                                              &next[1], &q);
    for (int h = 0; h < 2; h++) {
        const size_t rr = row + (size_t)h;
        norm_ln_put_sums(j->sums ? j->sums + NORM_LN_SUMS_PER_ROW * rr : NULL, cur[h].s0,
                         cur[h].s1, cur[h].s2);
        if (j->mean)
            j->mean[rr] = mo[h];
        if (j->rstd)
            j->rstd[rr] = r[h];
    }
    return 1;
}

static inline acc_avx512 x16_acc_sq(const uint16_t *x, size_t n, int fm)
{
    return fm == N5_F16 ? x16_acc_sq_f16(x, n) : x16_acc_sq_bf16(x, n);
}
static inline acc_avx512 x16_acc_sum(const uint16_t *x, size_t n, float c, int fm)
{
    return fm == N5_F16 ? x16_acc_sum_f16(x, n, c) : x16_acc_sum_bf16(x, n, c);
}
static inline void x16_acc_ss(const uint16_t *x, size_t n, float c, acc_avx512 *s,
                              acc_avx512 *q, int fm)
{
    if (fm == N5_F16)
        x16_acc_ss_f16(x, n, c, s, q);
    else
        x16_acc_ss_bf16(x, n, c, s, q);
}
static double x16_sum(const uint16_t *x, size_t n, float c, int fm)
{
    acc_avx512 a = x16_acc_sum(x, n, c, fm);
    return lanes_total_avx512(a.hi, a.lo);
}

static void x16_ss(const uint16_t *x, size_t n, float c, double *s1, double *s2, int fm)
{
    acc_avx512 s, q;
    x16_acc_ss(x, n, c, &s, &q, fm);
    *s1 = lanes_total_avx512(s.hi, s.lo);
    *s2 = lanes_total_avx512(q.hi, q.lo);
}

/* ---- RMSNorm ---- */

static double x16_sq_avx512(const uint16_t *x, size_t n, int fm)
{
    acc_avx512 a = x16_acc_sq(x, n, fm);
    return lanes_total_avx512(a.hi, a.lo);
}

/* Eight rows r .. r+7: lane k of the double vectors computes exactly norm_rms_finish() of row k. */
static void x16_rms_rows8_avx512(const norm_x16_job *j, size_t r, size_t n, double inv_n,
                                    int fm, int nt)
{
    acc_avx512 a[8];
    float rs[8];
    for (int k = 0; k < 8; k++)
        a[k] = x16_acc_sq(j->x + (r + (size_t)k) * j->xs, n, fm);
    const __m512d s2 = lanes_total8_avx512(a);
    if (j->sums)
        _mm512_storeu_pd(j->sums + r, s2);
    const __mmask8 ok = _mm512_cmp_pd_mask(s2, _mm512_set1_pd(NORM_RARE_MIN), _CMP_GE_OQ) &
                        _mm512_cmp_pd_mask(s2, _mm512_set1_pd(DBL_MAX), _CMP_LE_OQ);
    const __m512d sd = _mm512_sqrt_pd(_mm512_add_pd(_mm512_mul_pd(s2, _mm512_set1_pd(inv_n)),
                                                    _mm512_set1_pd((double)j->eps)));
    _mm256_storeu_ps(rs, _mm512_cvtpd_ps(_mm512_div_pd(_mm512_set1_pd(1.0), sd)));
    for (int k = 0; k < 8; k++)
        x16_rms_put(j, r + (size_t)k, (ok >> k) & 1u, rs[k], fm, nt, 8);
}

/* Streaming RMSNorm rows row .. (returned) two at a time while two are left, as the
 * LayerNorm pairs (x16_ln_pipe_nt()): pass 1 of the next pair with this pair's output in slices
 * between its blocks (a pair with a row on the rare path: that pair by x16_rms_emit(), then the
 * next pair's pass 1 alone). Each row exactly as alone. */
static size_t x16_rms_pairs_nt(const norm_x16_job *j, size_t row, double inv_n, int fm, int k)
{
    const size_t n = j->dim;
    const uint16_t *xa = j->x + row * j->xs;
    double s[2] = {x16_sq_avx512(xa, n, fm), x16_sq_avx512(xa + j->xs, n, fm)};
    for (; j->rows - row >= 4; row += 2) {
        double t[2];
        float r[2] = {0.0f, 0.0f};
        const int ok = !norm_rms_finish(s[0], inv_n, j->eps, &r[0]) &&
                       !norm_rms_finish(s[1], inv_n, j->eps, &r[1]);
        const uint16_t *xn = j->x + (row + 2) * j->xs;
        if (ok) {
            x16_oq q;
            const x16_out oa = {0.0f, 0.0f, r[0], NULL}, ob = {0.0f, 0.0f, r[1], NULL};
            x16_oq_init(&q, j, row, k, fm == N5_F16 ? x16_outp_rms_nt_f16 : x16_outp_rms_nt_bf16,
                        oa, ob, 2 * x16_blocks(n), X16_AHEAD_PIPE);
            (fm == N5_F16 ? x16_rms_sq2q_f16 : x16_rms_sq2q_bf16)(xn, xn + j->xs, n, &t[0],
                                                                  &t[1], &q);
            for (int h = 0; h < 2; h++) {
                if (j->sums)
                    j->sums[row + (size_t)h] = s[h];
                if (j->rstd)
                    j->rstd[row + (size_t)h] = r[h];
            }
        } else {
            x16_rms_emit(j, row, s[0], inv_n, fm, k, X16_AHEAD_PAIR);
            x16_rms_emit(j, row + 1, s[1], inv_n, fm, k, X16_AHEAD_PAIR);
            t[0] = x16_sq_avx512(xn, n, fm);
            t[1] = x16_sq_avx512(xn + j->xs, n, fm);
        }
        s[0] = t[0];
        s[1] = t[1];
    }
    x16_rms_emit(j, row, s[0], inv_n, fm, k, X16_AHEAD_PAIR);
    x16_rms_emit(j, row + 1, s[1], inv_n, fm, k, X16_AHEAD_PAIR);
    return row + 2;
}

static void x16_rms_rows_avx512(const norm_x16_job *j, int fm, int nt)
{
    const size_t n = j->dim;
    const double inv_n = 1.0 / (double)n;
    size_t r = 0;
    if (n <= X16_BATCH_MAX)
        for (; r + 8 <= j->rows; r += 8)
            x16_rms_rows8_avx512(j, r, n, inv_n, fm, nt);
    if (n <= X16_PAIR_MAX && (nt & X16_NT) && j->rows - r >= 4)
        r = x16_rms_pairs_nt(j, r, inv_n, fm, nt);
    if (n <= X16_PAIR_MAX) {
        for (; r + 2 <= j->rows; r += 2) {
            const uint16_t *xa = j->x + r * j->xs;
            double sa = x16_sq_avx512(xa, n, fm);
            double sb = x16_sq_avx512(xa + j->xs, n, fm);
            x16_rms_emit(j, r, sa, inv_n, fm, nt, X16_AHEAD_PAIR);
            x16_rms_emit(j, r + 1, sb, inv_n, fm, nt, X16_AHEAD_PAIR);
        }
    }
    for (; r < j->rows; r++)
        x16_rms_emit(j, r, x16_sq_avx512(j->x + r * j->xs, n, fm), inv_n, fm, nt,
                     X16_AHEAD_ONE);
}

void X16_CAT(norm_rmsnorm_x16, X16_TIER)(const norm_x16_job *j)
{
    const int fm = j->fmt == NORM_X16_F16 ? N5_F16 : N5_BF16;
    const int k = x16_flags(j, 0, fm) | (fm == N5_BF16 && j->cvt ? X16_CVT : 0);
    x16_rms_rows_avx512(j, fm, k);
    if (k & X16_NT)
        _mm_sfence();
}

/* ---- LayerNorm ---- */

/* Eight rows r .. r+7 (short rows): lane k of the double vectors computes exactly what
 * norm_ln_m0() and norm_ln_finish() compute for row k; the rows it does not finish at once
 * (pass 2 again, the rare path) go through x16_ln_emit(). */
static void x16_ln_rows8_avx512(const norm_x16_job *j, size_t r, size_t n, double inv_n,
                                   double inv_k, int fm, int nt)
{
    const uint16_t *x[8];
    acc_avx512 a[8], q[8];
    float x0[8], m0[8], mlo[8], rs[8], mean[8];
    double s0a[8], s1a[8], s2a[8];
    for (int k = 0; k < 8; k++) {
        x[k] = j->x + (r + (size_t)k) * j->xs;
        x0[k] = x16_x0(x[k], fm);
    }
    const size_t np = norm_ln_probe(n);
    for (int k = 0; k < 8; k++)
        a[k] = x16_acc_sum(x[k], np, x0[k], fm);
    const __m512d s0 = lanes_total8_avx512(a);
    const __m256 vm0 = _mm512_cvtpd_ps(_mm512_add_pd(_mm512_cvtps_pd(_mm256_loadu_ps(x0)),
                                                     _mm512_mul_pd(s0, _mm512_set1_pd(inv_k))));
    _mm256_storeu_ps(m0, vm0);
    for (int k = 0; k < 8; k++)
        x16_acc_ss(x[k], n, m0[k], &a[k], &q[k], fm);
    const __m512d s1 = lanes_total8_avx512(a), s2 = lanes_total8_avx512(q);
    const __mmask8 ok = ln_finish8_avx512(s0, s1, s2, vm0, inv_n, j->eps, mlo, rs, mean);
    _mm512_storeu_pd(s0a, s0);
    _mm512_storeu_pd(s1a, s1);
    _mm512_storeu_pd(s2a, s2);
    for (int k = 0; k < 8; k++) {
        const size_t row = r + (size_t)k;
        if ((ok >> k) & 1u)
            x16_ln_put(j, row, s0a[k], s1a[k], s2a[k], m0[k], mlo[k], rs[k], mean[k], fm, nt,
                       8);
        else
            x16_ln_emit(j, row, s0a[k], s1a[k], s2a[k], m0[k], inv_n, fm, nt, 8);
    }
}

/* ---- LayerNorm's short rows (n <= NORM_LN_SHORT) ----
 * Each row is widened exactly into a float buffer (a 16-bit weight and bias once per job), run
 * through the f32 kernel's short-row function ln_short_avx512() (norm_ln_short_avx512.h) into a
 * float buffer, and narrowed by narrow16_avx512() (ordinary stores, streaming jobs too): the float
 * results are the f32 op's on the widened inputs, which src/norm_x16.h defines the 16-bit op
 * from. A row on the rare path is norm_x16_layernorm_row_rare()'s. */
#include "norm_ln_short_avx512.h"

/* n <= NORM_LN_SHORT elements of format fm at s, widened into d (whole leaf rows: the lanes past
 * n +0). */
N5_INLINE void x16_widen_short_avx512(float *d, const void *s, size_t n, int fm)
{
    for (size_t i = 0; i < n; i += 16)
        _mm512_storeu_ps(d + i, leaf_x_avx512(N5_AT(s, i, fm), tail_mask_avx512(n - i),
                                              n - i < 16, fm));
}

/* All rows of the job; fm, nv, hw, hb compile-time constants (ln_short_avx512()'s). */
N5_INLINE void x16_ln_short_rows_avx512(const norm_x16_job *j, const float *w, const float *b,
                                        int fm, int nv, int hw, int hb)
{
    const size_t n = j->dim;
    const double inv_n = 1.0 / (double)n, inv_k = 1.0 / (double)norm_ln_probe(n);
    float xb[NORM_LN_SHORT] __attribute__((aligned(64)));
    float yb[NORM_LN_SHORT] __attribute__((aligned(64)));
    for (size_t r = 0; r < j->rows; r++) {
        const uint16_t *x = j->x + r * j->xs;
        uint16_t *y = j->y + r * j->ys;
        float *m = j->mean ? j->mean + r : NULL, *rs = j->rstd ? j->rstd + r : NULL;
        x16_widen_short_avx512(xb, x, n, fm);
        if (ln_short_avx512(1, yb, 0, xb, 0, w, b, n, j->eps, inv_n, inv_k, nv, hw, hb, m, rs,
                            j->sums ? j->sums + NORM_LN_SUMS_PER_ROW * r : NULL)) {
            norm_x16_layernorm_row_rare(j, y, x, m, rs);
            continue;
        }
        for (size_t i = 0; i < n; i += 16) {
            const __mmask16 mk = tail_mask_avx512(n - i);
            st16_avx512(y + i, narrow16_avx512(_mm512_load_ps(yb + i), fm), mk, n - i < 16, 0);
        }
    }
}

/* The short rows of a job of format fm (the instance chosen once per job). */
#define X16_SHORT(SUF, FM)                                                                     \
    X16_NOINLINE void x16_ln_short_##SUF(const norm_x16_job *j)                                \
    {                                                                                          \
        float wb[NORM_LN_SHORT], bb[NORM_LN_SHORT];                                            \
        const float *w = (const float *)j->w, *b = (const float *)j->b;                        \
        if (j->wact && w) {                                                                    \
            x16_widen_short_avx512(wb, j->w, j->dim, FM);                                      \
            w = wb;                                                                            \
        }                                                                                      \
        if (j->wact && b) {                                                                    \
            x16_widen_short_avx512(bb, j->b, j->dim, FM);                                      \
            b = bb;                                                                            \
        }                                                                                      \
        LN_SHORT_SEL(j->dim, w, j->plus1, b, X16_SR_##SUF);                                    \
    }
#define X16_SR_bf16(NV, HW, HB) x16_ln_short_rows_avx512(j, w, b, N5_BF16, (NV), (HW), (HB))
#define X16_SR_f16(NV, HW, HB) x16_ln_short_rows_avx512(j, w, b, N5_F16, (NV), (HW), (HB))
X16_SHORT(bf16, N5_BF16)
X16_SHORT(f16, N5_F16)
#undef X16_SHORT
#undef X16_SR_bf16
#undef X16_SR_f16

static void x16_ln_rows_avx512(const norm_x16_job *j, int fm, int nt)
{
    const size_t n = j->dim;
    if (n <= NORM_LN_SHORT) {
        if (fm == N5_F16)
            x16_ln_short_f16(j);
        else
            x16_ln_short_bf16(j);
        return;
    }
    const double inv_n = 1.0 / (double)n, inv_k = 1.0 / (double)norm_ln_probe(n);
    size_t r = 0;
    if (n <= X16_BATCH_MAX)
        for (; r + 8 <= j->rows; r += 8)
            x16_ln_rows8_avx512(j, r, n, inv_n, inv_k, fm, nt);
    /* as layernorm_avx512.c: longer rows go in pairs too when there is a weight or bias */
    if (n <= X16_PAIR_MAX || j->w || j->b) {
        /* two rows interleaved step by step, each exactly as one row alone */
        r = x16_ln_pairs(j, r, inv_n, inv_k, fm, nt);
    }
    for (; r < j->rows; r++)
        x16_ln_row(j, r, inv_n, inv_k, fm, nt);
}

void X16_CAT(norm_layernorm_x16, X16_TIER)(const norm_x16_job *j)
{
    const int fm = j->fmt == NORM_X16_F16 ? N5_F16 : N5_BF16;
    const int k = x16_flags(j, 1, fm) | (fm == N5_BF16 && j->cvt ? X16_CVT : 0);
    x16_ln_rows_avx512(j, fm, k);
    if (k & X16_NT)
        _mm_sfence();
}
