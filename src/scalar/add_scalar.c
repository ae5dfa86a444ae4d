/*
 * The residual add of the fused add + norm (libnorm_add_*norm_f32_ex), scalar tier:
 * h[i] = x[i] + r[i], one IEEE float addition per element, with the NaN it returns pinned: when
 * x[i] is a NaN, h[i] is that NaN quieted (whatever r[i] is). IEEE 754 leaves open which NaN a
 * sum of two NaNs returns, and compilers swap the operands of a commutative addition at will, so
 * without the pin two tiers (or two builds) could return different NaN bits. The rule is the one
 * x86 and AArch64 apply to the first operand; every tier computes it with a compare and a blend.
 * h may be x or r exactly: each element is read before it is written.
 */
#include <stdint.h>
#include <string.h>

#include "../norm_internal.h"

void norm_add_f32_scalar(float *h, const float *x, const float *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float a = x[i], s = a + r[i];
        uint32_t u;
        memcpy(&u, &a, sizeof u);
        u |= 0x00400000u; /* quiet */
        float q;
        memcpy(&q, &u, sizeof q);
        h[i] = a != a ? q : s;
    }
}
