// SPDX-License-Identifier: MIT
@testable import DevstateQMP
import DevstateModel
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A one-connection QMP server on a unix socket: it sends `before`, then answers each command
/// with `replies[command]` (lines; `{"return": {}}` when none) and records the command lines.
final class FakeQMP: @unchecked Sendable {
    let path = NSTemporaryDirectory() + "qmp-\(UUID().uuidString.prefix(8)).sock"
    private let lock = NSLock()
    private var lines: [String] = []
    var received: [String] { lock.withLock { lines } }

    static let greeting = #"{"QMP": {"version": {"qemu": {"micro": 2, "minor": 0, "major": 10}, "package": ""}, "capabilities": []}}"#

    init(before: [String] = [greeting], replies: [String: [String]] = [:], hangUpAfter: String? = nil) throws {
        let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8) + [0]) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, listen(listener, 1) == 0 else { throw POSIXError(.EADDRINUSE) }
        Thread.detachNewThread { [self] in
            let c = accept(listener, nil, nil)
            close(listener)
            guard c >= 0 else { return }
            defer { close(c) }
            func send(_ s: String) { _ = (s + "\r\n").withCString { Glibc.send(c, $0, strlen($0), Int32(MSG_NOSIGNAL)) } }
            before.forEach(send)
            var pending = [UInt8]()
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(c, $0.baseAddress, $0.count) }
                if n <= 0 { return }
                pending += buffer[..<n]
                while let nl = pending.firstIndex(of: 10) {
                    let line = String(decoding: pending[..<nl], as: UTF8.self)
                    pending.removeSubrange(...nl)
                    lock.withLock { lines.append(line) }
                    let command = line.components(separatedBy: #""execute":""#).last?.components(separatedBy: "\"").first ?? "?"
                    (replies[command] ?? [#"{"return": {}}"#]).forEach(send)
                    if command == hangUpAfter { return }
                }
            }
        }
    }

    deinit { unlink(path) }
}

