// SPDX-License-Identifier: MIT
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Device names, each stored once with what the report needs of it (its type, whether it is
/// plain text), so that device lines and rows hold a number instead of a reference: runs are
/// then made, rendered on another thread and freed without a reference count per device,
/// which cost more than the rest of the analysis.
///
/// Names are only added (by the one thread that reads the log) and never move: entries and
/// bytes live in pages that are not reallocated, so a rendering thread reads any name whose id
/// it was handed (after a semaphore, which orders the writes before the reads) while new names
/// are added. The splitter starts a new store when this one holds many names; a run keeps its
/// own store alive.
public final class NameStore: @unchecked Sendable {
    struct Entry {
        /// Where the idstr's bytes are (in a page that never moves).
        var bytes: UnsafePointer<UInt8>
        var length: Int32
        /// The type: the idstr's last non-empty `/` component, as an offset and length in it.
        var typeOffset: Int32
        var typeLength: Int32
        /// Types numbered in the order this store first saw them (for adding up by type).
        var typeNumber: Int32
        var plain: Bool
    }

    static let entriesPerPage = 4096
    static let entryPages = 1024
    static let bytesPerPage = 256 * 1024
    static let bytePages = 4096

    private let entryPages: UnsafeMutablePointer<UnsafeMutablePointer<Entry>?>
    private let bytePages: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>
    /// The writer's state: only the thread that adds names touches it, so no exclusivity
    /// check per access.
    @exclusivity(unchecked) private var writer = Writer()

    struct Writer {
        var count = 0
        var bytePage = -1
        var bytesUsed = NameStore.bytesPerPage
        var bytePageSize = NameStore.bytesPerPage
        var slots = [Int32](repeating: -1, count: 1024)
        var types: [[UInt8]: Int32] = [:]
        /// For each name, the name that followed it last time (see `id`).
        var successor: [Int32] = []
        var last: Int32 = -1
    }

    /// A store that stays empty: what a `SideLog` starts with.
    static let none = NameStore()

    public init() {
        entryPages = .allocate(capacity: Self.entryPages)
        entryPages.initialize(repeating: nil, count: Self.entryPages)
        bytePages = .allocate(capacity: Self.bytePages)
        bytePages.initialize(repeating: nil, count: Self.bytePages)
    }

    deinit {
        for k in 0..<Self.entryPages { entryPages[k]?.deallocate() }
        for k in 0..<Self.bytePages { bytePages[k]?.deallocate() }
        entryPages.deallocate()
        bytePages.deallocate()
    }

    /// Names stored so far (the adding thread only).
    var count: Int { writer.count }

    // MARK: Reading (any thread, for ids it was handed)

    @inline(__always)
    func entry(_ id: Int32) -> UnsafeMutablePointer<Entry> {
        // Ids are not negative and the page size is a power of two: a shift and a mask.
        let k = Int(UInt32(bitPattern: id))
        return entryPages[k / Self.entriesPerPage]! + (k & (Self.entriesPerPage - 1))
    }

    /// The idstr's bytes; valid while the store lives.
    @inline(__always)
    func idstr(_ id: Int32) -> UnsafeRawBufferPointer {
        let e = entry(id)
        return UnsafeRawBufferPointer(start: e.pointee.bytes, count: Int(e.pointee.length))
    }

    /// The type's bytes; valid while the store lives.
    @inline(__always)
    func type(_ id: Int32) -> UnsafeRawBufferPointer {
        let e = entry(id)
        return UnsafeRawBufferPointer(start: e.pointee.bytes + Int(e.pointee.typeOffset), count: Int(e.pointee.typeLength))
    }

    @inline(__always) func typeNumber(_ id: Int32) -> Int32 { entry(id).pointee.typeNumber }
    /// See `DeviceRow.plainName`.
    @inline(__always) func plain(_ id: Int32) -> Bool { entry(id).pointee.plain }

    /// The idstr as stored.
    public func bytes(_ id: Int32) -> [UInt8] { Array(idstr(id)) }

    /// The idstr as text (invalid UTF-8 replaced).
    public func name(_ id: Int32) -> String { String(decoding: idstr(id), as: UTF8.self) }

    /// The device's type (`DeviceKnowledge.deviceType` of its name).
    public func typeName(_ id: Int32) -> String { String(decoding: type(id), as: UTF8.self) }

    // MARK: Writing (the analyzer's thread)

    /// The id of `name`, added if new.
    func id(_ name: UnsafeBufferPointer<UInt8>) -> Int32 {
        // Runs repeat their devices in the same order: try what followed the last name before.
        let previous = writer.last
        if previous >= 0 {
            let guess = writer.successor[Int(previous)]
            if guess >= 0, equals(guess, name) {
                writer.last = guess
                return guess
            }
        }
        let found = find(name) ?? add(name)
        if previous >= 0 { writer.successor[Int(previous)] = found }
        writer.last = found
        return found
    }

    /// The id of `name`, if stored.
    func find(_ name: UnsafeBufferPointer<UInt8>) -> Int32? {
        let mask = writer.slots.count - 1
        var index = Self.hash(UnsafeRawBufferPointer(name)) & mask
        while true {
            let id = writer.slots[index]
            if id < 0 { return nil }
            if equals(id, name) { return id }
            index = (index &+ 1) & mask
        }
    }

    /// Stores `name` (not stored yet).
    func add(_ name: UnsafeBufferPointer<UInt8>) -> Int32 {
        let id = Int32(writer.count)
        let page = Int(id) / Self.entriesPerPage
        precondition(page < Self.entryPages, "NameStore: more than \(Self.entriesPerPage * Self.entryPages) names")
        if entryPages[page] == nil { entryPages[page] = .allocate(capacity: Self.entriesPerPage) }
        // The bytes go to the current page, or a new one (a page of their own if they are longer).
        if writer.bytesUsed + name.count > writer.bytePageSize {
            writer.bytePage += 1
            precondition(writer.bytePage < Self.bytePages, "NameStore: more than \(Self.bytePages) pages of names")
            writer.bytePageSize = max(Self.bytesPerPage, name.count)
            bytePages[writer.bytePage] = .allocate(capacity: writer.bytePageSize)
            writer.bytesUsed = 0
        }
        let at = bytePages[writer.bytePage]! + writer.bytesUsed
        if name.count > 0 { at.initialize(from: name.baseAddress!, count: name.count) }
        let stored = UnsafeRawBufferPointer(start: at, count: name.count)
        let type = Self.typeRange(stored)
        let typeBytes = Array(stored[type])
        let typeNumber: Int32
        if let known = writer.types[typeBytes] {
            typeNumber = known
        } else {
            typeNumber = Int32(writer.types.count)
            writer.types[typeBytes] = typeNumber
        }
        entry(id).initialize(to: Entry(
            bytes: UnsafePointer(at), length: Int32(name.count),
            typeOffset: Int32(type.lowerBound), typeLength: Int32(type.count), typeNumber: typeNumber,
            plain: Self.isPlain(stored)))
        writer.bytesUsed += name.count
        writer.count += 1
        writer.successor.append(-1)
        insert(id, hash: Self.hash(stored))
        return id
    }

    private func insert(_ id: Int32, hash: Int) {
        if writer.count * 2 > writer.slots.count {
            let size = writer.slots.count * 2
            writer.slots = [Int32](repeating: -1, count: size)
            for k in 0..<Int32(writer.count) where k != id { place(k, hash: Self.hash(idstr(k))) }
        }
        place(id, hash: hash)
    }

    private func place(_ id: Int32, hash: Int) {
        let mask = writer.slots.count - 1
        var index = hash & mask
        while writer.slots[index] >= 0 { index = (index &+ 1) & mask }
        writer.slots[index] = id
    }

    @inline(__always)
    private func equals(_ id: Int32, _ name: UnsafeBufferPointer<UInt8>) -> Bool {
        let stored = idstr(id)
        let n = name.count
        guard stored.count == n else { return false }
        guard n > 0 else { return true }
        let a = stored.baseAddress!, b = UnsafeRawPointer(name.baseAddress!)
        // Most names are short: two overlapping words, no call.
        if n >= 8 && n <= 16 {
            return a.loadUnaligned(as: UInt64.self) == b.loadUnaligned(as: UInt64.self)
                && a.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self)
                    == b.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self)
        }
        if n >= 4 && n < 8 {
            return a.loadUnaligned(as: UInt32.self) == b.loadUnaligned(as: UInt32.self)
                && a.loadUnaligned(fromByteOffset: n &- 4, as: UInt32.self)
                    == b.loadUnaligned(fromByteOffset: n &- 4, as: UInt32.self)
        }
        return memcmp(a, b, n) == 0
    }

    /// FNV-1a.
    private static func hash(_ bytes: UnsafeRawBufferPointer) -> Int {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return Int(truncatingIfNeeded: h ^ (h >> 29))
    }

    /// The last non-empty `/` component (the whole name when it has none), as
    /// `DeviceKnowledge.deviceType` takes it from the name's text: `/` is one byte in UTF-8 and
    /// never part of another character, so the bytes split where the text does.
    static func typeRange(_ name: UnsafeRawBufferPointer) -> Range<Int> {
        var end = name.count
        while end > 0, name[end - 1] == UInt8(ascii: "/") { end -= 1 }
        guard end > 0 else { return 0..<name.count }
        var start = end
        while start > 0, name[start - 1] != UInt8(ascii: "/") { start -= 1 }
        return start..<end
    }

    /// See `DeviceRow.plainName`.
    static func isPlain(_ idstr: UnsafeRawBufferPointer) -> Bool {
        idstr.allSatisfy { $0 >= 0x20 && $0 < 0x7f && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\")
            && $0 != UInt8(ascii: ",") }
    }
}
