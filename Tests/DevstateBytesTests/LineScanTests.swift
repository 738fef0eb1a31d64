// SPDX-License-Identifier: MIT
@testable import DevstateBytes
import Testing

/// Finding trace lines and counting lines without looking at each byte in turn.
@Suite struct LineScanTests {
    func find(_ text: String) -> Int? {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBufferPointer { LineScan.findMarker($0.baseAddress!, from: 0, to: $0.count) }
    }

    @Test func theMarkerIsFoundWhereverItIs() {
        #expect(find("vmstate_downtime_save x") == 0)
        #expect(find("12@3.4:vmstate_downtime_checkpoint a") == 7)
        #expect(find("w w vmstate_downtime vmstate_downtime_") == 21)
        #expect(find("vmstate_downtime") == nil)
        #expect(find("vmstate_downtimeXsave") == nil)
        #expect(find("") == nil)
    }

    @Test(arguments: [0, 1, 15, 16, 17, 255 * 16 + 3, 10_000])
    func newlinesAreCountedLikeAPlainLoop(_ count: Int) {
        var bytes = [UInt8](repeating: 65, count: count)
        for i in stride(from: 0, to: count, by: 7) { bytes[i] = 10 }
        let n = bytes.withUnsafeBufferPointer { LineScan.newlines($0.baseAddress ?? UnsafePointer(bitPattern: 1)!, count) }
        #expect(n == bytes.filter { $0 == 10 }.count)
    }
}
