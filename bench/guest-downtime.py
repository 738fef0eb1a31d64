#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Real-guest part of `make bench`: how much of each side's downtime has a name, and what
naming the steps costs.

    bench/guest-downtime.py ROUNDS OUT.md steps=QEMU nosteps=QEMU

Each round boots Tests/e2e/guest.py's Linux guest (Debian's kernel and busybox; a disk
writer on virtio-blk with a writeback cache and a memory dirtier; TCG) under each of the two
QEMU 10.0 builds in turn and migrates it once:
  steps    our whole series (Patches/qemu-10.0): device times, checkpoints and the steps
           (run-state handlers, vCPU pause, drain, flush, block activation, stream end);
  nosteps  the same series without the steps (scripts/qemu/build.sh nosteps).
Per side it reports the share of the downtime that a device time names (all that the stock
trace and the series before the steps can name) and the share that device times plus steps
name, the source's and destination's downtime, and the A/B of the two builds' downtimes.
"""
import json
import os
import shutil
import statistics
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "Tests", "e2e"))
import guest as g  # noqa: E402

# The phases of a side that the steps break down (checkpoint names, precopy).
PHASES = {
    "source": {"stop": ("src-downtime-start", "src-vm-stopped"),
               "end": ("src-non-iterable-saved", "src-downtime-end")},
    "destination": {"vm start": ("dst-precopy-bh-announced", "dst-precopy-bh-vm-started")},
}


def side_figures(side, reply):
    """Downtime (us), device-named us, step-named us, the checkpoints, the steps."""
    marks = {c["name"]: c["time"] for c in reply["downtime-checkpoints"]}
    if side == "source":
        downtime = marks["src-downtime-end"]
        devices = sum(e["save-time"] for e in reply.get("device-state-times", []) +
                      reply.get("iterable-state-times", []))
    else:
        downtime = marks["dst-precopy-bh-vm-started"]
        devices = sum(e["load-time"] for e in reply.get("device-load-times", []))
    steps = reply.get("downtime-steps", [])
    return {"downtime": downtime, "devices": devices, "steps": sum(s["time"] for s in steps),
            "marks": marks, "list": steps}


def one_migration(binary, kernel, initrd):
    workdir = tempfile.mkdtemp(prefix="devstate-guest-bench.")
    try:
        src, dst, source, destination = g.migrate_guest(binary, workdir, kernel, initrd)
        src.kill()
        dst.kill()
        for side, reply in (("source", source), ("destination", destination)):
            if reply.get("status") != "completed":
                raise RuntimeError(f"{side}: {reply.get('status')}: {json.dumps(reply)[:400]}")
        return {"source": side_figures("source", source),
                "destination": side_figures("destination", destination),
                "downtime-ms": source.get("downtime")}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def pct(part, whole):
    return 100.0 * part / whole if whole else 0.0


def spread(values, fmt="{:.1f}"):
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}–{fmt.format(max(values))})"


def phase_rows(run):
    """The median run's phases: each phase's length and its steps, largest first."""
    rows = []
    for side, phases in PHASES.items():
        fig = run[side]
        for phase, (a, b) in phases.items():
            lo, hi = fig["marks"][a], fig["marks"][b]
            inside = [s for s in fig["list"] if lo <= s["start"] and s["start"] + s["time"] <= hi]
            named = sum(s["time"] for s in inside)
            top = sorted(inside, key=lambda s: -s["time"])[:4]
            names = ", ".join(
                f"{s['name']}{' (' + s['device'] + ')' if s.get('device') else ''} {s['time']}" for s in top)
            rows.append(f"| {side} | {phase} | {hi - lo} | {named} | {pct(named, hi - lo):.1f} % | {names} |")
    return rows


def main():
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    rounds, out = int(sys.argv[1]), sys.argv[2]
    builds = dict(arg.split("=", 1) for arg in sys.argv[3:])
    kernel, initrd = g.build_guest(skip=False)
    results = {name: [] for name in builds}
    for r in range(rounds):
        for name, binary in builds.items():  # alternate, so drift hits both alike
            run = one_migration(binary, kernel, initrd)
            results[name].append(run)
            print(f"round {r + 1}/{rounds} {name}: downtime {run['downtime-ms']} ms, "
                  f"source {pct(run['source']['devices'] + run['source']['steps'], run['source']['downtime']):.1f} % "
                  f"named, destination "
                  f"{pct(run['destination']['devices'] + run['destination']['steps'], run['destination']['downtime']):.1f} %",
                  flush=True)

    steps, base = results["steps"], results["nosteps"]
    lines = ["## A real guest's downtime, named (QEMU 10.0 with our series)", "",
             f"{rounds} migrations per build of a Linux guest (Tests/e2e/guest.py: Debian's kernel and busybox, "
             "a disk writer on virtio-blk with a writeback cache, a memory dirtier; TCG, one vCPU, 256 MiB), "
             "alternating the two builds. Median (min–max) over the migrations.", "",
             "| side | named by device times (stock trace, series before the steps) | named by device times + steps | goal |",
             "| --- | --- | --- | --- |"]
    shares = {}
    for side in ("source", "destination"):
        before = [pct(run[side]["devices"], run[side]["downtime"]) for run in steps + base]
        after = [pct(run[side]["devices"] + run[side]["steps"], run[side]["downtime"]) for run in steps]
        shares[side] = statistics.median(after)
        lines.append(f"| {side} | {spread(before)} % | {spread(after)} % | ≥ 90 %: "
                     f"{'met' if shares[side] >= 90 else 'missed'} |")
    lines += ["", "The phases the steps break down, in the migration with the median source downtime (µs):", "",
              "| side | phase | length | in steps | share | largest steps (µs) |", "| --- | --- | --- | --- | --- | --- |"]
    median_run = sorted(steps, key=lambda run: run["source"]["downtime"])[len(steps) // 2]
    lines += phase_rows(median_run)
    lines += ["", "The hooks' cost on the real downtime, A/B (source: src-downtime-start to src-downtime-end; "
              "destination: first switchover load to guest start; µs):", "",
              "| build | source downtime | destination downtime | steps listed per migration (source + destination) |",
              "| --- | --- | --- | --- |"]
    for name, runs in (("steps", steps), ("nosteps", base)):
        listed = [len(run["source"]["list"]) + len(run["destination"]["list"]) for run in runs]
        lines.append(f"| {name} | {spread([run['source']['downtime'] for run in runs], '{:.0f}')} | "
                     f"{spread([run['destination']['downtime'] for run in runs], '{:.0f}')} | "
                     f"{spread(listed, '{:.0f}')} |")
    a = statistics.median(run["source"]["downtime"] for run in steps)
    b = statistics.median(run["source"]["downtime"] for run in base)
    noise = statistics.median(abs(run["source"]["downtime"] - b) for run in base)
    lines += ["", f"Median source downtime with the steps / without: {a / b:.3f} ({100 * (a - b) / b:+.1f} %); "
              f"the runs without the steps alone scatter by a median {100 * noise / b:.1f} % around their median, "
              "so this A/B bounds the cost only as tightly as that scatter. The cost the steps add is what their "
              "records cost (the micro-benchmark's instructions per step above) times the steps listed, "
              "plus a clock read per step."]
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.splitext(out)[0] + ".json", "w") as f:
        json.dump({"shares": shares, "a_over_b": a / b, "noise": noise / b,
                   "steps_per_migration": statistics.median(
                       len(run["source"]["list"]) + len(run["destination"]["list"]) for run in steps),
                   "source_downtime_us": a}, f)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
