#!/bin/sh
# normbench's smoke test (meson test normbench-smoke, suite bench-smoke). It asserts behaviour,
# not speed: no time it prints is judged.
#   smoke.sh NORMBENCH
# 1. `normbench --help` exits 0 and prints the usage.
# 2. A tiny sweep (every op, dim 64, one row, 1 and all threads, a 1 ms time box, a 1 MiB
#    last-level cache so that the buffers stay small) exits 0: normbench checks every result
#    against the scalar tier before timing it and exits 1 when one fails or a call errs.
# 3. Its csv has a row with status ok for every implementation the run announced (the floors,
#    each libnorm tier, api, naive, ggml, and oneDNN when built) on every op it has: a run that
#    measured nothing cannot pass.
set -u
nb=$1
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

fail() { echo "normbench-smoke: $*"; exit 1; }

"$nb" --help >"$tmp/help" || fail "--help exited $?"
grep -q '^usage: normbench' "$tmp/help" || fail "--help printed no usage"

"$nb" --quick --op ln,ln-plain,rms --dim 64 --rows 1 --threads 1,max --time 1 --llc 1M \
    --csv "$tmp/run.csv" >"$tmp/out" 2>&1
st=$?
cat "$tmp/out"
[ "$st" -eq 0 ] || fail "normbench exited $st (a check or a call failed: rows marked FAIL/ERROR above)"
grep -q 'every result checked against the scalar tier' "$tmp/out" ||
    fail "no 'every result checked' line"

# the implementations the run announced: "libnorm tiers: scalar avx2 avx512; api -> ..."
tiers=$(sed -n 's/^libnorm tiers:\([^;]*\);.*/\1/p' "$tmp/out")
[ -n "$tiers" ] || fail "no libnorm tier announced"
want="floor-rd floor $tiers api naive ggml"
grep -q '^floors: .*oneDNN not built$' "$tmp/out" || want="$want onednn"

awk -F, -v want="$want" '
NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
{
    if ($col["status"] != "ok") { print "normbench-smoke: " $1 " " $2 ": " $col["status"]; bad = 1 }
    ok[$1 "," $2] = 1
}
END {
    n = split(want, impls, " ")
    split("ln ln-plain rms", ops, " ")
    for (i = 1; i <= n; i++)
        for (o = 1; o <= 3; o++) {
            if (impls[i] == "onednn" && ops[o] == "rms")
                continue # oneDNN 2.6 has no RMSNorm
            if (!ok[impls[i] "," ops[o]]) {
                print "normbench-smoke: no row for " impls[i] " " ops[o]
                bad = 1
            }
        }
    exit bad
}' "$tmp/run.csv" || fail "the csv misses a row or has one that did not pass"
echo "normbench-smoke: ok ($want)"
