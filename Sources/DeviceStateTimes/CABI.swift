// SPDX-License-Identifier: MIT
// The functions of <devstate/devstate.h>. `@c @implementation` makes the compiler check each
// definition against its declaration in the header.
import CShim

@c @implementation
public func devstate_version_number() -> UInt32 { UInt32(devstate_shim_version_number()) }

@c @implementation
public func devstate_version_string() -> UnsafePointer<CChar>! { devstate_shim_version_string() }

@c @implementation
public func devstate_abi_version() -> UInt32 { UInt32(devstate_shim_abi_version()) }

@c @implementation
public func devstate_strerror(_ code: Int32) -> UnsafePointer<CChar>! {
    switch code {
    case DEVSTATE_OK: return StaticMessages.ok
    case DEVSTATE_SKIPPED_ZERO: return StaticMessages.skippedZero
    default: return DeviceStateError(code: code)?.messagePointer ?? StaticMessages.unknown
    }
}

@c @implementation
public func devstate_recorder_new(_ out: UnsafeMutablePointer<OpaquePointer?>!) -> Int32 {
    guard let out else { return DEVSTATE_ERR_NULL }
    guard let handle = Handles.newRecorder() else { return DEVSTATE_ERR_NOMEM }
    out.pointee = handle
    return DEVSTATE_OK
}

@c @implementation
public func devstate_recorder_free(_ recorder: OpaquePointer!) -> Int32 {
    guard let recorder else { return DEVSTATE_ERR_NULL }
    return Handles.freeRecorder(recorder)
}

@c @implementation
public func devstate_default_recorder() -> OpaquePointer! {
    Handles.handle(of: Recorder.shared)
}

@c @implementation
public func devstate_run_begin(_ recorder: OpaquePointer!) -> Int32 {
    guard let recorder else { return DEVSTATE_ERR_NULL }
    return Handles.withRecorder(recorder) { $0.beginRunStatus() }
}

@c @implementation
public func devstate_record(_ recorder: OpaquePointer!, _ name: UnsafePointer<CChar>!,
                            _ instanceID: UInt32, _ saveTime: UInt64, _ flags: UInt32) -> Int32 {
    guard let recorder, let name else { return DEVSTATE_ERR_NULL }
    return recordChecked(recorder, name, instanceID, saveTime, flags)
}

/// Validates a C name (1...255 bytes before the NUL, read no further than 256 bytes) and the
/// flags, and records it; shared by devstate_record, devstate_checkpoint and the QEMU hooks.
/// `originCandidate` is a clock reading (a span's start, a checkpoint) for the run's origin.
@inline(__always)
func recordChecked(_ recorder: OpaquePointer, _ name: UnsafePointer<CChar>, _ instanceID: UInt32,
                   _ saveTime: UInt64, _ flags: UInt32, originCandidate: Int64? = nil) -> Int32 {
    let length = devstate_shim_strnlen(name, Int(DEVSTATE_NAME_MAX) + 1)
    if length == 0 { return DEVSTATE_ERR_NAME_EMPTY }
    if length > Int(DEVSTATE_NAME_MAX) { return DEVSTATE_ERR_NAME_TOO_LONG }
    if EntryKind(flags: flags) == nil { return DEVSTATE_ERR_FLAGS }
    return name.withMemoryRebound(to: UInt8.self, capacity: length) { bytes in
        Handles.withRecorder(recorder) {
            $0.record(validName: bytes, length: length, instanceID: instanceID,
                      saveTime: saveTime, flags: flags, originCandidate: originCandidate)
        }
    }
}

@c @implementation
public func devstate_checkpoint(_ recorder: OpaquePointer!, _ name: UnsafePointer<CChar>!,
                                _ time: Int64) -> Int32 {
    guard let recorder, let name else { return DEVSTATE_ERR_NULL }
    return recordChecked(recorder, name, 0, UInt64(bitPattern: time), DEVSTATE_ENTRY_CHECKPOINT)
}

