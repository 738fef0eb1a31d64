// SPDX-License-Identifier: MIT
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Finds `vmstate_downtime_`: memchr for its rarest byte, the `w` (offset 10), then two 8-byte
/// compares for the rest.
enum MarkerFinder {
    static let head0: UInt64 = LineParser.marker.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 0, as: UInt64.self) }
    static let head1: UInt64 = LineParser.marker.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self) }

    /// Whether the 17 bytes at `at` are the marker (the caller checked they are in range).
    @inline(__always)
    private static func isMarker(_ base: UnsafePointer<UInt8>, at: Int, _ h0: UInt64, _ h1: UInt64) -> Bool {
        let raw = UnsafeRawPointer(base)
        return raw.loadUnaligned(fromByteOffset: at, as: UInt64.self) == h0
            && raw.loadUnaligned(fromByteOffset: at &+ 8, as: UInt64.self) == h1
            && base[at &+ 16] == UInt8(ascii: "_")
    }

    /// When the line starting at `start` is `[STAMP]vmstate_downtime_…` (STAMP: `TID@SECONDS.MICROS:`
    /// of QEMU ≤ 10.0 or `YYYY-MM-DDTHH:MM:SS[.F]Z ` of QEMU ≥ 10.1): the marker's offset and the
    /// stamp (µs), read in the same pass (`LineParser.readStamp`, `readISOStamp`).
    /// With `readStamp` false only the prefix's end is found; the parser reads the stamp.
    @inline(__always)
    static func atLineStart(_ base: UnsafePointer<UInt8>, _ start: Int, _ to: Int,
                            readStamp: Bool = true) -> (marker: Int, stamp: Int64?)? {
        var i = start
        let limit = min(to, start &+ 48)
        var stamp: Int64? = nil
        if i < limit, LineParser.isDigit(base[i]) {
            if readStamp {
                if let (value, end) = LineParser.readStamp(base, from: i, limit: limit),
                   end < limit, base[end] == UInt8(ascii: ":") {
                    stamp = value
                    i = end &+ 1
                } else if let (value, end) = LineParser.readISOStamp(base, from: i, limit: limit),
                          end < limit, base[end] == UInt8(ascii: " ") {
                    stamp = value
                    i = end &+ 1
                } else {
                    return nil
                }
            } else {
                while i < limit {
                    let b = base[i]
                    guard LineParser.isDigit(b) || b == UInt8(ascii: "@") || b == UInt8(ascii: ".") else { break }
                    i &+= 1
                }
                if i < limit, base[i] == UInt8(ascii: "-") {
                    // The ISO 8601 form: up to its space (the parser checks it).
                    while i < limit, base[i] != UInt8(ascii: " ") { i &+= 1 }
                    guard i < limit else { return nil }
                } else {
                    guard i < limit, base[i] == UInt8(ascii: ":") else { return nil }
                }
                i &+= 1
            }
        }
        guard i &+ 17 <= to, isMarker(base, at: i, head0, head1) else { return nil }
        return (i, stamp)
    }

    /// Offset of the first marker in `[from, to)`, if any.
    @inline(__always)
    static func find(in base: UnsafePointer<UInt8>, from: Int, to: Int) -> Int? {
        let h0 = head0, h1 = head1
        let raw = UnsafeRawPointer(base)
        var i = from &+ 10
        while i < to &- 6 {
            guard let hit = memchr(base + i, Int32(UInt8(ascii: "w")), to &- 6 &- i) else { return nil }
            let w = raw.distance(to: UnsafeRawPointer(hit))
            if isMarker(base, at: w &- 10, h0, h1) { return w &- 10 }
            i = w &+ 1
        }
        return nil
    }
}
