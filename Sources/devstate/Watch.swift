// SPDX-License-Identifier: MIT
import ArgumentParser
import DevstateAnalysis
import DevstateBytes
import DevstateIngest
import DevstateModel
import DevstateQMP
import DevstateRender
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

struct Watch: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Follow a running QEMU over QMP and write each completed migration's metrics for node_exporter.",
        discussion: """
            On every migration that reaches "completed" on this QEMU, as source or as destination, \
            the watcher asks query-migrate and replaces DIR/devstate-VM.prom (node_exporter's \
            textfile collector format; written to a temporary file and renamed) with that \
            migration's metrics: downtime, phases, per-device save or load times \
            (docs/prometheus.md). It keeps running across migrations and exits when QEMU goes away.
            Give the watcher its own QMP monitor: one monitor serves one client, and QEMU accepts \
            several (-qmp unix:/run/devstate/VM.qmp,server=on,wait=off).
            It waits for MIGRATION events, which QEMU sends only with the migration capability \
            "events" on (libvirt turns it on); while it is off the watcher asks query-migrate every \
            --poll seconds instead. It sends only read-only commands (qmp_capabilities, \
            query-qmp-schema, query-name, query-migrate-capabilities, query-migrate) and asks after \
            the migration has completed, so it never holds the migration up.
            A QEMU without our device-state-times series is named as such on standard error; its \
            file holds what query-migrate has: the downtime, setup and total time (source side).
            Exit status: \(Status.ok) = QEMU went away (or --once: the migration was within \
            budget); \(Status.overBudget) = a migration was over --budget; \(Status.notCompleted) = \
            --once, but QEMU went away before a migration completed; \(Status.error) = the socket, \
            QMP or the textfile directory failed; \(Status.usage) = bad usage.
            """
    )

    @Option(name: .customLong("qmp"), help: ArgumentHelp("The QEMU's QMP unix socket (a monitor of its own).", valueName: "socket"))
    var socket: String

    @Option(name: .customLong("textfile"), help: ArgumentHelp("node_exporter's textfile directory (--collector.textfile.directory).", valueName: "dir"))
    var directory: String

    @OptionGroup var metrics: MetricOptions

    @Flag(help: "Exit after the first migration written (for CI: the exit status is the budget's).")
    var once = false

    @Option(help: ArgumentHelp("Seconds between query-migrate polls while MIGRATION events are off.", valueName: "seconds"))
    var poll: Double = 1

    @Option(help: "Seconds to wait for QEMU's answer to a command.")
    var timeout: Int = 10

    @Option(name: .customLong("no-vmsd"), help: ArgumentHelp("Also treat this idstr as having no vmsd on the destination (repeatable).", valueName: "idstr"))
    var noVMSD: [String] = []

    func validate() throws {
        if !(poll >= 0.05 && poll <= 3600) { throw ValidationError("--poll is from 0.05 to 3600 seconds") }
        if timeout < 1 { throw ValidationError("--timeout must be at least 1") }
        var info = stat()
        guard stat(directory, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
            throw ValidationError("--textfile \(directory): not a directory")
        }
        guard access(directory, W_OK) == 0 else {
            throw ValidationError("--textfile \(directory): not writable (\(String(cString: strerror(errno))))")
        }
    }

    /// The .prom file's name: devstate-VM.prom with anything but [A-Za-z0-9._-] turned into _.
    static func fileName(vm: String) -> String {
        let safe = vm.unicodeScalars.prefix(200).map { c -> Character in
            c.isASCII && (c.properties.isAlphabetic || ("0"..."9").contains(c) || "._-".unicodeScalars.contains(c))
                ? Character(c) : "_"
        }
        return "devstate-" + String(safe) + ".prom"
    }

    func run() throws {
        let client: QMPClient
        do {
            client = try QMPClient(socketPath: socket, timeoutSeconds: timeout)
        } catch {
            printError("\(socket): \(error)")
            throw Status.error.exit
        }
        var session = WatchSession(command: self, client: client)
        throw session.follow().exit
    }
}

