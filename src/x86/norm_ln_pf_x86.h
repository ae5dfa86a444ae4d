/*
 * The x86 tiers' prefetch of short LayerNorm rows ahead of their batches in streaming jobs
 * (src/avx2/layernorm_avx2.c, src/avx512/layernorm_avx512.c: x from DRAM). Plain C: one helper
 * for both tiers. A prefetch changes no result (a wrong address only costs time: no test sees
 * it, only the benchmarks).
 */
#ifndef NORM_LN_PF_X86_H
#define NORM_LN_PF_X86_H

#include <stdint.h>

#include "../norm_internal.h"

/* Locality hint of the batches' prefetches (3: L1; L2 hints measured a little slower on both
 * tiers). */
#ifndef NORM_LN_BPF_LOC
#define NORM_LN_BPF_LOC 3
#endif

/* Prefetch x of rows r .. r + nr - 1 of the job (those that exist; rows of n floats, row stride
 * j->xs), line by line: one run of lines when the rows are contiguous, else row by row; l2 (a
 * compile-time constant): with locality 1 (prefetcht2) instead of NORM_LN_BPF_LOC. Always
 * inlined: as a plain static inline function gcc laid out the AVX2 batches differently, and
 * dim 256 from DRAM measured 97-113 against 53-61 ns/row (in one process, interleaved). */
static inline __attribute__((always_inline)) void
norm_ln_prefetch_rows_x86(const norm_job *j, size_t r, size_t nr, size_t n, int l2)
{
    if (r >= j->rows)
        return;
    if (nr > j->rows - r)
        nr = j->rows - r;
    const size_t rb = n * sizeof(float);
    const size_t rows = j->xs == n ? 1 : nr;
    const size_t span = j->xs == n ? nr * rb : rb;
    for (size_t k = 0; k < rows; k++) {
        const char *p = (const char *)(j->x + (r + k) * j->xs);
        const char *e = p + span;
        for (p = (const char *)((uintptr_t)p & ~(uintptr_t)63); p < e; p += 64)
            if (l2)
                __builtin_prefetch(p, 0, 1);
            else
                __builtin_prefetch(p, 0, NORM_LN_BPF_LOC);
    }
}

#endif
