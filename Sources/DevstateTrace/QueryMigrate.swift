// SPDX-License-Identifier: MIT
import Foundation

// The report from `query-migrate` replies of a QEMU with our device-state-times series: the
// replies are turned into the same `SideLog`s the trace path produces and go through the same
// `Analyzer` and sinks, so phases, shares, notes, JSON and CSV are one code path.

/// The members of `query-migrate` that our QEMU series adds.
public enum SeriesMember {
    public static let deviceStateTimes = "device-state-times"
    public static let iterableStateTimes = "iterable-state-times"
    public static let deviceLoadTimes = "device-load-times"
    public static let downtimeCheckpoints = "downtime-checkpoints"
    /// How many entries QEMU could not keep in this side's lists (series of library 0.3.0).
    public static let downtimeEntriesDropped = "downtime-entries-dropped"
    /// Added by 0.2.0 of the series (0.1.0 has only `device-state-times`).
    public static let added020 = [iterableStateTimes, deviceLoadTimes, downtimeCheckpoints]
    /// Added by the series of library 0.3.0, which records only each side's downtime.
    public static let added030 = [downtimeEntriesDropped]
    public static let all = [deviceStateTimes] + added020 + added030
    /// The steps of the downtime besides device states (handlers and named work), from the
    /// series of library 0.3.0 on. Not in `all`: a completed reply has it only when a step was
    /// kept, so its absence tells neither the series nor a missing part; without it the report
    /// names the devices alone and says so.
    public static let downtimeSteps = "downtime-steps"
}

/// How much of our series a QEMU has.
public enum Series: String, Sendable, Equatable {
    /// None of the members: a stock QEMU (or another patch set).
    case none
    /// Only `device-state-times` (source, non-iterable saves).
    case v010 = "0.1.0"
    /// The whole downtime: iterable saves, loads and checkpoints too.
    case v020 = "0.2.0"
    /// Only each side's downtime in the lists, and the count of what they could not keep.
    case v030 = "0.3.0"
    /// A saved reply of a migration that has not completed: the members would not be there
    /// either way, and there is no schema to ask.
    case unknown

    /// The series a set of `query-migrate` member names shows.
    public static func from(members: Set<String>) -> Series {
        if SeriesMember.added030.contains(where: members.contains) { return .v030 }
        if SeriesMember.added020.contains(where: members.contains) { return .v020 }
        return members.contains(SeriesMember.deviceStateTimes) ? .v010 : .none
    }
}

/// How the series was told.
public enum SeriesEvidence: String, Sendable, Equatable {
    /// From `query-qmp-schema`: the members of `query-migrate`'s return type.
    case schema = "query-qmp-schema"
    /// From the members present in the reply (a saved reply, or the schema could not be read).
    case members
}

/// What a `query-migrate` reply gave for one side.
public enum QueryOutcome: String, Sendable, Equatable, Comparable {
    /// Everything the series gives for this side.
    case complete
    /// A report, but some of what the full series gives is missing (`QueryMigrateFacts.missing`).
    case partial
    /// The series is there (or cannot be told) but this side has no completed migration.
    case notCompleted = "not-completed"
    /// The QEMU does not have the series.
    case noSeries = "no-series"

    private var rank: Int {
        switch self {
        case .complete: 0
        case .partial: 1
        case .notCompleted: 2
        case .noSeries: 3
        }
    }

    public static func < (a: QueryOutcome, b: QueryOutcome) -> Bool { a.rank < b.rank }
}

/// One side's `query-migrate` reply as the report got it.
public struct QueryMigrateInput {
    /// The QMP socket or the saved reply's file, as given.
    public var endpoint: String
    public var role: Side
    public var qemuVersion: String?
    public var reply: MigrateReply
    /// The members of `query-migrate`'s return type from `query-qmp-schema`; nil without a schema.
    public var schemaMembers: Set<String>?
    /// Why there is no schema ("a saved reply carries no schema", "query-qmp-schema failed: …").
    public var noSchemaReason: String?

