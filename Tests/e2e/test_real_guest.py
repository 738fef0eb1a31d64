"""End-to-end: a real Linux guest (guest.py, scripts/guest/build-guest.sh)
boots under the patched QEMU of every release, runs its disk writer and
memory dirtier, and migrates over a UNIX socket to a destination QEMU, where
it keeps running: the same guest, not a new boot.

Under TCG: nested KVM here hangs a Linux guest in early boot. The guest is
skipped, not failed, where it cannot be built (no Debian archive).
"""

import os
import time

import guest
import qemu_harness as h

BOOT_TIMEOUT = 120.0
MIGRATION_TIMEOUT = 120.0
WORKLOAD_SECONDS = 2.0


def log(msg=""):
    print(msg, flush=True)


def _wait_path(path, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        assert time.monotonic() < deadline, f"{path} did not appear within {timeout} s"
        time.sleep(0.02)


def test_real_guest_boots_and_migrates(patched_bin, release, tmp_path):
    kernel, initrd = guest.build_guest()
    wd = str(tmp_path)
    src_serial = guest.serial_path(wd, "src")
    dst_serial = guest.serial_path(wd, "dst")
    sock = os.path.join(wd, "migrate.sock")

    src = h.QemuVM(patched_bin, guest.guest_args(wd, kernel, initrd, "src"), wd, "src",
                   accel="tcg")
    dst = None
    try:
        ready_s = guest.wait_ready(src_serial, timeout=BOOT_TIMEOUT, vm=src)
        log(f"{release}: guest ready after {ready_s:.2f} s")
        # the workload runs: its loops count rounds from one tick to the next
        first = guest.wait_ticks(src_serial, after=0, count=1, vm=src)[0]
        time.sleep(WORKLOAD_SECONDS)
        before = guest.wait_ticks(src_serial, after=first["n"], count=1, vm=src)[-1]
        assert before["disk"] is None or first["disk"] is None or before["disk"] > first["disk"], (
            f"the disk writer stands still: {first} -> {before}")
        assert before["mem"] is None or first["mem"] is None or before["mem"] > first["mem"], (
            f"the memory dirtier stands still: {first} -> {before}")

        dst = h.QemuVM(patched_bin, guest.guest_args(wd, kernel, initrd, "dst"), wd, "dst",
                       incoming=f"unix:{sock}", accel="tcg")
        _wait_path(sock)
        assert dst.qmp.cmd("query-status")["status"] == "inmigrate"

        start = time.monotonic()
        src.qmp.cmd("migrate", uri=f"unix:{sock}")
        info = h.wait_migration(src.qmp, timeout=MIGRATION_TIMEOUT)
        took = time.monotonic() - start
        assert info.get("status") == "completed", info
        ram = info.get("ram", {})
        log(f"{release}: migration completed in {took:.2f} s: downtime {info.get('downtime')} ms, "
            f"total-time {info.get('total-time')} ms, setup-time {info.get('setup-time')} ms, "
            f"ram transferred {ram.get('transferred')} B in {ram.get('dirty-sync-count')} syncs, "
            f"{ram.get('normal')} normal pages")
        h.SUMMARY.append(f"real guest ({release}): ready in {ready_s:.1f} s, migrated in "
                         f"{took:.2f} s, downtime {info.get('downtime')} ms")

        # The source stopped; the destination runs the guest on.
        guest.wait_status(src.qmp, "postmigrate", timeout=30)
        guest.wait_status(dst.qmp, "running", timeout=60)
        last_src = max(t["n"] for t in guest.ticks(src_serial))
        after = guest.wait_ticks(dst_serial, after=last_src, count=3, timeout=60, vm=dst)
        # one guest: the destination's ticks go on from the source's last one (the next,
        # or the one after it when the switchover cut a line in two), and its console
        # never saw a boot
        assert after[0]["n"] in (last_src + 1, last_src + 2), (
            f"destination's first tick {after[0]['n']}, source's last {last_src}")
        dst_text = guest.serial_text(dst_serial)
        assert guest.BOOT_BANNER not in dst_text and guest.READY_MARKER not in dst_text, (
            "the destination's console shows a boot:\n" + guest.serial_tail(dst_serial))
        assert guest.ERROR_MARKER not in dst_text, guest.serial_tail(dst_serial)
        assert dst_text != guest.serial_text(src_serial)
        # its workload goes on too: the disk writer on the destination's disk, the dirtier
        # in its memory
        a, b = after[0], after[-1]
        if a["disk"] is not None and b["disk"] is not None:
            assert b["disk"] > a["disk"], f"no disk write on the destination: {a} -> {b}"
        if a["mem"] is not None and b["mem"] is not None:
            assert b["mem"] > a["mem"], f"no memory round on the destination: {a} -> {b}"
        assert b["uptime"] > before["uptime"]
        assert dst.qmp.cmd("query-status")["status"] == "running"
        log(f"{release}: destination runs on: ticks {a['n']}..{b['n']}, disk rounds "
            f"{a['disk']}..{b['disk']}, memory rounds {a['mem']}..{b['mem']}")
    finally:
        if dst is not None:
            dst.kill()
        src.kill()
