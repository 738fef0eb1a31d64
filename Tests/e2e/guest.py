"""A real Linux guest for the end-to-end tests and the benchmark.

scripts/guest/build-guest.sh assembles it from Debian's packages (kernel,
busybox-static): an initramfs whose /init loads virtio-pci and virtio-blk,
starts a disk writer on /dev/vda and a memory dirtier in a tmpfs, prints
READY_MARKER on the serial console and then one TICK line a second, with the
round counts of both loops. guest_args() gives the QEMU arguments for it (a
list, for qemu_harness.QemuVM); the destination of a migration takes the same
arguments under another name (its own serial file) plus -incoming.
"""

import os
import re
import subprocess
import time

import qemu_harness as h

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD_SCRIPT = os.path.join(REPO, "scripts", "guest", "build-guest.sh")

READY_MARKER = "DEVSTATE-GUEST-READY"
ERROR_MARKER = "DEVSTATE-GUEST-ERROR"
# DEVSTATE-GUEST-TICK 12 uptime=15.73 disk-rounds=40 mem-rounds=31
_TICK_RE = re.compile(
    r"DEVSTATE-GUEST-TICK (?P<n>\d+) uptime=(?P<up>[\d.]+) "
    r"disk-rounds=(?P<disk>\d*) mem-rounds=(?P<mem>\d*)")
# what the kernel prints first: a serial log holding it saw a boot
BOOT_BANNER = "Linux version "

DISK_SIZE = "64M"
MEMORY_MB = 256
# Sizes of the guest's loops (the /init's defaults, spelled out)
MEM_DIRTY_MB = 24
DISK_WRITE_MB = 4


class GuestUnavailable(Exception):
    """The guest could not be built (the reason is the message)."""


class GuestError(Exception):
    """The guest did not come up, or told an error on its console."""


_built = None  # (kernel, initrd), or a GuestUnavailable once the build failed


def build_guest(skip=True, timeout=1800):
    """(kernel, initrd) of the guest, built (or found in its cache) by
    scripts/guest/build-guest.sh once per process. DEVSTATE_GUEST_DIR, when
    set, is the script's OUTDIR.

    When it cannot be built: pytest.skip with the reason (skip=True), else
    GuestUnavailable (for callers outside pytest, e.g. the benchmark)."""
    global _built
    if _built is None:
        try:
            _built = _run_build(timeout)
        except GuestUnavailable as e:
            _built = e
    if isinstance(_built, GuestUnavailable):
        if skip:
            import pytest
            pytest.skip(f"no real guest: {_built}")
        raise _built
    return _built


def _run_build(timeout):
    if not os.access(BUILD_SCRIPT, os.X_OK):
        raise GuestUnavailable(f"{BUILD_SCRIPT} missing or not executable")
    cmd = [BUILD_SCRIPT]
    if os.environ.get("DEVSTATE_GUEST_DIR"):
        cmd.append(os.environ["DEVSTATE_GUEST_DIR"])
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        raise GuestUnavailable(f"build-guest.sh did not finish in {timeout} s")
    if p.returncode != 0:
        err = p.stderr.strip().splitlines()[-5:]
        raise GuestUnavailable(f"build-guest.sh exited {p.returncode}: " + " | ".join(err))
    paths = dict(line.split("=", 1) for line in p.stdout.strip().splitlines()[-2:]
                 if "=" in line)
    kernel, initrd = paths.get("KERNEL"), paths.get("INITRD")
    if not (kernel and initrd and os.path.isfile(kernel) and os.path.isfile(initrd)):
        raise GuestUnavailable(f"build-guest.sh printed no usable KERNEL=/INITRD=: {p.stdout!r}")
    return kernel, initrd


def serial_path(workdir, name):
    """The serial console log of the QEMU `name` that guest_args() sets up."""
    return os.path.join(workdir, f"{name}.serial")


def disk_path(workdir):
    return os.path.join(workdir, "guest-disk.qcow2")


def guest_args(workdir, kernel, initrd, name="guest", memory_mb=MEMORY_MB,
               mem_dirty_mb=MEM_DIRTY_MB, disk_write_mb=DISK_WRITE_MB, append=""):
    """QEMU machine and device arguments (a list, for QemuVM's config) of the
    guest: q35, one vCPU, the kernel and initrd, the serial console into
    serial_path(workdir, name), and a virtio-blk disk on WORKDIR/guest-disk.qcow2
    (made here once; writeback: write-cache=on, host page cache). -nodefaults.

    Source and destination of a migration take the same arguments but for
    `name` (each its own serial file; the same disk, which the source
    inactivates before the destination activates it). `append` adds to the
    kernel command line."""
    disk = disk_path(workdir)
    if not os.path.exists(disk):
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", disk, DISK_SIZE],
                       check=True, timeout=60)
    cmdline = (f"console=ttyS0 devstate.mem_mb={mem_dirty_mb} "
               f"devstate.disk_mb={disk_write_mb} {append}").strip()
    return [
        "-machine", "q35", "-m", str(memory_mb), "-smp", "1", "-nodefaults",
        "-kernel", kernel, "-initrd", initrd, "-append", cmdline,
        "-serial", f"file:{serial_path(workdir, name)}",
        "-blockdev", f"driver=file,filename={disk},node-name=guest-disk-file,cache.direct=off",
        "-blockdev", "driver=qcow2,file=guest-disk-file,node-name=guest-disk,cache.direct=off",
        "-device", "virtio-blk-pci,drive=guest-disk,id=guest-disk-dev,write-cache=on",
    ]


