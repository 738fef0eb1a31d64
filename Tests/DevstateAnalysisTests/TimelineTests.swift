// SPDX-License-Identifier: MIT
import DevstateAnalysis
import DevstateModel
import Testing

/// Phases, offsets, totals and shares from the checkpoints' stamps.
@Suite struct TimelineTests {
    @Test func sourcePhasesAndSharesComeFromTheCheckpoints() {
        let side = Analyzer().analyze(Sides.source([Sides.save("ram", 0, .iterable, 150),
                                                    Sides.save("timer", 0, .nonIterable, 60)]))
        #expect(side.phases.map(\.label) == ["stop", "iterable", "non-iterable", "end"])
        #expect(side.phases.map(\.durationUS) == [100, 300, 600, 100])
        #expect(side.totalUS == 1100)
        #expect(side.originUS == 1_000_000)
        #expect(side.checkpoints.map(\.offsetUS) == [0, 100, 400, 1000, 1100])
        #expect(side.shareBasis == ShareBases(iterable: .phase, nonIterable: .phase))
        #expect(side.devices.map(\.share) == [0.5, 0.1])
    }

    @Test func withoutStampsSharesAreOfTheSummedTimeAndOffsetsUnknown() {
        let side = Analyzer().analyze(Sides.source([Sides.save("a", 0, .nonIterable, 30), Sides.save("b", 0, .nonIterable, 10)],
                                                   stamps: false))
        #expect(side.totalUS == nil)
        #expect(side.checkpoints.allSatisfy { $0.offsetUS == nil })
        #expect(side.shareBasis == ShareBases(iterable: .sum, nonIterable: .sum))
        #expect(side.devices.map(\.share) == [0.75, 0.25])
    }

    @Test func theDestinationCountsFromItsFirstLoadsStart() {
        let side = Analyzer().analyze(Sides.destination([Sides.save("ram", 0, .iterable, 50, at: 2_000_050),
                                                         Sides.save("timer", 0, .nonIterable, 100, at: 2_000_300)]))
        #expect(side.originUS == 2_000_000)
        #expect(side.phases.first == Phase(label: "load", from: "first-load-start", to: "dst-precopy-loadvm-completed",
                                           durationUS: 500))
        #expect(side.phases.map(\.label) == ["load", "bh-schedule", "announce", "vm-start"])
        #expect(side.totalUS == 900)
        #expect(side.devices.map(\.share) == [0.1, 0.2])
    }

    @Test func anUnknownCheckpointIsNotedWithItsLine() {
        var log = Sides.source([])
        log.checkpoints.insert(Checkpoint(name: "src-something-new", timestampUS: 1_000_200, line: 9), at: 2)
        let side = Analyzer().analyze(log)
        #expect(side.notes.contains("unknown checkpoint src-something-new (line 9)"))
        #expect(side.phases[1].label == "src-vm-stopped → src-something-new")
    }

    @Test func aSectionLoadedAtSetupIsNotDowntime() {
        let side = Analyzer().analyze(Sides.destination([
            Sides.save("0000:00:05.0/virtio-mem-device-early", 0, .nonIterable, 4000, at: 1_000_000, line: 3),
            Sides.save("ram", 0, .iterable, 50, at: 2_000_050), Sides.save("timer", 0, .nonIterable, 100, at: 2_000_300),
        ]))
        #expect(side.devices.map(\.name) == ["ram", "timer"])
        #expect(side.originUS == 2_000_000)
        #expect(side.notes == ["loaded at setup, before the switchover, so not downtime and left out: "
            + "0000:00:05.0/virtio-mem-device-early#0 4000 µs (line 3)"])
    }

    @Test func typesAddUpLongestFirstAndFirstSeenAmongEqualTimes() {
        let side = Analyzer().analyze(Sides.source([
            Sides.save("0000:00:03.0/e1000e", 0, .nonIterable, 10), Sides.save("cpu", 0, .nonIterable, 20),
            Sides.save("0000:00:04.0/e1000e", 0, .nonIterable, 10), Sides.save("cpu", 1, .nonIterable, 0),
            Sides.save("timer", 0, .nonIterable, 20),
        ]))
        #expect(side.types.map(\.type) == ["e1000e", "cpu", "timer"])
        #expect(side.types.map(\.count) == [2, 2, 1])
        #expect(side.types.map(\.timeUS) == [20, 20, 20])
        #expect(side.types[0].share == 1.0 / 3)
    }
}
