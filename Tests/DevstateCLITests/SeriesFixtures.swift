// SPDX-License-Identifier: MIT
@testable import devstate
import DevstateAnalysis
import DevstateIngest
import DevstateModel
import DevstateQMP
import DevstateRender
import Foundation

/// The real captures of a Linux guest's migration on QEMU with our series
/// (Tests/Fixtures/series-RELEASE): trace logs with `vmstate_downtime_step` lines beside the
/// stock events, and each side's `query-migrate` reply (with `downtime-steps`) of the same run.
enum SeriesFixtures {
    static let releases = ["10.0", "10.2"]

    static func path(_ name: String, release: String) -> String { Fixtures.root + "/series-\(release)/" + name }

    static func text(_ name: String, release: String) throws -> String {
        try String(contentsOfFile: path(name, release: release), encoding: .utf8)
    }

    static func log(_ side: Side) -> String { "guest-\(side.rawValue).log" }
    static func reply(_ side: Side) -> String { "guest-\(side.rawValue)-reply.json" }

    /// A step as the tests compare it, from either input.
    struct Step: Equatable, CustomStringConvertible {
        var name: String
        var kind: String
        var device: String
        var type: String
        var timeUS: UInt64
        var description: String { "\(kind) \(name) \(device) \(type) \(timeUS) µs" }

        init(name: String, kind: String, device: String, type: String, timeUS: UInt64) {
            (self.name, self.kind, self.device, self.type, self.timeUS) = (name, kind, device, type, timeUS)
        }

        init(_ row: StepRow) {
            self.init(name: row.step.name, kind: row.step.kind.rawValue, device: row.step.device,
                      type: row.step.type, timeUS: row.step.timeUS)
        }
    }

    /// The step lines of a log, read with a regular expression of the tests' own (no code shared
    /// with the parser): the step, its 1-based line number and the stamp before it.
    static func stepLines(_ text: String) throws -> [(step: Step, line: Int, stamp: Int64?)] {
        let shape = try NSRegularExpression(
            pattern: #"^(.*)vmstate_downtime_step kind=(\S+) device=(.*?) type=(.*?) downtime=(\d+) name=(.+)$"#)
        var found: [(Step, Int, Int64?)] = []
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = String(raw)
            guard let m = shape.firstMatch(in: line, range: NSRange(line.startIndex..., in: line)) else { continue }
            func group(_ k: Int) -> String { String(line[Range(m.range(at: k), in: line)!]) }
            found.append((Step(name: group(6), kind: group(2), device: group(3), type: group(4),
                               timeUS: UInt64(group(5))!), i + 1, Fixtures.stampMicros(group(1))))
        }
        return found
    }

    /// The lines of a log, split with plain string operations: each event's name (`save`,
    /// `load`, `checkpoint NAME` or `step`), its stamp and, for saves and loads, its time.
    static func events(_ text: String) -> [(event: String, stamp: Int64?, downtime: UInt64?)] {
        text.split(separator: "\n").compactMap { raw in
            guard let r = raw.range(of: "vmstate_downtime_") else { return nil }
            let body = raw[r.upperBound...]
            let stamp = Fixtures.stampMicros(String(raw[..<r.lowerBound]))
            if body.hasPrefix("checkpoint ") { return (String(body), stamp, nil) }
            let word = String(body.prefix { $0 != " " })
            let downtime = word == "step" ? nil : body.split(separator: "=").last.flatMap { UInt64($0) }
            return (word, stamp, downtime)
        }
    }

    /// A side's downtime and the devices' time from the log alone: source src-downtime-start →
    /// src-downtime-end; destination first load's start (its stamp minus its time) → vm-started.
    static func traced(_ side: Side, release: String) throws -> (downtimeUS: Int64, devicesUS: UInt64, stepsUS: UInt64) {
        let text = try self.text(log(side), release: release)
        let events = events(text)
        let devices = events.filter { $0.event == "save" || $0.event == "load" }
        let stamp: (String) -> Int64 = { name in events.first { $0.event == "checkpoint " + name }!.stamp! }
        let downtime = side == .source
            ? stamp("src-downtime-end") - stamp("src-downtime-start")
            : stamp("dst-precopy-bh-vm-started") - (devices[0].stamp! - Int64(devices[0].downtime!))
        return (downtime, devices.reduce(0) { $0 + $1.downtime! }, try stepLines(text).reduce(0) { $0 + $1.step.timeUS })
    }

    /// The reply object of a side.
    static func replyObject(_ side: Side, release: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path(reply(side), release: release)))
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    /// `downtime-steps` of a reply, read with JSONSerialization.
    static func replySteps(_ side: Side, release: String) throws -> [(step: Step, start: Int64)] {
        (try replyObject(side, release: release)["downtime-steps"] as! [[String: Any]]).map {
            (Step(name: $0["name"] as! String, kind: $0["kind"] as! String, device: $0["device"] as? String ?? "",
                  type: $0["device-type"] as? String ?? "", timeUS: UInt64($0["time"] as! Int)),
             Int64($0["start"] as! Int))
        }
    }

    /// The same figures from a reply: the downtime from its checkpoints (the destination's count
    /// from its origin, the first load's start), the devices from its lists.
    static func replied(_ side: Side, release: String) throws -> (downtimeUS: Int64, devicesUS: UInt64, stepsUS: UInt64) {
        let object = try replyObject(side, release: release)
        let checkpoints = object["downtime-checkpoints"] as! [[String: Any]]
        let time: (String) -> Int64 = { name in Int64(checkpoints.first { $0["name"] as? String == name }!["time"] as! Int) }
        let lists: [(String, String)] = side == .source
            ? [("device-state-times", "save-time"), ("iterable-state-times", "save-time")]
            : [("device-load-times", "load-time")]
        var devices: UInt64 = 0
        for (list, key) in lists {
            for e in object[list] as! [[String: Any]] { devices += UInt64(e[key] as! Int) }
        }
        let downtime = side == .source ? time("src-downtime-end") - time("src-downtime-start")
                                       : time("dst-precopy-bh-vm-started")
        return (downtime, devices, try replySteps(side, release: release).reduce(0) { $0 + $1.step.timeUS })
    }

    /// Both logs through the report pipeline.
    static func traceRun(release: String, source: String? = nil, destination: String? = nil) throws -> RunReport {
        let sink = CollectingSink()
        try report(groups: [ReportGroup(
            source: ReportInput(path: source ?? path(log(.source), release: release), name: "guest-source.log", role: .source),
            destination: ReportInput(path: destination ?? path(log(.destination), release: release),
                                     name: "guest-destination.log", role: .destination))], into: sink)
        return sink.runs.last!
    }

    /// Both replies through the query-migrate report, as `report --qmp` reads saved replies.
    static func replyRun(release: String) throws -> RunReport {
        let inputs = try [Side.source, .destination].map { side in
            QueryMigrateInput(endpoint: reply(side), role: side,
                              reply: try MigrateReply(json: Data(contentsOf: URL(fileURLWithPath: path(reply(side), release: release)))),
                              noSchemaReason: "a saved reply carries no schema")
        }
        let sink = CollectingSink()
        render(inputs, sink: sink)
        return sink.runs[0]
    }

    /// A copy of a log without its step lines, as a stock QEMU would have written it.
    static func withoutSteps(_ side: Side, release: String) throws -> String {
        let kept = try text(log(side), release: release).split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.contains("vmstate_downtime_step ") }
        let path = NSTemporaryDirectory() + "devstate-nosteps-\(UUID().uuidString)-\(log(side))"
        try kept.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}
