// SPDX-License-Identifier: MIT
@_spi(Testing) import DevstateTrace
import Foundation
import Testing

@Suite struct FixtureTests {
    static let all = ["pc-source.log", "pc-destination.log", "q35-source.log", "q35-destination.log",
                      "pc-notimestamp-source.log", "pc-notimestamp-destination.log"]

    @Test(arguments: all)
    func everyLineIsReadAndNoneIsMalformed(_ name: String) throws {
        let text = try Fixtures.text(name)
        let (events, stats) = readAll(text)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).count - 1
        #expect(stats.lines == lines)
        #expect(stats.malformedLines == 0)
        #expect(events.count == lines)  // the fixtures hold only downtime trace lines
        #expect(!stats.endedWithoutNewline)
    }

    @Test(arguments: all)
    func deviceListEqualsTheTrace(_ name: String) throws {
        let expected = try Fixtures.deviceLines(name)
        let (events, _) = readAll(try Fixtures.text(name))
        let got = events.compactMap { e -> Fixtures.Line? in
            guard case .device(let dir, let d) = e else { return nil }
            return Fixtures.Line(event: dir.rawValue, type: d.section.rawValue, idstr: d.name,
                                 instance: d.instanceID, downtime: d.timeUS)
        }
        #expect(got == expected)
        #expect(!expected.isEmpty)
    }

    @Test func smallChunksGiveTheSameEvents() throws {
        // Many runs back to back, read with the smallest chunk size: boundaries fall mid-line.
        let text = String(repeating: try Fixtures.text("pc-source.log"), count: 40)
        let (big, bigStats) = readAll(text)
        let (small, smallStats) = readAll(text, chunkSize: 4096)
        #expect(big == small)
        #expect(bigStats.lines == smallStats.lines && bigStats.lines == 102 * 40)
    }

    @Test func pcSourceSplitsIntoTwoRunsAndPairsTheDestinationWithTheLast() throws {
        let sink = try report(source: "pc-source.log", destination: "pc-destination.log")
        #expect(sink.runs.count == 2)
        #expect(sink.runs[0].destination == nil)
        #expect(sink.runs[1].destination != nil)
        #expect(sink.runs.map { $0.source?.log.index } == [1, 2])
        #expect(sink.runs[0].source?.log.firstLine == 1)
        #expect(sink.runs[1].source?.log.firstLine == 52)
        #expect(sink.inputs.map(\.sources) == [2, 0])
        #expect(sink.inputs.map(\.destinations) == [0, 1])
        for run in sink.runs {
            #expect(run.source?.log.checkpoints.map(\.name) == KnownCheckpoints.source)
            #expect(run.source?.recorder.complete == true)
        }
        #expect(sink.runs[1].destination?.log.checkpoints.map(\.name) == KnownCheckpoints.destinationPrecopy)
    }

    /// device-state-times is what a reference-patched QEMU returns: non-iterable saves with a
    /// vmsd and time > 0, in order, keys name / instance-id / save-time.
    @Test(arguments: ["pc", "q35", "pc-notimestamp"])
    func deviceStateTimesMatchesTheReferenceRules(_ fixture: String) throws {
        let sink = try report(source: "\(fixture)-source.log", destination: nil)
        let lines = try Fixtures.deviceLines("\(fixture)-source.log")
        let noVMSD: Set<String> = ["ram", "dirty-bitmap", "slirp"]
        // Split the independent reading into runs the simple way: the iterable ram save starts each.
        var runs: [[Fixtures.Line]] = []
        for line in lines {
            if line.type == "iterable" { runs.append([]) }
            runs[runs.count - 1].append(line)
        }
        #expect(runs.count == sink.runs.count)
        for (run, expectedLines) in zip(sink.runs, runs) {
            let expected = expectedLines.filter {
                $0.type == "non-iterable" && $0.downtime > 0 && !noVMSD.contains($0.idstr)
            }
            let json = try #require(run.source?.deviceStateTimesJSON)
            let parsed = try JSONSerialization.jsonObject(with: Data(json.utf8)) as! [[String: Any]]
            #expect(parsed.count == expected.count)
            for (object, line) in zip(parsed, expected) {
                #expect(object["name"] as? String == line.idstr)
                #expect((object["instance-id"] as? NSNumber)?.uint32Value == line.instance)
                #expect((object["save-time"] as? NSNumber)?.uint64Value == line.downtime)
            }
            // Key order as QMP writes it.
            #expect(json.hasPrefix("[{\"name\":") || json == "[]")
            let first = try #require(json.range(of: "\"instance-id\""))
            let second = try #require(json.range(of: "\"save-time\""))
            #expect(first.lowerBound < second.lowerBound)
            // The entries without a vmsd are listed apart, with their times.
            let apart = run.source!.devices.filter { !$0.hasVMSD }.map(\.name)
            #expect(Set(apart) == Set(expectedLines.filter { $0.type == "non-iterable" && noVMSD.contains($0.idstr) }.map(\.idstr)))
            #expect(run.source!.recorder.kept == expected.count)
        }
    }

    @Test func q35PhasesComeFromTheCheckpointTimestamps() throws {
        let sink = try report(source: "q35-source.log", destination: "q35-destination.log")
        let run = try #require(sink.runs.first)
        let source = try #require(run.source)
        let cps = try Fixtures.checkpointLines("q35-source.log")
        #expect(source.phases.map(\.label) == ["stop", "iterable", "non-iterable", "end"])
        for (i, phase) in source.phases.enumerated() {
            #expect(phase.durationUS == cps[i + 1].micros! - cps[i].micros!)
        }
        #expect(source.totalUS == cps.last!.micros! - cps.first!.micros!)
        #expect(source.checkpoints.map(\.offsetUS) == cps.map { $0.micros! - cps[0].micros! })
        #expect(source.shareBasis[.nonIterable] == .phase)
        // Shares of the non-iterable phase add up to (at most) the phase.
        let nonIterableShares = source.devices.filter { $0.device.section == .nonIterable }.compactMap(\.share)
        #expect(nonIterableShares.reduce(0, +) <= 1.0 + 1e-9)
        let destination = try #require(run.destination)
        #expect(destination.phases.map(\.label) == ["load", "bh-schedule", "announce", "vm-start"])
        // Types: both cpu instances together, PCI address stripped.
        let cpu = try #require(source.types.first { $0.type == "cpu" })
        #expect(cpu.count == 2)
        #expect(source.types.contains { $0.type == "e1000e" })
        #expect(source.types.contains { $0.type == "virtio-net" } && source.types.contains { $0.type == "usb-ptr" })
        #expect(source.types.map(\.timeUS) == source.types.map(\.timeUS).sorted(by: >))
    }

    @Test func withoutTimestampsSharesUseSumsAndOffsetsAreUnknown() throws {
        let sink = try report(source: "pc-notimestamp-source.log", destination: "pc-notimestamp-destination.log")
        let run = try #require(sink.runs.first)
        let source = try #require(run.source)
        #expect(source.checkpoints.allSatisfy { $0.offsetUS == nil })
        #expect(source.phases.allSatisfy { $0.durationUS == nil })
        #expect(source.shareBasis[.nonIterable] == .sum)
        let shares = source.devices.filter { $0.device.section == .nonIterable }.compactMap(\.share)
        #expect(abs(shares.reduce(0, +) - 1.0) < 1e-9)
        #expect(run.destination != nil)
    }
}

