// The functions of <devstate/qemu-hooks.h>: the default recorder driven by QEMU's save loop,
// and deep copies in QAPI list layout that QEMU frees with qapi_free_DeviceSaveStateTimeList.
import CShim

@c @implementation
public func devstate_qemu_run_begin() -> Int32 {
    Recorder.shared.beginRunStatus()
}

@c @implementation
public func devstate_qemu_record(_ idstr: UnsafePointer<CChar>!, _ instanceID: UInt32,
                                 _ startMicroseconds: Int64, _ endMicroseconds: Int64,
                                 _ flags: UInt32) -> Int32 {
    guard let idstr else { return DEVSTATE_ERR_NULL }
    // A realtime clock stepped backwards gives a negative span: not a positive time, not kept.
    // The comparison comes first so that absurd readings cannot wrap into a positive span.
    let saveTime = endMicroseconds > startMicroseconds
        ? UInt64(bitPattern: endMicroseconds &- startMicroseconds) : 0
    return recordChecked(Handles.handle(of: Recorder.shared), idstr, instanceID, saveTime, flags)
}

@c @implementation
public func devstate_qemu_run_end() -> Int32 {
    Recorder.shared.endRunStatus()
}

@c @implementation
public func devstate_snapshot_qapi_list(
    _ snapshot: OpaquePointer!,
    _ out: UnsafeMutablePointer<UnsafeMutablePointer<DeviceSaveStateTimeList>?>!
) -> Int32 {
    guard let snapshot, let out else { return DEVSTATE_ERR_NULL }
    guard let live = Handles.snapshot(snapshot) else { return DEVSTATE_ERR_INVALID_HANDLE }
    return live.makeQAPIList(out)
}

@c @implementation
public func devstate_qemu_device_state_times(
    _ out: UnsafeMutablePointer<UnsafeMutablePointer<DeviceSaveStateTimeList>?>!
) -> Int32 {
    guard let out else { return DEVSTATE_ERR_NULL }
    var status = DEVSTATE_OK
    guard let snapshot = Recorder.shared.snapshot(status: &status) else { return status }
    guard snapshot.isComplete else { return DEVSTATE_ERR_NO_RUN }
    return snapshot.makeQAPIList(out)
}

@c @implementation
public func devstate_qapi_list_free(_ list: UnsafeMutablePointer<DeviceSaveStateTimeList>!) -> Int32 {
    var node = list
    while let current = node {
        node = current.pointee.next
        if let value = current.pointee.value {
            devstate_shim_free(value.pointee.name)
            devstate_shim_free(value)
        }
        devstate_shim_free(current)
    }
    return DEVSTATE_OK
}

extension Snapshot {
    /// Builds the list front to back with malloc-family memory; on exhaustion frees what it
    /// built and leaves *out untouched.
    func makeQAPIList(_ out: UnsafeMutablePointer<UnsafeMutablePointer<DeviceSaveStateTimeList>?>) -> Int32 {
        var head: UnsafeMutablePointer<DeviceSaveStateTimeList>?
        var tail: UnsafeMutablePointer<DeviceSaveStateTimeList>?
        for position in indices {
            guard let node = makeQAPINode(record(at: position)) else {
                _ = devstate_qapi_list_free(head)
                return DEVSTATE_ERR_NOMEM
            }
            if let tail { tail.pointee.next = node } else { head = node }
            tail = node
        }
        out.pointee = head
        return DEVSTATE_OK
    }

    private func makeQAPINode(_ record: EntryRecord) -> UnsafeMutablePointer<DeviceSaveStateTimeList>? {
        let bytes = name(of: record)
        guard let rawNode = devstate_shim_calloc(1, MemoryLayout<DeviceSaveStateTimeList>.size) else {
            return nil
        }
        guard let rawValue = devstate_shim_calloc(1, MemoryLayout<devstate_qapi_entry_ext>.size) else {
            devstate_shim_free(rawNode)
            return nil
        }
        guard let rawName = devstate_shim_malloc(bytes.count + 1) else {
            devstate_shim_free(rawValue)
            devstate_shim_free(rawNode)
            return nil
        }
        let name = rawName.bindMemory(to: CChar.self, capacity: bytes.count + 1)
        bytes.withMemoryRebound(to: CChar.self) { name.initialize(from: $0.baseAddress!, count: $0.count) }
        name[bytes.count] = 0
        let isHandler = record.flags == DEVSTATE_ENTRY_HANDLER
        let value = rawValue.bindMemory(to: devstate_qapi_entry_ext.self, capacity: 1)
        value.initialize(to: devstate_qapi_entry_ext(
            base: DeviceSaveStateTime(name: name, instance_id: record.instanceID,
                                      save_time: record.saveTime),
            has_handler: isHandler, handler: isHandler))
        let node = rawNode.bindMemory(to: DeviceSaveStateTimeList.self, capacity: 1)
        node.initialize(to: DeviceSaveStateTimeList(
            next: nil,
            value: UnsafeMutableRawPointer(value).assumingMemoryBound(to: DeviceSaveStateTime.self)))
        return node
    }
}
