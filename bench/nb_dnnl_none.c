/*
 * The oneDNN wrapper's interface (nb.h) when meson did not find oneDNN: the version reads
 * "not built", and normbench never lists the onednn row, so the rest is never called.
 */
#include <stdio.h>

#include "nb.h"

const char *nb_dnnl_version(void) { return "not built"; }
void nb_dnnl_thread_init(void) {}
nb_dnnl *nb_dnnl_create(int affine, float *y, const float *x, const float *w, const float *b,
                        size_t rows, size_t dim, float eps, char *err, size_t errlen)
{
    snprintf(err, errlen, "oneDNN not built");
    return NULL;
}
int nb_dnnl_exec(nb_dnnl *d) { return -1; }
void nb_dnnl_destroy(nb_dnnl *d) {}
