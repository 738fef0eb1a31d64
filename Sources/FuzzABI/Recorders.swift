// SPDX-License-Identifier: MIT
// The 0.1.0 calls on recorder slots: new, free, begin, end, record, checkpoint.
import CShim
#if canImport(Glibc)
import Glibc
#endif

// MARK: operations

func newRecorder(_ slot: Int) {
    if case .live(let pointer, _) = recorders[slot] {
        expectStatus(devstate_recorder_free(pointer), is: DEVSTATE_OK, "recorder_free")
        recorders[slot] = .empty
    }
    var handle: OpaquePointer?
    expectStatus(devstate_recorder_new(&handle), is: DEVSTATE_OK, "recorder_new")
    guard let handle else { fail("recorder_new gave NULL") }
    expect(handle != devstate_default_recorder(), "recorder_new returned the default recorder")
    for list in 1..<UInt32(listCount) {
        expect(handle != devstate_qemu_recorder(list), "recorder_new returned the recorder of list \(list)")
    }
    for other in 0..<recorderSlots where recorders[other].pointer == handle {
        if case .live = recorders[other] { fail("recorder_new reissued a live handle") }
        recorders[other] = .empty  // the stale handle now names the new recorder
    }
    recorders[slot] = .live(handle, RecorderModel())
}

func freeRecorder(_ slot: Int) {
    let status = devstate_recorder_free(recorderHandle(slot))
    if slot >= defaultSlot {
        expectStatus(status, is: DEVSTATE_ERR_NOT_OWNED, "free of the recorder of list \(slot - defaultSlot)")
        return
    }
    switch recorders[slot] {
    case .empty: expectStatus(status, is: DEVSTATE_ERR_NULL, "recorder_free(NULL)")
    case .dead: expectStatus(status, is: DEVSTATE_ERR_INVALID_HANDLE, "double recorder_free")
    case .live(let pointer, _):
        expectStatus(status, is: DEVSTATE_OK, "recorder_free")
        recorders[slot] = .dead(pointer)
    }
}

func beginRun(_ slot: Int, viaHook: Bool) {
    let status = slot == defaultSlot && viaHook
        ? devstate_qemu_run_begin() : devstate_run_begin(recorderHandle(slot))
    if let error = handleError(slot) { return expectStatus(status, is: error, "run_begin") }
    expectStatus(status, is: DEVSTATE_OK, "run_begin")
    recorderModel(slot)!.begin()
}

func endRun(_ slot: Int, viaHook: Bool) {
    let status = slot == defaultSlot && viaHook
        ? devstate_qemu_run_end() : devstate_run_end(recorderHandle(slot))
    if let error = handleError(slot) { return expectStatus(status, is: error, "run_end") }
    let model = recorderModel(slot)!
    if model.state != .open { return expectStatus(status, is: DEVSTATE_ERR_NO_RUN, "run_end") }
    expectStatus(status, is: DEVSTATE_OK, "run_end")
    model.state = .ended
}

/// One record call; `hook` uses devstate_qemu_record (default recorder only).
func record(_ slot: Int, _ name: CName?, instance: UInt32, time: UInt64, flags: UInt32,
            hook: (start: Int64, end: Int64)?) {
    let status: Int32
    var time = time
    let isCheckpoint = flags == DEVSTATE_ENTRY_CHECKPOINT
    if let hook {
        status = devstate_qemu_record(name?.buffer, instance, hook.start, hook.end, flags)
        // The header: a time end - start <= 0 is not kept (see spanTime for int64 overflow),
        // and a span is never a checkpoint: CHECKPOINT is refused with DEVSTATE_ERR_FLAGS.
        if isCheckpoint {
            var errors = [DEVSTATE_ERR_FLAGS]
            if name == nil { errors.append(DEVSTATE_ERR_NULL) }
            return expectRefused(status, in: errors, "qemu_record with CHECKPOINT", by: defaultModel)
        }
        time = spanTime(hook.start, hook.end, status: status)
    } else {
        status = devstate_record(recorderHandle(slot), name?.buffer, instance, time, flags)
    }
    // Every error that applies; the header does not order them, so any one is accepted.
    var errors: [Int32] = []
    if name == nil { errors.append(DEVSTATE_ERR_NULL) }
    if let error = handleError(slot) { errors.append(error) }
    if let name {
        if name.visible.isEmpty { errors.append(DEVSTATE_ERR_NAME_EMPTY) }
        if name.visible.count > Int(DEVSTATE_NAME_MAX) { errors.append(DEVSTATE_ERR_NAME_TOO_LONG) }
    }
    // A step carries more than a name and a time: devstate_record refuses its flag.
    if !isEntryFlags(flags) || flags == DEVSTATE_ENTRY_STEP { errors.append(DEVSTATE_ERR_FLAGS) }
    let model = recorderModel(slot) ?? RecorderModel()
    if handleError(slot) == nil, !model.accepts { errors.append(DEVSTATE_ERR_NO_RUN) }
    if !errors.isEmpty {
        return expectRefused(status, in: errors, "record (flags \(flags))", by: handleError(slot) == nil ? model : nil)
    }
    model.reach()
    // A checkpoint's time is a clock reading: kept even when it is 0.
    if time == 0 && !isCheckpoint {
        expectStatus(status, is: DEVSTATE_SKIPPED_ZERO, "record of 0 us")
        model.skipped &+= 1
    } else {
        expectStatus(status, is: DEVSTATE_OK, "record (flags \(flags), time \(time))")
        model.entries.append(ModelEntry(name: name!.visible, instance: instance, time: time, flags: flags))
        if isCheckpoint { model.noteReading(Int64(bitPattern: time)) }
    }
}

/// Errors a name alone can cause (NULL, empty, over DEVSTATE_NAME_MAX bytes).
func nameErrors(_ name: CName?) -> [Int32] {
    guard let name else { return [DEVSTATE_ERR_NULL] }
    if name.visible.isEmpty { return [DEVSTATE_ERR_NAME_EMPTY] }
    if name.visible.count > Int(DEVSTATE_NAME_MAX) { return [DEVSTATE_ERR_NAME_TOO_LONG] }
    return []
}

/// devstate_checkpoint on a recorder slot (private, default or list recorder).
func checkpoint(_ slot: Int, _ name: CName?, reading: Int64) {
    let status = devstate_checkpoint(recorderHandle(slot), name?.buffer, reading)
    var errors = nameErrors(name)
    if let error = handleError(slot) { errors.append(error) }
    let model = recorderModel(slot) ?? RecorderModel()
    if handleError(slot) == nil, !model.accepts { errors.append(DEVSTATE_ERR_NO_RUN) }
    if !errors.isEmpty {
        return expectRefused(status, in: errors, "checkpoint", by: handleError(slot) == nil ? model : nil)
    }
    model.reach()
    expectStatus(status, is: DEVSTATE_OK, "checkpoint at \(reading)")
    model.entries.append(ModelEntry(name: name!.visible, instance: 0, time: UInt64(bitPattern: reading),
                                    flags: DEVSTATE_ENTRY_CHECKPOINT))
    model.noteReading(reading)
}
