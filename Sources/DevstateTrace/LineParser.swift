// SPDX-License-Identifier: MIT
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads one line of QEMU's log trace backend.
///
/// Accepted shapes (after any prefix that ends in a non-word byte, such as a syslog header):
///
///     [TID@SECONDS.MICROS:]vmstate_downtime_save type=TYPE idstr=IDSTR instance_id=N downtime=US
///     [TID@SECONDS.MICROS:]vmstate_downtime_load type=TYPE idstr=IDSTR instance_id=N downtime=US
///     [TID@SECONDS.MICROS:]vmstate_downtime_checkpoint NAME
///
/// `TYPE` is `iterable` or `non-iterable`. `IDSTR` runs up to the last ` instance_id=`, so it may
/// hold spaces. `instance_id` is printed by QEMU with `%d`, so ids above 2^31 show as negative
/// numbers and are taken back as their 32-bit pattern.
public enum LineParser {
    /// The bytes every downtime trace event name starts with.
    public static let marker: [UInt8] = Array("vmstate_downtime_".utf8)

    public enum Result: Equatable, Sendable {
        case event(TraceEvent)
        /// The line mentions the marker but is not a readable downtime trace line.
        case malformed(String)
        /// No marker: an unrelated line.
        case unrelated
    }

    /// Parses a whole line (without its newline). `line` is its 1-based number. The reader
    /// does not come through here (it parses in place, `parse(line:count:…)`): tests do.
    @_spi(Testing) public static func parse(_ text: String, line: Int = 0) -> Result {
        var copy = text
        return copy.withUTF8 { parse($0, line: line) }
    }

    @_spi(Testing) public static func parse(_ bytes: UnsafeBufferPointer<UInt8>, line: Int = 0) -> Result {
        guard let base = bytes.baseAddress,
              let at = MarkerFinder.find(in: base, from: 0, to: bytes.count) else { return .unrelated }
        switch parse(line: base, count: bytes.count, markerAt: at, lineNumber: line) {
        case .device(let direction, let d): return .event(.device(direction, d.with(idstr: Array(d.idstr))))
        case .checkpoint(let c): return .event(.checkpoint(c))
        case .malformed(let reason): return .malformed(reason)
        case .unrelated: return .unrelated
        }
    }

    /// What the caller already knows of the text before the marker.
    enum Prefix {
        /// Nothing: read it here.
        case unread
        /// Empty (the marker starts the line).
        case none
        /// A valid `TID@SECONDS.MICROS:` stamp, in µs.
        case stamp(Int64)
    }

    /// A parsed line; a device's idstr points into the line (no allocation).
    enum Parsed {
        case device(Direction, DeviceLine<UnsafeBufferPointer<UInt8>>)
        case checkpoint(Checkpoint)
        case malformed(String)
        case unrelated
    }

    /// `markerAt` is the offset of the first `vmstate_downtime_` in the line.
    @inline(__always)
    static func parse(line p: UnsafePointer<UInt8>, count n: Int, markerAt m: Int,
                      lineNumber: Int, prefix: Prefix = .unread) -> Parsed {
        var end = n
        while end > m, p[end &- 1] == UInt8(ascii: "\r") || p[end &- 1] == UInt8(ascii: " ") {
            end &-= 1
        }
        // Prefix: empty, a -msg timestamp=on stamp, or anything ending in a non-word byte.
        var timestamp: Int64? = nil
        switch prefix {
        case .stamp(let known): timestamp = known
        case .none: break
        case .unread:
            if m > 0 {
                timestamp = parseStamp(p, count: m)
                if timestamp == nil, isWordByte(p[m &- 1]) {
                    return .malformed("garbled text before the event name")
                }
            }
        }
        var i = m &+ 17  // marker.count
        if hasPrefix(p, i, end, "save ") {
            return parseDevice(p, from: i &+ 5, end: end, direction: .save, timestamp: timestamp,
                               lineNumber: lineNumber)
        }
        if hasPrefix(p, i, end, "load ") {
            return parseDevice(p, from: i &+ 5, end: end, direction: .load, timestamp: timestamp,
                               lineNumber: lineNumber)
        }
        if hasPrefix(p, i, end, "checkpoint ") {
            i &+= 11
            while i < end, p[i] == UInt8(ascii: " ") { i &+= 1 }
            guard i < end else { return .malformed("checkpoint without a name") }
            for k in i..<end where p[k] <= 0x20 || p[k] == 0x7f {
                return .malformed("checkpoint name holds a space or control byte")
            }
            let name = String(decoding: UnsafeBufferPointer(start: p + i, count: end &- i),
                              as: UTF8.self)
            return .checkpoint(Checkpoint(name: name, timestampUS: timestamp, line: lineNumber))
        }
        let known = hasPrefix(p, i, end, "save") || hasPrefix(p, i, end, "load")
            || hasPrefix(p, i, end, "checkpoint")
        return .malformed(known ? "event without its fields (truncated?)"
                                : "unknown vmstate_downtime event")
    }

