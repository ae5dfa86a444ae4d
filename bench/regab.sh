#!/bin/sh
# In-process A/B of the x86 f32 LayerNorm / RMSNorm kernels on rows that stay in registers
# (bench/regab.c): the working tree's src/avx2/{layernorm,rmsnorm}_avx2.c and
# src/avx512/{layernorm,rmsnorm}_avx512.c ("cur") against the same files at a base commit
# ("base"), both linked into one binary with a release build's libnorm_core.a.
#   bench/regab.sh BUILD BASE [regab arguments...]     e.g. bench/regab.sh build main avx512 40
# REGAB_BASE_CFLAGS / REGAB_CUR_CFLAGS (environment): extra compiler flags for either side.
set -eu
[ $# -ge 2 ] || { echo "usage: bench/regab.sh BUILD BASE [avx2|avx512 REPS [SHAPES]]" >&2; exit 2; }
cd "$(dirname "$0")/.."
B=$(cd "$1" && pwd)
BASE=$2
shift 2
[ -f "$B/libnorm_core.a" ] || { echo "regab: $B/libnorm_core.a not found (ninja -C $B first)" >&2; exit 1; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mkdir "$T/base"
git archive "$BASE" src | tar -x -C "$T/base"
CC=${CC:-gcc}
F="-O3 -std=c11 -fPIC -ffp-contract=off -fno-math-errno -fvisibility=hidden -D_GNU_SOURCE -DNDEBUG"
A2="-mavx2 -mfma -mf16c"
A5="-mavx512f -mavx512bw -mavx512dq -mavx512vl -mavx2 -mfma -mf16c"
for v in base cur; do
    if [ $v = base ]; then S=$T/base/src X=${REGAB_BASE_CFLAGS:-}; else S=src X=${REGAB_CUR_CFLAGS:-}; fi
    for op in ln rms; do
        if [ $op = ln ]; then f=layernorm; else f=rmsnorm; fi
        # shellcheck disable=SC2086
        $CC $F $X $A2 -I"$S" -Iinclude -Dnorm_${f}_f32_avx2=${v}_${op}_avx2 \
            -Dnorm_${f}_row_f32_avx2=${v}_${op}row_avx2 -c "$S/avx2/${f}_avx2.c" \
            -o "$T/${v}_${op}_avx2.o" &
        # shellcheck disable=SC2086
        $CC $F $X $A5 -I"$S" -Iinclude -Dnorm_${f}_f32_avx512=${v}_${op}_avx512 \
            -Dnorm_${f}_row_f32_avx512=${v}_${op}row_avx512 -c "$S/avx512/${f}_avx512.c" \
            -o "$T/${v}_${op}_avx512.o" &
    done
done
wait
$CC -O2 -std=c11 -Isrc -Iinclude -c bench/regab.c -o "$T/regab.o"
$CC -o "$T/regab" "$T/regab.o" "$T"/base_*.o "$T"/cur_*.o -Wl,--start-group "$B/libnorm_core.a" \
    "$($CC -print-file-name=libcpu_features.a)" -Wl,--end-group -pthread -lm -lsleef -ldl
if [ -n "${REGAB_KEEP:-}" ]; then cp "$T/regab" "$REGAB_KEEP"; fi
"$T/regab" "$@"
