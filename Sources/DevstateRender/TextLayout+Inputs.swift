// SPDX-License-Identifier: MIT
import DevstateBytes
import DevstateModel

/// The end of the table report and of `--summary`: what was read.
extension TextLayout {
    /// The query-migrate replies with their outcome, then the logs with their counts and first
    /// malformed lines.
    func writeInputs(_ inputs: [InputSummary], into out: inout ByteBuffer) {
        let replies = inputs.filter { $0.queryMigrate != nil }
        if !replies.isEmpty {
            wrap("Read \(replies.count) query-migrate repl\(replies.count == 1 ? "y" : "ies"):", into: &out)
            for i in replies {
                let q = i.queryMigrate!
                var line = "\(i.path) (\(i.role)): " + (q.qemuVersion.map { "QEMU \($0), " } ?? "")
                line += "status \(q.status ?? "none"), series \(q.series.rawValue) (from \(q.seriesFrom.rawValue)): "
                switch q.outcome {
                case .complete: line += "complete"
                case .partial: line += "PARTIAL, missing " + q.missing.joined(separator: ", ")
                case .notCompleted: line += "no completed migration"
                case .noSeries: line += "no device-state-times series"
                }
                wrap(line, indent: 2, into: &out)
                if let message = q.message { wrap(message, indent: 4, hang: 0, into: &out) }
            }
        }
        let logs = inputs.filter { $0.queryMigrate == nil }
        guard !logs.isEmpty else { return }
        let runs = logs.reduce(0) { $0 + $1.sources }
        let loads = logs.reduce(0) { $0 + $1.destinations }
        wrap("Read \(plural(logs.count, "log")): \(plural(runs, "source run")), \(plural(loads, "destination load")).",
             into: &out)
        for i in logs {
            var line = "\(i.path): \(i.stats.lines) lines, \(i.stats.events) trace events"
            line += i.stats.malformedLines > 0 ? ", \(i.stats.malformedLines) malformed (skipped)" : ", no malformed lines"
            wrap(line, indent: 2, into: &out)
            for m in i.stats.malformed {
                labelled("line \(m.line): \(m.reason): ", m.text, indent: 4, into: &out)
            }
            if i.stats.malformedLines > i.stats.malformed.count {
                wrap("… and \(i.stats.malformedLines - i.stats.malformed.count) more", indent: 4, into: &out)
            }
        }
    }
}
