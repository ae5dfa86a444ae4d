#!/bin/sh
# Build libnorm and pass its whole test suite, on a fresh Debian 12 machine:
#   1. native x86-64 release build: the cross-check harness, one test per tier (avx2, avx512 and
#      avx512-emu, the AVX-512 sources emulated over SIMDe; SKIP for a tier this CPU lacks), API,
#      dispatch and header tests, accuracy and real-data tests, and the fallback tiers under
#      qemu-x86_64 (-cpu Haswell-v4 must pick avx2 and run avx2 and avx512-emu, -cpu Nehalem
#      scalar);
#   2. the same under AddressSanitizer + UBSan (out-of-bounds reads/writes in any kernel);
#   3. the AArch64 cross build, run under qemu-aarch64: the NEON tier, on the default CPU and on
#      a Cortex-A53 (plain ASIMD).
# Installs the Debian packages it needs when missing. Prints which tiers ran natively, emulated or
# not at all (tools/tier_report.py, from the test logs), then one line "N passed, N failed".
set -u
cd "$(dirname "$0")"

tools/deps.sh meson ninja-build cmake pkg-config gcc g++ libcpu-features-dev \
    libmpfr-dev libgmp-dev qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross \
    libcpu-features-dev:arm64 libmpfr-dev:arm64 libgmp-dev:arm64 libsimde-dev \
    python3 python3-onnx python3-numpy libonnx-testdata abigail-tools || exit 1

PASS=0 FAIL=0 SKIP=0
# each run's test log, kept for the tier report at the end (a second run of the same build
# directory overwrites its testlog.json)
LOGS=$(mktemp -d) || exit 1
trap 'rm -rf "$LOGS"' EXIT
NLOG=0 REPORT_ARGS=""

# setup DIR [meson args...]: configure DIR once (reconfigure when it exists) and build it.
setup() {
    dir=$1; shift
    if [ -d "$dir/meson-private" ]; then
        meson setup --reconfigure "$dir" "$@" >/dev/null || return 1
    else
        meson setup "$dir" "$@" >/dev/null || return 1
    fi
    ninja -C "$dir" >/dev/null || { ninja -C "$dir"; return 1; }
}

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

if setup build --buildtype=release; then
    run "x86-64 native (every tier + qemu fallback CPUs)" build
else
    fail "x86-64 native"
fi

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

# Which tiers ran natively, emulated (SIMDe, qemu CPU models) or not at all, from the logs.
echo "==== tiers"
# shellcheck disable=SC2086
python3 tools/tier_report.py $REPORT_ARGS || { echo "tier report: FAILED"; FAIL=$((FAIL + 1)); }
[ "$SKIP" -gt 0 ] && echo "(${SKIP} skipped: tiers this CPU cannot run, or optional tests whose tool is not installed; see above)"
echo "${PASS} passed, ${FAIL} failed"
[ "$FAIL" -eq 0 ]
