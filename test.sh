#!/bin/sh
# Build libnorm and pass its whole test suite, on a fresh Debian 12 machine:
#   1. native x86-64 release build: the cross-check harness, one test per tier (avx2, avx512 and
#      avx512-emu, the AVX-512 sources emulated over SIMDe; SKIP for a tier this CPU lacks), API,
#      dispatch and header tests, accuracy and real-data tests, and the fallback tiers under
#      qemu-x86_64 (-cpu Haswell-v4 must pick avx2 and run avx2 and avx512-emu, -cpu Nehalem
#      scalar);
#   2. the same under AddressSanitizer + UBSan (out-of-bounds reads/writes in any kernel);
#   3. the AArch64 cross build, run under qemu-aarch64: the NEON tier, on the default CPU and on
#      a Cortex-A53 (plain ASIMD);
#   4. the libFuzzer target over the public API (clang, ASan + UBSan, build-fuzz), a time-boxed
#      run per tier this CPU has (FUZZ_SECONDS each, default 30), from a scratch copy of
#      tests/fuzz/corpus;
#   5. ThreadSanitizer (gcc, build-tsan): threads calling the API from a constructor that runs
#      before the library's, racing the dispatch init;
#   6. valgrind memcheck over the API, harness and edge tests of the native build, on the tiers
#      valgrind can run (it hides AVX-512: the dispatch there is AVX2 at best).
# Right after step 1: ggml / llama.cpp with libnorm (integrations/ggml): the pinned llama.cpp
#   patched and built once into a cache outside the clone, its norm ops checked against stock ggml
#   and an exact oracle, and a real model (stories260K) decoded with stock and libnorm kernels.
# Installs the Debian packages it needs when missing. Prints which tiers ran natively, emulated or
# not at all (tools/tier_report.py, from the test logs), then one line "N passed, N failed".
set -u
cd "$(dirname "$0")"

tools/deps.sh meson ninja-build cmake pkg-config gcc g++ libcpu-features-dev \
    libmpfr-dev libgmp-dev qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross \
    libcpu-features-dev:arm64 libmpfr-dev:arm64 libgmp-dev:arm64 libsimde-dev \
    libsleef-dev libsleef-dev:arm64 \
    python3 python3-onnx python3-numpy libonnx-testdata abigail-tools git || exit 1
# npm fetches the pinned llama.cpp for the ggml integration (NodeSource's nodejs ships its own npm:
# install Debian's only when there is none)
command -v npm >/dev/null 2>&1 || tools/deps.sh npm || exit 1
tools/deps.sh clang libclang-rt-14-dev libtsan2 valgrind || exit 1

PASS=0 FAIL=0 SKIP=0
# each run's test log, kept for the tier report at the end (a second run of the same build
# directory overwrites its testlog.json)
LOGS=$(mktemp -d) || exit 1
trap 'rm -rf "$LOGS"' EXIT
NLOG=0 REPORT_ARGS=""

# setup DIR [meson args...]: configure DIR once (reconfigure when it exists) and build it.
setup() { d=$1; shift; setup_one "$d" "" "$@"; }

# run LABEL DIR [meson test args...]: run the suite and add its counts to the totals.
run() {
    label=$1 dir=$2; shift 2
    echo "==== $label"
    meson test -C "$dir" --no-rebuild --print-errorlogs "$@" 2>&1 |
        grep -E '^ *[0-9]+/[0-9]+ |^(Ok|Fail|Skipped|Timeout):' 
    log="$dir/meson-logs/testlog.json"
    ok=$(grep -c '"result": "OK"' "$log")
    sk=$(grep -c '"result": "SKIP"' "$log")
    total=$(grep -c '"result"' "$log")
    NLOG=$((NLOG + 1))
    cp "$log" "$LOGS/$NLOG.json"
    REPORT_ARGS="$REPORT_ARGS $dir=$LOGS/$NLOG.json"
    PASS=$((PASS + ok)) SKIP=$((SKIP + sk)) FAIL=$((FAIL + total - ok - sk))
}

# fail LABEL: a build that did not even configure or compile counts as one failure.
fail() { echo "==== $1: BUILD FAILED"; FAIL=$((FAIL + 1)); }

# setup_one DIR TARGET [meson args...]: configure DIR and build only TARGET ("" for all).
setup_one() {
    dir=$1 target=$2; shift 2
    if [ -d "$dir/meson-private" ]; then
        meson setup --reconfigure "$dir" "$@" >/dev/null || return 1
    else
        meson setup "$dir" "$@" >/dev/null || return 1
    fi
    # shellcheck disable=SC2086
    ninja -C "$dir" $target >/dev/null || { ninja -C "$dir" $target; return 1; }
}

