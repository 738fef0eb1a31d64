"""End-to-end: every step of a real Linux guest's downtime has a name.

A guest built from Debian's packages (guest.py: kernel, busybox initramfs, a disk
writer on virtio-blk with a writeback cache, a memory dirtier) migrates under
TCG with our series on QEMU 10.0 and 10.2. On each side:

- query-migrate's downtime-steps equals the side's vmstate_downtime_step trace
  lines: names, devices, kinds, order and exact times;
- each step lies inside its phase of the side's checkpoints, and the steps of a
  phase sum to no more than the phase;
- the run-state handlers carry their registered names, the qdev ones their
  device's QOM path and type; block steps their node and driver;
- device times plus steps name at least 90 % of the side's downtime (a timing: one more
  migration is allowed when the first falls short), and `devstate report` on the two logs
  says so;
- outside a downtime, stop and cont run the same handlers without a step being
  traced or listed.
"""

import json
import subprocess
import time

import guest
import qemu_harness as h

# Where each work step runs: the checkpoints that bound it (precopy, per side).
SOURCE_PHASES = {
    "stop": ("src-downtime-start", "src-vm-stopped"),
    "switchover": ("src-vm-stopped", "src-iterable-saved"),
    "non-iterable": ("src-iterable-saved", "src-non-iterable-saved"),
    "end": ("src-non-iterable-saved", "src-downtime-end"),
}
SOURCE_STEP_PHASE = {
    "clock-stop": "stop", "vcpu-pause": "stop", "stop-event": "stop", "block-drain-all": "stop",
    "block-flush": "stop", "block-inactivate": "switchover", "cpu-sync": "non-iterable", "vmdesc": "non-iterable",
    "stream-flush": "end", "completion-unlock": "end",
    "return-path-close": "end", "completion-lock": "end",
}
DESTINATION_PHASES = {
    "load": ("origin", "dst-precopy-loadvm-completed"),
    "announce": ("dst-precopy-bh-enter", "dst-precopy-bh-announced"),
    "vm-start": ("dst-precopy-bh-announced", "dst-precopy-bh-vm-started"),
}
DESTINATION_STEP_PHASE = {
    "stream-wait": "load", "announce": "announce", "multifd-recv-shutdown": "vm-start",
    "block-activate": "vm-start", "resume-event": "vm-start", "vcpu-resume": "vm-start",
}
# The run-state handlers run in the source's stop phase and the destination's vm start.
HANDLER_PHASE = {"source": "stop", "destination": "vm-start"}
SHARE_GOAL = 90.0


def log(msg=""):
    print(msg, flush=True)


def wait_steps(vm, count, timeout=10.0):
    """The trace log is written asynchronously: its step lines, once `count` are in."""
    deadline = time.monotonic() + timeout
    while True:
        steps = h.step_events(vm.trace_lines())
        if len(steps) >= count or time.monotonic() > deadline:
            return steps
        time.sleep(0.05)


def phase_bounds(reply, phases):
    marks = {c["name"]: c["time"] for c in reply["downtime-checkpoints"]}
    marks["origin"] = 0
    return {phase: (marks[a], marks[b]) for phase, (a, b) in phases.items()}


def check_phases(side, reply, phases, step_phase):
    """Every step inside its phase; per phase, the steps' sum within the phase."""
    bounds = phase_bounds(reply, phases)
    sums = {phase: 0 for phase in phases}
    for s in reply["downtime-steps"]:
        phase = HANDLER_PHASE[side] if s["kind"] != "work" else step_phase[s["name"]]
        lo, hi = bounds[phase]
        assert lo <= s["start"] and s["start"] + s["time"] <= hi, (
            f"{side}: {s} outside its phase {phase} [{lo}, {hi}]")
        sums[phase] += s["time"]
    for phase, total in sums.items():
        lo, hi = bounds[phase]
        assert total <= hi - lo, f"{side}: steps of {phase} sum to {total} us, the phase is {hi - lo} us"
        log(f"  {side} {phase}: {hi - lo} us, {total} us in steps")
    return bounds


def attributed_share(side, reply):
    """Percent of the side's downtime named by a device time or a step."""
    marks = {c["name"]: c["time"] for c in reply["downtime-checkpoints"]}
    if side == "source":
        downtime = marks["src-downtime-end"]
        devices = sum(e["save-time"] for e in reply.get("device-state-times", []) +
                      reply.get("iterable-state-times", []))
    else:
        downtime = marks["dst-precopy-bh-vm-started"]
        devices = sum(e["load-time"] for e in reply.get("device-load-times", []))
    steps = sum(s["time"] for s in reply["downtime-steps"])
    return 100.0 * (devices + steps) / downtime, downtime, devices, steps


