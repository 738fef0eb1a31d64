#!/usr/bin/env python3
"""Writes the saved query-migrate replies that a QEMU with our device-state-times series (0.2.0)
would have given for the migration traced in ../qemu-10.0/q35-source.log and
../qemu-10.0/q35-destination.log, so that tests can compare `devstate report --qmp` with
`devstate report` on the logs.

    python3 Tests/Fixtures/qmp/make-replies.py        # rewrites the .json files beside it

Written from the rules of the series' query-migrate members, independently of the Swift code:

source (outgoing migration completed)
  device-state-times    non-iterable saves of entries that have a vmsd, time > 0, in save order
  iterable-state-times  iterable saves, time > 0, in save order
  downtime-checkpoints  the src-* checkpoints, time = µs since src-downtime-start
destination (incoming migration completed)
  device-load-times     every load, time > 0, in load order; iterable ones get "iterable": true
  downtime-checkpoints  the dst-* checkpoints, time = µs since the start of the first load
                        (its line's timestamp minus its time)

Files:
  q35-source.json         the whole QMP reply {"return": {...}} of the source
  q35-destination.json    the inner object only (the other accepted form) of the destination
  q35-source-v010.json    the source as a QEMU with only the 0.1.0 series answers (no
                          iterable-state-times, no downtime-checkpoints)

"downtime" (ms) is QEMU's usual member; here it is the checkpoints' span rounded to ms, only so
that the reply has the usual shape (the report does not read it).
"""

import json
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
LOGS = os.path.join(HERE, "..", "qemu-10.0")

# Entries QEMU 10.0 registers without a vmsd: the series does not put them in
# device-state-times (unless a handler opt-in is on, which these replies do not use).
NO_VMSD = {"ram", "dirty-bitmap", "slirp", "todclock", "s390-skeys", "s390-storage_attributes",
           "spapr/htab"}

LINE = re.compile(r"^\d+@(\d+)\.(\d{6}):vmstate_downtime_(\w+) (.*)$")


def read(name):
    """(kind, fields, µs timestamp) for each trace line of a fixture log."""
    events = []
    with open(os.path.join(LOGS, name), encoding="utf-8") as f:
        for raw in f:
            m = LINE.match(raw.rstrip("\n"))
            if not m:
                raise SystemExit(f"{name}: unexpected line {raw!r}")
            stamp = int(m.group(1)) * 1_000_000 + int(m.group(2))
            kind, rest = m.group(3), m.group(4)
            if kind == "checkpoint":
                events.append(("checkpoint", {"name": rest}, stamp))
            else:
                fields = dict(pair.split("=", 1) for pair in rest.split(" "))
                events.append((kind, fields, stamp))
    return events


def has_vmsd(idstr):
    return idstr not in NO_VMSD and idstr != "vfio" and not idstr.endswith("/vfio")


def source_reply(events, v010=False):
    saves = [(f, t) for kind, f, t in events if kind == "save"]
    checkpoints = [(f["name"], t) for kind, f, t in events if kind == "checkpoint"]
    start = next(t for name, t in checkpoints if name == "src-downtime-start")
    end = next(t for name, t in checkpoints if name == "src-downtime-end")
    device_state_times = [
        {"name": f["idstr"], "instance-id": int(f["instance_id"]), "save-time": int(f["downtime"])}
        for f, _ in saves
        if f["type"] == "non-iterable" and int(f["downtime"]) > 0 and has_vmsd(f["idstr"])
    ]
    iterable_state_times = [
        {"name": f["idstr"], "instance-id": int(f["instance_id"]), "save-time": int(f["downtime"])}
        for f, _ in saves
        if f["type"] == "iterable" and int(f["downtime"]) > 0
    ]
    reply = {"status": "completed", "downtime": (end - start + 500) // 1000,
             "device-state-times": device_state_times}
    if not v010:
        reply["iterable-state-times"] = iterable_state_times
        reply["downtime-checkpoints"] = [{"name": n, "time": t - start} for n, t in checkpoints
                                         if n.startswith("src-")]
    return reply


def destination_reply(events):
    loads = [(f, t) for kind, f, t in events if kind == "load"]
    first, first_stamp = loads[0]
    origin = first_stamp - int(first["downtime"])
    device_load_times = []
    for f, _ in loads:
        if int(f["downtime"]) == 0:
            continue
        entry = {"name": f["idstr"], "instance-id": int(f["instance_id"]), "load-time": int(f["downtime"])}
        if f["type"] == "iterable":
            entry["iterable"] = True
        device_load_times.append(entry)
    checkpoints = [{"name": f["name"], "time": t - origin} for kind, f, t in events
                   if kind == "checkpoint" and f["name"].startswith("dst-")]
    return {"status": "completed", "device-load-times": device_load_times,
            "downtime-checkpoints": checkpoints}


def write(name, value):
    with open(os.path.join(HERE, name), "w", encoding="utf-8") as f:
        json.dump(value, f, indent=2, ensure_ascii=False)
        f.write("\n")


def main():
    source = read("q35-source.log")
    destination = read("q35-destination.log")
    write("q35-source.json", {"return": source_reply(source)})
    write("q35-destination.json", destination_reply(destination))
    write("q35-source-v010.json", {"return": source_reply(source, v010=True)})


if __name__ == "__main__":
    main()
