// SPDX-License-Identifier: MIT
@_spi(Testing) import DevstateTrace
import Foundation
import Testing

/// The real captures of our series (Tests/Fixtures/series-RELEASE): the steps of each side's
/// downtime, read from the trace and from `query-migrate`, and the share of the downtime that
/// has a name. Expectations come from the files, read by the tests' own code.
@Suite struct SeriesFixtureTests {
    static let sides: [Side] = [.source, .destination]

    @Test(arguments: SeriesFixtures.releases, sides)
    func everyLineIsReadAndTheStepsAreTheLogs(_ release: String, _ side: Side) throws {
        let text = try SeriesFixtures.text(SeriesFixtures.log(side), release: release)
        let (events, stats) = readAll(text)
        #expect(stats.malformedLines == 0)
        #expect(events.count == text.split(separator: "\n").count)
        let expected = try SeriesFixtures.stepLines(text)
        #expect(expected.count > 15)
        let got = events.compactMap { e -> (SeriesFixtures.Step, Int, Int64?)? in
            guard case .step(let s) = e else { return nil }
            return (SeriesFixtures.Step(name: s.name, kind: s.kind.rawValue, device: s.device, type: s.type,
                                        timeUS: s.timeUS), s.line, s.timestampUS)
        }
        #expect(got.map(\.0) == expected.map(\.step))
        #expect(got.map(\.1) == expected.map(\.line))
        #expect(got.map(\.2) == expected.map(\.stamp) && expected.allSatisfy { $0.stamp != nil })
    }

    /// Each side's steps from the trace are its reply's `downtime-steps`: names, kinds, devices,
    /// types and times, in the same order — the destination's `stream-wait` last in both,
    /// although it belongs to the load phase — and in the same phases.
    @Test(arguments: SeriesFixtures.releases, sides)
    func traceStepsAreTheReplySteps(_ release: String, _ side: Side) throws {
        let trace = try #require(try SeriesFixtures.traceRun(release: release)[side])
        let reply = try #require(try SeriesFixtures.replyRun(release: release)[side])
        let expected = try SeriesFixtures.replySteps(side, release: release)
        #expect(trace.steps.map(SeriesFixtures.Step.init) == expected.map(\.step))
        #expect(reply.steps.map(SeriesFixtures.Step.init) == expected.map(\.step))
        #expect(reply.steps.map(\.step.startUS) == expected.map(\.start))
        func phases(_ s: SideReport) -> [String?] { s.steps.map { $0.phase.map { s.phases[$0].label } } }
        #expect(phases(trace) == phases(reply))
        #expect(phases(trace).allSatisfy { $0 != nil })
        if side == .destination {
            #expect(trace.steps.last?.step.name == KnownSteps.streamWait && phases(trace).last == "load")
        }
        // QEMU's clock readings are the same in both: where the trace knows when a step started
        // (its stamp minus its time), it is close to the reply's start (the trace line is
        // written after the step ends). Both count from the side's origin, whose line is often
        // the log's first, which pays a one-time cost of up to a millisecond before its stamp
        // (Tests/e2e/qemu_harness.py, FIRST_LINE_TOLERANCE_US): that error is the same for every
        // step, so the differences may sit up to 1000 µs off, but within 200 µs of each other.
        let differences = zip(trace.steps, reply.steps).compactMap { t, r in
            t.offsetUS.map { $0 - r.offsetUS! }
        }
        #expect(differences.allSatisfy { abs($0) <= 1000 }, "\(differences)")
        #expect((differences.max() ?? 0) - (differences.min() ?? 0) <= 200, "\(differences)")
        #expect(trace.steps.filter { $0.offsetUS == nil }.map(\.step.name) == (side == .destination ? ["stream-wait"] : []))
    }

