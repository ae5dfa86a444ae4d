/*
 * The literal definition of the canonical arithmetic, frozen: the scalar tier's reduction and row
 * functions as they were written before the scalar tier was optimised (tests/canon_ref.c). The
 * scalar tier must equal it bit for bit (tests/test_scalar_ref.c).
 */
#ifndef CANON_REF_H
#define CANON_REF_H

#include "norm_internal.h"

void canon_ref_layernorm_f32(const norm_job *job);
void canon_ref_rmsnorm_f32(const norm_job *job);
void canon_ref_rmsnorm_back_f32(const norm_job *job);

#endif
