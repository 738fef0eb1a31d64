// SPDX-License-Identifier: MIT
// Reading back what the library hands out (snapshots, JSON, QAPI lists) against the model.
import CJSONC
import CShim
#if canImport(Glibc)
import Glibc
#endif

// MARK: checks of what a snapshot hands out

func snapshotModel(of model: RecorderModel) -> SnapshotModel {
    SnapshotModel(entries: model.entries, skipped: model.skipped, dropped: model.dropped,
                  refused: model.refused, run: model.run, complete: model.state == .ended, origin: model.origin)
}

func verifySnapshot(_ snapshot: OpaquePointer, _ model: SnapshotModel, _ probe: UInt64) {
    var info = devstate_snapshot_info()
    expectStatus(devstate_snapshot_get_info(snapshot, &info), is: DEVSTATE_OK, "get_info")
    expect(info.count == UInt64(model.entries.count), "count \(info.count) != \(model.entries.count)")
    expect(info.skipped_zero == model.skipped, "skipped_zero \(info.skipped_zero) != \(model.skipped)")
    expect(info.dropped == model.dropped, "dropped")
    expect(info.run == model.run, "run \(info.run) != \(model.run)")
    expect(info.complete == (model.complete ? 1 : 0), "complete")
    expect(info.reserved == 0, "info.reserved")
    var refused: UInt64 = 0
    expectStatus(devstate_snapshot_refused(snapshot, &refused), is: DEVSTATE_OK, "snapshot_refused")
    expect(refused == model.refused, "refused \(refused) != \(model.refused)")
    for (index, expected) in model.entries.enumerated() {
        var entry = devstate_entry()
        expectStatus(devstate_snapshot_entry(snapshot, UInt64(index), &entry), is: DEVSTATE_OK, "entry")
        expect(entry.name_len == UInt32(expected.name.count), "name_len")
        let name = UnsafeRawPointer(entry.name!).assumingMemoryBound(to: UInt8.self)
        expect(Array(UnsafeBufferPointer(start: name, count: Int(entry.name_len))) == expected.name,
               "entry \(index) name bytes")
        expect(name[Int(entry.name_len)] == 0, "entry name not NUL-terminated")
        expect(entry.instance_id == expected.instance, "instance_id")
        expect(entry.save_time_us == expected.time, "save_time_us")
        expect(entry.flags == expected.flags, "flags")
        expect(entry.reserved == 0, "entry.reserved")
        verifyStepInfo(snapshot, UInt64(index), expected)
    }
    // Indexes past the end, including ones that wrap or truncate to a valid index if the
    // library converted them carelessly (to Int, to UInt32).
    var entry = devstate_entry()
    let count = UInt64(model.entries.count)
    let pastTheEnd: [UInt64] = [count, count + 1, UInt64.max, UInt64(Int.max) + 1, (1 << 32) + 0, (1 << 32) + count]
    let index = pastTheEnd[Int(probe % UInt64(pastTheEnd.count))]
    if index >= count {
        expectStatus(devstate_snapshot_entry(snapshot, index, &entry), is: DEVSTATE_ERR_RANGE,
                     "entry past the end (\(index))")
    }
}

/// devstate_snapshot_step of entry `index`: the step's strings and facts, or FLAGS for an entry
/// that is not a step.
func verifyStepInfo(_ snapshot: OpaquePointer, _ index: UInt64, _ expected: ModelEntry) {
    var step = devstate_step_info()
    let status = devstate_snapshot_step(snapshot, index, &step)
    guard expected.flags == DEVSTATE_ENTRY_STEP else {
        return expectStatus(status, is: DEVSTATE_ERR_FLAGS, "snapshot_step of a non-step entry \(index)")
    }
    expectStatus(status, is: DEVSTATE_OK, "snapshot_step \(index)")
    func bytes(_ text: UnsafePointer<CChar>?, _ length: UInt32, _ what: String) -> [UInt8] {
        guard let text else { fail("snapshot_step \(index): \(what) is NULL") }
        let raw = UnsafeRawPointer(text).assumingMemoryBound(to: UInt8.self)
        expect(raw[Int(length)] == 0, "snapshot_step \(index): \(what) not NUL-terminated")
        return Array(UnsafeBufferPointer(start: raw, count: Int(length)))
    }
    expect(bytes(step.name, step.name_len, "name") == expected.name, "snapshot_step \(index): name")
    expect(bytes(step.device, step.device_len, "device") == expected.device, "snapshot_step \(index): device")
    expect(bytes(step.device_type, step.device_type_len, "type") == expected.type, "snapshot_step \(index): type")
    expect(step.kind == expected.instance && step.start_us == expected.start && step.time_us == expected.time,
           "snapshot_step \(index): kind/start/time \(step.kind)/\(step.start_us)/\(step.time_us)")
}

/// A step's JSON "start": its reading minus the run's origin, 0 if negative.
func stepOffset(_ entry: ModelEntry, origin: Int64?) -> UInt64 {
    checkpointOffset(ModelEntry(name: [], instance: 0, time: UInt64(bitPattern: entry.start), flags: 0), origin: origin)
}

