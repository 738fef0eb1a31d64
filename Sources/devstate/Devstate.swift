import ArgumentParser
import DeviceStateTimes
import DevstateTrace
import Foundation
#if canImport(Glibc)
import Glibc
#endif

@main
struct Devstate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devstate",
        abstract: "Per-device downtime of QEMU live migrations, from stock QEMU trace logs or from query-migrate.",
        discussion: """
            With no arguments, `devstate report` renders the real QEMU 10.0 trace logs shipped \
            under Tests/Fixtures/qemu-10.0 (pc and q35, source and destination).
            Capture your own with QEMU ≥ 8.2: -trace vmstate_downtime_save -trace \
            vmstate_downtime_load -trace vmstate_downtime_checkpoint -msg timestamp=on -D LOG
            """,
        subcommands: [Report.self, Query.self],
        defaultSubcommand: Report.self
    )
}

/// Exit statuses of `devstate report` and `devstate query` (also in their --help and in
/// Sources/devstate/README.md).
enum Status {
    /// Report complete.
    static let ok: Int32 = 0
    /// An input could not be read (file, socket, QMP error, reply that is not query-migrate's).
    static let error: Int32 = 1
    /// query-migrate: the QEMU does not have our device-state-times series (use trace logs).
    static let noSeries: Int32 = 2
    /// Trace logs: report printed, but malformed lines were skipped.
    static let skipped: Int32 = 3
    /// `--plot`: the chart could not be drawn (the report is complete).
    static let plotFailed: Int32 = 4
    /// query-migrate: the series is there, but a side has no completed migration yet.
    static let notCompleted: Int32 = 5
    /// query-migrate: report printed, but PARTIAL (0.1.0-only series, or members missing).
    static let partial: Int32 = 6
    /// Bad usage (ArgumentParser's validation errors exit with EX_USAGE).
    static let usage: Int32 = ExitCode.validationFailure.rawValue

    /// The exit status for the worst outcome of the query-migrate inputs.
    static func of(_ facts: [QueryMigrateFacts]) -> Int32 {
        switch facts.map(\.outcome).max() ?? .complete {
        case .complete: ok
        case .partial: partial
        case .notCompleted: notCompleted
        case .noSeries: noSeries
        }
    }

    static let queryMigrateHelp = """
        Exit status with query-migrate replies (the worst side decides): \(ok) = complete report; \
        \(partial) = PARTIAL report (a QEMU with only the 0.1.0 series: source non-iterable saves \
        only; the output says what is missing); \(notCompleted) = a side has no completed \
        migration (status shown); \(noSeries) = the QEMU does not have the device-state-times \
        series (use trace logs); \(error) = error (socket, QMP, unreadable reply); \(usage) = bad usage.
        """
}

/// Writes the outcome paragraphs of query-migrate inputs to standard error when the output is
/// JSON or CSV (the table prints them itself) and returns the exit status.
func finishQueryMigrate(_ facts: [QueryMigrateFacts], format: OutputFormatArgument) -> Int32 {
    if format != .table {
        for f in facts { if let message = f.message { printError(message) } }
    }
    return Status.of(facts)
}

/// The sink for a report in `format`.
func makeSink(format: OutputFormatArgument, pretty: Bool, width: Int?, top: Int?,
              out: @escaping (String) -> Void) -> ReportSink {
    switch format {
    case .table: TableSink(width: width ?? terminalWidth(), top: top, out: out)
    case .json: JSONSink(pretty: pretty, out: out)
    case .csv: CSVSink(out: out)
    }
}

/// Buffered standard output.
final class Output {
    private var pending = ""
    func write(_ text: String) {
        pending += text
        if pending.utf8.count >= 1 << 16 { flush() }
    }
    func flush() {
        guard !pending.isEmpty else { return }
        var copy = pending
        copy.withUTF8 { buffer in
            var done = 0
            while done < buffer.count {
                let n = Glibc.write(STDOUT_FILENO, buffer.baseAddress! + done, buffer.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    return
                }
                done += n
            }
        }
        pending = ""
    }
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data(("devstate: " + text + "\n").utf8))
}

