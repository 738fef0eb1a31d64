"""`devstate watch` on two live patched QEMUs feeds Prometheus through
node_exporter's textfile collector: the values Prometheus answers are the ones
query-migrate and the trace give for the same migration, to the microsecond.

The source and the destination stand for two hosts: each has its own watcher,
textfile directory and node_exporter (scripts/prometheus/stack.py runs them and
a Prometheus, all on 127.0.0.1). The source has the `events` migration
capability on (the watcher follows MIGRATION events), the destination has it
off (the watcher polls query-migrate). Each QEMU gets a second QMP monitor for
its watcher; the test keeps the first one.

Needs DEVSTATE_BIN and the Debian packages prometheus and
prometheus-node-exporter (scripts/prometheus/install-deps.sh); without the
latter the tests are skipped.
"""

import json
import os
import shutil
import subprocess
import sys
import time

import pytest

import qemu_harness as h

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "prometheus"))
import stack  # noqa: E402

VM = "e2e-vm"
PROM_FILE = f"devstate-{VM}.prom"
# Bounds of the waits below: all of them are met within a few seconds normally
FILE_TIMEOUT = 30.0
SCRAPE_TIMEOUT = 30.0
EXIT_TIMEOUT = 15.0


def need_prometheus():
    missing = [b for b in (stack.PROMETHEUS, "promtool", stack.NODE_EXPORTER)
               if not shutil.which(b)]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (scripts/prometheus/install-deps.sh)")


def qmp_clients(path):
    """Connected clients of the QMP server socket at `path`: /proc/net/unix
    lists the sockets QEMU accepted under the listener's path, in state 03."""
    with open("/proc/net/unix") as f:
        rows = [line.split() for line in f.read().splitlines()[1:]]
    return sum(1 for r in rows if len(r) >= 8 and r[7] == path and r[5] == "03")


class Watcher:
    """One `devstate watch` process; stdout and stderr go to files."""

    def __init__(self, workdir, name, qmp_path, textfile_dir, *extra):
        self.name = name
        self.out_path = os.path.join(workdir, f"{name}.watch.out")
        self.err_path = os.path.join(workdir, f"{name}.watch.err")
        self.args = [h.need_binary("DEVSTATE_BIN"), "watch", "--qmp", qmp_path,
                     "--textfile", textfile_dir, "--vm", VM, *extra]
        self.qmp_path = qmp_path
        with open(self.out_path, "w") as out, open(self.err_path, "w") as err:
            self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=err)

    def stderr(self):
        with open(self.err_path, errors="replace") as f:
            return f.read()

    def wait_connected(self, timeout=FILE_TIMEOUT):
        """Until the watcher holds its QMP connection (so it sees the migration
        from the start rather than finding it completed), bounded."""
        deadline = time.monotonic() + timeout
        while qmp_clients(self.qmp_path) < 1:
            assert self.proc.poll() is None, \
                f"{self.name} watcher exited {self.proc.returncode}: {self.stderr()}"
            assert time.monotonic() < deadline, f"{self.name} watcher did not connect"
            time.sleep(0.05)
        # the greeting and qmp_capabilities follow the connect within milliseconds
        time.sleep(0.3)

    def wait_exit(self, timeout=EXIT_TIMEOUT):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{self.name} watcher still running after {timeout:.0f} s: "
                                 f"{self.stderr()}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


def wait_file(path, timeout=FILE_TIMEOUT, watcher=None):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if watcher is not None and watcher.proc.poll() is not None:
            raise AssertionError(f"{watcher.name} watcher exited {watcher.proc.returncode} "
                                 f"before writing {path}: {watcher.stderr()}")
        assert time.monotonic() < deadline, f"{path} not written within {timeout:.0f} s"
        time.sleep(0.1)
    with open(path) as f:
        return f.read()


def promtool_check(text, label):
    run = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                         text=True, timeout=30)
    assert run.returncode == 0, (f"{label}: promtool check metrics: exit {run.returncode}\n"
                                 f"{run.stdout}{run.stderr}\n--- file:\n{text}")


