// SPDX-License-Identifier: MIT
import DeviceStateTimes

/// Turns split logs into reports, feeding each side's non-iterable vmsd entries through a
/// `DeviceStateTimes.Recorder` (the same code path QEMU uses) for `device-state-times`.
public final class Analyzer {
    public let knowledge: DeviceKnowledge
    private let sourceRecorder = Recorder()
    private let destinationRecorder = Recorder()
    /// Per name id of `vmsdNames`: 1 with a vmsd, 0 without, -1 not asked yet. Runs of a
    /// log share their store, so each name is asked about once. Only `prepare`'s thread
    /// touches it: no exclusivity check per device.
    @exclusivity(unchecked) private var vmsdByName: [Int8] = []
    private var vmsdNames: NameStore?
    /// The same for "a section sent at setup" (destination loads).
    private var setupByName: [Int8] = []
    private var setupNames: NameStore?

    public init(knowledge: DeviceKnowledge = DeviceKnowledge()) {
        self.knowledge = knowledge
    }

    /// The names of the phases between known consecutive checkpoints.
    static let phaseLabels: [(from: String, to: String, label: String)] = [
        ("src-downtime-start", "src-vm-stopped", "stop"),
        ("src-vm-stopped", "src-iterable-saved", "iterable"),
        ("src-iterable-saved", "src-non-iterable-saved", "non-iterable"),
        ("src-non-iterable-saved", "src-downtime-end", "end"),
        ("dst-precopy-loadvm-completed", "dst-precopy-bh-enter", "bh-schedule"),
        ("dst-precopy-bh-enter", "dst-precopy-bh-announced", "announce"),
        ("dst-precopy-bh-announced", "dst-precopy-bh-vm-started", "vm-start"),
        ("dst-postcopy-bh-enter", "dst-postcopy-bh-announced", "announce"),
        ("dst-postcopy-bh-announced", "dst-postcopy-bh-cpu-synced", "cpu-sync"),
        ("dst-postcopy-bh-cpu-synced", "dst-postcopy-bh-cache-invalidated", "cache-invalidate"),
        ("dst-postcopy-bh-cache-invalidated", "dst-postcopy-bh-vm-started", "vm-start"),
    ]

    static func phaseLabel(_ from: String, _ to: String) -> String {
        phaseLabels.first { $0.from == from && $0.to == to }?.label ?? "\(from) → \(to)"
    }

    /// What `finish` reuses from run to run; one per thread that calls it.
    public final class Finisher: @unchecked Sendable {
        /// Type number → its row in the run's by-type list (`rows`).
        let typeSlots = TypeSlots()
        var sourceCheckpoints = CheckpointNames()
        var destinationCheckpoints = CheckpointNames()

        public init() {}
    }

    /// `analyze`'s.
    private let finisher = Finisher()

    public func analyze(_ log: SideLog) -> SideReport { finish(prepare(log), with: finisher) }

    /// A side through the recorder, which goes in log order.
    public struct PreparedSide: Sendable {
        var log: SideLog
        var vmsd: [Bool]
        var kept: [Bool]
        var recorder: RecorderInfo
    }

    /// The first half of `analyze`: the recorder's part, in log order. The reading thread does
    /// it, while the rendering thread (or, when that one lags behind, the reading thread)
    /// does `finish` for earlier runs. `prepare` is called from one thread at a time, in log
    /// order; `finish` from any thread, each with its own `Finisher`.
    public func prepare(_ log: SideLog) -> PreparedSide {
        var log = log
        if log.side == .destination { setAsideSetupLoads(&log) }
        let vmsd = vmsdFlags(log)
        var recorder = RecorderInfo()
        let kept = record(log, vmsd: vmsd, info: &recorder)
        return PreparedSide(log: log, vmsd: vmsd, kept: kept, recorder: recorder)
    }

