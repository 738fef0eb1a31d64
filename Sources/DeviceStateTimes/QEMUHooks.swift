// SPDX-License-Identifier: MIT
// The functions of <devstate/qemu-hooks.h>: the default recorders driven by QEMU's save and
// load paths, and deep copies in QAPI list layout that QEMU frees with its qapi_free_*List().
import CDevstateShim
import CShim

/// The default recorder of a DEVSTATE_QEMU_LIST_* selector, or the status that says why there
/// is none (an unknown selector, or no memory to make it).
private func qemuList(_ list: UInt32, status: inout Int32) -> RecorderRef? {
    guard list < UInt32(DEVSTATE_SHIM_LISTS) else {
        status = DEVSTATE_ERR_NO_LIST
        return nil
    }
    guard let recorder = Handles.list(Int(list)) else {
        status = DEVSTATE_ERR_NOMEM
        return nil
    }
    return recorder
}

/// Runs `body` on the list's recorder, or returns why there is none.
@inline(__always)
private func withList(_ list: UInt32, _ body: (RecorderRef) -> Int32) -> Int32 {
    var status = DEVSTATE_OK
    guard let recorder = qemuList(list, status: &status) else { return status }
    return body(recorder)
}

/// A span is a duration; a realtime clock stepped backwards gives a negative one, which is
/// not a positive time and is not kept. The comparison comes first so that absurd readings
/// cannot wrap into a positive span.
@inline(__always)
private func spanTime(_ start: Int64, _ end: Int64) -> UInt64 {
    end > start ? UInt64(bitPattern: end &- start) : 0
}

@c @implementation
public func devstate_qemu_run_begin() -> Int32 {
    withList(DEVSTATE_QEMU_LIST_NON_ITERABLE_SAVES) { $0.begin() }
}

@c @implementation
public func devstate_qemu_record(_ idstr: UnsafePointer<CChar>!, _ instanceID: UInt32,
                                 _ startMicroseconds: Int64, _ endMicroseconds: Int64,
                                 _ flags: UInt32) -> Int32 {
    withList(DEVSTATE_QEMU_LIST_NON_ITERABLE_SAVES) { recorder in
        // A span is a duration: a checkpoint goes through devstate_qemu_checkpoint.
        guard flags != DEVSTATE_ENTRY_CHECKPOINT else { return recorder.refuse(DEVSTATE_ERR_FLAGS) }
        return recordChecked(recorder, idstr, instanceID,
                             spanTime(startMicroseconds, endMicroseconds), flags)
    }
}

@c @implementation
public func devstate_qemu_run_end() -> Int32 {
    withList(DEVSTATE_QEMU_LIST_NON_ITERABLE_SAVES) { $0.end() }
}

@c @implementation
public func devstate_snapshot_qapi_list(
    _ snapshot: OpaquePointer!,
    _ out: UnsafeMutablePointer<UnsafeMutablePointer<DeviceSaveStateTimeList>?>!
) -> Int32 {
    guard let snapshot, let out else { return DEVSTATE_ERR_NULL }
    return Handles.withSnapshot(snapshot) { $0.makeQAPIList(out) }
}

@c @implementation
public func devstate_qemu_device_state_times(
    _ out: UnsafeMutablePointer<UnsafeMutablePointer<DeviceSaveStateTimeList>?>!
) -> Int32 {
    guard let out else { return DEVSTATE_ERR_NULL }
    return withEndedRun(DEVSTATE_QEMU_LIST_NON_ITERABLE_SAVES) { $0.makeQAPIList(out) }
}

@c @implementation
public func devstate_qapi_list_free(_ list: UnsafeMutablePointer<DeviceSaveStateTimeList>!) -> Int32 {
    freeQAPIList(list, next: { $0.pointee.next }, value: { $0.pointee.value },
                 name: { $0.pointee.name })
}

extension RunCopy {
    /// Every entry but steps (which are no device times, since 0.3.0), as the 0.1.0 list:
    /// values carry our series' `handler` members after the generator's three
    /// (devstate_qapi_entry_ext), which a reference-schema QEMU never reads.
    func makeQAPIList(_ out: UnsafeMutablePointer<UnsafeMutablePointer<DeviceSaveStateTimeList>?>) -> Int32 {
        buildList(out, include: { $0.flags != DEVSTATE_ENTRY_STEP },
                  nameOf: { (value: UnsafeMutablePointer<devstate_qapi_entry_ext>) in value.pointee.base.name },
                  value: { (record: EntryRecord, name: UnsafeMutablePointer<CChar>) in
            let isHandler = record.flags == DEVSTATE_ENTRY_HANDLER
            return devstate_qapi_entry_ext(
                base: DeviceSaveStateTime(name: name, instance_id: record.instanceID,
                                          save_time: record.saveTime),
                has_handler: isHandler, handler: isHandler)
        })
    }
}