# count LABEL STATUS: one test from an exit status (0 passed, 77 skipped, anything else failed).
count() {
    case $2 in
    0) PASS=$((PASS + 1)) && echo "  OK    $1" ;;
    77) SKIP=$((SKIP + 1)) && echo "  SKIP  $1" ;;
    *) FAIL=$((FAIL + 1)) && echo "  FAIL  $1 (exit $2)" ;;
    esac
}

if setup build --buildtype=release; then
    run "x86-64 native (every tier + qemu fallback CPUs)" build
else
    fail "x86-64 native"
fi

# ---- ggml / llama.cpp with libnorm (integrations/ggml): the pinned llama.cpp patched and built
# once into ${LIBNORM_CACHE:-~/.cache/libnorm} (reused when cached), then the conformance program
# (patched vs stock ggml vs exact) and the stories260K end-to-end decode, against build/ ----
t0=$(date +%s)
echo "==== ggml / llama.cpp with libnorm (integrations/ggml)"
if [ -e build/libnorm.so ] && integrations/ggml/build.sh build >build/ggml-build.log 2>&1; then
    grep -E '^ggml:' build/ggml-build.log | sed 's/^/  /'
    GGML_DIR=$(sed -n 's/^GGML_DIR=//p' build/ggml-build.log | tail -1)
    LD_LIBRARY_PATH="$GGML_DIR/build/bin:$PWD/build${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
        "$GGML_DIR/bin/conformance" >build/ggml-conformance.log 2>&1
    rc=$?
    grep -vE '^FAIL' build/ggml-conformance.log | sed 's/^/    /'
    [ $rc -ne 0 ] && grep -E '^FAIL' build/ggml-conformance.log | head -20
    count "ggml conformance (patched vs stock vs exact, 1 and 2 threads)" $rc
    integrations/ggml/e2e.sh "$GGML_DIR" build >build/ggml-e2e.log 2>&1
    rc=$?
    sed 's/^/    /' build/ggml-e2e.log | tail -8
    count "ggml end to end: stories260K greedy 256 tokens, stock vs libnorm" $rc
else
    tail -20 build/ggml-build.log 2>/dev/null
    fail "ggml integration build (integrations/ggml/build.sh)"
fi
echo "  ggml step (build or cache + tests): $(($(date +%s) - t0)) s"

if setup build-asan --buildtype=debugoptimized -Db_sanitize=address,undefined -Db_lundef=false; then
    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        run "x86-64 AddressSanitizer + UBSan" build-asan --suite cross-check --suite api --suite accuracy
else
    fail "x86-64 ASan"
fi

if setup build-aarch64 --cross-file cross/aarch64-linux-gnu.ini --buildtype=release; then
    run "aarch64 under qemu (NEON, default CPU)" build-aarch64
    QEMU_CPU=cortex-a53 run "aarch64 under qemu (NEON, cortex-a53)" build-aarch64
else
    fail "aarch64 cross build"
fi

# ---- valgrind memcheck over the native build's tests, on the tiers valgrind runs ----
# Single-threaded, like the fuzz runs: it runs in the background beside the fuzzing step (the
# machines have 2 cores), its output and counts replayed after it (vg_report).
vg_step() {
    out=$1
    t0=$(date +%s) n=0
    if [ -x build/tests/test_api ] && command -v valgrind >/dev/null; then
        vg="valgrind -q --error-exitcode=1 --leak-check=full"
        # valgrind hides AVX-512 from CPUID: the best tier under it is avx2 (x86) at most.
        # checkasm without the row-count sweep and the two 32 MiB streaming jobs: under memcheck
        # they cost minutes (the native and ASan runs have them); every op, tier, dim, stride,
        # batch of 8..24 rows, guard page and layout case is still run
        for v in "test_api" "test_api LIBNORM_ISA=scalar" "checkasm --quick --no-sweep --no-stream --seed=1" "test_edges"; do
            set -- $v
            case $1 in
            test_edges) bin=build/tests/accuracy/test_edges ;;
            *) bin=build/tests/$1 ;;
            esac
            shift
            env=
            case ${1:-} in LIBNORM_ISA=*) env=$1 && shift ;; esac
            [ -x "$bin" ] || { echo "1 valgrind $v (not built)" >>"$out.counts"; continue; }
            n=$((n + 1)) log=build/valgrind-$n.log
            env $env $vg "$bin" "$@" >"$log" 2>&1
            rc=$?
            grep -E '^(test_api|test_edges|checkasm)|best tier|^ *(scalar|avx2|avx512|neon) ' "$log" |
                sed 's/^/    /' >>"$out"
            [ $rc -ne 0 ] && grep -E '^==[0-9]+==' "$log" | head -30 >>"$out"
            echo "$rc valgrind $v" >>"$out.counts"
        done
    else
        echo "F valgrind memcheck (no native build or no valgrind)" >>"$out.counts"
    fi
    echo "  valgrind step: $(($(date +%s) - t0)) s (beside the fuzzing)" >>"$out"
}
vg_report() {
    echo "==== valgrind memcheck (native build)"
    cat "$1"
    while read -r rc label; do
        if [ "$rc" = F ]; then fail "$label"; else count "$label" "$rc"; fi
    done <"$1.counts"
}
: >"$LOGS/vg.out" && : >"$LOGS/vg.out.counts"
vg_step "$LOGS/vg.out" &
VG_PID=$!

