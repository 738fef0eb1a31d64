"""One libdevstate for every QEMU: both releases' patched QEMUs and QEMU 10.0
builds against release 0.1.0's and 0.2.0's headers and series map the very same
installed library file; those builds keep their release's behaviour on today's
library; a QEMU configured without the library (-Ddevstate=disabled) has none of
its members.
"""

import hashlib
import json
import os
import subprocess

import qemu_harness as h
from conftest import RELEASES
from test_qemu_migration import (check_loads, check_real_devices, check_times_match_trace,
                                 handler_opt_in, log, no_new_members, run_scenario, start_vm,
                                 wait_incoming)


def mapped_libdevstate(pid):
    """The libdevstate files a process has mapped (/proc/PID/maps)."""
    paths = set()
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            fields = line.split(None, 5)
            if len(fields) == 6 and "libdevstate" in fields[5]:
                paths.add(fields[5].strip())
    return paths


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def compat_bin(release="0.1.0"):
    return h.build_binary(f"compat-{release}", "10.0")


def test_one_library_file_for_every_qemu(tmp_path):
    """Every library-linking QEMU runs on the one installed libdevstate.so.0:
    the same path and the same bytes, nothing built per QEMU release."""
    installed = h.need_binary("DEVSTATE_QEMU_LIB")  # the .so is executable too
    real = os.path.realpath(installed)
    want = sha256(real)
    builds = [(f"patched {r}", h.build_binary("patched", r)) for r in RELEASES]
    builds.append(("0.1.0 headers, QEMU 10.0", compat_bin()))
    builds.append(("0.2.0 headers, QEMU 10.0", compat_bin("0.2.0")))
    vms = []
    try:
        for i, (label, binary) in enumerate(builds):
            vms.append((label, start_vm(binary, "pc", str(tmp_path / f"vm{i}"), "vm")))
        seen = {}
        for label, vm in vms:
            version = vm.qmp.cmd("query-version")["qemu"]
            mapped = mapped_libdevstate(vm.proc.pid)
            assert len(mapped) == 1, f"{label}: mapped {mapped or 'no libdevstate'}"
            path = mapped.pop()
            assert not path.endswith("(deleted)"), f"{label}: {path}"
            seen[label] = (path, sha256(path))
            log(f"[one library] {label} (QEMU {version['major']}.{version['minor']}."
                f"{version['micro']}, pid {vm.proc.pid}) maps {path} sha256 {seen[label][1]}")
    finally:
        for _, vm in vms:
            vm.kill()
    assert {p for p, _ in seen.values()} == {real}, seen
    assert {s for _, s in seen.values()} == {want}, seen
    h.SUMMARY.append(f"one libdevstate for {len(seen)} QEMUs ({', '.join(seen)}): "
                     f"{real} sha256 {want}")


# --- release 0.1.0's QEMU on today's library ---------------------------------------


def test_compat_0_1_0_lists_device_times_equal_to_trace(qemu_img, tmp_path):
    """0.1.0's scenario: device-state-times equals the traced non-iterable
    run on pc and q35, with 0.1.0's schema (handler, none of 0.2.0's members),
    and its streams load."""
    binary = compat_bin()
    for config in ("pc", "q35"):
        wd = str(tmp_path / config)
        info, raw, run, stream = run_scenario(binary, config, wd, kind="0.1.0")
        times = check_times_match_trace(info, run)
        check_real_devices(config, times)
        assert no_new_members({k: v for k, v in info.items() if k != "device-state-times"})
        check_loads(binary, config, wd, stream, kind="0.1.0")
        log(f"\n[0.1.0 on today's library, {config}] {len(times)} entries equal to the "
            f"trace; reply: {raw[:160]}...")


def test_compat_0_1_0_second_run_replaces_first(tmp_path):
    binary = compat_bin()
    wd = str(tmp_path)
    with start_vm(binary, "pc", wd, "src") as vm:
        info1 = h.migrate_to_file(vm.qmp, os.path.join(wd, "1.bin"))
        check_times_match_trace(info1, h.wait_trace_runs(vm, 1)[0])
        vm.qmp.cmd("cont")
        seen = []
        info2 = h.migrate_to_file(vm.qmp, os.path.join(wd, "2.bin"), seen=seen)
        assert not [s for s in seen if s.get("status") != "completed"
                    and "device-state-times" in s], "a list while in flight"
        runs = h.wait_trace_runs(vm, 2)
        assert len(runs) == 2
        check_times_match_trace(info2, runs[1])


