/// `--summary`: one line per run and, at the end, each device's time across all runs. Meant for
/// logs with many migrations, where the full report is long.
public final class SummarySink: ReportSink {
    struct Aggregate {
        var name: String
        var instanceID: UInt32
        var runs = 0
        var totalUS: UInt64 = 0
        var maxUS: UInt64 = 0
    }

    let out: (String) -> Void
    let format: OutputFormat
    let width: Int
    let top: Int
    private var count = 0
    private var downtimes: [Int64] = []
    private var slot: [DeviceKey: Int] = [:]
    private var aggregates: [Aggregate] = []

    public init(format: OutputFormat, width: Int = 100, top: Int = 15, out: @escaping (String) -> Void) {
        self.format = format
        self.width = max(40, width)
        self.top = max(1, top)
        self.out = out
    }

    public func begin() {
        switch format {
        case .json: out("{\"schema\":\"devstate-summary/1\",\"runs\":[")
        case .csv: out("run,side,log,index_in_log,first_line,last_line,downtime_us,devices,device_state_times,top_device,top_instance_id,top_time_us\n")
        case .table:
            out(fit("  run  side         lines          downtime  devices  d-s-t  longest device") + "\n")
        }
    }

    public func run(_ run: RunReport) {
        var text = ""
        for side in [run.source, run.destination].compactMap({ $0 }) {
            let longest = side.longest
            if side.side == .source {
                if let d = side.totalUS { downtimes.append(d) }
                for row in side.devices where row.device.section == .nonIterable {
                    let key = row.key
                    var k = slot[key] ?? -1
                    if k < 0 {
                        if aggregates.count >= 16_384 { continue }
                        k = aggregates.count
                        slot[key] = k
                        aggregates.append(Aggregate(name: row.name, instanceID: row.device.instanceID))
                    }
                    aggregates[k].runs += 1
                    aggregates[k].totalUS &+= row.device.timeUS
                    aggregates[k].maxUS = max(aggregates[k].maxUS, row.device.timeUS)
                }
            }
            switch format {
            case .json:
                var members: [(String, JSONValue)] = [
                    ("run", .int(Int64(run.index))), ("side", .string(side.side.rawValue)),
                    ("log", .string(side.log.file)), ("index-in-log", .int(Int64(side.log.index))),
                    ("lines", .array([.int(Int64(side.log.firstLine)), .int(Int64(side.log.lastLine))])),
                    ("downtime-us", side.totalUS.map { .int($0) } ?? .null),
                    ("devices", .int(Int64(side.devices.count))),
                    ("device-state-times", .raw(side.deviceStateTimesJSON)),
                ]
                if let longest {
                    members.append(("longest", .object([("name", .string(longest.name)),
                                                         ("instance-id", .uint(UInt64(longest.device.instanceID))),
                                                         ("time-us", .uint(longest.device.timeUS))])))
                }
                text += (count > 0 ? "," : "") + JSONValue.object(members).serialized()
            case .csv:
                text += "\(run.index),\(side.side.rawValue),\(CSVSink.field(side.log.file)),\(side.log.index),"
                text += "\(side.log.firstLine),\(side.log.lastLine),\(side.totalUS.map(String.init) ?? ""),"
                text += "\(side.devices.count),\(side.recorder.kept),"
                text += longest.map { "\(CSVSink.field($0.name)),\($0.device.instanceID),\($0.device.timeUS)" } ?? ",,"
                text += "\n"
            case .table:
                var line = pad(String(run.index), 5, right: true) + "  " + pad(side.side.rawValue, 11) + "  "
                line += pad("\(side.log.firstLine)–\(side.log.lastLine)", 13) + "  "
                line += pad(side.totalUS.map(formatMicros) ?? "?", 10, right: true) + "  "
                line += pad(String(side.devices.count), 7, right: true) + "  "
                line += pad(String(side.recorder.kept), 5, right: true) + "  "
                if let longest {
                    line += "\(longest.name)#\(longest.device.instanceID) \(longest.device.timeUS) µs"
                    if let share = longest.share { line += " (" + percent(share) + ")" }
                }
                text += fit(line) + "\n"
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
        case .table:
            var t = "\n"
            let sorted = downtimes.sorted()
            if !sorted.isEmpty {
                t += fit("Source downtime over \(sorted.count) runs: min \(formatMicros(sorted.first!)), median \(formatMicros(sorted[sorted.count / 2])), max \(formatMicros(sorted.last!))") + "\n"
            }
            t += fit("Non-iterable saves across runs (longest mean first):") + "\n"
            t += fit("  " + pad("device", 32) + "  " + pad("runs", 6, right: true) + "  " + pad("mean µs", 9, right: true) + "  " + pad("max µs", 9, right: true)) + "\n"
            for a in ranked.prefix(top) {
                t += fit("  " + pad(clip("\(a.name)#\(a.instanceID)", 32), 32) + "  " + pad(String(a.runs), 6, right: true) + "  "
                         + pad(String(a.totalUS / UInt64(max(a.runs, 1))), 9, right: true) + "  "
                         + pad(String(a.maxUS), 9, right: true)) + "\n"
            }
            for i in inputs {
                t += fit("\(i.path): \(i.stats.lines) lines, \(i.stats.events) trace events, \(i.stats.malformedLines) malformed (skipped)") + "\n"
                for m in i.stats.malformed {
                    t += fit("    line \(m.line): \(m.reason): \(m.text)") + "\n"
                }
            }
            out(t)
        }
    }

    private func pad(_ s: String, _ n: Int, right: Bool = false) -> String {
        let fill = String(repeating: " ", count: max(0, n - s.count))
        return right ? fill + s : s + fill
    }

    private func fit(_ s: String) -> String {
        var s = s.count > width ? String(s.prefix(width - 1)) + "…" : s
        while s.hasSuffix(" ") { s.removeLast() }
        return s
    }
}