/// The columns of the terminal on standard output; $COLUMNS or 100 when it is not one.
func terminalWidth() -> Int {
    var size = winsize()
    if isatty(STDOUT_FILENO) != 0, ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 {
        return Int(size.ws_col)
    }
    if let columns = ProcessInfo.processInfo.environment["COLUMNS"], let n = Int(columns), n > 0 {
        return n
    }
    return 100
}

/// Where the built-in fixtures are: $DEVSTATE_FIXTURES, else Tests/Fixtures/qemu-10.0 in the
/// source tree this binary was built from (found from this file's path at compile time).
func fixtureDirectory() -> String {
    if let dir = ProcessInfo.processInfo.environment["DEVSTATE_FIXTURES"], !dir.isEmpty { return dir }
    let here = URL(fileURLWithPath: #filePath)
    return here.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Tests/Fixtures/qemu-10.0").path
}

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Report per-device save/load times and downtime phases from QEMU trace logs.",
        discussion: """
            SOURCE is the source QEMU's trace log (-D), DESTINATION the destination's. A source \
            log may hold several migrations: it is split into runs at each src-downtime-start. \
            The destination's load is shown beside the source's last run. Use - for standard input.
            The source's device-state-times (JSON) is what a reference-patched QEMU's \
            query-migrate would return; entries QEMU registers without a vmsd (ram, \
            dirty-bitmap, slirp, …/vfio, todclock, s390-skeys, spapr/htab) are listed apart.
            With --qmp the files are saved query-migrate replies of a QEMU with our series \
            (source, then destination; the whole {"return": …} or the inner object), rendered \
            as `devstate query` renders them; a saved reply has no schema, so the series is \
            judged from the members present.
            Exit status: \(Status.ok) = report complete; \(Status.skipped) = report printed but \
            malformed lines were skipped; \(Status.plotFailed) = the plot could not be drawn; \
            \(Status.error) = an input could not be read; \(Status.usage) = bad usage.
            \(Status.queryMigrateHelp)
            """
    )

    @Flag(name: .customLong("qmp"), help: "The files are saved query-migrate replies (JSON), not trace logs.")
    var qmp = false

    @Argument(help: ArgumentHelp("Source trace log, then destination trace log (with --qmp: saved query-migrate replies). None: the built-in fixtures.",
                                 valueName: "log"))
    var logs: [String] = []

    @Option(name: .customLong("source"), help: ArgumentHelp("Source trace log or reply (instead of the first argument).", valueName: "file"))
    var sourceLog: String?

    @Option(name: .customLong("destination"), help: ArgumentHelp("Destination trace log or reply (instead of the second argument).", valueName: "file"))
    var destinationLog: String?

    @Option(help: "Built-in fixture to render when no log is given: pc, q35 or all.")
    var fixture: String = "all"

    @Option(help: "Output format: table, json or csv.")
    var format: OutputFormatArgument = .table

    @Flag(help: "Indent the JSON output.")
    var pretty = false

    @Option(help: ArgumentHelp("Also draw a PNG bar chart of each run's top devices (needs gnuplot).", valueName: "file.png"))
    var plot: String?

    @Option(help: "Devices per run in the chart.")
    var plotTop: Int = 12

    @Option(help: "Most runs in the chart (the last ones).")
    var plotRuns: Int = 6

    @Flag(help: "One line per run and each device's mean and max over all runs (for logs with many migrations); works with every --format.")
    var summary = false

    @Option(help: "Show only the N longest devices per run in the table.")
    var top: Int?

    @Option(name: .customLong("run"), help: "Render only run N (1-based, counted across the report).")
    var onlyRun: Int?

    @Option(help: "Table width in columns (default: the terminal's, else $COLUMNS, else 100).")
    var width: Int?

    @Option(name: .customLong("no-vmsd"), help: ArgumentHelp("Also treat this idstr as having no vmsd (repeatable).", valueName: "idstr"))
    var noVMSD: [String] = []

    @Option(help: "Malformed lines shown per log with their line numbers (all are counted).")
    var showMalformed: Int = 10

    func validate() throws {
        if logs.count > 2 { throw ValidationError("at most two logs: SOURCE and DESTINATION") }
        if sourceLog != nil, !logs.isEmpty { throw ValidationError("give the source log either as an argument or with --source") }
        if destinationLog != nil, logs.count > 1 { throw ValidationError("give the destination log either as an argument or with --destination") }
        if !["pc", "q35", "all"].contains(fixture) { throw ValidationError("--fixture must be pc, q35 or all") }
        if let top, top < 1 { throw ValidationError("--top must be at least 1") }
        if let onlyRun, onlyRun < 1 { throw ValidationError("--run must be at least 1") }
        if plotTop < 1 || plotRuns < 1 { throw ValidationError("--plot-top and --plot-runs must be at least 1") }
        if qmp {
            if logs.isEmpty, sourceLog == nil, destinationLog == nil {
                throw ValidationError("--qmp needs a saved query-migrate reply: SOURCE.json [DESTINATION.json]")
            }
            if summary { throw ValidationError("--summary is for logs with many migrations; --qmp replies hold one") }
            if onlyRun != nil { throw ValidationError("--run does not apply to --qmp (one migration)") }
        }
    }

    /// `--qmp`: the saved replies as query-migrate inputs.
    func savedReplies() throws -> [QueryMigrateInput] {
        let source = sourceLog ?? logs.first
        let destination = destinationLog ?? (logs.count > 1 ? logs[1] : nil)
        if source == "-", destination == "-" { throw ValidationError("only one reply can come from standard input") }
        var inputs: [QueryMigrateInput] = []
        for (path, role) in [(source, Side.source), (destination, Side.destination)] {
            guard let path else { continue }
            let name = path == "-" ? "<stdin>" : path
            do {
                let data: Data
                if path == "-" {
                    data = FileHandle.standardInput.readDataToEndOfFile()
                } else {
                    data = try Data(contentsOf: URL(fileURLWithPath: path))
                }
                let object: Any
                do {
                    object = try JSONSerialization.jsonObject(with: data)
                } catch {
                    throw QueryMigrateError("not JSON")
                }
                inputs.append(QueryMigrateInput(endpoint: name, role: role, reply: try MigrateReply(object),
                                                noSchemaReason: "a saved reply carries no schema"))
            } catch let error as QueryMigrateError {
                printError("\(name): \(error.description)")
                throw ExitCode(Status.error)
            } catch {
                printError("\(name): cannot read: \(error.localizedDescription)")
                throw ExitCode(Status.error)
            }
        }
        return inputs
    }

    func groups() throws -> [ReportGroup] {
        let source = sourceLog ?? logs.first
        let destination = destinationLog ?? (logs.count > 1 ? logs[1] : nil)
        if source != nil || destination != nil {
            if source == "-", destination == "-" { throw ValidationError("only one log can come from standard input") }
            func name(_ path: String) -> String { path == "-" ? "<stdin>" : path }
            return [ReportGroup(source: source.map { ReportInput(path: $0, name: name($0), role: .source) },
                                destination: destination.map { ReportInput(path: $0, name: name($0), role: .destination) })]
        }
        let dir = fixtureDirectory()
        let names = fixture == "all" ? ["pc", "q35"] : [fixture]
        var groups: [ReportGroup] = []
        for name in names {
            let s = dir + "/\(name)-source.log", d = dir + "/\(name)-destination.log"
            guard FileManager.default.fileExists(atPath: s), FileManager.default.fileExists(atPath: d) else {
                throw ValidationError("built-in fixture \(name) not found under \(dir) (set DEVSTATE_FIXTURES to Tests/Fixtures/qemu-10.0 of a checkout)")
            }
            groups.append(ReportGroup(
                source: ReportInput(path: s, name: "fixtures/qemu-10.0/\(name)-source.log", role: .source),
                destination: ReportInput(path: d, name: "fixtures/qemu-10.0/\(name)-destination.log", role: .destination)))
        }
        return groups
    }

    func run() throws {
        let replies = qmp ? try savedReplies() : []
        let groups = qmp ? [] : try groups()
        let output = Output()
        let write: (String) -> Void = { output.write($0) }
        let base: ReportSink
        if summary {
            let f: OutputFormat = format == .json ? .json : format == .csv ? .csv : .table
            base = SummarySink(format: f, width: width ?? terminalWidth(), top: top ?? 15, out: write)
        } else {
            base = makeSink(format: format, pretty: pretty, width: width, top: top, out: write)
        }
        var collector: PlotCollector?
        var sink = base
        if plot != nil {
            collector = PlotCollector(next: base, top: plotTop, maxRuns: plotRuns)
            sink = collector!
        }
        var status = Status.ok
        if qmp {
            let facts = QueryMigrateReport.render(
                replies, analyzer: Analyzer(knowledge: DeviceKnowledge(extraNoVMSD: noVMSD)), sink: sink)
            output.flush()
            status = finishQueryMigrate(facts, format: format)
        } else {
            status = try renderLogs(groups, sink: sink, output: output)
        }
        if let plot, let collector {
            do {
                try drawPlot(collector, to: plot)
                if collector.omittedRuns > 0 {
                    printError("the chart shows the last \(collector.panels.count) runs; \(collector.omittedRuns) earlier runs are not drawn (--plot-runs)")
                }
            } catch {
                printError("\(error)")
                if status == Status.ok { status = Status.plotFailed }
            }
        }
        if status != Status.ok { throw ExitCode(status) }
    }

    func renderLogs(_ groups: [ReportGroup], sink: ReportSink, output: Output) throws -> Int32 {
        let pipeline = ReportPipeline(analyzer: Analyzer(knowledge: DeviceKnowledge(extraNoVMSD: noVMSD)),
                                      reader: LogReader(keepMalformed: max(0, showMalformed)),
                                      onlyRun: onlyRun)
        let inputs: [InputSummary]
        do {
            inputs = try pipeline.run(groups: groups, sink: sink)
        } catch {
            output.flush()
            printError(error.description)
            throw ExitCode(Status.error)
        }
        output.flush()
        if let only = onlyRun, pipeline.rendered == 0 {
            printError("there is no run \(only) (the logs hold \(pipeline.runCount))")
            throw ExitCode(Status.error)
        }
        let malformed = inputs.reduce(0) { $0 + $1.stats.malformedLines }
        if malformed > 0 {
            printError("skipped \(malformed) malformed line\(malformed == 1 ? "" : "s") (see the report)")
            return Status.skipped
        }
        return Status.ok
    }
}

