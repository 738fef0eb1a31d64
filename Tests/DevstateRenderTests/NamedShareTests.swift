// SPDX-License-Identifier: MIT
import DevstateModel
import DevstateRender
import Foundation
import Testing

/// The named share (devices, handlers and steps over the downtime) in each format: a stock
/// report is what it was, plus one line, field, column or gauge.
@Suite struct NamedShareTests {
    /// Without stamps there is no downtime, so no share: the table says why, JSON has null, CSV
    /// an empty field and OpenMetrics no gauge.
    @Test func withoutStampsTheShareIsUnknown() throws {
        for release in Fixtures.releases {
            let log = pair("pc-notimestamp-source.log", nil, release: release)
            let table = try render(log) { TableSink(width: 300, out: $0) }
            #expect(table.contains(", devices alone; share of the downtime unknown (it needs the checkpoints and their -msg timestamp=on stamps): this trace has no vmstate_downtime_step lines"))
            let json = try #require(try JSONSerialization.jsonObject(with: Data(try render(log) { JSONSink(pretty: false, out: $0) }.utf8)) as? [String: Any])
            let side = try #require((json["runs"] as? [[String: Any]])?.first?["source"] as? [String: Any])
            let named = try #require(side["named"] as? [String: Any])
            #expect(named["share"] is NSNull && named["unnamed-us"] is NSNull && (named["devices-us"] as? Int ?? 0) > 0)
            let csv = parseCSV(try render(log) { CSVSink(out: $0) })
            #expect(csv.dropFirst().allSatisfy { $0.count == 16 && $0[15] == "" })
            let metrics = Sample.parse(try render(log) { OpenMetricsSink(out: $0) })
            #expect(!metrics.contains { $0.name == "qemu_migration_downtime_named_ratio" })
            #expect(metrics.contains { $0.name == "qemu_migration_device_time_seconds" })
        }
    }

    /// A stock report: one "named" line per side right under its phases, `named` after
    /// `downtime-us` in JSON, `named_share` last in CSV, the ratio gauge with steps="false".
    @Test func stockOutputsGainOnlyTheShare() throws {
        let logs = pair("q35-source.log", "q35-destination.log")
        let lines = try render(logs) { TableSink(width: 250, out: $0) }.split(separator: "\n", omittingEmptySubsequences: false)
        let named = lines.indices.filter { lines[$0].hasPrefix("  named ") }
        #expect(named.count == 2)
        #expect(named.allSatisfy { lines[$0 - 1].hasPrefix("  downtime ") || lines[$0 - 1].hasPrefix("  total ") })
        #expect(named.allSatisfy { lines[$0].hasSuffix("this trace has no vmstate_downtime_step lines; our QEMU series (Patches/) names the handlers and steps of the rest") })
        let json = try render(logs) { JSONSink(pretty: true, out: $0) }
        let keys = json.split(separator: "\n").filter { $0.hasPrefix("        \"") }.map { String($0.dropFirst(9).prefix { $0 != "\"" }) }
        let side = ["log", "from", "index-in-log", "lines", "device-state-times", "recorder", "downtime-us", "named",
                    "phases", "checkpoints", "devices", "no-vmsd", "by-type", "share-basis", "notes"]
        #expect(keys == side + side)
        let csv = parseCSV(try render(logs) { CSVSink(out: $0) })
        #expect(csv[0].last == "named_share")
        let samples = Sample.parse(try render(logs) { OpenMetricsSink(out: $0) })
        #expect(Set(samples.map(\.name)) == ["qemu_migration_downtime_seconds", "qemu_migration_downtime_phase_seconds",
                                             "qemu_migration_device_time_seconds", "qemu_migration_devices",
                                             "qemu_migration_last_completed_timestamp_seconds",
                                             "qemu_migration_devstate_info", "qemu_migration_downtime_named_ratio"])
        let ratios = samples.filter { $0.name == "qemu_migration_downtime_named_ratio" }
        #expect(ratios.map { $0.labels["side"] } == ["source", "destination"])
        #expect(ratios.allSatisfy { $0.labels["steps"] == "false" && $0.value > 0 && $0.value < 1 })
    }

    /// The table's percent, JSON's share, CSV's column and the gauge are one figure, written at
    /// each format's precision.
    @Test func everyFormatStatesTheSameShare() throws {
        for (logs, steps) in [(pair("q35-source.log", "q35-destination.log"), false),
                              (pair("guest-source.log", "guest-destination.log", series: true), true)] {
            let run = try #require(try runs(logs).last)
            let json = try #require(try JSONSerialization.jsonObject(with: Data(try render(logs) { JSONSink(pretty: false, out: $0) }.utf8)) as? [String: Any])
            let jsonRun = try #require((json["runs"] as? [[String: Any]])?.first)
            let csv = parseCSV(try render(logs) { CSVSink(out: $0) })
            let metrics = Sample.parse(try render(logs) { OpenMetricsSink(out: $0) })
            let table = try render(logs) { TableSink(width: 250, out: $0) }
            for side in [Side.source, .destination] {
                let report = try #require(side == .source ? run.source : run.destination)
                let share = try #require(report.named.share)
                let j = try #require(((jsonRun[side.rawValue] as? [String: Any])?["named"] as? [String: Any])?["share"] as? Double)
                let record = try #require(csv.first { $0[1] == side.rawValue })
                let c = try #require(Double(record[15]))
                let m = try #require(metrics.first { $0.name == "qemu_migration_downtime_named_ratio" && $0.labels["side"] == side.rawValue })
                #expect(abs(j - share) <= 0.00005 && abs(c - share) <= 0.00005 && abs(m.value - share) <= 0.0000005)
                #expect(m.labels["steps"] == (steps ? "true" : "false"))
                let percent = String(format: "%.1f%%", share * 100)
                #expect(table.contains("named \(report.named.namedUS) µs of \(report.named.downtimeUS!) µs (\(percent))"),
                        "\(side) \(percent)")
            }
        }
    }
}
