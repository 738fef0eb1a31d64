// SPDX-License-Identifier: MIT
// libFuzzer target for the C ABI of <devstate/devstate.h> and <devstate/qemu-hooks.h>.
//
// The input bytes are decoded into a sequence of calls (new / free / begin / record /
// checkpoint / end / snapshot / info / entry / JSON / QAPI list / strerror / NULL arguments,
// and the 0.2.0 list hooks: begin / record_in / checkpoint / end / times / checkpoints of each
// DEVSTATE_QEMU_LIST_* selector and of invalid ones) on four recorder slots plus the four list
// recorders (the first is the default recorder), four snapshot slots and four JSON string
// slots, with adversarial names (empty, 255 and 256 bytes with no NUL within, invalid UTF-8,
// control bytes, embedded NUL) and clock readings (0, negative, INT64_MIN/MAX, a clock that
// steps back). Since 0.3.0 also arm / discard of recorders and lists and the counts of refused
// records (op 0x7f). Every call's status and every value read back is checked against a model of
// the documented contract; a mismatch aborts, which libFuzzer reports as a crash. The model
// shares no code with the library. Built with AddressSanitizer and libFuzzer coverage by
// scripts/hardening/run.sh.
import CJSONC
import CShim
import FuzzDriver
#if canImport(Glibc)
import Glibc
#endif

// MARK: model of the contract

struct ModelEntry: Equatable {
    var name: [UInt8]
    var instance: UInt32
    var time: UInt64
    var flags: UInt32
    /// A step's (DEVSTATE_ENTRY_STEP, since 0.3.0) device, device type and start reading; its
    /// kind is `instance`, its duration `time`.
    var device: [UInt8] = []
    var type: [UInt8] = []
    var start: Int64 = 0
}

/// none: nothing to report (never begun, or discarded); armed: the next record opens a run.
enum ModelState { case none, armed, open, ended }

/// A reference type, so recording into the model appends in place (no copy per record).
final class RecorderModel {
    var state = ModelState.none
    var entries: [ModelEntry] = []
    var skipped: UInt64 = 0
    var dropped: UInt64 = 0
    /// Records refused while the run was open (since 0.3.0).
    var refused: UInt64 = 0
    var run: UInt64 = 0
    /// The run's origin: the least of every kept checkpoint's reading and of every span start
    /// given to devstate_qemu_record_in (skipped 0 us spans included, refused calls not); nil
    /// until the run has seen one.
    var origin: Int64?

    func begin() {
        clear()
        state = .open
        run &+= 1
    }

    private func clear() {
        entries.removeAll(keepingCapacity: true)
        skipped = 0
        dropped = 0
        refused = 0
        origin = nil
    }

    /// devstate_run_arm: the run is dropped and the next record opens a new one.
    func arm() {
        clear()
        state = .armed
    }

    /// devstate_run_discard: the run is dropped, nothing is open.
    func discard() {
        clear()
        state = .none
    }

    /// Whether a record call may go into a run: an open one, or an armed one it opens.
    var accepts: Bool { state == .open || state == .armed }

    /// A record call reaches the run (kept, skipped or refused): an armed run opens first.
    func reach() {
        if state == .armed { begin() }
    }

    /// A record refused with `status` by a live recorder: counted unless no run took it.
    func noteRefusal(_ status: Int32) {
        guard status != DEVSTATE_ERR_NO_RUN, status != DEVSTATE_ERR_INVALID_HANDLE,
              status != DEVSTATE_ERR_NO_LIST, accepts else { return }
        reach()
        refused &+= 1
    }

    /// A step refused by a live recorder: counted by an open run only (an armed one stays so).
    func noteStepRefusal(_ status: Int32) {
        guard status != DEVSTATE_ERR_NO_RUN, status != DEVSTATE_ERR_INVALID_HANDLE,
              status != DEVSTATE_ERR_NO_LIST, state == .open else { return }
        refused &+= 1
    }

    func noteReading(_ reading: Int64) {
        if let origin, origin <= reading { return }
        origin = reading
    }
}

struct SnapshotModel {
    var entries: [ModelEntry]
    var skipped: UInt64
    var dropped: UInt64
    var refused: UInt64
    var run: UInt64
    var complete: Bool
    var origin: Int64?
}

/// The DEVSTATE_ENTRY_* values a record may carry: exactly one of them.
func isEntryFlags(_ flags: UInt32) -> Bool {
    flags == DEVSTATE_ENTRY_VMSD || flags == DEVSTATE_ENTRY_HANDLER
        || flags == DEVSTATE_ENTRY_ITERABLE || flags == DEVSTATE_ENTRY_CHECKPOINT
        || flags == DEVSTATE_ENTRY_STEP
}

/// A checkpoint's time in the JSON and in devstate_qemu_checkpoints: its reading minus the
/// run's origin in exact (128-bit) arithmetic, 0 if negative.
func checkpointOffset(_ entry: ModelEntry, origin: Int64?) -> UInt64 {
    let reading = Int64(bitPattern: entry.time)
    guard let origin else { fail("model: a kept checkpoint but no origin") }
    let difference = Int128(reading) - Int128(origin)
    if difference <= 0 { return 0 }
    expect(difference <= Int128(UInt64.max), "model: checkpoint offset over 64 bits")
    return UInt64(difference)
}

