/*
 * The gate's exp: the scalar tier's C port of SLEEF's expf u10 (src/scalar/gated_expf.h,
 * norm_gate_expf) against SLEEF's own FMA variants, bit for bit, on every special value, dense
 * windows around the thresholds, and a sample of all 2^32 bit patterns (every 61st; --quick:
 * every 4099th; --all: every one, about 2 minutes natively):
 *   x86-64: Sleef_expf1_u10purecfma and Sleef_expf8_u10avx2 when the CPU has AVX2 + FMA,
 *           Sleef_expf16_u10avx512f when it has AVX-512F;
 *   aarch64: Sleef_expf4_u10advsimd and Sleef_expf1_u10purecfma.
 * On a CPU without FMA (qemu-x86_64 -cpu Nehalem) no SLEEF variant can run; the port still must
 * give the committed digest of its outputs on the --quick sample, which is the same constant on
 * every architecture and CPU (so the port is the same function there as where it was compared).
 * Exits 1 on any difference.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "norm_internal.h"

#if defined(__x86_64__)
void gate_exp_avx2(const float *in, float *out, size_t n);
void gate_exp_purecfma(const float *in, float *out, size_t n);
void gate_exp_avx512(const float *in, float *out, size_t n);
#elif defined(__aarch64__)
void gate_exp_advsimd(const float *in, float *out, size_t n);
void gate_exp_purecfma(const float *in, float *out, size_t n);
#endif

/* FNV-1a 64 of the port's output bits on the --quick sample (stride 4099 from 0, then the
 * specials and windows): the same on every CPU and architecture. */
#define PORT_DIGEST 0x7f620573b85fa079ull

typedef void (*vfn)(const float *, float *, size_t);
typedef struct {
    const char *name;
    vfn fn;
    uint64_t compared, bad;
} variant;

#define CHUNK 4096
static variant vars[4];
static int nvars;
static uint64_t digest = 0xcbf29ce484222325ull;

static void check_chunk(const float *in, size_t n, int hash)
{
    float port[CHUNK], got[CHUNK];
    for (size_t i = 0; i < n; i++)
        port[i] = norm_gate_expf(in[i]);
    if (hash)
        for (size_t i = 0; i < n; i++) {
            uint32_t b;
            memcpy(&b, &port[i], 4);
            for (int k = 0; k < 4; k++) {
                digest ^= (b >> (8 * k)) & 0xffu;
                digest *= 0x100000001b3ull;
            }
        }
    for (int v = 0; v < nvars; v++) {
        vars[v].fn(in, got, n); /* n is a multiple of 16 */
        vars[v].compared += n;
        for (size_t i = 0; i < n; i++)
            if (memcmp(&port[i], &got[i], 4) != 0 && vars[v].bad++ < 5) {
                uint32_t a, b, c;
                memcpy(&a, &in[i], 4);
                memcpy(&b, &port[i], 4);
                memcpy(&c, &got[i], 4);
                printf("  FAIL expf(%.9g = 0x%08x): port 0x%08x, %s 0x%08x\n", in[i], a, b,
                       vars[v].name, c);
            }
    }
}

/* Inputs through a buffer of CHUNK (padded with 0 to a multiple of 16). */
static float buf[CHUNK];
static size_t nbuf;
static int buf_hash;
static void flush(void)
{
    while (nbuf % 16)
        buf[nbuf++] = 0.0f;
    if (nbuf)
        check_chunk(buf, nbuf, buf_hash);
    nbuf = 0;
}
static void push_bits(uint32_t b)
{
    memcpy(&buf[nbuf++], &b, 4);
    if (nbuf == CHUNK)
        flush();
}
static void push(float f)
{
    uint32_t b;
    memcpy(&b, &f, 4);
    push_bits(b);
}

