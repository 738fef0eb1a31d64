// SPDX-License-Identifier: MIT
/// How much of each run the table shows.
public enum TableDetail: Sendable, Equatable {
    /// Every device and every type (`--all`).
    case full
    /// The `top` longest devices and how many more there are; by type, only the types with
    /// several devices.
    case concise(top: Int)
}

/// Human-readable report that fits `width` columns.
public final class TableSink: ReportSink {
    let out: TextOut
    let text: TextLayout
    let detail: TableDetail
    private var buffer = ByteBuffer()

    public init(width: Int, detail: TableDetail = .full, out: TextOut) {
        text = TextLayout(width: width)
        self.detail = detail
        self.out = out
    }

    deinit { buffer.deallocate() }

    public func begin() {}

    public func run(_ run: RunReport) {
        let sides = [run.source, run.destination].compactMap { $0 }
        var t = buffer
        t.removeAll()
        let title = "Run \(run.index)"
        t.append("── " + title + " " + String(repeating: "─", count: max(0, text.width - title.count - 4)) + "\n")
        for s in sides { text.wrap(heading(s), into: &t) }
        t.append(UInt8(ascii: "\n"))
        for s in sides { phaseTable(s, &t) }
        deviceTable(run, &t)
        typeTable(run, &t)
        for s in sides { footnotes(s, &t) }
        t.append(UInt8(ascii: "\n"))
        buffer = t
        out(buffer)
    }

    public func end(inputs: [InputSummary]) {
        out(Self.inputsText(inputs, text))
    }

