/// Receives runs as they are ready, then the input summaries; writes text through `out`.
public protocol ReportSink: AnyObject {
    func begin()
    func run(_ run: RunReport)
    func end(inputs: [InputSummary])
}

public enum OutputFormat: String, CaseIterable, Sendable {
    case table, json, csv
}

// MARK: JSON

public final class JSONSink: ReportSink {
    let out: (String) -> Void
    let pretty: Bool
    var count = 0

    public init(pretty: Bool, out: @escaping (String) -> Void) {
        self.pretty = pretty
        self.out = out
    }

    public func begin() {
        out(pretty ? "{\n  \"schema\": \"\(ReportJSON.schema)\",\n  \"runs\": ["
                   : "{\"schema\":\"\(ReportJSON.schema)\",\"runs\":[")
    }

    public func run(_ run: RunReport) {
        var text = count > 0 ? "," : ""
        if pretty { text += "\n    " }
        ReportJSON.run(run).write(to: &text, pretty: pretty, indent: 2)
        out(text)
        count += 1
    }

    public func end(inputs: [InputSummary]) {
        let inputsValue = JSONValue.array(inputs.map(ReportJSON.input))
        let malformed = inputs.reduce(0) { $0 + $1.stats.malformedLines }
        if pretty {
            out((count > 0 ? "\n  ]" : "]") + ",\n  \"inputs\": " + inputsValue.serialized(pretty: true, indent: 1)
                + ",\n  \"malformed-lines\": \(malformed)\n}\n")
        } else {
            out("],\"inputs\":" + inputsValue.serialized() + ",\"malformed-lines\":\(malformed)}\n")
        }
    }
}

// MARK: CSV

/// One row per device per side, plus rows for phases, checkpoints and types (column `record`).
public final class CSVSink: ReportSink {
    let out: (String) -> Void
    private var escaped: [String: String] = [:]

    private func cached(_ s: String) -> String {
        if let e = escaped[s] { return e }
        let e = Self.field(s)
        if escaped.count > 16_384 { escaped.removeAll() }
        escaped[s] = e
        return e
    }
    public static let header = "run,side,record,name,instance_id,type,section,time_us,share,in_device_state_times,vmsd,from,to,offset_us,line"

    public init(out: @escaping (String) -> Void) {
        self.out = out
    }

    public func begin() { out(Self.header + "\n") }

    static func field(_ s: String) -> String {
        // By byte: "\r\n" is one Character and would not match "\n" or "\r".
        if s.utf8.contains(where: { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 0x0A || $0 == 0x0D }) {
            return "\"" + s.replacingAll("\"", with: "\"\"") + "\""
        }
        return s
    }

    public func run(_ run: RunReport) {
        var text = ""
        for s in [run.source, run.destination].compactMap({ $0 }) {
            let prefix = "\(run.index),\(s.side.rawValue),"
            for row in s.devices {
                text += prefix
                text += "device,"
                text += cached(row.name)
                text += ","
                text += String(row.device.instanceID)
                text += ","
                text += cached(row.type)
                text += row.device.section == .iterable ? ",iterable," : ",non-iterable,"
                text += String(row.device.timeUS)
                text += ","
                text += (row.share.map { formatFixed($0, digits: 4) } ?? "") + ","
                text += row.inDeviceStateTimes ? "true," : "false,"
                text += row.hasVMSD ? "true,,,," : "false,,,,"
                if s.hasLines { text += String(row.device.line) }
                text += "\n"
            }
            for p in s.phases {
                text += prefix + "phase," + Self.field(p.label) + ",,,,"
                text += (p.durationUS.map { String($0) } ?? "") + ",,,,"
                text += Self.field(p.from) + "," + Self.field(p.to) + ",,\n"
            }
            for c in s.checkpoints {
                text += prefix + "checkpoint," + Self.field(c.name) + ",,,,,,,,,,"
                text += (c.offsetUS.map { String($0) } ?? "") + "," + (s.hasLines ? String(c.line) : "") + "\n"
            }
            for t in s.types {
                text += prefix + "type," + Self.field(t.type) + ",," + Self.field(t.type) + ",,"
                text += "\(t.timeUS)," + (t.share.map { formatFixed($0, digits: 4) } ?? "") + ",,,,,,\n"
            }
        }
        out(text)
    }

