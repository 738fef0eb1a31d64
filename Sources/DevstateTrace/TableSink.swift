// SPDX-License-Identifier: MIT
/// How much of each run the table shows.
public enum TableDetail: Sendable, Equatable {
    /// Every device and every type (`--all`).
    case full
    /// The `top` longest devices and how many more there are; by type, only the types with
    /// several devices.
    case concise(top: Int)
}

/// Human-readable report that fits `width` columns. Each run is written straight into bytes:
/// numbers as digits, cells measured once (`CellTable`), simple text wrapped and clipped on
/// bytes (`SimpleText`, with the String layout for any other text), the longest devices picked
/// without sorting every device, and the constant paragraphs wrapped once.
public final class TableSink: ReportSink {
    let out: TextOut
    let text: TextLayout
    let detail: TableDetail
    /// False sends every table through `CellTable` (tests compare it with the direct tables,
    /// `TableSink+Direct.swift`).
    @_spi(Testing) public var directTables = true
    private var buffer = ByteBuffer()
    private var scratch = ByteBuffer(capacity: 1024)
    private var cells = CellTable()
    /// The device legend without and with its "handler" part, and the by-type heading, as
    /// wrapped at this width.
    private let legend: [UInt8]
    private let handlerLegend: [UInt8]
    private let typeHeading: [UInt8]

    static let legendText = "d-s-t: yes = in device-state-times; no-vmsd = no vmsd, left out as the reference"
        + " patch does; zero = 0 µs, left out; iter = iterable section"
    static let handlerText = "; handler = no vmsd, in device-state-times with \"handler\": true"
    static let phaseAlign: [TextLayout.Align] = [.left, .left, .right, .right]
    static let deviceAlign: [TextLayout.Align] = [.right, .left, .right, .left, .left, .right, .right, .left,
                                                  .right, .right]
    static let typeAlign: [TextLayout.Align] = [.left, .right, .right, .right, .right, .right]

    public init(width: Int, detail: TableDetail = .full, out: TextOut) {
        text = TextLayout(width: width)
        self.detail = detail
        self.out = out
        legend = Array(text.wrap(Self.legendText, indent: 2, hang: 7).utf8)
        handlerLegend = Array(text.wrap(Self.legendText + Self.handlerText, indent: 2, hang: 7).utf8)
        let which = detail == .full ? "By device type" : "By device type, types with several devices"
        typeHeading = Array(text.wrap(which + " (% = share of the side's summed device time)").utf8)
    }

    deinit {
        buffer.deallocate()
        scratch.deallocate()
        cells.deallocate()
    }

    public func begin() {}

    public func run(_ run: RunReport) {
        var t = buffer
        var s = scratch
        var c = cells
        t.append("── " as StaticString)
        let titleStart = t.count
        t.append("Run " as StaticString)
        t.append(decimal: run.index)
        let titleCount = t.count - titleStart
        t.append(UInt8(ascii: " "))
        for _ in 0..<max(0, text.width - titleCount - 4) { t.append("─" as StaticString) }
        t.append(UInt8(ascii: "\n"))
        // The sides are passed on as they are (`x!`), not bound to copies.
        if run.source != nil {
            heading(run.source!, &s)
            text.wrap(bytes: s.bytes, into: &t)
        }
        if run.destination != nil {
            heading(run.destination!, &s)
            text.wrap(bytes: s.bytes, into: &t)
        }
        t.append(UInt8(ascii: "\n"))
        if run.source != nil {
            phaseTable(run.source!, &t, &c, &s)
            stepTable(run.source!, into: &t)
        }
        if run.destination != nil {
            phaseTable(run.destination!, &t, &c, &s)
            stepTable(run.destination!, into: &t)
        }
        if run.source != nil {
            deviceTable(run.source!, run.destination, &t, &c, &s)
            typeTable(run.source!, run.destination, &t, &c)
        } else {
            deviceTable(run.destination!, nil, &t, &c, &s)
            typeTable(run.destination!, nil, &t, &c)
        }
        if run.source != nil { footnotes(run.source!, &t, &s) }
        if run.destination != nil { footnotes(run.destination!, &t, &s) }
        t.append(UInt8(ascii: "\n"))
        out.batch(&t)
        buffer = t
        scratch = s
        cells = c
    }

