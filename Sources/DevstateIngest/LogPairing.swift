// SPDX-License-Identifier: MIT
import DevstateModel

/// Reads the report's logs and hands out their runs one at a time, numbered across all inputs:
/// of each group the destination log is read first, then the source log is streamed and its
/// last run paired with the destination's last load; every other part is a run alone.
public final class LogPairing {
    public typealias Emit = (_ index: Int, _ source: SideLog?, _ destination: SideLog?) -> Void
    public var reader: LogReader
    /// Only this run (1-based, across all groups) is handed out; all are read and counted.
    public var onlyRun: Int?
    public private(set) var runCount = 0
    public private(set) var rendered = 0
    private var emit: Emit = { _, _, _ in }
    public init(reader: LogReader = LogReader(), onlyRun: Int? = nil) { (self.reader, self.onlyRun) = (reader, onlyRun) }

    /// A log that cannot be read throws; the runs before it have been handed out.
    public func run(groups: [ReportGroup], emit: @escaping Emit) throws(LogReadError) -> [InputSummary] {
        self.emit = emit
        var inputs: [InputSummary] = []
        for group in groups { try run(group, inputs: &inputs) }
        return inputs
    }

    /// The log for the caller's summary of its processes.
    public func run(libvirtLog input: ReportInput, emit: @escaping Emit) throws(LogReadError)
        -> (inputs: [InputSummary], log: LibvirtLog) {
        let log = try LibvirtLogReader.read(path: input.path, name: input.name, keepMalformed: reader.keepMalformed)
        self.emit = emit
        var summary = InputSummary(path: input.name, role: "libvirt", stats: log.stats)
        for run in LibvirtLogReader.runs(log) {
            summary.sources += run.source == nil ? 0 : 1
            summary.destinations += run.destination == nil ? 0 : 1
            hand(source: run.source, destination: run.destination)
        }
        return ([summary], log)
    }

    private func run(_ group: ReportGroup, inputs: inout [InputSummary]) throws(LogReadError) {
        var loads: [SideLog] = [], others: [SideLog] = []
        var destination: InputSummary?
        if let d = group.destination {
            let splitter = RunSplitter(file: d.name) { part in
                if part.side == .destination { loads.append(part) } else { others.append(part) }
            }
            destination = InputSummary(path: d.name, role: d.role.rawValue,
                                       stats: try reader.read(path: d.path, name: d.name, into: splitter))
            splitter.finish()
            (destination!.sources, destination!.destinations) = (others.count, loads.count)
        }
        let pairWith = loads.popLast()
        (others + loads).forEach(hand)
        guard let s = group.source else {
            if let pairWith { hand(pairWith) }
            inputs += [destination].compactMap { $0 }
            return
        }
        var summary = InputSummary(path: s.name, role: s.role.rawValue)
        var held: SideLog?  // handed out when the next part comes: the last may be paired
        let splitter = RunSplitter(file: s.name) { [self] part in
            if part.side == .source { summary.sources += 1 } else { summary.destinations += 1 }
            if let held { hand(held) }
            held = part
        }
        if let onlyRun {
            let base = runCount  // the splitter's ordinals are the runs' numbers from here
            splitter.keep = { base + $0 == onlyRun }
        }
        summary.stats = try reader.read(path: s.path, name: s.name, into: splitter)
        splitter.finish()
        if let held, held.side == .source {
            hand(source: held, destination: pairWith)
        } else {
            [held, pairWith].compactMap { $0 }.forEach(hand)
        }
        inputs += [summary, destination].compactMap { $0 }
    }

    private func hand(_ part: SideLog) {
        part.side == .source ? hand(source: part, destination: nil) : hand(source: nil, destination: part)
    }
    private func hand(source: SideLog?, destination: SideLog?) {
        runCount += 1
        guard onlyRun == nil || onlyRun == runCount else { return }
        rendered += 1
        emit(runCount, source, destination)
    }
}