struct PlotError: Error, CustomStringConvertible {
    var description: String
}

func findExecutable(_ name: String) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for dir in path.split(separator: ":") {
        let candidate = "\(dir)/\(name)"
        if access(candidate, X_OK) == 0 { return candidate }
    }
    return nil
}

func drawPlot(_ collector: PlotCollector, to png: String) throws {
    guard !collector.panels.isEmpty else { throw PlotError(description: "--plot: no runs to draw") }
    guard let gnuplot = findExecutable("gnuplot") else {
        throw PlotError(description: "--plot needs gnuplot, which is not installed (Debian: apt-get install gnuplot-nox); the report above is complete")
    }
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("devstate-plot-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let dataPath = dir.appendingPathComponent("bars.dat").path
    let scriptPath = dir.appendingPathComponent("plot.gp").path
    let pngPath = URL(fileURLWithPath: png).path
    let (data, script) = collector.gnuplot(png: pngPath, dataPath: dataPath)
    try data.write(toFile: dataPath, atomically: true, encoding: .utf8)
    try script.write(toFile: scriptPath, atomically: true, encoding: .utf8)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: gnuplot)
    process.arguments = [scriptPath]
    let errors = Pipe()
    process.standardError = errors
    try process.run()
    let message = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0, FileManager.default.fileExists(atPath: pngPath) else {
        throw PlotError(description: "gnuplot failed: " + (String(data: message, encoding: .utf8) ?? ""))
    }
}

