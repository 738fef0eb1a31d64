// SPDX-License-Identifier: MIT
// Reads back the text json-c wrote for a run before anyone sees it. json-c's writers skip what
// they cannot append when memory runs out and report nothing, so a document written under
// exhaustion can lack a comma, a digit or a piece of a name and still look like JSON. The check
// scans the text without allocating and compares every token with the run: the keys in their
// order, each name (decoded from its JSON escapes, against the recorded bytes as the writer
// repairs them), each number and flag. Whitespace may differ (json-c may have skipped some
// indentation), nothing else may.
import CDevstateShim
import CShim

extension RunCopy {
    /// DEVSTATE_OK when `text` is exactly this run's document; DEVSTATE_ERR_JSON when it is not,
    /// DEVSTATE_ERR_NOMEM when a repaired name could not be made to compare with.
    func readsBack(_ text: UnsafePointer<CChar>, length: Int) -> Int32 {
        let bytes = UnsafeRawPointer(text).assumingMemoryBound(to: UInt8.self)
        var scanner = JSONTokens(text: UnsafeBufferPointer(start: bytes, count: length))
        guard scanner.take("[") else { return DEVSTATE_ERR_JSON }
        for position in 0..<count {
            if position > 0, !scanner.take(",") { return DEVSTATE_ERR_JSON }
            let status = readsBack(record(at: position), from: &scanner)
            if status != DEVSTATE_OK { return status }
        }
        return scanner.take("]") && scanner.atEnd ? DEVSTATE_OK : DEVSTATE_ERR_JSON
    }

    private func readsBack(_ record: EntryRecord, from scanner: inout JSONTokens) -> Int32 {
        guard scanner.take("{"), scanner.key("name") else { return DEVSTATE_ERR_JSON }
        let nameStatus = readsBack(string: name(of: record), from: &scanner)
        if nameStatus != DEVSTATE_OK { return nameStatus }
        let whole: Bool
        if record.flags == DEVSTATE_ENTRY_STEP {
            let device = device(of: record), deviceType = deviceType(of: record)
            if !device.isEmpty {
                guard scanner.take(","), scanner.key("device") else { return DEVSTATE_ERR_JSON }
                let status = readsBack(string: device, from: &scanner)
                if status != DEVSTATE_OK { return status }
            }
            if !deviceType.isEmpty {
                guard scanner.take(","), scanner.key("device-type") else { return DEVSTATE_ERR_JSON }
                let status = readsBack(string: deviceType, from: &scanner)
                if status != DEVSTATE_OK { return status }
            }
            let kind: StaticString = switch record.instanceID {
            case DEVSTATE_STEP_PREPARE: "prepare"
            case DEVSTATE_STEP_MAIN: "main"
            default: "work"
            }
            whole = scanner.take(",") && scanner.key("kind")
                && scanner.string(equalTo: UnsafeBufferPointer(start: kind.utf8Start, count: kind.utf8CodeUnitCount))
                && scanner.take(",") && scanner.key("start") && scanner.number(offset(ofStart: record))
                && scanner.take(",") && scanner.key("time") && scanner.number(record.saveTime)
        } else if record.flags == DEVSTATE_ENTRY_CHECKPOINT {
            whole = scanner.take(",") && scanner.key("time") && scanner.number(offset(ofCheckpoint: record))
        } else {
            whole = scanner.take(",") && scanner.key("instance-id") && scanner.number(UInt64(record.instanceID))
                && scanner.take(",") && scanner.key("save-time") && scanner.number(record.saveTime)
                && (record.flags != DEVSTATE_ENTRY_HANDLER
                    || (scanner.take(",") && scanner.key("handler") && scanner.word("true")))
                && (record.flags != DEVSTATE_ENTRY_ITERABLE
                    || (scanner.take(",") && scanner.key("iterable") && scanner.word("true")))
        }
        return whole && scanner.take("}") ? DEVSTATE_OK : DEVSTATE_ERR_JSON
    }
}

extension RunCopy {
    /// Compares the next string token with recorded bytes, as the writer repairs them.
    fileprivate func readsBack(string bytes: UnsafeBufferPointer<UInt8>, from scanner: inout JSONTokens) -> Int32 {
        if UTF8Repair.isValid(bytes) {
            return scanner.string(equalTo: bytes) ? DEVSTATE_OK : DEVSTATE_ERR_JSON
        }
        let capacity = UTF8Repair.maximumRepairedCount(of: bytes.count)
        guard let raw = devstate_shim_malloc(capacity) else { return DEVSTATE_ERR_NOMEM }
        defer { devstate_shim_free(raw) }
        let repaired = raw.bindMemory(to: UInt8.self, capacity: capacity)
        let length = UTF8Repair.repair(bytes, into: repaired)
        return scanner.string(equalTo: UnsafeBufferPointer(start: repaired, count: length))
            ? DEVSTATE_OK : DEVSTATE_ERR_JSON
    }
}