    public init(endpoint: String, role: Side, qemuVersion: String? = nil, reply: MigrateReply,
                schemaMembers: Set<String>? = nil, noSchemaReason: String? = nil) {
        self.endpoint = endpoint
        self.role = role
        self.qemuVersion = qemuVersion
        self.reply = reply
        self.schemaMembers = schemaMembers
        self.noSchemaReason = noSchemaReason
    }
}

/// What the report concluded about one `query-migrate` input.
public struct QueryMigrateFacts: Sendable, Equatable {
    public var endpoint: String
    public var role: Side
    public var qemuVersion: String?
    /// `status` of the reply; nil when the reply has none (no migration yet).
    public var status: String?
    public var series: Series
    public var seriesFrom: SeriesEvidence
    public var outcome: QueryOutcome
    /// Members this side would have with the full series but the reply lacks, e.g.
    /// `iterable-state-times`; for the destination, `downtime-checkpoints` when the reply's
    /// checkpoints are all the source's.
    public var missing: [String]
    /// A paragraph for every outcome but `complete`.
    public var message: String?
    /// Whether the side is in the report.
    public var rendered: Bool
    /// QEMU's own figures in `query-migrate` (ms; the source's, stock QEMU has them too):
    /// `downtime`, `setup-time`, `total-time`. Nil when absent.
    public var qemuTimes: MigrateReply.QEMUTimes = .init()
    /// `downtime-entries-dropped`: entries QEMU could not keep in this side's lists (a list
    /// full, memory exhausted); nil when the reply has no such member (series before 0.3.0).
    public var entriesDropped: UInt64?
}

/// What the analyzer needs to know about a side built from a `query-migrate` reply.
public struct QueryMigrateSide: Sendable, Equatable {
    public var facts: QueryMigrateFacts
    /// Per device: whether QEMU marked it `"handler": true` (saved without a vmsd). Set for the
    /// source, where QEMU says which entries it recorded and how; nil for the destination, whose
    /// vmsd facts come from `DeviceKnowledge` as on the trace path.
    public var handler: [Bool]?
    /// The side's origin on the checkpoints' clock: the destination's checkpoint times count
    /// from the start of its first recorded load, so 0. Nil: derived as on the trace path.
    public var originUS: Int64?
    /// Added to the side's notes.
    public var notes: [String]
    /// Whether this QEMU names the steps of the downtime: the reply has `downtime-steps`, or
    /// `query-qmp-schema` lists it. False: the named share is the devices' alone.
    public var namesSteps: Bool = false
}

