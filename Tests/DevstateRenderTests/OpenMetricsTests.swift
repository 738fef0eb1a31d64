// SPDX-License-Identifier: MIT
import DevstateModel
import DevstateRender
import Foundation
import Testing

/// `--format openmetrics`: each VM's last migration, read back by the tests' own parser.
@Suite struct OpenMetricsTests {
    let temporary = TemporaryLogs()

    func metrics(_ groups: [ReportGroup], maxDevices: Int = 1000, vm: String = "q35") throws -> (samples: [Sample], text: String, notes: [String]) {
        var text = ""
        let sink = OpenMetricsSink(out: .strings { text += $0 }, maxDevices: maxDevices, queryVM: vm)
        try feed(groups, to: sink)
        return (Sample.parse(text), text, sink.notes)
    }

    /// Each device line's time above 0 µs, summed per (idstr, instance, type), from the fixture itself.
    func traced(_ log: String, release: String) throws -> [String: UInt64] {
        var sums: [String: UInt64] = [:]
        for l in try Fixtures.deviceLines(log, release: release) where l.downtime > 0 {
            sums["\(l.idstr)#\(l.instance)", default: 0] += l.downtime
        }
        return sums
    }

    func exported(_ samples: [Sample], side: String) -> [String: UInt64] {
        var got: [String: UInt64] = [:]
        for s in samples where s.name == "qemu_migration_device_time_seconds" && s.labels["side"] == side {
            got["\(s.labels["device"]!)#\(s.labels["instance_id"] ?? "")", default: 0] += s.micros
        }
        return got
    }

    @Test func deviceTimesAreTheTraceLines() throws {
        for release in Fixtures.releases {
            let m = try metrics(pair("q35-source.log", "q35-destination.log", release: release))
            #expect(m.text.hasSuffix("# EOF\n"))
            #expect(try exported(m.samples, side: "source") == traced("q35-source.log", release: release))
            #expect(try exported(m.samples, side: "destination") == traced("q35-destination.log", release: release))
            let ops = Set(m.samples.filter { $0.name == "qemu_migration_device_time_seconds" }.map { "\($0.labels["side"]!) \($0.labels["op"]!)" })
            #expect(ops == ["source save", "destination load"])
            // The phases add up to the downtime on the source.
            let downtime = try #require(m.samples.first { $0.name == "qemu_migration_downtime_seconds" })
            #expect(downtime.labels == ["vm": "q35"])
            let phases = m.samples.filter { $0.name == "qemu_migration_downtime_phase_seconds" && $0.labels["side"] == "source" }
            #expect(phases.map(\.micros).reduce(0, +) == downtime.micros)
            #expect(Set(phases.map { $0.labels["phase"]! }) == ["stop", "iterable", "non-iterable", "end"])
            // One line per series; each family's TYPE, UNIT (seconds) and HELP before its samples.
            let keys = m.samples.map { "\($0.name)\($0.labels.sorted { $0.key < $1.key })" }
            #expect(Set(keys).count == keys.count)
            #expect(m.text.contains("# TYPE qemu_migration_device_time_seconds gauge\n# UNIT qemu_migration_device_time_seconds seconds\n# HELP qemu_migration_device_time_seconds "))
            #expect(!m.text.contains("# UNIT qemu_migration_devices "))
        }
    }

    @Test func maxDevicesFoldsTheRestIntoOther() throws {
        let full = exported(try metrics(pair("q35-source.log", nil)).samples, side: "source")
        let few = try metrics(pair("q35-source.log", nil), maxDevices: 3)
        let folded = few.samples.filter { $0.name == "qemu_migration_device_time_seconds" }
        let own = folded.filter { $0.labels["device"] != "other" }
        #expect(own.count == 3)
        let longest = full.sorted { $0.value > $1.value }.prefix(3).map(\.key)
        #expect(Set(own.map { "\($0.labels["device"]!)#\($0.labels["instance_id"]!)" }) == Set(longest))
        // Per section, other is the sum of the rest.
        let rest = full.filter { !longest.contains($0.key) }.values.reduce(0, +)
        let other = folded.filter { $0.labels["device"] == "other" }
        #expect(other.map(\.micros).reduce(0, +) == rest)
        #expect(other.allSatisfy { $0.labels["instance_id"] == nil })
        #expect(Set(other.map { $0.labels["section"]! }).count == other.count)
        let count = try #require(few.samples.first { $0.name == "qemu_migration_devices" })
        #expect(Int(count.value) == full.count)
    }

