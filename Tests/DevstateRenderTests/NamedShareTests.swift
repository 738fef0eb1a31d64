// SPDX-License-Identifier: MIT
import DevstateModel
import DevstateRender
import Foundation
import XCTest

/// The named share (devices, handlers and steps over the downtime) in each format: a stock
/// report is what it was, plus one line, field, column or gauge.
final class NamedShareTests: XCTestCase {
    /// Without stamps there is no downtime, so no share: the table says why, JSON has null, CSV
    /// an empty field and OpenMetrics no gauge.
    func testWithoutStampsTheShareIsUnknown() throws {
        for release in Fixtures.releases {
            let log = pair("pc-notimestamp-source.log", nil, release: release)
            let table = try render(log) { TableSink(width: 300, out: $0) }
            XCTAssertTrue(table.contains(", devices alone; share of the downtime unknown (it needs the checkpoints and their -msg timestamp=on stamps): this trace has no vmstate_downtime_step lines"))
            let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(try render(log) { JSONSink(pretty: false, out: $0) }.utf8)) as? [String: Any])
            let side = try XCTUnwrap((json["runs"] as? [[String: Any]])?.first?["source"] as? [String: Any])
            let named = try XCTUnwrap(side["named"] as? [String: Any])
            XCTAssertTrue(named["share"] is NSNull && named["unnamed-us"] is NSNull && (named["devices-us"] as? Int ?? 0) > 0)
            let csv = parseCSV(try render(log) { CSVSink(out: $0) })
            XCTAssertTrue(csv.dropFirst().allSatisfy { $0.count == 16 && $0[15] == "" })
            let metrics = Sample.parse(try render(log) { OpenMetricsSink(out: $0) })
            XCTAssertFalse(metrics.contains { $0.name == "qemu_migration_downtime_named_ratio" })
            XCTAssertTrue(metrics.contains { $0.name == "qemu_migration_device_time_seconds" })
        }
    }

    /// A stock report: one "named" line per side right under its phases, `named` after
    /// `downtime-us` in JSON, `named_share` last in CSV, the ratio gauge with steps="false".
    func testStockOutputsGainOnlyTheShare() throws {
        let logs = pair("q35-source.log", "q35-destination.log")
        let lines = try render(logs) { TableSink(width: 250, out: $0) }.split(separator: "\n", omittingEmptySubsequences: false)
        let named = lines.indices.filter { lines[$0].hasPrefix("  named ") }
        XCTAssertEqual(named.count, 2)
        XCTAssertTrue(named.allSatisfy { lines[$0 - 1].hasPrefix("  downtime ") || lines[$0 - 1].hasPrefix("  total ") })
        XCTAssertTrue(named.allSatisfy { lines[$0].hasSuffix("this trace has no vmstate_downtime_step lines; our QEMU series (Patches/) names the handlers and steps of the rest") })
        let json = try render(logs) { JSONSink(pretty: true, out: $0) }
        let keys = json.split(separator: "\n").filter { $0.hasPrefix("        \"") }.map { String($0.dropFirst(9).prefix { $0 != "\"" }) }
        let side = ["log", "from", "index-in-log", "lines", "device-state-times", "recorder", "downtime-us", "named",
                    "phases", "checkpoints", "devices", "no-vmsd", "by-type", "share-basis", "notes"]
        XCTAssertEqual(keys, side + side)
        let csv = parseCSV(try render(logs) { CSVSink(out: $0) })
        XCTAssertEqual(csv[0].last, "named_share")
        let samples = Sample.parse(try render(logs) { OpenMetricsSink(out: $0) })
        XCTAssertEqual(Set(samples.map(\.name)), ["qemu_migration_downtime_seconds", "qemu_migration_downtime_phase_seconds",
                                                  "qemu_migration_device_time_seconds", "qemu_migration_devices",
                                                  "qemu_migration_last_completed_timestamp_seconds",
                                                  "qemu_migration_devstate_info", "qemu_migration_downtime_named_ratio"])
        let ratios = samples.filter { $0.name == "qemu_migration_downtime_named_ratio" }
        XCTAssertEqual(ratios.map { $0.labels["side"] }, ["source", "destination"])
        XCTAssertTrue(ratios.allSatisfy { $0.labels["steps"] == "false" && $0.value > 0 && $0.value < 1 })
    }

    /// The table's percent, JSON's share, CSV's column and the gauge are one figure, written at
    /// each format's precision.
    func testEveryFormatStatesTheSameShare() throws {
        for (logs, steps) in [(pair("q35-source.log", "q35-destination.log"), false),
                              (pair("guest-source.log", "guest-destination.log", series: true), true)] {
            let run = try XCTUnwrap(try runs(logs).last)
            let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(try render(logs) { JSONSink(pretty: false, out: $0) }.utf8)) as? [String: Any])
            let jsonRun = try XCTUnwrap((json["runs"] as? [[String: Any]])?.first)
            let csv = parseCSV(try render(logs) { CSVSink(out: $0) })
            let metrics = Sample.parse(try render(logs) { OpenMetricsSink(out: $0) })
            let table = try render(logs) { TableSink(width: 250, out: $0) }
            for side in [Side.source, .destination] {
                let report = try XCTUnwrap(side == .source ? run.source : run.destination)
                let share = try XCTUnwrap(report.named.share)
                let j = try XCTUnwrap(((jsonRun[side.rawValue] as? [String: Any])?["named"] as? [String: Any])?["share"] as? Double)
                let c = try XCTUnwrap(Double(try XCTUnwrap(csv.first { $0[1] == side.rawValue })[15]))
                let m = try XCTUnwrap(metrics.first { $0.name == "qemu_migration_downtime_named_ratio" && $0.labels["side"] == side.rawValue })
                XCTAssertTrue(abs(j - share) <= 0.00005 && abs(c - share) <= 0.00005 && abs(m.value - share) <= 0.0000005)
                XCTAssertEqual(m.labels["steps"], steps ? "true" : "false")
                let percent = String(format: "%.1f%%", share * 100)
                XCTAssertTrue(table.contains("named \(report.named.namedUS) µs of \(report.named.downtimeUS!) µs (\(percent))"),
                              "\(side) \(percent)")
            }
        }
    }
}
