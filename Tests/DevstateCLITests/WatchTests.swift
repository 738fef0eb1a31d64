// SPDX-License-Identifier: MIT
import DevstateAnalysis
import DevstateIngest
import DevstateModel
import DevstateQMP
import DevstateRender
import Foundation
import Testing

/// `devstate watch` against a fake QMP server that plays a migration: statuses in turn, a
/// MIGRATION event, then a hang-up (QEMU went away). Real QEMUs: Tests/e2e/test_prometheus.py.
@Suite(.serialized) struct WatchTests {
    let source = try! QMPFixtures.inner("q35-source.json")
    let active = #"{"status": "active"}"#

    func textfileDir() throws -> String {
        let dir = NSTemporaryDirectory() + "devstate-watch-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    func files(_ dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
    }

    @Test func pollsWhenEventsAreOffWritesOnceAndExitsWhenQEMUGoesAway() throws {
        let fake = try FakeQMP(replies: [active, active, source], schema: fakeSchema(series020), name: "web-1",
                               closeAfter: 5)
        let dir = try textfileDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try devstate(["watch", "--qmp", fake.path, "--textfile", dir, "--poll", "0.05", "--max-devices", "1000"])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.err.contains("MIGRATION events off"))
        #expect(r.err.contains("QEMU went away (QMP connection closed) after 1 migration written"))
        // Written once although query-migrate said completed three times.
        #expect(r.err.components(separatedBy: "completed (source, per-device times): wrote").count == 2)
        #expect(files(dir) == ["devstate-web-1.prom"], "no temporary file is left")
        let text = try String(contentsOfFile: dir + "/devstate-web-1.prom", encoding: .utf8)
        let samples = try Sample.parse(text)
        // The same series as `report --qmp` of the same reply (its own code path: a saved reply).
        let saved = try devstate(["report", "--qmp", "--format", "openmetrics", "--max-devices", "1000", "--vm", "web-1",
                                  QMPFixtures.path("q35-source.json")])
        // But for the time of completion, and the info: a saved reply names no QEMU version.
        let differ: Set = ["qemu_migration_last_completed_timestamp_seconds", "qemu_migration_devstate_info"]
        #expect(samples.filter { !differ.contains($0.name) } == (try Sample.parse(saved.out)).filter { !differ.contains($0.name) })
        #expect(samples.first { $0.name == "qemu_migration_devstate_info" }?.labels["qemu_version"] == "10.0.2")
        #expect(samples.contains { $0.name == "qemu_migration_device_time_seconds" && $0.labels["device"] == "0000:00:03.0/e1000e" && $0.micros == 1829 })
        #expect(fake.commands.allSatisfy(QMPClient.readOnlyCommands.contains), "\(fake.commands)")
        #expect(Set(fake.commands) == ["qmp_capabilities", "query-qmp-schema", "query-name",
                                       "query-migrate-capabilities", "query-migrate"])
    }

    @Test func followsMigrationEventsAndStampsTheEventsTime() throws {
        let event = #"{"timestamp": {"seconds": 1790000000, "microseconds": 123456}, "event": "MIGRATION", "data": {"status": "completed"}}"#
        let destination = try QMPFixtures.inner("q35-destination.json")
        let fake = try FakeQMP(replies: [active, destination], schema: fakeSchema(series020), events: true,
                               eventAfter: (1, event), closeAfter: 2)
        let dir = try textfileDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try devstate(["watch", "--qmp", fake.path, "--textfile", dir, "--vm", "db/2"])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.err.contains("MIGRATION events on"))
        #expect(r.err.contains("completed (destination, per-device times)"))
        #expect(files(dir) == ["devstate-db_2.prom"])
        let samples = try Sample.parse(try String(contentsOfFile: dir + "/devstate-db_2.prom", encoding: .utf8))
        let stamp = samples.first { $0.name == "qemu_migration_last_completed_timestamp_seconds" }
        #expect(stamp?.labels == ["vm": "db/2", "side": "destination"])
        #expect(stamp.map { abs($0.value - 1790000000.123456) < 1e-6 } == true)
        #expect(samples.contains { $0.labels["op"] == "load" } && !samples.contains { $0.labels["op"] == "save" })
        // Two query-migrate in all: the first status, then after the event. No polling.
        #expect(fake.commands.filter { $0 == "query-migrate" }.count == 2)
    }

    @Test func onceWithABudgetExitsSevenAndNamesTheDevices() throws {
        let fake = try FakeQMP(replies: [source], schema: fakeSchema(series020))
        let dir = try textfileDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try devstate(["watch", "--qmp", fake.path, "--textfile", dir, "--once", "--budget", "1ms"])
        #expect(r.status == 7, "\(r.err)")
        #expect(flat(r.err).contains("downtime 6.378 ms (source) is 5.378 ms over"))
        #expect(flat(r.err).contains("save of 0000:00:03.0/e1000e#0 1.829 ms (source, one device) is 829 µs over"))
        #expect(files(dir).count == 1, "the file is written over budget too")
        let within = try FakeQMP(replies: [source], schema: fakeSchema(series020))
        #expect(try devstate(["watch", "--qmp", within.path, "--textfile", dir, "--once", "--budget", "1s"]).status == 0)
    }

    @Test func onceWithoutACompletedMigrationIsExitFive() throws {
        let fake = try FakeQMP(replies: [active], schema: fakeSchema(series020), closeAfter: 3)
        let dir = try textfileDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try devstate(["watch", "--qmp", fake.path, "--textfile", dir, "--once", "--poll", "0.05"])
        #expect(r.status == 5, "\(r.err)")
        #expect(r.err.contains("went away") && files(dir).isEmpty)
    }

    @Test func stockQEMUGetsItsOwnDowntime() throws {
        let stock = #"{"status": "completed", "downtime": 12, "setup-time": 3, "total-time": 456, "ram": {"total": 1}}"#
        let fake = try FakeQMP(replies: [stock], schema: fakeSchema([]))
        let dir = try textfileDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try devstate(["watch", "--qmp", fake.path, "--textfile", dir, "--once"])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.err.contains("does not have our device-state-times series"))
        let file = try #require(files(dir).first)
        let samples = try Sample.parse(try String(contentsOfFile: dir + "/" + file, encoding: .utf8))
        let values = Dictionary(uniqueKeysWithValues: samples.map { ($0.name, $0.micros) })
        #expect(values["qemu_migration_downtime_seconds"] == 12_000)
        #expect(values["qemu_migration_setup_seconds"] == 3_000)
        #expect(values["qemu_migration_duration_seconds"] == 456_000)
        #expect(values["qemu_migration_device_time_seconds"] == nil)
        #expect(samples.first { $0.name == "qemu_migration_devstate_info" }?.labels["series"] == "none")
    }

    @Test func badTextfileDirectoryAndSocketAreRefused() throws {
        let dir = try textfileDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let missing = try devstate(["watch", "--qmp", "/nonexistent.qmp", "--textfile", dir + "/nope"])
        #expect(missing.status == 64 && missing.err.contains("not a directory"))
        let noSocket = try devstate(["watch", "--qmp", dir + "/nonexistent.qmp", "--textfile", dir])
        #expect(noSocket.status == 1 && noSocket.err.contains("cannot connect"))
        #expect(try devstate(["watch", "--qmp", "x", "--textfile", dir, "--poll", "0"]).status == 64)
    }
}
