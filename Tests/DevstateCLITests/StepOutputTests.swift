// SPDX-License-Identifier: MIT
import DevstateTrace
import Foundation
import Testing

/// The handlers and steps in each format, from the series captures (Tests/Fixtures/series-RELEASE).
@Suite(.serialized) struct StepOutputTests {
    static let sides: [Side] = [.source, .destination]

    func logs(_ release: String) -> [String] {
        [SeriesFixtures.path("guest-source.log", release: release), SeriesFixtures.path("guest-destination.log", release: release)]
    }

    func replies(_ release: String) -> [String] {
        [SeriesFixtures.path("guest-source-reply.json", release: release),
         SeriesFixtures.path("guest-destination-reply.json", release: release)]
    }

    /// The table's step section of a side: from its heading to the blank line.
    func section(_ table: String, _ side: Side) throws -> [Substring] {
        let lines = table.split(separator: "\n", omittingEmptySubsequences: false)
        let heading = (side == .source ? "Source" : "Destination") + " handlers and steps by phase"
        let start = try #require(lines.firstIndex { $0.hasPrefix(heading) })
        return Array(lines[(start + 2)...].prefix { !$0.isEmpty })
    }

    /// --all lists every step, each once, in its phase; the default lists the --top longest of
    /// each phase and adds up the others.
    @Test(arguments: SeriesFixtures.releases)
    func tableListsTheStepsByPhase(_ release: String) throws {
        let run = try SeriesFixtures.traceRun(release: release)
        let all = try devstate(["report", "--width", "250", "--all"] + logs(release))
        let top3 = try devstate(["report", "--width", "250", "--top", "3"] + logs(release))
        #expect(all.status == 0 && top3.status == 0, "\(all.err)\(top3.err)")
        for side in Self.sides {
            let expected = try SeriesFixtures.stepLines(try SeriesFixtures.text(SeriesFixtures.log(side), release: release))
            let rows = try section(all.out, side)
            // A step's row: its name as the second column's first word (a phase's first row has
            // the phase before it).
            let names = rows.compactMap { row -> String? in
                let words = row.split(separator: " ")
                let candidates = words.prefix(2).map(String.init)
                return candidates.first { name in expected.contains { $0.step.name == name } }
            }
            #expect(names.sorted() == expected.map(\.step.name).sorted(), "\(side)")
            // Concise: per phase at most 3 steps and a "N more (--all)" row with their sum.
            let report = try #require(run[side])
            let concise = try section(top3.out, side)
            for (p, phase) in report.phases.enumerated() {
                let times = report.steps.filter { $0.phase == p }.map(\.step.timeUS).sorted(by: >)
                guard times.count > 3 else { continue }
                // Two phases can have as many more steps: the row of this one is the one with its sum.
                let more = "\(times.count - 3) more (--all)"
                let sum = String(times.dropFirst(3).reduce(0, +))
                #expect(concise.contains { $0.contains(more) && $0.split(separator: " ").dropFirst(3).first.map(String.init) == sum },
                        "\(phase.label): no row \"\(more) \(sum)\" in \(concise)")
            }
        }
    }

    /// CSV and JSON hold every step as the log has it, with its phase and its start.
    @Test(arguments: SeriesFixtures.releases)
    func csvAndJSONHoldEveryStep(_ release: String) throws {
        let csv = parseCSV(try devstate(["report", "--format", "csv"] + logs(release)).out)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(try devstate(["report", "--format", "json"] + logs(release)).out.utf8)) as? [String: Any])
        let run = try #require((json["runs"] as? [[String: Any]])?.first)
        let report = try SeriesFixtures.traceRun(release: release)
        for side in Self.sides {
            let expected = try SeriesFixtures.stepLines(try SeriesFixtures.text(SeriesFixtures.log(side), release: release))
            let rows = csv.filter { $0[1] == side.rawValue && $0[2] == "step" }
            #expect(rows.map { SeriesFixtures.Step(name: $0[3], kind: $0[6], device: $0[4], type: $0[5], timeUS: UInt64($0[7])!) }
                    == expected.map(\.step))
            #expect(rows.map { Int($0[14])! } == expected.map(\.line))
            let steps = try #require(((run[side.rawValue] as? [String: Any])?["named"] as? [String: Any])?["steps"] as? [[String: Any]])
            #expect(steps.map { SeriesFixtures.Step(name: $0["name"] as! String, kind: $0["kind"] as! String,
                                                    device: $0["device"] as? String ?? "", type: $0["device-type"] as? String ?? "",
                                                    timeUS: UInt64($0["time-us"] as! Int)) } == expected.map(\.step))
            // The phase: CSV's from/to are its checkpoints, JSON's its label.
            let side = try #require(report[side])
            for (k, row) in side.steps.enumerated() {
                let phase = side.phases[row.phase!]
                #expect(rows[k][11] == phase.from && rows[k][12] == phase.to)
                #expect(steps[k]["phase"] as? String == phase.label)
            }
            // The start: its stamp minus its time, from the side's origin (stream-wait: unknown).
            let origin = try #require(side.originUS)
            for (k, line) in expected.enumerated() {
                let start = line.step.name == "stream-wait" ? nil : line.stamp! - Int64(line.step.timeUS) - origin
                #expect(Int64(rows[k][13]) == start && (steps[k]["offset-us"] as? Int).map(Int64.init) == start)
            }
        }
    }

    /// One series per phase, kind, handler and device; --max-devices N keeps the N longest of
    /// each side and sums the rest per phase and kind into handler="other": the side's total
    /// stays the steps' time, and no series is written twice.
    @Test(arguments: SeriesFixtures.releases, [1, 3, 50])
    func stepMetricsAreBoundedByMaxDevices(_ release: String, _ max: Int) throws {
        let r = try devstate(["report", "--format", "openmetrics", "--max-devices", "\(max)"] + logs(release))
        #expect(r.status == 0, "\(r.err)")
        let samples = try Sample.parse(r.out).filter { $0.name == "qemu_migration_downtime_step_seconds" }
        #expect(Set(samples.map { $0.labels }).count == samples.count)
        for side in Self.sides {
            let expected = try SeriesFixtures.stepLines(try SeriesFixtures.text(SeriesFixtures.log(side), release: release))
            let mine = samples.filter { $0.labels["side"] == side.rawValue }
            #expect(mine.allSatisfy { Set($0.labels.keys) == ["vm", "side", "phase", "kind", "handler", "device"] })
            let own = mine.filter { $0.labels["handler"] != "other" }
            #expect(own.count <= max)
            #expect(mine.reduce(UInt64(0)) { $0 + $1.micros } == expected.reduce(0) { $0 + $1.step.timeUS })
            // Repeats add up: distinct steps (name, kind, device) bound the series.
            let distinct = Set(expected.map { "\($0.step.kind) \($0.step.name) \($0.step.device)" }).count
            #expect(own.count == Swift.min(max, distinct))
            #expect(mine.contains { $0.labels["handler"] == "other" } == (distinct > max))
            for s in own {
                let sum = expected.filter { $0.step.name == s.labels["handler"] && $0.step.kind == s.labels["kind"]
                                             && $0.step.device == s.labels["device"] }.reduce(UInt64(0)) { $0 + $1.step.timeUS }
                #expect(s.micros == sum, "\(s.labels)")
            }
        }
        // The share, with steps.
        let ratios = try Sample.parse(r.out).filter { $0.name == "qemu_migration_downtime_named_ratio" }
        #expect(ratios.count == 2 && ratios.allSatisfy { $0.labels["steps"] == "true" && $0.value >= 0.9 })
    }

    /// The replies give the same step series as the trace logs of the same migration.
    @Test(arguments: SeriesFixtures.releases)
    func repliesGiveTheTraceStepSeries(_ release: String) throws {
        func steps(_ arguments: [String]) throws -> [Sample] {
            let r = try devstate(["report", "--format", "openmetrics", "--max-devices", "4", "--vm", "g"] + arguments)
            #expect(r.status == 0, "\(r.err)")
            return try Sample.parse(r.out).filter { $0.name == "qemu_migration_downtime_step_seconds" }
        }
        let traced = try steps(logs(release)), replied = try steps(["--qmp"] + replies(release))
        #expect(traced == replied && traced.count > 8)
    }

    /// `devstate watch`'s textfile holds the step series too, bounded the same way.
    @Test func watchWritesTheStepSeries() throws {
        let reply = try SeriesFixtures.replyObject(.source, release: "10.0")
        let text = String(decoding: try JSONSerialization.data(withJSONObject: reply), as: UTF8.self)
        let fake = try FakeQMP(replies: [text], schema: fakeSchema(series030 + [SeriesMember.downtimeSteps]))
        let dir = NSTemporaryDirectory() + "devstate-watch-steps-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try devstate(["watch", "--qmp", fake.path, "--textfile", dir, "--once", "--vm", "g", "--max-devices", "3"])
        #expect(r.status == 0, "\(r.err)")
        let written = try Sample.parse(try String(contentsOfFile: dir + "/devstate-g.prom", encoding: .utf8))
        let saved = try Sample.parse(try devstate(["report", "--qmp", "--format", "openmetrics", "--vm", "g", "--max-devices", "3",
                                                   SeriesFixtures.path("guest-source-reply.json", release: "10.0")]).out)
        let ours: Set = ["qemu_migration_downtime_step_seconds", "qemu_migration_downtime_named_ratio"]
        #expect(written.filter { ours.contains($0.name) } == saved.filter { ours.contains($0.name) })
        #expect(written.filter { $0.name == "qemu_migration_downtime_step_seconds" && $0.labels["handler"] != "other" }.count == 3)
    }

    /// `devstate query` on QEMUs with the series: the steps of both sides. A schema with
    /// `downtime-steps` and a reply without any (no step was kept) names none and gives no hint.
    @Test func queryShowsTheStepsOfBothSides() throws {
        let schema = fakeSchema(series030 + [SeriesMember.downtimeSteps])
        let inner = try Self.sides.map { side in
            String(decoding: try JSONSerialization.data(withJSONObject: try SeriesFixtures.replyObject(side, release: "10.0")), as: UTF8.self)
        }
        let source = try FakeQMP(migrate: inner[0], schema: schema), destination = try FakeQMP(migrate: inner[1], schema: schema)
        let r = try devstate(["query", "--width", "200", source.path, destination.path])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("Source handlers and steps by phase") && r.out.contains("Destination handlers and steps by phase"))
        let run = try SeriesFixtures.replyRun(release: "10.0")
        for side in Self.sides {
            let n = try #require(run[side]?.named)
            #expect(r.out.contains("named \(n.namedUS) µs of \(n.downtimeUS!) µs"))
        }
        var object = try SeriesFixtures.replyObject(.source, release: "10.0")
        object[SeriesMember.downtimeSteps] = nil
        let stepless = try FakeQMP(migrate: String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self),
                                   schema: schema)
        let q = try devstate(["query", "--width", "200", stepless.path])
        #expect(q.status == 0, "\(q.err)")
        #expect(q.out.contains(": devices \(run.source!.named.devicesUS) µs, handlers and steps 0 µs;"))
        #expect(!q.out.contains("Patches/") && !q.out.contains("handlers and steps by phase"))
        let old = try FakeQMP(migrate: String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self),
                              schema: fakeSchema(series030))
        #expect(try devstate(["query", "--width", "200", old.path]).out.contains("this reply has no downtime-steps; our QEMU series (Patches/) names"))
    }

    /// A reply whose `downtime-steps` is not what QAPI says is refused like any bad reply:
    /// exit 1 with what is wrong, never a crash.
    @Test(arguments: [
        (#""downtime-steps": 5"#, "downtime-steps is not an array"),
        (#""downtime-steps": [7]"#, "downtime-steps[0] has no name"),
        (#""downtime-steps": [{"name": "", "kind": "work", "start": 1, "time": 2}]"#, "downtime-steps[0] has no name"),
        (#""downtime-steps": [{"name": "x", "kind": "other", "start": 1, "time": 2}]"#, "downtime-steps[0] (x) has no kind work, prepare or main"),
        (#""downtime-steps": [{"name": "x", "kind": "main", "start": -1, "time": 2}]"#, "downtime-steps[0] (x) needs a start and a time, integers ≥ 0"),
        (#""downtime-steps": [{"name": "x", "kind": "main", "start": 1, "time": 2.5}]"#, "downtime-steps[0] (x) needs a start and a time, integers ≥ 0"),
        (#""downtime-steps": [{"name": "x", "kind": "main", "start": 1}]"#, "downtime-steps[0] (x) needs a start and a time, integers ≥ 0"),
        (#""downtime-steps": [{"name": "x", "kind": "main", "start": 1, "time": 2, "device": 3}]"#, "downtime-steps[0] (x): device is not a string"),
        (#""downtime-steps": [{"name": "x", "kind": "main", "start": 1, "time": 2, "device-type": true}]"#, "downtime-steps[0] (x): device-type is not a string"),
    ])
    func badDowntimeStepsAreRefused(_ member: String, _ message: String) throws {
        let text = #"{"return": {"status": "completed", "device-state-times": [], "downtime-checkpoints": [], "#
            + member + "}}"
        #expect(throws: QueryMigrateError.self) { try MigrateReply(try JSONSerialization.jsonObject(with: Data(text.utf8))) }
        let path = NSTemporaryDirectory() + "devstate-bad-steps-\(UUID().uuidString).json"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try devstate(["report", "--qmp", path])
        #expect(r.status == 1)
        #expect(r.err.contains(message), "\(r.err)")
    }
}
