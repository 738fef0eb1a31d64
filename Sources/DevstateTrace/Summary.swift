// SPDX-License-Identifier: MIT
/// `--summary`: one line per run and, at the end, each device's time across all runs. Meant for
/// logs with many migrations, where the full report is long. JSON and CSV state each line's share
/// of its downtime that has a name (`SideReport.named`); the table, whose lines are full, states
/// it once per side over all runs at the end.
public final class SummarySink: ReportSink {
    struct Aggregate {
        var name: String
        var instanceID: UInt32
        var runs = 0
        var totalUS: UInt64 = 0
        var maxUS: UInt64 = 0
    }

    let out: TextOut
    let format: OutputFormat
    let text: TextLayout
    let top: Int
    private var count = 0
    private var downtimes: [Int64] = []
    /// Per side (source, destination): its lines, each known named share, and whether any
    /// line's input named its steps.
    private var named: [(lines: Int, shares: [Double], stepsKnown: Bool)] = [(0, [], false), (0, [], false)]
    private var slot: [DeviceKey: Int] = [:]
    private var aggregates: [Aggregate] = []
    /// The previous source run's non-iterable devices and their aggregate, by position: runs
    /// repeat their devices in order with the same names (the same ids in the same store), so
    /// most are found without hashing.
    private var lastSlots: [(id: Int32, instanceID: UInt32, slot: Int)] = []
    private var lastNames: NameStore?

    public init(format: OutputFormat, width: Int = 100, top: Int = 15, out: TextOut) {
        self.format = format
        self.text = TextLayout(width: width)
        self.top = max(1, top)
        self.out = out
    }

    public func begin() {
        switch format {
        case .json: out("{\"schema\":\"devstate-summary/1\",\"runs\":[")
        case .csv: out("run,side,log,index_in_log,first_line,last_line,downtime_us,devices,device_state_times,top_device,top_instance_id,top_time_us,named_share\n")
        case .table, .openmetrics:  // the CLI refuses --summary with openmetrics
            out(text.fit(text.row(["run", "side", "lines", "downtime", "devices", "d-s-t", "longest device"],
                                  widths: Self.widths, align: Self.align, indent: 0)))
        }
    }

