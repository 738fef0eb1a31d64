// SPDX-License-Identifier: MIT
import FoundationEssentials

/// `query-qmp-schema`'s answer, read for the members of the type `query-migrate` returns (which
/// tell the series even before a migration has completed).
public struct MigrateSchema: Decodable, Sendable {
    public var queryMigrateMembers: Set<String>

    /// The return value of `query-qmp-schema` (an array) as JSON text.
    public static func queryMigrateMembers(fromSchemaJSON json: Data) throws(QueryMigrateError) -> Set<String> {
        let schema: MigrateSchema = try QueryMigrateError.decode(json, otherwise: "query-qmp-schema did not return an array")
        return schema.queryMigrateMembers
    }

    public init(from decoder: Decoder) throws {
        guard let entries = try? decoder.singleValueContainer().decode([SchemaEntry].self) else {
            throw QueryMigrateError("query-qmp-schema did not return an array")
        }
        var objects: [String: SchemaEntry] = [:]
        var returnType: String?
        for entry in entries {
            guard let name = entry.name else { continue }
            if name == "query-migrate", entry.metaType == "command" {
                returnType = entry.returnType
            } else if entry.metaType == "object" {
                objects[name] = entry
            }
        }
        guard let returnType else { throw QueryMigrateError("query-qmp-schema has no query-migrate command") }
        guard let members = objects[returnType]?.members else {
            throw QueryMigrateError("query-qmp-schema has no object type \(returnType) (what query-migrate returns)")
        }
        queryMigrateMembers = Set(members)
    }
}

/// An entry of the schema (or a member of an object type), as far as it is used. One of another
/// shape reads as one without a name, so a list of them never fails.
private struct SchemaEntry: Decodable {
    var name, metaType, returnType: String?
    /// The names of an object type's members; nil when `members` is not an array.
    var members: [String]?

    init(from decoder: Decoder) {
        let entry = try? decoder.container(keyedBy: JSONKey.self)
        name = entry?.string("name")
        metaType = entry?.string("meta-type")
        returnType = entry?.string("ret-type")
        members = (try? entry?.decode([SchemaEntry].self, forKey: "members"))?.compactMap(\.name)
    }
}
