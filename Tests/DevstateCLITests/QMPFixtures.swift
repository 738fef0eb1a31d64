// SPDX-License-Identifier: MIT
@testable import devstate
import DevstateAnalysis
import DevstateIngest
import DevstateModel
import DevstateQMP
import DevstateRender
import Foundation
import Testing

/// The saved query-migrate replies in Tests/Fixtures/qmp (written by make-replies.py from the
/// q35 trace logs).
enum QMPFixtures {
    static let directory: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/qmp").path
    }()

    static func path(_ name: String) -> String { directory + "/" + name }

    static func object(_ name: String) throws -> [String: Any] {
        let any = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path(name))))
        let object = try #require(any as? [String: Any])
        return object["return"] as? [String: Any] ?? object
    }

    /// The reply object as JSON text, for the fake QMP server.
    static func inner(_ name: String) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: try object(name)), as: UTF8.self)
    }

    static func input(_ name: String, _ role: Side) throws -> QueryMigrateInput {
        QueryMigrateInput(endpoint: name, role: role, reply: try MigrateReply(json: Data(contentsOf: URL(fileURLWithPath: path(name)))),
                          noSchemaReason: "a saved reply carries no schema")
    }
}

/// A query-qmp-schema reply shaped like QEMU's (type names masked as numbers): query-migrate
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

func qmpReport(_ inputs: [QueryMigrateInput]) -> (CollectingSink, [QueryMigrateFacts]) {
    let sink = CollectingSink()
    let facts = render(inputs, sink: sink)
    return (sink, facts)
}

/// RFC 4180 records: quoted fields may hold commas, quotes ("") and line breaks.
func parseCSV(_ text: String) -> [[String]] {
    var records: [[String]] = []
    var record: [String] = []
    var field = String.UnicodeScalarView()
    var quoted = false
    var scalars = text.unicodeScalars.makeIterator()
    var pending: Unicode.Scalar? = nil
    func next() -> Unicode.Scalar? {
        if let p = pending { pending = nil; return p }
        return scalars.next()
    }
    while let c = next() {
        if quoted {
            if c == "\"" {
                if let d = next() {
                    if d == "\"" { field.append("\"") } else { quoted = false; pending = d }
                } else {
                    quoted = false
                }
            } else {
                field.append(c)
            }
        } else if c == "\"" && field.isEmpty {
            quoted = true
        } else if c == "," {
            record.append(String(field))
            field = String.UnicodeScalarView()
        } else if c == "\n" {
            record.append(String(field))
            field = String.UnicodeScalarView()
            records.append(record)
            record = []
        } else {
            field.append(c)
        }
    }
    if !field.isEmpty || !record.isEmpty { record.append(String(field)); records.append(record) }
    return records
}

/// What both paths must agree on about a device.
struct ComparableDevice: Equatable, CustomStringConvertible {
    var name: String
    var instanceID: UInt32
    var section: Section
    var type: String
    var timeUS: UInt64
    var share: Double?
    var vmsd: Bool
    var inDeviceStateTimes: Bool

    init(_ row: DeviceRow, of side: SideReport) {
        name = row.name
        instanceID = row.device.instanceID
        section = row.device.section
        type = row.type
        timeUS = row.device.timeUS
        share = row.share
        vmsd = row.hasVMSD
        inDeviceStateTimes = row.inDeviceStateTimes
    }

    var description: String { "\(name)#\(instanceID) \(section.rawValue) \(timeUS) µs" }
}

/// The devices of a trace side that query-migrate reports: on the source, saves > 0 µs that
/// are iterable or have a vmsd; on the destination, every load > 0 µs.
func visibleOverQMP(_ side: SideReport) -> [DeviceRow] {
    side.devices.filter {
        $0.device.timeUS > 0 && (side.side == .destination || $0.device.section == .iterable || $0.hasVMSD)
    }
}
