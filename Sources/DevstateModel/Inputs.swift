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

/// Errors opening or reading an input.
public struct LogReadError: Error, Equatable, Sendable, CustomStringConvertible {
    public var path: String
    public var message: String
    public var description: String { "\(path): \(message)" }

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }
}

/// Counts of one pass over a log.
public struct ReadStats: Sendable, Equatable {
    public var bytes: UInt64 = 0
    public var lines: Int = 0
    /// Lines that held `vmstate_downtime_` (read as events or counted as malformed).
    public var candidateLines: Int = 0
    public var events: Int = 0
    public var malformedLines: Int = 0
    /// The first few malformed lines, in order.
    public var malformed: [MalformedLine] = []
    /// Whether the last line had no newline (QEMU always ends its lines).
    public var endedWithoutNewline = false

    public init() {}
}

/// One input as the report read it: a log with its counts, or a `query-migrate` reply.
public struct InputSummary: Sendable, Equatable {
    public var path: String
    /// "source", "destination", "libvirt" or "auto".
    public var role: String
    public var stats: ReadStats
    public var sources: Int = 0
    public var destinations: Int = 0
    /// Set for a `query-migrate` reply (a QMP socket or a saved reply) instead of a log.
    public var queryMigrate: QueryMigrateFacts?

    public init(path: String, role: String, stats: ReadStats = ReadStats()) {
        self.path = path
        self.role = role
        self.stats = stats
    }
}

/// How much of our series a QEMU has.
public enum Series: String, Sendable, Equatable {
    /// None of the members: a stock QEMU (or another patch set).
    case none
    /// Only `device-state-times` (source, non-iterable saves).
    case v010 = "0.1.0"
    /// The whole downtime: iterable saves, loads and checkpoints too.
    case v020 = "0.2.0"
    /// Only each side's downtime in the lists, and the count of what they could not keep.
    case v030 = "0.3.0"
    /// A saved reply of a migration that has not completed: the members would not be there
    /// either way, and there is no schema to ask.
    case unknown
}

/// How the series was told.
public enum SeriesEvidence: String, Sendable, Equatable {
    /// From `query-qmp-schema`: the members of `query-migrate`'s return type.
    case schema = "query-qmp-schema"
    /// From the members present in the reply (a saved reply, or the schema could not be read).
    case members
}

/// What a `query-migrate` reply gave for one side.
public enum QueryOutcome: String, Sendable, Equatable, Comparable {
    /// Everything the series gives for this side.
    case complete
    /// A report, but some of what the full series gives is missing (`QueryMigrateFacts.missing`).
    case partial
    /// The series is there (or cannot be told) but this side has no completed migration.
    case notCompleted = "not-completed"
    /// The QEMU does not have the series.
    case noSeries = "no-series"

    private var rank: Int {
        switch self {
        case .complete: 0
        case .partial: 1
        case .notCompleted: 2
        case .noSeries: 3
        }
    }

    public static func < (a: QueryOutcome, b: QueryOutcome) -> Bool { a.rank < b.rank }
}

/// What stock QEMU reports for an outgoing migration in `query-migrate`, in ms.
public struct QEMUTimes: Sendable, Equatable {
    public var downtimeMS: UInt64?
    public var setupTimeMS: UInt64?
    public var totalTimeMS: UInt64?

    public init(downtimeMS: UInt64? = nil, setupTimeMS: UInt64? = nil, totalTimeMS: UInt64? = nil) {
        self.downtimeMS = downtimeMS
        self.setupTimeMS = setupTimeMS
        self.totalTimeMS = totalTimeMS
    }

    /// Whether the reply has any of them: only an outgoing migration's reply does.
    public var any: Bool { downtimeMS != nil || setupTimeMS != nil || totalTimeMS != nil }
    public var downtimeUS: UInt64? { downtimeMS.map { $0 * 1000 } }
}

/// What the report concluded about one `query-migrate` input.
public struct QueryMigrateFacts: Sendable, Equatable {
    public var endpoint: String
    public var role: Side
    public var qemuVersion: String?
    /// `status` of the reply; nil when the reply has none (no migration yet).
    public var status: String?
    public var series: Series
    public var seriesFrom: SeriesEvidence
    public var outcome: QueryOutcome
    /// Members this side would have with the full series but the reply lacks.
    public var missing: [String]
    /// A paragraph for every outcome but `complete`.
    public var message: String?
    /// Whether the side is in the report.
    public var rendered: Bool
    /// QEMU's own `downtime`, `setup-time` and `total-time`.
    public var qemuTimes: QEMUTimes
    /// `downtime-entries-dropped`; nil when the reply has no such member (series before 0.3.0).
    public var entriesDropped: UInt64?

    public init(endpoint: String, role: Side, qemuVersion: String? = nil, status: String? = nil,
                series: Series, seriesFrom: SeriesEvidence, outcome: QueryOutcome, missing: [String] = [],
                message: String? = nil, rendered: Bool, qemuTimes: QEMUTimes = QEMUTimes(),
                entriesDropped: UInt64? = nil) {
        self.endpoint = endpoint
        self.role = role
        self.qemuVersion = qemuVersion
        self.status = status
        self.series = series
        self.seriesFrom = seriesFrom
        self.outcome = outcome
        self.missing = missing
        self.message = message
        self.rendered = rendered
        self.qemuTimes = qemuTimes
        self.entriesDropped = entriesDropped
    }
}
