// SPDX-License-Identifier: MIT
import DevstateIngest
import DevstateModel
import Foundation
import Testing

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

@Suite struct LibvirtLogTests {
    @Test func realLogSplitsIntoTwoProcessesAndPairsTheSaveWithItsRestore() throws {
        let text = try LibvirtFixture.text()
        let log = try LibvirtLogReader.read(path: LibvirtFixture.path)
        let oracle = LibvirtFixture.processes(text)
        #expect(log.processes.count == 2)
        #expect(oracle.count == 2)
        #expect(log.processes.map(\.incoming) == [false, true])
        #expect(log.processes.first?.shutdownReason == "saved")
        #expect(log.processes[1].tracedAtStart && !log.processes[0].tracedAtStart)
        #expect(log.processes.allSatisfy { $0.timestamps && $0.qemuVersion?.hasPrefix("10.0.2") == true })
        #expect(log.processes.allSatisfy { $0.startedAt?.count == 28 })
        #expect(log.processes[1].firstLine == log.processes[0].lastLine + 1)
        #expect(log.stats.lines == text.split(separator: "\n", omittingEmptySubsequences: false).count - 1)
        #expect(log.stats.bytes == UInt64(text.utf8.count))
        // libvirt's lines, the command line with -trace 'vmstate_downtime_*' among them: not malformed.
        #expect(log.stats.malformedLines == 0)
        #expect(log.commandLinesWithMarker == 1)
        let runs = LibvirtLogReader.runs(log)
        #expect(runs.count == 1)
        let save = try #require(runs.first?.source), restore = try #require(runs.first?.destination)
        #expect(LibvirtFixture.rows(save) == oracle[0].saves)
        #expect(LibvirtFixture.rows(restore) == oracle[1].loads)
        #expect(oracle[0].saves.count > 20 && oracle[1].loads.count > 20)
        #expect(save.notes.contains("restored by QEMU process 2"))
        #expect(restore.notes.contains { $0.hasPrefix("restores the save of QEMU process 1") })
        #expect(save.notes.contains { $0.hasPrefix("libvirt log: QEMU process 1 (started ") && $0.hasSuffix(", shut down reason=saved") })
    }

    @Test func aRestoreWithoutTheTraceLeavesTheSaveAloneWithANote() throws {
        // The restored process's trace lines gone, as when the domain starts without <qemu:commandline>.
        var seen = 0
        let cut = try LibvirtFixture.text().split(separator: "\n", omittingEmptySubsequences: false).filter { line in
            if line.contains(": starting up ") { seen += 1 }
            return seen < 2 || !(line.contains("vmstate_downtime_load") || line.contains("vmstate_downtime_checkpoint dst-"))
        }.joined(separator: "\n")
        let file = TemporaryFile(cut)
        let runs = LibvirtLogReader.runs(try LibvirtLogReader.read(path: file.path))
        #expect(runs.count == 1)
        #expect(runs.first?.destination == nil)
        #expect(runs.first?.source?.notes.contains { $0.contains("restored it without the downtime trace") } == true)
    }

    @Test func aSaveIsPairedOnlyWhenTheProcessEndedSavedAndTheNextStartedIncoming() throws {
        let file = TemporaryFile(try LibvirtFixture.text().replacingOccurrences(
            of: "shutting down, reason=saved", with: "shutting down, reason=destroyed"))
        let runs = LibvirtLogReader.runs(try LibvirtLogReader.read(path: file.path))
        #expect(runs.map { $0.source != nil } == [true, false])
        #expect(runs.map { $0.destination != nil } == [false, true])
    }

    @Test func twoSaveRestoreCyclesGiveTwoPairs() throws {
        let text = try LibvirtFixture.text()
        let oracle = LibvirtFixture.processes(text)
        let file = TemporaryFile(text + text)
        let log = try LibvirtLogReader.read(path: file.path)
        #expect(log.processes.map(\.index) == [1, 2, 3, 4])
        let runs = LibvirtLogReader.runs(log)
        #expect(runs.count == 2)
        for run in runs {
            #expect(run.source.map(LibvirtFixture.rows) == oracle[0].saves)
            #expect(run.destination.map(LibvirtFixture.rows) == oracle[1].loads)
        }
        #expect(runs[1].source?.notes.contains("restored by QEMU process 4") == true)
    }