/// The tokens of a JSON text, each compared with what is expected; whitespace is skipped
/// before every token and at the end.
struct JSONTokens {
    let text: UnsafeBufferPointer<UInt8>
    private var index = 0

    init(text: UnsafeBufferPointer<UInt8>) {
        self.text = text
    }

    var atEnd: Bool {
        mutating get {
            skipSpace()
            return index == text.count
        }
    }

    private var peek: UInt8? { index < text.count ? text[index] : nil }

    private mutating func skipSpace() {
        while let byte = peek, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { index += 1 }
    }

    /// One punctuation byte.
    mutating func take(_ punctuation: Unicode.Scalar) -> Bool {
        skipSpace()
        guard peek == UInt8(punctuation.value) else { return false }
        index += 1
        return true
    }

    /// A literal word: `true`.
    mutating func word(_ expected: StaticString) -> Bool {
        skipSpace()
        let count = expected.utf8CodeUnitCount
        guard index + count <= text.count else { return false }
        for offset in 0..<count where text[index + offset] != expected.utf8Start[offset] { return false }
        index += count
        return true
    }

    /// `"key":`
    mutating func key(_ expected: StaticString) -> Bool {
        string(equalTo: UnsafeBufferPointer(start: expected.utf8Start, count: expected.utf8CodeUnitCount))
            && take(":")
    }

    /// An unsigned decimal integer, exactly `expected` (no sign, fraction or exponent).
    mutating func number(_ expected: UInt64) -> Bool {
        skipSpace()
        var value: UInt64 = 0
        let start = index
        while let byte = peek, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { return false }
            value = sum
            index += 1
        }
        let digits = index - start
        // no leading zero but for 0 itself
        guard digits > 0, digits == 1 || text[start] != UInt8(ascii: "0") else { return false }
        return value == expected
    }

    /// A JSON string whose decoded UTF-8 is exactly `expected`.
    mutating func string(equalTo expected: UnsafeBufferPointer<UInt8>) -> Bool {
        guard take("\"") else { return false }
        var matched = 0
        /// Compares the next decoded byte with what `expected` holds at `matched`. (Not
        /// variadic: a variadic call builds an array, which the Swift runtime allocates.)
        func match(_ byte: UInt8) -> Bool {
            guard matched < expected.count, expected[matched] == byte else { return false }
            matched += 1
            return true
        }
        while let byte = peek {
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                return matched == expected.count
            case UInt8(ascii: "\\"):
                guard let escaped = peek else { return false }
                index += 1
                switch escaped {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"):
                    guard match(escaped) else { return false }
                case UInt8(ascii: "b"): guard match(0x08) else { return false }
                case UInt8(ascii: "f"): guard match(0x0C) else { return false }
                case UInt8(ascii: "n"): guard match(0x0A) else { return false }
                case UInt8(ascii: "r"): guard match(0x0D) else { return false }
                case UInt8(ascii: "t"): guard match(0x09) else { return false }
                case UInt8(ascii: "u"):
                    guard var scalar = hex4() else { return false }
                    if (0xD800...0xDBFF).contains(scalar) {
                        guard take(exactly: "\\"), take(exactly: "u"), let low = hex4(),
                              (0xDC00...0xDFFF).contains(low) else { return false }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(scalar) {
                        return false
                    }
                    guard matchScalar(scalar, &matched, expected) else { return false }
                default:
                    return false
                }
            case 0x00...0x1F:
                return false
            default:
                guard match(byte) else { return false }
            }
        }
        return false
    }

    private mutating func take(exactly byte: Unicode.Scalar) -> Bool {
        guard peek == UInt8(byte.value) else { return false }
        index += 1
        return true
    }

    private mutating func hex4() -> UInt32? {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let byte = peek else { return nil }
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: return nil
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    /// Compares a scalar's UTF-8 bytes with `expected` at `matched`.
    private func matchScalar(_ scalar: UInt32, _ matched: inout Int,
                             _ expected: UnsafeBufferPointer<UInt8>) -> Bool {
        var bytes: (UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0)
        let count: Int
        switch scalar {
        case 0..<0x80:
            bytes.0 = UInt8(scalar); count = 1
        case 0x80..<0x800:
            bytes = (UInt8(0xC0 | scalar >> 6), UInt8(0x80 | scalar & 0x3F), 0, 0); count = 2
        case 0x800..<0x10000:
            bytes = (UInt8(0xE0 | scalar >> 12), UInt8(0x80 | scalar >> 6 & 0x3F), UInt8(0x80 | scalar & 0x3F), 0)
            count = 3
        default:
            bytes = (UInt8(0xF0 | scalar >> 18), UInt8(0x80 | scalar >> 12 & 0x3F),
                     UInt8(0x80 | scalar >> 6 & 0x3F), UInt8(0x80 | scalar & 0x3F))
            count = 4
        }
        return withUnsafeBytes(of: bytes) { raw in
            for offset in 0..<count {
                guard matched < expected.count, expected[matched] == raw[offset] else { return false }
                matched += 1
            }
            return true
        }
    }
}