# ---- libFuzzer over the public API: one time-boxed run per tier (tests/fuzz/fuzz_api.c) ----
FUZZ_SECONDS=${FUZZ_SECONDS:-30}
t0=$(date +%s)
echo "==== libFuzzer fuzz_api (clang, ASan + UBSan; ${FUZZ_SECONDS} s per tier)"
if CC=clang setup_one build-fuzz tests/fuzz/fuzz_api --buildtype=debugoptimized -Dfuzz=true \
        -Db_sanitize=address,undefined -Db_lundef=false \
        -Dc_args='-fsanitize=fuzzer-no-link -fno-sanitize-recover=undefined'; then
    echo "  built in $(($(date +%s) - t0)) s"
    case $(uname -m) in
    x86_64) fuzz_tiers="scalar avx2 avx512" ;;
    aarch64) fuzz_tiers="scalar neon" ;;
    *) fuzz_tiers="scalar" ;;
    esac
    for t in $fuzz_tiers; do
        work=build-fuzz/run-$t
        rm -rf "$work" && mkdir -p "$work/corpus" && cp tests/fuzz/corpus/* "$work/corpus/"
        # a crash is exit 1 (libFuzzer's default, 77, is our "tier not on this CPU")
        LIBNORM_ISA=$t ./build-fuzz/tests/fuzz/fuzz_api -max_total_time="$FUZZ_SECONDS" \
            -timeout=10 -error_exitcode=1 -artifact_prefix="$work/" "$work/corpus" \
            >"$work/log" 2>&1
        rc=$?
        if [ $rc -ne 77 ]; then
            done_line=$(grep -E '^Done [0-9]+ runs' "$work/log" | tail -1)
            cov=$(grep -E '^#[0-9]+' "$work/log" | tail -1 | grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+')
            echo "  $t: ${done_line:-no summary}; ${cov:-}"
            grep -E '^fuzz_api \(' "$work/log" | tail -1 | sed 's/^/    /'
            [ $rc -ne 0 ] && { grep -E 'FAIL|runtime error|ERROR|SUMMARY' "$work/log" | head -20;
                               echo "    (log and input: $work/)"; }
        fi
        count "fuzz_api LIBNORM_ISA=$t" $rc
    done
else
    fail "libFuzzer fuzz_api (clang)"
fi
echo "  fuzzing step: $(($(date +%s) - t0)) s"

wait $VG_PID
vg_report "$LOGS/vg.out"

# ---- ThreadSanitizer: threads call the API from process start, racing the dispatch init ----
t0=$(date +%s)
echo "==== ThreadSanitizer (gcc): first calls from many threads racing the dispatch init"
if setup_one build-tsan tests/test_init_race --buildtype=debugoptimized -Db_sanitize=thread \
        -Db_lundef=false; then
    rc=0
    for i in 1 2 3 4 5; do
        TSAN_OPTIONS=halt_on_error=1 ./build-tsan/tests/test_init_race >build-tsan/init_race.log 2>&1 ||
            { rc=$?; cat build-tsan/init_race.log | head -40; break; }
    done
    tail -1 build-tsan/init_race.log | sed 's/^/  /'
    count "test_init_race under TSan (5 runs)" $rc
else
    fail "ThreadSanitizer build"
fi
echo "  TSan step (build + runs): $(($(date +%s) - t0)) s"

# Which tiers ran natively, emulated (SIMDe, qemu CPU models) or not at all, from the logs.
echo "==== tiers"
# shellcheck disable=SC2086
python3 tools/tier_report.py $REPORT_ARGS || { echo "tier report: FAILED"; FAIL=$((FAIL + 1)); }
[ "$SKIP" -gt 0 ] && echo "(${SKIP} skipped: tiers this CPU cannot run, or optional tests whose tool is not installed; see above)"
echo "${PASS} passed, ${FAIL} failed"
[ "$FAIL" -eq 0 ]
