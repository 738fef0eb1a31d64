// SPDX-License-Identifier: MIT
@testable import DevstateRender
import DevstateBytes
import DevstateModel
import Testing

/// `--format csv`: the header, one record per device per side, and fields quoted as RFC 4180 says.
@Suite struct CSVTests {
    let temporary = TemporaryLogs()

    @Test func fieldsWithCommasQuotesAndLineBreaksAreQuoted() {
        #expect(CSVSink.field("plain") == "plain")
        #expect(CSVSink.field("a,b") == "\"a,b\"")
        #expect(CSVSink.field("q\"") == "\"q\"\"\"")
        #expect(CSVSink.field("cr\r\nlf") == "\"cr\r\nlf\"")
        #expect(CSVSink.field("lf\n") == "\"lf\n\"")
        #expect(CSVSink.field("e\u{301}\"x") == "\"e\u{301}\"\"x\"")
        // An idstr is written as its text (invalid UTF-8 replaced).
        for idstr: [UInt8] in [Array("0000:00:03.0/e1000e".utf8), Array("a,\"b".utf8), [0x62, 0xff, 0x2c]] {
            var out = ByteBuffer()
            CSVSink.field(idstr[...], into: &out)
            #expect(out.string == CSVSink.field(String(decoding: idstr, as: UTF8.self)))
        }
    }

    @Test func headerAndOneRecordPerDevicePerSide() throws {
        let text = try render(pcAndQ35) { CSVSink(out: $0) }
        let rows = parseCSV(text)
        #expect(rows.first?.joined(separator: ",") == CSVSink.header)
        #expect(CSVSink.header.split(separator: ",").count == 16)
        #expect(rows.allSatisfy { $0.count == 16 })
        var expected = 0
        for name in ["pc-source.log", "q35-source.log", "pc-destination.log", "q35-destination.log"] {
            expected += try Fixtures.deviceLines(name).count
        }
        let devices = rows.filter { $0[2] == "device" }
        #expect(devices.count == expected)
        // The devices of a side in log order, with their time and line.
        let lines = try Fixtures.deviceLines("q35-destination.log")
        let q35 = devices.filter { $0[0] == "3" && $0[1] == "destination" }
        #expect(q35.map { "\($0[3])#\($0[4]) \($0[7])" } == lines.map { "\($0.idstr)#\($0.instance) \($0.downtime)" })
        #expect(Set(rows.dropFirst().map { $0[2] }) == ["device", "phase", "checkpoint", "type"])
        // Every row of a side ends with its named share.
        for side in ["source", "destination"] {
            #expect(Set(rows.filter { $0[0] == "3" && $0[1] == side }.map { $0[15] }).count == 1)
        }
    }

    /// Odd names in the columns of a record: quoted where they need it, read back as they were.
    @Test func oddNamesReadBack() throws {
        var log = Array("1@1700000000.000100:vmstate_downtime_checkpoint src-downtime-start\n".utf8)
        let names = ["we\"ird,dev", "back\\slash", "k=v", "ünïcødé-blk", "0000:00:02.0/a,b"]
        for (i, name) in names.enumerated() {
            log += Array("1@1700000000.\(200 + i * 10):vmstate_downtime_save type=non-iterable idstr=\(name) instance_id=\(i) downtime=\(i + 1)\n".utf8)
        }
        log += Array("1@1700000000.000400:vmstate_downtime_checkpoint src-downtime-end\n".utf8)
        let path = try temporary.log(log)
        let rows = parseCSV(try render(pair(path, nil)) { CSVSink(out: $0) })
        let devices = rows.filter { $0[2] == "device" }
        #expect(devices.map { $0[3] } == names)
        #expect(devices.map { $0[5] } == ["we\"ird,dev", "back\\slash", "k=v", "ünïcødé-blk", "a,b"])
        #expect(rows.allSatisfy { $0.count == 16 })
    }
}
