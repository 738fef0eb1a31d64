"""End-to-end tests: real migrations of the patched and the reference QEMU,
on every QEMU release (conftest.py's `release` fixture: 10.0 and 10.2).

Run through scripts/qemu/e2e.sh, which builds the QEMUs and exports
DEVSTATE_QEMU_<VARIANT>_<RELEASE> and DEVSTATE_QEMU_SRC_<RELEASE>. A
missing binary makes the tests fail, never skip.
"""

import glob
import json
import os
import shutil
import subprocess
import time

import pytest

import qemu_harness as h

# Devices every run of a configuration must list (name -> instance ids).
REAL_DEVICES = {
    "pc": {
        "apic": {0}, "cpu": {0}, "PCIBUS": {0}, "timer": {0},
        "fw_cfg": {0}, "i8259": {0, 1}, "mc146818rtc": {0},
        "0000:00:02.0/vga": {0},          # default VGA
        "0000:00:03.0/e1000": {0},        # default NIC
        "0000:00:01.1/ide": {0},
    },
    "q35": {
        "apic": {0, 1}, "cpu": {0, 1}, "PCIBUS": {0}, "timer": {0},
        "fw_cfg": {0}, "mc146818rtc": {0},
        "0000:00:01.0/virtio-net": {0},
        "0000:00:02.0/virtio-blk": {0},
        "0000:00:03.0/e1000e": {0},
        "0000:00:04.0/xhci": {0},
        "0000:00:04.0/1/usb-ptr": {0},  # usb-tablet
        "0000:00:05.0/vga": {0},
        "0000:00:1f.2/ich9_ahci": {0},
    },
}


def log(msg=""):
    print(msg, flush=True)


def entry_keys(e):
    return [(x["name"], x["instance-id"]) for x in e]


def check_times_match_trace(info, trace_run, with_handlers=False):
    """device-state-times must be exactly the traced run minus skipped entries."""
    assert info.get("status") == "completed", info
    assert "device-state-times" in info, f"no device-state-times in {sorted(info)}"
    times = info["device-state-times"]
    assert isinstance(times, list) and times, "device-state-times is empty"
    for e in times:
        assert e["save-time"] > 0, e
        want = {"name", "instance-id", "save-time"}
        if with_handlers and e.get("handler"):
            want.add("handler")
        assert set(e) == want, f"members of {e}"
    expected = h.expected_times(trace_run, with_handlers)
    assert times == expected, (
        "device-state-times differs from the trace\n"
        f"  got:      {json.dumps(times)}\n  expected: {json.dumps(expected)}")
    return times


def check_schema(qmp, kind):
    """Reference: MigrationInfo's last member is the optional
    device-state-times list of DeviceSaveStateTime {name, instance-id,
    save-time}. Release 0.1.0's series: the same with *handler.
    Ours: device-state-times (DeviceSaveStateTime with *handler)
    is followed by iterable-state-times (the same element type),
    device-load-times (DeviceLoadStateTime {name, instance-id, load-time,
    *iterable}), downtime-checkpoints (DowntimeCheckpoint {name, time}),
    downtime-entries-dropped (uint64) and downtime-steps (DowntimeStep {name,
    *device, *device-type, kind, start, time}), the last six members."""
    members, elem = h.migration_info_schema(qmp)
    save = [("name", "str", False), ("instance-id", "int", False),
            ("save-time", "int", False)]
    if kind != "ours":
        assert members and members[-1] == "device-state-times", \
            f"device-state-times is not MigrationInfo's last member: {members[-3:]}"
        if kind == "0.1.0":
            save.append(("handler", "bool", True))
        assert elem == save, f"DeviceSaveStateTime members: {elem}"
        assert not set(h.WHOLE_DOWNTIME_MEMBERS) & set(members), members[-5:]
        return
    assert members[-len(h.NEW_MEMBERS):] == h.NEW_MEMBERS, \
        f"MigrationInfo does not end with {h.NEW_MEMBERS}: {members[-6:]}"
    save.append(("handler", "bool", True))  # optional ("default" present)
    assert elem == save, f"DeviceSaveStateTime members: {elem}"
    want = {
        "iterable-state-times": save,
        "device-load-times": [("name", "str", False), ("instance-id", "int", False),
                              ("load-time", "int", False), ("iterable", "bool", True)],
        "downtime-checkpoints": [("name", "str", False), ("time", "int", False)],
    }
    for member, fields in want.items():
        _, got = h.migration_info_schema(qmp, member)
        assert got == fields, f"element members of {member}: {got}"
    # downtime-steps: its kind is an enum, which introspection names by number only
    _, got = h.migration_info_schema(qmp, "downtime-steps")
    schema = {t["name"]: t for t in qmp.cmd("query-qmp-schema")}
    kind = [t for name, t, _ in got if name == "kind"]
    assert kind and schema[kind[0]].get("values") == ["work", "prepare", "main"], (got, kind)
    assert [(n, t if n != "kind" else "enum", o) for n, t, o in got] == [
        ("name", "str", False), ("device", "str", True), ("device-type", "str", True),
        ("kind", "enum", False), ("start", "int", False), ("time", "int", False)], got