    @Test func managedSaveOfARestoredVMPairsWithTheNextStart() throws {
        // virsh save, virsh restore (traced), virsh managedsave, virsh start: three processes; the
        // second loads (the restore) and then saves (the managed save).
        let path = Fixtures.root + "/libvirt/managedsave.log"
        let oracle = LibvirtFixture.processes(try String(contentsOfFile: path, encoding: .utf8))
        let log = try LibvirtLogReader.read(path: path)
        #expect(log.processes.map(\.incoming) == [false, true, true])
        #expect(log.processes.map(\.shutdownReason) == ["saved", "saved", nil])
        #expect(log.processes[1].parts.map(\.side) == [.destination, .source])
        #expect(log.stats.malformedLines == 0 && log.commandLinesWithMarker == 2)
        let runs = LibvirtLogReader.runs(log)
        #expect(runs.count == 2)
        for (i, run) in runs.enumerated() {
            #expect(run.source.map(LibvirtFixture.rows) == oracle[i].saves)
            #expect(run.destination.map(LibvirtFixture.rows) == oracle[i + 1].loads)
        }
        #expect(oracle.count == 3 && oracle.allSatisfy { !$0.saves.isEmpty || !$0.loads.isEmpty })
        // Numbered across the log ("run 2"), not within each process.
        #expect(runs.map { $0.source?.index } == [1, 2])
        #expect(runs.map { $0.destination?.index } == [1, 2])
    }

    @Test func linesBeforeTheFirstStartCountAsAProcessOfTheirOwn() throws {
        // A rotated log: it begins in the middle of the first process (its save), then a restore.
        let lines = try LibvirtFixture.text().split(separator: "\n", omittingEmptySubsequences: false)
        let start = try #require(lines.firstIndex { $0.contains("src-downtime-start") })
        let file = TemporaryFile(lines[start...].joined(separator: "\n"))
        let log = try LibvirtLogReader.read(path: file.path)
        #expect(log.processes.map(\.index) == [0, 1])
        #expect(log.processes[0].shutdownReason == "saved")
        #expect(log.processes[0].label == "the lines before the first libvirt start")
        let runs = LibvirtLogReader.runs(log)
        #expect(runs.count == 1 && runs[0].source != nil && runs[0].destination != nil)
        #expect(!LibvirtLogReader.looksLikeLibvirtLog(path: file.path))
        #expect(LibvirtLogReader.looksLikeLibvirtLog(path: LibvirtFixture.path))
        #expect(!LibvirtLogReader.looksLikeLibvirtLog(path: "/nonexistent/vm.log"))
        #expect(!LibvirtLogReader.looksLikeLibvirtLog(path: "-"))
    }

    @Test func aDamagedTraceLineInALibvirtLogIsStillMalformed() throws {
        let text = try LibvirtFixture.text().replacingOccurrences(of: "idstr=hpet instance_id=0", with: "idstr=hpet instanc")
        let file = TemporaryFile(String(text.dropLast()))  // and no newline at the end
        let log = try LibvirtLogReader.read(path: file.path, name: "vm", keepMalformed: 1)
        #expect(log.stats.malformedLines == 2)  // the save and the load of hpet
        #expect(log.stats.malformed.map(\.reason) == ["instance_id is not a number"])
        #expect(log.stats.malformed.first?.file == "vm")
        #expect(log.stats.malformed.first?.text.contains("idstr=hpet instanc downtime=") == true)
        #expect(log.commandLinesWithMarker == 1)
        #expect(log.stats.endedWithoutNewline)
        let missing = #expect(throws: LogReadError.self) { try LibvirtLogReader.read(path: "/nonexistent/vm.log") }
        #expect(missing?.message == "No such file or directory")
        let directory = #expect(throws: LogReadError.self) { try LibvirtLogReader.read(path: NSTemporaryDirectory()) }
        #expect(directory?.message == "read: Is a directory")
    }
}
