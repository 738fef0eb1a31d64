// SPDX-License-Identifier: MIT
@testable import devstate
import DevstateAnalysis
import DevstateIngest
import DevstateModel
import DevstateQMP
import DevstateRender
import Foundation
import Testing

@Suite struct QueryMigrateFixtureTests {
    /// The generated replies hold what the logs say (read here with the tests' own reader).
    @Test func qmpReportEqualsTheTraceReport() throws {
        let trace = try #require(try report(source: "q35-source.log", destination: "q35-destination.log").runs.first)
        let (sink, facts) = qmpReport([try QMPFixtures.input("q35-source.json", .source),
                                       try QMPFixtures.input("q35-destination.json", .destination)])
        #expect(facts.map(\.outcome) == [.complete, .complete])
        #expect(facts.allSatisfy { $0.rendered && $0.series == .v020 && $0.seriesFrom == .members && $0.message == nil })
        #expect(sink.runs.count == 1)
        let qmp = try #require(sink.runs.first)
        for (t, q) in [(trace.source!, qmp.source!), (trace.destination!, qmp.destination!)] {
            #expect(q.side == t.side)
            #expect(q.devices.map { ComparableDevice($0, of: q) } == visibleOverQMP(t).map { ComparableDevice($0, of: t) })
            #expect(q.devices.count > 30)
            #expect(q.phases == t.phases)
            #expect(q.phases.count == 4 && q.phases.allSatisfy { $0.durationUS != nil })
            #expect(q.totalUS == t.totalUS && q.totalUS != nil)
            #expect(q.checkpoints.map(\.name) == t.checkpoints.map(\.name))
            #expect(q.checkpoints.map(\.known) == t.checkpoints.map(\.known))
            #expect(q.checkpoints.map(\.offsetUS) == t.checkpoints.map(\.offsetUS))
            #expect(q.shareBasis == t.shareBasis && q.shareBasis[.nonIterable] == .phase)
            #expect(q.deviceStateTimesJSON == t.deviceStateTimesJSON)
            #expect(q.recorder.kept == t.recorder.kept && q.recorder.complete && t.recorder.complete)
            #expect(q.recorder.errors.isEmpty && t.recorder.errors.isEmpty)
            #expect(q.notes == t.notes)
            // Unknown from query-migrate: line numbers, wall-clock stamps, the zero count.
            #expect(!q.hasLines && t.hasLines)
            #expect(q.checkpoints.allSatisfy { $0.timestampUS == nil })
            #expect(t.checkpoints.allSatisfy { $0.timestampUS != nil })
            #expect(q.recorder.skippedZero == nil && t.recorder.skippedZero != nil)
            // The named share: the same downtime, over each side's own devices, so the trace's
            // holds what query-migrate leaves out by design as well; no steps in these inputs.
            let sum: ([DeviceRow]) -> UInt64 = { $0.reduce(0) { $0 + $1.device.timeUS } }
            #expect(q.named.downtimeUS == t.named.downtimeUS && q.named.downtimeUS == t.totalUS)
            #expect(q.named.devicesUS == sum(visibleOverQMP(t)) && t.named.devicesUS == sum(t.devices))
            #expect(t.named.devicesUS > q.named.devicesUS || t.side == .destination)
            #expect(q.named.stepsUS == 0 && !q.named.stepsKnown && t.named.stepsUS == 0 && !t.named.stepsKnown)
            #expect(q.steps.isEmpty && t.steps.isEmpty)
        }
    }

