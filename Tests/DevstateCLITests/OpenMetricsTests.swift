// SPDX-License-Identifier: MIT
import Foundation
import Testing

/// One sample of OpenMetrics text, read by a parser of the tests' own (no code shared with the CLI).
struct Sample: Equatable {
    var name: String
    var labels: [String: String]
    var value: Double

    /// The value as whole µs.
    var micros: UInt64 { UInt64((value * 1e6).rounded()) }

    static func parse(_ text: String) throws -> [Sample] {
        var samples: [Sample] = []
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let open = try #require(line.firstIndex(of: "{"), "no labels: \(line)")
            let name = String(line[..<open])
            var labels: [String: String] = [:]
            var i = line.index(after: open)
            while line[i] != "}" {
                let eq = try #require(line[i...].firstIndex(of: "="))
                let key = String(line[i..<eq])
                i = line.index(eq, offsetBy: 2)  // past ="
                var value = ""
                while line[i] != "\"" {
                    if line[i] == "\\" {
                        i = line.index(after: i)
                        value.append(line[i] == "n" ? "\n" : line[i])
                    } else {
                        value.append(line[i])
                    }
                    i = line.index(after: i)
                }
                labels[key] = value
                i = line.index(after: i)
                if line[i] == "," { i = line.index(after: i) }
            }
            let value = try #require(Double(line[line.index(i, offsetBy: 2)...]), "value of \(line)")
            samples.append(Sample(name: name, labels: labels, value: value))
        }
        return samples
    }
}

@Suite(.serialized) struct OpenMetricsTests {
    func metrics(_ arguments: [String]) throws -> (samples: [Sample], text: String, err: String, status: Int32) {
        let r = try devstate(["report", "--format", "openmetrics"] + arguments)
        return (try Sample.parse(r.out), r.out, r.err, r.status)
    }

    /// Each device line's time above 0 µs, summed per (idstr, instance, type), from the fixture itself.
    func traced(_ log: String, release: String) throws -> [String: UInt64] {
        var sums: [String: UInt64] = [:]
        for l in try Fixtures.deviceLines(log, release: release) where l.downtime > 0 {
            sums["\(l.idstr)#\(l.instance)#\(l.type)", default: 0] += l.downtime
        }
        return sums
    }

    func exported(_ samples: [Sample], side: String) -> [String: UInt64] {
        var got: [String: UInt64] = [:]
        for s in samples where s.name == "qemu_migration_device_time_seconds" && s.labels["side"] == side {
            got["\(s.labels["device"]!)#\(s.labels["instance_id"] ?? "")#\(s.labels["section"]!)"] = s.micros
        }
        return got
    }

    @Test(arguments: Fixtures.releases)
    func deviceTimesAreTheTraceLines(release: String) throws {
        let m = try metrics([Fixtures.path("q35-source.log", release: release),
                             Fixtures.path("q35-destination.log", release: release), "--max-devices", "1000"])
        #expect(m.status == 0, "\(m.err)")
        #expect(m.text.hasSuffix("# EOF\n"))
        #expect(exported(m.samples, side: "source") == (try traced("q35-source.log", release: release)))
        #expect(exported(m.samples, side: "destination") == (try traced("q35-destination.log", release: release)))
        let ops = Set(m.samples.filter { $0.name == "qemu_migration_device_time_seconds" }.map { "\($0.labels["side"]!) \($0.labels["op"]!)" })
        #expect(ops == ["source save", "destination load"])
        // The downtime from the checkpoints' own stamps.
        let checkpoints = try Fixtures.checkpointLines("q35-source.log", release: release)
        let start = try #require(checkpoints.first { $0.name == "src-downtime-start" }?.micros)
        let end = try #require(checkpoints.last { $0.name == "src-downtime-end" }?.micros)
        let downtime = try #require(m.samples.first { $0.name == "qemu_migration_downtime_seconds" })
        #expect(downtime.micros == UInt64(end - start) && downtime.labels == ["vm": "q35"])
        let stamp = try #require(m.samples.first { $0.name == "qemu_migration_last_completed_timestamp_seconds" && $0.labels["side"] == "source" })
        #expect(Int64(stamp.value.rounded()) == (end + 500_000) / 1_000_000)
        // Phases add up to the downtime on the source.
        let phases = m.samples.filter { $0.name == "qemu_migration_downtime_phase_seconds" && $0.labels["side"] == "source" }
        #expect(phases.map(\.micros).reduce(0, +) == downtime.micros)
        #expect(Set(phases.map { $0.labels["phase"]! }) == ["stop", "iterable", "non-iterable", "end"])
        // One line per series.
        let keys = m.samples.map { "\($0.name)\($0.labels.sorted { $0.key < $1.key })" }
        #expect(Set(keys).count == keys.count)
    }

    @Test func maxDevicesFoldsTheRestIntoOther() throws {
        let all = try metrics([Fixtures.path("q35-source.log"), "--max-devices", "1000"])
        let few = try metrics([Fixtures.path("q35-source.log"), "--max-devices", "3"])
        let full = exported(all.samples, side: "source")
        let folded = few.samples.filter { $0.name == "qemu_migration_device_time_seconds" }
        let own = folded.filter { $0.labels["device"] != "other" }
        #expect(own.count == 3)
        // The three longest keep their series; per section, other is the sum of the rest.
        let longest = full.sorted { $0.value > $1.value }.prefix(3).map(\.key)
        #expect(Set(own.map { "\($0.labels["device"]!)#\($0.labels["instance_id"]!)#\($0.labels["section"]!)" }) == Set(longest))
        for section in ["iterable", "non-iterable"] {
            let rest = full.filter { $0.key.hasSuffix("#" + section) && !longest.contains($0.key) }.values.reduce(0, +)
            let other = folded.first { $0.labels["device"] == "other" && $0.labels["section"] == section }
            #expect(other?.micros ?? 0 == rest, "\(section)")
            #expect(other == nil || other!.labels["instance_id"] == nil)
        }
        let count = try #require(few.samples.first { $0.name == "qemu_migration_devices" })
        #expect(Int(count.value) == full.count)
    }

