// SPDX-License-Identifier: MIT
import DevstateBytes
import DevstateModel

/// How much of each run the table shows.
public enum TableDetail: Sendable, Equatable {
    /// Every device, step and type (`--all`).
    case full
    /// The `top` longest devices (and steps of each phase) and how many more there are; by
    /// type, only the types with several devices.
    case concise(top: Int)
}

/// The human-readable report, fitted to `width` columns: per run the sides' headings, phases,
/// steps, devices, types and footnotes (`TableWriter`), then what was read.
public final class TableSink: ReportSink {
    let out: TextOut
    private var writer: TableWriter

    public init(width: Int, detail: TableDetail = .full, out: TextOut) {
        writer = TableWriter(width: width, detail: detail)
        self.out = out
    }

    public func begin() {}

    public func run(_ run: RunReport) {
        writer.run(run)
        out.batch(&writer.buffer)
    }

    public func flush() { out.flush(&writer.buffer) }

    public func end(inputs: [InputSummary]) {
        writer.text.writeInputs(inputs, into: &writer.buffer)
        out.flush(&writer.buffer)
    }
}

/// A run of the table report written into `buffer`. A value, not the sink's own properties: a
/// class's properties are checked for exclusive access at each use, which took most of the
/// time of a long report.
struct TableWriter: ~Copyable {
    let text: TextLayout
    let detail: TableDetail
    var buffer = ByteBuffer()
    var table = Table()
    /// The device legend without and with its "handler" part, and the by-type heading, as
    /// wrapped at this width.
    private let legend: String
    private let handlerLegend: String
    private let typeHeading: String

    static let legendText = "d-s-t: yes = in device-state-times; no-vmsd = no vmsd, left out as the reference"
        + " patch does; zero = 0 µs, left out; iter = iterable section"
    static let handlerText = "; handler = no vmsd, in device-state-times with \"handler\": true"

    init(width: Int, detail: TableDetail) {
        text = TextLayout(width: width)
        self.detail = detail
        legend = text.wrap(Self.legendText, indent: 2, hang: 7)
        handlerLegend = text.wrap(Self.legendText + Self.handlerText, indent: 2, hang: 7)
        let which = detail == .full ? "By device type" : "By device type, types with several devices"
        typeHeading = text.wrap(which + " (% = share of the side's summed device time)")
    }

    /// How many devices (and steps of a phase) a run shows.
    var top: Int {
        switch detail {
        case .full: Int.max
        case .concise(let n): n
        }
    }

    mutating func run(_ run: RunReport) {
        let sides = [run.source, run.destination].compactMap { $0 }
        guard let primary = sides.first else { return }
        let title = "Run \(run.index)"
        buffer.append("── \(title) ")
        for _ in 0..<max(0, text.width - title.utf8.count - 4) { buffer.append("─" as StaticString) }
        buffer.append(UInt8(ascii: "\n"))
        for side in sides { text.wrap(heading(side), into: &buffer) }
        buffer.append(UInt8(ascii: "\n"))
        for side in sides {
            phaseTable(side)
            stepTable(side)
        }
        let secondary = run.source == nil ? nil : run.destination
        deviceTable(primary, secondary)
        typeTable(primary, secondary)
        for side in sides { footnotes(side) }
        buffer.append(UInt8(ascii: "\n"))
    }

    /// "source: LOG run N (lines A–B), downtime T".
    func heading(_ side: SideReport) -> String {
        var s = side.side == .source ? "source: " : "destination: "
        if let q = side.log.reply {
            s += "query-migrate of \(side.log.file) (" + (q.qemuVersion.map { "QEMU \($0), " } ?? "")
                + "series \(q.series.rawValue)" + (q.outcome == .partial ? ", PARTIAL)" : ")")
        } else {
            s += side.log.file + (side.side == .source ? " run \(side.log.index)" : "")
                + " (lines \(side.log.firstLine)–\(side.log.lastLine))"
        }
        if let total = side.totalUS {
            s += (side.side == .source ? ", downtime " : ", load to vm started ") + formatMicros(total)
        }
        return s
    }

