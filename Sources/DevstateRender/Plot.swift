// SPDX-License-Identifier: MIT
import DevstateBytes
import DevstateModel

/// Collects each run's top devices for the PNG chart, keeping at most `maxRuns` (the last ones)
/// so a long log stays in bounded memory, and passes every run on to `next`.
public final class PlotCollector: ReportSink {
    public struct Bar: Sendable, Equatable {
        public var label: String
        public var sourceUS: UInt64?
        public var destinationUS: UInt64?
    }
    public struct Panel: Sendable, Equatable {
        public var title: String
        public var bars: [Bar]
    }

    let next: ReportSink
    let top: Int
    let maxRuns: Int
    public private(set) var panels: [Panel] = []
    public private(set) var omittedRuns = 0

    public init(next: ReportSink, top: Int = 12, maxRuns: Int = 6) {
        self.next = next
        self.top = max(1, top)
        self.maxRuns = max(1, maxRuns)
    }

    public func begin() { next.begin() }
    public func end(inputs: [InputSummary]) { next.end(inputs: inputs) }

    public func flush() { next.flush() }

    public func run(_ run: RunReport) {
        next.run(run)
        guard let primary = run.source ?? run.destination else { return }
        var dst: [DeviceKey: UInt64] = [:]
        if run.source != nil, let d = run.destination {
            for row in d.devices { dst[DeviceKey(row.device)] = row.device.timeUS }
        }
        let bars = primary.devicesByTime.prefix(top).map { row -> Bar in
            let name = row.name
            let label = row.device.instanceID == 0 && !primary.devices.contains {
                $0.name == name && $0.device.instanceID != 0
            } ? name : "\(name)#\(row.device.instanceID)"
            if primary.side == .source {
                return Bar(label: label, sourceUS: row.device.timeUS, destinationUS: dst[DeviceKey(row.device)])
            }
            return Bar(label: label, sourceUS: nil, destinationUS: row.device.timeUS)
        }
        var title = "Run \(run.index): \(primary.log.file)"
        if primary.side == .source { title += " run \(primary.log.index)" }
        if let total = primary.totalUS { title += ", downtime \(formatMicros(total))" }
        panels.append(Panel(title: title, bars: Array(bars)))
        if panels.count > maxRuns {
            panels.removeFirst()
            omittedRuns += 1
        }
    }
}