@Suite struct FastPathTests {
    /// The reader's allocation-free path into a splitter gives the same runs as the event path.
    @Test(arguments: ["pc-source.log", "q35-destination.log", "pc-notimestamp-source.log"])
    func splitterPathEqualsEventPath(_ name: String) throws {
        var fast: [SideLog] = [], slow: [SideLog] = []
        let a = RunSplitter(file: name) { fast.append($0) }
        _ = try LogReader(chunkSize: 4096).read(path: Fixtures.path(name), name: name, into: a)
        a.finish()
        let b = RunSplitter(file: name) { slow.append($0) }
        _ = try LogReader().read(path: Fixtures.path(name), name: name) { b.handle($0) }
        b.finish()
        #expect(fast == slow)
        #expect(!fast.isEmpty && fast.allSatisfy { $0.deviceCount == $0.devices.count })
    }

    @Test func timestampShapes() {
        #expect(LineParser.parseStamp("5402@1795769724.034203:") == 1_795_769_724_034_203)
        #expect(LineParser.parseStamp("1@2.5:") == 2_500_000)          // short fraction
        #expect(LineParser.parseStamp("77@10.123:") == 10_123_000)
        #expect(LineParser.parseStamp("@1.000001:") == nil)            // no thread id
        #expect(LineParser.parseStamp("x5@1.000001:") == nil)
        #expect(LineParser.parseStamp("5@.000001:") == nil)
        #expect(LineParser.parseStamp("5@1.00000a:") == nil)
    }
}