    /// The same, on the JSON documents (schema devstate-report/1): only the fields listed as
    /// unknown from query-migrate differ, and they are null there.
    @Test func qmpJSONEqualsTheTraceJSONButForTheNullFields() throws {
        var traceText = "", qmpText = ""
        try report(groups: [ReportGroup(
            source: ReportInput(path: Fixtures.path("q35-source.log"), role: .source),
            destination: ReportInput(path: Fixtures.path("q35-destination.log"), role: .destination))],
            into: JSONSink(pretty: false, out: .strings { traceText += $0 }))
        render([try QMPFixtures.input("q35-source.json", .source),
                                   try QMPFixtures.input("q35-destination.json", .destination)],
                                  sink: JSONSink(pretty: true, out: .strings { qmpText += $0 }))
        let traceDoc = try #require(try JSONSerialization.jsonObject(with: Data(traceText.utf8)) as? [String: Any])
        let qmpDoc = try #require(try JSONSerialization.jsonObject(with: Data(qmpText.utf8)) as? [String: Any])
        #expect(qmpDoc["schema"] as? String == "devstate-report/1")
        let traceRun = try #require((traceDoc["runs"] as? [[String: Any]])?.first)
        let qmpRun = try #require((qmpDoc["runs"] as? [[String: Any]])?.first)
        func canonical(_ value: Any) throws -> String {
            String(decoding: try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed]), as: UTF8.self)
        }
        for role in ["source", "destination"] {
            var t = try #require(traceRun[role] as? [String: Any])
            var q = try #require(qmpRun[role] as? [String: Any])
            #expect(t["from"] as? String == "trace-log" && q["from"] as? String == "query-migrate")
            #expect(q["lines"] is NSNull)
            let qDevices = try #require(q["devices"] as? [[String: Any]])
            #expect(qDevices.allSatisfy { $0["line"] is NSNull })
            let qCheckpoints = try #require(q["checkpoints"] as? [[String: Any]])
            #expect(qCheckpoints.allSatisfy { $0["line"] is NSNull && $0["timestamp-us"] is NSNull })
            #expect((q["recorder"] as? [String: Any])?["skipped-zero"] is NSNull)
            // The named share is over each side's own devices (checked in qmpReportEqualsTheTraceReport):
            // here, that it adds up.
            for side in [t, q] {
                let named = try #require(side["named"] as? [String: Any])
                let devices = (side["devices"] as! [[String: Any]]).reduce(0) { $0 + ($1["time-us"] as! Int) }
                #expect(named["devices-us"] as? Int == devices && named["steps-us"] as? Int == 0)
                #expect((named["named-us"] as! Int) + (named["unnamed-us"] as! Int) == side["downtime-us"] as? Int)
                #expect(named["steps-known"] as? Bool == false && (named["steps"] as? [Any])?.isEmpty == true)
            }
            // Drop what query-migrate cannot know, and the devices it does not report.
            for key in ["log", "from", "lines", "no-vmsd", "by-type", "named"] {
                t[key] = nil
                q[key] = nil
            }
            func strip(_ side: inout [String: Any]) {
                side["devices"] = (side["devices"] as! [[String: Any]]).filter {
                    ($0["time-us"] as! Int) > 0
                        && (role == "destination" || $0["section"] as! String == "iterable" || $0["vmsd"] as! Bool)
                }.map { var d = $0; d["line"] = nil; return d }
                side["checkpoints"] = (side["checkpoints"] as! [[String: Any]]).map {
                    var c = $0; c["line"] = nil; c["timestamp-us"] = nil; return c
                }
                var recorder = side["recorder"] as! [String: Any]
                recorder["skipped-zero"] = nil
                side["recorder"] = recorder
            }
            strip(&t)
            strip(&q)
            #expect(try canonical(q) == canonical(t), "\(role) differs")
        }
        // Inputs: the replies, with the log-only members null.
        let inputs = try #require(qmpDoc["inputs"] as? [[String: Any]])
        #expect(inputs.count == 2)
        for input in inputs {
            #expect(input["lines"] is NSNull && input["bytes"] is NSNull && input["events"] is NSNull)
            let q = try #require(input["query-migrate"] as? [String: Any])
            #expect(q["outcome"] as? String == "complete" && q["series"] as? String == "0.2.0")
            #expect(q["series-from"] as? String == "members" && q["status"] as? String == "completed")
        }
    }

    @Test func qmpCSVHasTheTraceRowsWithoutLineNumbers() throws {
        var qmpText = "", traceText = ""
        render([try QMPFixtures.input("q35-source.json", .source),
                                   try QMPFixtures.input("q35-destination.json", .destination)],
                                  sink: CSVSink(out: .strings { qmpText += $0 }))
        try report(groups: [ReportGroup(
            source: ReportInput(path: Fixtures.path("q35-source.log"), role: .source),
            destination: ReportInput(path: Fixtures.path("q35-destination.log"), role: .destination))],
            into: CSVSink(out: .strings { traceText += $0 }))
        let q = parseCSV(qmpText), t = parseCSV(traceText)
        #expect(q.first == t.first)
        #expect(q.allSatisfy { $0.count == 16 })
        // Phase rows are identical; device rows are the trace's visible ones without the line
        // (named_share, last, is over each side's own devices: below).
        let phases: ([[String]]) -> [[String]] = { $0.filter { $0[2] == "phase" }.map { Array($0.prefix(15)) } }
        #expect(phases(q) == phases(t) && phases(q).count == 8)
        let qDevices = q.filter { $0[2] == "device" }
        #expect(qDevices.allSatisfy { $0[14] == "" })
        let tDevices = t.filter {
            $0[2] == "device" && $0[7] != "0" && ($0[1] == "destination" || $0[6] == "iterable" || $0[10] == "true")
        }.map { Array($0.prefix(14)) + [""] }
        #expect(qDevices.map { Array($0.prefix(15)) } == tDevices)
        // named_share: one value per side, its devices over its phases (which add up to the downtime).
        for rows in [q, t] {
            for side in ["source", "destination"] {
                let mine = rows.filter { $0[1] == side }
                let devices = mine.filter { $0[2] == "device" }.reduce(0.0) { $0 + Double($1[7])! }
                let downtime = mine.filter { $0[2] == "phase" }.reduce(0.0) { $0 + Double($1[7])! }
                #expect(Set(mine.map { $0[15] }).count == 1)
                #expect(abs(Double(mine[0][15])! - devices / downtime) < 0.00005 + 1e-9, "\(side)")
            }
        }
    }

    /// Which of the series a schema or a reply shows.
    @Test func aDestinationThatMigratedOutShowsNoDestinationPhases() throws {
        // Loads from its incoming migration, checkpoints from its later outgoing one.
        let reply = try MigrateReply(json: Data("""
            {"status": "completed",
             "device-load-times": [{"name": "ram", "instance-id": 0, "load-time": 30, "iterable": true},
                                   {"name": "cpu", "instance-id": 0, "load-time": 40}],
             "device-state-times": [{"name": "cpu", "instance-id": 0, "save-time": 12}],
             "iterable-state-times": [],
             "downtime-checkpoints": [{"name": "src-downtime-start", "time": 0}, {"name": "src-downtime-end", "time": 90}]}
            """.utf8))
        let (sink, facts) = qmpReport([QueryMigrateInput(endpoint: "d", role: .destination, reply: reply,
                                                         schemaMembers: Set(series020))])
        #expect(facts.map(\.outcome) == [.partial])
        #expect(facts[0].missing == [SeriesMember.downtimeCheckpoints])
        let destination = try #require(sink.runs.first?.destination)
        #expect(sink.runs.first?.source == nil)
        #expect(destination.checkpoints.isEmpty && destination.totalUS == nil)
        #expect(destination.phases.isEmpty)  // no loadvm-completed: no load phase, as from a log
        #expect(destination.devices.map(\.name) == ["ram", "cpu"])
        #expect(destination.devices.map(\.device.section) == [.iterable, .nonIterable])
        #expect(destination.notes.contains { $0.contains("migrated out") })
        // As a source the same reply gives the source's saves, not the loads.
        let (asSource, sourceFacts) = qmpReport([QueryMigrateInput(endpoint: "s", role: .source, reply: reply,
                                                                   schemaMembers: Set(series020))])
        #expect(sourceFacts.map(\.outcome) == [.complete])
        let asSourceSide = try #require(asSource.runs.first?.source)
        #expect(asSourceSide.devices.map(\.name) == ["cpu"])
        #expect(asSource.runs.first?.source?.totalUS == 90)
    }

    /// Series of library 0.3.0: what QEMU could not keep is counted in the reply, and the report
    /// says so (a note in every format, the count in the JSON's query-migrate input).
    @Test func entriesQEMUCouldNotKeepAreReported() throws {
        func reply(_ dropped: String) throws -> MigrateReply {
            try MigrateReply(json: Data("""
                {"status": "completed", "downtime-entries-dropped": \(dropped),
                 "device-load-times": [{"name": "cpu", "instance-id": 0, "load-time": 40}],
                 "downtime-checkpoints": [{"name": "dst-precopy-loadvm-completed", "time": 45},
                                          {"name": "dst-precopy-bh-vm-started", "time": 60}]}
                """.utf8))
        }
        for (dropped, note) in [(UInt64(3), true), (0, false)] {
            let (sink, facts) = qmpReport([QueryMigrateInput(endpoint: "d", role: .destination,
                                                             reply: try reply("\(dropped)"))])
            #expect(facts.map(\.series) == [.v030] && facts.map(\.entriesDropped) == [dropped])
            let destination = try #require(sink.runs.first?.destination)
            #expect(destination.notes.contains { $0.contains("could not keep 3 entries") } == note)
            var text = ""
            let json = JSONSink(pretty: false, out: .strings { text += $0 })
            render([QueryMigrateInput(endpoint: "d", role: .destination,
                                                         reply: try reply("\(dropped)"))], sink: json)
            #expect(text.contains("\"entries-dropped\":\(dropped)"))
        }
        #expect(throws: QueryMigrateError.self) { try reply("-1") }
        #expect(throws: QueryMigrateError.self) { try reply("\"many\"") }
    }

    /// A reply of the series before library 0.3.0 lists virtio-mem's early section, loaded at
    /// setup: the report sets it aside and says that the checkpoint times count from it.
    @Test func aSetupLoadInAnOlderReplyIsSetAside() throws {
        let reply = try MigrateReply(json: Data("""
            {"status": "completed",
             "device-load-times": [{"name": "0000:00:01.0/virtio-mem-device-early", "instance-id": 0, "load-time": 4},
                                   {"name": "ram", "instance-id": 0, "load-time": 7, "iterable": true},
                                   {"name": "0000:00:01.0/virtio-mem", "instance-id": 0, "load-time": 383}],
             "downtime-checkpoints": [{"name": "dst-precopy-loadvm-completed", "time": 67798}]}
            """.utf8))
        let (sink, _) = qmpReport([QueryMigrateInput(endpoint: "d", role: .destination, reply: reply)])
        let destination = try #require(sink.runs.first?.destination)
        #expect(destination.devices.map(\.name) == ["ram", "0000:00:01.0/virtio-mem"])
        #expect(destination.notes.contains { $0.contains("virtio-mem-device-early#0 4 µs") })
        #expect(destination.notes.contains { $0.contains("count the destination's checkpoint times from that load")
            || $0.contains("counts the destination's checkpoint times from that load") })
    }

    @Test func handlerEntriesStayInDeviceStateTimes() throws {
        let reply = try MigrateReply(json: Data("""
            {"return": {"status": "completed", "iterable-state-times": [{"name": "ram", "instance-id": 0, "save-time": 100}],
             "device-state-times": [{"name": "timer", "instance-id": 0, "save-time": 15},
                                    {"name": "slirp", "instance-id": 0, "save-time": 19, "handler": true}],
             "downtime-checkpoints": [{"name": "src-downtime-start", "time": 0}, {"name": "src-vm-stopped", "time": 10},
                                      {"name": "src-iterable-saved", "time": 120}, {"name": "src-non-iterable-saved", "time": 160},
                                      {"name": "src-downtime-end", "time": 170}]}}
            """.utf8))
        let (sink, facts) = qmpReport([QueryMigrateInput(endpoint: "s", role: .source, reply: reply)])
        #expect(facts[0].outcome == .complete)
        let source = try #require(sink.runs.first?.source)
        let slirp = try #require(source.devices.first { $0.name == "slirp" })
        #expect(!slirp.hasVMSD && slirp.inDeviceStateTimes)
        #expect(source.deviceStateTimesJSON == #"[{"name":"timer","instance-id":0,"save-time":15},{"name":"slirp","instance-id":0,"save-time":19,"handler":true}]"#)
        #expect(source.phases.first { $0.label == "non-iterable" }?.durationUS == 40)
        #expect(slirp.share == 19.0 / 40.0)
        var table = ""
        render([QueryMigrateInput(endpoint: "s", role: .source, reply: reply)],
                                  sink: TableSink(width: 120, out: .strings { table += $0 }))
        #expect(table.contains("saved by a handler (\"handler\": true): slirp#0"))
        #expect(!table.contains("listed apart"))
    }

}