/// The time a span hook keeps for [start, end]: end - start when positive, else 0. When
/// end - start does not fit in an int64 (only with absurd clock readings) the library may
/// compute it wrapped (a positive span turns negative and is skipped, a negative one turns
/// positive and is kept); the model accepts that or the exact result, and only in that case
/// (Tests/fuzz/regressions/abi/qemu-record-*). Exactly one of the two is then > 0.
func spanTime(_ start: Int64, _ end: Int64, status: Int32) -> UInt64 {
    let difference = Int128(end) - Int128(start)
    let exact: UInt64 = difference > 0 ? UInt64(difference) : 0
    guard difference < Int128(Int64.min) || difference > Int128(Int64.max) else { return exact }
    let wrapped = end &- start
    return status == DEVSTATE_SKIPPED_ZERO ? 0 : max(exact, wrapped > 0 ? UInt64(wrapped) : 0)
}

enum Slot<Model> {
    case empty
    case live(OpaquePointer, Model)
    case dead(OpaquePointer)

    var pointer: OpaquePointer? {
        switch self {
        case .empty: nil
        case .live(let p, _), .dead(let p): p
        }
    }
}

func fail(_ message: String) -> Never {
    fputs("FuzzABI: contract violated: \(message)\n", stderr)
    abort()
}

func expect(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fail(message()) }
}

func expectStatus(_ status: Int32, is expected: Int32, _ what: @autoclosure () -> String) {
    if status != expected { fail("\(what()) returned \(status), expected \(expected)") }
}

func expectStatus(_ status: Int32, in allowed: [Int32], _ what: @autoclosure () -> String) {
    if !allowed.contains(status) {
        fail("\(what()) returned \(status), expected one of \(allowed)")
    }
}

/// A record or checkpoint the contract refuses: its status is one of `errors`, and the run of
/// `model` (the live recorder it was meant for, nil for a freed or unknown one) counts it.
func expectRefused(_ status: Int32, in errors: [Int32], _ what: @autoclosure () -> String,
                   by model: RecorderModel?) {
    expectStatus(status, in: errors, what())
    model?.noteRefusal(status)
}

// MARK: input decoding

struct Input {
    let bytes: UnsafeBufferPointer<UInt8>
    var position = 0
    var isEmpty: Bool { position >= bytes.count }

    mutating func byte() -> UInt8 {
        guard position < bytes.count else { return 0 }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func u32() -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 { value = value << 8 | UInt32(byte()) }
        return value
    }

    mutating func u64() -> UInt64 { UInt64(u32()) << 32 | UInt64(u32()) }

    mutating func take(_ count: Int) -> [UInt8] {
        var out: [UInt8] = []
        for _ in 0..<count where !isEmpty { out.append(byte()) }
        return out
    }
}

/// A name as C sees it: `buffer` holds `storage` bytes, NUL-terminated unless it is the
/// 256-bytes-and-no-NUL case, which the library must reject reading at most 256 bytes.
struct CName {
    let buffer: UnsafeMutablePointer<CChar>
    /// What the library may see: the bytes before the first NUL, or the first 256 bytes.
    let visible: [UInt8]

    init(bytes: [UInt8], terminate: Bool) {
        let size = bytes.count + (terminate ? 1 : 0)
        buffer = UnsafeMutablePointer<CChar>.allocate(capacity: max(size, 1))
        for (index, byte) in bytes.enumerated() { buffer[index] = CChar(bitPattern: byte) }
        if terminate { buffer[bytes.count] = 0 }
        let limit = Int(DEVSTATE_NAME_MAX) + 1
        var visible: [UInt8] = []
        for byte in bytes {
            if byte == 0 || visible.count == limit { break }
            visible.append(byte)
        }
        self.visible = visible
    }

    func release() { buffer.deallocate() }
}

let specialNames: [[UInt8]] = [
    [0x01, 0x1f, 0x7f, 0x0a, 0x0d, 0x09, 0x08, 0x0c],  // control bytes
    Array("\"\\/\u{2028}\u{2029}".utf8),                // characters JSON writers get wrong
    [0xff, 0xfe],                                       // never valid
    [0xc0, 0x80],                                       // overlong NUL
    [0xed, 0xa0, 0x80],                                 // surrogate
    [0xf4, 0x90, 0x80, 0x80],                           // above U+10FFFF
    [0xe2, 0x82],                                       // truncated sequence
    [0x61, 0x00, 0x62],                                 // NUL inside: C sees "a"
    Array("0000:00:01.3/piix4_pm".utf8),
    Array("é💥\u{FFFD}".utf8),
    [0x80],                                             // lone continuation byte
]

func makeName(_ input: inout Input) -> CName {
    let kind = input.byte()
    switch kind % 10 {
    case 0: return CName(bytes: [], terminate: true)
    case 1: return CName(bytes: Array(repeating: 0x61, count: 255), terminate: true)
    // 256 bytes and no NUL anywhere in the buffer: ASan reports a read past it.
    case 2: return CName(bytes: Array(repeating: 0x62, count: 256), terminate: false)
    case 3: return CName(bytes: Array(repeating: 0x63, count: 254) + [0xc3, 0xa9], terminate: true)
    case 4: return CName(bytes: Array(repeating: 0x64, count: 253) + [0xc3, 0xa9], terminate: true)
    case 5: return CName(bytes: Array(repeating: 0x65, count: 254) + [0xe2], terminate: true)
    case 6: return CName(bytes: specialNames[Int(kind / 10) % specialNames.count], terminate: true)
    case 7: return CName(bytes: Array(repeating: 0x66, count: 300 + Int(kind)), terminate: true)
    default:
        let length = Int(input.byte() % 40)
        return CName(bytes: input.take(length), terminate: true)
    }
}

// MARK: state

let recorderSlots = 4
/// Slots past the private ones are the recorders of the DEVSTATE_QEMU_LIST_* selectors:
/// defaultSlot + n is list n, and list 0 (NON_ITERABLE_SAVES) is the default recorder.
let defaultSlot = recorderSlots
let listCount = 4
let allSlots = recorderSlots + listCount
var recorders = [Slot<RecorderModel>](repeating: .empty, count: recorderSlots)
/// The list recorders live across inputs, as the default recorder does.
let listModels = (0..<listCount).map { _ in RecorderModel() }
let defaultModel = listModels[0]
var defaultModelKnown = false
var snapshots = [Slot<SnapshotModel>](repeating: .empty, count: 4)
var strings = [Slot<Void>](repeating: .empty, count: 4)
var stringPointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: 4)

