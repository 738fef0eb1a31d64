// SPDX-License-Identifier: MIT
@testable import DevstateIngest
import DevstateModel
import Foundation

/// The committed real captures (Tests/Fixtures): stock QEMU per release (qemu-RELEASE: 10.0
/// with `TID@SECONDS.MICROS:` stamps, 10.2 with ISO 8601 ones), our series (series-RELEASE) and
/// libvirt's logs. Expectations come from the files, read here with plain string operations.
enum Fixtures {
    static let releases = ["10.0", "10.2"]

    static let root: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures").path
    }()

    static func path(_ name: String, release: String = "10.0", series: Bool = false) -> String {
        root + (series ? "/series-" : "/qemu-") + release + "/" + name
    }

    static func text(_ name: String, release: String = "10.0", series: Bool = false) throws -> String {
        try String(contentsOfFile: path(name, release: release, series: series), encoding: .utf8)
    }

    /// A device line read independently: (event, type, idstr, instance, downtime).
    struct Line: Equatable {
        var event: String
        var type: String
        var idstr: String
        var instance: UInt32
        var downtime: UInt64
    }

    static func deviceLines(_ text: String) -> [Line] {
        text.split(separator: "\n").compactMap { raw -> Line? in
            guard let r = raw.range(of: "vmstate_downtime_") else { return nil }
            let fields = raw[r.upperBound...].split(separator: " ")
            guard fields.count == 5, fields[0] == "save" || fields[0] == "load" else { return nil }
            func value(_ f: Substring) -> String { String(f.split(separator: "=", maxSplits: 1)[1]) }
            return Line(event: String(fields[0]), type: value(fields[1]), idstr: value(fields[2]),
                        instance: UInt32(bitPattern: Int32(value(fields[3]))!), downtime: UInt64(value(fields[4]))!)
        }
    }

    /// The stamp before an event, read independently of the parser: `TID@SECONDS.MICROS:`
    /// (QEMU 10.0) or `YYYY-MM-DDTHH:MM:SS[.MICROS]Z ` (QEMU 10.2, UTC; timegm for the date).
    static func stampMicros(_ prefix: String) -> Int64? {
        if prefix.isEmpty { return nil }
        if prefix.hasSuffix(":"), let at = prefix.firstIndex(of: "@") {
            let stamp = prefix[prefix.index(after: at)..<prefix.index(before: prefix.endIndex)].split(separator: ".")
            return Int64(stamp[0])! * 1_000_000 + Int64(stamp[1])!
        }
        precondition(prefix.hasSuffix("Z "), "unknown stamp \(prefix)")
        let iso = prefix.dropLast(2)
        let (whole, fraction) = iso.contains(".")
            ? (iso.split(separator: ".")[0], String(iso.split(separator: ".")[1])) : (iso[...], "0")
        let dateTime = whole.split(separator: "T")
        let date = dateTime[0].split(separator: "-").map { Int32($0)! }
        let time = dateTime[1].split(separator: ":").map { Int32($0)! }
        var t = tm()
        (t.tm_year, t.tm_mon, t.tm_mday) = (date[0] - 1900, date[1] - 1, date[2])
        (t.tm_hour, t.tm_min, t.tm_sec) = (time[0], time[1], time[2])
        return Int64(timegm(&t)) * 1_000_000 + Int64(fraction.padding(toLength: 6, withPad: "0", startingAt: 0))!
    }

    /// The step lines of a log, read with a regular expression of the tests' own: (name, kind,
    /// device, type, time), the 1-based line number and the stamp before it.
    static func stepLines(_ text: String) throws -> [(step: [String], line: Int, stamp: Int64?)] {
        let shape = try NSRegularExpression(
            pattern: #"^(.*)vmstate_downtime_step kind=(\S+) device=(.*?) type=(.*?) downtime=(\d+) name=(.+)$"#)
        var found: [([String], Int, Int64?)] = []
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = String(raw)
            guard let m = shape.firstMatch(in: line, range: NSRange(line.startIndex..., in: line)) else { continue }
            func group(_ k: Int) -> String { String(line[Range(m.range(at: k), in: line)!]) }
            found.append(([group(6), group(2), group(3), group(4), group(5)], i + 1, stampMicros(group(1))))
        }
        return found
    }
}

/// A file holding `text` for the test's duration.
final class TemporaryFile {
    let path = NSTemporaryDirectory() + "devstate-ingest-\(UUID().uuidString).log"
    init(_ text: String) { _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8)) }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// The events and counts of `text` read as a log.
func readAll(_ text: String, chunkSize: Int = 1 << 22, maxLineLength: Int = 1 << 16) -> ([TraceEvent], ReadStats) {
    let file = TemporaryFile(text)
    var events: [TraceEvent] = []
    let stats = try! LogReader(keepMalformed: 50, chunkSize: chunkSize, maxLineLength: maxLineLength)
        .read(path: file.path, name: "test.log") { events.append($0) }
    return (events, stats)
}

extension TraceEvent {
    var timestampUS: Int64? {
        switch self {
        case .device(_, let d): d.timestampUS
        case .checkpoint(let c): c.timestampUS
        case .step(let s): s.timestampUS
        }
    }
}
