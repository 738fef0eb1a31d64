// SPDX-License-Identifier: MIT
// A recorder's lock, storage and run state in one malloc'd block. The C ABI hands these blocks
// out as handles and the Swift `Recorder` wraps one; nothing here allocates through the Swift
// runtime, so running out of memory is a status code (DEVSTATE_ERR_NOMEM), never a trap.
import CDevstateShim
import CShim

/// A step's strings as the C ABI got them: checked, each 0...255 bytes without its NUL (the
/// name at least 1); a nil or empty device or type is none.
struct StepStrings {
    var name: UnsafePointer<UInt8>
    var nameLength: Int
    var device: UnsafePointer<UInt8>?
    var deviceLength: Int
    var deviceType: UnsafePointer<UInt8>?
    var typeLength: Int
}

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

/// A reference to a recorder's block: a C head (lock, fixed facts, the registry's link; see
/// devstate_shim_head) and after it the `RecorderState`, which is touched only under the lock.
/// Never moved once allocated; a handle is the head's address.
struct RecorderRef {
    let head: UnsafeMutablePointer<devstate_shim_head>

    init(_ head: UnsafeMutablePointer<devstate_shim_head>) {
        self.head = head
    }

    init(handle: OpaquePointer) {
        head = UnsafeMutablePointer<devstate_shim_head>(handle)
    }

    var handle: OpaquePointer { OpaquePointer(head) }

    private var lock: UnsafeMutablePointer<devstate_shim_lock> { devstate_shim_head_lock(head) }

    private var state: UnsafeMutablePointer<RecorderState> {
        devstate_shim_head_body(head).assumingMemoryBound(to: RecorderState.self)
    }

    /// A new, empty recorder in one malloc'd block; nil when memory is exhausted.
    static func make(isDefault: Bool, maxEntries: Int = Int(DEVSTATE_MAX_ENTRIES)) -> RecorderRef? {
        let size = devstate_shim_body_offset() + MemoryLayout<RecorderState>.stride
        guard let raw = devstate_shim_calloc(1, size) else { return nil }
        let head = raw.bindMemory(to: devstate_shim_head.self, capacity: 1)
        devstate_shim_head_init(head, isDefault ? 1 : 0, max(0, maxEntries))
        devstate_shim_head_body(head).bindMemory(to: RecorderState.self, capacity: 1)
            .initialize(to: RecorderState())
        return RecorderRef(head)
    }

    /// Frees a block made by `make` that no handle refers to (the Swift `Recorder`'s own).
    func destroy() {
        state.pointee.releaseStorage()
        state.deinitialize(count: 1)
        devstate_shim_free(head)
    }

    var isDefault: Bool { devstate_shim_head_is_default(head) != 0 }

    /// The registry's link to the next retired recorder (read and written under its lock).
    var nextRetired: UnsafeMutablePointer<devstate_shim_head>? {
        get { devstate_shim_head_next(head)?.assumingMemoryBound(to: devstate_shim_head.self) }
        nonmutating set { devstate_shim_head_set_next(head, newValue.map { UnsafeMutableRawPointer($0) }) }
    }

