// SPDX-License-Identifier: MIT
/// The byte paths of `TextLayout` for "simple" text: UTF-8 whose every scalar is a character of
/// its own and no control character, so that its columns (`TextLayout.columns`) are its scalars
/// and wrapping, clipping and padding can work on bytes. Simple scalars: U+0020–U+007E and
/// U+0080–U+02FF (no combining mark, no prepended or spacing mark, no joiner, no regional
/// indicator, no Hangul jamo: nothing that joins a neighbour into one grapheme cluster), and
/// the symbols the report itself writes: – (U+2013), … (U+2026), → (U+2192), ─ (U+2500). Any
/// other text takes the String paths, so the output is the same for every input.
enum SimpleText {
    /// The columns of `p` when it is simple UTF-8 (well-formed, so also for a raw idstr), else nil.
    @inline(__always)
    static func columns(_ p: UnsafeRawBufferPointer) -> Int? {
        let count = p.count
        var i = 0
        var n = 0
        let high: UInt64 = 0x8080_8080_8080_8080
        let ones: UInt64 = 0x0101_0101_0101_0101
        while i < count {
            // Eight bytes at a time while they are printable ASCII (0x20...0x7E): no byte with
            // its high bit set, below 0x20, or 0x7F.
            if i &+ 8 <= count {
                let x = p.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                let del = x ^ (0x7F &* ones)
                if (x | ((x &- 0x20 &* ones) & ~x) | ((del &- ones) & ~del)) & high == 0 {
                    i &+= 8
                    n &+= 8
                    continue
                }
            }
            let b = p[i]
            if b < 0x80 {
                if b < 0x20 || b == 0x7f { return nil }
                i &+= 1
            } else if b >= 0xC2 && b <= 0xCB {
                guard i &+ 1 < count, p[i &+ 1] & 0xC0 == 0x80 else { return nil }
                i &+= 2
            } else if b == 0xE2 {
                guard i &+ 2 < count else { return nil }
                let b1 = p[i &+ 1], b2 = p[i &+ 2]
                guard (b1 == 0x80 && (b2 == 0x93 || b2 == 0xA6)) || (b1 == 0x86 && b2 == 0x92)
                        || (b1 == 0x94 && b2 == 0x80) else { return nil }
                i &+= 3
            } else {
                return nil
            }
            n &+= 1
        }
        return n
    }

    /// Writes `p` (simple, `n` columns) clipped to `width` as `clip` does ("…" in the middle);
    /// returns the columns written.
    static func appendClipped(_ p: UnsafeRawBufferPointer, _ n: Int, _ width: Int,
                              into out: inout ByteBuffer) -> Int {
        let w = max(width, 3)
        guard n > w else {
            out.append(p)
            return n
        }
        let head = (w - 1) / 2 + (w - 1) % 2
        let tail = w - 1 - head
        // The byte after `head` scalars, and the byte where the last `tail` scalars start.
        var end = 0
        var k = 0
        while k < head {
            end &+= 1
            while end < p.count, p[end] & 0xC0 == 0x80 { end &+= 1 }
            k &+= 1
        }
        var start = p.count
        k = 0
        while k < tail {
            start &-= 1
            while start > 0, p[start] & 0xC0 == 0x80 { start &-= 1 }
            k &+= 1
        }
        out.append(UnsafeRawBufferPointer(rebasing: p[0..<end]))
        out.append("…" as StaticString)
        out.append(UnsafeRawBufferPointer(rebasing: p[start..<p.count]))
        return w
    }
}

/// A table's cells, header first, row by row, as bytes with their columns measured once
/// (what `TextLayout.table(_:align:flexible:indent:droppable:into:)` lays out). A value with
/// manual lifetime like `ByteBuffer`: its owner calls `deallocate()` once, and a copy that grew
/// must be stored back.
struct CellTable {
    struct Cell {
        var start: Int32
        var end: Int32
        var columns: Int32
        /// Simple text (see `SimpleText`); else text already made visible, clipped as a String.
        var simple: Bool
    }

