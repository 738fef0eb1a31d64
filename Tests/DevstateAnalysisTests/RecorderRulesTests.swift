// SPDX-License-Identifier: MIT
import DevstateAnalysis
import DevstateModel
import Testing

/// Which entries reach `device-state-times`: the reference rules, through the real recorder.
@Suite struct RecorderRulesTests {
    @Test func onlyNonIterableEntriesWithAVMSDAndATimeAreKept() {
        let log = Sides.source([
            Sides.save("ram", 0, .iterable, 300),
            Sides.save("timer", 0, .nonIterable, 12),
            Sides.save("ram", 0, .nonIterable, 9),          // no vmsd
            Sides.save("slirp", 0, .nonIterable, 4),        // no vmsd
            Sides.save("0000:00:02.0/vfio", 0, .nonIterable, 7),  // VFIO: no vmsd
            Sides.save("cpu", 1, .nonIterable, 0),          // zero: skipped
            Sides.save("cpu", 0, .nonIterable, 30),
        ])
        let side = Analyzer().analyze(log)
        #expect(side.devices.map(\.inDeviceStateTimes) == [false, true, false, false, false, false, true])
        #expect(side.devices.map(\.hasVMSD) == [true, true, false, false, false, true, true])
        #expect(side.recorder.kept == 2)
        #expect(side.recorder.skippedZero == 1)
        #expect(side.recorder.complete)
        #expect(side.recorder.errors.isEmpty)
    }

    @Test func aHandlerEntryQEMURecordedIsKeptWithoutAVMSD() {
        var log = Sides.source([Sides.save("slirp", 0, .nonIterable, 4, handler: true)])
        log.reply = QueryMigrateFacts(endpoint: "src.json", role: .source, series: .v030, seriesFrom: .members,
                                      outcome: .complete, rendered: true)
        let side = Analyzer().analyze(log)
        #expect(side.devices[0].hasVMSD == false)
        #expect(side.devices[0].inDeviceStateTimes)
        #expect(side.recorder.skippedZero == nil)  // QEMU leaves 0 µs entries out before we see them
    }

    @Test func anOverlongNameIsRefusedWithItsLineAndTheRestKept() {
        let long = String(repeating: "x", count: 300)
        let side = Analyzer().analyze(Sides.source([Sides.save(long, 0, .nonIterable, 5, line: 7),
                                                    Sides.save("timer", 0, .nonIterable, 3, line: 8)]))
        #expect(side.recorder.errors.count == 1)
        #expect(side.recorder.errors[0].hasPrefix(long + "#0 (line 7): "))
        #expect(side.devices.map(\.inDeviceStateTimes) == [false, true])
    }

    @Test func aRunWithoutItsEndIsNotComplete() {
        var log = Sides.source([Sides.save("timer", 0, .nonIterable, 3)])
        log.checkpoints.removeLast()
        #expect(!Analyzer().analyze(log).recorder.complete)
        log.completed = true  // an input that says so (a completed query-migrate)
        #expect(Analyzer().analyze(log).recorder.complete)
    }

    @Test func eachRunStartsAfresh() {
        let analyzer = Analyzer()
        let first = analyzer.analyze(Sides.source([Sides.save("a", 0, .nonIterable, 3), Sides.save("b", 0, .nonIterable, 4)]))
        let second = analyzer.analyze(Sides.source([Sides.save("c", 0, .nonIterable, 5)]))
        #expect(first.recorder.kept == 2)
        #expect(second.recorder.kept == 1)
        #expect(second.recorder.run == first.recorder.run + 1)
    }
}