func recorderModel(_ slot: Int) -> RecorderModel? {
    if slot >= defaultSlot { return listModels[slot - defaultSlot] }
    if case .live(_, let model) = recorders[slot] { return model }
    return nil
}

/// The model of a DEVSTATE_QEMU_LIST_* selector, nil for an unknown one.
func listModel(_ list: UInt32) -> RecorderModel? {
    list < UInt32(listCount) ? listModels[Int(list)] : nil
}

/// The handle to pass for a slot: live or stale pointer, NULL when empty.
func recorderHandle(_ slot: Int) -> OpaquePointer? {
    if slot == defaultSlot { return devstate_default_recorder() }
    if slot > defaultSlot {
        guard let handle = devstate_qemu_recorder(UInt32(slot - defaultSlot)) else {
            fail("qemu_recorder(\(slot - defaultSlot)) is NULL")
        }
        return handle
    }
    return recorders[slot].pointer
}

/// Errors the handle alone can cause, or nil when the handle is live.
func handleError(_ slot: Int) -> Int32? {
    if slot >= defaultSlot { return nil }
    switch recorders[slot] {
    case .empty: return DEVSTATE_ERR_NULL
    case .dead: return DEVSTATE_ERR_INVALID_HANDLE
    case .live: return nil
    }
}

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
    // One DEVSTATE_ENTRY_* value, but not CHECKPOINT.
    if !isEntryFlags(flags) || flags == DEVSTATE_ENTRY_CHECKPOINT { errors.append(DEVSTATE_ERR_FLAGS) }
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
let unsetTimes = UnsafeMutablePointer<devstate_qapi_time_list>(bitPattern: 0x5a5a0)!
let unsetCheckpoints = UnsafeMutablePointer<devstate_qapi_checkpoint_list>(bitPattern: 0x5a5a0)!

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

func takeSnapshot(_ slot: Int, into target: Int) {
    if case .live(let pointer, _) = snapshots[target] {
        expectStatus(devstate_snapshot_free(pointer), is: DEVSTATE_OK, "snapshot_free")
        snapshots[target] = .empty
    }
    var handle: OpaquePointer?
    let status = devstate_snapshot_take(recorderHandle(slot), &handle)
    if let error = handleError(slot) { return expectStatus(status, is: error, "snapshot_take") }
    let model = recorderModel(slot)!
    if !(model.state == .open || model.state == .ended) {
        return expectStatus(status, is: DEVSTATE_ERR_EMPTY, "snapshot_take")
    }
    expectStatus(status, is: DEVSTATE_OK, "snapshot_take")
    guard let handle else { fail("snapshot_take gave NULL") }
    for other in snapshots.indices where snapshots[other].pointer == handle {
        if case .live = snapshots[other] { fail("snapshot_take reissued a live handle") }
        snapshots[other] = .empty
    }
    snapshots[target] = .live(handle, snapshotModel(of: model))
}

func freeSnapshot(_ target: Int) {
    let status = devstate_snapshot_free(snapshots[target].pointer)
    switch snapshots[target] {
    case .empty: expectStatus(status, is: DEVSTATE_ERR_NULL, "snapshot_free(NULL)")
    case .dead: expectStatus(status, is: DEVSTATE_ERR_INVALID_HANDLE, "double snapshot_free")
    case .live(let pointer, _):
        expectStatus(status, is: DEVSTATE_OK, "snapshot_free")
        snapshots[target] = .dead(pointer)
    }
}

func inspectSnapshot(_ target: Int, probe: UInt64) {
    switch snapshots[target] {
    case .live(let pointer, let model): verifySnapshot(pointer, model, probe)
    case .dead(let pointer):
        var info = devstate_snapshot_info()
        var entry = devstate_entry()
        expectStatus(devstate_snapshot_get_info(pointer, &info), is: DEVSTATE_ERR_INVALID_HANDLE, "get_info on freed")
        expectStatus(devstate_snapshot_entry(pointer, 0, &entry), is: DEVSTATE_ERR_INVALID_HANDLE, "entry on freed")
    case .empty:
        var info = devstate_snapshot_info()
        expectStatus(devstate_snapshot_get_info(nil, &info), is: DEVSTATE_ERR_NULL, "get_info(NULL)")
    }
}

func makeJSON(_ target: Int, into slot: Int, flags: UInt32) {
    if case .live = strings[slot] {
        expectStatus(devstate_json_free(stringPointers[slot]), is: DEVSTATE_OK, "json_free")
        strings[slot] = .empty
    }
    var text: UnsafeMutablePointer<CChar>?
    let status = devstate_snapshot_json(snapshots[target].pointer, flags, &text)
    var errors: [Int32] = []
    switch snapshots[target] {
    case .empty: errors.append(DEVSTATE_ERR_NULL)
    case .dead: errors.append(DEVSTATE_ERR_INVALID_HANDLE)
    case .live: break
    }
    if flags & ~DEVSTATE_JSON_PRETTY != 0 { errors.append(DEVSTATE_ERR_FLAGS) }
    if !errors.isEmpty { return expectStatus(status, in: errors, "snapshot_json") }
    expectStatus(status, is: DEVSTATE_OK, "snapshot_json")
    guard let text, case .live(_, let model) = snapshots[target] else { fail("snapshot_json gave NULL") }
    verifyJSON(text, model, pretty: flags == DEVSTATE_JSON_PRETTY)
    for other in strings.indices where stringPointers[other] == text {
        if case .live = strings[other] { fail("snapshot_json returned a live string again") }
        strings[other] = .empty
    }
    strings[slot] = .live(OpaquePointer(text), ())
    stringPointers[slot] = text
}

