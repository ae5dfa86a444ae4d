#!/bin/sh
# normbench's smoke test (meson test normbench-smoke, suite bench-smoke). It asserts behaviour,
# not speed: no time it prints is judged.
#   smoke.sh NORMBENCH
# 1. `normbench --help` exits 0 and prints the usage.
# 2. A tiny sweep (every op, the per-head ones included, dims 64, 192, 512, one row and the DRAM
#    batch, 1 and all threads, one token of 32 heads, the single-row group at dim 64, a 1 ms time
#    box, a 256 KiB last-level cache so that the buffers stay small) exits 0: normbench checks
#    every result against the scalar tier before timing it and exits 1 when one fails or a call
#    errs.
# 3. Its csv has a row with status ok for every implementation the run announced (the floors
#    floor-rd, floor and floor-2p, each libnorm tier, api, naive, ggml, and oneDNN when built) on
#    every op it has (oneDNN: not rms, nor the per-head ops): a run that measured nothing cannot
#    pass. The per-head rows are in group head with x_stride 3*dim; the single group has its
#    32-row batch.
# 4. The limits: every row but floor-rd names its limit by the rule of --help (stream for DRAM
#    and for dim <= the tier's register rows: avx2 128, avx512 256, neon 128, scalar 0, the other
#    rows by the api's tier; 2pass otherwise; dim 192 tells the avx2 and avx512 rules apart, dim
#    512 is 2pass for every tier in cache, stream from DRAM), its pct_limit is pct_floor when the
#    limit is stream, and floor-2p is 100% of a 2pass limit.
#    The table prints the lim and %limit columns, the legend of both limits, the per-head group
#    and the targets of the summary.
set -u
nb=$1
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

fail() { echo "normbench-smoke: $*"; exit 1; }

"$nb" --help >"$tmp/help" || fail "--help exited $?"
grep -q '^usage: normbench' "$tmp/help" || fail "--help printed no usage"

"$nb" --quick --op ln,ln-plain,rms,ln-head,rms-head --dim 64,192,512 --rows 1,dram --threads 1,max \
    --head-dim 64 --tokens 1 --single 64 --time 1 --llc 256K --csv "$tmp/run.csv" >"$tmp/out" 2>&1
st=$?
cat "$tmp/out"
[ "$st" -eq 0 ] || fail "normbench exited $st (a check or a call failed: rows marked FAIL/ERROR above)"
grep -q 'every result checked against the scalar tier' "$tmp/out" ||
    fail "no 'every result checked' line"
# 5. The fused group (issue 10; --quick: dim 4096, the DRAM batch): every op has its floor, fused
#    and sep rows (sep-nt for the add ops, f32 for the 16-bit ones), the fused result equal to the
#    separate passes bit for bit, and its targets printed; gated-rms has its gate row (the
#    gate's arithmetic alone) and the cap it puts on the op.
for op in add-rms add-ln gated-rms rms-bf16 ln-bf16 rms-f16; do
    for impl in floor fused sep; do
        grep -Eq "^$op +4096 .* $impl " "$tmp/out" || fail "fused group: no $op $impl row"
    done
    grep -Eq "^$op +4096 .* fused .* exact\$" "$tmp/out" ||
        fail "fused group: $op fused is not bit-identical to the separate passes"
done
grep -q '^fused targets' "$tmp/out" || fail "fused group: no targets"
grep -Eq '^  add-rms +>= 90% of its streaming limit' "$tmp/out" || fail "fused group: no add-rms target"
# the gated op's compute cap: its gate row (the gate's arithmetic alone) and the cap line
grep -Eq "^gated-rms +4096 .* gate " "$tmp/out" || fail "fused group: no gated-rms gate row"
grep -Eq '^  gated-rms the gate.s arithmetic alone .* caps it at [0-9]+%' "$tmp/out" ||
    fail "fused group: no gated-rms cap line"

