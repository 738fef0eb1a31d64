// SPDX-License-Identifier: MIT
import ArgumentParser
import DevstateAnalysis
import DevstateBytes
import DevstateIngest
import DevstateModel
import DevstateQMP
import DevstateRender

struct Query: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ask running QEMUs over QMP for query-migrate and report the whole downtime.",
        discussion: """
            SOURCE is the source QEMU's QMP unix socket (-qmp unix:PATH,server=on,wait=off), \
            DESTINATION the destination's. With our device-state-times series (0.2.0) \
            query-migrate holds the source's non-iterable and iterable saves, the destination's \
            loads and the downtime checkpoints: the report (phases, devices, shares, notes) is \
            the one `devstate report` renders from trace logs, in the same table, JSON and CSV. \
            Only read-only commands are sent: qmp_capabilities, query-qmp-schema, query-name, query-migrate.
            --format openmetrics writes the migration as Prometheus metrics (docs/prometheus.md); \
            a QEMU without the series still gives query-migrate's downtime, setup and total time.
            With downtime-steps the run-state change handlers and steps of each side are shown \
            by phase; each side states the share of its downtime that has a name.
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

    @OptionGroup var output: OutputOptions

    @OptionGroup var metrics: MetricOptions

    @Option(name: .customLong("no-vmsd"), help: ArgumentHelp("Also treat this idstr as having no vmsd on the destination (repeatable).", valueName: "idstr"))
    var noVMSD: [String] = []

    @Option(help: "Seconds to wait for QEMU's answers.")
    var timeout: Int = 10

    func validate() throws {
        if sockets.count > 2 { throw ValidationError("at most two sockets: SOURCE and DESTINATION") }
        if destinationSocket != nil, sockets.count > 1 { throw ValidationError("give the destination socket either as an argument or with --destination") }
        if sockets.isEmpty, destinationSocket == nil { throw ValidationError("give the source QEMU's QMP socket (and the destination's)") }
    }

    /// Asks one QEMU: its schema (for the series) and name, then query-migrate.
    func ask(_ path: String, role: Side) throws -> (QueryMigrateInput, name: String?) {
        let client = try QMPClient(socketPath: path, timeoutSeconds: max(1, timeout))
        let (members, reason) = seriesMembers(client)
        let name = client.queryName()
        let reply = try client.queryMigrate()
        return (QueryMigrateInput(endpoint: path, role: role, qemuVersion: client.qemuVersion, reply: reply,
                                  schemaMembers: members, noSchemaReason: reason), name)
    }

    func run() throws {
        var targets: [(String, Side)] = []
        if let source = sockets.first { targets.append((source, .source)) }
        if let destination = destinationSocket ?? (sockets.count > 1 ? sockets[1] : nil) {
            targets.append((destination, .destination))
        }
        var inputs: [QueryMigrateInput] = []
        var names: [String] = []
        for (path, role) in targets {
            do {
                let (input, name) = try ask(path, role: role)
                inputs.append(input)
                if let name { names.append(name) }
            } catch {
                printError("\(path) (\(role.rawValue)): \(error)")
                throw Status.error.exit
            }
        }
        let vms = VMNames.one(metrics.vm ?? names.first ?? socketName(targets[0].0))
        let out = Output()
        let report = output.sink(out: out.text, metrics: metrics, vms: vms)
        // The figures are of migrations that have completed by now.
        (report as? OpenMetricsSink)?.completedAtUS = [.source: unixMicros(), .destination: unixMicros()]
        let (sink, budget) = metrics.gate(report, vms: vms)
        let facts = render(
            inputs, analyzer: Analyzer(knowledge: DeviceKnowledge(extraNoVMSD: noVMSD)),
            sink: sink)
        try out.finish()
        let status = finish(finishQueryMigrate(facts, format: output.format), report: report, budget: budget)
        if status != .ok { throw status.exit }
    }
}
