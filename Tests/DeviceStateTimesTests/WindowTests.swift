// SPDX-License-Identifier: MIT
import DeviceStateTimes
import Testing

/// 0.3.0: runs that open with their first entry (armRun), runs dropped with no successor
/// (discardRun), and the count of records a run refused.
@Suite struct WindowTests {
    @Test func anArmedRunOpensWithItsFirstRecordAndCountsFromIt() throws {
        let recorder = Recorder()
        recorder.beginRun()
        try recorder.record(name: "previous", instanceID: 0, saveTime: 3)
        try recorder.endRun()
        recorder.armRun()
        #expect(throws: DeviceStateError.empty) { try recorder.snapshot() }
        #expect(throws: DeviceStateError.noRun) { try recorder.endRun() }
        // still armed after the refused end: the first load opens the run
        #expect(try recorder.record(name: "ram", instanceID: 0, saveTime: 200, kind: .iterable) == .kept)
        try recorder.checkpoint(name: "dst-precopy-bh-vm-started", time: 9_000)
        try recorder.endRun()
        let snapshot = try recorder.snapshot()
        #expect(snapshot.run == 2 && snapshot.isComplete && snapshot.count == 2)
        #expect(snapshot.map(\.name) == ["ram", "dst-precopy-bh-vm-started"])
    }

    @Test func aDiscardedRunReportsNothingAndTakesNothing() throws {
        let recorder = Recorder()
        recorder.beginRun()
        try recorder.record(name: "initial", instanceID: 0, saveTime: 5)
        recorder.discardRun()
        #expect(throws: DeviceStateError.empty) { try recorder.snapshot() }
        for _ in 0..<3 {  // what a COLO checkpoint would load: refused, not counted, not kept
            #expect(throws: DeviceStateError.noRun) {
                try recorder.record(name: "0000:00:03.0/e1000", instanceID: 0, saveTime: 9)
            }
        }
        #expect(throws: DeviceStateError.noRun) { try recorder.endRun() }
        recorder.beginRun()
        let snapshot = try recorder.snapshot()
        #expect(snapshot.count == 0 && snapshot.refused == 0 && snapshot.run == 2)
    }

    @Test func everyRefusalInsideARunIsCounted() throws {
        let recorder = Recorder(maxEntries: 2)
        recorder.armRun()
        // a refused record still opens the armed run, and is its first loss
        #expect(throws: DeviceStateError.nameEmpty) { try recorder.record(name: "", instanceID: 0, saveTime: 1) }
        try recorder.record(name: "a", instanceID: 0, saveTime: 1)
        #expect(throws: DeviceStateError.nameTooLong) {
            try recorder.record(name: String(repeating: "x", count: 256), instanceID: 0, saveTime: 1)
        }
        #expect(throws: DeviceStateError.nameNUL) { try recorder.record(name: "a\u{0}b", instanceID: 0, saveTime: 1) }
        try recorder.record(name: "b", instanceID: 0, saveTime: 1)
        #expect(throws: DeviceStateError.full) { try recorder.record(name: "c", instanceID: 0, saveTime: 1) }
        #expect(try recorder.record(name: "zero", instanceID: 0, saveTime: 0) == .skippedZero)  // not a loss
        try recorder.endRun()
        #expect(throws: DeviceStateError.noRun) { try recorder.record(name: "late", instanceID: 0, saveTime: 1) }
        let snapshot = try recorder.snapshot()
        #expect(snapshot.map(\.name) == ["a", "b"])
        #expect(snapshot.refused == 4 && snapshot.dropped == 1 && snapshot.skippedZero == 1)
    }
}
