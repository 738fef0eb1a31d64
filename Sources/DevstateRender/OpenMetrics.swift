// SPDX-License-Identifier: MIT
import DevstateBytes
import DevstateModel

/// `--format openmetrics`: the last migration of each VM as OpenMetrics text (gauges in seconds,
/// `# TYPE`, `# UNIT`, `# HELP`, `# EOF`), which Prometheus scrapes and node_exporter's textfile
/// collector reads. The metric names and labels are listed in docs/prometheus.md.
public final class OpenMetricsSink: ReportSink {
    /// `--max-devices` when not given: the N longest devices of each side keep their own series.
    public static let defaultMaxDevices = 50

    let out: TextOut
    let maxDevices: Int
    let vmName: (RunReport) -> String
    let queryVM: String
    /// Unix time in µs at which each side's migration completed, when the caller knows it
    /// (`devstate query`: the query; `devstate watch`: the MIGRATION event). Without it a trace
    /// log's side uses its last checkpoint's `-msg timestamp=on` stamp.
    public var completedAtUS: [Side: Int64] = [:]
    /// Kept run per VM, in the order VMs first appear, with how many runs it had.
    private var kept: [(vm: String, run: RunReport, runs: Int)] = []
    /// For standard error: VMs with several runs, of which only the last is exported.
    public private(set) var notes: [String] = []

    /// `vmName` names the VM of a run; `queryVM` that of `query-migrate` inputs without one.
    public init(out: TextOut, maxDevices: Int = OpenMetricsSink.defaultMaxDevices, queryVM: String = "",
                vmName: ((RunReport) -> String)? = nil) {
        self.out = out
        self.maxDevices = max(1, maxDevices)
        self.queryVM = queryVM
        self.vmName = vmName ?? { _ in queryVM }
    }

    public func begin() {}

    public func run(_ run: RunReport) {
        let vm = vmName(run)
        if let i = kept.firstIndex(where: { $0.vm == vm }) {
            kept[i].run = run
            kept[i].runs += 1
        } else {
            kept.append((vm, run, 1))
        }
    }

    public func end(inputs: [InputSummary]) {
        var m = MetricSet()
        for (vm, run, runs) in kept {
            if runs > 1 {
                notes.append("openmetrics: \(vm.isEmpty ? "the logs" : "vm \(vm)") held \(runs) migrations; "
                    + "exported the last (run \(run.index)); --run N exports another")
            }
            for side in [run.source, run.destination].compactMap({ $0 }) { add(side, vm: vm, to: &m) }
        }
        // query-migrate inputs that gave no report side: what QEMU itself says.
        for facts in inputs.compactMap(\.queryMigrate) where !facts.rendered {
            let labels = [("vm", queryVM), ("side", facts.role.rawValue)]
            m.info(labels, input: "query-migrate", series: facts.series.rawValue, version: facts.qemuVersion)
            guard facts.status == "completed" else { continue }
            let downtime = facts.qemuTimes.downtimeUS.map { Int64(clamping: $0) }
            addQEMUTimes(facts.qemuTimes, downtimeUS: downtime, vm: queryVM, to: &m)
            if let at = completedAtUS[facts.role] { m.add(.completed, labels, MetricSet.seconds(at)) }
        }
        out(m.text())
    }

