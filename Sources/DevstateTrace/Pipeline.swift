// SPDX-License-Identifier: MIT
/// A log to read and what it is said to hold.
public struct ReportInput: Sendable, Equatable {
    public enum Role: String, Sendable { case source, destination }
    public var path: String
    /// How the report names it (defaults to the path).
    public var name: String
    public var role: Role

    public init(path: String, name: String? = nil, role: Role) {
        self.path = path
        self.name = name ?? path
        self.role = role
    }
}

/// One source log with, optionally, the destination log of its (last) migration.
public struct ReportGroup: Sendable, Equatable {
    public var source: ReportInput?
    public var destination: ReportInput?

    public init(source: ReportInput?, destination: ReportInput?) {
        self.source = source
        self.destination = destination
    }
}

/// Reads logs, splits them into runs, analyses each and hands it to a sink, holding one run at a
/// time: the destination log (one load) is read first, then the source log is streamed, and its
/// last run is paired with the destination's load.
public final class ReportPipeline {
    public let analyzer: Analyzer
    public var reader: LogReader
    /// Only this run (1-based, across all groups) is analysed and rendered; all are read.
    public var onlyRun: Int?
    public private(set) var runCount = 0
    public private(set) var rendered = 0
    /// Processors this process may run on (`ReportPipeline.readerThreads`).
    public var cores = onlineCores()
    /// Whether the rendering thread has work for every run: the sink writes every run and
    /// no `onlyRun` was asked for.
    private var rendersEveryRun = false

    public init(analyzer: Analyzer = Analyzer(), reader: LogReader = LogReader(), onlyRun: Int? = nil) {
        self.analyzer = analyzer
        self.reader = reader
        self.onlyRun = onlyRun
    }

    /// Runs are rendered on a thread of their own while the logs are read and analysed
    /// (`RenderThread`); the sink is used by that thread only until `run` returns.
    public func run(groups: [ReportGroup], sink: ReportSink) throws(LogReadError) -> [InputSummary] {
        try rendering(to: sink) { () throws(LogReadError) -> [InputSummary] in
            var inputs: [InputSummary] = []
            for group in groups {
                try runGroup(group, inputs: &inputs)
            }
            return inputs
        }
    }

    /// `body` reads and emits runs while the rendering thread writes them to `sink`; then the
    /// sink ends with the inputs `body` returns.
    private func rendering(to sink: ReportSink,
                           _ body: () throws(LogReadError) -> [InputSummary]) throws(LogReadError) -> [InputSummary] {
        sink.begin()
        rendersEveryRun = onlyRun == nil && sink.writesEveryRun
        let renderer = RenderThread(analyzer: analyzer) { report in sink.run(report) }
        self.renderer = renderer
        defer {
            renderer.finish()
            self.renderer = nil
        }
        let inputs: [InputSummary]
        do {
            inputs = try body()
        } catch {
            // The runs read before the error are written all the same.
            renderer.finish()
            sink.flush()
            throw error
        }
        renderer.finish()
        sink.end(inputs: inputs)
        return inputs
    }

    private var renderer: RenderThread?

    /// How many threads read a log (`LogReader.threads`, at most the reader's own). A reading
    /// thread of its own, which finds the trace lines while this thread parses them, pays off
    /// when it has a core to itself. While every run is rendered the rendering thread keeps a
    /// core busy, so on two cores a third thread only takes turns with the other two: the
    /// lines are then found where they are parsed (on 2 cores and a 200 MB log, JSON of every
    /// run took 15 % less time that way, `--run 1` 40 % more).
    static func readerThreads(cores: Int, rendersEveryRun: Bool) -> Int {
        rendersEveryRun && cores < 3 ? 1 : 2
    }

    private var logReader: LogReader {
        var r = reader
        r.threads = min(r.threads, Self.readerThreads(cores: cores, rendersEveryRun: rendersEveryRun))
        return r
    }

    /// A libvirt per-VM log (`LibvirtLogReader`): split by QEMU process, each save paired with
    /// the restore that loaded it where the log shows one, each pair rendered as a source and
    /// destination of one run (on the render thread, as `run(groups:sink:)` does). The
    /// processes are returned for the caller's summary.
    public func run(libvirtLog input: ReportInput, sink: ReportSink) throws(LogReadError)
        -> (inputs: [InputSummary], log: LibvirtLog) {
        let log = try LibvirtLogReader.read(path: input.path, name: input.name, keepMalformed: reader.keepMalformed)
        let inputs = try rendering(to: sink) { () throws(LogReadError) -> [InputSummary] in
            var summary = InputSummary(path: input.name, role: "libvirt", stats: log.stats)
            for run in LibvirtLogReader.runs(log) {
                if run.source != nil { summary.sources += 1 }
                if run.destination != nil { summary.destinations += 1 }
                emit(source: run.source, destination: run.destination)
            }
            return [summary]
        }
        return (inputs, log)
    }

    /// One part on its own, as a run.
    private func emit(_ part: SideLog) {
        if part.side == .source {
            emit(source: part, destination: nil)
        } else {
            emit(source: nil, destination: part)
        }
    }

    private func emit(source: SideLog?, destination: SideLog?) {
        runCount += 1
        if let onlyRun, onlyRun != runCount { return }
        rendered += 1
        guard let renderer else { return }
        renderer.submit(RenderThread.Job(index: runCount, source: source.map(analyzer.prepare),
                                         destination: destination.map(analyzer.prepare)))
    }

    private func runGroup(_ group: ReportGroup, inputs: inout [InputSummary]) throws(LogReadError) {
        // Destination first: keep its last load for pairing; earlier ones stand alone.
        var loads: [SideLog] = []
        var destinationSummary: InputSummary?
        if let d = group.destination {
            var summary = InputSummary(path: d.name, role: d.role.rawValue)
            var others: [SideLog] = []
            let splitter = RunSplitter(file: d.name) { part in
                if part.side == .destination {
                    summary.destinations += 1
                    loads.append(part)
                } else {
                    summary.sources += 1
                    others.append(part)
                }
            }
            summary.stats = try logReader.read(path: d.path, name: d.name, into: splitter)
            splitter.finish()
            destinationSummary = summary
            for part in others { emit(part) }
        }
        let pairWith = loads.popLast()
        for load in loads { emit(load) }
        guard let s = group.source else {
            if let pairWith { emit(pairWith) }
            if let destinationSummary { inputs.append(destinationSummary) }
            return
        }
        var summary = InputSummary(path: s.name, role: s.role.rawValue)
        var held: SideLog?
        let splitter = RunSplitter(file: s.name) { [self] part in
            if part.side == .source { summary.sources += 1 } else { summary.destinations += 1 }
            if let previous = held { emit(previous) }
            held = part
        }
        if let onlyRun {
            // Parts are numbered in the order the splitter hands them out.
            let base = runCount
            splitter.keep = { ordinal in base + ordinal == onlyRun }
        }
        summary.stats = try logReader.read(path: s.path, name: s.name, into: splitter)
        splitter.finish()
        if let last = held, last.side == .source {
            emit(source: last, destination: pairWith)
        } else {
            if let last = held { emit(last) }
            if let pairWith { emit(pairWith) }
        }
        inputs.append(summary)
        if let destinationSummary { inputs.append(destinationSummary) }
    }
}
