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
set -eu
[ $# -ge 2 ] || { echo "usage: bench/x16ab.sh BUILD BASE [avx2|avx512 REPS [OPS [THREADS [LLCX]]]]" >&2; exit 2; }
cd "$(dirname "$0")/.."
B=$(cd "$1" && pwd)
BASE=$2
shift 2
[ -f "$B/libnorm_core.a" ] || { echo "x16ab: $B/libnorm_core.a not found (ninja -C $B first)" >&2; exit 1; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mkdir "$T/base"
git archive "$BASE" src | tar -x -C "$T/base"
CC=${CC:-gcc}
F="-O3 -std=c11 -fPIC -ffp-contract=off -fno-math-errno -fvisibility=hidden -D_GNU_SOURCE -DNDEBUG"
A2="-mavx2 -mfma -mf16c"
A5="-mavx512f -mavx512bw -mavx512dq -mavx512vl -mavx2 -mfma -mf16c"
for v in base cur; do
    if [ $v = base ]; then S=$T/base/src X=${X16AB_BASE_CFLAGS:-}; else S=src X=${X16AB_CUR_CFLAGS:-}; fi
    # shellcheck disable=SC2086
    $CC $F $X $A2 -I"$S" -Iinclude -Dnorm_rmsnorm_x16_avx2=${v}_rms_avx2 \
        -Dnorm_layernorm_x16_avx2=${v}_ln_avx2 -c "$S/avx2/norm_x16_avx2.c" -o "$T/${v}_avx2.o"
    # shellcheck disable=SC2086
    $CC $F $X $A5 -I"$S" -Iinclude -Dnorm_rmsnorm_x16_avx512=${v}_rms_avx512 \
        -Dnorm_layernorm_x16_avx512=${v}_ln_avx512 -c "$S/avx512/norm_x16_avx512.c" \
        -o "$T/${v}_avx512.o"
done
$CC -O2 -std=c11 -Isrc -Iinclude -c bench/x16ab.c -o "$T/x16ab.o"
# the archive brings its own x16 kernels too (the dispatch table names them), unused here
$CC -o "$T/x16ab" "$T/x16ab.o" "$T"/base_avx2.o "$T"/base_avx512.o "$T"/cur_avx2.o \
    "$T"/cur_avx512.o -Wl,--start-group "$B/libnorm_core.a" \
    "$($CC -print-file-name=libcpu_features.a)" -Wl,--end-group \
    -pthread -lm -lsleef -ldl
"$T/x16ab" "$@"
