// SPDX-License-Identifier: MIT
@testable import DevstateQMP
import DevstateModel
import Foundation
import XCTest

final class MigrateSchemaTests: XCTestCase {
    func members(_ text: String) throws -> Set<String> {
        try MigrateSchema.queryMigrateMembers(fromSchemaJSON: Data(text.utf8))
    }

    /// Which of the series a schema shows: the members of query-migrate's return type only.
    func testTheReturnTypeOfQueryMigrateIsRead() throws {
        XCTAssertEqual(Series.from(members: try members(fakeSchema([], decoy: series020))), .none)
        XCTAssertEqual(Series.from(members: try members(fakeSchema(series010, decoy: series020))), .v010)
        XCTAssertEqual(Series.from(members: try members(fakeSchema(series020))), .v020)
        XCTAssertEqual(Series.from(members: try members(fakeSchema(series030))), .v030)
        XCTAssertTrue(try members(fakeSchema(series020)).isSuperset(of: ["status", "downtime"] + series020))
        XCTAssertFalse(try members(fakeSchema(series020)).contains("running"))
    }

    /// Entries of another shape are skipped, as QEMU never sends them.
    func testOddEntriesAreSkipped() throws {
        let text = #"[1, {"name": 2}, {"name": "query-migrate", "meta-type": "command", "ret-type": "9"}, "#
            + #"{"name": "9", "meta-type": "object", "members": [{"name": "status"}, 3, {"type": "int"}]}]"#
        XCTAssertEqual(try members(text), ["status"])
    }

    func testFaultsAreNamed() {
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
            XCTAssertThrowsError(try members(text), text) { error in
                XCTAssertEqual((error as? QueryMigrateError)?.description, message)
            }
        }
    }

    func testSeriesFromMembers() {
        XCTAssertEqual(Series.from(members: []), .none)
        XCTAssertEqual(Series.from(members: ["status", "device-state-times"]), .v010)
        XCTAssertEqual(Series.from(members: ["device-load-times"]), .v020)
        XCTAssertEqual(Series.from(members: ["downtime-entries-dropped"]), .v030)
    }
}
