// SPDX-License-Identifier: MIT
import DevstateModel

/// The end of the table report and of `--summary`: what was read.
extension TableWriter {
    /// The query-migrate replies with their outcome, then the logs with their counts and first
    /// malformed lines.
    static func inputsText(_ inputs: [InputSummary], _ text: TextLayout) -> String {
        var t = ""
        let replies = inputs.filter { $0.queryMigrate != nil }
        if !replies.isEmpty {
            t += text.wrap("Read \(replies.count) query-migrate repl\(replies.count == 1 ? "y" : "ies"):")
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
                t += text.wrap(line, indent: 2)
                if let message = q.message { t += text.wrap(message, indent: 4, hang: 0) }
            }
        }
        let logs = inputs.filter { $0.queryMigrate == nil }
        guard !logs.isEmpty else { return t }
        let runs = logs.reduce(0) { $0 + $1.sources }
        let loads = logs.reduce(0) { $0 + $1.destinations }
        t += text.wrap("Read \(plural(logs.count, "log")): \(plural(runs, "source run")), \(plural(loads, "destination load")).")
        for i in logs {
            var line = "\(i.path): \(i.stats.lines) lines, \(i.stats.events) trace events"
            line += i.stats.malformedLines > 0 ? ", \(i.stats.malformedLines) malformed (skipped)" : ", no malformed lines"
            t += text.wrap(line, indent: 2)
            for m in i.stats.malformed {
                t += text.labelled("line \(m.line): \(m.reason): ", m.text, indent: 4)
            }
            if i.stats.malformedLines > i.stats.malformed.count {
                t += text.wrap("… and \(i.stats.malformedLines - i.stats.malformed.count) more", indent: 4)
            }
        }
        return t
    }
}
