// SPDX-License-Identifier: MIT
import CShim

/// How an entry's state was saved, which decides whether the reference patch would record it.
public enum EntryKind: Sendable, Equatable {
    /// Saved through a vmsd: the only kind the reference patch records.
    case vmsd
    /// No vmsd; saved by a `save_state` handler (10.0: slirp, VFIO). Recorded only on opt-in.
    case handler
    /// An iterable section (ram, dirty-bitmap, block): its switchover save or one of its loads.
    case iterable
    /// A named point in time: the entry's time is a clock reading, not a duration.
    case checkpoint

    var flags: UInt32 {
        switch self {
        case .vmsd: DEVSTATE_ENTRY_VMSD
        case .handler: DEVSTATE_ENTRY_HANDLER
        case .iterable: DEVSTATE_ENTRY_ITERABLE
        case .checkpoint: DEVSTATE_ENTRY_CHECKPOINT
        }
    }

    /// Nil unless `flags` is exactly one DEVSTATE_ENTRY_* value.
    init?(flags: UInt32) {
        switch flags {
        case DEVSTATE_ENTRY_VMSD: self = .vmsd
        case DEVSTATE_ENTRY_HANDLER: self = .handler
        case DEVSTATE_ENTRY_ITERABLE: self = .iterable
        case DEVSTATE_ENTRY_CHECKPOINT: self = .checkpoint
        default: return nil
        }
    }
}

/// A kept entry as stored: its name lives in a byte arena, so recording copies bytes and
/// never allocates per entry.
struct EntryRecord {
    var nameOffset: UInt32
    var nameLength: UInt32
    var instanceID: UInt32
    var flags: UInt32
    var saveTime: UInt64
}

enum RunState {
    case never, open, ended
    /// Freed through the C ABI: every call is refused until the recorder is reissued.
    case retired
}

/// A recorder's mutable state. It lives behind a pointer so that the hot path reads and writes
/// plain memory under the recorder's lock, without the dynamic exclusivity checks that Swift
/// puts on a class's stored `var`s.
struct RecorderState {
    var entries: UnsafeMutablePointer<EntryRecord>?
    var entryCapacity = 0
    var count = 0
    var arena: UnsafeMutablePointer<UInt8>?
    var arenaCapacity = 0
    var arenaUsed = 0
    var skippedZero: UInt64 = 0
    var dropped: UInt64 = 0
    var run: UInt64 = 0
    var phase = RunState.never
    /// The earliest clock reading of the run (a span's start or a checkpoint), from which
    /// checkpoint times are counted; meaningful only when `hasOrigin`.
    var origin: Int64 = 0
    var hasOrigin = false

    mutating func releaseStorage() {
        devstate_shim_free(entries)
        devstate_shim_free(arena)
        entries = nil
        arena = nil
        entryCapacity = 0
        arenaCapacity = 0
        count = 0
        arenaUsed = 0
    }
}

/// Records per-device save times for one run at a time.
///
/// A run begins with `beginRun()` (dropping the previous run), takes `record` calls, and ends
/// with `endRun()`. `snapshot()` deep-copies the latest run. All methods are thread-safe: QEMU
/// records from its migration thread and queries from its main loop.
public final class Recorder: @unchecked Sendable {
    private let lock: UnsafeMutablePointer<devstate_shim_lock>
    /// Guarded by `lock`.
    private let state: UnsafeMutablePointer<RecorderState>
    /// Most entries one run keeps; further records are dropped and counted.
    let maxEntries: Int
    let isDefault: Bool

    /// The process-wide recorder that the QEMU hooks use (`devstate_default_recorder()`).
    public static let shared: Recorder = Recorder(isDefault: true)

    /// A new, empty recorder.
    public convenience init() {
        self.init(isDefault: false)
    }

    /// A recorder whose runs keep at most `maxEntries` entries (for testing the cap).
    public convenience init(maxEntries: Int) {
        self.init(isDefault: false, maxEntries: maxEntries)
    }

    convenience init(isDefault: Bool, maxEntries: Int = Int(DEVSTATE_MAX_ENTRIES)) {
        guard let lock = devstate_shim_lock_new() else {
            fatalError("DeviceStateTimes: cannot allocate a lock")
        }
        self.init(lock: lock, isDefault: isDefault, maxEntries: maxEntries)
    }

