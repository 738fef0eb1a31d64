// SPDX-License-Identifier: MIT
// The functions of <devstate/devstate.h>. `@c @implementation` makes the compiler check each
// definition against its declaration in the header.
import CDevstateShim
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
    Handles.list(Int(DEVSTATE_QEMU_LIST_NON_ITERABLE_SAVES))?.handle
}

@c @implementation
public func devstate_run_begin(_ recorder: OpaquePointer!) -> Int32 {
    guard let recorder else { return DEVSTATE_ERR_NULL }
    return RecorderRef(handle: recorder).begin()
}

@c @implementation
public func devstate_run_arm(_ recorder: OpaquePointer!) -> Int32 {
    guard let recorder else { return DEVSTATE_ERR_NULL }
    return RecorderRef(handle: recorder).arm()
}

@c @implementation
public func devstate_run_discard(_ recorder: OpaquePointer!) -> Int32 {
    guard let recorder else { return DEVSTATE_ERR_NULL }
    return RecorderRef(handle: recorder).discard()
}

@c @implementation
public func devstate_record(_ recorder: OpaquePointer!, _ name: UnsafePointer<CChar>!,
                            _ instanceID: UInt32, _ saveTime: UInt64, _ flags: UInt32) -> Int32 {
    guard let recorder else { return DEVSTATE_ERR_NULL }
    return recordChecked(RecorderRef(handle: recorder), name, instanceID, saveTime, flags)
}

/// Validates a C name (1...255 bytes before the NUL, read no further than 256 bytes) and the
/// flags, and records it; shared by devstate_record, devstate_checkpoint and the QEMU hooks.
/// A refusal is counted by the run it was meant for. `originCandidate` is a clock reading (a
/// span's start) for the run's origin.
@inline(__always)
func recordChecked(_ recorder: RecorderRef, _ name: UnsafePointer<CChar>?, _ instanceID: UInt32,
                   _ saveTime: UInt64, _ flags: UInt32, originCandidate: Int64? = nil) -> Int32 {
    guard let name else { return recorder.refuse(DEVSTATE_ERR_NULL) }
    let length = devstate_shim_strnlen(name, Int(DEVSTATE_NAME_MAX) + 1)
    if length == 0 { return recorder.refuse(DEVSTATE_ERR_NAME_EMPTY) }
    if length > Int(DEVSTATE_NAME_MAX) { return recorder.refuse(DEVSTATE_ERR_NAME_TOO_LONG) }
    // A step has more to it than a name and a time: it comes through devstate_step.
    if EntryKind(flags: flags) == nil || flags == DEVSTATE_ENTRY_STEP {
        return recorder.refuse(DEVSTATE_ERR_FLAGS)
    }
    return name.withMemoryRebound(to: UInt8.self, capacity: length) { bytes in
        recorder.record(validName: bytes, length: length, instanceID: instanceID,
                        saveTime: saveTime, flags: flags, originCandidate: originCandidate)
    }
}

@c @implementation
public func devstate_checkpoint(_ recorder: OpaquePointer!, _ name: UnsafePointer<CChar>!,
                                _ time: Int64) -> Int32 {
    guard let recorder else { return DEVSTATE_ERR_NULL }
    return recordChecked(RecorderRef(handle: recorder), name, 0, UInt64(bitPattern: time),
                         DEVSTATE_ENTRY_CHECKPOINT)
}

@c @implementation
public func devstate_step(_ recorder: OpaquePointer!, _ name: UnsafePointer<CChar>!,
                          _ device: UnsafePointer<CChar>!, _ deviceType: UnsafePointer<CChar>!,
                          _ kind: UInt32, _ start: Int64, _ end: Int64) -> Int32 {
    guard let recorder else { return DEVSTATE_ERR_NULL }
    return stepChecked(RecorderRef(handle: recorder), name, device, deviceType, kind, start, end)
}

/// The length of an optional C string of a step (NULL is ""), or nil when it is longer than
/// DEVSTATE_NAME_MAX bytes; reads no further than 256 bytes.
@inline(__always)
private func optionalLength(_ string: UnsafePointer<CChar>?) -> Int? {
    guard let string else { return 0 }
    let length = devstate_shim_strnlen(string, Int(DEVSTATE_NAME_MAX) + 1)
    return length > Int(DEVSTATE_NAME_MAX) ? nil : length
}

