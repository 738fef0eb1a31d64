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
    /// QEMU closed the connection (it quit, or it was killed).
    public var closed = false
    public init(_ description: String, closed: Bool = false) {
        self.description = description
        self.closed = closed
    }
}

/// An asynchronous QMP event.
public struct QMPEvent: @unchecked Sendable {
    public var name: String
    /// `data`, when the event has one.
    public var data: [String: Any]
    /// QEMU's `timestamp` as Unix seconds with µs, nil when absent.
    public var timestamp: Double?

    init?(_ message: [String: Any]) {
        guard let name = message["event"] as? String else { return nil }
        self.name = name
        data = message["data"] as? [String: Any] ?? [:]
        if let t = message["timestamp"] as? [String: Any], let s = t["seconds"] as? Int64,
           let us = t["microseconds"] as? Int64, s >= 0 {
            timestamp = Double(s) + Double(us) / 1e6
        }
    }
}

/// A blocking QMP client over a unix socket: greeting, `qmp_capabilities`, then commands.
/// Asynchronous events that arrive meanwhile are queued for `nextEvent` (the newest
/// `eventQueueLimit`; older ones are dropped so a client that never asks does not grow).
public final class QMPClient {
    private let fd: Int32
    /// Bytes received and not yet taken as messages.
    private var buffer: [UInt8] = []
    private let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 1)
    public private(set) var greeting: [String: Any] = [:]
    private var events: [QMPEvent] = []
    public static let eventQueueLimit = 256

    /// The commands this client sends (`readOnlyCommands`, plus `traceCommands` for `devstate trace`).
    private let allowed: Set<String>

    /// `allowTraceControl`: also send `traceCommands` (only `devstate trace` does).
    public init(socketPath: String, timeoutSeconds: Int = 10, allowTraceControl: Bool = false) throws {
        allowed = allowTraceControl ? Self.readOnlyCommands.union(Self.traceCommands) : Self.readOnlyCommands
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
        // The greeting comes first, but a QEMU still starting up has been seen to send an
        // event (RESUME) ahead of it.
        var hello = try readMessage()
        var skipped = 0
        while hello["event"] != nil, hello["QMP"] == nil, skipped < 16 {
            hello = try readMessage()
            skipped += 1
        }
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
        "qmp_capabilities", "query-migrate", "query-qmp-schema", "query-version", "query-name",
        "query-migrate-capabilities",
    ]

    /// What `devstate trace` sends besides: the downtime events' state, read and set; nothing else
    /// of the QEMU changes.
    public static let traceCommands: Set<String> = ["trace-event-get-state", "trace-event-set-state"]

    /// The process at the other end of the socket (SO_PEERCRED), nil if the kernel does not say.
    public var peerPID: Int32? {
        // struct ucred { pid_t pid; uid_t uid; gid_t gid; } (Glibc's module does not export it).
        var credentials: (pid: Int32, uid: UInt32, gid: UInt32) = (0, 0, 0)
        var length = socklen_t(MemoryLayout.size(ofValue: credentials))
        guard getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0, credentials.pid > 0 else { return nil }
        return credentials.pid
    }

    /// Runs a command this client may send (`readOnlyCommands`, and `traceCommands` when the
    /// client was made for them) and returns its `return` value.
    public func execute(_ command: String, arguments: [String: Any]? = nil) throws -> Any {
        guard allowed.contains(command) else {
            throw QMPError("\(command): not sent (devstate sends only \(allowed.sorted().joined(separator: ", ")))")
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
            if let event = QMPEvent(reply) {
                queue(event)
                continue
            }
            if let error = reply["error"] as? [String: Any] {
                let cls = error["class"] as? String ?? "Error"
                let desc = error["desc"] as? String ?? "?"
                throw QMPError("\(command): \(cls): \(desc)")
            }
            if let value = reply["return"] { return value }
            throw QMPError("\(command): unexpected reply")
        }
    }

    private func queue(_ event: QMPEvent) {
        if events.count >= Self.eventQueueLimit { events.removeFirst() }
        events.append(event)
    }

    /// The next event: a queued one, else one that arrives within `timeoutMS` (nil if none does).
    /// Throws `QMPError` with `closed` set when QEMU closes the connection.
    public func nextEvent(timeoutMS: Int32) throws -> QMPEvent? {
        let deadline = monotonicMS() + Int64(max(0, timeoutMS))
        while true {
            if !events.isEmpty { return events.removeFirst() }
            if !buffer.contains(10) {
                var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                let left = Int32(clamping: max(0, deadline - monotonicMS()))
                let ready: Int32
                do throws(SystemError) {
                    ready = try systemCall("poll") { poll(&entry, 1, left) }
                } catch {
                    throw QMPError(error.description)
                }
                if ready == 0 { return nil }
            }
            let message = try readMessage()
            if let event = QMPEvent(message) { queue(event) }
        }
    }

    private func monotonicMS() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
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
            if n == 0 { throw QMPError("QMP connection closed", closed: true) }
            buffer.append(contentsOf: chunk[..<n])
        }
    }
}
