// SPDX-License-Identifier: MIT
import DevstateModel
import FoundationEssentials

/// A `query-migrate` return value, read into what the report uses: the return object itself, or
/// a whole `{"return": {…}}` reply. Every fault is a `QueryMigrateError` naming the member.
public struct MigrateReply: Sendable, Equatable, Decodable {
    public var status: String?
    public var qemuTimes = QEMUTimes()
    /// Non-iterable saves, `"handler": true` in `DeviceTime.handler`.
    public var deviceStateTimes: [DeviceTime]?
    public var iterableStateTimes: [DeviceTime]?
    /// Loads, iterable ones (`"iterable": true`) in `Section.iterable`.
    public var deviceLoadTimes: [DeviceTime]?
    /// QEMU's offsets in `Checkpoint.timestampUS`.
    public var checkpoints: [Checkpoint]?
    /// `downtime-entries-dropped`.
    public var entriesDropped: UInt64?
    /// `downtime-steps`, in the reply's order (`startUS` set, no line numbers).
    public var steps: [DowntimeStep]?
    /// The series' member names present in the reply.
    public var seriesMembers: Set<String> = []

    /// Whether the reply is of an outgoing migration (this QEMU was the source): it has the
    /// source's members, or QEMU's own times, which only an outgoing migration reports.
    public var isOutgoing: Bool {
        deviceStateTimes != nil || iterableStateTimes != nil || qemuTimes.any
    }

    /// A saved reply's text: a JSON object (or array) as a file holds it, else "not JSON" (a bare
    /// number or string too, as for JSONSerialization before).
    public init(json: Data) throws(QueryMigrateError) {
        let start = json.first { ![0x20, 0x09, 0x0A, 0x0D, 0xEF, 0xBB, 0xBF].contains($0) }  // BOM too
        guard start == UInt8(ascii: "{") || start == UInt8(ascii: "[") else { throw QueryMigrateError("not JSON") }
        self = try QueryMigrateError.decode(json, otherwise: "not JSON")
    }

    public init(from decoder: Decoder) throws {
        guard var object = try? decoder.container(keyedBy: JSONKey.self) else {
            throw QueryMigrateError("query-migrate reply is not a JSON object")
        }
        if let error = object.object("error") {
            throw QueryMigrateError("the reply is a QMP error: \(error.string("desc") ?? "?")")
        }
        if object.has("return") {
            guard let inner = object.object("return") else {
                throw QueryMigrateError("query-migrate \"return\" is not a JSON object")
            }
            object = inner
        }
        status = try object.optional("status", object.string, "query-migrate \"status\" is not a string")
        seriesMembers = Set(SeriesMember.all.filter(object.has))
        qemuTimes = QEMUTimes(downtimeMS: object.unsigned("downtime"), setupTimeMS: object.unsigned("setup-time"),
                              totalTimeMS: object.unsigned("total-time"))
        deviceStateTimes = try Self.entries(object, SeriesMember.deviceStateTimes, time: "save-time", .nonIterable)
        iterableStateTimes = try Self.entries(object, SeriesMember.iterableStateTimes, time: "save-time", .iterable)
        deviceLoadTimes = try Self.entries(object, SeriesMember.deviceLoadTimes, time: "load-time", nil)
        let dropped = SeriesMember.downtimeEntriesDropped
        entriesDropped = try object.optional(dropped, object.unsigned, "\(dropped) is not an integer ≥ 0")
        checkpoints = try Self.list(object, SeriesMember.downtimeCheckpoints) { (e, at) throws(QueryMigrateError) in
            guard let e, let name = e.string("name"), !name.isEmpty, let time = e.signed("time") else {
                throw QueryMigrateError("\(at) needs a name and an integer time")
            }
            return Checkpoint(name: name, timestampUS: time)
        }
        steps = try Self.list(object, SeriesMember.downtimeSteps, Self.step)
    }

    private typealias Object = KeyedDecodingContainer<JSONKey>

    /// `member`'s array, each element read by `element` (given nil for one that is not an object,
    /// and how to name it, e.g. `device-state-times[3]`); nil when the reply has no such member.
    private static func list<T>(_ object: Object, _ member: String,
                                _ element: (Object?, String) throws(QueryMigrateError) -> T) throws(QueryMigrateError) -> [T]? {
        guard object.has(member) else { return nil }
        guard var array = try? object.nestedUnkeyedContainer(forKey: JSONKey(member)) else {
            throw QueryMigrateError("\(member) is not an array")
        }
        var result: [T] = []
        while !array.isAtEnd {
            let at = "\(member)[\(array.currentIndex)]"
            // A container for an object moves on to the next element; anything else throws below.
            result.append(try element(try? array.nestedContainer(keyedBy: JSONKey.self), at))
        }
        return result
    }

    /// `{name, instance-id, save-time or load-time, handler?, iterable?}` each, of `section`
    /// (nil: as `iterable` says). Both flags are checked in every list, but only
    /// device-state-times marks handlers.
    private static func entries(_ object: Object, _ member: String, time key: String,
                                _ section: Section?) throws(QueryMigrateError) -> [DeviceTime]? {
        try list(object, member) { (e, at) throws(QueryMigrateError) in
            guard let e, let name = e.string("name") else { throw QueryMigrateError("\(at) has no name") }
            guard let instance = e.unsigned("instance-id"), instance <= UInt64(UInt32.max) else {
                throw QueryMigrateError("\(at) (\(name)) has no instance-id from 0 to \(UInt32.max)")
            }
            guard let time = e.unsigned(key) else { throw QueryMigrateError("\(at) (\(name)) has no \(key) ≥ 0") }
            func flag(_ k: String) throws(QueryMigrateError) -> Bool {
                try e.optional(k, e.boolean, "\(at) (\(name)): \(k) is not a boolean") ?? false
            }
            let handler = try flag("handler") && member == SeriesMember.deviceStateTimes
            let iterable = try flag("iterable")
            return DeviceTime(name: name, instanceID: UInt32(instance),
                              section: section ?? (iterable ? .iterable : .nonIterable), timeUS: time, handler: handler)
        }
    }

    /// A `downtime-steps` element: `{name, device?, device-type?, kind, start, time}`.
    private static func step(_ e: Object?, _ at: String) throws(QueryMigrateError) -> DowntimeStep {
        guard let e, let name = e.string("name"), !name.isEmpty else { throw QueryMigrateError("\(at) has no name") }
        guard let kind = e.string("kind").flatMap(DowntimeStepKind.init(rawValue:)) else {
            throw QueryMigrateError("\(at) (\(name)) has no kind work, prepare or main")
        }
        // `start` is a uint64 in QAPI; the checkpoints' clock is signed.
        guard let start = e.unsigned("start"), start <= UInt64(Int64.max), let time = e.unsigned("time") else {
            throw QueryMigrateError("\(at) (\(name)) needs a start and a time, integers ≥ 0")
        }
        func text(_ key: String) throws(QueryMigrateError) -> String {
            try e.optional(key, e.string, "\(at) (\(name)): \(key) is not a string") ?? ""
        }
        return DowntimeStep(name: name, device: try text("device"), type: try text("device-type"),
                            kind: kind, timeUS: time, startUS: Int64(start))
    }
}