    /// A trace step is in the phase whose checkpoints are the last one before its line and the
    /// first one after it (none before: the destination's load phase); `stream-wait` is in the
    /// load phase wherever its line is.
    @Test(arguments: SeriesFixtures.releases, sides)
    func aStepIsInThePhaseAroundItsLine(_ release: String, _ side: Side) throws {
        let report = try #require(try SeriesFixtures.traceRun(release: release)[side])
        let events = SeriesFixtures.events(try SeriesFixtures.text(SeriesFixtures.log(side), release: release))
        var expected: [String] = []
        for (i, e) in events.enumerated() where e.event == "step" {
            let before = events[..<i].last { $0.event.hasPrefix("checkpoint ") }?.event.dropFirst(11)
            let after = events[(i + 1)...].first { $0.event.hasPrefix("checkpoint ") }?.event.dropFirst(11)
            let phase = report.phases.first { $0.from == before.map(String.init) && $0.to == after.map(String.init) }
            expected.append(before == nil ? "load" : phase?.label ?? "?")
        }
        if side == .destination { expected[expected.count - 1] = "load" }  // stream-wait
        #expect(report.steps.map { $0.phase.map { report.phases[$0].label } ?? "none" } == expected)
        // The phases the issue names are broken down: the source's stop and end, the destination's vm-start.
        let broken = Set(expected)
        #expect(broken.isSuperset(of: side == .source ? ["stop", "end"] : ["vm-start"]))
    }

    /// The named share: devices + steps over the downtime, at least 90 % on both sides, from the
    /// trace and from the replies alike.
    @Test(arguments: SeriesFixtures.releases, sides)
    func mostOfTheDowntimeHasAName(_ release: String, _ side: Side) throws {
        for (report, figures) in [(try SeriesFixtures.traceRun(release: release)[side]!, try SeriesFixtures.traced(side, release: release)),
                                  (try SeriesFixtures.replyRun(release: release)[side]!, try SeriesFixtures.replied(side, release: release))] {
            let n = report.named
            #expect(n.downtimeUS == figures.downtimeUS && n.downtimeUS == report.totalUS)
            #expect(n.devicesUS == figures.devicesUS && n.stepsUS == figures.stepsUS && n.stepsKnown)
            #expect(n.unnamedUS == figures.downtimeUS - Int64(figures.devicesUS + figures.stepsUS))
            let share = try #require(n.share)
            #expect(abs(share - Double(figures.devicesUS + figures.stepsUS) / Double(figures.downtimeUS)) < 1e-12)
            #expect(share >= 0.9, "\(side) \(share)")
        }
    }

    /// Without the step lines (as a stock QEMU writes the log) the share is the devices' alone,
    /// smaller by exactly the steps' time; on the destination, where block-activate is most of
    /// vm-start, by more than 10 points.
    @Test(arguments: SeriesFixtures.releases, sides)
    func withoutTheStepLinesOnlyTheDevicesHaveAName(_ release: String, _ side: Side) throws {
        let stripped = try SeriesFixtures.withoutSteps(side, release: release)
        defer { try? FileManager.default.removeItem(atPath: stripped) }
        let with = try #require(try SeriesFixtures.traceRun(release: release)[side])
        let without = try #require(try SeriesFixtures.traceRun(release: release, source: side == .source ? stripped : nil,
                                                               destination: side == .destination ? stripped : nil)[side])
        let figures = try SeriesFixtures.traced(side, release: release)
        #expect(without.steps.isEmpty && !without.named.stepsKnown && without.named.stepsUS == 0)
        #expect(without.named.devicesUS == figures.devicesUS && without.totalUS == with.totalUS)
        let a = try #require(with.named.share), b = try #require(without.named.share)
        #expect(b < a && abs((a - b) - Double(figures.stepsUS) / Double(figures.downtimeUS)) < 1e-12)
        if side == .destination { #expect(a - b > 0.1) }
        // The table says so, and where the names come from.
        let r = try devstate(["report", "--width", "200", side == .source ? stripped : "--destination=" + stripped])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains(", devices alone; unnamed \(figures.downtimeUS - Int64(figures.devicesUS)) µs: this trace has no vmstate_downtime_step lines; our QEMU series (Patches/) names the handlers and steps of the rest"))
        #expect(!r.out.contains("handlers and steps by phase"))
    }
}

extension RunReport {
    subscript(side: Side) -> SideReport? { side == .source ? source : destination }
}