/// Validates a step's strings and kind and records it; shared by devstate_step and
/// devstate_qemu_step. A refusal is counted by an open run (an armed one stays armed).
func stepChecked(_ recorder: RecorderRef, _ name: UnsafePointer<CChar>?, _ device: UnsafePointer<CChar>?,
                 _ deviceType: UnsafePointer<CChar>?, _ kind: UInt32, _ start: Int64, _ end: Int64) -> Int32 {
    guard let name else { return recorder.refuseStep(DEVSTATE_ERR_NULL) }
    let length = devstate_shim_strnlen(name, Int(DEVSTATE_NAME_MAX) + 1)
    if length == 0 { return recorder.refuseStep(DEVSTATE_ERR_NAME_EMPTY) }
    guard length <= Int(DEVSTATE_NAME_MAX), let deviceLength = optionalLength(device),
          let typeLength = optionalLength(deviceType) else {
        return recorder.refuseStep(DEVSTATE_ERR_NAME_TOO_LONG)
    }
    guard StepKind(rawValue: kind) != nil else { return recorder.refuseStep(DEVSTATE_ERR_FLAGS) }
    let step = StepStrings(
        name: UnsafeRawPointer(name).assumingMemoryBound(to: UInt8.self), nameLength: length,
        device: device.map { UnsafeRawPointer($0).assumingMemoryBound(to: UInt8.self) },
        deviceLength: deviceLength,
        deviceType: deviceType.map { UnsafeRawPointer($0).assumingMemoryBound(to: UInt8.self) },
        typeLength: typeLength)
    return recorder.recordStep(step, kind: kind, start: start, end: end)
}

@c @implementation
public func devstate_run_end(_ recorder: OpaquePointer!) -> Int32 {
    guard let recorder else { return DEVSTATE_ERR_NULL }
    return RecorderRef(handle: recorder).end()
}

@c @implementation
public func devstate_snapshot_take(_ recorder: OpaquePointer!,
                                   _ out: UnsafeMutablePointer<OpaquePointer?>!) -> Int32 {
    guard let recorder, let out else { return DEVSTATE_ERR_NULL }
    var status = DEVSTATE_OK
    guard let copy = RecorderRef(handle: recorder).copyRun(status: &status) else { return status }
    guard let handle = Handles.newSnapshot(copy) else { return DEVSTATE_ERR_NOMEM }
    out.pointee = handle
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
    return Handles.withSnapshot(snapshot) { live in
        out.pointee = devstate_snapshot_info(
            count: UInt64(live.count), skipped_zero: live.skippedZero, dropped: live.dropped,
            run: live.run, complete: live.isComplete ? 1 : 0, reserved: 0)
        return DEVSTATE_OK
    }
}

@c @implementation
public func devstate_snapshot_refused(_ snapshot: OpaquePointer!, _ out: UnsafeMutablePointer<UInt64>!) -> Int32 {
    guard let snapshot, let out else { return DEVSTATE_ERR_NULL }
    return Handles.withSnapshot(snapshot) { live in
        out.pointee = live.refused
        return DEVSTATE_OK
    }
}

@c @implementation
public func devstate_snapshot_entry(_ snapshot: OpaquePointer!, _ index: UInt64,
                                    _ out: UnsafeMutablePointer<devstate_entry>!) -> Int32 {
    guard let snapshot, let out else { return DEVSTATE_ERR_NULL }
    return Handles.withSnapshot(snapshot) { live in
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
}

@c @implementation
public func devstate_snapshot_step(_ snapshot: OpaquePointer!, _ index: UInt64,
                                   _ out: UnsafeMutablePointer<devstate_step_info>!) -> Int32 {
    guard let snapshot, let out else { return DEVSTATE_ERR_NULL }
    return Handles.withSnapshot(snapshot) { live in
        guard index < UInt64(live.count) else { return DEVSTATE_ERR_RANGE }
        let record = live.record(at: Int(index))
        guard record.flags == DEVSTATE_ENTRY_STEP else { return DEVSTATE_ERR_FLAGS }
        // Each string's NUL is stored right after it in the snapshot's arena.
        func text(_ bytes: UnsafeBufferPointer<UInt8>) -> UnsafePointer<CChar> {
            UnsafeRawPointer(bytes.baseAddress.unsafelyUnwrapped).assumingMemoryBound(to: CChar.self)
        }
        out.pointee = devstate_step_info(
            name: text(live.name(of: record)), device: text(live.device(of: record)),
            device_type: text(live.deviceType(of: record)), name_len: record.nameLength,
            device_len: UInt32(record.deviceLength), device_type_len: UInt32(record.typeLength),
            kind: record.instanceID, start_us: record.start, time_us: record.saveTime)
        return DEVSTATE_OK
    }
}

@c @implementation
public func devstate_snapshot_json(_ snapshot: OpaquePointer!, _ flags: UInt32,
                                   _ out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>!) -> Int32 {
    guard let snapshot, let out else { return DEVSTATE_ERR_NULL }
    guard flags & ~DEVSTATE_JSON_PRETTY == 0 else { return DEVSTATE_ERR_FLAGS }
    var copy: UnsafeMutablePointer<CChar>?
    let status = Handles.withSnapshot(snapshot) { live in
        live.withJSON(pretty: flags & DEVSTATE_JSON_PRETTY != 0) { text, length in
            guard let raw = devstate_shim_malloc(length + 1) else { return DEVSTATE_ERR_NOMEM }
            let buffer = raw.bindMemory(to: CChar.self, capacity: length + 1)
            buffer.initialize(from: text, count: length + 1)
            copy = buffer
            return DEVSTATE_OK
        }
    }
    guard status == DEVSTATE_OK, let copy else { return status }
    guard Handles.registerString(copy) else {
        devstate_shim_free(copy)
        return DEVSTATE_ERR_NOMEM
    }
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
