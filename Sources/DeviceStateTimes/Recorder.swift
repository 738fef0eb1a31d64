// SPDX-License-Identifier: MIT
import CShim

/// Records per-device save times for one run at a time.
///
/// A run begins with `beginRun()` (dropping the previous run), takes `record` calls, and ends
/// with `endRun()`. `snapshot()` deep-copies the latest run. All methods are thread-safe: QEMU
/// records from its migration thread and queries from its main loop.
///
/// This is the Swift face of the same block the C ABI hands out (`RecorderRef`). A Swift
/// object is allocated by the Swift runtime, which stops the process when memory is exhausted;
/// hosts that must never stop (QEMU) use the C ABI, where exhaustion is DEVSTATE_ERR_NOMEM.
public final class Recorder: @unchecked Sendable {
    let ref: RecorderRef
    private let owned: Bool

    /// The process-wide recorder that the QEMU hooks use (`devstate_default_recorder()`).
    public static let shared: Recorder = {
        guard let list = Handles.list(Int(DEVSTATE_QEMU_LIST_NON_ITERABLE_SAVES)) else {
            preconditionFailure("DeviceStateTimes: out of memory")
        }
        return Recorder(ref: list, owned: false)
    }()

    /// A new, empty recorder.
    public convenience init() {
        self.init(maxEntries: Int(DEVSTATE_MAX_ENTRIES))
    }

    /// A recorder whose runs keep at most `maxEntries` entries (for testing the cap).
    public convenience init(maxEntries: Int) {
        guard let ref = RecorderRef.make(isDefault: false, maxEntries: maxEntries) else {
            preconditionFailure("DeviceStateTimes: out of memory")
        }
        self.init(ref: ref, owned: true)
    }

    private init(ref: RecorderRef, owned: Bool) {
        self.ref = ref
        self.owned = owned
    }

    deinit {
        if owned { ref.destroy() }
    }

    // MARK: lifecycle

    /// Opens a new run, dropping the previous one; storage is kept for reuse.
    public func beginRun() {
        _ = ref.begin()
    }

    /// Drops the run; the next record opens a new one (a window that opens with its first entry).
    public func armRun() {
        _ = ref.arm()
    }

    /// Drops the run, leaving nothing to report and nothing to record into until the next
    /// `beginRun()` or `armRun()`.
    public func discardRun() {
        _ = ref.discard()
    }

    /// Closes the open run. Throws `.noRun` when none is open.
    public func endRun() throws(DeviceStateError) {
        let status = ref.end()
        if status != DEVSTATE_OK { throw DeviceStateError(code: status) ?? .noRun }
    }

    // MARK: recording

    /// Records one entry. `name` is kept as its UTF-8 bytes, 1 to 255 of them, no NUL.
    @discardableResult
    public func record(name: String, instanceID: UInt32, saveTime: UInt64,
                       kind: EntryKind = .vmsd) throws(DeviceStateError) -> RecordOutcome {
        var name = name
        let status = name.withUTF8 {
            record(checkedName: $0, instanceID: instanceID, saveTime: saveTime, flags: kind.flags)
        }
        return try outcome(status)
    }

    /// Records the checkpoint `name` at the clock reading `time` (µs); kept whatever the reading.
    @discardableResult
    public func checkpoint(name: String, time: Int64) throws(DeviceStateError) -> RecordOutcome {
        try record(name: name, instanceID: 0, saveTime: UInt64(bitPattern: time), kind: .checkpoint)
    }

    /// Records one entry whose name is arbitrary bytes (not necessarily UTF-8), 1 to 255, no NUL.
    @discardableResult
    public func record(nameBytes: some Collection<UInt8>, instanceID: UInt32, saveTime: UInt64,
                       kind: EntryKind = .vmsd) throws(DeviceStateError) -> RecordOutcome {
        let status = nameBytes.withContiguousStorageIfAvailable {
            record(checkedName: $0, instanceID: instanceID, saveTime: saveTime, flags: kind.flags)
        } ?? Array(nameBytes).withUnsafeBufferPointer {
            record(checkedName: $0, instanceID: instanceID, saveTime: saveTime, flags: kind.flags)
        }
        return try outcome(status)
    }