/// One watcher's state while it follows its QEMU.
struct WatchSession {
    let command: Watch
    let client: QMPClient
    let members: Set<String>?
    let noSchemaReason: String?
    let vm: String
    let file: String
    /// Whether MIGRATION events come (the "events" capability); polled otherwise.
    var events: Bool
    /// The last status seen: a migration is written once, when it becomes completed.
    var status: String?
    var written = 0
    var overBudget = false
    /// Outcome messages already printed (a QEMU without the series says so once).
    var said: Set<String> = []
    var saidNoSeries = false

    init(command: Watch, client: QMPClient) {
        self.command = command
        self.client = client
        (members, noSchemaReason) = seriesMembers(client)
        vm = command.metrics.vm ?? client.queryName() ?? socketName(command.socket)
        file = Watch.fileName(vm: vm)
        events = client.migrationEventsEnabled()
    }

    mutating func follow() -> Status {
        let version = client.qemuVersion.map { "QEMU \($0)" } ?? "QEMU"
        printError("watching \(version) at \(command.socket) (vm \(vm)): "
            + (events ? "MIGRATION events on" : "MIGRATION events off (capability events), asking query-migrate every \(command.poll) s")
            + "; each completed migration replaces \(command.directory)/\(file)")
        if let members, Series.from(members: members.intersection(SeriesMember.all)) == .none {
            saidNoSeries = true
            printError("this QEMU does not have our device-state-times series (query-qmp-schema): the file will "
                + "hold query-migrate's downtime, setup and total time, no per-device times. "
                + QueryMigrateReport.traceHint)
        }
        do {
            // A migration that completed before the watcher started is written too.
            try check(at: nil)
            if command.once, written > 0 { return overBudget ? .overBudget : .ok }
            while true {
                let wait = events ? 60_000 : Int32(command.poll * 1000)
                let event = try client.nextEvent(timeoutMS: wait)
                if let event, event.name == "MIGRATION", let s = event.status {
                    events = true
                    if s == "completed", status != "completed" {
                        try write(at: event.timestamp.map { Int64(($0 * 1e6).rounded()) })
                    }
                    status = s
                } else if event == nil, !events {
                    try check(at: nil)
                }
                if command.once, written > 0 { return overBudget ? .overBudget : .ok }
            }
        } catch let error as QMPError where error.closed {
            printError("\(command.socket): QEMU went away (QMP connection closed) after \(written) "
                + "migration\(written == 1 ? "" : "s") written to \(command.directory)/\(file)")
            if command.once, written == 0 { return .notCompleted }
            return overBudget ? .overBudget : .ok
        } catch {
            printError("\(command.socket): \(error)")
            return .error
        }
    }

    /// Asks query-migrate's status; writes when a migration has newly completed.
    mutating func check(at: Int64?) throws {
        let reply = try client.queryMigrate()
        if reply.status == "completed", status != "completed" { try write(at: at, reply: reply) }
        status = reply.status
    }

    /// Renders the completed migration query-migrate describes into the textfile.
    mutating func write(at: Int64?, reply given: MigrateReply? = nil) throws {
        let reply = try given ?? client.queryMigrate()
        status = reply.status
        guard reply.status == "completed" else { return }
        let role: Side = reply.isOutgoing ? .source : .destination
        let input = QueryMigrateInput(endpoint: command.socket, role: role, qemuVersion: client.qemuVersion,
                                      reply: reply, schemaMembers: members, noSchemaReason: noSchemaReason)
        var text = ""
        let sink = OpenMetricsSink(out: .strings { text += $0 }, maxDevices: command.metrics.maxDevices, queryVM: vm)
        sink.completedAtUS = [role: at ?? unixMicros()]
        let (gated, budget) = command.metrics.gate(sink, vms: .one(vm))
        let facts = render(
            [input], analyzer: Analyzer(knowledge: DeviceKnowledge(extraNoVMSD: command.noVMSD)), sink: gated)
        for f in facts where !(f.outcome == .noSeries && saidNoSeries) {
            if let message = f.message, said.insert(message).inserted { printError(message) }
        }
        do throws(SystemError) {
            try replaceFile(directory: command.directory, name: file, contents: text)
        } catch {
            throw QMPError("cannot write \(command.directory)/\(file): \(error)")
        }
        written += 1
        let devices = facts.first?.rendered == true ? ", per-device times" : ""
        printError("migration \(written) completed (\(role.rawValue)\(devices)): wrote \(command.directory)/\(file)")
        if let message = budget?.message {
            printError(message)
            overBudget = true
        }
    }
}