def no_new_members(info):
    """None of the four lists of our series is in a query-migrate reply."""
    return not [m for m in h.NEW_MEMBERS if m in info]


def check_source_whole_downtime(info, events, iterable_run, checkpoint_run, label):
    """A completed source's iterable-state-times and downtime-checkpoints
    against the trace: `iterable_run` / `checkpoint_run` are the index of the
    traced run the reply must show, or None for "no such list"."""
    assert info.get("status") == "completed", info
    assert "device-load-times" not in info, "a source lists device loads"
    assert info.get("downtime-entries-dropped") == 0, \
        f"{label}: downtime-entries-dropped is {info.get('downtime-entries-dropped')}"
    iruns = h.source_iterable_runs(events)
    want = h.expected_iterable_times(iruns[iterable_run]) if iterable_run is not None else []
    if want:
        got = info.get("iterable-state-times")
        assert got == want, (
            f"{label}: iterable-state-times differs from the trace\n"
            f"  got:      {json.dumps(got)}\n  expected: {json.dumps(want)}")
    else:
        assert "iterable-state-times" not in info, \
            f"{label}: iterable-state-times without a traced iterable save: {info}"
    if checkpoint_run is None:
        assert "downtime-checkpoints" not in info, \
            f"{label}: downtime-checkpoints without a traced downtime: {info}"
        return None
    cps = info.get("downtime-checkpoints")
    assert cps, f"{label}: no downtime-checkpoints in {sorted(info)}"
    traced = h.source_checkpoint_runs(events)[checkpoint_run]
    assert cps[0] == {"name": "src-downtime-start", "time": 0}, cps[0]
    assert cps[-1]["name"] == "src-downtime-end", cps[-1]
    worst = h.check_checkpoints(cps, traced, traced[0]["ts"])
    h.CHECKPOINT_DEVIATIONS.append((worst, f"{label} source"))
    log(f"[{label}] source: {len(cps)} checkpoints, worst difference to the trace "
        f"{worst} us; iterable-state-times {json.dumps(info.get('iterable-state-times'))}")
    return worst


def check_destination_whole_downtime(info, events, label):
    """A completed destination's device-load-times and downtime-checkpoints
    equal its trace: every load with time > 0 (iterable: true exactly on
    type=iterable lines) and every dst-* checkpoint."""
    assert info.get("status") == "completed", info
    assert "device-state-times" not in info and "iterable-state-times" not in info
    assert info.get("downtime-entries-dropped") == 0, \
        f"{label}: downtime-entries-dropped is {info.get('downtime-entries-dropped')}"
    loads = info.get("device-load-times")
    assert loads, f"{label}: no device-load-times in {sorted(info)}"
    tagged = h.expected_load_times(events)
    for e in loads:
        assert e["load-time"] > 0, e
        assert set(e) <= {"name", "instance-id", "load-time", "iterable"}, e
        assert e.get("iterable", True) is True, e
    want = [v for _, v in tagged]
    loads_events = [e for e in h.downtime_loads(events) if e["dt"] > 0]
    postcopy = any(e["name"].startswith("dst-postcopy") for e in events if e["ev"] == "checkpoint")
    if loads != want and postcopy and h.same_without_thread_ids(loads, want, loads_events):
        # postcopy on a log without thread ids: main and listen thread interleave
        log(f"{label}: loads of two threads, no thread ids in the log: same entries")
    elif len({t for t, _ in tagged}) == 1:
        assert loads == want, (
            f"{label}: device-load-times differs from the trace\n"
            f"  got:      {json.dumps(loads)}\n  expected: {json.dumps(want)}")
    else:  # loads of two threads (postcopy): each thread's order is kept
        assert h.is_interleaving(loads, tagged), (
            f"{label}: device-load-times is no interleaving of the threads' traces\n"
            f"  got:      {json.dumps(loads)}\n  expected: {json.dumps(want)}")
    traced = [e for e in events if e["ev"] == "checkpoint"]
    assert traced and all(e["name"].startswith("dst-") for e in traced), traced
    cps = info.get("downtime-checkpoints")
    assert cps, f"{label}: no downtime-checkpoints in {sorted(info)}"
    first_load = h.downtime_loads(events)[0]
    worst = h.check_checkpoints(cps, traced, h.load_origin(events),
                                origin_first=first_load["first"])
    h.CHECKPOINT_DEVIATIONS.append((worst, f"{label} destination"))
    skipped = len([e for e in h.downtime_loads(events) if e["dt"] <= 0])
    log(f"[{label}] destination: {len(loads)} loads ({skipped} traced with 0 us "
        f"left out), {len(cps)} checkpoints, worst difference to the trace {worst} us")
    return worst


