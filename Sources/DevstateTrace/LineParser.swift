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

    /// Parses a whole line (without its newline). `line` is its 1-based number.
    public static func parse(_ text: String, line: Int = 0) -> Result {
        var copy = text
        return copy.withUTF8 { parse($0, line: line) }
    }

    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>, line: Int = 0) -> Result {
        guard let base = bytes.baseAddress, bytes.count >= marker.count else { return .unrelated }
        guard let at = find(marker, in: base, count: bytes.count) else { return .unrelated }
        return result(parseRaw(line: base, count: bytes.count, markerAt: at, lineNumber: line),
                      line: base, lineNumber: line)
    }

    /// The public form of a raw result (allocates the name).
    static func result(_ raw: Raw, line p: UnsafePointer<UInt8>, lineNumber: Int) -> Result {
        switch raw {
        case .device(let direction, let d):
            return .event(.device(direction, DeviceTime(
                nameBytes: Array(UnsafeBufferPointer(start: p + d.nameStart, count: d.nameCount)),
                instanceID: d.instanceID, section: d.section, timeUS: d.timeUS,
                timestampUS: d.hasTimestamp ? d.timestampUS : nil, line: lineNumber)))
        case .checkpoint(let c): return .event(.checkpoint(c))
        case .malformed(let reason): return .malformed(reason)
        case .unrelated: return .unrelated
        }
    }

    /// A device line's fields, without allocating: the name is `nameCount` bytes at `nameStart`
    /// in the line.
    struct RawDevice {
        var nameStart: Int
        var nameCount: Int
        var instanceID: UInt32
        var section: Section
        var timeUS: UInt64
        var timestampUS: Int64
        var hasTimestamp: Bool
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

    enum Raw {
        case device(Direction, RawDevice)
        case checkpoint(Checkpoint)
        case malformed(String)
        case unrelated
    }

    /// `markerAt` is the offset of the first `vmstate_downtime_` in the line.
    @inline(__always)
    static func parseRaw(line p: UnsafePointer<UInt8>, count n: Int, markerAt m: Int,
                         lineNumber: Int, prefix: Prefix = .unread) -> Raw {
        var end = n
        while end > m, p[end &- 1] == UInt8(ascii: "\r") || p[end &- 1] == UInt8(ascii: " ") {
            end &-= 1
        }
        // Prefix: empty, a -msg timestamp=on stamp, or anything ending in a non-word byte.
        var timestamp: Int64 = 0
        var hasTimestamp = false
        if case .stamp(let known) = prefix {
            timestamp = known
            hasTimestamp = true
        } else if m > 0 {
            if let stamp = parseStamp(p, count: m) {
                timestamp = stamp
                hasTimestamp = true
            } else if isWordByte(p[m &- 1]) {
                return .malformed("garbled text before the event name")
            }
        }
        var i = m &+ 17  // marker.count
        if hasPrefix(p, i, end, "save ") {
            return parseDevice(p, from: i &+ 5, end: end, direction: .save, timestamp: timestamp,
                               hasTimestamp: hasTimestamp)
        }
        if hasPrefix(p, i, end, "load ") {
            return parseDevice(p, from: i &+ 5, end: end, direction: .load, timestamp: timestamp,
                               hasTimestamp: hasTimestamp)
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
            return .checkpoint(Checkpoint(name: name, timestampUS: hasTimestamp ? timestamp : nil,
                                          line: lineNumber))
        }
        let known = hasPrefix(p, i, end, "save") || hasPrefix(p, i, end, "load")
            || hasPrefix(p, i, end, "checkpoint")
        return .malformed(known ? "event without its fields (truncated?)"
                                : "unknown vmstate_downtime event")
    }

    @inline(__always)
    private static func parseDevice(_ p: UnsafePointer<UInt8>, from start: Int, end: Int,
                                    direction: Direction, timestamp: Int64,
                                    hasTimestamp: Bool) -> Raw {
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
        var j = end
        while j > nameStart, isDigit(p[j &- 1]) { j &-= 1 }
        let timeDigits = end &- j
        guard timeDigits > 0 else {
            return .malformed(hasSuffixBefore(p, end, nameStart, " downtime=") || hasSuffixBefore(p, end, nameStart, " downtime=-")
                ? "downtime is not a number" : "missing downtime= (truncated?)")
        }
        guard timeDigits <= 18 else { return .malformed("downtime is not a number") }
        if j > nameStart, p[j &- 1] == UInt8(ascii: "-") { return .malformed("negative downtime") }
        guard hasSuffixBefore(p, j, nameStart, " downtime=") else {
            return .malformed("missing downtime= (truncated?)")
        }
        var downtime: Int64 = 0
        for k in j..<end { downtime = downtime &* 10 &+ Int64(p[k] &- 48) }
        let instanceEnd = j &- 10
        var q = instanceEnd
        while q > nameStart, isDigit(p[q &- 1]) { q &-= 1 }
        let instanceDigits = instanceEnd &- q
        guard instanceDigits > 0, instanceDigits <= 10 else {
            return .malformed("instance_id is not a number")
        }
        var instance: Int64 = 0
        for k in q..<instanceEnd { instance = instance &* 10 &+ Int64(p[k] &- 48) }
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
        return .device(direction, RawDevice(
            nameStart: nameStart, nameCount: keyAt &- nameStart,
            instanceID: UInt32(truncatingIfNeeded: instance), section: section,
            timeUS: UInt64(downtime), timestampUS: timestamp, hasTimestamp: hasTimestamp))
    }

    /// `parseStamp` on a string (tests).
    public static func parseStampForTest(_ text: String) -> Int64? {
        var copy = text
        return copy.withUTF8 { b in b.baseAddress.flatMap { parseStamp($0, count: b.count) } }
    }

    /// `TID@SECONDS.MICROS:` exactly, as `-msg timestamp=on` writes it; µs since the epoch.
    static func parseStamp(_ p: UnsafePointer<UInt8>, count: Int) -> Int64? {
        guard count >= 5, p[count &- 1] == UInt8(ascii: ":") else { return nil }
        // Fast path for QEMU's own shape: 6 fraction digits, read from the end.
        if count >= 11, p[count &- 8] == UInt8(ascii: ".") {
            var micros: Int64 = 0
            var ok = true
            for k in (count &- 7)..<(count &- 1) {
                let b = p[k]
                ok = ok && isDigit(b)
                micros = micros &* 10 &+ Int64(b &- 48)
            }
            var j = count &- 8
            var seconds: Int64 = 0
            var scale: Int64 = 1
            while ok, j > 0, isDigit(p[j &- 1]), scale <= 100_000_000_000 {
                seconds = seconds &+ Int64(p[j &- 1] &- 48) &* scale
                scale &*= 10
                j &-= 1
            }
            if ok, scale > 1, j > 1, p[j &- 1] == UInt8(ascii: "@") {
                var t = j &- 1
                while t > 0, isDigit(p[t &- 1]) { t &-= 1 }
                if t == 0, j &- 1 > 0 { return seconds &* 1_000_000 &+ micros }
            }
        }
        guard let (stamp, end) = readStamp(p, from: 0, limit: count), end == count &- 1 else {
            return nil
        }
        return stamp
    }

    /// Reads `TID@SECONDS.MICROS` from `p[start..<limit]`: one or more TID digits, 1 to 12
    /// seconds digits, 1 to 9 fraction digits. Returns the stamp in µs and the index after the
    /// fraction (the caller checks the `:` there). Shared with `MarkerFinder.atLineStart`.
    @inline(__always)
    static func readStamp(_ p: UnsafePointer<UInt8>, from start: Int, limit: Int) -> (Int64, Int)? {
        var i = start
        while i < limit, isDigit(p[i]) { i &+= 1 }
        guard i > start, i < limit, p[i] == UInt8(ascii: "@") else { return nil }
        i &+= 1
        let secondsStart = i
        var seconds: Int64 = 0
        while i < limit, isDigit(p[i]) {
            seconds = seconds &* 10 &+ Int64(p[i] &- 48)
            i &+= 1
        }
        let secondsDigits = i &- secondsStart
        guard secondsDigits > 0, secondsDigits <= 12, i < limit, p[i] == UInt8(ascii: ".") else {
            return nil
        }
        i &+= 1
        let microsStart = i
        var micros: Int64 = 0
        while i < limit, isDigit(p[i]) {
            micros = micros &* 10 &+ Int64(p[i] &- 48)
            i &+= 1
        }
        var digits = i &- microsStart
        guard digits > 0, digits <= 9 else { return nil }
        // QEMU prints %06zu; scale anything else to microseconds.
        while digits < 6 { micros &*= 10; digits &+= 1 }
        while digits > 6 { micros /= 10; digits &-= 1 }
        return (seconds &* 1_000_000 &+ micros, i)
    }

    @inline(__always) static func isDigit(_ b: UInt8) -> Bool { b >= 48 && b <= 57 }

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

    @inline(__always)
    private static func matches(_ p: UnsafePointer<UInt8>, _ i: Int, _ bytes: [UInt8]) -> Bool {
        for k in 0..<bytes.count where p[i + k] != bytes[k] { return false }
        return true
    }

    static func find(_ needle: [UInt8], in p: UnsafePointer<UInt8>, count: Int) -> Int? {
        guard count >= needle.count else { return nil }
        var i = 0
        let first = needle[0]
        while i <= count - needle.count {
            if p[i] == first, matches(p, i, needle) { return i }
            i += 1
        }
        return nil
    }
}
