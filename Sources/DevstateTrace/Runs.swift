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
    /// Saves (source) or loads (destination) in log order. Empty when the part was read but
    /// not kept (`RunSplitter.keep`); `deviceCount` still counts them.
    public var devices: [DeviceTime] = []
    public var deviceCount: Int = 0
    public var checkpoints: [Checkpoint] = []
    /// Device lines past `RunSplitter.maxDevicesPerSide`, counted but not kept.
    public var droppedDevices: Int = 0
    /// False for a source run whose saves came before any `src-downtime-start`.
    public var startedAtCheckpoint: Bool
    /// Set when the side was built from a `query-migrate` reply instead of a trace log: its
    /// devices and checkpoints then have no line numbers (0) and the checkpoints' `timestampUS`
    /// are QEMU's offsets, not wall-clock times.
    public var queryMigrate: QueryMigrateSide?

    public init(side: Side, file: String, index: Int, startedAtCheckpoint: Bool) {
        self.side = side
        self.file = file
        self.index = index
        self.startedAtCheckpoint = startedAtCheckpoint
    }

    mutating func touch(_ line: Int) {
        if firstLine == 0 || (line > 0 && line < firstLine) { firstLine = line }
        if line > lastLine { lastLine = line }
    }
}

/// A device line as the splitter holds it until its run is handed out (no references).
struct PendingDevice {
    var nameID: Int32
    var instanceID: UInt32
    var section: Section
    var hasTimestamp: Bool
    var timeUS: UInt64
    var timestampUS: Int64
    var line: Int
}

/// One open side: its metadata, its device lines, and the names they use.
struct OpenPart {
    var log: SideLog
    var pending: [PendingDevice] = []
    var sawVMStarted = false
}

/// Splits a stream of events into source runs and destination loads, handing each out as soon
/// as it is complete, so a long log needs memory for one run at a time.
///
/// - `src-downtime-start` begins a new source run; saves and other `src-*` checkpoints join the
///   current one (saves before any start form a run of their own, flagged).
/// - Loads and `dst-*` checkpoints join the destination load; a load after a `*-vm-started`
///   checkpoint begins a new one.
/// - Other (unknown) checkpoints join the side of the event before them.
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

    /// Takes one event (the slow path used by tests and the closure API).
    public func handle(_ event: TraceEvent) { core.handle(event) }

    /// Hands out what is still open, in log order.
    public func finish() { core.finish() }
}

/// The splitter's state, a value so that the reader's hot loop mutates it without dynamic
/// exclusivity checks.
struct SplitCore: TraceConsumer {
    let file: String
    var maxDevicesPerSide: Int
    var keep: ((Int) -> Bool)?
    private var source: OpenPart?
    private var destination: OpenPart?
    private var sourceNames = NameTable()
    private var destinationNames = NameTable()
    private var sourceCount = 0
    private var destinationCount = 0
    private var handedOut = 0
    private var lastSide = Side.source
    private let emit: (SideLog) -> Void

    init(file: String, maxDevicesPerSide: Int, emit: @escaping (SideLog) -> Void) {
        self.file = file
        self.maxDevicesPerSide = maxDevicesPerSide
        self.emit = emit
    }

    mutating func handle(_ event: TraceEvent) {
        switch event {
        case .device(let direction, let d):
            d.nameBytes.withUnsafeBufferPointer { name in
                device(direction, name: name, LineParser.RawDevice(
                    nameStart: 0, nameCount: name.count, instanceID: d.instanceID, section: d.section,
                    timeUS: d.timeUS, timestampUS: d.timestampUS ?? 0,
                    hasTimestamp: d.timestampUS != nil), line: d.line)
            }
        case .checkpoint(let c):
            checkpoint(c)
        }
    }

    mutating func device(_ direction: Direction, name: UnsafeBufferPointer<UInt8>,
                _ d: LineParser.RawDevice, line: Int) {
        if direction == .save {
            if source == nil { openSource(atCheckpoint: false) }
            let id = sourceNames.id(name)
            Self.add(id, d, line, limit: maxDevicesPerSide, to: &source!)
            lastSide = .source
        } else {
            if destination?.sawVMStarted == true { flushDestination() }
            if destination == nil { openDestination() }
            let id = destinationNames.id(name)
            Self.add(id, d, line, limit: maxDevicesPerSide, to: &destination!)
            lastSide = .destination
        }
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
        if side == .source {
            if checkpoint.name == "src-downtime-start" {
                flushSource()
                openSource(atCheckpoint: true)
            } else if source == nil {
                openSource(atCheckpoint: false)
            }
            source!.log.checkpoints.append(checkpoint)
            source!.log.touch(checkpoint.line)
        } else {
            if destination == nil { openDestination() }
            destination!.log.checkpoints.append(checkpoint)
            destination!.log.touch(checkpoint.line)
            if checkpoint.name.hasSuffix("-vm-started") { destination!.sawVMStarted = true }
        }
        lastSide = side
    }

    mutating func finish() {
        let sourceFirst = (source?.log.firstLine ?? Int.max) <= (destination?.log.firstLine ?? Int.max)
        if sourceFirst {
            flushSource()
            flushDestination()
        } else {
            flushDestination()
            flushSource()
        }
    }

    @inline(__always)
    private static func add(_ id: Int32, _ d: LineParser.RawDevice, _ line: Int, limit maxDevicesPerSide: Int,
                            to part: inout OpenPart) {
        part.log.deviceCount &+= 1
        if part.log.firstLine == 0 { part.log.firstLine = line }
        if line > part.log.lastLine { part.log.lastLine = line }
        if part.pending.count < maxDevicesPerSide {
            part.pending.append(PendingDevice(nameID: id, instanceID: d.instanceID, section: d.section,
                                              hasTimestamp: d.hasTimestamp, timeUS: d.timeUS,
                                              timestampUS: d.timestampUS, line: line))
        } else {
            part.log.droppedDevices &+= 1
        }
    }

    private mutating func openSource(atCheckpoint: Bool) {
        sourceCount += 1
        source = OpenPart(log: SideLog(side: .source, file: file, index: sourceCount,
                                       startedAtCheckpoint: atCheckpoint))
        source!.pending.reserveCapacity(64)
    }

    private mutating func openDestination() {
        destinationCount += 1
        destination = OpenPart(log: SideLog(side: .destination, file: file, index: destinationCount,
                                            startedAtCheckpoint: true))
    }

    private static func materialize(_ part: OpenPart, kept: Bool,
                                    names: inout NameTable) -> SideLog {
        var log = part.log
        if kept {
            log.devices.reserveCapacity(part.pending.count)
            for p in part.pending {
                log.devices.append(DeviceTime(nameBytes: names.bytes(p.nameID), instanceID: p.instanceID,
                                              section: p.section, timeUS: p.timeUS,
                                              timestampUS: p.hasTimestamp ? p.timestampUS : nil,
                                              line: p.line))
            }
        }
        // Bounded memory: a log with ever new names starts its table afresh between runs.
        if names.count > 16_384 { names.removeAll() }
        return log
    }

    private mutating func flushSource() {
        if let part = source {
            source = nil
            handedOut += 1
            let kept = keep?(handedOut) ?? true
            emit(Self.materialize(part, kept: kept, names: &sourceNames))
        }
    }

    private mutating func flushDestination() {
        if let part = destination {
            destination = nil
            handedOut += 1
            let kept = keep?(handedOut) ?? true
            emit(Self.materialize(part, kept: kept, names: &destinationNames))
        }
    }
}
