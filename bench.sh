#!/bin/sh
# Benchmark libnorm on this machine, on a fresh Debian 12 machine too:
#   installs what is missing (Debian packages only), builds a release tree in build-bench/ and runs
#   normbench's default sweep: LayerNorm (weight+bias), LayerNorm (no affine) and RMSNorm, every
#   tier this CPU has plus the dispatched API, against the streaming and two-pass limits measured in
#   the same run and the naive, ggml and oneDNN baselines; dims 64..65536; 32 rows (hot in cache)
#   and a batch twice the last-level cache (DRAM); per-head norms (32 heads x 1, 32, 512 tokens,
#   head_dim 64 and 128, strided x) and single-row decode calls; 1 thread and all CPUs; then the
#   issue-9 targets per tier, met or missed. About 2 minutes on 2 cores.
# Writes bench-out/normbench.{txt,csv,json,png}. Extra arguments go to normbench, e.g.
#   ./bench.sh --quick            ./bench.sh --op ln --dim 4096 --rows 1,32,512,dram --pin
#   ./bench.sh --help             (every option, the byte model behind GB/s, the limits of % limit)
#   ./bench.sh --ggml             (ggml's graph compute per norm op, stock vs libnorm; see below)
set -u
cd "$(dirname "$0")"

tools/deps.sh meson ninja-build cmake pkg-config gcc libcpu-features-dev libsleef-dev libdnnl-dev \
    gnuplot-nox || exit 1

BUILD=build-bench
OUT=bench-out
if [ -d "$BUILD/meson-private" ]; then
    meson setup --reconfigure "$BUILD" --buildtype=release -Ddnnl=enabled >/dev/null || exit 1
else
    meson setup "$BUILD" --buildtype=release -Ddnnl=enabled >/dev/null || exit 1
fi
ninja -C "$BUILD" bench/normbench >/dev/null || { ninja -C "$BUILD" bench/normbench; exit 1; }

# ./bench.sh --ggml [ggmlbench options]: ggml's own graph compute per norm op, stock vs libnorm
# (integrations/ggml; builds or reuses the patched llama.cpp/ggml cache, see its build.sh), written
# to bench-out/ggmlbench.txt. Options: --quick, --reps N, --threads 1,2, --ops norm,rms_norm,...
if [ "${1:-}" = "--ggml" ]; then
    shift
    command -v npm >/dev/null 2>&1 || tools/deps.sh npm || exit 1
    tools/deps.sh git g++ python3 || exit 1
    [ -e "$BUILD/libnorm.so" ] || ninja -C "$BUILD" >/dev/null || exit 1
    out=$(integrations/ggml/build.sh "$BUILD") || { echo "$out"; exit 1; }
    echo "$out" | grep '^ggml:'
    gdir=$(echo "$out" | sed -n 's/^GGML_DIR=//p' | tail -1)
    mkdir -p "$OUT"
    rm -f "$OUT/.status"
    {
        LD_LIBRARY_PATH="$gdir/build/bin:$PWD/$BUILD${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
            "$gdir/bin/ggmlbench" "$@"
        echo $? >"$OUT/.status"
    } | tee "$OUT/ggmlbench.txt"
    status=$(cat "$OUT/.status" 2>/dev/null || echo 1)
    rm -f "$OUT/.status"
    echo "table: $OUT/ggmlbench.txt"
    exit "$status"
fi

# Usage text only: no run, nothing in bench-out/ overwritten.
for a in "$@"; do
    case "$a" in -h|--help) exec "$BUILD/bench/normbench" --help ;; esac
done

mkdir -p "$OUT"
rm -f "$OUT/.status"
{
    "$BUILD/bench/normbench" --rows 32,dram --threads 1,max \
        --csv "$OUT/normbench.csv" --json "$OUT/normbench.json" --plot "$OUT/normbench.png" "$@"
    echo $? >"$OUT/.status"
} | tee "$OUT/normbench.txt"
status=$(cat "$OUT/.status" 2>/dev/null || echo 1)
rm -f "$OUT/.status"
echo "table: $OUT/normbench.txt"
exit "$status"