    /// The phases, then the share of the downtime that has a name (alone when there are no phases).
    mutating func phaseTable(_ side: SideReport) {
        if !side.phases.isEmpty || !side.checkpoints.isEmpty {
            table.reset(columns: 4)
            table.add("phase", "checkpoints", "µs", "share")
            for p in side.phases {
                table.add(p.label)
                table.add("\(p.from) → \(p.to)")
                if let d = p.durationUS { table.add(decimal: d) } else { table.add("?") }
                let total = side.totalUS.flatMap { $0 > 0 ? Double($0) : nil }
                table.add(percent: p.durationUS.flatMap { d in total.map { Double(d) / $0 } })
            }
            if let total = side.totalUS {
                table.add(side.side == .source ? "downtime" : "total", "")
                table.add(decimal: total)
                table.add("100.0%")
            }
            buffer.append(side.side == .source ? "Source phases\n" : "Destination phases\n")
            table.write(into: &buffer, width: text.width, align: [.left, .left, .right, .right], flexible: 1, indent: 2)
            let unknown = side.checkpoints.filter { !$0.known }.map { k in
                k.name + (k.offsetUS.map { " @\($0) µs" } ?? "") + (side.hasLines ? " (line \(k.line))" : "")
            }
            if !unknown.isEmpty {
                text.wrap("unknown checkpoints (kept): " + unknown.joined(separator: ", "), indent: 2, into: &buffer)
            }
        }
        namedLine(side)
        buffer.append(UInt8(ascii: "\n"))
    }

    /// `primary`: the source, else the destination; `secondary`: the destination beside a source.
    mutating func deviceTable(_ primary: SideReport, _ secondary: SideReport?) {
        let source = primary.side == .source
        let order = longestFirst(primary.devices) { $0.device.timeUS }.prefix(top)
        var more = primary.devices.count - order.count
        text.wrap((source ? "Devices by source save time" : "Devices by destination load time")
                  + " (% = share of its phase: \(basisText(primary)))", into: &buffer)
        table.reset(columns: secondary == nil ? 8 : 10)
        table.add("#", "device", "inst", "type", "section", source ? "src µs" : "dst µs", source ? "src %" : "dst %", "d-s-t")
        if secondary != nil { table.add("dst µs", "dst %") }
        let other = secondary?.devices ?? []
        // The last of equal keys.
        let dst = Dictionary(other.map { (DeviceKey($0.device), $0) }, uniquingKeysWith: { $1 })
        for (k, i) in order.enumerated() {
            let row = primary.devices[i]
            table.add(decimal: k + 1)
            deviceCells(row.device)
            table.add(time: row.device.timeUS, share: row.share)
            table.add(Self.flag(row))
            guard secondary != nil else { continue }
            let loaded = dst[DeviceKey(row.device)]
            table.add(time: loaded?.device.timeUS, share: loaded?.share)
        }
        // The destination's devices that the source does not have, after the source's.
        if secondary != nil {
            let seen = Set(primary.devices.map { DeviceKey($0.device) })
            let unseen = other.filter { !seen.contains(DeviceKey($0.device)) }
            let extra = longestFirst(unseen) { $0.device.timeUS }.prefix(max(0, top - order.count))
            more += unseen.count - extra.count
            for row in extra.map({ unseen[$0] }) {
                table.empty()
                deviceCells(row.device)
                table.add(time: nil, share: nil)
                table.empty()
                table.add(time: row.device.timeUS, share: row.share)
            }
        }
        table.write(into: &buffer, width: text.width,
                    align: [.right, .left, .right, .left, .left, .right, .right, .left, .right, .right],
                    flexible: 1, indent: 2, droppable: [3, 7, 2])
        if more > 0 { text.wrap("\(plural(more, "more device")) (--all)", indent: 2, into: &buffer) }
        let handler = primary.devices.contains { !$0.hasVMSD && $0.inDeviceStateTimes }
        buffer.append(handler ? handlerLegend : legend)
        buffer.append(UInt8(ascii: "\n"))
    }

