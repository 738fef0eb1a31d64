// SPDX-License-Identifier: MIT
import Foundation
#if canImport(Glibc)
import Glibc
private let streamSocket = Int32(SOCK_STREAM.rawValue)
#elseif canImport(Musl)
import Musl
private let streamSocket = SOCK_STREAM
#endif

public struct QMPError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A blocking QMP client over a unix socket: greeting, `qmp_capabilities`, then commands.
/// Asynchronous events that arrive in between are skipped.
public final class QMPClient {
    private let fd: Int32
    /// Bytes received and not yet taken as messages.
    private var buffer: [UInt8] = []
    private let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 1)
    public private(set) var greeting: [String: Any] = [:]

    public init(socketPath: String, timeoutSeconds: Int = 10) throws {
        fd = socket(AF_UNIX, streamSocket, 0)
        guard fd >= 0 else { throw QMPError("socket: \(String(cString: strerror(errno)))") }
        var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(socketPath.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        // On failure below the descriptor is closed by deinit (self is initialized by now).
        guard pathBytes.count < capacity else {
            throw QMPError("\(socketPath): socket path too long")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in pathBytes.enumerated() { raw[i] = b }
            raw[pathBytes.count] = 0
        }
        do throws(SystemError) {
            let socket = fd
            var retried = false
            _ = try systemCall("connect") { () -> Int32 in
                let r = withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        connect(socket, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                    }
                }
                // An interrupted connect may have completed meanwhile: then the retry says so.
                if r < 0, retried, errno == EISCONN { return 0 }
                retried = true
                return r
            }
        } catch {
            throw QMPError("cannot connect to \(socketPath): \(error.message)")
        }
        let hello = try readMessage()
        guard let qmp = hello["QMP"] as? [String: Any] else {
            throw QMPError("\(socketPath) did not greet with QMP (is it a QMP socket?)")
        }
        greeting = qmp
        _ = try execute("qmp_capabilities")
    }

    deinit {
        close(fd)
        chunk.deallocate()
    }

    /// The QEMU version from the greeting, e.g. "10.0.2".
    public var qemuVersion: String? {
        guard let version = greeting["version"] as? [String: Any],
              let q = version["qemu"] as? [String: Any],
              let major = q["major"] as? Int, let minor = q["minor"] as? Int,
              let micro = q["micro"] as? Int else { return nil }
        return "\(major).\(minor).\(micro)"
    }

    /// The only commands this client sends: it reads, it never changes a QEMU's state.
    public static let readOnlyCommands: Set<String> = [
        "qmp_capabilities", "query-migrate", "query-qmp-schema", "query-version",
    ]

    /// Runs a read-only command (`readOnlyCommands`) and returns its `return` value.
    public func execute(_ command: String, arguments: [String: Any]? = nil) throws -> Any {
        guard Self.readOnlyCommands.contains(command) else {
            throw QMPError("\(command): not sent (devstate sends only \(Self.readOnlyCommands.sorted().joined(separator: ", ")))")
        }
        var message: [String: Any] = ["execute": command]
        if let arguments { message["arguments"] = arguments }
        var data = try JSONSerialization.data(withJSONObject: message)
        data.append(10)
        let socket = fd
        try data.withUnsafeBytes { raw in
            var sent = 0
            while sent < raw.count {
                do throws(SystemError) {
                    sent += try systemCall("send") {
                        send(socket, raw.baseAddress! + sent, raw.count - sent, Int32(MSG_NOSIGNAL))
                    }
                } catch {
                    throw QMPError(error.description)
                }
            }
        }
        while true {
            let reply = try readMessage()
            if reply["event"] != nil { continue }
            if let error = reply["error"] as? [String: Any] {
                let cls = error["class"] as? String ?? "Error"
                let desc = error["desc"] as? String ?? "?"
                throw QMPError("\(command): \(cls): \(desc)")
            }
            if let value = reply["return"] { return value }
            throw QMPError("\(command): unexpected reply")
        }
    }

    private func readMessage() throws -> [String: Any] {
        let socket = fd, chunk = chunk
        while true {
            if let nl = buffer.firstIndex(of: 10) {
                let line = Data(buffer[..<nl])
                buffer.removeSubrange(...nl)
                if line.allSatisfy({ $0 == 13 || $0 == 32 }) { continue }
                guard let object = try? JSONSerialization.jsonObject(with: line) as? [String: Any] else {
                    throw QMPError("QMP sent something that is not a JSON object")
                }
                return object
            }
            let n: Int
            do throws(SystemError) {
                n = try systemCall("recv") { recv(socket, chunk.baseAddress, chunk.count, 0) }
            } catch {
                let timedOut = error.code == EAGAIN || error.code == EWOULDBLOCK
                throw QMPError(timedOut ? "QMP timed out" : error.description)
            }
            if n == 0 { throw QMPError("QMP connection closed") }
            buffer.append(contentsOf: chunk[..<n])
        }
    }
}
