// The functions of <devstate/devstate.h>. `@c @implementation` makes the compiler check each
// definition against its declaration in the header.
import CShim

private let versionString: StaticString = "0.1.0"
private let versionNumber: UInt32 = 100
private let abiVersion: UInt32 = 0

@c @implementation
public func devstate_version_number() -> UInt32 { versionNumber }

@c @implementation
public func devstate_version_string() -> UnsafePointer<CChar>! {
    UnsafeRawPointer(versionString.utf8Start).assumingMemoryBound(to: CChar.self)
}

@c @implementation
public func devstate_abi_version() -> UInt32 { abiVersion }

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

/// Validates a C name (1...255 bytes before the NUL, read no further than 256 bytes) and
/// records it; shared by devstate_record and the QEMU hooks.
@inline(__always)
func recordChecked(_ recorder: OpaquePointer, _ name: UnsafePointer<CChar>, _ instanceID: UInt32,
                   _ saveTime: UInt64, _ flags: UInt32) -> Int32 {
    let length = devstate_shim_strnlen(name, Int(DEVSTATE_NAME_MAX) + 1)
    if length == 0 { return DEVSTATE_ERR_NAME_EMPTY }
    if length > Int(DEVSTATE_NAME_MAX) { return DEVSTATE_ERR_NAME_TOO_LONG }
    if flags & ~DEVSTATE_ENTRY_HANDLER != 0 { return DEVSTATE_ERR_FLAGS }
    return name.withMemoryRebound(to: UInt8.self, capacity: length) { bytes in
        Handles.withRecorder(recorder) {
            $0.record(validName: bytes, length: length, instanceID: instanceID,
                      saveTime: saveTime, flags: flags)
        }
    }
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
