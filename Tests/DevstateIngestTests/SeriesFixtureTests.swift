// SPDX-License-Identifier: MIT
import DevstateIngest
import DevstateModel
import Testing

/// The real captures of a guest's migration on QEMU with our series (Tests/Fixtures/series-*):
/// trace logs with `vmstate_downtime_step` lines beside the stock events.
@Suite struct SeriesFixtureTests {
    @Test func everyLineIsReadAndTheStepsAreTheLogs() throws {
        for release in Fixtures.releases {
            for side in ["source", "destination"] {
                let text = try Fixtures.text("guest-\(side).log", release: release, series: true)
                let (events, stats) = readAll(text, chunkSize: 4096)
                #expect(stats.malformedLines == 0)
                #expect(events.count == text.split(separator: "\n").count)
                let expected = try Fixtures.stepLines(text)
                #expect(expected.count > 15)
                let got = events.compactMap { e -> ([String], Int, Int64?)? in
                    guard case .step(let s) = e else { return nil }
                    return ([s.name, s.kind.rawValue, s.device, s.type, String(s.timeUS)], s.line, s.timestampUS)
                }
                #expect(got.map(\.0) == expected.map(\.step), "\(release) \(side)")
                #expect(got.map(\.1) == expected.map(\.line))
                #expect(got.map(\.2) == expected.map(\.stamp))
                #expect(expected.allSatisfy { $0.stamp != nil })
            }
        }
    }

    /// Each side's log is one part of its side; its steps are in log order, each with the
    /// checkpoints of its side before it (a work step of the other side's name joins that side).
    @Test func eachLogIsOnePartWithItsSteps() throws {
        for release in Fixtures.releases {
            for side in [Side.source, .destination] {
                let name = "guest-\(side.rawValue).log"
                var parts: [SideLog] = []
                let splitter = RunSplitter(file: name) { parts.append($0) }
                _ = try LogReader().read(path: Fixtures.path(name, release: release, series: true), into: splitter)
                splitter.finish()
                let text = try Fixtures.text(name, release: release, series: true)
                #expect(parts.map(\.side) == [side], "\(release) \(name)")
                #expect(try parts[0].steps.map(\.line) == Fixtures.stepLines(text).map(\.line))
                let lines = text.split(separator: "\n")
                for step in parts[0].steps {
                    let before = lines[..<(step.line - 1)].filter { $0.contains("vmstate_downtime_checkpoint ") }.count
                    #expect(step.checkpointsBefore == before, "\(release) \(name) line \(step.line)")
                }
            }
        }
    }
}
