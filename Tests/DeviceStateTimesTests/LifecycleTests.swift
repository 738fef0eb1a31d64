// SPDX-License-Identifier: MIT
import DeviceStateTimes
import Testing

@Suite struct LifecycleTests {
    @Test func eachRunStartsEmpty() throws {
        let recorder = Recorder()
        recorder.beginRun()
        try recorder.record(name: "cpu", instanceID: 0, saveTime: 40)
        try recorder.record(name: "apic", instanceID: 0, saveTime: 0)
        try recorder.endRun()
        recorder.beginRun()
        try recorder.record(name: "timer", instanceID: 0, saveTime: 2)
        try recorder.endRun()
        let snapshot = try recorder.snapshot()
        #expect(snapshot.map(\.name) == ["timer"])
        #expect(snapshot.skippedZero == 0)
        #expect(snapshot.run == 2)
        #expect(snapshot.isComplete)
    }

    @Test func snapshotIsUnchangedByLaterRecordsAndResets() throws {
        let recorder = Recorder()
        recorder.beginRun()
        try recorder.record(name: "cpu", instanceID: 0, saveTime: 40)
        try recorder.record(name: "cpu", instanceID: 1, saveTime: 41)
        let early = try recorder.snapshot()
        try recorder.record(name: "apic", instanceID: 0, saveTime: 5)
        try recorder.endRun()
        recorder.beginRun()
        for index in 0..<1_000 {  // enough to make the recorder's storage grow and move
            try recorder.record(name: "device-\(index)", instanceID: UInt32(index), saveTime: 1)
        }
        #expect(Array(early) == [
            Entry(name: "cpu", instanceID: 0, saveTime: 40),
            Entry(name: "cpu", instanceID: 1, saveTime: 41),
        ])
        #expect(!early.isComplete)
        #expect(early.run == 1)
        #expect(try recorder.snapshot().count == 1_000)
    }

    @Test func zeroTimesAreCountedNotKept() throws {
        let recorder = Recorder()
        recorder.beginRun()
        #expect(try recorder.record(name: "cpu_common", instanceID: 0, saveTime: 0) == .skippedZero)
        #expect(try recorder.record(name: "cpu", instanceID: 0, saveTime: 3) == .kept)
        #expect(try recorder.record(name: "kvm-tpr-opt", instanceID: 0, saveTime: 0) == .skippedZero)
        let snapshot = try recorder.snapshot()
        #expect(snapshot.count == 1)
        #expect(snapshot.skippedZero == 2)
    }

    @Test func orderAndDuplicatesAreKept() throws {
        let recorder = Recorder()
        let expected = [
            Entry(name: "i8259", instanceID: 0, saveTime: 2),
            Entry(name: "timer", instanceID: 0, saveTime: 1),
            Entry(name: "i8259", instanceID: 1, saveTime: 3),
            Entry(name: "i8259", instanceID: 1, saveTime: 3),  // same name and id twice
            Entry(name: "i8259", instanceID: 2, saveTime: 9),
            Entry(name: "apic", instanceID: 0, saveTime: 1),
        ]
        recorder.beginRun()
        for entry in expected {
            try recorder.record(name: entry.name, instanceID: entry.instanceID, saveTime: entry.saveTime)
        }
        #expect(Array(try recorder.snapshot()) == expected)
    }

    @Test func hundredThousandEntries() throws {
        let recorder = Recorder()
        recorder.beginRun()
        for index in 0..<100_000 {
            try recorder.record(name: "0000:00:\(index % 32).\(index % 8)/virtio-net-pci",
                                instanceID: UInt32(index), saveTime: UInt64(index % 5))
        }
        try recorder.endRun()
        let snapshot = try recorder.snapshot()
        #expect(snapshot.count == 80_000)
        #expect(snapshot.skippedZero == 20_000)
        #expect(snapshot[0] == Entry(name: "0000:00:1.1/virtio-net-pci", instanceID: 1, saveTime: 1))
        #expect(snapshot[79_999].instanceID == 99_999)
        #expect(snapshot.allSatisfy { $0.saveTime > 0 && $0.instanceID % 5 != 0 })
    }

    @Test func badInputChangesNothing() throws {
        let recorder = Recorder()
        #expect(throws: DeviceStateError.empty) { try recorder.snapshot() }
        #expect(throws: DeviceStateError.noRun) { try recorder.record(name: "cpu", instanceID: 0, saveTime: 1) }
        #expect(throws: DeviceStateError.noRun) { try recorder.endRun() }
        recorder.beginRun()
        try recorder.record(name: "cpu", instanceID: 0, saveTime: 1)
        #expect(throws: DeviceStateError.nameEmpty) { try recorder.record(name: "", instanceID: 0, saveTime: 1) }
        #expect(throws: DeviceStateError.nameTooLong) {
            try recorder.record(name: String(repeating: "x", count: 256), instanceID: 0, saveTime: 1)
        }
        #expect(throws: DeviceStateError.nameNUL) { try recorder.record(name: "a\0b", instanceID: 0, saveTime: 1) }
        let longest = String(repeating: "é", count: 127) + "x"  // 255 bytes
        try recorder.record(name: longest, instanceID: 0, saveTime: 1)
        try recorder.record(nameBytes: [0xff, 0x41], instanceID: 3, saveTime: 4)
        let snapshot = try recorder.snapshot()
        #expect(snapshot.map(\.nameBytes) == [Array("cpu".utf8), Array(longest.utf8), [0xff, 0x41]])
        #expect(snapshot[2].name == "\u{FFFD}A")
    }

    @Test func capDropsAndCounts() throws {
        let recorder = Recorder(maxEntries: 3)
        recorder.beginRun()
        for index in 0..<3 { try recorder.record(name: "cpu", instanceID: UInt32(index), saveTime: 1) }
        #expect(throws: DeviceStateError.full) { try recorder.record(name: "cpu", instanceID: 3, saveTime: 1) }
        #expect(try recorder.record(name: "cpu", instanceID: 4, saveTime: 0) == .skippedZero)
        let snapshot = try recorder.snapshot()
        #expect(snapshot.count == 3)
        #expect(snapshot.dropped == 1)
        #expect(snapshot.skippedZero == 1)
    }

    @Test func errorCodesAndMessagesAreDistinct() {
        let codes = DeviceStateError.allCases.map(\.code)
        #expect(Set(codes).count == codes.count)
        #expect(codes.allSatisfy { $0 < 0 })
        let messages = DeviceStateError.allCases.map(\.message)
        #expect(Set(messages).count == messages.count)
    }
}
