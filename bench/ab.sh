# shellcheck shell=sh disable=SC2034,SC2153
# bench/ab.sh: the common build of the in-process A/B harnesses (bench/x16ab.sh, bench/lnab.sh,
# bench/regab.sh), sourced by their wrappers, not run by itself. Versions of some kernel sources
# (one from a base commit, one or more from the working tree, each with its own extra compiler
# flags) are compiled with their entry points renamed by -D and linked into one binary with the
# harness (bench/NAME.c), bench/ab_util.c and a release build's libnorm_core.a.
#
# A wrapper sets
#   AB         the harness's name: bench/$AB.c, the binary $T/$AB, the messages
#   AB_ENV     the prefix of its environment variables: ${AB_ENV}_BASE_CFLAGS and
#              ${AB_ENV}_CUR_CFLAGS (extra flags for the base / working tree version),
#              ${AB_ENV}_FLAGS (more working tree versions: '|'-separated flag sets, for the
#              harnesses that take them), ${AB_ENV}_DIR (build there and keep it; default a
#              scratch directory, removed), ${AB_ENV}_KEEP (copy the binary there)
#   AB_USAGE   its usage line
#   AB_XFLAGS  extra compiler flags for all its kernel objects (e.g. -mf16c)
#   AB_TIERS   the tiers to build (default "avx2 avx512"; ab_cc skips the others)
# and sources this file with its arguments, BUILD BASE [harness arguments...]:
#     BUILD  a configured and built release build directory of this tree (its libnorm_core.a)
#     BASE   the commit to compare against (e.g. main)
# which checks BUILD, makes the directory $T, extracts BASE's src/ to $T/base/src and shifts BUILD
# and BASE off the arguments ($B: BUILD's absolute path). Then the wrapper defines
#   ab_version PREFIX SRCDIR FLAGS   compiles one version's kernels, each with
#       ab_cc PREFIX SRCDIR FLAGS TIER FILE NAME=SHORT...
#           $SRCDIR/$FILE with the tier's flags (as meson.build's) + $AB_XFLAGS + FLAGS, each
#           entry point NAME renamed PREFIX_SHORT, in the background
#       or ab_f32_norms PREFIX SRCDIR FLAGS (the x86 tiers' f32 LayerNorm and RMSNorm files:
#           entry points PREFIX_ln_TIER, PREFIX_rms_TIER)
# and calls
#   ab_versions P0 P1 [STEM]  ab_version for P0 from BASE, P1 from the working tree and, with
#                             STEM, STEM2, STEM3, ... from the working tree with the flag sets of
#                             ${AB_ENV}_FLAGS; sets AB_NV (the number of versions) and AB_NAMES
#                             (their descriptions as a C initializer list)
#   ab_link [objects / libraries...]  waits for the compiles, compiles bench/$AB.c and
#                             bench/ab_util.c, links $T/$AB
#   ab_run "$@"               runs it with the harness's arguments
# x86-64 only.
set -eu
[ $# -ge 2 ] || { echo "usage: $AB_USAGE" >&2; exit 2; }
cd "$(dirname "$0")/.."
B=$(cd "$1" && pwd)
BASE=$2
shift 2
[ -f "$B/libnorm_core.a" ] || { echo "$AB: $B/libnorm_core.a not found (ninja -C $B first)" >&2; exit 1; }
ab_env() { eval "printf '%s' \"\${${AB_ENV}_$1:-}\""; }
T=$(ab_env DIR)
if [ -n "$T" ]; then
    rm -rf "$T"
    mkdir -p "$T"
else
    T=$(mktemp -d)
    trap 'rm -rf "$T"' EXIT
fi
mkdir "$T/base"
git archive "$BASE" src | tar -x -C "$T/base"
CC=${CC:-gcc}
AB_F="-O3 -std=c11 -fPIC -ffp-contract=off -fno-math-errno -fvisibility=hidden -D_GNU_SOURCE -DNDEBUG"
AB_XFLAGS=${AB_XFLAGS:-}
AB_TIERS=${AB_TIERS:-avx2 avx512}
AB_OBJS=""
AB_PIDS=""

ab_has() { case " $AB_TIERS " in *" $1 "*) return 0 ;; esac; return 1; }

ab_cc() { # PREFIX SRCDIR FLAGS TIER FILE NAME=SHORT...
    ab_has "$4" || return 0
    case $4 in # as meson.build's avx2_flags / avx512_flags
        avx2) _a="-mavx2 -mfma" ;;
        avx512) _a="-mavx512f -mavx512bw -mavx512dq -mavx512vl -mavx2 -mfma" ;;
    esac
    _p=$1 _s=$2 _x=$3 _f=$5
    shift 5
    _d=""
    for _r in "$@"; do _d="$_d -D${_r%%=*}=${_p}_${_r#*=}"; done
    _o=$T/${_p}_$(basename "$_f" .c).o
    # shellcheck disable=SC2086
    $CC $AB_F $_x $_a $AB_XFLAGS -I"$_s" -Iinclude $_d -c "$_s/$_f" -o "$_o" &
    AB_PIDS="$AB_PIDS $!"
    AB_OBJS="$AB_OBJS $_o"
}

ab_f32_norms() { # PREFIX SRCDIR FLAGS: the f32 LayerNorm and RMSNorm kernels of both tiers
    for _t in avx2 avx512; do
        ab_cc "$1" "$2" "$3" $_t $_t/layernorm_$_t.c norm_layernorm_f32_$_t=ln_$_t \
            norm_layernorm_row_f32_$_t=lnrow_$_t norm_ln_short_f32_$_t=lnshort_$_t
        ab_cc "$1" "$2" "$3" $_t $_t/rmsnorm_$_t.c norm_rmsnorm_f32_$_t=rms_$_t \
            norm_rmsnorm_row_f32_$_t=rmsrow_$_t
    done
}

ab_versions() { # P0 P1 [STEM]
    _fl=$(ab_env FLAGS)
    if [ $# -lt 3 ] && [ -n "$_fl" ]; then
        echo "$AB: ${AB_ENV}_FLAGS is not supported by this harness" >&2
        exit 2
    fi
    _bx=$(ab_env BASE_CFLAGS)
    _cx=$(ab_env CUR_CFLAGS)
    ab_version "$1" "$T/base/src" "$_bx"
    ab_version "$2" src "$_cx"
    AB_NAMES="\"base $BASE $_bx\", \"working tree $_cx\""
    AB_NV=2
    if [ -n "$_fl" ]; then
        IFS='|'
        for _v in $_fl; do
            unset IFS
            ab_version "$3$AB_NV" src "$_v"
            AB_NAMES="$AB_NAMES, \"working tree $_v\""
            AB_NV=$((AB_NV + 1))
            IFS='|'
        done
        unset IFS
    fi
}

ab_link() { # [objects / libraries...]
    for _pid in $AB_PIDS; do wait "$_pid"; done
    $CC -O2 -std=c11 -Isrc -Iinclude -Ibench -c "bench/$AB.c" -o "$T/$AB.o"
    $CC -O2 -std=c11 -Ibench -c bench/ab_util.c -o "$T/ab_util.o"
    # shellcheck disable=SC2086
    $CC -o "$T/$AB" "$T/$AB.o" "$T/ab_util.o" $AB_OBJS -Wl,--start-group "$@" \
        "$B/libnorm_core.a" "$($CC -print-file-name=libcpu_features.a)" -Wl,--end-group \
        -pthread -lm -lsleef -ldl
    _k=$(ab_env KEEP)
    if [ -n "$_k" ]; then cp "$T/$AB" "$_k"; fi
}

ab_run() { "$T/$AB" "$@"; }
