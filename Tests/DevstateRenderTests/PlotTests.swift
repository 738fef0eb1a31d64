// SPDX-License-Identifier: MIT
import DevstateModel
import DevstateRender
import Testing

/// `--plot`: each run's top devices for the chart, passing every run on.
@Suite struct PlotTests {
    @Test func panelsAndScript() throws {
        var text = ""
        let table = TableSink(width: 100, out: .strings { text += $0 })
        let collector = PlotCollector(next: table, top: 5, maxRuns: 2)
        try feed(pair("pc-source.log", "pc-destination.log") + pair("q35-source.log", "q35-destination.log"), to: collector)
        #expect(text.contains("── Run 3 ") && text.contains("Read 4 logs"), "runs and the end are passed on")
        #expect(collector.panels.count == 2)
        #expect(collector.omittedRuns == 1)
        #expect(collector.panels.allSatisfy { $0.bars.count == 5 })
        #expect(collector.panels[0].title.hasPrefix("Run 2: pc-source.log run 2, downtime "))
        // A destination time beside the source's for each device the destination loaded.
        #expect(collector.panels[1].bars.allSatisfy { $0.sourceUS != nil && $0.destinationUS != nil })
        let times = collector.panels[1].bars.compactMap(\.sourceUS)
        #expect(times == times.sorted(by: >))
    }
}