def check_real_devices(config, times):
    got = {}
    for e in times:
        got.setdefault(e["name"], set()).add(e["instance-id"])
    missing = {n: ids - got.get(n, set()) for n, ids in REAL_DEVICES[config].items()
               if ids - got.get(n, set())}
    assert not missing, f"{config}: real devices missing from device-state-times: {missing}"


def start_vm(binary, config, workdir, name, **kw):
    os.makedirs(workdir, exist_ok=True)
    return h.QemuVM(binary, config, workdir, name, **kw)


def wait_incoming(dst, seen=None, timeout=60):
    """Polls the destination's query-migrate until a terminal status."""
    deadline = time.monotonic() + timeout
    while True:
        info = dst.qmp.cmd("query-migrate")
        if seen is not None:
            seen.append(info)
        if info.get("status") in h.DONE_STATES:
            return info
        assert time.monotonic() < deadline, f"incoming migration hangs: {info}"
        time.sleep(0.05)


def check_loads(binary, config, workdir, stream, kind="ours", label=None):
    """migrate-incoming of `stream` into a second QEMU completes; the guest
    runs. Ours: device-load-times and downtime-checkpoints equal the trace.
    Returns the destination's raw query-migrate reply."""
    with start_vm(binary, config, workdir, "dst", incoming="defer") as dst:
        dst.qmp.cmd("migrate-incoming", uri=f"file:{stream}")
        seen = []
        info = wait_incoming(dst, seen)
        raw = dst.qmp.last_raw
        assert info["status"] == "completed", f"incoming migration: {info}"
        assert "device-state-times" not in info  # the destination saved nothing
        leaked = [s for s in seen if s.get("status") != "completed" and not no_new_members(s)]
        assert not leaked, f"destination lists while {leaked[0].get('status')}"
        if kind == "ours":
            check_destination_whole_downtime(info, h.trace_events(dst.trace_lines()),
                                             label or f"{config} {os.path.basename(stream)}")
        else:
            assert not [m for m in h.WHOLE_DOWNTIME_MEMBERS if m in info], info
        dst.qmp.cmd("cont")
        time.sleep(0.5)
        st = dst.qmp.cmd("query-status")
        assert st["status"] == "running" and st["running"], st
        loads = [ln for ln in dst.trace_lines() if "vmstate_downtime_load" in ln]
        assert loads, "destination trace shows no device loaded"
        return raw


def run_scenario(binary, config, workdir, handlers=None, seen=None, kind="ours", label=None):
    """One migration to a file; kind "ours": the source's iterable-state-times and
    downtime-checkpoints equal the trace ("reference", "0.1.0": the builds
    without them).

    Returns (final query-migrate reply, its raw JSON line, traced run, stream path).
    """
    vm = start_vm(binary, config, workdir, "src")
    try:
        check_schema(vm.qmp, kind)
        if handlers is not None:
            vm.qmp.cmd("migrate-set-capabilities", capabilities=[
                {"capability": h.HANDLER_CAPABILITY, "state": handlers}])
        assert "device-state-times" not in vm.qmp.cmd("query-migrate")
        stream = os.path.join(workdir, "stream-1.bin")
        info = h.migrate_to_file(vm.qmp, stream, seen=seen)
        raw = vm.qmp.last_raw
        runs = h.wait_trace_runs(vm, 1)
        assert len(runs) == 1, f"expected one traced non-iterable run, got {len(runs)}"
        if kind == "ours":
            check_source_whole_downtime(info, h.trace_events(vm.trace_lines()), 0, 0,
                                        label or f"{config} migration")
        else:
            assert not [m for m in h.WHOLE_DOWNTIME_MEMBERS if m in info], info
        return info, raw, runs[0], stream
    finally:
        vm.kill()


# --- patched build --------------------------------------------------------------


