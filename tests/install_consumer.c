/* A program an engine author would write, built only from what `meson install` put in a staging
 * directory, found through pkg-config (tests/install.sh). */
#include <libnorm.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
    float x[2][8], y[2][8], mean[2], rstd[2];
    for (int r = 0; r < 2; r++)
        for (int i = 0; i < 8; i++)
            x[r][i] = (float)(i * (r + 1)) - 3.0f;
    libnorm_opts o = LIBNORM_OPTS_INIT;
    o.mean = mean;
    o.rstd = rstd;
    int st = libnorm_layernorm_f32_ex(&y[0][0], &x[0][0], NULL, NULL, 2, 8, 0.0f, &o);
    if (st != LIBNORM_OK) {
        printf("layernorm: %s\n", libnorm_strerror(st));
        return 1;
    }
    /* row 0 is -3..4: mean 0.5, population variance 5.25 */
    if (fabsf(mean[0] - 0.5f) > 1e-6f || fabsf(rstd[0] - (float)(1.0 / sqrt(5.25))) > 1e-6f ||
        fabsf(y[0][0] - (float)(-3.5 / sqrt(5.25))) > 1e-6f) {
        printf("wrong result: mean %g rstd %g y %g\n", mean[0], rstd[0], y[0][0]);
        return 1;
    }
    if (libnorm_version() != LIBNORM_VERSION ||
        strcmp(libnorm_version_string(), LIBNORM_VERSION_STRING) != 0) {
        printf("header %s, library %s\n", LIBNORM_VERSION_STRING, libnorm_version_string());
        return 1;
    }
    printf("consumer: libnorm %s on %s: ok\n", libnorm_version_string(), libnorm_active_isa());
    return 0;
}
