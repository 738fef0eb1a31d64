// SPDX-License-Identifier: MIT
import DeviceStateTimes
import DevstateTrace
import Foundation
import Testing

/// The report writes `device-state-times` itself (the fast path); the recorder's own json-c
/// writer is what QEMU returns (the slow path). Both must give the same bytes for the same
/// entries: every fixture, query-migrate replies with handler entries, and names with every
/// character JSON escapes.
@Suite struct DeviceStateTimesJSONTests {
    /// The recorder's JSON for the rows a side says it kept, fed in their order.
    func recorderJSON(_ side: SideReport) throws -> String {
        let recorder = Recorder()
        recorder.beginRun()
        for row in side.devices where row.inDeviceStateTimes {
            let outcome = try recorder.record(nameBytes: side.idstr(row), instanceID: row.device.instanceID,
                                              saveTime: row.device.timeUS, kind: row.hasVMSD ? .vmsd : .handler)
            #expect(outcome == .kept)
        }
        try recorder.endRun()
        return try recorder.snapshot().json()
    }

    func sides(_ sink: CollectingSink) -> [SideReport] {
        sink.runs.flatMap { [$0.source, $0.destination].compactMap { $0 } }
    }

    @Test(arguments: Fixtures.releases, ["pc", "q35", "pc-notimestamp"])
    func fixturesEqualTheRecordersJSON(_ release: String, _ fixture: String) throws {
        let sink = try report(source: "\(fixture)-source.log", destination: "\(fixture)-destination.log",
                              release: release)
        let all = sides(sink)
        #expect(all.count >= 2)
        for side in all {
            #expect(side.deviceStateTimesJSON == (try recorderJSON(side)))
            #expect(side.deviceStateTimesJSON.count > 100, "a real run keeps devices")
        }
    }

    @Test func escapedNamesEqualTheRecordersJSON() throws {
        // Control characters (but line ends, which end a trace line), quote, backslash, slash,
        // DEL, valid and invalid UTF-8.
        var names: [[UInt8]] = (0x01..<0x20).filter { $0 != 0x0A && $0 != 0x0D }.map { [0x63, UInt8($0), 0x78] }
        names += [Array(#"we"ird,name"#.utf8), Array(#"back\slash"#.utf8), Array("a/b/".utf8), [0x64, 0x7f],
                  Array("café".utf8), [0x62, 0xff, 0xfe, 0x61], [0xe2, 0x82], Array("0000:00:03.0/e1000e".utf8)]
        var log = Array("1@1795769731.000001:vmstate_downtime_checkpoint src-downtime-start\n".utf8)
        for (i, name) in names.enumerated() {
            log += Array("1@1795769731.\(100_000 + i):vmstate_downtime_save type=non-iterable idstr=".utf8)
            log += name
            log += Array(" instance_id=\(i) downtime=\(i + 1)\n".utf8)
        }
        log += Array("1@1795769731.999999:vmstate_downtime_checkpoint src-downtime-end\n".utf8)
        let path = NSTemporaryDirectory() + "devstate-dst-json-\(UUID().uuidString).log"
        _ = FileManager.default.createFile(atPath: path, contents: Data(log))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let sink = CollectingSink()
        _ = try ReportPipeline().run(groups: [ReportGroup(source: ReportInput(path: path, role: .source),
                                                          destination: nil)], sink: sink)
        let side = try #require(sink.runs.first?.source)
        let kept = side.devices.filter(\.inDeviceStateTimes)
        #expect(kept.count > names.count / 2, "only \(kept.count) of \(names.count) names kept")
        let json = side.deviceStateTimesJSON
        #expect(json == (try recorderJSON(side)))
        for expected in [#""we\"ird,name""#, #""back\\slash""#, #""c\u0001x""#, #""c\bx""#, #""c\tx""#, #""c\fx""#, #""a/b/""#] {
            #expect(json.contains(expected), "\(expected) missing from \(json)")
        }
    }

    @Test func handlerEntriesFromQueryMigrateEqualTheRecordersJSON() throws {
        let (sink, _) = qmpReport([try QMPFixtures.input("q35-source.json", .source),
                                   try QMPFixtures.input("q35-destination.json", .destination)])
        let all = sides(sink)
        #expect(all.count == 2)
        for side in all { #expect(side.deviceStateTimesJSON == (try recorderJSON(side))) }
        let reply = try MigrateReply(try JSONSerialization.jsonObject(with: Data("""
            {"return": {"status": "completed",
             "device-state-times": [{"name": "timer", "instance-id": 0, "save-time": 15},
                                    {"name": "slirp", "instance-id": 0, "save-time": 19, "handler": true}]}}
            """.utf8)))
        let (handler, _) = qmpReport([QueryMigrateInput(endpoint: "s", role: .source, reply: reply)])
        let source = try #require(handler.runs.first?.source)
        #expect(source.deviceStateTimesJSON.contains(#""handler":true"#))
        #expect(source.deviceStateTimesJSON == (try recorderJSON(source)))
    }
}
