// SPDX-License-Identifier: MIT
import DeviceStateTimes
import DevstateModel

/// Turns a side of a migration, from whatever input, into its report: the recorder's view
/// (each side's non-iterable vmsd entries go through a `DeviceStateTimes.Recorder`, the code
/// QEMU runs, for `device-state-times`), phases, shares, types, steps and the named share.
public final class Analyzer {
    public let knowledge: DeviceKnowledge
    private let sourceRecorder = Recorder()
    private let destinationRecorder = Recorder()
    private var names = NameFacts()

    public init(knowledge: DeviceKnowledge = DeviceKnowledge()) {
        self.knowledge = knowledge
    }

    /// A run of the report from its sides.
    public func report(index: Int, source: SideLog?, destination: SideLog?) -> RunReport {
        RunReport(index: index, source: source.map(analyze), destination: destination.map(analyze))
    }

    public func analyze(_ log: SideLog) -> SideReport {
        var log = log
        names.startRun()
        if log.side == .destination { setAsideSetupLoads(&log) }
        // A source's reply says which entries QEMU saved without a vmsd ("handler": true);
        // otherwise it is what we know of QEMU's entries.
        let toldByQEMU = log.reply != nil && log.side == .source
        let facts = log.devices.map { names.of($0.idstr, knowledge) }
        let vmsd = zip(log.devices, facts).map { device, facts in
            device.section == .iterable || (toldByQEMU ? !device.handler : facts.hasVMSD)
        }
        var recorder = RecorderInfo()
        let kept = record(log, vmsd: vmsd, info: &recorder)
        let timeline = Timeline(log)
        let shares = Shares(log, phases: timeline.phases)
        var devices: [DeviceRow] = []
        devices.reserveCapacity(log.devices.count)
        for (i, device) in log.devices.enumerated() {
            let basis = device.section == .iterable ? shares.iterable : shares.nonIterable
            devices.append(DeviceRow(device: device, share: basis > 0 ? Double(device.timeUS) / basis : nil,
                                     hasVMSD: vmsd[i], inDeviceStateTimes: kept[i]))
        }
        return SideReport(log: log, devices: devices, phases: timeline.phases, checkpoints: timeline.checkpoints,
                          types: names.types(log.devices, facts), recorder: recorder, originUS: timeline.origin,
                          totalUS: timeline.total, shareBasis: shares.bases, notes: notes(log, timeline.checkpoints),
                          steps: Attribution.steps(log, phases: timeline.phases, origin: timeline.origin),
                          named: Attribution.named(log, total: timeline.total))
    }

    /// What the report says about the side beyond its numbers.
    private func notes(_ log: SideLog, _ checkpoints: [CheckpointRow]) -> [String] {
        var notes = log.notes
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
            notes.append("unknown checkpoint \(checkpoint.name)" + (log.hasLines ? " (line \(checkpoint.line))" : ""))
        }
        return notes
    }

    /// Loads of sections the source sent at setup (`DeviceKnowledge.earlySetup`) happen at the
    /// start of the migration, long before the switchover: they are not downtime. They leave
    /// the device list, the load phase and the origin it counts from, and the notes name them.
    /// A reply of QEMU's series before library 0.3.0 lists such a load and counts its
    /// checkpoint times from it: the notes say so.
    private func setAsideSetupLoads(_ log: inout SideLog) {
        var setAside: [String] = []
        log.devices.removeAll { device in
            guard device.section == .nonIterable, names.of(device.idstr, knowledge).setup else { return false }
            setAside.append("\(device.name)#\(device.instanceID) \(device.timeUS) µs"
                            + (device.line > 0 ? " (line \(device.line))" : ""))
            return true
        }
        guard !setAside.isEmpty else { return }
        log.deviceCount -= setAside.count
        log.notes.append("loaded at setup, before the switchover, so not downtime and left out: "
                         + setAside.joined(separator: ", "))
        if !log.hasLines {
            log.notes.append("this QEMU's series (before library 0.3.0) counts the destination's checkpoint "
                             + "times from that load: they include the time until the switchover")
        }
    }

    /// Feeds the non-iterable entries with a vmsd (and QEMU's handler entries) through the
    /// side's recorder, in order. Returns which devices it kept (none if its snapshot failed).
    private func record(_ log: SideLog, vmsd: [Bool], info: inout RecorderInfo) -> [Bool] {
        let recorder = log.side == .source ? sourceRecorder : destinationRecorder
        var kept = [Bool](repeating: false, count: log.devices.count)
        recorder.beginRun()
        for (i, device) in log.devices.enumerated() where device.section == .nonIterable {
            // An entry without a vmsd that QEMU recorded on opt-in; so does our recorder.
            guard vmsd[i] || device.handler else { continue }
            do {
                let outcome = try recorder.record(nameBytes: device.idstr, instanceID: device.instanceID,
                                                  saveTime: device.timeUS, kind: vmsd[i] ? .vmsd : .handler)
                kept[i] = outcome == .kept
            } catch {
                info.errors.append("\(device.name)#\(device.instanceID)"
                                   + (log.hasLines ? " (line \(device.line))" : "") + ": \(error.message)")
            }
        }
        let ended = log.completed ?? log.checkpoints.contains {
            log.side == .source ? $0.name == "src-downtime-end" : $0.name.hasSuffix("-vm-started")
        }
        if ended {
            do { try recorder.endRun() } catch { info.errors.append("endRun: \(error.message)") }
        }
        do {
            let snapshot = try recorder.snapshot()
            info.run = snapshot.run
            info.kept = snapshot.count
            info.skippedZero = log.hasLines ? snapshot.skippedZero : nil
            info.dropped = snapshot.dropped
            info.complete = snapshot.isComplete
        } catch {
            info.errors.append("snapshot: \(error.message)")
            return [Bool](repeating: false, count: log.devices.count)
        }
        return kept
    }
}
