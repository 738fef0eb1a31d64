// SPDX-License-Identifier: MIT
/// A growable byte buffer for the writers: appends without reference counting or
/// copy-on-write checks. A value with manual lifetime: its owner calls `deallocate()` once, and
/// a copy that grew must be stored back (writers work on a local copy and store it back).
struct ByteBuffer {
    private(set) var base: UnsafeMutablePointer<UInt8>
    private(set) var count = 0
    private var capacity: Int

    init(capacity: Int = 1 << 16) {
        self.capacity = max(capacity, 64)
        base = .allocate(capacity: self.capacity)
    }

    func deallocate() { base.deallocate() }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    mutating func removeAll() { count = 0 }

    /// Drops trailing spaces written after `start`.
    mutating func trimSpaces(from start: Int) {
        while count > start, base[count - 1] == UInt8(ascii: " ") { count -= 1 }
    }

    mutating func append(spaces n: Int) {
        guard n > 0 else { return }
        reserve(n)
        (base + count).initialize(repeating: UInt8(ascii: " "), count: n)
        count &+= n
    }

    @inline(__always)
    mutating func reserve(_ n: Int) {
        if count &+ n > capacity { grow(count &+ n) }
    }

    private mutating func grow(_ needed: Int) {
        var size = capacity
        while size < needed { size *= 2 }
        let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: size)
        bigger.update(from: base, count: count)
        base.deallocate()
        base = bigger
        capacity = size
    }

    @inline(__always)
    mutating func append(_ byte: UInt8) {
        reserve(1)
        base[count] = byte
        count &+= 1
    }

    @inline(__always)
    mutating func append(_ raw: UnsafeRawBufferPointer) {
        guard let from = raw.baseAddress, raw.count > 0 else { return }
        reserve(raw.count)
        UnsafeMutableRawPointer(base + count).copyMemory(from: from, byteCount: raw.count)
        count &+= raw.count
    }

    @inline(__always)
    mutating func append(_ text: StaticString) {
        append(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    @inline(__always)
    mutating func append(_ text: String) {
        var text = text
        text.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    @inline(__always)
    mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    /// `value` in decimal.
    mutating func append(decimal value: UInt64) {
        if value < 10 {
            append(UInt8(truncatingIfNeeded: value) &+ 48)
            return
        }
        var digits = 0
        var v = value
        while v > 0 { digits &+= 1; v /= 10 }
        reserve(digits)
        v = value
        var i = count &+ digits
        while v > 0 {
            i &-= 1
            base[i] = UInt8(truncatingIfNeeded: v % 10) &+ 48
            v /= 10
        }
        count &+= digits
    }

    mutating func append(decimal value: Int64) {
        if value < 0 {
            append(UInt8(ascii: "-"))
            append(decimal: value.magnitude)
        } else {
            append(decimal: UInt64(value))
        }
    }

    mutating func append(decimal value: Int) { append(decimal: Int64(value)) }

    /// `value` with exactly `digits` decimals, as `formatFixed` writes it.
    mutating func append(fixed value: Double, digits: Int) {
        guard value.isFinite else { return append("0" as StaticString) }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        guard scaled < 9.0e18 else { return append(String(value)) }
        let units = UInt64(scaled)
        let unit = UInt64(scale)
        if value < 0 && units > 0 { append(UInt8(ascii: "-")) }
        append(decimal: units / unit)
        guard digits > 0 else { return }
        append(UInt8(ascii: "."))
        var fraction = units % unit
        reserve(digits)
        var i = count &+ digits
        for _ in 0..<digits {
            i &-= 1
            base[i] = UInt8(truncatingIfNeeded: fraction % 10) &+ 48
            fraction /= 10
        }
        count &+= digits
    }
}

/// Where a sink's text goes: handed out as bytes (the CLI writes them as they are) or as a
/// string per run (tests, the fuzzer).
public struct TextOut {
    let write: (UnsafeRawBufferPointer) -> Void

    public static func bytes(_ out: @escaping (UnsafeRawBufferPointer) -> Void) -> TextOut {
        TextOut(write: out)
    }

    public static func strings(_ out: @escaping (String) -> Void) -> TextOut {
        TextOut { out(String(decoding: $0, as: UTF8.self)) }
    }

    func callAsFunction(_ text: String) {
        var text = text
        text.withUTF8 { write(UnsafeRawBufferPointer($0)) }
    }

    func callAsFunction(_ buffer: ByteBuffer) { write(buffer.bytes) }
}
