/*
 * oneDNN baseline (built only when meson finds oneDNN; Debian 12 ships oneDNN 2.6, whose C API
 * is the op-descriptor one used here). A forward-inference layer normalization primitive over a
 * rows x dim row-major f32 tensor, with separate scale and shift (dnnl_use_scale |
 * dnnl_use_shift, new in 2.6) for LayerNorm with weight and bias, no flags without. oneDNN 2.6
 * has no RMSNorm.
 *
 * Every benchmark thread creates, executes and destroys its own primitive over its chunk of
 * rows, with oneDNN's OpenMP threading limited to one thread in that thread (so the split is the
 * same as for every other row of the table). The scratchpad is user-managed and allocated here,
 * outside the timed region, so that an execution allocates nothing.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dnnl.h>
#if defined(NB_HAVE_OPENMP)
#include <omp.h>
#endif

#include "nb.h"

struct nb_dnnl {
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t prim;
    dnnl_stream_t stream;
    dnnl_memory_t mem[8];
    dnnl_exec_arg_t args[8];
    int nargs;
    void *owned[3]; /* scratchpad and (if a build asks for them) statistics buffers */
    int nowned;
};

static dnnl_engine_t g_engine;
static dnnl_status_t g_engine_status = dnnl_runtime_error;

const char *nb_dnnl_version(void)
{
    static char buf[32];
    const dnnl_version_t *v = dnnl_version();
    snprintf(buf, sizeof buf, "%d.%d.%d", v->major, v->minor, v->patch);
    return buf;
}

void nb_dnnl_thread_init(void)
{
#if defined(NB_HAVE_OPENMP)
    omp_set_num_threads(1);
#endif
}

void nb_dnnl_destroy(nb_dnnl *d)
{
    if (!d)
        return;
    for (int i = 0; i < d->nargs; i++)
        dnnl_memory_destroy(d->mem[i]);
    if (d->prim)
        dnnl_primitive_destroy(d->prim);
    if (d->pd)
        dnnl_primitive_desc_destroy(d->pd);
    if (d->stream)
        dnnl_stream_destroy(d->stream);
    for (int i = 0; i < d->nowned; i++)
        free(d->owned[i]);
    free(d);
}

static int add_arg(nb_dnnl *d, int arg, const dnnl_memory_desc_t *md, void *ptr)
{
    if (dnnl_memory_create(&d->mem[d->nargs], md, g_engine, ptr) != dnnl_success)
        return -1;
    d->args[d->nargs].arg = arg;
    d->args[d->nargs].memory = d->mem[d->nargs];
    d->nargs++;
    return 0;
}

#define TRY(call, what)                                                                     \
    do {                                                                                    \
        dnnl_status_t st_ = (call);                                                         \
        if (st_ != dnnl_success) {                                                          \
            snprintf(err, errlen, "oneDNN: %s failed (status %d)", what, (int)st_);         \
            goto fail;                                                                      \
        }                                                                                   \
    } while (0)

nb_dnnl *nb_dnnl_create(int affine, float *y, const float *x, const float *w, const float *b,
                        size_t rows, size_t dim, float eps, char *err, size_t errlen)
{
    dnnl_primitive_attr_t attr = NULL;
    nb_dnnl *d = calloc(1, sizeof *d);
    if (!d) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    /* One engine for the process; creating it is thread-safe but done once, by whoever is first
     * (normbench creates primitives from every pool thread at the same time, so guard it). */
    static int once;
    if (!__atomic_load_n(&once, __ATOMIC_ACQUIRE)) {
        static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
        pthread_mutex_lock(&mu);
        if (!once) {
            g_engine_status = dnnl_engine_create(&g_engine, dnnl_cpu, 0);
            __atomic_store_n(&once, 1, __ATOMIC_RELEASE);
        }
        pthread_mutex_unlock(&mu);
    }
    TRY(g_engine_status, "dnnl_engine_create");

    dnnl_memory_desc_t data_md, wmd;
    dnnl_dims_t ddims = {(dnnl_dim_t)rows, (dnnl_dim_t)dim};
    dnnl_dims_t wdims = {(dnnl_dim_t)dim};
    TRY(dnnl_memory_desc_init_by_tag(&data_md, 2, ddims, dnnl_f32, dnnl_ab), "memory desc");
    TRY(dnnl_memory_desc_init_by_tag(&wmd, 1, wdims, dnnl_f32, dnnl_a), "memory desc");

    dnnl_layer_normalization_desc_t ld;
    unsigned flags = affine ? (unsigned)(dnnl_use_scale | dnnl_use_shift) : 0u;
    TRY(dnnl_layer_normalization_forward_desc_init(&ld, dnnl_forward_inference, &data_md, NULL,
                                                   eps, flags),
        "dnnl_layer_normalization_forward_desc_init");
    TRY(dnnl_primitive_attr_create(&attr), "dnnl_primitive_attr_create");
    TRY(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user),
        "set_scratchpad_mode");
    TRY(dnnl_primitive_desc_create(&d->pd, &ld, attr, g_engine, NULL), "dnnl_primitive_desc_create");
    TRY(dnnl_primitive_create(&d->prim, d->pd), "dnnl_primitive_create");
    TRY(dnnl_stream_create(&d->stream, g_engine, dnnl_stream_default_flags), "dnnl_stream_create");

    if (add_arg(d, DNNL_ARG_SRC, &data_md, (void *)x) || add_arg(d, DNNL_ARG_DST, &data_md, y))
        goto memfail;
    if (affine && (add_arg(d, DNNL_ARG_SCALE, &wmd, (void *)w) ||
                   add_arg(d, DNNL_ARG_SHIFT, &wmd, (void *)b)))
        goto memfail;
    /* Statistics are not outputs in inference; should a build want them anyway, give it room. */
    const int stat_args[2] = {DNNL_ARG_MEAN, DNNL_ARG_VARIANCE};
    for (int k = 0; k < 3; k++) {
        int arg = k < 2 ? stat_args[k] : DNNL_ARG_SCRATCHPAD;
        const dnnl_memory_desc_t *md =
            k < 2 ? dnnl_primitive_desc_query_md(d->pd, dnnl_query_exec_arg_md, arg)
                  : dnnl_primitive_desc_query_md(d->pd, dnnl_query_scratchpad_md, 0);
        if (!md || md->ndims == 0)
            continue;
        size_t sz = dnnl_memory_desc_get_size(md);
        if (sz == 0)
            continue;
        void *p = NULL;
        if (posix_memalign(&p, 64, sz) != 0)
            goto memfail;
        memset(p, 0, sz); /* pre-touched: no page faults inside the timed region */
        d->owned[d->nowned++] = p;
        if (add_arg(d, arg, md, p))
            goto memfail;
    }
    dnnl_primitive_attr_destroy(attr);
    return d;
memfail:
    snprintf(err, errlen, "oneDNN: memory object creation failed");
fail:
    if (attr)
        dnnl_primitive_attr_destroy(attr);
    nb_dnnl_destroy(d);
    return NULL;
}

int nb_dnnl_exec(nb_dnnl *d)
{
    if (dnnl_primitive_execute(d->prim, d->stream, d->nargs, d->args) != dnnl_success)
        return -1;
    return dnnl_stream_wait(d->stream) == dnnl_success ? 0 : -1;
}