@pytest.mark.parametrize("config", ["pc", "q35"])
def test_patched_lists_device_times_equal_to_trace(patched_bin, qemu_img, results,
                                                   tmp_path, config, release):
    label = f"{release} {config} migration"
    info, raw, trace_run, stream = run_scenario(patched_bin, config, str(tmp_path),
                                                label=label)
    log(f"\n[patched {release} {config}] query-migrate reply, as sent by QEMU:")
    log(raw)
    times = check_times_match_trace(info, trace_run)
    check_real_devices(config, times)
    skipped = h.skipped_by_patch(trace_run)
    log(f"[patched {release} {config}] {len(times)} entries; traced with downtime > 0 but "
        f"skipped (no vmsd): {skipped}")
    assert not any(e.get("handler") for e in times)
    results[(release, "patched", config)] = (info, trace_run)
    dst_raw = check_loads(patched_bin, config, str(tmp_path), stream, label=label)
    log(f"[patched {release} {config}] destination query-migrate reply, as sent by QEMU:")
    log(dst_raw)


def test_patched_semantics_active_second_run_cancel(patched_bin, tmp_path):
    """Absent while active; a second migration replaces; cancel shows nothing."""
    wd = str(tmp_path)
    with start_vm(patched_bin, "pc", wd, "src") as vm:
        q = vm.qmp
        # slow enough that query-migrate sees the migration in flight
        q.cmd("migrate-set-parameters", **{"max-bandwidth": 2 * 1024 * 1024})

        def migrate(n):
            seen = []
            info = h.migrate_to_file(q, os.path.join(wd, f"stream-{n}.bin"), seen=seen)
            inflight = [s for s in seen if s.get("status") not in h.DONE_STATES]
            assert any(s.get("status") == "active" for s in inflight), \
                f"run {n}: never saw status active: {[s.get('status') for s in seen]}"
            leaked = [s for s in inflight if not no_new_members(s)]
            assert not leaked, f"run {n}: a list while {leaked[0]['status']}: " \
                f"{[m for m in h.NEW_MEMBERS if m in leaked[0]]}"
            return info

        def events():
            return h.trace_events(vm.trace_lines())

        info1 = migrate(1)
        runs = h.wait_trace_runs(vm, 1)
        assert len(runs) == 1
        t1 = check_times_match_trace(info1, runs[0])
        check_source_whole_downtime(info1, events(), 0, 0, "semantics run 1")

        q.cmd("cont")
        info2 = migrate(2)  # run 1's list must not show while run 2 is active
        runs = h.wait_trace_runs(vm, 2)
        assert len(runs) == 2, f"{len(runs)} traced runs after the second migration"
        t2 = check_times_match_trace(info2, runs[1])
        check_source_whole_downtime(info2, events(), 1, 1, "semantics run 2")
        if h.expected_times(runs[0]) != h.expected_times(runs[1]):
            assert t2 != t1, "second migration still shows the first run's list"
        log(f"\n[semantics] run 1 total {sum(e['save-time'] for e in t1)} us, "
            f"run 2 total {sum(e['save-time'] for e in t2)} us")

        # a cancelled migration: no list, although the library still holds run 2
        q.cmd("cont")
        q.cmd("migrate-set-parameters", **{"max-bandwidth": 64 * 1024})
        q.cmd("migrate", uri=f"file:{os.path.join(wd, 'stream-3.bin')}")
        deadline = time.monotonic() + 30
        while q.cmd("query-migrate").get("status") != "active":
            assert time.monotonic() < deadline, "migration 3 never became active"
            time.sleep(0.02)
        q.cmd("migrate_cancel")
        seen = []
        info3 = h.wait_migration(q, seen=seen)
        assert info3["status"] == "cancelled", info3
        assert not [s for s in seen if not no_new_members(s)], seen
        time.sleep(0.2)
        again = q.cmd("query-migrate")
        assert again["status"] == "cancelled" and no_new_members(again), again
        assert len(h.wait_trace_runs(vm, 3, timeout=1)) == 2, \
            "a cancelled migration must not have run the non-iterable save"

        # a failed migration: the stream's reader goes away while it is
        # active (1 MB of a ~2 MB stream at 1 MB/s)
        if q.cmd("query-status")["status"] != "running":
            q.cmd("cont")
        q.cmd("migrate-set-parameters", **{"max-bandwidth": 1024 * 1024})
        q.cmd("migrate", uri="exec:head -c 1000000 >/dev/null")
        seen = []
        info_f = h.wait_migration(q, seen=seen)
        assert info_f["status"] == "failed", info_f
        assert any(s.get("status") == "active" for s in seen), \
            [s.get("status") for s in seen]
        assert not [s for s in seen if not no_new_members(s)], seen
        time.sleep(0.2)
        again = q.cmd("query-migrate")
        assert again["status"] == "failed" and no_new_members(again), again
        log(f"[semantics] failed migration ({info_f.get('error-desc')}): no list")

        # and the next completed migration reports its own run
        q.cmd("migrate-set-parameters", **{"max-bandwidth": 1 << 30})
        if q.cmd("query-status")["status"] != "running":
            q.cmd("cont")
        info4 = h.migrate_to_file(q, os.path.join(wd, "stream-4.bin"))
        runs = h.wait_trace_runs(vm, 3)
        assert len(runs) == 3
        check_times_match_trace(info4, runs[2])
        assert len(h.source_checkpoint_runs(events())) == 3
        check_source_whole_downtime(info4, events(), -1, -1, "semantics run 4")


