// SPDX-License-Identifier: MIT
/// What one input log was and how reading it went.
public struct InputSummary: Sendable, Equatable {
    public var path: String
    /// "source", "destination" or "auto" (as given on the command line).
    public var role: String
    public var stats: ReadStats
    public var sources: Int = 0
    public var destinations: Int = 0
    /// Set for a `query-migrate` reply (a QMP socket or a saved reply) instead of a log.
    public var queryMigrate: QueryMigrateFacts?

    public init(path: String, role: String, stats: ReadStats = ReadStats()) {
        self.path = path
        self.role = role
        self.stats = stats
    }
}

/// The JSON document (`devstate report --format json`); the schema is documented in
/// Sources/devstate/README.md.
public enum ReportJSON {
    public static let schema = "devstate-report/1"

    /// One element of `runs`.
    static func write(_ run: RunReport, to json: inout JSONStream) {
        json.beginObject()
        json.key("run")
        json.int(run.index)
        if let s = run.source {
            json.key("source")
            write(s, to: &json)
        }
        if let d = run.destination {
            json.key("destination")
            write(d, to: &json)
        }
        json.endObject()
    }

    static func write(_ s: SideReport, to json: inout JSONStream) {
        // Line numbers exist only for a side read from a log.
        func line(_ n: Int, _ json: inout JSONStream) {
            if s.hasLines { json.int(n) } else { json.null() }
        }
        func share(_ value: Double?, _ json: inout JSONStream) {
            if let value { json.fixed(value, 4) } else { json.null() }
        }
        json.beginObject()
        json.key("log")
        json.string(s.log.file)
        json.key("from")
        json.string(s.hasLines ? "trace-log" : "query-migrate")
        json.key("index-in-log")
        json.int(s.log.index)
        json.key("lines")
        if s.hasLines {
            json.beginArray()
            json.int(s.log.firstLine)
            json.int(s.log.lastLine)
            json.endArray()
        } else {
            json.null()
        }
        json.key("device-state-times")
        json.element(compact: { s.writeDeviceStateTimes(to: &$0) })
        let r = s.recorder
        json.key("recorder")
        json.beginObject()
        json.key("run")
        json.uint(r.run)
        json.key("kept")
        json.int(r.kept)
        json.key("skipped-zero")
        if let skipped = r.skippedZero { json.uint(skipped) } else { json.null() }
        json.key("dropped")
        json.uint(r.dropped)
        json.key("complete")
        json.bool(r.complete)
        json.key("errors")
        json.beginArray()
        for e in r.errors { json.string(e) }
        json.endArray()
        json.endObject()
        json.key("downtime-us")
        json.optional(s.totalUS)
        json.key("named")
        writeNamed(s, to: &json)
        json.key("phases")
        json.beginArray()
        for p in s.phases {
            if !json.pretty {
                json.element(compact: { writeCompact(p, to: &$0) })
                continue
            }
            json.beginObject()
            json.key("phase")
            json.string(p.label)
            json.key("from")
            json.string(p.from)
            json.key("to")
            json.string(p.to)
            json.key("duration-us")
            json.optional(p.durationUS)
            json.endObject()
        }
        json.endArray()
        json.key("checkpoints")
        json.beginArray()
        let hasLines = s.hasLines
        for c in s.checkpoints {
            if !json.pretty {
                json.element(compact: { writeCompact(c, hasLines: hasLines, to: &$0) })
                continue
            }
            json.beginObject()
            json.key("name")
            json.string(c.name)
            json.key("known")
            json.bool(c.known)
            json.key("offset-us")
            json.optional(c.offsetUS)
            json.key("timestamp-us")
            json.optional(c.timestampUS)
            json.key("line")
            line(c.line, &json)
            json.endObject()
        }
        json.endArray()
        json.key("devices")
        json.beginArray()
        if !json.pretty {
            // In place: no copy of each row.
            s.devices.withUnsafeBufferPointer { rows in
                for i in rows.indices { json.element(compact: { writeCompact(rows[i], names: s.names, hasLines: hasLines, to: &$0) }) }
            }
        }
        for row in s.devices where json.pretty {
            json.beginObject()
            json.key("name")
            json.string(idstr: s.names.idstr(row.device.idstr))
            json.key("instance-id")
            json.uint(UInt64(row.device.instanceID))
            json.key("type")
            json.string(s.type(row))
            json.key("section")
            json.quotedLiteral(row.device.section == .iterable ? "\"iterable\"" : "\"non-iterable\"")
            json.key("time-us")
            json.uint(row.device.timeUS)
            json.key("share")
            share(row.share, &json)
            json.key("vmsd")
            json.bool(row.hasVMSD)
            json.key("in-device-state-times")
            json.bool(row.inDeviceStateTimes)
            json.key("line")
            line(row.device.line, &json)
            json.endObject()
        }
        json.endArray()
        json.key("no-vmsd")
        json.beginArray()
        for row in s.devices where !row.hasVMSD {
            json.beginObject()
            json.key("name")
            json.string(idstr: s.names.idstr(row.device.idstr))
            json.key("instance-id")
            json.uint(UInt64(row.device.instanceID))
            json.key("section")
            json.quotedLiteral(row.device.section == .iterable ? "\"iterable\"" : "\"non-iterable\"")
            json.key("time-us")
            json.uint(row.device.timeUS)
            json.endObject()
        }
        json.endArray()
        json.key("by-type")
        json.beginArray()
        for t in s.types {
            if !json.pretty {
                json.element(compact: { writeCompact(t, names: s.names, to: &$0) })
                continue
            }
            json.beginObject()
            json.key("type")
            json.string(s.type(of: t))
            json.key("count")
            json.int(t.count)
            json.key("time-us")
            json.uint(t.timeUS)
            json.key("share")
            share(t.share, &json)
            json.endObject()
        }
        json.endArray()
        json.key("share-basis")
        json.beginObject()
        json.key("iterable")
        json.string(s.shareBasis[.iterable].rawValue)
        json.key("non-iterable")
        json.string(s.shareBasis[.nonIterable].rawValue)
        json.endObject()
        json.key("notes")
        json.beginArray()
        for n in s.notes { json.string(n) }
        json.endArray()
        json.endObject()
    }

