// SPDX-License-Identifier: MIT
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
    // A span is a duration: a checkpoint goes through devstate_qemu_checkpoint.
    guard flags != DEVSTATE_ENTRY_CHECKPOINT else { return DEVSTATE_ERR_FLAGS }
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
    freeQAPIList(list, next: { $0.pointee.next }, value: { $0.pointee.value },
                 name: { $0.pointee.name })
}

extension Snapshot {
    /// Every entry, as the 0.1.0 list: values carry our series' `handler` members after the
    /// generator's three (devstate_qapi_entry_ext), which a reference-schema QEMU never reads.
    func makeQAPIList(_ out: UnsafeMutablePointer<UnsafeMutablePointer<DeviceSaveStateTimeList>?>) -> Int32 {
        buildList(out, include: { _ in true },
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

extension Recorder {
    /// Index = DEVSTATE_QEMU_LIST_*; the first is the 0.1.0 default recorder.
    static let qemuLists: [Recorder] = [
        shared, Recorder(isDefault: true), Recorder(isDefault: true), Recorder(isDefault: true),
    ]

    static func qemuList(_ list: UInt32) -> Recorder? {
        list < qemuLists.count ? qemuLists[Int(list)] : nil
    }
}

@c @implementation
public func devstate_qemu_recorder(_ list: UInt32) -> OpaquePointer? {
    Recorder.qemuList(list).map { Handles.handle(of: $0) }
}

@c @implementation
public func devstate_qemu_begin(_ list: UInt32) -> Int32 {
    Recorder.qemuList(list)?.beginRunStatus() ?? DEVSTATE_ERR_NO_LIST
}

@c @implementation
public func devstate_qemu_end(_ list: UInt32) -> Int32 {
    Recorder.qemuList(list)?.endRunStatus() ?? DEVSTATE_ERR_NO_LIST
}

@c @implementation
public func devstate_qemu_record_in(_ list: UInt32, _ idstr: UnsafePointer<CChar>!,
                                    _ instanceID: UInt32, _ startMicroseconds: Int64,
                                    _ endMicroseconds: Int64, _ flags: UInt32) -> Int32 {
    guard let recorder = Recorder.qemuList(list) else { return DEVSTATE_ERR_NO_LIST }
    guard let idstr else { return DEVSTATE_ERR_NULL }
    guard flags != DEVSTATE_ENTRY_CHECKPOINT else { return DEVSTATE_ERR_FLAGS }
    let time = endMicroseconds > startMicroseconds
        ? UInt64(bitPattern: endMicroseconds &- startMicroseconds) : 0
    return recordChecked(Handles.handle(of: recorder), idstr, instanceID, time, flags,
                         originCandidate: startMicroseconds)
}

@c @implementation
public func devstate_qemu_checkpoint(_ list: UInt32, _ name: UnsafePointer<CChar>!,
                                     _ now: Int64) -> Int32 {
    guard let recorder = Recorder.qemuList(list) else { return DEVSTATE_ERR_NO_LIST }
    guard let name else { return DEVSTATE_ERR_NULL }
    return recordChecked(Handles.handle(of: recorder), name, 0, UInt64(bitPattern: now),
                         DEVSTATE_ENTRY_CHECKPOINT)
}

/// The last ended run of `list`, or the status that says why there is none.
private func endedRun(_ list: UInt32, status: inout Int32) -> Snapshot? {
    guard let recorder = Recorder.qemuList(list) else {
        status = DEVSTATE_ERR_NO_LIST
        return nil
    }
    guard let snapshot = recorder.snapshot(status: &status) else { return nil }
    guard snapshot.isComplete else {
        status = DEVSTATE_ERR_NO_RUN
        return nil
    }
    return snapshot
}

@c @implementation
public func devstate_qemu_times(
    _ list: UInt32, _ out: UnsafeMutablePointer<UnsafeMutablePointer<devstate_qapi_time_list>?>!
) -> Int32 {
    guard let out else { return DEVSTATE_ERR_NULL }
    var status = DEVSTATE_OK
    guard let snapshot = endedRun(list, status: &status) else { return status }
    // The one optional bool of QEMU's struct: `handler` in the save lists, `iterable` in the loads.
    let flagged = list == DEVSTATE_QEMU_LIST_INCOMING ? DEVSTATE_ENTRY_ITERABLE : DEVSTATE_ENTRY_HANDLER
    return snapshot.buildList(out, include: { $0.flags != DEVSTATE_ENTRY_CHECKPOINT },
                              nameOf: { (value: UnsafeMutablePointer<devstate_qapi_time>) in
                                  value.pointee.name
                              }) { (record: EntryRecord, name: UnsafeMutablePointer<CChar>) in
        let flag = record.flags == flagged
        return devstate_qapi_time(name: name, instance_id: record.instanceID, time_us: record.saveTime,
                                  has_flag: flag, flag: flag)
    }
}

@c @implementation
public func devstate_qemu_checkpoints(
    _ list: UInt32, _ out: UnsafeMutablePointer<UnsafeMutablePointer<devstate_qapi_checkpoint_list>?>!
) -> Int32 {
    guard let out else { return DEVSTATE_ERR_NULL }
    var status = DEVSTATE_OK
    guard let snapshot = endedRun(list, status: &status) else { return status }
    return snapshot.buildList(out, include: { $0.flags == DEVSTATE_ENTRY_CHECKPOINT },
                              nameOf: { (value: UnsafeMutablePointer<devstate_qapi_checkpoint>) in
                                  value.pointee.name
                              }) { (record: EntryRecord, name: UnsafeMutablePointer<CChar>) in
        devstate_qapi_checkpoint(name: name, time_us: snapshot.offset(ofCheckpoint: record))
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

/// Frees a QAPI-shaped list: each node, its value and the value's name.
func freeQAPIList<Node, Value>(
    _ list: UnsafeMutablePointer<Node>?, next: (UnsafeMutablePointer<Node>) -> UnsafeMutablePointer<Node>?,
    value: (UnsafeMutablePointer<Node>) -> UnsafeMutablePointer<Value>?,
    name: (UnsafeMutablePointer<Value>) -> UnsafeMutablePointer<CChar>?
) -> Int32 {
    var node = list
    while let current = node {
        node = next(current)
        if let item = value(current) {
            devstate_shim_free(name(item))
            devstate_shim_free(item)
        }
        devstate_shim_free(current)
    }
    return DEVSTATE_OK
}

/// A node of a QAPI list: `next` first, then the value pointer (the generator's layout).
private struct QAPINode<Value> {
    var next: UnsafeMutablePointer<QAPINode<Value>>?
    var value: UnsafeMutablePointer<Value>?
}

extension Snapshot {
    /// Builds a QAPI list of the included entries, front to back, with malloc-family memory; on
    /// exhaustion frees what it built and leaves *out untouched. `List` must have the QAPI list
    /// layout (next, value), which the header's list types have.
    func buildList<List, Value>(
        _ out: UnsafeMutablePointer<UnsafeMutablePointer<List>?>,
        include: (EntryRecord) -> Bool,
        nameOf: (UnsafeMutablePointer<Value>) -> UnsafeMutablePointer<CChar>?,
        value makeValue: (EntryRecord, UnsafeMutablePointer<CChar>) -> Value
    ) -> Int32 {
        typealias Node = QAPINode<Value>
        precondition(MemoryLayout<Node>.size == MemoryLayout<List>.size)
        var head: UnsafeMutablePointer<Node>?
        var tail: UnsafeMutablePointer<Node>?
        for position in indices {
            let record = record(at: position)
            guard include(record) else { continue }
            let bytes = name(of: record)
            let rawNode = devstate_shim_calloc(1, MemoryLayout<Node>.size)
            let rawValue = devstate_shim_calloc(1, MemoryLayout<Value>.size)
            let rawName = devstate_shim_malloc(bytes.count + 1)
            guard let rawNode, let rawValue, let rawName else {
                devstate_shim_free(rawNode)
                devstate_shim_free(rawValue)
                devstate_shim_free(rawName)
                _ = freeQAPIList(head, next: { $0.pointee.next }, value: { $0.pointee.value },
                                 name: nameOf)
                return DEVSTATE_ERR_NOMEM
            }
            let name = rawName.bindMemory(to: CChar.self, capacity: bytes.count + 1)
            bytes.withMemoryRebound(to: CChar.self) { name.initialize(from: $0.baseAddress!, count: $0.count) }
            name[bytes.count] = 0
            let value = rawValue.bindMemory(to: Value.self, capacity: 1)
            value.initialize(to: makeValue(record, name))
            let node = rawNode.bindMemory(to: Node.self, capacity: 1)
            node.initialize(to: Node(next: nil, value: value))
            if let tail { tail.pointee.next = node } else { head = node }
            tail = node
        }
        out.pointee = UnsafeMutableRawPointer(head)?.assumingMemoryBound(to: List.self)
        return DEVSTATE_OK
    }
}
