// SPDX-License-Identifier: MIT
import CDevstateShim
import CShim

/// A deep copy of one run: malloc'd entries and name arena, freed when the copy goes, plus the
/// run's counts. Noncopyable, so exactly one owner frees the memory.
struct RunCopy: ~Copyable {
    private(set) var entries: UnsafeMutablePointer<EntryRecord>?
    private(set) var arena: UnsafeMutablePointer<UInt8>?
    private(set) var count = 0
    private(set) var skippedZero: UInt64 = 0
    private(set) var dropped: UInt64 = 0
    private(set) var refused: UInt64 = 0
    private(set) var run: UInt64 = 0
    private(set) var isComplete = false
    /// The run's earliest clock reading, nil when it saw none.
    private(set) var origin: Int64?

    /// Room for `entryCapacity` entries and `arenaCapacity` name bytes; nil when memory is
    /// exhausted.
    init?(entries entryCapacity: Int, bytes arenaCapacity: Int) {
        if entryCapacity > 0 {
            guard let raw = devstate_shim_malloc(entryCapacity * MemoryLayout<EntryRecord>.stride)
            else { return nil }
            entries = raw.bindMemory(to: EntryRecord.self, capacity: entryCapacity)
        }
        if arenaCapacity > 0 {
            // Every property has its default, so `self` is whole from the start and `return
            // nil` runs deinit, which frees `entries`.
            guard let raw = devstate_shim_malloc(arenaCapacity) else { return nil }
            arena = raw.bindMemory(to: UInt8.self, capacity: arenaCapacity)
        }
    }

    deinit {
        devstate_shim_free(entries)
        devstate_shim_free(arena)
    }

    /// Copies the run; the caller has checked that it fits.
    mutating func fill(from state: RecorderState) {
        if state.count > 0, let source = state.entries, let entries {
            entries.initialize(from: source, count: state.count)
        }
        if state.arenaUsed > 0, let source = state.arena, let arena {
            arena.initialize(from: source, count: state.arenaUsed)
        }
        count = state.count
        skippedZero = state.skippedZero
        dropped = state.dropped
        refused = state.refused
        run = state.run
        isComplete = state.phase == .ended
        origin = state.hasOrigin ? state.origin : nil
    }

    func record(at position: Int) -> EntryRecord {
        precondition(position >= 0 && position < count, "run index out of range")
        return entries.unsafelyUnwrapped[position]
    }

    /// The recorded bytes, without the NUL that follows them in the arena.
    func name(of record: EntryRecord) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: arena.unsafelyUnwrapped + Int(record.nameOffset),
                            count: Int(record.nameLength))
    }

    /// A step's device, stored after its name's NUL (empty when it has none).
    func device(of record: EntryRecord) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: arena.unsafelyUnwrapped + Int(record.nameOffset) + Int(record.nameLength) + 1,
                            count: Int(record.deviceLength))
    }

    /// A step's device type, stored after its device's NUL (empty when it has none).
    func deviceType(of record: EntryRecord) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: arena.unsafelyUnwrapped + Int(record.nameOffset) + Int(record.nameLength)
                                + Int(record.deviceLength) + 2,
                            count: Int(record.typeLength))
    }

    /// Microseconds from the run's origin to a step's start; 0 if the clock went back.
    func offset(ofStart record: EntryRecord) -> UInt64 {
        let origin = self.origin ?? record.start
        return record.start > origin ? UInt64(bitPattern: record.start &- origin) : 0
    }

    /// Microseconds from the run's origin to a checkpoint's reading; 0 if the clock went back.
    func offset(ofCheckpoint record: EntryRecord) -> UInt64 {
        let reading = Int64(bitPattern: record.saveTime)
        let origin = self.origin ?? reading
        return reading > origin ? UInt64(bitPattern: reading &- origin) : 0
    }
}
