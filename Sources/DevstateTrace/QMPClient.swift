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

    /// Runs a command and returns its `return` value.
    public func execute(_ command: String, arguments: [String: Any]? = nil) throws -> Any {
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

/// `device-state-times` as found in a query-migrate reply.
public struct QueriedTimes: Sendable, Equatable {
    public struct Item: Sendable, Equatable {
        public var name: String
        public var instanceID: UInt64
        public var saveTime: UInt64
    }
    public var status: String?
    /// Nil when the reply has no `device-state-times` (stock QEMU).
    public var items: [Item]?
    /// The array as JSON text, re-serialised (keys name, instance-id, save-time).
    public var json: String?

    public init(reply: Any) throws {
        guard let object = reply as? [String: Any] else {
            throw QMPError("query-migrate did not return an object")
        }
        status = object["status"] as? String
        guard let raw = object["device-state-times"] else {
            items = nil
            json = nil
            return
        }
        guard let array = raw as? [Any] else {
            throw QMPError("device-state-times is not an array")
        }
        var parsed: [Item] = []
        for element in array {
            guard let e = element as? [String: Any], let name = e["name"] as? String,
                  let instance = (e["instance-id"] as? NSNumber)?.uint64Value,
                  let time = (e["save-time"] as? NSNumber)?.uint64Value else {
                throw QMPError("device-state-times holds an entry without name/instance-id/save-time")
            }
            parsed.append(Item(name: name, instanceID: instance, saveTime: time))
        }
        items = parsed
        json = JSONValue.array(parsed.map {
            .object([("name", .string($0.name)), ("instance-id", .uint($0.instanceID)),
                     ("save-time", .uint($0.saveTime))])
        }).serialized()
    }
}
