// SPDX-License-Identifier: MIT
import DevstateBytes
import DevstateModel

/// `--budget`: the most downtime a migration, and any one device, may take.
struct Budget: Sendable, Equatable, CustomStringConvertible {
    var us: UInt64

    init(us: UInt64) { self.us = us }

    /// "500ms", "1.5s", "800us" (or "800µs"); a unit is required, the number may have a fraction.
    init?(parsing text: String) {
        let units: [(suffix: String, scale: Double)] = [("ms", 1e3), ("us", 1), ("µs", 1), ("s", 1e6)]
        guard let unit = units.first(where: { text.hasSuffix($0.suffix) }) else { return nil }
        let number = text.dropLast(unit.suffix.count)
        guard !number.isEmpty, number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
              let value = Double(number), value > 0 else { return nil }
        let us = (value * unit.scale).rounded()
        guard us >= 1, us < 1e15 else { return nil }
        self.us = UInt64(us)
    }

    var description: String { formatMicros(Int64(us)) }
}

/// One migration that went over the budget, and the devices that used it.
struct BudgetOverrun: Sendable, Equatable {
    var vm: String
    /// The run's index in the report (1 from `query-migrate`).
    var run: Int
    /// What went over, e.g. "downtime 6.378 ms (source) is 1.378 ms over".
    var over: [String]
    /// Per side, a line of its longest devices until they add up to the budget (at most `listed`).
    var devices: [String]
}

/// Checks every migration that passes through against a budget and hands the runs on to
/// `next` unchanged. Over budget: the source's downtime, the destination's load to vm started,
/// or any one device's save or load time is greater than the budget.
final class BudgetCheck: ReportSink {
    let budget: Budget
    let next: ReportSink
    let vmName: (RunReport) -> String
    let queryVM: String
    /// Devices named per side in a message.
    static let listed = 5
    private(set) var overruns: [BudgetOverrun] = []
    /// Migrations that could be judged (had a downtime or devices).
    private(set) var judged = 0

    /// `vmName` names the VM of a run; `queryVM` that of `query-migrate` inputs without one.
    init(budget: Budget, next: ReportSink, queryVM: String = "",
                vmName: ((RunReport) -> String)? = nil) {
        self.budget = budget
        self.next = next
        self.queryVM = queryVM
        self.vmName = vmName ?? { _ in queryVM }
    }

    func begin() { next.begin() }

    func run(_ run: RunReport) {
        check(run)
        next.run(run)
    }

    func flush() { next.flush() }

    func end(inputs: [InputSummary]) {
        // A source without a rendered side (stock QEMU, 0.1.0 without checkpoints): judge
        // QEMU's own downtime figure.
        for facts in inputs.compactMap(\.queryMigrate) where facts.role == .source && !facts.rendered {
            guard facts.status == "completed", let us = facts.qemuTimes.downtimeUS else { continue }
            judged += 1
            if us > budget.us {
                overruns.append(BudgetOverrun(vm: queryVM, run: 1,
                                              over: [overText("downtime", us, "query-migrate's downtime, ms")],
                                              devices: []))
            }
        }
        next.end(inputs: inputs)
    }

    private func overText(_ what: String, _ us: UInt64, _ note: String) -> String {
        "\(what) \(formatMicros(Int64(us))) (\(note)) is \(formatMicros(Int64(us - budget.us))) over"
    }

    private func check(_ run: RunReport) {
        let sides = [run.source, run.destination].compactMap { $0 }
        guard !sides.isEmpty else { return }
        var over: [String] = []
        var devices: [String] = []
        var anything = false
        for side in sides {
            let op = side.side == .source ? "save" : "load"
            let byTime = side.devicesByTime
            if let t = side.downtimeUS, t >= 0 {
                let total = UInt64(t)
                anything = true
                if total > budget.us {
                    over.append(side.side == .source
                        ? overText("downtime", total, "source")
                        : overText("load to vm started", total, "destination"))
                }
            }
            anything = anything || !side.devices.isEmpty
            // Devices over on their own, longest first; a tiny budget lists a few and counts the rest.
            let overDevices = byTime.filter { $0.device.timeUS > budget.us }
            for row in overDevices.prefix(Self.listed) {
                over.append(overText("\(op) of \(row.name)#\(row.device.instanceID)", row.device.timeUS,
                                     "\(side.side.rawValue), one device"))
            }
            if overDevices.count > Self.listed {
                over.append("\(overDevices.count - Self.listed) more \(side.side.rawValue) devices over")
            }
            if let line = usedBy(byTime, side: side, op: op) { devices.append(line) }
        }
        if anything { judged += 1 }
        if !over.isEmpty {
            overruns.append(BudgetOverrun(vm: vmName(run), run: run.index, over: over, devices: devices))
        }
    }

    /// The side's longest devices until they add up to the budget, as one line; nil without any.
    private func usedBy(_ byTime: [DeviceRow], side: SideReport, op: String) -> String? {
        var sum: UInt64 = 0
        var named: [String] = []
        for row in byTime.prefix(Self.listed) where row.device.timeUS > 0 {
            sum += row.device.timeUS
            let share = Double(row.device.timeUS) / Double(budget.us)
            // A device many times the budget reads better as a multiple than as 222700.0%.
            let part = share >= 10 ? "\(formatFixed(share, digits: 0))× the budget" : "\(formatFixed(share * 100, digits: 1))% of the budget"
            named.append("\(row.name)#\(row.device.instanceID) \(formatMicros(Int64(row.device.timeUS))) (\(part))")
            if sum >= budget.us { break }
        }
        return named.isEmpty ? nil : "\(side.side.rawValue) \(op): " + named.joined(separator: ", ")
    }

    /// The message for standard error; nil when every migration was within the budget.
    var message: String? {
        guard !overruns.isEmpty else { return nil }
        var text = "over budget (\(budget)): \(overruns.count) of \(judged) migration\(judged == 1 ? "" : "s") went over"
        for o in overruns {
            text += "\n  \(o.vm.isEmpty ? "" : o.vm + " ")run \(o.run):"
            for line in o.over { text += "\n    " + line }
            for line in o.devices { text += "\n    devices that used it, " + line }
        }
        return text
    }
}
