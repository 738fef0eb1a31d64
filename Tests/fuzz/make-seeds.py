#!/usr/bin/env python3
"""Writes the committed seed corpus of the two fuzz targets (run from the repository root):
Tests/fuzz/corpus/abi/*   call sequences for FuzzABI (encoding: Sources/FuzzABI/main.swift)
Tests/fuzz/corpus/trace/* QEMU trace logs for FuzzTrace (2 config bytes + the log)
The files are committed; rerun this only to change the seeds."""
import os
import struct

root = "Tests/fuzz/corpus"

# FuzzABI operations: (op, argument) then operands. Slots: argument % 5 (4 = default recorder),
# snapshot/string slot: (argument >> 3) % 4.
NEW, FREE, BEGIN, RECORD, END, TAKE, SFREE, INSPECT, JSON, JFREE, QAPI, QEMU_TIMES, STRERROR, NULLS, BULK = \
    0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
HOOK_DEFAULT = 0x81  # slot 4 (default recorder), bit 7: through the devstate_qemu_* hooks


def raw_name(text):
    data = text if isinstance(text, bytes) else text.encode()
    return bytes([8, len(data)]) + data


def record(slot, name, instance=0, time=17, flags=0):
    # instance: even byte -> next byte is the id; time kind 2 -> next byte is the time
    kind = 2 | (0x80 if flags else 0)
    return bytes([RECORD, slot]) + name + bytes([0, instance & 0xff, kind, time & 0xff])


def hook_record(name, start, end):
    # time kind 0x20: no time operand (kind % 4 == 0), flags 0, start and end read as u64
    return bytes([RECORD, HOOK_DEFAULT]) + name + bytes([0, 3, 0x20]) + struct.pack(">qq", start, end)


seeds = {}
seeds["lifecycle"] = (bytes([NEW, 0, BEGIN, 0]) + record(0, raw_name("timer"))
                      + record(0, raw_name("0000:00:01.3/piix4_pm"), 0, 99, 1)
                      + bytes([END, 0, TAKE, 0, INSPECT, 0, 0, JSON, 0, 0, JFREE, 0, QAPI, 0,
                               SFREE, 0, SFREE, 0, FREE, 0, FREE, 0]))
adversarial = b"".join(record(0, bytes([k])) for k in range(8))
adversarial += b"".join(record(0, bytes([6 + 10 * i]), i, 5) for i in range(11))
adversarial += record(0, raw_name(b"\xff\xfe\x01\x1f\"\\/\xc3"))
seeds["names"] = (bytes([NEW, 0, BEGIN, 0]) + adversarial
                  + bytes([END, 0, TAKE, 0, INSPECT, 0, 1, JSON, 0, 1, JSON, 0, 2, JFREE, 0, QAPI, 0]))
seeds["qemu-hooks"] = (bytes([BEGIN, HOOK_DEFAULT]) + hook_record(raw_name("timer"), 1000, 1017)
                       + hook_record(raw_name("ram"), 1000, 999) + hook_record(raw_name("slirp"), 5, 5)
                       + hook_record(raw_name("span-over-int64"), -2**63, 1)
                       + bytes([QEMU_TIMES, 0, END, HOOK_DEFAULT, QEMU_TIMES, 0, TAKE, 4, INSPECT, 0, 0]))
seeds["bulk"] = bytes([NEW, 1, BEGIN, 1, BULK, 1, 63, END, 1, TAKE, 1, JSON, 0, 0, INSPECT, 0, 2,
                       BEGIN, 1, BULK, 1, 40, TAKE, 9, INSPECT, 8, 0])
seeds["errors"] = (bytes([NEW, 2]) + record(2, raw_name("early")) + bytes([TAKE, 2, END, 2, NULLS, 2])
                   + bytes([JSON, 0, 0x80]) + struct.pack(">I", 0xfffffffe)
                   + bytes([STRERROR, 0]) + struct.pack(">I", 0xfffffff0)
                   + bytes([FREE, 4, FREE, 3, SFREE, 3, JFREE, 3, INSPECT, 3, 0]))
seeds["stale-handles"] = (bytes([NEW, 0, BEGIN, 0]) + record(0, raw_name("a"))
                          + bytes([TAKE, 0, FREE, 0, INSPECT, 0, 0, BEGIN, 0, NEW, 1, BEGIN, 1])
                          + record(1, raw_name("b")) + bytes([TAKE, 1 | 8, SFREE, 8, INSPECT, 8, 0, QAPI, 8,
                                                              SFREE, 0, SFREE, 0, JSON, 0, 0]))
os.makedirs(root + "/abi", exist_ok=True)
for name, data in seeds.items():
    open("%s/abi/%s" % (root, name), "wb").write(data)

# FuzzTrace: byte 0 = config (line limit, output format, onlyRun), byte 1 = split.
os.makedirs(root + "/trace", exist_ok=True)
fixtures = "Tests/Fixtures/qemu-10.0"
for i, log in enumerate(["pc-source.log", "pc-destination.log", "q35-source.log",
                         "pc-notimestamp-source.log"]):
    data = open(os.path.join(fixtures, log), "rb").read()
    config = [0x00, 0x05, 0x0a, 0x0e][i]  # json, pretty json, csv, table
    split = [0, 1, 2, 128][i]
    open("%s/trace/%s" % (root, log), "wb").write(bytes([config, split]) + data)
weird = (b"1@1.5:vmstate_downtime_save type=non-iterable idstr=a b instance_id=-1 downtime=18446744073709551615\n"
         b"vmstate_downtime_load type=iterable idstr=\xff\xfe\"\\ instance_id=2147483648 downtime=0\r\n"
         b"x vmstate_downtime_checkpoint src-downtime-start\n"
         b"vmstate_downtime_checkpoint dst-precopy-bh-vm-started\n"
         b"garbagevmstate_downtime_save type=x\n" + b"A" * 300 + b"vmstate_downtime_\n"
         b"vmstate_downtime_save type=non-iterable idstr=\x01\x1f instance_id=0 downtime=3")
open("%s/trace/edge-cases.log" % root, "wb").write(bytes([0x01, 200]) + weird)
print("seeds written under", root)
