"""End-to-end tests: real migrations of the patched and the reference QEMU.

Run through scripts/qemu/e2e.sh, which builds both QEMUs and exports
DEVSTATE_QEMU_PATCHED, DEVSTATE_QEMU_REFERENCE and DEVSTATE_QEMU_SRC. A
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


def check_schema(qmp, ours):
    """MigrationInfo's last member is the optional device-state-times list of
    DeviceSaveStateTime {name, instance-id, save-time[, *handler]}."""
    members, elem = h.migration_info_schema(qmp)
    assert members and members[-1] == "device-state-times", \
        f"device-state-times is not MigrationInfo's last member: {members[-3:]}"
    want = [("name", "str", False), ("instance-id", "int", False),
            ("save-time", "int", False)]
    if ours:
        want.append(("handler", "bool", True))  # optional ("default" present)
    assert elem == want, f"DeviceSaveStateTime members: {elem}"


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


def check_loads(binary, config, workdir, stream):
    """migrate-incoming of `stream` into a second QEMU completes; the guest runs."""
    with start_vm(binary, config, workdir, "dst", incoming="defer") as dst:
        dst.qmp.cmd("migrate-incoming", uri=f"file:{stream}")
        deadline = time.monotonic() + 60
        while True:
            info = dst.qmp.cmd("query-migrate")
            if info.get("status") in h.DONE_STATES:
                break
            assert time.monotonic() < deadline, f"incoming migration hangs: {info}"
            time.sleep(0.05)
        assert info["status"] == "completed", f"incoming migration: {info}"
        assert "device-state-times" not in info  # the destination saved nothing
        dst.qmp.cmd("cont")
        time.sleep(0.5)
        st = dst.qmp.cmd("query-status")
        assert st["status"] == "running" and st["running"], st
        loads = [ln for ln in dst.trace_lines() if "vmstate_downtime_load" in ln]
        assert loads, "destination trace shows no device loaded"


def run_scenario(binary, config, workdir, handlers=None, seen=None, ours=True):
    """One migration to a file.

    Returns (final query-migrate reply, its raw JSON line, traced run, stream path).
    """
    vm = start_vm(binary, config, workdir, "src")
    try:
        check_schema(vm.qmp, ours)
        if handlers is not None:
            vm.qmp.cmd("migrate-set-capabilities", capabilities=[
                {"capability": h.HANDLER_CAPABILITY, "state": handlers}])
        assert "device-state-times" not in vm.qmp.cmd("query-migrate")
        stream = os.path.join(workdir, "stream-1.bin")
        info = h.migrate_to_file(vm.qmp, stream, seen=seen)
        raw = vm.qmp.last_raw
        runs = h.wait_trace_runs(vm, 1)
        assert len(runs) == 1, f"expected one traced non-iterable run, got {len(runs)}"
        return info, raw, runs[0], stream
    finally:
        vm.kill()


# --- patched build --------------------------------------------------------------


@pytest.mark.parametrize("config", ["pc", "q35"])
def test_patched_lists_device_times_equal_to_trace(patched_bin, qemu_img, results,
                                                   tmp_path, config):
    info, raw, trace_run, stream = run_scenario(patched_bin, config, str(tmp_path))
    log(f"\n[patched {config}] query-migrate reply, as sent by QEMU:")
    log(raw)
    times = check_times_match_trace(info, trace_run)
    check_real_devices(config, times)
    skipped = h.skipped_by_patch(trace_run)
    log(f"[patched {config}] {len(times)} entries; traced with downtime > 0 but "
        f"skipped (no vmsd): {skipped}")
    assert not any(e.get("handler") for e in times)
    results[("patched", config)] = (info, trace_run)
    check_loads(patched_bin, config, str(tmp_path), stream)


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
            leaked = [s for s in inflight if "device-state-times" in s]
            assert not leaked, f"run {n}: device-state-times while {leaked[0]['status']}"
            return info

        info1 = migrate(1)
        runs = h.wait_trace_runs(vm, 1)
        assert len(runs) == 1
        t1 = check_times_match_trace(info1, runs[0])

        q.cmd("cont")
        info2 = migrate(2)  # run 1's list must not show while run 2 is active
        runs = h.wait_trace_runs(vm, 2)
        assert len(runs) == 2, f"{len(runs)} traced runs after the second migration"
        t2 = check_times_match_trace(info2, runs[1])
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
        assert not [s for s in seen if "device-state-times" in s], seen
        time.sleep(0.2)
        again = q.cmd("query-migrate")
        assert again["status"] == "cancelled" and "device-state-times" not in again
        assert len(h.wait_trace_runs(vm, 3, timeout=1)) == 2, \
            "a cancelled migration must not have run the non-iterable save"

        # and the next completed migration reports its own run
        q.cmd("migrate-set-parameters", **{"max-bandwidth": 1 << 30})
        if q.cmd("query-status")["status"] != "running":
            q.cmd("cont")
        info4 = h.migrate_to_file(q, os.path.join(wd, "stream-4.bin"))
        runs = h.wait_trace_runs(vm, 3)
        assert len(runs) == 3
        check_times_match_trace(info4, runs[2])


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
        log(f"\n[savevm] query-migrate after savevm lists {len(info['device-state-times'])} "
            f"entries of the savevm run")


def test_patched_postcopy_switchover_is_a_run(patched_bin, tmp_path):
    """Postcopy saves devices at the switchover: that run is listed, but only
    once the migration has completed (not while postcopy-active)."""
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
        while src.qmp.cmd("query-migrate").get("status") != "active":
            assert time.monotonic() < deadline, "migration never became active"
            time.sleep(0.02)
        src.qmp.cmd("migrate-start-postcopy")
        src.qmp.cmd("migrate-set-parameters", **{"max-bandwidth": 1 << 30})
        seen = []
        info = h.wait_migration(src.qmp, seen=seen)
        statuses = [x.get("status") for x in seen]
        assert "postcopy-active" in statuses, statuses
        assert not [x for x in seen if x.get("status") != "completed"
                    and "device-state-times" in x], "list shown before completion"
        runs = h.wait_trace_runs(src, 1)
        assert len(runs) == 1, f"{len(runs)} traced runs"
        check_times_match_trace(info, runs[0])
        time.sleep(0.3)
        assert dst.qmp.cmd("query-status")["status"] == "running"
        log(f"\n[postcopy] statuses seen: {sorted(set(statuses))}; "
            f"{len(info['device-state-times'])} entries from the switchover run")


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
        assert q.cmd("query-status")["status"] == "running"  # the guest kept running
    check_loads(patched_bin, "pc", wd, snap)


def test_patched_handler_opt_in(patched_bin, qemu_img, tmp_path):
    """Capability on: slirp listed with handler true. Off: no handler entries."""
    wd = str(tmp_path)
    with start_vm(patched_bin, "q35", wd, "src") as vm:
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
                                   tmp_path, config):
    ref_info, _, ref_trace, ref_stream = run_scenario(reference_bin, config,
                                                   str(tmp_path / "ref"), ours=False)
    ref = check_times_match_trace(ref_info, ref_trace)
    check_real_devices(config, ref)
    check_loads(reference_bin, config, str(tmp_path / "ref"), ref_stream)

    if ("patched", config) in results:
        pat_info, pat_trace = results[("patched", config)]
    else:
        pat_info, _, pat_trace, _ = run_scenario(patched_bin, config,
                                                 str(tmp_path / "pat"))
    pat = check_times_match_trace(pat_info, pat_trace)

    log(f"\n[{config}] device-state-times, patched vs reference (us):")
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
    log(f"[{config}] same (name, instance-id) sequence: "
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
    assert "reference: configure" not in r.stderr
    assert r.stdout.strip() == "", "a failed build must not print a binary path"


def test_series_passes_checkpatch():
    src = os.environ.get("DEVSTATE_QEMU_SRC", "")
    checkpatch = os.path.join(src, "scripts", "checkpatch.pl")
    assert os.path.isfile(checkpatch), \
        f"DEVSTATE_QEMU_SRC={src!r} has no scripts/checkpatch.pl (run scripts/qemu/e2e.sh)"
    repo = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    patches = sorted(glob.glob(os.path.join(repo, "Patches", "qemu-10.0", "*.patch")))
    assert len(patches) >= 3, patches
    for p in patches:
        r = subprocess.run(["perl", "scripts/checkpatch.pl", p], cwd=src,
                           capture_output=True, text=True)
        last = [ln for ln in r.stdout.splitlines() if ln.startswith("total:")]
        log(f"checkpatch {os.path.basename(p)}: {last}")
        assert r.returncode == 0 and last and last[0].startswith("total: 0 errors"), \
            r.stdout + r.stderr