// MARK: - the whole downtime (0.2.0): one default recorder per DEVSTATE_QEMU_LIST_* selector

@c @implementation
public func devstate_qemu_recorder(_ list: UInt32) -> OpaquePointer? {
    var status = DEVSTATE_OK
    return qemuList(list, status: &status)?.handle
}

@c @implementation
public func devstate_qemu_begin(_ list: UInt32) -> Int32 {
    withList(list) { $0.begin() }
}

@c @implementation
public func devstate_qemu_end(_ list: UInt32) -> Int32 {
    withList(list) { $0.end() }
}

@c @implementation
public func devstate_qemu_arm(_ list: UInt32) -> Int32 {
    withList(list) { $0.arm() }
}

@c @implementation
public func devstate_qemu_discard(_ list: UInt32) -> Int32 {
    withList(list) { $0.discard() }
}

@c @implementation
public func devstate_qemu_record_in(_ list: UInt32, _ idstr: UnsafePointer<CChar>!,
                                    _ instanceID: UInt32, _ startMicroseconds: Int64,
                                    _ endMicroseconds: Int64, _ flags: UInt32) -> Int32 {
    withList(list) { recorder in
        guard flags != DEVSTATE_ENTRY_CHECKPOINT else { return recorder.refuse(DEVSTATE_ERR_FLAGS) }
        return recordChecked(recorder, idstr, instanceID, spanTime(startMicroseconds, endMicroseconds),
                             flags, originCandidate: startMicroseconds)
    }
}

@c @implementation
public func devstate_qemu_checkpoint(_ list: UInt32, _ name: UnsafePointer<CChar>!,
                                     _ now: Int64) -> Int32 {
    withList(list) { recorder in
        recordChecked(recorder, name, 0, UInt64(bitPattern: now), DEVSTATE_ENTRY_CHECKPOINT)
    }
}

/// Runs `body` on a copy of the last ended run of `list`, or returns why there is none.
private func withEndedRun(_ list: UInt32, _ body: (borrowing RunCopy) -> Int32) -> Int32 {
    var status = DEVSTATE_OK
    guard let recorder = qemuList(list, status: &status),
          let copy = recorder.copyRun(status: &status) else { return status }
    guard copy.isComplete else { return DEVSTATE_ERR_NO_RUN }
    return body(copy)
}

@c @implementation
public func devstate_qemu_times(
    _ list: UInt32, _ out: UnsafeMutablePointer<UnsafeMutablePointer<devstate_qapi_time_list>?>!
) -> Int32 {
    guard let out else { return DEVSTATE_ERR_NULL }
    // The one optional bool of QEMU's struct: `handler` in the save lists, `iterable` in the loads.
    let flagged = list == DEVSTATE_QEMU_LIST_INCOMING ? DEVSTATE_ENTRY_ITERABLE : DEVSTATE_ENTRY_HANDLER
    return withEndedRun(list) { run in
        run.buildList(out, include: { $0.flags != DEVSTATE_ENTRY_CHECKPOINT && $0.flags != DEVSTATE_ENTRY_STEP },
                      nameOf: { (value: UnsafeMutablePointer<devstate_qapi_time>) in value.pointee.name }) {
            (record: EntryRecord, name: UnsafeMutablePointer<CChar>) in
            let flag = record.flags == flagged
            return devstate_qapi_time(name: name, instance_id: record.instanceID, time_us: record.saveTime,
                                      has_flag: flag, flag: flag)
        }
    }
}

@c @implementation
public func devstate_qemu_checkpoints(
    _ list: UInt32, _ out: UnsafeMutablePointer<UnsafeMutablePointer<devstate_qapi_checkpoint_list>?>!
) -> Int32 {
    guard let out else { return DEVSTATE_ERR_NULL }
    return withEndedRun(list) { run in
        run.buildList(out, include: { $0.flags == DEVSTATE_ENTRY_CHECKPOINT },
                      nameOf: { (value: UnsafeMutablePointer<devstate_qapi_checkpoint>) in value.pointee.name }) {
            (record: EntryRecord, name: UnsafeMutablePointer<CChar>) in
            devstate_qapi_checkpoint(name: name, time_us: run.offset(ofCheckpoint: record))
        }
    }
}

@c @implementation
public func devstate_qemu_step(_ list: UInt32, _ name: UnsafePointer<CChar>!, _ device: UnsafePointer<CChar>!,
                               _ deviceType: UnsafePointer<CChar>!, _ kind: UInt32, _ start: Int64,
                               _ end: Int64) -> Int32 {
    withList(list) { stepChecked($0, name, device, deviceType, kind, start, end) }
}

@c @implementation
public func devstate_qemu_steps(
    _ list: UInt32, _ out: UnsafeMutablePointer<UnsafeMutablePointer<devstate_qapi_step_list>?>!
) -> Int32 {
    guard let out else { return DEVSTATE_ERR_NULL }
    return withEndedRun(list) { run in run.makeStepList(out) }
}