public struct QueryMigrateError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A `query-migrate` return value, read into what the report uses.
public struct MigrateReply: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var name: String
        public var instanceID: UInt32
        public var timeUS: UInt64
        /// `"handler": true` (device-state-times).
        public var handler: Bool
        /// `"iterable": true` (device-load-times).
        public var iterable: Bool

        public init(name: String, instanceID: UInt32, timeUS: UInt64, handler: Bool = false, iterable: Bool = false) {
            self.name = name
            self.instanceID = instanceID
            self.timeUS = timeUS
            self.handler = handler
            self.iterable = iterable
        }
    }

    public struct CheckpointTime: Sendable, Equatable {
        public var name: String
        public var timeUS: Int64
    }

    /// What stock QEMU reports for an outgoing migration, in ms.
    public struct QEMUTimes: Sendable, Equatable {
        public var downtimeMS: UInt64?
        public var setupTimeMS: UInt64?
        public var totalTimeMS: UInt64?
        public init(downtimeMS: UInt64? = nil, setupTimeMS: UInt64? = nil, totalTimeMS: UInt64? = nil) {
            self.downtimeMS = downtimeMS
            self.setupTimeMS = setupTimeMS
            self.totalTimeMS = totalTimeMS
        }
        /// Whether the reply has any of them: only an outgoing migration's reply does.
        public var any: Bool { downtimeMS != nil || setupTimeMS != nil || totalTimeMS != nil }
        public var downtimeUS: UInt64? { downtimeMS.map { $0 * 1000 } }
    }

    public var status: String?
    public var qemuTimes = QEMUTimes()
    public var deviceStateTimes: [Entry]?
    public var iterableStateTimes: [Entry]?
    public var deviceLoadTimes: [Entry]?
    public var checkpoints: [CheckpointTime]?
    /// `downtime-entries-dropped`.
    public var entriesDropped: UInt64?
    /// `downtime-steps`, in the reply's order (`startUS` set, no line numbers).
    public var steps: [DowntimeStep]?
    /// The series' member names present in the reply.
    public var seriesMembers: Set<String>

    /// `reply` is the `return` object of `query-migrate`, or a whole `{"return": {…}}` reply.
    public init(_ reply: Any) throws(QueryMigrateError) {
        guard var object = reply as? [String: Any] else {
            throw QueryMigrateError("query-migrate reply is not a JSON object")
        }
        if let error = object["error"] as? [String: Any] {
            throw QueryMigrateError("the reply is a QMP error: \(error["desc"] as? String ?? "?")")
        }
        if let inner = object["return"] {
            guard let inner = inner as? [String: Any] else {
                throw QueryMigrateError("query-migrate \"return\" is not a JSON object")
            }
            object = inner
        }
        if let s = object["status"] {
            guard let s = s as? String else { throw QueryMigrateError("query-migrate \"status\" is not a string") }
            status = s
        }
        seriesMembers = Set(SeriesMember.all.filter { object[$0] != nil })
        qemuTimes = QEMUTimes(downtimeMS: Self.unsigned(object["downtime"]),
                              setupTimeMS: Self.unsigned(object["setup-time"]),
                              totalTimeMS: Self.unsigned(object["total-time"]))
        deviceStateTimes = try Self.entries(object, SeriesMember.deviceStateTimes, time: "save-time")
        iterableStateTimes = try Self.entries(object, SeriesMember.iterableStateTimes, time: "save-time")
        deviceLoadTimes = try Self.entries(object, SeriesMember.deviceLoadTimes, time: "load-time")
        if let raw = object[SeriesMember.downtimeEntriesDropped] {
            guard let dropped = Self.unsigned(raw) else {
                throw QueryMigrateError("\(SeriesMember.downtimeEntriesDropped) is not an integer ≥ 0")
            }
            entriesDropped = dropped
        }
        if let raw = object[SeriesMember.downtimeCheckpoints] {
            guard let array = raw as? [Any] else {
                throw QueryMigrateError("\(SeriesMember.downtimeCheckpoints) is not an array")
            }
            checkpoints = try array.enumerated().map { (i, element) throws(QueryMigrateError) in
                guard let e = element as? [String: Any], let name = e["name"] as? String, !name.isEmpty,
                      let time = Self.signed(e["time"]) else {
                    throw QueryMigrateError("\(SeriesMember.downtimeCheckpoints)[\(i)] needs a name and an integer time")
                }
                return CheckpointTime(name: name, timeUS: time)
            }
        }
        if let raw = object[SeriesMember.downtimeSteps] { steps = try Self.steps(raw) }
    }

    /// `downtime-steps`: `{name, device?, device-type?, kind, start, time}` each.
    private static func steps(_ raw: Any) throws(QueryMigrateError) -> [DowntimeStep] {
        let member = SeriesMember.downtimeSteps
        guard let array = raw as? [Any] else { throw QueryMigrateError("\(member) is not an array") }
        var result: [DowntimeStep] = []
        result.reserveCapacity(array.count)
        for (i, element) in array.enumerated() {
            guard let e = element as? [String: Any], let name = e["name"] as? String, !name.isEmpty else {
                throw QueryMigrateError("\(member)[\(i)] has no name")
            }
            guard let kind = (e["kind"] as? String).flatMap(DowntimeStepKind.init(rawValue:)) else {
                throw QueryMigrateError("\(member)[\(i)] (\(name)) has no kind work, prepare or main")
            }
            // `start` is a uint64 in QAPI; the checkpoints' clock is signed.
            guard let start = unsigned(e["start"]), start <= UInt64(Int64.max), let time = unsigned(e["time"]) else {
                throw QueryMigrateError("\(member)[\(i)] (\(name)) needs a start and a time, integers ≥ 0")
            }
            func text(_ key: String) throws(QueryMigrateError) -> String {
                guard let v = e[key] else { return "" }
                guard let s = v as? String else { throw QueryMigrateError("\(member)[\(i)] (\(name)): \(key) is not a string") }
                return s
            }
            result.append(DowntimeStep(name: name, device: try text("device"), type: try text("device-type"),
                                       kind: kind, timeUS: time, startUS: Int64(start)))
        }
        return result
    }

    /// Whether the reply is of an outgoing migration (this QEMU was the source): it has the
    /// source's members, or QEMU's own times, which only an outgoing migration reports.
    public var isOutgoing: Bool {
        deviceStateTimes != nil || iterableStateTimes != nil || qemuTimes.any
    }

    private static func entries(_ object: [String: Any], _ member: String,
                                time key: String) throws(QueryMigrateError) -> [Entry]? {
        guard let raw = object[member] else { return nil }
        guard let array = raw as? [Any] else { throw QueryMigrateError("\(member) is not an array") }
        var result: [Entry] = []
        result.reserveCapacity(array.count)
        for (i, element) in array.enumerated() {
            guard let e = element as? [String: Any], let name = e["name"] as? String else {
                throw QueryMigrateError("\(member)[\(i)] has no name")
            }
            guard let instance = unsigned(e["instance-id"]), instance <= UInt64(UInt32.max) else {
                throw QueryMigrateError("\(member)[\(i)] (\(name)) has no instance-id from 0 to \(UInt32.max)")
            }
            guard let time = unsigned(e[key]) else {
                throw QueryMigrateError("\(member)[\(i)] (\(name)) has no \(key) ≥ 0")
            }
            func flag(_ k: String) throws(QueryMigrateError) -> Bool {
                guard let v = e[k] else { return false }
                guard let b = boolean(v) else { throw QueryMigrateError("\(member)[\(i)] (\(name)): \(k) is not a boolean") }
                return b
            }
            result.append(Entry(name: name, instanceID: UInt32(instance), timeUS: time,
                                handler: try flag("handler"), iterable: try flag("iterable")))
        }
        return result
    }

    /// JSON true/false as Foundation parses it (never a number).
    static func boolean(_ value: Any) -> Bool? {
        if let n = value as? NSNumber, isBoolean(n) { return n.boolValue }
        return nil
    }

    /// Foundation gives JSON true/false as an NSNumber of type `c` (and numbers as `i`, `q`,
    /// `Q` or `d`); `value is Bool` would also hold for the numbers 0 and 1.
    private static func isBoolean(_ n: NSNumber) -> Bool {
        String(cString: n.objCType) == "c"
    }

    /// A JSON integer ≥ 0 (not a boolean, not a fraction).
    static func unsigned(_ value: Any?) -> UInt64? {
        guard let n = value as? NSNumber, !isBoolean(n) else { return nil }
        switch String(cString: n.objCType) {
        case "Q": return n.uint64Value  // above Int64.max
        case "d", "f":
            let d = n.doubleValue
            guard d >= 0, d.rounded() == d, d < 9.0e18 else { return nil }
            return UInt64(d)
        default:
            let v = n.int64Value
            return v >= 0 ? UInt64(v) : nil
        }
    }

    static func signed(_ value: Any?) -> Int64? {
        guard let n = value as? NSNumber, !isBoolean(n) else { return nil }
        switch String(cString: n.objCType) {
        case "Q": return nil  // above Int64.max
        case "d", "f":
            let d = n.doubleValue
            guard d.rounded() == d, abs(d) < 9.0e18 else { return nil }
            return Int64(d)
        default:
            return n.int64Value
        }
    }
}