    private(set) var text: ByteBuffer
    private(set) var cells: UnsafeMutablePointer<Cell>
    private var capacity: Int
    private(set) var count = 0
    /// Cells per row.
    private(set) var width = 1

    init(capacity: Int = 256) {
        self.capacity = max(capacity, 16)
        cells = .allocate(capacity: self.capacity)
        text = ByteBuffer(capacity: 4096)
    }

    func deallocate() {
        cells.deallocate()
        text.deallocate()
    }

    var rows: Int { count / width }

    /// Empties the table for rows of `width` cells.
    mutating func reset(width: Int) {
        self.width = width
        count = 0
        text.removeAll()
    }

    subscript(row: Int, column: Int) -> Cell { cells[row &* width &+ column] }

    func bytes(_ cell: Cell) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: text.base + Int(cell.start), count: Int(cell.end &- cell.start))
    }

    @inline(__always)
    private mutating func push(_ cell: Cell) {
        if count == capacity {
            let bigger = UnsafeMutablePointer<Cell>.allocate(capacity: capacity * 2)
            bigger.moveInitialize(from: cells, count: count)
            cells.deallocate()
            cells = bigger
            capacity *= 2
        }
        (cells + count).initialize(to: cell)
        count &+= 1
    }

    /// The report's own words (simple text).
    @inline(__always)
    mutating func word(_ s: StaticString) {
        let start = text.count
        text.append(s)
        let columns: Int
        if s.isASCII {
            columns = s.utf8CodeUnitCount
        } else {
            let p = UnsafeRawBufferPointer(start: text.base + start, count: text.count - start)
            columns = SimpleText.columns(p) ?? p.count
        }
        push(Cell(start: Int32(start), end: Int32(text.count), columns: Int32(columns), simple: true))
    }

    @inline(__always)
    mutating func empty() {
        push(Cell(start: Int32(text.count), end: Int32(text.count), columns: 0, simple: true))
    }

    mutating func decimal(_ v: Int64) {
        let start = text.count
        text.append(decimal: v)
        push(Cell(start: Int32(start), end: Int32(text.count), columns: Int32(text.count - start), simple: true))
    }

    mutating func decimal(_ v: UInt64) {
        let start = text.count
        text.append(decimal: v)
        push(Cell(start: Int32(start), end: Int32(text.count), columns: Int32(text.count - start), simple: true))
    }

    /// `percent(share)`, or an empty cell for nil.
    mutating func percent(_ share: Double?) {
        guard let share else { return empty() }
        let start = text.count
        text.append(percent: share)
        push(Cell(start: Int32(start), end: Int32(text.count), columns: Int32(text.count - start), simple: true))
    }

    /// Any text; bytes that are not valid UTF-8 are read as `String(decoding:as:)` reads them.
    mutating func add(_ p: UnsafeRawBufferPointer) {
        if let n = SimpleText.columns(p) {
            let start = text.count
            text.append(p)
            push(Cell(start: Int32(start), end: Int32(text.count), columns: Int32(n), simple: true))
        } else {
            addComplex(String(decoding: p, as: UTF8.self))
        }
    }

    /// Printable ASCII (`DeviceRow.plainName`): one column per byte, nothing to look at.
    @inline(__always)
    mutating func add(plain p: UnsafeRawBufferPointer) {
        let start = text.count
        text.append(p)
        push(Cell(start: Int32(start), end: Int32(text.count), columns: Int32(p.count), simple: true))
    }

    mutating func add(_ s: String) {
        var s = s
        s.withUTF8 { add(UnsafeRawBufferPointer($0)) }
    }

    mutating func add(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { add($0) }
    }

    /// Starts a cell the caller writes into `text` (with `appendText`); `end` measures it.
    mutating func begin() -> Int { text.count }

    mutating func appendText(_ s: StaticString) { text.append(s) }

    mutating func appendText(_ s: String) { text.append(s) }

    mutating func end(_ start: Int) {
        let p = UnsafeRawBufferPointer(start: text.base + start, count: text.count - start)
        if let n = SimpleText.columns(p) {
            push(Cell(start: Int32(start), end: Int32(text.count), columns: Int32(n), simple: true))
        } else {
            // The bytes written stay unused in `text`; the cell is their visible form after them.
            addComplex(String(decoding: p, as: UTF8.self))
        }
    }

    private mutating func addComplex(_ s: String) {
        let shown = visible(s)
        let start = text.count
        text.append(shown)
        push(Cell(start: Int32(start), end: Int32(text.count), columns: Int32(TextLayout.columns(shown)),
                  simple: false))
    }
}

