#!/bin/sh
# In-process A/B of the x86 f32 LayerNorm kernels from DRAM (bench/lnab.c): src/avx2/layernorm_avx2.c
# and src/avx512/layernorm_avx512.c at a base commit (v0) against the working tree's (v1, and more
# versions of the working tree with other compiler flags), all linked into one binary next to the
# streaming limit (normbench's floor pass).
#   bench/lnab.sh BUILD BASE [lnab arguments...]
#     BUILD  a configured and built release build directory of this tree (its libnorm_core.a and
#            the floor libraries)
#     BASE   the commit to compare against (e.g. main)
#   e.g. bench/lnab.sh build main avx512 15 4096,16384 3 1
# LNAB_FLAGS (environment): extra versions of the working tree, '|'-separated compiler flag sets,
# e.g. LNAB_FLAGS='-DLN_NT_PF2=0|-DLN_NT_PFLOC=2' adds v2 and v3. LNAB_BASE_CFLAGS,
# LNAB_CUR_CFLAGS: extra flags for v0 / v1.
# x86-64 only; builds in a scratch directory, runs lnab with the remaining arguments.
set -eu
[ $# -ge 2 ] || { echo "usage: bench/lnab.sh BUILD BASE [avx2|avx512 REPS [DIMS [THREADS [AFFINE [LLCX]]]]]" >&2; exit 2; }
cd "$(dirname "$0")/.."
B=$(cd "$1" && pwd)
BASE=$2
shift 2
[ -f "$B/libnorm_core.a" ] || { echo "lnab: $B/libnorm_core.a not found (ninja -C $B first)" >&2; exit 1; }
# LNAB_DIR (environment): build there and keep it (default: a scratch directory, removed)
if [ -n "${LNAB_DIR:-}" ]; then
    T=$LNAB_DIR
    rm -rf "$T"
    mkdir -p "$T"
else
    T=$(mktemp -d)
    trap 'rm -rf "$T"' EXIT
fi
mkdir "$T/base"
git archive "$BASE" src | tar -x -C "$T/base"
CC=${CC:-gcc}
F="-O3 -std=c11 -fPIC -ffp-contract=off -fno-math-errno -fvisibility=hidden -D_GNU_SOURCE -DNDEBUG"
A2="-mavx2 -mfma"
A5="-mavx512f -mavx512bw -mavx512dq -mavx512vl -mavx2 -mfma"
G=$T/versions.c
echo '#include "norm_internal.h"' > "$G"
n=0
objs=""
names=""
# LNAB_TIERS (environment): the tiers to build, "avx2 avx512" (default), "avx2" or "avx512"
TIERS=${LNAB_TIERS:-avx2 avx512}
has() { case " $TIERS " in *" $1 "*) return 0 ;; esac; return 1; }
build() { # version number, source dir, flags
    v=v$1
    if has avx2; then
        # shellcheck disable=SC2086
        $CC $F $3 $A2 -I"$2" -Iinclude -Dnorm_layernorm_f32_avx2=${v}_ln_avx2 \
            -Dnorm_layernorm_row_f32_avx2=${v}_row_avx2 -c "$2/avx2/layernorm_avx2.c" \
            -o "$T/${v}_avx2.o" &
        echo "void ${v}_ln_avx2(const norm_job *);" >> "$G"
        objs="$objs $T/${v}_avx2.o"
    else
        echo "#define ${v}_ln_avx2 0" >> "$G"
    fi
    if has avx512; then
        # shellcheck disable=SC2086
        $CC $F $3 $A5 -I"$2" -Iinclude -Dnorm_layernorm_f32_avx512=${v}_ln_avx512 \
            -Dnorm_layernorm_row_f32_avx512=${v}_row_avx512 -c "$2/avx512/layernorm_avx512.c" \
            -o "$T/${v}_avx512.o" &
        echo "void ${v}_ln_avx512(const norm_job *);" >> "$G"
        objs="$objs $T/${v}_avx512.o"
    else
        echo "#define ${v}_ln_avx512 0" >> "$G"
    fi
}
build 0 "$T/base/src" "${LNAB_BASE_CFLAGS:-}"
names="\"base $BASE ${LNAB_BASE_CFLAGS:-}\""
build 1 src "${LNAB_CUR_CFLAGS:-}"
names="$names, \"working tree ${LNAB_CUR_CFLAGS:-}\""
n=2
if [ -n "${LNAB_FLAGS:-}" ]; then
    IFS='|'
    for fl in $LNAB_FLAGS; do
        unset IFS
        build $n src "$fl"
        names="$names, \"working tree $fl\""
        n=$((n + 1))
        IFS='|'
    done
    unset IFS
fi
wait
{
    echo "const int lnab_nv = $n;"
    printf 'const char *const lnab_names[] = {%s};\n' "$names"
    printf 'void (*const lnab_avx2[])(const norm_job *) = {'
    i=0; while [ $i -lt $n ]; do printf 'v%d_ln_avx2, ' $i; i=$((i + 1)); done; echo '};'
    printf 'void (*const lnab_avx512[])(const norm_job *) = {'
    i=0; while [ $i -lt $n ]; do printf 'v%d_ln_avx512, ' $i; i=$((i + 1)); done; echo '};'
} >> "$G"
$CC -O2 -std=c11 -Isrc -Iinclude -c "$G" -o "$T/versions.o"
$CC -O2 -std=c11 -Isrc -Iinclude -Ibench -c bench/lnab.c -o "$T/lnab.o"
# shellcheck disable=SC2086
$CC -o "$T/lnab" "$T/lnab.o" "$T/versions.o" $objs -Wl,--start-group "$B/libnorm_core.a" \
    "$B"/bench/libnb_floor_avx2.a "$B"/bench/libnb_floor_avx512.a \
    "$($CC -print-file-name=libcpu_features.a)" -Wl,--end-group \
    -pthread -lm -lsleef -ldl
"$T/lnab" "$@"
