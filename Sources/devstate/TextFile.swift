// SPDX-License-Identifier: MIT
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import DevstateBytes

/// Replaces `directory/name` with `contents` so a reader sees the old file or the new one, never
/// a part: node_exporter's textfile collector may read the directory at any moment. The bytes go
/// to a temporary file in the same directory whose name does not end in .prom (the collector
/// skips it), are synced, and the file is renamed over the old one.
func replaceFile(directory: String, name: String, contents: String) throws(SystemError) {
    let final = directory + "/" + name
    let temporary = directory + "/." + name + ".\(getpid()).tmp"
    let fd = try systemCall("open \(temporary)") {
        open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    }
    var failure: SystemError?
    var bytes = contents
    bytes.withUTF8 { buffer in
        do throws(SystemError) {
            try writeAll(fd, UnsafeRawBufferPointer(buffer))
            _ = try systemCall("fsync") { fsync(fd) }
        } catch {
            failure = error
        }
    }
    close(fd)
    if failure == nil {
        do throws(SystemError) {
            _ = try systemCall("rename to \(final)") { rename(temporary, final) }
            return
        } catch {
            failure = error
        }
    }
    unlink(temporary)
    if let failure { throw failure }
}
