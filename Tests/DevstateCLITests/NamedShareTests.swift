// SPDX-License-Identifier: MIT
@_spi(Testing) import DevstateTrace
import Foundation
import Testing

/// The named share on stock QEMU's traces (devices alone) and what it adds to each format, and
/// nothing else: a stock report is what it was, plus one line, field, column or gauge.
@Suite struct NamedShareTests {
    /// From a stock trace the share is the devices' alone: every save (iterable and
    /// non-iterable) or load of the run, over the downtime from the checkpoints' stamps.
    @Test(arguments: Fixtures.releases, ["q35", "pc"])
    func stockShareIsTheDevicesAlone(_ release: String, _ fixture: String) throws {
        let run = try #require(try report(source: "\(fixture)-source.log", destination: "\(fixture)-destination.log",
                                          release: release).runs.last)
        let saves = try Fixtures.deviceLines("\(fixture)-source.log", release: release)
        let loads = try Fixtures.deviceLines("\(fixture)-destination.log", release: release)
        let checkpoints = try Fixtures.checkpointLines("\(fixture)-source.log", release: release)
        // The run's saves: after the last src-downtime-start (pc's log holds two runs; the second
        // run's saves are the last ones, as many as the report's devices).
        let source = try #require(run.source), destination = try #require(run.destination)
        let runSaves = saves.suffix(source.devices.count)
        let start = try #require(checkpoints.last { $0.name == "src-downtime-start" }?.micros)
        let end = try #require(checkpoints.last { $0.name == "src-downtime-end" }?.micros)
        for (side, devices, downtime) in [(source, runSaves.reduce(0) { $0 + $1.downtime }, end - start),
                                          (destination, loads.reduce(0) { $0 + $1.downtime }, destination.totalUS!)] {
            let n = side.named
            #expect(!n.stepsKnown && n.stepsUS == 0 && side.steps.isEmpty)
            #expect(n.devicesUS == devices && n.downtimeUS == downtime)
            #expect(n.unnamedUS == downtime - Int64(devices))
            #expect(abs(n.share! - Double(devices) / Double(downtime)) < 1e-12)
            #expect(n.share! > 0 && n.share! < 1)
        }
    }

    /// Without stamps there is no downtime, so no share: the table says why, JSON has null, CSV
    /// an empty field and OpenMetrics no gauge.
    @Test(arguments: Fixtures.releases)
    func withoutStampsTheShareIsUnknown(_ release: String) throws {
        let log = Fixtures.path("pc-notimestamp-source.log", release: release)
        let table = try devstate(["report", "--width", "300", log])
        #expect(table.status == 0)
        #expect(table.out.contains(", devices alone; share of the downtime unknown (it needs the checkpoints and their -msg timestamp=on stamps): this trace has no vmstate_downtime_step lines"))
        let json = try devstate(["report", "--format", "json", log])
        let side = try #require(((try JSONSerialization.jsonObject(with: Data(json.out.utf8)) as? [String: Any])?["runs"] as? [[String: Any]])?.first?["source"] as? [String: Any])
        let named = try #require(side["named"] as? [String: Any])
        #expect(named["share"] is NSNull && named["unnamed-us"] is NSNull && (named["devices-us"] as? Int ?? 0) > 0)
        let csv = parseCSV(try devstate(["report", "--format", "csv", log]).out)
        #expect(csv.dropFirst().allSatisfy { $0.count == 16 && $0[15] == "" })
        let metrics = try Sample.parse(try devstate(["report", "--format", "openmetrics", log]).out)
        #expect(!metrics.contains { $0.name == "qemu_migration_downtime_named_ratio" })
    }

    /// A stock report in each format holds exactly what it held before, plus the share.
    @Test(arguments: Fixtures.releases)
    func stockOutputsGainOnlyTheShare(_ release: String) throws {
        let logs = [Fixtures.path("q35-source.log", release: release), Fixtures.path("q35-destination.log", release: release)]
        // Table: one "named" line per side, right under each side's phases, with the hint.
        let table = try devstate(["report", "--width", "250"] + logs)
        let lines = table.out.split(separator: "\n", omittingEmptySubsequences: false)
        let named = lines.indices.filter { lines[$0].hasPrefix("  named ") }
        #expect(named.count == 2)
        #expect(named.allSatisfy { lines[$0 - 1].hasPrefix("  downtime ") || lines[$0 - 1].hasPrefix("  total ") })
        #expect(named.allSatisfy { lines[$0].hasSuffix("this trace has no vmstate_downtime_step lines; our QEMU series (Patches/) names the handlers and steps of the rest") })
        #expect(!table.out.contains("handlers and steps by phase"))
        // JSON: a side's members (indented 8 in the pretty form) are the documented ones,
        // `named` after `downtime-us`.
        let json = try devstate(["report", "--format", "json", "--pretty"] + logs)
        let keys = json.out.split(separator: "\n").filter { $0.hasPrefix("        \"") }.map {
            String($0.dropFirst(9).prefix { $0 != "\"" })
        }
        let side = ["log", "from", "index-in-log", "lines", "device-state-times", "recorder", "downtime-us", "named",
                    "phases", "checkpoints", "devices", "no-vmsd", "by-type", "share-basis", "notes"]
        #expect(keys == side + side)
        // CSV: the header gained named_share, last; no step rows.
        let csv = parseCSV(try devstate(["report", "--format", "csv"] + logs).out)
        #expect(csv[0].joined(separator: ",") == "run,side,record,name,instance_id,type,section,time_us,share,in_device_state_times,vmsd,from,to,offset_us,line,named_share")
        #expect(Set(csv.dropFirst().map { $0[2] }) == ["device", "phase", "checkpoint", "type"])
        // OpenMetrics: the families of before and the share, with steps="false".
        let samples = try Sample.parse(try devstate(["report", "--format", "openmetrics"] + logs).out)
        #expect(Set(samples.map(\.name)) == ["qemu_migration_downtime_seconds", "qemu_migration_downtime_phase_seconds",
                                             "qemu_migration_device_time_seconds", "qemu_migration_devices",
                                             "qemu_migration_last_completed_timestamp_seconds",
                                             "qemu_migration_devstate_info", "qemu_migration_downtime_named_ratio"])
        let ratios = samples.filter { $0.name == "qemu_migration_downtime_named_ratio" }
        #expect(ratios.map { $0.labels["side"] } == ["source", "destination"])
        #expect(ratios.allSatisfy { $0.labels["steps"] == "false" && $0.value > 0 && $0.value < 1 })
    }

    /// `--summary` states the share too, the full report's figure: each line's in JSON and CSV
    /// (null and empty without stamps), and in the table, whose lines are full, a closing line
    /// per side over all runs.
    @Test(arguments: Fixtures.releases, ["pc", "pc-notimestamp"])
    func summaryStatesTheShares(_ release: String, _ fixture: String) throws {
        let logs = [Fixtures.path("\(fixture)-source.log", release: release), Fixtures.path("\(fixture)-destination.log", release: release)]
        let runs = try report(source: "\(fixture)-source.log", destination: "\(fixture)-destination.log", release: release).runs
        let sides = runs.flatMap { [$0.source, $0.destination].compactMap { $0 } }
        let json = try #require(try JSONSerialization.jsonObject(with: Data(try devstate(["report", "--summary", "--format", "json"] + logs).out.utf8)) as? [String: Any])
        let lines = try #require(json["runs"] as? [[String: Any]])
        let csv = parseCSV(try devstate(["report", "--summary", "--format", "csv"] + logs).out)
        #expect(lines.count == sides.count && csv.count == sides.count + 1 && csv[0].last == "named_share")
        for (k, side) in sides.enumerated() {
            if let share = side.named.share {
                #expect(abs((lines[k]["named-share"] as! Double) - share) <= 0.00005)
                #expect(abs(Double(csv[k + 1][12])! - share) <= 0.00005)
            } else {
                #expect(lines[k]["named-share"] is NSNull && csv[k + 1][12] == "")
            }
        }
        let table = flat(try devstate(["report", "--summary", "--width", "200"] + logs).out)
        let source = sides.filter { $0.side == .source }.compactMap(\.named.share).sorted()
        if source.isEmpty {
            #expect(table.contains("Named share of the downtime (devices, handlers and steps): source unknown (it needs the checkpoints and their -msg timestamp=on stamps)"))
        } else {
            let expected = "source over \(source.count) runs min \(String(format: "%.1f%%", source.first! * 100)), "
                + "median \(String(format: "%.1f%%", source[source.count / 2] * 100)), max \(String(format: "%.1f%%", source.last! * 100)) (devices alone)"
            #expect(table.contains(expected), "\(expected)")
        }
        #expect(table.contains("our QEMU series (Patches/) names the handlers and steps of the rest"))
        #expect(source.isEmpty == (fixture == "pc-notimestamp"))
    }

    /// The shares agree across formats: the table's percent, JSON's share, CSV's column and the
    /// gauge are one figure, written at each format's precision.
    @Test(arguments: [("qemu", "q35"), ("series", "guest")])
    func everyFormatStatesTheSameShare(_ kind: String, _ name: String) throws {
        let logs = kind == "qemu"
            ? [Fixtures.path("\(name)-source.log"), Fixtures.path("\(name)-destination.log")]
            : [SeriesFixtures.path("guest-source.log", release: "10.0"), SeriesFixtures.path("guest-destination.log", release: "10.0")]
        let run = try SeriesFixtures.traceRun(release: "10.0", source: logs[0], destination: logs[1])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(try devstate(["report", "--format", "json"] + logs).out.utf8)) as? [String: Any])
        let jsonRun = try #require((json["runs"] as? [[String: Any]])?.first)
        let csv = parseCSV(try devstate(["report", "--format", "csv"] + logs).out)
        let metrics = try Sample.parse(try devstate(["report", "--format", "openmetrics"] + logs).out)
        let table = try devstate(["report", "--width", "250"] + logs).out
        for side in [Side.source, .destination] {
            let share = try #require(run[side]?.named.share)
            let j = try #require(((jsonRun[side.rawValue] as? [String: Any])?["named"] as? [String: Any])?["share"] as? Double)
            let row = try #require(csv.first { $0[1] == side.rawValue })
            let c = try #require(Double(row[15]))
            let m = try #require(metrics.first { $0.name == "qemu_migration_downtime_named_ratio" && $0.labels["side"] == side.rawValue })
            #expect(abs(j - share) <= 0.00005 && abs(c - share) <= 0.00005 && abs(m.value - share) <= 0.0000005)
            #expect(m.labels["steps"] == (kind == "series" ? "true" : "false"))
            let percent = String(format: "%.1f%%", share * 100)
            #expect(table.contains("of \(run[side]!.named.downtimeUS!) µs (\(percent))"), "\(side) \(percent)")
        }
    }
}
