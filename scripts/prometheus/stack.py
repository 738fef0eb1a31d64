#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A throwaway Prometheus + node_exporter stack on 127.0.0.1 (stdlib only).

One prometheus-node-exporter per textfile directory (one directory stands for
one host), each reading only its textfile collector, and one prometheus that
scrapes them every second. Tests/e2e/test_prometheus.py imports PromStack;
run as a script it starts the stack for a manual look:

    python3 scripts/prometheus/stack.py --textfile DIR [--textfile DIR2] [--name source ...]

Nothing here touches the system services or /etc: the config, the TSDB and
the logs live in a work directory. Every listener is 127.0.0.1 only, and every
wait has a deadline, so a broken binary fails a test instead of hanging it.
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

NODE_EXPORTER = "prometheus-node-exporter"
PROMETHEUS = "prometheus"
HOST = "127.0.0.1"
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
HTTP_TIMEOUT = 5.0
# How many times a port taken between picking it and binding it is retried
PORT_ATTEMPTS = 5


class StackError(Exception):
    pass


def free_port():
    """A port the kernel just handed out on 127.0.0.1. Another process can take
    it before ours binds it; start_service() notices and retries."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def http_get(url, timeout=HTTP_TIMEOUT):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read().decode("utf-8", errors="replace")


def _decode_addr(hexaddr):
    """'0100007F:1F90' (/proc/net/tcp) or the 32-digit tcp6 form -> (ip, port)."""
    addr, port = hexaddr.split(":")
    raw = bytes.fromhex(addr)
    # the kernel prints each 32-bit word in host (little-endian) order
    raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    family = socket.AF_INET if len(raw) == 4 else socket.AF_INET6
    return socket.inet_ntop(family, raw), int(port, 16)


def listening_sockets(pid):
    """(ip, port) of every TCP socket in LISTEN state that process `pid` holds,
    from /proc (needs no ss and sees IPv4 and IPv6 alike)."""
    inodes = set()
    fd_dir = f"/proc/{pid}/fd"
    try:
        fds = os.listdir(fd_dir)
    except OSError:
        return []
    for fd in fds:
        try:
            target = os.readlink(os.path.join(fd_dir, fd))
        except OSError:
            continue  # closed meanwhile
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    out = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            # cols: sl local_address rem_address st ... inode (10th)
            if cols[3] == "0A" and cols[9] in inodes:
                out.append(_decode_addr(cols[1]))
    return out


class Service:
    """One started binary with its log file."""

    def __init__(self, name, args, log_path, port):
        self.name, self.args, self.log_path, self.port = name, args, log_path, port
        self.url = f"http://{HOST}:{port}"
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=subprocess.STDOUT)

    def log_tail(self, lines=20):
        self.log.flush()
        with open(self.log_path, errors="replace") as f:
            return "\n".join(f.read().splitlines()[-lines:])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=STOP_TIMEOUT)
        self.log.close()


def start_service(name, make_args, log_path, ready_path, timeout=READY_TIMEOUT):
    """Starts make_args(port) on a free port and waits until the process itself
    listens on 127.0.0.1:port and GET ready_path answers 200 (checking the
    listener's owner rules out a stranger that took the port first)."""
    for attempt in range(PORT_ATTEMPTS):
        port = free_port()
        svc = Service(name, make_args(port), log_path, port)
        deadline = time.monotonic() + timeout
        while True:
            if svc.proc.poll() is not None:
                tail = svc.log_tail()
                svc.stop()
                if "address already in use" in tail and attempt + 1 < PORT_ATTEMPTS:
                    break  # lost the race for the port: pick another one
                raise StackError(f"{name} exited with status {svc.proc.returncode} "
                                 f"before it was ready:\n{tail}")
            if (HOST, port) in listening_sockets(svc.proc.pid):
                try:
                    status, _ = http_get(svc.url + ready_path, timeout=2.0)
                    if status == 200:
                        return svc
                except (OSError, urllib.error.URLError):
                    pass  # listening but not serving yet
            if time.monotonic() > deadline:
                tail = svc.log_tail()
                svc.stop()
                raise StackError(f"{name} not ready on {svc.url}{ready_path} "
                                 f"within {timeout:.0f} s:\n{tail}")
            time.sleep(0.1)
    raise StackError(f"{name}: no free port after {PORT_ATTEMPTS} attempts")


class PromStack:
    """node_exporters (one per textfile dir) and a prometheus scraping them.

    names (optional, one per dir) become the target label host="...".
    Use as a context manager; stop() runs on every exit path.
    """

    def __init__(self, workdir, textfile_dirs, names=None, scrape_interval="1s",
                 ready_timeout=READY_TIMEOUT):
        if names is not None and len(names) != len(textfile_dirs):
            raise ValueError("one name per textfile dir")
        self.workdir = os.path.abspath(workdir)
        self.textfile_dirs = [os.path.abspath(d) for d in textfile_dirs]
        self.names = names
        self.scrape_interval = scrape_interval
        self.ready_timeout = ready_timeout
        self.exporters = []
        self.prometheus = None

    # -- lifecycle -------------------------------------------------------------

    def start(self):
        os.makedirs(self.workdir, exist_ok=True)
        try:
            for i, d in enumerate(self.textfile_dirs):
                self.exporters.append(start_service(
                    f"node_exporter[{i}]",
                    lambda port, d=d: [
                        NODE_EXPORTER,
                        "--collector.disable-defaults",
                        "--collector.textfile",
                        f"--collector.textfile.directory={d}",
                        # go_*/process_* of the exporter itself are noise here
                        "--web.disable-exporter-metrics",
                        f"--web.listen-address={HOST}:{port}"],
                    os.path.join(self.workdir, f"node_exporter{i}.log"),
                    "/metrics", self.ready_timeout))
            config = os.path.join(self.workdir, "prometheus.yml")
            with open(config, "w") as f:
                json.dump(self.config(), f, indent=1)  # JSON is YAML
            self.prometheus = start_service(
                "prometheus",
                lambda port: [
                    PROMETHEUS,
                    f"--config.file={config}",
                    f"--storage.tsdb.path={os.path.join(self.workdir, 'tsdb')}",
                    f"--web.listen-address={HOST}:{port}"],
                os.path.join(self.workdir, "prometheus.log"),
                "/-/ready", self.ready_timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def config(self):
        """The prometheus config: one job `node`, one static target per exporter."""
        targets = []
        for i, e in enumerate(self.exporters):
            t = {"targets": [f"{HOST}:{e.port}"]}
            if self.names:
                t["labels"] = {"host": self.names[i]}
            targets.append(t)
        return {
            "global": {"scrape_interval": self.scrape_interval,
                       "scrape_timeout": self.scrape_interval,
                       "evaluation_interval": self.scrape_interval},
            "scrape_configs": [{"job_name": "node", "static_configs": targets}],
        }

    def stop(self):
        """Stops prometheus first (it scrapes the others), then every exporter;
        each gets SIGTERM, a bounded wait, then SIGKILL."""
        services = ([self.prometheus] if self.prometheus else []) + self.exporters[::-1]
        errors = []
        for s in services:
            try:
                s.stop()
            except Exception as e:  # keep stopping the others
                errors.append(f"{s.name}: {e}")
        self.prometheus, self.exporters = None, []
        if errors:
            raise StackError("; ".join(errors))

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- what the tests use ------------------------------------------------------

    @property
    def url(self):
        return self.prometheus.url

    def services(self):
        return ([self.prometheus] if self.prometheus else []) + self.exporters

    def listen_addresses(self):
        """{service name: [(ip, port), ...]} of every TCP listener of the stack."""
        return {s.name: listening_sockets(s.proc.pid) for s in self.services()}

    def check_alive(self):
        for s in self.services():
            if s.proc.poll() is not None:
                raise StackError(f"{s.name} exited with status {s.proc.returncode}:\n"
                                 f"{s.log_tail()}")

    def node_metrics(self, i):
        """The /metrics text of node_exporter i."""
        status, body = http_get(self.exporters[i].url + "/metrics")
        if status != 200:
            raise StackError(f"node_exporter[{i}] /metrics: HTTP {status}")
        return body

    def query(self, promql):
        """The result list of an instant query (HTTP API /api/v1/query)."""
        url = self.url + "/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        try:
            _, body = http_get(url)
        except urllib.error.HTTPError as e:  # 400 on a bad query carries the reason
            body = e.read().decode("utf-8", errors="replace")
        reply = json.loads(body)
        if reply.get("status") != "success":
            raise StackError(f"query {promql!r}: {reply.get('errorType')}: {reply.get('error')}")
        return reply["data"]["result"]

    def wait_for(self, promql, predicate=bool, timeout=30.0, interval=0.5):
        """Polls query(promql) until predicate(result) holds; returns that result.
        Raises TimeoutError with the last answer when the deadline passes."""
        deadline = time.monotonic() + timeout
        while True:
            self.check_alive()
            result = self.query(promql)
            if predicate(result):
                return result
            if time.monotonic() > deadline:
                raise TimeoutError(f"{promql!r}: no satisfying answer within "
                                   f"{timeout:.0f} s; last answer: {json.dumps(result)}")
            time.sleep(interval)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--textfile", action="append", required=True, metavar="DIR",
                   help="a textfile collector directory (repeat for more hosts)")
    p.add_argument("--name", action="append", metavar="HOST",
                   help="host label of each --textfile target, in order")
    p.add_argument("--workdir", help="config, TSDB and logs (default: a new temp dir)")
    p.add_argument("--scrape-interval", default="1s")
    a = p.parse_args(argv)
    workdir = a.workdir or tempfile.mkdtemp(prefix="devstate-prom-")
    # SIGTERM ends the stack like Ctrl-C does (the with block's exit stops it)
    signal.signal(signal.SIGTERM, _interrupt)
    with PromStack(workdir, a.textfile, names=a.name, scrape_interval=a.scrape_interval) as st:
        for i, e in enumerate(st.exporters):
            print(f"node_exporter {a.textfile[i]}: {e.url}/metrics")
        print(f"prometheus: {st.url}/graph   API: {st.url}/api/v1/query?query=...")
        print(f"workdir: {workdir}; Ctrl-C stops", flush=True)
        try:
            while True:
                st.check_alive()
                time.sleep(1)
        except KeyboardInterrupt:
            print("stopping", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