enum OutputFormatArgument: String, ExpressibleByArgument, CaseIterable {
    case table, json, csv
}

struct Query: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ask running QEMUs over QMP for query-migrate and report the whole downtime.",
        discussion: """
            SOURCE is the source QEMU's QMP unix socket (-qmp unix:PATH,server=on,wait=off), \
            DESTINATION the destination's. With our device-state-times series (0.2.0) \
            query-migrate holds the source's non-iterable and iterable saves, the destination's \
            loads and the downtime checkpoints: the report (phases, devices, shares, notes) is \
            the one `devstate report` renders from trace logs, in the same table, JSON and CSV. \
            Only read-only commands are sent: qmp_capabilities, query-qmp-schema, query-migrate.
            query-qmp-schema tells a QEMU without the series (stock QEMU: use trace logs and \
            `devstate report`) from one whose migration has not completed yet, and a QEMU with \
            only the 0.1.0 series (device-state-times alone: a partial report).
            \(Status.queryMigrateHelp)
            """
    )

    @Argument(help: ArgumentHelp("QMP unix socket of the source QEMU, then of the destination QEMU.",
                                 valueName: "socket"))
    var sockets: [String] = []

    @Option(name: .customLong("destination"), help: ArgumentHelp("QMP socket of the destination QEMU (instead of the second argument; alone for a destination-only report).", valueName: "socket"))
    var destinationSocket: String?

    @Option(help: "Output format: table, json or csv.")
    var format: OutputFormatArgument = .table

    @Flag(help: "Indent the JSON output.")
    var pretty = false

    @Option(help: "Show only the N longest devices in the table.")
    var top: Int?

    @Option(help: "Table width in columns (default: the terminal's, else $COLUMNS, else 100).")
    var width: Int?

    @Option(name: .customLong("no-vmsd"), help: ArgumentHelp("Also treat this idstr as having no vmsd on the destination (repeatable).", valueName: "idstr"))
    var noVMSD: [String] = []

    @Option(help: "Seconds to wait for QEMU's answers.")
    var timeout: Int = 10

    func validate() throws {
        if sockets.count > 2 { throw ValidationError("at most two sockets: SOURCE and DESTINATION") }
        if destinationSocket != nil, sockets.count > 1 { throw ValidationError("give the destination socket either as an argument or with --destination") }
        if sockets.isEmpty, destinationSocket == nil { throw ValidationError("give the source QEMU's QMP socket (and the destination's)") }
        if let top, top < 1 { throw ValidationError("--top must be at least 1") }
    }

    /// Asks one QEMU: its schema (for the series), then query-migrate.
    func ask(_ path: String, role: Side) throws -> QueryMigrateInput {
        let client = try QMPClient(socketPath: path, timeoutSeconds: max(1, timeout))
        var members: Set<String>?
        var reason: String?
        do {
            members = try MigrateSchema.queryMigrateMembers(try client.execute("query-qmp-schema"))
        } catch {
            reason = "query-qmp-schema gave no answer to use (\(error))"
        }
        let reply = try MigrateReply(try client.execute("query-migrate"))
        return QueryMigrateInput(endpoint: path, role: role, qemuVersion: client.qemuVersion, reply: reply,
                                 schemaMembers: members, noSchemaReason: reason)
    }

    func run() throws {
        var targets: [(String, Side)] = []
        if let source = sockets.first { targets.append((source, .source)) }
        if let destination = destinationSocket ?? (sockets.count > 1 ? sockets[1] : nil) {
            targets.append((destination, .destination))
        }
        var inputs: [QueryMigrateInput] = []
        for (path, role) in targets {
            do {
                inputs.append(try ask(path, role: role))
            } catch {
                printError("\(path) (\(role.rawValue)): \(error)")
                throw ExitCode(Status.error)
            }
        }
        let output = Output()
        let sink = makeSink(format: format, pretty: pretty, width: width, top: top) { output.write($0) }
        let facts = QueryMigrateReport.render(
            inputs, analyzer: Analyzer(knowledge: DeviceKnowledge(extraNoVMSD: noVMSD)), sink: sink)
        output.flush()
        let status = finishQueryMigrate(facts, format: format)
        if status != Status.ok { throw ExitCode(status) }
    }
}