let stepKindNames = ["work", "prepare", "main"]

func verifyJSON(_ text: UnsafeMutablePointer<CChar>, _ model: SnapshotModel, pretty: Bool) {
    let length = strlen(text)
    let bytes = UnsafeRawBufferPointer(start: text, count: length).bindMemory(to: UInt8.self)
    expect(String(validating: bytes, as: UTF8.self) != nil, "JSON is not valid UTF-8")
    for byte in bytes where byte < 0x20 {
        expect(pretty && byte == 0x0a, "raw control byte \(byte) in JSON")
    }
    var index = 0
    while index < length {
        if bytes[index] == 0x5c {  // an escape: "\/" must not be used for "/"
            expect(index + 1 < length && bytes[index + 1] != 0x2f, "\"/\" escaped in JSON")
            index += 2
        } else {
            index += 1
        }
    }
    guard let root = json_tokener_parse(text) else { fail("json-c cannot parse the JSON") }
    defer { json_object_put(root) }
    expect(json_object_is_type(root, json_type_array) != 0, "JSON is not an array")
    expect(json_object_array_length(root) == model.entries.count, "JSON array length")
    for (index, expected) in model.entries.enumerated() {
        let object = json_object_array_get_idx(root, index)
        expect(json_object_is_type(object, json_type_object) != 0, "JSON element not an object")
        var keys: [String] = []
        var iterator = json_object_iter_begin(object)
        var end = json_object_iter_end(object)
        while json_object_iter_equal(&iterator, &end) == 0 {
            keys.append(String(cString: json_object_iter_peek_name(&iterator)))
            json_object_iter_next(&iterator)
        }
        let handler = expected.flags == DEVSTATE_ENTRY_HANDLER
        let iterable = expected.flags == DEVSTATE_ENTRY_ITERABLE
        let checkpoint = expected.flags == DEVSTATE_ENTRY_CHECKPOINT
        let isStep = expected.flags == DEVSTATE_ENTRY_STEP
        let expectedKeys = checkpoint ? ["name", "time"]
            : isStep ? ["name"] + (expected.device.isEmpty ? [] : ["device"])
                + (expected.type.isEmpty ? [] : ["device-type"]) + ["kind", "start", "time"]
            : ["name", "instance-id", "save-time"] + (handler ? ["handler"] : []) + (iterable ? ["iterable"] : [])
        expect(keys == expectedKeys, "JSON keys \(keys) of entry \(index), expected \(expectedKeys)")
        var value: OpaquePointer?
        _ = json_object_object_get_ex(object, "name", &value)
        let name = UnsafeRawBufferPointer(start: json_object_get_string(value),
                                          count: Int(json_object_get_string_len(value)))
        expect(Array(name) == Array(String(decoding: expected.name, as: UTF8.self).utf8),
               "JSON name of entry \(index)")
        if isStep {
            for (key, bytes) in [("device", expected.device), ("device-type", expected.type)] where !bytes.isEmpty {
                _ = json_object_object_get_ex(object, key, &value)
                let text = UnsafeRawBufferPointer(start: json_object_get_string(value),
                                                  count: Int(json_object_get_string_len(value)))
                expect(Array(text) == Array(String(decoding: bytes, as: UTF8.self).utf8),
                       "JSON \(key) of step \(index)")
            }
            _ = json_object_object_get_ex(object, "kind", &value)
            expect(String(cString: json_object_get_string(value)) == stepKindNames[Int(expected.instance)],
                   "JSON kind of step \(index)")
            _ = json_object_object_get_ex(object, "start", &value)
            let offset = stepOffset(expected, origin: model.origin)
            expect(json_object_is_type(value, json_type_int) != 0 && json_object_get_uint64(value) == offset,
                   "JSON start of step \(index): \(json_object_get_uint64(value)), expected \(offset)")
            _ = json_object_object_get_ex(object, "time", &value)
            expect(json_object_get_uint64(value) == expected.time, "JSON time of step \(index)")
            continue
        }
        if checkpoint {
            // The reading relative to the run's origin, as an unsigned 64-bit number.
            let offset = checkpointOffset(expected, origin: model.origin)
            _ = json_object_object_get_ex(object, "time", &value)
            expect(json_object_is_type(value, json_type_int) != 0 && json_object_get_uint64(value) == offset,
                   "JSON time of checkpoint \(index): \(json_object_get_uint64(value)), expected \(offset) (reading \(Int64(bitPattern: expected.time)), origin \(String(describing: model.origin)))")
            continue
        }
        _ = json_object_object_get_ex(object, "instance-id", &value)
        expect(json_object_is_type(value, json_type_int) != 0
               && json_object_get_int64(value) == Int64(expected.instance), "JSON instance-id")
        _ = json_object_object_get_ex(object, "save-time", &value)
        expect(json_object_is_type(value, json_type_int) != 0
               && json_object_get_uint64(value) == expected.time, "JSON save-time")
        if handler || iterable {
            _ = json_object_object_get_ex(object, handler ? "handler" : "iterable", &value)
            expect(json_object_is_type(value, json_type_boolean) != 0
                   && json_object_get_boolean(value) != 0, "JSON handler/iterable")
        }
    }
}

