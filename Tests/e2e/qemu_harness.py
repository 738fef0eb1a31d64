"""Drives real qemu-system-x86_64 processes for the end-to-end tests.

Nothing here is mocked: QemuVM starts the binary under test with QMP on a
unix socket and the vmstate_downtime_* trace events written to a log file,
and the helpers migrate it to a file and read both the query-migrate reply
and the trace back.
"""

import calendar
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
        # The greeting comes first, but a QEMU still starting up has been seen to send an
        # event (RESUME) ahead of it: events before the greeting are kept, not taken for it.
        greeting = self._read()
        while "event" in greeting and "QMP" not in greeting:
            self.events.append(greeting)
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

    def __init__(self, binary, config, workdir, name, incoming=None, watch_qmp=False,
                 accel="tcg"):
        """config: a configuration's name (machine_args), or the machine and
        device arguments themselves as a list.
        watch_qmp: also open a second QMP monitor at .watch_qmp_path, for a
        client of its own (one monitor serves one client at a time).
        accel: tcg, or kvm for a configuration TCG cannot migrate (these guests
        run SeaBIOS only, which nested KVM runs fine)."""
        self.binary = binary
        self.workdir = workdir
        self.name = name
        self.qmp_path = os.path.join(workdir, f"{name}.qmp")
        self.log_path = os.path.join(workdir, f"{name}.trace.log")
        self.stderr_path = os.path.join(workdir, f"{name}.stderr")
        self.watch_qmp_path = os.path.join(workdir, f"{name}.watch.qmp") if watch_qmp else None
        for p in (self.qmp_path, self.log_path, self.watch_qmp_path):
            if p and os.path.exists(p):
                os.unlink(p)
        args = [binary]
        for d in FIRMWARE_DIRS:
            args += ["-L", d]
        args += config if isinstance(config, list) else machine_args(config, workdir)
        args += [
            "-accel", accel,
            "-display", "none",
            "-qmp", f"unix:{self.qmp_path},server=on,wait=off",
            # save, load, checkpoint, and our series' step (a stock QEMU has no
            # vmstate_downtime_step: a pattern matches it without a warning)
            "-trace", "vmstate_downtime_*",
            "-msg", "timestamp=on",
            "-D", self.log_path,
        ]
        if watch_qmp:
            args += ["-qmp", f"unix:{self.watch_qmp_path},server=on,wait=off"]
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
        if not self.stderr.closed:
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


def migration_info_schema(qmp, member="device-state-times"):
    """Member names of query-migrate's return type and of the element type
    of its list member `member`, in schema order, from query-qmp-schema
    (QMP's wire JSON orders object keys by hash, so the order is checked here)."""
    schema = {t["name"]: t for t in qmp.cmd("query-qmp-schema")}
    cmd = next(t for t in schema.values()
               if t["meta-type"] == "command" and t["name"] == "query-migrate")
    info = schema[cmd["ret-type"]]
    members = [m["name"] for m in info["members"]]
    elem = []
    dst = [m for m in info["members"] if m["name"] == member]
    if dst:
        arr = schema[dst[0]["type"]]
        elem = [(m["name"], m["type"], "default" in m)
                for m in schema[arr["element-type"]]["members"]]
    return members, elem


# --- the whole downtime: iterable saves, loads, checkpoints (patch 0005) ----------

# The members our series adds to MigrationInfo after device-state-times: the
# whole downtime's lists, the count of entries they could not keep and the
# steps of the downtime (patch 0009)
WHOLE_DOWNTIME_MEMBERS = ["iterable-state-times", "device-load-times",
                          "downtime-checkpoints", "downtime-entries-dropped",
                          "downtime-steps"]
NEW_MEMBERS = ["device-state-times"] + WHOLE_DOWNTIME_MEMBERS

# Sections the source sends at setup, long before the switchover (a
# VMStateDescription with early_setup; in QEMU 10.0 and 10.2 virtio-mem's
# only): traced as loads, but not the destination's downtime.
EARLY_SETUP_SECTIONS = ("virtio-mem-device-early",)

# The checkpoint names our series documents as a fixed list in the QAPI
# schema (DowntimeCheckpoint.name), source's then destination's
SOURCE_CHECKPOINTS = ["src-downtime-start", "src-vm-stopped", "src-iterable-saved",
                      "src-non-iterable-saved", "src-downtime-end"]
