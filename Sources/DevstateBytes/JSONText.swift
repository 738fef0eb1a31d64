// SPDX-License-Identifier: MIT
/// How strings are escaped in JSON: the report's own way, or json-c's (what QEMU's
/// `device-state-times` and the recorder's snapshot write), which also escapes `\b` and `\f`
/// by letter and leaves DEL as it is.
package enum JSONEscaping: Sendable {
    case report
    case jsonC
}

extension ByteBuffer {
    /// `text` as a JSON string.
    package mutating func append(jsonString text: String, _ escaping: JSONEscaping = .report) {
        var text = text
        text.withUTF8 { appendJSON(UnsafeRawBufferPointer($0), escaping) }
    }

    /// An idstr or a type as a JSON string of its text (invalid UTF-8 replaced, as
    /// `String(decoding:)` replaces it): ASCII is escaped as it is, without making a String.
    package mutating func append(jsonString bytes: ArraySlice<UInt8>, _ escaping: JSONEscaping = .report) {
        bytes.withUnsafeBytes { p in
            if p.allSatisfy({ $0 < 0x80 }) {
                appendJSON(p, escaping)
            } else {
                append(jsonString: String(decoding: p, as: UTF8.self), escaping)
            }
        }
    }

    /// Valid UTF-8, quoted and escaped.
    private mutating func appendJSON(_ utf8: UnsafeRawBufferPointer, _ escaping: JSONEscaping) {
        append(UInt8(ascii: "\""))
        var plain = 0
        for i in 0..<utf8.count {
            let b = utf8[i]
            let special = b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\")
                || (b == 0x7f && escaping == .report)
            guard special else { continue }
            append(UnsafeRawBufferPointer(rebasing: utf8[plain..<i]))
            plain = i + 1
            switch b {
            case UInt8(ascii: "\""): append(#"\""#)
            case UInt8(ascii: "\\"): append(#"\\"#)
            case 0x0A: append(#"\n"#)
            case 0x0D: append(#"\r"#)
            case 0x09: append(#"\t"#)
            case 0x08 where escaping == .jsonC: append(#"\b"#)
            case 0x0C where escaping == .jsonC: append(#"\f"#)
            default:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                append(#"\u00"#)
                append(hex[Int(b >> 4)])
                append(hex[Int(b & 15)])
            }
        }
        append(UnsafeRawBufferPointer(rebasing: utf8[plain...]))
        append(UInt8(ascii: "\""))
    }
}
