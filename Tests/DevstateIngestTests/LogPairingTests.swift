// SPDX-License-Identifier: MIT
import DevstateIngest
import DevstateModel
import XCTest

/// How the logs' parts become the report's runs: numbered across groups, the source log's last
/// run paired with the destination log's last load, `onlyRun` handing out one run of all.
final class LogPairingTests: XCTestCase {
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

    func testPCSourceSplitsIntoTwoRunsAndPairsTheDestinationWithTheLast() throws {
        for release in Fixtures.releases {
            let (runs, inputs, pairing) = try runs([group("pc-source.log", "pc-destination.log", release: release)])
            let lines = try Fixtures.text("pc-source.log", release: release).split(separator: "\n")
            let starts = lines.indices.filter { lines[$0].hasSuffix("vmstate_downtime_checkpoint src-downtime-start") }.map { $0 + 1 }
            XCTAssertEqual(starts.count, 2)
            XCTAssertEqual(runs.map(\.index), [1, 2])
            XCTAssertEqual(runs.map { $0.destination != nil }, [false, true])
            XCTAssertEqual(runs.map { $0.source?.index }, [1, 2])
            XCTAssertEqual(runs.map { $0.source?.firstLine }, starts)
            XCTAssertEqual(runs.map { $0.source?.checkpoints.map(\.name) }, [KnownCheckpoints.source, KnownCheckpoints.source])
            XCTAssertEqual(runs[1].destination?.checkpoints.map(\.name), KnownCheckpoints.destinationPrecopy)
            XCTAssertEqual(runs[1].destination?.file, "pc-destination.log")
            XCTAssertEqual(inputs.map(\.path), ["pc-source.log", "pc-destination.log"])
            XCTAssertEqual(inputs.map(\.role), ["source", "destination"])
            XCTAssertEqual(inputs.map(\.sources), [2, 0])
            XCTAssertEqual(inputs.map(\.destinations), [0, 1])
            XCTAssertEqual(inputs[0].stats.lines, lines.count)
            XCTAssertTrue(pairing.runCount == 2 && pairing.rendered == 2)
        }
    }

    /// Runs are numbered across groups; `onlyRun` hands out that one, with its devices, and
    /// still reads and counts all.
    func testOnlyRunIsCountedAcrossGroups() throws {
        let groups = [group("q35-source.log", "q35-destination.log"), group("pc-source.log", "pc-destination.log")]
        let all = try runs(groups)
        XCTAssertEqual(all.runs.map(\.index), [1, 2, 3])
        XCTAssertEqual(all.runs.map { $0.source?.file }, ["q35-source.log", "pc-source.log", "pc-source.log"])
        for only in 1...3 {
            let one = try runs(groups, onlyRun: only)
            XCTAssertEqual(one.runs.map(\.index), [only])
            XCTAssertTrue(one.pairing.runCount == 3 && one.pairing.rendered == 1)
            XCTAssertEqual(one.runs[0].source, all.runs[only - 1].source)
            XCTAssertEqual(one.runs[0].destination, all.runs[only - 1].destination)
            XCTAssertGreaterThan(one.runs[0].source?.devices.count ?? 0, 20)
            XCTAssertEqual(one.inputs, all.inputs)
        }
        let none = try runs(groups, onlyRun: 4)
        XCTAssertTrue(none.runs.isEmpty && none.pairing.runCount == 3 && none.pairing.rendered == 0)
    }

    /// A destination log's earlier loads stand alone, before the source's runs; its last is
    /// paired. A destination alone is a run of its own.
    func testEarlierLoadsStandAloneAndADestinationAloneIsARun() throws {
        let twice = TemporaryFile(try Fixtures.text("pc-destination.log") + Fixtures.text("pc-destination.log"))
        let groups = [ReportGroup(source: ReportInput(path: Fixtures.path("pc-source.log"), role: .source),
                                  destination: ReportInput(path: twice.path, name: "d", role: .destination))]
        let (runs, inputs, _) = try runs(groups)
        XCTAssertEqual(runs.map { $0.source?.index }, [nil, 1, 2])
        XCTAssertEqual(runs.map { $0.destination?.index }, [1, nil, 2])
        XCTAssertEqual(inputs.map(\.destinations), [0, 2])
        let alone = try self.runs([group(nil, "q35-destination.log")])
        XCTAssertEqual(alone.runs.count, 1)
        XCTAssertTrue(alone.runs[0].source == nil && alone.runs[0].destination != nil)
        XCTAssertEqual(alone.inputs.map(\.role), ["destination"])
    }

    /// A log that cannot be read throws; the runs read before it have been handed out.
    func testRunsBeforeAnUnreadableLogAreHandedOut() throws {
        var handed = 0
        let pairing = LogPairing()
        XCTAssertThrowsError(try pairing.run(groups: [
            group("q35-source.log", nil),
            ReportGroup(source: ReportInput(path: "/nonexistent/devstate.log", role: .source), destination: nil),
        ]) { _, _, _ in handed += 1 }) { error in
            XCTAssertEqual((error as? LogReadError)?.path, "/nonexistent/devstate.log")
        }
        XCTAssertEqual(handed, 1)
    }

    func testALibvirtLogIsOneInputWithItsPairedRun() throws {
        let pairing = LogPairing()
        var runs: [Run] = []
        let (inputs, log) = try pairing.run(libvirtLog: ReportInput(path: LibvirtFixture.path, name: "vm.log", role: .source)) {
            runs.append(Run(index: $0, source: $1, destination: $2))
        }
        XCTAssertEqual(inputs.map(\.role), ["libvirt"])
        XCTAssertEqual(inputs.map(\.path), ["vm.log"])
        XCTAssertTrue(inputs[0].sources == 1 && inputs[0].destinations == 1)
        XCTAssertEqual(inputs[0].stats, log.stats)
        XCTAssertEqual(runs.count, 1)
        XCTAssertTrue(runs[0].index == 1 && runs[0].source != nil && runs[0].destination != nil)
        XCTAssertEqual(log.processes.count, 2)
    }
}
