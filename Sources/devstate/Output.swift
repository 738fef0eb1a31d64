// SPDX-License-Identifier: MIT
import ArgumentParser
import DevstateAnalysis
import DevstateBytes
import DevstateIngest
import DevstateModel
import DevstateQMP
import DevstateRender
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

// The report and query subcommands share their output options and their output.

/// `--format` is the library's `OutputFormat`: one type for report, query and `--summary`.
extension OutputFormat: ExpressibleByArgument {}

/// The output options of `report` and `query`.
struct OutputOptions: ParsableArguments {
    @Option(help: "Output format.")
    var format: OutputFormat = .table

    @Flag(help: "Indent the JSON output.")
    var pretty = false

    @Option(help: ArgumentHelp("Devices per run in the table (default \(OutputOptions.defaultTop)); with --summary, devices across runs (default 15).",
                               valueName: "n"))
    var top: Int?

    @Flag(help: "Every device and every device type of each run in the table (default: the \(OutputOptions.defaultTop) longest devices, and by type only the types with several devices). JSON and CSV are always complete.")
    var all = false

    @Option(help: "Table width in columns (default: the terminal's, else $COLUMNS, else 100).")
    var width: Int?

    static let defaultTop = 10

    func validate() throws {
        if let top, top < 1 { throw ValidationError("--top must be at least 1") }
        if all, top != nil { throw ValidationError("--all shows every device; leave out --top") }
    }

    var tableDetail: TableDetail { all ? .full : .concise(top: top ?? Self.defaultTop) }

    /// The sink for a report; `vms` names the VMs of the metrics (openmetrics only).
    func sink(out: TextOut, metrics: MetricOptions, vms: VMNames) -> ReportSink {
        switch format {
        case .table: TableSink(width: width ?? terminalWidth(), detail: tableDetail, out: out)
        case .json: JSONSink(pretty: pretty, out: out)
        case .csv: CSVSink(out: out)
        case .openmetrics: OpenMetricsSink(out: out, maxDevices: metrics.maxDevices, queryVM: vms.query, vmName: vms.ofRun)
        }
    }
}

/// `--budget`'s argument.
extension Budget: ExpressibleByArgument {
    public init?(argument: String) { self.init(parsing: argument) }
}

/// The metric and budget options of `report`, `query` and `watch`.
struct MetricOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The vm label of the metrics (--format openmetrics, watch) and the name in budget messages (default: report: the log's or fixture's name; query and watch: QEMU's -name, else the socket's file name).",
                               valueName: "name"))
    var vm: String?

    @Option(help: ArgumentHelp("Metrics: the N longest devices of each side keep their own series; the rest are summed into device=\"other\" (bounds the label cardinality).",
                               valueName: "n"))
    var maxDevices: Int = OpenMetricsSink.defaultMaxDevices

    @Option(help: ArgumentHelp("Exit with status \(Status.overBudget) when the downtime, the destination's load to vm started or any one device took longer, e.g. 300ms, 1.5s, 800us; the message names the devices that used the budget.",
                                valueName: "duration"))
    var budget: Budget?

    func validate() throws {
        if maxDevices < 1 { throw ValidationError("--max-devices must be at least 1") }
        if let vm, vm.isEmpty { throw ValidationError("--vm must not be empty") }
    }

    /// Wraps `sink` in the budget check when there is a budget.
    func gate(_ sink: ReportSink, vms: VMNames) -> (ReportSink, BudgetCheck?) {
        guard let budget else { return (sink, nil) }
        let check = BudgetCheck(budget: budget, next: sink, queryVM: vms.query, vmName: vms.ofRun)
        return (check, check)
    }
}

/// How the VMs of a report are named: per run (trace logs), or one name for query-migrate.
struct VMNames {
    var query: String
    var ofRun: ((RunReport) -> String)?

    static func one(_ name: String) -> VMNames { VMNames(query: name, ofRun: nil) }
}

/// After the report: the metrics' notes and the budget's verdict on standard error, and the
/// exit status with the budget taken into account (over budget wins over every status but error).
/// `report` is the format's sink, before `MetricOptions.gate` wrapped it.
func finish(_ status: Status, report: ReportSink, budget: BudgetCheck?) -> Status {
    if let metrics = report as? OpenMetricsSink { metrics.notes.forEach(printError) }
    guard let budget else { return status }
    if let message = budget.message {
        printError(message)
        return status == .error || status == .usage ? status : .overBudget
    }
    if budget.judged == 0 {
        printError("budget (\(budget.budget)): nothing to judge (no completed migration with a downtime or devices)")
    }
    return status
}

/// Buffered standard output. After a failed write nothing more is written and `failure` says why.
final class Output {
    private var pending = ByteBuffer(capacity: Output.block)
    private(set) var failure: String?

    /// Written in blocks of this size (`TextOut.batchBytes`: a sink's piece goes out as it is).
    static let block = 1 << 18

    /// Where the sinks write.
    var text: TextOut { .bytes { [self] in write($0) } }

    func write(_ bytes: UnsafeRawBufferPointer) {
        if pending.count + bytes.count > Self.block { flush() }
        if bytes.count >= Self.block {
            put(bytes)  // a big piece goes out as it is, without a copy
        } else {
            pending.append(bytes)
        }
    }

    func flush() {
        pending.withBytes { put($0) }
        pending.removeAll()
    }

    private func put(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty, failure == nil else { return }
        do throws(SystemError) {
            try writeAll(STDOUT_FILENO, bytes)
        } catch {
            failure = "standard output: \(error.description)"
        }
    }

    /// Flushes, and ends the command if the output could not be written.
    func finish() throws {
        flush()
        if let failure {
            printError(failure)
            throw Status.error.exit
        }
    }
}

func printError(_ text: String) {
    var line = "devstate: " + text + "\n"
    line.withUTF8 { try? writeAll(STDERR_FILENO, UnsafeRawBufferPointer($0)) }
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

/// Writes the outcome paragraphs of query-migrate inputs to standard error when the output is
/// JSON, CSV or OpenMetrics (the table prints them itself) and returns the exit status.
func finishQueryMigrate(_ facts: [QueryMigrateFacts], format: OutputFormat) -> Status {
    if format != .table {
        for f in facts { if let message = f.message { printError(message) } }
    }
    return Status.of(facts)
}
