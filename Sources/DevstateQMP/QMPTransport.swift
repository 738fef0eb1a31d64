// SPDX-License-Identifier: MIT
import FoundationEssentials

/// Something that runs QMP commands on a QEMU: `QMPClient` on a socket, or the CLI's libvirt
/// domain (its monitor), so that the typed commands below are one path for both.
public protocol QMPTransport: AnyObject {
    /// Sends `command`; returns the whole reply, a JSON object with `return`; throws a QMP error.
    func executeRaw(_ command: String, arguments: [String: QMPValue]?) throws -> Data
}

extension QMPTransport {
    /// The reply's `return` value as `R`; one of another shape is "COMMAND: unexpected reply".
    public func execute<R: Decodable>(_ command: String, arguments: [String: QMPValue]? = nil,
                                      as type: R.Type) throws -> R {
        let reply = try executeRaw(command, arguments: arguments)
        do {
            return try JSONDecoder().decode(ReturnValue<R>.self, from: reply).value
        } catch is DecodingError {
            throw QMPError("\(command): unexpected reply")
        }
    }

    public func queryMigrate() throws -> MigrateReply { try execute("query-migrate", as: MigrateReply.self) }

    /// The members of `query-migrate`'s return type, from `query-qmp-schema`.
    public func queryMigrateMembers() throws -> Set<String> {
        try execute("query-qmp-schema", as: MigrateSchema.self).queryMigrateMembers
    }

    /// QEMU's `-name`; nil when it has none or does not answer.
    public func queryName() -> String? {
        (try? execute("query-name", as: Named.self))?.name.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The QEMU version, e.g. "10.0.2"; nil when it does not answer.
    public func queryVersion() -> String? { (try? execute("query-version", as: QEMUVersion.self))?.text }

    /// Whether the migration capability "events" is on (QEMU then sends MIGRATION events).
    public func migrationEventsEnabled() -> Bool {
        let capabilities = try? execute("query-migrate-capabilities", as: [Capability].self)
        return capabilities?.contains { $0.capability == "events" && $0.state } ?? false
    }

    /// The states ("enabled", "disabled", "unavailable") of the trace events matching `pattern`, by name.
    public func traceEventStates(_ pattern: String) throws -> [(name: String, state: String)] {
        try execute("trace-event-get-state", arguments: ["name": .string(pattern)], as: [EventState].self)
            .map { ($0.name, $0.state) }.sorted { $0.name < $1.name }
    }

    /// Turns the trace events matching `pattern` on or off (those compiled out are left as they are).
    public func setTraceEvents(_ pattern: String, enable: Bool) throws {
        _ = try executeRaw("trace-event-set-state",
                           arguments: ["name": .string(pattern), "enable": .bool(enable), "ignore-unavailable": true])
    }
}

// The elements of these replies as QEMU's schema has them.
private struct Named: Decodable { var name: String? }
private struct Capability: Decodable { var capability: String, state: Bool }
private struct EventState: Decodable { var name, state: String }
