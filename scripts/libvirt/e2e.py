#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""devstate's trace switch and libvirt-log report against real components (scripts/libvirt/e2e.sh
runs it with the daemons up):

- libvirt: a TCG domain on the stock QEMU 10.0 under a standalone libvirtd; `devstate trace on
  --domain`, `virsh save`, `virsh restore` with the events on through <qemu:commandline>, then
  `devstate report --domain` must show the save's per-device times and the restore's load times,
  equal to the trace lines of the libvirt log as read here (plain string splitting, no code shared
  with the CLI), paired as one run.
- QMP: a QEMU started directly, `devstate trace on --qmp`, a migration to a file and its load into
  a second QEMU started with -trace; the report equals the two -D logs.
- No trace: an empty file, the libvirt log of the domain before it was traced, random bytes:
  exit status 8 and the message on how to capture one.

Every wait is bounded. Prints "libvirt: N passed, N failed, N skipped" last.
"""
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
DEVSTATE = os.environ.get("DEVSTATE_BIN", "devstate")
QEMU = os.environ.get("QEMU", "/usr/bin/qemu-system-x86_64")
URI = "qemu:///system"
LOG_DIR = "/var/log/libvirt/qemu"
QMP = [sys.executable, os.path.join(ROOT, "scripts", "fixtures", "qmp.py")]
NO_TRACE = 8  # Status.noTrace, Sources/devstate/README.md

passed = failed = skipped = 0


def check(label, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print("ok    " + label)
    else:
        failed += 1
        print("FAIL  " + label + (": " + detail if detail else ""))
    return ok


def run(cmd, timeout=60, check_rc=False):
    t = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, errors="replace")
    print("$ %s  (exit %d, %.1f s)" % (" ".join(cmd), p.returncode, time.time() - t))
    if check_rc and p.returncode != 0:
        raise RuntimeError("%s failed: %s%s" % (cmd[0], p.stdout, p.stderr))
    return p


def virsh(*args, timeout=120, check_rc=True):
    return run(["virsh", "-c", URI] + list(args), timeout=timeout, check_rc=check_rc)


# ---- the oracle: the trace lines of a log, by QEMU process ---------------------------------------

LINE = re.compile(r"vmstate_downtime_(save|load) type=(iterable|non-iterable) idstr=(.*) instance_id=(-?\d+) downtime=(\d+)$")


def processes(text):
    """A libvirt log's QEMU processes (split at 'starting up'): their save and load lines."""
    procs = []
    cur = None
    for raw in text.split("\n"):
        if re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}[+-]\d{4}: starting up ", raw):
            cur = {"save": [], "load": [], "incoming": False, "args": []}
            procs.append(cur)
            continue
        if cur is None:
            continue
        if raw.startswith("-incoming "):
            cur["incoming"] = True
        if raw.endswith(" \\") or raw.startswith("-"):
            continue  # the command line libvirt logs
        m = LINE.search(raw)
        if m:
            cur[m.group(1)].append((m.group(3), int(m.group(4)) & 0xffffffff, m.group(2), int(m.group(5))))
    return procs


def plain_lines(text, event):
    return [(m.group(3), int(m.group(4)) & 0xffffffff, m.group(2), int(m.group(5)))
            for m in (LINE.search(r) for r in text.split("\n")) if m and m.group(1) == event]


def reported(side):
    return [(d["name"], d["instance-id"], d["section"], d["time-us"]) for d in side["devices"]]


