// SPDX-License-Identifier: MIT
/// Text that fits `width` columns, for every human-readable output: the report's table (trace
/// logs and `query-migrate`), its outcome paragraphs, and `--summary`. Paragraphs are
/// word-wrapped, single lines cut, and tables aligned in columns, one of which is flexible and
/// takes what is left of the width. Control characters in the text are shown escaped.
struct TextLayout {
    let width: Int

    enum Align { case left, right }

    init(width: Int) {
        self.width = max(40, width)
    }

    /// `wrap` into `out`; a text that fits on its line is written as it is, simple text
    /// (`SimpleText`) wrapped on bytes.
    func wrap(_ text: String, indent: Int = 0, hang: Int = 2, into out: inout ByteBuffer) {
        var text = text
        text.withUTF8 { wrap(bytes: UnsafeRawBufferPointer($0), indent: indent, hang: hang, into: &out) }
    }

    /// `text` word-wrapped; continuation lines indented by `indent + hang`.
    func wrap(_ text: String, indent: Int = 0, hang: Int = 2) -> String {
        let text = visible(text)
        if !text.isEmpty, indent + columns(text) <= width, !text.hasSuffix(" ") {
            return String(repeating: " ", count: indent) + text + "\n"
        }
        var lines: [String] = []
        var current = String(repeating: " ", count: indent)
        var used = indent
        var empty = true
        for word in text.split(separator: " ", omittingEmptySubsequences: false) {
            var w = String(word)
            var n = columns(w)
            if !empty, used + 1 + n > width {
                lines.append(current)
                current = String(repeating: " ", count: indent + hang)
                used = indent + hang
                empty = true
            }
            let room = width - used - (empty ? 0 : 1)
            if n > room {
                w = clip(w, room)
                n = columns(w)
            }
            if !empty {
                current += " "
                used += 1
            }
            current += w
            used += n
            empty = false
        }
        lines.append(current)
        return lines.map(trimmed).joined(separator: "\n") + "\n"
    }

    /// One line, cut with "…" at the width, with its newline.
    func fit(_ line: String) -> String {
        let line = visible(line)
        return trimmed(columns(line) > width ? String(line.prefix(width - 1)) + "…" : line) + "\n"
    }

    /// `head` followed by as much of `text` as fits on the line (cut in the middle), or, when
    /// the head leaves too little room, both wrapped.
    func labelled(_ head: String, _ text: String, indent: Int) -> String {
        let head = String(repeating: " ", count: indent) + head
        return columns(head) + 8 <= width ? trimmed(head + clip(visible(text), width - columns(head))) + "\n"
                                       : wrap(head + text, indent: indent)
    }

    /// One table row, without its newline: each cell padded to its column's width (a longer
    /// cell is kept whole and pushes the rest), two spaces between columns.
    func row(_ cells: [String], widths: [Int], align: [Align], indent: Int) -> String {
        var s = String(repeating: " ", count: indent)
        for (k, width) in widths.enumerated() {
            let cell = k < cells.count ? visible(cells[k]) : ""
            let pad = String(repeating: " ", count: max(0, width - columns(cell)))
            let last = k == widths.count - 1
            s += align[k] == .left ? cell + (last ? "" : pad) : pad + cell
            if !last { s += "  " }
        }
        return trimmed(s)
    }

    /// A table with its header: columns as wide as their widest cell, except column
    /// `flexible`, which takes what is left of the width (its cells clipped in the middle).
    /// Columns in `droppable` go, in that order, when even a narrow flexible column won't fit.
    func table(header: [String], rows: [[String]], align: [Align], flexible: Int, indent: Int,
               droppable: [Int] = []) -> String {
        var out = ByteBuffer()
        defer { out.deallocate() }
        table(header: header, rows: rows, align: align, flexible: flexible, indent: indent,
              droppable: droppable, into: &out)
        return String(decoding: out.bytes, as: UTF8.self)
    }

