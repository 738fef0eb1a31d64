#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Throughput and peak RSS of `devstate report` against `grep -c vmstate_downtime`.

  bench.py DEVSTATE_BIN LOG ITERATIONS [MARKDOWN]

Each command runs ITERATIONS times with its stdout drained through a pipe (grep stops at the
first match when writing to /dev/null). The pipe holds 1 MiB and is drained with splice(2)
into /dev/null, so that on a 2-core machine the drain itself takes next to no CPU from the
command (a read loop here took a good part of a core for a JSON report's 1.5 GB); the
best wall time and best CPU time (user+sys) are
kept, and the peak RSS over all runs. Ratios are grep's time over the command's: the floor is
0.4 for reading the log (`--run 1`), 0.1 for rendering every run in each format; peak RSS
must stay flat (under 64 MiB whatever the log's size). CPU time is given too because the
machine may be shared. With MARKDOWN, the table is also written there (bench/RESULTS.md's part).
"""
import fcntl
import os
import subprocess
import sys
import time

exe, log, iters = sys.argv[1], sys.argv[2], int(sys.argv[3])
markdown = sys.argv[4] if len(sys.argv) > 4 else None
size_mb = os.path.getsize(log) / 1e6


def drain(fd):
    """Bytes read from the pipe `fd` until its end, moved to /dev/null without a copy here."""
    try:
        fcntl.fcntl(fd, 1031, 1 << 20)  # F_SETPIPE_SZ; the pipe-max-size is 1 MiB by default
    except OSError:
        pass
    total = 0
    with open(os.devnull, "wb") as null:
        if hasattr(os, "splice"):
            while True:
                n = os.splice(fd, null.fileno(), 1 << 20)
                if n == 0:
                    return total
                total += n
        buffer = bytearray(1 << 20)
        view = memoryview(buffer)
        while True:
            n = os.readv(fd, [view])
            if n == 0:
                return total
            total += n


def measure(cmd):
    best_wall = best_cpu = None
    rss = 0
    code = 0
    out_bytes = 0
    for _ in range(iters):
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE)
        out_bytes = drain(proc.stdout.fileno())
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        cpu = usage.ru_utime + usage.ru_stime
        code = os.waitstatus_to_exitcode(status)
        best_wall = wall if best_wall is None else min(best_wall, wall)
        best_cpu = cpu if best_cpu is None else min(best_cpu, cpu)
        rss = max(rss, usage.ru_maxrss)
    return best_wall, best_cpu, rss, code, out_bytes


# (name, command, goal as a ratio of grep's throughput)
rows = [
    ("grep -c vmstate_downtime", ["grep", "-c", "vmstate_downtime", log], None),
    ("devstate report --run 1 (reads all runs)", [exe, "report", "--run", "1", "--format", "json", log], 0.4),
    ("devstate report --summary (every run)", [exe, "report", "--summary", log], 0.1),
    ("devstate report --format csv (every run)", [exe, "report", "--format", "csv", log], 0.1),
    ("devstate report --format json (every run)", [exe, "report", "--format", "json", log], 0.1),
    ("devstate report (table, every run)", [exe, "report", "--width", "100", log], 0.1),
    ("devstate report --all (table, every run)", [exe, "report", "--all", "--width", "100", log], 0.1),
]
if os.environ.get("DEVSTATE_BENCH_QUICK"):
    rows = rows[:3]
print("%-42s %9s %9s %9s %10s %8s %7s %7s %s" % ("command", "wall s", "cpu s", "MB/s", "peak RSS", "out MB", "ratio", "ratio", "exit"))
print("%-42s %9s %9s %9s %10s %8s %7s %7s" % ("", "", "", "(wall)", "MiB", "", "wall", "cpu"))
grep = None
table = []
for name, cmd, goal in rows:
    wall, cpu, rss, code, out = measure(cmd)
    if grep is None:
        grep = (wall, cpu)
    print("%-42s %9.3f %9.3f %9.1f %10.1f %8.1f %6.2fx %6.2fx %d" % (
        name, wall, cpu, size_mb / wall, rss / 1024, out / 1e6, grep[0] / wall, grep[1] / cpu, code))
    sys.stdout.flush()
    table.append((name, wall, cpu, size_mb / wall, rss / 1024, out / 1e6, grep[0] / wall, goal, code))

if markdown:
    with open(markdown, "w") as f:
        f.write("| command | wall s | cpu s | MB/s | peak RSS MiB | out MB | × grep (wall) | floor | exit |\n")
        f.write("| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
        for name, wall, cpu, mbs, rss, out, ratio, goal, code in table:
            met = goal is not None and ratio >= goal and rss < 64
            status = "" if goal is None else ("≥ %.2f, RSS < 64: %s" % (goal, "met" if met else "missed"))
            f.write("| %s | %.3f | %.3f | %.1f | %.1f | %.1f | %.2f | %s | %d |\n" % (
                name.replace("|", "\\|"), wall, cpu, mbs, rss, out, ratio, status, code))
