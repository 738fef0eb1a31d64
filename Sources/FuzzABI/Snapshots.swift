// SPDX-License-Identifier: MIT
// Snapshots, JSON strings, QAPI lists from snapshots, static queries and NULL arguments.
import CJSONC
import CShim
#if canImport(Glibc)
import Glibc
#endif

func takeSnapshot(_ slot: Int, into target: Int) {
    if case .live(let pointer, _) = snapshots[target] {
        expectStatus(devstate_snapshot_free(pointer), is: DEVSTATE_OK, "snapshot_free")
        snapshots[target] = .empty
    }
    var handle: OpaquePointer?
    let status = devstate_snapshot_take(recorderHandle(slot), &handle)
    if let error = handleError(slot) { return expectStatus(status, is: error, "snapshot_take") }
    let model = recorderModel(slot)!
    if !(model.state == .open || model.state == .ended) {
        return expectStatus(status, is: DEVSTATE_ERR_EMPTY, "snapshot_take")
    }
    expectStatus(status, is: DEVSTATE_OK, "snapshot_take")
    guard let handle else { fail("snapshot_take gave NULL") }
    for other in snapshots.indices where snapshots[other].pointer == handle {
        if case .live = snapshots[other] { fail("snapshot_take reissued a live handle") }
        snapshots[other] = .empty
    }
    snapshots[target] = .live(handle, snapshotModel(of: model))
}

func freeSnapshot(_ target: Int) {
    let status = devstate_snapshot_free(snapshots[target].pointer)
    switch snapshots[target] {
    case .empty: expectStatus(status, is: DEVSTATE_ERR_NULL, "snapshot_free(NULL)")
    case .dead: expectStatus(status, is: DEVSTATE_ERR_INVALID_HANDLE, "double snapshot_free")
    case .live(let pointer, _):
        expectStatus(status, is: DEVSTATE_OK, "snapshot_free")
        snapshots[target] = .dead(pointer)
    }
}

func inspectSnapshot(_ target: Int, probe: UInt64) {
    switch snapshots[target] {
    case .live(let pointer, let model): verifySnapshot(pointer, model, probe)
    case .dead(let pointer):
        var info = devstate_snapshot_info()
        var entry = devstate_entry()
        expectStatus(devstate_snapshot_get_info(pointer, &info), is: DEVSTATE_ERR_INVALID_HANDLE, "get_info on freed")
        expectStatus(devstate_snapshot_entry(pointer, 0, &entry), is: DEVSTATE_ERR_INVALID_HANDLE, "entry on freed")
    case .empty:
        var info = devstate_snapshot_info()
        expectStatus(devstate_snapshot_get_info(nil, &info), is: DEVSTATE_ERR_NULL, "get_info(NULL)")
    }
}

func makeJSON(_ target: Int, into slot: Int, flags: UInt32) {
    if case .live = strings[slot] {
        expectStatus(devstate_json_free(stringPointers[slot]), is: DEVSTATE_OK, "json_free")
        strings[slot] = .empty
    }
    var text: UnsafeMutablePointer<CChar>?
    let status = devstate_snapshot_json(snapshots[target].pointer, flags, &text)
    var errors: [Int32] = []
    switch snapshots[target] {
    case .empty: errors.append(DEVSTATE_ERR_NULL)
    case .dead: errors.append(DEVSTATE_ERR_INVALID_HANDLE)
    case .live: break
    }
    if flags & ~DEVSTATE_JSON_PRETTY != 0 { errors.append(DEVSTATE_ERR_FLAGS) }
    if !errors.isEmpty { return expectStatus(status, in: errors, "snapshot_json") }
    expectStatus(status, is: DEVSTATE_OK, "snapshot_json")
    guard let text, case .live(_, let model) = snapshots[target] else { fail("snapshot_json gave NULL") }
    verifyJSON(text, model, pretty: flags == DEVSTATE_JSON_PRETTY)
    for other in strings.indices where stringPointers[other] == text {
        if case .live = strings[other] { fail("snapshot_json returned a live string again") }
        strings[other] = .empty
    }
    strings[slot] = .live(OpaquePointer(text), ())
    stringPointers[slot] = text
}

