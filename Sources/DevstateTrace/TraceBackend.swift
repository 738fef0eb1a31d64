// SPDX-License-Identifier: MIT
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Which trace backend a QEMU binary was built with, as far as the downtime events go.
///
/// QMP does not say (QEMU 10.0's only trace commands are `trace-event-get-state` and
/// `trace-event-set-state`, which report an event as enabled whatever the backend does with it),
/// so the binary is read: the log backend compiles each event's format string into QEMU, the
/// text it writes. QEMU up to 10.0 has two per event, one with the `-msg timestamp=on` stamp
/// (`%d@%zu.%06zu:vmstate_downtime_save type=%s …`) and one without; 10.1 and later one,
/// `vmstate_downtime_save type=%s …`, which the syslog backend would hold too. Without such a
/// string (nop, simple, dtrace, ust, ftrace) no text line reaches QEMU's log.
public enum TraceBackend: Equatable, Sendable, CustomStringConvertible {
    /// QEMU ≤ 10.0's log backend (its stamped format string is there).
    case log
    /// The format strings of QEMU 10.1 and later's log backend (or of the syslog backend).
    case logOrSyslog
    /// No backend in this binary writes the downtime events as text.
    case none
    /// The binary could not be read.
    case unknown(String)

    public var description: String {
        switch self {
        case .log: "log"
        case .logOrSyslog: "log (or syslog)"
        case .none: "none that writes text (nop, simple, dtrace, ust or ftrace)"
        case .unknown(let why): "unknown (\(why))"
        }
    }

    /// Whether devstate can read what it writes.
    public var canLog: Bool? {
        switch self {
        case .log, .logOrSyslog: true
        case .none: false
        case .unknown: nil
        }
    }

    static let stamped = Array("@%zu.%06zu:vmstate_downtime_save type=".utf8)
    static let plain = Array("vmstate_downtime_save type=%s".utf8)

    /// Reads the binary at `path` (e.g. /proc/PID/exe) in chunks.
    public static func of(binary path: String) -> TraceBackend {
        guard let file = fopen(path, "rb") else { return .unknown("\(path): \(String(cString: strerror(errno)))") }
        defer { fclose(file) }
        var sawPlain = false
        var found = false
        let size = 1 << 20
        let keep = 64  // overlap between chunks, longer than either pattern
        var buffer = [UInt8](repeating: 0, count: size + keep)
        var carried = 0
        while !found {
            let n = buffer.withUnsafeMutableBytes { fread($0.baseAddress! + carried, 1, size, file) }
            if n == 0 { break }
            let total = carried + n
            buffer.withUnsafeBufferPointer { b in
                let window = UnsafeBufferPointer(rebasing: b[..<total])
                if contains(window, stamped) { found = true }
                if !sawPlain, contains(window, plain) { sawPlain = true }
            }
            carried = min(keep, total)
            buffer.withUnsafeMutableBufferPointer { b in
                for i in 0..<carried { b[i] = b[total - carried + i] }
            }
        }
        if ferror(file) != 0 { return .unknown("\(path): read error") }
        return found ? .log : sawPlain ? .logOrSyslog : .none
    }

    static func contains(_ hay: UnsafeBufferPointer<UInt8>, _ needle: [UInt8]) -> Bool {
        guard let base = hay.baseAddress, hay.count >= needle.count, let first = needle.first else { return false }
        var i = 0
        let last = hay.count - needle.count
        while i <= last {
            guard let p = memchr(base + i, Int32(first), last - i + 1) else { return false }
            let at = UnsafeRawPointer(p).assumingMemoryBound(to: UInt8.self) - base
            if memcmp(base + at, needle, needle.count) == 0 { return true }
            i = at + 1
        }
        return false
    }
}
