// SPDX-License-Identifier: MIT
/// The metrics of what has a name in a side's downtime: the share (`qemu_migration_downtime_named_ratio`)
/// and each handler's and step's time (`qemu_migration_downtime_step_seconds`).
extension OpenMetricsSink {
    /// The named share when the downtime is known, labelled with whether steps are part of it.
    func addNamed(_ side: SideReport, _ labels: [(String, String)], to m: inout MetricSet) {
        let n = side.named
        guard let downtime = n.downtimeUS, downtime > 0 else { return }
        m.add(.named, labels + [("steps", n.stepsKnown ? "true" : "false")],
              MetricSet.ratio(n.namedUS, UInt64(downtime)))
    }

    /// One series per phase, kind, handler and device (repeats add up: six `ide_restart_cb` of
    /// no device are one series), 0 µs included: a step is there in every migration, unlike a
    /// device that had nothing to save. The `maxDevices` longest keep their series; the rest
    /// are summed per phase and kind into `handler="other"`, as devices are per section.
    func addSteps(_ side: SideReport, _ labels: [(String, String)], to m: inout MetricSet) {
        struct Series: Hashable { var phase: String, kind: DowntimeStepKind, handler: String, device: String }
        var steps: [(key: Series, us: UInt64)] = []
        var slot: [Series: Int] = [:]
        for row in side.steps {
            let key = Series(phase: row.phase.map { side.phases[$0].label } ?? "", kind: row.step.kind,
                             handler: row.step.name, device: row.step.device)
            if let i = slot[key] {
                steps[i].us &+= row.step.timeUS
            } else {
                slot[key] = steps.count
                steps.append((key, row.step.timeUS))
            }
        }
        let ordered = steps.enumerated().sorted {
            $0.element.us != $1.element.us ? $0.element.us > $1.element.us : $0.offset < $1.offset
        }.map(\.element)
        // The kept series, then the folded ones; a step that is itself called `other` with no
        // device shares its bucket's series, so no series is written twice.
        var written: [(key: Series, us: UInt64)] = []
        var at: [Series: Int] = [:]
        for (i, s) in ordered.enumerated() {
            let key = i < maxDevices ? s.key : Series(phase: s.key.phase, kind: s.key.kind, handler: "other", device: "")
            if let k = at[key] {
                written[k].us &+= s.us
            } else {
                at[key] = written.count
                written.append((key, s.us))
            }
        }
        for s in written {
            m.add(.step, labels + [("phase", s.key.phase), ("kind", s.key.kind.rawValue),
                                   ("handler", s.key.handler), ("device", s.key.device)],
                  MetricSet.seconds(s.us))
        }
    }
}

extension MetricSet {
    /// `part / whole` with six decimals, rounded half up in integers: 20037 / 20361 →
    /// "0.984087" (a float only when the quotient would not fit in 64 bits).
    static func ratio(_ part: UInt64, _ whole: UInt64) -> String {
        let scaled = part.multipliedFullWidth(by: 1_000_000)
        guard whole > 0, scaled.high < whole else { return formatFixed(Double(part) / Double(whole), digits: 6) }
        var (q, r) = whole.dividingFullWidth(scaled)
        if r >= whole - r { q += 1 }
        let fraction = String(q % 1_000_000)
        return "\(q / 1_000_000)." + String(repeating: "0", count: 6 - fraction.count) + fraction
    }
}
