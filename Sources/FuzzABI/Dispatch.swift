// SPDX-License-Identifier: MIT
// Decoding one operation from the input and running it.
import CShim
#if canImport(Glibc)
import Glibc
#endif

// MARK: the target

let maxOperations = 400
let maxEntriesPerRecorder = 1000

/// A clock in microseconds for realistic readings, restarted by every input.
let clockStart: Int64 = 1_764_266_400_000_000
nonisolated(unsafe) var clock = clockStart

/// A clock reading: mostly a clock that moves forward, also one that steps back, 0, negative,
/// INT64_MIN/MAX and raw values.
func reading(_ kind: UInt8, _ input: inout Input) -> Int64 {
    switch kind % 8 {
    case 0:
        clock &+= Int64(input.byte())
        return clock
    case 1: return clock &- Int64(input.byte())
    case 2: return 0
    case 3: return -Int64(input.byte())
    case 4: return Int64.min &+ Int64(input.byte() % 4)
    case 5: return Int64.max &- Int64(input.byte() % 4)
    case 6: return Int64(bitPattern: input.u64())
    default: return clock &+ Int64(Int32(bitPattern: input.u32()))
    }
}

/// A DEVSTATE_QEMU_LIST_* selector: the four lists, and unknown ones (one that truncates to a
/// valid selector if the library narrowed it, and raw values).
func listSelector(_ argument: UInt8, _ input: inout Input) -> UInt32 {
    switch argument % 8 {
    case 0...3: return UInt32(argument % 8)
    case 4: return UInt32(listCount)
    case 5: return UInt32.max
    case 6: return 0x8000_0000 | DEVSTATE_QEMU_LIST_INCOMING
    default: return input.u32()
    }
}

/// One record call decoded from the input (ops 3, 4 and the generic op on list recorders).
func recordOperation(_ slot: Int, _ argument: UInt8, _ input: inout Input) {
    let name = makeName(&input)
    defer { name.release() }
    let instance = input.byte() & 1 == 0 ? UInt32(input.byte()) : input.u32()
    let timeKind = input.byte()
    let time: UInt64 = switch timeKind % 4 {
    case 0: 0
    case 1: UInt64.max
    case 2: UInt64(input.byte())
    default: input.u64()
    }
    // Bits 2-3 (unused before 0.2.0, so older inputs decode as they did) pick the 0.2.0 flags.
    let flags: UInt32
    if timeKind & 0x40 != 0 {
        flags = input.u32()
    } else {
        switch (timeKind >> 2) & 3 {
        case 0: flags = UInt32(timeKind >> 7)
        case 1: flags = DEVSTATE_ENTRY_ITERABLE
        case 2: flags = DEVSTATE_ENTRY_CHECKPOINT
        default:  // more than one DEVSTATE_ENTRY_* value
            flags = timeKind & 0x80 != 0 ? DEVSTATE_ENTRY_ITERABLE | DEVSTATE_ENTRY_CHECKPOINT
                : timeKind & 0x20 != 0 ? DEVSTATE_ENTRY_HANDLER | DEVSTATE_ENTRY_CHECKPOINT
                : DEVSTATE_ENTRY_HANDLER | DEVSTATE_ENTRY_ITERABLE
        }
    }
    if slot == defaultSlot && argument & 0x80 != 0 {
        let start = Int64(bitPattern: input.u64())
        let end = timeKind & 0x20 != 0 ? Int64(bitPattern: input.u64()) : start &+ Int64(input.byte()) &- 8
        record(slot, name, instance: instance, time: 0, flags: flags, hook: (start, end))
    } else {
        record(slot, timeKind & 0x10 != 0 && timeKind % 4 == 2 ? nil : name,
               instance: instance, time: time, flags: flags, hook: nil)
    }
}

