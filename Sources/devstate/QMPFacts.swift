// SPDX-License-Identifier: MIT
import DevstateTrace
import Foundation

// What `query` and `watch` ask a QEMU besides query-migrate.

/// The members of query-migrate's return type from query-qmp-schema, or why there are none.
func seriesMembers(_ client: QMPClient) -> (Set<String>?, reason: String?) {
    do {
        return (try MigrateSchema.queryMigrateMembers(try client.execute("query-qmp-schema")), nil)
    } catch {
        return (nil, "query-qmp-schema gave no answer to use (\(error))")
    }
}

/// QEMU's -name (query-name), nil when it has none or does not answer.
func qemuName(_ client: QMPClient) -> String? {
    guard let reply = try? client.execute("query-name") as? [String: Any],
          let name = reply["name"] as? String, !name.isEmpty else { return nil }
    return name
}

/// A QMP socket's file name without its extension: "/run/vm1.qmp" → "vm1".
func socketName(_ path: String) -> String {
    let file = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
    return file.isEmpty ? "qemu" : file
}

/// Now, as Unix µs.
func unixMicros() -> Int64 {
    Int64((Date().timeIntervalSince1970 * 1e6).rounded())
}