    public func end(inputs: [InputSummary]) {}
}

extension String {
    /// By scalar: a quote followed by a combining mark is one Character, which a comparison
    /// of Characters would miss.
    func replacingAll(_ target: Unicode.Scalar, with replacement: String) -> String {
        var result = ""
        for scalar in unicodeScalars {
            if scalar == target { result += replacement } else { result.unicodeScalars.append(scalar) }
        }
        return result
    }
}

// MARK: Table

/// Human-readable report that fits `width` columns.
public final class TableSink: ReportSink {
    let out: (String) -> Void
    let width: Int
    let top: Int?

    public init(width: Int, top: Int? = nil, out: @escaping (String) -> Void) {
        self.width = max(40, width)
        self.top = top
        self.out = out
    }

    public func begin() {}

    public func run(_ run: RunReport) {
        var t = ""
        let title = "Run \(run.index)"
        t += "── " + title + " " + String(repeating: "─", count: max(0, width - title.count - 4)) + "\n"
        for s in [run.source, run.destination].compactMap({ $0 }) {
            var line = "\(s.side == .source ? "source" : "destination"): "
            if let q = s.log.queryMigrate?.facts {
                line += "query-migrate of \(s.log.file) ("
                line += q.qemuVersion.map { "QEMU \($0), " } ?? ""
                line += "series \(q.series.rawValue)\(q.outcome == .partial ? ", PARTIAL" : ""))"
            } else {
                line += s.log.file
                line += s.side == .source ? " run \(s.log.index)" : ""
                line += " (lines \(s.log.firstLine)–\(s.log.lastLine))"
            }
            if let total = s.totalUS {
                line += s.side == .source ? ", downtime " : ", load to vm started "
                line += formatMicros(total)
            }
            t += wrap(line)
        }
        t += "\n"
        for s in [run.source, run.destination].compactMap({ $0 }) { t += phaseTable(s) }
        t += deviceTable(run)
        t += typeTable(run)
        for s in [run.source, run.destination].compactMap({ $0 }) { t += footnotes(s) }
        t += "\n"
        out(t)
    }

    public func end(inputs: [InputSummary]) {
        var t = ""
        let replies = inputs.filter { $0.queryMigrate != nil }
        if !replies.isEmpty {
            t += wrap("Read \(replies.count) query-migrate repl\(replies.count == 1 ? "y" : "ies"):")
            for i in replies {
                let q = i.queryMigrate!
                var line = "\(i.path) (\(i.role)): "
                line += q.qemuVersion.map { "QEMU \($0), " } ?? ""
                line += "status \(q.status ?? "none"), series \(q.series.rawValue) (from \(q.seriesFrom.rawValue)): "
                switch q.outcome {
                case .complete: line += "complete"
                case .partial: line += "PARTIAL, missing " + q.missing.joined(separator: ", ")
                case .notCompleted: line += "no completed migration"
                case .noSeries: line += "no device-state-times series"
                }
                t += wrap(line, indent: 2)
                if let message = q.message { t += wrap(message, indent: 4, hang: 0) }
            }
        }
        let logs = inputs.filter { $0.queryMigrate == nil }
        if logs.isEmpty {
            out(t)
            return
        }
        let inputs = logs
        let runs = inputs.reduce(0) { $0 + $1.sources }
        let loads = inputs.reduce(0) { $0 + $1.destinations }
        t += wrap("Read \(inputs.count) log\(inputs.count == 1 ? "" : "s"): \(runs) source run\(runs == 1 ? "" : "s"), \(loads) destination load\(loads == 1 ? "" : "s").")
        for i in inputs {
            var line = "\(i.path): \(i.stats.lines) lines, \(i.stats.events) trace events"
            line += i.stats.malformedLines > 0 ? ", \(i.stats.malformedLines) malformed (skipped)" : ", no malformed lines"
            t += wrap(line, indent: 2)
            for m in i.stats.malformed {
                let head = "    line \(m.line): \(m.reason): "
                t += head.count + 8 <= width ? head + clip(m.text, width - head.count) + "\n" : wrap(head + m.text, indent: 4)
            }
            if i.stats.malformedLines > i.stats.malformed.count {
                t += wrap("… and \(i.stats.malformedLines - i.stats.malformed.count) more", indent: 4)
            }
        }
        out(t)
    }

