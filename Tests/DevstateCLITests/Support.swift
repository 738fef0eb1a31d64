// SPDX-License-Identifier: MIT
import DevstateTrace
import Foundation

/// The committed real QEMU 10.0 captures.
enum Fixtures {
    static let directory: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/qemu-10.0").path
    }()

    static func path(_ name: String) -> String { directory + "/" + name }

    static func text(_ name: String) throws -> String {
        try String(contentsOfFile: path(name), encoding: .utf8)
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

    static func deviceLines(_ name: String) throws -> [Line] {
        try text(name).split(separator: "\n").compactMap { raw -> Line? in
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

    static func checkpointLines(_ name: String) throws -> [(name: String, micros: Int64?)] {
        try text(name).split(separator: "\n").compactMap { raw in
            guard let r = raw.range(of: "vmstate_downtime_checkpoint ") else { return nil }
            var micros: Int64? = nil
            if let at = raw.firstIndex(of: "@"), let colon = raw.firstIndex(of: ":") {
                let stamp = raw[raw.index(after: at)..<colon].split(separator: ".")
                micros = Int64(stamp[0])! * 1_000_000 + Int64(stamp[1])!
            }
            return (String(raw[r.upperBound...]), micros)
        }
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

func report(source: String?, destination: String?) throws -> CollectingSink {
    let sink = CollectingSink()
    let pipeline = ReportPipeline()
    _ = try pipeline.run(groups: [ReportGroup(
        source: source.map { ReportInput(path: Fixtures.path($0), name: $0, role: .source) },
        destination: destination.map { ReportInput(path: Fixtures.path($0), name: $0, role: .destination) })],
        sink: sink)
    return sink
}

func readAll(_ text: String, chunkSize: Int = 1 << 22, threads: Int = 1) -> ([TraceEvent], ReadStats) {
    var events: [TraceEvent] = []
    let path = NSTemporaryDirectory() + "devstate-test-\(UUID().uuidString).log"
    _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
    defer { try? FileManager.default.removeItem(atPath: path) }
    let reader = LogReader(keepMalformed: 50, chunkSize: chunkSize, threads: threads, threadedFrom: 0)
    let stats = try! reader.read(path: path) { events.append($0) }
    return (events, stats)
}
