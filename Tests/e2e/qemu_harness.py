"""Drives real qemu-system-x86_64 processes for the end-to-end tests.

Nothing here is mocked: QemuVM starts the binary under test with QMP on a
unix socket and the vmstate_downtime_* trace events written to a log file,
and the helpers migrate it to a file and read both the query-migrate reply
and the trace back.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import time

FIRMWARE_DIRS = ["/usr/share/seabios", "/usr/lib/ipxe/qemu", "/usr/share/qemu"]

# Entries registered without a VMStateDescription in QEMU 10.0 (x86). The
# patch (and the reference) never list them by default; "slirp" has a
# save_state handler and is listed, marked handler: true, when the
# capability device-state-times-handlers is on. "ram" and "dirty-bitmap"
# have no save_state handler and are never listed. VFIO devices would be
# handler entries too, but none can be attached here.
NO_VMSD_ENTRIES = {"ram", "dirty-bitmap", "slirp"}
HANDLER_ENTRIES = {"slirp"}

HANDLER_CAPABILITY = "device-state-times-handlers"

# Terminal and in-flight states of query-migrate's "status"
DONE_STATES = {"completed", "failed", "cancelled"}


class QMPError(Exception):
    pass


class QMP:
    """Minimal QMP client over a unix socket (events are kept in .events)."""

    def __init__(self, path, timeout=30.0):
        deadline = time.monotonic() + timeout
        last = None
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except OSError as e:  # socket not there yet
                last = e
                self.sock.close()
                if time.monotonic() > deadline:
                    raise QMPError(f"cannot connect to QMP at {path}: {last}")
                time.sleep(0.05)
        self.sock.settimeout(timeout)
        self.buf = b""
        self.events = []
        greeting = self._read()
        if "QMP" not in greeting:
            raise QMPError(f"no QMP greeting: {greeting}")
        self.cmd("qmp_capabilities")

    def _read(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise QMPError("QMP connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        self.last_raw = line.decode(errors="replace")
        return json.loads(line)

    def execute(self, name, **args):
        """Returns the raw reply ({"return": ...} or {"error": ...})."""
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            reply = self._read()
            if "event" in reply:
                self.events.append(reply)
                continue
            return reply

    def cmd(self, name, **args):
        reply = self.execute(name, **args)
        if "error" in reply:
            raise QMPError(f"{name} {args}: {reply['error']}")
        return reply["return"]

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def machine_args(config, workdir):
    """Command-line devices of a test configuration."""
    if config == "pc":
        # default devices of pc (VGA, e1000 on a user netdev, IDE, floppy, ...)
        return ["-machine", "pc", "-m", "128"]
    if config == "q35":
        disk = os.path.join(workdir, "disk.qcow2")
        if not os.path.exists(disk):
            subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", disk, "16M"],
                           check=True)
        return [
            "-machine", "q35", "-smp", "2", "-m", "128", "-nodefaults",
            "-netdev", "user,id=net0",
            "-device", "virtio-net-pci,netdev=net0",
            "-blockdev", f"driver=file,filename={disk},node-name=disk0-file",
            "-blockdev", "driver=qcow2,file=disk0-file,node-name=disk0",
            "-device", "virtio-blk-pci,drive=disk0",
            "-device", "e1000e,netdev=net1",
            "-netdev", "user,id=net1",
            "-device", "qemu-xhci,id=xhci",
            "-device", "usb-tablet,bus=xhci.0",
            "-device", "VGA",
        ]
    raise ValueError(config)


class QemuVM:
    """One qemu-system-x86_64 process with QMP and the downtime trace."""

    def __init__(self, binary, config, workdir, name, incoming=None):
        self.binary = binary
        self.workdir = workdir
        self.name = name
        self.qmp_path = os.path.join(workdir, f"{name}.qmp")
        self.log_path = os.path.join(workdir, f"{name}.trace.log")
        self.stderr_path = os.path.join(workdir, f"{name}.stderr")
        for p in (self.qmp_path, self.log_path):
            if os.path.exists(p):
                os.unlink(p)
        args = [binary]
        for d in FIRMWARE_DIRS:
            args += ["-L", d]
        args += machine_args(config, workdir)
        args += [
            "-accel", "tcg",
            "-display", "none",
            "-qmp", f"unix:{self.qmp_path},server=on,wait=off",
            "-trace", "vmstate_downtime_save",
            "-trace", "vmstate_downtime_load",
            "-trace", "vmstate_downtime_checkpoint",
            "-msg", "timestamp=on",
            "-D", self.log_path,
        ]
        if incoming:
            args += ["-incoming", incoming]
        self.args = args
        self.stderr = open(self.stderr_path, "w")
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                     stdout=self.stderr, stderr=self.stderr)
        try:
            self.qmp = QMP(self.qmp_path)
        except Exception:
            self.kill()
            raise QMPError(f"{name}: QEMU did not come up: {self.stderr_text()}")

    def stderr_text(self):
        self.stderr.flush()
        with open(self.stderr_path) as f:
            return f.read()

    def trace_lines(self):
        if not os.path.exists(self.log_path):
            return []
        with open(self.log_path, errors="replace") as f:
            return f.read().splitlines()

    def kill(self):
        if getattr(self, "qmp", None):
            try:
                self.qmp.execute("quit")
            except Exception:
                pass
            self.qmp.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.stderr.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()


def wait_migration(qmp, timeout=120.0, seen=None):
    """Polls query-migrate until a terminal status; returns the last reply.

    Every reply is appended to `seen` (a list) when given, so callers can
    check what query-migrate said while the migration was in flight.
    """
    deadline = time.monotonic() + timeout
    while True:
        info = qmp.cmd("query-migrate")
        if seen is not None:
            seen.append(info)
        if info.get("status") in DONE_STATES:
            return info
        if time.monotonic() > deadline:
            raise QMPError(f"migration did not finish: {info}")
        time.sleep(0.02)


def migrate_to_file(qmp, path, seen=None, timeout=120.0):
    if os.path.exists(path):
        os.unlink(path)
    qmp.cmd("migrate", uri=f"file:{path}")
    return wait_migration(qmp, timeout=timeout, seen=seen)


# --- trace --------------------------------------------------------------------

# log backend line, e.g.
#   1234@1764230000.123456:vmstate_downtime_save type=non-iterable idstr=apic instance_id=0 downtime=3
_SAVE_RE = re.compile(
    r"vmstate_downtime_save type=(?P<type>\S+) idstr=(?P<idstr>.*) "
    r"instance_id=(?P<iid>-?\d+) downtime=(?P<dt>-?\d+)\s*$")
_CHECKPOINT_RE = re.compile(r"vmstate_downtime_checkpoint (?P<cp>\S+)\s*$")


def trace_runs(lines):
    """Splits the source trace into non-iterable save runs.

    Returns a list (one per completed non-iterable save, in order) of lists
    of (idstr, instance_id, downtime_us) for every type=non-iterable line.
    A run ends at the src-non-iterable-saved checkpoint, which QEMU emits
    once the whole loop succeeded.
    """
    runs, cur = [], []
    for line in lines:
        m = _SAVE_RE.search(line)
        if m:
            if m.group("type") == "non-iterable":
                iid = int(m.group("iid")) & 0xFFFFFFFF  # printed with %d
                cur.append((m.group("idstr"), iid, int(m.group("dt"))))
            continue
        m = _CHECKPOINT_RE.search(line)
        if m and m.group("cp") == "src-non-iterable-saved":
            runs.append(cur)
            cur = []
    return runs


def wait_trace_runs(vm, count, timeout=10.0):
    """The trace log is written asynchronously: wait until `count` runs are in."""
    deadline = time.monotonic() + timeout
    while True:
        runs = trace_runs(vm.trace_lines())
        if len(runs) >= count or time.monotonic() > deadline:
            return runs
        time.sleep(0.05)


def expected_times(trace_run, with_handlers=False):
    """What device-state-times must be for one traced run.

    Entries in handler order with downtime > 0, minus the entries without a
    VMStateDescription (with_handlers: minus only those without a
    save_state handler; the handler ones are marked handler: true).
    """
    out = []
    for name, iid, dt in trace_run:
        if dt <= 0:
            continue
        if name in NO_VMSD_ENTRIES:
            if with_handlers and name in HANDLER_ENTRIES:
                out.append({"name": name, "instance-id": iid, "save-time": dt,
                            "handler": True})
            continue
        out.append({"name": name, "instance-id": iid, "save-time": dt})
    return out


def skipped_by_patch(trace_run, with_handlers=False):
    """The traced entries with downtime > 0 that the patch leaves out."""
    keep = HANDLER_ENTRIES if with_handlers else set()
    return [(n, i, d) for n, i, d in trace_run
            if d > 0 and n in NO_VMSD_ENTRIES and n not in keep]


def side_by_side(a_name, a, b_name, b, order):
    """Text table of two device-state-times lists, one row per (name, id) of
    `order` (the traced entry sequence); '-' where a list has no entry."""
    ta = {(e["name"], e["instance-id"]): e["save-time"] for e in a}
    tb = {(e["name"], e["instance-id"]): e["save-time"] for e in b}
    rows_keys = [k for k in order if k in ta or k in tb]
    rows_keys += [k for k in list(ta) + list(tb) if k not in rows_keys]
    w = max([len(n) for n, _ in rows_keys] + [6])
    rows = [f"{'name':<{w}} {'inst':>5} {a_name + ' us':>12} {b_name + ' us':>14}"]
    for n, i in rows_keys:
        va = ta.get((n, i), "-")
        vb = tb.get((n, i), "-")
        rows.append(f"{n:<{w}} {i:>5} {va!s:>12} {vb!s:>14}")
    rows.append(f"{'total':<{w}} {'':>5} {sum(ta.values()):>12} {sum(tb.values()):>14}")
    return "\n".join(rows)


def migration_info_schema(qmp):
    """Member names of query-migrate's return type and of its
    device-state-times element type, in schema order, from query-qmp-schema
    (QMP's wire JSON orders object keys by hash, so the order is checked here)."""
    schema = {t["name"]: t for t in qmp.cmd("query-qmp-schema")}
    cmd = next(t for t in schema.values()
               if t["meta-type"] == "command" and t["name"] == "query-migrate")
    info = schema[cmd["ret-type"]]
    members = [m["name"] for m in info["members"]]
    elem = []
    dst = [m for m in info["members"] if m["name"] == "device-state-times"]
    if dst:
        arr = schema[dst[0]["type"]]
        elem = [(m["name"], m["type"], "default" in m)
                for m in schema[arr["element-type"]]["members"]]
    return members, elem


def need_binary(env_name):
    """Path of a QEMU under test from the environment; a missing one is an error."""
    path = os.environ.get(env_name, "")
    if not path or not os.access(path, os.X_OK):
        raise AssertionError(
            f"{env_name} is not set to an executable qemu-system-x86_64 "
            f"(got {path!r}); run scripts/qemu/e2e.sh, which builds it")
    return path


def need_tool(name):
    path = shutil.which(name)
    if not path:
        raise AssertionError(f"{name} not found; run scripts/qemu/install-deps.sh")
    return path