func freeJSON(_ slot: Int) {
    switch strings[slot] {
    case .empty:
        expectStatus(devstate_json_free(nil), is: DEVSTATE_ERR_NULL, "json_free(NULL)")
    case .dead:
        // The pointer is freed memory; the library must refuse it without touching it.
        expectStatus(devstate_json_free(stringPointers[slot]), is: DEVSTATE_ERR_INVALID_HANDLE,
                     "double json_free")
    case .live(let pointer, _):
        expectStatus(devstate_json_free(stringPointers[slot]), is: DEVSTATE_OK, "json_free")
        strings[slot] = .dead(pointer)
    }
}

func qapiFromSnapshot(_ target: Int) {
    var list: UnsafeMutablePointer<DeviceSaveStateTimeList>?
    let status = devstate_snapshot_qapi_list(snapshots[target].pointer, &list)
    switch snapshots[target] {
    case .empty: expectStatus(status, is: DEVSTATE_ERR_NULL, "snapshot_qapi_list(NULL)")
    case .dead: expectStatus(status, is: DEVSTATE_ERR_INVALID_HANDLE, "snapshot_qapi_list on freed")
    case .live(_, let model):
        expectStatus(status, is: DEVSTATE_OK, "snapshot_qapi_list")
        verifyQAPIList(list, model.entries)
        expectStatus(devstate_qapi_list_free(list), is: DEVSTATE_OK, "qapi_list_free")
    }
}

func qemuDeviceStateTimes() {
    var list: UnsafeMutablePointer<DeviceSaveStateTimeList>?
    let status = devstate_qemu_device_state_times(&list)
    switch defaultModel.state {
    case .none, .armed: expectStatus(status, is: DEVSTATE_ERR_EMPTY, "qemu_device_state_times")
    case .open: expectStatus(status, is: DEVSTATE_ERR_NO_RUN, "qemu_device_state_times")
    case .ended:
        expectStatus(status, is: DEVSTATE_OK, "qemu_device_state_times")
        verifyQAPIList(list, defaultModel.entries)
        expectStatus(devstate_qapi_list_free(list), is: DEVSTATE_OK, "qapi_list_free")
    }
}

func checkStaticQueries(_ code: Int32) {
    guard let message = devstate_strerror(code) else { fail("strerror(\(code)) is NULL") }
    let length = strlen(message)
    expect(length > 0 && length < 200, "strerror(\(code)) has length \(length)")
    expect(devstate_version_number() == UInt32(DEVSTATE_VERSION_MAJOR * 10000 + DEVSTATE_VERSION_MINOR * 100 + DEVSTATE_VERSION_PATCH),
           "version_number")
    // DEVSTATE_VERSION_STRING is stringized from the three numbers, which Swift cannot import.
    expect(String(cString: devstate_version_string()) == "\(DEVSTATE_VERSION_MAJOR).\(DEVSTATE_VERSION_MINOR).\(DEVSTATE_VERSION_PATCH)",
           "version_string")
    expect(devstate_abi_version() == UInt32(DEVSTATE_ABI_VERSION), "abi_version")
    expect(strcmp(devstate_strerror(DEVSTATE_ERR_NO_LIST), devstate_strerror(Int32.min)) != 0,
           "strerror(DEVSTATE_ERR_NO_LIST) is the message of an unknown code")
}

