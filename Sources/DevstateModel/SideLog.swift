// SPDX-License-Identifier: MIT
/// One side of one migration as an input gave it: a source run of a log (from a
/// `src-downtime-start` to the next), a destination's load, or one side of `query-migrate`.
public struct SideLog: Sendable, Equatable {
    public var side: Side
    /// The input's name as given.
    public var file: String
    /// 1-based among this input's parts of the same side.
    public var index: Int
    public var firstLine: Int = 0
    public var lastLine: Int = 0
    /// Saves (source) or loads (destination) in input order. Empty when the part was read but
    /// not kept; `deviceCount` still counts them.
    public var devices: [DeviceTime] = []
    public var deviceCount: Int = 0
    public var checkpoints: [Checkpoint] = []
    /// The steps of the downtime besides device states (our QEMU series), in input order.
    public var steps: [DowntimeStep] = []
    /// Device lines past the reader's per-run limit, counted but not kept.
    public var droppedDevices: Int = 0
    /// Step lines past the same limit, counted but not kept.
    public var droppedSteps: Int = 0
    /// False for a source run whose saves came before any `src-downtime-start`.
    public var startedAtCheckpoint: Bool
    /// What the side's input says beyond its lines (a libvirt log's process, a reply's
    /// outcome); the report shows them with the side's notes.
    public var notes: [String] = []

    // What an input other than a trace log tells (`query-migrate`); nil from a log.

    /// The reply this side was built from: its devices and checkpoints then have no line
    /// numbers, and the checkpoints' times are QEMU's offsets, not wall-clock times.
    public var reply: QueryMigrateFacts?
    /// The side's origin on its checkpoints' clock, when the input gives it; nil: derived
    /// from the devices and checkpoints.
    public var originUS: Int64?
    /// Whether the migration completed, when the input says so; nil: judged from the checkpoints.
    public var completed: Bool?
    /// Whether the input names handlers and steps, when it says so; nil: when it has any.
    public var namesSteps: Bool?

    public init(side: Side, file: String, index: Int, startedAtCheckpoint: Bool) {
        self.side = side
        self.file = file
        self.index = index
        self.startedAtCheckpoint = startedAtCheckpoint
    }

    /// False for a side from `query-migrate`: no log, so no line numbers.
    public var hasLines: Bool { reply == nil }

    /// Takes `line` into the side's line range.
    public mutating func touch(_ line: Int) {
        if firstLine == 0 || (line > 0 && line < firstLine) { firstLine = line }
        if line > lastLine { lastLine = line }
    }
}
