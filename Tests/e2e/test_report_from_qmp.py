"""`devstate query` on two live patched QEMUs gives the report `devstate report` gives
from the same migration's trace logs: same devices, same times, same phases.

Needs DEVSTATE_BIN (the devstate CLI, built by scripts/qemu/e2e.sh) besides the QEMUs.
"""

import json
import os
import subprocess
import time

import qemu_harness as h

# Our reading and the trace's stamp come from two clocks a few instructions apart
# (QEMU_CLOCK_REALTIME, gettimeofday): phase durations may differ by that much.
PHASE_TOLERANCE_US = h.CHECKPOINT_TOLERANCE_US


def devstate_json(*args):
    binary = h.need_binary("DEVSTATE_BIN")
    run = subprocess.run([binary, *args, "--format", "json"], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, f"devstate {' '.join(args)}: exit {run.returncode}: {run.stderr}"
    return json.loads(run.stdout)


def devices(side):
    """(name, instance, section) -> time, for the rows a query-migrate reply can have."""
    return {(d["name"], d["instance-id"], d["section"]): d["time-us"]
            for d in side["devices"] if d["time-us"] > 0 and d.get("vmsd", True)}


def phases(side):
    return {(p["phase"], p["from"], p["to"]): p["duration-us"] for p in side["phases"]}


def first_event(log_path):
    """Names a phase boundary can take from the log's first line: its checkpoint
    name, or for a load, the destination's origin (first-load-start)."""
    with open(log_path, errors="replace") as f:
        events = h.trace_events(f.read().splitlines())
    if not events:
        return set()
    e = events[0]
    return {e["name"]} if e["ev"] == "checkpoint" else {"first-load-start"}


def phase_bound(key, first):
    """A phase that starts or ends at the log's first line carries its one-time cost
    (see qemu_harness.FIRST_LINE_TOLERANCE_US)."""
    _, start, end = key
    return h.FIRST_LINE_TOLERANCE_US if {start, end} & first else PHASE_TOLERANCE_US


def migrate_pair(binary, workdir, config="q35"):
    """Source -> file -> destination, both kept running; returns (src, dst) VMs."""
    stream = os.path.join(workdir, "stream")
    src = h.QemuVM(binary, config, workdir, "src")
    try:
        info = h.migrate_to_file(src.qmp, stream)
        assert info["status"] == "completed", info
        dst = h.QemuVM(binary, config, workdir, "dst", incoming="defer")
    except Exception:
        src.kill()
        raise
    dst.qmp.cmd("migrate-incoming", uri=f"file:{stream}")
    deadline = time.monotonic() + 60
    while dst.qmp.cmd("query-migrate").get("status") not in h.DONE_STATES:
        assert time.monotonic() < deadline, "incoming migration hangs"
        time.sleep(0.05)
    return src, dst


def test_query_report_equals_trace_report(patched_bin, tmp_path):
    src, dst = migrate_pair(patched_bin, str(tmp_path))
    try:
        # QEMU's QMP socket serves one client at a time: hand both over to devstate.
        for vm in (src, dst):
            vm.qmp.close()
            vm.qmp = None
        live = devstate_json("query", src.qmp_path, dst.qmp_path)
        # The trace file is complete once QEMU has flushed it; quit first.
        src_log, dst_log = src.log_path, dst.log_path
    finally:
        src.kill()
        dst.kill()
    traced = devstate_json("report", src_log, dst_log)
    first_line = {side: first_event(path) for side, path in
                  (("source", src_log), ("destination", dst_log))}
    assert len(live["runs"]) == 1 and traced["runs"], (live["runs"], traced["runs"])
    live_run, traced_run = live["runs"][0], traced["runs"][-1]
    for side in ("source", "destination"):
        got, want = live_run[side], traced_run[side]
        assert devices(got) == devices(want), (
            f"{side}: devices differ\n  query:  {devices(got)}\n  trace:  {devices(want)}")
        assert devices(got), f"{side}: no devices"
        gp, wp = phases(got), phases(want)
        assert set(gp) == set(wp), f"{side}: phases {sorted(gp)} vs {sorted(wp)}"
        worst = max(abs(gp[k] - wp[k]) for k in gp)
        for k in gp:
            assert abs(gp[k] - wp[k]) <= phase_bound(k, first_line[side]), \
                f"{side}: phase {k}: {gp[k]} vs {wp[k]} us\n  query: {gp}\n  trace: {wp}"
        print(f"[q35 {side}] {len(devices(got))} devices equal to the trace's; "
              f"{len(gp)} phases, worst difference {worst} us")
    assert live_run["source"]["device-state-times"] == traced_run["source"]["device-state-times"]
