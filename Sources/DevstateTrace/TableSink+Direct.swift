// SPDX-License-Identifier: MIT
/// The device and by-type tables of a long report written straight into bytes in the usual
/// case: every name printable ASCII (`DeviceRow.plainName`), no destination beside the source,
/// and every column as wide as its widest cell within the width. The bytes are those
/// `TextLayout.table` writes for the same cells (`DirectTableTests` compares them);
/// they are written without collecting the cells first, which took most of a long `--all`
/// report's time. Any other case goes through `CellTable`.
extension TableSink {
    /// Where each column starts on a line whose cells all fit.
    struct FittedColumns {
        var start = SIMD16<Int32>()
        var width = SIMD16<Int32>()
        /// The line up to the end of its last column, indent included.
        var lineWidth = 0

        /// Columns of `widths` after `indent`, two spaces apart, as `TextLayout.table` lays
        /// them out when no column is dropped or clipped; nil when `flexible` would be.
        init?(_ widths: [Int], flexible: Int, indent: Int, total: Int) {
            var fixed = indent + 2 * (widths.count - 1)
            for (c, w) in widths.enumerated() where c != flexible { fixed += w }
            guard widths[flexible] <= total - fixed, widths.count <= 16 else { return nil }
            var at = indent
            for (c, w) in widths.enumerated() {
                start[c] = Int32(at)
                width[c] = Int32(w)
                at += w + 2
            }
            lineWidth = at - 2
        }

        @inline(__always) func end(_ c: Int) -> Int { Int(start[c] &+ width[c]) }
    }

    /// A share as the table writes it (`percent`: `append(fixed: share * 100, digits: 1)`, the
    /// same products rounded the same way): its tenths of a percent, or nil for a share this
    /// writer leaves to the general path (negative, not finite, huge).
    @inline(__always)
    static func permille(_ share: Double) -> UInt64? {
        let percent = share * 100
        guard percent >= 0 else { return nil }
        return ByteBuffer.rounded(percent * 10)
    }

    /// The columns of each header word ("µ" is one).
    static func columns(_ words: [StaticString]) -> [Int] {
        words.map { word in
            let bytes = UnsafeRawBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
            return SimpleText.columns(bytes) ?? bytes.count
        }
    }

    /// A device's section as its table writes it.
    @inline(__always)
    static func sectionWord(_ row: UnsafePointer<DeviceRow>) -> StaticString {
        row.pointee.device.section == .iterable ? "iter" : "non-iter"
    }

    /// Columns of `percent(share)` for `permille` units: "12.3%".
    @inline(__always)
    static func percentColumns(_ units: UInt64) -> Int { ByteBuffer.digits(units / 10) + 3 }

    /// The header line: `words`, of `wordColumns` each, padded to the columns.
    static func header(_ words: [StaticString], _ wordColumns: [Int], _ columns: FittedColumns,
                       align: [TextLayout.Align], indent: Int, into t: inout ByteBuffer) {
        let start = t.count
        t.append(spaces: indent)
        for (c, word) in words.enumerated() {
            let bytes = UnsafeRawBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
            let pad = Int(columns.width[c]) - wordColumns[c]
            let last = c == words.count - 1
            if align[c] == .right { t.append(spaces: pad) }
            t.append(bytes)
            if align[c] == .left, !last { t.append(spaces: pad) }
            if !last { t.append(spaces: 2) }
        }
        t.trimSpaces(from: start)
        t.append(UInt8(ascii: "\n"))
    }

    /// A line of spaces as wide as the columns, for the cells to be written over.
    @inline(__always)
    static func beginLine(_ columns: FittedColumns, into t: inout ByteBuffer) -> UnsafeMutablePointer<UInt8> {
        let start = t.count
        t.append(spaces: columns.lineWidth)
        return t.base + start
    }

    /// Ends the line begun at `line`: its trailing spaces go.
    @inline(__always)
    static func endLine(_ line: UnsafeMutablePointer<UInt8>, into t: inout ByteBuffer) {
        t.trimSpaces(from: t.base.distance(to: line))
        t.append(UInt8(ascii: "\n"))
    }

    @inline(__always)
    static func left(_ bytes: UnsafeRawBufferPointer, at: UnsafeMutablePointer<UInt8>) {
        if bytes.count > 0 { ByteBuffer.copy(UnsafeMutableRawPointer(at), bytes.baseAddress!, bytes.count) }
    }

    @inline(__always)
    static func left(_ word: StaticString, at: UnsafeMutablePointer<UInt8>) {
        ByteBuffer.copy(UnsafeMutableRawPointer(at), word.utf8Start, word.utf8CodeUnitCount)
    }

    /// `percent` of the share whose `permille` is `units`, ending at `end`.
    @inline(__always)
    static func percent(_ units: UInt64, endingAt end: UnsafeMutablePointer<UInt8>) {
        (end - 1).pointee = UInt8(ascii: "%")
        (end - 2).pointee = UInt8(truncatingIfNeeded: units % 10) &+ 48
        (end - 3).pointee = UInt8(ascii: ".")
        ByteBuffer.writeDigits(units / 10, endingAt: end - 3)
    }