    public func run(_ run: RunReport) {
        var text = ""
        for side in [run.source, run.destination].compactMap({ $0 }) {
            let longest = side.longest
            let k = side.side == .source ? 0 : 1
            named[k].lines += 1
            if let share = side.named.share { named[k].shares.append(share) }
            named[k].stepsKnown = named[k].stepsKnown || side.named.stepsKnown
            if side.side == .source {
                if let d = side.totalUS { downtimes.append(d) }
                // Local copies: no exclusivity check per access of the class's properties.
                var aggregates = self.aggregates
                self.aggregates = []
                let lastSlots = self.lastNames === side.names ? self.lastSlots : []
                var slots: [(id: Int32, instanceID: UInt32, slot: Int)] = []
                slots.reserveCapacity(lastSlots.count)
                side.devices.withUnsafeBufferPointer { rows in
                    for i in rows.indices where rows[i].device.section == .nonIterable {
                        var k: Int
                        if slots.count < lastSlots.count, lastSlots[slots.count].instanceID == rows[i].device.instanceID,
                           lastSlots[slots.count].id == rows[i].device.idstr {
                            k = lastSlots[slots.count].slot
                        } else {
                            let key = side.key(rows[i])
                            k = slot[key] ?? -1
                            if k < 0 {
                                if aggregates.count >= 16_384 { continue }
                                k = aggregates.count
                                slot[key] = k
                                aggregates.append(Aggregate(name: side.name(rows[i]), instanceID: rows[i].device.instanceID))
                            }
                        }
                        let d = rows[i].device.timeUS
                        slots.append((rows[i].device.idstr, rows[i].device.instanceID, k))
                        aggregates[k].runs += 1
                        aggregates[k].totalUS &+= d
                        aggregates[k].maxUS = max(aggregates[k].maxUS, d)
                    }
                }
                self.lastSlots = slots
                self.lastNames = side.names
                self.aggregates = aggregates
            }
            switch format {
            case .json:
                var members: [(String, JSONValue)] = [
                    ("run", .int(Int64(run.index))), ("side", .string(side.side.rawValue)),
                    ("log", .string(side.log.file)), ("index-in-log", .int(Int64(side.log.index))),
                    ("lines", .array([.int(Int64(side.log.firstLine)), .int(Int64(side.log.lastLine))])),
                    ("downtime-us", side.totalUS.map { .int($0) } ?? .null),
                    ("named-share", side.named.share.map { .fixed($0, 4) } ?? .null),
                    ("devices", .int(Int64(side.devices.count))),
                    ("device-state-times", .raw(side.deviceStateTimesJSON)),
                ]
                if let longest {
                    members.append(("longest", .object([("name", .string(side.name(longest))),
                                                         ("instance-id", .uint(UInt64(longest.device.instanceID))),
                                                         ("time-us", .uint(longest.device.timeUS))])))
                }
                text += (count > 0 ? "," : "") + JSONValue.object(members).serialized()
            case .csv:
                text += "\(run.index),\(side.side.rawValue),\(CSVSink.field(side.log.file)),\(side.log.index),"
                text += "\(side.log.firstLine),\(side.log.lastLine),\(side.totalUS.map(String.init) ?? ""),"
                text += "\(side.devices.count),\(side.recorder.kept),"
                text += longest.map { "\(CSVSink.field(side.name($0))),\($0.device.instanceID),\($0.device.timeUS)" } ?? ",,"
                text += "," + (side.named.share.map { formatFixed($0, digits: 4) } ?? "") + "\n"
            case .table, .openmetrics:  // the CLI refuses --summary with openmetrics
                if let line = fastLine(run, side, longest) {
                    text += line
                    break
                }
                var longestText = ""
                if let longest {
                    longestText = "\(side.name(longest))#\(longest.device.instanceID) \(longest.device.timeUS) µs"
                    if let share = longest.share { longestText += " (" + percent(share) + ")" }
                }
                text += self.text.fit(self.text.row(
                    [String(run.index), side.side.rawValue, "\(side.log.firstLine)–\(side.log.lastLine)",
                     side.totalUS.map(formatMicros) ?? "?", String(side.devices.count),
                     String(side.recorder.kept), longestText],
                    widths: Self.widths, align: Self.align, indent: 0))
            }
            count += 1
        }
        out(text)
    }

    public func end(inputs: [InputSummary]) {
        let ranked = aggregates.sorted {
            $0.totalUS * UInt64(max($1.runs, 1)) > $1.totalUS * UInt64(max($0.runs, 1))
        }
        let malformed = inputs.reduce(0) { $0 + $1.stats.malformedLines }
        switch format {
        case .json:
            let devices = JSONValue.array(ranked.map {
                .object([("name", .string($0.name)), ("instance-id", .uint(UInt64($0.instanceID))),
                         ("runs", .int(Int64($0.runs))), ("mean-us", .uint($0.totalUS / UInt64(max($0.runs, 1)))),
                         ("max-us", .uint($0.maxUS))])
            })
            out("],\"devices\":" + devices.serialized() + ",\"inputs\":"
                + JSONValue.array(inputs.map(ReportJSON.input)).serialized()
                + ",\"malformed-lines\":\(malformed)}\n")
        case .csv:
            break
        case .table, .openmetrics:  // the CLI refuses --summary with openmetrics
            var t = "\n"
            let sorted = downtimes.sorted()
            if !sorted.isEmpty {
                t += text.fit("Source downtime over \(sorted.count) runs: min \(formatMicros(sorted.first!)), median \(formatMicros(sorted[sorted.count / 2])), max \(formatMicros(sorted.last!))")
            }
            t += namedText()
            t += text.fit("Non-iterable saves across runs (longest mean first):")
            t += text.table(header: ["device", "runs", "mean µs", "max µs"], rows: ranked.prefix(top).map {
                ["\($0.name)#\($0.instanceID)", String($0.runs), String($0.totalUS / UInt64(max($0.runs, 1))), String($0.maxUS)]
            }, align: [.left, .right, .right, .right], flexible: 0, indent: 2)
            t += "\n" + TableSink.inputsText(inputs, text)
            out(t)
        }
    }

