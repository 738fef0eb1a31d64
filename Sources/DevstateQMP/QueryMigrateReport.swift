// SPDX-License-Identifier: MIT
import DevstateModel

/// One side's `query-migrate` reply as the report got it.
public struct QueryMigrateInput: Sendable {
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

/// `query-migrate` replies turned into the `SideLog`s the trace path produces, so that the
/// analysis and every output are one code path for both.
public enum QueryMigrateReport {
    /// The trace-log way, for messages.
    public static let traceHint = "With QEMU ≥ 8.2 use trace logs instead: start both QEMUs with "
        + "-trace vmstate_downtime_save -trace vmstate_downtime_load -trace vmstate_downtime_checkpoint "
        + "-msg timestamp=on -D LOG, then run devstate report SRC.log DST.log."

    /// One migration from its source and/or destination reply: what was concluded for each input
    /// (in order), the sides to analyse as run 1 (a later input of a side replaces an earlier
    /// one; no run without either), and the inputs' summaries for the report's end.
    public static func sides(_ inputs: [QueryMigrateInput])
        -> (facts: [QueryMigrateFacts], source: SideLog?, destination: SideLog?, inputs: [InputSummary]) {
        let judged = inputs.map(side)
        let logs = judged.compactMap(\.0)
        let summaries = judged.map { (_, facts) in
            var summary = InputSummary(path: facts.endpoint, role: facts.role.rawValue)
            summary.sources = facts.rendered && facts.role == .source ? 1 : 0
            summary.destinations = facts.rendered && facts.role == .destination ? 1 : 0
            summary.queryMigrate = facts
            return summary
        }
        return (judged.map(\.1), logs.last { $0.side == .source }, logs.last { $0.side == .destination }, summaries)
    }