    @inline(__always)
    func locked<R>(_ body: (inout RecorderState) -> R) -> R {
        let lock = self.lock
        devstate_shim_lock_acquire(lock)
        defer { devstate_shim_lock_release(lock) }
        return body(&state.pointee)
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
    func arm() -> Int32 { drop(leaving: .armed) }

    /// Drops the run, leaving nothing to report and no run to record into.
    func discard() -> Int32 { drop(leaving: .none) }

    private func drop(leaving phase: RunState) -> Int32 {
        locked { state in
            guard state.phase != .retired else { return DEVSTATE_ERR_INVALID_HANDLE }
            state.clear()
            state.phase = phase
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

    /// Counts a step that was refused before it reached the run. A step never opens an armed
    /// run, refused or not: it is counted only by a run that is open.
    func refuseStep(_ status: Int32) -> Int32 {
        locked { state in
            if state.phase == .open { state.refused &+= 1 }
        }
        return status
    }

    /// The hot path. The caller has checked the name (1...255 bytes, no NUL) and the flags.
    /// `originCandidate` is a span's start reading; a checkpoint's own reading counts as one.
    @inline(__always)
    func record(validName name: UnsafePointer<UInt8>, length: Int, instanceID: UInt32,
                saveTime: UInt64, flags: UInt32, originCandidate: Int64? = nil) -> Int32 {
        let lock = self.lock, state = self.state
        devstate_shim_lock_acquire(lock)
        defer { devstate_shim_lock_release(lock) }
        switch state.pointee.phase {
        case .open: break
        case .armed: state.pointee.open()
        case .retired: return DEVSTATE_ERR_INVALID_HANDLE
        case .none, .ended: return DEVSTATE_ERR_NO_RUN
        }
        let isCheckpoint = flags == DEVSTATE_ENTRY_CHECKPOINT
        // A skipped 0 µs span still began at its reading; a refused record changes nothing.
        let reading = isCheckpoint ? Int64(bitPattern: saveTime) : originCandidate
        guard saveTime != 0 || isCheckpoint else {
            state.pointee.skippedZero &+= 1
            Self.noteOrigin(reading, in: &state.pointee)
            return DEVSTATE_SKIPPED_ZERO
        }
        let count = state.pointee.count
        let maxEntries = devstate_shim_head_max_entries(head)
        guard count < maxEntries else {
            state.pointee.dropped &+= 1
            state.pointee.refused &+= 1
            return DEVSTATE_ERR_FULL
        }
        if count == state.pointee.entryCapacity,
           !Self.growEntries(&state.pointee, limit: maxEntries) {
            state.pointee.refused &+= 1
            return DEVSTATE_ERR_NOMEM
        }
        // Bounded by maxEntries × 256 bytes, far from overflowing.
        let offset = state.pointee.arenaUsed
        let needed = offset &+ length &+ 1
        if needed > state.pointee.arenaCapacity, !Self.growArena(&state.pointee, toHold: needed) {
            state.pointee.refused &+= 1
            return DEVSTATE_ERR_NOMEM
        }
        let destination = state.pointee.arena.unsafelyUnwrapped + offset
        devstate_shim_memcpy(destination, name, length)
        destination[length] = 0
        (state.pointee.entries.unsafelyUnwrapped + count).initialize(to: EntryRecord(
            nameOffset: UInt32(truncatingIfNeeded: offset),
            nameLength: UInt32(truncatingIfNeeded: length),
            instanceID: instanceID, flags: flags, saveTime: saveTime))
        state.pointee.arenaUsed = needed
        state.pointee.count = count &+ 1
        Self.noteOrigin(reading, in: &state.pointee)
        return DEVSTATE_OK
    }

    /// Records a step (DEVSTATE_ENTRY_STEP); the caller has checked its strings and kind.
    /// A step never opens an armed run: a window opens with its first device entry.
    func recordStep(_ step: StepStrings, kind: UInt32, start: Int64, end: Int64) -> Int32 {
        let lock = self.lock, state = self.state
        devstate_shim_lock_acquire(lock)
        defer { devstate_shim_lock_release(lock) }
        switch state.pointee.phase {
        case .open: break
        case .retired: return DEVSTATE_ERR_INVALID_HANDLE
        case .none, .armed, .ended: return DEVSTATE_ERR_NO_RUN
        }
        let count = state.pointee.count
        let maxEntries = devstate_shim_head_max_entries(head)
        guard count < maxEntries else {
            state.pointee.dropped &+= 1
            state.pointee.refused &+= 1
            return DEVSTATE_ERR_FULL
        }
        if count == state.pointee.entryCapacity,
           !Self.growEntries(&state.pointee, limit: maxEntries) {
            state.pointee.refused &+= 1
            return DEVSTATE_ERR_NOMEM
        }
        let offset = state.pointee.arenaUsed
        let needed = offset &+ step.nameLength &+ step.deviceLength &+ step.typeLength &+ 3
        if needed > state.pointee.arenaCapacity, !Self.growArena(&state.pointee, toHold: needed) {
            state.pointee.refused &+= 1
            return DEVSTATE_ERR_NOMEM
        }
        // name, device, type, each followed by its NUL (no array: nothing here may allocate).
        let destination = state.pointee.arena.unsafelyUnwrapped + offset
        let afterName = Self.store(step.name, step.nameLength, at: destination)
        let afterDevice = Self.store(step.device, step.deviceLength, at: afterName)
        _ = Self.store(step.deviceType, step.typeLength, at: afterDevice)
        (state.pointee.entries.unsafelyUnwrapped + count).initialize(to: EntryRecord(
            nameOffset: UInt32(truncatingIfNeeded: offset),
            nameLength: UInt32(truncatingIfNeeded: step.nameLength),
            instanceID: kind, flags: DEVSTATE_ENTRY_STEP,
            saveTime: end > start ? UInt64(bitPattern: end &- start) : 0, start: start,
            deviceLength: UInt16(truncatingIfNeeded: step.deviceLength),
            typeLength: UInt16(truncatingIfNeeded: step.typeLength)))
        state.pointee.arenaUsed = needed
        state.pointee.count = count &+ 1
        Self.noteOrigin(start, in: &state.pointee)
        return DEVSTATE_OK
    }

    /// Copies `length` bytes and a NUL to `destination`; returns the byte after the NUL.
    @inline(__always)
    private static func store(_ bytes: UnsafePointer<UInt8>?, _ length: Int,
                              at destination: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        if length > 0, let bytes { devstate_shim_memcpy(destination, bytes, length) }
        destination[length] = 0
        return destination + length + 1
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
