// SPDX-License-Identifier: MIT
import DevstateAnalysis
import DevstateIngest
import DevstateModel
import DevstateQMP
import DevstateRender
import Foundation

/// The committed real captures of stock QEMU, one directory per release (Tests/Fixtures/qemu-RELEASE):
/// 10.0 (Debian's package, `TID@SECONDS.MICROS:` stamps) and 10.2 (built from Debian's source,
/// ISO 8601 stamps). Every name takes the release; the default is 10.0.
enum Fixtures {
    static let releases = ["10.0", "10.2"]

    static let root: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures").path
    }()

    static func directory(_ release: String = "10.0") -> String { root + "/qemu-" + release }

    static func path(_ name: String, release: String = "10.0") -> String { directory(release) + "/" + name }

    static func text(_ name: String, release: String = "10.0") throws -> String {
        try String(contentsOfFile: path(name, release: release), encoding: .utf8)
    }

    /// An independent reading of a fixture (plain string splitting, no shared code): the
    /// device lines in order as (event, type, idstr, instance, downtime).
    struct Line: Equatable {
        var event: String
        var type: String
        var idstr: String
        var instance: UInt32
        var downtime: UInt64
    }

    static func deviceLines(_ name: String, release: String = "10.0") throws -> [Line] {
        try text(name, release: release).split(separator: "\n").compactMap { raw -> Line? in
            guard let r = raw.range(of: "vmstate_downtime_") else { return nil }
            let body = raw[r.upperBound...]
            let fields = body.split(separator: " ")
            guard fields.count == 5, fields[0] == "save" || fields[0] == "load" else { return nil }
            func value(_ f: Substring) -> String { String(f.split(separator: "=", maxSplits: 1)[1]) }
            return Line(event: String(fields[0]), type: value(fields[1]), idstr: value(fields[2]),
                        instance: UInt32(bitPattern: Int32(value(fields[3]))!),
                        downtime: UInt64(value(fields[4]))!)
        }
    }

    /// The checkpoint lines in order, with their stamp in µs since the epoch (nil without one).
    static func checkpointLines(_ name: String, release: String = "10.0") throws -> [(name: String, micros: Int64?)] {
        try text(name, release: release).split(separator: "\n").compactMap { raw in
            guard let r = raw.range(of: "vmstate_downtime_checkpoint ") else { return nil }
            return (String(raw[r.upperBound...]), stampMicros(String(raw[..<r.lowerBound])))
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
            ? (iso.split(separator: ".")[0], String(iso.split(separator: ".")[1]))
            : (iso[...], "0")
        let dateTime = whole.split(separator: "T")
        let date = dateTime[0].split(separator: "-").map { Int32($0)! }
        let time = dateTime[1].split(separator: ":").map { Int32($0)! }
        var t = tm()
        t.tm_year = date[0] - 1900
        t.tm_mon = date[1] - 1
        t.tm_mday = date[2]
        t.tm_hour = time[0]
        t.tm_min = time[1]
        t.tm_sec = time[2]
        let micros = Int64(fraction.padding(toLength: 6, withPad: "0", startingAt: 0))!
        return Int64(timegm(&t)) * 1_000_000 + micros
    }
}

/// Collects what a pipeline hands to its sink.
final class CollectingSink: ReportSink {
    var runs: [RunReport] = []
    var inputs: [InputSummary] = []
    func begin() {}
    func run(_ run: RunReport) { runs.append(run) }
    func end(inputs: [InputSummary]) { self.inputs = inputs }
}

/// The groups' report into `sink`, as `devstate report` makes it.
func report(groups: [ReportGroup], into sink: ReportSink, reader: LogReader = LogReader()) throws {
    let analyzer = Analyzer()
    sink.begin()
    let inputs = try LogPairing(reader: reader).run(groups: groups) { index, source, destination in
        sink.run(analyzer.report(index: index, source: source, destination: destination))
    }
    sink.end(inputs: inputs)
}

func report(source: String?, destination: String?, release: String = "10.0") throws -> CollectingSink {
    let sink = CollectingSink()
    try report(groups: [ReportGroup(
        source: source.map { ReportInput(path: Fixtures.path($0, release: release), name: $0, role: .source) },
        destination: destination.map { ReportInput(path: Fixtures.path($0, release: release), name: $0, role: .destination) })],
        into: sink)
    return sink
}