/// `query-qmp-schema`: the members of the type `query-migrate` returns.
public enum MigrateSchema {
    public static func queryMigrateMembers(_ schema: Any) throws(QueryMigrateError) -> Set<String> {
        guard let entries = schema as? [Any] else {
            throw QueryMigrateError("query-qmp-schema did not return an array")
        }
        var byName: [String: [String: Any]] = [:]
        var returnType: String?
        for case let entry as [String: Any] in entries {
            guard let name = entry["name"] as? String else { continue }
            if name == "query-migrate", entry["meta-type"] as? String == "command" {
                returnType = entry["ret-type"] as? String
            } else if entry["meta-type"] as? String == "object" {
                byName[name] = entry
            }
        }
        guard let returnType else {
            throw QueryMigrateError("query-qmp-schema has no query-migrate command")
        }
        guard let object = byName[returnType], let members = object["members"] as? [Any] else {
            throw QueryMigrateError("query-qmp-schema has no object type \(returnType) (what query-migrate returns)")
        }
        return Set(members.compactMap { ($0 as? [String: Any])?["name"] as? String })
    }
}

public enum QueryMigrateReport {
    /// The trace-log way, for messages.
    public static let traceHint = "With QEMU ≥ 8.2 use trace logs instead: start both QEMUs with "
        + "-trace vmstate_downtime_save -trace vmstate_downtime_load -trace vmstate_downtime_checkpoint "
        + "-msg timestamp=on -D LOG, then run devstate report SRC.log DST.log."

