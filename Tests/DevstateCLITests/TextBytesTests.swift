// SPDX-License-Identifier: MIT
@_spi(Testing) @testable import DevstateTrace
import Testing

/// The byte paths of the table output (`SimpleText`, `TextLayout.wrap(bytes:)`, `CellTable`
/// with `TextLayout.table(_:…)`, `TableSink.longest`) write what the String reference paths
/// (`wrap(_:indent:hang:)`, `table(header:rows:…)`, `devicesByTime`) write, byte for byte, on
/// texts that are not simple too (combining marks, emoji, wide characters, control characters,
/// invalid UTF-8), which take the String paths. Part of `WriterTests`.
extension WriterTests {
    /// A fixed pseudo-random sequence (SplitMix64).
    struct Mix {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    }

    /// Pieces of text, simple and not: words longer than any width, spaces, the report's own
    /// symbols, Latin-1 and other scalars below U+0300, combining marks, emoji (with ZWJ,
    /// modifiers, flags), CJK, Hangul jamo, prepended marks, control characters.
    static let pieces = [
        "a", "word", "device", " ", " ", "  ", "0000:00:02.0/e1000", "µs", "→", "…", "–", "─", "100.0%",
        "ünïcödé", "ÿ", "\u{AD}", "\u{85}", "\u{A0}", "ɐʃ", "\u{2FF}", "©", "®",
        "e\u{301}", "\u{301}", "\u{300}", "\u{200D}", "🙂", "👩‍👩‍👧", "👍🏽", "🇫🇷", "日本語", "한국어", "\u{1100}\u{1161}",
        "\u{600}1", "\u{903}", "\u{FFFD}", "\u{1}", "\n", "\r\n", "\t", "\u{7f}", "\"q\",c",
        String(repeating: "x", count: 45), String(repeating: "µ→", count: 30), String(repeating: "日", count: 50),
        "long-" + String(repeating: "é", count: 70) + "-end",
    ]

    static func texts(_ count: Int, seed: UInt64, maxPieces: Int = 40) -> [String] {
        var mix = Mix(state: seed)
        var out = ["", " ", "   ", "short", "ends in a space ", "two  spaces", "  lead", "µs → … – ─ ends ",
                   String(repeating: "word ", count: 30), String(repeating: "x", count: 250),
                   "d-s-t: yes = in device-state-times; no-vmsd = no vmsd, left out as the reference patch does"]
        for _ in 0..<count {
            var s = ""
            for _ in 0..<mix.below(maxPieces) { s += pieces[mix.below(pieces.count)] }
            out.append(s)
        }
        return out
    }

    @Test func simpleScalarsAreOneCharacterEach() {
        var simple: [Unicode.Scalar] = (0x20..<0x300).compactMap { $0 == 0x7f ? nil : Unicode.Scalar($0) }
        simple += ["–", "…", "→", "─"]
        for a in simple {
            var s = String(a)
            s.unicodeScalars.append("x")
            let bytes = Array(s.utf8)
            #expect(bytes.withUnsafeBytes { SimpleText.columns($0) } == 2)
            for b in simple {
                var pair = String(a)
                pair.unicodeScalars.append(b)
                guard pair.count != 2 else { continue }
                Issue.record("U+\(String(a.value, radix: 16)) U+\(String(b.value, radix: 16)) is \(pair.count) characters")
            }
            #expect(TextLayout.columns(String(a)) == 1)
        }
        for text in ["\u{300}", "e\u{301}", "\u{200D}", "🙂", "日", "\u{1100}", "\u{903}", "\u{600}", "\u{1}", "\n",
                     "\u{7f}", "\u{2192}\u{20D7}", "\u{2010}", "\u{FFFD}"] {
            #expect(Array(text.utf8).withUnsafeBytes { SimpleText.columns($0) } == nil, "\(text.debugDescription)")
        }
        // Not well-formed UTF-8 is not simple.
        for bytes: [UInt8] in [[0xC3], [0xC3, 0x41], [0xE2, 0x80], [0xE2, 0x86, 0x93], [0x80], [0xFF], [0xC0, 0x80]] {
            #expect(bytes.withUnsafeBytes { SimpleText.columns($0) } == nil, "\(bytes)")
        }
    }

