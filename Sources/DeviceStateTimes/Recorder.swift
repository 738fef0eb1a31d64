import CShim

/// How an entry's state was saved, which decides whether the reference patch would record it.
public enum EntryKind: Sendable, Equatable {
    /// Saved through a vmsd: the only kind the reference patch records.
    case vmsd
    /// No vmsd; saved by a `save_state` handler (10.0: slirp, VFIO). Recorded only on opt-in.
    case handler

    var flags: UInt32 {
        switch self {
        case .vmsd: DEVSTATE_ENTRY_VMSD
        case .handler: DEVSTATE_ENTRY_HANDLER
        }
    }

    init?(flags: UInt32) {
        switch flags {
        case DEVSTATE_ENTRY_VMSD: self = .vmsd
        case DEVSTATE_ENTRY_HANDLER: self = .handler
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
}

/// Records per-device save times for one run at a time.
///
/// A run begins with `beginRun()` (dropping the previous run), takes `record` calls, and ends
/// with `endRun()`. `snapshot()` deep-copies the latest run. All methods are thread-safe: QEMU
/// records from its migration thread and queries from its main loop.
public final class Recorder: @unchecked Sendable {
    private let lock: UnsafeMutablePointer<devstate_shim_lock>
    private var entries: UnsafeMutablePointer<EntryRecord>?
    private var entryCapacity = 0
    private var count = 0
    private var arena: UnsafeMutablePointer<UInt8>?
    private var arenaCapacity = 0
    private var arenaUsed = 0
    private var skippedZero: UInt64 = 0
    private var dropped: UInt64 = 0
    private var run: UInt64 = 0
    private var state = RunState.never
    /// False once freed through the C ABI; such a recorder refuses every call.
    private var isLive = true
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

    init(isDefault: Bool, maxEntries: Int = Int(DEVSTATE_MAX_ENTRIES)) {
        guard let lock = devstate_shim_lock_new() else {
            fatalError("DeviceStateTimes: cannot allocate a mutex")
        }
        self.lock = lock
        self.isDefault = isDefault
        self.maxEntries = max(0, maxEntries)
    }

    /// For the C ABI, which must report exhaustion rather than stop the process.
    static func make() -> Recorder? {
        guard let probe = devstate_shim_lock_new() else { return nil }
        devstate_shim_lock_free(probe)
        return Recorder(isDefault: false)
    }

    deinit {
        releaseStorage()
        devstate_shim_lock_free(lock)
    }

    private func releaseStorage() {
        devstate_shim_free(entries)
        devstate_shim_free(arena)
        entries = nil
        arena = nil
        entryCapacity = 0
        arenaCapacity = 0
    }

    @inline(__always)
    private func locked<R>(_ body: () -> R) -> R {
        devstate_shim_lock_acquire(lock)
        defer { devstate_shim_lock_release(lock) }
        return body()
    }

    // MARK: lifecycle

    /// Opens a new run, dropping the previous one; storage is kept for reuse.
    public func beginRun() {
        _ = beginRunStatus()
    }

    func beginRunStatus() -> Int32 {
        locked {
            guard isLive else { return DEVSTATE_ERR_INVALID_HANDLE }
            count = 0
            arenaUsed = 0
            skippedZero = 0
            dropped = 0
            run &+= 1
            state = .open
            return DEVSTATE_OK
        }
    }

    /// Closes the open run. Throws `.noRun` when none is open.
    public func endRun() throws(DeviceStateError) {
        let status = endRunStatus()
        if status != DEVSTATE_OK { throw DeviceStateError(code: status) ?? .noRun }
    }

    func endRunStatus() -> Int32 {
        locked {
            guard isLive else { return DEVSTATE_ERR_INVALID_HANDLE }
            guard state == .open else { return DEVSTATE_ERR_NO_RUN }
            state = .ended
            return DEVSTATE_OK
        }
    }

    /// Marks the recorder freed (C ABI) and releases its storage. False if it already was.
    func retire() -> Bool {
        locked {
            guard isLive else { return false }
            isLive = false
            releaseStorage()
            count = 0
            arenaUsed = 0
            return true
        }
    }

    /// Brings a retired recorder back as a new, empty one.
    func revive() {
        locked {
            isLive = true
            state = .never
            run = 0
            skippedZero = 0
            dropped = 0
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
    @inline(__always)
    func record(validName name: UnsafePointer<UInt8>, length: Int, instanceID: UInt32,
                saveTime: UInt64, flags: UInt32) -> Int32 {
        devstate_shim_lock_acquire(lock)
        defer { devstate_shim_lock_release(lock) }
        guard isLive else { return DEVSTATE_ERR_INVALID_HANDLE }
        guard state == .open else { return DEVSTATE_ERR_NO_RUN }
        guard saveTime != 0 else {
            skippedZero &+= 1
            return DEVSTATE_SKIPPED_ZERO
        }
        guard count < maxEntries else {
            dropped &+= 1
            return DEVSTATE_ERR_FULL
        }
        if count == entryCapacity, !growEntries() { return DEVSTATE_ERR_NOMEM }
        let needed = arenaUsed + length + 1
        if needed > arenaCapacity, !growArena(toHold: needed) { return DEVSTATE_ERR_NOMEM }
        let destination = arena.unsafelyUnwrapped + arenaUsed
        destination.update(from: name, count: length)
        destination[length] = 0
        (entries.unsafelyUnwrapped + count).initialize(to: EntryRecord(
            nameOffset: UInt32(truncatingIfNeeded: arenaUsed),
            nameLength: UInt32(truncatingIfNeeded: length),
            instanceID: instanceID, flags: flags, saveTime: saveTime))
        arenaUsed = needed
        count += 1
        return DEVSTATE_OK
    }

    private func growEntries() -> Bool {
        let newCapacity = min(maxEntries, max(64, entryCapacity * 2))
        let bytes = newCapacity * MemoryLayout<EntryRecord>.stride
        guard let raw = devstate_shim_realloc(entries, bytes) else { return false }
        entries = raw.bindMemory(to: EntryRecord.self, capacity: newCapacity)
        entryCapacity = newCapacity
        return true
    }

    private func growArena(toHold needed: Int) -> Bool {
        var newCapacity = max(4096, arenaCapacity)
        while newCapacity < needed { newCapacity *= 2 }
        guard let raw = devstate_shim_realloc(arena, newCapacity) else { return false }
        arena = raw.bindMemory(to: UInt8.self, capacity: newCapacity)
        arenaCapacity = newCapacity
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
            status = locked {
                guard isLive else { return DEVSTATE_ERR_INVALID_HANDLE }
                guard state != .never else { return DEVSTATE_ERR_EMPTY }
                sizes = (count, arenaUsed)
                return DEVSTATE_OK
            }
            guard status == DEVSTATE_OK else { return nil }
            guard var storage = SnapshotStorage(entries: sizes.entries, bytes: sizes.bytes) else {
                status = DEVSTATE_ERR_NOMEM
                return nil
            }
            let copied: Snapshot? = locked {
                guard isLive, state != .never else { return nil }
                guard count <= sizes.entries, arenaUsed <= sizes.bytes else { return nil }
                storage.fill(entries: entries, count: count, arena: arena, bytes: arenaUsed)
                return Snapshot(storage: storage, skippedZero: skippedZero, dropped: dropped,
                                run: run, isComplete: state == .ended)
            }
            if let copied { return copied }
            storage.release()
            let stillValid = locked { isLive && state != .never }
            if !stillValid {
                status = isLive ? DEVSTATE_ERR_EMPTY : DEVSTATE_ERR_INVALID_HANDLE
                return nil
            }
        }
    }
}
