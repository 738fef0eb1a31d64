// SPDX-License-Identifier: MIT
import CShim

/// One kept entry, copied out of a snapshot.
public struct Entry: Sendable, Equatable {
    /// The name exactly as recorded.
    public var nameBytes: [UInt8]
    public var instanceID: UInt32
    /// Microseconds, > 0; for a `.checkpoint` the clock reading (as `Int64(bitPattern:)`).
    public var saveTime: UInt64
    public var kind: EntryKind
    /// What a `.step` has besides its name and duration (`saveTime`); nil for other kinds.
    public var step: StepFacts?

    public init(nameBytes: [UInt8], instanceID: UInt32, saveTime: UInt64, kind: EntryKind = .vmsd,
                step: StepFacts? = nil) {
        self.nameBytes = nameBytes
        self.instanceID = instanceID
        self.saveTime = saveTime
        self.kind = kind
        self.step = step
    }

    public init(name: String, instanceID: UInt32, saveTime: UInt64, kind: EntryKind = .vmsd,
                step: StepFacts? = nil) {
        self.init(nameBytes: Array(name.utf8), instanceID: instanceID, saveTime: saveTime, kind: kind,
                  step: step)
    }

    /// The name as text; invalid UTF-8 shows as U+FFFD, as in the JSON.
    public var name: String { String(decoding: nameBytes, as: UTF8.self) }
}

/// A step's device, device type, kind and start, as recorded.
public struct StepFacts: Sendable, Equatable {
    /// Empty when the step has none.
    public var deviceBytes: [UInt8]
    public var deviceTypeBytes: [UInt8]
    public var kind: StepKind
    /// The clock reading (µs) the step started at.
    public var start: Int64

    public init(device: String = "", deviceType: String = "", kind: StepKind = .work, start: Int64) {
        deviceBytes = Array(device.utf8)
        deviceTypeBytes = Array(deviceType.utf8)
        self.kind = kind
        self.start = start
    }

    public var device: String { String(decoding: deviceBytes, as: UTF8.self) }
    public var deviceType: String { String(decoding: deviceTypeBytes, as: UTF8.self) }
}

/// A deep copy of one run, unaffected by later records and resets of its recorder.
public final class Snapshot: RandomAccessCollection, @unchecked Sendable {
    let copy: RunCopy

    init(_ copy: consuming RunCopy) {
        self.copy = copy
    }

    /// Records not kept because their time was 0 µs.
    public var skippedZero: UInt64 { copy.skippedZero }
    /// Records refused because the run already held the maximum number of entries.
    public var dropped: UInt64 { copy.dropped }
    /// Records refused while the run was open, whatever the reason: full (`dropped`), out of
    /// memory, or a bad name or kind. Each is an entry the run should hold and does not.
    public var refused: UInt64 { copy.refused }
    /// 1 for the recorder's first run, +1 per run opened.
    public var run: UInt64 { copy.run }
    /// Whether the run had ended when the copy was taken.
    public var isComplete: Bool { copy.isComplete }
    /// The run's earliest clock reading (µs): a checkpoint's, or the start of a span the QEMU
    /// hooks recorded. Checkpoint times are counted from it. Nil when the run saw none.
    public var origin: Int64? { copy.origin }

    public var startIndex: Int { 0 }
    public var endIndex: Int { copy.count }

    public subscript(position: Int) -> Entry {
        let record = copy.record(at: position)
        var step: StepFacts?
        if record.flags == DEVSTATE_ENTRY_STEP {
            step = StepFacts(start: record.start)
            step?.deviceBytes = Array(copy.device(of: record))
            step?.deviceTypeBytes = Array(copy.deviceType(of: record))
            step?.kind = StepKind(rawValue: record.instanceID) ?? .work
        }
        return Entry(nameBytes: Array(copy.name(of: record)), instanceID: record.instanceID,
                     saveTime: record.saveTime, kind: EntryKind(flags: record.flags) ?? .vmsd, step: step)
    }
}
