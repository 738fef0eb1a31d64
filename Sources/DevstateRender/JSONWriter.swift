// SPDX-License-Identifier: MIT
import DevstateBytes

/// The one JSON writer of the outputs: values written in order straight into `out`, compact or
/// pretty (a member or element a line, two spaces a level, `"key": value`; an empty container
/// is `[]` or `{}`). Inside an object each value comes with its key, inside an array with
/// none (nil). A document can be written over many calls (a run at a time),
/// `out` handed on in between.
struct JSONWriter: ~Copyable {
    var out = ByteBuffer()
    let pretty: Bool
    /// The innermost open container: whether it is an object, and its members so far; the
    /// outer ones wait in `outer`.
    private var inObject = false
    private var count = 0
    private var outer: [(object: Bool, count: Int)] = []

    init(pretty: Bool) {
        self.pretty = pretty
    }

    /// The separator and line before a member or an element.
    private mutating func next() {
        if count > 0 { out.append(UInt8(ascii: ",")) }
        count += 1
        guard pretty else { return }
        out.append(UInt8(ascii: "\n"))
        out.append(spaces: 2 * outer.count)
    }

    /// Before a value: its key inside an object, else (key nil) its separator inside an array.
    private mutating func value(_ key: StaticString?) {
        if let key { return self.key(key) }
        if !inObject && !outer.isEmpty { next() }
    }

    mutating func key(_ name: StaticString) {
        next()
        out.append(UInt8(ascii: "\""))
        out.append(name)
        out.append(pretty ? "\": " as StaticString : "\":")
    }

    mutating func beginObject(_ key: StaticString? = nil) { begin(key, object: true) }
    mutating func beginArray(_ key: StaticString? = nil) { begin(key, object: false) }

    private mutating func begin(_ key: StaticString?, object: Bool) {
        value(key)
        out.append(object ? UInt8(ascii: "{") : UInt8(ascii: "["))
        outer.append((inObject, count))
        inObject = object
        count = 0
    }

    /// An array of an object per item, written by `members`.
    mutating func objects<S: Sequence>(_ key: StaticString?, _ items: S, _ members: (inout JSONWriter, S.Element) -> Void) {
        beginArray(key)
        for item in items {
            beginObject()
            members(&self, item)
            end()
        }
        end()
    }

    mutating func strings(_ key: StaticString?, _ items: [String]) {
        beginArray(key)
        for item in items { string(nil, item) }
        end()
    }

    mutating func end() {
        let closed = (inObject, count)
        (inObject, count) = outer.removeLast()
        if pretty && closed.1 > 0 {
            out.append(UInt8(ascii: "\n"))
            out.append(spaces: 2 * outer.count)
        }
        out.append(closed.0 ? UInt8(ascii: "}") : UInt8(ascii: "]"))
    }

    mutating func null(_ key: StaticString? = nil) {
        value(key)
        out.append("null" as StaticString)
    }

    mutating func bool(_ key: StaticString?, _ v: Bool?) {
        guard let v else { return null(key) }
        value(key)
        out.append(v ? "true" as StaticString : "false")
    }

    mutating func int<T: BinaryInteger>(_ key: StaticString?, _ v: T?) {
        guard let v else { return null(key) }
        value(key)
        if v < 0 { out.append(decimal: Int64(v)) } else { out.append(decimal: UInt64(v)) }
    }

    mutating func fixed(_ key: StaticString?, _ v: Double?, _ digits: Int) {
        guard let v else { return null(key) }
        value(key)
        out.append(fixed: v, digits: digits)
    }

    mutating func string(_ key: StaticString?, _ text: String?) {
        guard let text else { return null(key) }
        value(key)
        out.append(jsonString: text)
    }

    /// An idstr or a type as a JSON string of its text.
    mutating func string(_ key: StaticString?, bytes: ArraySlice<UInt8>) {
        value(key)
        out.append(jsonString: bytes, .report)
    }

    /// A value `write` writes itself, compact.
    mutating func raw(_ key: StaticString?, _ write: (inout ByteBuffer) -> Void) {
        value(key)
        write(&out)
    }
}
