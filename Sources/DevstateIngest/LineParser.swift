// SPDX-License-Identifier: MIT
import DevstateBytes
import DevstateModel

/// Reads one line of QEMU's log trace backend, after a `STAMP` (`LineParser+Stamp.swift`) or
/// any prefix that ends in a non-word byte, such as a syslog header:
///
///     [STAMP]vmstate_downtime_save|load type=TYPE idstr=IDSTR instance_id=N downtime=US
///     [STAMP]vmstate_downtime_checkpoint NAME
///     [STAMP]vmstate_downtime_step …   (our QEMU series: `parseStep`)
///
/// `IDSTR` runs up to the last ` instance_id=`, so it may hold spaces. `instance_id` is printed
/// with `%d`: ids above 2^31 show as negative numbers and are taken back as their 32-bit pattern.
public enum LineParser {
    public enum Result: Equatable, Sendable {
        case event(TraceEvent)
        case malformed(String)  // the line holds the marker but cannot be read
        case unrelated
    }

    enum Parsed {
        case device(DeviceLine)
        case checkpoint(Checkpoint)
        case step(DowntimeStep)
        case malformed(String)

        func event(in line: UnsafeBufferPointer<UInt8>) -> TraceEvent? {
            switch self {
            case .device(let d): .device(d.direction, d.device(idstr: Array(line[d.idstr])))
            case .checkpoint(let c): .checkpoint(c)
            case .step(let s): .step(s)
            case .malformed: nil
            }
        }
    }

    /// Its idstr is left in the line (in the splitter, its store): a part not kept allocates nothing.
    struct DeviceLine {
        var direction: Direction
        var idstr: Range<Int>
        var instanceID: UInt32
        var section: Section
        var timeUS: UInt64
        var timestampUS: Int64?
        var line: Int
        func device(idstr: [UInt8]) -> DeviceTime {
            DeviceTime(idstr: idstr, instanceID: instanceID, section: section, timeUS: timeUS, timestampUS: timestampUS, line: line)
        }
    }

    public static func parse(_ text: String, line: Int = 0) -> Result {
        var text = text
        return text.withUTF8 { p in
            guard let base = p.baseAddress, let m = LineScan.findMarker(base, from: 0, to: p.count) else { return .unrelated }
            let parsed = parse(p, markerAt: m, number: line)
            guard case .malformed(let reason) = parsed else { return .event(parsed.event(in: p)!) }
            return .malformed(reason)
        }
    }

    /// Parses the line `p` whose first marker is at `m`. Saves and loads, most of a log, are
    /// read here: a result handed on through another call costs a copy.
    static func parse(_ p: UnsafeBufferPointer<UInt8>, markerAt m: Int, number: Int) -> Parsed {
        var end = p.count
        while end > m, p[end - 1] == UInt8(ascii: "\r") || p[end - 1] == UInt8(ascii: " ") { end -= 1 }
        var stamp: Int64?
        if m > 0 {
            stamp = parseStamp(UnsafeBufferPointer(rebasing: p[..<m]))
            if stamp == nil, isWordByte(p[m - 1]) { return .malformed("garbled text before the event name") }
        }
        var i = m + LineScan.marker.count + 5
        let save = p.has("save ", at: i - 5, end)
        guard save || p.has("load ", at: i - 5, end) else { return parseOther(p, i - 5, end, stamp, number) }
        let section: Section
        if p.has("type=non-iterable idstr=", at: i, end) {
            (section, i) = (.nonIterable, i + 24)
        } else if p.has("type=iterable idstr=", at: i, end) {
            (section, i) = (.iterable, i + 20)
        } else {
            guard p.has("type=", at: i, end) else { return .malformed("missing type=") }
            let typed = p.has("non-iterable ", at: i + 5, end) || p.has("iterable ", at: i + 5, end)
            return .malformed(typed ? "missing idstr=" : "type is neither iterable nor non-iterable")
        }
        // From the end: " instance_id=N downtime=N" closes the line.
        let timeStart = p.digitsStart(before: end, floor: i)
        guard timeStart < end else {
            let keyed = p.hasSuffix(" downtime=", before: end, floor: i) || p.hasSuffix(" downtime=-", before: end, floor: i)
            return .malformed(keyed ? "downtime is not a number" : "missing downtime= (truncated?)")
        }
        guard end - timeStart <= 18 else { return .malformed("downtime is not a number") }
        if timeStart > i, p[timeStart - 1] == UInt8(ascii: "-") { return .malformed("negative downtime") }
        guard p.hasSuffix(" downtime=", before: timeStart, floor: i) else { return .malformed("missing downtime= (truncated?)") }
        let instanceEnd = timeStart - 10
        var q = p.digitsStart(before: instanceEnd, floor: i)
        guard q < instanceEnd, instanceEnd - q <= 10 else { return .malformed("instance_id is not a number") }
        var instance = p.digits(from: q).value
        if q > i, p[q - 1] == UInt8(ascii: "-") { (instance, q) = (-instance, q - 1) }
        guard instance >= Int64(Int32.min), instance <= Int64(UInt32.max) else { return .malformed("instance_id out of range") }
        guard p.hasSuffix(" instance_id=", before: q, floor: i) else { return .malformed("missing instance_id= (truncated?)") }
        let nameEnd = q - 13
        guard nameEnd > i else { return .malformed("empty idstr") }
        guard nameEnd - i <= 255 else { return .malformed("idstr longer than 255 bytes") }
        if p[i..<nameEnd].contains(0) { return .malformed("idstr holds a NUL byte") }
        return .device(DeviceLine(direction: save ? .save : .load, idstr: i..<nameEnd, instanceID: UInt32(truncatingIfNeeded: instance),
                                  section: section, timeUS: UInt64(p.digits(from: timeStart).value), timestampUS: stamp,
                                  line: number))
    }

