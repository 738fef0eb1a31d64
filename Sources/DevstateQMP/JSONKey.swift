// SPDX-License-Identifier: MIT
/// A member name of a QMP object, for containers read member by member: the messages name
/// exactly what is wrong, so nothing is decoded by a synthesized init.
struct JSONKey: CodingKey, ExpressibleByStringLiteral {
    var stringValue: String
    var intValue: Int? { nil }

    init(_ name: String) { stringValue = name }
    init(stringValue: String) { self.init(stringValue) }
    init?(intValue: Int) { nil }
    init(stringLiteral value: String) { self.init(value) }
}

/// Typed looks at one member, nil when it is absent or of another JSON type (`null` included).
/// JSON true and false are never numbers, and numbers never booleans.
extension KeyedDecodingContainer where K == JSONKey {
    func has(_ key: String) -> Bool { contains(JSONKey(key)) }
    func string(_ key: String) -> String? { try? decode(String.self, forKey: JSONKey(key)) }
    func boolean(_ key: String) -> Bool? { try? decode(Bool.self, forKey: JSONKey(key)) }
    /// An integer ≥ 0; up to UInt64.max (QEMU's uint64), written as `5` or `5.0`.
    func unsigned(_ key: String) -> UInt64? { try? decode(UInt64.self, forKey: JSONKey(key)) }
    func signed(_ key: String) -> Int64? { try? decode(Int64.self, forKey: JSONKey(key)) }
    func object(_ key: String) -> KeyedDecodingContainer<JSONKey>? {
        try? nestedContainer(keyedBy: JSONKey.self, forKey: JSONKey(key))
    }

    /// A member that may be absent, read by `read`; one present of another type is `fault`.
    func optional<T>(_ key: String, _ read: (String) -> T?, _ fault: @autoclosure () -> String) throws(QueryMigrateError) -> T? {
        guard has(key) else { return nil }
        guard let value = read(key) else { throw QueryMigrateError(fault()) }
        return value
    }
}
