// SPDX-License-Identifier: MIT
import DevstateModel
import Testing

/// What the tool knows of QEMU's entries beyond the trace.
@Suite struct DeviceKnowledgeTests {
    @Test func theTypeIsTheLastNonEmptyComponent() {
        #expect(DeviceKnowledge.deviceType("0000:00:03.0/e1000e") == "e1000e")
        #expect(DeviceKnowledge.deviceType("0000:00:04.0/1/usb-ptr") == "usb-ptr")
        #expect(DeviceKnowledge.deviceType("spapr/htab") == "htab")
        #expect(DeviceKnowledge.deviceType("cpu") == "cpu")
        #expect(DeviceKnowledge.deviceType("a/b/") == "b")
        #expect(DeviceKnowledge.deviceType("//") == "//")
        #expect(DeviceKnowledge.deviceType("x/\u{301}e") == "\u{301}e")  // split on the byte, not on characters
    }

    @Test func entriesWithoutAVMSD() {
        let knowledge = DeviceKnowledge(extraNoVMSD: ["my-handler"])
        for name in ["ram", "dirty-bitmap", "slirp", "spapr/htab", "vfio", "0000:00:05.0/vfio", "my-handler"] {
            #expect(!knowledge.hasVMSD(name), "\(name)")
        }
        for name in ["timer", "cpu", "0000:00:05.0/vfio-pci", "ramx"] { #expect(knowledge.hasVMSD(name), "\(name)") }
        #expect(knowledge.isSetupSection("0000:00:05.0/virtio-mem-device-early"))
        #expect(!knowledge.isSetupSection("0000:00:05.0/virtio-mem"))
    }
}