    /// The second half of `analyze`: phases, shares, rows and types.
    public func finish(_ side: PreparedSide, with finisher: Finisher) -> SideReport {
        let log = side.log, vmsd = side.vmsd, kept = side.kept, recorder = side.recorder
        let timeline = timeline(log, finisher)
        let shares = Self.shares(log, phases: timeline.phases)
        let (rows, types) = Self.rows(log, vmsd: vmsd, kept: kept,
                                      denominators: shares.denominators, slots: finisher.typeSlots)
        return SideReport(log: log, names: log.names, devices: rows, phases: timeline.phases,
                          checkpoints: timeline.checkpoints, types: types,
                          recorder: recorder,
                          originUS: timeline.origin, totalUS: timeline.total,
                          shareBasis: ShareBases(iterable: shares.basis.0, nonIterable: shares.basis.1),
                          notes: notes(log, timeline.checkpoints),
                          steps: Attribution.steps(log, phases: timeline.phases, origin: timeline.origin),
                          named: Attribution.named(log, total: timeline.total))
    }

    // MARK: Steps

    /// What the report says about the side beyond its numbers.
    private func notes(_ log: SideLog, _ checkpoints: [CheckpointRow]) -> [String] {
        let qmp = log.queryMigrate
        var notes: [String] = (qmp?.notes ?? []) + log.notes
        if log.side == .source, !log.startedAtCheckpoint {
            notes.append("no src-downtime-start before the first save")
        }
        if log.droppedDevices > 0 {
            notes.append("\(log.droppedDevices) device lines past the per-run limit were not kept")
        }
        if log.droppedSteps > 0 {
            notes.append("\(log.droppedSteps) step lines past the per-run limit were not kept")
        }
        for checkpoint in checkpoints where !checkpoint.known {
            notes.append("unknown checkpoint \(checkpoint.name)" + (qmp == nil ? " (line \(checkpoint.line))" : ""))
        }
        return notes
    }

    /// What the previous run's checkpoints were, by position: runs repeat their checkpoints,
    /// so comparing a name with the one before finds its label and whether it is known
    /// without searching the tables.
    struct CheckpointNames {
        private var known: [(name: String, known: Bool)] = []
        private var labels: [(from: String, to: String, label: String)] = []

        mutating func isKnown(_ k: Int, _ name: String) -> Bool {
            if k < known.count, known[k].name == name { return known[k].known }
            let made = (name, KnownCheckpoints.all.contains(name))
            if k < known.count { known[k] = made } else if k == known.count { known.append(made) }
            return made.1
        }

        mutating func phaseLabel(_ k: Int, _ from: String, _ to: String) -> String {
            if k < labels.count, labels[k].from == from, labels[k].to == to { return labels[k].label }
            let made = (from, to, Analyzer.phaseLabel(from, to))
            if k < labels.count { labels[k] = made } else if k == labels.count { labels.append(made) }
            return made.2
        }
    }


    /// A destination's loads of sections the source sent at setup (virtio-mem's early state)
    /// happen at the start of the migration, long before the switchover: they are not
    /// downtime. They leave the device list, the load phase and the origin it counts from, and
    /// the side's notes name them. A reply of QEMU's series before library 0.3.0 lists such a
    /// load and counts its checkpoint times from it: the notes say so.
    private func setAsideSetupLoads(_ log: inout SideLog) {
        if setupNames !== log.names {
            setupNames = log.names
            setupByName.removeAll(keepingCapacity: true)
        }
        let names = log.names
        func isSetup(_ id: Int32) -> Bool {
            let i = Int(id)
            if i >= setupByName.count {
                setupByName += [Int8](repeating: -1, count: max(i + 1 - setupByName.count, 256))
            }
            if setupByName[i] < 0 { setupByName[i] = knowledge.isSetupSection(names.name(id)) ? 1 : 0 }
            return setupByName[i] == 1
        }
        guard log.lines.contains(where: { $0.section == .nonIterable && isSetup($0.idstr) }) else { return }
        var setAside: [String] = []
        log.lines.removeAll { line in
            guard line.section == .nonIterable, isSetup(line.idstr) else { return false }
            setAside.append("\(names.name(line.idstr))#\(line.instanceID) \(line.timeUS) µs"
                            + (line.line > 0 ? " (line \(line.line))" : ""))
            return true
        }
        log.deviceCount -= setAside.count
        log.notes.append("loaded at setup, before the switchover, so not downtime and left out: "
                         + setAside.joined(separator: ", "))
        if log.queryMigrate != nil {
            log.notes.append("this QEMU's series (before library 0.3.0) counts the destination's checkpoint "
                             + "times from that load: they include the time until the switchover")
        }
    }

