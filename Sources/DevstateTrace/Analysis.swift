import DeviceStateTimes

/// One device line with what the report adds to it.
public struct DeviceRow: Sendable, Equatable {
    public var device: DeviceTime
    public var type: String
    /// Its time over its phase's (see `SideReport.shareBasis`), 0...1; nil when the basis is 0.
    public var share: Double?
    /// False for entries QEMU registers without a vmsd.
    public var hasVMSD: Bool
    /// Whether the recorder kept it, i.e. it is in `device-state-times`.
    public var inDeviceStateTimes: Bool

    public var name: String { device.name }
    public var key: DeviceKey { DeviceKey(nameBytes: device.nameBytes, instanceID: device.instanceID, section: device.section) }
}

public struct DeviceKey: Hashable, Sendable {
    public var nameBytes: [UInt8]
    public var instanceID: UInt32
    public var section: Section

    public func hash(into hasher: inout Hasher) {
        nameBytes.withUnsafeBytes { hasher.combine(bytes: $0) }
        hasher.combine(instanceID)
        hasher.combine(section == .iterable)
    }
}

/// Devices of one type added up.
public struct TypeRow: Sendable, Equatable {
    public var type: String
    public var count: Int
    public var timeUS: UInt64
    /// Over the side's summed device time.
    public var share: Double?
}

/// The time between two consecutive checkpoints (or from the first load to loadvm completed).
public struct Phase: Sendable, Equatable {
    public var label: String
    public var from: String
    public var to: String
    public var durationUS: Int64?
}

public struct CheckpointRow: Sendable, Equatable {
    public var name: String
    public var known: Bool
    /// 0 for a side from `query-migrate` (`SideReport.hasLines`).
    public var line: Int
    /// Wall-clock µs from the log's `-msg timestamp=on`; nil without one and from `query-migrate`.
    public var timestampUS: Int64?
    /// From the side's origin (`SideReport.originUS`).
    public var offsetUS: Int64?
}

/// What the recorder said about the run it was fed.
public struct RecorderInfo: Sendable, Equatable {
    public var run: UInt64 = 0
    public var kept: Int = 0
    /// Nil for a side from `query-migrate`: QEMU leaves 0 µs entries out, so how many there
    /// were is unknown.
    public var skippedZero: UInt64? = 0
    public var dropped: UInt64 = 0
    public var complete = false
    /// Records the recorder refused (entry and error message).
    public var errors: [String] = []
}

/// How a section's shares were computed.
public enum ShareBasis: String, Sendable, Equatable {
    /// Over the phase's duration from the checkpoints' timestamps.
    case phase
    /// Over the sum of the section's device times (no timestamps or checkpoints).
    case sum
}

/// One side of one migration, analysed.
public struct SideReport: Sendable {
    public var log: SideLog
    /// In log order.
    public var devices: [DeviceRow]
    public var phases: [Phase]
    public var checkpoints: [CheckpointRow]
    public var types: [TypeRow]
    /// The `device-state-times` JSON (compact) as the recorder wrote it; "[]" if it failed.
    public var deviceStateTimesJSON: String
    public var recorder: RecorderInfo
    /// The time checkpoint offsets are counted from: `src-downtime-start` on the source, the
    /// start of the first load on the destination (its timestamp minus its time), else the first
    /// checkpoint.
    public var originUS: Int64?
    /// Source: `src-downtime-start` to `src-downtime-end`; destination: load start to
    /// `*-vm-started`.
    public var totalUS: Int64?
    public var shareBasis: [Section: ShareBasis]
    public var sectionSumUS: [Section: UInt64]
    public var notes: [String]

    public var side: Side { log.side }

    /// False for a side from `query-migrate`: no log, so no line numbers.
    public var hasLines: Bool { log.queryMigrate == nil }

    /// The longest device (the first in log order among equal times).
    public var longest: DeviceRow? {
        var best: DeviceRow?
        for row in devices where best == nil || row.device.timeUS > best!.device.timeUS { best = row }
        return best
    }

    /// Devices sorted by time, longest first (log order among equal times).
    public var devicesByTime: [DeviceRow] {
        devices.enumerated().sorted {
            $0.element.device.timeUS != $1.element.device.timeUS
                ? $0.element.device.timeUS > $1.element.device.timeUS : $0.offset < $1.offset
        }.map(\.element)
    }
}

/// A run of the report: a source run, the destination load it is paired with, or both.
public struct RunReport: Sendable {
    public var index: Int
    public var source: SideReport?
    public var destination: SideReport?
}

/// Turns split logs into reports, feeding each side's non-iterable vmsd entries through a
/// `DeviceStateTimes.Recorder` (the same code path QEMU uses) for `device-state-times`.
public final class Analyzer {
    public let knowledge: DeviceKnowledge
    private let sourceRecorder = Recorder()
    private let destinationRecorder = Recorder()
    /// name bytes → (type, has a vmsd); runs repeat the same names, so this saves most work.
    private var nameInfo: [NameKey: (type: String, vmsd: Bool)] = [:]

