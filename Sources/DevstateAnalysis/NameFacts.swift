// SPDX-License-Identifier: MIT
import DevstateModel

/// What the analysis asks of a device's name — a vmsd or not, a section sent at setup, its
/// type — asked once per name: a log repeats its names in every run. A run then adds up its
/// types in an array indexed by type number, with one dictionary lookup per device (`make
/// bench`: hashing a name three times per device took a third of a long log's analysis).
struct NameFacts {
    struct Facts {
        var hasVMSD: Bool
        var setup: Bool
        /// Types numbered in the order the names were first seen.
        var type: Int
    }

    private var facts: [NameKey: Facts] = [:]
    private var types: [NameKey: Int] = [:]
    /// Type number → its row in the run being added up, -1 for none (every entry is -1
    /// again after each run).
    private var slots: [Int] = []

    /// A log with ever new names starts afresh between runs: bounded memory.
    mutating func startRun() {
        if facts.count > 100_000 { self = NameFacts() }
    }

    mutating func of(_ idstr: [UInt8], _ knowledge: DeviceKnowledge) -> Facts {
        let key = NameKey(bytes: idstr[...])
        if let known = facts[key] { return known }
        let name = String(decoding: idstr, as: UTF8.self)
        let typeKey = NameKey(bytes: DeviceKnowledge.deviceType(idstr))
        let type = types[typeKey] ?? types.count
        if type == types.count {
            types[typeKey] = type
            slots.append(-1)
        }
        let made = Facts(hasVMSD: knowledge.hasVMSD(name), setup: knowledge.isSetupSection(name), type: type)
        facts[key] = made
        return made
    }

    /// The devices added up by type (`facts` are theirs, in order): longest first, first
    /// seen first among equal times.
    mutating func types(_ devices: [DeviceTime], _ facts: [Facts]) -> [TypeRow] {
        var rows: [TypeRow] = []
        var numbers: [Int] = []
        var total: UInt64 = 0
        for (device, fact) in zip(devices, facts) {
            if slots[fact.type] < 0 {
                slots[fact.type] = rows.count
                numbers.append(fact.type)
                rows.append(TypeRow(typeBytes: device.type, count: 0, timeUS: 0, share: nil))
            }
            rows[slots[fact.type]].count += 1
            rows[slots[fact.type]].timeUS &+= device.timeUS
            total &+= device.timeUS
        }
        for type in numbers { slots[type] = -1 }
        for k in rows.indices where total > 0 { rows[k].share = Double(rows[k].timeUS) / Double(total) }
        // `sort` is stable: equal times stay in first-seen order. Indices, not rows, are
        // moved while sorting: a row holds a reference.
        return rows.indices.sorted { rows[$0].timeUS > rows[$1].timeUS }.map { rows[$0] }
    }
}

/// Bytes as a dictionary key, hashed as one piece of memory (an array's own hash takes its
/// bytes one at a time).
struct NameKey: Hashable {
    var bytes: ArraySlice<UInt8>

    func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    static func == (a: NameKey, b: NameKey) -> Bool {
        a.bytes.withUnsafeBytes { x in b.bytes.withUnsafeBytes { y in x.elementsEqual(y) } }
    }
}