extension ByteBuffer {
    /// `percent(share)`: `append(fixed: share * 100, digits: 1)` and "%".
    mutating func append(percent share: Double) {
        append(fixed: share * 100, digits: 1)
        append(UInt8(ascii: "%"))
    }
}

extension TextLayout {
    /// `wrap(_:indent:hang:)` of the UTF-8 text `p`, written into `out`: on bytes when the text
    /// is simple, else through the String wrapper.
    func wrap(bytes p: UnsafeRawBufferPointer, indent: Int = 0, hang: Int = 2, into out: inout ByteBuffer) {
        guard let total = SimpleText.columns(p) else {
            out.append(wrap(String(decoding: p, as: UTF8.self), indent: indent, hang: hang))
            return
        }
        let count = p.count
        if count > 0, indent + total <= width, p[count - 1] != UInt8(ascii: " ") {
            out.append(spaces: indent)
            out.append(p)
            out.append(UInt8(ascii: "\n"))
            return
        }
        let ascii = total == count
        var lineStart = out.count
        out.append(spaces: indent)
        var used = indent
        var empty = true
        var i = 0
        while true {
            var j = i
            var n = 0
            if ascii {
                while j < count, p[j] != UInt8(ascii: " ") { j &+= 1 }
                n = j &- i
            } else {
                while j < count, p[j] != UInt8(ascii: " ") {
                    if p[j] & 0xC0 != 0x80 { n &+= 1 }
                    j &+= 1
                }
            }
            if !empty, used + 1 + n > width {
                out.trimSpaces(from: lineStart)
                out.append(UInt8(ascii: "\n"))
                lineStart = out.count
                out.append(spaces: indent + hang)
                used = indent + hang
                empty = true
            }
            let room = width - used - (empty ? 0 : 1)
            if !empty {
                out.append(UInt8(ascii: " "))
                used += 1
            }
            let word = UnsafeRawBufferPointer(rebasing: p[i..<j])
            if n > room {
                used += SimpleText.appendClipped(word, n, room, into: &out)
            } else {
                out.append(word)
                used += n
            }
            empty = false
            if j >= count { break }
            i = j &+ 1
        }
        out.trimSpaces(from: lineStart)
        out.append(UInt8(ascii: "\n"))
    }

