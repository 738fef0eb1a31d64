// SPDX-License-Identifier: MIT
import DevstateAnalysis
import DevstateModel
import Testing

/// Steps placed in their phases, and the share of the downtime that has a name.
@Suite struct AttributionTests {
    @Test func aStepFallsInThePhaseWhoseEndFollowsIt() {
        let pause = DowntimeStep(name: "vcpu-pause", kind: .work, timeUS: 40, timestampUS: 1_000_090, line: 2,
                                 checkpointsBefore: 1)
        let flush = DowntimeStep(name: "stream-flush", kind: .work, timeUS: 30, timestampUS: 1_001_080,
                                 checkpointsBefore: 4)
        let after = DowntimeStep(name: "late", kind: .main, timeUS: 5, checkpointsBefore: 5)
        let side = Analyzer().analyze(Sides.source([Sides.save("cpu", 0, .nonIterable, 500)], steps: [pause, flush, after]))
        #expect(side.steps.map(\.phase) == [0, 3, nil])
        #expect(side.steps.map(\.offsetUS) == [50, 1050, nil])
        #expect(side.steps[0].share == 0.4)
        #expect(side.named == NamedTime(downtimeUS: 1100, devicesUS: 500, stepsUS: 75, stepsKnown: true))
        #expect(side.named.unnamedUS == 525)
    }

    @Test func streamWaitBelongsToTheLoadPhaseWithoutAStart() {
        let wait = DowntimeStep(name: "stream-wait", kind: .work, timeUS: 90, timestampUS: 2_000_900, checkpointsBefore: 4)
        let side = Analyzer().analyze(Sides.destination([Sides.save("ram", 0, .iterable, 50, at: 2_000_050)], steps: [wait]))
        #expect(side.steps[0].phase == 0)
        #expect(side.steps[0].offsetUS == nil)
        #expect(side.steps[0].share == 90.0 / 500)
    }

    @Test func withoutStepsTheNamedShareIsTheDevicesAlone() {
        let side = Analyzer().analyze(Sides.source([Sides.save("cpu", 0, .nonIterable, 550)]))
        #expect(!side.named.stepsKnown)
        #expect(side.named.share == 0.5)
        var told = Sides.source([Sides.save("cpu", 0, .nonIterable, 550)])
        told.namesSteps = true  // a reply whose QEMU names steps but kept none
        #expect(Analyzer().analyze(told).named.stepsKnown)
    }

    @Test func aShareOverTheDowntimeIsShownAsItIs() {
        let side = Analyzer().analyze(Sides.source([Sides.save("cpu", 0, .nonIterable, 2200)]))
        #expect(side.named.share == 2.0)
        #expect(side.named.unnamedUS == -1100)
    }
}