def check_pairs(label, report, procs, count):
    """The report has `count` runs, run i pairing process i's save with process i+1's loads."""
    runs = report["runs"]
    check("%s: %d run(s), each a save with its restore" % (label, count),
          len(runs) == count and all("source" in r and "destination" in r for r in runs), json.dumps(runs)[:300])
    if len(runs) != count or len(procs) != count + 1:
        return
    for i, r in enumerate(runs):
        src, dst = reported(r["source"]), reported(r["destination"])
        check("%s run %d: %d save times equal process %d's save lines" % (label, i + 1, len(src), i + 1),
              src == procs[i]["save"] and len(src) > 20, "%s\n%s" % (src[:5], procs[i]["save"][:5]))
        check("%s run %d: %d load times equal process %d's load lines" % (label, i + 1, len(dst), i + 2),
              dst == procs[i + 1]["load"] and len(dst) > 20, "%s\n%s" % (dst[:5], procs[i + 1]["load"][:5]))
        check("%s run %d: the save has its downtime, the restore its load to vm started" % (label, i + 1),
              (r["source"].get("downtime-us") or 0) > 0 and (r["destination"].get("downtime-us") or 0) > 0)


def wait_for(what, predicate, limit):
    deadline = time.time() + limit
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    print("timed out after %ss waiting for %s" % (limit, what))
    return False


def read(path):
    with open(path, errors="replace") as f:
        return f.read()


# ---- no trace ------------------------------------------------------------------------------------

def expect_no_trace(label, args):
    p = run([DEVSTATE, "report"] + args)
    check(label + ": exit %d" % NO_TRACE, p.returncode == NO_TRACE, "exit %d, stderr %s" % (p.returncode, p.stderr[-400:]))
    for needle in ["no vmstate_downtime_* trace event", "-trace vmstate_downtime_save", "devstate trace on",
                   "<qemu:commandline>", "vmstate_downtime_*"]:
        check(label + ": the message says " + needle, needle in p.stderr, p.stderr[-400:])


# ---- libvirt -------------------------------------------------------------------------------------

DOMAIN_XML = """<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <!-- without <acpi/>, libvirt 9.0 passes -no-acpi, which QEMU 10.0 no longer has -->
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <emulator>{qemu}</emulator>
  </devices>
</domain>
"""

QEMU_NS = "xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'"
TRACE_ARGS = """  <qemu:commandline>
    <qemu:arg value='-trace'/>
    <qemu:arg value='vmstate_downtime_*'/>
  </qemu:commandline>
</domain>"""


