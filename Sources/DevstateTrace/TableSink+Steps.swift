// SPDX-License-Identifier: MIT
/// The table's share of each side's downtime that has a name, and its handlers and steps by
/// phase. A run has a few dozen steps at most: plain String cells and `TextLayout.table`.
extension TableSink {
    /// What the table says when the input names no handler or step.
    static func unnamedHint(_ side: SideReport) -> String {
        (side.log.queryMigrate == nil ? "this trace has no vmstate_downtime_step lines"
                                      : "this reply has no \(SeriesMember.downtimeSteps)")
            + "; our QEMU series (Patches/) names the handlers and steps of the rest"
    }

    /// "named N µs of M µs (x%): devices …, handlers and steps …; unnamed …", under the phases.
    func namedLine(_ side: SideReport, into t: inout ByteBuffer) {
        let n = side.named
        var line = "named \(n.namedUS) µs"
        if let downtime = n.downtimeUS, let share = n.share { line += " of \(downtime) µs (\(DevstateTrace.percent(share)))" }
        line += n.stepsKnown ? ": devices \(n.devicesUS) µs, handlers and steps \(n.stepsUS) µs" : ", devices alone"
        if let unnamed = n.unnamedUS, n.share != nil {
            line += "; unnamed \(unnamed) µs"
        } else {
            line += "; share of the \(side.side == .source ? "downtime" : "load to vm started") unknown (it needs "
                + (side.hasLines ? "the checkpoints and their -msg timestamp=on stamps)" : "downtime-checkpoints)")
        }
        if !n.stepsKnown { line += ": " + Self.unnamedHint(side) }
        text.wrap(line, indent: 2, hang: 2, into: &t)
    }

    /// The side's handlers and steps grouped by phase, longest first in each; concise: the `top`
    /// longest of each phase and what the others add up to.
    func stepTable(_ side: SideReport, into t: inout ByteBuffer) {
        guard !side.steps.isEmpty else { return }
        let top: Int
        switch detail {
        case .full: top = Int.max
        case .concise(let n): top = n
        }
        // Phases in their order; the steps outside every phase last.
        var groups: [(phase: Int?, rows: [Int])] = []
        for (i, row) in side.steps.enumerated() {
            if let g = groups.firstIndex(where: { $0.phase == row.phase }) { groups[g].rows.append(i) } else {
                groups.append((row.phase, [i]))
            }
        }
        groups.sort { ($0.phase ?? Int.max) < ($1.phase ?? Int.max) }
        func share(_ us: UInt64, _ phase: Int?) -> String {
            guard let phase, let d = side.phases[phase].durationUS, d > 0 else { return "" }
            return DevstateTrace.percent(Double(us) / Double(d))
        }
        var rows: [[String]] = []
        for group in groups {
            let label = group.phase.map { side.phases[$0].label } ?? "–"
            let steps = group.rows.map { side.steps[$0] }
            let sum = steps.reduce(UInt64(0)) { $0 &+ $1.step.timeUS }
            let ordered = group.rows.enumerated().sorted {
                let a = side.steps[$0.element].step.timeUS, b = side.steps[$1.element].step.timeUS
                return a != b ? a > b : $0.offset < $1.offset
            }.map(\.element)
            var first = true
            func phaseCell() -> String {
                defer { first = false }
                return first ? label : ""
            }
            if steps.count > 1 { rows.append([phaseCell(), "\(steps.count) in all", "", "", "", "\(sum)", share(sum, group.phase)]) }
            for i in ordered.prefix(top) {
                let s = side.steps[i].step
                rows.append([phaseCell(), s.name, s.kind.rawValue, s.device, s.type, "\(s.timeUS)",
                             side.steps[i].share.map(DevstateTrace.percent) ?? ""])
            }
            if ordered.count > top {
                let rest = ordered.dropFirst(top).reduce(UInt64(0)) { $0 &+ side.steps[$1].step.timeUS }
                rows.append(["", "\(ordered.count - top) more (--all)", "", "", "", "\(rest)", share(rest, group.phase)])
            }
        }
        var header = ["phase", "handler or step", "kind", "device", "type", "µs", "share"]
        var align: [TextLayout.Align] = [.left, .left, .left, .left, .left, .right, .right]
        // A QOM path is told apart by its end (`…/guest-disk-dev/virtio-backend`): the type
        // column goes when a device does not fit beside it, and a device still too long is cut
        // at the front, not in the middle.
        func room(without dropped: Set<Int>) -> Int {
            let others = (0..<header.count).filter { $0 != 3 && !dropped.contains($0) }
            let used = others.reduce(2 + 2 * others.count) { sum, c in
                sum + rows.reduce(TextLayout.columns(header[c])) { max($0, TextLayout.columns($1[c])) }
            }
            return max(14, text.width - used)
        }
        let widest = rows.reduce(0) { max($0, TextLayout.columns($1[3])) }
        var fits = room(without: [])
        if widest > fits {
            fits = room(without: [4])
            header.remove(at: 4)
            align.remove(at: 4)
            for r in rows.indices { rows[r].remove(at: 4) }
        }
        for r in rows.indices where TextLayout.columns(rows[r][3]) > fits {
            rows[r][3] = "…" + String(rows[r][3].suffix(fits - 1))
        }
        text.wrap((side.side == .source ? "Source" : "Destination")
                  + " handlers and steps by phase, longest first (% = share of the phase)", into: &t)
        t.append(text.table(header: header, rows: rows, align: align, flexible: 3, indent: 2, droppable: [2]))
        t.append(UInt8(ascii: "\n"))
    }
}