def serial_text(path):
    if not os.path.exists(path):
        return ""
    with open(path, "rb") as f:
        return f.read().decode(errors="replace").replace("\r", "")


def serial_tail(path, lines=15):
    return "\n".join(serial_text(path).splitlines()[-lines:])


def ticks(path):
    """The TICK lines of a serial log as dicts {n, uptime, disk, mem}
    (disk/mem None where the guest read a counter while it was rewritten)."""
    out = []
    for m in _TICK_RE.finditer(serial_text(path)):
        out.append({"n": int(m.group("n")), "uptime": float(m.group("up")),
                    "disk": int(m.group("disk")) if m.group("disk") else None,
                    "mem": int(m.group("mem")) if m.group("mem") else None})
    return out


def _check_alive(vm, path):
    if vm is not None and vm.proc.poll() is not None:
        raise GuestError(f"QEMU exited ({vm.proc.returncode}) before the guest was ready:\n"
                         f"{vm.stderr_text()}\nserial:\n{serial_tail(path)}")


def _check_error(text, path):
    if ERROR_MARKER in text:
        line = next(l for l in text.splitlines() if ERROR_MARKER in l)
        raise GuestError(f"the guest failed: {line}\nserial:\n{serial_tail(path)}")


def wait_ready(path, timeout=120.0, vm=None):
    """Waits until the serial log at `path` holds READY_MARKER; returns the
    seconds waited. GuestError on timeout, on the guest's error marker, or
    when `vm` (a QemuVM) exits."""
    start = time.monotonic()
    while True:
        text = serial_text(path)
        _check_error(text, path)
        if READY_MARKER in text:
            return time.monotonic() - start
        _check_alive(vm, path)
        if time.monotonic() - start > timeout:
            raise GuestError(f"no {READY_MARKER} in {path} after {timeout} s; serial:\n"
                             f"{serial_tail(path)}")
        time.sleep(0.05)


def wait_ticks(path, after, count=1, timeout=30.0, vm=None):
    """Waits until the serial log at `path` holds `count` TICK lines numbered
    above `after`; returns them. GuestError on timeout or the error marker."""
    deadline = time.monotonic() + timeout
    while True:
        new = [t for t in ticks(path) if t["n"] > after]
        if len(new) >= count:
            return new
        _check_error(serial_text(path), path)
        _check_alive(vm, path)
        if time.monotonic() > deadline:
            raise GuestError(f"{len(new)} of {count} TICK lines after #{after} in {path} "
                             f"within {timeout} s; serial:\n{serial_tail(path)}")
        time.sleep(0.1)


def wait_status(qmp, want, timeout=30.0):
    """Polls query-status until its status is `want`; returns it."""
    deadline = time.monotonic() + timeout
    while True:
        st = qmp.cmd("query-status")
        if st.get("status") == want:
            return st
        if time.monotonic() > deadline:
            raise h.QMPError(f"status is {st}, not {want}, after {timeout} s")
        time.sleep(0.05)


def migrate_guest(binary, workdir, kernel, initrd, settle=2.0, timeout=120.0, accel="tcg"):
    """Boots the guest under `binary`, lets its workload run `settle` seconds,
    migrates it over a UNIX socket to a second QEMU of the same binary and
    waits (bounded) for both sides to report completed. Returns (source vm,
    destination vm, the source's query-migrate, the destination's); the
    caller kills both VMs (on an exception they are killed here)."""
    sock = os.path.join(workdir, "migrate.sock")
    src = h.QemuVM(binary, guest_args(workdir, kernel, initrd, name="src"), workdir, "src",
                   accel=accel)
    dst = None
    try:
        wait_ready(serial_path(workdir, "src"), timeout, vm=src)
        time.sleep(settle)
        dst = h.QemuVM(binary, guest_args(workdir, kernel, initrd, name="dst"), workdir, "dst",
                       incoming=f"unix:{sock}", accel=accel)
        src.qmp.cmd("migrate", uri=f"unix:{sock}")
        source_reply = h.wait_migration(src.qmp, timeout=timeout)
        deadline = time.monotonic() + 30
        while True:
            dest_reply = dst.qmp.cmd("query-migrate")
            if dest_reply.get("status") == "completed" or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        return src, dst, source_reply, dest_reply
    except BaseException:
        src.kill()
        if dst:
            dst.kill()
        raise
