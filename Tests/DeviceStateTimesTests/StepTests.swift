// SPDX-License-Identifier: MIT
import CShim
import DeviceStateTimes
import Testing

/// 0.3.0: the steps of a downtime that are not device states (run-state handlers, block
/// flushes, ...), from Swift, through the C ABI and through the QEMU list hooks.
@Suite struct StepTests {
    @Test func aStepKeepsItsDeviceKindAndStartAndCountsFromTheOrigin() throws {
        let recorder = Recorder()
        recorder.beginRun()
        try recorder.checkpoint(name: "src-downtime-start", time: 1_000)
        try recorder.recordStep(name: "virtio_vmstate_change", device: "/machine/peripheral/d0/virtio-backend",
                                deviceType: "virtio-blk-device", kind: .main, start: 1_200, end: 1_240)
        try recorder.recordStep(name: "block-flush", device: "drive0", deviceType: "qcow2", start: 1_300, end: 2_650)
        try recorder.recordStep(name: "ide_restart_cb", kind: .prepare, start: 2_700, end: 2_700)
        try recorder.checkpoint(name: "src-vm-stopped", time: 2_800)
        try recorder.endRun()
        let snapshot = try recorder.snapshot()
        #expect(snapshot.count == 5 && snapshot.skippedZero == 0)
        #expect(snapshot[1] == Entry(name: "virtio_vmstate_change", instanceID: StepKind.main.rawValue, saveTime: 40,
                                     kind: .step,
                                     step: StepFacts(device: "/machine/peripheral/d0/virtio-backend",
                                                     deviceType: "virtio-blk-device", kind: .main, start: 1_200)))
        #expect(snapshot[3].saveTime == 0 && snapshot[3].step?.device == "" && snapshot[3].step?.kind == .prepare)
        #expect(snapshot[0].step == nil)
        #expect(try snapshot.json() == #"[{"name":"src-downtime-start","time":0},"#
            + #"{"name":"virtio_vmstate_change","device":"/machine/peripheral/d0/virtio-backend","#
            + #""device-type":"virtio-blk-device","kind":"main","start":200,"time":40},"#
            + #"{"name":"block-flush","device":"drive0","device-type":"qcow2","kind":"work","start":300,"time":1350},"#
            + #"{"name":"ide_restart_cb","kind":"prepare","start":1700,"time":0},"#
            + #"{"name":"src-vm-stopped","time":1800}]"#)
    }

    @Test func aStepNeverOpensAnArmedRunAndIsNotCountedOutsideOne() throws {
        let recorder = Recorder()
        recorder.armRun()
        #expect(throws: DeviceStateError.noRun) {
            try recorder.recordStep(name: "vcpu-resume", start: 10, end: 20)
        }
        #expect(throws: DeviceStateError.empty) { try recorder.snapshot() }
        try recorder.record(name: "ram", instanceID: 0, saveTime: 90, kind: .iterable)
        try recorder.recordStep(name: "vcpu-resume", start: 10, end: 20)
        let snapshot = try recorder.snapshot()
        #expect(snapshot.count == 2 && snapshot.refused == 0)
    }

    @Test func badStepsAreRefusedCountedAndChangeNothing() throws {
        let recorder = Recorder()
        recorder.beginRun()
        try recorder.recordStep(name: "kept", start: 5, end: 7)
        let long = String(repeating: "d", count: 256)
        #expect(throws: DeviceStateError.nameEmpty) { try recorder.recordStep(name: "", start: 0, end: 1) }
        #expect(throws: DeviceStateError.nameTooLong) { try recorder.recordStep(name: long, start: 0, end: 1) }
        #expect(throws: DeviceStateError.nameTooLong) {
            try recorder.recordStep(name: "x", device: long, start: 0, end: 1)
        }
        #expect(throws: DeviceStateError.nameTooLong) {
            try recorder.recordStep(name: "x", deviceType: long, start: 0, end: 1)
        }
        #expect(throws: DeviceStateError.nameNUL) { try recorder.recordStep(name: "x", device: "a\0b", start: 0, end: 1) }
        // A step is not a device time: record() refuses the kind.
        #expect(throws: DeviceStateError.flags) {
            try recorder.record(name: "x", instanceID: 0, saveTime: 1, kind: .step)
        }
        let snapshot = try recorder.snapshot()
        #expect(snapshot.count == 1 && snapshot.refused == 6)
        // 255 bytes each is the most, and a clock that went back gives 0 µs.
        let most = String(repeating: "n", count: 255)
        try recorder.recordStep(name: most, device: most, deviceType: most, start: 50, end: 40)
        let after = try recorder.snapshot()
        #expect(after[1].name == most && after[1].step?.device == most && after[1].step?.deviceType == most)
        #expect(after[1].saveTime == 0)
    }

    @Test func theCABIChecksEveryArgumentAndHandsStepsOut() {
        var handle: OpaquePointer?
        #expect(devstate_recorder_new(&handle) == DEVSTATE_OK)
        defer { devstate_recorder_free(handle) }
        #expect(devstate_step(handle, "x", nil, nil, 0, 1, 2) == DEVSTATE_ERR_NO_RUN)
        devstate_run_begin(handle)
        #expect(devstate_step(nil, "x", nil, nil, 0, 1, 2) == DEVSTATE_ERR_NULL)
        #expect(devstate_step(handle, nil, nil, nil, 0, 1, 2) == DEVSTATE_ERR_NULL)
        #expect(devstate_step(handle, "x", nil, nil, 3, 1, 2) == DEVSTATE_ERR_FLAGS)
        #expect(devstate_record(handle, "x", 0, 1, DEVSTATE_ENTRY_STEP) == DEVSTATE_ERR_FLAGS)
        #expect(devstate_step(handle, "flush", "drive0", nil, DEVSTATE_STEP_WORK, 100, 130) == DEVSTATE_OK)
        #expect(devstate_step(handle, "h", "", "t", DEVSTATE_STEP_MAIN, 90, 91) == DEVSTATE_OK)
        #expect(devstate_record(handle, "cpu", 0, 5, DEVSTATE_ENTRY_VMSD) == DEVSTATE_OK)
        var snapshot: OpaquePointer?
        #expect(devstate_snapshot_take(handle, &snapshot) == DEVSTATE_OK)
        defer { devstate_snapshot_free(snapshot) }
        var refused: UInt64 = 0
        // NULL name, kind 3, STEP through devstate_record (a NULL recorder has no run to count in)
        #expect(devstate_snapshot_refused(snapshot, &refused) == DEVSTATE_OK && refused == 3)
        var step = devstate_step_info()
        #expect(devstate_snapshot_step(snapshot, 0, &step) == DEVSTATE_OK)
        #expect(String(cString: step.name) == "flush" && String(cString: step.device) == "drive0")
        #expect(String(cString: step.device_type) == "" && step.device_type_len == 0 && step.device_len == 6)
        #expect(step.kind == DEVSTATE_STEP_WORK && step.start_us == 100 && step.time_us == 30)
        #expect(devstate_snapshot_step(snapshot, 1, &step) == DEVSTATE_OK)
        #expect(String(cString: step.device) == "" && String(cString: step.device_type) == "t")
        #expect(devstate_snapshot_step(snapshot, 2, &step) == DEVSTATE_ERR_FLAGS)
        #expect(devstate_snapshot_step(snapshot, 3, &step) == DEVSTATE_ERR_RANGE)
        #expect(devstate_snapshot_step(snapshot, 0, nil) == DEVSTATE_ERR_NULL)
        var entry = devstate_entry()
        #expect(devstate_snapshot_entry(snapshot, 0, &entry) == DEVSTATE_OK)
        #expect(entry.flags == DEVSTATE_ENTRY_STEP && entry.save_time_us == 30 && entry.instance_id == 0)
    }

    @Test func theQEMUListsSeparateStepsFromTimesAndCheckpoints() throws {
        // The source's checkpoint list: no other test of this process uses it (the concurrency
        // test drives the incoming one).
        let list = DEVSTATE_QEMU_LIST_OUTGOING_CHECKPOINTS
        #expect(devstate_qemu_arm(list) == DEVSTATE_OK)
        #expect(devstate_qemu_step(list, "announce", nil, nil, DEVSTATE_STEP_WORK, 1, 2) == DEVSTATE_ERR_NO_RUN)
        #expect(devstate_qemu_record_in(list, "ram", 0, 1_000, 1_900, DEVSTATE_ENTRY_ITERABLE) == DEVSTATE_OK)
        #expect(devstate_qemu_checkpoint(list, "dst-precopy-bh-enter", 2_000) == DEVSTATE_OK)
        #expect(devstate_qemu_step(list, "block-activate", "drive0", "qcow2", DEVSTATE_STEP_WORK, 2_010, 2_500)
            == DEVSTATE_OK)
        #expect(devstate_qemu_step(list, "virtio_vmstate_change", "/machine/x", "virtio-net-device",
                                   DEVSTATE_STEP_MAIN, 2_510, 2_530) == DEVSTATE_OK)
        #expect(devstate_qemu_step(99, "x", nil, nil, 0, 1, 2) == DEVSTATE_ERR_NO_LIST)
        var steps: UnsafeMutablePointer<devstate_qapi_step_list>?
        #expect(devstate_qemu_steps(list, &steps) == DEVSTATE_ERR_NO_RUN)
        #expect(devstate_qemu_end(list) == DEVSTATE_OK)
        #expect(devstate_qemu_steps(list, &steps) == DEVSTATE_OK)
        defer { devstate_qapi_step_list_free(steps) }
        var got: [String] = []
        var node = steps
        while let current = node, let value = current.pointee.value {
            let device = value.pointee.device.map { String(cString: $0) } ?? "nil"
            let type = value.pointee.device_type.map { String(cString: $0) } ?? "nil"
            got.append("\(String(cString: value.pointee.name)) \(device) \(type) \(value.pointee.kind) "
                + "\(value.pointee.start_us) \(value.pointee.time_us)")
            node = current.pointee.next
        }
        #expect(got == ["block-activate drive0 qcow2 0 1010 490",
                        "virtio_vmstate_change /machine/x virtio-net-device 2 1510 20"])
        var times: UnsafeMutablePointer<devstate_qapi_time_list>?
        #expect(devstate_qemu_times(list, &times) == DEVSTATE_OK)
        #expect(times?.pointee.next == nil && times.map { String(cString: $0.pointee.value.pointee.name) } == "ram")
        devstate_qapi_time_list_free(times)
        var marks: UnsafeMutablePointer<devstate_qapi_checkpoint_list>?
        #expect(devstate_qemu_checkpoints(list, &marks) == DEVSTATE_OK)
        #expect(marks?.pointee.next == nil && marks?.pointee.value.pointee.time_us == 1_000)
        devstate_qapi_checkpoint_list_free(marks)
        #expect(devstate_qapi_step_list_free(nil) == DEVSTATE_OK)
        #expect(devstate_qemu_discard(list) == DEVSTATE_OK)
    }
}
