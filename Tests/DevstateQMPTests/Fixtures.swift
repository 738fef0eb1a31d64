// SPDX-License-Identifier: MIT
@testable import DevstateQMP
import DevstateModel
import Foundation

/// The committed fixtures (Tests/Fixtures): saved `query-migrate` replies and the trace logs
/// they were written from.
enum Fixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures").path

    static func data(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: root + "/" + path)) }

    static func reply(_ path: String) throws -> MigrateReply { try MigrateReply(json: try data(path)) }

    static func reply(text: String) throws -> MigrateReply { try MigrateReply(json: Data(text.utf8)) }

    static func input(_ path: String, _ role: Side) throws -> QueryMigrateInput {
        QueryMigrateInput(endpoint: path, role: role, reply: try reply(path), noSchemaReason: "a saved reply carries no schema")
    }

    /// A trace log's device lines as "idstr#instance=time" with their type, read by plain
    /// string splitting (no shared code).
    static func deviceLines(_ log: String) throws -> [(key: String, type: String)] {
        try String(decoding: data(log), as: UTF8.self).split(separator: "\n").compactMap { raw in
            guard let r = raw.range(of: "vmstate_downtime_") else { return nil }
            let fields = raw[r.upperBound...].split(separator: " ")
            guard fields.count == 5, fields[0] == "save" || fields[0] == "load" else { return nil }
            let value = { (i: Int) in String(fields[i].split(separator: "=", maxSplits: 1)[1]) }
            return ("\(value(2))#\(value(3))=\(value(4))", value(1))
        }
    }
}

/// A query-qmp-schema answer shaped like QEMU's (type names masked as numbers): query-migrate
/// returns object "163" with the usual members plus `members`; `decoy` adds members to another
/// command's return type, which must not count.
func fakeSchema(_ members: [String], decoy: [String] = []) -> String {
    func object(_ name: String, _ names: [String]) -> String {
        let m = names.map { #"{"name": "\#($0)", "type": "int"}"# }.joined(separator: ", ")
        return #"{"name": "\#(name)", "meta-type": "object", "members": [\#(m)]}"#
    }
    let entries = [
        #"{"name": "query-status", "meta-type": "command", "arg-type": "0", "ret-type": "41", "allow-oob": false}"#,
        object("0", []),
        object("41", ["running", "status"] + decoy),
        #"{"name": "query-migrate", "meta-type": "command", "arg-type": "0", "ret-type": "163", "allow-oob": false}"#,
        object("163", ["status", "ram", "total-time", "downtime", "setup-time"] + members),
        #"{"name": "int", "meta-type": "builtin", "json-type": "int"}"#,
    ]
    return "[" + entries.joined(separator: ", ") + "]"
}

let series030 = SeriesMember.all
let series020 = [SeriesMember.deviceStateTimes] + SeriesMember.added020
let series010 = [SeriesMember.deviceStateTimes]
