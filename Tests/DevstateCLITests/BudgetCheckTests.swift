// SPDX-License-Identifier: MIT
@testable import devstate
import DevstateAnalysis
import DevstateModel
import Testing

/// A source run of one device: 1100 µs of downtime when stamped.
func budgetRun(_ us: UInt64, stamps: Bool) -> SideLog {
    var log = SideLog(side: .source, file: "src.log", index: 1, startedAtCheckpoint: true)
    log.devices = [DeviceTime(name: "cpu", instanceID: 0, section: .nonIterable, timeUS: us)]
    log.checkpoints = [Checkpoint(name: "src-downtime-start", timestampUS: stamps ? 1_000_000 : nil),
                       Checkpoint(name: "src-downtime-end", timestampUS: stamps ? 1_001_100 : nil)]
    return log
}

final class NullSink: ReportSink {
    var runs = 0
    func begin() {}
    func run(_ run: RunReport) { runs += 1 }
    func end(inputs: [InputSummary]) {}
}

/// `--budget`: parsing, and what goes over.
@Suite struct BudgetCheckTests {
    @Test func durationsNeedAUnit() {
        #expect(Budget(parsing: "300ms")?.us == 300_000)
        #expect(Budget(parsing: "1.5s")?.us == 1_500_000)
        #expect(Budget(parsing: "800us")?.us == 800)
        #expect(Budget(parsing: "800µs")?.us == 800)
        #expect(Budget(parsing: "300") == nil)
        #expect(Budget(parsing: "-3ms") == nil)
        #expect(Budget(parsing: "0ms") == nil)
    }

    @Test func theDowntimeAndEachDeviceAreJudgedAndRunsPassOn() {
        let next = NullSink()
        let check = BudgetCheck(budget: Budget(us: 1000), next: next, queryVM: "vm1")
        let analyzer = Analyzer()
        check.run(analyzer.report(index: 1, source: budgetRun(1050, stamps: true), destination: nil))
        check.run(analyzer.report(index: 2, source: budgetRun(10, stamps: false), destination: nil))
        check.end(inputs: [])
        #expect(next.runs == 2)
        #expect(check.judged == 2)
        #expect(check.overruns.count == 1)
        #expect(check.overruns[0].over == ["downtime 1.100 ms (source) is 100 µs over",
                                           "save of cpu#0 1.050 ms (source, one device) is 50 µs over"])
        #expect(check.message?.hasPrefix("over budget (1.000 ms): 1 of 2 migrations went over") == true)
    }
}