    /// The eight-bytes-at-a-time scan: any byte that is not printable ASCII, at any place, is
    /// seen (alone it is not simple: a control character or not well-formed UTF-8).
    @Test func everyByteAtEveryPlaceIsSeen() {
        for b in 0...255 {
            for at in 0..<20 {
                var bytes = Array(repeating: UInt8(ascii: "a"), count: 20)
                bytes[at] = UInt8(b)
                let expected: Int? = (0x20...0x7e).contains(b) ? 20 : nil
                #expect(bytes.withUnsafeBytes { SimpleText.columns($0) } == expected, "\(b) at \(at)")
            }
        }
        let mixed = "→ 0000:00:02.0/vga µs … ÿ abcdefghijklmnop – ─"
        #expect(Array(mixed.utf8).withUnsafeBytes { SimpleText.columns($0) } == mixed.count)
    }

    @Test func percentIsWrittenAsPercentWritesIt() {
        let values = [0, 0.5, 0.52631, 0.12345, 0.99995, 0.999949, 1, 123.456, -0.00004, -1.5, 1e-9, 0.0004999,
                      -0.0005, 0.0005, 0.00049999999, 9.99999, 1e15, 1e17, 2e18, -3.25, .nan, .infinity,
                      -.infinity, 0.934, 0.0935, 1.0 / 3, 2.0 / 3]
        for v in values {
            #expect(written { $0.append(percent: v) } == percent(v), "\(v)")
        }
    }

    @Test(arguments: [40, 41, 60, 100])
    func wrapOnBytesEqualsTheStringWrapper(_ width: Int) {
        let layout = TextLayout(width: width)
        for text in Self.texts(300, seed: UInt64(width)) {
            for (indent, hang) in [(0, 2), (2, 2), (2, 7), (4, 0), (0, 0), (38, 2)] {
                let reference = layout.wrap(text, indent: indent, hang: hang)
                let bytes = written { out in
                    var t = text
                    t.withUTF8 { layout.wrap(bytes: UnsafeRawBufferPointer($0), indent: indent, hang: hang, into: &out) }
                }
                #expect(bytes == reference, "\(text.debugDescription) at \(indent), \(hang)")
                #expect(written { layout.wrap(text, indent: indent, hang: hang, into: &$0) } == reference)
            }
        }
        // Not valid UTF-8: read as String(decoding:) reads it.
        for raw: [UInt8] in [[0x61, 0xFF, 0x20, 0x62], [0xC3], Array(repeating: 0x80, count: 90), [0xE2, 0x86, 0x20]] {
            let reference = layout.wrap(String(decoding: raw, as: UTF8.self), indent: 2)
            #expect(written { out in raw.withUnsafeBytes { layout.wrap(bytes: $0, indent: 2, into: &out) } } == reference)
        }
    }

    @Test(arguments: [40, 60, 100])
    func cellTableEqualsTheStringTable(_ width: Int) {
        let layout = TextLayout(width: width)
        var mix = Mix(state: 7 &* UInt64(width))
        let texts = Self.texts(200, seed: UInt64(width) &+ 99, maxPieces: 6)
        var cells = CellTable(capacity: 4)
        defer { cells.deallocate() }
        for round in 0..<150 {
            let columns = 1 + mix.below(10)
            let rowCount = mix.below(8)
            var header: [String] = []
            var rows: [[String]] = []
            cells.reset(width: columns)
            for c in 0..<columns {
                let h = ["#", "device", "µs", "dst %", "d-s-t", "checkpoints", "c\(c)"][mix.below(7)]
                header.append(h)
                cells.add(h)
            }
            for _ in 0..<rowCount {
                var row: [String] = []
                for _ in 0..<columns {
                    switch mix.below(6) {
                    case 0:
                        let v = Int64(bitPattern: mix.next()) >> mix.below(64)
                        row.append(String(v))
                        cells.decimal(v)
                    case 1:
                        let v = Double(mix.below(100_000)) / 7919
                        let share: Double? = mix.below(4) == 0 ? nil : v
                        row.append(share.map(percent) ?? "")
                        cells.percent(share)
                    case 2:
                        let word: StaticString = ["–", "iter", "no-vmsd", "100.0%", "?"][mix.below(5)]
                        row.append(word.description)
                        cells.word(word)
                    case 3:
                        let text = texts[mix.below(texts.count)]
                        row.append(text)
                        let start = cells.begin()
                        cells.appendText(text)
                        cells.end(start)
                    default:
                        let text = texts[mix.below(texts.count)]
                        row.append(text)
                        cells.add(text)
                    }
                }
                rows.append(row)
            }
            let align: [TextLayout.Align] = (0..<columns).map { _ in mix.below(2) == 0 ? .left : .right }
            let flexible = mix.below(columns)
            let droppable = (0..<columns).filter { $0 != flexible && mix.below(3) == 0 }
            let indent = mix.below(4)
            let reference = layout.table(header: header, rows: rows, align: align, flexible: flexible,
                                         indent: indent, droppable: droppable)
            let bytes = written { layout.table(cells, align: align, flexible: flexible, indent: indent,
                                               droppable: droppable, into: &$0) }
            #expect(bytes == reference, "round \(round): \(header) \(rows)")
        }
        // Not valid UTF-8 idstrs: as String(decoding:) reads them.
        cells.reset(width: 2)
        cells.add("device")
        cells.add("µs")
        for raw: [UInt8] in [[0x61, 0xFF, 0x62], Array(repeating: 0xC3, count: 60), [0xE2, 0x86]] {
            cells.add(raw)
            cells.decimal(UInt64(raw.count))
        }
        let reference = layout.table(header: ["device", "µs"], rows: [[0x61, 0xFF, 0x62], Array(repeating: 0xC3, count: 60), [0xE2, 0x86]].map {
            [String(decoding: $0, as: UTF8.self), String($0.count)]
        }, align: [.left, .right], flexible: 0, indent: 2)
        #expect(written { layout.table(cells, align: [.left, .right], flexible: 0, indent: 2, into: &$0) } == reference)
    }

