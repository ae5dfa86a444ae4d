#!/usr/bin/env python3
"""Which tiers ./test.sh exercised, and how: read from the meson test logs, not assumed.

    tier_report.py LABEL=PATH/testlog.json ...

Every checkasm run prints one line per tier it was asked for (tests/checkasm.c):
    checkasm: tier NAME: PASS (...) | FAIL ... | NOT RUN (why) | REFUSED as expected (why)
and the log records the command (with qemu-x86_64 -cpu MODEL, or the cross build's qemu-aarch64
exe_wrapper, in front) and the environment (QEMU_CPU). From these, each tier is reported as run
natively, run emulated (SIMDe on this CPU, or a qemu CPU model) or not run, per build (LABEL).
"""
import json
import os
import re
import sys

LINE = re.compile(r"^checkasm: tier (\S+): (PASS|FAIL|NOT RUN|REFUSED as expected)(.*)$")
FAMILY = {"avx512-emu": "avx512"}
ORDER = ["avx2", "avx512", "neon"]


def how_run(entry, tier):
    """'native', or a description of the emulation."""
    cmd = entry.get("command") or []
    qemu = None
    if cmd and os.path.basename(cmd[0]).startswith("qemu-"):
        model = None
        if "-cpu" in cmd:
            model = cmd[cmd.index("-cpu") + 1]
        else:
            model = (entry.get("env") or {}).get("QEMU_CPU")
        qemu = os.path.basename(cmd[0]) + (" -cpu " + model if model else " (default CPU)")
    if tier == "avx512-emu":
        return "SIMDe " + ("under " + qemu if qemu else "on this CPU's AVX2")
    return "under " + qemu if qemu else "native"


def main(args):
    rows = []  # (family, tier, how, status, detail, label, test)
    for arg in args:
        label, _, path = arg.partition("=")
        if not os.path.exists(path):
            rows.append(("?", "?", "?", "NO LOG", path, label, ""))
            continue
        with open(path, encoding="utf-8") as f:
            for text in f:
                entry = json.loads(text)
                name = entry.get("name", "").split(" / ")[-1]
                if not name.startswith("checkasm"):
                    continue
                seen = False
                for line in (entry.get("stdout") or "").splitlines():
                    m = LINE.match(line)
                    if not m:
                        continue
                    seen = True
                    tier, status, detail = m.group(1), m.group(2), m.group(3).strip()
                    if status == "PASS" and entry.get("result") != "OK":
                        status = "FAIL"  # passed its cases but the test failed (e.g. a crash after)
                    rows.append((FAMILY.get(tier, tier), tier, how_run(entry, tier), status,
                                 detail, label, name))
                if not seen:
                    rows.append(("?", "?", how_run(entry, ""), entry.get("result", "?"),
                                 "no tier line in the output", label, name))

    def group(pred):
        out = {}
        for fam, tier, how, status, detail, label, test in rows:
            if pred(fam, tier, how, status):
                key = (fam, how)
                out.setdefault(key, [])
                if status in ("PASS", "REFUSED as expected"):
                    tag = label
                elif status == "NOT RUN":
                    tag = label + ": " + detail.strip("()")
                else:
                    tag = label + " " + status + (": " + detail if detail else "")
                if tag not in out[key]:
                    out[key].append(tag)
        return out

    def show(title, groups, with_how):
        items = []
        for fam in ORDER + sorted({k[0] for k in groups} - set(ORDER)):
            parts = [(how, labels) for (f, how), labels in groups.items() if f == fam]
            if not parts:
                continue
            desc = "; ".join((how + " " if with_how else "") + "[" + ", ".join(labels) + "]"
                             for how, labels in parts)
            items.append(f"{fam} {desc}")
        print(f"  {title:<21}" + ("\n  " + " " * 21).join(items or ["(none)"]))

    ran = lambda f, t, h, s: s in ("PASS", "FAIL")
    print("tier report (from the meson test logs):")
    show("ran natively:", group(lambda f, t, h, s: ran(f, t, h, s) and h == "native"), False)
    show("ran emulated:", group(lambda f, t, h, s: ran(f, t, h, s) and h != "native"), True)
    show("not run:", group(lambda f, t, h, s: s not in ("PASS", "FAIL", "REFUSED as expected")),
         True)
    show("refused as expected:", group(lambda f, t, h, s: s == "REFUSED as expected"), True)
    anywhere = {r[0] for r in rows if r[3] in ("PASS", "FAIL")}
    built = {r[0] for r in rows if r[0] != "?"}
    never = [f for f in ORDER if f not in anywhere]
    print(f"  {'not run at all:':<21}" + (", ".join(never) if never else "(none)") +
          ("" if built >= set(ORDER) else "  (tiers of no build here: " +
           ", ".join(f for f in ORDER if f not in built) + ")"))
    failed = [r for r in rows if r[3] == "FAIL"]
    if failed:
        print("  FAILED: " + "; ".join(f"{r[1]} {r[2]} [{r[5]}]" for r in failed))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
