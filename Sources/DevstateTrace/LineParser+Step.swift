// SPDX-License-Identifier: MIT
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Our QEMU series' `vmstate_downtime_step` line, after the event name and its space:
///
///     kind=KIND device=DEVICE type=TYPE downtime=US name=NAME
///
/// QEMU writes it with `"kind=%s device=%s type=%s downtime=%"PRIi64" name=%s"`, so DEVICE and
/// TYPE may be empty (`device= type= `) and NAME, last, runs to the end of the line (spaces
/// included). DEVICE runs to the first ` type=` and TYPE to the next ` downtime=` (a QOM path,
/// a node name or a type holds neither). A line that does not have this shape is malformed,
/// with a reason like the device lines' ones, and skipped.
extension LineParser {
    @inline(__always)
    static func parseStep(_ p: UnsafePointer<UInt8>, from start: Int, end: Int, timestamp: Int64?,
                          lineNumber: Int) -> Parsed {
        var i = start
        guard hasPrefix(p, i, end, "kind=") else { return .malformed("missing kind=") }
        i &+= 5
        let kindStart = i
        while i < end, p[i] != UInt8(ascii: " ") { i &+= 1 }
        guard i < end else { return .malformed("missing device= (truncated?)") }
        guard let kind = DowntimeStepKind(rawValue: text(p, kindStart, i)) else {
            return .malformed("step kind is none of work, prepare, main")
        }
        i &+= 1
        guard hasPrefix(p, i, end, "device=") else { return .malformed("missing device= (truncated?)") }
        i &+= 7
        let deviceStart = i
        guard let deviceEnd = find(" type=", in: p, from: i, to: end) else {
            return .malformed("missing type= (truncated?)")
        }
        i = deviceEnd &+ 6
        let typeStart = i
        guard let typeEnd = find(" downtime=", in: p, from: i, to: end) else {
            return .malformed("missing downtime= (truncated?)")
        }
        i = typeEnd &+ 10
        if i < end, p[i] == UInt8(ascii: "-") { return .malformed("negative downtime") }
        let digitsAt = i
        i = digitsEnd(p, from: i, limit: end)
        let digits = i &- digitsAt
        guard digits > 0, digits <= 18 else {
            return .malformed(digits == 0 && i == end ? "missing downtime= (truncated?)" : "downtime is not a number")
        }
        guard i == end || p[i] == UInt8(ascii: " ") else { return .malformed("downtime is not a number") }
        guard hasPrefix(p, i, end, " name=") else { return .malformed("missing name= (truncated?)") }
        let nameStart = i &+ 6
        guard nameStart < end else { return .malformed("step without a name") }
        for range in [deviceStart..<deviceEnd, typeStart..<typeEnd, nameStart..<end] {
            for k in range where p[k] < 0x20 || p[k] == 0x7f {
                return .malformed("step field holds a control byte")
            }
        }
        return .step(DowntimeStep(name: text(p, nameStart, end), device: text(p, deviceStart, deviceEnd),
                                  type: text(p, typeStart, typeEnd), kind: kind,
                                  timeUS: UInt64(decimal(p, digitsAt, i)), timestampUS: timestamp,
                                  line: lineNumber))
    }

    /// The bytes `p[from..<to]` as text (invalid UTF-8 replaced).
    private static func text(_ p: UnsafePointer<UInt8>, _ from: Int, _ to: Int) -> String {
        String(decoding: UnsafeBufferPointer(start: p + from, count: to &- from), as: UTF8.self)
    }

    /// Where `s` first occurs in `p[from..<to]`.
    private static func find(_ s: StaticString, in p: UnsafePointer<UInt8>, from: Int, to: Int) -> Int? {
        let n = s.utf8CodeUnitCount
        var k = from
        while k &+ n <= to {
            if p[k] == s.utf8Start[0], memcmp(p + k, s.utf8Start, n) == 0 { return k }
            k &+= 1
        }
        return nil
    }
}