    /// What was read: the query-migrate replies with their outcome, then the logs with their
    /// counts and first malformed lines (also the end of `--summary`).
    static func inputsText(_ inputs: [InputSummary], _ text: TextLayout) -> String {
        var t = ""
        let replies = inputs.filter { $0.queryMigrate != nil }
        if !replies.isEmpty {
            t += text.wrap("Read \(replies.count) query-migrate repl\(replies.count == 1 ? "y" : "ies"):")
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
                t += text.wrap(line, indent: 2)
                if let message = q.message { t += text.wrap(message, indent: 4, hang: 0) }
            }
        }
        let logs = inputs.filter { $0.queryMigrate == nil }
        guard !logs.isEmpty else { return t }
        let runs = logs.reduce(0) { $0 + $1.sources }
        let loads = logs.reduce(0) { $0 + $1.destinations }
        t += text.wrap("Read \(plural(logs.count, "log")): \(plural(runs, "source run")), \(plural(loads, "destination load")).")
        for i in logs {
            var line = "\(i.path): \(i.stats.lines) lines, \(i.stats.events) trace events"
            line += i.stats.malformedLines > 0 ? ", \(i.stats.malformedLines) malformed (skipped)" : ", no malformed lines"
            t += text.wrap(line, indent: 2)
            for m in i.stats.malformed {
                t += text.labelled("line \(m.line): \(m.reason): ", m.text, indent: 4)
            }
            if i.stats.malformedLines > i.stats.malformed.count {
                t += text.wrap("… and \(i.stats.malformedLines - i.stats.malformed.count) more", indent: 4)
            }
        }
        return t
    }

    /// "source: LOG run N (lines A–B), downtime T".
    func heading(_ s: SideReport) -> String {
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
        return line
    }

    func phaseTable(_ s: SideReport, _ t: inout ByteBuffer) {
        guard !s.phases.isEmpty || !s.checkpoints.isEmpty else { return }
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
        t.append(s.side == .source ? "Source phases\n" as StaticString : "Destination phases\n")
        text.table(header: ["phase", "checkpoints", "µs", "share"], rows: rows,
                   align: [.left, .left, .right, .right], flexible: 1, indent: 2, into: &t)
        let unknown = s.checkpoints.filter { !$0.known }
        if !unknown.isEmpty {
            text.wrap("unknown checkpoints (kept): " + unknown.map { c in
                c.name + (c.offsetUS.map { " @" + String($0) + " µs" } ?? "") + (s.hasLines ? " (line \(c.line))" : "")
            }.joined(separator: ", "), indent: 2, into: &t)
        }
        t.append(UInt8(ascii: "\n"))
    }

    func deviceTable(_ run: RunReport, _ t: inout ByteBuffer) {
        let primary = run.source ?? run.destination!
        let secondary = run.source != nil ? run.destination : nil
        var dst: [DeviceKey: DeviceRow] = [:]
        if let secondary { for row in secondary.devices { dst[row.key] = row } }
        let top: Int
        switch detail {
        case .full: top = Int.max
        case .concise(let n): top = n
        }
        var rows: [[String]] = []
        for (i, row) in primary.devicesByTime.prefix(top).enumerated() {
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
        // The destination's devices that the source does not have, after the source's.
        var more = max(0, primary.devices.count - top)
        if let secondary {
            let seen = Set(primary.devices.map(\.key))
            for d in secondary.devicesByTime where !seen.contains(d.key) {
                if rows.count < top {
                    rows.append(["", d.name, String(d.device.instanceID), d.type,
                                 sectionShort(d.device.section), "–", "", "", String(d.device.timeUS),
                                 d.share.map(percent) ?? ""])
                } else {
                    more += 1
                }
            }
        }
        let p = primary.side == .source ? "src" : "dst"
        var header = ["#", "device", "inst", "type", "section", "\(p) µs", "\(p) %", "d-s-t"]
        var align: [TextLayout.Align] = [.right, .left, .right, .left, .left, .right, .right, .left]
        if secondary != nil {
            header += ["dst µs", "dst %"]
            align += [.right, .right]
        }
        text.wrap("Devices by \(primary.side == .source ? "source save" : "destination load") time"
                  + " (% = share of its phase: \(basisText(primary)))", into: &t)
        text.table(header: header, rows: rows, align: align, flexible: 1, indent: 2,
                   droppable: [3, 7, 2], into: &t)
        if more > 0 { text.wrap("\(plural(more, "more device")) (--all)", indent: 2, into: &t) }
        var legend = "d-s-t: yes = in device-state-times; no-vmsd = no vmsd, left out as the reference"
            + " patch does; zero = 0 µs, left out; iter = iterable section"
        if primary.devices.contains(where: { !$0.hasVMSD && $0.inDeviceStateTimes }) {
            legend += "; handler = no vmsd, in device-state-times with \"handler\": true"
        }
        text.wrap(legend, indent: 2, hang: 7, into: &t)
        t.append(UInt8(ascii: "\n"))
    }

    func typeTable(_ run: RunReport, _ t: inout ByteBuffer) {
        let primary = run.source ?? run.destination!
        let secondary = run.source != nil ? run.destination : nil
        var dst: [String: TypeRow] = [:]
        if let secondary { for row in secondary.types { dst[row.type] = row } }
        // Concise: only the types that add up several devices (on either side).
        let shown: (TypeRow) -> Bool
        switch detail {
        case .full: shown = { _ in true }
        case .concise: shown = { $0.count > 1 || (dst[$0.type]?.count ?? 0) > 1 }
        }
        var rows: [[String]] = []
        for row in primary.types where shown(row) {
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
            for d in secondary.types where !known.contains(d.type) && shown(d) {
                rows.append([d.type, String(d.count), "–", "", String(d.timeUS), d.share.map(percent) ?? ""])
            }
        }
        guard !rows.isEmpty else { return }
        let p = primary.side == .source ? "src" : "dst"
        var header = ["type", "count", "\(p) µs", "\(p) %"]
        var align: [TextLayout.Align] = [.left, .right, .right, .right]
        if secondary != nil {
            header += ["dst µs", "dst %"]
            align += [.right, .right]
        }
        let which = detail == .full ? "By device type" : "By device type, types with several devices"
        text.wrap(which + " (% = share of the side's summed device time)", into: &t)
        text.table(header: header, rows: rows, align: align, flexible: 0, indent: 2, into: &t)
        t.append(UInt8(ascii: "\n"))
    }

    func footnotes(_ s: SideReport, _ t: inout ByteBuffer) {
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
        text.wrap(line, into: &t)
        for e in s.recorder.errors { text.wrap("recorder refused: \(e)", indent: 2, into: &t) }
        for n in s.notes { text.wrap("note: \(n)", indent: 2, into: &t) }
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
}

/// "1 log", "3 logs".
func plural(_ n: Int, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }
