// SPDX-License-Identifier: MIT
@testable import DevstateIngest
import DevstateModel
import Testing

/// `vmstate_downtime_step` lines: the shape QEMU writes, and what happens to damaged ones.
@Suite struct StepLineTests {
    static let good = "15546@1796623437.710383:vmstate_downtime_step kind=main device=/machine/peripheral/guest-disk-dev/virtio-backend type=virtio-blk-device downtime=52 name=virtio_vmstate_change"

    @Test func aHandlerWithItsDevice() {
        #expect(LineParser.parse(Self.good, line: 5) == .event(.step(DowntimeStep(
            name: "virtio_vmstate_change", device: "/machine/peripheral/guest-disk-dev/virtio-backend",
            type: "virtio-blk-device", kind: .main, timeUS: 52, timestampUS: 1_796_623_437_710_383, line: 5))))
    }

    /// `device= type= ` when there is none; 10.1+'s ISO stamp; a name runs to the end of the line.
    @Test func emptyDeviceAndTypeAndANameWithSpaces() {
        #expect(LineParser.parse("2026-12-07T06:04:10.495193Z vmstate_downtime_step kind=work device= type= downtime=0 name=clock-stop") ==
                .event(.step(DowntimeStep(name: "clock-stop", kind: .work, timeUS: 0, timestampUS: 1_796_623_450_495_193))))
        #expect(LineParser.parse("vmstate_downtime_step kind=prepare device=a b type=t downtime=7 name=some handler ") ==
                .event(.step(DowntimeStep(name: "some handler", device: "a b", type: "t", kind: .prepare, timeUS: 7))))
    }

    /// Damaged step lines are malformed like damaged device lines: counted, with a reason.
    @Test func damagedLineIsMalformed() {
        let cases = [
            ("vmstate_downtime_step", "event without its fields (truncated?)"),
            ("vmstate_downtime_step garbage", "missing kind="),
            ("vmstate_downtime_step kind=main device=/machine/peripheral/gue", "missing type= (truncated?)"),
            ("vmstate_downtime_step kind=main", "missing device= (truncated?)"),
            ("vmstate_downtime_step kind=main dev=x", "missing device= (truncated?)"),
            ("vmstate_downtime_step kind=main device=x type=y", "missing downtime= (truncated?)"),
            ("vmstate_downtime_step kind=main device=x type=y downtime=", "missing downtime= (truncated?)"),
            ("vmstate_downtime_step kind=main device=x type=y downtime=12", "missing name= (truncated?)"),
            ("vmstate_downtime_step kind=main device=x type=y downtime=12 na", "missing name= (truncated?)"),
            ("vmstate_downtime_step kind=main device=x type=y downtime=12 name=", "step without a name"),
            ("vmstate_downtime_step kind=main device=x type=y downtime=abc name=h", "downtime is not a number"),
            ("vmstate_downtime_step kind=main device=x type=y downtime=12x name=h", "downtime is not a number"),
            ("vmstate_downtime_step kind=main device=x type=y downtime=1234567890123456789 name=h", "downtime is not a number"),
            ("vmstate_downtime_step kind=main device=x type=y downtime=-3 name=h", "negative downtime"),
            ("vmstate_downtime_step kind=other device=x type=y downtime=3 name=h", "step kind is none of work, prepare, main"),
            ("vmstate_downtime_step kind= device=x type=y downtime=3 name=h", "step kind is none of work, prepare, main"),
            ("vmstate_downtime_step kind=main device=x\u{1}y type=y downtime=3 name=h", "step field holds a control byte"),
            ("vmstate_downtime_step kind=main device=x type=y downtime=3 name=h\u{7f}", "step field holds a control byte"),
            ("12@1.5vmstate_downtime_step kind=work device= type= downtime=3 name=h", "garbled text before the event name"),
            ("vmstate_downtime_stepped kind=work", "event without its fields (truncated?)"),  // as `saved`, `checkpointx`
            ("vmstate_downtime_jump kind=work", "unknown vmstate_downtime event"),
        ]
        for (line, reason) in cases {
            #expect(LineParser.parse(line) == .malformed(reason), "\(line)")
        }
    }

    /// A line cut anywhere — as a full disk or a killed QEMU leaves it — is malformed, or, cut
    /// inside the name, a step whose name is the part that was written; never anything else.
    @Test func everyTruncationIsMalformedOrAShorterName() {
        let bytes = Array(Self.good.utf8)
        let nameAt = Self.good.range(of: " name=")!.upperBound.utf16Offset(in: Self.good)
        let markerEnd = Self.good.range(of: "vmstate_downtime_")!.upperBound.utf16Offset(in: Self.good)
        for cut in 0..<bytes.count {
            switch LineParser.parse(String(decoding: bytes[..<cut], as: UTF8.self)) {
            case .unrelated:
                #expect(cut < markerEnd, "only a cut before the marker's end is unrelated")
            case .malformed:
                #expect(cut <= nameAt, "cut at \(cut)")
            case .event(.step(let s)):
                #expect(cut > nameAt)
                #expect(s.name == String(decoding: bytes[nameAt..<cut], as: UTF8.self) && s.timeUS == 52)
            case .event(let other):
                Issue.record("cut at \(cut) gave \(other)")
            }
        }
    }

    /// A good line's fields mutated at random (a piece replaced, dropped or doubled): a step or
    /// a malformed line, never a crash. Both outcomes occur, so the mutations reach both paths.
    @Test func mutatedFieldsNeverCrash() {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ n: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(n))
        }
        let template = ["kind=", "main", " device=", "/machine/x", " type=", "virtio", " downtime=", "12", " name=", "h"]
        let pieces = template + ["work", "prepare", "-", " ", "\u{0}", "é", "=", "\r", "99999999999999999999", ""]
        var outcomes = (steps: 0, malformed: 0)
        for _ in 0..<5000 {
            var fields = template
            for _ in 0..<next(4) {
                let at = next(fields.count)
                switch next(3) {
                case 0: fields[at] = pieces[next(pieces.count)]
                case 1: fields.remove(at: at)
                default: fields.insert(fields[at], at: at)
                }
                if fields.isEmpty { fields = [""] }
            }
            let line = "vmstate_downtime_step " + fields.joined()
            switch LineParser.parse(line) {
            case .event(.step(let s)):
                outcomes.steps += 1
                #expect(!s.name.isEmpty, "\(line.debugDescription)")
            case .malformed:
                outcomes.malformed += 1
            default:
                Issue.record("neither a step nor malformed: \(line.debugDescription)")
            }
        }
        #expect(outcomes.steps > 0 && outcomes.malformed > 0)
    }

    /// Steps past the per-run limit are counted, not kept; a handler joins the side of the line
    /// before it, a work step the side its name belongs to, each with the checkpoints before it.
    @Test func stepsPastThePerRunLimitAreCounted() {
        var parts: [SideLog] = []
        let splitter = RunSplitter(file: "t.log", maxDevicesPerSide: 3) { parts.append($0) }
        splitter.handle(.checkpoint(Checkpoint(name: "src-downtime-start", line: 1)))
        for k in 0..<5 { splitter.handle(.step(DowntimeStep(name: "h\(k)", kind: .main, timeUS: 10, line: 2 + k))) }
        splitter.handle(.step(DowntimeStep(name: "announce", kind: .work, timeUS: 4, line: 7)))
        splitter.handle(.checkpoint(Checkpoint(name: "src-downtime-end", line: 8)))
        splitter.finish()
        #expect(parts.map(\.side) == [.source, .destination])
        #expect(parts[0].steps.map(\.name) == ["h0", "h1", "h2"])
        #expect(parts[0].droppedSteps == 2)
        #expect(parts[0].steps.allSatisfy { $0.checkpointsBefore == 1 })
        #expect(parts[0].firstLine...parts[0].lastLine == 1...8)
        #expect(parts[1].steps.map(\.name) == ["announce"])
        #expect(parts[1].firstLine...parts[1].lastLine == 7...7)
    }

    /// In a real log, damaged step lines are counted and listed with their numbers; the other
    /// steps, devices and checkpoints are all read.
    @Test func damagedStepLinesInARealLogAreCountedAndTheRestIsRead() throws {
        var lines = try Fixtures.text("guest-source.log", series: true).split(separator: "\n").map(String.init)
        let steps = try Fixtures.stepLines(lines.joined(separator: "\n"))
        // Four step lines of the capture, whichever they are: one with a device, cut before its
        // type; one whose time is no number; a handler's, with its kind misspelt; one garbage.
        let stepIndexes = lines.indices.filter { lines[$0].contains("vmstate_downtime_step ") }
        let cut = try #require(stepIndexes.first { lines[$0].contains("device=/") })
        let number = try #require(stepIndexes.first { $0 > cut })
        let kind = try #require(stepIndexes.first { $0 > number && lines[$0].contains("kind=main") })
        let junk = try #require(stepIndexes.first { $0 > kind })
        let cutAt = try #require(lines[cut].range(of: " type="))
        let stamp = String(lines[junk].prefix { $0 != ":" })
        let damaged: [(Int, String)] = [
            (cut + 1, String(lines[cut][..<cutAt.lowerBound])),
            (number + 1, lines[number].replacingOccurrences(of: " name=", with: "x name=")),
            (kind + 1, lines[kind].replacingOccurrences(of: "kind=main", with: "kind=mian")),
            (junk + 1, stamp + ":vmstate_downtime_step \u{1b}[0m#garbage"),
        ]
        for (line, text) in damaged { lines[line - 1] = text }
        let (events, stats) = readAll(lines.joined(separator: "\n") + "\n")
        #expect(stats.malformedLines == damaged.count)
        #expect(stats.malformed.map(\.line) == damaged.map(\.0))
        #expect(stats.malformed.map(\.reason) == ["missing type= (truncated?)", "downtime is not a number",
                                                  "step kind is none of work, prepare, main", "missing kind="])
        #expect(stats.malformed.map(\.text) == damaged.map { String($0.1.prefix(160)) })
        #expect(events.count == lines.count - damaged.count)
        let read = events.compactMap { e -> Int? in if case .step(let s) = e { s.line } else { nil } }
        #expect(read == steps.map(\.line).filter { line in !damaged.contains { $0.0 == line } })
    }
}
