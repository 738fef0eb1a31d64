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
