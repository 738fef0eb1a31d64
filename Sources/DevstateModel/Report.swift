// SPDX-License-Identifier: MIT
/// One device save or load with what the analysis adds to it.
public struct DeviceRow: Sendable, Equatable {
    public var device: DeviceTime
    /// Its time over its phase's (see `SideReport.shareBasis`), 0...1; nil when the basis is 0.
    public var share: Double?
    /// False for entries QEMU registers without a vmsd.
    public var hasVMSD: Bool
    /// Whether the recorder kept it, i.e. it is in `device-state-times`.
    public var inDeviceStateTimes: Bool

    public init(device: DeviceTime, share: Double?, hasVMSD: Bool, inDeviceStateTimes: Bool) {
        self.device = device
        self.share = share
        self.hasVMSD = hasVMSD
        self.inDeviceStateTimes = inDeviceStateTimes
    }

    /// The idstr as text (invalid UTF-8 replaced).
    public var name: String { device.name }
    /// The device type as text.
    public var type: String { String(decoding: device.type, as: UTF8.self) }
}

/// A device within a side: idstr, instance and section.
public struct DeviceKey: Hashable, Sendable {
    public var idstr: [UInt8]
    public var instanceID: UInt32
    public var section: Section

    public init(_ device: DeviceTime) {
        idstr = device.idstr
        instanceID = device.instanceID
        section = device.section
    }
}

/// Devices of one type added up.
public struct TypeRow: Sendable, Equatable {
    /// The type's bytes (`DeviceTime.type`: a slice of a device's idstr, not a copy).
    public var typeBytes: ArraySlice<UInt8>
    public var count: Int
    public var timeUS: UInt64
    /// Over the side's summed device time.
    public var share: Double?

    public init(typeBytes: ArraySlice<UInt8>, count: Int, timeUS: UInt64, share: Double?) {
        self.typeBytes = typeBytes
        self.count = count
        self.timeUS = timeUS
        self.share = share
    }

    public var type: String { String(decoding: typeBytes, as: UTF8.self) }
}

/// The time between two consecutive checkpoints (or from the first load to loadvm completed).
public struct Phase: Sendable, Equatable {
    public var label: String
    public var from: String
    public var to: String
    public var durationUS: Int64?

    public init(label: String, from: String, to: String, durationUS: Int64?) {
        self.label = label
        self.from = from
        self.to = to
        self.durationUS = durationUS
    }
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

    public init(name: String, known: Bool, line: Int, timestampUS: Int64?, offsetUS: Int64?) {
        self.name = name
        self.known = known
        self.line = line
        self.timestampUS = timestampUS
        self.offsetUS = offsetUS
    }
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

    public init() {}
}

/// How a section's shares were computed.
public enum ShareBasis: String, Sendable, Equatable {
    /// Over the phase's duration from the checkpoints' timestamps.
    case phase
    /// Over the sum of the section's device times (no timestamps or checkpoints).
    case sum
}

/// Each section's `ShareBasis`.
public struct ShareBases: Sendable, Equatable {
    public var iterable: ShareBasis
    public var nonIterable: ShareBasis

    public init(iterable: ShareBasis, nonIterable: ShareBasis) {
        self.iterable = iterable
        self.nonIterable = nonIterable
    }

    public subscript(section: Section) -> ShareBasis {
        section == .iterable ? iterable : nonIterable
    }
}

/// A step of the downtime with what the analysis adds to it.
public struct StepRow: Sendable, Equatable {
    public var step: DowntimeStep
    /// Its phase in `SideReport.phases`: the one whose end checkpoint came after it (for the
    /// destination's `stream-wait`, the load phase); nil when it lies outside every phase.
    public var phase: Int?
    /// When it started, in µs from the side's origin; nil when unknown (no stamp, or
    /// `stream-wait`'s line, whose stamp is not its end).
    public var offsetUS: Int64?
    /// Its time over its phase's duration; nil when that is unknown or 0.
    public var share: Double?

    public init(step: DowntimeStep, phase: Int?, offsetUS: Int64?, share: Double?) {
        self.step = step
        self.phase = phase
        self.offsetUS = offsetUS
        self.share = share
    }
}