    private func add(_ side: SideReport, vm: String, to m: inout MetricSet) {
        let labels = [("vm", vm), ("side", side.side.rawValue)]
        let facts = side.log.reply
        m.info(labels, input: facts == nil ? "trace" : "query-migrate", series: facts?.series.rawValue ?? "trace",
               version: facts?.qemuVersion)
        if side.side == .source {
            addQEMUTimes(facts?.qemuTimes ?? QEMUTimes(), downtimeUS: side.downtimeUS, vm: vm, to: &m)
        }
        // Phases of the same name (a log with a repeated checkpoint) add up: one series each.
        for (label, d) in MetricSet.summed(side.phases.compactMap { p in p.durationUS.map { (p.label, $0) } }) {
            m.add(.phase, labels + [("phase", label)], MetricSet.seconds(d))
        }
        // The named share when the downtime is known, labelled with whether steps are part of it.
        if let downtime = side.named.downtimeUS, downtime > 0 {
            m.add(.named, labels + [("steps", side.named.stepsKnown ? "true" : "false")],
                  MetricSet.ratio(side.named.namedUS, UInt64(downtime)))
        }
        addSteps(side, labels, to: &m)

        // Devices: 0 µs left out (as query-migrate does); one series per label set, so repeats
        // add up — also two idstrs whose invalid UTF-8 both read as U+FFFD.
        struct Series: Hashable { var name: String, instanceID: UInt32, section: Section }
        let devices = MetricSet.summed(side.devices.filter { $0.device.timeUS > 0 }.map {
            (Series(name: $0.name, instanceID: $0.device.instanceID, section: $0.device.section), $0.device.timeUS)
        })
        m.add(.devices, labels, "\(devices.count)")
        let op = side.side == .source ? "save" : "load"
        var other: [Section: UInt64] = [:]
        for (i, d) in longestFirst(devices, by: { $0.value }).map({ devices[$0] }).enumerated() {
            guard i < maxDevices else {
                other[d.key.section, default: 0] &+= d.value
                continue
            }
            m.add(.device, labels + [("op", op), ("section", d.key.section.rawValue), ("device", d.key.name),
                                     ("instance_id", "\(d.key.instanceID)")], MetricSet.seconds(d.value))
        }
        for section in Section.allCases where other[section] != nil {
            m.add(.device, labels + [("op", op), ("section", section.rawValue), ("device", "other")],
                  MetricSet.seconds(other[section]!))
        }
        if let at = completedAtUS[side.side] ?? (facts == nil ? side.checkpoints.last?.timestampUS : nil) {
            m.add(.completed, labels, MetricSet.seconds(at))
        }
    }

    /// One series per phase, kind, handler and device (repeats add up: six `ide_restart_cb` of
    /// no device are one series), 0 µs included: a step is there in every migration, unlike a
    /// device that had nothing to save. The `maxDevices` longest keep their series; the rest
    /// are summed per phase and kind into `handler="other"`, as devices are per section.
    private func addSteps(_ side: SideReport, _ labels: [(String, String)], to m: inout MetricSet) {
        struct Series: Hashable { var phase: String, kind: DowntimeStepKind, handler: String, device: String }
        let summed = MetricSet.summed(side.steps.map {
            (Series(phase: $0.phase.map { side.phases[$0].label } ?? "", kind: $0.step.kind, handler: $0.step.name,
                    device: $0.step.device), $0.step.timeUS)
        })
        let steps = longestFirst(summed) { $0.value }.map { summed[$0] }
        // The kept series, then the folded ones; a step that is itself called `other` with no
        // device shares its bucket's series, so no series is written twice.
        let written = MetricSet.summed(steps.enumerated().map { i, s in
            (i < maxDevices ? s.key : Series(phase: s.key.phase, kind: s.key.kind, handler: "other", device: ""), s.value)
        })
        for s in written {
            m.add(.step, labels + [("phase", s.key.phase), ("kind", s.key.kind.rawValue),
                                   ("handler", s.key.handler), ("device", s.key.device)],
                  MetricSet.seconds(s.value))
        }
    }

    /// A source's downtime (its checkpoints' when it has them, else QEMU's) and QEMU's other times.
    private func addQEMUTimes(_ t: QEMUTimes, downtimeUS: Int64?, vm: String, to m: inout MetricSet) {
        let labels = [("vm", vm)]
        if let us = downtimeUS { m.add(.downtime, labels, MetricSet.seconds(us)) }
        if let ms = t.setupTimeMS { m.add(.setup, labels, MetricSet.seconds(ms * 1000)) }
        if let ms = t.totalTimeMS { m.add(.duration, labels, MetricSet.seconds(ms * 1000)) }
    }
}

/// The metric families, in the order they are written.
enum MetricFamily: String, CaseIterable {
    case downtime = "qemu_migration_downtime_seconds"
    case phase = "qemu_migration_downtime_phase_seconds"
    case named = "qemu_migration_downtime_named_ratio"
    case device = "qemu_migration_device_time_seconds"
    case devices = "qemu_migration_devices"
    case step = "qemu_migration_downtime_step_seconds"
    case setup = "qemu_migration_setup_seconds"
    case duration = "qemu_migration_duration_seconds"
    case completed = "qemu_migration_last_completed_timestamp_seconds"
    case info = "qemu_migration_devstate_info"

