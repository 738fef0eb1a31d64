// SPDX-License-Identifier: MIT
/// A step of the downtime with what the report adds to it.
public struct StepRow: Sendable, Equatable {
    public var step: DowntimeStep
    /// Its phase in `SideReport.phases`: the one whose end checkpoint came after it (for the
    /// destination's `stream-wait`, the load phase); nil when it lies outside every phase.
    public var phase: Int?
    /// When it started, in µs from the side's origin (`SideReport.originUS`, as checkpoint
    /// offsets); nil when unknown: no stamp, or `stream-wait`'s line, whose stamp is not its end.
    public var offsetUS: Int64?
    /// Its time over its phase's duration; nil when that is unknown or 0.
    public var share: Double?
}

/// How much of a side's downtime is attributed to something with a name: a device's save or
/// load, a run-state change handler or a named step.
public struct NamedTime: Sendable, Equatable {
    /// The side's downtime (`SideReport.totalUS`): source src-downtime-start → src-downtime-end,
    /// destination first load's start → `*-vm-started`; nil when unknown.
    public var downtimeUS: Int64?
    /// Every device save (iterable and non-iterable) or load of the side, added up.
    public var devicesUS: UInt64
    /// Every step and handler of the side, added up (0 without any).
    public var stepsUS: UInt64
    /// Whether the input names handlers and steps (our QEMU series' trace event or
    /// `downtime-steps`); false: the figure is the devices' alone.
    public var stepsKnown: Bool

    public var namedUS: UInt64 { devicesUS &+ stepsUS }

    /// `downtimeUS - namedUS`, as it is: negative when the named times add up to more than the
    /// downtime (two clocks, or work that overlaps), never clamped.
    public var unnamedUS: Int64? { downtimeUS.map { $0 - Int64(clamping: namedUS) } }

    /// `namedUS / downtimeUS`, as it is (it can pass 1, see `unnamedUS`); nil when the
    /// downtime is unknown or not above 0.
    public var share: Double? {
        guard let downtimeUS, downtimeUS > 0 else { return nil }
        return Double(namedUS) / Double(downtimeUS)
    }
}

/// Places a side's steps in its phases and adds up what has a name.
enum Attribution {
    static func steps(_ log: SideLog, phases: [Phase], origin: Int64?) -> [StepRow] {
        // The destination's load phase (first load → loadvm-completed) comes before the phases
        // between checkpoints; steps before the first checkpoint fall in it.
        let hasLoad = log.side == .destination && phases.first?.from == "first-load-start"
        let pairs = hasLoad ? 1 : 0
        let checkpoints = log.checkpoints.count
        let fromReply = log.queryMigrate != nil
        return log.steps.map { step in
            let streamWait = log.side == .destination && step.name == KnownSteps.streamWait && step.kind == .work
            var phase: Int?
            if streamWait || step.checkpointsBefore == 0 {
                phase = hasLoad ? 0 : nil
            } else if step.checkpointsBefore < checkpoints {
                phase = pairs + step.checkpointsBefore - 1
            }
            var start: Int64?
            if fromReply {
                start = step.startUS
            } else if !streamWait, let end = step.timestampUS {
                start = end - Int64(clamping: step.timeUS)
            }
            var share: Double?
            if let phase, let d = phases[phase].durationUS, d > 0 { share = Double(step.timeUS) / Double(d) }
            return StepRow(step: step, phase: phase, offsetUS: start.flatMap { s in origin.map { s - $0 } },
                           share: share)
        }
    }

    static func named(_ log: SideLog, total: Int64?) -> NamedTime {
        var devices: UInt64 = 0
        log.lines.withUnsafeBufferPointer { lines in for line in lines { devices &+= line.timeUS } }
        var steps: UInt64 = 0
        for step in log.steps { steps &+= step.timeUS }
        let known = log.queryMigrate.map(\.namesSteps) ?? (!log.steps.isEmpty || log.droppedSteps > 0)
        return NamedTime(downtimeUS: total, devicesUS: devices, stepsUS: steps, stepsKnown: known)
    }
}
