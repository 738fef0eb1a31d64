// SPDX-License-Identifier: MIT
import CShim

/// malloc'd copies of a run's entries and name arena; owned by exactly one `Snapshot`.
struct SnapshotStorage {
    private(set) var entries: UnsafeMutablePointer<EntryRecord>?
    private(set) var arena: UnsafeMutablePointer<UInt8>?
    private(set) var count = 0
    private let entryCapacity: Int
    private let arenaCapacity: Int

    /// Nil when memory is exhausted.
    init?(entries entryCapacity: Int, bytes arenaCapacity: Int) {
        self.entryCapacity = entryCapacity
        self.arenaCapacity = arenaCapacity
        if entryCapacity > 0 {
            guard let raw = devstate_shim_malloc(entryCapacity * MemoryLayout<EntryRecord>.stride)
            else { return nil }
            entries = raw.bindMemory(to: EntryRecord.self, capacity: entryCapacity)
        }
        if arenaCapacity > 0 {
            guard let raw = devstate_shim_malloc(arenaCapacity) else {
                devstate_shim_free(entries)
                return nil
            }
            arena = raw.bindMemory(to: UInt8.self, capacity: arenaCapacity)
        }
    }

    /// Copies `count` records and `bytes` arena bytes; the caller has checked they fit.
    mutating func fill(entries source: UnsafeMutablePointer<EntryRecord>?, count: Int,
                       arena sourceArena: UnsafeMutablePointer<UInt8>?, bytes: Int) {
        if count > 0, let source, let entries {
            entries.initialize(from: source, count: count)
        }
        if bytes > 0, let sourceArena, let arena {
            arena.initialize(from: sourceArena, count: bytes)
        }
        self.count = count
    }

    func release() {
        devstate_shim_free(entries)
        devstate_shim_free(arena)
    }
}

/// One kept entry, copied out of a snapshot.
public struct Entry: Sendable, Equatable {
    /// The name exactly as recorded.
    public var nameBytes: [UInt8]
    public var instanceID: UInt32
    /// Microseconds, > 0; for a `.checkpoint` the clock reading (as `Int64(bitPattern:)`).
    public var saveTime: UInt64
    public var kind: EntryKind

    public init(nameBytes: [UInt8], instanceID: UInt32, saveTime: UInt64, kind: EntryKind = .vmsd) {
        self.nameBytes = nameBytes
        self.instanceID = instanceID
        self.saveTime = saveTime
        self.kind = kind
    }

    public init(name: String, instanceID: UInt32, saveTime: UInt64, kind: EntryKind = .vmsd) {
        self.init(nameBytes: Array(name.utf8), instanceID: instanceID, saveTime: saveTime, kind: kind)
    }

    /// The name as text; invalid UTF-8 shows as U+FFFD, as in the JSON.
    public var name: String { String(decoding: nameBytes, as: UTF8.self) }
}

/// A deep copy of one run, unaffected by later records and resets of its recorder.
public final class Snapshot: RandomAccessCollection, @unchecked Sendable {
    private let storage: SnapshotStorage
    /// Records not kept because their time was 0 µs.
    public let skippedZero: UInt64
    /// Records refused because the run already held the maximum number of entries.
    public let dropped: UInt64
    /// 1 for the recorder's first run, +1 per `beginRun()`.
    public let run: UInt64
    /// Whether the run had ended when the copy was taken.
    public let isComplete: Bool
    /// The run's earliest clock reading (µs): a checkpoint's, or the start of a span the QEMU
    /// hooks recorded. Checkpoint times are counted from it. Nil when the run saw none.
    public let origin: Int64?

    init(storage: SnapshotStorage, skippedZero: UInt64, dropped: UInt64, run: UInt64,
         isComplete: Bool, origin: Int64?) {
        self.storage = storage
        self.skippedZero = skippedZero
        self.dropped = dropped
        self.run = run
        self.isComplete = isComplete
        self.origin = origin
    }

    /// Microseconds from the run's origin to a checkpoint's reading; 0 if the clock went back.
    func offset(ofCheckpoint record: EntryRecord) -> UInt64 {
        let reading = Int64(bitPattern: record.saveTime)
        let origin = self.origin ?? reading
        return reading > origin ? UInt64(bitPattern: reading &- origin) : 0
    }

    deinit {
        storage.release()
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { storage.count }

    public subscript(position: Int) -> Entry {
        let record = self.record(at: position)
        return Entry(nameBytes: Array(name(of: record)), instanceID: record.instanceID,
                     saveTime: record.saveTime, kind: EntryKind(flags: record.flags) ?? .vmsd)
    }

    func record(at position: Int) -> EntryRecord {
        precondition(position >= 0 && position < storage.count, "Snapshot index out of range")
        return storage.entries.unsafelyUnwrapped[position]
    }

    /// The recorded bytes, without the NUL that follows them in the arena.
    func name(of record: EntryRecord) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: storage.arena.unsafelyUnwrapped + Int(record.nameOffset),
                            count: Int(record.nameLength))
    }
}