    /// Decides what `input` gives and builds its side (nil when there is none).
    static func side(_ input: QueryMigrateInput) -> (SideLog?, QueryMigrateFacts) {
        let reply = input.reply
        let role = input.role
        let completed = reply.status == "completed"
        var series = Series.from(members: input.schemaMembers ?? reply.seriesMembers)
        if input.schemaMembers == nil, series == .none, !completed { series = .unknown }
        let primary = role == .source ? SeriesMember.deviceStateTimes : SeriesMember.deviceLoadTimes
        let whose = role == .source ? "outgoing" : "incoming"
        let who = "\(input.endpoint) (\(role.rawValue)\(input.qemuVersion.map { ", QEMU \($0)" } ?? ""))"
        let statusText = reply.status.map { "\"\($0)\"" } ?? "none (no migration yet)"
        let how = input.schemaMembers != nil ? "query-qmp-schema says"
            : "judged from the reply's members, as \(input.noSchemaReason ?? "there is no schema")"
        var facts = QueryMigrateFacts(endpoint: input.endpoint, role: role, qemuVersion: input.qemuVersion,
                                      status: reply.status, series: series,
                                      seriesFrom: input.schemaMembers != nil ? .schema : .members,
                                      outcome: .complete, rendered: false,
                                      qemuTimes: role == .source ? reply.qemuTimes : QEMUTimes(),
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
        // Judged from the reply's members, only 0.1.0 lacks device-load-times.
        guard input.schemaMembers?.contains(primary) ?? (series != .v010 || role == .source) else {
            // 0.1.0 on the destination: the series reports nothing there.
            facts.outcome = .partial
            facts.missing = [SeriesMember.deviceLoadTimes, SeriesMember.downtimeCheckpoints]
            facts.message = "\(who): this QEMU has only the 0.1.0 series (\(how): query-migrate has "
                + "device-state-times but not device-load-times), which reports nothing for the destination: "
                + "its device loads and load phases are missing from this report. " + traceHint
            return (nil, facts)
        }
        guard completed, reply.seriesMembers.contains(primary) else {
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
            facts.message = text + ". The \(role == .source ? "source's saves and phases" : "destination's loads and phases") "
                + "appear once the \(whose) migration has status \"completed\"; ask again then."
            return (nil, facts)
        }

        // A report. QEMU says which source entries a handler without a vmsd saved; on the
        // destination `DeviceKnowledge` tells, as from a log.
        var log = SideLog(side: role, file: input.endpoint, index: 1, startedAtCheckpoint: true)
        let otherPrefix = role == .source ? "dst-" : "src-"
        let allCheckpoints = reply.checkpoints ?? []
        let checkpoints = allCheckpoints.filter { !$0.name.hasPrefix(otherPrefix) }
        let onlyOthers = checkpoints.isEmpty && !allCheckpoints.isEmpty
        let noIterable = role == .source && reply.iterableStateTimes == nil
        let noCheckpoints = reply.checkpoints == nil || onlyOthers
        let partOf010 = series == .v010 && role == .source
        log.devices = role == .source ? (reply.iterableStateTimes ?? []) + (reply.deviceStateTimes ?? []) : reply.deviceLoadTimes ?? []
        log.deviceCount = log.devices.count
        log.checkpoints = checkpoints
        log.steps = (reply.steps ?? []).map { step in
            // Its phase is the first whose end checkpoint is not before the step ended (the
            // trace path counts the checkpoint lines before the step's line).
            var step = step
            let end = (step.startUS ?? 0) &+ Int64(clamping: step.timeUS)
            step.checkpointsBefore = checkpoints.firstIndex { ($0.timestampUS ?? 0) >= end } ?? checkpoints.count
            return step
        }
        let of010 = partOf010 ? " (0.1.0 series)" : ""
        if noIterable {
            log.notes.append("partial: no iterable-state-times in query-migrate\(of010), so the iterable saves at switchover (ram, …) are missing")
        }
        if onlyOthers {
            log.notes.append("partial: downtime-checkpoints holds only the source's checkpoints (this process migrated out after loading), so the destination's phases and load time are unknown")
        } else if noCheckpoints {
            log.notes.append("partial: no downtime-checkpoints in query-migrate\(of010), so the phases, the downtime and shares of phase are unknown (shares are of summed device time)")
        }
        if partOf010 {
            log.notes.append("partial: the 0.1.0 series reports no destination loads (device-load-times)")
        }
        if let dropped = reply.entriesDropped, dropped > 0 {
            log.notes.append("incomplete: QEMU could not keep \(dropped) entr\(dropped == 1 ? "y" : "ies") of this side's lists "
                + "(downtime-entries-dropped: a list was full or memory ran out); its devices, checkpoints and shares lack them")
        }
        if checkpoints.count < allCheckpoints.count, !checkpoints.isEmpty {
            let dropped = allCheckpoints.filter { $0.name.hasPrefix(otherPrefix) }.map(\.name)
            log.notes.append("left out the other side's checkpoints: " + dropped.joined(separator: ", "))
        }
        facts.missing = [(noIterable, SeriesMember.iterableStateTimes), (noCheckpoints, SeriesMember.downtimeCheckpoints),
                         (partOf010, SeriesMember.deviceLoadTimes)].filter(\.0).map(\.1)
        facts.outcome = facts.missing.isEmpty ? .complete : .partial
        facts.rendered = true
        if facts.outcome == .partial {
            let what = [(noIterable, "iterable saves (iterable-state-times)"),
                        (partOf010, "the destination's loads (device-load-times)"),
                        (noCheckpoints, "the downtime checkpoints, so the phases and the downtime (downtime-checkpoints)")]
            facts.message = "\(who): PARTIAL report: "
                + (partOf010 ? "this QEMU has only the 0.1.0 series (\(how): query-migrate has device-state-times but not \(SeriesMember.added020.joined(separator: ", "))), so the report holds the source's non-iterable device saves only. "
                             : "the reply lacks part of what the series gives. ")
                + "Missing: " + what.filter(\.0).map(\.1).joined(separator: "; ") + ". " + traceHint
        }
        log.reply = facts
        // The destination's checkpoint times count from the start of its first recorded load.
        log.originUS = role == .destination ? 0 : nil
        log.completed = completed
        log.namesSteps = reply.steps != nil || input.schemaMembers?.contains(SeriesMember.downtimeSteps) == true
        return (log, facts)
    }
}
