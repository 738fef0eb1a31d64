// SPDX-License-Identifier: MIT
import DevstateBytes
import DevstateModel
import DevstateRender
import Foundation
import XCTest

/// `--summary`: one line per side of each run, and each device across the runs.
final class SummaryTests: XCTestCase {
    let pc = pair("pc-source.log", "pc-destination.log")

    func testJSONHasOneLinePerSideAndAggregatesAcrossRuns() throws {
        let text = try render(pc) { SummarySink(format: .json, out: $0) }
        let doc = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        XCTAssertEqual(doc["schema"] as? String, "devstate-summary/1")
        let runs = try XCTUnwrap(doc["runs"] as? [[String: Any]])
        XCTAssertEqual(runs.map { $0["side"] as? String }, ["source", "source", "destination"])
        XCTAssertEqual(runs.map { $0["run"] as? Int }, [1, 2, 2])
        XCTAssertTrue(runs.allSatisfy { ($0["device-state-times"] as? [Any])?.isEmpty == false && $0["longest"] != nil })
        let devices = try XCTUnwrap(doc["devices"] as? [[String: Any]])
        let cpu = try XCTUnwrap(devices.first { $0["name"] as? String == "cpu" })
        XCTAssertEqual(cpu["runs"] as? Int, 2)
        // Mean and max agree with the two runs' cpu saves in the trace.
        let cpuTimes = try Fixtures.deviceLines("pc-source.log").filter { $0.idstr == "cpu" }.map(\.downtime)
        XCTAssertEqual(cpu["max-us"] as? UInt64, cpuTimes.max())
        XCTAssertEqual(cpu["mean-us"] as? UInt64, cpuTimes.reduce(0, +) / 2)
        // Longest mean first.
        let means = devices.compactMap { $0["mean-us"] as? Int }
        XCTAssertEqual(means, means.sorted(by: >))
        XCTAssertEqual((doc["inputs"] as? [Any])?.count, 2)
    }

    func testCSVHasOneLinePerSide() throws {
        let sides = try runs(pc).flatMap { [$0.source, $0.destination].compactMap { $0 } }
        let csv = parseCSV(try render(pc) { SummarySink(format: .csv, out: $0) })
        XCTAssertEqual(csv.count, sides.count + 1)
        XCTAssertEqual(csv[0].last, "named_share")
        for (k, side) in sides.enumerated() {
            let row = csv[k + 1]
            XCTAssertEqual(row.count, 13)
            XCTAssertEqual(row[1], side.side.rawValue)
            XCTAssertEqual(row[6], side.totalUS.map { "\($0)" } ?? "")
            XCTAssertEqual(row[9], side.longest?.name)
            XCTAssertEqual(row[11], side.longest.map { "\($0.device.timeUS)" })
            let share = try XCTUnwrap(side.named.share)
            XCTAssertLessThanOrEqual(abs(Double(row[12])! - share), 0.00005)
        }
    }

    /// The table: a line per side in fixed columns, cut at the width; then the downtimes, the
    /// named share per side over the runs, the devices across runs and what was read.
    func testTableLinesAndTotals() throws {
        let sides = try runs(pc).flatMap { [$0.source, $0.destination].compactMap { $0 } }
        let text = try render(pc) { SummarySink(format: .table, width: 100, top: 3, out: $0) }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        XCTAssertEqual(lines[0], "  run  side         lines            downtime  devices  d-s-t  longest device")
        for (k, side) in sides.enumerated() {
            let longest = try XCTUnwrap(side.longest)
            XCTAssertTrue(lines[k + 1].contains("  \(side.side.rawValue)  ") && lines[k + 1].contains("\(longest.name)#0"))
            XCTAssertLessThanOrEqual(lines[k + 1].count, 100)
        }
        let downtimes = sides.filter { $0.side == .source }.compactMap(\.totalUS).sorted()
        XCTAssertTrue(text.contains("Source downtime over 2 runs: min \(formatMicros(downtimes[0])), median \(formatMicros(downtimes[1])), max \(formatMicros(downtimes[1]))"))
        XCTAssertTrue(text.contains("Named share of the downtime (devices, handlers and steps): source over 2 runs min "))
        let start = try XCTUnwrap(lines.firstIndex { $0.hasPrefix("Non-iterable saves across runs") })
        XCTAssertTrue(lines[start + 1].hasPrefix("  device") && lines[start + 1].hasSuffix("runs  mean µs  max µs"))
        XCTAssertEqual(lines[start + 5], "")
        XCTAssertTrue(text.contains("Read 2 logs: 2 source runs, 1 destination load."))
        // Without stamps the share is unknown.
        let unknown = try render(pair("pc-notimestamp-source.log", nil)) { SummarySink(format: .table, width: 300, out: $0) }
        XCTAssertTrue(unknown.contains("Named share of the downtime (devices, handlers and steps): source unknown (it needs the checkpoints and their -msg timestamp=on stamps); our QEMU series (Patches/) names the handlers and steps of the rest"))
    }
}
