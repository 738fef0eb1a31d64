// SPDX-License-Identifier: MIT
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Interns idstrs without per-line allocation: names live in one byte arena, found by hash;
/// each distinct name gets one shared `[UInt8]` when runs are handed out.
struct NameTable {
    private var arena: [UInt8] = []
    private var offsets: [Int] = []
    private var lengths: [Int] = []
    private var arrays: [[UInt8]?] = []
    /// For each name, the name that followed it last time.
    private var successor: [Int32] = []
    private var last: Int32 = -1
    private var slots = [Int32](repeating: -1, count: 1024)
    private var mask = 1023

    var count: Int { offsets.count }

    /// The id of `name`, added if new.
    mutating func id(_ name: UnsafeBufferPointer<UInt8>) -> Int32 {
        // Runs repeat their devices in the same order: try what followed the last name before.
        let previous = last
        if previous >= 0 {
            let guess = successor[Int(previous)]
            if guess >= 0, equals(Int(guess), name) {
                last = guess
                return guess
            }
        }
        let found = lookup(name)
        if previous >= 0 { successor[Int(previous)] = found }
        last = found
        return found
    }

    /// The name as a shared array (made once per name).
    mutating func bytes(_ id: Int32) -> [UInt8] {
        let k = Int(id)
        if let made = arrays[k] { return made }
        let made = Array(arena[offsets[k]..<(offsets[k] + lengths[k])])
        arrays[k] = made
        return made
    }

    mutating func removeAll() {
        self = NameTable()
    }

    /// Whether entry `k` holds exactly `name`.
    @inline(__always)
    private func equals(_ k: Int, _ name: UnsafeBufferPointer<UInt8>) -> Bool {
        guard lengths[k] == name.count else { return false }
        return arena.withUnsafeBufferPointer {
            memcmp($0.baseAddress! + offsets[k], name.baseAddress!, name.count) == 0
        }
    }

    /// FNV-1a.
    private static func hash<C: Collection>(_ bytes: C) -> UInt64 where C.Element == UInt8 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h ^ (h >> 29)
    }

    private mutating func lookup(_ name: UnsafeBufferPointer<UInt8>) -> Int32 {
        var index = Int(truncatingIfNeeded: Self.hash(name)) & mask
        while true {
            let id = slots[index]
            if id < 0 { break }
            if equals(Int(id), name) { return id }
            index = (index &+ 1) & mask
        }
        let id = Int32(offsets.count)
        offsets.append(arena.count)
        lengths.append(name.count)
        arena.append(contentsOf: name)
        arrays.append(nil)
        successor.append(-1)
        slots[index] = id
        if offsets.count * 2 > slots.count { grow() }
        return id
    }

    private mutating func grow() {
        let size = slots.count * 2
        slots = [Int32](repeating: -1, count: size)
        mask = size - 1
        for k in 0..<offsets.count {
            let name = arena[offsets[k]..<(offsets[k] + lengths[k])]
            var index = Int(truncatingIfNeeded: Self.hash(name)) & mask
            while slots[index] >= 0 { index = (index &+ 1) & mask }
            slots[index] = Int32(k)
        }
    }
}
