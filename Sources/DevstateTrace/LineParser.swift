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
///     [STAMP]vmstate_downtime_save type=TYPE idstr=IDSTR instance_id=N downtime=US
///     [STAMP]vmstate_downtime_load type=TYPE idstr=IDSTR instance_id=N downtime=US
///     [STAMP]vmstate_downtime_checkpoint NAME
///     [STAMP]vmstate_downtime_step kind=KIND device=DEVICE type=TYPE downtime=US name=NAME
///
/// (the last one from our QEMU series only; `LineParser+Step.swift`)
///
/// `STAMP` is what `-msg timestamp=on` puts before a trace line, in either of QEMU's two forms:
///
///     TID@SECONDS.MICROS:                  QEMU up to 10.0 (the log backend's own stamp)
///     YYYY-MM-DDTHH:MM:SS[.FRACTION]Z␠     QEMU 10.1 and later (qemu_log's ISO 8601 UTC stamp,
///                                          glib's g_date_time_format_iso8601; no thread id, and
///                                          no fraction when it is zero)
///
/// Both give µs since the epoch. Without `-msg timestamp=on` both releases write the bare event.
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
        case .step(let step): return .event(.step(step))
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
        /// A valid stamp (`TID@SECONDS.MICROS:` or the ISO 8601 form and its space), in µs.
        case stamp(Int64)
    }

    /// A parsed line; a device's idstr points into the line (no allocation).
    enum Parsed {
        case device(Direction, DeviceLine<UnsafeBufferPointer<UInt8>>)
        case checkpoint(Checkpoint)
        case step(DowntimeStep)
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
            let bytes = UnsafeBufferPointer(start: p + i, count: end &- i)
            let name = KnownCheckpoints.interned(bytes) ?? String(decoding: bytes, as: UTF8.self)
            return .checkpoint(Checkpoint(name: name, timestampUS: timestamp, line: lineNumber))
        }
        // After the stock events: a stock log never pays for the series' one.
        if hasPrefix(p, i, end, "step ") {
            return parseStep(p, from: i &+ 5, end: end, timestamp: timestamp, lineNumber: lineNumber)
        }
        let known = hasPrefix(p, i, end, "save") || hasPrefix(p, i, end, "load")
            || hasPrefix(p, i, end, "checkpoint") || hasPrefix(p, i, end, "step")
        return .malformed(known ? "event without its fields (truncated?)"
                                : "unknown vmstate_downtime event")
    }

    @inline(__always)
    private static func parseDevice(_ p: UnsafePointer<UInt8>, from start: Int, end: Int,
                                    direction: Direction, timestamp: Int64?,
                                    lineNumber: Int) -> Parsed {
        var i = start
        let section: Section
        // The two shapes QEMU writes, as whole words first; the checks one by one name what is
        // missing.
        if hasPrefix(p, i, end, "type=non-iterable idstr=") {
            section = .nonIterable
            i &+= 24
        } else if hasPrefix(p, i, end, "type=iterable idstr=") {
            section = .iterable
            i &+= 20
        } else {
            guard hasPrefix(p, i, end, "type=") else { return .malformed("missing type=") }
            i &+= 5
            if hasPrefix(p, i, end, "non-iterable ") {
                i &+= 13
            } else if hasPrefix(p, i, end, "iterable ") {
                i &+= 9
            } else {
                return .malformed("type is neither iterable nor non-iterable")
            }
            return .malformed("missing idstr=")
        }
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
        let name = UnsafeRawBufferPointer(start: p + nameStart, count: keyAt &- nameStart)
        if ByteScan.first(in: name, from: 0, flags: { ByteScan.equal($0, 0) }, special: { $0 == 0 }) < name.count {
            return .malformed("idstr holds a NUL byte")
        }
        return .device(direction, DeviceLine(
            idstr: UnsafeBufferPointer(start: p + nameStart, count: keyAt &- nameStart),
            instanceID: UInt32(truncatingIfNeeded: instance), section: section,
            timeUS: UInt64(downtime), timestampUS: timestamp, line: lineNumber))
    }

    /// A whole stamp prefix as `-msg timestamp=on` writes it: `TID@SECONDS.MICROS:` (QEMU ≤ 10.0)
    /// or `YYYY-MM-DDTHH:MM:SS[.FRACTION]Z ` (QEMU ≥ 10.1); µs since the epoch.
    @_spi(Testing) public static func parseStamp(_ text: String) -> Int64? {
        var copy = text
        return copy.withUTF8 { b in b.baseAddress.flatMap { parseStamp($0, count: b.count) } }
    }

    /// A whole stamp prefix as `-msg timestamp=on` writes it: `TID@SECONDS.MICROS:` (QEMU ≤ 10.0)
    /// or `YYYY-MM-DDTHH:MM:SS[.FRACTION]Z ` (QEMU ≥ 10.1); µs since the epoch.
    @inline(__always)
    static func parseStamp(_ p: UnsafePointer<UInt8>, count: Int) -> Int64? {
        guard count >= 5 else { return nil }
        switch p[count &- 1] {
        case UInt8(ascii: ":"):
            guard let (stamp, end) = readStamp(p, from: 0, limit: count), end == count &- 1 else { return nil }
            return stamp
        case UInt8(ascii: " "):
            guard let (stamp, end) = readISOStamp(p, from: 0, limit: count), end == count &- 1 else { return nil }
            return stamp
        default:
            return nil
        }
    }

    /// Reads `YYYY-MM-DDTHH:MM:SS[.FRACTION](Z|±HH[[:]MM])` from `p[start..<limit]`, the stamp
    /// QEMU 10.1+ writes before a log line with `-msg timestamp=on` (glib's
    /// g_date_time_format_iso8601 of the UTC time: `Z`, and no fraction when it is zero).
    /// FRACTION has 1 to 9 digits. Returns µs since the epoch and the index after the zone
    /// (the caller checks the space there). Shared with `MarkerFinder.atLineStart`.
    @inline(__always)
    static func readISOStamp(_ p: UnsafePointer<UInt8>, from start: Int, limit: Int) -> (Int64, Int)? {
        // The fixed part: 19 bytes, YYYY-MM-DDTHH:MM:SS.
        guard limit &- start >= 20 else { return nil }
        @inline(__always) func two(_ i: Int) -> Int64? {
            let a = p[start &+ i], b = p[start &+ i &+ 1]
            guard isDigit(a), isDigit(b) else { return nil }
            return Int64(a &- 48) &* 10 &+ Int64(b &- 48)
        }
        guard p[start &+ 4] == UInt8(ascii: "-"), p[start &+ 7] == UInt8(ascii: "-"),
              p[start &+ 10] == UInt8(ascii: "T"), p[start &+ 13] == UInt8(ascii: ":"),
              p[start &+ 16] == UInt8(ascii: ":"),
              let century = two(0), let yy = two(2), let month = two(5), let day = two(8),
              let hour = two(11), let minute = two(14), let second = two(17) else { return nil }
        let year = century &* 100 &+ yy
        guard month >= 1, month <= 12, day >= 1, day <= daysIn(month: month, year: year),
              hour <= 23, minute <= 59, second <= 60 else { return nil }
        var i = start &+ 19
        var micros: Int64 = 0
        if p[i] == UInt8(ascii: ".") {
            let fractionStart = i &+ 1
            let fractionEnd = digitsEnd(p, from: fractionStart, limit: limit)
            var digits = fractionEnd &- fractionStart
            guard digits > 0, digits <= 9 else { return nil }
            micros = decimal(p, fractionStart, fractionEnd)
            while digits < 6 { micros &*= 10; digits &+= 1 }
            while digits > 6 { micros /= 10; digits &-= 1 }
            i = fractionEnd
        }
        // The zone: Z, or an offset from UTC (+HH, +HH:MM, +HHMM) that is taken off.
        guard i < limit else { return nil }
        var offsetSeconds: Int64 = 0
        switch p[i] {
        case UInt8(ascii: "Z"):
            i &+= 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            let sign: Int64 = p[i] == UInt8(ascii: "+") ? 1 : -1
            i &+= 1
            guard limit &- i >= 2, isDigit(p[i]), isDigit(p[i &+ 1]) else { return nil }
            let hh = decimal(p, i, i &+ 2)
            i &+= 2
            var mm: Int64 = 0
            if i < limit, p[i] == UInt8(ascii: ":") { i &+= 1 }
            if limit &- i >= 2, isDigit(p[i]), isDigit(p[i &+ 1]) {
                mm = decimal(p, i, i &+ 2)
                i &+= 2
            }
            guard hh <= 23, mm <= 59 else { return nil }
            offsetSeconds = sign &* (hh &* 3600 &+ mm &* 60)
        default:
            return nil
        }
        let seconds = daysFromCivil(year: year, month: month, day: day) &* 86_400
            &+ hour &* 3600 &+ minute &* 60 &+ second &- offsetSeconds
        return (seconds &* 1_000_000 &+ micros, i)
    }

    /// Days from 1970-01-01 to the given proleptic Gregorian date (H. Hinnant's days_from_civil).
    @inline(__always)
    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year &- 1 : year
        let era = (y >= 0 ? y : y &- 399) / 400
        let yoe = y &- era &* 400
        let doy = (153 &* (month > 2 ? month &- 3 : month &+ 9) &+ 2) / 5 &+ day &- 1
        let doe = yoe &* 365 &+ yoe / 4 &- yoe / 100 &+ doy
        return era &* 146_097 &+ doe &- 719_468
    }

    @inline(__always)
    static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Reads `TID@SECONDS.MICROS` from `p[start..<limit]`: one or more TID digits, 1 to 12
    /// seconds digits, 1 to 9 fraction digits. Returns the stamp in µs and the index after the
    /// fraction (the caller checks the `:` there). Shared with `MarkerFinder.atLineStart`.
    @inline(__always)
    static func readStamp(_ p: UnsafePointer<UInt8>, from start: Int, limit: Int) -> (Int64, Int)? {
        let tidEnd = digitsEnd(p, from: start, limit: limit)
        guard tidEnd > start, tidEnd < limit, p[tidEnd] == UInt8(ascii: "@") else { return nil }
        let secondsStart = tidEnd &+ 1
        // The usual stamp, 10 seconds digits and 6 fraction digits, eight digits at a time.
        if secondsStart &+ 18 <= limit, p[secondsStart &+ 10] == UInt8(ascii: "."),
           !isDigit(p[secondsStart &+ 17]),
           let high = eightDigits(p + secondsStart), let low = eightDigits(p + (secondsStart &+ 2)),
           let fraction = eightDigits(p + (secondsStart &+ 9), leadingZeros: 2) {
            // Digits 0-7 and 2-9: the seconds are the first eight and the last two.
            let seconds = high &* 100 &+ low % 100
            return (seconds &* 1_000_000 &+ fraction, secondsStart &+ 17)
        }
        let (seconds, secondsEnd) = digitsValue(p, from: secondsStart, limit: limit)
        let secondsDigits = secondsEnd &- secondsStart
        guard secondsDigits > 0, secondsDigits <= 12, secondsEnd < limit,
              p[secondsEnd] == UInt8(ascii: ".") else { return nil }
        let microsStart = secondsEnd &+ 1
        var (micros, microsEnd) = digitsValue(p, from: microsStart, limit: limit)
        var digits = microsEnd &- microsStart
        guard digits > 0, digits <= 9 else { return nil }
        // QEMU prints %06zu; scale anything else to microseconds.
        while digits < 6 { micros &*= 10; digits &+= 1 }
        while digits > 6 { micros /= 10; digits &-= 1 }
        return (seconds &* 1_000_000 &+ micros, microsEnd)
    }

    /// The value of the eight digits at `p`, nil unless all eight are digits; the first
    /// `leadingZeros` bytes (whatever they are) count as zeros.
    @inline(__always)
    static func eightDigits(_ p: UnsafePointer<UInt8>, leadingZeros: Int = 0) -> Int64? {
        var x = UInt64(littleEndian: UnsafeRawPointer(p).loadUnaligned(as: UInt64.self))
        if leadingZeros > 0 {
            let mask: UInt64 = (1 << UInt64(8 * leadingZeros)) &- 1
            x = (x & ~mask) | (0x3030_3030_3030_3030 & mask)
        }
        // Each byte 0x30...0x39: high nibble 3, and adding 6 does not carry into it.
        guard x & 0xF0F0_F0F0_F0F0_F0F0 == 0x3030_3030_3030_3030,
              (x &+ 0x0606_0606_0606_0606) & 0xF0F0_F0F0_F0F0_F0F0 == 0x3030_3030_3030_3030 else { return nil }
        x &-= 0x3030_3030_3030_3030
        // The first byte is the most significant digit: combine pairs, then fours, then eights.
        x = (x &* 10 &+ (x >> 8)) & 0x00FF_00FF_00FF_00FF
        x = (x &* 100 &+ (x >> 16)) & 0x0000_FFFF_0000_FFFF
        x = (x &* 10_000 &+ (x >> 32)) & 0xFFFF_FFFF
        return Int64(x)
    }

    /// The run of digits that starts at `i` (at most `limit`): its value (wrapping past 18
    /// digits; callers bound the count) and its end, in one pass.
    @inline(__always)
    static func digitsValue(_ p: UnsafePointer<UInt8>, from i: Int, limit: Int) -> (Int64, Int) {
        var j = i
        var value: Int64 = 0
        while j < limit {
            let d = p[j] &- 48
            guard d <= 9 else { break }
            value = value &* 10 &+ Int64(d)
            j &+= 1
        }
        return (value, j)
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
    static func hasSuffixBefore(_ p: UnsafePointer<UInt8>, _ end: Int, _ floor: Int,
                                        _ s: StaticString) -> Bool {
        let n = s.utf8CodeUnitCount
        guard end &- n >= floor else { return false }
        return hasPrefix(p, end &- n, end, s)
    }

    @inline(__always)
    static func hasPrefix(_ p: UnsafePointer<UInt8>, _ i: Int, _ end: Int,
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