    /// Hashes the bytes in one go (an `[UInt8]` key hashes byte by byte).
    struct NameKey: Hashable {
        var bytes: [UInt8]
        func hash(into hasher: inout Hasher) { bytes.withUnsafeBytes { hasher.combine(bytes: $0) } }
    }

    private func nameFacts(_ device: DeviceTime) -> (type: String, vmsd: Bool) {
        let key = NameKey(bytes: device.nameBytes)
        if let known = nameInfo[key] { return known }
        let name = device.name
        let made = (DeviceKnowledge.deviceType(name), knowledge.hasVMSD(name))
        if nameInfo.count > 16_384 { nameInfo.removeAll() }
        nameInfo[key] = made
        return made
    }

    public init(knowledge: DeviceKnowledge = DeviceKnowledge()) {
        self.knowledge = knowledge
    }

    static let phaseLabels: [String: String] = [
        "src-downtime-start>src-vm-stopped": "stop",
        "src-vm-stopped>src-iterable-saved": "iterable",
        "src-iterable-saved>src-non-iterable-saved": "non-iterable",
        "src-non-iterable-saved>src-downtime-end": "end",
        "dst-precopy-loadvm-completed>dst-precopy-bh-enter": "bh-schedule",
        "dst-precopy-bh-enter>dst-precopy-bh-announced": "announce",
        "dst-precopy-bh-announced>dst-precopy-bh-vm-started": "vm-start",
        "dst-postcopy-bh-enter>dst-postcopy-bh-announced": "announce",
        "dst-postcopy-bh-announced>dst-postcopy-bh-cpu-synced": "cpu-sync",
        "dst-postcopy-bh-cpu-synced>dst-postcopy-bh-cache-invalidated": "cache-invalidate",
        "dst-postcopy-bh-cache-invalidated>dst-postcopy-bh-vm-started": "vm-start",
    ]

    private func offset(_ origin: Int64?, _ ts: Int64?) -> Int64? {
        guard let origin, let ts else { return nil }
        return ts - origin
    }

