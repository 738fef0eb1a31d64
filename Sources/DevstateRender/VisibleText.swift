// SPDX-License-Identifier: MIT
import DevstateBytes

/// How the human-readable outputs measure and show text. A column is a character (a grapheme
/// cluster; in ASCII a byte); control characters (a newline in a device name, …) are shown as
/// escapes so that a table row stays one line; bytes that are not UTF-8 are read as
/// `String(decoding:as:)` reads them. Idstrs are nearly always printable ASCII, which is
/// copied and counted as it is: no String is made for it.
enum VisibleText {
    /// Whether `p` is printable ASCII, which is shown as it is, one column a byte.
    static func isPlain(_ p: UnsafeRawBufferPointer) -> Bool {
        for b in p where b < 0x20 || b >= 0x7f { return false }
        return true
    }

    /// The columns of visible text (valid UTF-8 without control characters): its characters.
    static func columns(_ p: UnsafeRawBufferPointer) -> Int {
        simpleScalars(p) ?? String(decoding: p, as: UTF8.self).count
    }

    /// The scalars of `p` when each is a character of its own and never joins a neighbour
    /// (ASCII, U+0080–U+02FF, which has no combining mark, and the report's own – … → ─): the
    /// usual text is counted without making a String.
    static func simpleScalars(_ p: UnsafeRawBufferPointer) -> Int? {
        var n = 0
        var i = 0
        while i < p.count {
            let b = p[i]
            if b < 0x80 {
                i += 1
            } else if b >= 0xC2, b <= 0xCB, i + 1 < p.count {
                i += 2
            } else if b == 0xE2, i + 2 < p.count, Self.isSymbol(Int(p[i + 1]) << 8 | Int(p[i + 2])) {
                i += 3
            } else {
                return nil
            }
            n += 1
        }
        return n
    }

    /// – … → ─ after their first byte, 0xE2.
    private static func isSymbol(_ rest: Int) -> Bool {
        rest == 0x8093 || rest == 0x80A6 || rest == 0x8692 || rest == 0x9480
    }

    static func columns(_ text: String) -> Int {
        var text = text
        return text.withUTF8 { columns(UnsafeRawBufferPointer($0)) }
    }
}

extension ByteBuffer {
    /// `text` as it is shown (`VisibleText`); returns its columns.
    @discardableResult
    mutating func append(visible text: UnsafeRawBufferPointer) -> Int {
        if VisibleText.isPlain(text) {
            append(text)
            return text.count
        }
        return append(visible: String(decoding: text, as: UTF8.self))
    }

    /// `text` with its control characters escaped; returns its columns.
    @discardableResult
    mutating func append(visible text: String) -> Int {
        var text = text
        let start = count
        text.withUTF8 { valid in
            let utf8 = UnsafeRawBufferPointer(valid)
            var plain = 0
            for (i, b) in utf8.enumerated() where b < 0x20 || b == 0x7f {
                append(UnsafeRawBufferPointer(rebasing: utf8[plain..<i]))
                plain = i + 1
                switch b {
                case 0x0A: append(#"\n"# as StaticString)
                case 0x0D: append(#"\r"# as StaticString)
                case 0x09: append(#"\t"# as StaticString)
                default:
                    let hex: [UInt8] = Array("0123456789abcdef".utf8)
                    append(#"\x"# as StaticString)
                    append(hex[Int(b >> 4)])
                    append(hex[Int(b & 15)])
                }
            }
            append(UnsafeRawBufferPointer(rebasing: utf8[plain...]))
        }
        return withBytes { VisibleText.columns(UnsafeRawBufferPointer(rebasing: $0[start...])) }
    }

    /// Visible text of `n` columns cut to `width` columns (at least 3) with "…" in the middle;
    /// returns the columns written.
    mutating func append(clipped p: UnsafeRawBufferPointer, columns n: Int, to width: Int) -> Int {
        let w = max(width, 3)
        guard n > w else {
            append(p)
            return n
        }
        let text = String(decoding: p, as: UTF8.self)
        return append(visible: String(text.prefix(w / 2)) + "…" + String(text.suffix(w - 1 - w / 2)))
    }
}