@c @implementation
public func devstate_run_end(_ recorder: OpaquePointer!) -> Int32 {
    guard let recorder else { return DEVSTATE_ERR_NULL }
    return Handles.withRecorder(recorder) { $0.endRunStatus() }
}

@c @implementation
public func devstate_snapshot_take(_ recorder: OpaquePointer!,
                                   _ out: UnsafeMutablePointer<OpaquePointer?>!) -> Int32 {
    guard let recorder, let out else { return DEVSTATE_ERR_NULL }
    var status = DEVSTATE_OK
    guard let snapshot = Handles.withRecorder(recorder, { $0.snapshot(status: &status) }) else {
        return status
    }
    out.pointee = Handles.newSnapshot(snapshot)
    return DEVSTATE_OK
}

@c @implementation
public func devstate_snapshot_free(_ snapshot: OpaquePointer!) -> Int32 {
    guard let snapshot else { return DEVSTATE_ERR_NULL }
    return Handles.freeSnapshot(snapshot)
}

@c @implementation
public func devstate_snapshot_get_info(_ snapshot: OpaquePointer!,
                                       _ out: UnsafeMutablePointer<devstate_snapshot_info>!) -> Int32 {
    guard let snapshot, let out else { return DEVSTATE_ERR_NULL }
    guard let live = Handles.snapshot(snapshot) else { return DEVSTATE_ERR_INVALID_HANDLE }
    out.pointee = devstate_snapshot_info(
        count: UInt64(live.count), skipped_zero: live.skippedZero, dropped: live.dropped,
        run: live.run, complete: live.isComplete ? 1 : 0, reserved: 0)
    return DEVSTATE_OK
}

@c @implementation
public func devstate_snapshot_entry(_ snapshot: OpaquePointer!, _ index: UInt64,
                                    _ out: UnsafeMutablePointer<devstate_entry>!) -> Int32 {
    guard let snapshot, let out else { return DEVSTATE_ERR_NULL }
    guard let live = Handles.snapshot(snapshot) else { return DEVSTATE_ERR_INVALID_HANDLE }
    guard index < UInt64(live.count) else { return DEVSTATE_ERR_RANGE }
    let record = live.record(at: Int(index))
    // The name's NUL is stored right after it in the snapshot's arena.
    let name = UnsafeRawPointer(live.name(of: record).baseAddress.unsafelyUnwrapped)
    out.pointee = devstate_entry(
        name: name.assumingMemoryBound(to: CChar.self), name_len: record.nameLength,
        instance_id: record.instanceID, save_time_us: record.saveTime, flags: record.flags,
        reserved: 0)
    return DEVSTATE_OK
}

@c @implementation
public func devstate_snapshot_json(_ snapshot: OpaquePointer!, _ flags: UInt32,
                                   _ out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>!) -> Int32 {
    guard let snapshot, let out else { return DEVSTATE_ERR_NULL }
    guard flags & ~DEVSTATE_JSON_PRETTY == 0 else { return DEVSTATE_ERR_FLAGS }
    guard let live = Handles.snapshot(snapshot) else { return DEVSTATE_ERR_INVALID_HANDLE }
    let copy: UnsafeMutablePointer<CChar>?
    do {
        copy = try live.withJSON(pretty: flags & DEVSTATE_JSON_PRETTY != 0) { text, length in
            guard let raw = devstate_shim_malloc(length + 1) else { return nil }
            let buffer = raw.bindMemory(to: CChar.self, capacity: length + 1)
            buffer.initialize(from: text, count: length + 1)
            return buffer
        }
    } catch {
        return error.code
    }
    guard let copy else { return DEVSTATE_ERR_NOMEM }
    Handles.registerString(copy)
    out.pointee = copy
    return DEVSTATE_OK
}

@c @implementation
public func devstate_json_free(_ json: UnsafeMutablePointer<CChar>!) -> Int32 {
    guard let json else { return DEVSTATE_ERR_NULL }
    guard Handles.unregisterString(json) else { return DEVSTATE_ERR_INVALID_HANDLE }
    devstate_shim_free(json)
    return DEVSTATE_OK
}
