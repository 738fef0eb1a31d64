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
    /// A step of the downtime that is not a device's state (a run-state handler's call, the
    /// flush of a block node, ...): recorded with `Recorder.recordStep`, never with `record`.
    case step

    var flags: UInt32 {
        switch self {
        case .vmsd: DEVSTATE_ENTRY_VMSD
        case .handler: DEVSTATE_ENTRY_HANDLER
        case .iterable: DEVSTATE_ENTRY_ITERABLE
        case .checkpoint: DEVSTATE_ENTRY_CHECKPOINT
        case .step: DEVSTATE_ENTRY_STEP
        }
    }

    /// Nil unless `flags` is exactly one DEVSTATE_ENTRY_* value.
    init?(flags: UInt32) {
        switch flags {
        case DEVSTATE_ENTRY_VMSD: self = .vmsd
        case DEVSTATE_ENTRY_HANDLER: self = .handler
        case DEVSTATE_ENTRY_ITERABLE: self = .iterable
        case DEVSTATE_ENTRY_CHECKPOINT: self = .checkpoint
        case DEVSTATE_ENTRY_STEP: self = .step
        default: return nil
        }
    }
}

/// What a step ran as (DEVSTATE_STEP_*).
public enum StepKind: UInt32, Sendable, Equatable {
    /// A named piece of work of the migration or the block layer.
    case work = 0
    /// A run-state change handler's prepare callback.
    case prepare = 1
    /// A run-state change handler's main callback.
    case main = 2

    /// The JSON and QAPI spelling.
    public var name: String {
        switch self {
        case .work: "work"
        case .prepare: "prepare"
        case .main: "main"
        }
    }
}

/// A kept entry as stored: its name lives in a byte arena, so recording copies bytes and
/// never allocates per entry. A step's device and device type follow its name there, each
/// after the previous one's NUL; a step's kind is kept in `instanceID`, its duration in
/// `saveTime`.
struct EntryRecord {
    var nameOffset: UInt32
    var nameLength: UInt32
    var instanceID: UInt32
    var flags: UInt32
    var saveTime: UInt64
    /// A step's start reading; 0 for other entries.
    var start: Int64 = 0
    var deviceLength: UInt16 = 0
    var typeLength: UInt16 = 0
}