    /// A side of the given device lines, as the analyzer makes it.
    static func side(_ devices: [DeviceTime]) -> SideReport {
        var log = SideLog(side: .source, file: "t", index: 1, startedAtCheckpoint: true)
        for d in devices { log.append(d) }
        log.deviceCount = devices.count
        return Analyzer().analyze(log)
    }

    @Test func longestIsDevicesByTimeWithoutSortingAll() {
        var mix = Mix(state: 42)
        for _ in 0..<300 {
            let n = mix.below(40)
            let side = Self.side((0..<n).map { i in
                DeviceTime(idstr: Array("d\(i)".utf8), instanceID: 0, section: .nonIterable, timeUS: UInt64(mix.below(6)))
            })
            let devices = side.devices
            #expect(devices.count == n)
            // `SideReport.devicesByTime`'s order.
            let byTime = side.devicesByTime.map(side.name)
            let among = (0..<n).filter { _ in mix.below(3) != 0 }
            let byTimeAmong = byTime.filter { name in among.contains { side.name(devices[$0]) == name } }
            for top in [0, 1, 2, 3, 10, n - 1, n, n + 1, Int.max] where top >= 0 {
                #expect(TableSink.longest(devices, among: nil, top: top).map { side.name(devices[$0]) } == Array(byTime.prefix(top)))
                #expect(TableSink.longest(devices, among: among, top: top).map { side.name(devices[$0]) }
                        == Array(byTimeAmong.prefix(top)))
            }
        }
    }

    /// `DeviceIndex` finds what a `[DeviceKey: Int]` filled in order finds: the last of equal
    /// keys (idstr, instance and section), nothing for a key not there; also for a probe from
    /// another side, whose names are in another store.
    @Test func deviceIndexFindsWhatADictionaryFinds() {
        var mix = Mix(state: 5)
        for _ in 0..<200 {
            let n = mix.below(40)
            let side = Self.side((0..<n).map { _ in
                DeviceTime(idstr: Array("d\(mix.below(6))".utf8) + (mix.below(5) == 0 ? [0xFF] : []),
                           instanceID: UInt32(mix.below(2)),
                           section: mix.below(2) == 0 ? .iterable : .nonIterable, timeUS: 0)
            })
            var dict: [DeviceKey: Int] = [:]
            for (j, d) in side.devices.enumerated() { dict[side.key(d)] = j }
            let index = DeviceIndex(side)
            for probe in 0..<8 {
                for instance in 0..<3 {
                    for section in [Section.iterable, .nonIterable] {
                        let idstr = Array("d\(probe)".utf8)
                        let d = DeviceLine<Int32>(idstr: -1, instanceID: UInt32(instance), section: section, timeUS: 0)
                        let found = idstr.withUnsafeBytes { index.find(d, idstr: $0, in: side) }
                        #expect(found == dict[DeviceKey(idstr: idstr, instanceID: d.instanceID, section: d.section)])
                    }
                }
            }
            for d in side.devices {
                #expect(index.find(d.device, idstr: side.names.idstr(d.device.idstr), in: side) == dict[side.key(d)])
            }
        }
    }
}