    public func flush() { out.flush(&buffer) }

    public func end(inputs: [InputSummary]) {
        out.flush(&buffer)
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

    /// "source: LOG run N (lines A–B), downtime T", into `s`.
    func heading(_ side: SideReport, _ s: inout ByteBuffer) {
        s.removeAll()
        s.append(side.side == .source ? "source: " as StaticString : "destination: ")
        if let q = side.log.queryMigrate?.facts {
            s.append("query-migrate of " as StaticString)
            s.append(side.log.file)
            s.append(" (" as StaticString)
            if let v = q.qemuVersion {
                s.append("QEMU " as StaticString)
                s.append(v)
                s.append(", " as StaticString)
            }
            s.append("series " as StaticString)
            s.append(q.series.rawValue)
            if q.outcome == .partial { s.append(", PARTIAL" as StaticString) }
            s.append(UInt8(ascii: ")"))
        } else {
            s.append(side.log.file)
            if side.side == .source {
                s.append(" run " as StaticString)
                s.append(decimal: side.log.index)
            }
            s.append(" (lines " as StaticString)
            s.append(decimal: side.log.firstLine)
            s.append("–" as StaticString)
            s.append(decimal: side.log.lastLine)
            s.append(UInt8(ascii: ")"))
        }
        if let total = side.totalUS {
            s.append(side.side == .source ? ", downtime " as StaticString : ", load to vm started ")
            Self.appendMicros(total, &s)
        }
    }

    /// `formatMicros(us)`.
    static func appendMicros(_ us: Int64, _ s: inout ByteBuffer) {
        if abs(us) < 1000 {
            s.append(decimal: us)
            s.append(" µs" as StaticString)
        } else {
            s.append(fixed: Double(us) / 1000, digits: 3)
            s.append(" ms" as StaticString)
        }
    }

    /// A device's name (its idstr as text).
    static func appendName(_ p: UnsafeRawBufferPointer, _ s: inout ByteBuffer) {
        if SimpleText.columns(p) != nil {
            s.append(p)
        } else {
            s.append(String(decoding: p, as: UTF8.self))
        }
    }

    /// The phases, then the share of the downtime that has a name (alone when there are no phases).
    func phaseTable(_ side: SideReport, _ t: inout ByteBuffer, _ c: inout CellTable, _ s: inout ByteBuffer) {
        guard !side.phases.isEmpty || !side.checkpoints.isEmpty else {
            namedLine(side, into: &t)
            t.append(UInt8(ascii: "\n"))
            return
        }
        c.reset(width: 4)
        c.word("phase")
        c.word("checkpoints")
        c.word("µs")
        c.word("share")
        for p in side.phases {
            c.add(p.label)
            let start = c.begin()
            c.appendText(p.from)
            c.appendText(" → ")
            c.appendText(p.to)
            c.end(start)
            if let d = p.durationUS { c.decimal(d) } else { c.word("?") }
            if let d = p.durationUS, let total = side.totalUS, total > 0 {
                c.percent(Double(d) / Double(total))
            } else {
                c.empty()
            }
        }
        if let total = side.totalUS {
            c.word(side.side == .source ? "downtime" : "total")
            c.empty()
            c.decimal(total)
            c.word("100.0%")
        }
        t.append(side.side == .source ? "Source phases\n" as StaticString : "Destination phases\n")
        text.table(c, align: Self.phaseAlign, flexible: 1, indent: 2, into: &t)
        if side.checkpoints.contains(where: { !$0.known }) {
            s.removeAll()
            s.append("unknown checkpoints (kept): " as StaticString)
            var first = true
            for k in side.checkpoints where !k.known {
                if !first { s.append(", " as StaticString) }
                first = false
                s.append(k.name)
                if let offset = k.offsetUS {
                    s.append(" @" as StaticString)
                    s.append(decimal: offset)
                    s.append(" µs" as StaticString)
                }
                if side.hasLines {
                    s.append(" (line " as StaticString)
                    s.append(decimal: k.line)
                    s.append(UInt8(ascii: ")"))
                }
            }
            text.wrap(bytes: s.bytes, indent: 2, into: &t)
        }
        namedLine(side, into: &t)
        t.append(UInt8(ascii: "\n"))
    }

    /// The indices of the `top` longest of `devices` (all when `among` is nil, else those
    /// listed, in log order), longest first, log order among equal times: `devicesByTime`'s
    /// order without sorting every device.
    static func longest(_ devices: [DeviceRow], among: [Int]?, top: Int) -> [Int] {
        devices.withUnsafeBufferPointer { devices in
            let n = among?.count ?? devices.count
            guard top > 0, n > 0 else { return [] }
            if top >= n {
                var all = among ?? Array(0..<n)
                // Equal times keep log order. As packed keys (time, then index) when they fit:
                // a run's few dozen devices sort much faster as numbers.
                if devices.count < 1 << 16, all.allSatisfy({ devices[$0].device.timeUS < 1 << 47 }) {
                    var keys = all.map { ((1 << 47) - 1 - devices[$0].device.timeUS) << 16 | UInt64($0) }
                    keys.sort()
                    return keys.map { Int($0 & 0xFFFF) }
                }
                all.sort { a, b in
                    let x = devices[a].device.timeUS, y = devices[b].device.timeUS
                    return x != y ? x > y : a < b
                }
                return all
            }
            // The best so far, longest first, in a fixed buffer: (time, index).
            return withUnsafeTemporaryAllocation(of: (UInt64, Int).self, capacity: top) { best in
                var count = 0
                // The time a device must beat to get in once `top` are picked: a later device
                // with an equal time goes after the ones picked.
                var floor: UInt64 = 0
                func consider(_ i: Int) {
                    let time = devices[i].device.timeUS
                    if count == top {
                        guard time > floor else { return }
                    } else {
                        count += 1
                    }
                    var at = count - 1
                    while at > 0, time > best[at - 1].0 {
                        best[at] = best[at - 1]
                        at -= 1
                    }
                    best[at] = (time, i)
                    if count == top { floor = best[top - 1].0 }
                }
                if let among {
                    for i in among { consider(i) }
                } else {
                    for i in 0..<n { consider(i) }
                }
                return (0..<count).map { best[$0].1 }
            }
        }
    }

    /// `primary`: the source, else the destination; `secondary`: the destination beside a source.
    func deviceTable(_ primary: SideReport, _ secondary: SideReport?, _ t: inout ByteBuffer, _ c: inout CellTable,
                     _ s: inout ByteBuffer) {
        let top: Int
        switch detail {
        case .full: top = Int.max
        case .concise(let n): top = n
        }
        let source = primary.side == .source
        let order = Self.longest(primary.devices, among: nil, top: top)
        var more = max(0, primary.devices.count - top)
        s.removeAll()
        s.append(source ? "Devices by source save time (% = share of its phase: " as StaticString
                        : "Devices by destination load time (% = share of its phase: ")
        s.append(basisText(primary))
        s.append(UInt8(ascii: ")"))
        text.wrap(bytes: s.bytes, into: &t)
        if secondary != nil || !directTables || !directDeviceTable(primary, order: order, into: &t) {
            more += deviceCells(primary, secondary, order: order, top: top, &c)
            text.table(c, align: Self.deviceAlign, flexible: 1, indent: 2, droppable: [3, 7, 2], into: &t)
        }
        if more > 0 {
            s.removeAll()
            s.append(decimal: more)
            s.append(more == 1 ? " more device (--all)" as StaticString : " more devices (--all)")
            text.wrap(bytes: s.bytes, indent: 2, into: &t)
        }
        let handler = primary.devices.withUnsafeBufferPointer { devices in
            devices.contains { !$0.hasVMSD && $0.inDeviceStateTimes }
        }
        t.append(handler ? handlerLegend : legend)
        t.append(UInt8(ascii: "\n"))
    }

    /// The device table's cells for `deviceTable`'s general path; returns how many of the
    /// destination's own devices are left out.
    private func deviceCells(_ primary: SideReport, _ secondary: SideReport?, order: [Int], top: Int,
                             _ c: inout CellTable) -> Int {
        let source = primary.side == .source
        c.reset(width: secondary != nil ? 10 : 8)
        c.word("#")
        c.word("device")
        c.word("inst")
        c.word("type")
        c.word("section")
        c.word(source ? "src µs" : "dst µs")
        c.word(source ? "src %" : "dst %")
        c.word("d-s-t")
        if secondary != nil {
            c.word("dst µs")
            c.word("dst %")
        }
        // Not `if let secondary` in the loops: each binding copies the whole side.
        let hasSecondary = secondary != nil
        let dstDevices = secondary?.devices ?? []
        let dst = secondary.map(DeviceIndex.init)
        let names = primary.names
        primary.devices.withUnsafeBufferPointer { devices in
            for i in 0..<order.count {
                let row = devices.baseAddress! + order[i]
                c.decimal(Int64(i + 1))
                if row.pointee.plainName {
                    c.add(plain: names.idstr(row.pointee.device.idstr))
                    c.decimal(UInt64(row.pointee.device.instanceID))
                    c.add(plain: names.type(row.pointee.device.idstr))
                } else {
                    c.add(names.idstr(row.pointee.device.idstr))
                    c.decimal(UInt64(row.pointee.device.instanceID))
                    c.add(names.type(row.pointee.device.idstr))
                }
                c.word(Self.sectionWord(row))
                c.decimal(row.pointee.device.timeUS)
                c.percent(row.pointee.share)
                c.word(Self.flag(row))
                if hasSecondary {
                    if let j = dst!.find(row.pointee.device, idstr: names.idstr(row.pointee.device.idstr), in: secondary!) {
                        c.decimal(dstDevices[j].device.timeUS)
                        c.percent(dstDevices[j].share)
                    } else {
                        c.word("–")
                        c.empty()
                    }
                }
            }
        }
        // The destination's devices that the source does not have, after the source's.
        var more = 0
        if hasSecondary {
            let seen = DeviceIndex(primary)
            let dstNames = secondary!.names
            let unseen = dstDevices.indices.filter {
                seen.find(dstDevices[$0].device, idstr: dstNames.idstr(dstDevices[$0].device.idstr), in: primary) == nil
            }
            let room = max(0, top - order.count)
            let extra = Self.longest(dstDevices, among: unseen, top: room)
            more += unseen.count - extra.count
            for j in extra {
                let d = dstDevices[j]
                c.empty()
                c.add(dstNames.idstr(d.device.idstr))
                c.decimal(UInt64(d.device.instanceID))
                c.add(dstNames.type(d.device.idstr))
                c.word(d.device.section == .iterable ? "iter" : "non-iter")
                c.word("–")
                c.empty()
                c.empty()
                c.decimal(d.device.timeUS)
                c.percent(d.share)
            }
        }
        return more
    }

    func typeTable(_ primary: SideReport, _ secondary: SideReport?, _ t: inout ByteBuffer, _ c: inout CellTable) {
        var dst: [String: Int] = [:]
        if let secondary { for (j, row) in secondary.types.enumerated() { dst[secondary.type(of: row)] = j } }
        let full = detail == .full
        // Not `if let secondary` in the loops: each binding copies the whole side.
        let hasSecondary = secondary != nil
        let dstTypes = secondary?.types ?? []
        // Concise: only the types that add up several devices (on either side).
        func shown(_ row: UnsafePointer<TypeRow>) -> Bool {
            if full || row.pointee.count > 1 { return true }
            guard hasSecondary, let j = dst[primary.type(of: row.pointee)] else { return false }
            return dstTypes[j].count > 1
        }
        if !hasSecondary && directTables {
            let rows = primary.types.withUnsafeBufferPointer { types in
                types.indices.filter { shown(types.baseAddress! + $0) }
            }
            guard !rows.isEmpty else { return }
            if directTypeTable(primary, shown: rows, heading: typeHeading, into: &t) {
                t.append(UInt8(ascii: "\n"))
                return
            }
        }
        let source = primary.side == .source
        c.reset(width: secondary != nil ? 6 : 4)
        c.word("type")
        c.word("count")
        c.word(source ? "src µs" : "dst µs")
        c.word(source ? "src %" : "dst %")
        if secondary != nil {
            c.word("dst µs")
            c.word("dst %")
        }
        primary.types.withUnsafeBufferPointer { types in
            for k in 0..<types.count where shown(types.baseAddress! + k) {
                let row = types.baseAddress! + k
                let type = primary.names.type(row.pointee.nameID)
                if row.pointee.plainType { c.add(plain: type) } else { c.add(type) }
                c.decimal(Int64(row.pointee.count))
                c.decimal(row.pointee.timeUS)
                c.percent(row.pointee.share)
                if hasSecondary {
                    if let j = dst[primary.type(of: row.pointee)] {
                        c.decimal(dstTypes[j].timeUS)
                        c.percent(dstTypes[j].share)
                    } else {
                        c.word("–")
                        c.empty()
                    }
                }
            }
        }
        if hasSecondary {
            let known = Set(primary.types.map(primary.type(of:)))
            let secondary = secondary!
            dstTypes.withUnsafeBufferPointer { types in
                for k in 0..<types.count where !known.contains(secondary.type(of: types[k])) && shown(types.baseAddress! + k) {
                    let d = types[k]
                    c.add(secondary.names.type(d.nameID))
                    c.decimal(Int64(d.count))
                    c.word("–")
                    c.empty()
                    c.decimal(d.timeUS)
                    c.percent(d.share)
                }
            }
        }
        guard c.rows > 1 else { return }
        t.append(typeHeading)
        text.table(c, align: Self.typeAlign, flexible: 0, indent: 2, into: &t)
        t.append(UInt8(ascii: "\n"))
    }

    func footnotes(_ side: SideReport, _ t: inout ByteBuffer, _ s: inout ByteBuffer) {
        s.removeAll()
        s.append(side.side == .source ? "source device-state-times: " as StaticString
                                      : "destination device-state-times: ")
        s.append(decimal: side.recorder.kept)
        s.append(" entries" as StaticString)
        if !side.recorder.complete { s.append(" (run not complete)" as StaticString) }
        var first = true
        var zero = 0
        var handlers = 0
        side.devices.withUnsafeBufferPointer { devices in
            for k in 0..<devices.count {
                let d = devices.baseAddress! + k
                if d.pointee.hasVMSD {
                    if d.pointee.device.section == .nonIterable && d.pointee.device.timeUS == 0 { zero += 1 }
                    continue
                }
                guard !d.pointee.inDeviceStateTimes else {
                    handlers += 1
                    continue
                }
                s.append(first ? "; without vmsd, listed apart: " as StaticString : ", ")
                first = false
                Self.appendName(side.names.idstr(d.pointee.device.idstr), &s)
                s.append(UInt8(ascii: "#"))
                s.append(decimal: UInt64(d.pointee.device.instanceID))
                s.append(UInt8(ascii: " "))
                s.append(decimal: d.pointee.device.timeUS)
                s.append(" µs" as StaticString)
            }
            guard handlers > 0 else { return }
            first = true
            for k in 0..<devices.count {
                let d = devices.baseAddress! + k
                guard !d.pointee.hasVMSD && d.pointee.inDeviceStateTimes else { continue }
                s.append(first ? "; saved by a handler (\"handler\": true): " as StaticString : ", ")
                first = false
                Self.appendName(side.names.idstr(d.pointee.device.idstr), &s)
                s.append(UInt8(ascii: "#"))
                s.append(decimal: UInt64(d.pointee.device.instanceID))
            }
        }
        if zero > 0 {
            s.append("; " as StaticString)
            s.append(decimal: zero)
            s.append(" at 0 µs" as StaticString)
        }
        text.wrap(bytes: s.bytes, into: &t)
        for e in side.recorder.errors { text.wrap("recorder refused: \(e)", indent: 2, into: &t) }
        for n in side.notes { text.wrap("note: \(n)", indent: 2, into: &t) }
    }

    func basisText(_ s: SideReport) -> String {
        if s.side == .destination {
            return s.shareBasis[.nonIterable] == .phase ? "load phase from timestamps" : "summed load time"
        }
        let a = s.shareBasis[.iterable] == .phase, b = s.shareBasis[.nonIterable] == .phase
        return a && b ? "iterable / non-iterable phase from checkpoints" : "summed time of its section"
    }

    static func flag(_ row: UnsafePointer<DeviceRow>) -> StaticString {
        if row.pointee.device.section == .iterable { return "iter" }
        if !row.pointee.hasVMSD { return row.pointee.inDeviceStateTimes ? "handler" : "no-vmsd" }
        if row.pointee.inDeviceStateTimes { return "yes" }
        if row.pointee.device.timeUS == 0 { return "zero" }
        return "no"
    }
}

/// "1 log", "3 logs".
func plural(_ n: Int, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }
