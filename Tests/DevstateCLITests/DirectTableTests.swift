// SPDX-License-Identifier: MIT
@_spi(Testing) @testable import DevstateTrace
import Foundation
import Testing

/// The device and by-type tables written straight into bytes (`TableSink+Direct.swift`) are
/// byte for byte the tables laid out from `CellTable`, whatever the names, times and width:
/// the direct path where it applies, the general one where a name must be clipped, a column
/// dropped, or a name is not plain.
@Suite struct DirectTableTests {
    /// A source log of `runs` runs with random devices: plain names of 1 to 70 bytes (spaces
    /// and slashes among them), some not plain, times from 0 to 10^7 µs, iterable sections.
    func randomLog(runs: Int, seed: UInt64) -> String {
        var rng = WriterTests.Mix(state: seed)
        let plain = Array("abcdefghijklmnopqrstuvwxyz0123456789:._-/ ".utf8)
        var text = ""
        var clock: Int64 = 1_700_000_000_000_000
        func line(_ event: String) {
            clock += Int64(rng.next() % 5000)
            text += "42@\(clock / 1_000_000).\(String(format: "%06lld", clock % 1_000_000)):\(event)\n"
        }
        for _ in 0..<runs {
            line("vmstate_downtime_checkpoint src-downtime-start")
            line("vmstate_downtime_checkpoint src-vm-stopped")
            line("vmstate_downtime_save type=iterable idstr=ram instance_id=0 downtime=\(rng.next() % 3000)")
            line("vmstate_downtime_checkpoint src-iterable-saved")
            for _ in 0..<(1 + rng.next() % 40) {
                let length = 1 + Int(rng.next() % (rng.next() % 4 == 0 ? 70 : 16))
                var name = String(decoding: (0..<length).map { _ in plain[Int(rng.next() % UInt64(plain.count))] }, as: UTF8.self)
                if rng.next() % 50 == 0 { name += rng.next() % 2 == 0 ? "\"q" : "é" }
                if name.hasPrefix(" ") || name.hasSuffix(" ") { name = "d" + name + "d" }
                let time = rng.next() % 4 == 0 ? rng.next() % 10_000_000 : rng.next() % 200
                line("vmstate_downtime_save type=non-iterable idstr=\(name) instance_id=\(rng.next() % 12) downtime=\(time)")
            }
            line("vmstate_downtime_checkpoint src-non-iterable-saved")
            line("vmstate_downtime_checkpoint src-downtime-end")
        }
        return text
    }

    func table(_ path: String, width: Int, detail: TableDetail, direct: Bool) throws -> String {
        var text = ""
        let sink = TableSink(width: width, detail: detail, out: .strings { text += $0 })
        sink.directTables = direct
        _ = try ReportPipeline().run(groups: [ReportGroup(source: ReportInput(path: path, role: .source), destination: nil)],
                                     sink: sink)
        return text
    }

    @Test(arguments: [1, 2, 3, 4])
    func directTablesAreTheCellTableOnes(_ seed: UInt64) throws {
        let path = NSTemporaryDirectory() + "devstate-direct-\(UUID().uuidString).log"
        try randomLog(runs: 40, seed: seed).write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        for width in [40, 57, 72, 100, 133, 200] {
            for detail in [TableDetail.full, .concise(top: 5)] {
                let direct = try table(path, width: width, detail: detail, direct: true)
                #expect(direct.contains("Devices by source save time"))
                #expect(direct == (try table(path, width: width, detail: detail, direct: false)),
                        "width \(width), \(detail), seed \(seed)")
            }
        }
    }

    /// A share's percentage written directly is the one `append(percent:)` writes, also where
    /// `share * 1000` and `share * 100 * 10` round a half differently (0.0055, 0.0015…).
    @Test func directPercentagesAreTheGeneralOnes() {
        var shares: [Double] = [0.0055, 0.0014999999999999998, 0.0034999999999999996, 0, 1, 2.5, 1e-9]
        for k in 0...20_000 {
            let s = Double(k) / 20_000
            shares += [s, s.nextUp, s.nextDown]
        }
        let line = UnsafeMutablePointer<UInt8>.allocate(capacity: 32)
        defer { line.deallocate() }
        var general = ByteBuffer(capacity: 32)
        defer { general.deallocate() }
        var differ = 0
        for share in shares where share >= 0 {
            guard let units = TableSink.permille(share) else { Issue.record("no units for \(share)"); continue }
            let n = TableSink.percentColumns(units)
            TableSink.percent(units, endingAt: line + 32)
            let direct = String(decoding: UnsafeBufferPointer(start: line + 32 - n, count: n), as: UTF8.self)
            general.removeAll()
            general.append(percent: share)
            if direct != String(decoding: general.bytes, as: UTF8.self) { differ += 1 }
        }
        #expect(differ == 0)
    }
}