def libvirt_case(work):
    name = "devstate-e2e-%d" % os.getpid()
    log = os.path.join(LOG_DIR, name + ".log")
    saved = os.path.join(work, name + ".save")
    xml = os.path.join(work, "domain.xml")
    with open(xml, "w") as f:
        f.write(DOMAIN_XML.format(name=name, qemu=QEMU))
    if os.path.exists(log):
        os.unlink(log)
    virsh("define", xml)
    try:
        t = time.time()
        virsh("start", name, timeout=120)
        check("libvirt: the TCG domain runs (%.1f s)" % (time.time() - t),
              wait_for("domain running", lambda: virsh("domstate", name, check_rc=False).stdout.strip() == "running", 60))
        # The never-traced log (libvirt's lines and the command line only).
        untraced = os.path.join(work, "untraced", name + ".log")
        os.makedirs(os.path.dirname(untraced))
        shutil.copy(log, untraced)
        expect_no_trace("no trace: libvirt log of a never-traced VM", ["--domain", name, "--libvirt-log-dir", os.path.dirname(untraced)])

        p = run([DEVSTATE, "trace", "on", "--domain", name])
        print(p.stdout + p.stderr)
        check("trace on --domain: exit 0", p.returncode == 0, p.stderr)
        for ev in ["vmstate_downtime_save", "vmstate_downtime_load", "vmstate_downtime_checkpoint"]:
            check("trace on --domain: %s enabled (was disabled)" % ev,
                  re.search(ev + r"\s+enabled \(was disabled\)", p.stdout) is not None, p.stdout)
        check("trace on --domain: reports the log backend and where the lines go",
              "trace backend: log" in p.stdout and log in p.stdout, p.stdout)
        got = virsh("qemu-monitor-command", name, json.dumps({"execute": "trace-event-get-state", "arguments": {"name": "vmstate_downtime_*"}}))
        states = {e["name"]: e["state"] for e in json.loads(got.stdout)["return"]}
        check("trace on --domain: QEMU itself says enabled", set(states.values()) == {"enabled"}, str(states))

        t = time.time()
        virsh("save", name, saved, timeout=180)
        check("virsh save (%.1f s)" % (time.time() - t), os.path.exists(saved))
        dumped = virsh("save-image-dumpxml", saved).stdout
        restore_xml = os.path.join(work, "restore.xml")
        with open(restore_xml, "w") as f:
            f.write(dumped.replace("<domain type='qemu'>", "<domain type='qemu' " + QEMU_NS + ">", 1)
                    .replace("</domain>", TRACE_ARGS))
        t = time.time()
        virsh("restore", saved, "--xml", restore_xml, timeout=300)
        check("virsh restore with <qemu:commandline> -trace (%.1f s)" % (time.time() - t),
              wait_for("the restore's vm-started checkpoint", lambda: "vm-started" in read(log), 60))

        p = run([DEVSTATE, "report", "--domain", name, "--format", "json"])
        check("report --domain: exit 0", p.returncode == 0, p.stderr[-600:])
        report = json.loads(p.stdout) if p.stdout.strip().startswith("{") else {"runs": []}
        procs = processes(read(log))
        check("oracle: two QEMU processes, the second started with -incoming",
              len(procs) == 2 and procs[1]["incoming"], str([(len(x["save"]), len(x["load"]), x["incoming"]) for x in procs]))
        check_pairs("virsh save/restore", report, procs, 1)
        check("report --domain: libvirt's command line (-trace 'vmstate_downtime_*') is not malformed",
              report.get("malformed-lines") == 0, str(report.get("malformed-lines")))
        table = run([DEVSTATE, "report", "--domain", name, "--width", "120"])
        print(table.stdout[-2500:] + table.stderr)
        check("report --domain table: the save is shown restored by process 2",
              "restored by QEMU process 2" in table.stdout and "restores the save of QEMU process 1" in table.stdout, table.stdout[-800:])
        shutil.copy(log, os.path.join(work, "libvirt-save-restore.log"))

        # managedsave, then start: the restored QEMU (started with -trace by the restore's XML,
        # which the managed save image keeps) saves, and the next start loads it, traced.
        t = time.time()
        virsh("managedsave", name, timeout=180)
        virsh("start", name, timeout=300)
        check("virsh managedsave, virsh start (%.1f s)" % (time.time() - t),
              wait_for("the managed start's vm-started", lambda: len(processes(read(log))) == 3 and read(log).count("vm-started") == 2, 60))
        p = run([DEVSTATE, "report", "--domain", name, "--format", "json"])
        report = json.loads(p.stdout) if p.returncode == 0 else {"runs": []}
        check_pairs("virsh managedsave/start", report, processes(read(log)), 2)
        shutil.copy(log, os.path.join(work, "libvirt-managedsave.log"))

        p = run([DEVSTATE, "trace", "off", "--domain", name])
        check("trace off --domain: disabled", p.returncode == 0 and "disabled (was enabled)" in p.stdout, p.stdout + p.stderr)
        p = run([DEVSTATE, "trace", "on", "--domain", "devstate-no-such-domain"])
        check("trace on --domain with an unknown domain: exit 1 and libvirt's words", p.returncode == 1 and "devstate-no-such-domain" in p.stderr, p.stderr)
    finally:
        virsh("destroy", name, check_rc=False)
        virsh("undefine", name, "--managed-save", check_rc=False)
        check("libvirt: domain stopped and undefined", name not in virsh("list", "--all", "--name", check_rc=False).stdout)
        for path in (saved, log):
            if os.path.exists(path):
                os.unlink(path)


# ---- QMP -----------------------------------------------------------------------------------------