static void specials_and_windows(void)
{
    static const float sp[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, -NAN, FLT_MAX, -FLT_MAX,
                               FLT_MIN, -FLT_MIN, 1e-45f, -1e-45f, 1.0f, -1.0f, 0.5f, -0.5f,
                               88.0f, 88.72283f, 88.72284f, 89.0f, -87.33654f, -88.0f, -89.0f,
                               -100.0f, 100.0f, -103.97208f, -104.0f, 104.0f, -105.0f, 105.0f};
    for (size_t i = 0; i < sizeof sp / sizeof sp[0]; i++)
        push(sp[i]);
    /* signalling and quiet NaNs of both signs, a few payloads */
    static const uint32_t nans[] = {0x7f800001u, 0x7fa00000u, 0x7fc00000u, 0x7fffffffu,
                                    0xff800001u, 0xffc00001u, 0xffffffffu, 0x7fc12345u};
    for (size_t i = 0; i < sizeof nans / sizeof nans[0]; i++)
        push_bits(nans[i]);
    /* every float within 2^12 ulps of the thresholds and of the overflow / underflow edges */
    static const float centres[] = {-104.0f, 100.0f, 88.72283f, -87.33654f, -103.27893f, 0.0f};
    for (size_t c = 0; c < sizeof centres / sizeof centres[0]; c++) {
        uint32_t b;
        memcpy(&b, &centres[c], 4);
        for (uint32_t d = 0; d < 4096; d++) {
            push_bits(b + d);
            push_bits(b - d);
        }
    }
}

int main(int argc, char **argv)
{
    int quick = 0, all = 0, print = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
        else if (strcmp(argv[i], "--all") == 0)
            all = 1;
        else if (strcmp(argv[i], "--print") == 0)
            print = 1;
        else {
            fprintf(stderr, "usage: test_gate_exp [--quick | --all] [--print]\n");
            return 2;
        }
    }
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        vars[nvars++] = (variant){"Sleef_expf1_u10purecfma", gate_exp_purecfma, 0, 0};
        vars[nvars++] = (variant){"Sleef_expf8_u10avx2", gate_exp_avx2, 0, 0};
    }
    if (__builtin_cpu_supports("avx512f"))
        vars[nvars++] = (variant){"Sleef_expf16_u10avx512f", gate_exp_avx512, 0, 0};
#elif defined(__aarch64__)
    vars[nvars++] = (variant){"Sleef_expf4_u10advsimd", gate_exp_advsimd, 0, 0};
    vars[nvars++] = (variant){"Sleef_expf1_u10purecfma", gate_exp_purecfma, 0, 0};
#endif
    /* the --quick sample and the specials, hashed */
    buf_hash = 1;
    for (uint64_t b = 0; b < (1ull << 32); b += 4099)
        push_bits((uint32_t)b);
    specials_and_windows();
    flush();
    buf_hash = 0;
    if (!quick) {
        const uint64_t step = all ? 1 : 61;
        for (uint64_t b = 0; b < (1ull << 32); b += step)
            push_bits((uint32_t)b);
        flush();
    }
    int failed = 0;
    for (int v = 0; v < nvars; v++) {
        printf("gate exp: port vs %-24s %llu inputs, %llu differ%s\n", vars[v].name,
               (unsigned long long)vars[v].compared, (unsigned long long)vars[v].bad,
               vars[v].bad ? "" : " (bit-identical)");
        failed |= vars[v].bad != 0;
    }
    if (nvars == 0)
        printf("gate exp: no SLEEF FMA variant runs on this CPU: the port alone, against its "
               "digest\n");
    if (print)
        printf("#define PORT_DIGEST 0x%016llxull\n", (unsigned long long)digest);
    else if (digest != PORT_DIGEST) {
        printf("gate exp: FAIL: digest of the port on the quick sample 0x%016llx, expected "
               "0x%016llx\n", (unsigned long long)digest, (unsigned long long)PORT_DIGEST);
        failed = 1;
    } else {
        printf("gate exp: digest of the port on the quick sample matches (0x%016llx)\n",
               (unsigned long long)digest);
    }
    printf("gate exp: %s\n", failed ? "FAIL" : "PASS");
    return failed;
}
