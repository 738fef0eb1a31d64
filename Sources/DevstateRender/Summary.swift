// SPDX-License-Identifier: MIT
import DevstateBytes
import DevstateModel

/// `--summary`: one line per side of each run and, at the end, each device's time across all
/// runs. Meant for logs with many migrations, where the full report is long. JSON and CSV state
/// each line's share of its downtime that has a name (`SideReport.named`); the table, whose
/// lines are full, states it once per side over all runs at the end.
public final class SummarySink: ReportSink {
    let out: TextOut
    private var summary: Summary

    public init(format: OutputFormat, width: Int = 100, top: Int = 15, out: TextOut) {
        summary = Summary(format: format, width: width, top: top)
        self.out = out
    }

    public func begin() { summary.begin() }

    public func run(_ run: RunReport) {
        summary.run(run)
        out.batch(&summary.json.out)
    }

    public func flush() { out.flush(&summary.json.out) }

    public func end(inputs: [InputSummary]) {
        summary.end(inputs: inputs)
        out.flush(&summary.json.out)
    }
}

/// What `SummarySink` writes and adds up, in a value (see `TableWriter`).
struct Summary: ~Copyable {
    struct Aggregate {
        var name: String
        var instanceID: UInt32
        var runs = 0
        var totalUS: UInt64 = 0
        var maxUS: UInt64 = 0

        var meanUS: UInt64 { totalUS / UInt64(max(runs, 1)) }
    }

    let format: OutputFormat
    let text: TextLayout
    let top: Int
    /// Every format's text goes into `json.out`.
    var json = JSONWriter(pretty: false)
    private var downtimes: [Int64] = []
    /// Per side (source, destination): its lines, each known named share, and whether any
    /// line's input named its steps.
    private var named: [(lines: Int, shares: [Double], stepsKnown: Bool)] = [(0, [], false), (0, [], false)]
    private var slot: [DeviceKey: Int] = [:]
    private var aggregates: [Aggregate] = []
    /// The last source run's non-iterable devices with their aggregates: runs repeat their
    /// devices in order, so most are found here, by position, without hashing.
    private var previous: [(key: DeviceKey, slot: Int)] = []
    /// At most this many devices are aggregated: a log of ever new names stays in bounded memory.
    static let maxAggregates = 16_384

    /// The per-run lines' columns: fixed, as the lines are written as the runs come.
    static let widths = [5, 11, 13, 10, 7, 5, 0]
    static let align: [TextLayout.Align] = [.right, .left, .left, .right, .right, .right, .left]

    init(format: OutputFormat, width: Int, top: Int) {
        self.format = format
        self.text = TextLayout(width: width)
        self.top = max(1, top)
    }

    mutating func begin() {
        switch format {
        case .json:
            json.beginObject()
            json.string("schema", "devstate-summary/1")
            json.beginArray("runs")
        case .csv:
            json.out.append("run,side,log,index_in_log,first_line,last_line,downtime_us,devices,device_state_times,"
                            + "top_device,top_instance_id,top_time_us,named_share\n")
        case .table, .openmetrics:  // the CLI refuses --summary with openmetrics
            line(["run", "side", "lines", "downtime", "devices", "d-s-t", "longest device"])
        }
    }

    mutating func run(_ run: RunReport) {
        for side in [run.source, run.destination].compactMap({ $0 }) {
            add(side)
            switch format {
            case .json: jsonLine(run.index, side)
            case .csv: csvLine(run.index, side)
            case .table, .openmetrics:
                var longest = ""
                if let row = side.longest {
                    longest = "\(row.name)#\(row.device.instanceID) \(row.device.timeUS) µs"
                        + (row.share.map { " (" + percent($0) + ")" } ?? "")
                }
                line([String(run.index), side.side.rawValue, "\(side.log.firstLine)–\(side.log.lastLine)",
                      side.totalUS.map(formatMicros) ?? "?", String(side.devices.count), String(side.recorder.kept),
                      longest])
            }
        }
    }

    /// Takes the side into the figures across runs.
    private mutating func add(_ side: SideReport) {
        let k = side.side == .source ? 0 : 1
        named[k].lines += 1
        if let share = side.named.share { named[k].shares.append(share) }
        named[k].stepsKnown = named[k].stepsKnown || side.named.stepsKnown
        guard side.side == .source else { return }
        if let d = side.totalUS { downtimes.append(d) }
        var seen: [(key: DeviceKey, slot: Int)] = []
        for row in side.devices where row.device.section == .nonIterable {
            let key = DeviceKey(row.device)
            var k = seen.count < previous.count && previous[seen.count].key == key ? previous[seen.count].slot
                                                                                    : slot[key] ?? -1
            if k < 0 {
                guard aggregates.count < Self.maxAggregates else { continue }
                k = aggregates.count
                slot[key] = k
                aggregates.append(Aggregate(name: row.name, instanceID: row.device.instanceID))
            }
            seen.append((key, k))
            aggregates[k].runs += 1
            aggregates[k].totalUS &+= row.device.timeUS
            aggregates[k].maxUS = max(aggregates[k].maxUS, row.device.timeUS)
        }
        previous = seen
    }

