#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
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

# 0.2.0 operations: op % 16 == 15 with op 0x8f...0xef (0x0f-0x7f and 0xff stay BULK).
CHECKPOINT, LIST_BEGIN_END, RECORD_IN, LIST_CHECKPOINT, LIST_QUERY, LIST_TAKE, ON_SLOT = \
    0x8f, 0x9f, 0xaf, 0xbf, 0xcf, 0xdf, 0xef
END_BIT = CHECKPOINTS_BIT = 0x80
INCOMING = 2
# Readings (mode & 7): 0 clock += byte, 1 clock - byte, 2 zero, 3 -byte, 4 INT64_MIN + byte % 4,
# 5 INT64_MAX - byte % 4, 6 raw u64, 7 clock + i32. The clock starts at 1764266400000000 per input.
TICK, BACK, ZERO, NEGATIVE, MIN, MAX, RAW = 0, 1, 2, 3, 4, 5, 6


def reading_operand(kind, value=0):
    if kind == ZERO:
        return b""
    if kind == RAW:
        return struct.pack(">q", value)
    return bytes([value & 0xff])


def record_flags(slot, name, flags, time_kind=2, time=17):
    # timeKind bits 2-3: 1 = ITERABLE, 2 = CHECKPOINT, 3 = two values at once (3, 5 or 6)
    sel = {0: 0, 1: 0, 2: 1, 4: 2, 3: 3, 5: 3, 6: 3}[flags]
    kind = time_kind | (sel << 2) | (0x80 if flags in (1, 6) else 0) | (0x20 if flags == 5 else 0)
    operand = {0: b"", 1: b"", 2: bytes([time & 0xff]), 3: struct.pack(">Q", time)}[time_kind]
    return bytes([RECORD, slot]) + name + bytes([0, 3, kind]) + operand


def checkpoint(slot, name, kind, value=0):
    return bytes([CHECKPOINT, slot, kind]) + name + reading_operand(kind, value)


def record_in(selector, name, flags_code, start_kind, start=0, length=None, end_kind=None, end=0):
    # flags_code: 0 VMSD, 1 HANDLER, 2 ITERABLE, 5 CHECKPOINT (refused), 6 HANDLER|ITERABLE
    mode = start_kind | (flags_code << 4) | (0x08 if end_kind is not None else 0)
    data = bytes([RECORD_IN, selector, mode]) + name + bytes([0, 7]) + reading_operand(start_kind, start)
    if end_kind is None:
        return data + bytes([(length + 8) & 0xff])   # end = start + length
    return data + bytes([end_kind]) + reading_operand(end_kind, end)


def list_checkpoint(selector, name, kind, value=0):
    return bytes([LIST_CHECKPOINT, selector, kind]) + name + reading_operand(kind, value)


def queries(selector):
    return bytes([LIST_QUERY, selector, LIST_QUERY, selector | CHECKPOINTS_BIT])


# The destination of a migration: loads and dst-* checkpoints in the INCOMING list, queried
# while open (NO_RUN) and once ended; a skipped 0 us span that starts before everything moves
# the origin, refused ones (CHECKPOINT flags, empty name, after the end) that start even earlier
# do not; then the list recorder's snapshot, JSON ("iterable", checkpoint "time") and QAPI.
seeds["incoming"] = (bytes([LIST_BEGIN_END, INCOMING])
                     + list_checkpoint(INCOMING, raw_name("dst-precopy-loadvm-started"), TICK, 5)
                     + record_in(INCOMING, raw_name("ram"), 2, TICK, 10, 200)
                     + record_in(INCOMING, raw_name("0000:00:01.3/piix4_pm"), 0, TICK, 3, 17)
                     + record_in(INCOMING, raw_name("slirp"), 1, TICK, 1, 4)
                     + record_in(INCOMING, raw_name("early"), 0, BACK, 200, 0)
                     # refused (CHECKPOINT, empty name): their earlier starts must not move the origin
                     + record_in(INCOMING, raw_name("refused"), 5, BACK, 250, 3)
                     + record_in(INCOMING, bytes([0]), 0, BACK, 240, 3)
                     + queries(INCOMING)
                     + list_checkpoint(INCOMING, raw_name("dst-precopy-bh-vm-started"), TICK, 40)
                     + bytes([LIST_BEGIN_END, INCOMING | END_BIT])
                     + record_in(INCOMING, raw_name("late"), 0, BACK, 230, 3) + queries(INCOMING)
                     + bytes([LIST_TAKE, 4 + INCOMING, INSPECT, 0, 0, JSON, 0, 0, JSON, 0, 3, QAPI, 0]))