    /// Whether each device has a vmsd (iterable entries count as having one).
    private func vmsdFlags(_ log: SideLog) -> [Bool] {
        if vmsdNames !== log.names {
            vmsdNames = log.names
            vmsdByName.removeAll(keepingCapacity: true)
        }
        var vmsd = [Bool](repeating: true, count: log.lines.count)
        let handler = log.queryMigrate?.handler
        let names = log.names
        log.lines.withUnsafeBufferPointer { devices in
            for i in devices.indices where devices[i].section == .nonIterable {
                // From query-migrate QEMU says which source entries had no vmsd ("handler": true).
                if let handler, i < handler.count {
                    vmsd[i] = !handler[i]
                    continue
                }
                let id = Int(devices[i].idstr)
                if id >= vmsdByName.count {
                    vmsdByName += [Int8](repeating: -1, count: max(id + 1 - vmsdByName.count, 256))
                }
                if vmsdByName[id] < 0 { vmsdByName[id] = knowledge.hasVMSD(names.name(Int32(id))) ? 1 : 0 }
                vmsd[i] = vmsdByName[id] == 1
            }
        }
        return vmsd
    }

    /// Feeds the non-iterable entries with a vmsd (and QEMU's handler entries) through the
    /// side's recorder, in order. Returns which devices it kept: its `device-state-times`
    /// (`SideReport.deviceStateTimesJSON`), none if its snapshot failed.
    private func record(_ log: SideLog, vmsd: [Bool], info: inout RecorderInfo) -> [Bool] {
        let qmp = log.queryMigrate
        let recorder = log.side == .source ? sourceRecorder : destinationRecorder
        var kept = [Bool](repeating: false, count: log.lines.count)
        let handler = qmp?.handler
        recorder.beginRun()
        let names = log.names
        log.lines.withUnsafeBufferPointer { devices in
            for i in devices.indices where devices[i].section == .nonIterable {
                let kind: EntryKind
                if vmsd[i] {
                    kind = .vmsd
                } else if let handler, i < handler.count, handler[i] {
                    kind = .handler  // QEMU recorded it on opt-in; so does our recorder
                } else {
                    continue
                }
                do {
                    let outcome = try recorder.record(nameBytes: names.idstr(devices[i].idstr).assumingMemoryBound(to: UInt8.self),
                                                      instanceID: devices[i].instanceID,
                                                      saveTime: devices[i].timeUS, kind: kind)
                    kept[i] = outcome == .kept
                } catch let error as DeviceStateError {
                    let device = devices[i]
                    info.errors.append("\(names.name(device.idstr))#\(device.instanceID)"
                                       + (qmp == nil ? " (line \(device.line))" : "") + ": \(error.message)")
                } catch {
                    info.errors.append("\(names.name(devices[i].idstr))#\(devices[i].instanceID): \(error)")
                }
            }
        }
        // A query-migrate side is only built from a completed migration.
        let ended = qmp?.facts.status == "completed" || log.checkpoints.contains {
            log.side == .source ? $0.name == "src-downtime-end" : $0.name.hasSuffix("-vm-started")
        }
        if ended {
            do { try recorder.endRun() } catch { info.errors.append("endRun: \(error.message)") }
        }
        do {
            let snapshot = try recorder.snapshot()
            info.run = snapshot.run
            info.kept = snapshot.count
            info.skippedZero = qmp == nil ? snapshot.skippedZero : nil
            info.dropped = snapshot.dropped
            info.complete = snapshot.isComplete
        } catch {
            info.errors.append("snapshot: \(error.message)")
            return [Bool](repeating: false, count: log.lines.count)
        }
        return kept
    }

    struct Timeline {
        var phases: [Phase] = []
        var checkpoints: [CheckpointRow] = []
        /// See `SideReport.originUS`.
        var origin: Int64?
        var total: Int64?
    }