func nullArguments(_ slot: Int) {
    expectStatus(devstate_recorder_new(nil), is: DEVSTATE_ERR_NULL, "recorder_new(NULL)")
    if handleError(slot) == nil {
        expectStatus(devstate_snapshot_take(recorderHandle(slot), nil), is: DEVSTATE_ERR_NULL, "snapshot_take(r, NULL)")
    }
    expectStatus(devstate_run_begin(nil), is: DEVSTATE_ERR_NULL, "run_begin(NULL)")
    expectStatus(devstate_run_end(nil), is: DEVSTATE_ERR_NULL, "run_end(NULL)")
    expectStatus(devstate_qemu_device_state_times(nil), is: DEVSTATE_ERR_NULL, "qemu_device_state_times(NULL)")
    expectStatus(devstate_qapi_list_free(nil), is: DEVSTATE_OK, "qapi_list_free(NULL)")
    for case .live(let pointer, _) in snapshots {
        expectStatus(devstate_snapshot_get_info(pointer, nil), is: DEVSTATE_ERR_NULL, "get_info(s, NULL)")
        expectStatus(devstate_snapshot_entry(pointer, 0, nil), is: DEVSTATE_ERR_NULL, "entry(s, 0, NULL)")
        expectStatus(devstate_snapshot_json(pointer, 0, nil), is: DEVSTATE_ERR_NULL, "json(s, 0, NULL)")
        expectStatus(devstate_snapshot_qapi_list(pointer, nil), is: DEVSTATE_ERR_NULL, "qapi_list(s, NULL)")
    }
    // The 0.2.0 functions. A NULL name is refused; since 0.3.0 a run that is open (or armed,
    // and then opens) counts the refusal, as the model does.
    expectStatus(devstate_checkpoint(nil, "cp", 1), is: DEVSTATE_ERR_NULL, "checkpoint(NULL, name)")
    expectRefused(devstate_checkpoint(recorderHandle(slot), nil, 1),
                  in: [DEVSTATE_ERR_NULL] + (handleError(slot).map { [$0] } ?? []), "checkpoint(r, NULL)",
                  by: handleError(slot) == nil ? recorderModel(slot) : nil)
    let list = UInt32(slot)  // 4: no such list
    let nullErrors = listModel(list) == nil ? [DEVSTATE_ERR_NULL, DEVSTATE_ERR_NO_LIST] : [DEVSTATE_ERR_NULL]
    expectRefused(devstate_qemu_record_in(list, nil, 0, 1, 2, DEVSTATE_ENTRY_VMSD), in: nullErrors,
                  "qemu_record_in(\(list), NULL)", by: listModel(list))
    expectRefused(devstate_qemu_checkpoint(list, nil, 1), in: nullErrors, "qemu_checkpoint(\(list), NULL)",
                  by: listModel(list))
    expectStatus(devstate_qemu_times(list, nil), in: nullErrors, "qemu_times(\(list), NULL)")
    expectStatus(devstate_qemu_checkpoints(list, nil), in: nullErrors, "qemu_checkpoints(\(list), NULL)")
    expectStatus(devstate_qapi_time_list_free(nil), is: DEVSTATE_OK, "qapi_time_list_free(NULL)")
    expectStatus(devstate_qapi_checkpoint_list_free(nil), is: DEVSTATE_OK, "qapi_checkpoint_list_free(NULL)")
    // The selectors: list 0 is the default recorder, 1...3 are others, the rest name nothing.
    var handles: [OpaquePointer] = []
    for list in 0..<UInt32(listCount) {
        guard let handle = devstate_qemu_recorder(list) else { fail("qemu_recorder(\(list)) is NULL") }
        expect(!handles.contains(handle), "qemu_recorder(\(list)) is the recorder of another list")
        expect((handle == devstate_default_recorder()) == (list == 0), "qemu_recorder(\(list)) vs default_recorder")
        expectStatus(devstate_recorder_free(handle), is: DEVSTATE_ERR_NOT_OWNED, "recorder_free(qemu_recorder(\(list)))")
        handles.append(handle)
    }
    for invalid in [UInt32(listCount), 5, 0x8000_0000, 0x1_0000 | DEVSTATE_QEMU_LIST_INCOMING, UInt32.max] {
        expect(devstate_qemu_recorder(invalid) == nil, "qemu_recorder(\(invalid)) is not NULL")
        expectStatus(devstate_qemu_begin(invalid), is: DEVSTATE_ERR_NO_LIST, "qemu_begin(\(invalid))")
        expectStatus(devstate_qemu_end(invalid), is: DEVSTATE_ERR_NO_LIST, "qemu_end(\(invalid))")
    }
}

func releaseEverything() {
    for slot in strings.indices {
        if case .live = strings[slot] { freeJSON(slot) }
        strings[slot] = .empty
        stringPointers[slot] = nil
    }
    for slot in snapshots.indices {
        if case .live = snapshots[slot] { freeSnapshot(slot) }
        snapshots[slot] = .empty
    }
    for slot in 0..<recorderSlots {
        if case .live = recorders[slot] { freeRecorder(slot) }
        recorders[slot] = .empty
    }
}

// MARK: the target

let maxOperations = 400
let maxEntriesPerRecorder = 1000

/// A clock in microseconds for realistic readings, restarted by every input.
let clockStart: Int64 = 1_764_266_400_000_000
var clock = clockStart

/// A clock reading: mostly a clock that moves forward, also one that steps back, 0, negative,
/// INT64_MIN/MAX and raw values.
func reading(_ kind: UInt8, _ input: inout Input) -> Int64 {
    switch kind % 8 {
    case 0:
        clock &+= Int64(input.byte())
        return clock
    case 1: return clock &- Int64(input.byte())
    case 2: return 0
    case 3: return -Int64(input.byte())
    case 4: return Int64.min &+ Int64(input.byte() % 4)
    case 5: return Int64.max &- Int64(input.byte() % 4)
    case 6: return Int64(bitPattern: input.u64())
    default: return clock &+ Int64(Int32(bitPattern: input.u32()))
    }
}

/// A DEVSTATE_QEMU_LIST_* selector: the four lists, and unknown ones (one that truncates to a
/// valid selector if the library narrowed it, and raw values).
func listSelector(_ argument: UInt8, _ input: inout Input) -> UInt32 {
    switch argument % 8 {
    case 0...3: return UInt32(argument % 8)
    case 4: return UInt32(listCount)
    case 5: return UInt32.max
    case 6: return 0x8000_0000 | DEVSTATE_QEMU_LIST_INCOMING
    default: return input.u32()
    }
}

/// One record call decoded from the input (ops 3, 4 and the generic op on list recorders).
func recordOperation(_ slot: Int, _ argument: UInt8, _ input: inout Input) {
    let name = makeName(&input)
    defer { name.release() }
    let instance = input.byte() & 1 == 0 ? UInt32(input.byte()) : input.u32()
    let timeKind = input.byte()
    let time: UInt64 = switch timeKind % 4 {
    case 0: 0
    case 1: UInt64.max
    case 2: UInt64(input.byte())
    default: input.u64()
    }
    // Bits 2-3 (unused before 0.2.0, so older inputs decode as they did) pick the 0.2.0 flags.
    let flags: UInt32
    if timeKind & 0x40 != 0 {
        flags = input.u32()
    } else {
        switch (timeKind >> 2) & 3 {
        case 0: flags = UInt32(timeKind >> 7)
        case 1: flags = DEVSTATE_ENTRY_ITERABLE
        case 2: flags = DEVSTATE_ENTRY_CHECKPOINT
        default:  // more than one DEVSTATE_ENTRY_* value
            flags = timeKind & 0x80 != 0 ? DEVSTATE_ENTRY_ITERABLE | DEVSTATE_ENTRY_CHECKPOINT
                : timeKind & 0x20 != 0 ? DEVSTATE_ENTRY_HANDLER | DEVSTATE_ENTRY_CHECKPOINT
                : DEVSTATE_ENTRY_HANDLER | DEVSTATE_ENTRY_ITERABLE
        }
    }
    if slot == defaultSlot && argument & 0x80 != 0 {
        let start = Int64(bitPattern: input.u64())
        let end = timeKind & 0x20 != 0 ? Int64(bitPattern: input.u64()) : start &+ Int64(input.byte()) &- 8
        record(slot, name, instance: instance, time: 0, flags: flags, hook: (start, end))
    } else {
        record(slot, timeKind & 0x10 != 0 && timeKind % 4 == 2 ? nil : name,
               instance: instance, time: time, flags: flags, hook: nil)
    }
}

