// SPDX-License-Identifier: MIT
import DevstateBytes
import FoundationEssentials
#if canImport(Glibc)
import Glibc
private let streamSocket = Int32(SOCK_STREAM.rawValue)
#elseif canImport(Musl)
import Musl
private let streamSocket = SOCK_STREAM
#endif

/// A blocking QMP client over a unix socket: greeting, `qmp_capabilities`, then commands.
/// Asynchronous events that arrive meanwhile are queued for `nextEvent` (the newest
/// `eventQueueLimit`; older ones are dropped so a client that never asks does not grow).
public final class QMPClient: QMPTransport {
    private let fd: Int32
    private let allowed: Set<String>
    /// Bytes received and not yet taken as messages.
    private var received = ByteBuffer()
    private var events: [QMPEvent] = []
    public static let eventQueueLimit = 256
    /// The QEMU version from the greeting, e.g. "10.0.2".
    public private(set) var qemuVersion: String?

    /// The only commands this client sends: it reads, it never changes a QEMU's state.
    public static let readOnlyCommands: Set<String> = [
        "qmp_capabilities", "query-migrate", "query-qmp-schema", "query-version", "query-name",
        "query-migrate-capabilities",
    ]
    /// What `devstate trace` sends besides: the downtime events' state, read and set.
    public static let traceCommands: Set<String> = ["trace-event-get-state", "trace-event-set-state"]

    /// `allowTraceControl`: also send `traceCommands` (only `devstate trace` does).
    public init(socketPath: String, timeoutSeconds: Int = 10, allowTraceControl: Bool = false) throws {
        allowed = allowTraceControl ? Self.readOnlyCommands.union(Self.traceCommands) : Self.readOnlyCommands
        fd = try systemCall("socket") { socket(AF_UNIX, streamSocket, 0) }
        // From here on a throw closes the descriptor in deinit (every property is set).
        var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        try connectSocket(socketPath)
        // The greeting comes first, but a QEMU still starting up has been seen to send an
        // event (RESUME) ahead of it.
        var hello = try readMessage()
        for _ in 0..<16 where hello.event != nil { hello = try readMessage() }
        guard hello.isGreeting else { throw QMPError("\(socketPath) did not greet with QMP (is it a QMP socket?)") }
        qemuVersion = hello.version
        events.removeAll()  // as before: those ahead of the greeting are not the client's
        _ = try executeRaw("qmp_capabilities")
    }

    deinit { close(fd) }

    /// The socket address is a C struct filled in place: the one use of pointers here.
    private func connectSocket(_ path: String) throws {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw QMPError("\(path): socket path too long")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: pathBytes + [0]) }
        let socket = fd
        var retried = false
        do throws(SystemError) {
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
            throw QMPError("cannot connect to \(path): \(error.message)")
        }
    }

    /// The process at the other end of the socket (SO_PEERCRED), nil if the kernel does not say.
    public var peerPID: Int32? {
        // struct ucred { pid_t pid; uid_t uid; gid_t gid; } (Glibc's module does not export it).
        var credentials: (pid: Int32, uid: UInt32, gid: UInt32) = (0, 0, 0)
        var length = socklen_t(MemoryLayout.size(ofValue: credentials))
        guard getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0, credentials.pid > 0 else { return nil }
        return credentials.pid
    }

    /// Runs a command this client may send (`readOnlyCommands`, and `traceCommands` when the
    /// client was made for them) and returns the whole reply (a JSON object with `return`).
    public func executeRaw(_ command: String, arguments: [String: QMPValue]? = nil) throws -> Data {
        guard allowed.contains(command) else {
            throw QMPError("\(command): not sent (devstate sends only \(allowed.sorted().joined(separator: ", ")))")
        }
        let socket = fd
        try QMPMessage.command(command, arguments: arguments).withUnsafeBytes { raw in
            var sent = 0
            while sent < raw.count {
                sent += try systemCall("send") {
                    send(socket, raw.baseAddress! + sent, raw.count - sent, Int32(MSG_NOSIGNAL))
                }
            }
        }
        var reply = try readMessage()
        while reply.event != nil { reply = try readMessage() }
        return try reply.returned(by: command, withoutReturn: "unexpected reply")
    }

    /// The next event: a queued one, else one that arrives within `timeoutMS` (nil if none does).
    /// Throws `QMPError` with `closed` set when QEMU closes the connection.
    public func nextEvent(timeoutMS: Int32) throws -> QMPEvent? {
        let deadline = ContinuousClock.now + .milliseconds(max(0, timeoutMS))
        while true {
            if !events.isEmpty { return events.removeFirst() }
            if received.withBytes({ !$0.contains(10) }) {
                var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                let left = Int32(max(0, ContinuousClock.now.duration(to: deadline) / .milliseconds(1)))
                if try systemCall("poll", { poll(&entry, 1, left) }) == 0 { return nil }
            }
            _ = try readMessage()
        }
    }

    /// The next message: one line of JSON (blank lines skipped). An event is queued as well.
    private func readMessage() throws -> QMPMessage {
        let socket = fd
        while true {
            if let line = received.withBytes({ bytes in bytes.firstIndex(of: 10).map { Data(bytes[..<$0]) } }) {
                received.removeFirst(line.count + 1)
                if line.allSatisfy({ $0 == 13 || $0 == 32 }) { continue }
                let message = try QMPMessage(line: line)
                if let event = message.event {
                    if events.count >= Self.eventQueueLimit { events.removeFirst() }
                    events.append(event)
                }
                return message
            }
            let before = received.count
            do throws(SystemError) {
                try received.fill(upTo: 1 << 16) { (room) throws(SystemError) -> Int in
                    try systemCall("recv") { recv(socket, room.baseAddress, room.count, 0) }
                }
            } catch {
                if error.code == EAGAIN || error.code == EWOULDBLOCK { throw QMPError("QMP timed out") }
                throw error
            }
            if received.count == before { throw QMPError("QMP connection closed", closed: true) }
        }
    }
}