    /// Phases between consecutive checkpoints (and the destination's load phase), checkpoint
    /// offsets from the side's origin, and the side's total time.
    private func timeline(_ log: SideLog, _ finisher: Finisher) -> Timeline {
        let qmp = log.queryMigrate
        var t = Timeline()
        // One allocation, not one per doubling: a phase between each two checkpoints (and a load).
        t.phases.reserveCapacity(log.checkpoints.count + 1)
        var loadStart: Int64? = nil
        if log.side == .destination {
            if let start = qmp?.originUS {
                loadStart = start
            } else if let first = log.lines.first, let ts = first.timestampUS {
                loadStart = ts - Int64(first.timeUS)
            }
            t.origin = loadStart
            if let end = log.checkpoints.first(where: { $0.name.hasSuffix("-loadvm-completed") })
                ?? log.checkpoints.first, !log.lines.isEmpty {
                t.phases.append(Phase(label: "load", from: "first-load-start", to: end.name,
                                      durationUS: difference(loadStart, end.timestampUS)))
            }
        } else {
            t.origin = log.checkpoints.first(where: { $0.name == "src-downtime-start" })?.timestampUS
        }
        if t.origin == nil { t.origin = log.checkpoints.first?.timestampUS }
        var names = log.side == .source ? finisher.sourceCheckpoints : finisher.destinationCheckpoints
        for (k, (a, b)) in zip(log.checkpoints, log.checkpoints.dropFirst()).enumerated() {
            t.phases.append(Phase(label: names.phaseLabel(k, a.name, b.name),
                                  from: a.name, to: b.name, durationUS: difference(a.timestampUS, b.timestampUS)))
        }
        t.checkpoints = log.checkpoints.enumerated().map { k, c in
            CheckpointRow(name: c.name, known: names.isKnown(k, c.name), line: c.line,
                          timestampUS: qmp == nil ? c.timestampUS : nil,  // QEMU gives offsets only
                          offsetUS: difference(t.origin, c.timestampUS))
        }
        if log.side == .source { finisher.sourceCheckpoints = names } else { finisher.destinationCheckpoints = names }
        if log.side == .source {
            t.total = difference(log.checkpoints.first(where: { $0.name == "src-downtime-start" })?.timestampUS,
                                 log.checkpoints.last(where: { $0.name == "src-downtime-end" })?.timestampUS)
        } else {
            t.total = difference(loadStart,
                                 log.checkpoints.last(where: { $0.name.hasSuffix("-vm-started") })?.timestampUS)
        }
        return t
    }

    /// `to - from` when both are known.
    private func difference(_ from: Int64?, _ to: Int64?) -> Int64? {
        guard let from, let to else { return nil }
        return to - from
    }

    struct Shares {
        /// Per section: iterable, non-iterable.
        var basis: (ShareBasis, ShareBasis) = (.sum, .sum)
        /// What a device's time is divided by (0: no share).
        var denominators: (Double, Double) = (0, 0)
    }

    /// What each section's shares are taken over: its phase when the checkpoints time it,
    /// else the summed device time (both sections together on the destination, like its load
    /// phase).
    private static func shares(_ log: SideLog, phases: [Phase]) -> Shares {
        var sums: (iterable: UInt64, nonIterable: UInt64) = (0, 0)
        log.lines.withUnsafeBufferPointer { lines in
            for line in lines {
                if line.section == .iterable { sums.iterable &+= line.timeUS } else { sums.nonIterable &+= line.timeUS }
            }
        }
        func basis(_ phase: String, _ sum: UInt64) -> (ShareBasis, Double) {
            if let d = phases.first(where: { $0.label == phase })?.durationUS, d > 0 { return (.phase, Double(d)) }
            return (.sum, Double(sum))
        }
        let (a, b): ((ShareBasis, Double), (ShareBasis, Double))
        if log.side == .source {
            a = basis("iterable", sums.iterable)
            b = basis("non-iterable", sums.nonIterable)
        } else {
            a = basis("load", sums.iterable &+ sums.nonIterable)
            b = a
        }
        return Shares(basis: (a.0, b.0), denominators: (a.1, b.1))
    }

