// SPDX-License-Identifier: MIT
import DevstateBytes
import DevstateModel

/// The JSON document of `devstate report --format json` (`devstate-report/1`); the schema is
/// documented in Sources/devstate/README.md.
enum ReportJSON {
    static let schema = "devstate-report/1"

    /// One element of `runs`.
    static func write(_ run: RunReport, to json: inout JSONWriter) {
        json.beginObject()
        json.int("run", run.index)
        if let s = run.source {
            json.key("source")
            write(s, to: &json)
        }
        if let d = run.destination {
            json.key("destination")
            write(d, to: &json)
        }
        json.end()
    }

    static func write(_ s: SideReport, to json: inout JSONWriter) {
        // Line numbers exist only for a side read from a log.
        let hasLines = s.hasLines
        json.beginObject()
        json.string("log", s.log.file)
        json.string("from", hasLines ? "trace-log" : "query-migrate")
        json.int("index-in-log", s.log.index)
        json.key("lines")
        if hasLines {
            json.beginArray()
            json.int(nil, s.log.firstLine)
            json.int(nil, s.log.lastLine)
            json.end()
        } else {
            json.null()
        }
        json.raw("device-state-times") { s.writeDeviceStateTimes(to: &$0) }
        let r = s.recorder
        json.beginObject("recorder")
        json.int("run", r.run)
        json.int("kept", r.kept)
        json.int("skipped-zero", r.skippedZero)
        json.int("dropped", r.dropped)
        json.bool("complete", r.complete)
        json.strings("errors", r.errors)
        json.end()
        json.int("downtime-us", s.totalUS)
        json.key("named")
        writeNamed(s, to: &json)
        json.objects("phases", s.phases) { json, p in
            json.string("phase", p.label)
            json.string("from", p.from)
            json.string("to", p.to)
            json.int("duration-us", p.durationUS)
        }
        json.objects("checkpoints", s.checkpoints) { json, c in
            json.string("name", c.name)
            json.bool("known", c.known)
            json.int("offset-us", c.offsetUS)
            json.int("timestamp-us", c.timestampUS)
            json.int("line", hasLines ? c.line : nil)
        }
        json.objects("devices", s.devices) { json, row in
            json.string("name", bytes: row.device.idstr[...])
            json.int("instance-id", row.device.instanceID)
            json.string("type", bytes: row.device.type)
            json.string("section", row.device.section.rawValue)
            json.int("time-us", row.device.timeUS)
            json.fixed("share", row.share, 4)
            json.bool("vmsd", row.hasVMSD)
            json.bool("in-device-state-times", row.inDeviceStateTimes)
            json.int("line", hasLines ? row.device.line : nil)
        }
        json.objects("no-vmsd", s.devices.lazy.filter { !$0.hasVMSD }) { json, row in
            json.string("name", bytes: row.device.idstr[...])
            json.int("instance-id", row.device.instanceID)
            json.string("section", row.device.section.rawValue)
            json.int("time-us", row.device.timeUS)
        }
        json.objects("by-type", s.types) { json, t in
            json.string("type", bytes: t.typeBytes[...])
            json.int("count", t.count)
            json.int("time-us", t.timeUS)
            json.fixed("share", t.share, 4)
        }
        json.beginObject("share-basis")
        json.string("iterable", s.shareBasis[.iterable].rawValue)
        json.string("non-iterable", s.shareBasis[.nonIterable].rawValue)
        json.end()
        json.strings("notes", s.notes)
        json.end()
    }

    /// A side's `named` member: how much of its downtime has a name, and the handlers and steps
    /// that make up part of it.
    static func writeNamed(_ s: SideReport, to json: inout JSONWriter) {
        let n = s.named
        json.beginObject()
        json.fixed("share", n.share, 4)
        json.int("named-us", n.namedUS)
        json.int("devices-us", n.devicesUS)
        json.int("steps-us", n.stepsUS)
        json.int("unnamed-us", n.unnamedUS)
        json.bool("steps-known", n.stepsKnown)
        json.objects("steps", s.steps) { json, row in
            json.string("name", row.step.name)
            json.string("kind", row.step.kind.rawValue)
            json.string("device", row.step.device.isEmpty ? nil : row.step.device)
            json.string("device-type", row.step.type.isEmpty ? nil : row.step.type)
            json.string("phase", row.phase.map { s.phases[$0].label })
            json.int("time-us", row.step.timeUS)
            json.int("offset-us", row.offsetUS)
            json.fixed("share", row.share, 4)
            json.int("line", s.hasLines ? row.step.line : nil)
        }
        json.end()
    }

    /// The end of a document: the `inputs` array (a log with its counts, or a `query-migrate`
    /// reply: the log-only members null, `query-migrate` saying what the reply gave), then
    /// `malformed-lines`.
    static func end(_ inputs: [InputSummary], to json: inout JSONWriter) {
        json.objects("inputs", inputs) { json, i in
            let q = i.queryMigrate
            json.string("log", i.path)
            json.string("role", i.role)
            json.int("bytes", q == nil ? i.stats.bytes : nil)
            json.int("lines", q == nil ? i.stats.lines : nil)
            json.int("events", q == nil ? i.stats.events : nil)
            json.int("source-runs", i.sources)
            json.int("destination-loads", i.destinations)
            json.int("malformed-lines", q == nil ? i.stats.malformedLines : 0)
            json.objects("malformed", q == nil ? i.stats.malformed : []) { json, m in
                json.int("line", m.line)
                json.string("reason", m.reason)
                json.string("text", m.text)
            }
            json.bool("ended-without-newline", q == nil ? i.stats.endedWithoutNewline : nil)
            guard let q else { return }
            json.beginObject("query-migrate")
            json.string("qemu", q.qemuVersion)
            json.string("status", q.status)
            json.string("series", q.series.rawValue)
            json.string("series-from", q.seriesFrom.rawValue)
            json.string("outcome", q.outcome.rawValue)
            json.strings("missing", q.missing)
            json.string("message", q.message)
            json.int("entries-dropped", q.entriesDropped)
            json.end()
        }
        json.int("malformed-lines", inputs.reduce(0) { $0 + $1.stats.malformedLines })
        json.end()
        json.out.append(UInt8(ascii: "\n"))
    }
}