def expected_from_query(side, info):
    """(section, device, instance) -> us from a query-migrate reply."""
    if side == "source":
        got = {("non-iterable", e["name"], e["instance-id"]): e["save-time"]
               for e in info.get("device-state-times", [])}
        got.update({("iterable", e["name"], e["instance-id"]): e["save-time"]
                    for e in info.get("iterable-state-times", [])})
    else:
        got = {("iterable" if e.get("iterable") else "non-iterable", e["name"],
                e["instance-id"]): e["load-time"]
               for e in info.get("device-load-times", [])}
    return {k: v for k, v in got.items() if v > 0}


def expected_from_trace(side, report_side):
    """The same from `devstate report --format json` of the trace logs: devices
    with time > 0 that query-migrate lists (on the source the entries without a
    vmsd are left out of device-state-times; the destination lists every load)."""
    return {(d["section"], d["name"], d["instance-id"]): d["time-us"]
            for d in report_side["devices"]
            if d["time-us"] > 0 and (side == "destination" or d["section"] == "iterable"
                                     or d["vmsd"])}


def from_prometheus(result, side):
    """(section, device, instance) -> us of a device-time answer, one side."""
    out = {}
    for r in result:
        m = r["metric"]
        if m.get("side") != side:
            continue
        key = (m["section"], m["device"], int(m["instance_id"]))
        assert key not in out, f"{side}: {key} twice: {result}"
        out[key] = round(float(r["value"][1]) * 1e6)
    return out


def compact(result):
    """One line per series of a Prometheus answer: labels (without job and
    instance) and value."""
    lines = []
    for r in result:
        m = {k: v for k, v in r["metric"].items() if k not in ("job", "instance")}
        name = m.pop("__name__", "")
        labels = ",".join(f'{k}="{v}"' for k, v in sorted(m.items()))
        lines.append(f"  {name}{{{labels}}} {r['value'][1]}")
    return "\n".join(lines)


def checkpoint_downtime_us(info):
    cps = {c["name"]: c["time"] for c in info["downtime-checkpoints"]}
    return cps["src-downtime-end"] - cps["src-downtime-start"]


# The phases of a precopy migration, in checkpoint order (docs/prometheus.md)
PHASES = {"source": ["stop", "iterable", "non-iterable", "end"],
          "destination": ["load", "bh-schedule", "announce", "vm-start"]}


def checkpoint_phases_us(side, info):
    """phase -> us between consecutive downtime-checkpoints; the destination's
    first phase runs from its origin (time 0, the first load's start)."""
    times = [c["time"] for c in info["downtime-checkpoints"]]
    if side == "destination":
        times = [0] + times
    diffs = [b - a for a, b in zip(times, times[1:])]
    assert len(diffs) == len(PHASES[side]), (side, info["downtime-checkpoints"])
    return dict(zip(PHASES[side], diffs))


def devstate(*args, timeout=120):
    return subprocess.run([h.need_binary("DEVSTATE_BIN"), *args], capture_output=True,
                          text=True, timeout=timeout)