def test_patched_savevm_is_a_run(patched_bin, qemu_img, tmp_path):
    """savevm runs the same non-iterable save: its run replaces the migration's."""
    wd = str(tmp_path)
    with start_vm(patched_bin, "q35", wd, "src") as vm:
        q = vm.qmp
        info = h.migrate_to_file(q, os.path.join(wd, "stream.bin"))
        runs = h.wait_trace_runs(vm, 1)
        check_times_match_trace(info, runs[0])
        q.cmd("cont")
        out = q.cmd("human-monitor-command", **{"command-line": "savevm snap1"})
        assert "Error" not in out, out
        runs = h.wait_trace_runs(vm, 2)
        assert len(runs) == 2, "savevm did not run the non-iterable save"
        info = q.cmd("query-migrate")
        check_times_match_trace(info, runs[1])
        # savevm does the iterable switchover save (its own run) but passes
        # no src-downtime-start: no checkpoints, not the migration's either
        ev = h.trace_events(vm.trace_lines())
        assert len(h.source_iterable_runs(ev)) == 2
        assert len(h.source_checkpoint_runs(ev)) == 1
        check_source_whole_downtime(info, ev, 1, None, "savevm")
        log(f"\n[savevm] query-migrate after savevm lists {len(info['device-state-times'])} "
            f"entries of the savevm run, iterable-state-times "
            f"{json.dumps(info.get('iterable-state-times'))}, no downtime-checkpoints")


def test_patched_postcopy_switchover_is_a_run(patched_bin, tmp_path):
    """Postcopy saves devices at the switchover: that run is listed, but only
    once the migration has completed (not while postcopy-active). The
    destination's loads and checkpoints (dst-postcopy-bh-*) are listed once
    its postcopy listen thread completed the incoming migration."""
    wd = str(tmp_path)
    sock = os.path.join(wd, "migrate.sock")
    with start_vm(patched_bin, "pc", wd, "dst", incoming="defer") as dst, \
            start_vm(patched_bin, "pc", wd, "src") as src:
        for q in (src.qmp, dst.qmp):
            q.cmd("migrate-set-capabilities", capabilities=[
                {"capability": "postcopy-ram", "state": True}])
        dst.qmp.cmd("migrate-incoming", uri=f"unix:{sock}")
        src.qmp.cmd("migrate-set-parameters", **{"max-bandwidth": 256 * 1024})
        src.qmp.cmd("migrate", uri=f"unix:{sock}")
        deadline = time.monotonic() + 30
        dst_seen = []
        while src.qmp.cmd("query-migrate").get("status") != "active":
            assert time.monotonic() < deadline, "migration never became active"
            time.sleep(0.02)
        dst_seen.append(dst.qmp.cmd("query-migrate"))
        src.qmp.cmd("migrate-start-postcopy")
        src.qmp.cmd("migrate-set-parameters", **{"max-bandwidth": 1 << 30})
        seen = []
        while True:
            info = src.qmp.cmd("query-migrate")
            seen.append(info)
            dst_seen.append(dst.qmp.cmd("query-migrate"))
            if info.get("status") in h.DONE_STATES:
                break
            assert time.monotonic() < deadline + 90, f"migration did not finish: {info}"
            time.sleep(0.02)
        src_raw = src.qmp.last_raw
        statuses = [x.get("status") for x in seen]
        assert info["status"] == "completed", info
        # 10.1+ passes through postcopy-device first; a short postcopy-active
        # phase can fall between two polls
        assert [x for x in statuses if x and x.startswith("postcopy-")], statuses
        assert not [x for x in seen if x.get("status") != "completed"
                    and not no_new_members(x)], "list shown before completion"
        runs = h.wait_trace_runs(src, 1)
        assert len(runs) == 1, f"{len(runs)} traced runs"
        check_times_match_trace(info, runs[0])
        src_ev = h.trace_events(src.trace_lines())
        # one iterable pass, at the switchover: it saves only what cannot be
        # postcopied (nothing here, so no list); ram's end comes later, untimed
        assert len(h.source_iterable_runs(src_ev)) == 1
        check_source_whole_downtime(info, src_ev, 0, 0, "postcopy")

        dst_info = wait_incoming(dst, dst_seen)
        dst_raw = dst.qmp.last_raw
        dst_statuses = [x.get("status") for x in dst_seen]
        assert [x for x in dst_statuses if x and x.startswith("postcopy-")], dst_statuses
        assert not [x for x in dst_seen if x.get("status") != "completed"
                    and not no_new_members(x)], "destination list before completion"
        dst_ev = h.trace_events(dst.trace_lines())
        check_destination_whole_downtime(dst_info, dst_ev, "postcopy")
        names = [c["name"] for c in dst_info["downtime-checkpoints"]]
        assert [n for n in names if n.startswith("dst-postcopy-bh-")], names
        tids = sorted({e["tid"] for e in dst_ev if e["ev"] == "load"})
        time.sleep(0.3)
        assert dst.qmp.cmd("query-status")["status"] == "running"
        log(f"\n[postcopy] statuses seen: {sorted(set(statuses))}; "
            f"{len(info['device-state-times'])} entries from the switchover run")
        log(f"[postcopy] destination checkpoints {names}; loads traced by "
            f"{len(tids)} thread(s)")
        log("[postcopy] source query-migrate reply:")
        log(src_raw)
        log("[postcopy] destination query-migrate reply:")
        log(dst_raw)