/// How much of a side's downtime is attributed to something with a name: a device's save or
/// load, a run-state change handler or a named step.
public struct NamedTime: Sendable, Equatable {
    /// The side's downtime (`SideReport.totalUS`); nil when unknown.
    public var downtimeUS: Int64?
    /// Every device save or load of the side, added up.
    public var devicesUS: UInt64
    /// Every step and handler of the side, added up (0 without any).
    public var stepsUS: UInt64
    /// Whether the input names handlers and steps; false: the figure is the devices' alone.
    public var stepsKnown: Bool

    public init(downtimeUS: Int64?, devicesUS: UInt64, stepsUS: UInt64, stepsKnown: Bool) {
        self.downtimeUS = downtimeUS
        self.devicesUS = devicesUS
        self.stepsUS = stepsUS
        self.stepsKnown = stepsKnown
    }

    public var namedUS: UInt64 { devicesUS &+ stepsUS }

    /// `downtimeUS - namedUS`, as it is: negative when the named times add up to more than the
    /// downtime (two clocks, or work that overlaps), never clamped.
    public var unnamedUS: Int64? { downtimeUS.map { $0 - Int64(clamping: namedUS) } }

    /// `namedUS / downtimeUS`, as it is (it can pass 1); nil when the downtime is unknown or
    /// not above 0.
    public var share: Double? {
        guard let downtimeUS, downtimeUS > 0 else { return nil }
        return Double(namedUS) / Double(downtimeUS)
    }
}

/// One side of one migration, analysed.
public struct SideReport: Sendable {
    public var log: SideLog
    /// In input order.
    public var devices: [DeviceRow]
    public var phases: [Phase]
    public var checkpoints: [CheckpointRow]
    /// Longest first, first seen first among equal times.
    public var types: [TypeRow]
    public var recorder: RecorderInfo
    /// The time checkpoint offsets are counted from: `src-downtime-start` on the source, the
    /// start of the first load on the destination, else the first checkpoint.
    public var originUS: Int64?
    /// Source: `src-downtime-start` to `src-downtime-end`; destination: load start to
    /// `*-vm-started`.
    public var totalUS: Int64?
    public var shareBasis: ShareBases
    public var notes: [String]
    /// The steps of the downtime besides device states, in input order.
    public var steps: [StepRow]
    /// How much of `totalUS` has a name: devices, handlers and steps.
    public var named: NamedTime

    public init(log: SideLog, devices: [DeviceRow], phases: [Phase], checkpoints: [CheckpointRow],
                types: [TypeRow], recorder: RecorderInfo, originUS: Int64?, totalUS: Int64?,
                shareBasis: ShareBases, notes: [String], steps: [StepRow], named: NamedTime) {
        self.log = log
        self.devices = devices
        self.phases = phases
        self.checkpoints = checkpoints
        self.types = types
        self.recorder = recorder
        self.originUS = originUS
        self.totalUS = totalUS
        self.shareBasis = shareBasis
        self.notes = notes
        self.steps = steps
        self.named = named
    }

    public var side: Side { log.side }

    /// `totalUS`, else for a source from `query-migrate` without checkpoints QEMU's own
    /// `downtime` (ms): what the budget judges and the metrics call the downtime.
    public var downtimeUS: Int64? {
        if let totalUS { return totalUS }
        guard side == .source, let us = log.reply?.qemuTimes.downtimeUS else { return nil }
        return Int64(us)
    }

    /// False for a side from `query-migrate`: no log, so no line numbers.
    public var hasLines: Bool { log.hasLines }

    /// The longest device (the first in input order among equal times).
    public var longest: DeviceRow? {
        guard var best = devices.indices.first else { return nil }
        for i in devices.indices where devices[i].device.timeUS > devices[best].device.timeUS { best = i }
        return devices[best]
    }

    /// Devices sorted by time, longest first (input order among equal times).
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

    public init(index: Int, source: SideReport?, destination: SideReport?) {
        self.index = index
        self.source = source
        self.destination = destination
    }
}

/// Receives runs as they are ready, then the input summaries.
public protocol ReportSink: AnyObject {
    func begin()
    func run(_ run: RunReport)
    func end(inputs: [InputSummary])
    /// Writes out what the sink holds back, for a report that stops without `end`: a log that
    /// could not be read to its end.
    func flush()
}

extension ReportSink {
    public func flush() {}
}

/// The output formats of `devstate report` and `devstate query`.
public enum OutputFormat: String, CaseIterable, Sendable {
    case table, json, csv, openmetrics
}
