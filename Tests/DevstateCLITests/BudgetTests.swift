// SPDX-License-Identifier: MIT
import Foundation
import Testing

/// `--budget` end to end: exit 7, the devices that used the budget named, the other formats alike.
@Suite struct BudgetTests {
    @Test func overBudgetIsExitSevenAndNamesTheDevices() throws {
        let q35 = [Fixtures.path("q35-source.log"), Fixtures.path("q35-destination.log")]
        let over = try devstate(["report"] + q35 + ["--budget", "5ms"])
        #expect(over.status == 7, "\(over.err)")
        #expect(over.out.contains("Source phases"), "the report is printed as usual")
        let err = flat(over.err)
        #expect(err.contains("over budget (5.000 ms)"))
        #expect(err.contains("downtime 6.378 ms (source) is 1.378 ms over"))
        #expect(err.contains("load to vm started 14.653 ms (destination) is 9.653 ms over"))
        #expect(err.contains("devices that used it, source save: 0000:00:03.0/e1000e#0 1.829 ms (36.6% of the budget), 0000:00:02.0/virtio-blk#0 900 µs (18.0% of the budget)"))
        #expect(err.contains("devices that used it, destination load: 0000:00:1f.0/ICH9LPC#0 2.253 ms (45.1% of the budget)"))
        // One device over on its own: ICH9LPC loads in 2.253 ms.
        let device = try devstate(["report"] + q35 + ["--budget", "2ms", "--format", "json"])
        #expect(device.status == 7)
        #expect(flat(device.err).contains("load of 0000:00:1f.0/ICH9LPC#0 2.253 ms (destination, one device) is 253 µs over"))
        // Within budget: the usual status.
        let within = try devstate(["report"] + q35 + ["--budget", "1.5s", "--format", "openmetrics"])
        #expect(within.status == 0 && !within.err.contains("over budget"), "\(within.err)")
        // Over budget wins over malformed lines (3); the message counts migrations.
        let all = try devstate(["report", "--budget", "800us"])
        #expect(all.status == 7)
        #expect(all.err.contains("3 of 3 migrations went over"))
    }

    @Test(arguments: [("500ms", true), ("1.5s", true), ("800us", true), ("800µs", true), ("2s", true),
                      ("5", false), ("ms", false), ("-1ms", false), ("0ms", false), ("1e3ms", false), ("5 ms", false)])
    func budgetSyntax(text: String, valid: Bool) throws {
        let r = try devstate(["report", "--fixture", "q35", "--budget", text])
        if valid {
            #expect(r.status == 0 || r.status == 7, "\(text): \(r.err)")
        } else {
            #expect(r.status == 64, "\(text): \(r.status)")
        }
    }
}
