// SPDX-License-Identifier: MIT
@testable import DevstateTrace
import Foundation
import Testing

/// How many threads read a log, which the pipeline picks from the cores and the sink.
@Suite struct ReaderThreadsTests {
    @Test func aReadingThreadOnlyWhereItHasACore() {
        #expect(ReportPipeline.readerThreads(cores: 2, rendersEveryRun: true) == 1)
        #expect(ReportPipeline.readerThreads(cores: 1, rendersEveryRun: true) == 1)
        #expect(ReportPipeline.readerThreads(cores: 2, rendersEveryRun: false) == 2)
        #expect(ReportPipeline.readerThreads(cores: 3, rendersEveryRun: true) == 2)
        #expect(ReportPipeline.readerThreads(cores: 64, rendersEveryRun: true) == 2)
    }

    @Test func sinksSayWhetherTheyWriteEveryRun() {
        let out = TextOut.strings { _ in }
        #expect(JSONSink(pretty: false, out: out).writesEveryRun)
        #expect(CSVSink(out: out).writesEveryRun)
        let metrics = OpenMetricsSink(out: out)
        #expect(!metrics.writesEveryRun)
        #expect(!BudgetCheck(budget: Budget(us: 1000), next: metrics).writesEveryRun)
        #expect(PlotCollector(next: JSONSink(pretty: false, out: out)).writesEveryRun)
        #expect(!PlotCollector(next: metrics).writesEveryRun)
    }

    /// The same report whichever way the log is read: a reading thread of its own (4 cores)
    /// or the lines found where they are parsed (2 cores), every log read the threaded way
    /// when it has one (`threadedFrom: 0`).
    @Test func theReportIsTheSameOnAnyCoreCount() throws {
        func render(cores: Int, onlyRun: Int?) throws -> String {
            var text = ""
            let pipeline = ReportPipeline(reader: LogReader(chunkSize: 4096, threadedFrom: 0), onlyRun: onlyRun)
            pipeline.cores = cores
            _ = try pipeline.run(groups: [
                ReportGroup(source: ReportInput(path: Fixtures.path("pc-source.log"), role: .source),
                            destination: ReportInput(path: Fixtures.path("pc-destination.log"), role: .destination)),
                ReportGroup(source: ReportInput(path: Fixtures.path("q35-source.log"), role: .source),
                            destination: nil),
            ], sink: JSONSink(pretty: false, out: .strings { text += $0 }))
            return text
        }
        let oneThread = try render(cores: 2, onlyRun: nil)
        #expect(oneThread.contains("\"device-state-times\""))
        #expect(try render(cores: 4, onlyRun: nil) == oneThread)
        // Only run 2: read with a thread of its own on any core count, rendered as in the whole.
        let second = try render(cores: 2, onlyRun: 2)
        let runs = try JSONSerialization.jsonObject(with: Data(second.utf8)) as? [String: Any]
        #expect((runs?["runs"] as? [[String: Any]])?.map { $0["run"] as? Int } == [2])
        #expect(try render(cores: 4, onlyRun: 2) == second)
    }
}
