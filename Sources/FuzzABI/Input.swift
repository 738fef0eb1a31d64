// SPDX-License-Identifier: MIT
// Decoding the input bytes into operations, numbers and adversarial names.
import CShim
#if canImport(Glibc)
import Glibc
#endif

// MARK: input decoding

struct Input {
    let bytes: UnsafeBufferPointer<UInt8>
    var position = 0
    var isEmpty: Bool { position >= bytes.count }

    mutating func byte() -> UInt8 {
        guard position < bytes.count else { return 0 }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func u32() -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 { value = value << 8 | UInt32(byte()) }
        return value
    }

    mutating func u64() -> UInt64 { UInt64(u32()) << 32 | UInt64(u32()) }

    mutating func take(_ count: Int) -> [UInt8] {
        var out: [UInt8] = []
        for _ in 0..<count where !isEmpty { out.append(byte()) }
        return out
    }
}

/// A name as C sees it: `buffer` holds `storage` bytes, NUL-terminated unless it is the
/// 256-bytes-and-no-NUL case, which the library must reject reading at most 256 bytes.
struct CName {
    let buffer: UnsafeMutablePointer<CChar>
    /// What the library may see: the bytes before the first NUL, or the first 256 bytes.
    let visible: [UInt8]

    init(bytes: [UInt8], terminate: Bool) {
        let size = bytes.count + (terminate ? 1 : 0)
        buffer = UnsafeMutablePointer<CChar>.allocate(capacity: max(size, 1))
        for (index, byte) in bytes.enumerated() { buffer[index] = CChar(bitPattern: byte) }
        if terminate { buffer[bytes.count] = 0 }
        let limit = Int(DEVSTATE_NAME_MAX) + 1
        var visible: [UInt8] = []
        for byte in bytes {
            if byte == 0 || visible.count == limit { break }
            visible.append(byte)
        }
        self.visible = visible
    }

    func release() { buffer.deallocate() }
}

let specialNames: [[UInt8]] = [
    [0x01, 0x1f, 0x7f, 0x0a, 0x0d, 0x09, 0x08, 0x0c],  // control bytes
    Array("\"\\/\u{2028}\u{2029}".utf8),                // characters JSON writers get wrong
    [0xff, 0xfe],                                       // never valid
    [0xc0, 0x80],                                       // overlong NUL
    [0xed, 0xa0, 0x80],                                 // surrogate
    [0xf4, 0x90, 0x80, 0x80],                           // above U+10FFFF
    [0xe2, 0x82],                                       // truncated sequence
    [0x61, 0x00, 0x62],                                 // NUL inside: C sees "a"
    Array("0000:00:01.3/piix4_pm".utf8),
    Array("é💥\u{FFFD}".utf8),
    [0x80],                                             // lone continuation byte
]

func makeName(_ input: inout Input) -> CName {
    let kind = input.byte()
    switch kind % 10 {
    case 0: return CName(bytes: [], terminate: true)
    case 1: return CName(bytes: Array(repeating: 0x61, count: 255), terminate: true)
    // 256 bytes and no NUL anywhere in the buffer: ASan reports a read past it.
    case 2: return CName(bytes: Array(repeating: 0x62, count: 256), terminate: false)
    case 3: return CName(bytes: Array(repeating: 0x63, count: 254) + [0xc3, 0xa9], terminate: true)
    case 4: return CName(bytes: Array(repeating: 0x64, count: 253) + [0xc3, 0xa9], terminate: true)
    case 5: return CName(bytes: Array(repeating: 0x65, count: 254) + [0xe2], terminate: true)
    case 6: return CName(bytes: specialNames[Int(kind / 10) % specialNames.count], terminate: true)
    case 7: return CName(bytes: Array(repeating: 0x66, count: 300 + Int(kind)), terminate: true)
    default:
        let length = Int(input.byte() % 40)
        return CName(bytes: input.take(length), terminate: true)
    }
}
