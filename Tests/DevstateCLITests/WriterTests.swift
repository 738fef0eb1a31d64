// SPDX-License-Identifier: MIT
@_spi(Testing) @testable import DevstateTrace
import Testing

/// The byte writers the sinks use write what the reference formatting (`formatFixed`,
/// `String(_:)`, `JSONValue.write`, the String table layout) writes, byte for byte.
@Suite struct WriterTests {
    func written(_ body: (inout ByteBuffer) -> Void) -> String {
        var buffer = ByteBuffer(capacity: 8)
        defer { buffer.deallocate() }
        body(&buffer)
        return String(decoding: buffer.bytes, as: UTF8.self)
    }

    @Test func numbersAsStringAndFormatFixedWriteThem() {
        for v: UInt64 in [0, 7, 10, 99, 100, 12345, 1 << 40, UInt64.max] {
            #expect(written { $0.append(decimal: v) } == String(v))
        }
        for v: Int64 in [0, -1, -10, 42, Int64.min, Int64.max] {
            #expect(written { $0.append(decimal: v) } == String(v))
        }
        var values = [0, 0.5, 0.52631, 0.12345, 0.99995, 0.999949, 1, 123.456, -0.00004, -1.5, 1e-9,
                      0.000049999, 9.99999, 1e17, 2e18, -3.25, .nan, .infinity,
                      // Halves and their neighbours, where rounding half away from zero shows.
                      0.00005, 0.00015, 0.0005, 0.05, 2.5, 0.125, 0.49999999999999994, 0.5.nextUp,
                      0.5.nextDown, 4503599627370495.5, 0x1p52, 0x1p52 + 1, 0x1p53 - 1, -0.00005]
        // Every share with 5 decimals, and times in ms as the table writes them.
        for k in stride(from: 0, through: 200_000, by: 7) { values.append(Double(k) / 100_000) }
        for us in stride(from: 0, through: 2_000_000, by: 997) { values.append(Double(us) / 1000) }
        for v in values {
            for digits in [0, 1, 3, 4] {
                #expect(written { $0.append(fixed: v, digits: digits) } == formatFixed(v, digits: digits),
                        "\(v) with \(digits) digits")
            }
        }
    }

    /// Writes `value` through the stream, as the sinks do.
    func stream(_ value: JSONValue, _ json: inout JSONStream) {
        switch value {
        case .null: json.null()
        case .bool(let b): json.bool(b)
        case .int(let v): json.int(v)
        case .uint(let v): json.uint(v)
        case .fixed(let v, let digits): json.fixed(v, digits)
        case .string(let s): json.string(s)
        case .raw(let text): json.raw(text)
        case .array(let items):
            json.beginArray()
            for item in items { stream(item, &json) }
            json.endArray()
        case .object(let members):
            json.beginObject()
            for (key, value) in members {
                json.key(escaping: key)
                stream(value, &json)
            }
            json.endObject()
        }
    }

    @Test(arguments: [false, true], [0, 2])
    func jsonStreamLaysOutAsJSONValue(_ pretty: Bool, _ indent: Int) {
        let value = JSONValue.object([
            ("empty-array", .array([])), ("empty-object", .object([])), ("null", .null),
            ("text", .string("quo\"te back\\slash new\nline tab\t ctl\u{1} del\u{7f} ünï日本🙂")),
            ("numbers", .array([.int(-3), .uint(UInt64.max), .fixed(0.52631, 4), .bool(true), .bool(false)])),
            ("nested", .array([.object([("a", .array([.array([]), .object([("b", .null)])]))]), .raw("[1,2]")])),
        ])
        var reference = ""
        value.write(to: &reference, pretty: pretty, indent: indent)
        let streamed = written { buffer in
            var json = JSONStream(into: buffer, pretty: pretty, indent: indent)
            stream(value, &json)
            buffer = json.out
        }
        #expect(streamed == reference)
    }

    @Test func idstrsAreWrittenAsTheirText() {
        for idstr: [UInt8] in [Array("0000:00:03.0/e1000e".utf8), Array("q\"\\x".utf8), [0x62, 0xff, 0xfe, 0x0a],
                               Array("ünï".utf8), [0xc3]] {
            let text = String(decoding: idstr, as: UTF8.self)
            let json = written { buffer in
                var json = JSONStream(into: buffer, pretty: false)
                json.string(idstr: idstr)
                buffer = json.out
            }
            #expect(json == JSONValue.string(text).serialized())
            let csv = written { CSVSink.field(idstr: idstr, into: &$0) }
            #expect(csv == CSVSink.field(text))
        }
        #expect(CSVSink.field("a,b") == "\"a,b\"" && CSVSink.field("q\"") == "\"q\"\"\"")
        #expect(CSVSink.field("cr\r\nlf") == "\"cr\r\nlf\"" && CSVSink.field("plain") == "plain")
    }

    /// The byte path of `wrap` (a line that fits is copied) writes what the word wrapper writes.
    @Test(arguments: [40, 60])
    func wrapIntoBytesEqualsTheWrapper(_ width: Int) {
        let layout = TextLayout(width: width)
        for text in ["short", "", "ends in a space ", "two  spaces", "ctl\u{1}x", "ünï日本🙂 wide",
                     String(repeating: "word ", count: 20), String(repeating: "x", count: 90)] {
            for indent in [0, 2] {
                let bytes = written { layout.wrap(text, indent: indent, into: &$0) }
                let words = wrapWordByWord(layout, text, indent: indent)
                #expect(bytes == words, "\(text.debugDescription) at \(indent)")
            }
        }
    }

    /// The word wrapper without its shortcut for a line that fits.
    func wrapWordByWord(_ layout: TextLayout, _ text: String, indent: Int) -> String {
        let text = visible(text)
        var lines: [String] = []
        var current = String(repeating: " ", count: indent)
        var empty = true
        for word in text.split(separator: " ", omittingEmptySubsequences: false) {
            let w = String(word)
            if !empty, current.count + 1 + w.count > layout.width {
                lines.append(current)
                current = String(repeating: " ", count: indent + 2)
                empty = true
            }
            let room = layout.width - current.count - (empty ? 0 : 1)
            current += (empty ? "" : " ") + (w.count > room ? clip(w, room) : w)
            empty = false
        }
        lines.append(current)
        return lines.map { l in
            var l = l
            while l.hasSuffix(" ") { l.removeLast() }
            return l
        }.joined(separator: "\n") + "\n"
    }

    /// By type: longest first, first seen first among equal times, with few types (insertion
    /// sort) and many (stable sort).
    @Test(arguments: [10, 100])
    func typesAreLongestFirstAndStable(_ typeCount: Int) {
        var parts: [SideLog] = []
        let splitter = RunSplitter(file: "x") { parts.append($0) }
        splitter.handle(.checkpoint(Checkpoint(name: "src-downtime-start", line: 1)))
        for i in 0..<(2 * typeCount) {
            // Two devices per type (0:0:N/tK); times repeat every 7 types, so many types tie.
            let type = i % typeCount
            splitter.handle(.device(.save, DeviceTime(idstr: Array("0:0:\(i)/t\(type)".utf8), instanceID: 0,
                                                      section: .nonIterable, timeUS: UInt64(type % 7), line: i + 2)))
        }
        splitter.finish()
        let report = Analyzer().analyze(parts[0])
        let types = report.types
        #expect(types.count == typeCount && types.allSatisfy { $0.count == 2 })
        let expected = (0..<typeCount).sorted { a, b in a % 7 != b % 7 ? a % 7 > b % 7 : a < b }.map { "t\($0)" }
        #expect(types.map(report.type(of:)) == expected)
    }
}
