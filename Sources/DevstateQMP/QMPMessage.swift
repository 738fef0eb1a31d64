// SPDX-License-Identifier: MIT
import FoundationEssentials

// What goes over a QMP socket: a command line out; a greeting, replies and events in.

public struct QMPError: Error, CustomStringConvertible, Sendable {
    public var description: String
    /// QEMU closed the connection (it quit, or it was killed).
    public var closed = false
    public init(_ description: String, closed: Bool = false) {
        self.description = description
        self.closed = closed
    }
}

/// An argument of a command: the commands devstate sends take strings and booleans only.
public enum QMPValue: Encodable, Sendable, Equatable, ExpressibleByStringLiteral, ExpressibleByBooleanLiteral {
    case string(String), bool(Bool)
    public init(stringLiteral value: String) { self = .string(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public func encode(to encoder: Encoder) throws {
        var value = encoder.singleValueContainer()
        switch self {
        case .string(let s): try value.encode(s)
        case .bool(let b): try value.encode(b)
        }
    }
}

/// An asynchronous QMP event, with what devstate reads of its `data`.
public struct QMPEvent: Sendable, Equatable {
    public var name: String
    /// QEMU's `timestamp` as Unix seconds with µs, nil when absent.
    public var timestamp: Double?
    /// `data.status` (a MIGRATION event's).
    public var status: String?
}

/// A reply's `return` value as `R` (a fault `R` names, like a `QueryMigrateError`, comes out as it is).
struct ReturnValue<R: Decodable>: Decodable {
    var value: R
    init(from decoder: Decoder) throws {
        value = try decoder.container(keyedBy: JSONKey.self).decode(R.self, forKey: "return")
    }
}

/// The greeting's or `query-version`'s `{"qemu": {major, minor, micro}}`, as "10.0.2".
struct QEMUVersion: Decodable {
    struct Numbers: Decodable { var major, minor, micro: Int }
    var qemu: Numbers
    var text: String { "\(qemu.major).\(qemu.minor).\(qemu.micro)" }
}

/// One message from QEMU, as far as the client tells them apart.
struct QMPMessage: Decodable {
    var isGreeting = false
    var version: String?
    var event: QMPEvent?
    var error: (kind: String, desc: String)?
    var hasReturn = false
    var line = Data()

    /// A line of text, which must hold a JSON object.
    init(line: Data) throws {
        do {
            self = try JSONDecoder().decode(QMPMessage.self, from: line)
        } catch {
            throw QMPError("QMP sent something that is not a JSON object")
        }
        self.line = line
    }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        isGreeting = c.object("QMP") != nil
        version = (try? c.object("QMP")?.decode(QEMUVersion.self, forKey: "version"))?.text
        if let name = c.string("event") {
            let t = c.object("timestamp")
            let s = t?.signed("seconds"), us = t?.signed("microseconds")
            let timestamp = s.flatMap { s in us.flatMap { s >= 0 ? Double(s) + Double($0) / 1e6 : nil } }
            event = QMPEvent(name: name, timestamp: timestamp, status: c.object("data")?.string("status"))
        }
        if let e = c.object("error") { error = (e.string("class") ?? "Error", e.string("desc") ?? "?") }
        hasReturn = c.has("return")
    }

    /// The reply's whole text when it holds `return`; QEMU's error as "COMMAND: CLASS: DESC",
    /// and `withoutReturn` after "COMMAND: " for any other reply.
    func returned(by command: String, withoutReturn: String) throws -> Data {
        if let error { throw QMPError("\(command): \(error.kind): \(error.desc)") }
        guard hasReturn else { throw QMPError("\(command): \(withoutReturn)") }
        return line
    }

    /// `{"execute": command, "arguments": …}` and its newline.
    static func command(_ command: String, arguments: [String: QMPValue]?) throws -> Data {
        struct Command: Encodable {
            var execute: String
            var arguments: [String: QMPValue]?
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(Command(execute: command, arguments: arguments)) + [10]
    }
}

/// QMP's text for a transport that carries it for devstate (a libvirt domain's monitor): the
/// client's own command encoding and reply checks.
public enum QMPText {
    /// `{"execute": command, "arguments": …}`, without a newline.
    public static func command(_ command: String, arguments: [String: QMPValue]?) throws -> String {
        String(decoding: try QMPMessage.command(command, arguments: arguments).dropLast(), as: UTF8.self)
    }

    /// `reply` when it is a QMP reply with `return`; else a `QMPError` saying what it is.
    public static func returned(_ reply: Data, by command: String) throws -> Data {
        guard let message = try? QMPMessage(line: reply) else {
            throw QMPError("\(command): libvirt returned something that is not a QMP reply")
        }
        return try message.returned(by: command, withoutReturn: "reply without return")
    }
}