    @inline(__always)
    private static func parseDevice(_ p: UnsafePointer<UInt8>, from start: Int, end: Int,
                                    direction: Direction, timestamp: Int64?,
                                    lineNumber: Int) -> Parsed {
        var i = start
        guard hasPrefix(p, i, end, "type=") else { return .malformed("missing type=") }
        i &+= 5
        let section: Section
        if hasPrefix(p, i, end, "non-iterable ") {
            section = .nonIterable
            i &+= 13
        } else if hasPrefix(p, i, end, "iterable ") {
            section = .iterable
            i &+= 9
        } else {
            return .malformed("type is neither iterable nor non-iterable")
        }
        guard hasPrefix(p, i, end, "idstr=") else { return .malformed("missing idstr=") }
        i &+= 6
        let nameStart = i
        // Read from the end: " instance_id=N downtime=N" closes the line, so the idstr runs up
        // to the last " instance_id=" (an idstr could in principle hold spaces).
        let timeStart = digitsStart(p, before: end, floor: nameStart)
        let timeDigits = end &- timeStart
        guard timeDigits > 0 else {
            return .malformed(hasSuffixBefore(p, end, nameStart, " downtime=") || hasSuffixBefore(p, end, nameStart, " downtime=-")
                ? "downtime is not a number" : "missing downtime= (truncated?)")
        }
        guard timeDigits <= 18 else { return .malformed("downtime is not a number") }
        if timeStart > nameStart, p[timeStart &- 1] == UInt8(ascii: "-") { return .malformed("negative downtime") }
        guard hasSuffixBefore(p, timeStart, nameStart, " downtime=") else {
            return .malformed("missing downtime= (truncated?)")
        }
        let downtime = decimal(p, timeStart, end)
        let instanceEnd = timeStart &- 10
        var q = digitsStart(p, before: instanceEnd, floor: nameStart)
        let instanceDigits = instanceEnd &- q
        guard instanceDigits > 0, instanceDigits <= 10 else {
            return .malformed("instance_id is not a number")
        }
        var instance = decimal(p, q, instanceEnd)
        if q > nameStart, p[q &- 1] == UInt8(ascii: "-") {
            instance = -instance
            q &-= 1
        }
        guard instance >= Int64(Int32.min), instance <= Int64(UInt32.max) else {
            return .malformed("instance_id out of range")
        }
        guard hasSuffixBefore(p, q, nameStart, " instance_id=") else {
            return .malformed("missing instance_id= (truncated?)")
        }
        let keyAt = q &- 13
        guard keyAt > nameStart else { return .malformed("empty idstr") }
        guard keyAt &- nameStart <= 255 else { return .malformed("idstr longer than 255 bytes") }
        if memchr(p + nameStart, 0, keyAt &- nameStart) != nil {
            return .malformed("idstr holds a NUL byte")
        }
        return .device(direction, DeviceLine(
            idstr: UnsafeBufferPointer(start: p + nameStart, count: keyAt &- nameStart),
            instanceID: UInt32(truncatingIfNeeded: instance), section: section,
            timeUS: UInt64(downtime), timestampUS: timestamp, line: lineNumber))
    }

    /// `TID@SECONDS.MICROS:` exactly, as `-msg timestamp=on` writes it; µs since the epoch.
    @_spi(Testing) public static func parseStamp(_ text: String) -> Int64? {
        var copy = text
        return copy.withUTF8 { b in b.baseAddress.flatMap { parseStamp($0, count: b.count) } }
    }

    /// `TID@SECONDS.MICROS:` exactly, as `-msg timestamp=on` writes it; µs since the epoch.
    @inline(__always)
    static func parseStamp(_ p: UnsafePointer<UInt8>, count: Int) -> Int64? {
        guard count >= 5, p[count &- 1] == UInt8(ascii: ":"),
              let (stamp, end) = readStamp(p, from: 0, limit: count), end == count &- 1 else {
            return nil
        }
        return stamp
    }