DESTINATION_CHECKPOINTS = [
    "dst-precopy-loadvm-completed", "dst-precopy-bh-enter", "dst-precopy-bh-announced",
    "dst-precopy-bh-vm-started", "dst-postcopy-bh-enter", "dst-postcopy-bh-cpu-synced",
    "dst-postcopy-bh-announced", "dst-postcopy-bh-cache-invalidated",
    "dst-postcopy-bh-vm-started"]
POSTCOPY_BH_CHECKPOINTS = [n for n in DESTINATION_CHECKPOINTS if n.startswith("dst-postcopy-bh-")]

# Our checkpoint readings (QEMU_CLOCK_REALTIME, i.e. CLOCK_MONOTONIC) are
# taken right before trace_vmstate_downtime_checkpoint() is called; the log
# backend stamps its line with gettimeofday() first thing, before it formats
# and writes it. Between the two lie one libdevstate record (well under a
# microsecond once warm, a first allocation at the start of a run) and the
# trace's state check, plus any preemption that hits that window; the two
# clocks also drift apart by at most NTP's 500 ppm slew (< 10 us over the
# ~20 ms a run lasts). A difference of two checkpoints carries two such
# errors. 200 us leaves room for a preemption on this 2-core host that also
# runs TCG vCPU threads, while still catching a reading taken at the wrong
# place: a wrong origin is off by at least one device load, and the reading
# taken after the trace call instead of before it was off by up to ~120 us
# (the first line QEMU writes to its log is that slow).
CHECKPOINT_TOLERANCE_US = 200
# The first line a QEMU process writes to its log pays a one-time cost
# between our reading and its stamp: on the first migration of a process the
# worst difference was 19-285 us here, on later ones <= 8 us (both releases).
# Comparisons that involve that line get this bound instead.
FIRST_LINE_TOLERANCE_US = 1000

# (worst deviation in us, label) of every check_checkpoints() call, printed
# at the end of the session by conftest.py
CHECKPOINT_DEVIATIONS = []

# log backend line, QEMU 10.0: TID@SECONDS.MICROS:event args
_EVENT_RE = re.compile(
    r"^(?P<tid>\d+)@(?P<sec>\d+)\.(?P<usec>\d{6}):"
    r"vmstate_downtime_(?P<ev>save|load|checkpoint) (?P<args>.*?)\s*$")
# QEMU >= 10.1 logs trace lines through qemu_log: with -msg timestamp=on a
# line starts with an ISO 8601 UTC stamp (fraction left out when zero) and
# carries no thread id: YYYY-MM-DDTHH:MM:SS[.ffffff]Z event args
_ISO_EVENT_RE = re.compile(
    r"^(?P<date>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(?P<frac>\d{1,6}))?Z "
    r"vmstate_downtime_(?P<ev>save|load|checkpoint) (?P<args>.*?)\s*$")


def _stamp(line):
    """(ev, tid or None, us since the epoch, args) of a trace line, or None."""
    m = _EVENT_RE.match(line)
    if m:
        return (m.group("ev"), int(m.group("tid")),
                int(m.group("sec")) * 1000000 + int(m.group("usec")), m.group("args"))
    m = _ISO_EVENT_RE.match(line)
    if m:
        sec = calendar.timegm(time.strptime(m.group("date"), "%Y-%m-%dT%H:%M:%S"))
        usec = int((m.group("frac") or "0").ljust(6, "0"))
        return m.group("ev"), None, sec * 1000000 + usec, m.group("args")
    return None
_SPAN_ARGS_RE = re.compile(
    r"^type=(?P<type>\S+) idstr=(?P<idstr>.*) "
    r"instance_id=(?P<iid>-?\d+) downtime=(?P<dt>-?\d+)$")


def trace_events(lines):
    """The vmstate_downtime_* lines of a log, in file order, as dicts:
    {ev: save|load, tid, ts (us since the epoch), type, name, iid, dt} or
    {ev: checkpoint, tid, ts, name}; tid is None when the log has none (10.2)."""
    out = []
    for line in lines:
        st = _stamp(line)
        if not st:
            continue
        ev, tid, ts, args = st
        e = {"ev": ev, "tid": tid, "ts": ts, "first": not out}
        if e["ev"] == "checkpoint":
            e["name"] = args
        else:
            a = _SPAN_ARGS_RE.match(args)
            if not a:
                raise AssertionError(f"unparsed trace line: {line}")
            e.update(type=a.group("type"), name=a.group("idstr"),
                     iid=int(a.group("iid")) & 0xFFFFFFFF,  # printed with %d
                     dt=int(a.group("dt")))
        out.append(e)
    return out