    /// A device row of compact JSON, the bulk of a long log's report, in a few appends of
    /// ready-made text: the same bytes as the `JSONStream` calls of the pretty case without
    /// the spaces (OutputTests compare the two documents).
    @inline(__always)
    static func writeCompact(_ row: borrowing DeviceRow, names: NameStore, hasLines: Bool, to out: inout ByteBuffer) {
        let id = row.device.idstr
        out.append(#"{"name":"# as StaticString)
        if row.plainName { out.append(quotedPlain: names.idstr(id)) } else { out.append(jsonIDStr: names.idstr(id)) }
        out.append(#","instance-id":"# as StaticString)
        out.append(decimal: UInt64(row.device.instanceID))
        out.append(#","type":"# as StaticString)
        appendJSON(type: id, plain: row.plainName, names: names, to: &out)
        out.append(row.device.section == .iterable ? #","section":"iterable","time-us":"# as StaticString
                                                   : #","section":"non-iterable","time-us":"#)
        out.append(decimal: row.device.timeUS)
        out.append(#","share":"# as StaticString)
        appendJSON(share: row.share, to: &out)
        switch (row.hasVMSD, row.inDeviceStateTimes) {
        case (true, true): out.append(#","vmsd":true,"in-device-state-times":true,"line":"# as StaticString)
        case (true, false): out.append(#","vmsd":true,"in-device-state-times":false,"line":"# as StaticString)
        case (false, true): out.append(#","vmsd":false,"in-device-state-times":true,"line":"# as StaticString)
        case (false, false): out.append(#","vmsd":false,"in-device-state-times":false,"line":"# as StaticString)
        }
        if hasLines { out.append(decimal: row.device.line) } else { out.append("null" as StaticString) }
        out.append(UInt8(ascii: "}"))
    }

    static func writeCompact(_ p: Phase, to out: inout ByteBuffer) {
        out.append(#"{"phase":"# as StaticString)
        appendJSON(p.label, to: &out)
        out.append(#","from":"# as StaticString)
        appendJSON(p.from, to: &out)
        out.append(#","to":"# as StaticString)
        appendJSON(p.to, to: &out)
        out.append(#","duration-us":"# as StaticString)
        appendJSON(p.durationUS, to: &out)
        out.append(UInt8(ascii: "}"))
    }

    static func writeCompact(_ c: CheckpointRow, hasLines: Bool, to out: inout ByteBuffer) {
        out.append(#"{"name":"# as StaticString)
        appendJSON(c.name, to: &out)
        out.append(c.known ? #","known":true,"offset-us":"# as StaticString : #","known":false,"offset-us":"#)
        appendJSON(c.offsetUS, to: &out)
        out.append(#","timestamp-us":"# as StaticString)
        appendJSON(c.timestampUS, to: &out)
        out.append(#","line":"# as StaticString)
        if hasLines { out.append(decimal: c.line) } else { out.append("null" as StaticString) }
        out.append(UInt8(ascii: "}"))
    }

    private static func appendJSON(_ text: String, to out: inout ByteBuffer) {
        var text = text
        text.withUTF8 { out.append(jsonString: UnsafeRawBufferPointer($0)) }
    }

    /// The type of name `id` as a JSON string; a plain one (`DeviceRow.plainName`) needs no
    /// escaping.
    private static func appendJSON(type id: Int32, plain: Bool, names: NameStore, to out: inout ByteBuffer) {
        if plain { out.append(quotedPlain: names.type(id)) } else { appendJSON(names.typeName(id), to: &out) }
    }

    /// A share with 4 decimals, as the pretty path's `share` writes it.
    private static func appendJSON(share: Double?, to out: inout ByteBuffer) {
        if let share { out.append(fixed: share, digits: 4) } else { out.append("null" as StaticString) }
    }

    private static func appendJSON(_ value: Int64?, to out: inout ByteBuffer) {
        if let value { out.append(decimal: value) } else { out.append("null" as StaticString) }
    }

    /// A by-type row of compact JSON (see the device row's).
    static func writeCompact(_ t: TypeRow, names: NameStore, to out: inout ByteBuffer) {
        out.append(#"{"type":"# as StaticString)
        appendJSON(type: t.nameID, plain: t.plainType, names: names, to: &out)
        out.append(#","count":"# as StaticString)
        out.append(decimal: t.count)
        out.append(#","time-us":"# as StaticString)
        out.append(decimal: t.timeUS)
        out.append(#","share":"# as StaticString)
        appendJSON(share: t.share, to: &out)
        out.append(UInt8(ascii: "}"))
    }

    public static func input(_ i: InputSummary) -> JSONValue {
        if let q = i.queryMigrate { return queryMigrateInput(i, q) }
        return .object([
            ("log", .string(i.path)),
            ("role", .string(i.role)),
            ("bytes", .uint(i.stats.bytes)),
            ("lines", .int(Int64(i.stats.lines))),
            ("events", .int(Int64(i.stats.events))),
            ("source-runs", .int(Int64(i.sources))),
            ("destination-loads", .int(Int64(i.destinations))),
            ("malformed-lines", .int(Int64(i.stats.malformedLines))),
            ("malformed", .array(i.stats.malformed.map {
                .object([("line", .int(Int64($0.line))), ("reason", .string($0.reason)),
                         ("text", .string($0.text))])
            })),
            ("ended-without-newline", .bool(i.stats.endedWithoutNewline)),
        ])
    }

    /// A `query-migrate` input: the log-only members are null, and `query-migrate` says what
    /// the reply gave.
    static func queryMigrateInput(_ i: InputSummary, _ q: QueryMigrateFacts) -> JSONValue {
        .object([
            ("log", .string(i.path)),
            ("role", .string(i.role)),
            ("bytes", .null),
            ("lines", .null),
            ("events", .null),
            ("source-runs", .int(Int64(i.sources))),
            ("destination-loads", .int(Int64(i.destinations))),
            ("malformed-lines", .int(0)),
            ("malformed", .array([])),
            ("ended-without-newline", .null),
            ("query-migrate", .object([
                ("qemu", q.qemuVersion.map { .string($0) } ?? .null),
                ("status", q.status.map { .string($0) } ?? .null),
                ("series", .string(q.series.rawValue)),
                ("series-from", .string(q.seriesFrom.rawValue)),
                ("outcome", .string(q.outcome.rawValue)),
                ("missing", .array(q.missing.map { .string($0) })),
                ("message", q.message.map { .string($0) } ?? .null),
                ("entries-dropped", q.entriesDropped.map { .uint($0) } ?? .null),
            ])),
        ])
    }
}
