// SPDX-License-Identifier: MIT
import DevstateBytes

/// The one table engine of the text outputs: cells, header first, row by row, kept as the
/// bytes they are shown as (`VisibleText`) with their columns measured once, as they are added
/// (a long `--all` report has millions of cells: no String per cell).
struct Table: ~Copyable {
    private struct Cell {
        var start: Int
        var end: Int
        var columns: Int
    }

    private var text = ByteBuffer(capacity: 4096)
    private var cells: [Cell] = []
    private var perRow = 1

    var rows: Int { cells.count / perRow }

    /// Empties the table for rows of `columns` cells.
    mutating func reset(columns: Int) {
        perRow = columns
        cells.removeAll(keepingCapacity: true)
        text.removeAll()
    }

    private mutating func push(from start: Int, columns: Int) {
        cells.append(Cell(start: start, end: text.count, columns: columns))
    }

    mutating func add(_ p: UnsafeRawBufferPointer) {
        let start = text.count
        push(from: start, columns: text.append(visible: p))
    }

    mutating func add(_ word: StaticString) {
        add(UnsafeRawBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount))
    }

    mutating func add(_ words: StaticString...) {
        for w in words { add(w) }
    }

    mutating func add(_ s: String) {
        let start = text.count
        push(from: start, columns: text.append(visible: s))
    }

    mutating func add(_ bytes: [UInt8]) { bytes.withUnsafeBytes { add($0) } }

    mutating func add(_ bytes: ArraySlice<UInt8>) { bytes.withUnsafeBytes { add($0) } }

    mutating func empty() { push(from: text.count, columns: 0) }

    mutating func add<T: BinaryInteger>(decimal v: T) {
        let start = text.count
        if v < 0 { text.append(decimal: Int64(v)) } else { text.append(decimal: UInt64(v)) }
        push(from: start, columns: text.count - start)
    }

    /// A time and its share, or "–" for a device or type the side does not have.
    mutating func add(time: UInt64?, share: Double?) {
        if let time { add(decimal: time) } else { add("–" as StaticString) }
        add(percent: share)
    }

    /// A share as a percentage ("12.3%"), or an empty cell for nil.
    mutating func add(percent share: Double?) {
        guard let share else { return empty() }
        let start = text.count
        text.append(percent: share)
        push(from: start, columns: text.count - start)
    }

    /// The table within `width` columns after `indent`: columns as wide as their widest cell
    /// and two spaces apart, except column `flexible`, which takes what is left (its cells
    /// clipped in the middle, down to 14 columns). Columns in `droppable` go, in that order,
    /// while even a narrow flexible column does not fit. Trailing spaces go.
    func write(into out: inout ByteBuffer, width: Int, align: [TextLayout.Align], flexible: Int, indent: Int,
               droppable: [Int] = []) {
        let (w, shown) = layout(width: width, flexible: flexible, indent: indent, droppable: droppable)
        text.withBytes { bytes in
            for r in 0..<rows {
                let start = out.count
                // The spaces before the next cell: written with it, so none end a line.
                var gap = indent
                for c in shown {
                    let cell = cells[r * perRow + c]
                    let p = UnsafeRawBufferPointer(rebasing: bytes[cell.start..<cell.end])
                    let pad = max(0, w[c] - cell.columns)
                    if align[c] == .right { gap += pad }
                    if cell.end > cell.start {
                        out.append(spaces: gap)
                        gap = 0
                    }
                    if pad == 0, cell.columns > w[c] {
                        _ = out.append(clipped: p, columns: cell.columns, to: w[c])
                    } else {
                        out.append(p)
                    }
                    gap += (align[c] == .left ? pad : 0) + 2
                }
                out.trimSpaces(from: start)
                out.append(UInt8(ascii: "\n"))
            }
        }
    }

    /// Each column's width, and the columns shown.
    private func layout(width: Int, flexible: Int, indent: Int, droppable: [Int]) -> ([Int], [Int]) {
        var w = [Int](repeating: 0, count: perRow)
        for (k, cell) in cells.enumerated() where cell.columns > w[k % perRow] { w[k % perRow] = cell.columns }
        var shown = Array(0..<perRow)
        func fixed() -> Int {
            shown.reduce(indent + 2 * (shown.count - 1)) { $1 == flexible ? $0 : $0 + w[$1] }
        }
        let minFlexible = min(w[flexible], 14)
        for d in droppable where fixed() + minFlexible > width { shown.removeAll { $0 == d } }
        w[flexible] = max(minFlexible, min(w[flexible], width - fixed()))
        return (w, shown)
    }
}
