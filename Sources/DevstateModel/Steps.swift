// SPDX-License-Identifier: MIT
/// What a step of the downtime is (`kind=` of `vmstate_downtime_step`, `kind` of
/// `query-migrate`'s `downtime-steps`; QAPI's `DowntimeStepKind`).
public enum DowntimeStepKind: String, Sendable, Equatable, CaseIterable {
    /// A named piece of work of the migration or the block layer (`vcpu-pause`, `block-flush`, …).
    case work
    /// A run-state change handler's prepare callback.
    case prepare
    /// A run-state change handler's main callback.
    case main
}

/// One step of a side's downtime that is not a device's state, as our QEMU series names it: a
/// run-state change handler's call or a named piece of work.
public struct DowntimeStep: Sendable, Equatable {
    /// The work's name, or the handler's C callback as registered (not unique: `device` tells
    /// handlers that share one apart).
    public var name: String
    /// A qdev handler's QOM path, or a block step's drive or node name; "" when none.
    public var device: String
    /// The device's QOM type or the block node's driver; "" when none.
    public var type: String
    public var kind: DowntimeStepKind
    /// Microseconds the step took (0 included).
    public var timeUS: UInt64
    /// A log's stamp in µs since the epoch, when the step ended (`stream-wait` excepted, see
    /// `KnownSteps.streamWait`); nil without one and from `query-migrate`.
    public var timestampUS: Int64?
    /// `query-migrate`'s `start`, on the clock of the side's checkpoint times; nil from a log.
    public var startUS: Int64?
    /// 1-based line number in its log (0 from `query-migrate`).
    public var line: Int
    /// How many of its side's checkpoints came before the step ended, which places it in a
    /// phase; set when the step joins its side.
    public var checkpointsBefore: Int

    public init(name: String, device: String = "", type: String = "", kind: DowntimeStepKind,
                timeUS: UInt64, timestampUS: Int64? = nil, startUS: Int64? = nil, line: Int = 0,
                checkpointsBefore: Int = 0) {
        self.name = name
        self.device = device
        self.type = type
        self.kind = kind
        self.timeUS = timeUS
        self.timestampUS = timestampUS
        self.startUS = startUS
        self.line = line
        self.checkpointsBefore = checkpointsBefore
    }
}

/// The names of the work steps our QEMU series traces, per side (handlers are named by their
/// callbacks, so only work steps have a fixed list).
public enum KnownSteps {
    public static let source: Set<String> = [
        "clock-stop", "vcpu-pause", "stop-event", "block-drain-all", "block-flush", "block-inactivate",
        "stream-flush", "return-path-close", "completion-lock",
    ]
    public static let destination: Set<String> = [
        "announce", "multifd-recv-shutdown", "block-activate", "resume-event", "vcpu-resume", streamWait,
    ]
    /// The destination's waits for the source's next section during its downtime, summed. QEMU
    /// writes its line when the destination's downtime ends, so the line's stamp is not when the
    /// waiting ended: it belongs to the load phase, wherever its line is.
    public static let streamWait = "stream-wait"

    /// The side a work step of this name belongs to; nil for a handler or an unknown name.
    public static func side(of step: DowntimeStep) -> Side? {
        guard step.kind == .work else { return nil }
        if source.contains(step.name) { return .source }
        if destination.contains(step.name) { return .destination }
        return nil
    }
}