    /// pc's source log holds two migrations: the last is exported, and a note says so.
    @Test func lastRunPerVM() throws {
        let m = try metrics(pair("pc-source.log", "pc-destination.log"), vm: "pc")
        #expect(m.notes == ["openmetrics: vm pc held 2 migrations; exported the last (run 2); --run N exports another"])
        #expect(Set(m.samples.map { $0.labels["vm"] }) == ["pc"])
        #expect(m.samples.contains { $0.labels["side"] == "destination" })
        // Runs named apart are exported apart.
        var text = ""
        let sink = OpenMetricsSink(out: .strings { text += $0 }, vmName: { $0.index == 1 ? "a" : "b" })
        try feed(pair("pc-source.log", "pc-destination.log"), to: sink)
        #expect(Set(Sample.parse(text).compactMap { $0.labels["vm"] }) == ["a", "b"])
        #expect(sink.notes == [])
    }

    @Test func labelValuesAreEscapedAndUTF8() throws {
        var log = Array("1@1700000000.000100:vmstate_downtime_checkpoint src-downtime-start\n".utf8)
        log += Array("1@1700000000.000200:vmstate_downtime_save type=non-iterable idstr=we\"ird\\dev,x instance_id=0 downtime=42\n".utf8)
        log += Array("1@1700000000.000300:vmstate_downtime_save type=non-iterable idstr=bad".utf8) + [0xff, 0xfe]
            + Array(" instance_id=1 downtime=7\n".utf8)
        // Other invalid bytes read as the same name: one series, the times added.
        log += Array("1@1700000000.000350:vmstate_downtime_save type=non-iterable idstr=bad".utf8) + [0xfd, 0xfc]
            + Array(" instance_id=1 downtime=5\n".utf8)
        log += Array("1@1700000000.000400:vmstate_downtime_checkpoint src-downtime-end\n".utf8)
        let m = try metrics(pair(try temporary.log(log), nil))
        #expect(m.text.contains(#"device="we\"ird\\dev,x""#))
        let devices = m.samples.filter { $0.name == "qemu_migration_device_time_seconds" }
        #expect(Set(devices.map { $0.labels["device"]! }) == ["we\"ird\\dev,x", "bad\u{FFFD}\u{FFFD}"])
        #expect(devices.first { $0.labels["instance_id"] == "0" }?.micros == 42)
        #expect(devices.first { $0.labels["instance_id"] == "1" }?.micros == 12)
        #expect(m.samples.first { $0.name == "qemu_migration_downtime_seconds" }?.micros == 300)
    }

    /// A query-migrate input without a report side: what QEMU itself says, and when it completed.
    @Test func repliesWithoutASide() throws {
        var text = ""
        let sink = OpenMetricsSink(out: .strings { text += $0 }, queryVM: "vm1")
        sink.completedAtUS = [.source: 1_700_000_000_123_456]
        var input = InputSummary(path: "vm1.sock", role: "source")
        input.queryMigrate = QueryMigrateFacts(endpoint: "vm1.sock", role: .source, qemuVersion: "9.2.0", status: "completed",
                                               series: Series.none, seriesFrom: .schema, outcome: .noSeries, rendered: false,
                                               qemuTimes: QEMUTimes(downtimeMS: 12, setupTimeMS: 3, totalTimeMS: 1500))
        sink.begin()
        sink.end(inputs: [input])
        #expect(Sample.parse(text).map { "\($0.name) \($0.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }) \($0.value)" } == [
            "qemu_migration_downtime_seconds [\"vm=vm1\"] 0.012",
            "qemu_migration_setup_seconds [\"vm=vm1\"] 0.003",
            "qemu_migration_duration_seconds [\"vm=vm1\"] 1.5",
            "qemu_migration_last_completed_timestamp_seconds [\"side=source\", \"vm=vm1\"] 1700000000.123456",
            "qemu_migration_devstate_info [\"input=query-migrate\", \"qemu_version=9.2.0\", \"series=none\", \"side=source\", \"vm=vm1\"] 1.0",
        ])
        #expect(text.contains("qemu_migration_last_completed_timestamp_seconds{vm=\"vm1\",side=\"source\"} 1700000000.123456\n"))
    }
}
