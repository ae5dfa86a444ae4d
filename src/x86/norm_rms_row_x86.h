/*
 * The x86 tiers' RMSNorm rows of n = 64 or 128 one at a time (src/avx2/rmsnorm_avx2.c,
 * src/avx512/rmsnorm_avx512.c): the scalar finish of a row's statistics and the row loop of the
 * jobs that go row by row (the tiers' headers say which and why). Included after the tier's
 * header, with
 *   NRR_INLINE             the tier's always-inline function qualifiers
 *   NRR_STAT(x, n, eps, s2p, rstd)      the tier's statistics of one row (returns 0 for the rare
 *                                       path, else 1 with *rstd; *s2p the total of squares)
 *   NRR_OUT(y, x, w, n, rstd, hw, nt)   the tier's pass 2 of one row (nt: non-temporal stores)
 *   NRR_ROWS1              the name of the row loop to define
 * defined. SSE2 / FMA scalar doubles only, so the AVX2, AVX-512 and emulated builds run the same
 * instructions.
 */
#ifndef NORM_RMS_ROW_X86_H
#define NORM_RMS_ROW_X86_H

#include "norm_internal.h"

/* norm_rms_finish() of a row of n = 64 or 128 floats from its total of squares s2v (lane 0):
 * returns 0 for the rare path, else 1 with *rstd = (float)(1.0 / sqrt(s2 * inv_n + eps)); the
 * product s2 * inv_n (inv_n = 1/n, an exact power of two) is exact for every s2 that is not rare,
 * so the fma rounds the same sum once. *s2p = s2. */
static inline __attribute__((always_inline)) int norm_rms_row_finish_x86(__m128d s2v, size_t n,
                                                                         float eps, double *s2p,
                                                                         float *rstd)
{
    const double s2 = _mm_cvtsd_f64(s2v);
    *s2p = s2;
    if (__builtin_expect(!(s2 >= NORM_RARE_MIN && s2 <= DBL_MAX), 0))
        return 0;
    const __m128d t = _mm_fmadd_sd(s2v, _mm_set_sd(1.0 / (double)n), _mm_set_sd((double)eps));
    const __m128d r = _mm_div_sd(_mm_set_sd(1.0), _mm_sqrt_sd(t, t));
    *rstd = _mm_cvtss_f32(_mm_cvtsd_ss(_mm_setzero_ps(), r));
    return 1;
}

#endif /* NORM_RMS_ROW_X86_H */

#ifdef NRR_ROWS1
/* Jobs of dims 64 and 128 (n a constant), RMSNorm's kind, row by row: each row's statistics as
 * the one-row function computes them (NRR_STAT), then its pass 2 at once, from x still in L1; nt:
 * non-temporal stores for rows whose y is 64-byte aligned (ordinary stores for the others). */
NRR_INLINE void NRR_ROWS1(const norm_job *j, size_t n, int hw, int nt)
{
    const float *const w = j->w;
    for (size_t r = 0; r < j->rows; r++) {
        const float *x = j->x + r * j->xs;
        float *y = j->y + r * j->ys;
        double s2;
        float rstd;
        const int ok = NRR_STAT(x, n, j->eps, &s2, &rstd);
        if (j->sums)
            j->sums[r] = s2;
        if (__builtin_expect(!ok, 0)) {
            norm_rmsnorm_row_rare(y, x, w, n, j->eps, j->rstd ? j->rstd + r : NULL, j->wplus);
            continue;
        }
        if (nt && ((size_t)y & 63) == 0)
            NRR_OUT(y, x, w, n, rstd, hw, 1);
        else
            NRR_OUT(y, x, w, n, rstd, hw, 0);
        if (j->rstd)
            j->rstd[r] = rstd;
    }
}
#endif
