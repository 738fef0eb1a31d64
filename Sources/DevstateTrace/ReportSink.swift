// SPDX-License-Identifier: MIT
/// Receives runs as they are ready, then the input summaries; writes text through `out`.
public protocol ReportSink: AnyObject {
    func begin()
    func run(_ run: RunReport)
    func end(inputs: [InputSummary])
    /// Writes out what the sink holds back (it may gather several runs' text into one write),
    /// for a report that stops without `end`: a log that could not be read to its end.
    func flush()
    /// Whether the sink writes every run it is given (`OpenMetricsSink` keeps each VM's last):
    /// then the rendering thread has work for every run, which decides how many threads read
    /// the log (`ReportPipeline.readerThreads`).
    var writesEveryRun: Bool { get }
}

extension ReportSink {
    public func flush() {}
    public var writesEveryRun: Bool { true }
}

/// The output formats of `devstate report` and `devstate query`.
public enum OutputFormat: String, CaseIterable, Sendable {
    case table, json, csv, openmetrics
}
