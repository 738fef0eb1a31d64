// SPDX-License-Identifier: MIT
/// The stamp `-msg timestamp=on` puts before a trace line, in µs since the epoch: QEMU up to
/// 10.0 writes `TID@SECONDS.MICROS:`, 10.1 and later `YYYY-MM-DDTHH:MM:SS[.FRACTION]Z ` (glib's
/// ISO 8601 of UTC: no thread id, no fraction when it is zero).
extension LineParser {
    public static func parseStamp(_ text: String) -> Int64? {
        var text = text
        return text.withUTF8 { parseStamp($0) }
    }

    /// `TID@SECONDS.FRACTION:` (1 to 12 seconds digits) or the ISO 8601 form and its space.
    static func parseStamp(_ p: UnsafeBufferPointer<UInt8>) -> Int64? {
        guard p.count >= 5 else { return nil }
        if p[p.count - 1] == UInt8(ascii: " ") { return readISOStamp(p) }
        let tidEnd = p.digits(from: 0).end
        guard p[p.count - 1] == UInt8(ascii: ":"), tidEnd > 0, tidEnd < p.count, p[tidEnd] == UInt8(ascii: "@") else { return nil }
        let (seconds, end) = p.digits(from: tidEnd + 1)
        guard (1...12).contains(end - tidEnd - 1), end < p.count, p[end] == UInt8(ascii: "."),
              let (micros, stampEnd) = fraction(p, end + 1), stampEnd == p.count - 1 else { return nil }
        return seconds * 1_000_000 + micros
    }

    /// `YYYY-MM-DDTHH:MM:SS[.FRACTION](Z|±HH[[:]MM])`, the offset taken off.
    private static func readISOStamp(_ p: UnsafeBufferPointer<UInt8>) -> Int64? {
        guard p.count >= 20, p.matches("dddd-dd-ddTdd:dd:dd") else { return nil }
        let (year, month, day) = (p.digits(from: 0).value, p.digits(from: 5).value, p.digits(from: 8).value)
        let (hour, minute, second) = (p.digits(from: 11).value, p.digits(from: 14).value, p.digits(from: 17).value)
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        let days: [Int64] = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard (1...12).contains(month), day >= 1, day <= days[Int(month) - 1],
              hour <= 23, minute <= 59, second <= 60 else { return nil }
        var (micros, i): (Int64, Int) = (0, 19)
        if p[i] == UInt8(ascii: ".") {
            guard let read = fraction(p, i + 1) else { return nil }
            (micros, i) = read
        }
        guard i < p.count else { return nil }
        var offset: Int64 = 0
        if p[i] == UInt8(ascii: "Z") {
            i += 1
        } else {
            func two(_ at: Int) -> Int64? {
                p.count - at >= 2 && isDigit(p[at]) && isDigit(p[at + 1]) ? Int64(p[at] - 48) * 10 + Int64(p[at + 1] - 48) : nil
            }
            guard p[i] == UInt8(ascii: "+") || p[i] == UInt8(ascii: "-"), let hh = two(i + 1), hh <= 23 else { return nil }
            let sign: Int64 = p[i] == UInt8(ascii: "+") ? 1 : -1
            i += i + 3 < p.count && p[i + 3] == UInt8(ascii: ":") ? 4 : 3
            let mm = two(i) ?? 0
            i += two(i) == nil ? 0 : 2
            guard mm <= 59 else { return nil }
            offset = sign * (hh * 3600 + mm * 60)
        }
        // Days from 1970-01-01 to the proleptic Gregorian date (H. Hinnant's days_from_civil).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let seconds = (era * 146_097 + doe - 719_468) * 86_400 + hour * 3600 + minute * 60 + second - offset
        return i == p.count - 1 ? seconds * 1_000_000 + micros : nil
    }

    /// 1 to 9 digits: QEMU prints %06zu, anything else is scaled and cut to µs.
    private static func fraction(_ p: UnsafeBufferPointer<UInt8>, _ start: Int) -> (Int64, Int)? {
        var (micros, end) = p.digits(from: start)
        guard (1...9).contains(end - start) else { return nil }
        for _ in stride(from: end - start, to: 6, by: 1) { micros *= 10 }
        for _ in stride(from: end - start, to: 6, by: -1) { micros /= 10 }
        return (micros, end)
    }
}

extension UnsafeBufferPointer<UInt8> {
    /// Whether the bytes start with `shape`: `d` a digit, `+` a sign, anything else itself.
    func matches(_ shape: StaticString) -> Bool {
        count >= shape.utf8CodeUnitCount && shape.withUTF8Buffer { s in
            zip(self, s).allSatisfy { b, s in
                s == UInt8(ascii: "d") ? LineParser.isDigit(b) : s == UInt8(ascii: "+") ? b == s || b == UInt8(ascii: "-") : b == s
            }
        }
    }
}
