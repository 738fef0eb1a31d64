// SPDX-License-Identifier: MIT
@testable import DevstateQMP
import DevstateModel
import Foundation
import Testing

@Suite struct MigrateReplyTests {
    /// The saved replies hold what the trace logs they were written from say.
    @Test func repliesMatchTheTraceLogs() throws {
        let saves = try Fixtures.deviceLines("qemu-10.0/q35-source.log")
        let loads = try Fixtures.deviceLines("qemu-10.0/q35-destination.log")
        let source = try Fixtures.reply("qmp/q35-source.json")  // {"return": …}
        let destination = try Fixtures.reply("qmp/q35-destination.json")  // the object alone
        func key(_ d: DeviceTime) -> String { "\(d.name)#\(d.instanceID)=\(d.timeUS)" }
        let noVMSD: Set<String> = ["ram", "dirty-bitmap", "slirp"]
        let visible = { (lines: [(key: String, type: String)], type: String) in
            lines.filter { $0.type == type && !$0.key.hasSuffix("=0") && !noVMSD.contains(String($0.key.split(separator: "#")[0])) }
                .map(\.key)
        }
        #expect(source.deviceStateTimes?.map(key) == visible(saves, "non-iterable"))
        #expect(source.iterableStateTimes?.map(key) == saves.filter { $0.type == "iterable" && !$0.key.hasSuffix("=0") }.map(\.key))
        #expect(destination.deviceLoadTimes?.map(key) == loads.filter { !$0.key.hasSuffix("=0") }.map(\.key))
        #expect(destination.deviceLoadTimes?.map(\.section) ==
                loads.filter { !$0.key.hasSuffix("=0") }.map { $0.type == "iterable" ? .iterable : .nonIterable })
        #expect(source.deviceStateTimes?.count == 41)
        #expect(destination.deviceLoadTimes?.count == 40)
        #expect(source.iterableStateTimes?.allSatisfy { $0.section == .iterable } == true)
        #expect(source.checkpoints?.first == Checkpoint(name: "src-downtime-start", timestampUS: 0))
        #expect(source.checkpoints?.count == 5)
        #expect(source.status == "completed")
        #expect(destination.status == "completed")
        #expect(source.qemuTimes.downtimeMS == 6)
        #expect(source.isOutgoing)
        #expect(!destination.isOutgoing)
        #expect(source.seriesMembers == ["device-state-times", "iterable-state-times", "downtime-checkpoints"])
        #expect(destination.seriesMembers == ["device-load-times", "downtime-checkpoints"])
        // The 0.1.0 variant: device-state-times alone.
        let v010 = try Fixtures.reply("qmp/q35-source-v010.json")
        #expect(v010.seriesMembers == [SeriesMember.deviceStateTimes])
        #expect(v010.deviceStateTimes == source.deviceStateTimes)
    }

    /// A reply of the whole series (library 0.3.0): steps with their devices, the dropped count.
    @Test func stepsAndTheDroppedCountAreRead() throws {
        let source = try Fixtures.reply("series-10.2/guest-source-reply.json")
        #expect(source.entriesDropped == 0)
        #expect(source.steps?.count == 22)
        #expect(source.steps?.first == DowntimeStep(name: "clock-stop", kind: .work, timeUS: 0, startUS: 170))
        #expect(source.steps?[2] == DowntimeStep(name: "virtio_blk_dma_restart_cb",
                                                 device: "/machine/peripheral/guest-disk-dev/virtio-backend",
                                                 type: "virtio-blk-device", kind: .main, timeUS: 1, startUS: 268))
        #expect(source.seriesMembers == Set(series030).subtracting([SeriesMember.deviceLoadTimes]))
        #expect(source.qemuTimes == QEMUTimes(downtimeMS: 38, setupTimeMS: 1, totalTimeMS: 842))
    }

    @Test func handlerFlagsAreKeptForDeviceStateTimesOnly() throws {
        let reply = try Fixtures.reply(text: """
            {"return": {"status": "completed", "iterable-state-times": [{"name": "ram", "instance-id": 0, "save-time": 100, "handler": true}],
             "device-state-times": [{"name": "timer", "instance-id": 0, "save-time": 15},
                                    {"name": "slirp", "instance-id": 0, "save-time": 19, "handler": true}],
             "device-load-times": [{"name": "x", "instance-id": 1, "load-time": 2, "handler": true, "iterable": true}]}}
            """)
        #expect(reply.deviceStateTimes?.map(\.handler) == [false, true])
        #expect(reply.iterableStateTimes?.map(\.handler) == [false])
        #expect(reply.deviceLoadTimes == [DeviceTime(name: "x", instanceID: 1, section: .iterable, timeUS: 2)])
    }

    /// Each fault is named as the CLI prints it.
    @Test func badRepliesAreRefusedWithTheirReason() {
        let completed = #"{"status": "completed", "#
        let cases: [(String, String)] = [
            (#"[1, 2]"#, "query-migrate reply is not a JSON object"),
            (#"{"error": {"class": "GenericError", "desc": "x"}}"#, "the reply is a QMP error: x"),
            (#"{"error": {"class": "GenericError"}}"#, "the reply is a QMP error: ?"),
            (#"{"return": [1]}"#, #"query-migrate "return" is not a JSON object"#),
            (#"{"return": null}"#, #"query-migrate "return" is not a JSON object"#),
            (#"{"status": 5}"#, #"query-migrate "status" is not a string"#),
            (#"{"status": null}"#, #"query-migrate "status" is not a string"#),
            (completed + #""device-state-times": {}}"#, "device-state-times is not an array"),
            (completed + #""iterable-state-times": [1]}"#, "iterable-state-times[0] has no name"),
            (completed + #""device-state-times": [{"name": "a", "instance-id": 0, "save-time": 1}, {"instance-id": 0}]}"#,
             "device-state-times[1] has no name"),
            (completed + #""device-state-times": [{"name": "a", "instance-id": 0, "save-time": -1}]}"#,
             "device-state-times[0] (a) has no save-time ≥ 0"),
            (completed + #""device-state-times": [{"name": "a", "instance-id": true, "save-time": 1}]}"#,
             "device-state-times[0] (a) has no instance-id from 0 to 4294967295"),
            (completed + #""device-state-times": [{"name": "a", "instance-id": 4294967296, "save-time": 1}]}"#,
             "device-state-times[0] (a) has no instance-id from 0 to 4294967295"),
            (completed + #""device-load-times": [{"name": "a", "instance-id": 0, "load-time": 1.5}]}"#,
             "device-load-times[0] (a) has no load-time ≥ 0"),
            (completed + #""device-load-times": [{"name": "a", "instance-id": 0, "save-time": 1}]}"#,
             "device-load-times[0] (a) has no load-time ≥ 0"),
            (completed + #""device-load-times": [{"name": "a", "instance-id": 0, "load-time": 1, "iterable": 1}]}"#,
             "device-load-times[0] (a): iterable is not a boolean"),
            (completed + #""device-state-times": [{"name": "a", "instance-id": 0, "save-time": 1, "handler": null}]}"#,
             "device-state-times[0] (a): handler is not a boolean"),
            (completed + #""downtime-entries-dropped": -1}"#, "downtime-entries-dropped is not an integer ≥ 0"),
            (completed + #""downtime-entries-dropped": "many"}"#, "downtime-entries-dropped is not an integer ≥ 0"),
            (completed + #""downtime-checkpoints": 3}"#, "downtime-checkpoints is not an array"),
            (completed + #""downtime-checkpoints": [{"name": "x"}]}"#, "downtime-checkpoints[0] needs a name and an integer time"),
            (completed + #""downtime-checkpoints": [{"name": "", "time": 1}]}"#, "downtime-checkpoints[0] needs a name and an integer time"),
            (completed + #""downtime-checkpoints": [{"name": "x", "time": 9223372036854775808}]}"#,
             "downtime-checkpoints[0] needs a name and an integer time"),
            (completed + #""downtime-steps": {}}"#, "downtime-steps is not an array"),
            (completed + #""downtime-steps": [{"name": ""}]}"#, "downtime-steps[0] has no name"),
            (completed + #""downtime-steps": [{"name": "s", "kind": "other", "start": 0, "time": 0}]}"#,
             "downtime-steps[0] (s) has no kind work, prepare or main"),
            (completed + #""downtime-steps": [{"name": "s", "kind": "work", "start": 9223372036854775808, "time": 0}]}"#,
             "downtime-steps[0] (s) needs a start and a time, integers ≥ 0"),
            (completed + #""downtime-steps": [{"name": "s", "kind": "work", "start": 0}]}"#,
             "downtime-steps[0] (s) needs a start and a time, integers ≥ 0"),
            (completed + #""downtime-steps": [{"name": "s", "kind": "main", "start": 0, "time": 0, "device": 1}]}"#,
             "downtime-steps[0] (s): device is not a string"),
            (completed + #""downtime-steps": [{"name": "s", "kind": "main", "start": 0, "time": 0, "device-type": null}]}"#,
             "downtime-steps[0] (s): device-type is not a string"),
            // Not JSON as a saved file: garbage, a bare value, trailing text.
            ("status: completed", "not JSON"), ("5", "not JSON"), (#""x""#, "not JSON"), ("{} x", "not JSON"), ("", "not JSON"),
        ]
        for (text, message) in cases {
            let error = #expect(throws: QueryMigrateError.self, "\(text)") { try Fixtures.reply(text: text) }
            #expect(error?.description == message, "\(text)")
        }
    }

    @Test func theLargestValuesAndIntegralNumbersAreRead() throws {
        let ok = try Fixtures.reply(text: """
            {"status": "completed", "downtime": 7.0, "setup-time": true, "total-time": -3,
             "device-load-times": [{"name": "a", "instance-id": 4294967295, "load-time": 18446744073709551615, "iterable": false}],
             "downtime-checkpoints": [{"name": "c", "time": -5}]}
            """)
        #expect(ok.deviceLoadTimes == [DeviceTime(name: "a", instanceID: .max, section: .nonIterable, timeUS: .max)])
        #expect(ok.checkpoints == [Checkpoint(name: "c", timestampUS: -5)])
        // QEMU's own times are read where they are integers ≥ 0, left out otherwise.
        #expect(ok.qemuTimes == QEMUTimes(downtimeMS: 7))
        #expect(ok.seriesMembers == [SeriesMember.deviceLoadTimes, SeriesMember.downtimeCheckpoints])
        let none = try Fixtures.reply(text: "{}")
        #expect(none.status == nil)
        #expect(none.deviceStateTimes == nil)
        #expect(none.seriesMembers.isEmpty)
    }
}
