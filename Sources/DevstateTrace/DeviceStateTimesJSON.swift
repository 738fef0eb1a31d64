// SPDX-License-Identifier: MIT
/// `device-state-times` written from the report's rows: the rows the recorder kept, in log
/// order, compact, byte for byte as the recorder's own json-c writer (`Snapshot.json()`, what
/// QEMU returns) writes the same entries; DeviceStateTimesJSONTests compare the two on every
/// fixture and on names with every character JSON escapes. Building a json-c document per run
/// took a third of the time of a JSON report of a long log.
extension SideReport {
    public var deviceStateTimesJSON: String {
        var buffer = ByteBuffer(capacity: 256)
        defer { buffer.deallocate() }
        writeDeviceStateTimes(to: &buffer)
        return String(decoding: buffer.bytes, as: UTF8.self)
    }

    func writeDeviceStateTimes(to out: inout ByteBuffer) {
        out.append(UInt8(ascii: "["))
        var first = true
        for row in devices where row.inDeviceStateTimes {
            out.append(first ? #"{"name":"# as StaticString : #",{"name":"#)
            first = false
            let idstr = names.idstr(row.device.idstr)
            if row.plainName { out.append(quotedPlain: idstr) } else { out.append(jsonCString: idstr) }
            out.append(#","instance-id":"# as StaticString)
            out.append(decimal: UInt64(row.device.instanceID))
            out.append(#","save-time":"# as StaticString)
            out.append(decimal: row.device.timeUS)
            // Only an entry without a vmsd that QEMU recorded on opt-in can be kept without one.
            out.append(row.hasVMSD ? "}" as StaticString : #","handler":true}"#)
        }
        out.append(UInt8(ascii: "]"))
    }
}

extension ByteBuffer {
    /// A name as json-c writes a string with `JSON_C_TO_STRING_NOSLASHESCAPE`: its text
    /// (invalid UTF-8 replaced, as the recorder replaces it), with `"`, `\`, `\b`, `\f`, `\n`,
    /// `\r`, `\t` escaped by letter and other control characters as `\u00xx`.
    mutating func append(jsonCString idstr: UnsafeRawBufferPointer) {
        ByteScan.withText(idstr) { appendJSONC($0) }
    }

    private mutating func appendJSONC(_ utf8: UnsafeRawBufferPointer) {
        append(UInt8(ascii: "\""))
        var plain = 0
        while true {
            let i = ByteScan.first(in: utf8, from: plain, flags: {
                ByteScan.below($0, 0x20) | ByteScan.equal($0, UInt8(ascii: "\"")) | ByteScan.equal($0, UInt8(ascii: "\\"))
            }, special: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") })
            guard i < utf8.count else { break }
            let b = utf8[i]
            append(UnsafeRawBufferPointer(rebasing: utf8[plain..<i]))
            switch b {
            case UInt8(ascii: "\""): append(#"\""# as StaticString)
            case UInt8(ascii: "\\"): append(#"\\"# as StaticString)
            case 0x08: append(#"\b"# as StaticString)
            case 0x0C: append(#"\f"# as StaticString)
            case 0x0A: append(#"\n"# as StaticString)
            case 0x0D: append(#"\r"# as StaticString)
            case 0x09: append(#"\t"# as StaticString)
            default:
                let hex: StaticString = "0123456789abcdef"
                append(#"\u00"# as StaticString)
                append(hex.utf8Start[Int(b >> 4)])
                append(hex.utf8Start[Int(b & 15)])
            }
            plain = i + 1
        }
        append(UnsafeRawBufferPointer(rebasing: utf8[plain...]))
        append(UInt8(ascii: "\""))
    }
}
