// SPDX-License-Identifier: MIT
import DevstateBytes
import DevstateModel

/// The table's share of each side's downtime that has a name, and its handlers and steps by
/// phase. A run has a few dozen steps at most: String cells.
extension TableWriter {
    /// What the table says when the input names no handler or step.
    static func unnamedHint(_ side: SideReport) -> String {
        (side.hasLines ? "this trace has no vmstate_downtime_step lines" : "this reply has no downtime-steps")
            + "; our QEMU series (Patches/) names the handlers and steps of the rest"
    }

    /// "named N µs of M µs (x%): devices …, handlers and steps …; unnamed …", under the phases.
    mutating func namedLine(_ side: SideReport) {
        let n = side.named
        var line = "named \(n.namedUS) µs"
        if let downtime = n.downtimeUS, let share = n.share { line += " of \(downtime) µs (\(percent(share)))" }
        line += n.stepsKnown ? ": devices \(n.devicesUS) µs, handlers and steps \(n.stepsUS) µs" : ", devices alone"
        if let unnamed = n.unnamedUS, n.share != nil {
            line += "; unnamed \(unnamed) µs"
        } else {
            line += "; share of the \(side.side == .source ? "downtime" : "load to vm started") unknown (it needs "
                + (side.hasLines ? "the checkpoints and their -msg timestamp=on stamps)" : "downtime-checkpoints)")
        }
        if !n.stepsKnown { line += ": " + Self.unnamedHint(side) }
        text.wrap(line, indent: 2, hang: 2, into: &buffer)
    }

    /// The side's handlers and steps grouped by phase, longest first in each; concise: the `top`
    /// longest of each phase and what the others add up to.
    mutating func stepTable(_ side: SideReport) {
        guard !side.steps.isEmpty else { return }
        // Phases in their order; the steps outside every phase last.
        let phases = Set(side.steps.map { $0.phase ?? Int.max }).sorted()
        func share(_ us: UInt64, _ phase: Int) -> String {
            guard phase < side.phases.count, let d = side.phases[phase].durationUS, d > 0 else { return "" }
            return percent(Double(us) / Double(d))
        }
        var rows: [[String]] = []
        for phase in phases {
            let steps = side.steps.filter { ($0.phase ?? Int.max) == phase }
            let ordered = longestFirst(steps) { $0.step.timeUS }.map { steps[$0] }
            let first = rows.count
            let sum = steps.reduce(UInt64(0)) { $0 &+ $1.step.timeUS }
            if steps.count > 1 { rows.append(["", "\(steps.count) in all", "", "", "", "\(sum)", share(sum, phase)]) }
            for row in ordered.prefix(top) {
                let s = row.step
                rows.append(["", s.name, s.kind.rawValue, s.device, s.type, "\(s.timeUS)",
                             row.share.map(percent) ?? ""])
            }
            // The phase is named in its first row, not in the one of those left out.
            if rows.count > first { rows[first][0] = phase < side.phases.count ? side.phases[phase].label : "–" }
            if ordered.count > top {
                let rest = ordered.dropFirst(top).reduce(UInt64(0)) { $0 &+ $1.step.timeUS }
                rows.append(["", "\(ordered.count - top) more (--all)", "", "", "", "\(rest)", share(rest, phase)])
            }
        }
        var header = ["phase", "handler or step", "kind", "device", "type", "µs", "share"]
        var align: [TextLayout.Align] = [.left, .left, .left, .left, .left, .right, .right]
        // A QOM path is told apart by its end (`…/guest-disk-dev/virtio-backend`): the type
        // column goes when a device does not fit beside it, and a device still too long is cut
        // at the front, not in the middle.
        let widths = header.indices.map { c in
            rows.reduce(VisibleText.columns(header[c])) { max($0, VisibleText.columns($1[c])) }
        }
        func room(without dropped: Int?) -> Int {
            let others = header.indices.filter { $0 != 3 && $0 != dropped }
            return max(14, text.width - others.reduce(2 + 2 * others.count) { $0 + widths[$1] })
        }
        var fits = room(without: nil)
        if widths[3] > fits {
            fits = room(without: 4)
            header.remove(at: 4)
            align.remove(at: 4)
            for r in rows.indices { rows[r].remove(at: 4) }
        }
        for r in rows.indices where VisibleText.columns(rows[r][3]) > fits {
            rows[r][3] = "…" + String(rows[r][3].suffix(fits - 1))
        }
        text.wrap((side.side == .source ? "Source" : "Destination")
                  + " handlers and steps by phase, longest first (% = share of the phase)", into: &buffer)
        table.reset(columns: header.count)
        for cell in header + rows.joined() { table.add(cell) }
        table.write(into: &buffer, width: text.width, align: align, flexible: 3, indent: 2, droppable: [2])
        buffer.append(UInt8(ascii: "\n"))
    }
}