    /// The same for bytes in memory: a call that is not generic, so it costs no dispatch
    /// through `Collection` (the report feeds every device line of a long log through here).
    @discardableResult
    public func record(nameBytes: UnsafeBufferPointer<UInt8>, instanceID: UInt32, saveTime: UInt64,
                       kind: EntryKind = .vmsd) throws(DeviceStateError) -> RecordOutcome {
        try outcome(record(checkedName: nameBytes, instanceID: instanceID, saveTime: saveTime, flags: kind.flags))
    }

    /// Records a step of the downtime that is not a device's state: a run-state handler's call
    /// or a named piece of work, from the clock reading `start` to `end` (µs). `device` and
    /// `deviceType` may be empty for none; every string is 0 to 255 UTF-8 bytes without NUL,
    /// the name at least 1. A 0 µs step is kept. A step does not open an armed run.
    public func recordStep(name: String, device: String = "", deviceType: String = "",
                           kind: StepKind = .work, start: Int64, end: Int64) throws(DeviceStateError) {
        var name = name, device = device, deviceType = deviceType
        let status: Int32 = name.withUTF8 { name in
            device.withUTF8 { device in
                deviceType.withUTF8 { deviceType in
                    guard let base = name.baseAddress, !name.isEmpty else {
                        return ref.refuseStep(DEVSTATE_ERR_NAME_EMPTY)
                    }
                    let maximum = Int(DEVSTATE_NAME_MAX)
                    guard name.count <= maximum, device.count <= maximum, deviceType.count <= maximum else {
                        return ref.refuseStep(DEVSTATE_ERR_NAME_TOO_LONG)
                    }
                    guard !name.contains(0), !device.contains(0), !deviceType.contains(0) else {
                        return ref.refuseStep(DEVSTATE_ERR_NAME_NUL)
                    }
                    return ref.recordStep(
                        StepStrings(name: base, nameLength: name.count, device: device.baseAddress,
                                    deviceLength: device.count, deviceType: deviceType.baseAddress,
                                    typeLength: deviceType.count),
                        kind: kind.rawValue, start: start, end: end)
                }
            }
        }
        _ = try outcome(status)
    }

    private func outcome(_ status: Int32) throws(DeviceStateError) -> RecordOutcome {
        switch status {
        case DEVSTATE_OK: return .kept
        case DEVSTATE_SKIPPED_ZERO: return .skippedZero
        default: throw DeviceStateError(code: status) ?? .null
        }
    }

    private func record(checkedName name: UnsafeBufferPointer<UInt8>, instanceID: UInt32,
                        saveTime: UInt64, flags: UInt32) -> Int32 {
        // A step carries more than a name and a time: recordStep records it.
        guard flags != DEVSTATE_ENTRY_STEP else { return ref.refuse(DEVSTATE_ERR_FLAGS) }
        guard let base = name.baseAddress, !name.isEmpty else { return ref.refuse(DEVSTATE_ERR_NAME_EMPTY) }
        guard name.count <= Int(DEVSTATE_NAME_MAX) else { return ref.refuse(DEVSTATE_ERR_NAME_TOO_LONG) }
        // A C host could never see the bytes after an embedded NUL.
        guard !name.contains(0) else { return ref.refuse(DEVSTATE_ERR_NAME_NUL) }
        return ref.record(validName: base, length: name.count, instanceID: instanceID,
                          saveTime: saveTime, flags: flags)
    }

    // MARK: querying

    /// A deep copy of the latest run (open or ended). Throws `.empty` when there is nothing
    /// to report: before the first run, or after `discardRun()`/`armRun()` until a run opens.
    public func snapshot() throws(DeviceStateError) -> Snapshot {
        var status: Int32 = DEVSTATE_OK
        guard let copy = ref.copyRun(status: &status) else {
            throw DeviceStateError(code: status) ?? .noMemory
        }
        return Snapshot(copy)
    }
}
