// SPDX-License-Identifier: MIT
@testable import DevstateRender
import DevstateBytes
import DevstateModel
import Testing

/// The text layout of the table report: word wrapping, the table engine's columns, clipping and
/// escaping, and the report fitted to its width.
@Suite struct TableTests {
    func wrapped(_ layout: TextLayout, _ text: String, indent: Int = 0, hang: Int = 2) -> String {
        layout.wrap(text, indent: indent, hang: hang)
    }

    /// A word wrapper of the tests' own, on Strings and Characters.
    func reference(_ layout: TextLayout, _ text: String, indent: Int, hang: Int) -> String {
        var lines: [String] = []
        var current = String(repeating: " ", count: indent)
        var empty = true
        for word in text.split(separator: " ", omittingEmptySubsequences: false) {
            var w = String(word)
            if !empty, current.count + 1 + w.count > layout.width {
                lines.append(current)
                current = String(repeating: " ", count: indent + hang)
                empty = true
            }
            let room = max(3, layout.width - current.count - (empty ? 0 : 1))
            if w.count > room { w = String(w.prefix(room / 2)) + "…" + String(w.suffix(room - 1 - room / 2)) }
            current += (empty ? "" : " ") + w
            empty = false
        }
        lines.append(current)
        return lines.map { l in String(l.reversed().drop { $0 == " " }.reversed()) }.joined(separator: "\n") + "\n"
    }

    @Test func wrapBreaksAtSpacesAndClipsLongWords() {
        for width in [40, 60] {
            let layout = TextLayout(width: width)
            for text in ["short", "ends in a space ", "two  spaces", "ünï日本🙂 wide e\u{301}t",
                         String(repeating: "word ", count: 20), String(repeating: "x", count: 90),
                         "µs → … – ─ " + String(repeating: "é", count: 70) + " end"] {
                for (indent, hang) in [(0, 2), (2, 7), (4, 0)] {
                    #expect(wrapped(layout, text, indent: indent, hang: hang) ==
                            reference(layout, text, indent: indent, hang: hang), "\(text.debugDescription) \(indent)")
                }
            }
        }
        // A text that fits is written as it is; the width is at least 40.
        #expect(wrapped(TextLayout(width: 10), "a b c", indent: 2) == "  a b c\n")
        #expect(TextLayout(width: 10).width == 40)
    }

    /// Control characters are shown escaped, so a line stays a line; invalid UTF-8 is replaced.
    @Test func controlCharactersAreEscaped() {
        let layout = TextLayout(width: 60)
        #expect(wrapped(layout, "a\nb\tc\r\u{1}\u{7f}") == "a\\nb\\tc\\r\\x01\\x7f\n")
        var table = Table()
        table.reset(columns: 2)
        table.add("device")
        table.add("µs")
        table.add([0x61, 0x0a, 0xff, 0x62])
        table.add(decimal: 7)
        var out = ByteBuffer()
        table.write(into: &out, width: 60, align: [.left, .right], flexible: 0, indent: 2)
        #expect(out.string == "  device  µs\n  a\\n\u{FFFD}b    7\n")
    }

    /// Columns are as wide as their widest cell (a character is a column: µ, é, 日); the flexible
    /// column takes what is left and its cells are clipped in the middle; droppable columns go
    /// first when even 14 columns do not fit.
    @Test func tableColumnsClippingAndDropping() {
        var table = Table()
        func make() {
            table.reset(columns: 4)
            for h: StaticString in ["#", "name", "µs", "note"] { table.add(h) }
            table.add(decimal: 1)
            table.add("0000:00:03.0/e1000e")
            table.add(decimal: 1829)
            table.add("ünï")
            table.add(decimal: 10)
            table.add("日本")
            table.empty()
            table.add("a-rather-long-note-that-pushes")
        }
        make()
        var wide = ByteBuffer()
        table.write(into: &wide, width: 100, align: [.right, .left, .right, .left], flexible: 1, indent: 2)
        #expect(wide.string == """
               #  name                   µs  note
               1  0000:00:03.0/e1000e  1829  ünï
              10  日本                         a-rather-long-note-that-pushes

            """)
        var narrow = ByteBuffer()
        table.write(into: &narrow, width: 60, align: [.right, .left, .right, .left], flexible: 1, indent: 2)
        #expect(narrow.string == """
               #  name                µs  note
               1  0000:00:…/e1000e  1829  ünï
              10  日本                      a-rather-long-note-that-pushes

            """)
        var dropped = ByteBuffer()
        table.write(into: &dropped, width: 40, align: [.right, .left, .right, .left], flexible: 1, indent: 2,
                    droppable: [3, 0])
        #expect(dropped.string == """
               #  name                   µs
               1  0000:00:03.0/e1000e  1829
              10  日本

            """)
    }

    /// The report at several widths: no line is wider, long names are clipped in the middle.
    @Test func tableFitsTheWidth() throws {
        for width in [60, 80, 132] {
            for detail in [TableDetail.full, .concise(top: 10)] {
                let text = try render(pcAndQ35) { TableSink(width: width, detail: detail, out: $0) }
                #expect(text.split(separator: "\n").filter { $0.count > width } == [], "\(width) \(detail)")
                if width < 80 {
                    #expect(!text.contains("0000:00:03.0/e1000e") && text.contains("0000:00…e1000e"))
                } else {
                    #expect(text.contains("0000:00:03.0/e1000e"))
                }
                #expect(text.contains("Source phases") && text.contains("Destination phases"))
                #expect(text.contains("── Run 3 ─"))
                #expect(text.contains("Read 4 logs: 3 source runs, 2 destination loads."))
            }
        }
    }

    /// Devices longest first; the destination's time beside the source's; concise: the top N
    /// and how many more.
    @Test func deviceTableOrderAndDestinationColumns() throws {
        let run = try #require(try runs(pair("q35-source.log", "q35-destination.log")).last)
        let source = try #require(run.source), destination = try #require(run.destination)
        let text = try render(pair("q35-source.log", "q35-destination.log")) { TableSink(width: 200, detail: .concise(top: 3), out: $0) }
        let lines = text.split(separator: "\n").map(String.init)
        let header = try #require(lines.firstIndex { $0.hasPrefix("  #  device") })
        #expect(lines[header].hasSuffix("src µs  src %  d-s-t  dst µs  dst %"))
        let longest = source.devicesByTime.prefix(3)
        for (k, row) in longest.enumerated() {
            let words = lines[header + 1 + k].split(separator: " ").map(String.init)
            #expect(words[0] == "\(k + 1)")
            #expect(words[1] == row.name)
            #expect(words[5] == "\(row.device.timeUS)")
            let loaded = destination.devices.last { DeviceKey($0.device) == DeviceKey(row.device) }
            #expect((words.count > 8 ? words[8] : "–") == loaded.map { "\($0.device.timeUS)" } ?? "–")
        }
        #expect(lines[header + 4].contains("more devices (--all)"))
        let more = source.devices.count - 3
            + destination.devices.filter { d in !source.devices.contains { DeviceKey($0.device) == DeviceKey(d.device) } }.count
        #expect(lines[header + 4] == "  \(more) more devices (--all)")
    }
}
