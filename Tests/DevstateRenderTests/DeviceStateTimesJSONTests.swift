// SPDX-License-Identifier: MIT
import DeviceStateTimes
import DevstateModel
import DevstateRender
import Testing

/// The report writes `device-state-times` from its rows; the recorder's own json-c writer is
/// what QEMU returns. Both must give the same bytes for the same entries.
@Suite struct DeviceStateTimesJSONTests {
    let temporary = TemporaryLogs()

    /// The recorder's JSON for the rows a side says it kept, fed in their order.
    func recorderJSON(_ side: SideReport) throws -> String {
        let recorder = Recorder()
        recorder.beginRun()
        for row in side.devices where row.inDeviceStateTimes {
            let outcome = try recorder.record(nameBytes: row.device.idstr, instanceID: row.device.instanceID,
                                              saveTime: row.device.timeUS, kind: row.hasVMSD ? .vmsd : .handler)
            #expect(outcome == .kept)
        }
        try recorder.endRun()
        return try recorder.snapshot().json()
    }

    @Test func fixturesEqualTheRecordersJSON() throws {
        for release in Fixtures.releases {
            for fixture in ["pc", "q35", "pc-notimestamp"] {
                let sides = try runs(pair("\(fixture)-source.log", "\(fixture)-destination.log", release: release))
                    .flatMap { [$0.source, $0.destination].compactMap { $0 } }
                #expect(sides.count >= 2)
                for side in sides {
                    #expect(try side.deviceStateTimesJSON == recorderJSON(side))
                    #expect(side.deviceStateTimesJSON.count > 100, "a real run keeps devices")
                }
            }
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
        let side = try #require(try runs(pair(try temporary.log(log), nil)).first?.source)
        #expect(side.devices.filter(\.inDeviceStateTimes).count > names.count / 2)
        let json = side.deviceStateTimesJSON
        #expect(try json == recorderJSON(side))
        for expected in [#""we\"ird,name""#, #""back\\slash""#, #""c\u0001x""#, #""c\bx""#, #""c\tx""#, #""c\fx""#, #""a/b/""#,
                         "\"d\u{7f}\""] {
            #expect(json.contains(expected), "\(expected) missing from \(json)")
        }
    }

    /// A handler entry (no vmsd, recorded on opt-in) is marked as QEMU marks it.
    @Test func handlerEntriesEqualTheRecordersJSON() throws {
        var log = SideLog(side: .source, file: "s", index: 1, startedAtCheckpoint: true)
        log.reply = QueryMigrateFacts(endpoint: "s", role: .source, series: .v030, seriesFrom: .members, outcome: .complete,
                                      rendered: true)
        let rows = [DeviceRow(device: DeviceTime(name: "timer", instanceID: 0, section: .nonIterable, timeUS: 15),
                              share: nil, hasVMSD: true, inDeviceStateTimes: true),
                    DeviceRow(device: DeviceTime(name: "ram", instanceID: 0, section: .iterable, timeUS: 900),
                              share: nil, hasVMSD: false, inDeviceStateTimes: false),
                    DeviceRow(device: DeviceTime(name: "slirp", instanceID: 0, section: .nonIterable, timeUS: 19, handler: true),
                              share: nil, hasVMSD: false, inDeviceStateTimes: true)]
        let side = SideReport(log: log, devices: rows, phases: [], checkpoints: [], types: [], recorder: RecorderInfo(),
                              originUS: nil, totalUS: nil, shareBasis: ShareBases(iterable: .sum, nonIterable: .sum),
                              notes: [], steps: [], named: NamedTime(downtimeUS: nil, devicesUS: 934, stepsUS: 0, stepsKnown: false))
        #expect(side.deviceStateTimesJSON ==
                #"[{"name":"timer","instance-id":0,"save-time":15},{"name":"slirp","instance-id":0,"save-time":19,"handler":true}]"#)
        #expect(try side.deviceStateTimesJSON == recorderJSON(side))
    }
}