func freeJSON(_ slot: Int) {
    switch strings[slot] {
    case .empty:
        expectStatus(devstate_json_free(nil), is: DEVSTATE_ERR_NULL, "json_free(NULL)")
    case .dead:
        // The pointer is freed memory; the library must refuse it without touching it.
        expectStatus(devstate_json_free(stringPointers[slot]), is: DEVSTATE_ERR_INVALID_HANDLE,
                     "double json_free")
    case .live(let pointer, _):
        expectStatus(devstate_json_free(stringPointers[slot]), is: DEVSTATE_OK, "json_free")
        strings[slot] = .dead(pointer)
    }
}

func qapiFromSnapshot(_ target: Int) {
    var list: UnsafeMutablePointer<DeviceSaveStateTimeList>?
    let status = devstate_snapshot_qapi_list(snapshots[target].pointer, &list)
    switch snapshots[target] {
    case .empty: expectStatus(status, is: DEVSTATE_ERR_NULL, "snapshot_qapi_list(NULL)")
    case .dead: expectStatus(status, is: DEVSTATE_ERR_INVALID_HANDLE, "snapshot_qapi_list on freed")
    case .live(_, let model):
        expectStatus(status, is: DEVSTATE_OK, "snapshot_qapi_list")
        verifyQAPIList(list, model.entries)
        expectStatus(devstate_qapi_list_free(list), is: DEVSTATE_OK, "qapi_list_free")
    }
}

func qemuDeviceStateTimes() {
    var list: UnsafeMutablePointer<DeviceSaveStateTimeList>?
    let status = devstate_qemu_device_state_times(&list)
    switch defaultModel.state {
    case .none, .armed: expectStatus(status, is: DEVSTATE_ERR_EMPTY, "qemu_device_state_times")
    case .open: expectStatus(status, is: DEVSTATE_ERR_NO_RUN, "qemu_device_state_times")
    case .ended:
        expectStatus(status, is: DEVSTATE_OK, "qemu_device_state_times")
        verifyQAPIList(list, defaultModel.entries)
        expectStatus(devstate_qapi_list_free(list), is: DEVSTATE_OK, "qapi_list_free")
    }
}

func checkStaticQueries(_ code: Int32) {
    guard let message = devstate_strerror(code) else { fail("strerror(\(code)) is NULL") }
    let length = strlen(message)
    expect(length > 0 && length < 200, "strerror(\(code)) has length \(length)")
    expect(devstate_version_number() == UInt32(DEVSTATE_VERSION_MAJOR * 10000 + DEVSTATE_VERSION_MINOR * 100 + DEVSTATE_VERSION_PATCH),
           "version_number")
    // DEVSTATE_VERSION_STRING is stringized from the three numbers, which Swift cannot import.
    expect(String(cString: devstate_version_string()) == "\(DEVSTATE_VERSION_MAJOR).\(DEVSTATE_VERSION_MINOR).\(DEVSTATE_VERSION_PATCH)",
           "version_string")
    expect(devstate_abi_version() == UInt32(DEVSTATE_ABI_VERSION), "abi_version")
    expect(strcmp(devstate_strerror(DEVSTATE_ERR_NO_LIST), devstate_strerror(Int32.min)) != 0,
           "strerror(DEVSTATE_ERR_NO_LIST) is the message of an unknown code")
}