    func phaseTable(_ s: SideReport) -> String {
        guard !s.phases.isEmpty || !s.checkpoints.isEmpty else { return "" }
        var rows: [[String]] = []
        for p in s.phases {
            let share: String
            if let d = p.durationUS, let total = s.totalUS, total > 0 {
                share = percent(Double(d) / Double(total))
            } else {
                share = ""
            }
            rows.append([p.label, "\(p.from) → \(p.to)", p.durationUS.map { String($0) } ?? "?", share])
        }
        if let total = s.totalUS {
            rows.append([s.side == .source ? "downtime" : "total", "", String(total), "100.0%"])
        }
        var t = (s.side == .source ? "Source" : "Destination") + " phases\n"
        t += layout(header: ["phase", "checkpoints", "µs", "share"], rows: rows,
                    align: [.left, .left, .right, .right], flexible: 1, indent: 2)
        let unknown = s.checkpoints.filter { !$0.known }
        if !unknown.isEmpty {
            t += wrap("unknown checkpoints (kept): " + unknown.map { c in
                c.name + (c.offsetUS.map { " @" + String($0) + " µs" } ?? "") + (s.hasLines ? " (line \(c.line))" : "")
            }.joined(separator: ", "), indent: 2)
        }
        return t + "\n"
    }

    func deviceTable(_ run: RunReport) -> String {
        let primary = run.source ?? run.destination!
        let secondary = run.source != nil ? run.destination : nil
        var dst: [DeviceKey: DeviceRow] = [:]
        if let secondary { for row in secondary.devices { dst[row.key] = row } }
        var rows: [[String]] = []
        var seen = Set<DeviceKey>()
        var ordered = primary.devicesByTime
        if let top, ordered.count > top { ordered = Array(ordered.prefix(top)) }
        for (i, row) in ordered.enumerated() {
            seen.insert(row.key)
            var cells = [String(i + 1), row.name, String(row.device.instanceID), row.type,
                         sectionShort(row.device.section), String(row.device.timeUS),
                         row.share.map(percent) ?? "", flag(row)]
            if secondary != nil {
                if let d = dst[row.key] {
                    cells += [String(d.device.timeUS), d.share.map(percent) ?? ""]
                } else {
                    cells += ["–", ""]
                }
            }
            rows.append(cells)
        }
        if let secondary, top == nil {
            for d in secondary.devicesByTime where !seen.contains(d.key) {
                rows.append(["", d.name, String(d.device.instanceID), d.type,
                             sectionShort(d.device.section), "–", "", "", String(d.device.timeUS),
                             d.share.map(percent) ?? ""])
            }
        }
        let p = primary.side == .source ? "src" : "dst"
        var header = ["#", "device", "inst", "type", "section", "\(p) µs", "\(p) %", "d-s-t"]
        var align: [Align] = [.right, .left, .right, .left, .left, .right, .right, .left]
        if secondary != nil {
            header += ["dst µs", "dst %"]
            align += [.right, .right]
        }
        var t = wrap("Devices by \(primary.side == .source ? "source save" : "destination load") time"
                     + " (% = share of its phase: \(basisText(primary)))")
        t += layout(header: header, rows: rows, align: align, flexible: 1, indent: 2,
                    droppable: [3, 7, 2])
        var legend = "d-s-t: yes = in device-state-times; no-vmsd = no vmsd, left out as the reference"
            + " patch does; zero = 0 µs, left out; iter = iterable section"
        if primary.devices.contains(where: { !$0.hasVMSD && $0.inDeviceStateTimes }) {
            legend += "; handler = no vmsd, in device-state-times with \"handler\": true"
        }
        t += wrap(legend, indent: 2, hang: 7)
        return t + "\n"
    }

