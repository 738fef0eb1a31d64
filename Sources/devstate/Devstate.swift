// SPDX-License-Identifier: MIT
import ArgumentParser
// devstate_version_string() is declared in <devstate/devstate.h> (CShim) and implemented by
// DeviceStateTimes, which links it.
import CShim
import DevstateAnalysis
import DevstateBytes
import DevstateIngest
import DevstateModel
import DevstateQMP
import DevstateRender

@main
struct Devstate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devstate",
        abstract: "Per-device downtime of QEMU live migrations, from stock QEMU trace logs or from query-migrate.",
        discussion: """
            With no arguments, `devstate report` renders the real QEMU 10.0 trace logs shipped \
            with it (pc and q35, source and destination; installed under \
            share/devstate/fixtures/qemu-10.0, in a checkout under Tests/Fixtures/qemu-10.0); \
            `devstate report --release 10.2` those of QEMU 10.2.
            Capture your own with QEMU ≥ 8.2: -trace vmstate_downtime_save -trace \
            vmstate_downtime_load -trace vmstate_downtime_checkpoint -msg timestamp=on -D LOG; \
            on a running QEMU, `devstate trace on --qmp SOCKET` or `--domain NAME` (libvirt), and \
            `devstate report --domain NAME` reads libvirt's per-VM log.
            """,
        // The library's release (libdevstate's devstate_version_string), which the CLI is part of.
        version: String(cString: devstate_version_string()),
        subcommands: [Report.self, Query.self, Watch.self, Trace.self],
        defaultSubcommand: Report.self
    )
}

/// Exit statuses of `devstate report` and `devstate query` (also in their --help and in
/// Sources/devstate/README.md).
enum Status: Int32, CaseIterable, CustomStringConvertible {
    /// Report complete.
    case ok = 0
    /// An input could not be read (file, socket, QMP error, reply that is not query-migrate's),
    /// or the output could not be written.
    case error = 1
    /// query-migrate: the QEMU does not have our device-state-times series (use trace logs).
    case noSeries = 2
    /// Trace logs: report printed, but malformed lines were skipped.
    case skipped = 3
    /// `--plot`: the chart could not be drawn (the report is complete).
    case plotFailed = 4
    /// query-migrate: the series is there, but a side has no completed migration yet.
    case notCompleted = 5
    /// query-migrate: report printed, but PARTIAL (0.1.0-only series, or members missing).
    case partial = 6
    /// `--budget`: a migration's downtime, or one device, took longer than the budget (the
    /// report is complete; this wins over 2–6).
    case overBudget = 7
    /// Trace logs: not one `vmstate_downtime_*` event in any input (an empty file, a log of a QEMU
    /// that was not tracing, a binary file); `trace on`: the events are unavailable in this QEMU,
    /// or its trace backend does not write them where devstate reads. The message says how to
    /// capture a trace.
    case noTrace = 8
    /// Bad usage: EX_USAGE, what ArgumentParser exits with on a validation error
    /// (`ExitCode.validationFailure`).
    case usage = 64

    var description: String { String(rawValue) }

    /// For `throw`: ends the command with this status.
    var exit: ExitCode { ExitCode(rawValue) }

    /// The exit status for the worst outcome of the query-migrate inputs.
    static func of(_ facts: [QueryMigrateFacts]) -> Status {
        switch facts.map(\.outcome).max() ?? .complete {
        case .complete: .ok
        case .partial: .partial
        case .notCompleted: .notCompleted
        case .noSeries: .noSeries
        }
    }

    static let queryMigrateHelp = """
        Exit status with query-migrate replies (the worst side decides): \(ok) = complete report; \
        \(partial) = PARTIAL report (a QEMU with only the 0.1.0 series: source non-iterable saves \
        only; the output says what is missing); \(notCompleted) = a side has no completed \
        migration (status shown); \(noSeries) = the QEMU does not have the device-state-times \
        series (use trace logs); \(error) = error (socket, QMP, unreadable reply); \(usage) = bad usage.
        With --budget, \(overBudget) = over budget (wins over every status but \(error) and \(usage)).
        """
}
