// SPDX-License-Identifier: MIT
import DevstateAnalysis
import DevstateBytes
import DevstateIngest
import DevstateModel
import DevstateQMP
import DevstateRender
import FoundationEssentials

// What `query` and `watch` ask a QEMU besides query-migrate.

/// The members of query-migrate's return type from query-qmp-schema, or why there are none.
func seriesMembers(_ client: QMPClient) -> (Set<String>?, reason: String?) {
    do {
        return (try client.queryMigrateMembers(), nil)
    } catch {
        return (nil, "query-qmp-schema gave no answer to use (\(error))")
    }
}

/// One migration from its source and/or destination reply into `sink`: run 1 when any side
/// has a report, then the inputs. Returns what was concluded for each input.
@discardableResult
func render(_ replies: [QueryMigrateInput], analyzer: Analyzer = Analyzer(), sink: ReportSink) -> [QueryMigrateFacts] {
    let (facts, source, destination, inputs) = QueryMigrateReport.sides(replies)
    sink.begin()
    if source != nil || destination != nil {
        sink.run(analyzer.report(index: 1, source: source, destination: destination))
    }
    sink.end(inputs: inputs)
    return facts
}

/// A QMP socket's file name without its extension: "/run/vm1.qmp" → "vm1".
func socketName(_ path: String) -> String {
    let file = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
    return file.isEmpty ? "qemu" : file
}

/// Now, as Unix µs.
func unixMicros() -> Int64 {
    Int64((Date().timeIntervalSince1970 * 1e6).rounded())
}
