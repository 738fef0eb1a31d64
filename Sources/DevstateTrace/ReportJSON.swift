/// What one input log was and how reading it went.
public struct InputSummary: Sendable, Equatable {
    public var path: String
    /// "source", "destination" or "auto" (as given on the command line).
    public var role: String
    public var stats: ReadStats
    public var sources: Int = 0
    public var destinations: Int = 0
    /// Set for a `query-migrate` reply (a QMP socket or a saved reply) instead of a log.
    public var queryMigrate: QueryMigrateFacts?

    public init(path: String, role: String, stats: ReadStats = ReadStats()) {
        self.path = path
        self.role = role
        self.stats = stats
    }
}

/// The JSON document (`devstate report --format json`); the schema is documented in
/// Sources/devstate/README.md.
public enum ReportJSON {
    public static let schema = "devstate-report/1"

    public static func run(_ run: RunReport) -> JSONValue {
        var members: [(String, JSONValue)] = [("run", .int(Int64(run.index)))]
        if let s = run.source { members.append(("source", side(s))) }
        if let d = run.destination { members.append(("destination", side(d))) }
        return .object(members)
    }

    static func share(_ value: Double?) -> JSONValue {
        value.map { .fixed($0, 4) } ?? .null
    }

    static func optional(_ value: Int64?) -> JSONValue {
        value.map { .int($0) } ?? .null
    }

    public static func side(_ s: SideReport) -> JSONValue {
        // Line numbers exist only for a side read from a log.
        func line(_ n: Int) -> JSONValue { s.hasLines ? .int(Int64(n)) : .null }
        let devices: [JSONValue] = s.devices.map { row in
            .object([
                ("name", .string(row.name)),
                ("instance-id", .uint(UInt64(row.device.instanceID))),
                ("type", .string(row.type)),
                ("section", .string(row.device.section.rawValue)),
                ("time-us", .uint(row.device.timeUS)),
                ("share", share(row.share)),
                ("vmsd", .bool(row.hasVMSD)),
                ("in-device-state-times", .bool(row.inDeviceStateTimes)),
                ("line", line(row.device.line)),
            ])
        }
        let noVMSD: [JSONValue] = s.devices.filter { !$0.hasVMSD }.map { row in
            .object([
                ("name", .string(row.name)),
                ("instance-id", .uint(UInt64(row.device.instanceID))),
                ("section", .string(row.device.section.rawValue)),
                ("time-us", .uint(row.device.timeUS)),
            ])
        }
        let types: [JSONValue] = s.types.map {
            .object([("type", .string($0.type)), ("count", .int(Int64($0.count))),
                     ("time-us", .uint($0.timeUS)), ("share", share($0.share))])
        }
        let phases: [JSONValue] = s.phases.map {
            .object([("phase", .string($0.label)), ("from", .string($0.from)),
                     ("to", .string($0.to)), ("duration-us", optional($0.durationUS))])
        }
        let checkpoints: [JSONValue] = s.checkpoints.map {
            .object([("name", .string($0.name)), ("known", .bool($0.known)),
                     ("offset-us", optional($0.offsetUS)),
                     ("timestamp-us", optional($0.timestampUS)),
                     ("line", line($0.line))])
        }
        let r = s.recorder
        return .object([
            ("log", .string(s.log.file)),
            ("from", .string(s.hasLines ? "trace-log" : "query-migrate")),
            ("index-in-log", .int(Int64(s.log.index))),
            ("lines", s.hasLines ? .array([.int(Int64(s.log.firstLine)), .int(Int64(s.log.lastLine))]) : .null),
            ("device-state-times", .raw(s.deviceStateTimesJSON)),
            ("recorder", .object([
                ("run", .uint(r.run)), ("kept", .int(Int64(r.kept))),
                ("skipped-zero", r.skippedZero.map { .uint($0) } ?? .null), ("dropped", .uint(r.dropped)),
                ("complete", .bool(r.complete)), ("errors", .array(r.errors.map { .string($0) })),
            ])),
            ("downtime-us", optional(s.totalUS)),
            ("phases", .array(phases)),
            ("checkpoints", .array(checkpoints)),
            ("devices", .array(devices)),
            ("no-vmsd", .array(noVMSD)),
            ("by-type", .array(types)),
            ("share-basis", .object(Section.allCases.map {
                ($0.rawValue, .string((s.shareBasis[$0] ?? .sum).rawValue))
            })),
            ("notes", .array(s.notes.map { .string($0) })),
        ])
    }

    public static func input(_ i: InputSummary) -> JSONValue {
        if let q = i.queryMigrate { return queryMigrateInput(i, q) }
        return .object([
            ("log", .string(i.path)),
            ("role", .string(i.role)),
            ("bytes", .uint(i.stats.bytes)),
            ("lines", .int(Int64(i.stats.lines))),
            ("events", .int(Int64(i.stats.events))),
            ("source-runs", .int(Int64(i.sources))),
            ("destination-loads", .int(Int64(i.destinations))),
            ("malformed-lines", .int(Int64(i.stats.malformedLines))),
            ("malformed", .array(i.stats.malformed.map {
                .object([("line", .int(Int64($0.line))), ("reason", .string($0.reason)),
                         ("text", .string($0.text))])
            })),
            ("ended-without-newline", .bool(i.stats.endedWithoutNewline)),
        ])
    }

    /// A `query-migrate` input: the log-only members are null, and `query-migrate` says what
    /// the reply gave.
    static func queryMigrateInput(_ i: InputSummary, _ q: QueryMigrateFacts) -> JSONValue {
        .object([
            ("log", .string(i.path)),
            ("role", .string(i.role)),
            ("bytes", .null),
            ("lines", .null),
            ("events", .null),
            ("source-runs", .int(Int64(i.sources))),
            ("destination-loads", .int(Int64(i.destinations))),
            ("malformed-lines", .int(0)),
            ("malformed", .array([])),
            ("ended-without-newline", .null),
            ("query-migrate", .object([
                ("qemu", q.qemuVersion.map { .string($0) } ?? .null),
                ("status", q.status.map { .string($0) } ?? .null),
                ("series", .string(q.series.rawValue)),
                ("series-from", .string(q.seriesFrom.rawValue)),
                ("outcome", .string(q.outcome.rawValue)),
                ("missing", .array(q.missing.map { .string($0) })),
                ("message", q.message.map { .string($0) } ?? .null),
            ])),
        ])
    }
}