def test_patched_failed_incoming_shows_nothing(patched_bin, tmp_path):
    """A destination whose incoming migration fails part way (a truncated
    stream) lists neither loads nor checkpoints, although it loaded devices."""
    wd = str(tmp_path)
    info, _, _, stream = run_scenario(patched_bin, "pc", wd)
    data = open(stream, "rb").read()
    # The stream ends with the device state, QEMU_VM_EOF (0), then
    # QEMU_VM_VMDESCRIPTION (6), a be32 length and that much JSON. Cut 400
    # bytes before the EOF marker: the early devices load, a later one fails.
    eof = next((p for p in range(len(data) - 6, 0, -1)
                if data[p:p + 2] == b"\x00\x06"
                and int.from_bytes(data[p + 2:p + 6], "big") == len(data) - p - 6), None)
    assert eof, "no vmdesc at the end of the stream"
    cut = os.path.join(wd, "truncated.bin")
    with open(cut, "wb") as f:
        f.write(data[:eof - 400])
    with start_vm(patched_bin, "pc", wd, "dst", incoming="defer") as dst:
        dst.qmp.cmd("migrate-incoming", uri=f"file:{cut}", **{"exit-on-error": False})
        seen = []
        dinfo = wait_incoming(dst, seen)
        assert dinfo["status"] == "failed", dinfo
        assert not [x for x in seen if not no_new_members(x)], seen
        time.sleep(0.2)
        again = dst.qmp.cmd("query-migrate")
        assert again["status"] == "failed" and no_new_members(again), again
        ev = h.trace_events(dst.trace_lines())
        loads = [e for e in ev if e["ev"] == "load"]
        assert loads, "the truncated stream loaded nothing: cut too early"
        assert not [e for e in ev if e["name"] == "dst-precopy-bh-vm-started"]
        log(f"\n[failed incoming] {len(loads)} loads traced before "
            f"'{dinfo.get('error-desc')}'; query-migrate lists nothing")


def test_patched_background_snapshot_is_a_run(patched_bin, tmp_path):
    """A background snapshot runs the non-iterable save: it replaces the list."""
    wd = str(tmp_path)
    with start_vm(patched_bin, "pc", wd, "src") as vm:
        q = vm.qmp
        info = h.migrate_to_file(q, os.path.join(wd, "stream.bin"))
        check_times_match_trace(info, h.wait_trace_runs(vm, 1)[0])
        q.cmd("cont")
        q.cmd("migrate-set-capabilities", capabilities=[
            {"capability": "background-snapshot", "state": True}])
        snap = os.path.join(wd, "snapshot.bin")
        info = h.migrate_to_file(q, snap)
        runs = h.wait_trace_runs(vm, 2)
        assert len(runs) == 2, "background snapshot did not run the non-iterable save"
        check_times_match_trace(info, runs[1])
        # its own checkpoints; no iterable switchover save, so no list
        ev = h.trace_events(vm.trace_lines())
        assert len(h.source_iterable_runs(ev)) == 1
        assert len(h.source_checkpoint_runs(ev)) == 2
        check_source_whole_downtime(info, ev, None, 1, "background snapshot")
        assert q.cmd("query-status")["status"] == "running"  # the guest kept running
    check_loads(patched_bin, "pc", wd, snap, label="background snapshot")


