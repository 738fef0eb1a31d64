// SPDX-License-Identifier: MIT
@_spi(Testing) import DevstateTrace
import Testing

@Suite struct LineParserTests {
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
        #expect(LineParser.parse("2026-11-27T21:45:12Z vmstate_downtime_checkpoint src-vm-stopped")
            == .event(.checkpoint(Checkpoint(name: "src-vm-stopped", timestampUS: 1_795_815_912_000_000))))
        // A stamp glued to the event is garbled text, as with the 10.0 form.
        guard case .malformed = LineParser.parse("2026-11-27T21:45:12.034203Zvmstate_downtime_checkpoint src-vm-stopped") else {
            Issue.record("accepted a glued stamp"); return
        }
    }

    @Test func loadWithoutTimestamp() {
        let r = LineParser.parse("vmstate_downtime_load type=iterable idstr=ram instance_id=0 downtime=33")
        guard case .event(.device(.load, let d)) = r else { Issue.record("\(r)"); return }
        #expect(d.name == "ram" && d.section == .iterable && d.timeUS == 33 && d.timestampUS == nil)
    }

    @Test func checkpointAndOtherPrefix() {
        #expect(LineParser.parse("12@1.5:vmstate_downtime_checkpoint src-vm-stopped")
            == .event(.checkpoint(Checkpoint(name: "src-vm-stopped", timestampUS: 1_500_000))))
        // A syslog-style prefix that ends in a space is accepted (no timestamp).
        #expect(LineParser.parse("Nov 27 host qemu[1]: vmstate_downtime_checkpoint dst-precopy-bh-enter")
            == .event(.checkpoint(Checkpoint(name: "dst-precopy-bh-enter"))))
        // Unknown checkpoint names are events, not errors.
        #expect(LineParser.parse("vmstate_downtime_checkpoint src-something-new")
            == .event(.checkpoint(Checkpoint(name: "src-something-new"))))
    }

    @Test func negativeInstanceIDIsTheUnsignedPattern() {
        guard case .event(.device(_, let d)) = LineParser.parse(
            "vmstate_downtime_save type=non-iterable idstr=x instance_id=-2 downtime=1") else {
            Issue.record("not parsed"); return
        }
        #expect(d.instanceID == UInt32.max - 1)
    }

    @Test func idstrWithSpacesRunsToLastInstanceKey() {
        guard case .event(.device(_, let d)) = LineParser.parse(
            "vmstate_downtime_save type=non-iterable idstr=a b instance_id=3 downtime=1") else {
            Issue.record("not parsed"); return
        }
        #expect(d.name == "a b" && d.instanceID == 3)
    }

    @Test(arguments: [
        "vmstate_downtime_save type=non-iterable idstr=cpu instance_id=0 downti",
        "vmstate_downtime_save type=non-iterable idstr=cpu instance_id=0 downtime=",
        "vmstate_downtime_save type=non-iterable idstr=cpu",
        "vmstate_downtime_save type=weird idstr=cpu instance_id=0 downtime=3",
        "vmstate_downtime_save type=non-iterable idstr= instance_id=0 downtime=3",
        "vmstate_downtime_save type=non-iterable idstr=cpu instance_id=x downtime=3",
        "vmstate_downtime_save type=non-iterable idstr=cpu instance_id=0 downtime=-5",
        "vmstate_downtime_save type=non-iterable idstr=cpu instance_id=0 downtime=3x",
        "vmstate_downtime_checkpoint",
        "vmstate_downtime_checkpoint ",
        "vmstate_downtime_sav",
        "vmstate_downtime_bogus x",
        "5402@1795769724.03vmstate_downtime_save type=non-iterable idstr=cpu instance_id=0 downtime=3",
        "downtime=12vmstate_downtime_checkpoint src-vm-stopped",
    ])
    func malformed(_ line: String) {
        guard case .malformed = LineParser.parse(line) else {
            Issue.record("accepted: \(line)"); return
        }
    }

    /// Each way a device line can be cut or garbled has its own reason in the report.
    @Test(arguments: [
        ("vmstate_downtime_save typ=iterable idstr=cpu instance_id=0 downtime=3", "missing type="),
        ("vmstate_downtime_save type=neither idstr=cpu instance_id=0 downtime=3", "type is neither iterable nor non-iterable"),
        ("vmstate_downtime_save type=non-iterable name=cpu instance_id=0 downtime=3", "missing idstr="),
        ("vmstate_downtime_save type=iterable  idstr=cpu instance_id=0 downtime=3", "missing idstr="),
        ("vmstate_downtime_load type=iterable idstr=", "missing downtime= (truncated?)"),
        ("vmstate_downtime_save type=non-iterable idstr=c\u{0}pu instance_id=0 downtime=3", "idstr holds a NUL byte"),
        ("vmstate_downtime_save type=non-iterable idstr=0123456789\u{0} instance_id=0 downtime=3", "idstr holds a NUL byte"),
        ("vmstate_downtime_save type=non-iterable idstr= instance_id=0 downtime=3", "empty idstr"),
        ("vmstate_downtime_save type=non-iterable idstr=cpu instance_id=x downtime=3", "instance_id is not a number"),
    ])
    func malformedReasons(_ line: String, _ reason: String) {
        #expect(LineParser.parse(line) == .malformed(reason))
    }

    @Test func unrelatedLines() {
        #expect(LineParser.parse("1234@1.2:migrate_set_state new state active") == .unrelated)
        #expect(LineParser.parse("") == .unrelated)
    }

    /// The type is the idstr's last path component.
    @Test func deviceTypes() {
        #expect(DeviceKnowledge.deviceType("0000:00:03.0/e1000e") == "e1000e")
        #expect(DeviceKnowledge.deviceType("0000:00:04.0/1/usb-ptr") == "usb-ptr")
        #expect(DeviceKnowledge.deviceType("0000:00:1c.0:00.0/virtio-net") == "virtio-net")
        #expect(DeviceKnowledge.deviceType("0:0:0/scsi-disk") == "scsi-disk")
        #expect(DeviceKnowledge.deviceType("cpu") == "cpu")
        #expect(DeviceKnowledge.deviceType("spapr/htab") == "htab")
        #expect(DeviceKnowledge.deviceType("0000:00:05.0/vfio") == "vfio")
        #expect(DeviceKnowledge.deviceType("odd/") == "odd")
        #expect(DeviceKnowledge.deviceType("/") == "/")
        let k = DeviceKnowledge()
        #expect(!k.hasVMSD("ram") && !k.hasVMSD("slirp") && !k.hasVMSD("0000:00:05.0/vfio")
                && !k.hasVMSD("spapr/htab") && !k.hasVMSD("todclock") && k.hasVMSD("cpu"))
    }
}
