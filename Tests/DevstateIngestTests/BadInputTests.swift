// SPDX-License-Identifier: MIT
@testable import DevstateIngest
import DevstateModel
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
        #expect(stats.malformed.map(\.reason) == ["type is neither iterable nor non-iterable", "missing downtime= (truncated?)",
                                                  "truncated: last line has no newline"])
        #expect(stats.malformed.first?.text == lines[9])
        #expect(stats.malformed.first?.file == "test.log")
        #expect(stats.endedWithoutNewline)
        #expect(events.count == original - 1)
        #expect(stats.lines == lines.count + 1)
        #expect(stats.candidateLines == original + 2)
        #expect(stats.events == events.count)
        #expect(stats.bytes == UInt64(text.utf8.count))
    }

    /// A trace line over the length limit is skipped and counted the same way whether it ends
    /// inside a chunk or runs across a chunk's end.
    @Test func anOverlongLineIsSkippedWhateverTheChunkSize() throws {
        let long = "1@2.3:vmstate_downtime_save type=non-iterable idstr=" + String(repeating: "a", count: 300)
            + " instance_id=0 downtime=5"
        let ok = "1@2.3:vmstate_downtime_save type=non-iterable idstr=b instance_id=0 downtime=7"
        let text = String(repeating: "x\n", count: 1900) + long + "\n" + ok + "\n"
        var results: [ReadStats] = []
        for chunk in [4096, 1 << 20] {
            let (events, stats) = readAll(text, chunkSize: chunk, maxLineLength: 256)
            #expect(events.count == 1, "chunk \(chunk)")
            #expect(stats.malformed.map(\.reason) == ["line too long"], "chunk \(chunk)")
            #expect(stats.malformed.map(\.line) == [1901], "chunk \(chunk)")
            #expect(stats.malformed.map(\.text) == [""], "chunk \(chunk)")
            results.append(stats)
        }
        #expect(results[0] == results[1])
    }

    @Test func overlongLineIsSkippedAndCounted() {
        let good = "vmstate_downtime_checkpoint src-downtime-start\n"
        let long = "vmstate_downtime_save " + String(repeating: "x", count: 200_000) + "\n"
        let (events, stats) = readAll(good + long + good, chunkSize: 65536)
        #expect(events.count == 2)
        #expect(stats.malformedLines == 1)
        #expect(stats.malformed.first?.line == 2)
        #expect(stats.lines == 3)
        // Without the marker a long line is only counted; one that ends the input, too.
        let quiet = String(repeating: "y", count: 200_000)
        let (_, plain) = readAll(good + quiet + "\n" + good + quiet, chunkSize: 65536)
        #expect(plain.malformedLines == 0 && plain.lines == 4 && plain.endedWithoutNewline)
        // The marker at a chunk's end, split over two reads of the long line, is still seen.
        let split = String(repeating: "z", count: 65536 - 8) + "vmstate_downtime_save x" + quiet + "\n"
        let (_, stats2) = readAll(split, chunkSize: 65536)
        #expect(stats2.malformed.map(\.reason) == ["line too long"])
    }

    /// The same text read with chunks of every size gives the same events and counts: lines cut
    /// at chunk ends, long lines, damage and a last line without its newline included.
    @Test func everyChunkSizeGivesTheSameResult() throws {
        var lines = try Fixtures.text("pc-source.log").split(separator: "\n").map(String.init)
        lines[7] = String(lines[7].prefix(40))
        var text = ""
        for i in 0..<60 {
            text += lines.joined(separator: "\n") + "\n"
            text += "6096@1795769733.100000:migrate_set_state new state active\n"
            if i == 30 { text += "vmstate_downtime_save " + String(repeating: "y", count: 9_000) + "\n" }
        }
        text += "5402@1795769724.055392:vmstate_downtime_checkpoint src-downt"
        let (expected, stats) = readAll(text, maxLineLength: 2048)
        #expect(stats.malformedLines == 60 + 1 + 1)
        #expect(stats.lines == 60 * (lines.count + 1) + 1 + 1)
        #expect(stats.malformed.first?.line == 8)
        #expect(stats.malformed.contains { $0.reason == "line too long" })
        for chunk in [4096, 4097, 5000, 8191, 12_345, 65_536] {
            let (events, s) = readAll(text, chunkSize: chunk, maxLineLength: 2048)
            #expect(events == expected, "chunk \(chunk)")
            #expect(s == stats, "chunk \(chunk)")
        }
    }

    @Test func savesBeforeAnyStartFormAFlaggedRun() {
        var parts: [SideLog] = []
        let splitter = RunSplitter(file: "x") { parts.append($0) }
        splitter.handle(.device(.save, DeviceTime(name: "cpu", instanceID: 0, section: .nonIterable, timeUS: 5, line: 1)))
        splitter.handle(.checkpoint(Checkpoint(name: "src-downtime-start", line: 2)))
        splitter.handle(.device(.save, DeviceTime(name: "cpu", instanceID: 0, section: .nonIterable, timeUS: 6, line: 3)))
        splitter.finish()
        #expect(parts.map(\.startedAtCheckpoint) == [false, true])
        #expect(parts.map(\.index) == [1, 2])
        #expect(parts.map { $0.devices.map(\.timeUS) } == [[5], [6]])
    }

    @Test func anUnknownCheckpointJoinsTheSideBeforeIt() throws {
        let text = try Fixtures.text("q35-source.log").replacingOccurrences(
            of: "vmstate_downtime_checkpoint src-iterable-saved",
            with: "vmstate_downtime_checkpoint src-iterable-saved\n5402@1795769738.168400:vmstate_downtime_checkpoint new-thing")
        let file = TemporaryFile(text)
        var parts: [SideLog] = []
        let splitter = RunSplitter(file: "x") { parts.append($0) }
        _ = try LogReader().read(path: file.path, into: splitter)
        splitter.finish()
        #expect(parts.count == 1)
        #expect(parts[0].checkpoints.map(\.name) ==
                ["src-downtime-start", "src-vm-stopped", "src-iterable-saved", "new-thing",
                 "src-non-iterable-saved", "src-downtime-end"])
        #expect(!parts[0].checkpoints[3].isKnown)
    }

    @Test func missingFileIsAnError() {
        let missing = #expect(throws: LogReadError.self) { try LogReader().read(path: "/nonexistent/devstate.log") { _ in } }
        #expect(missing == LogReadError(path: "/nonexistent/devstate.log", message: "No such file or directory"))
        let directory = #expect(throws: LogReadError.self) { try LogReader().read(path: NSTemporaryDirectory()) { _ in } }
        #expect(directory?.message == "Is a directory")
    }
}