    /// A device's name, instance, type and section cells.
    private mutating func deviceCells(_ d: DeviceTime) {
        table.add(d.idstr)
        table.add(decimal: d.instanceID)
        table.add(d.type)
        table.add(d.section == .iterable ? "iter" as StaticString : "non-iter")
    }

    mutating func typeTable(_ primary: SideReport, _ secondary: SideReport?) {
        let other = secondary?.types ?? []
        let dst = Dictionary(other.map { ($0.type, $0) }, uniquingKeysWith: { $1 })
        // Concise: only the types that add up several devices (on either side).
        func shown(_ row: TypeRow) -> Bool {
            detail == .full || row.count > 1 || (!dst.isEmpty && (dst[row.type]?.count ?? 0) > 1)
        }
        let source = primary.side == .source
        table.reset(columns: secondary == nil ? 4 : 6)
        table.add("type", "count", source ? "src µs" : "dst µs", source ? "src %" : "dst %")
        if secondary != nil { table.add("dst µs", "dst %") }
        for row in primary.types where shown(row) {
            table.add(row.typeBytes)
            table.add(decimal: row.count)
            table.add(time: row.timeUS, share: row.share)
            guard secondary != nil else { continue }
            let loaded = dst[row.type]
            table.add(time: loaded?.timeUS, share: loaded?.share)
        }
        let known = other.isEmpty ? [] : Set(primary.types.map(\.type))
        for row in other where !known.contains(row.type) && shown(row) {
            table.add(row.typeBytes)
            table.add(decimal: row.count)
            table.add(time: nil, share: nil)
            table.add(time: row.timeUS, share: row.share)
        }
        guard table.rows > 1 else { return }
        buffer.append(typeHeading)
        table.write(into: &buffer, width: text.width, align: [.left, .right, .right, .right, .right, .right],
                    flexible: 0, indent: 2)
        buffer.append(UInt8(ascii: "\n"))
    }

    mutating func footnotes(_ side: SideReport) {
        var s = (side.side == .source ? "source" : "destination") + " device-state-times: \(side.recorder.kept) entries"
        if !side.recorder.complete { s += " (run not complete)" }
        let apart = side.devices.filter { !$0.hasVMSD && !$0.inDeviceStateTimes }
        if !apart.isEmpty {
            s += "; without vmsd, listed apart: "
                + apart.map { "\($0.name)#\($0.device.instanceID) \($0.device.timeUS) µs" }.joined(separator: ", ")
        }
        let handlers = side.devices.filter { !$0.hasVMSD && $0.inDeviceStateTimes }
        if !handlers.isEmpty {
            s += "; saved by a handler (\"handler\": true): "
                + handlers.map { "\($0.name)#\($0.device.instanceID)" }.joined(separator: ", ")
        }
        let zero = side.devices.filter { $0.hasVMSD && $0.device.section == .nonIterable && $0.device.timeUS == 0 }
        if !zero.isEmpty { s += "; \(zero.count) at 0 µs" }
        text.wrap(s, into: &buffer)
        for e in side.recorder.errors { text.wrap("recorder refused: \(e)", indent: 2, into: &buffer) }
        for n in side.notes { text.wrap("note: \(n)", indent: 2, into: &buffer) }
    }

    func basisText(_ s: SideReport) -> String {
        if s.side == .destination {
            return s.shareBasis[.nonIterable] == .phase ? "load phase from timestamps" : "summed load time"
        }
        return s.shareBasis[.iterable] == .phase && s.shareBasis[.nonIterable] == .phase
            ? "iterable / non-iterable phase from checkpoints" : "summed time of its section"
    }

    static func flag(_ row: DeviceRow) -> StaticString {
        if row.device.section == .iterable { return "iter" }
        if !row.hasVMSD { return row.inDeviceStateTimes ? "handler" : "no-vmsd" }
        if row.inDeviceStateTimes { return "yes" }
        return row.device.timeUS == 0 ? "zero" : "no"
    }
}