    /// A table line: the cells padded to `widths`, cut at the width.
    private mutating func line(_ cells: [String]) {
        let start = json.out.count
        for (k, cell) in cells.enumerated() {
            let last = k == cells.count - 1
            if Self.align[k] == .right {
                json.out.append(spaces: Self.widths[k] - VisibleText.columns(cell))
                json.out.append(visible: cell)
            } else {
                let n = json.out.append(visible: cell)
                if !last { json.out.append(spaces: Self.widths[k] - n) }
            }
            if !last { json.out.append(spaces: 2) }
        }
        text.fit(from: start, in: &json.out)
    }

    private mutating func jsonLine(_ index: Int, _ side: SideReport) {
        json.beginObject()
        json.int("run", index)
        json.string("side", side.side.rawValue)
        json.string("log", side.log.file)
        json.int("index-in-log", side.log.index)
        json.beginArray("lines")
        json.int(nil, side.log.firstLine)
        json.int(nil, side.log.lastLine)
        json.end()
        json.int("downtime-us", side.totalUS)
        json.fixed("named-share", side.named.share, 4)
        json.int("devices", side.devices.count)
        json.raw("device-state-times") { side.writeDeviceStateTimes(to: &$0) }
        if let longest = side.longest {
            json.beginObject("longest")
            json.string("name", bytes: longest.device.idstr[...])
            json.int("instance-id", longest.device.instanceID)
            json.int("time-us", longest.device.timeUS)
            json.end()
        }
        json.end()
    }

    private mutating func csvLine(_ index: Int, _ side: SideReport) {
        let longest: String = side.longest.map { "\(CSVSink.field($0.name)),\($0.device.instanceID),\($0.device.timeUS)" } ?? ",,"
        let downtime: String = side.totalUS.map { "\($0)" } ?? ""
        let share: String = side.named.share.map { formatFixed($0, digits: 4) } ?? ""
        json.out.append("\(index),\(side.side.rawValue),\(CSVSink.field(side.log.file)),\(side.log.index),"
                        + "\(side.log.firstLine),\(side.log.lastLine),\(downtime),\(side.devices.count),"
                        + "\(side.recorder.kept),\(longest),\(share)\n")
    }

    mutating func end(inputs: [InputSummary]) {
        let ranked = aggregates.sorted {
            $0.totalUS * UInt64(max($1.runs, 1)) > $1.totalUS * UInt64(max($0.runs, 1))
        }
        switch format {
        case .json:
            json.end()
            json.objects("devices", ranked) { json, a in
                json.string("name", a.name)
                json.int("instance-id", a.instanceID)
                json.int("runs", a.runs)
                json.int("mean-us", a.meanUS)
                json.int("max-us", a.maxUS)
            }
            ReportJSON.end(inputs, to: &json)
        case .csv:
            break
        case .table, .openmetrics:
            json.out.append(UInt8(ascii: "\n"))
            let d = downtimes.sorted()
            if let first = d.first, let last = d.last {
                json.out.append(text.fit("Source downtime over \(d.count) runs: min \(formatMicros(first)), "
                                         + "median \(formatMicros(d[d.count / 2])), max \(formatMicros(last))"))
            }
            json.out.append(namedText())
            json.out.append(text.fit("Non-iterable saves across runs (longest mean first):"))
            var table = Table()
            table.reset(columns: 4)
            table.add("device", "runs", "mean µs", "max µs")
            for a in ranked.prefix(top) {
                table.add("\(a.name)#\(a.instanceID)")
                table.add(decimal: a.runs)
                table.add(decimal: a.meanUS)
                table.add(decimal: a.maxUS)
            }
            table.write(into: &json.out, width: text.width, align: [.left, .right, .right, .right], flexible: 0, indent: 2)
            json.out.append(UInt8(ascii: "\n"))
            text.writeInputs(inputs, into: &json.out)
        }
    }

    /// "Named share of the downtime …: source over N runs min …, median …, max …; destination …",
    /// with the hint when a side's inputs named no step; "unknown" for a side without stamps.
    private func namedText() -> String {
        var parts: [String] = []
        for (k, name) in ["source", "destination"].enumerated() where named[k].lines > 0 {
            let s = named[k].shares.sorted()
            guard let first = s.first, let last = s.last else {
                parts.append("\(name) unknown (it needs the checkpoints and their -msg timestamp=on stamps)")
                continue
            }
            parts.append("\(name) over \(plural(s.count, "run")) min \(percent(first)), "
                         + "median \(percent(s[s.count / 2])), max \(percent(last))"
                         + (named[k].stepsKnown ? "" : " (devices alone)"))
        }
        guard !parts.isEmpty else { return "" }
        var line = "Named share of the downtime (devices, handlers and steps): " + parts.joined(separator: "; ")
        if named.contains(where: { $0.lines > 0 && !$0.stepsKnown }) {
            line += "; our QEMU series (Patches/) names the handlers and steps of the rest"
        }
        return text.wrap(line)
    }
}