@c @implementation
public func devstate_qapi_step_list_free(_ list: UnsafeMutablePointer<devstate_qapi_step_list>!) -> Int32 {
    var node = list
    while let current = node {
        node = current.pointee.next
        if let step = current.pointee.value {
            devstate_shim_free(step.pointee.device)
            devstate_shim_free(step.pointee.device_type)
            devstate_shim_free(step.pointee.name)
            devstate_shim_free(step)
        }
        devstate_shim_free(current)
    }
    return DEVSTATE_OK
}

extension RunCopy {
    /// The run's steps as a QAPI list; the device strings are NULL when the step has none. On
    /// exhaustion frees what it built and leaves *out untouched.
    func makeStepList(_ out: UnsafeMutablePointer<UnsafeMutablePointer<devstate_qapi_step_list>?>) -> Int32 {
        var head: UnsafeMutablePointer<devstate_qapi_step_list>?
        var tail: UnsafeMutablePointer<devstate_qapi_step_list>?
        for position in 0..<count {
            let record = record(at: position)
            guard record.flags == DEVSTATE_ENTRY_STEP else { continue }
            guard let node = Self.makeStepNode(
                name: name(of: record), device: device(of: record), deviceType: deviceType(of: record),
                kind: record.instanceID, start: offset(ofStart: record), time: record.saveTime) else {
                _ = devstate_qapi_step_list_free(head)
                return DEVSTATE_ERR_NOMEM
            }
            if let tail { tail.pointee.next = node } else { head = node }
            tail = node
        }
        out.pointee = head
        return DEVSTATE_OK
    }

    /// One node with its value and strings, each malloc'd; nil (nothing left allocated) when
    /// memory is exhausted.
    private static func makeStepNode(
        name: UnsafeBufferPointer<UInt8>, device: UnsafeBufferPointer<UInt8>,
        deviceType: UnsafeBufferPointer<UInt8>, kind: UInt32, start: UInt64, time: UInt64
    ) -> UnsafeMutablePointer<devstate_qapi_step_list>? {
        let rawNode = devstate_shim_calloc(1, MemoryLayout<devstate_qapi_step_list>.size)
        let rawStep = devstate_shim_calloc(1, MemoryLayout<devstate_qapi_step>.size)
        let nameCopy = copyString(name)
        let deviceCopy = device.isEmpty ? nil : copyString(device)
        let typeCopy = deviceType.isEmpty ? nil : copyString(deviceType)
        guard let rawNode, let rawStep, let nameCopy, device.isEmpty || deviceCopy != nil,
              deviceType.isEmpty || typeCopy != nil else {
            devstate_shim_free(rawNode)
            devstate_shim_free(rawStep)
            devstate_shim_free(nameCopy)
            devstate_shim_free(deviceCopy)
            devstate_shim_free(typeCopy)
            return nil
        }
        let step = rawStep.bindMemory(to: devstate_qapi_step.self, capacity: 1)
        step.initialize(to: devstate_qapi_step(name: nameCopy, device: deviceCopy, device_type: typeCopy,
                                               kind: kind, start_us: start, time_us: time))
        let node = rawNode.bindMemory(to: devstate_qapi_step_list.self, capacity: 1)
        node.initialize(to: devstate_qapi_step_list(next: nil, value: step))
        return node
    }

    /// A malloc'd NUL-terminated copy of `bytes`; nil when memory is exhausted.
    private static func copyString(_ bytes: UnsafeBufferPointer<UInt8>) -> UnsafeMutablePointer<CChar>? {
        guard let raw = devstate_shim_malloc(bytes.count + 1) else { return nil }
        let text = raw.bindMemory(to: CChar.self, capacity: bytes.count + 1)
        bytes.withMemoryRebound(to: CChar.self) { text.initialize(from: $0.baseAddress!, count: $0.count) }
        text[bytes.count] = 0
        return text
    }
}

@c @implementation
public func devstate_qemu_refused(_ list: UInt32, _ out: UnsafeMutablePointer<UInt64>!) -> Int32 {
    guard let out else { return DEVSTATE_ERR_NULL }
    return withEndedRun(list) { run in
        out.pointee = run.refused
        return DEVSTATE_OK
    }
}

@c @implementation
public func devstate_qapi_time_list_free(_ list: UnsafeMutablePointer<devstate_qapi_time_list>!) -> Int32 {
    freeQAPIList(list, next: { $0.pointee.next }, value: { $0.pointee.value },
                 name: { $0.pointee.name })
}

@c @implementation
public func devstate_qapi_checkpoint_list_free(
    _ list: UnsafeMutablePointer<devstate_qapi_checkpoint_list>!
) -> Int32 {
    freeQAPIList(list, next: { $0.pointee.next }, value: { $0.pointee.value },
                 name: { $0.pointee.name })
}
