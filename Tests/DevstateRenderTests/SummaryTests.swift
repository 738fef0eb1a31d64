// SPDX-License-Identifier: MIT
import DevstateBytes
import DevstateModel
import DevstateRender
import Foundation
import Testing

/// `--summary`: one line per side of each run, and each device across the runs.
@Suite struct SummaryTests {
    let pc = pair("pc-source.log", "pc-destination.log")

    @Test func jsonHasOneLinePerSideAndAggregatesAcrossRuns() throws {
        let text = try render(pc) { SummarySink(format: .json, out: $0) }
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(doc["schema"] as? String == "devstate-summary/1")
        let runs = try #require(doc["runs"] as? [[String: Any]])
        #expect(runs.map { $0["side"] as? String } == ["source", "source", "destination"])
        #expect(runs.map { $0["run"] as? Int } == [1, 2, 2])
        #expect(runs.allSatisfy { ($0["device-state-times"] as? [Any])?.isEmpty == false && $0["longest"] != nil })
        let devices = try #require(doc["devices"] as? [[String: Any]])
        let cpu = try #require(devices.first { $0["name"] as? String == "cpu" })
        #expect(cpu["runs"] as? Int == 2)
        // Mean and max agree with the two runs' cpu saves in the trace.
        let cpuTimes = try Fixtures.deviceLines("pc-source.log").filter { $0.idstr == "cpu" }.map(\.downtime)
        #expect(cpu["max-us"] as? UInt64 == cpuTimes.max())
        #expect(cpu["mean-us"] as? UInt64 == cpuTimes.reduce(0, +) / 2)
        // Longest mean first.
        let means = devices.compactMap { $0["mean-us"] as? Int }
        #expect(means == means.sorted(by: >))
        #expect((doc["inputs"] as? [Any])?.count == 2)
    }

    @Test func csvHasOneLinePerSide() throws {
        let sides = try runs(pc).flatMap { [$0.source, $0.destination].compactMap { $0 } }
        let csv = parseCSV(try render(pc) { SummarySink(format: .csv, out: $0) })
        #expect(csv.count == sides.count + 1)
        #expect(csv[0].last == "named_share")
        for (k, side) in sides.enumerated() {
            let row = csv[k + 1]
            #expect(row.count == 13)
            #expect(row[1] == side.side.rawValue)
            #expect(row[6] == side.totalUS.map { "\($0)" } ?? "")
            #expect(row[9] == side.longest?.name)
            #expect(row[11] == side.longest.map { "\($0.device.timeUS)" })
            let share = try #require(side.named.share)
            #expect(abs(Double(row[12])! - share) <= 0.00005)
        }
    }

    /// The table: a line per side in fixed columns, cut at the width; then the downtimes, the
    /// named share per side over the runs, the devices across runs and what was read.
    @Test func tableLinesAndTotals() throws {
        let sides = try runs(pc).flatMap { [$0.source, $0.destination].compactMap { $0 } }
        let text = try render(pc) { SummarySink(format: .table, width: 100, top: 3, out: $0) }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines[0] == "  run  side         lines            downtime  devices  d-s-t  longest device")
        for (k, side) in sides.enumerated() {
            let longest = try #require(side.longest)
            #expect(lines[k + 1].contains("  \(side.side.rawValue)  ") && lines[k + 1].contains("\(longest.name)#0"))
            #expect(lines[k + 1].count <= 100)
        }
        let downtimes = sides.filter { $0.side == .source }.compactMap(\.totalUS).sorted()
        #expect(text.contains("Source downtime over 2 runs: min \(formatMicros(downtimes[0])), median \(formatMicros(downtimes[1])), max \(formatMicros(downtimes[1]))"))
        #expect(text.contains("Named share of the downtime (devices, handlers and steps): source over 2 runs min "))
        let start = try #require(lines.firstIndex { $0.hasPrefix("Non-iterable saves across runs") })
        #expect(lines[start + 1].hasPrefix("  device") && lines[start + 1].hasSuffix("runs  mean µs  max µs"))
        #expect(lines[start + 5] == "")
        #expect(text.contains("Read 2 logs: 2 source runs, 1 destination load."))
        // Without stamps the share is unknown.
        let unknown = try render(pair("pc-notimestamp-source.log", nil)) { SummarySink(format: .table, width: 300, out: $0) }
        #expect(unknown.contains("Named share of the downtime (devices, handlers and steps): source unknown (it needs the checkpoints and their -msg timestamp=on stamps); our QEMU series (Patches/) names the handlers and steps of the rest"))
    }
}
