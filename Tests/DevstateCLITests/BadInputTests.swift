// SPDX-License-Identifier: MIT
@_spi(Testing) import DevstateTrace
import Foundation
import Testing

@Suite struct BadInputTests {
    /// A real log, damaged: a truncated line, a garbled line, unrelated lines, and a last line
    /// without its newline. Only the damaged lines are lost; their numbers are reported.
    @Test func damagedLinesAreCountedWithNumbersAndNothingElseIsLost() throws {
        var lines = try Fixtures.text("q35-source.log").split(separator: "\n").map(String.init)
        let original = lines.count
        lines[9] = String(lines[9].prefix(60))                       // line 10: truncated
        lines.insert("qemu-system-x86_64: warning: unrelated", at: 20) // line 21: unrelated
        lines.insert("1@2.3:vmstate_downtime_save type=non-iterable idstr=x instance_id=0 downtime=1" +
                     "9@9.9:vmstate_downtime_checkpoint", at: 30)     // line 31: two lines glued
        var text = lines.joined(separator: "\n") + "\n"
        text += "5402@1795769724.055392:vmstate_downtime_save type=non-iter"  // no newline
        let (events, stats) = readAll(text)
        #expect(stats.malformedLines == 3)
        #expect(stats.malformed.map(\.line) == [10, 31, lines.count + 1])
        #expect(stats.endedWithoutNewline)
        #expect(events.count == original - 1)
        #expect(stats.lines == lines.count + 1)
    }

    /// A trace line over the length limit is skipped and counted the same way whether it ends
    /// inside a chunk or runs across a chunk's end (found by FuzzTrace: with 1 MiB chunks a
    /// complete long line used to be parsed, with 4 KiB chunks the same line was skipped).
    @Test func anOverlongLineIsSkippedWhateverTheChunkSize() throws {
        let long = "1@2.3:vmstate_downtime_save type=non-iterable idstr=" + String(repeating: "a", count: 300)
            + " instance_id=0 downtime=5"
        let ok = "1@2.3:vmstate_downtime_save type=non-iterable idstr=b instance_id=0 downtime=7"
        let text = String(repeating: "x\n", count: 1900) + long + "\n" + ok + "\n"
        let path = NSTemporaryDirectory() + "devstate-overlong-\(UUID().uuidString).log"
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        var results: [ReadStats] = []
        for chunk in [4096, 1 << 20] {
            var events: [TraceEvent] = []
            let stats = try LogReader(keepMalformed: 5, chunkSize: chunk, maxLineLength: 256, threads: 1)
                .read(path: path) { events.append($0) }
            #expect(events.count == 1, "chunk \(chunk)")
            #expect(stats.malformed.map(\.reason) == ["line too long"], "chunk \(chunk)")
            #expect(stats.malformed.map(\.line) == [1901], "chunk \(chunk)")
            results.append(stats)
        }
        #expect(results[0] == results[1])
    }

    @Test func unknownCheckpointIsKeptAndShown() throws {
        var text = try Fixtures.text("q35-source.log")
        text = text.replacingOccurrences(of: "vmstate_downtime_checkpoint src-iterable-saved",
                                         with: "vmstate_downtime_checkpoint src-iterable-saved\n5402@1795769738.168400:vmstate_downtime_checkpoint src-new-thing")
        let path = NSTemporaryDirectory() + "devstate-unknown-\(UUID().uuidString).log"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let sink = CollectingSink()
        _ = try ReportPipeline().run(groups: [ReportGroup(source: ReportInput(path: path, role: .source), destination: nil)], sink: sink)
        let source = try #require(sink.runs.first?.source)
        let unknown = try #require(source.checkpoints.first { $0.name == "src-new-thing" })
        #expect(!unknown.known)
        #expect(source.notes.contains { $0.contains("src-new-thing") })
        var table = ""
        let t = TableSink(width: 100, out: .strings { table += $0 })
        t.run(sink.runs[0])
        t.flush()
        #expect(table.contains("src-new-thing"))
    }

