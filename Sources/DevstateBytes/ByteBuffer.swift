// SPDX-License-Identifier: MIT
/// A growable byte buffer that owns its memory: the writers append into one and hand its bytes
/// to the output without a String per piece. Not copyable, so no stale copy can outlive a
/// `grow`; the memory goes with the value (`deinit`).
package struct ByteBuffer: ~Copyable {
    private var base: UnsafeMutablePointer<UInt8>
    package private(set) var count = 0
    private var capacity: Int

    package init(capacity: Int = 1 << 16) {
        self.capacity = max(capacity, 64)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    /// The bytes written so far, valid during `body`.
    package func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: base, count: count))
    }

    /// The bytes as text (invalid UTF-8 replaced).
    package var string: String { withBytes { String(decoding: $0, as: UTF8.self) } }

    package subscript(i: Int) -> UInt8 { base[i] }

    package mutating func removeAll() { count = 0 }

    /// Drops what was written after `start`.
    package mutating func truncate(to start: Int) { count = min(count, max(0, start)) }

    /// Drops trailing spaces written after `start`.
    package mutating func trimSpaces(from start: Int) {
        while count > start, base[count - 1] == UInt8(ascii: " ") { count -= 1 }
    }

    @inlinable
    mutating func reserve(_ n: Int) {
        if count + n > capacity { grow(count + n) }
    }

    @usableFromInline
    mutating func grow(_ needed: Int) {
        var size = capacity
        while size < needed { size *= 2 }
        let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: size)
        bigger.update(from: base, count: count)
        base.deallocate()
        base = bigger
        capacity = size
    }

    /// Lets `body` write up to `n` bytes after the ones written so far; it returns how many it wrote.
    @inlinable
    package mutating func fill<E: Error>(upTo n: Int,
                                         _ body: (UnsafeMutableRawBufferPointer) throws(E) -> Int) throws(E) {
        reserve(n)
        let got = try body(UnsafeMutableRawBufferPointer(start: base + count, count: n))
        count += max(0, min(got, n))
    }

    /// Drops the first `n` bytes; the rest move to the front.
    package mutating func removeFirst(_ n: Int) {
        let n = min(max(0, n), count)
        UnsafeMutableRawPointer(base).copyMemory(from: base + n, byteCount: count - n)
        count -= n
    }

    @inlinable
    package mutating func append(_ byte: UInt8) {
        reserve(1)
        base[count] = byte
        count += 1
    }

    @inlinable
    package mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard let from = bytes.baseAddress, bytes.count > 0 else { return }
        reserve(bytes.count)
        UnsafeMutableRawPointer(base + count).copyMemory(from: from, byteCount: bytes.count)
        count += bytes.count
    }

    @inlinable
    package mutating func append(_ text: StaticString) {
        append(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    package mutating func append(_ text: String) {
        var text = text
        text.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    package mutating func append<C: Collection>(contentsOf bytes: C) where C.Element == UInt8 {
        if bytes.withContiguousStorageIfAvailable({ append(UnsafeRawBufferPointer($0)) }) == nil {
            for b in bytes { append(b) }
        }
    }

    @inlinable
    package mutating func append(spaces n: Int) {
        guard n > 0 else { return }
        reserve(n)
        (base + count).update(repeating: UInt8(ascii: " "), count: n)
        count += n
    }

    @inlinable
    package mutating func append(decimal value: UInt64) {
        reserve(20)
        var digits = 1
        var v = value
        while v >= 10 { v /= 10; digits += 1 }
        v = value
        for k in stride(from: digits - 1, through: 0, by: -1) {
            base[count + k] = UInt8(truncatingIfNeeded: v % 10) + 48
            v /= 10
        }
        count += digits
    }

    package mutating func append(decimal value: Int64) {
        if value < 0 { append(UInt8(ascii: "-")) }
        append(decimal: value.magnitude)
    }

    package mutating func append(decimal value: Int) { append(decimal: Int64(value)) }

    /// `value` with exactly `digits` decimals, rounded half away from zero ("-" only when the
    /// rounded value is not 0; "0" for a value that is not finite). The one number formatter
    /// of every writer (`formatFixed`).
    package mutating func append(fixed value: Double, digits: Int) {
        guard value.isFinite else { return append(UInt8(ascii: "0")) }
        var scale: UInt64 = 1
        for _ in 0..<digits { scale *= 10 }
        let scaled = (abs(value) * Double(scale)).rounded()
        guard scaled < 9.0e18 else { return append(String(value)) }
        let units = UInt64(scaled)
        if value < 0 && units > 0 { append(UInt8(ascii: "-")) }
        append(decimal: units / scale)
        guard digits > 0 else { return }
        append(UInt8(ascii: "."))
        let fraction = units % scale
        var width = 1
        var v = fraction
        while v >= 10 { v /= 10; width += 1 }
        for _ in width..<digits { append(UInt8(ascii: "0")) }
        append(decimal: fraction)
    }

    /// µs as the reports write a duration: "12 µs" below a millisecond, else "1.234 ms".
    package mutating func append(micros us: Int64) {
        if abs(us) < 1000 {
            append(decimal: us)
            append(" µs")
        } else {
            append(fixed: Double(us) / 1000, digits: 3)
            append(" ms")
        }
    }

    /// A share (0…1) as a percentage with one decimal: "12.3%".
    package mutating func append(percent share: Double) {
        append(fixed: share * 100, digits: 1)
        append(UInt8(ascii: "%"))
    }
}

/// `value` with exactly `digits` decimals (`ByteBuffer.append(fixed:digits:)`), e.g.
/// 0.52631 → "0.5263".
package func formatFixed(_ value: Double, digits: Int) -> String {
    var b = ByteBuffer(capacity: 32)
    b.append(fixed: value, digits: digits)
    return b.string
}

/// µs as the reports write a duration (`ByteBuffer.append(micros:)`): "12 µs", "1.234 ms".
package func formatMicros(_ us: Int64) -> String {
    var b = ByteBuffer(capacity: 32)
    b.append(micros: us)
    return b.string
}
