// SPDX-License-Identifier: MIT
/// Which side of a migration a part of a log belongs to.
public enum Side: String, Sendable, Equatable {
    case source
    case destination
}

/// One migration as one log saw it: a source run (from a `src-downtime-start` to the next) or a
/// destination load.
public struct SideLog: Sendable, Equatable {
    public var side: Side
    /// The log's name as given.
    public var file: String
    /// 1-based among this log's parts of the same side.
    public var index: Int
    public var firstLine: Int = 0
    public var lastLine: Int = 0
    /// Saves (source) or loads (destination) in log order, each idstr as its id in `names`.
    /// Empty when the part was read but not kept (`RunSplitter.keep`); `deviceCount` still
    /// counts them.
    public var lines: [DeviceLine<Int32>] = []
    /// The idstrs of `lines` (shared with other parts of the same log).
    public internal(set) var names = NameStore.none
    /// `lines` with their idstrs: made on each call; set, it stores the names afresh.
    public var devices: [DeviceTime] {
        get { lines.map { $0.with(idstr: names.bytes($0.idstr)) } }
        set {
            names = NameStore()
            lines = []
            for device in newValue { append(device) }
        }
    }
    public var deviceCount: Int = 0
    public var checkpoints: [Checkpoint] = []
    /// The steps of the downtime besides device states (our QEMU series), in log order (a
    /// reply: its order), each with the checkpoints before it.
    public var steps: [DowntimeStep] = []
    /// Device lines past `RunSplitter.maxDevicesPerSide`, counted but not kept.
    public var droppedDevices: Int = 0
    /// Step lines past the same limit, counted but not kept.
    public var droppedSteps: Int = 0
    /// False for a source run whose saves came before any `src-downtime-start`.
    public var startedAtCheckpoint: Bool
    /// Set when the side was built from a `query-migrate` reply instead of a trace log: its
    /// devices and checkpoints then have no line numbers (0) and the checkpoints' `timestampUS`
    /// are QEMU's offsets, not wall-clock times.
    public var queryMigrate: QueryMigrateSide?
    /// What the reader knows of the part beyond its lines (a libvirt log's process, its
    /// pairing); the report shows them with the side's notes.
    public var notes: [String] = []

    public init(side: Side, file: String, index: Int, startedAtCheckpoint: Bool) {
        self.side = side
        self.file = file
        self.index = index
        self.startedAtCheckpoint = startedAtCheckpoint
    }

    /// Adds a device line (its name to this part's own store).
    public mutating func append(_ device: DeviceTime) {
        if names === NameStore.none { names = NameStore() }
        let id = device.idstr.withUnsafeBufferPointer { names.find($0) ?? names.add($0) }
        lines.append(device.with(idstr: id))
    }

    public static func == (a: SideLog, b: SideLog) -> Bool {
        a.side == b.side && a.file == b.file && a.index == b.index && a.firstLine == b.firstLine
            && a.lastLine == b.lastLine && a.deviceCount == b.deviceCount && a.checkpoints == b.checkpoints
            && a.droppedDevices == b.droppedDevices && a.startedAtCheckpoint == b.startedAtCheckpoint
            && a.steps == b.steps && a.droppedSteps == b.droppedSteps
            && a.queryMigrate == b.queryMigrate && a.notes == b.notes && a.devices == b.devices
    }

    mutating func touch(_ line: Int) {
        if firstLine == 0 || (line > 0 && line < firstLine) { firstLine = line }
        if line > lastLine { lastLine = line }
    }
}

/// Splits a stream of events into source runs and destination loads, handing each out as soon
/// as it is complete, so a long log needs memory for one run at a time.
///
/// - `src-downtime-start` begins a new source run; saves and other `src-*` checkpoints join the
///   current one (saves before any start form a run of their own, flagged).
/// - Loads and `dst-*` checkpoints join the destination load; a load after a `*-vm-started`
///   checkpoint begins a new one.
/// - Other (unknown) checkpoints join the side of the event before them; so do steps, but for
///   the work steps whose name belongs to one side (`KnownSteps`).
public final class RunSplitter {
    var core: SplitCore

    public init(file: String, maxDevicesPerSide: Int = 1_000_000,
                emit: @escaping (SideLog) -> Void) {
        core = SplitCore(file: file, maxDevicesPerSide: maxDevicesPerSide, emit: emit)
    }

    public var file: String { core.file }

    /// Asked with a part's 1-based ordinal among all parts this splitter hands out: false hands
    /// it out without its device list (counted in `deviceCount`), which saves the work.
    public var keep: ((Int) -> Bool)? {
        get { core.keep }
        set { core.keep = newValue }
    }

    /// Takes one event: the event path, which tests compare with the reader's fast path
    /// (`LogReader.read(path:name:into:)`).
    @_spi(Testing) public func handle(_ event: TraceEvent) { core.handle(event) }

    /// Hands out what is still open, in log order.
    public func finish() { core.finish() }
}

/// One side's state in the splitter: the part being filled, and the names its lines use.
struct SplitSide {
    /// The open part (when `isOpen`); its devices are in `pending` until it is handed out. Not
    /// an optional: the hot path mutates it in place.
    var log: SideLog
    var isOpen = false
    var pending: [DeviceLine<Int32>] = []
    /// Destination: a `*-vm-started` checkpoint was seen, so the next load begins a new part.
    var sawVMStarted = false
    var names = NameStore()
    /// Parts opened so far (the next one's `index`).
    var opened = 0

