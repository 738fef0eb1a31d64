// SPDX-License-Identifier: MIT
/// Which side of a migration: the source saves device states, the destination loads them.
public enum Side: String, Sendable, Equatable {
    case source
    case destination
}

/// Which part of the stop-and-copy a save (or load) belongs to, as QEMU's trace says (`type=`).
public enum Section: String, Sendable, Equatable, CaseIterable {
    case iterable
    case nonIterable = "non-iterable"
}

/// Whether a trace line timed a save (source) or a load (destination).
public enum Direction: String, Sendable, Equatable {
    case save
    case load
}

/// One device's save or load: a `vmstate_downtime_save`/`_load` trace line, or an entry of a
/// `query-migrate` list.
public struct DeviceTime: Sendable, Equatable {
    /// The `idstr` exactly as logged (at most 255 bytes in QEMU, not necessarily UTF-8).
    public var idstr: [UInt8]
    public var instanceID: UInt32
    public var section: Section
    /// Microseconds the save or load took.
    public var timeUS: UInt64
    /// The `-msg timestamp=on` time in µs since the epoch (when the save ended), if known.
    public var timestampUS: Int64?
    /// 1-based line number in its log (0 when it did not come from a log).
    public var line: Int
    /// Saved by a handler without a vmsd that QEMU recorded on opt-in (`"handler": true`).
    public var handler: Bool

    public init(idstr: [UInt8], instanceID: UInt32, section: Section, timeUS: UInt64,
                timestampUS: Int64? = nil, line: Int = 0, handler: Bool = false) {
        self.idstr = idstr
        self.instanceID = instanceID
        self.section = section
        self.timeUS = timeUS
        self.timestampUS = timestampUS
        self.line = line
        self.handler = handler
    }

    public init(name: String, instanceID: UInt32, section: Section, timeUS: UInt64,
                timestampUS: Int64? = nil, line: Int = 0, handler: Bool = false) {
        self.init(idstr: Array(name.utf8), instanceID: instanceID, section: section, timeUS: timeUS,
                  timestampUS: timestampUS, line: line, handler: handler)
    }

    /// The idstr as text (invalid UTF-8 replaced).
    public var name: String { String(decoding: idstr, as: UTF8.self) }

    /// The device type: the idstr's last non-empty `/` component (`DeviceKnowledge.deviceType`).
    public var type: ArraySlice<UInt8> { DeviceKnowledge.deviceType(idstr) }
}

/// One `vmstate_downtime_checkpoint`, or an element of `downtime-checkpoints`.
public struct Checkpoint: Sendable, Equatable {
    public var name: String
    /// A log's wall-clock stamp in µs since the epoch; from `query-migrate`, QEMU's offset.
    public var timestampUS: Int64?
    public var line: Int

    public init(name: String, timestampUS: Int64? = nil, line: Int = 0) {
        self.name = name
        self.timestampUS = timestampUS
        self.line = line
    }

    /// Whether QEMU (8.2 to 10.2) traces a checkpoint of this name.
    public var isKnown: Bool { KnownCheckpoints.all.contains(name) }
}

/// The checkpoint names QEMU traces around the downtime.
public enum KnownCheckpoints {
    public static let source = [
        "src-downtime-start", "src-vm-stopped", "src-iterable-saved",
        "src-non-iterable-saved", "src-downtime-end",
    ]
    public static let destinationPrecopy = [
        "dst-precopy-loadvm-completed", "dst-precopy-bh-enter", "dst-precopy-bh-announced",
        "dst-precopy-bh-vm-started",
    ]
    public static let destinationPostcopy = [
        "dst-postcopy-bh-enter", "dst-postcopy-bh-announced", "dst-postcopy-bh-cpu-synced",
        "dst-postcopy-bh-cache-invalidated", "dst-postcopy-bh-vm-started",
    ]
    public static let all: Set<String> = Set(source + destinationPrecopy + destinationPostcopy)
}

/// A parsed trace line.
public enum TraceEvent: Sendable, Equatable {
    case device(Direction, DeviceTime)
    case checkpoint(Checkpoint)
    /// `vmstate_downtime_step` (our QEMU series).
    case step(DowntimeStep)
}

/// A line that looked like a downtime trace line but could not be read; it is skipped.
public struct MalformedLine: Sendable, Equatable {
    public var file: String
    public var line: Int
    public var reason: String
    /// The start of the line (at most 160 bytes, invalid UTF-8 replaced).
    public var text: String

    public init(file: String, line: Int, reason: String, text: String) {
        self.file = file
        self.line = line
        self.reason = reason
        self.text = text
    }
}
