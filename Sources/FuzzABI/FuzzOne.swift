// SPDX-License-Identifier: MIT
// One input: a sequence of operations, then every slot released.
import CShim
#if canImport(Glibc)
import Glibc
#endif

func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    var input = Input(bytes: UnsafeBufferPointer(start: data, count: size))
    // The list recorders (the default recorder is list 0) live across inputs: bring them to a
    // known state (ended, empty).
    if !defaultModelKnown {
        for list in 0..<UInt32(listCount) {
            // Their run counters before this process's first input are not known to the model.
            var snapshot: OpaquePointer?
            let status = devstate_snapshot_take(devstate_qemu_recorder(list), &snapshot)
            if status == DEVSTATE_OK {
                var info = devstate_snapshot_info()
                _ = devstate_snapshot_get_info(snapshot, &info)
                listModels[Int(list)].run = info.run
                _ = devstate_snapshot_free(snapshot)
            } else {
                // Never begun: the queries must say so.
                expectStatus(status, is: DEVSTATE_ERR_EMPTY, "snapshot_take of list \(list)")
                listTimes(list)
                listCheckpoints(list)
                if list == 0 { qemuDeviceStateTimes() }
            }
        }
        defaultModelKnown = true
    }
    beginRun(defaultSlot, viaHook: true)
    endRun(defaultSlot, viaHook: true)
    for list in 1..<UInt32(listCount) {
        listBegin(list)
        listEnd(list)
    }
    clock = clockStart

    var operations = 0
    while !input.isEmpty && operations < maxOperations {
        operations += 1
        let op = input.byte()
        let argument = input.byte()
        let slot = Int(argument % 5)          // 4 = the default recorder
        let target = Int((argument >> 3) % 4) // snapshot / string slot
        switch op % 16 {
        case 0: newRecorder(Int(argument % 4))
        case 1: freeRecorder(slot)
        case 2: beginRun(slot, viaHook: argument & 0x80 != 0)
        case 3, 4: recordOperation(slot, argument, &input)
        case 5: endRun(slot, viaHook: argument & 0x80 != 0)
        case 6: takeSnapshot(slot, into: target)
        case 7: freeSnapshot(target)
        case 8: inspectSnapshot(target, probe: UInt64(input.byte()))
        case 9:
            let which = input.byte()
            let flags: UInt32 = which & 0x80 != 0 ? input.u32() : UInt32(which & 1)
            makeJSON(target, into: Int(which >> 1) % 4, flags: flags)
        case 10: freeJSON(target)
        case 11: qapiFromSnapshot(target)
        case 12: qemuDeviceStateTimes()
        case 13: checkStaticQueries(Int32(bitPattern: input.u32()))
        case 14: nullArguments(slot)
        case 15 where op >= 0x80 && op < 0xf0: operation020(Int(op >> 4) - 8, argument, &input)
        case 15 where op == 0x7f: operation030(argument, &input)
        case 15 where op == 0x6f: operationSteps(argument, &input)
        default:
            // Many short records: grows the entry array (64, 128, ...) and the name arena (4096, ...).
            guard let model = recorderModel(slot), model.entries.count < maxEntriesPerRecorder else { continue }
            let count = Int(input.byte() % 64)
            for index in 0..<count {
                let name = CName(bytes: Array("dev\(index)/".utf8) + Array(repeating: argument, count: index % 50 + 1)
                                 .map { $0 == 0 ? 0x30 : $0 }, terminate: true)
                record(slot, name, instance: UInt32(index), time: UInt64(index % 7), flags: UInt32(index & 1), hook: nil)
                name.release()
            }
        }
    }
    releaseEverything()
    return 0
}
