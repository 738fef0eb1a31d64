// SPDX-License-Identifier: MIT
@testable import DevstateBytes
import Testing

/// The buffer every writer appends to, and the one number formatter.
@Suite struct ByteBufferTests {
    @Test func appendsGrowAndKeepEveryByte() {
        var b = ByteBuffer(capacity: 64)
        for k in 0..<1000 { b.append(decimal: k) }
        let expected = (0..<1000).map(String.init).joined()
        #expect(b.string == expected)
        b.removeFirst(10)
        #expect(b.string == String(expected.dropFirst(10)))
        b.truncate(to: 5)
        #expect(b.string == String(expected.dropFirst(10).prefix(5)))
    }

    @Test func decimalsOfEveryWidth() {
        for v: UInt64 in [0, 9, 10, 99, 100, 12345, UInt64(Int64.max), UInt64.max] {
            var b = ByteBuffer()
            b.append(decimal: v)
            #expect(b.string == String(v))
        }
        var b = ByteBuffer()
        b.append(decimal: Int64.min)
        #expect(b.string == String(Int64.min))
    }

    /// Against an independent reading: the decimal expansion rounded half away from zero.
    @Test(arguments: [0.0, 0.04, 0.05, 0.15, 1.0005, 2.5, 12.34567, -0.04, -0.05, -3.14159, 99.95, 1e-9, 123456.7891])
    func fixedRoundsHalfAwayFromZero(_ value: Double) {
        for digits in [0, 1, 3, 4] {
            var scale = 1.0
            for _ in 0..<digits { scale *= 10 }
            let units = (abs(value) * scale).rounded(.toNearestOrAwayFromZero)
            var text = String(Int64(units / scale))
            if digits > 0 {
                let fraction = String(Int64(units.truncatingRemainder(dividingBy: scale)))
                text += "." + String(repeating: "0", count: digits - fraction.count) + fraction
            }
            if value < 0 && units > 0 { text = "-" + text }
            #expect(formatFixed(value, digits: digits) == text, "\(value) with \(digits) digits")
        }
    }

    @Test func notFiniteIsZeroAndMicrosPickTheirUnit() {
        #expect(formatFixed(.nan, digits: 2) == "0")
        #expect(formatFixed(.infinity, digits: 1) == "0")
        #expect(formatMicros(999) == "999 µs")
        #expect(formatMicros(-999) == "-999 µs")
        #expect(formatMicros(1234) == "1.234 ms")
        #expect(formatMicros(-1500) == "-1.500 ms")
        var b = ByteBuffer()
        b.append(percent: 0.1234)
        #expect(b.string == "12.3%")
    }
}
