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

    /// The data file and gnuplot script that draw `panels` into `png`.
    public func gnuplot(png: String, dataPath: String) -> (data: String, script: String) {
        var data = ""
        for (i, panel) in panels.enumerated() {
            if i > 0 { data += "\n\n" }
            data += "# \(panel.title)\n"
            for bar in panel.bars {
                let label = bar.label.replacingAll("\"", with: "'")
                data += "\"\(label)\" \(bar.sourceUS.map(String.init) ?? "NaN") \(bar.destinationUS.map(String.init) ?? "NaN")\n"
            }
        }
        let rows = max(1, panels.count)
        var s = ""
        s += "set terminal pngcairo size 1200,\(380 * rows) font 'sans,9'\n"
        s += "set output '\(quote(png))'\n"
        s += "set multiplot layout \(rows),1\n"
        s += "set style data histograms\nset style histogram clustered gap 1\n"
        s += "set style fill solid 0.85 border -1\nset boxwidth 0.9\n"
        s += "set ylabel 'µs'\nset yrange [0:*]\nset grid ytics\n"
        s += "set xtics rotate by -35 left noenhanced\nset key top right\nset bmargin 8\n"
        for (i, panel) in panels.enumerated() {
            s += "set title '\(quote(panel.title))' noenhanced\n"
            let hasSource = panel.bars.contains { $0.sourceUS != nil }
            let hasDest = panel.bars.contains { $0.destinationUS != nil }
            var parts: [String] = []
            if hasSource {
                parts.append("'\(quote(dataPath))' index \(i) using 2:xtic(1) title 'source save' lc rgb '#3b6ea8'")
            }
            if hasDest {
                parts.append("'\(quote(dataPath))' index \(i) using 3\(hasSource ? "" : ":xtic(1)") title 'destination load' lc rgb '#d9822b'")
            }
            s += "plot " + parts.joined(separator: ", ") + "\n"
        }
        s += "unset multiplot\n"
        return (data, s)
    }

    private func quote(_ s: String) -> String { s.replacingAll("'", with: "''") }
}

extension String {
    /// By scalar: a quote followed by a combining mark is one Character, which a comparison
    /// of Characters would miss.
    func replacingAll(_ target: Unicode.Scalar, with replacement: String) -> String {
        unicodeScalars.map { $0 == target ? replacement : String($0) }.joined()
    }
}
