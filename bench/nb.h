/*
 * normbench internals shared by its translation units: the memory floor kernels (one TU per ISA,
 * compiled with that ISA's flags), the baselines (naive, ggml's algorithm; compiled once per ISA
 * like a -march=native build of the engine they stand for) and the optional oneDNN wrapper.
 */
#ifndef NB_H
#define NB_H

#include <stddef.h>
#include <stdint.h>

/* ---- memory floors (floor_x86.c per ISA, a portable C version in nb_limits.c) ----
 * Row r of x starts at x + r*xs (xs >= dim: per-head rows inside a wider tensor), row r of y at
 * y + r*dim (y is contiguous). Only the dim floats of each row are touched. */
typedef struct nb_floor_fns {
    const char *isa;
    /* Read-only pass over the rows of x; returns a sum so the loads cannot be dropped. */
    float (*read)(const float *x, size_t rows, size_t dim, size_t xs);
    /* The streaming limit: the least any norm moves: read every row of x (and w, b when not
     * NULL) once, write y. Row r: y = x*w + b (w and b), y = x*w (w only), y = x (neither). */
    void (*rw)(float *y, const float *x, const float *w, const float *b, size_t rows,
               size_t dim, size_t xs);
    /* The two-pass limit: per row, the read pass over the row, then the rw pass over the same
     * row (x read twice, the second time from where the first left it, as a norm does).
     * Returns the read pass's sum. */
    float (*rw2)(float *y, const float *x, const float *w, const float *b, size_t rows,
                 size_t dim, size_t xs);
    /* A memcpy-like stream, n floats (non-temporal stores for an aligned dst, as memcpy). */
    void (*copy)(float *dst, const float *src, size_t n);
} nb_floor_fns;

void nb_floor_generic(nb_floor_fns *f);
void nb_floor_avx2(nb_floor_fns *f);
void nb_floor_avx512(nb_floor_fns *f);

/* ---- baselines (baselines.c, compiled per ISA with NB_SUFFIX) ---- */
typedef struct nb_base_fns {
    const char *isa;
    /* Naive two-pass float LayerNorm / RMSNorm over rows [r0, r1). w, b may be NULL.
     * x's rows are xs floats apart (xs >= dim), y's dim. */
    void (*naive_ln)(float *y, const float *x, const float *w, const float *b, size_t r0,
                     size_t r1, size_t dim, size_t xs, float eps);
    void (*naive_rms)(float *y, const float *x, const float *w, size_t r0, size_t r1,
                      size_t dim, size_t xs, float eps);
    /* ggml's CPU ops: GGML_OP_NORM / GGML_OP_RMS_NORM for thread ith of nth (rows ith, ith+nth,
     * ... as ggml splits them; x's rows xs floats apart, as ggml reads a view through its nb01,
     * y contiguous), and the in-place broadcast GGML_OP_MUL / GGML_OP_ADD of a dim-vector over
     * rows [r0, r1) of y (ggml's contiguous split). */
    void (*ggml_norm)(float *y, const float *x, size_t rows, size_t dim, size_t xs, float eps,
                      unsigned ith, unsigned nth);
    void (*ggml_rms_norm)(float *y, const float *x, size_t rows, size_t dim, size_t xs,
                          float eps, unsigned ith, unsigned nth);
    void (*ggml_mul)(float *y, const float *w, size_t r0, size_t r1, size_t dim);
    void (*ggml_add)(float *y, const float *b, size_t r0, size_t r1, size_t dim);
} nb_base_fns;

void nb_base_generic(nb_base_fns *f);
void nb_base_avx2(nb_base_fns *f);
void nb_base_avx512(nb_base_fns *f);

/* ---- the fused group's own kernels (nb_fused_kern.c, compiled per ISA with NB_SUFFIX) ----
 * n counts elements except for floor (bytes per stream); nt: non-temporal stores (DRAM jobs). */
typedef struct nb_fused_fns {
    const char *isa;
    /* the streaming limit of a fused op: nin (1..3) inputs of n bytes read once, nout (1, 2)
     * outputs of n bytes written once */
    void (*floor)(void *const *out, int nout, const void *const *in, int nin, size_t n, int nt);
    /* the separate passes: h = x + r; y *= silu(z) (z / (1 + exp(-z))); conversions */
    void (*add)(float *h, const float *x, const float *r, size_t n, int nt);
    void (*gate_silu)(float *y, const float *z, size_t n);
    /* g = silu(z) alone: the gate's arithmetic (exp, division), no other stream */
    void (*gate_only)(float *g, const float *z, size_t n);
    void (*bf16_to_f32)(float *d, const uint16_t *s, size_t n);
    void (*f32_to_bf16)(uint16_t *d, const float *s, size_t n);
    void (*f16_to_f32)(float *d, const uint16_t *s, size_t n);
    void (*f32_to_f16)(uint16_t *d, const float *s, size_t n);
} nb_fused_fns;

void nb_fused_kern_generic(nb_fused_fns *f);
void nb_fused_kern_avx2(nb_fused_fns *f);
void nb_fused_kern_avx512(nb_fused_fns *f);

/* ---- oneDNN (nb_dnnl.c, built only when oneDNN is found: NB_HAVE_DNNL) ---- */
typedef struct nb_dnnl nb_dnnl;
/* "2.6.3" etc. */
const char *nb_dnnl_version(void);
/* Called once in every thread that executes primitives: limits oneDNN's own (OpenMP) threading
 * in that thread to 1, so the benchmark's pool does the splitting as for every other row. */
void nb_dnnl_thread_init(void);
/* A forward-inference layer normalization primitive over `rows` x `dim` (row-major) reading x
 * (and w as scale, b as shift when affine) and writing y. NULL on error (message in err). */
nb_dnnl *nb_dnnl_create(int affine, float *y, const float *x, const float *w, const float *b,
                        size_t rows, size_t dim, float eps, char *err, size_t errlen);
int nb_dnnl_exec(nb_dnnl *d);
void nb_dnnl_destroy(nb_dnnl *d);

#endif /* NB_H */
