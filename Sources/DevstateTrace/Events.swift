// SPDX-License-Identifier: MIT
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

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

/// One `vmstate_downtime_save` / `vmstate_downtime_load` trace line.
///
/// The one device-line type of the tool. Only the way the idstr is held (`Name`) changes on the
/// line's way from the log to the report, so that the hot path neither allocates nor counts
/// references per line:
/// - `UnsafeBufferPointer<UInt8>` from the parser to the splitter: the bytes in the reader's
///   chunk, valid only during that call;
/// - `Int32` while its run is open in the splitter: the name's id in the run's `NameTable`
///   (pending lines hold no references);
/// - `[UInt8]` (`DeviceTime`) once the run is handed out, and in `TraceEvent`.
public struct DeviceLine<Name> {
    /// The `idstr` exactly as logged (QEMU's idstr is at most 255 bytes, not necessarily UTF-8).
    public var idstr: Name
    public var instanceID: UInt32
    public var section: Section
    /// The logged `downtime=` value: microseconds the save or load took.
    public var timeUS: UInt64
    /// The line's `-msg timestamp=on` time in µs since the epoch (when the save ended), if present.
    public var timestampUS: Int64?
    /// 1-based line number in its log (0 for a device from `query-migrate`).
    public var line: Int

    public init(idstr: Name, instanceID: UInt32, section: Section, timeUS: UInt64,
                timestampUS: Int64? = nil, line: Int = 0) {
        self.idstr = idstr
        self.instanceID = instanceID
        self.section = section
        self.timeUS = timeUS
        self.timestampUS = timestampUS
        self.line = line
    }

    /// The same line with its idstr held as `idstr` (the only conversion between the forms).
    @inline(__always)
    func with<Other>(idstr: Other) -> DeviceLine<Other> {
        DeviceLine<Other>(idstr: idstr, instanceID: instanceID, section: section, timeUS: timeUS,
                          timestampUS: timestampUS, line: line)
    }
}

extension DeviceLine: Sendable where Name: Sendable {}
extension DeviceLine: Equatable where Name: Equatable {}

/// A device line that owns its idstr: what runs, events and reports hold.
public typealias DeviceTime = DeviceLine<[UInt8]>

extension DeviceLine where Name == [UInt8] {
    /// The idstr as text (invalid UTF-8 replaced).
    public var name: String { String(decoding: idstr, as: UTF8.self) }
}

/// One `vmstate_downtime_checkpoint` trace line.
public struct Checkpoint: Sendable, Equatable {
    public var name: String
    public var timestampUS: Int64?
    public var line: Int

    public init(name: String, timestampUS: Int64? = nil, line: Int = 0) {
        self.name = name
        self.timestampUS = timestampUS
        self.line = line
    }

    /// Whether QEMU 10.0 emits a checkpoint of this name.
    public var isKnown: Bool { KnownCheckpoints.all.contains(name) }
}

/// The checkpoint names QEMU (8.2 to 10.0) traces around the downtime.
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

    /// The known name spelled by `bytes`, as the one String every run shares: a literal, so
    /// neither made nor reference-counted per line.
    static func interned(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        for (utf8, name) in spellings where utf8.count == bytes.count {
            if utf8.withUnsafeBufferPointer({ memcmp($0.baseAddress!, bytes.baseAddress!, bytes.count) == 0 }) {
                return name
            }
        }
        return nil
    }

    private static let spellings: [([UInt8], String)] =
        (source + destinationPrecopy + destinationPostcopy).map { (Array($0.utf8), $0) }
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
