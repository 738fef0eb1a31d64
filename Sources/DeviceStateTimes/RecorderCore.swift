// SPDX-License-Identifier: MIT
// A recorder's lock, storage and run state in one malloc'd block. The C ABI hands these blocks
// out as handles and the Swift `Recorder` wraps one; nothing here allocates through the Swift
// runtime, so running out of memory is a status code (DEVSTATE_ERR_NOMEM), never a trap.
import CShim

/// Where a recorder is in its run's life.
enum RunState {
    /// Nothing to report: no run began yet, or the last one was discarded.
    case none
    /// The previous run was dropped; the next record opens a new run (a downtime window that
    /// opens with its first entry).
    case armed
    case open
    case ended
    /// Freed through the C ABI: every call is refused until the recorder is reissued.
    case retired
}

/// The mutable part of a recorder, guarded by its lock.
struct RecorderState {
    var entries: UnsafeMutablePointer<EntryRecord>?
    var entryCapacity = 0
    var count = 0
    var arena: UnsafeMutablePointer<UInt8>?
    var arenaCapacity = 0
    var arenaUsed = 0
    var skippedZero: UInt64 = 0
    /// Records refused with DEVSTATE_ERR_FULL (0.1.0's `dropped`).
    var dropped: UInt64 = 0
    /// Every record refused while the run was open, whatever the reason (since 0.3.0).
    var refused: UInt64 = 0
    var run: UInt64 = 0
    var phase = RunState.none
    /// The earliest clock reading of the run (a span's start or a checkpoint), from which
    /// checkpoint times are counted; meaningful only when `hasOrigin`.
    var origin: Int64 = 0
    var hasOrigin = false

    /// Drops the run's entries and counts; storage is kept for the next run.
    mutating func clear() {
        count = 0
        arenaUsed = 0
        skippedZero = 0
        dropped = 0
        refused = 0
        hasOrigin = false
    }

    mutating func open() {
        clear()
        run &+= 1
        phase = .open
    }

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

/// The block itself. Never moved once allocated; a handle is its address.
struct RecorderCore {
    let lock: UnsafeMutablePointer<devstate_shim_lock>
    var state: RecorderState
    /// Most entries one run keeps; further records are dropped and counted.
    let maxEntries: Int
    /// A default recorder (devstate_default_recorder, the QEMU lists): never freed.
    let isDefault: Bool
    /// The next block in the handle registry's list of retired recorders.
    var nextRetired: UnsafeMutablePointer<RecorderCore>?
}

/// A borrowed reference to a core: what the C ABI and `Recorder` work through.
struct RecorderRef {
    let core: UnsafeMutablePointer<RecorderCore>

    init(_ core: UnsafeMutablePointer<RecorderCore>) {
        self.core = core
    }

    init(handle: OpaquePointer) {
        core = UnsafeMutablePointer<RecorderCore>(handle)
    }

    var handle: OpaquePointer { OpaquePointer(core) }

    /// A new, empty recorder with malloc'd lock and block; nil when memory is exhausted.
    static func make(isDefault: Bool, maxEntries: Int = Int(DEVSTATE_MAX_ENTRIES)) -> RecorderRef? {
        guard let lock = devstate_shim_lock_new() else { return nil }
        guard let raw = devstate_shim_calloc(1, MemoryLayout<RecorderCore>.stride) else {
            devstate_shim_lock_free(lock)
            return nil
        }
        let core = raw.bindMemory(to: RecorderCore.self, capacity: 1)
        core.initialize(to: RecorderCore(lock: lock, state: RecorderState(), maxEntries: max(0, maxEntries),
                                         isDefault: isDefault, nextRetired: nil))
        return RecorderRef(core)
    }

    /// Frees a block made by `make` that no handle refers to (the Swift `Recorder`'s own).
    func destroy() {
        core.pointee.state.releaseStorage()
        let lock = core.pointee.lock
        core.deinitialize(count: 1)
        devstate_shim_free(core)
        devstate_shim_lock_free(lock)
    }

    var isDefault: Bool { core.pointee.isDefault }

    @inline(__always)
    func locked<R>(_ body: (inout RecorderState) -> R) -> R {
        devstate_shim_lock_acquire(core.pointee.lock)
        defer { devstate_shim_lock_release(core.pointee.lock) }
        return body(&core.pointee.state)
    }

    // MARK: lifecycle

    /// Opens a new run, dropping the previous one; storage is kept for reuse.
    func begin() -> Int32 {
        locked { state in
            guard state.phase != .retired else { return DEVSTATE_ERR_INVALID_HANDLE }
            state.open()
            return DEVSTATE_OK
        }
    }

    /// Drops the run and waits for the next record to open a new one.
    func arm() -> Int32 {
        locked { state in
            guard state.phase != .retired else { return DEVSTATE_ERR_INVALID_HANDLE }
            state.clear()
            state.phase = .armed
            return DEVSTATE_OK
        }
    }

    /// Drops the run, leaving nothing to report and no run to record into.
    func discard() -> Int32 {
        locked { state in
            guard state.phase != .retired else { return DEVSTATE_ERR_INVALID_HANDLE }
            state.clear()
            state.phase = .none
            return DEVSTATE_OK
        }
    }