# Every list and unknown selectors (4, UINT32_MAX, 2^31 | 2, raw 7 -> u32): begin, record_in,
# checkpoint, end, times, checkpoints; list 0 through the 0.1.0 query too.
lists = b""
for sel in range(4):
    lists += (bytes([LIST_BEGIN_END, sel]) + record_in(sel, raw_name("dev%d" % sel), sel % 3, TICK, 2, 9)
              + list_checkpoint(sel, raw_name("src-downtime-start"), TICK, 1)
              + record_in(sel, raw_name("iter"), 2, TICK, 1, 30)
              + bytes([LIST_BEGIN_END, sel | END_BIT]) + queries(sel))
lists += bytes([QEMU_TIMES, 0])
for sel in (4, 5, 6):
    lists += (bytes([LIST_BEGIN_END, sel]) + record_in(sel, raw_name("x"), 0, TICK, 1, 1)
              + list_checkpoint(sel, raw_name("y"), ZERO) + bytes([LIST_BEGIN_END, sel | END_BIT]) + queries(sel))
lists += bytes([LIST_BEGIN_END, 7]) + struct.pack(">I", 0x10002) + bytes([NULLS, 4, NULLS, 0, NULLS, 2])
seeds["lists"] = lists
# Flags and checkpoints on a private recorder and a list recorder through devstate.h: ITERABLE,
# CHECKPOINT at 0 (kept), at UINT64_MAX (reading -1), two values at once (refused), and
# checkpoints at INT64_MIN and INT64_MAX (offset 2^64 - 1 in the JSON).
seeds["checkpoints"] = (bytes([NEW, 0, BEGIN, 0])
                        + record_flags(0, raw_name("ram"), 2) + record_flags(0, raw_name("at-zero"), 4, 0)
                        + record_flags(0, raw_name("at-minus-1"), 4, 1) + record_flags(0, raw_name("h+c"), 5)
                        + record_flags(0, raw_name("i+c"), 6) + record_flags(0, raw_name("h+i"), 3)
                        + checkpoint(0, raw_name("min"), MIN, 0) + checkpoint(0, raw_name("max"), MAX, 0)
                        + checkpoint(0, raw_name("raw"), RAW, -(2**40))
                        + bytes([END, 0, TAKE, 0, INSPECT, 0, 0, JSON, 0, 0, QAPI, 0, NULLS, 0])
                        + bytes([ON_SLOT, 7, 0]) + bytes([ON_SLOT, 7, 1]) + record_flags(0, raw_name("load"), 2)[2:]
                        + checkpoint(7, raw_name("mark"), NEGATIVE, 9) + bytes([ON_SLOT, 7, 2, ON_SLOT, 7, 3])
                        + queries(3) + bytes([LIST_TAKE, 7 | 8, INSPECT, 8, 0, JSON, 8, 0]))
# 0.3.0 operations: op 0x7f, argument % 8 picks the call, (argument >> 3) % 8 the recorder slot.
V030 = 0x7f
ARM, DISCARD, LIST_ARM, LIST_DISCARD, LIST_REFUSED, NULLS030, RECORD030 = 0, 1, 2, 3, 4, 5, 6


def v030(call, slot=0):
    return bytes([V030, call | (slot << 3)])


# A destination's window: the INCOMING list armed, loads and checkpoints open it at the first
# load (whose start is the origin), a refused load (empty name) is counted, the end closes it;
# queried while armed (EMPTY) and once ended (refused = 1). Then a private recorder armed,
# opened by a refused record, discarded (EMPTY, records refused with NO_RUN and not counted),
# armed again and opened by a checkpoint; then the NULL arguments.
seeds["windows"] = (v030(LIST_ARM) + bytes([INCOMING]) + queries(INCOMING) + v030(LIST_REFUSED) + bytes([INCOMING])
                    + record_in(INCOMING, raw_name("0000:00:02.0/virtio-mem-device"), 0, TICK, 9, 12)
                    + record_in(INCOMING, bytes([0]), 0, TICK, 1, 3)
                    + list_checkpoint(INCOMING, raw_name("dst-precopy-loadvm-completed"), TICK, 30)
                    + bytes([LIST_BEGIN_END, INCOMING | END_BIT]) + queries(INCOMING)
                    + v030(LIST_REFUSED) + bytes([INCOMING])
                    + v030(LIST_DISCARD) + bytes([INCOMING]) + record_in(INCOMING, raw_name("colo"), 0, TICK, 1, 3)
                    + queries(INCOMING) + v030(LIST_REFUSED) + bytes([INCOMING])
                    + bytes([NEW, 0]) + v030(ARM, 0) + bytes([TAKE, 0]) + record(0, bytes([0]))
                    + record(0, raw_name("kept")) + bytes([TAKE, 0, INSPECT, 0, 0])
                    + v030(DISCARD, 0) + record(0, raw_name("dropped")) + bytes([TAKE, 0 | 8, INSPECT, 8, 0])
                    + v030(ARM, 0) + checkpoint(0, raw_name("opens"), TICK, 2) + bytes([END, 0, TAKE, 0 | 16, INSPECT, 16, 0, JSON, 16, 0])
                    + v030(NULLS030) + v030(RECORD030, 4) + bytes([0]) + raw_name("x")[0:0])