/// The operations added with 0.2.0: ops 0x8f, 0x9f, ... 0xef (op % 16 == 15 was only the bulk
/// op before; 0x0f-0x7f and 0xff still are, so older inputs decode as they did).
func operation020(_ kind: Int, _ argument: UInt8, _ input: inout Input) {
    let slot = Int(argument) % allSlots   // 4 = the default recorder, 5...7 = lists 1...3
    let target = Int((argument >> 3) % 4) // snapshot slot
    switch kind {
    case 0:  // devstate_checkpoint on any recorder slot
        let mode = input.byte()
        let name = makeName(&input)
        defer { name.release() }
        checkpoint(slot, mode & 0x80 != 0 ? nil : name, reading: reading(mode, &input))
    case 1:  // devstate_qemu_begin / devstate_qemu_end
        let list = listSelector(argument, &input)
        if argument & 0x80 != 0 { listEnd(list) } else { listBegin(list) }
    case 2:  // devstate_qemu_record_in
        let list = listSelector(argument, &input)
        let mode = input.byte()
        let name = makeName(&input)
        defer { name.release() }
        let instance = input.byte() & 1 == 0 ? UInt32(input.byte()) : input.u32()
        let flags: UInt32 = switch (mode >> 4) & 7 {
        case 0, 4: DEVSTATE_ENTRY_VMSD
        case 1: DEVSTATE_ENTRY_HANDLER
        case 2, 3: DEVSTATE_ENTRY_ITERABLE
        case 5: DEVSTATE_ENTRY_CHECKPOINT  // refused by record_in
        case 6: DEVSTATE_ENTRY_HANDLER | DEVSTATE_ENTRY_ITERABLE
        default: input.u32()
        }
        let start = reading(mode, &input)
        let end = mode & 0x08 != 0 ? reading(input.byte(), &input) : start &+ Int64(input.byte()) &- 8
        listRecord(list, mode & 0x80 != 0 ? nil : name, instance: instance, start: start, end: end, flags: flags)
    case 3:  // devstate_qemu_checkpoint
        let list = listSelector(argument, &input)
        let mode = input.byte()
        let name = makeName(&input)
        defer { name.release() }
        listCheckpoint(list, mode & 0x80 != 0 ? nil : name, reading: reading(mode, &input))
    case 4:  // devstate_qemu_times / devstate_qemu_checkpoints, checked and freed
        let list = listSelector(argument, &input)
        if argument & 0x80 != 0 { listCheckpoints(list) } else { listTimes(list) }
    case 5:  // a snapshot of any recorder slot, list recorders included (then ops 8, 9, 11)
        takeSnapshot(slot, into: target)
    default:  // the devstate.h calls on a slot, list recorders included
        switch input.byte() % 4 {
        case 0: beginRun(slot, viaHook: false)
        case 1: recordOperation(slot, argument & 0x7f, &input)
        case 2: endRun(slot, viaHook: false)
        default: freeRecorder(slot)
        }
    }
}

/// The operations added with 0.3.0 (op 0x7f, a bulk op before): windows that open with their
/// first record, runs dropped without a successor, and the count of refused records.
func operation030(_ argument: UInt8, _ input: inout Input) {
    let slot = Int(argument >> 3) % allSlots
    switch argument % 8 {
    case 0, 1:  // devstate_run_arm / devstate_run_discard on any recorder slot
        let handle = recorderHandle(slot)
        let status = argument % 8 == 0 ? devstate_run_arm(handle) : devstate_run_discard(handle)
        if let error = handleError(slot) { return expectStatus(status, is: error, "run_arm/discard") }
        expectStatus(status, is: DEVSTATE_OK, "run_arm/discard")
        if argument % 8 == 0 { recorderModel(slot)!.arm() } else { recorderModel(slot)!.discard() }
    case 2, 3:  // devstate_qemu_arm / devstate_qemu_discard
        let list = listSelector(input.byte(), &input)
        let status = argument % 8 == 2 ? devstate_qemu_arm(list) : devstate_qemu_discard(list)
        guard let model = listModel(list) else { return expectStatus(status, is: DEVSTATE_ERR_NO_LIST, "qemu_arm/discard(\(list))") }
        expectStatus(status, is: DEVSTATE_OK, "qemu_arm/discard(\(list))")
        if argument % 8 == 2 { model.arm() } else { model.discard() }
    case 4:  // devstate_qemu_refused
        let list = listSelector(input.byte(), &input)
        var refused: UInt64 = 0x5a5a
        let status = devstate_qemu_refused(list, &refused)
        let expected = listQueryStatus(list)
        expectStatus(status, is: expected, "qemu_refused(\(list))")
        if expected == DEVSTATE_OK, let model = listModel(list) {
            expect(refused == model.refused, "qemu_refused(\(list)) \(refused) != \(model.refused)")
        }
    case 5:  // NULL arguments of the 0.3.0 calls; none may change anything
        expectStatus(devstate_run_arm(nil), is: DEVSTATE_ERR_NULL, "run_arm(NULL)")
        expectStatus(devstate_run_discard(nil), is: DEVSTATE_ERR_NULL, "run_discard(NULL)")
        expectStatus(devstate_qemu_refused(DEVSTATE_QEMU_LIST_INCOMING, nil), is: DEVSTATE_ERR_NULL, "qemu_refused(l, NULL)")
        expectStatus(devstate_snapshot_refused(nil, nil), is: DEVSTATE_ERR_NULL, "snapshot_refused(NULL)")
        for case .live(let pointer, _) in snapshots {
            expectStatus(devstate_snapshot_refused(pointer, nil), is: DEVSTATE_ERR_NULL, "snapshot_refused(s, NULL)")
        }
        for case .dead(let pointer) in snapshots {
            var refused: UInt64 = 0
            expectStatus(devstate_snapshot_refused(pointer, &refused), is: DEVSTATE_ERR_INVALID_HANDLE, "snapshot_refused on freed")
        }
    default:  // a record through the generic call on an armed or discarded slot
        recordOperation(slot, argument & 0x7f, &input)
    }
}