def qmp_case(work):
    common = [QEMU, "-accel", "tcg", "-m", "128", "-display", "none", "-monitor", "none", "-nodefaults",
              "-machine", "pc", "-msg", "timestamp=on"]
    src_sock, dst_sock = os.path.join(work, "src.qmp"), os.path.join(work, "dst.qmp")
    src_log, dst_log = os.path.join(work, "src.log"), os.path.join(work, "dst.log")
    state = os.path.join(work, "state.mig")
    procs = []
    try:
        procs.append(subprocess.Popen(["nice", "-n", "10"] + common + ["-qmp", "unix:%s,server=on,wait=off" % src_sock, "-D", src_log],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        run(QMP + [src_sock, "wait-socket", "30"], timeout=40, check_rc=True)
        p = run([DEVSTATE, "trace", "on", "--qmp", src_sock])
        print(p.stdout + p.stderr)
        check("trace on --qmp: exit 0, enabled, log backend, the -D file named",
              p.returncode == 0 and "enabled (was disabled)" in p.stdout and "trace backend: log" in p.stdout and src_log in p.stdout,
              p.stdout + p.stderr)
        run(QMP + [src_sock, "exec", "migrate", json.dumps({"uri": "file:" + state})], timeout=30, check_rc=True)
        run(QMP + [src_sock, "wait-migrate", "120"], timeout=130, check_rc=True)
        procs.append(subprocess.Popen(["nice", "-n", "10"] + common + [
            "-trace", "vmstate_downtime_save", "-trace", "vmstate_downtime_load", "-trace", "vmstate_downtime_checkpoint",
            "-qmp", "unix:%s,server=on,wait=off" % dst_sock, "-incoming", "defer", "-D", dst_log],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        run(QMP + [dst_sock, "wait-socket", "30"], timeout=40, check_rc=True)
        run(QMP + [dst_sock, "exec", "migrate-incoming", json.dumps({"uri": "file:" + state})], timeout=30, check_rc=True)
        run(QMP + [dst_sock, "wait-migrate", "120"], timeout=130, check_rc=True)
        wait_for("destination's vm-started", lambda: "vm-started" in read(dst_log), 30)
        p = run([DEVSTATE, "report", src_log, dst_log, "--format", "json"])
        check("report (QMP-enabled source, -trace destination): exit 0", p.returncode == 0, p.stderr)
        runs = json.loads(p.stdout)["runs"] if p.returncode == 0 else []
        ok = len(runs) == 1 and "source" in runs[0] and "destination" in runs[0]
        check("QMP: one run with both sides", ok)
        if ok:
            src, dst = reported(runs[0]["source"]), reported(runs[0]["destination"])
            check("QMP: %d saves equal the source log's lines" % len(src), src == plain_lines(read(src_log), "save") and len(src) > 20)
            check("QMP: %d loads equal the destination log's lines" % len(dst), dst == plain_lines(read(dst_log), "load") and len(dst) > 20)
        p = run([DEVSTATE, "trace", "off", "--qmp", src_sock])
        check("trace off --qmp: disabled", p.returncode == 0 and "disabled (was enabled)" in p.stdout, p.stdout + p.stderr)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def main():
    out = os.environ.get("DEVSTATE_LIBVIRT_OUT")
    work = tempfile.mkdtemp(prefix="devstate-libvirt.")
    os.chmod(work, 0o755)  # libvirt's QEMU runs as libvirt-qemu
    try:
        empty = os.path.join(work, "empty.log")
        open(empty, "w").close()
        expect_no_trace("no trace: empty file", [empty])
        rnd = os.path.join(work, "random.bin")
        with open(rnd, "wb") as f:
            f.write(random.Random(13).randbytes(256 * 1024))
        expect_no_trace("no trace: random bytes", [rnd])
        for case in (qmp_case, libvirt_case):
            try:
                case(work)
            except Exception as e:  # a step that failed outright counts as one failure
                check("%s ran to its end" % case.__name__, False, repr(e))
        if out:
            os.makedirs(out, exist_ok=True)
            for f in ("libvirt-save-restore.log", "libvirt-managedsave.log", "src.log", "dst.log"):
                if os.path.exists(os.path.join(work, f)):
                    shutil.copy(os.path.join(work, f), out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("libvirt: %d passed, %d failed, %d skipped" % (passed, failed, skipped))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