    init(_ side: Side, file: String) {
        log = SideLog(side: side, file: file, index: 0, startedAtCheckpoint: false)
    }

    /// Opens a new part unless one is open.
    @inline(__always)
    mutating func open(atCheckpoint: Bool) {
        guard !isOpen else { return }
        opened += 1
        log = SideLog(side: log.side, file: log.file, index: opened, startedAtCheckpoint: atCheckpoint)
        // A run has a handful of checkpoints: one allocation, not one per doubling.
        log.checkpoints.reserveCapacity(8)
        isOpen = true
    }

    @inline(__always)
    mutating func add(_ d: DeviceLine<UnsafeBufferPointer<UInt8>>, limit: Int) {
        let id = names.id(d.idstr)
        log.deviceCount &+= 1
        if log.firstLine == 0 { log.firstLine = d.line }
        if d.line > log.lastLine { log.lastLine = d.line }
        if pending.count < limit {
            pending.append(d.with(idstr: id))
        } else {
            log.droppedDevices &+= 1
        }
    }

    /// The open part with its devices (without when `keep` is false), and the side closed.
    mutating func close(keep: Bool) -> SideLog {
        var part = log
        if keep {
            part.lines = pending
            part.names = names
        }
        log.checkpoints = []
        log.steps = []
        isOpen = false
        pending.removeAll(keepingCapacity: true)
        sawVMStarted = false
        // Bounded memory: a log with ever new names starts its table afresh between runs.
        if names.count > 16_384 { names = NameStore() }
        return part
    }
}

/// The splitter's state, a value so that the reader's hot loop mutates it without dynamic
/// exclusivity checks.
struct SplitCore: TraceConsumer {
    let file: String
    var maxDevicesPerSide: Int
    var keep: ((Int) -> Bool)?
    private var source: SplitSide
    private var destination: SplitSide
    private var handedOut = 0
    private var lastSide = Side.source
    private let emit: (SideLog) -> Void

    init(file: String, maxDevicesPerSide: Int, emit: @escaping (SideLog) -> Void) {
        self.file = file
        self.maxDevicesPerSide = maxDevicesPerSide
        self.emit = emit
        source = SplitSide(.source, file: file)
        destination = SplitSide(.destination, file: file)
    }

    @inline(__always)
    private mutating func with<R>(_ side: Side, _ body: (inout SplitSide) -> R) -> R {
        switch side {
        case .source: body(&source)
        case .destination: body(&destination)
        }
    }

    /// The event path (tests): the same as the reader's calls, idstr borrowed from the event.
    mutating func handle(_ event: TraceEvent) {
        switch event {
        case .device(let direction, let d):
            d.idstr.withUnsafeBufferPointer { device(direction, d.with(idstr: $0)) }
        case .checkpoint(let c):
            checkpoint(c)
        case .step(let step):
            self.step(step)
        }
    }

    mutating func device(_ direction: Direction, _ d: DeviceLine<UnsafeBufferPointer<UInt8>>) {
        let side: Side = direction == .save ? .source : .destination
        if side == .destination, destination.sawVMStarted { flush(.destination) }
        open(side, atCheckpoint: side == .destination)
        let limit = maxDevicesPerSide
        with(side) { $0.add(d, limit: limit) }
        lastSide = side
    }

    mutating func checkpoint(_ checkpoint: Checkpoint) {
        let side: Side
        if checkpoint.name.hasPrefix("src-") {
            side = .source
        } else if checkpoint.name.hasPrefix("dst-") {
            side = .destination
        } else {
            side = lastSide
        }
        if checkpoint.name == "src-downtime-start" { flush(.source) }
        open(side, atCheckpoint: side == .destination || checkpoint.name == "src-downtime-start")
        with(side) {
            $0.log.checkpoints.append(checkpoint)
            $0.log.touch(checkpoint.line)
            if side == .destination, checkpoint.name.hasSuffix("-vm-started") { $0.sawVMStarted = true }
        }
        lastSide = side
    }

    mutating func step(_ step: DowntimeStep) {
        let side = KnownSteps.side(of: step) ?? lastSide
        open(side, atCheckpoint: side == .destination)
        let limit = maxDevicesPerSide
        with(side) {
            var step = step
            step.checkpointsBefore = $0.log.checkpoints.count
            if $0.log.steps.count < limit { $0.log.steps.append(step) } else { $0.log.droppedSteps &+= 1 }
            $0.log.touch(step.line)
        }
        lastSide = side
    }

    mutating func finish() {
        let sourceFirst = (source.isOpen ? source.log.firstLine : Int.max)
            <= (destination.isOpen ? destination.log.firstLine : Int.max)
        for side in sourceFirst ? [Side.source, .destination] : [.destination, .source] { flush(side) }
    }

    /// Opens a part on `side` unless one is open. A source part that did not begin at
    /// `src-downtime-start` is flagged; a destination part always counts as begun.
    @inline(__always)
    private mutating func open(_ side: Side, atCheckpoint: Bool) {
        with(side) { $0.open(atCheckpoint: atCheckpoint) }
    }

    /// Hands out the open part of `side`, if any.
    private mutating func flush(_ side: Side) {
        guard with(side, { $0.isOpen }) else { return }
        handedOut += 1
        let kept = keep?(handedOut) ?? true
        emit(with(side) { $0.close(keep: kept) })
    }
}
