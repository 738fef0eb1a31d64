// SPDX-License-Identifier: MIT
import DevstateModel

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
    /// One value, that the reader changes once per chunk: each access to a class's property is
    /// checked at run time.
    private var state: Splits
    private let emit: (SideLog) -> Void
    public init(file: String, maxDevicesPerSide: Int = 1_000_000, emit: @escaping (SideLog) -> Void) {
        state = Splits(limit: maxDevicesPerSide, sides: [.source, .destination].map {
            SplitSide(part: SideLog(side: $0, file: file, index: 0, startedAtCheckpoint: false))
        })
        self.emit = emit
    }
    /// Asked with a part's 1-based ordinal among all parts this splitter hands out: false hands
    /// it out without its device list (counted in `deviceCount`), which saves the work.
    public var keep: ((Int) -> Bool)? {
        get { state.keep }
        set { state.keep = newValue }
    }

    public func handle(_ event: TraceEvent) {
        changing { state in
            switch event {
            case .device(let direction, let d):
                let device = LineParser.DeviceLine(direction: direction, idstr: 0..<d.idstr.count, instanceID: d.instanceID,
                                                   section: d.section, timeUS: d.timeUS, timestampUS: d.timestampUS, line: d.line)
                d.idstr.withUnsafeBufferPointer { state.take(.device(device), in: $0) }
            case .checkpoint(let c): state.take(.checkpoint(c), in: .init(start: nil, count: 0))
            case .step(let s): state.take(.step(s), in: .init(start: nil, count: 0))
            }
        }
    }

    public func finish() { changing { $0.finish() } }
    func changing(_ body: (inout Splits) -> Void) {
        body(&state)
        let parts = state.closed
        state.closed = []
        parts.forEach(emit)
    }
}

struct Splits {
    let limit: Int
    /// The source's and the destination's (`Side.at`).
    fileprivate var sides: [SplitSide]
    var keep: ((Int) -> Bool)?
    var closed: [SideLog] = []
    private var handedOut = 0
    private var lastSide = Side.source
    fileprivate init(limit: Int, sides: [SplitSide]) { (self.limit, self.sides) = (limit, sides) }

    mutating func take(_ parsed: LineParser.Parsed, in line: UnsafeBufferPointer<UInt8>) {
        let side: Side
        var startsRun = false
        switch parsed {
        case .device(let d):
            side = d.direction == .save ? .source : .destination
            if side == .destination, sides[1].sawVMStarted { close(.destination) }
        case .checkpoint(let c):
            side = c.name.hasPrefix("src-") ? .source : c.name.hasPrefix("dst-") ? .destination : lastSide
            startsRun = c.name == "src-downtime-start"
            if startsRun { close(.source) }
        case .step(let step):
            side = KnownSteps.side(of: step) ?? lastSide
        case .malformed:
            return
        }
        sides[side.at].take(parsed, in: line, startedAtCheckpoint: side == .destination || startsRun, limit: limit)
        lastSide = side
    }

    /// What comes next starts afresh (a libvirt log's next process) but for the parts' numbers.
    mutating func finish() {
        let first = sides.map { $0.isOpen ? $0.part.firstLine : .max }
        for side in first[0] <= first[1] ? [Side.source, .destination] : [.destination, .source] { close(side) }
        lastSide = .source
    }

    private mutating func close(_ side: Side) {
        guard sides[side.at].isOpen else { return }
        handedOut += 1
        closed.append(sides[side.at].close(keep: keep?(handedOut) ?? true))
    }
}

/// One side's open part. Its devices wait with their idstrs in one byte array, reused from part
/// to part, and become `DeviceTime`s only when the part is kept: a part that is not kept costs
/// no allocation per device line.
private struct SplitSide {
    /// The open part (when `isOpen`): not an optional, which would be copied to be changed.
    var part: SideLog
    var isOpen = false
    var devices: [LineParser.DeviceLine] = []
    var idstrs: [UInt8] = []
    /// Destination: a `*-vm-started` checkpoint was seen, so the next load begins a new part.
    var sawVMStarted = false
    var opened = 0
    /// `startedAtCheckpoint` is false only for a source run not begun at `src-downtime-start`.
    mutating func take(_ parsed: LineParser.Parsed, in line: UnsafeBufferPointer<UInt8>, startedAtCheckpoint: Bool,
                       limit: Int) {
        if !isOpen {
            opened += 1
            part = SideLog(side: part.side, file: part.file, index: opened, startedAtCheckpoint: startedAtCheckpoint)
            isOpen = true
        }
        switch parsed {
        case .device(var device):
            part.deviceCount += 1
            part.touch(device.line)
            guard devices.count < limit else { return part.droppedDevices += 1 }
            let from = idstrs.count
            idstrs.append(contentsOf: UnsafeBufferPointer(rebasing: line[device.idstr]))  // one copy, not byte by byte
            device.idstr = from..<idstrs.count
            devices.append(device)
        case .checkpoint(let c):
            part.checkpoints.append(c)
            part.touch(c.line)
            if part.side == .destination, c.name.hasSuffix("-vm-started") { sawVMStarted = true }
        case .step(var step):
            step.checkpointsBefore = part.checkpoints.count
            part.touch(step.line)
            if part.steps.count < limit { part.steps.append(step) } else { part.droppedSteps += 1 }
        case .malformed:
            break
        }
    }

    mutating func close(keep: Bool) -> SideLog {
        var log = part
        if keep { log.devices = devices.map { $0.device(idstr: Array(idstrs[$0.idstr])) } }
        (isOpen, sawVMStarted, part.checkpoints, part.steps) = (false, false, [], [])
        devices.removeAll(keepingCapacity: true)
        idstrs.removeAll(keepingCapacity: true)
        return log
    }
}

extension Side { fileprivate var at: Int { self == .source ? 0 : 1 } }
