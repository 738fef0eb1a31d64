// SPDX-License-Identifier: MIT
@testable import DevstateQMP
import DevstateModel
import Foundation
import Testing

@Suite struct QueryMigrateReportTests {
    func input(_ text: String, _ role: Side, schema: [String]? = nil, version: String? = nil) throws -> QueryMigrateInput {
        QueryMigrateInput(endpoint: role == .source ? "s" : "d", role: role, qemuVersion: version,
                          reply: try Fixtures.reply(text: text), schemaMembers: schema.map(Set.init))
    }

    /// Both saved replies of the full 0.2.0 series: a complete run of both sides.
    @Test func theFixtureRepliesGiveBothSides() throws {
        let (facts, source, destination, inputs) = QueryMigrateReport.sides(
            [try Fixtures.input("qmp/q35-source.json", .source), try Fixtures.input("qmp/q35-destination.json", .destination)])
        #expect(facts.map(\.outcome) == [.complete, .complete])
        #expect(facts.allSatisfy { $0.rendered && $0.series == .v020 && $0.seriesFrom == .members && $0.message == nil })
        #expect(facts[0].qemuTimes.downtimeMS == 6)
        #expect(!facts[1].qemuTimes.any)
        let s = try #require(source), d = try #require(destination)
        #expect(s.devices.count == 41 + (try Fixtures.reply("qmp/q35-source.json").iterableStateTimes?.count ?? -1))
        #expect(s.devices.first?.section == .iterable)
        #expect(s.deviceCount == s.devices.count)
        #expect(d.devices.count == 40)
        #expect(s.checkpoints.map(\.name) == KnownCheckpoints.source)
        #expect(s.checkpoints.allSatisfy { $0.line == 0 && $0.timestampUS != nil })
        #expect(s.reply == facts[0])
        #expect(d.reply == facts[1])
        #expect(!s.hasLines)
        #expect(s.completed == true)
        #expect(s.originUS == nil)
        #expect(d.originUS == 0)
        #expect(s.namesSteps == false)
        #expect(s.notes.isEmpty && d.notes.isEmpty)
        #expect(inputs.map(\.path) == ["qmp/q35-source.json", "qmp/q35-destination.json"])
        #expect(inputs.map(\.sources) == [1, 0])
        #expect(inputs.map(\.destinations) == [0, 1])
        #expect(inputs.map(\.queryMigrate) == facts)
        #expect(inputs.map(\.role) == ["source", "destination"])
    }

