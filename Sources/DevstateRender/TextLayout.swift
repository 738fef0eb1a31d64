// SPDX-License-Identifier: MIT
import DevstateBytes

/// Text that fits `width` columns, for every human-readable output: the report's table, its
/// outcome paragraphs and `--summary`. Paragraphs are word-wrapped, single lines cut, and
/// tables (`Table`) aligned in columns. Text is shown as `VisibleText` says.
struct TextLayout {
    let width: Int

    enum Align { case left, right }

    init(width: Int) {
        self.width = max(40, width)
    }

    /// `text` word-wrapped into `out`, continuation lines indented by `indent + hang`; a word
    /// longer than its line is clipped in the middle. A text that fits on its line is written
    /// as it is.
    func wrap(_ text: String, indent: Int = 0, hang: Int = 2, into out: inout ByteBuffer) {
        var shown = ByteBuffer(capacity: 256)
        shown.append(visible: text)
        shown.withBytes { wrap(visible: $0, indent: indent, hang: hang, into: &out) }
    }

    /// `wrap` as a String.
    func wrap(_ text: String, indent: Int = 0, hang: Int = 2) -> String {
        var out = ByteBuffer(capacity: 256)
        wrap(text, indent: indent, hang: hang, into: &out)
        return out.string
    }

    private func wrap(visible p: UnsafeRawBufferPointer, indent: Int, hang: Int, into out: inout ByteBuffer) {
        let space = UInt8(ascii: " ")
        if p.count > 0, p[p.count - 1] != space, indent + VisibleText.columns(p) <= width {
            out.append(spaces: indent)
            out.append(p)
            return out.append(UInt8(ascii: "\n"))
        }
        var lineStart = out.count
        out.append(spaces: indent)
        var used = indent
        var empty = true
        var i = 0
        for j in Self.wordEnds(p) {
            let word = UnsafeRawBufferPointer(rebasing: p[i..<j])
            let n = VisibleText.columns(word)
            if !empty, used + 1 + n > width {
                out.trimSpaces(from: lineStart)
                out.append(UInt8(ascii: "\n"))
                lineStart = out.count
                out.append(spaces: indent + hang)
                used = indent + hang
                empty = true
            }
            if !empty {
                out.append(space)
                used += 1
            }
            used += out.append(clipped: word, columns: n, to: width - used)
            empty = false
            i = j + 1
        }
        out.trimSpaces(from: lineStart)
        out.append(UInt8(ascii: "\n"))
    }

    /// Where each word of visible text ends: at the spaces that are a character of their own (a
    /// combining mark after a space makes one character of them, as a split by Character has
    /// it), and at the end.
    private static func wordEnds(_ p: UnsafeRawBufferPointer) -> [Int] {
        var ends = p.indices.filter { p[$0] == UInt8(ascii: " ") }
        if VisibleText.simpleScalars(p) == nil {
            ends = []
            var at = 0
            for c in String(decoding: p, as: UTF8.self) {
                if c == " " { ends.append(at) }
                at += c.utf8.count
            }
        }
        ends.append(p.count)
        return ends
    }

    /// The visible text written after `start` in `out` as one line, cut with "…" at the width.
    func fit(from start: Int, in out: inout ByteBuffer) {
        let line = out.withBytes { String(decoding: $0[start...], as: UTF8.self) }
        if VisibleText.columns(line) > width {
            out.truncate(to: start)
            out.append(String(line.prefix(width - 1)) + "…")
        }
        out.trimSpaces(from: start)
        out.append(UInt8(ascii: "\n"))
    }

    func fit(_ text: String) -> String {
        var out = ByteBuffer(capacity: 256)
        out.append(visible: text)
        fit(from: 0, in: &out)
        return out.string
    }

    /// `head` followed by as much of `text` as fits on the line (cut in the middle), or, when
    /// the head leaves too little room, both wrapped.
    func labelled(_ head: String, _ text: String, indent: Int, into out: inout ByteBuffer) {
        let head = String(repeating: " ", count: indent) + head
        let room = width - VisibleText.columns(head)
        guard room >= 8 else { return wrap(head + text, indent: indent, into: &out) }
        let start = out.count
        out.append(head)
        var shown = ByteBuffer(capacity: 256)
        let n = shown.append(visible: text)
        _ = shown.withBytes { out.append(clipped: $0, columns: n, to: room) }
        out.trimSpaces(from: start)
        out.append(UInt8(ascii: "\n"))
    }
}
