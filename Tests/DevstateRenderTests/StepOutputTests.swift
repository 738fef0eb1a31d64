// SPDX-License-Identifier: MIT
import DevstateModel
import DevstateRender
import Foundation
import Testing

/// The handlers and steps in each format, from the series captures (Tests/Fixtures/series-RELEASE).
@Suite struct StepOutputTests {
    static let sides: [Side] = [.source, .destination]

    func logs(_ release: String) -> [ReportGroup] {
        pair("guest-source.log", "guest-destination.log", release: release, series: true)
    }

    /// The table's step section of a side: from its heading to the blank line.
    func section(_ table: String, _ side: Side) throws -> [Substring] {
        let lines = table.split(separator: "\n", omittingEmptySubsequences: false)
        let heading = (side == .source ? "Source" : "Destination") + " handlers and steps by phase"
        let start = try #require(lines.firstIndex { $0.hasPrefix(heading) })
        return Array(lines[(start + 2)...].prefix { !$0.isEmpty })
    }

    /// --all lists every step, each once; concise lists the top N of each phase and adds up the others.
    @Test func tableListsTheStepsByPhase() throws {
        for release in Fixtures.releases {
            let run = try #require(try runs(logs(release)).last)
            let all = try render(logs(release)) { TableSink(width: 250, detail: .full, out: $0) }
            let top3 = try render(logs(release)) { TableSink(width: 250, detail: .concise(top: 3), out: $0) }
            for side in Self.sides {
                let expected = try Fixtures.stepLines("guest-\(side.rawValue).log", release: release)
                #expect(!expected.isEmpty)
                let rows = try section(all, side)
                let names = rows.compactMap { row -> String? in
                    row.split(separator: " ").prefix(2).map(String.init).first { name in expected.contains { $0.step.name == name } }
                }
                #expect(names.sorted() == expected.map(\.step.name).sorted(), "\(side)")
                let report = try #require(side == .source ? run.source : run.destination)
                let concise = try section(top3, side)
                var checked = 0
                for (p, phase) in report.phases.enumerated() {
                    let times = report.steps.filter { $0.phase == p }.map(\.step.timeUS).sorted(by: >)
                    guard times.count > 3 else { continue }
                    let more = "\(times.count - 3) more (--all)", sum = String(times.dropFirst(3).reduce(0, +))
                    #expect(concise.contains { $0.contains(more) && $0.split(separator: " ").dropFirst(3).first.map(String.init) == sum },
                            "\(phase.label): no row \"\(more) \(sum)\"")
                    checked += 1
                }
                #expect(checked > 0)
            }
        }
    }

    /// CSV and JSON hold every step as the log has it, with its phase and its line.
    @Test func csvAndJSONHoldEveryStep() throws {
        for release in Fixtures.releases {
            let csv = parseCSV(try render(logs(release)) { CSVSink(out: $0) })
            let json = try #require(try JSONSerialization.jsonObject(with: Data(try render(logs(release)) { JSONSink(pretty: false, out: $0) }.utf8)) as? [String: Any])
            let jsonRun = try #require((json["runs"] as? [[String: Any]])?.first)
            let run = try #require(try runs(logs(release)).last)
            for side in Self.sides {
                let expected = try Fixtures.stepLines("guest-\(side.rawValue).log", release: release)
                let rows = csv.filter { $0[1] == side.rawValue && $0[2] == "step" }
                #expect(rows.map { "\($0[6]) \($0[3]) \($0[4]) \($0[5]) \($0[7])" } ==
                        expected.map { "\($0.step.kind.rawValue) \($0.step.name) \($0.step.device) \($0.step.type) \($0.step.timeUS)" })
                #expect(rows.map { Int($0[14])! } == expected.map(\.line))
                let steps = try #require(((jsonRun[side.rawValue] as? [String: Any])?["named"] as? [String: Any])?["steps"] as? [[String: Any]])
                #expect(steps.map { "\($0["kind"]!) \($0["name"]!) \($0["device"] as? String ?? "") \($0["device-type"] as? String ?? "") \($0["time-us"]!)" } ==
                        expected.map { "\($0.step.kind.rawValue) \($0.step.name) \($0.step.device) \($0.step.type) \($0.step.timeUS)" })
                #expect(steps.map { $0["line"] as? Int } == expected.map(\.line))
                let report = try #require(side == .source ? run.source : run.destination)
                for (k, row) in report.steps.enumerated() {
                    let phase = report.phases[try #require(row.phase)]
                    #expect(rows[k][11] == phase.from && rows[k][12] == phase.to)
                    #expect(steps[k]["phase"] as? String == phase.label)
                    #expect(rows[k][13] == row.offsetUS.map { "\($0)" } ?? "")
                    #expect((steps[k]["offset-us"] as? Int).map(Int64.init) == row.offsetUS)
                }
            }
        }
    }

    /// One series per phase, kind, handler and device; --max-devices N keeps the N longest and
    /// sums the rest per phase and kind into handler="other": the total stays the steps' time.
    @Test func stepMetricsAreBoundedByMaxDevices() throws {
        for release in Fixtures.releases {
            for max in [1, 3, 50] {
                var text = ""
                try feed(logs(release), to: OpenMetricsSink(out: .strings { text += $0 }, maxDevices: max, queryVM: "g"))
                let all = Sample.parse(text)
                let samples = all.filter { $0.name == "qemu_migration_downtime_step_seconds" }
                #expect(Set(samples.map(\.labels)).count == samples.count)
                for side in Self.sides {
                    let expected = try Fixtures.stepLines("guest-\(side.rawValue).log", release: release)
                    let mine = samples.filter { $0.labels["side"] == side.rawValue }
                    #expect(mine.allSatisfy { Set($0.labels.keys) == ["vm", "side", "phase", "kind", "handler", "device"] })
                    let own = mine.filter { $0.labels["handler"] != "other" }
                    #expect(mine.reduce(UInt64(0)) { $0 + $1.micros } == expected.reduce(0) { $0 + $1.step.timeUS })
                    let distinct = Set(expected.map { "\($0.step.kind) \($0.step.name) \($0.step.device)" }).count
                    #expect(own.count == Swift.min(max, distinct))
                    #expect(mine.contains { $0.labels["handler"] == "other" } == (distinct > max))
                    for s in own {
                        let sum = expected.filter { $0.step.name == s.labels["handler"] && $0.step.kind.rawValue == s.labels["kind"]
                            && $0.step.device == s.labels["device"] }.reduce(UInt64(0)) { $0 + $1.step.timeUS }
                        #expect(s.micros == sum, "\(s.labels)")
                    }
                }
                let ratios = all.filter { $0.name == "qemu_migration_downtime_named_ratio" }
                #expect(ratios.count == 2 && ratios.allSatisfy { $0.labels["steps"] == "true" && $0.value >= 0.9 })
            }
        }
    }

    /// Without steps the table says where they would come from, per input.
    @Test func theHintNamesTheInput() throws {
        let table = try render(pair("q35-source.log", nil)) { TableSink(width: 300, out: $0) }
        #expect(table.contains(", devices alone; unnamed "))
        #expect(table.contains(": this trace has no vmstate_downtime_step lines; our QEMU series (Patches/) names the handlers and steps of the rest\n"))
        #expect(!table.contains("handlers and steps by phase"))
        var side = try #require(try runs(pair("q35-source.log", nil)).first?.source)
        side.log.reply = QueryMigrateFacts(endpoint: "s", role: .source, series: .v030, seriesFrom: .schema, outcome: .complete,
                                           rendered: true)
        var text = ""
        let sink = TableSink(width: 300, out: .strings { text += $0 })
        sink.run(RunReport(index: 1, source: side, destination: nil))
        sink.flush()
        #expect(text.contains("this reply has no downtime-steps; our QEMU series (Patches/) names"))
        #expect(text.contains("source: query-migrate of q35-source.log (series 0.3.0), downtime "))
    }
}
