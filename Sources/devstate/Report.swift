// SPDX-License-Identifier: MIT
import ArgumentParser
import DevstateAnalysis
import DevstateBytes
import DevstateIngest
import DevstateModel
import DevstateQMP
import DevstateRender
import FoundationEssentials

/// The QEMU release whose shipped trace logs (Tests/Fixtures/qemu-RELEASE) are rendered.
enum FixtureRelease: String, ExpressibleByArgument, CaseIterable {
    /// Stock 10.0.x from Debian bookworm-backports (`TID@SECONDS.MICROS:` stamps).
    case v10_0 = "10.0"
    /// Stock 10.2.x built from Debian's source (ISO 8601 stamps).
    case v10_2 = "10.2"
}

/// The trace logs shipped under Tests/Fixtures/qemu-RELEASE.
enum Fixture: String, ExpressibleByArgument, CaseIterable {
    /// pc and q35.
    case all
    /// Default devices, two migrations in one source log.
    case pc
    /// -smp 2, virtio-net, virtio-blk, e1000e, xhci, VGA.
    case q35
    /// pc without -msg timestamp=on (no phases).
    case pcNoTimestamp = "pc-notimestamp"

    var names: [String] { self == .all ? [Self.pc.rawValue, Self.q35.rawValue] : [rawValue] }

