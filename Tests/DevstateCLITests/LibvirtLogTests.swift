// SPDX-License-Identifier: MIT
@_spi(Testing) import DevstateTrace
import Foundation
import Testing

/// libvirt's per-VM logs: split by QEMU process, libvirt's lines ignored, a save paired with its
/// restore, and the no-trace answer. The fixture is a real log (Tests/Fixtures/libvirt/): libvirt
/// 9.0 and QEMU 10.0.2, `devstate trace on --domain`, `virsh save`, `virsh restore` with
/// `<qemu:commandline>` -trace (captured by scripts/libvirt/e2e.py).
enum LibvirtFixture {
    static let path = Fixtures.root + "/libvirt/save-restore.log"

    static func text() throws -> String { try String(contentsOfFile: path, encoding: .utf8) }

    /// The fixture's processes read independently (plain string splitting): each one's save and
    /// load lines as (idstr, instance, section, downtime).
    static func processes(_ text: String) -> [(saves: [Row], loads: [Row])] {
        var result: [(saves: [Row], loads: [Row])] = []
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if raw.contains(": starting up libvirt version") {
                result.append(([], []))
                continue
            }
            if raw.hasPrefix("-") || raw.hasSuffix(" \\") || result.isEmpty { continue }
            guard let r = raw.range(of: "vmstate_downtime_") else { continue }
            let fields = raw[r.upperBound...].split(separator: " ")
            guard fields.count == 5, fields[0] == "save" || fields[0] == "load" else { continue }
            func value(_ f: Substring) -> String { String(f.split(separator: "=", maxSplits: 1)[1]) }
            let row = Row(idstr: value(fields[2]), instance: UInt32(bitPattern: Int32(value(fields[3]))!),
                          section: value(fields[1]), time: UInt64(value(fields[4]))!)
            if fields[0] == "save" { result[result.count - 1].saves.append(row) } else { result[result.count - 1].loads.append(row) }
        }
        return result
    }

    struct Row: Equatable {
        var idstr: String
        var instance: UInt32
        var section: String
        var time: UInt64
    }

    static func rows(_ log: SideLog) -> [Row] {
        log.devices.map { Row(idstr: $0.name, instance: $0.instanceID, section: $0.section.rawValue, time: $0.timeUS) }
    }

    static func write(_ text: String, name: String = "vm") throws -> (dir: String, path: String) {
        let dir = NSTemporaryDirectory() + "devstate-libvirt-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/\(name).log"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return (dir, path)
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
        #expect(log.processes.map(\.shutdownReason).first == "saved")
        #expect(log.processes[1].tracedAtStart && !log.processes[0].tracedAtStart)
        #expect(log.processes.allSatisfy { $0.timestamps && $0.qemuVersion?.hasPrefix("10.0.2") == true })
        // libvirt's lines, the command line with -trace 'vmstate_downtime_*' among them: not malformed.
        #expect(log.stats.malformedLines == 0)
        #expect(log.commandLinesWithMarker == 1)
        let runs = LibvirtLogReader.runs(log)
        #expect(runs.count == 1)
        let run = try #require(runs.first)
        let save = try #require(run.source), restore = try #require(run.destination)
        #expect(LibvirtFixture.rows(save) == oracle[0].saves)
        #expect(LibvirtFixture.rows(restore) == oracle[1].loads)
        #expect(oracle[0].saves.count > 20 && oracle[1].loads.count > 20)
        #expect(save.notes.contains("restored by QEMU process 2"))
        #expect(restore.notes.contains { $0.hasPrefix("restores the save of QEMU process 1") })
        // Through the pipeline: one run with both sides, checkpoints and downtimes.
        let sink = CollectingSink()
        _ = try ReportPipeline().run(libvirtLog: ReportInput(path: LibvirtFixture.path, role: .source), sink: sink)
        #expect(sink.runs.count == 1)
        #expect(sink.runs[0].source?.downtimeUS ?? 0 > 0)
        #expect(sink.runs[0].destination?.downtimeUS ?? 0 > 0)
        #expect(sink.inputs.first?.role == "libvirt")
    }

    @Test func aRestoreWithoutTheTraceLeavesTheSaveAloneWithANote() throws {
        let text = try LibvirtFixture.text()
        // The restored process's trace lines gone, as when the domain starts without <qemu:commandline>.
        var seen = 0
        let cut = text.split(separator: "\n", omittingEmptySubsequences: false).filter { line in
            if line.contains(": starting up ") { seen += 1 }
            return seen < 2 || !(line.contains("vmstate_downtime_load") || line.contains("vmstate_downtime_checkpoint dst-"))
        }.joined(separator: "\n")
        let (_, path) = try LibvirtFixture.write(cut)
        let runs = LibvirtLogReader.runs(try LibvirtLogReader.read(path: path))
        #expect(runs.count == 1)
        #expect(runs.first?.destination == nil)
        #expect(runs.first?.source?.notes.contains { $0.contains("restored it without the downtime trace") } == true)
    }

    @Test func aSaveIsPairedOnlyWhenTheProcessEndedSavedAndTheNextStartedIncoming() throws {
        let text = try LibvirtFixture.text()
        let destroyed = text.replacingOccurrences(of: "shutting down, reason=saved", with: "shutting down, reason=destroyed")
        let (_, path) = try LibvirtFixture.write(destroyed)
        let runs = LibvirtLogReader.runs(try LibvirtLogReader.read(path: path))
        #expect(runs.count == 2)
        #expect(runs.map { $0.source != nil } == [true, false])
        #expect(runs.map { $0.destination != nil } == [false, true])
    }

    @Test func twoSaveRestoreCyclesGiveTwoPairs() throws {
        let text = try LibvirtFixture.text()
        let oracle = LibvirtFixture.processes(text)
        let (_, path) = try LibvirtFixture.write(text + text)
        let log = try LibvirtLogReader.read(path: path)
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
        let (_, path) = try LibvirtFixture.write(lines[start...].joined(separator: "\n"))
        let log = try LibvirtLogReader.read(path: path)
        #expect(log.processes.map(\.index) == [0, 1])
        #expect(log.processes[0].shutdownReason == "saved")
        let runs = LibvirtLogReader.runs(log)
        #expect(runs.count == 1 && runs[0].source != nil && runs[0].destination != nil)
        #expect(!LibvirtLogReader.looksLikeLibvirtLog(path: path))
        #expect(LibvirtLogReader.looksLikeLibvirtLog(path: LibvirtFixture.path))
    }

    @Test func aDamagedTraceLineInALibvirtLogIsStillMalformed() throws {
        let text = try LibvirtFixture.text().replacingOccurrences(of: "idstr=hpet instance_id=0", with: "idstr=hpet instanc")
        let (_, path) = try LibvirtFixture.write(text)
        let log = try LibvirtLogReader.read(path: path)
        #expect(log.stats.malformedLines == 2)  // the save and the load of hpet
        #expect(log.commandLinesWithMarker == 1)
    }

    // MARK: the CLI

    @Test func reportDomainReadsTheLogFromTheDirectoryAndShowsThePair() throws {
        let (dir, _) = try LibvirtFixture.write(try LibvirtFixture.text(), name: "web1")
        let r = try devstate(["report", "--domain", "web1", "--libvirt-log-dir", dir])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("source: \(dir)/web1.log run 1"))
        #expect(r.out.contains("destination: \(dir)/web1.log"))
        #expect(r.out.contains("restored by QEMU process 2"))
        #expect(r.err.contains("2 QEMU processes (1 started with -incoming), 1 save and 1 restore traced, 1 paired"))
        // The same log given as a file is recognised as libvirt's.
        let plain = try devstate(["report", "\(dir)/web1.log"])
        #expect(plain.status == 0 && plain.out == r.out)
        let json = try devstate(["report", "--domain", "web1", "--libvirt-log-dir", dir, "--format", "json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.out.utf8)) as? [String: Any])
        let runs = try #require(object["runs"] as? [[String: Any]])
        #expect(runs.count == 1 && runs[0]["source"] != nil && runs[0]["destination"] != nil)
        #expect(object["malformed-lines"] as? Int == 0)
    }

    @Test func reportDomainWithoutALogSaysWhere() throws {
        let r = try devstate(["report", "--domain", "nope", "--libvirt-log-dir", NSTemporaryDirectory()])
        #expect(r.status == 1)
        #expect(r.err.contains("no libvirt log for domain nope"))
        #expect(try devstate(["report", "--domain", "a", "x.log"]).status == 64)
    }

    static let captureWays = ["-trace vmstate_downtime_save -trace vmstate_downtime_load -trace vmstate_downtime_checkpoint",
                              "devstate trace on --qmp SOCKET", "<qemu:commandline>", "<qemu:arg value='vmstate_downtime_*'/>"]

    @Test func noTraceInAnyInputExitsEightAndSaysHowToCaptureOne() throws {
        // The first process of the fixture up to its save: libvirt's lines only, never traced.
        let lines = try LibvirtFixture.text().split(separator: "\n", omittingEmptySubsequences: false)
        let firstTrace = try #require(lines.firstIndex { $0.contains("@") && $0.contains(":vmstate_downtime_") })
        let (dir, untraced) = try LibvirtFixture.write(lines[..<firstTrace].joined(separator: "\n") + "\n", name: "quiet")
        let empty = dir + "/empty.log"
        _ = FileManager.default.createFile(atPath: empty, contents: Data())
        let binary = dir + "/random.bin"
        var generator = SystemRandomNumberGenerator()
        _ = FileManager.default.createFile(atPath: binary, contents: Data((0..<65536).map { _ in UInt8.random(in: 0...255, using: &generator) }))
        try FileManager.default.copyItem(atPath: binary, toPath: dir + "/noise.log")
        for args in [["report", empty], ["report", binary], ["report", "--domain", "quiet", "--libvirt-log-dir", dir],
                     ["report", "--domain", "noise", "--libvirt-log-dir", dir],
                     ["report", untraced, "--format", "json"], ["report", empty, binary]] {
            let r = try devstate(args)
            #expect(r.status == 8, "\(args): \(r.status) \(r.err)")
            #expect(r.err.contains("no vmstate_downtime_* trace event in"), "\(args)")
            for way in Self.captureWays { #expect(r.err.contains(way), "\(args): \(way)") }
        }
        let domain = try devstate(["report", "--domain", "quiet", "--libvirt-log-dir", dir])
        #expect(domain.err.contains("devstate trace on --domain quiet"))
        // One log with events is enough: a destination-only report is still a report.
        let fixtures = Fixtures.path("pc-destination.log")
        #expect(try devstate(["report", empty, fixtures]).status == 0)
        // The help and the status table name it.
        #expect(flat(try devstate(["report", "--help"]).out).contains("8 = no vmstate_downtime_* event in any input"))
    }

    @Test func traceNeedsOneTarget() throws {
        #expect(try devstate(["trace", "on"]).status == 64)
        #expect(try devstate(["trace", "on", "--qmp", "a", "--domain", "b"]).status == 64)
        #expect(try devstate(["trace", "maybe", "--qmp", "a"]).status == 64)
        let r = try devstate(["trace", "on", "--qmp", NSTemporaryDirectory() + "no-such.sock", "--timeout", "1"])
        #expect(r.status == 1 && r.err.contains("cannot connect"))
    }
}

@Suite struct TraceBackendTests {
    func binary(_ bytes: [UInt8]) throws -> String {
        let path = NSTemporaryDirectory() + "devstate-backend-\(UUID().uuidString)"
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return path
    }

    @Test func theLogBackendsFormatStringsTellIt() throws {
        let filler = [UInt8](repeating: 0x41, count: (1 << 20) - 20)  // the string straddles a chunk
        let stamped = Array("%d@%zu.%06zu:vmstate_downtime_save type=%s idstr=%s".utf8)
        #expect(TraceBackend.of(binary: try binary(filler + stamped + [0])) == .log)
        #expect(TraceBackend.of(binary: try binary(filler + Array("vmstate_downtime_save type=%s idstr".utf8))) == .logOrSyslog)
        #expect(TraceBackend.of(binary: try binary(Array("vmstate_downtime_save\0vmstate_downtime_load".utf8))) == .none)
        #expect(TraceBackend.of(binary: try binary(Array("vmstate_downtime_save".utf8))).canLog == false)
        if case .unknown = TraceBackend.of(binary: "/nonexistent/qemu") {} else { Issue.record("a missing binary is unknown") }
        // The stock QEMU 10.0 of Debian, when installed.
        if FileManager.default.fileExists(atPath: "/usr/bin/qemu-system-x86_64") {
            #expect(TraceBackend.of(binary: "/usr/bin/qemu-system-x86_64") == .log)
        }
    }
}
