/* The public header compiles alone as C99 with -Wall -Wextra -pedantic -Werror (meson sets the
 * flags), and its declarations link against libnorm.so. */
#include "libnorm.h"
#include "libnorm.h" /* and twice */

int main(void)
{
    libnorm_opts o = LIBNORM_OPTS_INIT;
    float x[4] = {1, 2, 3, 4}, y[4];
    int st = libnorm_layernorm_f32_ex(y, x, 0, 0, 1, 4, 1e-5f, &o);
    return st == LIBNORM_OK && libnorm_version() == LIBNORM_VERSION ? 0 : 1;
}
