// SPDX-License-Identifier: MIT
import DevstateIngest
import DevstateModel
import Testing

/// How the logs' parts become the report's runs: numbered across groups, the source log's last
/// run paired with the destination log's last load, `onlyRun` handing out one run of all.
@Suite struct LogPairingTests {
    struct Run {
        var index: Int
        var source: SideLog?
        var destination: SideLog?
    }

    func group(_ source: String?, _ destination: String?, release: String = "10.0") -> ReportGroup {
        ReportGroup(source: source.map { ReportInput(path: Fixtures.path($0, release: release), name: $0, role: .source) },
                    destination: destination.map { ReportInput(path: Fixtures.path($0, release: release), name: $0, role: .destination) })
    }

    func runs(_ groups: [ReportGroup], onlyRun: Int? = nil) throws -> (runs: [Run], inputs: [InputSummary], pairing: LogPairing) {
        var runs: [Run] = []
        let pairing = LogPairing(onlyRun: onlyRun)
        let inputs = try pairing.run(groups: groups) { runs.append(Run(index: $0, source: $1, destination: $2)) }
        return (runs, inputs, pairing)
    }

    @Test func pcSourceSplitsIntoTwoRunsAndPairsTheDestinationWithTheLast() throws {
        for release in Fixtures.releases {
            let (runs, inputs, pairing) = try runs([group("pc-source.log", "pc-destination.log", release: release)])
            let lines = try Fixtures.text("pc-source.log", release: release).split(separator: "\n")
            let starts = lines.indices.filter { lines[$0].hasSuffix("vmstate_downtime_checkpoint src-downtime-start") }.map { $0 + 1 }
            #expect(starts.count == 2)
            #expect(runs.map(\.index) == [1, 2])
            #expect(runs.map { $0.destination != nil } == [false, true])
            #expect(runs.map { $0.source?.index } == [1, 2])
            #expect(runs.map { $0.source?.firstLine } == starts)
            #expect(runs.map { $0.source?.checkpoints.map(\.name) } == [KnownCheckpoints.source, KnownCheckpoints.source])
            #expect(runs[1].destination?.checkpoints.map(\.name) == KnownCheckpoints.destinationPrecopy)
            #expect(runs[1].destination?.file == "pc-destination.log")
            #expect(inputs.map(\.path) == ["pc-source.log", "pc-destination.log"])
            #expect(inputs.map(\.role) == ["source", "destination"])
            #expect(inputs.map(\.sources) == [2, 0])
            #expect(inputs.map(\.destinations) == [0, 1])
            #expect(inputs[0].stats.lines == lines.count)
            #expect(pairing.runCount == 2 && pairing.rendered == 2)
        }
    }

    /// Runs are numbered across groups; `onlyRun` hands out that one, with its devices, and
    /// still reads and counts all.
    @Test func onlyRunIsCountedAcrossGroups() throws {
        let groups = [group("q35-source.log", "q35-destination.log"), group("pc-source.log", "pc-destination.log")]
        let all = try runs(groups)
        #expect(all.runs.map(\.index) == [1, 2, 3])
        #expect(all.runs.map { $0.source?.file } == ["q35-source.log", "pc-source.log", "pc-source.log"])
        for only in 1...3 {
            let one = try runs(groups, onlyRun: only)
            #expect(one.runs.map(\.index) == [only])
            #expect(one.pairing.runCount == 3 && one.pairing.rendered == 1)
            #expect(one.runs[0].source == all.runs[only - 1].source)
            #expect(one.runs[0].destination == all.runs[only - 1].destination)
            #expect((one.runs[0].source?.devices.count ?? 0) > 20)
            #expect(one.inputs == all.inputs)
        }
        let none = try runs(groups, onlyRun: 4)
        #expect(none.runs.isEmpty && none.pairing.runCount == 3 && none.pairing.rendered == 0)
    }

    /// A destination log's earlier loads stand alone, before the source's runs; its last is
    /// paired. A destination alone is a run of its own.
    @Test func earlierLoadsStandAloneAndADestinationAloneIsARun() throws {
        let twice = TemporaryFile(try Fixtures.text("pc-destination.log") + Fixtures.text("pc-destination.log"))
        let groups = [ReportGroup(source: ReportInput(path: Fixtures.path("pc-source.log"), role: .source),
                                  destination: ReportInput(path: twice.path, name: "d", role: .destination))]
        let (runs, inputs, _) = try runs(groups)
        #expect(runs.map { $0.source?.index } == [nil, 1, 2])
        #expect(runs.map { $0.destination?.index } == [1, nil, 2])
        #expect(inputs.map(\.destinations) == [0, 2])
        let alone = try self.runs([group(nil, "q35-destination.log")])
        #expect(alone.runs.count == 1)
        #expect(alone.runs[0].source == nil && alone.runs[0].destination != nil)
        #expect(alone.inputs.map(\.role) == ["destination"])
    }

    /// A log that cannot be read throws; the runs read before it have been handed out.
    @Test func runsBeforeAnUnreadableLogAreHandedOut() throws {
        var handed = 0
        let pairing = LogPairing()
        let error = #expect(throws: LogReadError.self) {
            try pairing.run(groups: [
                group("q35-source.log", nil),
                ReportGroup(source: ReportInput(path: "/nonexistent/devstate.log", role: .source), destination: nil),
            ]) { _, _, _ in handed += 1 }
        }
        #expect(error?.path == "/nonexistent/devstate.log")
        #expect(handed == 1)
    }

    @Test func aLibvirtLogIsOneInputWithItsPairedRun() throws {
        let pairing = LogPairing()
        var runs: [Run] = []
        let (inputs, log) = try pairing.run(libvirtLog: ReportInput(path: LibvirtFixture.path, name: "vm.log", role: .source)) {
            runs.append(Run(index: $0, source: $1, destination: $2))
        }
        #expect(inputs.map(\.role) == ["libvirt"])
        #expect(inputs.map(\.path) == ["vm.log"])
        #expect(inputs[0].sources == 1 && inputs[0].destinations == 1)
        #expect(inputs[0].stats == log.stats)
        #expect(runs.count == 1)
        #expect(runs[0].index == 1 && runs[0].source != nil && runs[0].destination != nil)
        #expect(log.processes.count == 2)
    }
}
