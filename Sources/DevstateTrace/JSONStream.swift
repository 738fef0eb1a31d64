// SPDX-License-Identifier: MIT
/// Writes JSON straight into a `ByteBuffer`, laid out byte for byte as `JSONValue.write` lays
/// it out (compact, or pretty with two spaces per level), without building values first.
/// Members and elements are written in order: `key` then a value inside an object, values
/// inside an array.
struct JSONStream {
    var out: ByteBuffer
    let pretty: Bool
    /// The innermost open container: whether it is an object, and how many members or
    /// elements it has so far; the outer ones wait in `outer`.
    private var inObject = false
    private var count = 0
    private var depth = 0
    private var outer: [(object: Bool, count: Int)] = []
    private let baseIndent: Int

    /// `indent` is the level the first value is written at (as `JSONValue.write(indent:)`).
    init(into out: ByteBuffer, pretty: Bool, indent: Int = 0) {
        self.out = out
        self.pretty = pretty
        baseIndent = indent
        outer.reserveCapacity(8)
    }

    private mutating func newline(_ level: Int) {
        out.append(UInt8(ascii: "\n"))
        for _ in 0..<level { out.append("  " as StaticString) }
    }

    /// The separator and indentation before an element of an array.
    @inline(__always)
    private mutating func element() {
        guard depth > 0, !inObject else { return }
        if count > 0 { out.append(UInt8(ascii: ",")) }
        if pretty { newline(baseIndent + depth) }
        count &+= 1
    }

    mutating func key(_ name: StaticString) {
        keyStart()
        out.append(name)
        out.append(pretty ? "\": " as StaticString : "\":")
    }

    /// A key that is not a literal, escaped like any string (labelled, so that a literal key
    /// never takes this slower path).
    mutating func key(escaping name: String) {
        if count > 0 { out.append(UInt8(ascii: ",")) }
        if pretty { newline(baseIndent + depth) }
        count &+= 1
        var name = name
        name.withUTF8 { quoted(UnsafeRawBufferPointer($0)) }
        out.append(pretty ? ": " as StaticString : ":")
    }

    @inline(__always)
    private mutating func keyStart() {
        if count > 0 { out.append(UInt8(ascii: ",")) }
        if pretty { newline(baseIndent + depth) }
        count &+= 1
        out.append(UInt8(ascii: "\""))
    }

    mutating func beginObject() { begin(object: true, UInt8(ascii: "{")) }
    mutating func beginArray() { begin(object: false, UInt8(ascii: "[")) }
    mutating func endObject() { close(UInt8(ascii: "}")) }
    mutating func endArray() { close(UInt8(ascii: "]")) }

    private mutating func begin(object: Bool, _ bracket: UInt8) {
        element()
        out.append(bracket)
        if depth > 0 { outer.append((inObject, count)) }
        depth &+= 1
        inObject = object
        count = 0
    }

    private mutating func close(_ bracket: UInt8) {
        depth &-= 1
        if pretty && count > 0 { newline(baseIndent + depth) }
        out.append(bracket)
        if depth > 0 { (inObject, count) = outer.removeLast() }
    }

    mutating func null() { element(); out.append("null" as StaticString) }
    /// A string that needs no escaping, given with its quotes (`"\"iterable\""`).
    mutating func quotedLiteral(_ text: StaticString) { element(); out.append(text) }
    mutating func bool(_ value: Bool) { element(); out.append(value ? "true" as StaticString : "false") }
    mutating func int(_ value: Int64) { element(); out.append(decimal: value) }
    mutating func int(_ value: Int) { element(); out.append(decimal: value) }
    mutating func uint(_ value: UInt64) { element(); out.append(decimal: value) }
    mutating func fixed(_ value: Double, _ digits: Int) { element(); out.append(fixed: value, digits: digits) }
    /// Text that is already JSON.
    mutating func raw(_ text: String) { element(); out.append(text) }

    mutating func string(_ text: String) {
        element()
        var text = text
        text.withUTF8 { quoted(UnsafeRawBufferPointer($0)) }
    }

    /// An idstr: as its text would be written (invalid UTF-8 replaced), without making the text
    /// when the bytes are ASCII.
    mutating func string(idstr: UnsafeRawBufferPointer) {
        element()
        out.append(jsonIDStr: idstr)
    }

    mutating func string(idstr: [UInt8]) {
        idstr.withUnsafeBytes { string(idstr: $0) }
    }

    mutating func optional(_ value: Int64?) {
        if let value { int(value) } else { null() }
    }

    private mutating func quoted(_ utf8: UnsafeRawBufferPointer) { out.append(jsonString: utf8) }

    /// An element the caller writes itself as compact JSON (the separator comes from here).
    @inline(__always)
    mutating func element(compact write: (inout ByteBuffer) -> Void) {
        element()
        write(&out)
    }
}

extension ByteBuffer {
    /// An idstr as a JSON string of its text (invalid UTF-8 replaced), without making the text
    /// when the bytes are ASCII.
    mutating func append(jsonIDStr idstr: UnsafeRawBufferPointer) {
        ByteScan.withText(idstr) { append(jsonString: $0) }
    }

    /// Valid UTF-8 as a JSON string: `"`, `\` and control characters escaped as `writeString`
    /// escapes them; everything else as it is.
    mutating func append(jsonString utf8: UnsafeRawBufferPointer) {
        append(UInt8(ascii: "\""))
        var plain = 0
        while true {
            let i = ByteScan.first(in: utf8, from: plain, flags: {
                ByteScan.below($0, 0x20) | ByteScan.equal($0, 0x7f) | ByteScan.equal($0, UInt8(ascii: "\""))
                    | ByteScan.equal($0, UInt8(ascii: "\\"))
            }, special: { $0 < 0x20 || $0 == 0x7f || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") })
            guard i < utf8.count else { break }
            let b = utf8[i]
            append(UnsafeRawBufferPointer(rebasing: utf8[plain..<i]))
            switch b {
            case UInt8(ascii: "\""): append("\\\"" as StaticString)
            case UInt8(ascii: "\\"): append("\\\\" as StaticString)
            case 0x0A: append("\\n" as StaticString)
            case 0x0D: append("\\r" as StaticString)
            case 0x09: append("\\t" as StaticString)
            default:
                let hex: StaticString = "0123456789abcdef"
                append("\\u00" as StaticString)
                append(hex.utf8Start[Int(b >> 4)])
                append(hex.utf8Start[Int(b & 15)])
            }
            plain = i + 1
        }
        append(UnsafeRawBufferPointer(rebasing: utf8[plain...]))
        append(UInt8(ascii: "\""))
    }
}