@Suite(.serialized) struct QMPClientTests {
    @Test func greetingCommandsAndEvents() throws {
        let migrate = String(decoding: try Fixtures.data("qmp/q35-source.json"), as: UTF8.self).replacingOccurrences(of: "\n", with: "")
        let fake = try FakeQMP(before: [#"{"event": "RESUME", "timestamp": {"seconds": 1, "microseconds": 5}}"#, "", FakeQMP.greeting], replies: [
            "query-migrate": [#"{"timestamp": {"seconds": 3, "microseconds": 500000}, "event": "MIGRATION", "data": {"status": "completed"}}"#, migrate],
            "query-name": [#"{"return": {"name": "vm1"}}"#],
            "query-migrate-capabilities": [#"{"return": [{"capability": "xbzrle", "state": true}, {"capability": "events", "state": true}]}"#],
            "query-qmp-schema": [#"{"return": \#(fakeSchema(series020))}"#],
            "query-version": [#"{"return": {"qemu": {"micro": 1, "minor": 2, "major": 10}, "package": "x"}}"#],
        ])
        let client = try QMPClient(socketPath: fake.path, timeoutSeconds: 5)
        #expect(client.qemuVersion == "10.0.2")
        #expect(client.peerPID == getpid())
        #expect(client.queryName() == "vm1")
        #expect(client.queryVersion() == "10.2.1")
        #expect(client.migrationEventsEnabled())
        #expect(try client.queryMigrateMembers().intersection(SeriesMember.all) == Set(series020))
        #expect(try client.queryMigrate() == Fixtures.reply("qmp/q35-source.json"))
        // The event that came with the reply is queued; the one ahead of the greeting is not.
        #expect(try client.nextEvent(timeoutMS: 0) == QMPEvent(name: "MIGRATION", timestamp: 3.5, status: "completed"))
        #expect(try client.nextEvent(timeoutMS: 50) == nil)
        #expect(fake.received.first == #"{"execute":"qmp_capabilities"}"#)
        #expect(fake.received.count == 6)
        #expect(fake.received.allSatisfy { line in QMPClient.readOnlyCommands.contains { line.contains("\"\($0)\"") } })
    }

    @Test func onlyAllowedCommandsAreSentAndErrorsAreNamed() throws {
        let fake = try FakeQMP(replies: [
            "trace-event-get-state": [#"{"return": [{"name": "vmstate_downtime_save", "state": "enabled"}, {"name": "a", "state": "unavailable"}]}"#],
            "trace-event-set-state": [#"{"error": {"class": "GenericError", "desc": "No such event"}}"#],
            "query-name": [#"{"id": 1}"#],
            "query-migrate": [#"{"return": "#],
        ], hangUpAfter: "query-migrate")
        let reader = try QMPClient(socketPath: fake.path)
        let notSent = #expect(throws: (any Error).self) { try reader.traceEventStates("vmstate_downtime_*") }
        #expect(notSent.map { "\($0)" }?.hasPrefix("trace-event-get-state: not sent (devstate sends only qmp_capabilities, query-migrate, ") == true)
        #expect(fake.received.count == 1)
        let fake2 = try FakeQMP(replies: [
            "trace-event-get-state": [#"{"return": [{"name": "vmstate_downtime_save", "state": "enabled"}, {"name": "a", "state": "unavailable"}]}"#],
            "trace-event-set-state": [#"{"error": {"class": "GenericError", "desc": "No such event"}}"#],
            "query-name": [#"{"id": 1}"#],
            "query-version": [#"{"return": 5}"#],
            "query-migrate": [#"{"return": "#],
        ], hangUpAfter: "query-migrate")
        let tracer = try QMPClient(socketPath: fake2.path, allowTraceControl: true)
        #expect(try tracer.traceEventStates("vmstate_downtime_*").map { "\($0.name)=\($0.state)" } ==
                ["a=unavailable", "vmstate_downtime_save=enabled"])
        let refused = #expect(throws: (any Error).self) { try tracer.setTraceEvents("vmstate_downtime_*", enable: true) }
        #expect(refused.map { "\($0)" } == "trace-event-set-state: GenericError: No such event")
        #expect(fake2.received[2] == #"{"arguments":{"enable":true,"ignore-unavailable":true,"name":"vmstate_downtime_*"},"execute":"trace-event-set-state"}"#)
        let raw = #expect(throws: (any Error).self) { try tracer.executeRaw("query-name") }
        #expect(raw.map { "\($0)" } == "query-name: unexpected reply")
        #expect(tracer.queryVersion() == nil)
        let version = #expect(throws: (any Error).self) { try tracer.execute("query-version", as: [String].self) }
        #expect(version.map { "\($0)" } == "query-version: unexpected reply")
        let migrate = #expect(throws: (any Error).self) { try tracer.queryMigrate() }
        #expect(migrate.map { "\($0)" } == "QMP sent something that is not a JSON object")
        let closed = #expect(throws: QMPError.self) { try tracer.nextEvent(timeoutMS: 1000) }
        #expect(closed?.closed == true)
    }

    @Test func aReplyThatIsNotQueryMigratesIsNamed() throws {
        let fake = try FakeQMP(replies: ["query-migrate": [#"{"return": [1]}"#]])
        let error = #expect(throws: (any Error).self) { try QMPClient(socketPath: fake.path).queryMigrate() }
        #expect(error.map { "\($0)" } == "query-migrate reply is not a JSON object")
    }

    @Test func somethingElseThanQMPIsRefused() throws {
        let garbage = try FakeQMP(before: [#"{"return": {}}"#])
        let notQMP = #expect(throws: (any Error).self) { try QMPClient(socketPath: garbage.path) }
        #expect(notQMP.map { "\($0)" } == "\(garbage.path) did not greet with QMP (is it a QMP socket?)")
        let missing = NSTemporaryDirectory() + "no-such-\(UUID().uuidString).sock"
        let noSocket = #expect(throws: (any Error).self) { try QMPClient(socketPath: missing, timeoutSeconds: 1) }
        #expect(noSocket.map { "\($0)" } == "cannot connect to \(missing): No such file or directory")
        let silent = try FakeQMP(before: [])
        let timedOut = #expect(throws: (any Error).self) { try QMPClient(socketPath: silent.path, timeoutSeconds: 1) }
        #expect(timedOut.map { "\($0)" } == "QMP timed out")
    }
}
