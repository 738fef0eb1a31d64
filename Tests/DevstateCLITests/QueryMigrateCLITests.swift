// SPDX-License-Identifier: MIT
import DevstateAnalysis
import DevstateIngest
import DevstateModel
import DevstateQMP
import DevstateRender
import Foundation
import Testing

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