    func end() -> Int32 {
        locked { state in
            switch state.phase {
            case .retired: return DEVSTATE_ERR_INVALID_HANDLE
            case .open:
                state.phase = .ended
                return DEVSTATE_OK
            case .none, .armed, .ended: return DEVSTATE_ERR_NO_RUN
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

    /// Counts a record that was refused before it reached the run (a bad name or flags): the
    /// run loses an entry as surely as when it is full. An armed run opens for it.
    func refuse(_ status: Int32) -> Int32 {
        locked { state in
            if state.phase == .armed { state.open() }
            if state.phase == .open { state.refused &+= 1 }
        }
        return status
    }

    /// The hot path. The caller has checked the name (1...255 bytes, no NUL) and the flags.
    /// `originCandidate` is a span's start reading; a checkpoint's own reading counts as one.
    @inline(__always)
    func record(validName name: UnsafePointer<UInt8>, length: Int, instanceID: UInt32,
                saveTime: UInt64, flags: UInt32, originCandidate: Int64? = nil) -> Int32 {
        let core = self.core
        devstate_shim_lock_acquire(core.pointee.lock)
        defer { devstate_shim_lock_release(core.pointee.lock) }
        switch core.pointee.state.phase {
        case .open: break
        case .armed: core.pointee.state.open()
        case .retired: return DEVSTATE_ERR_INVALID_HANDLE
        case .none, .ended: return DEVSTATE_ERR_NO_RUN
        }
        let isCheckpoint = flags == DEVSTATE_ENTRY_CHECKPOINT
        // A skipped 0 µs span still began at its reading; a refused record changes nothing.
        let reading = isCheckpoint ? Int64(bitPattern: saveTime) : originCandidate
        guard saveTime != 0 || isCheckpoint else {
            core.pointee.state.skippedZero &+= 1
            Self.noteOrigin(reading, in: &core.pointee.state)
            return DEVSTATE_SKIPPED_ZERO
        }
        let count = core.pointee.state.count
        guard count < core.pointee.maxEntries else {
            core.pointee.state.dropped &+= 1
            core.pointee.state.refused &+= 1
            return DEVSTATE_ERR_FULL
        }
        if count == core.pointee.state.entryCapacity,
           !Self.growEntries(&core.pointee.state, limit: core.pointee.maxEntries) {
            core.pointee.state.refused &+= 1
            return DEVSTATE_ERR_NOMEM
        }
        // Bounded by maxEntries × 256 bytes, far from overflowing.
        let offset = core.pointee.state.arenaUsed
        let needed = offset &+ length &+ 1
        if needed > core.pointee.state.arenaCapacity, !Self.growArena(&core.pointee.state, toHold: needed) {
            core.pointee.state.refused &+= 1
            return DEVSTATE_ERR_NOMEM
        }
        let destination = core.pointee.state.arena.unsafelyUnwrapped + offset
        devstate_shim_memcpy(destination, name, length)
        destination[length] = 0
        (core.pointee.state.entries.unsafelyUnwrapped + count).initialize(to: EntryRecord(
            nameOffset: UInt32(truncatingIfNeeded: offset),
            nameLength: UInt32(truncatingIfNeeded: length),
            instanceID: instanceID, flags: flags, saveTime: saveTime))
        core.pointee.state.arenaUsed = needed
        core.pointee.state.count = count &+ 1
        Self.noteOrigin(reading, in: &core.pointee.state)
        return DEVSTATE_OK
    }

    @inline(__always)
    private static func noteOrigin(_ reading: Int64?, in state: inout RecorderState) {
        guard let reading, !state.hasOrigin || reading < state.origin else { return }
        state.origin = reading
        state.hasOrigin = true
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

    /// A deep copy of the latest run (open or ended), or nil with the status that says why
    /// (EMPTY: nothing to report; NOMEM; INVALID_HANDLE). Copies without holding the lock
    /// across allocation, so a recording thread waits only for the memcpy; retries if the run
    /// grew in between.
    func copyRun(status: inout Int32) -> RunCopy? {
        while true {
            var sizes = (entries: 0, bytes: 0)
            status = locked { state in
                switch state.phase {
                case .retired: return DEVSTATE_ERR_INVALID_HANDLE
                case .none, .armed: return DEVSTATE_ERR_EMPTY
                case .open, .ended:
                    sizes = (state.count, state.arenaUsed)
                    return DEVSTATE_OK
                }
            }
            guard status == DEVSTATE_OK else { return nil }
            guard var copy = RunCopy(entries: sizes.entries, bytes: sizes.bytes) else {
                status = DEVSTATE_ERR_NOMEM
                return nil
            }
            let filled: Bool = locked { state in
                guard state.phase == .open || state.phase == .ended,
                      state.count <= sizes.entries, state.arenaUsed <= sizes.bytes else { return false }
                copy.fill(from: state)
                return true
            }
            if filled { return copy }
            // The run grew, was reset or the recorder was freed meanwhile: size it again (the
            // copy's storage goes with it).
        }
    }
}