    func table(header: [String], rows: [[String]], align: [Align], flexible: Int, indent: Int,
               droppable: [Int] = [], into out: inout ByteBuffer) {
        let rows = rows.map { $0.map(visible) }
        // Each cell's width, measured once.
        let headerWidths = header.map(columns)
        let cellWidths = rows.map { $0.map(columns) }
        var shown = Array(header.indices)
        func widths(_ cols: [Int]) -> [Int: Int] {
            var w: [Int: Int] = [:]
            for c in cols {
                w[c] = max(headerWidths[c], cellWidths.map { $0.count > c ? $0[c] : 0 }.max() ?? 0)
            }
            return w
        }
        var w = widths(shown)
        let minFlexible = min(w[flexible] ?? 0, 14)
        func fixedWidth() -> Int {
            indent + shown.filter { $0 != flexible }.reduce(0) { $0 + w[$1]! } + 2 * (shown.count - 1)
        }
        var drops = droppable
        while fixedWidth() + minFlexible > width, !drops.isEmpty {
            let d = drops.removeFirst()
            shown.removeAll { $0 == d }
        }
        w = widths(shown)
        w[flexible] = max(minFlexible, min(w[flexible] ?? 0, width - fixedWidth()))
        let columnWidths = shown.map { w[$0]! }
        func line(_ cells: [String], _ cellWidths: [Int], _ out: inout ByteBuffer) {
            let start = out.count
            out.append(spaces: indent)
            for (k, c) in shown.enumerated() {
                var cell = c < cells.count ? cells[c] : ""
                var n = c < cellWidths.count ? cellWidths[c] : 0
                if n > columnWidths[k] {
                    cell = clip(cell, columnWidths[k])
                    n = columns(cell)
                }
                let pad = max(0, columnWidths[k] - n)
                let last = k == shown.count - 1
                if align[c] == .left {
                    out.append(cell)
                    if !last { out.append(spaces: pad) }
                } else {
                    out.append(spaces: pad)
                    out.append(cell)
                }
                if !last { out.append(spaces: 2) }
            }
            out.trimSpaces(from: start)
            out.append(UInt8(ascii: "\n"))
        }
        line(header, headerWidths, &out)
        for (r, cells) in rows.enumerated() { line(cells, cellWidths[r], &out) }
    }

    /// The columns `text` takes: its characters (ASCII: its bytes, counted without walking
    /// grapheme clusters).
    func columns(_ text: String) -> Int { Self.columns(text) }

    static func columns(_ text: String) -> Int {
        let utf8 = text.utf8
        return utf8.allSatisfy({ $0 < 0x80 }) ? utf8.count : text.count
    }

    private func trimmed(_ line: String) -> String {
        var line = line
        while line.hasSuffix(" ") { line.removeLast() }
        return line
    }
}

/// `text` with control characters (a newline in a device name, …) written as escapes, so a
/// table row stays one line.
func visible(_ text: String) -> String {
    guard text.utf8.contains(where: { $0 < 0x20 || $0 == 0x7f }) else { return text }
    var out = ""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if scalar.value < 0x20 || scalar.value == 0x7f {
                let hex = String(scalar.value, radix: 16)
                out += "\\x" + (hex.count < 2 ? "0" : "") + hex
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out
}

/// `text` shortened to `width` characters with "…" in the middle.
func clip(_ text: String, _ width: Int) -> String {
    let w = max(width, 3)
    guard text.count > w else { return text }
    let head = (w - 1) / 2 + (w - 1) % 2
    let tail = w - 1 - head
    return String(text.prefix(head)) + "…" + String(text.suffix(tail))
}

func percent(_ v: Double) -> String { formatFixed(v * 100, digits: 1) + "%" }

/// 1234 → "1.234 ms", 12 → "12 µs".
public func formatMicros(_ us: Int64) -> String {
    if abs(us) < 1000 { return "\(us) µs" }
    return formatFixed(Double(us) / 1000, digits: 3) + " ms"
}
