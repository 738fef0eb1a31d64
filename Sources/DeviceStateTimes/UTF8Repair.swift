// SPDX-License-Identifier: MIT
/// UTF-8 validation and repair over raw bytes, without creating a `String` (which the Swift
/// runtime allocates, and stops the process when it cannot). The repair replaces each maximal
/// subpart of an ill-formed sequence with U+FFFD (Unicode's recommended practice), which is
/// what `String(decoding:as: UTF8.self)` and QEMU's QMP output do.
enum UTF8Repair {
    /// U+FFFD in UTF-8.
    private static let replacement: (UInt8, UInt8, UInt8) = (0xEF, 0xBF, 0xBD)

    /// Each input byte becomes at most one U+FFFD (3 bytes).
    static func maximumRepairedCount(of count: Int) -> Int { max(1, count * 3) }

    static func isValid(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var index = 0
        while index < bytes.count {
            if bytes[index] < 0x80 {
                index += 1
                continue
            }
            let (length, valid) = sequence(in: bytes, at: index)
            guard valid else { return false }
            index += length
        }
        return true
    }

    /// Writes the repaired bytes to `output` (room for `maximumRepairedCount`) and returns
    /// their count.
    static func repair(_ bytes: UnsafeBufferPointer<UInt8>, into output: UnsafeMutablePointer<UInt8>) -> Int {
        var index = 0
        var written = 0
        while index < bytes.count {
            let (length, valid) = bytes[index] < 0x80 ? (1, true) : sequence(in: bytes, at: index)
            if valid {
                for offset in 0..<length { output[written + offset] = bytes[index + offset] }
                written += length
            } else {
                output[written] = replacement.0
                output[written + 1] = replacement.1
                output[written + 2] = replacement.2
                written += 3
            }
            index += length
        }
        return written
    }

    /// The sequence starting with the non-ASCII byte at `index`: its length and whether it is
    /// well formed; an ill-formed one's length is its maximal subpart (at least 1).
    private static func sequence(in bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> (Int, Bool) {
        let lead = bytes[index]
        let length: Int
        let second: ClosedRange<UInt8>
        switch lead {
        case 0xC2...0xDF: (length, second) = (2, 0x80...0xBF)
        case 0xE0: (length, second) = (3, 0xA0...0xBF)
        case 0xE1...0xEC, 0xEE...0xEF: (length, second) = (3, 0x80...0xBF)
        case 0xED: (length, second) = (3, 0x80...0x9F)
        case 0xF0: (length, second) = (4, 0x90...0xBF)
        case 0xF1...0xF3: (length, second) = (4, 0x80...0xBF)
        case 0xF4: (length, second) = (4, 0x80...0x8F)
        default: return (1, false)  // a continuation byte, C0, C1 or F5...FF
        }
        var taken = 1
        while taken < length {
            guard index + taken < bytes.count else { return (taken, false) }
            let byte = bytes[index + taken]
            let allowed = taken == 1 ? second : 0x80...0xBF
            guard allowed.contains(byte) else { return (taken, false) }
            taken += 1
        }
        return (length, true)
    }
}