// MARK: the steps (0.3.0)

/// A step through devstate_step (slot) or devstate_qemu_step (list): every refusal that
/// applies, else kept whatever its duration, with its strings, kind and start.
func step(slot: Int?, list: UInt32?, _ name: CName?, _ device: CName?, _ type: CName?, kind: UInt32,
          start: Int64, end: Int64) {
    let status: Int32
    var errors = nameErrors(name)
    var model: RecorderModel?
    if let slot {
        status = devstate_step(recorderHandle(slot), name?.buffer, device?.buffer, type?.buffer, kind, start, end)
        if let error = handleError(slot) { errors.append(error) } else { model = recorderModel(slot) }
    } else {
        status = devstate_qemu_step(list!, name?.buffer, device?.buffer, type?.buffer, kind, start, end)
        model = listModel(list!)
        if model == nil { errors.append(DEVSTATE_ERR_NO_LIST) }
    }
    func what() -> String { "step(slot \(String(describing: slot)), list \(String(describing: list)), kind \(kind))" }
    for string in [device, type] where (string?.visible.count ?? 0) > Int(DEVSTATE_NAME_MAX) {
        errors.append(DEVSTATE_ERR_NAME_TOO_LONG)
    }
    if kind > DEVSTATE_STEP_MAIN { errors.append(DEVSTATE_ERR_FLAGS) }
    // A step never opens an armed run.
    if let model, model.state != .open { errors.append(DEVSTATE_ERR_NO_RUN) }
    guard let model, errors.isEmpty else {
        expectStatus(status, in: errors, what())
        model?.noteStepRefusal(status)
        return
    }
    expectStatus(status, is: DEVSTATE_OK, what())
    // The exact duration: any two int64 readings differ by less than 2^64.
    let difference = Int128(end) - Int128(start)
    let time: UInt64 = difference > 0 ? UInt64(difference) : 0
    model.entries.append(ModelEntry(name: name!.visible, instance: kind, time: time, flags: DEVSTATE_ENTRY_STEP,
                                    device: device?.visible ?? [], type: type?.visible ?? [], start: start))
    model.noteReading(start)
}

/// devstate_qemu_steps of an ended run: its steps in record order, absent strings NULL.
func listSteps(_ list: UInt32) {
    let unset = UnsafeMutablePointer<devstate_qapi_step_list>(bitPattern: 0x5a5a0)!
    var out: UnsafeMutablePointer<devstate_qapi_step_list>? = unset
    let status = devstate_qemu_steps(list, &out)
    let expectedStatus = listQueryStatus(list)
    expectStatus(status, is: expectedStatus, "qemu_steps(\(list))")
    guard expectedStatus == DEVSTATE_OK, let model = listModel(list) else { return }
    expect(out != unset, "qemu_steps(\(list)) returned OK without setting *out")
    let expected = model.entries.filter { $0.flags == DEVSTATE_ENTRY_STEP }
    var node = out
    var index = 0
    while let current = node {
        let what = "qemu_steps(\(list)) node \(index)"
        expect(index < expected.count, "\(what): list longer than the run's \(expected.count) steps")
        guard let value = current.pointee.value else { fail("\(what): value is NULL") }
        let entry = expected[index]
        expectListName(value.pointee.name, entry.name, what)
        if entry.device.isEmpty { expect(value.pointee.device == nil, "\(what): device not NULL") }
        else { expectListName(value.pointee.device, entry.device, what + " device") }
        if entry.type.isEmpty { expect(value.pointee.device_type == nil, "\(what): type not NULL") }
        else { expectListName(value.pointee.device_type, entry.type, what + " type") }
        expect(value.pointee.kind == entry.instance && value.pointee.time_us == entry.time
               && value.pointee.start_us == stepOffset(entry, origin: model.origin), "\(what): kind/time/start")
        node = current.pointee.next
        index += 1
    }
    expect(index == expected.count, "qemu_steps(\(list)) has \(index) nodes, the run \(expected.count) steps")
    expectStatus(devstate_qapi_step_list_free(out), is: DEVSTATE_OK, "qapi_step_list_free")
}

