import Foundation
#if canImport(Glibc)
import Glibc
#endif

public struct QMPError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A blocking QMP client over a unix socket: greeting, `qmp_capabilities`, then commands.
/// Asynchronous events that arrive in between are skipped.
public final class QMPClient {
    private let fd: Int32
    private var buffer: [UInt8] = []
    public private(set) var greeting: [String: Any] = [:]

    public init(socketPath: String, timeoutSeconds: Int = 10) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw QMPError("socket: \(String(cString: strerror(errno)))") }
        var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(socketPath.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard pathBytes.count < capacity else {
            close(fd)
            throw QMPError("\(socketPath): socket path too long")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in pathBytes.enumerated() { raw[i] = b }
            raw[pathBytes.count] = 0
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else {
            let message = String(cString: strerror(errno))
            close(fd)
            throw QMPError("cannot connect to \(socketPath): \(message)")
        }
        do {
            let hello = try readMessage()
            guard let qmp = hello["QMP"] as? [String: Any] else {
                throw QMPError("\(socketPath) did not greet with QMP (is it a QMP socket?)")
            }
            greeting = qmp
            _ = try execute("qmp_capabilities")
        } catch {
            close(fd)
            throw error
        }
    }

    deinit { close(fd) }

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
        try data.withUnsafeBytes { raw in
            var sent = 0
            while sent < raw.count {
                let n = send(fd, raw.baseAddress! + sent, raw.count - sent, Int32(MSG_NOSIGNAL))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw QMPError("send: \(String(cString: strerror(errno)))")
                }
                sent += n
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
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK { throw QMPError("QMP timed out") }
                throw QMPError("recv: \(String(cString: strerror(errno)))")
            }
            if n == 0 { throw QMPError("QMP connection closed") }
            buffer.append(contentsOf: chunk[..<n])
        }
    }
}