    @Test func lastRunPerVMAndItsName() throws {
        // pc's source log holds two migrations: the last is exported, and a note says so.
        let m = try metrics(["--fixture", "pc"])
        #expect(m.status == 0)
        #expect(m.err.contains("vm pc held 2 migrations; exported the last (run 2)"))
        #expect(Set(m.samples.map { $0.labels["vm"] }) == ["pc"])
        let first = try metrics(["--fixture", "pc", "--run", "1"])
        #expect(first.samples.filter { $0.labels["side"] == "destination" }.isEmpty)
        #expect(first.samples.contains { $0.name == "qemu_migration_downtime_seconds" })
        // The default fixtures are two VMs.
        let both = try metrics([])
        #expect(Set(both.samples.compactMap { $0.labels["vm"] }) == ["pc", "q35"])
        // --vm names it; with the two default fixtures it is refused.
        let named = try metrics(["--fixture", "q35", "--vm", "web-1"])
        #expect(Set(named.samples.compactMap { $0.labels["vm"] }) == ["web-1"])
        #expect(try devstate(["report", "--format", "openmetrics", "--vm", "x"]).status == 64)
        #expect(try devstate(["report", "--format", "openmetrics", "--summary"]).status == 64)
        // A log's name gives the VM: web1-source.log → web1.
        let dir = NSTemporaryDirectory() + "devstate-om-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.copyItem(atPath: Fixtures.path("q35-source.log"), toPath: dir + "/web1-source.log")
        let byFile = try metrics([dir + "/web1-source.log"])
        #expect(Set(byFile.samples.compactMap { $0.labels["vm"] }) == ["web1"])
    }

    @Test func labelValuesAreEscapedAndUTF8() throws {
        let path = NSTemporaryDirectory() + "devstate-om-\(UUID().uuidString).log"
        var log = Data("1@1700000000.000100:vmstate_downtime_checkpoint src-downtime-start\n".utf8)
        log += Data("1@1700000000.000200:vmstate_downtime_save type=non-iterable idstr=we\"ird\\dev,x instance_id=0 downtime=42\n".utf8)
        log += Data("1@1700000000.000300:vmstate_downtime_save type=non-iterable idstr=bad".utf8) + Data([0xff, 0xfe])
            + Data(" instance_id=1 downtime=7\n".utf8)
        // Other invalid bytes read as the same name: one series, the times added.
        log += Data("1@1700000000.000350:vmstate_downtime_save type=non-iterable idstr=bad".utf8) + Data([0xfd, 0xfc])
            + Data(" instance_id=1 downtime=5\n".utf8)
        log += Data("1@1700000000.000400:vmstate_downtime_checkpoint src-downtime-end\n".utf8)
        try log.write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try devstate(["report", "--format", "openmetrics", path])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains(#"device="we\"ird\\dev,x""#))
        let samples = try Sample.parse(r.out)
        let devices = samples.filter { $0.name == "qemu_migration_device_time_seconds" }
        #expect(Set(devices.map { $0.labels["device"]! }) == ["we\"ird\\dev,x", "bad\u{FFFD}\u{FFFD}"])
        #expect(devices.first { $0.labels["instance_id"] == "0" }?.micros == 42)
        #expect(devices.first { $0.labels["instance_id"] == "1" }?.micros == 12)
        #expect(samples.first { $0.name == "qemu_migration_downtime_seconds" }?.micros == 300)
    }

    @Test func savedRepliesAsMetrics() throws {
        let qmp = Fixtures.root + "/qmp/"
        let r = try devstate(["report", "--qmp", "--format", "openmetrics", qmp + "q35-source.json", qmp + "q35-destination.json"])
        #expect(r.status == 0, "\(r.err)")
        let samples = try Sample.parse(r.out)
        #expect(Set(samples.compactMap { $0.labels["vm"] }) == ["q35"])
        let info = samples.filter { $0.name == "qemu_migration_devstate_info" }
        #expect(Set(info.map { "\($0.labels["side"]!) \($0.labels["input"]!) \($0.labels["series"]!)" })
                == ["source query-migrate 0.2.0", "destination query-migrate 0.2.0"])
        // The reply's own entries, by an independent reading of the JSON.
        let reply = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: qmp + "q35-destination.json"))) as! [String: Any]
        let body = (reply["return"] as? [String: Any]) ?? reply
        var want: [String: UInt64] = [:]
        for e in body["device-load-times"] as! [[String: Any]] where (e["load-time"] as! NSNumber).uint64Value > 0 {
            let section = (e["iterable"] as? Bool ?? false) ? "iterable" : "non-iterable"
            want["\(e["name"]!)#\(e["instance-id"]!)#\(section)", default: 0] += (e["load-time"] as! NSNumber).uint64Value
        }
        let got = exported(samples, side: "destination")
        #expect(got.filter { !$0.key.hasPrefix("other#") } == want.filter { got[$0.key] != nil })
        #expect(got.values.reduce(0, +) == want.values.reduce(0, +))
    }
}
