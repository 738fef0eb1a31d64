// SPDX-License-Identifier: MIT
import DevstateAnalysis
import DevstateIngest
import DevstateModel
import DevstateQMP
import DevstateRender
import Foundation
import Testing

/// The saved query-migrate replies in Tests/Fixtures/qmp (written by make-replies.py from the
/// q35 trace logs).
enum QMPFixtures {
    static let directory: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/qmp").path
    }()

    static func path(_ name: String) -> String { directory + "/" + name }

    static func object(_ name: String) throws -> [String: Any] {
        let any = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path(name))))
        let object = try #require(any as? [String: Any])
        return object["return"] as? [String: Any] ?? object
    }

    /// The reply object as JSON text, for the fake QMP server.
    static func inner(_ name: String) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: try object(name)), as: UTF8.self)
    }

    static func input(_ name: String, _ role: Side) throws -> QueryMigrateInput {
        QueryMigrateInput(endpoint: name, role: role, reply: try MigrateReply(json: Data(contentsOf: URL(fileURLWithPath: path(name)))),
                          noSchemaReason: "a saved reply carries no schema")
    }
}

/// A query-qmp-schema reply shaped like QEMU's (type names masked as numbers): query-migrate
/// returns object "163" with the usual members plus `members`; `decoy` adds members to another
/// command's return type, which must not count.
func fakeSchema(_ members: [String], decoy: [String] = []) -> String {
    func object(_ name: String, _ names: [String]) -> String {
        let m = names.map { #"{"name": "\#($0)", "type": "int"}"# }.joined(separator: ", ")
        return #"{"name": "\#(name)", "meta-type": "object", "members": [\#(m)]}"#
    }
    let entries = [
        #"{"name": "query-status", "meta-type": "command", "arg-type": "0", "ret-type": "41", "allow-oob": false}"#,
        object("0", []),
        object("41", ["running", "status"] + decoy),
        #"{"name": "query-migrate", "meta-type": "command", "arg-type": "0", "ret-type": "163", "allow-oob": false}"#,
        object("163", ["status", "ram", "total-time", "downtime", "setup-time"] + members),
        #"{"name": "int", "meta-type": "builtin", "json-type": "int"}"#,
    ]
    return "[" + entries.joined(separator: ", ") + "]"
}

let series030 = SeriesMember.all
let series020 = [SeriesMember.deviceStateTimes] + SeriesMember.added020
let series010 = [SeriesMember.deviceStateTimes]

func qmpReport(_ inputs: [QueryMigrateInput]) -> (CollectingSink, [QueryMigrateFacts]) {
    let sink = CollectingSink()
    let facts = render(inputs, sink: sink)
    return (sink, facts)
}

/// RFC 4180 records: quoted fields may hold commas, quotes ("") and line breaks.
func parseCSV(_ text: String) -> [[String]] {
    var records: [[String]] = []
    var record: [String] = []
    var field = String.UnicodeScalarView()
    var quoted = false
    var scalars = text.unicodeScalars.makeIterator()
    var pending: Unicode.Scalar? = nil
    func next() -> Unicode.Scalar? {
        if let p = pending { pending = nil; return p }
        return scalars.next()
    }
    while let c = next() {
        if quoted {
            if c == "\"" {
                if let d = next() {
                    if d == "\"" { field.append("\"") } else { quoted = false; pending = d }
                } else {
                    quoted = false
                }
            } else {
                field.append(c)
            }
        } else if c == "\"" && field.isEmpty {
            quoted = true
        } else if c == "," {
            record.append(String(field))
            field = String.UnicodeScalarView()
        } else if c == "\n" {
            record.append(String(field))
            field = String.UnicodeScalarView()
            records.append(record)
            record = []
        } else {
            field.append(c)
        }
    }
    if !field.isEmpty || !record.isEmpty { record.append(String(field)); records.append(record) }
    return records
}

/// What both paths must agree on about a device.
struct ComparableDevice: Equatable, CustomStringConvertible {
    var name: String
    var instanceID: UInt32
    var section: Section
    var type: String
    var timeUS: UInt64
    var share: Double?
    var vmsd: Bool
    var inDeviceStateTimes: Bool

    init(_ row: DeviceRow, of side: SideReport) {
        name = row.name
        instanceID = row.device.instanceID
        section = row.device.section
        type = row.type
        timeUS = row.device.timeUS
        share = row.share
        vmsd = row.hasVMSD
        inDeviceStateTimes = row.inDeviceStateTimes
    }

    var description: String { "\(name)#\(instanceID) \(section.rawValue) \(timeUS) µs" }
}

/// The devices of a trace side that query-migrate reports: on the source, saves > 0 µs that
/// are iterable or have a vmsd; on the destination, every load > 0 µs.
func visibleOverQMP(_ side: SideReport) -> [DeviceRow] {
    side.devices.filter {
        $0.device.timeUS > 0 && (side.side == .destination || $0.device.section == .iterable || $0.hasVMSD)
    }
}

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

@Suite(.serialized) struct QueryMigrateCLITests {
    @Test func fullSeriesGivesTheReportAndSendsOnlyReadOnlyCommands() throws {
        let source = try FakeQMP(migrate: try QMPFixtures.inner("q35-source.json"), schema: fakeSchema(series020))
        let destination = try FakeQMP(migrate: try QMPFixtures.inner("q35-destination.json"), schema: fakeSchema(series020))
        let r = try devstate(["query", source.path, destination.path])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("Source phases") && r.out.contains("Destination phases"))
        #expect(r.out.contains("non-iterable  src-iterable-saved → src-non-iterable-saved  5794"))
        #expect(r.out.contains("load         first-load-start → dst-precopy-loadvm-completed       12393"))
        #expect(r.out.contains("(QEMU 10.0.2, series 0.2.0), downtime 6.378 ms"))
        #expect(r.out.contains("series 0.2.0 (from query-qmp-schema): complete"))
        #expect(!r.out.contains("PARTIAL"))
        for fake in [source, destination] {
            #expect(fake.commands == ["qmp_capabilities", "query-qmp-schema", "query-name", "query-migrate"])
            #expect(fake.commands.allSatisfy(QMPClient.readOnlyCommands.contains))
        }
    }

    /// `query` and `report --qmp` render the same replies the same way.
    @Test func queryAndSavedRepliesGiveTheSameReport() throws {
        let source = try FakeQMP(migrate: try QMPFixtures.inner("q35-source.json"), schema: fakeSchema(series020))
        let destination = try FakeQMP(migrate: try QMPFixtures.inner("q35-destination.json"), schema: fakeSchema(series020))
        let live = try devstate(["query", "--format", "json", source.path, destination.path])
        let saved = try devstate(["report", "--qmp", "--format", "json",
                                  QMPFixtures.path("q35-source.json"), QMPFixtures.path("q35-destination.json")])
        #expect(live.status == 0 && saved.status == 0, "\(live.err) \(saved.err)")
        func runs(_ text: String) throws -> String {
            let doc = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
            let runs = try #require(doc["runs"] as? [[String: Any]])
            let cleaned = runs.map { run in
                run.mapValues { value -> Any in
                    guard var side = value as? [String: Any] else { return value }
                    side["log"] = nil
                    return side
                }
            }
            return String(decoding: try JSONSerialization.data(withJSONObject: cleaned, options: .sortedKeys), as: UTF8.self)
        }
        #expect(try runs(live.out) == runs(saved.out))
        #expect(try runs(live.out).contains("\"phases\""))
        // The whole tables (--all) agree from the phases to the inputs' lines (the first lines
        // name the inputs).
        let source2 = try FakeQMP(migrate: try QMPFixtures.inner("q35-source.json"), schema: fakeSchema(series020))
        let destination2 = try FakeQMP(migrate: try QMPFixtures.inner("q35-destination.json"), schema: fakeSchema(series020))
        let liveTable = try devstate(["query", "--all", source2.path, destination2.path])
        let savedTable = try devstate(["report", "--qmp", "--all", QMPFixtures.path("q35-source.json"), QMPFixtures.path("q35-destination.json")])
        func body(_ text: String) -> [Substring] {
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            let start = lines.firstIndex { $0.isEmpty } ?? lines.startIndex
            let end = lines.firstIndex { $0.hasPrefix("Read 2 query-migrate replies") } ?? lines.endIndex
            return Array(lines[start..<end])
        }
        #expect(liveTable.status == 0 && savedTable.status == 0)
        #expect(body(liveTable.out) == body(savedTable.out))
        #expect(body(liveTable.out).count > 60)
    }

    @Test func noSeriesIsExitTwoWithTheTraceLogWay() throws {
        // The schema has the members only in another type: query-migrate has none of them.
        let stock = try FakeQMP(migrate: #"{"status": "completed", "downtime": 6, "total-time": 120}"#,
                                schema: fakeSchema([], decoy: series020))
        let r = try devstate(["query", stock.path])
        #expect(r.status == 2, "\(r.err)")
        let text = flat(r.out)
        #expect(text.contains("device-state-times is NOT present"))
        #expect(text.contains("query-qmp-schema says"))
        #expect(text.contains("-trace vmstate_downtime_save -trace vmstate_downtime_load -trace vmstate_downtime_checkpoint -msg timestamp=on -D LOG"))
        #expect(text.contains("devstate report SRC.log DST.log"))
        #expect(!r.out.contains("Run 1"))
        // JSON: a valid document without runs, the outcome in its inputs, the paragraph on stderr.
        let stockJSON = try FakeQMP(migrate: #"{"status": "completed"}"#, schema: fakeSchema([]))
        let j = try devstate(["query", "--format", "json", stockJSON.path])
        #expect(j.status == 2)
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(j.out.utf8)) as? [String: Any])
        #expect((doc["runs"] as? [Any])?.isEmpty == true)
        let input = try #require((doc["inputs"] as? [[String: Any]])?.first?["query-migrate"] as? [String: Any])
        #expect(input["outcome"] as? String == "no-series" && input["series"] as? String == "none")
        #expect(input["qemu"] as? String == "10.0.2")
        #expect(j.err.contains("device-state-times is NOT present"))
    }

    /// The same reply members as a stock QEMU, but the schema has the series: not completed.
    @Test func seriesWithoutACompletedMigrationIsExitFive() throws {
        let active = try FakeQMP(migrate: #"{"status": "active", "total-time": 1200}"#, schema: fakeSchema(series020))
        let r = try devstate(["query", active.path])
        #expect(r.status == 5, "\(r.err)")
        let text = flat(r.out)
        #expect(text.contains("has our series (0.2.0; query-qmp-schema says)"))
        #expect(text.contains("no completed outgoing migration: query-migrate status is \"active\""))
        #expect(!text.contains("NOT present"))
        let none = try FakeQMP(migrate: "{}", schema: fakeSchema(series010))
        let n = try devstate(["query", none.path])
        #expect(n.status == 5)
        #expect(flat(n.out).contains("status is none (no migration yet)"))
        // Completed, but it was an incoming migration: the source members are absent.
        let incoming = try FakeQMP(migrate: try QMPFixtures.inner("q35-destination.json"), schema: fakeSchema(series020))
        let i = try devstate(["query", incoming.path])
        #expect(i.status == 5)
        #expect(flat(i.out).contains("is this the destination?"))
        // A saved reply without members and not completed cannot tell: also 5, and says so.
        let path = NSTemporaryDirectory() + "devstate-active-\(UUID().uuidString).json"
        try #"{"return": {"status": "setup"}}"#.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let saved = try devstate(["report", "--qmp", path])
        #expect(saved.status == 5)
        #expect(flat(saved.out).contains("cannot be told"))
    }

    @Test func onlyTheOldSeriesGivesAPartialReportThatSaysWhatIsMissing() throws {
        // The new members exist only in another type: query-migrate has device-state-times alone.
        let old = try FakeQMP(migrate: try QMPFixtures.inner("q35-source-v010.json"), schema: fakeSchema(series010, decoy: series020))
        let r = try devstate(["query", old.path])
        #expect(r.status == 6, "\(r.err)")
        let text = flat(r.out)
        #expect(text.contains("PARTIAL report: this QEMU has only the 0.1.0 series (query-qmp-schema says"))
        #expect(text.contains("Missing: iterable saves (iterable-state-times); the destination's loads (device-load-times); the downtime checkpoints, so the phases and the downtime (downtime-checkpoints)"))
        #expect(r.out.contains("0000:00:03.0/e1000e"))
        #expect(!r.out.contains("Source phases"))
        #expect(r.out.contains("source device-state-times: 41 entries"))
        // The same from the saved reply, judged from its members.
        let saved = try devstate(["report", "--qmp", "--format", "json", QMPFixtures.path("q35-source-v010.json")])
        #expect(saved.status == 6)
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(saved.out.utf8)) as? [String: Any])
        let source = try #require((doc["runs"] as? [[String: Any]])?.first?["source"] as? [String: Any])
        #expect((source["devices"] as? [Any])?.count == 41)
        #expect((source["phases"] as? [Any])?.isEmpty == true && source["downtime-us"] is NSNull)
        #expect((source["notes"] as? [String])?.contains { $0.contains("no iterable-state-times") } == true)
        let input = try #require((doc["inputs"] as? [[String: Any]])?.first?["query-migrate"] as? [String: Any])
        #expect(input["missing"] as? [String] == ["iterable-state-times", "downtime-checkpoints", "device-load-times"])
        #expect(input["series-from"] as? String == "members" && input["outcome"] as? String == "partial")
        #expect(saved.err.contains("PARTIAL report"))
        // The destination of a 0.1.0 QEMU reports nothing: partial too.
        let dst = try FakeQMP(migrate: #"{"status": "completed"}"#, schema: fakeSchema(series010))
        let d = try devstate(["query", "--destination", dst.path])
        #expect(d.status == 6)
        #expect(flat(d.out).contains("reports nothing for the destination"))
    }

    @Test func savedRepliesAreReadInBothFormsAndBadOnesAreExitOne() throws {
        let whole = try devstate(["report", "--qmp", "--format", "csv", QMPFixtures.path("q35-source.json")])
        let inner = try devstate(["report", "--qmp", "--format", "csv", "--source", QMPFixtures.path("q35-source.json"),
                                  "--destination", QMPFixtures.path("q35-destination.json")])
        #expect(whole.status == 0 && inner.status == 0, "\(whole.err) \(inner.err)")
        #expect(inner.out.contains("1,destination,device,ram,0,ram,iterable,26,"))
        #expect(inner.out.hasPrefix(whole.out.split(separator: "\n")[0] + "\n"))
        let dir = NSTemporaryDirectory() + "devstate-bad-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for (name, text) in [("notjson", "status: completed"), ("array", "[]"),
                             ("entry", #"{"status": "completed", "device-state-times": [{"name": "x"}]}"#)] {
            try text.write(toFile: dir + "/" + name, atomically: true, encoding: .utf8)
            let r = try devstate(["report", "--qmp", dir + "/" + name])
            #expect(r.status == 1, "\(name)")
            #expect(r.err.contains(dir + "/" + name))
        }
        let missing = try devstate(["report", "--qmp", dir + "/none.json"])
        #expect(missing.status == 1)
        let usage = try devstate(["report", "--qmp", "--summary", QMPFixtures.path("q35-source.json")])
        #expect(usage.status == 64)
    }

    /// Names with quotes, commas, line breaks and non-ASCII come out valid in JSON and CSV.
    @Test func weirdNamesStayValidInJSONAndCSV() throws {
        let names = ["quo\"te", "com,ma", "new\nline", "crlf\r\nname", "ünï日本🙂", "0000:00:05.0/vga \"x\",\ny",
                     "q\"\u{301}mark", "tab\there"]
        func entries(_ key: String, extra: String = "") -> String {
            names.enumerated().map { i, n in
                let escaped = String(decoding: try! JSONSerialization.data(withJSONObject: [n], options: .fragmentsAllowed), as: UTF8.self).dropFirst().dropLast()
                return #"{"name": \#(escaped), "instance-id": \#(i), "\#(key)": \#(10 + i)\#(extra)}"#
            }.joined(separator: ", ")
        }
        let source = #"{"status": "completed", "device-state-times": [\#(entries("save-time"))], "iterable-state-times": [], "downtime-checkpoints": [{"name": "src-downtime-start", "time": 0}, {"name": "src-downtime-end", "time": 500}]}"#
        let destination = #"{"status": "completed", "device-load-times": [\#(entries("load-time"))], "downtime-checkpoints": [{"name": "dst-precopy-loadvm-completed", "time": 400}]}"#
        let dir = NSTemporaryDirectory() + "devstate-names-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try source.write(toFile: dir + "/s.json", atomically: true, encoding: .utf8)
        try destination.write(toFile: dir + "/d.json", atomically: true, encoding: .utf8)

        for pretty in [[], ["--pretty"]] {
            let j = try devstate(["report", "--qmp", "--format", "json"] + pretty + [dir + "/s.json", dir + "/d.json"])
            #expect(j.status == 0, "\(j.err)")
            let doc = try #require(try JSONSerialization.jsonObject(with: Data(j.out.utf8)) as? [String: Any])
            let run = try #require((doc["runs"] as? [[String: Any]])?.first)
            for role in ["source", "destination"] {
                let side = try #require(run[role] as? [String: Any])
                let devices = try #require(side["devices"] as? [[String: Any]])
                #expect(devices.map { $0["name"] as? String } == names.map { $0 }, "\(role)")
                let times = try #require(side["device-state-times"] as? [[String: Any]])
                #expect(times.map { $0["name"] as? String } == names.map { $0 }, "\(role)")
            }
        }
        let c = try devstate(["report", "--qmp", "--format", "csv", dir + "/s.json", dir + "/d.json"])
        #expect(c.status == 0, "\(c.err)")
        let records = parseCSV(c.out)
        #expect(records.allSatisfy { $0.count == 16 })
        for role in ["source", "destination"] {
            let devices = records.filter { $0[1] == role && $0[2] == "device" }
            #expect(devices.map { $0[3] } == names, "\(role)")
            #expect(devices.map { $0[4] } == names.indices.map(String.init))
        }
        // The same names from a live QEMU.
        let live = try FakeQMP(migrate: source, schema: fakeSchema(series020))
        let q = try devstate(["query", "--format", "csv", live.path])
        #expect(q.status == 0, "\(q.err)")
        #expect(parseCSV(q.out).filter { $0[2] == "device" }.map { $0[3] } == names)
        // The table keeps one line per device: control characters are shown escaped.
        let t = try devstate(["report", "--qmp", "--width", "160", dir + "/s.json", dir + "/d.json"])
        #expect(t.status == 0)
        #expect(t.out.contains("new\\nline") && t.out.contains("crlf\\r\\nname") && t.out.contains("tab\\there"))
        #expect(t.out.contains("ünï日本🙂"))
        #expect(!t.out.split(separator: "\n").contains { $0.hasPrefix("line") || $0.hasPrefix("name") })
    }
}