    private static func parseOther(_ p: UnsafeBufferPointer<UInt8>, _ i: Int, _ end: Int, _ stamp: Int64?,
                                   _ number: Int) -> Parsed {
        if p.has("checkpoint ", at: i, end) {
            var k = i + 11
            while k < end, p[k] == UInt8(ascii: " ") { k += 1 }
            guard k < end else { return .malformed("checkpoint without a name") }
            if p[k..<end].contains(where: { $0 <= 0x20 || $0 == 0x7f }) {
                return .malformed("checkpoint name holds a space or control byte")
            }
            return .checkpoint(Checkpoint(name: p.text(k, end), timestampUS: stamp, line: number))
        }
        if p.has("step ", at: i, end) { return parseStep(p, i + 5, end, stamp, number) }
        let known = p.has("save", at: i, end) || p.has("load", at: i, end)
            || p.has("checkpoint", at: i, end) || p.has("step", at: i, end)
        return .malformed(known ? "event without its fields (truncated?)" : "unknown vmstate_downtime event")
    }

    /// Our QEMU series' `vmstate_downtime_step` line after the event name and its space, written
    /// with `"kind=%s device=%s type=%s downtime=%"PRIi64" name=%s"`: DEVICE and TYPE may be empty,
    /// NAME runs to the end of the line. DEVICE runs to the first ` type=`, TYPE to the next
    /// ` downtime=` (a QOM path, a node name or a type holds neither).
    private static func parseStep(_ p: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, _ stamp: Int64?,
                          _ number: Int) -> Parsed {
        guard p.has("kind=", at: start, end) else { return .malformed("missing kind=") }
        var i = start + 5
        while i < end, p[i] != UInt8(ascii: " ") { i += 1 }
        guard i < end else { return .malformed("missing device= (truncated?)") }
        guard let kind = DowntimeStepKind(rawValue: p.text(start + 5, i)) else {
            return .malformed("step kind is none of work, prepare, main")
        }
        guard p.has(" device=", at: i, end) else { return .malformed("missing device= (truncated?)") }
        let device = i + 8
        guard let deviceEnd = p.find(" type=", from: device, end) else { return .malformed("missing type= (truncated?)") }
        guard let typeEnd = p.find(" downtime=", from: deviceEnd + 6, end) else {
            return .malformed("missing downtime= (truncated?)")
        }
        let digitsAt = typeEnd + 10
        if digitsAt < end, p[digitsAt] == UInt8(ascii: "-") { return .malformed("negative downtime") }
        let (time, timeEnd) = p.digits(from: digitsAt)
        guard (1...18).contains(timeEnd - digitsAt) else {
            return .malformed(timeEnd == digitsAt && timeEnd == end ? "missing downtime= (truncated?)" : "downtime is not a number")
        }
        guard timeEnd == end || p[timeEnd] == UInt8(ascii: " ") else { return .malformed("downtime is not a number") }
        guard p.has(" name=", at: timeEnd, end) else { return .malformed("missing name= (truncated?)") }
        let name = timeEnd + 6
        guard name < end else { return .malformed("step without a name") }
        let fields = [device..<deviceEnd, deviceEnd + 6..<typeEnd, name..<end]
        if fields.contains(where: { p[$0].contains { $0 < 0x20 || $0 == 0x7f } }) {
            return .malformed("step field holds a control byte")
        }
        return .step(DowntimeStep(name: p.text(name, end), device: p.text(device, deviceEnd),
                                  type: p.text(deviceEnd + 6, typeEnd), kind: kind, timeUS: UInt64(time),
                                  timestampUS: stamp, line: number))
    }

    static func isDigit(_ b: UInt8) -> Bool { b &- 48 < 10 }
    static func isWordByte(_ b: UInt8) -> Bool {
        isDigit(b) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b == UInt8(ascii: "_")
            || b == UInt8(ascii: "-") || b == UInt8(ascii: ".")
    }
}

extension UnsafeBufferPointer<UInt8> {
    func has(_ s: StaticString, at i: Int, _ end: Int) -> Bool {
        let n = s.utf8CodeUnitCount
        guard i >= 0, end - i >= n else { return false }
        return s.withUTF8Buffer { q in
            var k = 0
            while k < n, self[i &+ k] == q[k] { k &+= 1 }
            return k == n
        }
    }

    func hasSuffix(_ s: StaticString, before end: Int, floor: Int) -> Bool {
        end - s.utf8CodeUnitCount >= floor && has(s, at: end - s.utf8CodeUnitCount, end)
    }
    /// Wraps past 18 digits: callers bound the count.
    func digits(from i: Int) -> (value: Int64, end: Int) {
        var (value, j): (Int64, Int) = (0, i)
        while j < count, LineParser.isDigit(self[j]) {
            value = value &* 10 &+ Int64(self[j] &- 48)
            j &+= 1
        }
        return (value, j)
    }
    func digitsStart(before end: Int, floor: Int) -> Int {
        var j = end
        while j > floor, LineParser.isDigit(self[j &- 1]) { j &-= 1 }
        return j
    }
    func text(_ from: Int, _ to: Int) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: self[from..<to]), as: UTF8.self)
    }
    func find(_ s: StaticString, from: Int, _ end: Int) -> Int? {
        (from..<Swift.max(from, end - s.utf8CodeUnitCount + 1)).first { has(s, at: $0, end) }
    }
}