    /// Reads `TID@SECONDS.MICROS` from `p[start..<limit]`: one or more TID digits, 1 to 12
    /// seconds digits, 1 to 9 fraction digits. Returns the stamp in µs and the index after the
    /// fraction (the caller checks the `:` there). Shared with `MarkerFinder.atLineStart`.
    @inline(__always)
    static func readStamp(_ p: UnsafePointer<UInt8>, from start: Int, limit: Int) -> (Int64, Int)? {
        let tidEnd = digitsEnd(p, from: start, limit: limit)
        guard tidEnd > start, tidEnd < limit, p[tidEnd] == UInt8(ascii: "@") else { return nil }
        let secondsStart = tidEnd &+ 1
        let secondsEnd = digitsEnd(p, from: secondsStart, limit: limit)
        let secondsDigits = secondsEnd &- secondsStart
        guard secondsDigits > 0, secondsDigits <= 12, secondsEnd < limit,
              p[secondsEnd] == UInt8(ascii: ".") else { return nil }
        let microsStart = secondsEnd &+ 1
        let microsEnd = digitsEnd(p, from: microsStart, limit: limit)
        var digits = microsEnd &- microsStart
        guard digits > 0, digits <= 9 else { return nil }
        var micros = decimal(p, microsStart, microsEnd)
        // QEMU prints %06zu; scale anything else to microseconds.
        while digits < 6 { micros &*= 10; digits &+= 1 }
        while digits > 6 { micros /= 10; digits &-= 1 }
        return (decimal(p, secondsStart, secondsEnd) &* 1_000_000 &+ micros, microsEnd)
    }

    // MARK: Bytes

    @inline(__always) static func isDigit(_ b: UInt8) -> Bool { b >= 48 && b <= 57 }

    /// The end of the run of digits that starts at `i` (at most `limit`).
    @inline(__always)
    static func digitsEnd(_ p: UnsafePointer<UInt8>, from i: Int, limit: Int) -> Int {
        var j = i
        while j < limit, isDigit(p[j]) { j &+= 1 }
        return j
    }

    /// The start of the run of digits that ends at `end` (at least `floor`).
    @inline(__always)
    static func digitsStart(_ p: UnsafePointer<UInt8>, before end: Int, floor: Int) -> Int {
        var j = end
        while j > floor, isDigit(p[j &- 1]) { j &-= 1 }
        return j
    }

    /// The decimal value of the digits `p[from..<to]`; callers bound their count (≤ 18).
    @inline(__always)
    static func decimal(_ p: UnsafePointer<UInt8>, _ from: Int, _ to: Int) -> Int64 {
        var value: Int64 = 0
        var k = from
        while k < to {
            value = value &* 10 &+ Int64(p[k] &- 48)
            k &+= 1
        }
        return value
    }

    @inline(__always) static func isWordByte(_ b: UInt8) -> Bool {
        isDigit(b) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b == UInt8(ascii: "_")
            || b == UInt8(ascii: "-") || b == UInt8(ascii: ".")
    }

    /// Whether `s` ends exactly at `end`, starting no earlier than `floor`.
    @inline(__always)
    private static func hasSuffixBefore(_ p: UnsafePointer<UInt8>, _ end: Int, _ floor: Int,
                                        _ s: StaticString) -> Bool {
        let n = s.utf8CodeUnitCount
        guard end &- n >= floor else { return false }
        return hasPrefix(p, end &- n, end, s)
    }

    @inline(__always)
    private static func hasPrefix(_ p: UnsafePointer<UInt8>, _ i: Int, _ end: Int,
                                  _ s: StaticString) -> Bool {
        let n = s.utf8CodeUnitCount
        guard end &- i >= n else { return false }
        let q = s.utf8Start
        var k = 0
        if n >= 8 {
            // Whole words first: the literals are short and fixed.
            let a = UnsafeRawPointer(p + i), b = UnsafeRawPointer(q)
            while k &+ 8 <= n {
                if a.loadUnaligned(fromByteOffset: k, as: UInt64.self)
                    != b.loadUnaligned(fromByteOffset: k, as: UInt64.self) { return false }
                k &+= 8
            }
            if k < n {
                return a.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self)
                    == b.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self)
            }
            return true
        }
        while k < n {
            if p[i &+ k] != q[k] { return false }
            k &+= 1
        }
        return true
    }
}
