#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Downtime of real migrations: unpatched, reference-patched and library-patched QEMU 10.0.

Each round migrates a fresh VM of the e2e q35 configuration to a file once per variant, in
turn, so slow phases of the machine hit all variants alike. From each source trace log it
takes the non-iterable phase (src-iterable-saved -> src-non-iterable-saved) and the total
downtime (src-downtime-start -> src-downtime-end) from the checkpoints' timestamps.

usage: qemu-downtime.py ROUNDS OUT.md unpatched=BIN reference=BIN library=BIN
"""
import os
import re
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "e2e"))
from qemu_harness import QemuVM, migrate_to_file  # noqa: E402

CHECKPOINT = re.compile(r"@(\d+)\.(\d{6}):vmstate_downtime_checkpoint (\S+)")


def checkpoints(lines):
    """Microsecond timestamps of the last migration's source checkpoints."""
    seen = {}
    for line in lines:
        m = CHECKPOINT.search(line)
        if m:
            seen[m.group(3)] = int(m.group(1)) * 1_000_000 + int(m.group(2))
    return seen


def migrate_once(binary, workdir, name):
    with QemuVM(binary, "q35", workdir, name) as vm:
        info = migrate_to_file(vm.qmp, os.path.join(workdir, f"{name}.mig"))
        if info.get("status") != "completed":
            raise RuntimeError(f"{name}: migration ended {info.get('status')}")
        for _ in range(100):  # the log backend writes asynchronously
            cp = checkpoints(vm.trace_lines())
            if "src-downtime-end" in cp:
                break
            time.sleep(0.05)
    need = ["src-downtime-start", "src-iterable-saved", "src-non-iterable-saved", "src-downtime-end"]
    missing = [n for n in need if n not in cp]
    if missing:
        raise RuntimeError(f"{name}: checkpoints missing from the trace: {missing}")
    return (cp["src-non-iterable-saved"] - cp["src-iterable-saved"],
            cp["src-downtime-end"] - cp["src-downtime-start"])


def main():
    rounds = int(sys.argv[1])
    out = sys.argv[2]
    variants = dict(arg.split("=", 1) for arg in sys.argv[3:])
    results = {v: {"non_iterable": [], "downtime": []} for v in variants}
    with tempfile.TemporaryDirectory(prefix="devstate-downtime-") as workdir:
        for r in range(rounds):
            for v, binary in variants.items():
                non_iterable, downtime = migrate_once(binary, workdir, f"{v}-{r}")
                results[v]["non_iterable"].append(non_iterable)
                results[v]["downtime"].append(downtime)
            print(f"round {r + 1}/{rounds}: " + ", ".join(
                f"{v} {results[v]['non_iterable'][-1]}/{results[v]['downtime'][-1]} us" for v in variants),
                flush=True)
    med = {v: {k: statistics.median(x) for k, x in d.items()} for v, d in results.items()}
    ratio_ni = med["library"]["non_iterable"] / med["reference"]["non_iterable"]
    ratio_dt = med["library"]["downtime"] / med["reference"]["downtime"]
    lines = [
        "## Real QEMU 10.0.13 migrations (q35 e2e configuration, TCG)",
        "",
        f"{rounds} rounds; each round migrates a fresh VM of every variant to a file, in turn. "
        "Times from the source trace's vmstate_downtime_checkpoint timestamps; medians in µs.",
        "",
        "| variant | non-iterable phase (median) | total downtime (median) | non-iterable min–max |",
        "| --- | --- | --- | --- |",
    ]
    for v in variants:
        ni = results[v]["non_iterable"]
        lines.append(f"| {v} | {med[v]['non_iterable']:.0f} | {med[v]['downtime']:.0f} | {min(ni)}–{max(ni)} |")
    lines += [
        "",
        f"library / reference: non-iterable phase {ratio_ni:.3f}, total downtime {ratio_dt:.3f} "
        f"(goal ≤ 1.02: {'met' if ratio_ni <= 1.02 else 'missed'} for the non-iterable phase).",
    ]
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
