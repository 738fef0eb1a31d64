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

/// Exit statuses of `devstate report` (also in its --help).
enum Status {
    static let ok: Int32 = 0
    static let error: Int32 = 1
    static let skipped: Int32 = 3
    static let plotFailed: Int32 = 4
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
            Exit status: 0 = report complete; 3 = report printed but malformed lines were \
            skipped; 4 = the plot could not be drawn; 1 = an input could not be read.
            """
    )

    @Argument(help: ArgumentHelp("Source trace log, then destination trace log. None: the built-in fixtures.",
                                 valueName: "log"))
    var logs: [String] = []

    @Option(name: .customLong("source"), help: ArgumentHelp("Source trace log (instead of the first argument).", valueName: "file"))
    var sourceLog: String?

    @Option(name: .customLong("destination"), help: ArgumentHelp("Destination trace log (instead of the second argument).", valueName: "file"))
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
        let groups = try groups()
        let output = Output()
        let write: (String) -> Void = { output.write($0) }
        let base: ReportSink
        if summary {
            let f: OutputFormat = format == .json ? .json : format == .csv ? .csv : .table
            base = SummarySink(format: f, width: width ?? terminalWidth(), top: top ?? 15, out: write)
        } else {
        switch format {
        case .table: base = TableSink(width: width ?? terminalWidth(), top: top, out: write)
        case .json: base = JSONSink(pretty: pretty, out: write)
        case .csv: base = CSVSink(out: write)
        }
        }
        var collector: PlotCollector?
        var sink = base
        if plot != nil {
            collector = PlotCollector(next: base, top: plotTop, maxRuns: plotRuns)
            sink = collector!
        }
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
        var status = Status.ok
        let malformed = inputs.reduce(0) { $0 + $1.stats.malformedLines }
        if malformed > 0 {
            printError("skipped \(malformed) malformed line\(malformed == 1 ? "" : "s") (see the report)")
            status = Status.skipped
        }
        if let plot, let collector {
            do {
                try drawPlot(collector, to: plot)
                if collector.omittedRuns > 0 {
                    printError("the chart shows the last \(collector.panels.count) runs; \(collector.omittedRuns) earlier runs are not drawn (--plot-runs)")
                }
            } catch {
                printError("\(error)")
                status = Status.plotFailed
            }
        }
        if status != Status.ok { throw ExitCode(status) }
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
        abstract: "Ask a running QEMU over QMP for query-migrate and show its device-state-times.",
        discussion: """
            SOCKET is the QMP unix socket (-qmp unix:PATH,server=on,wait=off). device-state-times \
            is only present on a QEMU with the device-state-times patch, after a migration; \
            stock QEMU does not report per-device times over QMP (use trace logs and \
            `devstate report`). Exit status: 0 = times shown; 2 = this QEMU reports none; 1 = error.
            """
    )

    @Argument(help: ArgumentHelp("QMP unix socket of the QEMU to ask.", valueName: "socket"))
    var socket: String

    @Option(help: "Output format: table, json or csv.")
    var format: OutputFormatArgument = .table

    @Option(help: "Seconds to wait for QEMU's answers.")
    var timeout: Int = 10

    func run() throws {
        let times: QueriedTimes
        let version: String?
        do {
            let client = try QMPClient(socketPath: socket, timeoutSeconds: max(1, timeout))
            version = client.qemuVersion
            times = try QueriedTimes(reply: try client.execute("query-migrate"))
        } catch {
            printError("\(error)")
            throw ExitCode(1)
        }
        let output = Output()
        defer { output.flush() }
        guard let items = times.items, let json = times.json else {
            if format == .json {
                output.write("{\"qemu\":\(version.map { "\"\($0)\"" } ?? "null"),\"status\":\(times.status.map { "\"\($0)\"" } ?? "null"),\"device-state-times\":null}\n")
            } else {
                output.write("QEMU \(version ?? "?") at \(socket): migration status \(times.status ?? "none").\n")
                output.write("device-state-times is NOT present: this QEMU does not report per-device save times over QMP\n")
                output.write("(it needs the device-state-times patch). With QEMU ≥ 8.2 use trace logs instead:\n")
                output.write("  -trace vmstate_downtime_save -trace vmstate_downtime_load -trace vmstate_downtime_checkpoint -msg timestamp=on -D LOG\n")
                output.write("  then: devstate report SOURCE.log [DESTINATION.log]\n")
            }
            output.flush()
            throw ExitCode(2)
        }
        switch format {
        case .json:
            output.write("{\"qemu\":\(version.map { "\"\($0)\"" } ?? "null"),\"status\":\(times.status.map { "\"\($0)\"" } ?? "null"),\"device-state-times\":\(json)}\n")
        case .csv:
            output.write("name,instance_id,save_time_us\n")
            for i in items { output.write("\(i.name),\(i.instanceID),\(i.saveTime)\n") }
        case .table:
            let total = items.reduce(UInt64(0)) { $0 + $1.saveTime }
            output.write("QEMU \(version ?? "?") at \(socket): migration status \(times.status ?? "none"); device-state-times: \(items.count) entries, \(total) µs in all\n")
            let sorted = items.enumerated().sorted { $0.element.saveTime != $1.element.saveTime ? $0.element.saveTime > $1.element.saveTime : $0.offset < $1.offset }
            let nameWidth = min(max(6, items.map { $0.name.count }.max() ?? 6), max(16, terminalWidth() - 32))
            output.write("  " + "device".padding(toLength: nameWidth, withPad: " ", startingAt: 0) + "  inst      µs   share\n")
            for (_, i) in sorted {
                var name = i.name
                if name.count > nameWidth { name = String(name.prefix(nameWidth - 1)) + "…" }
                let share = total > 0 ? String(format: "%5.1f%%", Double(i.saveTime) * 100 / Double(total)) : ""
                output.write("  " + name.padding(toLength: nameWidth, withPad: " ", startingAt: 0)
                             + String(format: "  %4llu  %6llu  %@\n", i.instanceID, i.saveTime, share))
            }
        }
    }
}