def test_every_step_of_a_real_guests_downtime_is_named(patched_bin, release, tmp_path):
    # The named share is a timing: on a 2-core machine, with TCG's threads, a migration now and
    # then has a few ms of its source's switchover in no step (CI at e7273ed: 85.3 % on 10.2's
    # source; make bench's real-guest runs: 97.8-98.6 %). One more migration is allowed; every
    # other check holds on both, and both shares are printed.
    low = migrate_and_check(patched_bin, release, tmp_path / "first")
    if low:
        log(f"  {release}: {'; '.join(low)}: below {SHARE_GOAL} %, migrating once more")
        low = migrate_and_check(patched_bin, release, tmp_path / "second")
    assert not low, "; ".join(low)


def migrate_and_check(patched_bin, release, wd):
    """One migration and every check of it; the sides whose named share is below the goal."""
    kernel, initrd = guest.build_guest()
    wd.mkdir()
    src, dst, source, destination = guest.migrate_guest(patched_bin, str(wd), kernel, initrd)
    low = []
    try:
        assert source["status"] == "completed" and destination["status"] == "completed", (source, destination)
        for side, vm, reply, phases, step_phase in (
                ("source", src, source, SOURCE_PHASES, SOURCE_STEP_PHASE),
                ("destination", dst, destination, DESTINATION_PHASES, DESTINATION_STEP_PHASE)):
            listed = reply.get("downtime-steps")
            assert listed, f"{side}: no downtime-steps in {reply}"
            assert reply["downtime-entries-dropped"] == 0
            traced = wait_steps(vm, len(listed))
            # The same steps, in the same order, with the same times (start is the list's own).
            unstarted = [{k: v for k, v in s.items() if k != "start"} for s in listed]
            assert unstarted == traced, "\n".join(
                f"{a!s:<110} | {b}" for a, b in zip(unstarted + [None] * len(traced), traced + [None] * len(unstarted))
                if a is not None or b is not None)
            check_phases(side, reply, phases, step_phase)
            names = {s["name"] for s in listed if s["kind"] == "work"}
            assert names >= set(step_phase) - {"stream-wait", "return-path-close", "multifd-recv-shutdown"}, (
                f"{side}: work steps {sorted(names)}")
            # virtio's handler, registered by qdev for the disk's backend, with its device
            virtio = [s for s in listed if s["name"] == "virtio_vmstate_change"]
            assert virtio and all(s["kind"] == "main" and s["device"].endswith("/guest-disk-dev/virtio-backend")
                                  and s["device-type"] == "virtio-blk-device" for s in virtio), virtio
            flushes = [s for s in listed if s["name"] in ("block-flush", "block-activate")]
            assert flushes and all(s["device"] == "guest-disk" and s["device-type"] == "qcow2"
                                   for s in flushes), flushes
            share, downtime, devices, steps = attributed_share(side, reply)
            log(f"  {release} {side}: downtime {downtime} us, devices {devices} us, steps {steps} us, "
                f"named {share:.1f} %")
            if share < SHARE_GOAL:
                low.append(f"{side}: only {share:.1f} % of the downtime named")
        if low:
            return low

        # The report of the two trace logs states each side's named share, and names the steps.
        r = subprocess.run([h.need_binary("DEVSTATE_BIN"), "report", "--format", "json", src.log_path,
                            dst.log_path], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        run = json.loads(r.stdout)["runs"][0]
        for side in ("source", "destination"):
            named = run[side]["named"]
            log(f"  devstate report {side}: named {100 * named['share']:.1f} % "
                f"(devices {named['devices-us']} us, handlers and steps {named['steps-us']} us)")
            assert named["steps-known"] and named["share"] >= SHARE_GOAL / 100, named
            assert named["steps-us"] == sum(s["time"] for s in h.step_events(
                (src if side == "source" else dst).trace_lines())), named

        # Outside any downtime: the destination's guest stops and runs again, through the
        # same handlers, and nothing is traced or listed.
        before = len(h.step_events(dst.trace_lines()))
        dst.qmp.cmd("stop")
        guest.wait_status(dst.qmp, "paused")
        dst.qmp.cmd("cont")
        guest.wait_status(dst.qmp, "running")
        time.sleep(0.5)
        assert len(h.step_events(dst.trace_lines())) == before
        again = dst.qmp.cmd("query-migrate")
        assert again["downtime-steps"] == destination["downtime-steps"]
        return low
    finally:
        src.kill()
        dst.kill()
