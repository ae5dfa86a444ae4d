#!/bin/sh
# In-process A/B of the x86 f32 LayerNorm and RMSNorm kernels from DRAM (bench/lnab.c):
# src/avx2/{layernorm,rmsnorm}_avx2.c and src/avx512/{layernorm,rmsnorm}_avx512.c at a base
# commit (v0) against the working tree's (v1, and more versions of the working tree with other
# compiler flags), all linked into one binary next to the streaming limit (normbench's floor pass).
#   bench/lnab.sh BUILD BASE [lnab arguments...]
#     BUILD  a configured and built release build directory of this tree (its libnorm_core.a and
#            the floor libraries)
#     BASE   the commit to compare against (e.g. main)
#   e.g. bench/lnab.sh build main avx512 15 4096,16384 3 1   (RMSNorm: AFFINE 4)
# LNAB_FLAGS (environment): extra versions of the working tree, '|'-separated compiler flag sets,
# e.g. LNAB_FLAGS='-DLN_NT_PF2=0|-DLN_NT_PFLOC=2' adds v2 and v3. LNAB_BASE_CFLAGS,
# LNAB_CUR_CFLAGS: extra flags for v0 / v1. LNAB_DIR: build there and keep it (default: a scratch
# directory, removed). LNAB_TIERS: the tiers to build, "avx2 avx512" (default), "avx2" or "avx512".
# LNAB_YOFF: y this many bytes past its 2 MiB-aligned buffer (0-4096; x and y otherwise share
# their address bits below 2 MiB). AB_HUGE=0: 4 KiB pages (default: transparent huge pages, as
# normbench's buffers).
# x86-64 only; the build is bench/ab.sh's; runs lnab with the remaining arguments.
AB=lnab AB_ENV=LNAB AB_TIERS=${LNAB_TIERS:-avx2 avx512}
AB_USAGE="bench/lnab.sh BUILD BASE [avx2|avx512 REPS [DIMS [THREADS [AFFINE [LLCX]]]]]"
# shellcheck source=bench/ab.sh disable=SC2034
. "$(dirname "$0")/ab.sh"
ab_version() { ab_f32_norms "$@"; } # PREFIX SRCDIR FLAGS
ab_versions v0 v1 v
# the versions' entry points and names for lnab.c (a tier not built: null entries)
G=$T/versions.c
{
    echo '#include "norm_internal.h"'
    i=0
    while [ $i -lt "$AB_NV" ]; do
        for t in avx2 avx512; do
            if ab_has $t; then
                echo "void v${i}_ln_$t(const norm_job *);"
                echo "void v${i}_rms_$t(const norm_job *);"
            else
                echo "#define v${i}_ln_$t 0"
                echo "#define v${i}_rms_$t 0"
            fi
        done
        i=$((i + 1))
    done
    echo "const int lnab_nv = $AB_NV;"
    printf 'const char *const lnab_names[] = {%s};\n' "$AB_NAMES"
    for t in avx2 avx512; do
        for o in ln rms; do
            printf 'void (*const lnab_%s_%s[])(const norm_job *) = {' $o $t
            i=0
            while [ $i -lt "$AB_NV" ]; do printf 'v%d_%s_%s, ' $i $o $t; i=$((i + 1)); done
            echo '};'
        done
    done
} > "$G"
$CC -O2 -std=c11 -Isrc -Iinclude -c "$G" -o "$T/versions.o"
ab_link "$T/versions.o" "$B"/bench/libnb_floor_avx2.a "$B"/bench/libnb_floor_avx512.a
ab_run "$@"