# the implementations the run announced: "libnorm tiers: scalar avx2 avx512; api -> ..."
tiers=$(sed -n 's/^libnorm tiers:\([^;]*\);.*/\1/p' "$tmp/out")
[ -n "$tiers" ] || fail "no libnorm tier announced"
want="floor-rd floor floor-2p $tiers api naive ggml"
grep -q '^floors: .*oneDNN not built$' "$tmp/out" || want="$want onednn"

api=$(sed -n 's/.*; api -> \([a-z0-9]*\) .*/\1/p' "$tmp/out")
[ -n "$api" ] || fail "no 'api -> TIER' announced"

for pat in '^impl .* lim  *%limit check' '^  stream (the floor row' '^  2pass (the floor-2p row' \
    '^-- head: per-head norms' '^api  *rms-head ' '^floor-2p *ln-head ' '^Targets, dispatched API' \
    '^  every shape >= 1.0x oneDNN' '^  rows = 1: ln dim 64 <= 25 ns  .*\(MET\|MISSED\)'; do
    grep -q "$pat" "$tmp/out" || fail "the table has no line matching '$pat'"
done

awk -F, -v want="$want" -v api="$api" '
function fail(m) { print "normbench-smoke: " m; bad = 1 }
NR == 1 {
    for (i = 1; i <= NF; i++) col[$i] = i
    split("limit pct_limit pct_floor group x_stride", need, " ")
    for (i in need) if (!(need[i] in col)) { fail("no csv column " need[i]); exit 1 }
    reg["avx2"] = 128; reg["avx512"] = 256; reg["neon"] = 128; reg["scalar"] = 0
    next
}
{
    impl = $1; op = $2; dim = $col["dim"] + 0
    if ($col["status"] != "ok") fail(impl " " op ": " $col["status"])
    ok[impl "," op] = 1
    head = op ~ /-head$/
    if (head && ($col["group"] != "head" || $col["x_stride"] != 3 * dim))
        fail(impl " " op ": group " $col["group"] ", x_stride " $col["x_stride"])
    if (!head && $col["x_stride"] != dim) fail(impl " " op ": x_stride " $col["x_stride"])
    if ($col["group"] == "single" && $col["rows"] == 32) single = 1
    # the limit rule
    tier = (impl in reg) ? impl : api
    lim = (impl == "floor-rd") ? "" : ($col["mem"] == "DRAM" || dim <= reg[tier]) ? "stream" : "2pass"
    if ($col["limit"] != lim)
        fail(impl " " op " dim " dim " thr " $col["threads"] ": limit \"" $col["limit"] "\", want \"" lim "\"")
    if (lim != "" && $col["pct_limit"] == "") fail(impl " " op ": no pct_limit")
    if (lim == "stream" && $col["pct_limit"] != $col["pct_floor"])
        fail(impl " " op " dim " dim ": stream pct_limit " $col["pct_limit"] " != pct_floor " $col["pct_floor"])
    if (impl == "floor-2p" && lim == "2pass" && $col["pct_limit"] != "100.00")
        fail("floor-2p " op " dim " dim ": " $col["pct_limit"] "% of its own limit")
    if (lim == "2pass") n2++
    if (lim == "stream" && $col["mem"] == "DRAM" && dim > 256) nd++
}
END {
    if (!n2) fail("no row judged against the 2pass limit")
    if (!nd) fail("no long DRAM row judged against the stream limit")
    if (!single) fail("no 32-row batch of the single group")
    n = split(want, impls, " ")
    split("ln ln-plain rms ln-head rms-head", ops, " ")
    for (i = 1; i <= n; i++)
        for (o = 1; o <= 5; o++) {
            if (impls[i] == "onednn" && (ops[o] == "rms" || ops[o] ~ /-head$/))
                continue # oneDNN 2.6 has no RMSNorm; strided per-head rows: n/a
            if (!ok[impls[i] "," ops[o]])
                fail("no row for " impls[i] " " ops[o])
        }
    exit bad
}' "$tmp/run.csv" || fail "the csv misses a row, has one that did not pass, or breaks the limit rule"
echo "normbench-smoke: ok ($want; api -> $api)"
