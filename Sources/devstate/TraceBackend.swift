// SPDX-License-Identifier: MIT
import DevstateBytes

/// Which trace backend a QEMU binary was built with, as far as the downtime events go.
///
/// QMP does not say (QEMU 10.0's only trace commands are `trace-event-get-state` and
/// `trace-event-set-state`, which report an event as enabled whatever the backend does with it),
/// so the binary is read: the log backend compiles each event's format string into QEMU, the
/// text it writes. QEMU up to 10.0 has two per event, one with the `-msg timestamp=on` stamp
/// (`%d@%zu.%06zu:vmstate_downtime_save type=%s …`) and one without; 10.1 and later one,
/// `vmstate_downtime_save type=%s …`, which the syslog backend would hold too. Without such a
/// string (nop, simple, dtrace, ust, ftrace) no text line reaches QEMU's log.
enum TraceBackend: Equatable, Sendable, CustomStringConvertible {
    /// QEMU ≤ 10.0's log backend (its stamped format string is there).
    case log
    /// The format strings of QEMU 10.1 and later's log backend (or of the syslog backend).
    case logOrSyslog
    /// No backend in this binary writes the downtime events as text.
    case none
    /// The binary could not be read.
    case unknown(String)

    var description: String {
        switch self {
        case .log: "log"
        case .logOrSyslog: "log (or syslog)"
        case .none: "none that writes text (nop, simple, dtrace, ust or ftrace)"
        case .unknown(let why): "unknown (\(why))"
        }
    }

    /// Whether devstate can read what it writes.
    var canLog: Bool? {
        switch self {
        case .log, .logOrSyslog: true
        case .none: false
        case .unknown: nil
        }
    }

    static let stamped = Array("@%zu.%06zu:vmstate_downtime_save type=".utf8)
    static let plain = Array("vmstate_downtime_save type=%s".utf8)

    /// Reads the binary at `path` (e.g. /proc/PID/exe) in chunks.
    static func of(binary path: String) -> TraceBackend {
        do {
            return scan(try InputFile(path: path), path)
        } catch {
            return .unknown("\(path): \(error.message)")
        }
    }

    private static func scan(_ file: borrowing InputFile, _ path: String) -> TraceBackend {
        var window = ByteBuffer(capacity: 64 + (1 << 20))
        var sawPlain = false
        while true {
            let before = window.count
            do {
                try window.fill(upTo: 1 << 20) { (room) throws(SystemError) -> Int in
                    try file.read(into: room.baseAddress!, count: room.count)
                }
            } catch {
                return .unknown("\(path): read error")
            }
            if window.count == before { break }
            if window.withBytes({ contains($0, stamped) }) { return .log }
            sawPlain = sawPlain || window.withBytes { contains($0, plain) }
            // An overlap, longer than either pattern, for one that straddles two chunks.
            window.removeFirst(window.count - 64)
        }
        return sawPlain ? .logOrSyslog : .none
    }

    static func contains(_ hay: UnsafeRawBufferPointer, _ needle: [UInt8]) -> Bool {
        guard hay.count >= needle.count else { return false }
        return (0...(hay.count - needle.count)).contains { hay[$0] == needle[0] && hay[$0..<$0 + needle.count].elementsEqual(needle) }
    }
}