/// The operations added with 0.2.0: ops 0x8f, 0x9f, ... 0xef (op % 16 == 15 was only the bulk
/// op before; 0x0f-0x7f and 0xff still are, so older inputs decode as they did).
func operation020(_ kind: Int, _ argument: UInt8, _ input: inout Input) {
    let slot = Int(argument) % allSlots   // 4 = the default recorder, 5...7 = lists 1...3
    let target = Int((argument >> 3) % 4) // snapshot slot
    switch kind {
    case 0:  // devstate_checkpoint on any recorder slot
        let mode = input.byte()
        let name = makeName(&input)
        defer { name.release() }
        checkpoint(slot, mode & 0x80 != 0 ? nil : name, reading: reading(mode, &input))
    case 1:  // devstate_qemu_begin / devstate_qemu_end
        let list = listSelector(argument, &input)
        if argument & 0x80 != 0 { listEnd(list) } else { listBegin(list) }
    case 2:  // devstate_qemu_record_in
        let list = listSelector(argument, &input)
        let mode = input.byte()
        let name = makeName(&input)
        defer { name.release() }
        let instance = input.byte() & 1 == 0 ? UInt32(input.byte()) : input.u32()
        let flags: UInt32 = switch (mode >> 4) & 7 {
        case 0, 4: DEVSTATE_ENTRY_VMSD
        case 1: DEVSTATE_ENTRY_HANDLER
        case 2, 3: DEVSTATE_ENTRY_ITERABLE
        case 5: DEVSTATE_ENTRY_CHECKPOINT  // refused by record_in
        case 6: DEVSTATE_ENTRY_HANDLER | DEVSTATE_ENTRY_ITERABLE
        default: input.u32()
        }
        let start = reading(mode, &input)
        let end = mode & 0x08 != 0 ? reading(input.byte(), &input) : start &+ Int64(input.byte()) &- 8
        listRecord(list, mode & 0x80 != 0 ? nil : name, instance: instance, start: start, end: end, flags: flags)
    case 3:  // devstate_qemu_checkpoint
        let list = listSelector(argument, &input)
        let mode = input.byte()
        let name = makeName(&input)
        defer { name.release() }
        listCheckpoint(list, mode & 0x80 != 0 ? nil : name, reading: reading(mode, &input))
    case 4:  // devstate_qemu_times / devstate_qemu_checkpoints, checked and freed
        let list = listSelector(argument, &input)
        if argument & 0x80 != 0 { listCheckpoints(list) } else { listTimes(list) }
    case 5:  // a snapshot of any recorder slot, list recorders included (then ops 8, 9, 11)
        takeSnapshot(slot, into: target)
    default:  // the devstate.h calls on a slot, list recorders included
        switch input.byte() % 4 {
        case 0: beginRun(slot, viaHook: false)
        case 1: recordOperation(slot, argument & 0x7f, &input)
        case 2: endRun(slot, viaHook: false)
        default: freeRecorder(slot)
        }
    }
}

/// The operations added with 0.3.0 (op 0x7f, a bulk op before): windows that open with their
/// first record, runs dropped without a successor, and the count of refused records.
func operation030(_ argument: UInt8, _ input: inout Input) {
    let slot = Int(argument >> 3) % allSlots
    switch argument % 8 {
    case 0, 1:  // devstate_run_arm / devstate_run_discard on any recorder slot
        let handle = recorderHandle(slot)
        let status = argument % 8 == 0 ? devstate_run_arm(handle) : devstate_run_discard(handle)
        if let error = handleError(slot) { return expectStatus(status, is: error, "run_arm/discard") }
        expectStatus(status, is: DEVSTATE_OK, "run_arm/discard")
        if argument % 8 == 0 { recorderModel(slot)!.arm() } else { recorderModel(slot)!.discard() }
    case 2, 3:  // devstate_qemu_arm / devstate_qemu_discard
        let list = listSelector(input.byte(), &input)
        let status = argument % 8 == 2 ? devstate_qemu_arm(list) : devstate_qemu_discard(list)
        guard let model = listModel(list) else { return expectStatus(status, is: DEVSTATE_ERR_NO_LIST, "qemu_arm/discard(\(list))") }
        expectStatus(status, is: DEVSTATE_OK, "qemu_arm/discard(\(list))")
        if argument % 8 == 2 { model.arm() } else { model.discard() }
    case 4:  // devstate_qemu_refused
        let list = listSelector(input.byte(), &input)
        var refused: UInt64 = 0x5a5a
        let status = devstate_qemu_refused(list, &refused)
        let expected = listQueryStatus(list)
        expectStatus(status, is: expected, "qemu_refused(\(list))")
        if expected == DEVSTATE_OK, let model = listModel(list) {
            expect(refused == model.refused, "qemu_refused(\(list)) \(refused) != \(model.refused)")
        }
    case 5:  // NULL arguments of the 0.3.0 calls; none may change anything
        expectStatus(devstate_run_arm(nil), is: DEVSTATE_ERR_NULL, "run_arm(NULL)")
        expectStatus(devstate_run_discard(nil), is: DEVSTATE_ERR_NULL, "run_discard(NULL)")
        expectStatus(devstate_qemu_refused(DEVSTATE_QEMU_LIST_INCOMING, nil), is: DEVSTATE_ERR_NULL, "qemu_refused(l, NULL)")
        expectStatus(devstate_snapshot_refused(nil, nil), is: DEVSTATE_ERR_NULL, "snapshot_refused(NULL)")
        for case .live(let pointer, _) in snapshots {
            expectStatus(devstate_snapshot_refused(pointer, nil), is: DEVSTATE_ERR_NULL, "snapshot_refused(s, NULL)")
        }
        for case .dead(let pointer) in snapshots {
            var refused: UInt64 = 0
            expectStatus(devstate_snapshot_refused(pointer, &refused), is: DEVSTATE_ERR_INVALID_HANDLE, "snapshot_refused on freed")
        }
    default:  // a record through the generic call on an armed or discarded slot
        recordOperation(slot, argument & 0x7f, &input)
    }
}
