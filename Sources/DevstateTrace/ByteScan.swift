// SPDX-License-Identifier: MIT
/// Finding the few bytes a writer must escape, eight bytes at a time: names are mostly plain,
/// so most words hold none and are copied as they are.
enum ByteScan {
    private static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let highs: UInt64 = 0x8080_8080_8080_8080

    /// High bit set in each byte of `word` that is `byte` (exact as to whether any is).
    @inline(__always)
    static func equal(_ word: UInt64, _ byte: UInt8) -> UInt64 {
        let x = word ^ (ones &* UInt64(byte))
        return (x &- ones) & ~x & highs
    }

    /// High bit set in each byte of `word` below `limit` (≤ 0x80; exact as to whether any is).
    @inline(__always)
    static func below(_ word: UInt64, _ limit: UInt8) -> UInt64 {
        (word &- ones &* UInt64(limit)) & ~word & highs
    }

    /// The index of the first byte of `bytes` at or after `start` for which `special` is true;
    /// `flags` tells, for eight bytes read as a little-endian word, whether any is special.
    @inline(__always)
    static func first(in bytes: UnsafeRawBufferPointer, from start: Int,
                      flags: (UInt64) -> UInt64, special: (UInt8) -> Bool) -> Int {
        var i = start
        let n = bytes.count
        if let p = bytes.baseAddress {
            while i &+ 8 <= n {
                if flags(UInt64(littleEndian: p.loadUnaligned(fromByteOffset: i, as: UInt64.self))) != 0 { break }
                i &+= 8
            }
        }
        while i < n, !special(bytes[i]) { i &+= 1 }
        return i
    }

    /// `idstr`'s text (invalid UTF-8 replaced) as UTF-8 bytes, without making the text when
    /// the bytes are ASCII.
    static func withText<R>(_ idstr: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        if isASCII(idstr) { return body(idstr) }
        var text = String(decoding: idstr, as: UTF8.self)
        return text.withUTF8 { body(UnsafeRawBufferPointer($0)) }
    }

    /// Whether every byte is below 0x80.
    @inline(__always)
    static func isASCII(_ bytes: UnsafeRawBufferPointer) -> Bool {
        first(in: bytes, from: 0, flags: { $0 & highs }, special: { $0 >= 0x80 }) == bytes.count
    }
}