    @Test func aDestinationThatMigratedOutShowsNoDestinationPhases() throws {
        // Loads from its incoming migration, checkpoints from its later outgoing one.
        let text = """
            {"status": "completed",
             "device-load-times": [{"name": "ram", "instance-id": 0, "load-time": 30, "iterable": true},
                                   {"name": "cpu", "instance-id": 0, "load-time": 40}],
             "device-state-times": [{"name": "cpu", "instance-id": 0, "save-time": 12}],
             "iterable-state-times": [],
             "downtime-checkpoints": [{"name": "src-downtime-start", "time": 0}, {"name": "src-downtime-end", "time": 90}]}
            """
        let (log, facts) = QueryMigrateReport.side(try input(text, .destination, schema: series020))
        #expect(facts.outcome == .partial)
        #expect(facts.missing == [SeriesMember.downtimeCheckpoints])
        #expect(facts.message == "d (destination): PARTIAL report: the reply lacks part of what the series gives. "
            + "Missing: the downtime checkpoints, so the phases and the downtime (downtime-checkpoints). " + QueryMigrateReport.traceHint)
        let destination = try #require(log)
        #expect(destination.checkpoints.isEmpty)
        #expect(destination.devices.map(\.name) == ["ram", "cpu"])
        #expect(destination.devices.map(\.section) == [.iterable, .nonIterable])
        #expect(destination.notes == ["partial: downtime-checkpoints holds only the source's checkpoints (this process migrated out after loading), so the destination's phases and load time are unknown"])
        // As a source the same reply gives the source's saves, not the loads.
        let (asSource, sourceFacts) = QueryMigrateReport.side(try input(text, .source, schema: series020))
        #expect(sourceFacts.outcome == .complete)
        #expect(asSource?.devices.map(\.name) == ["cpu"])
        #expect(asSource?.checkpoints.map(\.timestampUS) == [0, 90])
    }

    @Test func mixedCheckpointsKeepTheSidesOwn() throws {
        let text = #"{"status": "completed", "device-load-times": [], "downtime-checkpoints": [{"name": "src-downtime-start", "time": 0}, "#
            + #"{"name": "dst-precopy-loadvm-completed", "time": 5}, {"name": "src-downtime-end", "time": 9}]}"#
        let (log, facts) = QueryMigrateReport.side(try input(text, .destination))
        #expect(facts.outcome == .complete)
        #expect(log?.checkpoints.map(\.name) == ["dst-precopy-loadvm-completed"])
        #expect(log?.notes == ["left out the other side's checkpoints: src-downtime-start, src-downtime-end"])
    }

    /// Series of library 0.3.0: what QEMU could not keep is counted and noted.
    @Test func entriesQEMUCouldNotKeepAreNoted() throws {
        for (dropped, note) in [(UInt64(3), "3 entries"), (1, "1 entry"), (0, nil)] {
            let text = """
                {"status": "completed", "downtime-entries-dropped": \(dropped),
                 "device-load-times": [{"name": "cpu", "instance-id": 0, "load-time": 40}],
                 "downtime-checkpoints": [{"name": "dst-precopy-loadvm-completed", "time": 45},
                                          {"name": "dst-precopy-bh-vm-started", "time": 60}]}
                """
            let (log, facts) = QueryMigrateReport.side(try input(text, .destination))
            #expect(facts.series == .v030)
            #expect(facts.entriesDropped == dropped)
            #expect(facts.outcome == .complete)
            #expect(log?.notes == note.map {
                ["incomplete: QEMU could not keep \($0) of this side's lists (downtime-entries-dropped: a list was full or memory ran out); its devices, checkpoints and shares lack them"]
            } ?? [])
        }
    }

    @Test func handlerFlagsAndStepsReachTheSide() throws {
        let text = """
            {"status": "completed", "iterable-state-times": [{"name": "ram", "instance-id": 0, "save-time": 100}],
             "device-state-times": [{"name": "timer", "instance-id": 0, "save-time": 15},
                                    {"name": "slirp", "instance-id": 0, "save-time": 19, "handler": true}],
             "downtime-checkpoints": [{"name": "src-downtime-start", "time": 0}, {"name": "src-vm-stopped", "time": 10},
                                      {"name": "src-iterable-saved", "time": 120}, {"name": "src-non-iterable-saved", "time": 160},
                                      {"name": "src-downtime-end", "time": 170}],
             "downtime-steps": [{"name": "vcpu-pause", "kind": "work", "start": 2, "time": 8},
                                {"name": "late", "kind": "work", "start": 160, "time": 20},
                                {"name": "cb", "kind": "main", "start": 121, "time": 3, "device": "/m/x", "device-type": "t"}]}
            """
        let (log, facts) = QueryMigrateReport.side(try input(text, .source))
        #expect(facts.outcome == .complete)
        let source = try #require(log)
        #expect(source.devices.map(\.name) == ["ram", "timer", "slirp"])
        #expect(source.devices.map(\.handler) == [false, false, true])
        // A step ends in the first phase whose end checkpoint is not before its end.
        #expect(source.steps.map(\.checkpointsBefore) == [1, 5, 3])
        #expect(source.steps.map(\.startUS) == [2, 160, 121])
        #expect(source.steps[2].device == "/m/x")
        #expect(source.namesSteps == true)
        // Without steps in the reply the schema tells whether QEMU names them.
        let plain = text.replacingOccurrences(of: #""downtime-steps""#, with: #""other""#)
        #expect(QueryMigrateReport.side(try input(plain, .source)).0?.namesSteps == false)
        #expect(QueryMigrateReport.side(try input(plain, .source, schema: series030 + [SeriesMember.downtimeSteps])).0?.namesSteps == true)
    }

    @Test func noSeriesSaysSoWithTheTraceLogWay() throws {
        let (log, facts) = QueryMigrateReport.side(try input(#"{"status": "completed", "downtime": 6, "total-time": 120}"#, .source,
                                                             schema: ["status", "downtime"], version: "10.0.2"))
        #expect(log == nil)
        #expect(facts.outcome == .noSeries)
        #expect(facts.series == .none)
        #expect(facts.seriesFrom == .schema)
        #expect(facts.qemuTimes == QEMUTimes(downtimeMS: 6, totalTimeMS: 120))
        #expect(!facts.rendered)
        #expect(facts.message == "s (source, QEMU 10.0.2): device-state-times is NOT present: this QEMU does not have our "
            + "device-state-times series (query-qmp-schema says: query-migrate has none of device-state-times, "
            + "iterable-state-times, device-load-times, downtime-checkpoints, downtime-entries-dropped), so it reports "
            + "no per-device downtime over QMP (migration status \"completed\"). With QEMU ≥ 8.2 use trace logs instead: "
            + "start both QEMUs with -trace vmstate_downtime_save -trace vmstate_downtime_load -trace "
            + "vmstate_downtime_checkpoint -msg timestamp=on -D LOG, then run devstate report SRC.log DST.log.")
        // A completed saved reply without members: no series either.
        #expect(QueryMigrateReport.side(try input(#"{"status": "completed"}"#, .destination)).1.outcome == .noSeries)
    }

    @Test func theSeriesWithoutACompletedMigrationIsNotCompleted() throws {
        let (log, facts) = QueryMigrateReport.side(try input(#"{"status": "active", "total-time": 1200}"#, .source, schema: series020))
        #expect(log == nil)
        #expect(facts.outcome == .notCompleted)
        #expect(facts.series == .v020)
        #expect(facts.message == "s (source): this QEMU has our series (0.2.0; query-qmp-schema says), but no completed "
            + "outgoing migration: query-migrate status is \"active\". The source's saves and phases appear once the "
            + "outgoing migration has status \"completed\"; ask again then.")
        let none = QueryMigrateReport.side(try input("{}", .destination, schema: series030)).1
        #expect(none.outcome == .notCompleted)
        #expect(none.status == nil)
        #expect(none.message == "d (destination): this QEMU has our series (0.3.0; query-qmp-schema says), but no completed "
            + "incoming migration: query-migrate status is none (no migration yet). The destination's loads and phases "
            + "appear once the incoming migration has status \"completed\"; ask again then.")
        // Completed, but an incoming migration asked as the source, and the other way round.
        let incoming = try Fixtures.reply("qmp/q35-destination.json")
        let asSource = QueryMigrateReport.side(QueryMigrateInput(endpoint: "s", role: .source, reply: incoming,
                                                                 schemaMembers: Set(series020))).1
        #expect(asSource.outcome == .notCompleted)
        #expect(asSource.message?.contains("status is \"completed\" and the reply has no device-state-times (it has "
            + "device-load-times: this QEMU's completed migration was an incoming one — is this the destination?). ") == true)
        let outgoing = try Fixtures.reply("qmp/q35-source.json")
        let asDestination = QueryMigrateReport.side(QueryMigrateInput(endpoint: "d", role: .destination, reply: outgoing)).1
        #expect(asDestination.outcome == .notCompleted)
        #expect(asDestination.message?.contains("(it has device-state-times: this QEMU's completed migration was an "
            + "outgoing one — is this the source?)") == true)
    }

    /// A saved reply without members and not completed cannot tell the series.
    @Test func aSavedReplyOfAnUnfinishedMigrationCannotTell() throws {
        let saved = QueryMigrateInput(endpoint: "r.json", role: .source, reply: try Fixtures.reply(text: #"{"return": {"status": "setup"}}"#),
                                      noSchemaReason: "a saved reply carries no schema")
        let facts = QueryMigrateReport.side(saved).1
        #expect(facts.outcome == .notCompleted)
        #expect(facts.series == .unknown)
        #expect(facts.seriesFrom == .members)
        #expect(facts.message == "r.json (source): no completed outgoing migration: status is \"setup\". Whether this QEMU "
            + "has our series cannot be told (judged from the reply's members, as a saved reply carries no schema, and the "
            + "series' members appear only once a migration has completed). Save the reply again after the migration "
            + "completes, or ask the QEMU itself with devstate query SOCKET.")
    }

    @Test func onlyTheOldSeriesGivesAPartialReportThatSaysWhatIsMissing() throws {
        let (log, facts) = QueryMigrateReport.side(try Fixtures.input("qmp/q35-source-v010.json", .source))
        #expect(facts.outcome == .partial)
        #expect(facts.series == .v010)
        #expect(facts.missing == ["iterable-state-times", "downtime-checkpoints", "device-load-times"])
        #expect(facts.rendered)
        #expect(facts.message == "qmp/q35-source-v010.json (source): PARTIAL report: this QEMU has only the 0.1.0 series "
            + "(judged from the reply's members, as a saved reply carries no schema: query-migrate has device-state-times but "
            + "not iterable-state-times, device-load-times, downtime-checkpoints), so the report holds the source's "
            + "non-iterable device saves only. Missing: iterable saves (iterable-state-times); the destination's loads "
            + "(device-load-times); the downtime checkpoints, so the phases and the downtime (downtime-checkpoints). "
            + QueryMigrateReport.traceHint)
        #expect(log?.devices.count == 41)
        #expect(log?.notes == [
            "partial: no iterable-state-times in query-migrate (0.1.0 series), so the iterable saves at switchover (ram, …) are missing",
            "partial: no downtime-checkpoints in query-migrate (0.1.0 series), so the phases, the downtime and shares of phase are unknown (shares are of summed device time)",
            "partial: the 0.1.0 series reports no destination loads (device-load-times)",
        ])
        // The destination of a 0.1.0 QEMU reports nothing: partial, without a side.
        let (none, dst) = QueryMigrateReport.side(try input(#"{"status": "completed"}"#, .destination, schema: series010))
        #expect(none == nil)
        #expect(dst.outcome == .partial)
        #expect(!dst.rendered)
        #expect(dst.missing == ["device-load-times", "downtime-checkpoints"])
        #expect(dst.message == "d (destination): this QEMU has only the 0.1.0 series (query-qmp-schema says: query-migrate "
            + "has device-state-times but not device-load-times), which reports nothing for the destination: its device "
            + "loads and load phases are missing from this report. " + QueryMigrateReport.traceHint)
        // Judged from members, a 0.1.0 reply for the destination is the same.
        let saved = QueryMigrateReport.side(try input(#"{"status": "completed", "device-state-times": []}"#, .destination)).1
        #expect(saved.outcome == .partial)
        #expect(saved.missing == ["device-load-times", "downtime-checkpoints"])
    }

    /// Without either side there is no run, but every input is summarized; a later input of a
    /// side replaces an earlier one.
    @Test func sidesSummarizeEveryInput() throws {
        let stock = try input(#"{"status": "completed"}"#, .source, schema: [])
        let (facts, source, destination, inputs) = QueryMigrateReport.sides([stock])
        #expect(source == nil)
        #expect(destination == nil)
        #expect(facts.map(\.outcome) == [.noSeries])
        #expect(inputs.map(\.sources) == [0])
        #expect(inputs.first?.queryMigrate?.outcome == .noSeries)
        let first = try Fixtures.input("qmp/q35-source.json", .source)
        var second = first
        second.endpoint = "again"
        let twice = QueryMigrateReport.sides([first, second])
        #expect(twice.source?.file == "again")
        #expect(twice.inputs.map(\.sources) == [1, 1])
    }
}
