// SPDX-License-Identifier: MIT
// The 0.2.0 list hooks of <devstate/qemu-hooks.h> on the four list recorders.
import CShim
#if canImport(Glibc)
import Glibc
#endif

// MARK: the list hooks (0.2.0)

func listBegin(_ list: UInt32) {
    let status = devstate_qemu_begin(list)
    guard let model = listModel(list) else { return expectStatus(status, is: DEVSTATE_ERR_NO_LIST, "qemu_begin(\(list))") }
    expectStatus(status, is: DEVSTATE_OK, "qemu_begin(\(list))")
    model.begin()
}

func listEnd(_ list: UInt32) {
    let status = devstate_qemu_end(list)
    guard let model = listModel(list) else { return expectStatus(status, is: DEVSTATE_ERR_NO_LIST, "qemu_end(\(list))") }
    if model.state != .open { return expectStatus(status, is: DEVSTATE_ERR_NO_RUN, "qemu_end(\(list))") }
    expectStatus(status, is: DEVSTATE_OK, "qemu_end(\(list))")
    model.state = .ended
}

func listRecord(_ list: UInt32, _ name: CName?, instance: UInt32, start: Int64, end: Int64, flags: UInt32) {
    let status = devstate_qemu_record_in(list, name?.buffer, instance, start, end, flags)
    func what() -> String { "qemu_record_in(\(list), flags \(flags), [\(start), \(end)])" }
    var errors = nameErrors(name)
    let model = listModel(list)
    if model == nil { errors.append(DEVSTATE_ERR_NO_LIST) }
    // One DEVSTATE_ENTRY_* value, but not CHECKPOINT (devstate_qemu_checkpoint) nor STEP
    // (devstate_qemu_step: a step has more than a name and a span).
    if !isEntryFlags(flags) || flags == DEVSTATE_ENTRY_CHECKPOINT || flags == DEVSTATE_ENTRY_STEP {
        errors.append(DEVSTATE_ERR_FLAGS)
    }
    if let model, !model.accepts { errors.append(DEVSTATE_ERR_NO_RUN) }
    guard let model, errors.isEmpty else { return expectRefused(status, in: errors, what(), by: model) }
    model.reach()
    let time = spanTime(start, end, status: status)
    if time == 0 {
        expectStatus(status, is: DEVSTATE_SKIPPED_ZERO, what())
        model.skipped &+= 1
    } else {
        expectStatus(status, is: DEVSTATE_OK, what())
        model.entries.append(ModelEntry(name: name!.visible, instance: instance, time: time, flags: flags))
    }
    // A span's start counts for the origin even when the span is skipped.
    model.noteReading(start)
}

func listCheckpoint(_ list: UInt32, _ name: CName?, reading: Int64) {
    let status = devstate_qemu_checkpoint(list, name?.buffer, reading)
    func what() -> String { "qemu_checkpoint(\(list), \(reading))" }
    var errors = nameErrors(name)
    let model = listModel(list)
    if model == nil { errors.append(DEVSTATE_ERR_NO_LIST) }
    if let model, !model.accepts { errors.append(DEVSTATE_ERR_NO_RUN) }
    guard let model, errors.isEmpty else { return expectRefused(status, in: errors, what(), by: model) }
    model.reach()
    expectStatus(status, is: DEVSTATE_OK, what())
    model.entries.append(ModelEntry(name: name!.visible, instance: 0, time: UInt64(bitPattern: reading),
                                    flags: DEVSTATE_ENTRY_CHECKPOINT))
    model.noteReading(reading)
}

/// The status devstate_qemu_times/checkpoints must return for a selector, OK for an ended run.
func listQueryStatus(_ list: UInt32) -> Int32 {
    guard let model = listModel(list) else { return DEVSTATE_ERR_NO_LIST }
    switch model.state {
    case .none, .armed: return DEVSTATE_ERR_EMPTY
    case .open: return DEVSTATE_ERR_NO_RUN
    case .ended: return DEVSTATE_OK
    }
}

/// A value *out cannot hold after a successful call: it must be overwritten (NULL when empty).
nonisolated(unsafe) let unsetTimes = UnsafeMutablePointer<devstate_qapi_time_list>(bitPattern: 0x5a5a0)!
nonisolated(unsafe) let unsetCheckpoints = UnsafeMutablePointer<devstate_qapi_checkpoint_list>(bitPattern: 0x5a5a0)!

func listTimes(_ list: UInt32) {
    var out: UnsafeMutablePointer<devstate_qapi_time_list>? = unsetTimes
    let status = devstate_qemu_times(list, &out)
    let expected = listQueryStatus(list)
    expectStatus(status, is: expected, "qemu_times(\(list))")
    guard expected == DEVSTATE_OK, let model = listModel(list) else { return }
    expect(out != unsetTimes, "qemu_times(\(list)) returned OK without setting *out")
    verifyTimeList(out, model, selector: list)
    expectStatus(devstate_qapi_time_list_free(out), is: DEVSTATE_OK, "qapi_time_list_free")
}

func listCheckpoints(_ list: UInt32) {
    var out: UnsafeMutablePointer<devstate_qapi_checkpoint_list>? = unsetCheckpoints
    let status = devstate_qemu_checkpoints(list, &out)
    let expected = listQueryStatus(list)
    expectStatus(status, is: expected, "qemu_checkpoints(\(list))")
    guard expected == DEVSTATE_OK, let model = listModel(list) else { return }
    expect(out != unsetCheckpoints, "qemu_checkpoints(\(list)) returned OK without setting *out")
    verifyCheckpointList(out, model, selector: list)
    expectStatus(devstate_qapi_checkpoint_list_free(out), is: DEVSTATE_OK, "qapi_checkpoint_list_free")
}