def test_compat_0_1_0_handler_opt_in(qemu_img, tmp_path):
    handler_opt_in(compat_bin(), str(tmp_path))


# --- release 0.2.0's QEMU on today's library ---------------------------------------


def test_compat_0_2_0_keeps_its_whole_downtime(qemu_img, tmp_path):
    """A QEMU 10.0 built with release 0.2.0's series and headers, running on
    today's library: the source's device-state-times equals its trace, and it
    has iterable-state-times and downtime-checkpoints but not the 0.3.0 series'
    downtime-entries-dropped; its stream loads into a second such QEMU, which
    lists its loads and dst-* checkpoints (0.2.0 lists every load the trace
    shows, from the first)."""
    binary = compat_bin("0.2.0")
    wd = str(tmp_path)
    stream = os.path.join(wd, "stream.bin")
    with start_vm(binary, "q35", wd, "src") as vm:
        members, _ = h.migration_info_schema(vm.qmp)
        assert members[-4:] == ["device-state-times", "iterable-state-times",
                                "device-load-times", "downtime-checkpoints"], members[-5:]
        info = h.migrate_to_file(vm.qmp, stream)
        run = h.wait_trace_runs(vm, 1)[0]
        events = h.trace_events(vm.trace_lines())
    times = check_times_match_trace(info, run)
    check_real_devices("q35", times)
    assert info.get("iterable-state-times") == h.expected_iterable_times(
        h.source_iterable_runs(events)[0]), info
    names = [c["name"] for c in info.get("downtime-checkpoints", [])]
    assert names == h.SOURCE_CHECKPOINTS, names
    assert "downtime-entries-dropped" not in info, info
    with start_vm(binary, "q35", wd, "dst", incoming="defer") as dst:
        dst.qmp.cmd("migrate-incoming", uri=f"file:{stream}")
        dinfo = wait_incoming(dst)
        devents = h.trace_events(dst.trace_lines())
    traced = [{"name": e["name"], "instance-id": e["iid"], "load-time": e["dt"],
               **({"iterable": True} if e["type"] == "iterable" else {})}
              for e in devents if e["ev"] == "load" and e["dt"] > 0]
    assert dinfo.get("device-load-times") == traced, dinfo
    assert [c["name"] for c in dinfo["downtime-checkpoints"]][-1] == "dst-precopy-bh-vm-started"
    log(f"\n[0.2.0 on today's library] {len(times)} saves, {len(traced)} loads, "
        f"{len(names)} source checkpoints, equal to the trace")


# --- a QEMU without the library -----------------------------------------------------


def test_nolib_has_no_member_and_no_library(nolib_bin, release, tmp_path):
    """-Ddevstate=disabled: the build links no libdevstate, its schema and its
    query-migrate replies have none of the series' members or capability, and
    migrations work as in stock QEMU."""
    wd = str(tmp_path)
    ldd = subprocess.run(["ldd", nolib_bin], capture_output=True, text=True, check=True)
    assert "libdevstate" not in ldd.stdout, ldd.stdout
    with start_vm(nolib_bin, "q35", wd, "src") as vm:
        assert not mapped_libdevstate(vm.proc.pid)
        members, _ = h.migration_info_schema(vm.qmp)
        assert members and not set(h.NEW_MEMBERS) & set(members), members[-5:]
        caps = {c["capability"] for c in vm.qmp.cmd("query-migrate-capabilities")}
        assert h.HANDLER_CAPABILITY not in caps, caps
        err = vm.qmp.execute("migrate-set-capabilities", capabilities=[
            {"capability": h.HANDLER_CAPABILITY, "state": True}])
        assert "error" in err, err
        stream = os.path.join(wd, "stream.bin")
        info = h.migrate_to_file(vm.qmp, stream)
        assert info["status"] == "completed" and no_new_members(info), info
        runs = h.wait_trace_runs(vm, 1)
        assert runs and runs[0], "no traced non-iterable run"
    check_loads(nolib_bin, "q35", wd, stream, kind="nolib")
    log(f"\n[nolib {release}] MigrationInfo ends with {members[-3:]}; "
        f"'{h.HANDLER_CAPABILITY}' refused: {json.dumps(err['error'])}")
