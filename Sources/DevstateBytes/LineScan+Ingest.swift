// SPDX-License-Identifier: MIT
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension LineScan {
    /// Offset of the first newline in `base[from..<to]`: memchr, for the end of a trace line
    /// or of a line too long to keep.
    package static func newline(_ base: UnsafePointer<UInt8>, from: Int, to: Int) -> Int? {
        guard to > from, let hit = memchr(base + from, 10, to - from) else { return nil }
        return UnsafeRawPointer(base).distance(to: UnsafeRawPointer(hit))
    }
}
