// SPDX-License-Identifier: MIT
import DevstateModel

/// A side's phases between consecutive checkpoints (and the destination's load phase), its
/// checkpoints' offsets from the side's origin, and its total time.
struct Timeline {
    var phases: [Phase] = []
    var checkpoints: [CheckpointRow] = []
    /// See `SideReport.originUS`.
    var origin: Int64?
    var total: Int64?

    /// The names of the phases between known consecutive checkpoints.
    static let labels: [(from: String, to: String, label: String)] = [
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

    static func label(_ from: String, _ to: String) -> String {
        labels.first { $0.from == from && $0.to == to }?.label ?? "\(from) → \(to)"
    }

    init(_ log: SideLog) {
        let marks = log.checkpoints
        var loadStart: Int64?
        if log.side == .destination {
            if let given = log.originUS {
                loadStart = given
            } else if let first = log.devices.first, let stamp = first.timestampUS {
                loadStart = stamp - Int64(first.timeUS)
            }
            origin = loadStart
            if let end = marks.first(where: { $0.name.hasSuffix("-loadvm-completed") }) ?? marks.first,
               !log.devices.isEmpty {
                phases.append(Phase(label: "load", from: "first-load-start", to: end.name,
                                    durationUS: difference(loadStart, end.timestampUS)))
            }
        } else {
            origin = marks.first { $0.name == "src-downtime-start" }?.timestampUS
        }
        if origin == nil { origin = marks.first?.timestampUS }
        for (a, b) in zip(marks, marks.dropFirst()) {
            phases.append(Phase(label: Self.label(a.name, b.name), from: a.name, to: b.name,
                                durationUS: difference(a.timestampUS, b.timestampUS)))
        }
        let origin = origin
        checkpoints = marks.map { c in
            // A reply gives offsets, not wall-clock times.
            CheckpointRow(name: c.name, known: c.isKnown, line: c.line,
                          timestampUS: log.hasLines ? c.timestampUS : nil, offsetUS: difference(origin, c.timestampUS))
        }
        if log.side == .source {
            total = difference(marks.first { $0.name == "src-downtime-start" }?.timestampUS,
                               marks.last { $0.name == "src-downtime-end" }?.timestampUS)
        } else {
            total = difference(loadStart, marks.last { $0.name.hasSuffix("-vm-started") }?.timestampUS)
        }
    }
}

/// `to - from` when both are known.
func difference(_ from: Int64?, _ to: Int64?) -> Int64? {
    guard let from, let to else { return nil }
    return to - from
}

/// What each section's shares are taken over: its phase when the checkpoints time it, else
/// the summed device time (both sections together on the destination, like its load phase).
struct Shares {
    var bases: ShareBases
    /// What a device's time is divided by (0: no share).
    var iterable: Double
    var nonIterable: Double

    init(_ log: SideLog, phases: [Phase]) {
        var sums: (iterable: UInt64, nonIterable: UInt64) = (0, 0)
        for device in log.devices {
            if device.section == .iterable { sums.iterable &+= device.timeUS } else { sums.nonIterable &+= device.timeUS }
        }
        func basis(_ phase: String, _ sum: UInt64) -> (ShareBasis, Double) {
            if let d = phases.first(where: { $0.label == phase })?.durationUS, d > 0 { return (.phase, Double(d)) }
            return (.sum, Double(sum))
        }
        let a, b: (ShareBasis, Double)
        if log.side == .source {
            a = basis("iterable", sums.iterable)
            b = basis("non-iterable", sums.nonIterable)
        } else {
            a = basis("load", sums.iterable &+ sums.nonIterable)
            b = a
        }
        bases = ShareBases(iterable: a.0, nonIterable: b.0)
        iterable = a.1
        nonIterable = b.1
    }
}