/// The operations added with the steps (op 0x6f, a bulk op before).
func operationSteps(_ argument: UInt8, _ input: inout Input) {
    switch argument % 4 {
    case 0, 1:  // devstate_step on a recorder slot / devstate_qemu_step on a selector
        let mode = input.byte()
        let name = makeName(&input), device = makeName(&input), type = makeName(&input)
        defer { name.release(); device.release(); type.release() }
        let kind: UInt32 = mode & 0x40 != 0 ? input.u32() : UInt32(mode % 3)
        let start = reading(mode >> 3, &input)
        let end = mode & 0x80 != 0 ? reading(input.byte(), &input) : start &+ Int64(input.byte()) &- 8
        let pick = input.byte()
        let useName = pick & 1 == 0 ? name : nil
        let useDevice = pick & 2 == 0 ? device : nil
        let useType = pick & 4 == 0 ? type : nil
        if argument % 4 == 0 {
            step(slot: Int(argument >> 2) % allSlots, list: nil, useName, useDevice, useType, kind: kind,
                 start: start, end: end)
        } else {
            step(slot: nil, list: listSelector(argument >> 2, &input), useName, useDevice, useType, kind: kind,
                 start: start, end: end)
        }
    case 2:  // devstate_qemu_steps, checked and freed
        listSteps(listSelector(argument >> 2, &input))
    default:  // devstate_snapshot_step on every kind of snapshot slot, and NULLs
        let target = Int(argument >> 2) % snapshots.count
        var info = devstate_step_info()
        switch snapshots[target] {
        case .live(let pointer, let model):
            for (index, entry) in model.entries.enumerated() { verifyStepInfo(pointer, UInt64(index), entry) }
            expectStatus(devstate_snapshot_step(pointer, UInt64(model.entries.count), &info), is: DEVSTATE_ERR_RANGE,
                         "snapshot_step past the end")
            expectStatus(devstate_snapshot_step(pointer, 0, nil), is: DEVSTATE_ERR_NULL, "snapshot_step(s, 0, NULL)")
        case .dead(let pointer):
            expectStatus(devstate_snapshot_step(pointer, 0, &info), is: DEVSTATE_ERR_INVALID_HANDLE,
                         "snapshot_step on freed")
        case .empty:
            expectStatus(devstate_snapshot_step(nil, 0, &info), is: DEVSTATE_ERR_NULL, "snapshot_step(NULL)")
        }
        expectStatus(devstate_qemu_steps(DEVSTATE_QEMU_LIST_INCOMING, nil), is: DEVSTATE_ERR_NULL, "qemu_steps(l, NULL)")
        expectStatus(devstate_qapi_step_list_free(nil), is: DEVSTATE_OK, "qapi_step_list_free(NULL)")
    }
}

func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    var input = Input(bytes: UnsafeBufferPointer(start: data, count: size))
    // The list recorders (the default recorder is list 0) live across inputs: bring them to a
    // known state (ended, empty).
    if !defaultModelKnown {
        for list in 0..<UInt32(listCount) {
            // Their run counters before this process's first input are not known to the model.
            var snapshot: OpaquePointer?
            let status = devstate_snapshot_take(devstate_qemu_recorder(list), &snapshot)
            if status == DEVSTATE_OK {
                var info = devstate_snapshot_info()
                _ = devstate_snapshot_get_info(snapshot, &info)
                listModels[Int(list)].run = info.run
                _ = devstate_snapshot_free(snapshot)
            } else {
                // Never begun: the queries must say so.
                expectStatus(status, is: DEVSTATE_ERR_EMPTY, "snapshot_take of list \(list)")
                listTimes(list)
                listCheckpoints(list)
                if list == 0 { qemuDeviceStateTimes() }
            }
        }
        defaultModelKnown = true
    }
    beginRun(defaultSlot, viaHook: true)
    endRun(defaultSlot, viaHook: true)
    for list in 1..<UInt32(listCount) {
        listBegin(list)
        listEnd(list)
    }
    clock = clockStart

    var operations = 0
    while !input.isEmpty && operations < maxOperations {
        operations += 1
        let op = input.byte()
        let argument = input.byte()
        let slot = Int(argument % 5)          // 4 = the default recorder
        let target = Int((argument >> 3) % 4) // snapshot / string slot
        switch op % 16 {
        case 0: newRecorder(Int(argument % 4))
        case 1: freeRecorder(slot)
        case 2: beginRun(slot, viaHook: argument & 0x80 != 0)
        case 3, 4: recordOperation(slot, argument, &input)
        case 5: endRun(slot, viaHook: argument & 0x80 != 0)
        case 6: takeSnapshot(slot, into: target)
        case 7: freeSnapshot(target)
        case 8: inspectSnapshot(target, probe: UInt64(input.byte()))
        case 9:
            let which = input.byte()
            let flags: UInt32 = which & 0x80 != 0 ? input.u32() : UInt32(which & 1)
            makeJSON(target, into: Int(which >> 1) % 4, flags: flags)
        case 10: freeJSON(target)
        case 11: qapiFromSnapshot(target)
        case 12: qemuDeviceStateTimes()
        case 13: checkStaticQueries(Int32(bitPattern: input.u32()))
        case 14: nullArguments(slot)
        case 15 where op >= 0x80 && op < 0xf0: operation020(Int(op >> 4) - 8, argument, &input)
        case 15 where op == 0x7f: operation030(argument, &input)
        case 15 where op == 0x6f: operationSteps(argument, &input)
        default:
            // Many short records: grows the entry array (64, 128, ...) and the name arena (4096, ...).
            guard let model = recorderModel(slot), model.entries.count < maxEntriesPerRecorder else { continue }
            let count = Int(input.byte() % 64)
            for index in 0..<count {
                let name = CName(bytes: Array("dev\(index)/".utf8) + Array(repeating: argument, count: index % 50 + 1)
                                 .map { $0 == 0 ? 0x30 : $0 }, terminate: true)
                record(slot, name, instance: UInt32(index), time: UInt64(index % 7), flags: UInt32(index & 1), hook: nil)
                name.release()
            }
        }
    }
    releaseEverything()
    return 0
}

setvbuf(stdout, nil, _IOLBF, 0)
runFuzzer(fuzzOne)
