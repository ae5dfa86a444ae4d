// The public header compiles alone as C++ with -Wall -Wextra -pedantic -Werror, and links.
#include "libnorm.h"

int main()
{
    libnorm_opts o = LIBNORM_OPTS_INIT;
    float x[4] = {1, 2, 3, 4}, y[4];
    int st = libnorm_rmsnorm_f32_ex(y, x, nullptr, 1, 4, 1e-5f, &o);
    return st == LIBNORM_OK && libnorm_strerror(st) != nullptr ? 0 : 1;
}
