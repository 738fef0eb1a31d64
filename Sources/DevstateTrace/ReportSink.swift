// SPDX-License-Identifier: MIT
/// Receives runs as they are ready, then the input summaries; writes text through `out`.
public protocol ReportSink: AnyObject {
    func begin()
    func run(_ run: RunReport)
    func end(inputs: [InputSummary])
}

/// The output formats of `devstate report` and `devstate query`.
public enum OutputFormat: String, CaseIterable, Sendable {
    case table, json, csv, openmetrics
}
