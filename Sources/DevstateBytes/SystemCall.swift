// SPDX-License-Identifier: MIT
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A system call that failed: its name and errno.
package struct SystemError: Error, Equatable, CustomStringConvertible {
    package var call: String
    package var code: Int32

    package init(call: String, code: Int32) {
        self.call = call
        self.code = code
    }

    /// strerror of the errno, e.g. "No such file or directory".
    package var message: String { String(cString: strerror(code)) }
    package var description: String { "\(call): \(message)" }
}

/// Runs a system call again while it fails with EINTR; returns its result (≥ 0) or throws its
/// errno. Every read, write, send, recv and connect of the tools goes through here.
package func systemCall<R: BinaryInteger>(_ call: String, _ body: () -> R) throws(SystemError) -> R {
    while true {
        let result = body()
        if result >= 0 { return result }
        let code = errno
        if code != EINTR { throw SystemError(call: call, code: code) }
    }
}

/// Writes all of `bytes` to `fd`.
package func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws(SystemError) {
    guard let base = bytes.baseAddress else { return }
    var done = 0
    while done < bytes.count {
        done += try systemCall("write") { write(fd, base + done, bytes.count - done) }
    }
}
