#!/bin/sh
# In-process A/B of the x86 f32 LayerNorm / RMSNorm kernels on rows that stay in registers
# (bench/regab.c): the working tree's src/avx2/{layernorm,rmsnorm}_avx2.c and
# src/avx512/{layernorm,rmsnorm}_avx512.c ("cur") against the same files at a base commit
# ("base"), both linked into one binary with a release build's libnorm_core.a.
#   bench/regab.sh BUILD BASE [regab arguments...]     e.g. bench/regab.sh build main avx512 40
# REGAB_BASE_CFLAGS / REGAB_CUR_CFLAGS (environment): extra compiler flags for either side;
# REGAB_KEEP=FILE keeps a copy of the binary. The build is bench/ab.sh's (REGAB_DIR there).
AB=regab AB_ENV=REGAB AB_XFLAGS=-mf16c
AB_USAGE="bench/regab.sh BUILD BASE [avx2|avx512 REPS [SHAPES]]"
# shellcheck source=bench/ab.sh disable=SC2034
. "$(dirname "$0")/ab.sh"
ab_version() { ab_f32_norms "$@"; } # PREFIX SRCDIR FLAGS
ab_versions base cur
# shellcheck disable=SC2119
ab_link
ab_run "$@"
