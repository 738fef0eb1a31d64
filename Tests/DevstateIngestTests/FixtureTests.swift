// SPDX-License-Identifier: MIT
@testable import DevstateIngest
import DevstateModel
import Testing

/// The committed captures of both stock releases: every test runs on each release's logs, with
/// expectations read from the logs independently.
@Suite struct FixtureTests {
    static let all = ["pc-source.log", "pc-destination.log", "q35-source.log", "q35-destination.log",
                      "pc-notimestamp-source.log", "pc-notimestamp-destination.log"]

    func forEachFixture(_ body: (_ release: String, _ name: String, _ text: String) throws -> Void) throws {
        for release in Fixtures.releases {
            for name in Self.all { try body(release, name, try Fixtures.text(name, release: release)) }
        }
    }

    @Test func everyLineIsReadAndNoneIsMalformed() throws {
        try forEachFixture { release, name, text in
            let (events, stats) = readAll(text)
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false).count - 1
            #expect(stats.lines == lines, "\(release) \(name)")
            #expect(stats.malformedLines == 0, "\(release) \(name)")
            #expect(events.count == lines, "\(release) \(name)")  // only downtime trace lines
            #expect(stats.candidateLines == lines)
            #expect(!stats.endedWithoutNewline)
        }
    }

    @Test func deviceListEqualsTheTrace() throws {
        try forEachFixture { release, name, text in
            let expected = Fixtures.deviceLines(text)
            let got = readAll(text).0.compactMap { e -> Fixtures.Line? in
                guard case .device(let dir, let d) = e else { return nil }
                return Fixtures.Line(event: dir.rawValue, type: d.section.rawValue, idstr: d.name,
                                     instance: d.instanceID, downtime: d.timeUS)
            }
            #expect(got == expected, "\(release) \(name)")
            #expect(expected.count > 20)
        }
    }

    /// Every event carries the stamp written before it (10.0: `TID@S.US:`, 10.2: ISO 8601 UTC),
    /// none without -msg timestamp=on, and its line number.
    @Test func stampsAndLinesEqualTheIndependentReading() throws {
        try forEachFixture { release, name, text in
            let lines = text.split(separator: "\n")
            let expected = lines.map { raw -> Int64? in
                Fixtures.stampMicros(String(raw[..<raw.range(of: "vmstate_downtime_")!.lowerBound]))
            }
            let events = readAll(text, chunkSize: 4096).0
            #expect(events.map(\.timestampUS) == expected, "\(release) \(name)")
            let numbers = events.map { e -> Int in
                switch e {
                case .device(_, let d): d.line
                case .checkpoint(let c): c.line
                case .step(let s): s.line
                }
            }
            #expect(numbers == Array(1...lines.count))
            #expect(expected.allSatisfy { $0 == nil } == name.hasPrefix("pc-notimestamp"))
            #expect(expected.allSatisfy { $0 == nil } || expected.allSatisfy { $0 != nil })
        }
    }

    /// Many runs back to back, read with the smallest chunk size: boundaries fall mid-line.
    @Test func smallChunksGiveTheSameEvents() throws {
        for release in Fixtures.releases {
            let one = try Fixtures.text("pc-source.log", release: release)
            let text = String(repeating: one, count: 40)
            let (big, bigStats) = readAll(text)
            let (small, smallStats) = readAll(text, chunkSize: 4096)
            #expect(big == small)
            #expect(bigStats == smallStats)
            #expect(bigStats.lines == one.split(separator: "\n").count * 40)
        }
    }

    /// The reader's path into a splitter gives the same parts as the event path.
    @Test func splitterPathEqualsEventPath() throws {
        for release in Fixtures.releases {
            for name in ["pc-source.log", "q35-destination.log", "pc-notimestamp-source.log"] {
                let path = Fixtures.path(name, release: release)
                var fast: [SideLog] = [], slow: [SideLog] = []
                let a = RunSplitter(file: name) { fast.append($0) }
                let statsA = try LogReader(chunkSize: 4096).read(path: path, name: name, into: a)
                a.finish()
                let b = RunSplitter(file: name) { slow.append($0) }
                let statsB = try LogReader().read(path: path, name: name) { b.handle($0) }
                b.finish()
                #expect(fast == slow)
                #expect(statsA == statsB)
                #expect(!fast.isEmpty && fast.allSatisfy { $0.deviceCount == $0.devices.count && $0.file == name })
                let devices = Fixtures.deviceLines(try Fixtures.text(name, release: release))
                #expect(fast.flatMap(\.devices).map(\.name) == devices.map(\.idstr))
            }
        }
    }

    /// A part that is not kept is handed out with its counts and checkpoints, not its devices.
    @Test func aPartNotKeptHasItsCountsButNoDevices() throws {
        let name = "pc-source.log"
        var parts: [SideLog] = []
        let splitter = RunSplitter(file: name) { parts.append($0) }
        var asked: [Int] = []
        splitter.keep = { asked.append($0); return $0 == 2 }
        _ = try LogReader().read(path: Fixtures.path(name), into: splitter)
        splitter.finish()
        #expect(asked == [1, 2])
        #expect(parts.map(\.index) == [1, 2])
        #expect(parts[0].devices.isEmpty && parts[0].deviceCount > 20)
        #expect(parts[1].devices.count == parts[1].deviceCount)
        #expect(parts.map(\.checkpoints.count) == [5, 5])
        #expect(parts[0].deviceCount + parts[1].deviceCount ==
                Fixtures.deviceLines(try Fixtures.text(name)).count)
    }

    /// Devices past the per-side limit are counted, not kept.
    @Test func devicesPastTheLimitAreCounted() throws {
        var parts: [SideLog] = []
        let splitter = RunSplitter(file: "q35", maxDevicesPerSide: 10) { parts.append($0) }
        _ = try LogReader().read(path: Fixtures.path("q35-source.log"), into: splitter)
        splitter.finish()
        let devices = Fixtures.deviceLines(try Fixtures.text("q35-source.log"))
        #expect(parts.count == 1)
        #expect(parts[0].devices.map(\.name) == devices.prefix(10).map(\.idstr))
        #expect(parts[0].deviceCount == devices.count)
        #expect(parts[0].droppedDevices == devices.count - 10)
    }
}
