// SPDX-License-Identifier: MIT
import CShim
import DeviceStateTimes
import Dispatch
import Foundation
import Testing

/// 0.2.0: iterable entries, checkpoints and the run's origin, from Swift and through the
/// QEMU list hooks.
@Suite struct WholeDowntimeTests {
    @Test func checkpointsAreKeptWhateverTheReadingAndCountFromTheOrigin() throws {
        let recorder = Recorder()
        recorder.beginRun()
        #expect(try recorder.checkpoint(name: "src-downtime-start", time: 5_000) == .kept)
        #expect(try recorder.record(name: "ram", instanceID: 0, saveTime: 115, kind: .iterable) == .kept)
        #expect(try recorder.record(name: "block", instanceID: 0, saveTime: 0, kind: .iterable) == .skippedZero)
        #expect(try recorder.checkpoint(name: "zero", time: 0) == .kept)
        #expect(try recorder.checkpoint(name: "src-downtime-end", time: 11_378) == .kept)
        try recorder.endRun()
        let snapshot = try recorder.snapshot()
        #expect(snapshot.origin == 0)  // the earliest reading, even an odd one
        #expect(snapshot.count == 4 && snapshot.skippedZero == 1)
        #expect(snapshot[0].kind == .checkpoint && snapshot[0].saveTime == 5_000 && snapshot[0].instanceID == 0)
        #expect(snapshot[1].kind == .iterable)
        #expect(try snapshot.json() == #"[{"name":"src-downtime-start","time":5000},"#
            + #"{"name":"ram","instance-id":0,"save-time":115,"iterable":true},"#
            + #"{"name":"zero","time":0},{"name":"src-downtime-end","time":11378}]"#)
    }

    @Test func aNewRunForgetsTheOldOrigin() throws {
        let recorder = Recorder()
        recorder.beginRun()
        try recorder.checkpoint(name: "a", time: 10)
        recorder.beginRun()
        try recorder.checkpoint(name: "b", time: 500)
        try recorder.checkpoint(name: "c", time: 750)
        let snapshot = try recorder.snapshot()
        #expect(snapshot.origin == 500 && !snapshot.isComplete)
        #expect(try snapshot.json() == #"[{"name":"b","time":0},{"name":"c","time":250}]"#)
    }

    @Test func aCheckpointOutsideARunIsRefusedAndChangesNothing() throws {
        let recorder = Recorder()
        #expect(throws: DeviceStateError.noRun) { try recorder.checkpoint(name: "early", time: 1) }
        recorder.beginRun()
        try recorder.checkpoint(name: "kept", time: 7)
        try recorder.endRun()
        #expect(throws: DeviceStateError.noRun) { try recorder.checkpoint(name: "late", time: 9) }
        #expect(throws: DeviceStateError.nameEmpty) { try recorder.checkpoint(name: "", time: 9) }
        let snapshot = try recorder.snapshot()
        #expect(snapshot.count == 1 && snapshot.origin == 7)
    }

    @Test func flagsAreOneKindAtATime() {
        var handle: OpaquePointer?
        #expect(devstate_recorder_new(&handle) == DEVSTATE_OK)
        devstate_run_begin(handle)
        for flags: UInt32 in [0, 1, 2, 4] {
            #expect(devstate_record(handle, "x", 0, 1, flags) == DEVSTATE_OK)
        }
        for flags: UInt32 in [3, 5, 6, 7, 8, 0x8000_0000] {
            #expect(devstate_record(handle, "x", 0, 1, flags) == DEVSTATE_ERR_FLAGS)
        }
        #expect(String(cString: devstate_strerror(DEVSTATE_ERR_NO_LIST)) == DeviceStateError.noList.message)
        #expect(DeviceStateError.noList.code == DEVSTATE_ERR_NO_LIST)
        #expect(devstate_recorder_free(handle) == DEVSTATE_OK)
    }

    @Test func versionComesFromTheHeader() {
        #expect(devstate_version_number() == UInt32(DEVSTATE_VERSION_MAJOR * 10_000 + DEVSTATE_VERSION_MINOR * 100
            + DEVSTATE_VERSION_PATCH))
        #expect(String(cString: devstate_version_string())
            == "\(DEVSTATE_VERSION_MAJOR).\(DEVSTATE_VERSION_MINOR).\(DEVSTATE_VERSION_PATCH)")
        #expect(devstate_abi_version() == UInt32(DEVSTATE_ABI_VERSION))
    }
}

/// QEMU's migration thread records a destination's loads and checkpoints while its main
/// loop answers query-migrate. The threads start together at a barrier, and the test
/// asserts that some queries saw an open run (refused) and some an ended one (a full list),
/// so it proves an overlap rather than two threads that happened to run one after the other.
@Suite struct WholeDowntimeConcurrencyTests {
    static let loads = 40

    @Test func queriesOverlapOpenAndEndedRunsOfTheIncomingList() {
        let list = DEVSTATE_QEMU_LIST_INCOMING
        let sawOpen = Counter(), sawEnded = Counter(), torn = Counter(), odd = Counter()
        let readerDone = Counter()
        // The writer keeps running incoming migrations until the reader has seen both an open
        // and an ended run (however the two threads get scheduled), bounded by maxRuns.
        let finished = onTwoThreads(writer: {
            var run = 0
            while readerDone.value == 0 && run < Self.maxRuns {
                devstate_qemu_begin(list)
                var clock = Int64(run) * 1_000_000
                for index in 0..<Self.loads {
                    devstate_qemu_record_in(list, "dev-\(index)", UInt32(index), clock, clock + 5,
                                            index == 0 ? DEVSTATE_ENTRY_ITERABLE : DEVSTATE_ENTRY_VMSD)
                    clock += 5
                }
                devstate_qemu_checkpoint(list, "dst-precopy-loadvm-completed", clock)
                devstate_qemu_end(list)
                run += 1
            }
        }, reader: {
            defer { readerDone.add() }
            for _ in 0..<Self.maxQueries {
                var times: UnsafeMutablePointer<devstate_qapi_time_list>?
                var marks: UnsafeMutablePointer<devstate_qapi_checkpoint_list>?
                let status = devstate_qemu_times(list, &times)
                switch status {
                case DEVSTATE_ERR_NO_RUN: sawOpen.add()
                case DEVSTATE_OK:
                    sawEnded.add()
                    var count = 0
                    var node = times
                    while let current = node { count += 1; node = current.pointee.next }
                    if count != Self.loads { torn.add() }
                    if devstate_qemu_checkpoints(list, &marks) == DEVSTATE_OK,
                       let first = marks?.pointee.value?.pointee,
                       first.time_us != UInt64(Self.loads * 5) {
                        // The checkpoint's offset is counted from the run's first load.
                        torn.add()
                    }
                case DEVSTATE_ERR_EMPTY: break
                default: odd.add()
                }
                devstate_qapi_time_list_free(times)
                devstate_qapi_checkpoint_list_free(marks)
                if sawEnded.value >= 10, sawOpen.value >= 10 { break }
            }
        })
        #expect(finished, "the two threads did not finish within 120 s")
        #expect(torn.value == 0 && odd.value == 0)
        #expect(sawOpen.value > 0, "no query overlapped an open run")
        #expect(sawEnded.value > 0, "no query saw an ended run")
    }

    static let maxRuns = 200_000
    static let maxQueries = 5_000_000
}
