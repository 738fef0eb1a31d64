// SPDX-License-Identifier: MIT
import CJSONC
import CDevstateShim
import CShim

/// Keys of a `DeviceSaveStateTime` object, in the order QMP writes them. Static storage lets
/// json-c keep the pointers instead of duplicating each key per entry.
private enum Key {
    static let name: StaticString = "name"
    static let instanceID: StaticString = "instance-id"
    static let saveTime: StaticString = "save-time"
    static let handler: StaticString = "handler"
    static let iterable: StaticString = "iterable"
    static let time: StaticString = "time"
    static let device: StaticString = "device"
    static let deviceType: StaticString = "device-type"
    static let kind: StaticString = "kind"
    static let start: StaticString = "start"
}

extension Snapshot {
    /// The `device-state-times` value query-migrate would return for this run: compact (one line,
    /// no spaces) or pretty (two-space indentation).
    public func json(pretty: Bool = false) throws(DeviceStateError) -> String {
        var text = ""
        let status = copy.withJSON(pretty: pretty) { pointer, _ in
            text = String(cString: pointer)
            return DEVSTATE_OK
        }
        if status != DEVSTATE_OK { throw DeviceStateError(code: status) ?? .json }
        return text
    }
}

extension RunCopy {
    /// Builds the document with json-c and lends its text (NUL-terminated, and its length) to
    /// `body`, whose status it returns; DEVSTATE_ERR_NOMEM or DEVSTATE_ERR_JSON when json-c
    /// cannot build it.
    func withJSON(pretty: Bool, _ body: (UnsafePointer<CChar>, Int) -> Int32) -> Int32 {
        guard let array = json_object_new_array_ext(Int32(clamping: count)) else {
            return DEVSTATE_ERR_NOMEM
        }
        defer { json_object_put(array) }
        for position in 0..<count {
            guard let object = makeObject(for: record(at: position)) else { return DEVSTATE_ERR_NOMEM }
            if json_object_array_add(array, object) != 0 {
                json_object_put(object)
                return DEVSTATE_ERR_NOMEM
            }
        }
        var flags = JSON_C_TO_STRING_NOSLASHESCAPE
        flags |= pretty ? (JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED) : JSON_C_TO_STRING_PLAIN
        var length = 0
        guard let text = json_object_to_json_string_length(array, flags, &length) else {
            return DEVSTATE_ERR_JSON
        }
        // json-c's writers ignore a failed growth of their buffer and go on, so under memory
        // exhaustion the text can lack pieces: read it back before anyone sees it.
        let status = readsBack(text, length: length)
        return status == DEVSTATE_OK ? body(text, length) : status
    }

    private func makeObject(for record: EntryRecord) -> OpaquePointer? {
        guard let object = json_object_new_object() else { return nil }
        let complete: Bool
        switch record.flags {
        case DEVSTATE_ENTRY_CHECKPOINT:
            complete = add(Key.name, makeName(name(of: record)), to: object)
                && add(Key.time, json_object_new_uint64(offset(ofCheckpoint: record)), to: object)
        case DEVSTATE_ENTRY_STEP:
            let device = device(of: record), deviceType = deviceType(of: record)
            complete = add(Key.name, makeName(name(of: record)), to: object)
                && (device.isEmpty || add(Key.device, makeName(device), to: object))
                && (deviceType.isEmpty || add(Key.deviceType, makeName(deviceType), to: object))
                && add(Key.kind, json_object_new_string(Self.stepKindName(record.instanceID)), to: object)
                && add(Key.start, json_object_new_uint64(offset(ofStart: record)), to: object)
                && add(Key.time, json_object_new_uint64(record.saveTime), to: object)
        default:
            complete = add(Key.name, makeName(name(of: record)), to: object)
                && add(Key.instanceID, json_object_new_int64(Int64(record.instanceID)), to: object)
                && add(Key.saveTime, json_object_new_uint64(record.saveTime), to: object)
                && (record.flags != DEVSTATE_ENTRY_HANDLER
                    || add(Key.handler, json_object_new_boolean(1), to: object))
                && (record.flags != DEVSTATE_ENTRY_ITERABLE
                    || add(Key.iterable, json_object_new_boolean(1), to: object))
        }
        guard complete else {
            json_object_put(object)
            return nil
        }
        return object
    }

    /// A step kind's spelling, from static storage (the recorder kept only known kinds).
    private static func stepKindName(_ kind: UInt32) -> UnsafePointer<CChar> {
        let text: StaticString = switch kind {
        case DEVSTATE_STEP_PREPARE: "prepare"
        case DEVSTATE_STEP_MAIN: "main"
        default: "work"
        }
        return UnsafeRawPointer(text.utf8Start).assumingMemoryBound(to: CChar.self)
    }

    /// Adds `value` under a static key; on failure releases `value` and returns false.
    private func add(_ key: StaticString, _ value: OpaquePointer?, to object: OpaquePointer) -> Bool {
        guard let value else { return false }
        let keyPointer = UnsafeRawPointer(key.utf8Start).assumingMemoryBound(to: CChar.self)
        let flags = UInt32(JSON_C_OBJECT_ADD_KEY_IS_NEW | JSON_C_OBJECT_ADD_CONSTANT_KEY)
        guard json_object_object_add_ex(object, keyPointer, value, flags) == 0 else {
            json_object_put(value)
            return false
        }
        return true
    }

    /// A JSON string for the recorded bytes. Invalid UTF-8 is repaired with U+FFFD per maximal
    /// invalid subsequence, which is what QEMU's QMP writer does; valid names pass unchanged.
    /// The repair goes through a malloc'd buffer: nothing here can stop the process.
    private func makeName(_ bytes: UnsafeBufferPointer<UInt8>) -> OpaquePointer? {
        if UTF8Repair.isValid(bytes) {
            return bytes.withMemoryRebound(to: CChar.self) {
                json_object_new_string_len($0.baseAddress, Int32($0.count))
            }
        }
        let capacity = UTF8Repair.maximumRepairedCount(of: bytes.count)
        guard let raw = devstate_shim_malloc(capacity) else { return nil }
        defer { devstate_shim_free(raw) }
        let repaired = raw.bindMemory(to: UInt8.self, capacity: capacity)
        let length = UTF8Repair.repair(bytes, into: repaired)
        return repaired.withMemoryRebound(to: CChar.self, capacity: length) {
            json_object_new_string_len($0, Int32(length))
        }
    }
}
