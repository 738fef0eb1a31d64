// SPDX-License-Identifier: MIT
import DevstateModel

/// Sides built by hand, as an input would give them: the analysis does not care where from.
enum Sides {
    static func save(_ name: String, _ instance: UInt32 = 0, _ section: Section = .nonIterable, _ us: UInt64,
                     at stamp: Int64? = nil, line: Int = 0, handler: Bool = false) -> DeviceTime {
        DeviceTime(name: name, instanceID: instance, section: section, timeUS: us, timestampUS: stamp, line: line,
                   handler: handler)
    }

    /// A source run: start at 1_000_000 µs, vm stopped +100, iterable saved +400, non-iterable
    /// saved +1000, end +1100 (downtime 1100 µs).
    static func source(_ devices: [DeviceTime], steps: [DowntimeStep] = [], stamps: Bool = true) -> SideLog {
        var log = SideLog(side: .source, file: "src.log", index: 1, startedAtCheckpoint: true)
        log.devices = devices
        log.deviceCount = devices.count
        let marks: [(String, Int64)] = [("src-downtime-start", 0), ("src-vm-stopped", 100), ("src-iterable-saved", 400),
                                        ("src-non-iterable-saved", 1000), ("src-downtime-end", 1100)]
        log.checkpoints = marks.enumerated().map { k, m in
            Checkpoint(name: m.0, timestampUS: stamps ? 1_000_000 + m.1 : nil, line: k + 1)
        }
        log.steps = steps
        return log
    }

    /// A destination load: first load ends at 2_000_050 having taken 50 µs (start 2_000_000),
    /// loadvm completed +500, bh enter +510, announced +520, vm started +900.
    static func destination(_ devices: [DeviceTime], steps: [DowntimeStep] = []) -> SideLog {
        var log = SideLog(side: .destination, file: "dst.log", index: 1, startedAtCheckpoint: true)
        log.devices = devices
        log.deviceCount = devices.count
        let marks: [(String, Int64)] = [("dst-precopy-loadvm-completed", 500), ("dst-precopy-bh-enter", 510),
                                        ("dst-precopy-bh-announced", 520), ("dst-precopy-bh-vm-started", 900)]
        log.checkpoints = marks.map { Checkpoint(name: $0.0, timestampUS: 2_000_000 + $0.1) }
        log.steps = steps
        return log
    }
}