# Our series' step of a downtime (Patches/, vmstate_downtime_step), e.g.
#   1234@1764230000.123456:vmstate_downtime_step kind=main device=/machine/x type=virtio-blk-device downtime=52 name=virtio_vmstate_change
_STEP_RE = re.compile(
    r"vmstate_downtime_step kind=(?P<kind>\S+) device=(?P<device>\S*) type=(?P<type>\S*) "
    r"downtime=(?P<dt>-?\d+) name=(?P<name>.*?)\s*$")


def step_events(lines):
    """The vmstate_downtime_step lines of a log, in file order, as dicts
    {name, device, device-type, kind, time} (device and device-type left out
    when empty, as in query-migrate's downtime-steps)."""
    out = []
    for line in lines:
        m = _STEP_RE.search(line)
        if not m:
            continue
        e = {"name": m.group("name"), "kind": m.group("kind"), "time": int(m.group("dt"))}
        if m.group("device"):
            e["device"] = m.group("device")
        if m.group("type"):
            e["device-type"] = m.group("type")
        out.append(e)
    return out


def source_iterable_runs(events):
    """The traced iterable switchover saves, one list per pass that reached
    its src-iterable-saved checkpoint (the pass the library ends)."""
    runs, cur = [], []
    for e in events:
        if e["ev"] == "save" and e["type"] == "iterable":
            cur.append(e)
        elif e["ev"] == "checkpoint" and e["name"] == "src-iterable-saved":
            runs.append(cur)
            cur = []
    return runs


def source_checkpoint_runs(events):
    """The traced src-* checkpoints, one list per src-downtime-start ...
    src-downtime-end; checkpoints outside such a span (savevm's) are not
    part of any run."""
    runs, cur = [], None
    for e in events:
        if e["ev"] != "checkpoint" or not e["name"].startswith("src-"):
            continue
        if e["name"] == "src-downtime-start":
            cur = [e]
        elif cur is not None:
            cur.append(e)
            if e["name"] == "src-downtime-end":
                runs.append(cur)
                cur = None
    return runs


def expected_iterable_times(run):
    """iterable-state-times of a traced iterable run: time > 0, in order."""
    return [{"name": e["name"], "instance-id": e["iid"], "save-time": e["dt"]}
            for e in run if e["dt"] > 0]


def is_setup_load(e):
    """A traced load of a section the source sent at setup (EARLY_SETUP_SECTIONS)."""
    return e["ev"] == "load" and e["name"].rsplit("/", 1)[-1] in EARLY_SETUP_SECTIONS


def downtime_loads(events):
    """The traced loads that belong to the destination's downtime, as our series
    records them: not a section loaded at setup, and in postcopy not the loads
    of the listen thread, which run while the guest does (ram's last part). The
    listen thread is told by its thread id (10.0); a log without thread ids
    (10.2) tells it by what it loads: the iterable "ram" section, which the
    main thread never loads in a postcopy migration of these configurations
    (ram is postcopiable, so the switchover saves no part of it)."""
    loads = [e for e in events if e["ev"] == "load" and not is_setup_load(e)]
    postcopy = any(e["ev"] == "checkpoint" and e["name"].startswith("dst-postcopy")
                   for e in events)
    if postcopy and loads:
        main = loads[0]["tid"]  # the package's first load: the main thread
        if main is not None:
            loads = [e for e in loads if e["tid"] == main]
        else:
            loads = [e for e in loads if not (e["type"] == "iterable" and e["name"] == "ram")]
    return loads


def expected_load_times(events):
    """device-load-times of a destination's trace: every downtime load with
    time > 0, iterable: true on type=iterable lines. Returns (tid, entry) pairs."""
    out = []
    for e in downtime_loads(events):
        if e["dt"] <= 0:
            continue
        entry = {"name": e["name"], "instance-id": e["iid"], "load-time": e["dt"]}
        if e["type"] == "iterable":
            entry["iterable"] = True
        elif e["type"] != "non-iterable":
            raise AssertionError(f"unknown load type {e['type']}")
        out.append((e["tid"], entry))
    return out


def is_interleaving(got, tagged):
    """True if `got` is `tagged`'s values in an order that keeps every
    thread's own order: the library orders entries by when it recorded
    them, the log by when it wrote them, and between two threads these can
    differ. With one thread this is plain equality."""
    threads = {}
    for tid, v in tagged:
        threads.setdefault(tid, []).append(v)
    seqs = list(threads.values())
    if len(got) != len(tagged):
        return False
    seen = set()
    stack = [tuple(0 for _ in seqs)]
    while stack:
        pos = stack.pop()
        if pos in seen:
            continue
        seen.add(pos)
        k = sum(pos)
        if k == len(got):
            return True
        for i, seq in enumerate(seqs):
            if pos[i] < len(seq) and seq[pos[i]] == got[k]:
                stack.append(pos[:i] + (pos[i] + 1,) + pos[i + 1:])
    return False