    /// The table of `cells` (its first row the header), laid out as
    /// `table(header:rows:align:flexible:indent:droppable:into:)` lays out the same texts.
    func table(_ cells: CellTable, align: [Align], flexible: Int, indent: Int, droppable: [Int] = [],
               into out: inout ByteBuffer) {
        let columnCount = cells.width
        let rowCount = cells.rows
        guard columnCount > 0 else { return }
        // Per column: its width, whether it is shown, and (for the shown ones, in order) its index.
        withUnsafeTemporaryAllocation(of: Int.self, capacity: 3 * columnCount) { scratch in
            let w = scratch.baseAddress!
            let shown = w + columnCount
            let plan = w + 2 * columnCount
            w.initialize(repeating: 0, count: columnCount)
            shown.initialize(repeating: 1, count: columnCount)
            var shownCount = columnCount
            let base = cells.cells
            for r in 0..<rowCount {
                let row = base + r &* columnCount
                for c in 0..<columnCount {
                    let n = Int(row[c].columns)
                    if n > w[c] { w[c] = n }
                }
            }
            let minFlexible = min(w[flexible], 14)
            func fixedWidth() -> Int {
                var sum = indent + 2 * (shownCount - 1)
                for c in 0..<columnCount where shown[c] != 0 && c != flexible { sum += w[c] }
                return sum
            }
            var next = 0
            while fixedWidth() + minFlexible > width, next < droppable.count {
                let d = droppable[next]
                next += 1
                if shown[d] != 0 {
                    shown[d] = 0
                    shownCount -= 1
                }
            }
            w[flexible] = max(minFlexible, min(shown[flexible] != 0 ? w[flexible] : 0, width - fixedWidth()))
            var planned = 0
            for c in 0..<columnCount where shown[c] != 0 {
                plan[planned] = c
                planned += 1
            }
            let last = planned > 0 ? plan[planned - 1] : -1
            align.withUnsafeBufferPointer { align in
                // The line as it is before its trailing spaces go, when no cell is clipped.
                var lineWidth = indent
                for k in 0..<planned { lineWidth += w[plan[k]] + (k == planned - 1 ? 0 : 2) }
                for r in 0..<rowCount {
                    let row = base + r &* columnCount
                    var bytes = lineWidth
                    var fits = true
                    for k in 0..<planned {
                        let cell = row[plan[k]]
                        bytes &+= Int(cell.end &- cell.start &- cell.columns)
                        if Int(cell.columns) > w[plan[k]] { fits = false }
                    }
                    let start = out.count
                    if fits {
                        // Spaces for the whole line, then each cell written over them.
                        out.append(spaces: bytes)
                        var at = out.base + start + indent
                        for k in 0..<planned {
                            let c = plan[k]
                            let cell = row[c]
                            let pad = w[c] &- Int(cell.columns)
                            if align[c] == .right { at += pad }
                            let length = Int(cell.end &- cell.start)
                            if length > 0 {
                                ByteBuffer.copy(UnsafeMutableRawPointer(at), cells.text.base + Int(cell.start), length)
                            }
                            at += length &+ 2
                            if align[c] == .left { at += pad }
                        }
                    } else {
                        out.append(spaces: indent)
                        for k in 0..<planned {
                            let c = plan[k]
                            let cw = w[c]
                            let right = align[c] == .right
                            let cell = row[c]
                            let n = Int(cell.columns)
                            let isLast = c == last
                            if n <= cw {
                                if right { out.append(spaces: cw &- n) }
                                out.append(cells.bytes(cell))
                                if !right, !isLast { out.append(spaces: cw &- n) }
                            } else {
                                clipped(cells, cell, cw, right: right, last: isLast, into: &out)
                            }
                            if !isLast {
                                out.append(UInt8(ascii: " "))
                                out.append(UInt8(ascii: " "))
                            }
                        }
                    }
                    out.trimSpaces(from: start)
                    out.append(UInt8(ascii: "\n"))
                }
            }
        }
    }

    /// A cell wider than its column `cw`, clipped in the middle as `clip` clips it.
    private func clipped(_ cells: CellTable, _ cell: CellTable.Cell, _ cw: Int, right: Bool, last: Bool,
                         into out: inout ByteBuffer) {
        let p = cells.bytes(cell)
        if cell.simple {
            let n = min(Int(cell.columns), max(cw, 3))
            if right { out.append(spaces: max(0, cw - n)) }
            _ = SimpleText.appendClipped(p, Int(cell.columns), cw, into: &out)
            if !right, !last { out.append(spaces: max(0, cw - n)) }
        } else {
            let s = clip(String(decoding: p, as: UTF8.self), cw)
            let n = TextLayout.columns(s)
            if right { out.append(spaces: max(0, cw - n)) }
            out.append(s)
            if !right, !last { out.append(spaces: max(0, cw - n)) }
        }
    }
}