    /// Where they are: $DEVSTATE_FIXTURES (the release's directory); else, installed,
    /// share/devstate/fixtures/qemu-RELEASE beside the binary's bin/ (`make install`, the devstate
    /// package); else Tests/Fixtures/qemu-RELEASE in the source tree this binary was built from
    /// (found from this file's path at compile time).
    static func directory(_ release: FixtureRelease) -> String {
        if let dir = ProcessInfo.processInfo.environment["DEVSTATE_FIXTURES"], !dir.isEmpty { return dir }
        // The running binary, symbolic links resolved.
        if let binary = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            let installed = URL(fileURLWithPath: binary).deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("share/devstate/fixtures/qemu-\(release.rawValue)").path
            if FileManager.default.fileExists(atPath: installed) { return installed }
        }
        let here = URL(fileURLWithPath: #filePath)
        return here.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Tests/Fixtures/qemu-\(release.rawValue)").path
    }
}

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Report per-device save/load times and downtime phases from QEMU trace logs.",
        discussion: """
            SOURCE is the source QEMU's trace log (-D), DESTINATION the destination's. A source \
            log may hold several migrations: it is split into runs at each src-downtime-start. \
            The destination's load is shown beside the source's last run. Use - for standard input.
            The table shows each run's phases, its \(OutputOptions.defaultTop) longest devices and \
            the device types with several devices; --all shows every device and type.
            The source's device-state-times (JSON) is what a reference-patched QEMU's \
            query-migrate would return; entries QEMU registers without a vmsd (ram, \
            dirty-bitmap, slirp, …/vfio, todclock, s390-skeys, spapr/htab) are listed apart.
            With --qmp the files are saved query-migrate replies of a QEMU with our series \
            (source, then destination; the whole {"return": …} or the inner object), rendered \
            as `devstate query` renders them; a saved reply has no schema, so the series is \
            judged from the members present.
            --format openmetrics writes the last migration of each VM (or --run N) as Prometheus \
            metrics (docs/prometheus.md).
            Each side states the share of its downtime that has a name (devices, and with our \
            QEMU series the run-state change handlers and steps of vmstate_downtime_step, shown \
            by phase); from a stock QEMU, the devices' alone.
            With --domain NAME (or a libvirt log given as the one log) the file is libvirt's \
            per-VM log: it is split by QEMU process (libvirt's `starting up` lines), libvirt's own \
            lines are ignored, and a save (virsh save, managedsave: `shutting down, reason=saved`) \
            is shown beside the restore that loaded it (the next process, started with -incoming).
            Exit status: \(Status.ok) = report complete; \(Status.skipped) = report printed but \
            malformed lines were skipped; \(Status.noTrace) = no vmstate_downtime_* event in any \
            input (the message says how to capture one); \(Status.plotFailed) = the plot could not be drawn; \
            \(Status.overBudget) = over --budget; \(Status.error) = an input could not be read; \
            \(Status.usage) = bad usage.
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

    @Option(help: "Built-in fixture to render when no log is given; all means pc and q35.")
    var fixture: Fixture = .all

    @Option(help: ArgumentHelp("QEMU release of the built-in fixtures: 10.0 (Debian's package) or 10.2 (built from Debian's source), both stock.",
                               valueName: "release"))
    var release: FixtureRelease = .v10_0

    @OptionGroup var output: OutputOptions

    @OptionGroup var metrics: MetricOptions

    @Option(help: ArgumentHelp("Also draw a PNG bar chart of each run's top devices (needs gnuplot).", valueName: "file.png"))
    var plot: String?

    @Option(help: "Devices per run in the chart.")
    var plotTop: Int = 12

    @Option(help: "Most runs in the chart (the last ones).")
    var plotRuns: Int = 6

    @Flag(help: "One line per run and each device's mean and max over all runs (for logs with many migrations); works with every --format.")
    var summary = false

    @Option(name: .customLong("run"), help: "Render only run N (1-based, counted across the report).")
    var onlyRun: Int?

    @Option(name: .customLong("no-vmsd"), help: ArgumentHelp("Also treat this idstr as having no vmsd (repeatable).", valueName: "idstr"))
    var noVMSD: [String] = []

    @Option(help: "Malformed lines shown per log with their line numbers (all are counted).")
    var showMalformed: Int = 10

    @Option(help: ArgumentHelp("A libvirt domain: read its QEMU log, LIBVIRT-LOG-DIR/NAME.log, split by QEMU process, each save paired with its restore.",
                               valueName: "name"))
    var domain: String?

    @Option(help: ArgumentHelp("Where libvirt writes its per-VM QEMU logs (with --domain).", valueName: "dir"))
    var libvirtLogDir: String = "/var/log/libvirt/qemu"

    func validate() throws {
        if logs.count > 2 { throw ValidationError("at most two logs: SOURCE and DESTINATION") }
        if sourceLog != nil, !logs.isEmpty { throw ValidationError("give the source log either as an argument or with --source") }
        if destinationLog != nil, logs.count > 1 { throw ValidationError("give the destination log either as an argument or with --destination") }
        if let onlyRun, onlyRun < 1 { throw ValidationError("--run must be at least 1") }
        if plotTop < 1 || plotRuns < 1 { throw ValidationError("--plot-top and --plot-runs must be at least 1") }
        if summary, output.all { throw ValidationError("--all is for the full report; --summary has one line per run") }
        if summary, output.format == .openmetrics {
            throw ValidationError("--summary has no openmetrics form: metrics are of the last migration (--run N picks one)")
        }
        if metrics.vm != nil, !qmp, logs.isEmpty, sourceLog == nil, destinationLog == nil, fixture == .all {
            throw ValidationError("--vm names one VM; the built-in fixtures are two: add --fixture pc or --fixture q35")
        }
        if let domain {
            if domain.isEmpty || domain.contains("/") { throw ValidationError("--domain takes a libvirt domain's name") }
            if qmp || !logs.isEmpty || sourceLog != nil || destinationLog != nil {
                throw ValidationError("--domain reads the domain's libvirt log: give no other log or reply")
            }
        }
        if qmp {
            if logs.isEmpty, sourceLog == nil, destinationLog == nil {
                throw ValidationError("--qmp needs a saved query-migrate reply: SOURCE.json [DESTINATION.json]")
            }
            if summary { throw ValidationError("--summary is for logs with many migrations; --qmp replies hold one") }
            if onlyRun != nil { throw ValidationError("--run does not apply to --qmp (one migration)") }
        }
    }

    /// The source and destination as given (argument or option).
    private var paths: (source: String?, destination: String?) {
        (sourceLog ?? logs.first, destinationLog ?? (logs.count > 1 ? logs[1] : nil))
    }

    /// `--qmp`: the saved replies as query-migrate inputs.
    func savedReplies() throws -> [QueryMigrateInput] {
        let (source, destination) = paths
        if source == "-", destination == "-" { throw ValidationError("only one reply can come from standard input") }
        var inputs: [QueryMigrateInput] = []
        for (path, role) in [(source, Side.source), (destination, Side.destination)] {
            guard let path else { continue }
            let name = path == "-" ? "<stdin>" : path
            do {
                let bytes: [UInt8]?
                do throws(SystemError) {
                    bytes = try InputFile(path: path).readAll()
                } catch {
                    printError("\(name): cannot read: \(error.message)")
                    throw Status.error.exit
                }
                guard let bytes else {
                    printError("\(name): cannot read: over 64 MiB, not a query-migrate reply")
                    throw Status.error.exit
                }
                inputs.append(QueryMigrateInput(endpoint: name, role: role, reply: try MigrateReply(json: Data(bytes)),
                                                noSchemaReason: "a saved reply carries no schema"))
            } catch let error as QueryMigrateError {
                printError("\(name): \(error.description)")
                throw Status.error.exit
            }
        }
        return inputs
    }

    /// The logs to read: the ones given, else the built-in fixtures.
    func groups() throws -> [ReportGroup] {
        let (source, destination) = paths
        if source != nil || destination != nil {
            if source == "-", destination == "-" { throw ValidationError("only one log can come from standard input") }
            func name(_ path: String) -> String { path == "-" ? "<stdin>" : path }
            return [ReportGroup(source: source.map { ReportInput(path: $0, name: name($0), role: .source) },
                                destination: destination.map { ReportInput(path: $0, name: name($0), role: .destination) })]
        }
        let dir = Fixture.directory(release)
        let shown = "fixtures/qemu-\(release.rawValue)"
        return try fixture.names.map { name in
            let s = dir + "/\(name)-source.log", d = dir + "/\(name)-destination.log"
            guard FileManager.default.fileExists(atPath: s), FileManager.default.fileExists(atPath: d) else {
                throw ValidationError("built-in fixture \(name) not found under \(dir) (set DEVSTATE_FIXTURES to Tests/Fixtures/qemu-\(release.rawValue) of a checkout)")
            }
            return ReportGroup(
                source: ReportInput(path: s, name: "\(shown)/\(name)-source.log", role: .source),
                destination: ReportInput(path: d, name: "\(shown)/\(name)-destination.log", role: .destination))
        }
    }

    /// A VM's name from its log's: "logs/web1-source.log" → "web1".
    static func vmName(path: String) -> String {
        var name = Substring(path.split(separator: "/").last ?? "")
        for suffix in [".log", ".json", ".txt"] where name.hasSuffix(suffix) { name = name.dropLast(suffix.count) }
        for suffix in ["-source", "-destination", "-src", "-dst"] where name.hasSuffix(suffix) {
            name = name.dropLast(suffix.count)
        }
        return name.isEmpty || path == "-" ? "stdin" : String(name)
    }

    /// The libvirt log to read: --domain's, or a single log given that starts as libvirt's do.
    var libvirtLog: ReportInput? {
        if let domain {
            let dir = libvirtLogDir.hasSuffix("/") ? String(libvirtLogDir.dropLast()) : libvirtLogDir
            let path = dir + "/" + domain + ".log"
            return ReportInput(path: path, name: path, role: .source)
        }
        let (source, destination) = paths
        if !qmp, destination == nil, let source, source != "-", LibvirtLogReader.looksLikeLibvirtLog(path: source) {
            return ReportInput(path: source, name: source, role: .source)
        }
        return nil
    }

    /// The VM of each group's runs, by the name its logs have in the report.
    func vmNames(_ groups: [ReportGroup]) -> VMNames {
        let (source, destination) = paths
        let given = metrics.vm
        if qmp { return .one(given ?? Self.vmName(path: source ?? destination ?? "-")) }
        var byLog: [String: String] = [:]
        for g in groups {
            let vm: String
            if let given {
                vm = given
            } else if source == nil, destination == nil, let s = g.source {
                vm = Self.vmName(path: s.path)  // a fixture: pc, q35
            } else {
                vm = Self.vmName(path: (g.source ?? g.destination)?.path ?? "-")
            }
            for input in [g.source, g.destination].compactMap({ $0 }) { byLog[input.name] = vm }
        }
        let fallback = given ?? "stdin"
        return VMNames(query: fallback, ofRun: { run in
            (run.source ?? run.destination).flatMap { byLog[$0.log.file] } ?? fallback
        })
    }

    func run() throws {
        let libvirt = libvirtLog
        let replies = qmp ? try savedReplies() : []
        let groups = qmp || libvirt != nil ? [] : try groups()
        let vms = libvirt.map { VMNames.one(metrics.vm ?? domain ?? Self.vmName(path: $0.path)) } ?? vmNames(groups)
        let out = Output()
        let report: ReportSink = summary
            ? SummarySink(format: output.format, width: output.width ?? terminalWidth(), top: output.top ?? 15, out: out.text)
            : output.sink(out: out.text, metrics: metrics, vms: vms)
        let (base, budget) = metrics.gate(report, vms: vms)
        let collector = plot.map { _ in PlotCollector(next: base, top: plotTop, maxRuns: plotRuns) }
        let sink = collector ?? base
        let analyzer = Analyzer(knowledge: DeviceKnowledge(extraNoVMSD: noVMSD))
        var status: Status
        if qmp {
            let facts = render(replies, analyzer: analyzer, sink: sink)
            try out.finish()
            status = finishQueryMigrate(facts, format: output.format)
        } else {
            status = try renderLogs(groups, libvirt: libvirt, analyzer: analyzer, sink: ThreadedSink(next: sink), output: out)
        }
        if let plot, let collector {
            do {
                try drawPlot(collector, to: plot)
                if collector.omittedRuns > 0 {
                    printError("the chart shows the last \(collector.panels.count) runs; \(collector.omittedRuns) earlier runs are not drawn (--plot-runs)")
                }
            } catch {
                printError("\(error)")
                if status == .ok { status = .plotFailed }
            }
        }
        status = finish(status, report: report, budget: budget)
        if status != .ok { throw status.exit }
    }

    func renderLogs(_ groups: [ReportGroup], libvirt: ReportInput?, analyzer: Analyzer, sink: ReportSink,
                    output: Output) throws -> Status {
        let pairing = LogPairing(reader: LogReader(keepMalformed: max(0, showMalformed)), onlyRun: onlyRun)
        // A libvirt log is read whole before its first run: the report begins then (a log that
        // cannot be read writes nothing); trace logs stream, so theirs begins first.
        var begun = false
        func begin() {
            if !begun { sink.begin() }
            begun = true
        }
        let emit: LogPairing.Emit = { index, source, destination in
            begin()
            sink.run(analyzer.report(index: index, source: source, destination: destination))
        }
        let inputs: [InputSummary]
        if libvirt == nil { begin() }
        do {
            if let libvirt {
                let (summaries, log) = try pairing.run(libvirtLog: libvirt, emit: emit)
                inputs = summaries
                begin()
                sink.end(inputs: inputs)
                try output.finish()
                let incoming = log.processes.filter(\.incoming).count
                if log.stats.events > 0 {
                let paired = pairing.runCount == 0 ? 0 : summaries[0].sources + summaries[0].destinations - pairing.runCount
                printError("\(libvirt.name): \(log.processes.count) QEMU process\(log.processes.count == 1 ? "" : "es") (\(incoming) started with -incoming), \(summaries[0].sources) save\(summaries[0].sources == 1 ? "" : "s") and \(summaries[0].destinations) restore\(summaries[0].destinations == 1 ? "" : "s") traced, \(paired) paired")
                }
            } else {
                inputs = try pairing.run(groups: groups, emit: emit)
                sink.end(inputs: inputs)
            }
        } catch let error as LogReadError {
            // The runs read before the error are written all the same.
            if begun { sink.flush() }
            try output.finish()
            printError(error.description)
            if domain != nil, error.message.contains("No such file") {
                printError("no libvirt log for domain \(domain!) under \(libvirtLogDir) (is the domain's name right? --libvirt-log-dir for another place; libvirt writes it as root)")
            }
            throw Status.error.exit
        }
        try output.finish()
        if CaptureHelp.noEvents(inputs) {
            printError(CaptureHelp.noTraceMessage(inputs, domain: domain))
            return .noTrace
        }
        if let only = onlyRun, pairing.rendered == 0 {
            printError("there is no run \(only) (the logs hold \(pairing.runCount))")
            throw Status.error.exit
        }
        let malformed = inputs.reduce(0) { $0 + $1.stats.malformedLines }
        if malformed > 0 {
            printError("skipped \(malformed) malformed line\(malformed == 1 ? "" : "s") (see the report)")
            return .skipped
        }
        return .ok
    }
}