func verifyQAPIList(_ list: UnsafeMutablePointer<DeviceSaveStateTimeList>?, _ all: [ModelEntry]) {
    let entries = all.filter { $0.flags != DEVSTATE_ENTRY_STEP }  // no device times
    var node = list
    var index = 0
    while let current = node {
        expect(index < entries.count, "QAPI list longer than the run")
        let expected = entries[index]
        let value = UnsafeMutableRawPointer(current.pointee.value!)
            .assumingMemoryBound(to: devstate_qapi_entry_ext.self).pointee
        let name = UnsafeRawPointer(value.base.name!).assumingMemoryBound(to: UInt8.self)
        expect(strlen(value.base.name) == expected.name.count, "QAPI name length")
        expect(Array(UnsafeBufferPointer(start: name, count: expected.name.count)) == expected.name,
               "QAPI name bytes")
        expect(value.base.instance_id == expected.instance, "QAPI instance_id")
        expect(value.base.save_time == expected.time, "QAPI save_time")
        let handler = expected.flags == DEVSTATE_ENTRY_HANDLER
        expect(value.has_handler == handler && value.handler == handler, "QAPI handler")
        node = current.pointee.next
        index += 1
    }
    expect(index == entries.count, "QAPI list has \(index) nodes, run has \(entries.count)")
}

/// A name the library malloc'd for a list: the recorded bytes and a NUL.
func expectListName(_ name: UnsafeMutablePointer<CChar>?, _ expected: [UInt8], _ what: String) {
    guard let name else { fail("\(what): name is NULL") }
    expect(strlen(name) == expected.count, "\(what): name length \(strlen(name)), expected \(expected.count)")
    let bytes = UnsafeRawPointer(name).assumingMemoryBound(to: UInt8.self)
    expect(Array(UnsafeBufferPointer(start: bytes, count: expected.count)) == expected, "\(what): name bytes")
}

/// devstate_qemu_times of an ended run: every entry but checkpoints, in record order; the flag
/// is HANDLER in the save lists and ITERABLE in the INCOMING list.
func verifyTimeList(_ list: UnsafeMutablePointer<devstate_qapi_time_list>?, _ model: RecorderModel,
                    selector: UInt32) {
    let expected = model.entries.filter { $0.flags != DEVSTATE_ENTRY_CHECKPOINT && $0.flags != DEVSTATE_ENTRY_STEP }
    let flagged = selector == DEVSTATE_QEMU_LIST_INCOMING ? DEVSTATE_ENTRY_ITERABLE : DEVSTATE_ENTRY_HANDLER
    var node = list
    var index = 0
    while let current = node {
        let what = "qemu_times(\(selector)) node \(index)"
        expect(index < expected.count, "\(what): list longer than the run's \(expected.count) times")
        guard let value = current.pointee.value else { fail("\(what): value is NULL") }
        let entry = expected[index]
        expectListName(value.pointee.name, entry.name, what)
        expect(value.pointee.instance_id == entry.instance, "\(what): instance_id")
        expect(value.pointee.time_us == entry.time, "\(what): time_us \(value.pointee.time_us), expected \(entry.time)")
        let flag = entry.flags == flagged
        expect(value.pointee.has_flag == flag && value.pointee.flag == flag,
               "\(what): has_flag/flag \(value.pointee.has_flag)/\(value.pointee.flag) for flags \(entry.flags)")
        node = current.pointee.next
        index += 1
    }
    expect(index == expected.count, "qemu_times(\(selector)) has \(index) nodes, the run \(expected.count) times")
}

/// devstate_qemu_checkpoints of an ended run: the checkpoints in record order, each at its
/// offset from the run's origin.
func verifyCheckpointList(_ list: UnsafeMutablePointer<devstate_qapi_checkpoint_list>?,
                          _ model: RecorderModel, selector: UInt32) {
    let expected = model.entries.filter { $0.flags == DEVSTATE_ENTRY_CHECKPOINT }
    var node = list
    var index = 0
    while let current = node {
        let what = "qemu_checkpoints(\(selector)) node \(index)"
        expect(index < expected.count, "\(what): list longer than the run's \(expected.count) checkpoints")
        guard let value = current.pointee.value else { fail("\(what): value is NULL") }
        let entry = expected[index]
        expectListName(value.pointee.name, entry.name, what)
        let offset = checkpointOffset(entry, origin: model.origin)
        expect(value.pointee.time_us == offset,
               "\(what): time_us \(value.pointee.time_us), expected \(offset) (reading \(Int64(bitPattern: entry.time)), origin \(String(describing: model.origin)))")
        node = current.pointee.next
        index += 1
    }
    expect(index == expected.count, "qemu_checkpoints(\(selector)) has \(index) nodes, the run \(expected.count) checkpoints")
}
