// SPDX-License-Identifier: MIT
import DevstateIngest
import DevstateModel
import Testing

@Suite struct ParserTests {
    @Test func saveWithTimestamp() {
        let r = LineParser.parse("5402@1795769724.034203:vmstate_downtime_save type=non-iterable idstr=0000:00:03.0/e1000e instance_id=0 downtime=11287", line: 7)
        #expect(r == .event(.device(.save, DeviceTime(
            idstr: Array("0000:00:03.0/e1000e".utf8), instanceID: 0, section: .nonIterable,
            timeUS: 11287, timestampUS: 1_795_769_724_034_203, line: 7))))
    }

    /// QEMU 10.1+ puts qemu_log's ISO 8601 UTC stamp and a space before the event (no thread id).
    @Test func saveAndCheckpointWithISOTimestamp() {
        let r = LineParser.parse("2026-11-27T21:45:12.034203Z vmstate_downtime_save type=non-iterable idstr=0000:00:03.0/e1000e instance_id=0 downtime=11287", line: 3)
        #expect(r == .event(.device(.save, DeviceTime(
            idstr: Array("0000:00:03.0/e1000e".utf8), instanceID: 0, section: .nonIterable,
            timeUS: 11287, timestampUS: 1_795_815_912_034_203, line: 3))))
        #expect(LineParser.parse("2026-11-27T21:45:12Z vmstate_downtime_checkpoint src-vm-stopped") ==
                .event(.checkpoint(Checkpoint(name: "src-vm-stopped", timestampUS: 1_795_815_912_000_000))))
        // A stamp glued to the event is garbled text, as with the 10.0 form.
        #expect(LineParser.parse("2026-11-27T21:45:12.034203Zvmstate_downtime_checkpoint src-vm-stopped") ==
                .malformed("garbled text before the event name"))
    }

    @Test func loadWithoutTimestamp() {
        guard case .event(.device(.load, let d)) = LineParser.parse("vmstate_downtime_load type=iterable idstr=ram instance_id=0 downtime=33") else {
            Issue.record("not a load")
            return
        }
        #expect(d.name == "ram" && d.section == .iterable && d.timeUS == 33 && d.timestampUS == nil)
    }

    @Test func checkpointAndOtherPrefix() {
        #expect(LineParser.parse("12@1.5:vmstate_downtime_checkpoint src-vm-stopped") ==
                .event(.checkpoint(Checkpoint(name: "src-vm-stopped", timestampUS: 1_500_000))))
        // A syslog-style prefix that ends in a space is accepted (no timestamp).
        #expect(LineParser.parse("Nov 27 host qemu[1]: vmstate_downtime_checkpoint dst-precopy-bh-enter") ==
                .event(.checkpoint(Checkpoint(name: "dst-precopy-bh-enter"))))
        // Unknown checkpoint names are events, not errors; trailing spaces and \r are dropped.
        #expect(LineParser.parse("vmstate_downtime_checkpoint src-something-new \r") ==
                .event(.checkpoint(Checkpoint(name: "src-something-new"))))
    }

    @Test func negativeInstanceIDIsTheUnsignedPattern() {
        guard case .event(.device(_, let d)) = LineParser.parse(
            "vmstate_downtime_save type=non-iterable idstr=x instance_id=-2 downtime=1") else {
            Issue.record("not a device line")
            return
        }
        #expect(d.instanceID == UInt32.max - 1)
    }

    @Test func idstrWithSpacesRunsToLastInstanceKey() {
        guard case .event(.device(_, let d)) = LineParser.parse(
            "vmstate_downtime_save type=non-iterable idstr=a b instance_id=3 downtime=1") else {
            Issue.record("not a device line")
            return
        }
        #expect(d.name == "a b" && d.instanceID == 3)
    }

    /// Each way a line can be cut or garbled has its own reason in the report.
    @Test func malformedReasons() {
        let cases = [
            ("vmstate_downtime_save type=non-iterable idstr=cpu instance_id=0 downti", "missing downtime= (truncated?)"),
            ("vmstate_downtime_save type=non-iterable idstr=cpu instance_id=0 downtime=", "downtime is not a number"),
            ("vmstate_downtime_save type=non-iterable idstr=cpu instance_id=0 downtime=-", "downtime is not a number"),
            ("vmstate_downtime_save type=non-iterable idstr=cpu", "missing downtime= (truncated?)"),
            ("vmstate_downtime_save type=weird idstr=cpu instance_id=0 downtime=3", "type is neither iterable nor non-iterable"),
            ("vmstate_downtime_save typ=iterable idstr=cpu instance_id=0 downtime=3", "missing type="),
            ("vmstate_downtime_save type=non-iterable name=cpu instance_id=0 downtime=3", "missing idstr="),
            ("vmstate_downtime_save type=iterable  idstr=cpu instance_id=0 downtime=3", "missing idstr="),
            ("vmstate_downtime_load type=iterable idstr=", "missing downtime= (truncated?)"),
            ("vmstate_downtime_save type=non-iterable idstr=c\u{0}pu instance_id=0 downtime=3", "idstr holds a NUL byte"),
            ("vmstate_downtime_save type=non-iterable idstr=0123456789\u{0} instance_id=0 downtime=3", "idstr holds a NUL byte"),
            ("vmstate_downtime_save type=non-iterable idstr= instance_id=0 downtime=3", "empty idstr"),
            ("vmstate_downtime_save type=non-iterable idstr=\(String(repeating: "a", count: 256)) instance_id=0 downtime=3", "idstr longer than 255 bytes"),
            ("vmstate_downtime_save type=non-iterable idstr=cpu instance_id=x downtime=3", "instance_id is not a number"),
            ("vmstate_downtime_save type=non-iterable idstr=cpu instance_id=12345678901 downtime=3", "instance_id is not a number"),
            ("vmstate_downtime_save type=non-iterable idstr=cpu instance_id=4294967296 downtime=3", "instance_id out of range"),
            ("vmstate_downtime_save type=non-iterable idstr=cpu instance_id=-2147483649 downtime=3", "instance_id out of range"),
            ("vmstate_downtime_save type=non-iterable idstr=cpu instance=0 downtime=3", "missing instance_id= (truncated?)"),
            ("vmstate_downtime_save type=non-iterable idstr=cpu instance_id=0 downtime=-5", "negative downtime"),
            ("vmstate_downtime_save type=non-iterable idstr=cpu instance_id=0 downtime=3x", "missing downtime= (truncated?)"),
            ("vmstate_downtime_save type=non-iterable idstr=cpu instance_id=0 downtime=1234567890123456789", "downtime is not a number"),
            ("vmstate_downtime_checkpoint", "event without its fields (truncated?)"),
            ("vmstate_downtime_checkpoint ", "event without its fields (truncated?)"),
            ("vmstate_downtime_checkpoint \u{1}", "checkpoint name holds a space or control byte"),
            ("vmstate_downtime_checkpoint a b", "checkpoint name holds a space or control byte"),
            ("vmstate_downtime_sav", "unknown vmstate_downtime event"),
            ("vmstate_downtime_saved x", "event without its fields (truncated?)"),
            ("vmstate_downtime_bogus x", "unknown vmstate_downtime event"),
            ("5402@1795769724.03vmstate_downtime_save type=non-iterable idstr=cpu instance_id=0 downtime=3", "garbled text before the event name"),
            ("downtime=12vmstate_downtime_checkpoint src-vm-stopped", "garbled text before the event name"),
        ]
        for (line, reason) in cases {
            #expect(LineParser.parse(line) == .malformed(reason), "\(line)")
        }
    }

    @Test func unrelatedLines() {
        #expect(LineParser.parse("1234@1.2:migrate_set_state new state active") == .unrelated)
        #expect(LineParser.parse("") == .unrelated)
        #expect(LineParser.parse("vmstate_downtime") == .unrelated)
    }

    @Test func timestampShapes() {
        #expect(LineParser.parseStamp("5402@1795769724.034203:") == 1_795_769_724_034_203)
        #expect(LineParser.parseStamp("1@2.5:") == 2_500_000)          // short fraction
        #expect(LineParser.parseStamp("77@10.123:") == 10_123_000)
        #expect(LineParser.parseStamp("77@10.123456789:") == 10_123_456)
        #expect(LineParser.parseStamp("7@999999999999.000001:") == 999_999_999_999_000_001)
        for bad in ["@1.000001:", "x5@1.000001:", "5@.000001:", "5@1.00000a:", "5@1.000001", "5@1.1234567890:",
                    "5@1234567890123.1:", "5@1:"] {
            #expect(LineParser.parseStamp(bad) == nil, "\(bad)")
        }
    }

    /// QEMU 10.1+ (qemu_log, glib's g_date_time_format_iso8601 of UTC): µs since the epoch.
    @Test func isoTimestampShapes() {
        #expect(LineParser.parseStamp("2026-11-27T21:45:12.345678Z ") == 1_795_815_912_345_678)
        #expect(LineParser.parseStamp("2026-11-27T21:45:12Z ") == 1_795_815_912_000_000)  // glib leaves out a zero fraction
        #expect(LineParser.parseStamp("2026-11-27T21:45:12.5Z ") == 1_795_815_912_500_000)
        #expect(LineParser.parseStamp("2026-11-27T21:45:12.123456789Z ") == 1_795_815_912_123_456)
        #expect(LineParser.parseStamp("2026-11-27T22:45:12.000001+01:00 ") == 1_795_815_912_000_001)
        #expect(LineParser.parseStamp("2026-11-27T23:15:12.000001+0130 ") == 1_795_815_912_000_001)
        #expect(LineParser.parseStamp("2026-11-27T20:45:12.000001-01 ") == 1_795_815_912_000_001)
        #expect(LineParser.parseStamp("2000-02-29T00:00:00.000001Z ") == 951_782_400_000_001)
        #expect(LineParser.parseStamp("1970-01-01T00:00:00.000000Z ") == 0)
        #expect(LineParser.parseStamp("2025-12-31T23:59:59.999999Z ") == 1_767_225_599_999_999)
        // The same as the tests' own reading (timegm) for a run of dates.
        for (y, m, d) in [(1999, 12, 31), (2024, 2, 29), (2100, 3, 1), (2038, 1, 19), (1900, 3, 1)] {
            let text = String(format: "%04d-%02d-%02dT13:14:15.161718Z ", y, m, d)
            #expect(LineParser.parseStamp(text) == Fixtures.stampMicros(text), "\(text)")
        }
        for bad in ["2026-11-27T21:45:12.345678Z", "2026-11-27T21:45:12.345678 ", "2026-11-27 21:45:12.345678Z ",
                    "2026-13-27T21:45:12Z ", "2026-02-29T21:45:12Z ", "2026-11-27T24:45:12Z ", "2026-11-27T21:45:12.Z ",
                    "2026-11-27T21:45:12.1234567890Z ", "26-11-27T21:45:12Z ", "2026-11-27T21:45:12+1 ",
                    "2026-11-27T21:45:12+24 ", "2026-11-27T21:45:12+01:60 ", "2026-11-27T21:45:12"] {
            #expect(LineParser.parseStamp(bad) == nil, "\(bad)")
        }
    }
}
