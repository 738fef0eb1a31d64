// SPDX-License-Identifier: MIT
/// One device line with what the report adds to it. Plain values only: the idstr is a number
/// in its side's `SideReport.names`, which also holds its type (see `NameStore` for why).
public struct DeviceRow: Sendable, Equatable {
    /// The line, with its idstr's id in `SideReport.names`.
    public var device: DeviceLine<Int32>
    /// Its time over its phase's (see `SideReport.shareBasis`), 0...1; nil when the basis is 0.
    public var share: Double?
    /// False for entries QEMU registers without a vmsd.
    public var hasVMSD: Bool
    /// Whether the recorder kept it, i.e. it is in `device-state-times`.
    public var inDeviceStateTimes: Bool
    /// The idstr (and so its type) is printable ASCII without `"`, `\` or `,`: every writer
    /// writes its bytes as they are, without looking for what to escape or quote.
    public var plainName: Bool = false
}

/// A device within a side: idstr, instance and section.
public struct DeviceKey: Hashable, Sendable {
    public var idstr: [UInt8]
    public var instanceID: UInt32
    public var section: Section

    public func hash(into hasher: inout Hasher) {
        idstr.withUnsafeBytes { hasher.combine(bytes: $0) }
        hasher.combine(instanceID)
        hasher.combine(section == .iterable)
    }
}

/// Devices of one type added up.
public struct TypeRow: Sendable, Equatable {
    /// A device of the type, whose type it is in `SideReport.names` (`SideReport.type(of:)`).
    public var nameID: Int32
    public var count: Int
    public var timeUS: UInt64
    /// Over the side's summed device time.
    public var share: Double?
    /// The type comes from a plain name (`DeviceRow.plainName`).
    public var plainType: Bool = false
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

/// Each section's `ShareBasis` (a plain value: one per side, no dictionary to allocate).
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

/// One side of one migration, analysed.
public struct SideReport: Sendable {
    public var log: SideLog
    /// The devices' names and types.
    public let names: NameStore
    /// In log order.
    public var devices: [DeviceRow]
    public var phases: [Phase]
    public var checkpoints: [CheckpointRow]
    public var types: [TypeRow]
    public var recorder: RecorderInfo
    /// The time checkpoint offsets are counted from: `src-downtime-start` on the source, the
    /// start of the first load on the destination (its timestamp minus its time), else the first
    /// checkpoint.
    public var originUS: Int64?
    /// Source: `src-downtime-start` to `src-downtime-end`; destination: load start to
    /// `*-vm-started`.
    public var totalUS: Int64?
    public var shareBasis: ShareBases
    public var notes: [String]
    /// The steps of the downtime besides device states (our QEMU series), in log (reply) order.
    public var steps: [StepRow] = []
    /// How much of `totalUS` has a name: devices, handlers and steps.
    public var named: NamedTime

    public var side: Side { log.side }

    /// `totalUS`, else for a source from `query-migrate` without checkpoints QEMU's own
    /// `downtime` (ms): what the budget judges and the metrics call the downtime.
    public var downtimeUS: Int64? {
        if let totalUS { return totalUS }
        guard side == .source, let us = log.queryMigrate?.facts.qemuTimes.downtimeUS else { return nil }
        return Int64(us)
    }

    /// False for a side from `query-migrate`: no log, so no line numbers.
    public var hasLines: Bool { log.queryMigrate == nil }

    /// The longest device (the first in log order among equal times).
    public var longest: DeviceRow? {
        guard var best = devices.indices.first else { return nil }
        for i in devices.indices where devices[i].device.timeUS > devices[best].device.timeUS { best = i }
        return devices[best]
    }

    /// A device's idstr as text (invalid UTF-8 replaced).
    public func name(_ row: DeviceRow) -> String { names.name(row.device.idstr) }
    /// A device's idstr as logged.
    public func idstr(_ row: DeviceRow) -> [UInt8] { names.bytes(row.device.idstr) }
    /// A device's type (`DeviceKnowledge.deviceType`).
    public func type(_ row: DeviceRow) -> String { names.typeName(row.device.idstr) }
    /// A by-type row's type.
    public func type(of row: TypeRow) -> String { names.typeName(row.nameID) }
    /// A device's line as the log had it.
    public func device(_ row: DeviceRow) -> DeviceTime { row.device.with(idstr: idstr(row)) }
    public func key(_ row: DeviceRow) -> DeviceKey {
        DeviceKey(idstr: idstr(row), instanceID: row.device.instanceID, section: row.device.section)
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