func nullArguments(_ slot: Int) {
    expectStatus(devstate_recorder_new(nil), is: DEVSTATE_ERR_NULL, "recorder_new(NULL)")
    if handleError(slot) == nil {
        expectStatus(devstate_snapshot_take(recorderHandle(slot), nil), is: DEVSTATE_ERR_NULL, "snapshot_take(r, NULL)")
    }
    expectStatus(devstate_run_begin(nil), is: DEVSTATE_ERR_NULL, "run_begin(NULL)")
    expectStatus(devstate_run_end(nil), is: DEVSTATE_ERR_NULL, "run_end(NULL)")
    expectStatus(devstate_qemu_device_state_times(nil), is: DEVSTATE_ERR_NULL, "qemu_device_state_times(NULL)")
    expectStatus(devstate_qapi_list_free(nil), is: DEVSTATE_OK, "qapi_list_free(NULL)")
    for case .live(let pointer, _) in snapshots {
        expectStatus(devstate_snapshot_get_info(pointer, nil), is: DEVSTATE_ERR_NULL, "get_info(s, NULL)")
        expectStatus(devstate_snapshot_entry(pointer, 0, nil), is: DEVSTATE_ERR_NULL, "entry(s, 0, NULL)")
        expectStatus(devstate_snapshot_json(pointer, 0, nil), is: DEVSTATE_ERR_NULL, "json(s, 0, NULL)")
        expectStatus(devstate_snapshot_qapi_list(pointer, nil), is: DEVSTATE_ERR_NULL, "qapi_list(s, NULL)")
    }
    // The 0.2.0 functions. A NULL name is refused; since 0.3.0 a run that is open (or armed,
    // and then opens) counts the refusal, as the model does.
    expectStatus(devstate_checkpoint(nil, "cp", 1), is: DEVSTATE_ERR_NULL, "checkpoint(NULL, name)")
    expectRefused(devstate_checkpoint(recorderHandle(slot), nil, 1),
                  in: [DEVSTATE_ERR_NULL] + (handleError(slot).map { [$0] } ?? []), "checkpoint(r, NULL)",
                  by: handleError(slot) == nil ? recorderModel(slot) : nil)
    let list = UInt32(slot)  // 4: no such list
    let nullErrors = listModel(list) == nil ? [DEVSTATE_ERR_NULL, DEVSTATE_ERR_NO_LIST] : [DEVSTATE_ERR_NULL]
    expectRefused(devstate_qemu_record_in(list, nil, 0, 1, 2, DEVSTATE_ENTRY_VMSD), in: nullErrors,
                  "qemu_record_in(\(list), NULL)", by: listModel(list))
    expectRefused(devstate_qemu_checkpoint(list, nil, 1), in: nullErrors, "qemu_checkpoint(\(list), NULL)",
                  by: listModel(list))
    expectStatus(devstate_qemu_times(list, nil), in: nullErrors, "qemu_times(\(list), NULL)")
    expectStatus(devstate_qemu_checkpoints(list, nil), in: nullErrors, "qemu_checkpoints(\(list), NULL)")
    expectStatus(devstate_qapi_time_list_free(nil), is: DEVSTATE_OK, "qapi_time_list_free(NULL)")
    expectStatus(devstate_qapi_checkpoint_list_free(nil), is: DEVSTATE_OK, "qapi_checkpoint_list_free(NULL)")
    // The selectors: list 0 is the default recorder, 1...3 are others, the rest name nothing.
    var handles: [OpaquePointer] = []
    for list in 0..<UInt32(listCount) {
        guard let handle = devstate_qemu_recorder(list) else { fail("qemu_recorder(\(list)) is NULL") }
        expect(!handles.contains(handle), "qemu_recorder(\(list)) is the recorder of another list")
        expect((handle == devstate_default_recorder()) == (list == 0), "qemu_recorder(\(list)) vs default_recorder")
        expectStatus(devstate_recorder_free(handle), is: DEVSTATE_ERR_NOT_OWNED, "recorder_free(qemu_recorder(\(list)))")
        handles.append(handle)
    }
    for invalid in [UInt32(listCount), 5, 0x8000_0000, 0x1_0000 | DEVSTATE_QEMU_LIST_INCOMING, UInt32.max] {
        expect(devstate_qemu_recorder(invalid) == nil, "qemu_recorder(\(invalid)) is not NULL")
        expectStatus(devstate_qemu_begin(invalid), is: DEVSTATE_ERR_NO_LIST, "qemu_begin(\(invalid))")
        expectStatus(devstate_qemu_end(invalid), is: DEVSTATE_ERR_NO_LIST, "qemu_end(\(invalid))")
    }
}

func releaseEverything() {
    for slot in strings.indices {
        if case .live = strings[slot] { freeJSON(slot) }
        strings[slot] = .empty
        stringPointers[slot] = nil
    }
    for slot in snapshots.indices {
        if case .live = snapshots[slot] { freeSnapshot(slot) }
        snapshots[slot] = .empty
    }
    for slot in 0..<recorderSlots {
        if case .live = recorders[slot] { freeRecorder(slot) }
        recorders[slot] = .empty
    }
}
