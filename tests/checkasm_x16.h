/* The bf16 / f16 part of checkasm (tests/checkasm_x16.c). */
#ifndef CHECKASM_X16_H
#define CHECKASM_X16_H

#include <stddef.h>
#include <stdint.h>

#include "norm_internal.h"

/* which: 0 layernorm_bf16, 1 rmsnorm_bf16, 2 layernorm_f16, 3 rmsnorm_f16. sweep: the row-count
 * sweep; stream: the streaming-size jobs. Returns the failures (each printed), *cases the cases
 * run. */
int checkasm_x16(const norm_dsp *ref, const norm_dsp *tst, const char *tier, int which,
                 uint64_t seed, int quick, int guard, int sweep, int stream, size_t *cases);
const char *checkasm_x16_name(int which);

#endif
