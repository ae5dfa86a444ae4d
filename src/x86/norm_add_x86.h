/*
 * The x86 tiers' entry points of the residual add (src/avx2/add_avx2.c,
 * src/avx512/add_avx512.c), one definition for both: NORM_ADD_X86_ENTRIES(ADD_F, ADD2_F, RUN)
 * defines
 *   void ADD_F(h, x, r, n)      h = x + r; a call of streaming size (norm_add_stream()) stores h
 *                               non-temporally past its first 64-byte boundary and ends with an
 *                               sfence, any other call stores it plainly;
 *   void ADD2_F(h, s, x, r, n)  the same sums into h (non-temporal past its first 64-byte
 *                               boundary, no sfence: the caller's, src/libnorm.c add_run) and
 *                               into the scratch s (ordinary stores);
 * from the tier's RUN(h, s, x, r, i0, n, nt): the add of elements [i0, n), h's stores
 * non-temporal (nt, a constant; h + i0 64-byte aligned) or ordinary, s NULL or a second output.
 * Included after the tier's header (the sfence intrinsic).
 */
#ifndef NORM_ADD_X86_H
#define NORM_ADD_X86_H

#include "norm_internal.h"

#define NORM_ADD_X86_ENTRIES(ADD_F, ADD2_F, RUN)                                               \
    void ADD_F(float *h, const float *x, const float *r, size_t n)                             \
    {                                                                                          \
        if (norm_add_stream(h, x, r, n)) {                                                     \
            /* a head of ordinary (masked) stores up to h's first 64-byte boundary, then       \
             * streamed */                                                                     \
            const size_t hd = norm_nt_head(h, n, 64);                                          \
            if (hd)                                                                            \
                RUN(h, NULL, x, r, 0, hd, 0);                                                  \
            RUN(h, NULL, x, r, hd, n, 1);                                                      \
            _mm_sfence();                                                                      \
            return;                                                                            \
        }                                                                                      \
        RUN(h, NULL, x, r, 0, n, 0);                                                           \
    }                                                                                          \
    void ADD2_F(float *h, float *s, const float *x, const float *r, size_t n)                  \
    {                                                                                          \
        const size_t hd = norm_nt_head(h, n, 64);                                              \
        if (hd)                                                                                \
            RUN(h, s, x, r, 0, hd, 0);                                                         \
        RUN(h, s, x, r, hd, n, 1);                                                             \
    }

#endif /* NORM_ADD_X86_H */
