// SPDX-License-Identifier: MIT
import DevstateBytes

/// A share (0…1) as a percentage: 0.1234 → "12.3%" (`ByteBuffer.append(percent:)`).
func percent(_ share: Double) -> String {
    var b = ByteBuffer(capacity: 32)
    b.append(percent: share)
    return b.string
}

/// "1 log", "3 logs".
func plural(_ n: Int, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }

/// The indices of `items`, longest first, in their order among equal times.
func longestFirst<T>(_ items: [T], by time: (T) -> UInt64) -> [Int] {
    let times = items.map(time)
    return times.indices.sorted { times[$0] != times[$1] ? times[$0] > times[$1] : $0 < $1 }
}
