// SPDX-License-Identifier: MIT
import DevstateIngest
import DevstateModel
import XCTest

/// libvirt's per-VM logs: split by QEMU process, libvirt's lines ignored, a save paired with its
/// restore. The fixture is a real log (Tests/Fixtures/libvirt/): libvirt 9.0 and QEMU 10.0.2,
/// `devstate trace on --domain`, `virsh save`, `virsh restore` with `<qemu:commandline>` -trace.
enum LibvirtFixture {
    static let path = Fixtures.root + "/libvirt/save-restore.log"

    static func text() throws -> String { try String(contentsOfFile: path, encoding: .utf8) }

    struct Row: Equatable {
        var idstr: String
        var instance: UInt32
        var section: String
        var time: UInt64
    }

    /// The processes read independently (plain string splitting): each one's saves and loads.
    static func processes(_ text: String) -> [(saves: [Row], loads: [Row])] {
        var result: [(saves: [Row], loads: [Row])] = []
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if raw.contains(": starting up libvirt version") {
                result.append(([], []))
                continue
            }
            if raw.hasPrefix("-") || raw.hasSuffix(" \\") || result.isEmpty { continue }
            for line in Fixtures.deviceLines(String(raw)) {
                let row = Row(idstr: line.idstr, instance: line.instance, section: line.type, time: line.downtime)
                if line.event == "save" { result[result.count - 1].saves.append(row) } else { result[result.count - 1].loads.append(row) }
            }
        }
        return result
    }

    static func rows(_ log: SideLog) -> [Row] {
        log.devices.map { Row(idstr: $0.name, instance: $0.instanceID, section: $0.section.rawValue, time: $0.timeUS) }
    }
}

final class LibvirtLogTests: XCTestCase {
    func testRealLogSplitsIntoTwoProcessesAndPairsTheSaveWithItsRestore() throws {
        let text = try LibvirtFixture.text()
        let log = try LibvirtLogReader.read(path: LibvirtFixture.path)
        let oracle = LibvirtFixture.processes(text)
        XCTAssertEqual(log.processes.count, 2)
        XCTAssertEqual(oracle.count, 2)
        XCTAssertEqual(log.processes.map(\.incoming), [false, true])
        XCTAssertEqual(log.processes.first?.shutdownReason, "saved")
        XCTAssertTrue(log.processes[1].tracedAtStart && !log.processes[0].tracedAtStart)
        XCTAssertTrue(log.processes.allSatisfy { $0.timestamps && $0.qemuVersion?.hasPrefix("10.0.2") == true })
        XCTAssertTrue(log.processes.allSatisfy { $0.startedAt?.count == 28 })
        XCTAssertEqual(log.processes[1].firstLine, log.processes[0].lastLine + 1)
        XCTAssertEqual(log.stats.lines, text.split(separator: "\n", omittingEmptySubsequences: false).count - 1)
        XCTAssertEqual(log.stats.bytes, UInt64(text.utf8.count))
        // libvirt's lines, the command line with -trace 'vmstate_downtime_*' among them: not malformed.
        XCTAssertEqual(log.stats.malformedLines, 0)
        XCTAssertEqual(log.commandLinesWithMarker, 1)
        let runs = LibvirtLogReader.runs(log)
        XCTAssertEqual(runs.count, 1)
        let save = try XCTUnwrap(runs.first?.source), restore = try XCTUnwrap(runs.first?.destination)
        XCTAssertEqual(LibvirtFixture.rows(save), oracle[0].saves)
        XCTAssertEqual(LibvirtFixture.rows(restore), oracle[1].loads)
        XCTAssertTrue(oracle[0].saves.count > 20 && oracle[1].loads.count > 20)
        XCTAssertTrue(save.notes.contains("restored by QEMU process 2"))
        XCTAssertTrue(restore.notes.contains { $0.hasPrefix("restores the save of QEMU process 1") })
        XCTAssertTrue(save.notes.contains { $0.hasPrefix("libvirt log: QEMU process 1 (started ") && $0.hasSuffix(", shut down reason=saved") })
    }

    func testARestoreWithoutTheTraceLeavesTheSaveAloneWithANote() throws {
        // The restored process's trace lines gone, as when the domain starts without <qemu:commandline>.
        var seen = 0
        let cut = try LibvirtFixture.text().split(separator: "\n", omittingEmptySubsequences: false).filter { line in
            if line.contains(": starting up ") { seen += 1 }
            return seen < 2 || !(line.contains("vmstate_downtime_load") || line.contains("vmstate_downtime_checkpoint dst-"))
        }.joined(separator: "\n")
        let file = TemporaryFile(cut)
        let runs = LibvirtLogReader.runs(try LibvirtLogReader.read(path: file.path))
        XCTAssertEqual(runs.count, 1)
        XCTAssertNil(runs.first?.destination)
        XCTAssertEqual(runs.first?.source?.notes.contains { $0.contains("restored it without the downtime trace") }, true)
    }

    func testASaveIsPairedOnlyWhenTheProcessEndedSavedAndTheNextStartedIncoming() throws {
        let file = TemporaryFile(try LibvirtFixture.text().replacingOccurrences(
            of: "shutting down, reason=saved", with: "shutting down, reason=destroyed"))
        let runs = LibvirtLogReader.runs(try LibvirtLogReader.read(path: file.path))
        XCTAssertEqual(runs.map { $0.source != nil }, [true, false])
        XCTAssertEqual(runs.map { $0.destination != nil }, [false, true])
    }

