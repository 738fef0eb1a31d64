// SPDX-License-Identifier: MIT
// The 0.3.0 steps: devstate_step and devstate_qemu_step, and their lists.
import CShim
#if canImport(Glibc)
import Glibc
#endif

// MARK: the steps (0.3.0)

/// A step through devstate_step (slot) or devstate_qemu_step (list): every refusal that
/// applies, else kept whatever its duration, with its strings, kind and start.
func step(slot: Int?, list: UInt32?, _ name: CName?, _ device: CName?, _ type: CName?, kind: UInt32,
          start: Int64, end: Int64) {
    let status: Int32
    var errors = nameErrors(name)
    var model: RecorderModel?
    if let slot {
        status = devstate_step(recorderHandle(slot), name?.buffer, device?.buffer, type?.buffer, kind, start, end)
        if let error = handleError(slot) { errors.append(error) } else { model = recorderModel(slot) }
    } else {
        status = devstate_qemu_step(list!, name?.buffer, device?.buffer, type?.buffer, kind, start, end)
        model = listModel(list!)
        if model == nil { errors.append(DEVSTATE_ERR_NO_LIST) }
    }
    func what() -> String { "step(slot \(String(describing: slot)), list \(String(describing: list)), kind \(kind))" }
    for string in [device, type] where (string?.visible.count ?? 0) > Int(DEVSTATE_NAME_MAX) {
        errors.append(DEVSTATE_ERR_NAME_TOO_LONG)
    }
    if kind > DEVSTATE_STEP_MAIN { errors.append(DEVSTATE_ERR_FLAGS) }
    // A step never opens an armed run.
    if let model, model.state != .open { errors.append(DEVSTATE_ERR_NO_RUN) }
    guard let model, errors.isEmpty else {
        expectStatus(status, in: errors, what())
        model?.noteStepRefusal(status)
        return
    }
    expectStatus(status, is: DEVSTATE_OK, what())
    // The exact duration: any two int64 readings differ by less than 2^64.
    let difference = Int128(end) - Int128(start)
    let time: UInt64 = difference > 0 ? UInt64(difference) : 0
    model.entries.append(ModelEntry(name: name!.visible, instance: kind, time: time, flags: DEVSTATE_ENTRY_STEP,
                                    device: device?.visible ?? [], type: type?.visible ?? [], start: start))
    model.noteReading(start)
}

/// devstate_qemu_steps of an ended run: its steps in record order, absent strings NULL.
func listSteps(_ list: UInt32) {
    let unset = UnsafeMutablePointer<devstate_qapi_step_list>(bitPattern: 0x5a5a0)!
    var out: UnsafeMutablePointer<devstate_qapi_step_list>? = unset
    let status = devstate_qemu_steps(list, &out)
    let expectedStatus = listQueryStatus(list)
    expectStatus(status, is: expectedStatus, "qemu_steps(\(list))")
    guard expectedStatus == DEVSTATE_OK, let model = listModel(list) else { return }
    expect(out != unset, "qemu_steps(\(list)) returned OK without setting *out")
    let expected = model.entries.filter { $0.flags == DEVSTATE_ENTRY_STEP }
    var node = out
    var index = 0
    while let current = node {
        let what = "qemu_steps(\(list)) node \(index)"
        expect(index < expected.count, "\(what): list longer than the run's \(expected.count) steps")
        guard let value = current.pointee.value else { fail("\(what): value is NULL") }
        let entry = expected[index]
        expectListName(value.pointee.name, entry.name, what)
        if entry.device.isEmpty { expect(value.pointee.device == nil, "\(what): device not NULL") }
        else { expectListName(value.pointee.device, entry.device, what + " device") }
        if entry.type.isEmpty { expect(value.pointee.device_type == nil, "\(what): type not NULL") }
        else { expectListName(value.pointee.device_type, entry.type, what + " type") }
        expect(value.pointee.kind == entry.instance && value.pointee.time_us == entry.time
               && value.pointee.start_us == stepOffset(entry, origin: model.origin), "\(what): kind/time/start")
        node = current.pointee.next
        index += 1
    }
    expect(index == expected.count, "qemu_steps(\(list)) has \(index) nodes, the run \(expected.count) steps")
    expectStatus(devstate_qapi_step_list_free(out), is: DEVSTATE_OK, "qapi_step_list_free")
}

/// The operations added with the steps (op 0x6f, a bulk op before).
func operationSteps(_ argument: UInt8, _ input: inout Input) {
    switch argument % 4 {
    case 0, 1:  // devstate_step on a recorder slot / devstate_qemu_step on a selector
        let mode = input.byte()
        let name = makeName(&input), device = makeName(&input), type = makeName(&input)
        defer { name.release(); device.release(); type.release() }
        let kind: UInt32 = mode & 0x40 != 0 ? input.u32() : UInt32(mode % 3)
        let start = reading(mode >> 3, &input)
        let end = mode & 0x80 != 0 ? reading(input.byte(), &input) : start &+ Int64(input.byte()) &- 8
        let pick = input.byte()
        let useName = pick & 1 == 0 ? name : nil
        let useDevice = pick & 2 == 0 ? device : nil
        let useType = pick & 4 == 0 ? type : nil
        if argument % 4 == 0 {
            step(slot: Int(argument >> 2) % allSlots, list: nil, useName, useDevice, useType, kind: kind,
                 start: start, end: end)
        } else {
            step(slot: nil, list: listSelector(argument >> 2, &input), useName, useDevice, useType, kind: kind,
                 start: start, end: end)
        }
    case 2:  // devstate_qemu_steps, checked and freed
        listSteps(listSelector(argument >> 2, &input))
    default:  // devstate_snapshot_step on every kind of snapshot slot, and NULLs
        let target = Int(argument >> 2) % snapshots.count
        var info = devstate_step_info()
        switch snapshots[target] {
        case .live(let pointer, let model):
            for (index, entry) in model.entries.enumerated() { verifyStepInfo(pointer, UInt64(index), entry) }
            expectStatus(devstate_snapshot_step(pointer, UInt64(model.entries.count), &info), is: DEVSTATE_ERR_RANGE,
                         "snapshot_step past the end")
            expectStatus(devstate_snapshot_step(pointer, 0, nil), is: DEVSTATE_ERR_NULL, "snapshot_step(s, 0, NULL)")
        case .dead(let pointer):
            expectStatus(devstate_snapshot_step(pointer, 0, &info), is: DEVSTATE_ERR_INVALID_HANDLE,
                         "snapshot_step on freed")
        case .empty:
            expectStatus(devstate_snapshot_step(nil, 0, &info), is: DEVSTATE_ERR_NULL, "snapshot_step(NULL)")
        }
        expectStatus(devstate_qemu_steps(DEVSTATE_QEMU_LIST_INCOMING, nil), is: DEVSTATE_ERR_NULL, "qemu_steps(l, NULL)")
        expectStatus(devstate_qapi_step_list_free(nil), is: DEVSTATE_OK, "qapi_step_list_free(NULL)")
    }
}