def same_without_thread_ids(got, traced_values, events):
    """For a log without thread ids (QEMU >= 10.1): the same entries, in any
    order, when the events came from more than one thread (postcopy's main and
    listen threads), whose order between threads neither side can tell."""
    if not events or any(e["tid"] is not None for e in events):
        return False
    key = lambda v: json.dumps(v, sort_keys=True)
    return sorted(map(key, got)) == sorted(map(key, traced_values))


def check_checkpoints(got, traced, origin_ts, tol=CHECKPOINT_TOLERANCE_US, origin_first=False):
    """downtime-checkpoints against the traced checkpoints of the same run.

    Same names, in the same order (per thread), and for each pair of
    consecutive checkpoints the difference of our times within `tol` of the
    difference of the trace's stamps; the first checkpoint's time within
    `tol` of its stamp minus `origin_ts` (the trace's view of the origin);
    FIRST_LINE_TOLERANCE_US where the log's first line is involved.
    Returns the worst deviation seen in us.
    """
    names = [c["name"] for c in got]
    assert len(set(names)) == len(names), f"a checkpoint twice: {names}"
    assert is_interleaving(names, [(e["tid"], e["name"]) for e in traced]) or (
        same_without_thread_ids(names, [e["name"] for e in traced], traced)), (
        "downtime-checkpoints differ from the trace\n"
        f"  got:    {names}\n  traced: {[e['name'] for e in traced]}")
    stamp = {e["name"]: e["ts"] for e in traced}
    first = {e["name"] for e in traced if e.get("first")}
    bound = lambda *names: FIRST_LINE_TOLERANCE_US if first.intersection(names) else tol
    for c in got:
        assert isinstance(c["time"], int) and c["time"] >= 0, c
        assert set(c) == {"name", "time"}, c
    worst = abs(got[0]["time"] - (stamp[names[0]] - origin_ts))
    assert worst <= (FIRST_LINE_TOLERANCE_US if origin_first else bound(names[0])), (
        f"first checkpoint {names[0]} at {got[0]['time']} us, trace says "
        f"{stamp[names[0]] - origin_ts} us after the origin")
    for a, b in zip(got, got[1:]):
        ours = b["time"] - a["time"]
        theirs = stamp[b["name"]] - stamp[a["name"]]
        dev = abs(ours - theirs)
        assert dev <= bound(a["name"], b["name"]), (
            f"{a['name']} -> {b['name']}: {ours} us in query-migrate, "
            f"{theirs} us in the trace (tolerance {bound(a['name'], b['name'])} us)")
        worst = max(worst, dev)
    return worst


def load_origin(events):
    """The trace's view of a destination run's origin: the start of the
    first device load of its downtime (the line's stamp minus its downtime)."""
    loads = downtime_loads(events)
    assert loads, "destination trace has no load"
    return loads[0]["ts"] - loads[0]["dt"]


def need_binary(env_name):
    """Path of a QEMU under test from the environment; a missing one is an error."""
    path = os.environ.get(env_name, "")
    if not path or not os.access(path, os.X_OK):
        raise AssertionError(
            f"{env_name} is not set to an executable qemu-system-x86_64 "
            f"(got {path!r}); run scripts/qemu/e2e.sh, which builds it")
    return path


def build_binary(variant, release):
    """The QEMU build of `variant` for `release` that scripts/qemu/e2e.sh made
    (DEVSTATE_QEMU_PATCHED_10_2, DEVSTATE_QEMU_COMPAT_0_1_0_10_0, ...)."""
    var = variant.upper().replace("-", "_").replace(".", "_")
    return need_binary(f"DEVSTATE_QEMU_{var}_{release.replace('.', '_')}")


def need_dir(env_name):
    path = os.environ.get(env_name, "")
    if not path or not os.path.isdir(path):
        raise AssertionError(f"{env_name} is not set to a directory (got {path!r}); "
                             "run scripts/qemu/e2e.sh")
    return path


# Lines for the session's closing summary (conftest prints them).
SUMMARY = []


def need_tool(name):
    path = shutil.which(name)
    if not path:
        raise AssertionError(f"{name} not found; run scripts/qemu/install-deps.sh")
    return path