def test_watch_to_prometheus_equals_query_and_trace(patched_bin, release, tmp_path):
    need_prometheus()
    wd = str(tmp_path)
    dirs = {side: os.path.join(wd, f"textfile-{side}") for side in ("source", "destination")}
    for d in dirs.values():
        os.makedirs(d)
    stream = os.path.join(wd, "stream")
    vms, watchers = [], {}
    prom = None
    try:
        src = h.QemuVM(patched_bin, "q35", wd, "src", watch_qmp=True)
        vms.append(src)
        src.qmp.cmd("migrate-set-capabilities",
                    capabilities=[{"capability": "events", "state": True}])
        dst = h.QemuVM(patched_bin, "q35", wd, "dst", incoming="defer", watch_qmp=True)
        vms.append(dst)
        caps = {c["capability"]: c["state"] for c in dst.qmp.cmd("query-migrate-capabilities")}
        assert caps["events"] is False, "destination should poll: events must be off"
        for side, vm in (("source", src), ("destination", dst)):
            watchers[side] = Watcher(wd, side, vm.watch_qmp_path, dirs[side],
                                     "--max-devices", "1000")
        for w in watchers.values():
            w.wait_connected()
        prom = stack.PromStack(os.path.join(wd, "prom"),
                               [dirs["source"], dirs["destination"]],
                               names=["source", "destination"]).start()
        for name, addrs in prom.listen_addresses().items():
            assert addrs and all(ip == "127.0.0.1" for ip, _ in addrs), \
                f"{name} listens on {addrs}: only 127.0.0.1 is allowed"

        info = {"source": h.migrate_to_file(src.qmp, stream)}
        assert info["source"]["status"] == "completed", info["source"]
        dst.qmp.cmd("migrate-incoming", uri=f"file:{stream}")
        info["destination"] = h.wait_migration(dst.qmp, timeout=60.0)
        assert info["destination"]["status"] == "completed", info["destination"]

        texts = {}
        for i, side in enumerate(("source", "destination")):
            texts[side] = wait_file(os.path.join(dirs[side], PROM_FILE), watcher=watchers[side])
            assert texts[side].endswith("# EOF\n"), texts[side][-200:]
            promtool_check(texts[side], side)
            metrics = prom.node_metrics(i)
            assert "node_textfile_scrape_error 0" in metrics.splitlines(), metrics
            assert f'side="{side}"' in metrics and "qemu_migration_device_time_seconds{" \
                in metrics, f"{side}: node_exporter shows no device times:\n{metrics}"
            leftovers = [f for f in os.listdir(dirs[side]) if f != PROM_FILE]
            assert not leftovers, f"{side}: temp files left in the textfile dir: {leftovers}"

        want = {side: expected_from_query(side, info[side]) for side in info}
        for side, w in want.items():
            assert w, f"{side}: query-migrate lists no device times: {info[side]}"

        def both_sides_complete(result):
            return all(len(from_prometheus(result, s)) == len(want[s]) for s in want)
        devq = f'qemu_migration_device_time_seconds{{vm="{VM}"}}'
        answer = prom.wait_for(devq, both_sides_complete, timeout=SCRAPE_TIMEOUT)
        got = {side: from_prometheus(answer, side) for side in want}
        for side in want:
            assert got[side] == want[side], (
                f"{side}: Prometheus and query-migrate differ\n  prometheus: {got[side]}\n"
                f"  query-migrate: {want[side]}")
            hosts = {r["metric"]["host"] for r in answer if r["metric"]["side"] == side}
            assert hosts == {side}, f"{side}: scraped from {hosts}"

        downq = f'qemu_migration_downtime_seconds{{vm="{VM}"}}'
        down = prom.wait_for(downq, lambda r: len(r) == 1, timeout=SCRAPE_TIMEOUT)
        assert round(float(down[0]["value"][1]) * 1e6) == checkpoint_downtime_us(
            info["source"]), (down, info["source"]["downtime-checkpoints"])

        phaseq = f'qemu_migration_downtime_phase_seconds{{vm="{VM}"}}'
        nphases = sum(len(p) for p in PHASES.values())
        phases = prom.wait_for(phaseq, lambda r: len(r) == nphases, timeout=SCRAPE_TIMEOUT)
        for side in want:
            got_phases = {r["metric"]["phase"]: round(float(r["value"][1]) * 1e6)
                          for r in phases if r["metric"]["side"] == side}
            assert got_phases == checkpoint_phases_us(side, info[side]), (
                f"{side}: phases {got_phases}, checkpoints "
                f"{info[side]['downtime-checkpoints']}")

        countq = f'qemu_migration_devices{{vm="{VM}"}}'
        counts = prom.wait_for(countq, lambda r: len(r) == 2, timeout=SCRAPE_TIMEOUT)
        assert {r["metric"]["side"]: int(r["value"][1]) for r in counts} == \
            {side: len(w) for side, w in want.items()}, counts

        infoq = f'qemu_migration_devstate_info{{vm="{VM}"}}'
        about = prom.wait_for(infoq, lambda r: len(r) == 2, timeout=SCRAPE_TIMEOUT)
        for r in about:
            assert r["metric"]["input"] == "query-migrate", r
            assert r["metric"]["series"] not in ("none", "trace"), r

        topq = f'topk(5, qemu_migration_device_time_seconds{{vm="{VM}",side="destination"}})'
        top = prom.query(topq)
        print(f"\n[prometheus {release}] source {PROM_FILE}:\n{texts['source']}")
        print(f"[prometheus {release}] {topq}\n{compact(top)}")
        print(f"[prometheus {release}] {downq}\n{compact(down)}")

        # Quitting QEMU closes the watchers' connections: each says so and exits 0.
        for vm in vms:
            vm.kill()
        for side, w in watchers.items():
            rc = w.wait_exit()
            err = w.stderr()
            assert rc == 0 and "went away" in err, f"{side} watcher: exit {rc}: {err}"
        # each watcher took the path the test meant it to take
        assert "events on" in watchers["source"].stderr(), watchers["source"].stderr()
        assert "events off" in watchers["destination"].stderr(), \
            watchers["destination"].stderr()
    finally:
        for vm in vms:
            if vm.proc.poll() is None:
                vm.kill()
        for w in watchers.values():
            w.stop()
        if prom is not None:
            prom.stop()

    run = devstate("report", src.log_path, dst.log_path, "--format", "json")
    assert run.returncode == 0, f"devstate report: exit {run.returncode}: {run.stderr}"
    traced = json.loads(run.stdout)["runs"][-1]
    for side in want:
        t = expected_from_trace(side, traced[side])
        assert got[side] == t, (f"{side}: Prometheus and the trace differ\n"
                                f"  prometheus: {got[side]}\n  trace: {t}")
    h.SUMMARY.append(f"prometheus {release}: {len(got['source'])} source and "
                     f"{len(got['destination'])} destination device times in Prometheus "
                     f"equal to query-migrate's and the trace's")


