// SPDX-License-Identifier: MIT
/// A side's `named` member: how much of its downtime has a name, and the handlers and steps
/// that make up part of it (see Sources/devstate/README.md). One member, so that a report of a
/// stock QEMU differs from before only by it.
extension ReportJSON {
    static func writeNamed(_ s: SideReport, to json: inout JSONStream) {
        let n = s.named
        json.beginObject()
        json.key("share")
        if let share = n.share { json.fixed(share, 4) } else { json.null() }
        json.key("named-us")
        json.uint(n.namedUS)
        json.key("devices-us")
        json.uint(n.devicesUS)
        json.key("steps-us")
        json.uint(n.stepsUS)
        json.key("unnamed-us")
        json.optional(n.unnamedUS)
        json.key("steps-known")
        json.bool(n.stepsKnown)
        json.key("steps")
        json.beginArray()
        for row in s.steps {
            let step = row.step
            json.beginObject()
            json.key("name")
            json.string(step.name)
            json.key("kind")
            json.string(step.kind.rawValue)
            json.key("device")
            if step.device.isEmpty { json.null() } else { json.string(step.device) }
            json.key("device-type")
            if step.type.isEmpty { json.null() } else { json.string(step.type) }
            json.key("phase")
            if let phase = row.phase { json.string(s.phases[phase].label) } else { json.null() }
            json.key("time-us")
            json.uint(step.timeUS)
            json.key("offset-us")
            json.optional(row.offsetUS)
            json.key("share")
            if let share = row.share { json.fixed(share, 4) } else { json.null() }
            json.key("line")
            if s.hasLines { json.int(step.line) } else { json.null() }
            json.endObject()
        }
        json.endArray()
        json.endObject()
    }
}
