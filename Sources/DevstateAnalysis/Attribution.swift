// SPDX-License-Identifier: MIT
import DevstateModel

/// Places a side's steps in its phases and adds up what has a name.
enum Attribution {
    static func steps(_ log: SideLog, phases: [Phase], origin: Int64?) -> [StepRow] {
        // The destination's load phase (first load → loadvm-completed) comes before the phases
        // between checkpoints; steps before the first checkpoint fall in it.
        let hasLoad = log.side == .destination && phases.first?.from == "first-load-start"
        let checkpoints = log.checkpoints.count
        return log.steps.map { step in
            let streamWait = log.side == .destination && step.name == KnownSteps.streamWait && step.kind == .work
            var phase: Int?
            if streamWait || step.checkpointsBefore == 0 {
                phase = hasLoad ? 0 : nil
            } else if step.checkpointsBefore < checkpoints {
                phase = (hasLoad ? 1 : 0) + step.checkpointsBefore - 1
            }
            var start: Int64?
            if !log.hasLines {
                start = step.startUS
            } else if !streamWait, let end = step.timestampUS {
                start = end - Int64(clamping: step.timeUS)
            }
            var share: Double?
            if let phase, let d = phases[phase].durationUS, d > 0 { share = Double(step.timeUS) / Double(d) }
            return StepRow(step: step, phase: phase, offsetUS: start.flatMap { s in origin.map { s - $0 } }, share: share)
        }
    }

    static func named(_ log: SideLog, total: Int64?) -> NamedTime {
        let devices = log.devices.reduce(UInt64(0)) { $0 &+ $1.timeUS }
        let steps = log.steps.reduce(UInt64(0)) { $0 &+ $1.timeUS }
        let known = log.namesSteps ?? (!log.steps.isEmpty || log.droppedSteps > 0)
        return NamedTime(downtimeUS: total, devicesUS: devices, stepsUS: steps, stepsKnown: known)
    }
}