    public func analyze(_ log: SideLog) -> SideReport {
        let qmp = log.queryMigrate
        var notes: [String] = qmp?.notes ?? []
        if log.side == .source, !log.startedAtCheckpoint {
            notes.append("no src-downtime-start before the first save")
        }
        if log.droppedDevices > 0 {
            notes.append("\(log.droppedDevices) device lines past the per-run limit were not kept")
        }
        for checkpoint in log.checkpoints where !checkpoint.isKnown {
            notes.append("unknown checkpoint \(checkpoint.name)" + (qmp == nil ? " (line \(checkpoint.line))" : ""))
        }

        // Recorder: non-iterable entries with a vmsd, in order.
        let recorder = log.side == .source ? sourceRecorder : destinationRecorder
        var info = RecorderInfo()
        var kept = [Bool](repeating: false, count: log.devices.count)
        var vmsd = [Bool](repeating: true, count: log.devices.count)
        recorder.beginRun()
        var types = [String](repeating: "", count: log.devices.count)
        for (i, device) in log.devices.enumerated() {
            let known = nameFacts(device)
            types[i] = known.type
            if device.section == .nonIterable {
                // From query-migrate QEMU says which source entries had no vmsd ("handler": true).
                if let handler = qmp?.handler, i < handler.count {
                    vmsd[i] = !handler[i]
                } else {
                    vmsd[i] = known.vmsd
                }
            }
        }
        for (i, device) in log.devices.enumerated() where device.section == .nonIterable {
            let kind: EntryKind
            if vmsd[i] {
                kind = .vmsd
            } else if let handler = qmp?.handler, i < handler.count, handler[i] {
                kind = .handler  // QEMU recorded it on opt-in; so does our recorder
            } else {
                continue
            }
            do {
                let outcome = try recorder.record(nameBytes: device.nameBytes,
                                                  instanceID: device.instanceID,
                                                  saveTime: device.timeUS, kind: kind)
                kept[i] = outcome == .kept
            } catch {
                info.errors.append("\(device.name)#\(device.instanceID)" + (qmp == nil ? " (line \(device.line))" : "")
                                   + ": \(error.message)")
            }
        }
        let endName = log.side == .source ? "src-downtime-end" : "-vm-started"
        // A query-migrate side is only built from a completed migration.
        let ended = qmp?.facts.status == "completed" || log.checkpoints.contains {
            log.side == .source ? $0.name == endName : $0.name.hasSuffix(endName)
        }
        if ended {
            do { try recorder.endRun() } catch { info.errors.append("endRun: \(error.message)") }
        }
        var json = "[]"
        do {
            let snapshot = try recorder.snapshot()
            info.run = snapshot.run
            info.kept = snapshot.count
            info.skippedZero = qmp == nil ? snapshot.skippedZero : nil
            info.dropped = snapshot.dropped
            info.complete = snapshot.isComplete
            json = try snapshot.json()
        } catch {
            info.errors.append("snapshot: \(error.message)")
        }

        // Phases from consecutive checkpoints.
        var phases: [Phase] = []
        var origin: Int64? = nil
        var loadStart: Int64? = nil
        if log.side == .destination {
            if let start = qmp?.originUS {
                loadStart = start
                origin = start
            } else if let first = log.devices.first, let ts = first.timestampUS {
                loadStart = ts - Int64(first.timeUS)
                origin = loadStart
            }
            if let end = log.checkpoints.first(where: { $0.name.hasSuffix("-loadvm-completed") })
                ?? log.checkpoints.first, !log.devices.isEmpty {
                var duration: Int64? = nil
                if let start = loadStart, let ts = end.timestampUS { duration = ts - start }
                phases.append(Phase(label: "load", from: "first-load-start", to: end.name,
                                    durationUS: duration))
            }
        } else {
            origin = log.checkpoints.first(where: { $0.name == "src-downtime-start" })?.timestampUS
        }
        if origin == nil { origin = log.checkpoints.first?.timestampUS }
        for (a, b) in zip(log.checkpoints, log.checkpoints.dropFirst()) {
            var duration: Int64? = nil
            if let x = a.timestampUS, let y = b.timestampUS { duration = y - x }
            phases.append(Phase(label: Self.phaseLabels["\(a.name)>\(b.name)"] ?? "\(a.name) → \(b.name)",
                                from: a.name, to: b.name, durationUS: duration))
        }
        let checkpoints = log.checkpoints.map {
            CheckpointRow(name: $0.name, known: $0.isKnown, line: $0.line,
                          timestampUS: qmp == nil ? $0.timestampUS : nil,  // QEMU gives offsets only
                          offsetUS: offset(origin, $0.timestampUS))
        }
        var total: Int64? = nil
        if log.side == .source {
            if let s = log.checkpoints.first(where: { $0.name == "src-downtime-start" })?.timestampUS,
               let e = log.checkpoints.last(where: { $0.name == "src-downtime-end" })?.timestampUS {
                total = e - s
            }
        } else if let s = loadStart,
                  let e = log.checkpoints.last(where: { $0.name.hasSuffix("-vm-started") })?.timestampUS {
            total = e - s
        }

        // Shares.
        var sums: [Section: UInt64] = [:]
        for device in log.devices { sums[device.section, default: 0] &+= device.timeUS }
        var basis: [Section: ShareBasis] = [:]
        var denominators: [Section: Double] = [:]
        for section in Section.allCases {
            let phaseEnd: String
            switch (log.side, section) {
            case (.source, .iterable): phaseEnd = "iterable"
            case (.source, .nonIterable): phaseEnd = "non-iterable"
            case (.destination, _): phaseEnd = "load"
            }
            if let d = phases.first(where: { $0.label == phaseEnd })?.durationUS, d > 0 {
                basis[section] = .phase
                denominators[section] = Double(d)
            } else {
                basis[section] = .sum
                // The destination's sum basis covers both sections, like its load phase.
                let s = log.side == .destination
                    ? (sums[.iterable] ?? 0) &+ (sums[.nonIterable] ?? 0) : (sums[section] ?? 0)
                denominators[section] = Double(s)
            }
        }
        var rows: [DeviceRow] = []
        rows.reserveCapacity(log.devices.count)
        var typeIndex: [String: Int] = [:]
        var typeRows: [TypeRow] = []
        var totalDevices: UInt64 = 0
        for (i, device) in log.devices.enumerated() {
            let type = types[i]
            let d = denominators[device.section] ?? 0
            rows.append(DeviceRow(device: device, type: type,
                                  share: d > 0 ? Double(device.timeUS) / d : nil,
                                  hasVMSD: vmsd[i], inDeviceStateTimes: kept[i]))
            if let t = typeIndex[type] {
                typeRows[t].count += 1
                typeRows[t].timeUS &+= device.timeUS
            } else {
                typeIndex[type] = typeRows.count
                typeRows.append(TypeRow(type: type, count: 1, timeUS: device.timeUS, share: nil))
            }
            totalDevices &+= device.timeUS
        }
        for i in typeRows.indices where totalDevices > 0 {
            typeRows[i].share = Double(typeRows[i].timeUS) / Double(totalDevices)
        }
        typeRows = typeRows.enumerated().sorted {
            $0.element.timeUS != $1.element.timeUS ? $0.element.timeUS > $1.element.timeUS : $0.offset < $1.offset
        }.map(\.element)

        return SideReport(log: log, devices: rows, phases: phases, checkpoints: checkpoints,
                          types: typeRows, deviceStateTimesJSON: json, recorder: info,
                          originUS: origin, totalUS: total, shareBasis: basis,
                          sectionSumUS: sums, notes: notes)
    }
}
