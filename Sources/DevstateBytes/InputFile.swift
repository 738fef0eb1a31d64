// SPDX-License-Identifier: MIT
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A file opened for reading ("-": standard input), closed when the value goes: the one way
/// the tools read a file, a log in chunks or a small file whole.
package struct InputFile: ~Copyable {
    package let fd: Int32
    private let owned: Bool

    package init(path: String) throws(SystemError) {
        if path == "-" {
            fd = 0
            owned = false
        } else {
            fd = try systemCall("open") { open(path, O_RDONLY | O_CLOEXEC) }
            owned = true
        }
    }

    /// A descriptor already open (a pipe's read end), closed when the value goes.
    package init(owning fd: Int32) {
        self.fd = fd
        owned = true
    }

    deinit { if owned { close(fd) } }

    /// Up to `count` bytes into `buffer`; 0 at the end.
    package func read(into buffer: UnsafeMutableRawPointer, count: Int) throws(SystemError) -> Int {
        try systemCall("read") { Glibc.read(fd, buffer, count) }
    }

    /// The rest of the file, up to `limit` bytes (nil when it is longer).
    package func readAll(limit: Int = 64 << 20) throws(SystemError) -> [UInt8]? {
        var bytes = ByteBuffer()
        while true {
            let before = bytes.count
            try bytes.fill(upTo: 1 << 16) { (room) throws(SystemError) -> Int in
                try read(into: room.baseAddress!, count: room.count)
            }
            if bytes.count == before { return bytes.withBytes { Array($0) } }
            if bytes.count > limit { return nil }
        }
    }
}