    private init(lock: UnsafeMutablePointer<devstate_shim_lock>, isDefault: Bool, maxEntries: Int) {
        self.lock = lock
        state = .allocate(capacity: 1)
        state.initialize(to: RecorderState())
        self.isDefault = isDefault
        self.maxEntries = max(0, maxEntries)
    }

    /// For the C ABI, which must report exhaustion rather than stop the process.
    static func make() -> Recorder? {
        guard let lock = devstate_shim_lock_new() else { return nil }
        return Recorder(lock: lock, isDefault: false, maxEntries: Int(DEVSTATE_MAX_ENTRIES))
    }

    deinit {
        state.pointee.releaseStorage()
        state.deinitialize(count: 1)
        state.deallocate()
        devstate_shim_lock_free(lock)
    }

    @inline(__always)
    private func locked<R>(_ body: (inout RecorderState) -> R) -> R {
        devstate_shim_lock_acquire(lock)
        defer { devstate_shim_lock_release(lock) }
        return body(&state.pointee)
    }

    // MARK: lifecycle

    /// Opens a new run, dropping the previous one; storage is kept for reuse.
    public func beginRun() {
        _ = beginRunStatus()
    }

    func beginRunStatus() -> Int32 {
        locked { state in
            guard state.phase != .retired else { return DEVSTATE_ERR_INVALID_HANDLE }
            state.count = 0
            state.arenaUsed = 0
            state.skippedZero = 0
            state.dropped = 0
            state.hasOrigin = false
            state.run &+= 1
            state.phase = .open
            return DEVSTATE_OK
        }
    }

    /// Closes the open run. Throws `.noRun` when none is open.
    public func endRun() throws(DeviceStateError) {
        let status = endRunStatus()
        if status != DEVSTATE_OK { throw DeviceStateError(code: status) ?? .noRun }
    }

    func endRunStatus() -> Int32 {
        locked { state in
            switch state.phase {
            case .retired: return DEVSTATE_ERR_INVALID_HANDLE
            case .open:
                state.phase = .ended
                return DEVSTATE_OK
            case .never, .ended: return DEVSTATE_ERR_NO_RUN
            }
        }
    }

    /// Marks the recorder freed (C ABI) and releases its storage. False if it already was.
    func retire() -> Bool {
        locked { state in
            guard state.phase != .retired else { return false }
            state.releaseStorage()
            state.phase = .retired
            return true
        }
    }

