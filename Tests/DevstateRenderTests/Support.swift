// SPDX-License-Identifier: MIT
import DevstateAnalysis
import DevstateIngest
import DevstateModel
import DevstateRender
import Foundation

/// The committed real captures (Tests/Fixtures): stock QEMU per release (qemu-RELEASE) and our
/// series (series-RELEASE). Expectations come from the files, read with plain string operations.
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

    /// A device line read independently: (event, idstr, instance, downtime).
    struct Line: Equatable {
        var event: String
        var idstr: String
        var instance: UInt32
        var downtime: UInt64
    }

    static func deviceLines(_ name: String, release: String = "10.0") throws -> [Line] {
        try text(name, release: release).split(separator: "\n").compactMap { raw -> Line? in
            guard let r = raw.range(of: "vmstate_downtime_") else { return nil }
            let fields = raw[r.upperBound...].split(separator: " ")
            guard fields.count == 5, fields[0] == "save" || fields[0] == "load" else { return nil }
            func value(_ f: Substring) -> String { String(f.split(separator: "=", maxSplits: 1)[1]) }
            return Line(event: String(fields[0]), idstr: value(fields[2]),
                        instance: UInt32(bitPattern: Int32(value(fields[3]))!), downtime: UInt64(value(fields[4]))!)
        }
    }

    /// The step lines of a series log (kind, device, type, time, name), with their 1-based line
    /// numbers.
    static func stepLines(_ name: String, release: String) throws -> [(step: DowntimeStep, line: Int)] {
        try text(name, release: release, series: true).split(separator: "\n", omittingEmptySubsequences: false)
            .enumerated().compactMap { i, raw in
                guard let r = raw.range(of: "vmstate_downtime_step kind=") else { return nil }
                var rest = raw[r.upperBound...]
                func field(_ next: String) -> String {
                    let end = rest.range(of: " " + next + "=")!
                    defer { rest = rest[end.upperBound...] }
                    return String(rest[..<end.lowerBound])
                }
                let kind = field("device"), device = field("type"), type = field("downtime"), time = field("name")
                return (DowntimeStep(name: String(rest), device: device, type: type,
                                     kind: DowntimeStepKind(rawValue: kind)!, timeUS: UInt64(time)!), i + 1)
            }
    }
}

/// Collects what the pipeline hands to its sink.
final class CollectingSink: ReportSink {
    var runs: [RunReport] = []
    var inputs: [InputSummary] = []
    func begin() {}
    func run(_ run: RunReport) { runs.append(run) }
    func end(inputs: [InputSummary]) { self.inputs = inputs }
}

/// Logs read, paired and analysed as `devstate report` does it, into `sink`.
func feed(_ groups: [ReportGroup], to sink: ReportSink) throws {
    let analyzer = Analyzer()
    sink.begin()
    let inputs = try LogPairing().run(groups: groups) { index, source, destination in
        sink.run(analyzer.report(index: index, source: source, destination: destination))
    }
    sink.end(inputs: inputs)
}

/// A source log and its destination log (fixture names or paths).
func pair(_ source: String?, _ destination: String?, release: String = "10.0", series: Bool = false) -> [ReportGroup] {
    func input(_ name: String?, _ role: ReportInput.Role) -> ReportInput? {
        name.map { ReportInput(path: $0.hasPrefix("/") ? $0 : Fixtures.path($0, release: release, series: series),
                               name: $0.hasPrefix("/") ? nil : $0, role: role) }
    }
    return [ReportGroup(source: input(source, .source), destination: input(destination, .destination))]
}

/// The text a sink writes for `groups`.
func render(_ groups: [ReportGroup], _ make: (TextOut) -> ReportSink) throws -> String {
    var text = ""
    try feed(groups, to: make(.strings { text += $0 }))
    return text
}

/// The runs of `groups`, analysed.
func runs(_ groups: [ReportGroup]) throws -> [RunReport] {
    let sink = CollectingSink()
    try feed(groups, to: sink)
    return sink.runs
}

/// The fixtures' pc and q35 migrations: pc's source log holds two runs (the first without a
/// destination), q35's one.
let pcAndQ35 = pair("pc-source.log", "pc-destination.log") + pair("q35-source.log", "q35-destination.log")

/// Temporary logs, removed when the suite instance holding them goes away: at the test's end.
final class TemporaryLogs {
    private var paths: [String] = []

    /// A temporary log of `bytes`.
    func log(_ bytes: [UInt8]) throws -> String {
        let path = NSTemporaryDirectory() + "devstate-render-\(UUID().uuidString).log"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        paths.append(path)
        return path
    }

    deinit { for path in paths { try? FileManager.default.removeItem(atPath: path) } }
}

/// CSV rows, read by a parser of the tests' own (quotes, doubled quotes, line breaks in fields).
func parseCSV(_ text: String) -> [[String]] {
    var rows: [[String]] = [], row: [String] = [], field = ""
    var quoted = false, wasQuote = false
    for c in text.unicodeScalars {
        if quoted {
            if c == "\"" { quoted = false; wasQuote = true } else { field.unicodeScalars.append(c) }
            continue
        }
        switch c {
        case "\"":
            if wasQuote { field += "\"" }
            quoted = true
        case ",":
            row.append(field)
            field = ""
        case "\n":
            row.append(field)
            rows.append(row)
            row = []
            field = ""
        default: field.unicodeScalars.append(c)
        }
        wasQuote = false
    }
    return rows
}

/// One sample of OpenMetrics text, read by a parser of the tests' own.
struct Sample: Equatable {
    var name: String
    var labels: [String: String]
    var value: Double

    /// The value as whole µs.
    var micros: UInt64 { UInt64((value * 1e6).rounded()) }

    static func parse(_ text: String) -> [Sample] {
        text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { line in
            let open = line.firstIndex(of: "{")!
            var labels: [String: String] = [:]
            var i = line.index(after: open)
            while line[i] != "}" {
                let eq = line[i...].firstIndex(of: "=")!
                let key = String(line[i..<eq])
                i = line.index(eq, offsetBy: 2)
                var value = ""
                while line[i] != "\"" {
                    if line[i] == "\\" { i = line.index(after: i); value.append(line[i] == "n" ? "\n" : line[i]) } else { value.append(line[i]) }
                    i = line.index(after: i)
                }
                labels[key] = value
                i = line.index(after: i)
                if line[i] == "," { i = line.index(after: i) }
            }
            return Sample(name: String(line[..<open]), labels: labels, value: Double(line[line.index(i, offsetBy: 2)...])!)
        }
    }
}
