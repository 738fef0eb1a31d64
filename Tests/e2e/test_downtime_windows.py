"""Only downtime in the lists: real migrations of the patched QEMUs (10.0 and
10.2) in the cases where a list used to hold work that did not pause the
guest, or lose some that did.

- a section loaded at setup (virtio-mem's early state): not listed, and the
  destination's checkpoint times count from the switchover;
- postcopy, 20 migrations in a row: the listen thread's last ram load is not
  listed, and every dst-postcopy-bh-* checkpoint is there each time;
- a destination that later runs savevm: the reply holds savevm's own source
  lists only;
- the checkpoint names the series passes are the fixed list its QAPI
  documentation gives.

COLO cannot run here (the builds have no replication support):
Tests/c/test_whole.c replays its hook sequence through the library.
"""

import glob
import json
import os
import re
import time

import pytest

import qemu_harness as h
from test_qemu_migration import (check_destination_whole_downtime, log, start_vm,
                                 wait_incoming)

POSTCOPY_MIGRATIONS = 20


def virtio_mem_args(workdir):
    """q35 with maxmem and one virtio-mem-pci device on a RAM backend. It runs
    under KVM: TCG's dirty tracking trips an assertion on the virtio-mem region
    when QEMU 10.0 migrates it (tlb_reset_dirty_range_all: block ==
    qemu_get_ram_block(end - 1)), with or without plugged memory."""
    return ["-machine", "q35", "-m", "128,maxmem=1G,slots=2", "-nodefaults",
            "-object", "memory-backend-ram,id=vmem0,size=64M",
            "-device", "virtio-mem-pci,id=vmem,memdev=vmem0,block-size=2M,requested-size=0"]


def test_section_loaded_at_setup_is_not_downtime(patched_bin, tmp_path, release):
    """The source sends virtio-mem's early state at setup: the destination loads
    it long before the switchover. device-load-times leaves it out, and the
    destination's origin, from which its checkpoint times count, is the start of
    the switchover's first load (the trace's view, within the checkpoint
    tolerance), not the early load's."""
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        pytest.skip("needs /dev/kvm: TCG cannot migrate virtio-mem (see virtio_mem_args)")
    wd = str(tmp_path)
    stream = os.path.join(wd, "stream.bin")
    with start_vm(patched_bin, virtio_mem_args(wd), wd, "src", accel="kvm") as src:
        info = h.migrate_to_file(src.qmp, stream)
        assert info["status"] == "completed", info
        assert info.get("downtime-entries-dropped") == 0, info
    with start_vm(patched_bin, virtio_mem_args(wd), wd, "dst", incoming="defer",
                  accel="kvm") as dst:
        dst.qmp.cmd("migrate-incoming", uri=f"file:{stream}")
        dinfo = wait_incoming(dst)
        raw = dst.qmp.last_raw
        events = h.trace_events(dst.trace_lines())
    early = [e for e in events if h.is_setup_load(e)]
    assert early, "the trace shows no load of virtio-mem's early section: no virtio-mem?"
    names = [e["name"] for e in dinfo.get("device-load-times", [])]
    assert not [n for n in names if n.endswith("virtio-mem-device-early")], names
    assert [n for n in names if n.endswith("/virtio-mem")], f"no virtio-mem device load: {names}"
    # the full check: loads and checkpoints equal the trace, from the switchover's origin
    check_destination_whole_downtime(dinfo, events, f"virtio-mem {release}")
    switchover = h.load_origin(events)
    setup_start = early[0]["ts"] - early[0]["dt"]
    completed = next(c["time"] for c in dinfo["downtime-checkpoints"]
                     if c["name"] == "dst-precopy-loadvm-completed")
    load_sum = sum(e["load-time"] for e in dinfo["device-load-times"])
    log(f"\n[virtio-mem {release}] early section loaded {switchover - setup_start} us before "
        f"the switchover; dst-precopy-loadvm-completed at {completed} us, loads sum to "
        f"{load_sum} us")
    log(f"[virtio-mem {release}] destination query-migrate reply: {raw}")
    h.SUMMARY.append(f"virtio-mem {release}: dst-precopy-loadvm-completed at {completed} us "
                     f"(loads {load_sum} us); setup load {switchover - setup_start} us earlier, "
                     f"not listed")


def postcopy_once(binary, wd, index):
    """One postcopy migration between two new pc QEMUs over a unix socket.
    Returns the destination's completed reply and trace events."""
    sock = os.path.join(wd, f"migrate-{index}.sock")
    with start_vm(binary, "pc", wd, f"dst{index}", incoming="defer") as dst, \
            start_vm(binary, "pc", wd, f"src{index}") as src:
        for q in (src.qmp, dst.qmp):
            q.cmd("migrate-set-capabilities", capabilities=[
                {"capability": "postcopy-ram", "state": True}])
        dst.qmp.cmd("migrate-incoming", uri=f"unix:{sock}")
        src.qmp.cmd("migrate-set-parameters", **{"max-bandwidth": 256 * 1024})
        src.qmp.cmd("migrate", uri=f"unix:{sock}")
        deadline = time.monotonic() + 30
        while src.qmp.cmd("query-migrate").get("status") != "active":
            assert time.monotonic() < deadline, "migration never became active"
            time.sleep(0.01)
        src.qmp.cmd("migrate-start-postcopy")
        src.qmp.cmd("migrate-set-parameters", **{"max-bandwidth": 1 << 30})
        info = h.wait_migration(src.qmp, timeout=90)
        assert info["status"] == "completed", info
        dinfo = wait_incoming(dst, timeout=60)
        # the bottom half that runs the guest may come after `completed`: until it has
        # ended the run, the reply shows no list rather than one without its checkpoints
        deadline = time.monotonic() + 10
        while "downtime-checkpoints" not in dinfo and time.monotonic() < deadline:
            time.sleep(0.02)
            dinfo = dst.qmp.cmd("query-migrate")
        raw = dst.qmp.last_raw
        return dinfo, h.trace_events(dst.trace_lines()), raw