    /// Decides what `input` gives and builds its side for the analyzer (nil when there is none).
    public static func side(_ input: QueryMigrateInput) -> (SideLog?, QueryMigrateFacts) {
        let reply = input.reply
        let role = input.role
        let completed = reply.status == "completed"
        let evidence: SeriesEvidence = input.schemaMembers == nil ? .members : .schema
        // The series members this QEMU has.
        let known: Set<String>
        var series: Series
        if let schema = input.schemaMembers {
            known = schema.intersection(SeriesMember.all)
            series = Series.from(members: known)
        } else {
            series = Series.from(members: reply.seriesMembers)
            switch series {
            case .v030: known = Set(SeriesMember.all)
            case .v020: known = Set(SeriesMember.all).subtracting(SeriesMember.added030)
            case .v010: known = [SeriesMember.deviceStateTimes]
            case .none, .unknown: known = []
            }
            if series == .none && !completed { series = .unknown }
        }
        let primary = role == .source ? SeriesMember.deviceStateTimes : SeriesMember.deviceLoadTimes
        let whose = role == .source ? "outgoing" : "incoming"
        let who = "\(input.endpoint) (\(role.rawValue)\(input.qemuVersion.map { ", QEMU \($0)" } ?? ""))"
        let statusText = reply.status.map { "\"\($0)\"" } ?? "none (no migration yet)"
        let how: String
        switch evidence {
        case .schema: how = "query-qmp-schema says"
        case .members: how = "judged from the reply's members, as \(input.noSchemaReason ?? "there is no schema")"
        }
        var facts = QueryMigrateFacts(endpoint: input.endpoint, role: role, qemuVersion: input.qemuVersion,
                                      status: reply.status, series: series, seriesFrom: evidence,
                                      outcome: .complete, missing: [], message: nil, rendered: false,
                                      qemuTimes: role == .source ? reply.qemuTimes : .init(),
                                      entriesDropped: reply.entriesDropped)

        switch series {
        case .none:
            facts.outcome = .noSeries
            facts.message = "\(who): device-state-times is NOT present: this QEMU does not have our "
                + "device-state-times series (\(how): query-migrate has none of \(SeriesMember.all.joined(separator: ", "))), "
                + "so it reports no per-device downtime over QMP (migration status \(statusText)). " + traceHint
            return (nil, facts)
        case .unknown:
            facts.outcome = .notCompleted
            facts.message = "\(who): no completed \(whose) migration: status is \(statusText). Whether this "
                + "QEMU has our series cannot be told (\(how), and the series' members appear only once a "
                + "migration has completed). Save the reply again after the migration completes, or ask the "
                + "QEMU itself with devstate query SOCKET."
            return (nil, facts)
        case .v010, .v020, .v030:
            break
        }
        if !known.contains(primary) {
            // 0.1.0 on the destination: the series reports nothing there.
            facts.outcome = .partial
            facts.missing = [SeriesMember.deviceLoadTimes, SeriesMember.downtimeCheckpoints]
            facts.message = "\(who): this QEMU has only the 0.1.0 series (\(how): query-migrate has "
                + "device-state-times but not device-load-times), which reports nothing for the destination: "
                + "its device loads and load phases are missing from this report. " + traceHint
            return (nil, facts)
        }
        let hasPrimary = role == .source ? reply.deviceStateTimes != nil : reply.deviceLoadTimes != nil
        guard completed, hasPrimary else {
            facts.outcome = .notCompleted
            var text = "\(who): this QEMU has our series (\(series.rawValue); \(how)), but no completed "
                + "\(whose) migration: query-migrate status is \(statusText)"
            if completed {
                text += " and the reply has no \(primary)"
                if role == .source, reply.deviceLoadTimes != nil {
                    text += " (it has device-load-times: this QEMU's completed migration was an incoming one — is this the destination?)"
                } else if role == .destination, reply.deviceStateTimes != nil {
                    text += " (it has device-state-times: this QEMU's completed migration was an outgoing one — is this the source?)"
                }
            }
            text += ". The \(role == .source ? "source's saves and phases" : "destination's loads and phases") "
                + "appear once the \(whose) migration has status \"completed\"; ask again then."
            facts.message = text
            return (nil, facts)
        }

        // A report: build the side.
        var log = SideLog(side: role, file: input.endpoint, index: 1, startedAtCheckpoint: true)
        var handler: [Bool] = []
        var notes: [String] = []
        let otherPrefix = role == .source ? "dst-" : "src-"
        let allCheckpoints = reply.checkpoints ?? []
        let checkpoints = allCheckpoints.filter { !$0.name.hasPrefix(otherPrefix) }
        var missing: [String] = []
        if role == .source {
            for e in reply.iterableStateTimes ?? [] {
                log.append(DeviceTime(idstr: Array(e.name.utf8), instanceID: e.instanceID,
                                              section: .iterable, timeUS: e.timeUS, line: 0))
                handler.append(false)
            }
            for e in reply.deviceStateTimes ?? [] {
                log.append(DeviceTime(idstr: Array(e.name.utf8), instanceID: e.instanceID,
                                              section: .nonIterable, timeUS: e.timeUS, line: 0))
                handler.append(e.handler)
            }
            if reply.iterableStateTimes == nil { missing.append(SeriesMember.iterableStateTimes) }
        } else {
            for e in reply.deviceLoadTimes ?? [] {
                log.append(DeviceTime(idstr: Array(e.name.utf8), instanceID: e.instanceID,
                                              section: e.iterable ? .iterable : .nonIterable,
                                              timeUS: e.timeUS, line: 0))
            }
        }
        if reply.checkpoints == nil || (checkpoints.isEmpty && !allCheckpoints.isEmpty) {
            missing.append(SeriesMember.downtimeCheckpoints)
        }
        log.deviceCount = log.lines.count
        log.checkpoints = checkpoints.map { Checkpoint(name: $0.name, timestampUS: $0.timeUS, line: 0) }
        log.steps = (reply.steps ?? []).map { step in
            // Its phase is the first whose end checkpoint is not before the step ended (the
            // trace path counts the checkpoint lines before the step's line).
            var step = step
            let end = (step.startUS ?? 0) &+ Int64(clamping: step.timeUS)
            step.checkpointsBefore = checkpoints.firstIndex { $0.timeUS >= end } ?? checkpoints.count
            return step
        }

        let partOf010 = series == .v010 && role == .source
        for m in missing {
            switch m {
            case SeriesMember.iterableStateTimes:
                notes.append("partial: no iterable-state-times in query-migrate\(partOf010 ? " (0.1.0 series)" : ""), so the iterable saves at switchover (ram, …) are missing")
            default:
                if checkpoints.isEmpty, !allCheckpoints.isEmpty {
                    notes.append("partial: downtime-checkpoints holds only the source's checkpoints (this process migrated out after loading), so the destination's phases and load time are unknown")
                } else {
                    notes.append("partial: no downtime-checkpoints in query-migrate\(partOf010 ? " (0.1.0 series)" : ""), so the phases, the downtime and shares of phase are unknown (shares are of summed device time)")
                }
            }
        }
        if partOf010 {
            notes.append("partial: the 0.1.0 series reports no destination loads (device-load-times)")
        }
        if let dropped = reply.entriesDropped, dropped > 0 {
            notes.append("incomplete: QEMU could not keep \(dropped) entr\(dropped == 1 ? "y" : "ies") of this side's lists "
                + "(downtime-entries-dropped: a list was full or memory ran out); its devices, checkpoints and shares lack them")
        }
        if !allCheckpoints.isEmpty, checkpoints.count < allCheckpoints.count, !checkpoints.isEmpty {
            let dropped = allCheckpoints.filter { $0.name.hasPrefix(otherPrefix) }.map(\.name)
            notes.append("left out the other side's checkpoints: " + dropped.joined(separator: ", "))
        }
        facts.missing = missing + (partOf010 ? [SeriesMember.deviceLoadTimes] : [])
        facts.outcome = facts.missing.isEmpty ? .complete : .partial
        facts.rendered = true
        if facts.outcome == .partial {
            var what: [String] = []
            if missing.contains(SeriesMember.iterableStateTimes) { what.append("iterable saves (iterable-state-times)") }
            if partOf010 { what.append("the destination's loads (device-load-times)") }
            if missing.contains(SeriesMember.downtimeCheckpoints) {
                what.append("the downtime checkpoints, so the phases and the downtime (downtime-checkpoints)")
            }
            facts.message = "\(who): PARTIAL report: "
                + (partOf010 ? "this QEMU has only the 0.1.0 series (\(how): query-migrate has device-state-times but not \(SeriesMember.added020.joined(separator: ", "))), so the report holds the source's non-iterable device saves only. "
                             : "the reply lacks part of what the series gives. ")
                + "Missing: " + what.joined(separator: "; ") + ". " + traceHint
        }
        log.queryMigrate = QueryMigrateSide(facts: facts, handler: role == .source ? handler : nil,
                                            originUS: role == .destination ? 0 : nil, notes: notes,
                                            namesSteps: reply.steps != nil
                                                || input.schemaMembers?.contains(SeriesMember.downtimeSteps) == true)
        return (log, facts)
    }

    /// Renders one migration from its source and/or destination reply into `sink` (run 1 when
    /// any side has a report, then the inputs). Returns what was concluded for each input.
    @discardableResult
    public static func render(_ inputs: [QueryMigrateInput], analyzer: Analyzer = Analyzer(),
                              sink: ReportSink) -> [QueryMigrateFacts] {
        sink.begin()
        var source: SideLog?
        var destination: SideLog?
        var all: [QueryMigrateFacts] = []
        for input in inputs {
            let (log, facts) = side(input)
            all.append(facts)
            if let log {
                if log.side == .source { source = log } else { destination = log }
            }
        }
        if source != nil || destination != nil {
            sink.run(RunReport(index: 1, source: source.map(analyzer.analyze),
                               destination: destination.map(analyzer.analyze)))
        }
        sink.end(inputs: all.map { facts in
            var summary = InputSummary(path: facts.endpoint, role: facts.role.rawValue)
            if facts.rendered {
                if facts.role == .source { summary.sources = 1 } else { summary.destinations = 1 }
            }
            summary.queryMigrate = facts
            return summary
        })
        return all
    }
}
