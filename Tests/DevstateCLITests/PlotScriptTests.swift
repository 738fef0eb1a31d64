// SPDX-License-Identifier: MIT
@testable import devstate
import DevstateModel
import DevstateRender
import Testing

/// The data file and gnuplot script `--plot` hands to gnuplot.
@Suite struct PlotScriptTests {
    @Test func onePanelPerRunAndQuotesSurvive() throws {
        let collector = PlotCollector(next: CollectingSink(), top: 5, maxRuns: 2)
        for name in ["pc", "q35"] {
            try report(groups: [ReportGroup(
                source: ReportInput(path: Fixtures.path("\(name)-source.log"), name: "\(name)-source.log", role: .source),
                destination: ReportInput(path: Fixtures.path("\(name)-destination.log"), name: "\(name)-destination.log",
                                         role: .destination))], into: collector)
        }
        let (data, script) = collector.gnuplot(png: "/tmp/it's.png", dataPath: "/tmp/x.dat")
        #expect(script.contains("set multiplot layout 2,1"))
        #expect(script.contains("index 1") && script.contains("set output '/tmp/it''s.png'"))
        #expect(script.contains("title 'source save'") && script.contains("title 'destination load'"))
        #expect(data.components(separatedBy: "\n\n\n").count == 2)
        #expect(data.hasPrefix("# Run 2: pc-source.log run 2"))
        #expect(data.contains("\n# Run 1: q35-source.log run 1"))
        #expect(data.split(separator: "\n").filter { $0.hasPrefix("\"") }.count == 10)
    }
}