def test_patched_handler_opt_in(patched_bin, qemu_img, tmp_path):
    handler_opt_in(patched_bin, str(tmp_path))


def handler_opt_in(binary, wd):
    """Capability on: slirp listed with handler true. Off: no handler entries."""
    with start_vm(binary, "q35", wd, "src") as vm:
        q = vm.qmp
        caps = {c["capability"]: c["state"] for c in q.cmd("query-migrate-capabilities")}
        assert caps.get(h.HANDLER_CAPABILITY) is False, f"capability missing/on: {caps}"

        # default: off
        info = h.migrate_to_file(q, os.path.join(wd, "off.bin"))
        runs = h.wait_trace_runs(vm, 1)
        off = check_times_match_trace(info, runs[-1])
        assert not [e for e in off if e["name"] in h.NO_VMSD_ENTRIES or "handler" in e], off
        traced_slirp = [r for r in runs[-1] if r[0] == "slirp"]
        assert traced_slirp, "q35 config has user netdevs but the trace shows no slirp"

        q.cmd("migrate-set-capabilities", capabilities=[
            {"capability": h.HANDLER_CAPABILITY, "state": True}])
        # slirp may save in < 1 us, which is not kept: migrate until the
        # trace shows it took time, checking every run against the trace
        handler_entries = []
        for attempt in range(1, 6):
            q.cmd("cont")
            info = h.migrate_to_file(q, os.path.join(wd, f"on-{attempt}.bin"))
            runs = h.wait_trace_runs(vm, 1 + attempt)
            assert len(runs) == 1 + attempt
            on = check_times_match_trace(info, runs[-1], with_handlers=True)
            handler_entries = [e for e in on if "handler" in e]
            assert all(e["handler"] is True and e["name"] in h.HANDLER_ENTRIES
                       for e in handler_entries), handler_entries
            assert not [e for e in on if e["name"] in h.NO_VMSD_ENTRIES - h.HANDLER_ENTRIES]
            if handler_entries:
                break
        log(f"\n[opt-in] handler entries after {attempt} migration(s): "
            f"{json.dumps(handler_entries)}")
        assert any(e["name"] == "slirp" for e in handler_entries), \
            "slirp never listed with the capability on"

        # off again: the next run has no handler entries
        q.cmd("migrate-set-capabilities", capabilities=[
            {"capability": h.HANDLER_CAPABILITY, "state": False}])
        q.cmd("cont")
        info = h.migrate_to_file(q, os.path.join(wd, "off-again.bin"))
        runs = h.wait_trace_runs(vm, 2 + attempt)
        off2 = check_times_match_trace(info, runs[-1])
        assert not [e for e in off2 if "handler" in e or e["name"] == "slirp"]


# --- reference build and comparison ---------------------------------------------


@pytest.mark.parametrize("config", ["pc", "q35"])
def test_reference_matches_patched(patched_bin, reference_bin, qemu_img, results,
                                   tmp_path, config, release):
    ref_info, _, ref_trace, ref_stream = run_scenario(reference_bin, config,
                                                   str(tmp_path / "ref"), kind="reference")
    ref = check_times_match_trace(ref_info, ref_trace)
    check_real_devices(config, ref)
    check_loads(reference_bin, config, str(tmp_path / "ref"), ref_stream, kind="reference")

    if (release, "patched", config) in results:
        pat_info, pat_trace = results[(release, "patched", config)]
    else:
        pat_info, _, pat_trace, _ = run_scenario(patched_bin, config,
                                                 str(tmp_path / "pat"))
    pat = check_times_match_trace(pat_info, pat_trace)

    log(f"\n[QEMU {release} {config}] device-state-times, patched vs reference (us):")
    log(h.side_by_side("patched", pat, "reference", ref,
                       [(n, i) for n, i, _ in pat_trace]))

    # Both builds save the same vmsd entries in the same order ...
    vmsd_seq = lambda run: [(n, i) for n, i, _ in run if n not in h.NO_VMSD_ENTRIES]
    assert vmsd_seq(pat_trace) == vmsd_seq(ref_trace), "builds saved different entries"
    # ... so their lists have the same (name, instance-id) sequence, except
    # for entries that took 0 us in one of the two runs (not kept by either).
    zero_p = {(n, i) for n, i, d in pat_trace if d <= 0}
    zero_r = {(n, i) for n, i, d in ref_trace if d <= 0}
    kp = [k for k in entry_keys(pat) if k not in zero_r]
    kr = [k for k in entry_keys(ref) if k not in zero_p]
    assert kp == kr, f"(name, instance-id) sequences differ:\n{kp}\n{kr}"
    strict = entry_keys(pat) == entry_keys(ref)
    log(f"[QEMU {release} {config}] same (name, instance-id) sequence: "
        f"{'yes' if strict else 'yes, apart from entries that took 0 us in one run'}"
        f" ({len(pat)} vs {len(ref)} entries)")