    /// The device table's header and rows for the devices at `order`, or false (nothing
    /// written) when a name is not plain, a share not a plain percentage, or a column does not fit.
    func directDeviceTable(_ side: SideReport, order: [Int], into t: inout ByteBuffer) -> Bool {
        let source = side.side == .source
        let names = side.names
        let words: [StaticString] = ["#", "device", "inst", "type", "section", source ? "src µs" : "dst µs",
                                     source ? "src %" : "dst %", "d-s-t"]
        let headers = Self.columns(words)
        // The widest cell of each column, its header's included (locals: no array write per cell).
        var name = headers[1], inst = headers[2], type = headers[3], section = headers[4]
        var time = headers[5], share = headers[6], flag = headers[7]
        let fits = side.devices.withUnsafeBufferPointer { devices -> Bool in
            for i in order {
                let row = devices.baseAddress! + i
                guard row.pointee.plainName else { return false }
                let id = row.pointee.device.idstr
                name = max(name, names.idstr(id).count)
                inst = max(inst, ByteBuffer.digits(UInt64(row.pointee.device.instanceID)))
                type = max(type, names.type(id).count)
                section = max(section, Self.sectionWord(row).utf8CodeUnitCount)
                time = max(time, ByteBuffer.digits(row.pointee.device.timeUS))
                if let value = row.pointee.share {
                    guard let units = Self.permille(value) else { return false }
                    share = max(share, Self.percentColumns(units))
                }
                flag = max(flag, Self.flag(row).utf8CodeUnitCount)
            }
            return true
        }
        let w = [max(headers[0], ByteBuffer.digits(UInt64(order.count))), name, inst, type, section, time, share, flag]
        guard fits, let columns = FittedColumns(w, flexible: 1, indent: 2, total: text.width) else { return false }
        Self.header(words, headers, columns, align: Self.deviceAlign, indent: 2, into: &t)
        let start = columns.start
        side.devices.withUnsafeBufferPointer { devices in
            for (k, i) in order.enumerated() {
                let row = devices.baseAddress! + i
                let id = row.pointee.device.idstr
                let line = Self.beginLine(columns, into: &t)
                ByteBuffer.writeDigits(UInt64(k + 1), endingAt: line + columns.end(0))
                Self.left(names.idstr(id), at: line + Int(start[1]))
                ByteBuffer.writeDigits(UInt64(row.pointee.device.instanceID), endingAt: line + columns.end(2))
                Self.left(names.type(id), at: line + Int(start[3]))
                Self.left(Self.sectionWord(row), at: line + Int(start[4]))
                ByteBuffer.writeDigits(row.pointee.device.timeUS, endingAt: line + columns.end(5))
                if let share = row.pointee.share {
                    Self.percent(Self.permille(share)!, endingAt: line + columns.end(6))
                }
                Self.left(Self.flag(row), at: line + Int(start[7]))
                Self.endLine(line, into: &t)
            }
        }
        return true
    }

    /// `heading`, the by-type table's header and the rows of `types` at `shown`, or false
    /// (nothing written) as `directDeviceTable`.
    func directTypeTable(_ side: SideReport, shown: [Int], heading: [UInt8], into t: inout ByteBuffer) -> Bool {
        let names = side.names
        let source = side.side == .source
        let words: [StaticString] = ["type", "count", source ? "src µs" : "dst µs", source ? "src %" : "dst %"]
        let headers = Self.columns(words)
        var type = headers[0], count = headers[1], time = headers[2], share = headers[3]
        let fits = side.types.withUnsafeBufferPointer { types -> Bool in
            for k in shown {
                let row = types.baseAddress! + k
                guard row.pointee.plainType else { return false }
                type = max(type, names.type(row.pointee.nameID).count)
                count = max(count, ByteBuffer.digits(UInt64(row.pointee.count)))
                time = max(time, ByteBuffer.digits(row.pointee.timeUS))
                if let value = row.pointee.share {
                    guard let units = Self.permille(value) else { return false }
                    share = max(share, Self.percentColumns(units))
                }
            }
            return true
        }
        let w = [type, count, time, share]
        guard fits, let columns = FittedColumns(w, flexible: 0, indent: 2, total: text.width) else { return false }
        t.append(heading)
        Self.header(words, headers, columns, align: Self.typeAlign, indent: 2, into: &t)
        side.types.withUnsafeBufferPointer { types in
            for k in shown {
                let row = types.baseAddress! + k
                let line = Self.beginLine(columns, into: &t)
                Self.left(names.type(row.pointee.nameID), at: line + Int(columns.start[0]))
                ByteBuffer.writeDigits(UInt64(row.pointee.count), endingAt: line + columns.end(1))
                ByteBuffer.writeDigits(row.pointee.timeUS, endingAt: line + columns.end(2))
                if let share = row.pointee.share {
                    Self.percent(Self.permille(share)!, endingAt: line + columns.end(3))
                }
                Self.endLine(line, into: &t)
            }
        }
        return true
    }
}