    func typeTable(_ run: RunReport) -> String {
        let primary = run.source ?? run.destination!
        let secondary = run.source != nil ? run.destination : nil
        var dst: [String: TypeRow] = [:]
        if let secondary { for row in secondary.types { dst[row.type] = row } }
        var rows: [[String]] = []
        for row in primary.types {
            var cells = [row.type, String(row.count), String(row.timeUS), row.share.map(percent) ?? ""]
            if secondary != nil {
                if let d = dst[row.type] {
                    cells += [String(d.timeUS), d.share.map(percent) ?? ""]
                } else {
                    cells += ["–", ""]
                }
            }
            rows.append(cells)
        }
        if let secondary {
            let known = Set(primary.types.map(\.type))
            for d in secondary.types where !known.contains(d.type) {
                rows.append([d.type, String(d.count), "–", "", String(d.timeUS), d.share.map(percent) ?? ""])
            }
        }
        let p = primary.side == .source ? "src" : "dst"
        var header = ["type", "count", "\(p) µs", "\(p) %"]
        var align: [Align] = [.left, .right, .right, .right]
        if secondary != nil {
            header += ["dst µs", "dst %"]
            align += [.right, .right]
        }
        var t = wrap("By device type (% = share of the side's summed device time)")
        t += layout(header: header, rows: rows, align: align, flexible: 0, indent: 2)
        return t + "\n"
    }

    func footnotes(_ s: SideReport) -> String {
        let name = s.side == .source ? "source" : "destination"
        let noVMSD = s.devices.filter { !$0.hasVMSD && !$0.inDeviceStateTimes }
        let handler = s.devices.filter { !$0.hasVMSD && $0.inDeviceStateTimes }
        let zero = s.devices.filter { $0.hasVMSD && $0.device.section == .nonIterable && $0.device.timeUS == 0 }
        var line = "\(name) device-state-times: \(s.recorder.kept) entries"
        line += s.recorder.complete ? "" : " (run not complete)"
        if !noVMSD.isEmpty {
            line += "; without vmsd, listed apart: " + noVMSD.map {
                "\($0.name)#\($0.device.instanceID) \($0.device.timeUS) µs"
            }.joined(separator: ", ")
        }
        if !handler.isEmpty {
            line += "; saved by a handler (\"handler\": true): " + handler.map {
                "\($0.name)#\($0.device.instanceID)"
            }.joined(separator: ", ")
        }
        if !zero.isEmpty { line += "; \(zero.count) at 0 µs" }
        var t = wrap(line)
        for e in s.recorder.errors { t += wrap("recorder refused: \(e)", indent: 2) }
        for n in s.notes { t += wrap("note: \(n)", indent: 2) }
        return t
    }

    /// `text` word-wrapped to the width; continuation lines indented by `indent + hang`.
    func wrap(_ text: String, indent: Int = 0, hang: Int = 2) -> String {
        let text = visible(text)
        var lines: [String] = []
        var current = String(repeating: " ", count: indent)
        var empty = true
        for word in text.split(separator: " ", omittingEmptySubsequences: false) {
            let w = String(word)
            let sep = empty ? "" : " "
            if !empty, current.count + sep.count + w.count > width {
                lines.append(current)
                current = String(repeating: " ", count: indent + hang)
                empty = true
            }
            let room = width - current.count - (empty ? 0 : 1)
            current += (empty ? "" : " ") + (w.count > room ? clip(w, room) : w)
            empty = false
        }
        lines.append(current)
        return lines.map { l in
            var l = l
            while l.hasSuffix(" ") { l.removeLast() }
            return l
        }.joined(separator: "\n") + "\n"
    }