def test_postcopy_lists_only_downtime_and_every_bh_checkpoint(patched_bin, tmp_path, release):
    """20 postcopy migrations in a row. In each: the listen thread's last ram
    load (traced) is not in device-load-times, the loads and checkpoints equal
    the trace's downtime part, and all five dst-postcopy-bh-* checkpoints are
    listed."""
    wd = str(tmp_path)
    listen_loads = 0
    present = {n: 0 for n in h.POSTCOPY_BH_CHECKPOINTS}
    for i in range(POSTCOPY_MIGRATIONS):
        dinfo, events, raw = postcopy_once(patched_bin, wd, i)
        traced_ram = [e for e in events if e["ev"] == "load" and e["name"] == "ram"
                      and e["type"] == "iterable"]
        assert traced_ram, f"migration {i + 1}: no ram load traced: not postcopy?"
        listen_loads += len(traced_ram)
        loads = dinfo.get("device-load-times", [])
        assert not [e for e in loads if e.get("iterable")], \
            f"migration {i + 1}: a load of the listen thread is listed: {json.dumps(loads)}"
        check_destination_whole_downtime(dinfo, events, f"postcopy {release} #{i + 1}")
        names = [c["name"] for c in dinfo["downtime-checkpoints"]]
        missing = [n for n in h.POSTCOPY_BH_CHECKPOINTS if n not in names]
        assert not missing, f"migration {i + 1}: {missing} missing from {names}"
        for n in names:
            if n in present:
                present[n] += 1
        if i == 0:
            log(f"\n[postcopy {release}] destination query-migrate reply: {raw}")
    figures = ", ".join(f"{n} {k}/{POSTCOPY_MIGRATIONS}" for n, k in present.items())
    log(f"[postcopy {release}] {figures}; {listen_loads} listen-thread ram loads traced, "
        f"0 listed")
    h.SUMMARY.append(f"postcopy {release}: {figures}; listen-thread ram loads traced "
                     f"{listen_loads}, listed 0")


def test_savevm_on_a_destination_shows_savevm_only(patched_bin, qemu_img, tmp_path, release):
    """A destination completes its incoming migration (loads and checkpoints
    listed), then runs savevm on its qcow2 drive through human-monitor-command.
    The reply then holds savevm's device-state-times and iterable-state-times,
    and neither the incoming loads and checkpoints nor any other checkpoints."""
    wd = str(tmp_path)
    stream = os.path.join(wd, "stream.bin")
    with start_vm(patched_bin, "q35", wd, "src") as src:
        assert h.migrate_to_file(src.qmp, stream)["status"] == "completed"
    with start_vm(patched_bin, "q35", wd, "dst", incoming="defer") as dst:
        q = dst.qmp
        q.cmd("migrate-incoming", uri=f"file:{stream}")
        before = wait_incoming(dst)
        assert before.get("device-load-times") and before.get("downtime-checkpoints"), before
        q.cmd("cont")
        out = q.cmd("human-monitor-command", **{"command-line": "savevm snap1"})
        assert "Error" not in out, out
        after = q.cmd("query-migrate")
        raw = q.last_raw
        runs = h.wait_trace_runs(dst, 1)
    assert after["status"] == "completed", after
    assert "device-load-times" not in after, f"incoming loads after savevm: {raw}"
    assert "downtime-checkpoints" not in after, f"checkpoints after savevm: {raw}"
    assert after.get("device-state-times") == h.expected_times(runs[-1]), raw
    assert after.get("iterable-state-times"), raw
    assert after.get("downtime-entries-dropped") == 0, raw
    log(f"\n[savevm on a destination {release}] before: {len(before['device-load-times'])} "
        f"loads, {len(before['downtime-checkpoints'])} checkpoints; after savevm: "
        f"{sorted(k for k in after if k in h.NEW_MEMBERS)}")
    log(f"[savevm on a destination {release}] reply: {raw}")


def test_checkpoint_names_are_the_documented_list(release):
    """Every checkpoint name the series passes (each written once, at a call of
    its helper) is one of the QAPI documentation's fixed list, and every name
    of that list is passed somewhere: in both the patches' C and their QAPI."""
    repo = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    patches = sorted(glob.glob(os.path.join(repo, "Patches", f"qemu-{release}", "*.patch")))
    text = "".join(open(p).read() for p in patches)
    added = "\n".join(ln[1:] for ln in text.splitlines() if ln.startswith("+"))
    called = re.findall(r'migration_(?:src_checkpoint|dst_checkpoint|dst_downtime_end)\("([^"]+)"\)',
                        added)
    assert len(called) == len(set(called)), f"a checkpoint name written twice: {called}"
    documented = h.SOURCE_CHECKPOINTS + h.DESTINATION_CHECKPOINTS
    assert sorted(called) == sorted(documented), (sorted(called), sorted(documented))
    doc = added[added.index("# @DowntimeCheckpoint:"):added.index("{ 'struct': 'DowntimeCheckpoint'")]
    in_doc = re.findall(r'"((?:src|dst)-[a-z-]+)"', doc)
    assert sorted(set(in_doc)) == sorted(documented), sorted(set(in_doc))
    assert "trace_vmstate_downtime_checkpoint(\"" not in added, \
        "a checkpoint traced outside the helpers"
