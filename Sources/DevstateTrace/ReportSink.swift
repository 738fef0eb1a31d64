// SPDX-License-Identifier: MIT
/// Receives runs as they are ready, then the input summaries; writes text through `out`.
public protocol ReportSink: AnyObject {
    func begin()
    func run(_ run: RunReport)
    func end(inputs: [InputSummary])
    /// Writes out what the sink holds back (it may gather several runs' text into one write),
    /// for a report that stops without `end`: a log that could not be read to its end.
    func flush()
}

extension ReportSink {
    public func flush() {}
}

/// The output formats of `devstate report` and `devstate query`.
public enum OutputFormat: String, CaseIterable, Sendable {
    case table, json, csv, openmetrics
}
