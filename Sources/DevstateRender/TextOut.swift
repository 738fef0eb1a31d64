// SPDX-License-Identifier: MIT
import DevstateBytes

/// Where a writer's text goes: handed out as bytes (the CLI writes them as they are) or as a
/// string per piece (tests, the fuzzer).
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

    /// Runs' text goes out in pieces of about this size: few writes, each small enough to be
    /// still in the core's cache when the system copies it.
    static let batchBytes = 1 << 18

    /// Writes out `buffer` (and empties it) once it holds `batchBytes`.
    func batch(_ buffer: inout ByteBuffer) {
        if buffer.count >= Self.batchBytes { flush(&buffer) }
    }

    /// Writes out what `buffer` holds and empties it.
    func flush(_ buffer: inout ByteBuffer) {
        if buffer.count > 0 { buffer.withBytes { write($0) } }
        buffer.removeAll()
    }
}
