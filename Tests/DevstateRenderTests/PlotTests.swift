// SPDX-License-Identifier: MIT
import DevstateModel
import DevstateRender
import XCTest

/// `--plot`: each run's top devices for the chart, passing every run on.
final class PlotTests: XCTestCase {
    func testPanelsAndScript() throws {
        var text = ""
        let table = TableSink(width: 100, out: .strings { text += $0 })
        let collector = PlotCollector(next: table, top: 5, maxRuns: 2)
        try feed(pair("pc-source.log", "pc-destination.log") + pair("q35-source.log", "q35-destination.log"), to: collector)
        XCTAssertTrue(text.contains("── Run 3 ") && text.contains("Read 4 logs"), "runs and the end are passed on")
        XCTAssertEqual(collector.panels.count, 2)
        XCTAssertEqual(collector.omittedRuns, 1)
        XCTAssertTrue(collector.panels.allSatisfy { $0.bars.count == 5 })
        XCTAssertTrue(collector.panels[0].title.hasPrefix("Run 2: pc-source.log run 2, downtime "))
        // A destination time beside the source's for each device the destination loaded.
        XCTAssertTrue(collector.panels[1].bars.allSatisfy { $0.sourceUS != nil && $0.destinationUS != nil })
        let times = collector.panels[1].bars.compactMap(\.sourceUS)
        XCTAssertEqual(times, times.sorted(by: >))
        let (data, script) = collector.gnuplot(png: "/tmp/it's.png", dataPath: "/tmp/x.dat")
        XCTAssertTrue(script.contains("index 1") && script.contains("set output '/tmp/it''s.png'"))
        XCTAssertEqual(data.components(separatedBy: "\n\n\n").count, 2)
        XCTAssertTrue(data.hasPrefix("# Run 2: pc-source.log run 2"))
    }
}