    /// "Named share of the downtime …: source over N runs min …, median …, max …; destination …",
    /// with the hint when a side's inputs named no step; "unknown" for a side without stamps.
    private func namedText() -> String {
        var parts: [String] = []
        for (k, name) in ["source", "destination"].enumerated() where named[k].lines > 0 {
            let s = named[k].shares.sorted()
            guard !s.isEmpty else {
                parts.append("\(name) unknown (it needs the checkpoints and their -msg timestamp=on stamps)")
                continue
            }
            parts.append("\(name) over \(s.count) run\(s.count == 1 ? "" : "s") min \(percent(s.first!)), "
                         + "median \(percent(s[s.count / 2])), max \(percent(s.last!))"
                         + (named[k].stepsKnown ? "" : " (devices alone)"))
        }
        guard !parts.isEmpty else { return "" }
        var line = "Named share of the downtime (devices, handlers and steps): " + parts.joined(separator: "; ")
        if named.contains(where: { $0.lines > 0 && !$0.stepsKnown }) {
            line += "; our QEMU series (Patches/) names the handlers and steps of the rest"
        }
        return text.wrap(line)
    }

    private var line = ByteBuffer(capacity: 256)

    deinit { line.deallocate() }

    /// The table line of a side written as bytes: the same text as the `TextLayout.row` and
    /// `fit` path (SummaryTests compare them), for the usual line, whose longest device has a
    /// plain ASCII name and which fits the width; nil otherwise.
    private func fastLine(_ run: RunReport, _ side: SideReport, _ longest: DeviceRow?) -> String? {
        var b = line
        defer { line = b }
        b.removeAll()
        // Every byte but UTF-8 continuation bytes is one column (µ, – and ASCII).
        func cell(_ b: inout ByteBuffer, _ k: Int, _ write: (inout ByteBuffer) -> Void) {
            let start = b.count
            write(&b)
            var n = 0
            for i in start..<b.count where b.base[i] & 0xC0 != 0x80 { n += 1 }
            let pad = max(0, Self.widths[k] - n)
            if Self.align[k] == .right, pad > 0 {
                b.insertSpaces(pad, at: start)
            } else if k < Self.widths.count - 1 {
                b.append(spaces: pad)
            }
            if k < Self.widths.count - 1 { b.append(spaces: 2) }
        }
        cell(&b, 0) { $0.append(decimal: run.index) }
        cell(&b, 1) { $0.append(side.side == .source ? "source" as StaticString : "destination") }
        cell(&b, 2) {
            $0.append(decimal: side.log.firstLine)
            $0.append("–" as StaticString)
            $0.append(decimal: side.log.lastLine)
        }
        cell(&b, 3) { b in
            guard let total = side.totalUS else { return b.append(UInt8(ascii: "?")) }
            b.append(micros: total)
        }
        cell(&b, 4) { $0.append(decimal: side.devices.count) }
        cell(&b, 5) { $0.append(decimal: side.recorder.kept) }
        var plain = true
        cell(&b, 6) { b in
            guard let longest else { return }
            let name = side.names.idstr(longest.device.idstr)
            plain = ByteScan.first(in: name, from: 0, flags: { ByteScan.below($0, 0x20) | ($0 & 0x8080_8080_8080_8080)
                | ByteScan.equal($0, 0x7f) }, special: { $0 < 0x20 || $0 >= 0x7f }) == name.count
            b.append(name)
            b.append(UInt8(ascii: "#"))
            b.append(decimal: UInt64(longest.device.instanceID))
            b.append(UInt8(ascii: " "))
            b.append(decimal: longest.device.timeUS)
            b.append(" µs" as StaticString)
            if let share = longest.share {
                b.append(" (" as StaticString)
                b.append(fixed: share * 100, digits: 1)
                b.append("%)" as StaticString)
            }
        }
        b.trimSpaces(from: 0)
        var columns = 0
        for i in 0..<b.count where b.base[i] & 0xC0 != 0x80 { columns += 1 }
        guard plain, columns <= text.width else { return nil }
        b.append(UInt8(ascii: "\n"))
        return String(decoding: b.bytes, as: UTF8.self)
    }

    /// The per-run lines' columns: fixed, as the lines are written as the runs come.
    static let widths = [5, 11, 13, 10, 7, 5, 0]
    static let align: [TextLayout.Align] = [.right, .left, .left, .right, .right, .right, .left]
}