# The steps (op 0x6f): argument % 4 picks the call (0 devstate_step on slot argument >> 2,
# 1 devstate_qemu_step on selector argument >> 2, 2 devstate_qemu_steps, 3 devstate_snapshot_step
# on snapshot slot argument >> 2); a step's operands: mode (kind = mode % 3, start reading kind
# = mode >> 3), name, device, type, the start's operand, end = start + byte - 8, and a byte whose
# bits 0-2 pass NULL for the name, device and type.
STEPS = 0x6f


def step_call(call, target, kind, name, device, type_, start_tick, length, pick=0):
    return (bytes([STEPS, call | (target << 2), kind]) + raw_name(name) + raw_name(device) + raw_name(type_)
            + bytes([start_tick, length + 8, pick]))


# A destination's steps: refused while the INCOMING list is armed (not counted), kept once a
# load opened it, with and without device strings, a NULL name refused and counted; queried
# open (NO_RUN) and ended; a snapshot's entries read back through devstate_snapshot_step.
seeds["steps"] = (v030(LIST_ARM) + bytes([INCOMING])
                  + step_call(1, INCOMING, 0, "block-activate", "guest-disk", "qcow2", 3, 40)
                  + record_in(INCOMING, raw_name("ram"), 0, TICK, 5, 90)
                  + step_call(1, INCOMING, 0, "block-activate", "guest-disk", "qcow2", 3, 200)
                  + step_call(1, INCOMING, 2, "virtio_vmstate_change", "/machine/peripheral/d0/virtio-backend",
                              "virtio-blk-device", 1, 0)
                  + step_call(1, INCOMING, 1, "x", "", "", 1, 2, pick=1)
                  + bytes([STEPS, 2 | (INCOMING << 2)])
                  + bytes([LIST_BEGIN_END, INCOMING | END_BIT]) + bytes([STEPS, 2 | (INCOMING << 2)])
                  + bytes([LIST_TAKE, 6]) + bytes([STEPS, 3, INSPECT, 0, 0, JSON, 0, 1])
                  + bytes([NEW, 0, BEGIN, 0]) + step_call(0, 0, 2, "vcpu-resume", "", "", 0, 13)
                  + bytes([TAKE, 0 | 8, STEPS, 3 | (1 << 2), QAPI, 8, SFREE, 8, STEPS, 3 | (1 << 2)]))
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
# QEMU 10.2's stamps (ISO 8601 UTC and a space, written by qemu_log) and its inactive iterable entry.
data = open("Tests/Fixtures/qemu-10.2/q35-source.log", "rb").read()
open("%s/trace/q35-source-10.2.log" % root, "wb").write(bytes([0x00, 3]) + data)
weird = (b"1@1.5:vmstate_downtime_save type=non-iterable idstr=a b instance_id=-1 downtime=18446744073709551615\n"
         b"vmstate_downtime_load type=iterable idstr=\xff\xfe\"\\ instance_id=2147483648 downtime=0\r\n"
         b"x vmstate_downtime_checkpoint src-downtime-start\n"
         b"vmstate_downtime_checkpoint dst-precopy-bh-vm-started\n"
         b"garbagevmstate_downtime_save type=x\n" + b"A" * 300 + b"vmstate_downtime_\n"
         b"vmstate_downtime_save type=non-iterable idstr=\x01\x1f instance_id=0 downtime=3")
open("%s/trace/edge-cases.log" % root, "wb").write(bytes([0x01, 200]) + weird)
# A real libvirt 9.0 per-VM log (save, restore, managedsave, start), which FuzzTrace also reads
# as libvirt's (LibvirtLogReader): libvirt's lines, -incoming, reason=saved.
data = open("Tests/Fixtures/libvirt/managedsave.log", "rb").read()
open("%s/trace/libvirt-managedsave.log" % root, "wb").write(bytes([0x00, 0x00]) + data)
print("seeds written under", root)