    func testTwoSaveRestoreCyclesGiveTwoPairs() throws {
        let text = try LibvirtFixture.text()
        let oracle = LibvirtFixture.processes(text)
        let file = TemporaryFile(text + text)
        let log = try LibvirtLogReader.read(path: file.path)
        XCTAssertEqual(log.processes.map(\.index), [1, 2, 3, 4])
        let runs = LibvirtLogReader.runs(log)
        XCTAssertEqual(runs.count, 2)
        for run in runs {
            XCTAssertEqual(run.source.map(LibvirtFixture.rows), oracle[0].saves)
            XCTAssertEqual(run.destination.map(LibvirtFixture.rows), oracle[1].loads)
        }
        XCTAssertEqual(runs[1].source?.notes.contains("restored by QEMU process 4"), true)
    }

    func testManagedSaveOfARestoredVMPairsWithTheNextStart() throws {
        // virsh save, virsh restore (traced), virsh managedsave, virsh start: three processes; the
        // second loads (the restore) and then saves (the managed save).
        let path = Fixtures.root + "/libvirt/managedsave.log"
        let oracle = LibvirtFixture.processes(try String(contentsOfFile: path, encoding: .utf8))
        let log = try LibvirtLogReader.read(path: path)
        XCTAssertEqual(log.processes.map(\.incoming), [false, true, true])
        XCTAssertEqual(log.processes.map(\.shutdownReason), ["saved", "saved", nil])
        XCTAssertEqual(log.processes[1].parts.map(\.side), [.destination, .source])
        XCTAssertTrue(log.stats.malformedLines == 0 && log.commandLinesWithMarker == 2)
        let runs = LibvirtLogReader.runs(log)
        XCTAssertEqual(runs.count, 2)
        for (i, run) in runs.enumerated() {
            XCTAssertEqual(run.source.map(LibvirtFixture.rows), oracle[i].saves)
            XCTAssertEqual(run.destination.map(LibvirtFixture.rows), oracle[i + 1].loads)
        }
        XCTAssertTrue(oracle.count == 3 && oracle.allSatisfy { !$0.saves.isEmpty || !$0.loads.isEmpty })
        // Numbered across the log ("run 2"), not within each process.
        XCTAssertEqual(runs.map { $0.source?.index }, [1, 2])
        XCTAssertEqual(runs.map { $0.destination?.index }, [1, 2])
    }

    func testLinesBeforeTheFirstStartCountAsAProcessOfTheirOwn() throws {
        // A rotated log: it begins in the middle of the first process (its save), then a restore.
        let lines = try LibvirtFixture.text().split(separator: "\n", omittingEmptySubsequences: false)
        let start = try XCTUnwrap(lines.firstIndex { $0.contains("src-downtime-start") })
        let file = TemporaryFile(lines[start...].joined(separator: "\n"))
        let log = try LibvirtLogReader.read(path: file.path)
        XCTAssertEqual(log.processes.map(\.index), [0, 1])
        XCTAssertEqual(log.processes[0].shutdownReason, "saved")
        XCTAssertEqual(log.processes[0].label, "the lines before the first libvirt start")
        let runs = LibvirtLogReader.runs(log)
        XCTAssertTrue(runs.count == 1 && runs[0].source != nil && runs[0].destination != nil)
        XCTAssertFalse(LibvirtLogReader.looksLikeLibvirtLog(path: file.path))
        XCTAssertTrue(LibvirtLogReader.looksLikeLibvirtLog(path: LibvirtFixture.path))
        XCTAssertFalse(LibvirtLogReader.looksLikeLibvirtLog(path: "/nonexistent/vm.log"))
        XCTAssertFalse(LibvirtLogReader.looksLikeLibvirtLog(path: "-"))
    }

    func testADamagedTraceLineInALibvirtLogIsStillMalformed() throws {
        let text = try LibvirtFixture.text().replacingOccurrences(of: "idstr=hpet instance_id=0", with: "idstr=hpet instanc")
        let file = TemporaryFile(String(text.dropLast()))  // and no newline at the end
        let log = try LibvirtLogReader.read(path: file.path, name: "vm", keepMalformed: 1)
        XCTAssertEqual(log.stats.malformedLines, 2)  // the save and the load of hpet
        XCTAssertEqual(log.stats.malformed.map(\.reason), ["instance_id is not a number"])
        XCTAssertEqual(log.stats.malformed.first?.file, "vm")
        XCTAssertTrue(log.stats.malformed.first?.text.contains("idstr=hpet instanc downtime=") == true)
        XCTAssertEqual(log.commandLinesWithMarker, 1)
        XCTAssertTrue(log.stats.endedWithoutNewline)
        XCTAssertThrowsError(try LibvirtLogReader.read(path: "/nonexistent/vm.log")) { error in
            XCTAssertEqual((error as? LogReadError)?.message, "No such file or directory")
        }
        XCTAssertThrowsError(try LibvirtLogReader.read(path: NSTemporaryDirectory())) { error in
            XCTAssertEqual((error as? LogReadError)?.message, "read: Is a directory")
        }
    }
}