def test_watch_budget_gate(patched_bin, tmp_path):
    need_prometheus()  # not used here, but the gate belongs to the same feature set
    wd = str(tmp_path)
    textfile = os.path.join(wd, "textfile")
    os.makedirs(textfile)
    stream = os.path.join(wd, "stream")
    vms, watcher = [], None
    try:
        src = h.QemuVM(patched_bin, "q35", wd, "src", watch_qmp=True)
        vms.append(src)
        src.qmp.cmd("migrate-set-capabilities",
                    capabilities=[{"capability": "events", "state": True}])
        watcher = Watcher(wd, "source", src.watch_qmp_path, textfile, "--once", "--budget", "1us")
        watcher.wait_connected()
        info = h.migrate_to_file(src.qmp, stream)
        assert info["status"] == "completed", info
        rc = watcher.wait_exit()
        err = watcher.stderr()
        assert rc == 7, f"watcher with a 1 us budget: exit {rc}, want 7: {err}"
        assert "over budget" in err, err
        longest = max(info["device-state-times"] + info.get("iterable-state-times", []),
                      key=lambda e: e["save-time"])["name"]
        assert longest in err, f"the longest device {longest} is not named: {err}"
        assert os.path.exists(os.path.join(textfile, PROM_FILE)), "over budget, but no file"
        print(f"\n[budget] watch --once --budget 1us: exit {rc}: {err.strip()}")

        dst = h.QemuVM(patched_bin, "q35", wd, "dst", incoming="defer", watch_qmp=True)
        vms.append(dst)
        dst.qmp.cmd("migrate-incoming", uri=f"file:{stream}")
        assert h.wait_migration(dst.qmp, timeout=60.0)["status"] == "completed"
        # The watcher is gone: its monitor is free for devstate query; the
        # destination's second monitor has had no client yet.
        ok = devstate("query", src.watch_qmp_path, dst.watch_qmp_path, "--budget", "10s")
        assert ok.returncode == 0, f"query --budget 10s: exit {ok.returncode}: {ok.stderr}"
        over = devstate("query", src.watch_qmp_path, dst.watch_qmp_path, "--budget", "1us")
        assert over.returncode == 7 and "over budget" in over.stderr, \
            f"query --budget 1us: exit {over.returncode}: {over.stderr}"
    finally:
        for vm in vms:
            vm.kill()
        if watcher is not None:
            watcher.stop()