    /// The sinks gather runs' text into larger writes; a log that cannot be read still gets
    /// the runs read before it written.
    @Test func runsBeforeAnUnreadableLogAreWritten() throws {
        for make in [{ CSVSink(out: $0) as ReportSink }, { JSONSink(pretty: false, out: $0) }, { TableSink(width: 100, out: $0) }] {
            var text = ""
            let sink = make(.strings { text += $0 })
            #expect(throws: LogReadError.self) {
                _ = try ReportPipeline().run(groups: [
                    ReportGroup(source: ReportInput(path: Fixtures.path("q35-source.log"), role: .source), destination: nil),
                    ReportGroup(source: ReportInput(path: "/nonexistent/devstate.log", role: .source), destination: nil),
                ], sink: sink)
            }
            #expect(text.contains("e1000e"), "\(sink)")
        }
    }

    @Test func overlongLineIsSkippedAndCounted() throws {
        let good = "vmstate_downtime_checkpoint src-downtime-start\n"
        let long = "vmstate_downtime_save " + String(repeating: "x", count: 200_000) + "\n"
        let (events, stats) = readAll(good + long + good, chunkSize: 65536)
        #expect(events.count == 2)
        #expect(stats.malformedLines == 1)
        #expect(stats.malformed.first?.line == 2)
        #expect(stats.lines == 3)
    }

    @Test func savesBeforeAnyStartFormAFlaggedRun() {
        var parts: [SideLog] = []
        let splitter = RunSplitter(file: "x") { parts.append($0) }
        splitter.handle(.device(.save, DeviceTime(idstr: Array("cpu".utf8), instanceID: 0, section: .nonIterable, timeUS: 5, line: 1)))
        splitter.handle(.checkpoint(Checkpoint(name: "src-downtime-start", line: 2)))
        splitter.handle(.device(.save, DeviceTime(idstr: Array("cpu".utf8), instanceID: 0, section: .nonIterable, timeUS: 6, line: 3)))
        splitter.finish()
        #expect(parts.count == 2)
        #expect(parts[0].startedAtCheckpoint == false && parts[1].startedAtCheckpoint == true)
        let report = Analyzer().analyze(parts[0])
        #expect(report.notes.contains { $0.contains("no src-downtime-start") })
        #expect(report.recorder.complete == false)
    }

    @Test func missingFileIsAnError() {
        #expect(throws: LogReadError.self) {
            _ = try LogReader().read(path: "/nonexistent/devstate.log") { _ in }
        }
    }
}

@Suite struct ThreadedReaderTests {
    /// The two-thread reader gives exactly what the one-thread reader gives, damage included,
    /// whatever the chunk size.
    @Test(arguments: [4096, 65536, 1 << 22])
    func threadedEqualsDirect(_ chunk: Int) throws {
        var lines = try Fixtures.text("pc-source.log").split(separator: "\n").map(String.init)
        lines[7] = String(lines[7].prefix(40))
        var text = ""
        for i in 0..<300 {
            text += lines.joined(separator: "\n") + "\n"
            text += "6096@1795769733.100000:migrate_set_state new state active\n"
            if i == 150 { text += "vmstate_downtime_save " + String(repeating: "y", count: 70_000) + "\n" }
        }
        text += "5402@1795769724.055392:vmstate_downtime_checkpoint src-downt"
        let (direct, a) = readAll(text, chunkSize: chunk, threads: 1)
        let (threaded, b) = readAll(text, chunkSize: chunk, threads: 2)
        #expect(direct == threaded)
        var bSameFile = b
        for i in bSameFile.malformed.indices { bSameFile.malformed[i].file = a.malformed[i].file }
        #expect(a == bSameFile)
        #expect(a.malformedLines == 300 + 1 + 1)
        #expect(a.lines == 300 * (lines.count + 1) + 1 + 1)
        #expect(a.malformed.first?.line == 8)
    }

    @Test func threadedSplitterPathEqualsEventPath() throws {
        let path = NSTemporaryDirectory() + "devstate-threaded-\(UUID().uuidString).log"
        try String(repeating: try Fixtures.text("q35-source.log"), count: 200).write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        var fast: [SideLog] = [], slow: [SideLog] = []
        let a = RunSplitter(file: "x") { fast.append($0) }
        let sa = try LogReader(chunkSize: 8192, threads: 2, threadedFrom: 0).read(path: path, name: "x", into: a)
        a.finish()
        let b = RunSplitter(file: "x") { slow.append($0) }
        let sb = try LogReader(threads: 1).read(path: path, name: "x") { b.handle($0) }
        b.finish()
        #expect(fast == slow && fast.count == 200)
        #expect(sa == sb)
    }
}