    var unit: String? { rawValue.hasSuffix("_seconds") ? "seconds" : nil }

    var help: String {
        switch self {
        case .downtime: "Guest downtime of the last completed migration, on the source: src-downtime-start to src-downtime-end from the checkpoints, else query-migrate's downtime (ms)."
        case .phase: "Time between consecutive downtime checkpoints of the last completed migration."
        case .named: "Share of the side's downtime of the last completed migration that devices, handlers and steps account for (named over downtime, not capped at 1); steps false: devices alone, the input names no handler or step."
        case .device: "Time one device took to save (source) or load (destination) its state in the last completed migration; device other sums the devices past --max-devices."
        case .devices: "Devices with a save or load time above 0 in the last completed migration, before any were summed into other."
        case .step: "Time a run-state change handler or a named step of the downtime took in the last completed migration (our QEMU series); handler other sums, per phase and kind, those past --max-devices."
        case .setup: "Setup time of the last completed migration, as query-migrate reports it."
        case .duration: "Total time of the last completed migration, as query-migrate reports it."
        case .completed: "Unix time at which the last migration completed on this side."
        case .info: "Where these figures come from: input (trace or query-migrate), our QEMU series, QEMU's version."
        }
    }
}

/// Samples grouped by family, then written as OpenMetrics text.
struct MetricSet {
    private var samples: [MetricFamily: [(labels: [(String, String)], value: String)]] = [:]

    mutating func add(_ family: MetricFamily, _ labels: [(String, String)], _ value: String) {
        samples[family, default: []].append((labels, value))
    }

    mutating func info(_ labels: [(String, String)], input: String, series: String, version: String?) {
        add(.info, labels + [("input", input), ("series", series), ("qemu_version", version ?? "")], "1")
    }

    /// µs as seconds, exactly: 1829 → "0.001829".
    static func seconds<T: BinaryInteger>(_ us: T) -> String {
        let v = Int64(clamping: us)
        return (v < 0 ? "-" : "") + millionths(v.magnitude)
    }

    /// `n` millionths with six decimals: 1829 → "0.001829".
    static func millionths(_ n: UInt64) -> String {
        let fraction = String(n % 1_000_000)
        return "\(n / 1_000_000)." + String(repeating: "0", count: 6 - fraction.count) + fraction
    }

    /// `part / whole` with six decimals, rounded half up in integers: 20037 / 20361 →
    /// "0.984087" (a float only when the quotient would not fit in 64 bits).
    static func ratio(_ part: UInt64, _ whole: UInt64) -> String {
        let scaled = part.multipliedFullWidth(by: 1_000_000)
        guard whole > 0, scaled.high < whole else { return formatFixed(Double(part) / Double(whole), digits: 6) }
        var (q, r) = whole.dividingFullWidth(scaled)
        if r >= whole - r { q += 1 }
        return millionths(q)
    }

    /// A label value with `\`, `"` and newlines escaped.
    static func escape(_ value: String) -> String {
        guard value.contains(where: { $0 == "\\" || $0 == "\"" || $0.isNewline }) else { return value }
        return value.map { $0 == "\\" ? #"\\"# : $0 == "\"" ? #"\""# : $0.isNewline ? #"\n"# : String($0) }.joined()
    }

    /// The values of equal keys added up, in the order the keys first come.
    static func summed<K: Hashable, V: FixedWidthInteger>(_ pairs: [(K, V)]) -> [(key: K, value: V)] {
        var sums: [(key: K, value: V)] = []
        var slot: [K: Int] = [:]
        for (key, value) in pairs {
            if let i = slot[key] {
                sums[i].value &+= value
            } else {
                slot[key] = sums.count
                sums.append((key, value))
            }
        }
        return sums
    }

    func text() -> String {
        var text = ""
        for family in MetricFamily.allCases {
            guard let list = samples[family] else { continue }
            text += "# TYPE \(family.rawValue) gauge\n"
            if let unit = family.unit { text += "# UNIT \(family.rawValue) \(unit)\n" }
            text += "# HELP \(family.rawValue) \(family.help)\n"
            for s in list {
                text += family.rawValue + "{"
                text += s.labels.map { "\($0.0)=\"\(Self.escape($0.1))\"" }.joined(separator: ",")
                text += "} \(s.value)\n"
            }
        }
        return text + "# EOF\n"
    }
}
