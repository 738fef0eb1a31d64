// SPDX-License-Identifier: MIT
@testable import DevstateQMP
import DevstateModel
import Foundation
import Testing

@Suite struct MigrateSchemaTests {
    func members(_ text: String) throws -> Set<String> {
        try MigrateSchema.queryMigrateMembers(fromSchemaJSON: Data(text.utf8))
    }

    /// Which of the series a schema shows: the members of query-migrate's return type only.
    @Test func theReturnTypeOfQueryMigrateIsRead() throws {
        #expect(Series.from(members: try members(fakeSchema([], decoy: series020))) == .none)
        #expect(Series.from(members: try members(fakeSchema(series010, decoy: series020))) == .v010)
        #expect(Series.from(members: try members(fakeSchema(series020))) == .v020)
        #expect(Series.from(members: try members(fakeSchema(series030))) == .v030)
        #expect(try members(fakeSchema(series020)).isSuperset(of: ["status", "downtime"] + series020))
        #expect(!(try members(fakeSchema(series020)).contains("running")))
    }

    /// Entries of another shape are skipped, as QEMU never sends them.
    @Test func oddEntriesAreSkipped() throws {
        let text = #"[1, {"name": 2}, {"name": "query-migrate", "meta-type": "command", "ret-type": "9"}, "#
            + #"{"name": "9", "meta-type": "object", "members": [{"name": "status"}, 3, {"type": "int"}]}]"#
        #expect(try members(text) == ["status"])
    }

    @Test func faultsAreNamed() {
        let cases = [
            (#"{"a": 1}"#, "query-qmp-schema did not return an array"),
            ("not json", "query-qmp-schema did not return an array"),
            (#"[{"name": "query-status", "meta-type": "command", "ret-type": "1"}]"#, "query-qmp-schema has no query-migrate command"),
            (#"[{"name": "query-migrate", "meta-type": "command", "ret-type": "7"}]"#,
             "query-qmp-schema has no object type 7 (what query-migrate returns)"),
            (#"[{"name": "query-migrate", "meta-type": "command", "ret-type": "7"}, {"name": "7", "meta-type": "object"}]"#,
             "query-qmp-schema has no object type 7 (what query-migrate returns)"),
        ]
        for (text, message) in cases {
            let error = #expect(throws: QueryMigrateError.self, "\(text)") { try members(text) }
            #expect(error?.description == message)
        }
    }

    @Test func seriesFromMembers() {
        #expect(Series.from(members: []) == .none)
        #expect(Series.from(members: ["status", "device-state-times"]) == .v010)
        #expect(Series.from(members: ["device-load-times"]) == .v020)
        #expect(Series.from(members: ["downtime-entries-dropped"]) == .v030)
    }
}