def test_reference_has_no_handler_capability(reference_bin, tmp_path):
    with start_vm(reference_bin, "pc", str(tmp_path), "src") as vm:
        caps = {c["capability"] for c in vm.qmp.cmd("query-migrate-capabilities")}
        assert h.HANDLER_CAPABILITY not in caps


# --- the series itself ------------------------------------------------------------


def test_build_stops_on_a_hunk_that_does_not_apply(tmp_path):
    """build.sh fails loudly, before configuring, when a patch does not apply."""
    repo = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    work = os.environ.get("DEVSTATE_QEMU_WORK", "/var/tmp/devstate-qemu")
    src_cache = os.path.join(work, "src")
    assert os.path.isdir(src_cache), f"no source cache at {src_cache} (run scripts/qemu/e2e.sh)"
    fake_repo = tmp_path / "repo"
    series = fake_repo / "Patches" / "reference-10.0"
    series.mkdir(parents=True)
    good = glob.glob(os.path.join(repo, "Patches", "reference-10.0", "0001-*.patch"))[0]
    text = open(good).read()
    # change a context line of the savevm.c hunk so it no longer matches 10.0
    ctx = " int qemu_savevm_state_complete_precopy_non_iterable(QEMUFile *f,\n"
    assert ctx in text
    (series / os.path.basename(good)).write_text(
        text.replace(ctx, " int qemu_savevm_state_complete_precopy_non_iterable(QEMUFile *g,\n", 1))
    fake_work = tmp_path / "work"
    fake_work.mkdir()
    os.symlink(src_cache, fake_work / "src")
    env = dict(os.environ, DEVSTATE_REPO=str(fake_repo), DEVSTATE_QEMU_WORK=str(fake_work))
    try:
        r = subprocess.run(["bash", os.path.join(repo, "scripts", "qemu", "build.sh"),
                            "reference"], env=env, capture_output=True, text=True, timeout=300)
    finally:
        shutil.rmtree(fake_work / "builds", ignore_errors=True)  # a 400 MB source copy
    log(f"\n[bad hunk] build.sh exit {r.returncode}; last lines:\n"
        + "\n".join(r.stderr.strip().splitlines()[-3:]))
    assert r.returncode != 0
    assert "does not apply" in r.stderr
    assert "patch failed: migration/savevm.c" in r.stderr  # git apply names the hunk
    assert "reference: configure" not in r.stderr  # "10.0-reference: configure"
    assert r.stdout.strip() == "", "a failed build must not print a binary path"


def test_series_passes_checkpatch(qemu_src, release):
    """Both series of the release, checked by that release's checkpatch.pl."""
    src = qemu_src
    checkpatch = os.path.join(src, "scripts", "checkpatch.pl")
    assert os.path.isfile(checkpatch), f"{src!r} has no scripts/checkpatch.pl"
    repo = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    ours = sorted(glob.glob(os.path.join(repo, "Patches", f"qemu-{release}", "*.patch")))
    ref = sorted(glob.glob(os.path.join(repo, "Patches", f"reference-{release}", "*.patch")))
    assert len(ours) >= 5 and ref, (ours, ref)
    for p in ours + ref:
        r = subprocess.run(["perl", "scripts/checkpatch.pl", p], cwd=src,
                           capture_output=True, text=True)
        last = [ln for ln in r.stdout.splitlines() if ln.startswith("total:")]
        log(f"checkpatch {os.path.basename(p)}: {last}")
        assert r.returncode == 0 and last and last[0].startswith("total: 0 errors"), \
            r.stdout + r.stderr
