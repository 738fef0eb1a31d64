// SPDX-License-Identifier: MIT
import DevstateTrace
import Foundation
import Testing

@Suite struct OutputTests {
    func render(_ make: (TextOut) -> ReportSink) throws -> String {
        var text = ""
        let sink = make(.strings { text += $0 })
        _ = try ReportPipeline().run(groups: [
            ReportGroup(source: ReportInput(path: Fixtures.path("pc-source.log"), role: .source),
                        destination: ReportInput(path: Fixtures.path("pc-destination.log"), role: .destination)),
            ReportGroup(source: ReportInput(path: Fixtures.path("q35-source.log"), role: .source),
                        destination: ReportInput(path: Fixtures.path("q35-destination.log"), role: .destination)),
        ], sink: sink)
        return text
    }

    @Test(arguments: [false, true])
    func jsonFollowsTheSchema(_ pretty: Bool) throws {
        let text = try render { JSONSink(pretty: pretty, out: $0) }
        let doc = try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
        #expect(doc["schema"] as? String == "devstate-report/1")
        let runs = doc["runs"] as! [[String: Any]]
        #expect(runs.count == 3)
        #expect(runs[0]["destination"] == nil && runs[1]["destination"] != nil && runs[2]["destination"] != nil)
        for run in runs {
            let source = run["source"] as! [String: Any]
            for key in ["device-state-times", "devices", "no-vmsd", "by-type", "phases", "checkpoints", "recorder", "downtime-us"] {
                #expect(source[key] != nil, "missing \(key)")
            }
            let times = source["device-state-times"] as! [[String: Any]]
            #expect(times.allSatisfy { Set($0.keys) == ["name", "instance-id", "save-time"] })
            let devices = source["devices"] as! [[String: Any]]
            #expect(devices.filter { $0["in-device-state-times"] as? Bool == true }.count == times.count)
        }
        #expect((doc["inputs"] as! [Any]).count == 4)
        #expect(doc["malformed-lines"] as? Int == 0)
    }

    /// Compact JSON has fast paths of its own (device rows in ready-made pieces); it must be
    /// the pretty document without the whitespace between tokens.
    @Test func compactJSONIsThePrettyOneWithoutItsSpaces() throws {
        let compact = try render { JSONSink(pretty: false, out: $0) }
        let pretty = try render { JSONSink(pretty: true, out: $0) }
        var minified: [UInt8] = []
        var inString = false, escaped = false
        for b in pretty.utf8 {
            if inString {
                minified.append(b)
                if escaped { escaped = false } else if b == UInt8(ascii: "\\") { escaped = true } else if b == UInt8(ascii: "\"") { inString = false }
            } else if b == UInt8(ascii: "\"") {
                inString = true
                minified.append(b)
            } else if b != UInt8(ascii: " ") && b != UInt8(ascii: "\n") {
                minified.append(b)
            }
        }
        #expect(compact.count > 10_000)
        #expect(String(decoding: minified, as: UTF8.self) + "\n" == compact)
    }

    @Test func csvHasOneRowPerDevicePerSide() throws {
        let text = try render { CSVSink(out: $0) }
        let rows = text.split(separator: "\n")
        #expect(rows.first.map(String.init) == CSVSink.header)
        let deviceRows = rows.filter { $0.split(separator: ",")[2] == "device" }
        var expected = 0
        for name in ["pc-source.log", "q35-source.log", "pc-destination.log", "q35-destination.log"] {
            expected += try Fixtures.deviceLines(name).count
        }
        #expect(deviceRows.count == expected)
        // The columns of the header, named_share last: the same on every row of a side.
        #expect(rows.allSatisfy { $0.split(separator: ",", omittingEmptySubsequences: false).count == 16 })
    }

    @Test(arguments: [60, 80, 132], [TableDetail.full, .concise(top: 10)])
    func tableFitsTheWidth(_ width: Int, _ detail: TableDetail) throws {
        let text = try render { TableSink(width: width, detail: detail, out: $0) }
        let tooWide: [String] = text.split(separator: "\n").map(String.init).filter { $0.count > width }
        #expect(tooWide == [])
        // Narrow tables clip long names in the middle instead.
        if width < 80 {
            #expect(!text.contains("0000:00:03.0/e1000e") && text.contains("0000:00…e1000e"))
        } else {
            #expect(text.contains("0000:00:03.0/e1000e"))
        }
        #expect(text.contains("Source phases") && text.contains("Destination phases"))
        #expect(text.contains("By device type"))
    }

    @Test func plotScriptNamesEveryPanel() throws {
        var ignored = ""
        let collector = PlotCollector(next: TableSink(width: 100, out: .strings { ignored += $0 }), top: 5, maxRuns: 2)
        _ = try ReportPipeline().run(groups: [ReportGroup(
            source: ReportInput(path: Fixtures.path("pc-source.log"), role: .source),
            destination: ReportInput(path: Fixtures.path("pc-destination.log"), role: .destination))],
            sink: collector)
        #expect(collector.panels.count == 2)
        #expect(collector.panels.allSatisfy { $0.bars.count == 5 })
        #expect(collector.panels[1].bars.allSatisfy { $0.destinationUS != nil })
        let (data, script) = collector.gnuplot(png: "/tmp/x.png", dataPath: "/tmp/x.dat")
        #expect(script.contains("index 1"))
        #expect(data.components(separatedBy: "\n\n\n").count == 2)
    }
}

@Suite struct SummaryTests {
    @Test func summaryHasOneLinePerSideAndAggregatesAcrossRuns() throws {
        var text = ""
        let sink = SummarySink(format: .json, out: .strings { text += $0 })
        _ = try ReportPipeline().run(groups: [ReportGroup(
            source: ReportInput(path: Fixtures.path("pc-source.log"), role: .source),
            destination: ReportInput(path: Fixtures.path("pc-destination.log"), role: .destination))],
            sink: sink)
        let doc = try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
        let runs = doc["runs"] as! [[String: Any]]
        #expect(runs.map { $0["side"] as! String } == ["source", "source", "destination"])
        let devices = doc["devices"] as! [[String: Any]]
        let cpu = try #require(devices.first { $0["name"] as? String == "cpu" })
        #expect(cpu["runs"] as? Int == 2)
        // Mean and max agree with the two runs' cpu saves in the trace.
        let cpuTimes = try Fixtures.deviceLines("pc-source.log").filter { $0.idstr == "cpu" }.map(\.downtime)
        #expect(cpu["max-us"] as? UInt64 == cpuTimes.max())
        #expect(cpu["mean-us"] as? UInt64 == cpuTimes.reduce(0, +) / 2)
    }
}
