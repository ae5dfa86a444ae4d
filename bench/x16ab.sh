#!/bin/sh
# In-process A/B of the x86 bf16 / f16 kernels (bench/x16ab.c): the working tree's
# src/avx2/norm_x16_avx2.c and src/avx512/norm_x16_avx512.c ("cur") against the same files at a
# base commit ("base"), both linked into one binary next to the f32 op of a release build.
#   bench/x16ab.sh BUILD BASE [x16ab arguments...]
#     BUILD  a configured and built release build directory of this tree (its libnorm_core.a)
#     BASE   the commit to compare against (e.g. main)
#   e.g. bench/x16ab.sh build main avx2 40 7 1
# x86-64 only; builds in a scratch directory, runs x16ab with the remaining arguments.
# X16AB_BASE_CFLAGS / X16AB_CUR_CFLAGS (environment): extra compiler flags for the base / cur
# kernels, e.g. X16AB_CUR_CFLAGS=-DX16_AHEAD_PIPE=8 to try a tuning constant against the tree's.
# The build is bench/ab.sh's (X16AB_DIR, X16AB_KEEP there).
AB=x16ab AB_ENV=X16AB AB_XFLAGS=-mf16c
AB_USAGE="bench/x16ab.sh BUILD BASE [avx2|avx512 REPS [OPS [THREADS [LLCX]]]]"
# shellcheck source=bench/ab.sh disable=SC2034
. "$(dirname "$0")/ab.sh"
ab_version() { # PREFIX SRCDIR FLAGS
    ab_cc "$1" "$2" "$3" avx2 avx2/norm_x16_avx2.c norm_rmsnorm_x16_avx2=rms_avx2 \
        norm_layernorm_x16_avx2=ln_avx2
    ab_cc "$1" "$2" "$3" avx512 avx512/norm_x16_avx512.c norm_rmsnorm_x16_avx512=rms_avx512 \
        norm_layernorm_x16_avx512=ln_avx512
}
ab_versions base cur
# the archive brings its own x16 kernels too (the dispatch table names them), unused here
# shellcheck disable=SC2119
ab_link
ab_run "$@"
