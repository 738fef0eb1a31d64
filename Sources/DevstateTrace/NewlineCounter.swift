// SPDX-License-Identifier: MIT
/// Newlines in `count` bytes, 16 at a time.
@inline(__always)
func countNewlines(_ p: UnsafePointer<UInt8>, _ count: Int) -> Int {
    if count <= 0 { return 0 }
    var n = 0
    var i = 0
    let raw = UnsafeRawPointer(p)
    let newline = SIMD16<UInt8>(repeating: 10)
    let one = SIMD16<UInt8>(repeating: 1)
    let zero = SIMD16<UInt8>(repeating: 0)
    while i &+ 16 <= count {
        // Byte lanes count up to 255 before they are added up.
        var acc = zero
        var rounds = 0
        while rounds < 255, i &+ 16 <= count {
            let v = raw.loadUnaligned(fromByteOffset: i, as: SIMD16<UInt8>.self)
            acc &+= zero.replacing(with: one, where: v .== newline)
            i &+= 16
            rounds &+= 1
        }
        n &+= Int(SIMD16<UInt16>(truncatingIfNeeded: acc).wrappedSum())
    }
    while i < count {
        if p[i] == 10 { n &+= 1 }
        i &+= 1
    }
    return n
}