    /// The device rows in log order, and the devices added up by type (longest first, first
    /// seen first among equal times).
    private static func rows(_ log: SideLog, vmsd: [Bool], kept: [Bool],
                             denominators: (Double, Double), slots: TypeSlots) -> ([DeviceRow], [TypeRow]) {
        let n = log.lines.count
        let names = log.names
        let (iterable, nonIterable) = denominators
        // Per type in first-seen order (at most one per device): its number, a device of it,
        // its device count and time, in one scratch buffer; plain numbers, so that adding up
        // and sorting copy nothing counted.
        return withUnsafeTemporaryAllocation(of: TypeSum.self, capacity: max(n, 1)) { sums in
            let sums = sums.baseAddress!
            var typeCount = 0
            var total: UInt64 = 0
            let rows = [DeviceRow](unsafeUninitializedCapacity: n) { out, made in
                log.lines.withUnsafeBufferPointer { devices in
                    vmsd.withUnsafeBufferPointer { vmsd in
                        kept.withUnsafeBufferPointer { kept in
                            for i in 0..<n {
                                let line = devices[i]
                                let time = line.timeUS
                                let entry = names.entry(line.idstr)
                                let d = line.section == .iterable ? iterable : nonIterable
                                (out.baseAddress! + i).initialize(to: DeviceRow(
                                    device: line, share: d > 0 ? Double(time) / d : nil,
                                    hasVMSD: vmsd[i], inDeviceStateTimes: kept[i], plainName: entry.pointee.plain))
                                let number = Int(entry.pointee.typeNumber)
                                var t = slots.slot(number)
                                if t < 0 {
                                    t = typeCount
                                    slots.set(number, t)
                                    (sums + t).initialize(to: TypeSum(number: number, first: line.idstr, count: 0, time: 0, slot: t))
                                    typeCount += 1
                                }
                                sums[t].count &+= 1
                                sums[t].time &+= time
                                total &+= time
                            }
                            made = n
                        }
                    }
                }
            }
            for t in 0..<typeCount { slots.set(sums[t].number, -1) }
            // Longest first, first seen first: a total order. Insertion sort (a run has a few
            // dozen types) of one number per type, its time and place packed, when they fit.
            if typeCount > 1 {
                let packable = typeCount < 1 << 16 && (0..<typeCount).allSatisfy { sums[$0].time < 1 << 47 }
                if packable {
                    withUnsafeTemporaryAllocation(of: UInt64.self, capacity: typeCount) { keys in
                        // Ascending keys: longest first, then first seen.
                        for t in 0..<typeCount { keys[t] = ((1 << 47) - 1 - sums[t].time) << 16 | UInt64(t) }
                        for k in 1..<typeCount {
                            let x = keys[k]
                            var j = k
                            while j > 0, keys[j - 1] > x {
                                keys[j] = keys[j - 1]
                                j -= 1
                            }
                            keys[j] = x
                        }
                        withUnsafeTemporaryAllocation(of: TypeSum.self, capacity: typeCount) { sorted in
                            for k in 0..<typeCount { (sorted.baseAddress! + k).initialize(to: sums[Int(keys[k] & 0xFFFF)]) }
                            sums.update(from: sorted.baseAddress!, count: typeCount)
                        }
                    }
                } else {
                    for k in 1..<typeCount {
                        let x = sums[k]
                        var j = k
                        while j > 0, x.time > sums[j - 1].time || (x.time == sums[j - 1].time && x.slot < sums[j - 1].slot) {
                            sums[j] = sums[j - 1]
                            j -= 1
                        }
                        sums[j] = x
                    }
                }
            }
            let types = [TypeRow](unsafeUninitializedCapacity: typeCount) { out, made in
                for k in 0..<typeCount {
                    let t = sums[k]
                    (out.baseAddress! + k).initialize(to: TypeRow(
                        nameID: t.first, count: t.count, timeUS: t.time,
                        share: total > 0 ? Double(t.time) / Double(total) : nil, plainType: names.plain(t.first)))
                }
                made = typeCount
            }
            return (rows, types)
        }
    }

    /// A type's devices added up (`rows`).
    struct TypeSum {
        var number: Int
        var first: Int32
        var count: Int
        var time: UInt64
        /// Its place in first-seen order.
        var slot: Int
    }
}

/// Type number → its row in the run being assembled (-1: none yet); every slot is -1 again
/// after each run.
final class TypeSlots {
    // Only `rows` uses it, one access at a time: no exclusivity checks per access.
    @exclusivity(unchecked) private var slots: [Int] = []

    @inline(__always)
    func slot(_ number: Int) -> Int { number < slots.count ? slots[number] : -1 }

    func set(_ number: Int, _ slot: Int) {
        if number >= slots.count { slots += [Int](repeating: -1, count: number + 1 - slots.count) }
        slots[number] = slot
    }
}