    /// Brings a retired recorder back as a new, empty one.
    func revive() {
        locked { state in
            state = RecorderState()
        }
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

    private func outcome(_ status: Int32) throws(DeviceStateError) -> RecordOutcome {
        switch status {
        case DEVSTATE_OK: return .kept
        case DEVSTATE_SKIPPED_ZERO: return .skippedZero
        default: throw DeviceStateError(code: status) ?? .null
        }
    }

    private func record(checkedName name: UnsafeBufferPointer<UInt8>, instanceID: UInt32,
                        saveTime: UInt64, flags: UInt32) -> Int32 {
        guard let base = name.baseAddress, !name.isEmpty else { return DEVSTATE_ERR_NAME_EMPTY }
        guard name.count <= Int(DEVSTATE_NAME_MAX) else { return DEVSTATE_ERR_NAME_TOO_LONG }
        // A C host could never see the bytes after an embedded NUL.
        guard !name.contains(0) else { return DEVSTATE_ERR_NAME_NUL }
        return record(validName: base, length: name.count, instanceID: instanceID,
                      saveTime: saveTime, flags: flags)
    }

    /// The hot path. The caller has checked the name (1...255 bytes, no NUL) and the flags.
    /// `originCandidate` is a span's start reading; a checkpoint's own reading counts as one.
    @inline(__always)
    func record(validName name: UnsafePointer<UInt8>, length: Int, instanceID: UInt32,
                saveTime: UInt64, flags: UInt32, originCandidate: Int64? = nil) -> Int32 {
        devstate_shim_lock_acquire(lock)
        defer { devstate_shim_lock_release(lock) }
        let state = self.state
        guard state.pointee.phase == .open else {
            return state.pointee.phase == .retired ? DEVSTATE_ERR_INVALID_HANDLE : DEVSTATE_ERR_NO_RUN
        }
        let isCheckpoint = flags == DEVSTATE_ENTRY_CHECKPOINT
        // A skipped 0 µs span still began at its reading; a refused record changes nothing.
        let reading = isCheckpoint ? Int64(bitPattern: saveTime) : originCandidate
        guard saveTime != 0 || isCheckpoint else {
            state.pointee.skippedZero &+= 1
            Self.noteOrigin(reading, in: state)
            return DEVSTATE_SKIPPED_ZERO
        }
        let count = state.pointee.count
        guard count < maxEntries else {
            state.pointee.dropped &+= 1
            return DEVSTATE_ERR_FULL
        }
        if count == state.pointee.entryCapacity,
           !Self.growEntries(&state.pointee, limit: maxEntries) { return DEVSTATE_ERR_NOMEM }
        // Bounded by maxEntries × 256 bytes, far from overflowing.
        let offset = state.pointee.arenaUsed
        let needed = offset &+ length &+ 1
        if needed > state.pointee.arenaCapacity,
           !Self.growArena(&state.pointee, toHold: needed) { return DEVSTATE_ERR_NOMEM }
        let destination = state.pointee.arena.unsafelyUnwrapped + offset
        devstate_shim_memcpy(destination, name, length)
        destination[length] = 0
        (state.pointee.entries.unsafelyUnwrapped + count).initialize(to: EntryRecord(
            nameOffset: UInt32(truncatingIfNeeded: offset),
            nameLength: UInt32(truncatingIfNeeded: length),
            instanceID: instanceID, flags: flags, saveTime: saveTime))
        state.pointee.arenaUsed = needed
        state.pointee.count = count &+ 1
        Self.noteOrigin(reading, in: state)
        return DEVSTATE_OK
    }

    @inline(__always)
    private static func noteOrigin(_ reading: Int64?, in state: UnsafeMutablePointer<RecorderState>) {
        guard let reading, !state.pointee.hasOrigin || reading < state.pointee.origin else { return }
        state.pointee.origin = reading
        state.pointee.hasOrigin = true
    }

    private static func growEntries(_ state: inout RecorderState, limit: Int) -> Bool {
        let newCapacity = min(limit, max(64, state.entryCapacity * 2))
        let bytes = newCapacity * MemoryLayout<EntryRecord>.stride
        guard let raw = devstate_shim_realloc(state.entries, bytes) else { return false }
        state.entries = raw.bindMemory(to: EntryRecord.self, capacity: newCapacity)
        state.entryCapacity = newCapacity
        return true
    }

    private static func growArena(_ state: inout RecorderState, toHold needed: Int) -> Bool {
        var newCapacity = max(4096, state.arenaCapacity)
        while newCapacity < needed { newCapacity *= 2 }
        guard let raw = devstate_shim_realloc(state.arena, newCapacity) else { return false }
        state.arena = raw.bindMemory(to: UInt8.self, capacity: newCapacity)
        state.arenaCapacity = newCapacity
        return true
    }

    // MARK: querying

    /// A deep copy of the latest run (open or ended). Throws `.empty` before the first run.
    public func snapshot() throws(DeviceStateError) -> Snapshot {
        var status: Int32 = DEVSTATE_OK
        guard let copy = snapshot(status: &status) else {
            throw DeviceStateError(code: status) ?? .noMemory
        }
        return copy
    }

    /// Copies without holding the lock across allocation, so a recording thread waits only
    /// for the memcpy; retries if the run grew in between.
    func snapshot(status: inout Int32) -> Snapshot? {
        while true {
            var sizes = (entries: 0, bytes: 0)
            status = locked { state in
                switch state.phase {
                case .retired: return DEVSTATE_ERR_INVALID_HANDLE
                case .never: return DEVSTATE_ERR_EMPTY
                case .open, .ended:
                    sizes = (state.count, state.arenaUsed)
                    return DEVSTATE_OK
                }
            }
            guard status == DEVSTATE_OK else { return nil }
            guard var storage = SnapshotStorage(entries: sizes.entries, bytes: sizes.bytes) else {
                status = DEVSTATE_ERR_NOMEM
                return nil
            }
            let copied: Snapshot? = locked { state in
                guard state.phase == .open || state.phase == .ended,
                      state.count <= sizes.entries, state.arenaUsed <= sizes.bytes else { return nil }
                storage.fill(entries: state.entries, count: state.count, arena: state.arena,
                             bytes: state.arenaUsed)
                return Snapshot(storage: storage, skippedZero: state.skippedZero,
                                dropped: state.dropped, run: state.run,
                                isComplete: state.phase == .ended,
                                origin: state.hasOrigin ? state.origin : nil)
            }
            if let copied { return copied }
            // The run grew, was reset or the recorder was freed meanwhile: size it again.
            storage.release()
        }
    }
}
