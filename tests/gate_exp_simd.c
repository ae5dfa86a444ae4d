/*
 * tests/test_gate_exp.c's calls into SLEEF's FMA variants, one TU per instruction set (built with
 * that set's flags: sleef.h declares the AVX2 prototypes only under __AVX__, AVX-512 under
 * __AVX512F__, purecfma only where FP_FAST_FMA is defined). n is a multiple of the width.
 */
#include <sleef.h>
#include <stddef.h>

#if defined(GATE_EXP_AVX512)
#include <immintrin.h>
void gate_exp_avx512(const float *in, float *out, size_t n);
void gate_exp_avx512(const float *in, float *out, size_t n)
{
    for (size_t i = 0; i < n; i += 16)
        _mm512_storeu_ps(out + i, Sleef_expf16_u10avx512f(_mm512_loadu_ps(in + i)));
}
#elif defined(__x86_64__)
#include <immintrin.h>
void gate_exp_avx2(const float *in, float *out, size_t n);
void gate_exp_purecfma(const float *in, float *out, size_t n);
void gate_exp_avx2(const float *in, float *out, size_t n)
{
    for (size_t i = 0; i < n; i += 8)
        _mm256_storeu_ps(out + i, Sleef_expf8_u10avx2(_mm256_loadu_ps(in + i)));
}
void gate_exp_purecfma(const float *in, float *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = Sleef_expf1_u10purecfma(in[i]);
}
#elif defined(__aarch64__)
#include <arm_neon.h>
void gate_exp_advsimd(const float *in, float *out, size_t n);
void gate_exp_purecfma(const float *in, float *out, size_t n);
void gate_exp_advsimd(const float *in, float *out, size_t n)
{
    for (size_t i = 0; i < n; i += 4)
        vst1q_f32(out + i, Sleef_expf4_u10advsimd(vld1q_f32(in + i)));
}
void gate_exp_purecfma(const float *in, float *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = Sleef_expf1_u10purecfma(in[i]);
}
#endif
