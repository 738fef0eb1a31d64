// SPDX-License-Identifier: MIT
// The slots the operations act on, which live across inputs as the library's state does.
import CShim
#if canImport(Glibc)
import Glibc
#endif

// MARK: state

// libFuzzer runs the target on one thread, one input after another, and nothing else runs:
// the slots are plain globals, nonisolated(unsafe) in Swift 6 mode.

let recorderSlots = 4
/// Slots past the private ones are the recorders of the DEVSTATE_QEMU_LIST_* selectors:
/// defaultSlot + n is list n, and list 0 (NON_ITERABLE_SAVES) is the default recorder.
let defaultSlot = recorderSlots
let listCount = 4
let allSlots = recorderSlots + listCount
nonisolated(unsafe) var recorders = [Slot<RecorderModel>](repeating: .empty, count: recorderSlots)
/// The list recorders live across inputs, as the default recorder does.
nonisolated(unsafe) let listModels = (0..<listCount).map { _ in RecorderModel() }
nonisolated(unsafe) let defaultModel = listModels[0]
nonisolated(unsafe) var defaultModelKnown = false
nonisolated(unsafe) var snapshots = [Slot<SnapshotModel>](repeating: .empty, count: 4)
nonisolated(unsafe) var strings = [Slot<Void>](repeating: .empty, count: 4)
nonisolated(unsafe) var stringPointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: 4)

func recorderModel(_ slot: Int) -> RecorderModel? {
    if slot >= defaultSlot { return listModels[slot - defaultSlot] }
    if case .live(_, let model) = recorders[slot] { return model }
    return nil
}

/// The model of a DEVSTATE_QEMU_LIST_* selector, nil for an unknown one.
func listModel(_ list: UInt32) -> RecorderModel? {
    list < UInt32(listCount) ? listModels[Int(list)] : nil
}

/// The handle to pass for a slot: live or stale pointer, NULL when empty.
func recorderHandle(_ slot: Int) -> OpaquePointer? {
    if slot == defaultSlot { return devstate_default_recorder() }
    if slot > defaultSlot {
        guard let handle = devstate_qemu_recorder(UInt32(slot - defaultSlot)) else {
            fail("qemu_recorder(\(slot - defaultSlot)) is NULL")
        }
        return handle
    }
    return recorders[slot].pointer
}

/// Errors the handle alone can cause, or nil when the handle is live.
func handleError(_ slot: Int) -> Int32? {
    if slot >= defaultSlot { return nil }
    switch recorders[slot] {
    case .empty: return DEVSTATE_ERR_NULL
    case .dead: return DEVSTATE_ERR_INVALID_HANDLE
    case .live: return nil
    }
}
