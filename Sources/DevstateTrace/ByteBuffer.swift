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

    /// `n` spaces before the bytes from `start` on.
    mutating func insertSpaces(_ n: Int, at start: Int) {
        reserve(n)
        UnsafeMutableRawPointer(base + start + n).copyMemory(from: base + start, byteCount: count - start)
        (base + start).update(repeating: UInt8(ascii: " "), count: n)
        count &+= n
    }

    /// µs as `formatMicros` writes them: "12 µs", "1.234 ms".
    mutating func append(micros us: Int64) {
        if abs(us) < 1000 {
            append(decimal: us)
            append(" µs" as StaticString)
        } else {
            append(fixed: Double(us) / 1000, digits: 3)
            append(" ms" as StaticString)
        }
    }

    mutating func append(spaces n: Int) {
        guard n > 0 else { return }
        // Sixteen at a time, the last store past the end (room reserved): lines of a table are
        // laid out on spaces, so this runs once per line.
        reserve(n &+ 16)
        let spaces = SIMD16<UInt8>(repeating: UInt8(ascii: " "))
        let at = UnsafeMutableRawPointer(base + count)
        var i = 0
        while i < n {
            at.storeBytes(of: spaces, toByteOffset: i, as: SIMD16<UInt8>.self)
            i &+= 16
        }
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
        let n = raw.count
        guard let from = raw.baseAddress, n > 0 else { return }
        reserve(n)
        ByteBuffer.copy(UnsafeMutableRawPointer(base + count), from, n)
        count &+= n
    }

    /// Copies `n` bytes (`n` > 0), writing no byte outside them: short pieces (keys,
    /// separators, most names, table cells) in two overlapping words instead of a call to
    /// memcpy.
    @inline(__always)
    static func copy(_ to: UnsafeMutableRawPointer, _ from: UnsafeRawPointer, _ n: Int) {
        if n > 16 && n <= 64 {
            // Two to four 16-byte pieces, the last ones overlapping.
            let a = from.loadUnaligned(as: SIMD16<UInt8>.self)
            let b = from.loadUnaligned(fromByteOffset: n &- 16, as: SIMD16<UInt8>.self)
            if n > 32 {
                let c = from.loadUnaligned(fromByteOffset: 16, as: SIMD16<UInt8>.self)
                let d = from.loadUnaligned(fromByteOffset: n &- 32, as: SIMD16<UInt8>.self)
                to.storeBytes(of: c, toByteOffset: 16, as: SIMD16<UInt8>.self)
                to.storeBytes(of: d, toByteOffset: n &- 32, as: SIMD16<UInt8>.self)
            }
            to.storeBytes(of: a, as: SIMD16<UInt8>.self)
            to.storeBytes(of: b, toByteOffset: n &- 16, as: SIMD16<UInt8>.self)
        } else if n >= 8 && n <= 16 {
            let head = from.loadUnaligned(as: UInt64.self)
            let tail = from.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self)
            to.storeBytes(of: head, as: UInt64.self)
            to.storeBytes(of: tail, toByteOffset: n &- 8, as: UInt64.self)
        } else if n >= 4 && n < 8 {
            let head = from.loadUnaligned(as: UInt32.self)
            let tail = from.loadUnaligned(fromByteOffset: n &- 4, as: UInt32.self)
            to.storeBytes(of: head, as: UInt32.self)
            to.storeBytes(of: tail, toByteOffset: n &- 4, as: UInt32.self)
        } else if n < 4 {
            to.storeBytes(of: from.load(as: UInt8.self), as: UInt8.self)
            to.storeBytes(of: from.load(fromByteOffset: n &- 1, as: UInt8.self), toByteOffset: n &- 1, as: UInt8.self)
            if n == 3 { to.storeBytes(of: from.load(fromByteOffset: 1, as: UInt8.self), toByteOffset: 1, as: UInt8.self) }
        } else {
            to.copyMemory(from: from, byteCount: n)
        }
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

    /// Again the `count` bytes already written from `start`.
    mutating func appendCopy(from start: Int, count n: Int) {
        reserve(n)
        UnsafeMutableRawPointer(base + count).copyMemory(from: base + start, byteCount: n)
        count &+= n
    }

    /// A plain name (`DeviceRow.plainName`) in quotes.
    @inline(__always)
    mutating func append(quotedPlain bytes: UnsafeRawBufferPointer) {
        append(UInt8(ascii: "\""))
        append(bytes)
        append(UInt8(ascii: "\""))
    }

    /// `value` in decimal.
    @inline(__always)
    mutating func append(decimal value: UInt64) {
        if value < 10 {
            append(UInt8(truncatingIfNeeded: value) &+ 48)
        } else {
            appendDigits(value)
        }
    }

    /// "00" to "99", for writing two digits at a time.
    private static let pairs: StaticString = """
        00010203040506070809101112131415161718192021222324252627282930313233343536373839\
        40414243444546474849505152535455565758596061626364656667686970717273747576777879\
        8081828384858687888990919293949596979899
        """

    /// 10^k for k in 0...19, for counting digits (a literal: no lazy initialization).
    private static let powersOfTen: [UInt64] = [
        1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000,
        10_000_000_000, 100_000_000_000, 1_000_000_000_000, 10_000_000_000_000, 100_000_000_000_000,
        1_000_000_000_000_000, 10_000_000_000_000_000, 100_000_000_000_000_000,
        1_000_000_000_000_000_000, 10_000_000_000_000_000_000,
    ]

    /// Digits of `value` (at least 10): from its bit length (log10 2 ≈ 1233 / 4096), then one
    /// compare.
    @inline(__always)
    private static func digitCount(_ value: UInt64) -> Int {
        let t = ((64 &- value.leadingZeroBitCount) &* 1233) >> 12
        return Self.powersOfTen.withUnsafeBufferPointer { value >= $0[t] ? t &+ 1 : t }
    }

    /// Digits of `value` in decimal.
    @inline(__always)
    static func digits(_ value: UInt64) -> Int { value < 10 ? 1 : digitCount(value) }

    /// Two digits at a time, from the end (20 digits at most).
    private mutating func appendDigits(_ value: UInt64) {
        reserve(20)
        let digits = Self.digitCount(value)
        Self.writeDigits(value, endingAt: base + (count &+ digits))
        count &+= digits
    }

    /// The digits of `value` in the bytes before `end` (as many as it has; "0" for 0).
    @inline(__always)
    static func writeDigits(_ value: UInt64, endingAt end: UnsafeMutablePointer<UInt8>) {
        var v = value
        var at = end
        let pairs = UnsafeRawPointer(Self.pairs.utf8Start)
        while v >= 10 {
            let pair = Int(truncatingIfNeeded: v % 100)
            v /= 100
            at -= 2
            UnsafeMutableRawPointer(at).storeBytes(of: pairs.loadUnaligned(fromByteOffset: 2 &* pair, as: UInt16.self),
                                                   as: UInt16.self)
        }
        if v > 0 || at == end { (at - 1).pointee = UInt8(truncatingIfNeeded: v) &+ 48 }
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

    /// `exact` (not negative) rounded half away from zero, as `rounded()` rounds it, without a
    /// call into libm; nil from 2^52 on (and for NaN), where the truncation and the remainder
    /// are no longer exact.
    @inline(__always)
    static func rounded(_ exact: Double) -> UInt64? {
        guard exact < 0x1p52 else { return nil }
        let whole = UInt64(exact)
        return exact - Double(whole) >= 0.5 ? whole &+ 1 : whole
    }

    /// `value` with exactly `digits` decimals, as `formatFixed` writes it.
    @inline(__always)
    mutating func append(fixed value: Double, digits: Int) {
        // The report's shares and times have 1, 3 or 4 decimals: inlined with a constant
        // scale, the divisions compile to multiplications.
        switch digits {
        case 1: appendFixed1(value)
        case 3: appendFixed3(value)
        case 4: appendFixed4(value)
        default: appendFixed(anyDigits: value, digits)
        }
    }

    private mutating func appendFixed1(_ value: Double) { appendFixed(value, scale: 10, digits: 1) }
    private mutating func appendFixed3(_ value: Double) { appendFixed(value, scale: 1000, digits: 3) }
    private mutating func appendFixed4(_ value: Double) { appendFixed(value, scale: 10000, digits: 4) }

    private mutating func appendFixed(anyDigits value: Double, _ digits: Int) {
        var scale: UInt64 = 1
        for _ in 0..<digits { scale = scale &* 10 }
        appendFixed(value, scale: scale, digits: digits)
    }

    @inline(__always)
    private mutating func appendFixed(_ value: Double, scale: UInt64, digits: Int) {
        guard value.isFinite else { return append("0" as StaticString) }
        let exact = abs(value) * Double(scale)
        let units: UInt64
        if let rounded = Self.rounded(exact) {
            units = rounded
        } else {
            let scaled = exact.rounded()
            guard scaled < 9.0e18 else { return append(String(value)) }
            units = UInt64(scaled)
        }
        if value < 0 && units > 0 { append(UInt8(ascii: "-")) }
        append(decimal: units / scale)
        guard digits > 0 else { return }
        reserve(digits &+ 1)
        base[count] = UInt8(ascii: ".")
        // The fraction with its leading zeros: zeros first, then its digits over them.
        let end = count &+ 1 &+ digits
        (base + (count &+ 1)).update(repeating: UInt8(ascii: "0"), count: digits)
        Self.writeDigits(units % scale, endingAt: base + end)
        count = end
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

    /// Runs' text is handed on in pieces of about this size: few writes, which the CLI's
    /// output passes to the system without copying them again, and small enough to be still
    /// in the core's cache when the system copies them (256 KiB instead of 1 MiB: 9 % less
    /// time for JSON of every run of a 200 MB log, 8 % for `--all`).
    static let batchBytes = 1 << 18

    /// Writes out `buffer` (and empties it) once it holds `batchBytes`.
    func batch(_ buffer: inout ByteBuffer) {
        if buffer.count >= Self.batchBytes { flush(&buffer) }
    }

    /// Writes out what `buffer` holds and empties it.
    func flush(_ buffer: inout ByteBuffer) {
        if buffer.count > 0 { write(buffer.bytes) }
        buffer.removeAll()
    }
}