    func basisText(_ s: SideReport) -> String {
        if s.side == .destination {
            return s.shareBasis[.nonIterable] == .phase ? "load phase from timestamps" : "summed load time"
        }
        let a = s.shareBasis[.iterable] == .phase, b = s.shareBasis[.nonIterable] == .phase
        return a && b ? "iterable / non-iterable phase from checkpoints" : "summed time of its section"
    }

    func sectionShort(_ s: Section) -> String { s == .iterable ? "iter" : "non-iter" }

    func flag(_ row: DeviceRow) -> String {
        if row.device.section == .iterable { return "iter" }
        if !row.hasVMSD { return row.inDeviceStateTimes ? "handler" : "no-vmsd" }
        if row.inDeviceStateTimes { return "yes" }
        if row.device.timeUS == 0 { return "zero" }
        return "no"
    }

    enum Align { case left, right }

    /// Lays out columns; column `flexible` takes what is left of `width` (clipped in the middle);
    /// columns in `droppable` go, in that order, when even a narrow flexible column won't fit.
    func layout(header: [String], rows: [[String]], align: [Align], flexible: Int, indent: Int,
                droppable: [Int] = []) -> String {
        let rows = rows.map { $0.map(visible) }
        var columns = Array(header.indices)
        func widths(_ cols: [Int]) -> [Int: Int] {
            var w: [Int: Int] = [:]
            for c in cols {
                w[c] = max(header[c].count, rows.map { $0.count > c ? $0[c].count : 0 }.max() ?? 0)
            }
            return w
        }
        var w = widths(columns)
        let minFlexible = min(w[flexible] ?? 0, 14)
        func fixedWidth() -> Int {
            indent + columns.filter { $0 != flexible }.reduce(0) { $0 + w[$1]! } + 2 * (columns.count - 1)
        }
        var drops = droppable
        while fixedWidth() + minFlexible > width, !drops.isEmpty {
            let d = drops.removeFirst()
            columns.removeAll { $0 == d }
        }
        w = widths(columns)
        w[flexible] = max(minFlexible, min(w[flexible] ?? 0, width - fixedWidth()))
        var t = ""
        func line(_ cells: [String]) {
            var s = String(repeating: " ", count: indent)
            for (k, c) in columns.enumerated() {
                var cell = c < cells.count ? cells[c] : ""
                let cw = w[c]!
                if cell.count > cw { cell = clip(cell, cw) }
                let pad = String(repeating: " ", count: cw - cell.count)
                let last = k == columns.count - 1
                s += align[c] == .left ? cell + (last ? "" : pad) : pad + cell
                if !last { s += "  " }
            }
            while s.hasSuffix(" ") { s.removeLast() }
            t += s + "\n"
        }
        line(header)
        for r in rows { line(r) }
        return t
    }
}

/// `text` with control characters (a newline in a device name, …) written as escapes, so a
/// table row stays one line.
func visible(_ text: String) -> String {
    guard text.utf8.contains(where: { $0 < 0x20 || $0 == 0x7f }) else { return text }
    var out = ""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if scalar.value < 0x20 || scalar.value == 0x7f {
                let hex = String(scalar.value, radix: 16)
                out += "\\x" + (hex.count < 2 ? "0" : "") + hex
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out
}

/// `text` shortened to `width` characters with "…" in the middle.
func clip(_ text: String, _ width: Int) -> String {
    let w = max(width, 3)
    guard text.count > w else { return text }
    let head = (w - 1) / 2 + (w - 1) % 2
    let tail = w - 1 - head
    return String(text.prefix(head)) + "…" + String(text.suffix(tail))
}

func percent(_ v: Double) -> String { formatFixed(v * 100, digits: 1) + "%" }

/// 1234 → "1.234 ms", 12 → "12 µs".
public func formatMicros(_ us: Int64) -> String {
    if abs(us) < 1000 { return "\(us) µs" }
    return formatFixed(Double(us) / 1000, digits: 3) + " ms"
}
