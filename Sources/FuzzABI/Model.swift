// SPDX-License-Identifier: MIT
// The model of the documented contract: what each recorder, list and snapshot must hold.
import CShim
#if canImport(Glibc)
import Glibc
#endif

// MARK: model of the contract

struct ModelEntry: Equatable {
    var name: [UInt8]
    var instance: UInt32
    var time: UInt64
    var flags: UInt32
    /// A step's (DEVSTATE_ENTRY_STEP, since 0.3.0) device, device type and start reading; its
    /// kind is `instance`, its duration `time`.
    var device: [UInt8] = []
    var type: [UInt8] = []
    var start: Int64 = 0
}

/// none: nothing to report (never begun, or discarded); armed: the next record opens a run.
enum ModelState { case none, armed, open, ended }

/// A reference type, so recording into the model appends in place (no copy per record).
final class RecorderModel {
    var state = ModelState.none
    var entries: [ModelEntry] = []
    var skipped: UInt64 = 0
    var dropped: UInt64 = 0
    /// Records refused while the run was open (since 0.3.0).
    var refused: UInt64 = 0
    var run: UInt64 = 0
    /// The run's origin: the least of every kept checkpoint's reading and of every span start
    /// given to devstate_qemu_record_in (skipped 0 us spans included, refused calls not); nil
    /// until the run has seen one.
    var origin: Int64?

    func begin() {
        clear()
        state = .open
        run &+= 1
    }

    private func clear() {
        entries.removeAll(keepingCapacity: true)
        skipped = 0
        dropped = 0
        refused = 0
        origin = nil
    }

    /// devstate_run_arm: the run is dropped and the next record opens a new one.
    func arm() {
        clear()
        state = .armed
    }

    /// devstate_run_discard: the run is dropped, nothing is open.
    func discard() {
        clear()
        state = .none
    }

    /// Whether a record call may go into a run: an open one, or an armed one it opens.
    var accepts: Bool { state == .open || state == .armed }

    /// A record call reaches the run (kept, skipped or refused): an armed run opens first.
    func reach() {
        if state == .armed { begin() }
    }

    /// A record refused with `status` by a live recorder: counted unless no run took it.
    func noteRefusal(_ status: Int32) {
        guard status != DEVSTATE_ERR_NO_RUN, status != DEVSTATE_ERR_INVALID_HANDLE,
              status != DEVSTATE_ERR_NO_LIST, accepts else { return }
        reach()
        refused &+= 1
    }

    /// A step refused by a live recorder: counted by an open run only (an armed one stays so).
    func noteStepRefusal(_ status: Int32) {
        guard status != DEVSTATE_ERR_NO_RUN, status != DEVSTATE_ERR_INVALID_HANDLE,
              status != DEVSTATE_ERR_NO_LIST, state == .open else { return }
        refused &+= 1
    }

    func noteReading(_ reading: Int64) {
        if let origin, origin <= reading { return }
        origin = reading
    }
}

struct SnapshotModel {
    var entries: [ModelEntry]
    var skipped: UInt64
    var dropped: UInt64
    var refused: UInt64
    var run: UInt64
    var complete: Bool
    var origin: Int64?
}

/// The DEVSTATE_ENTRY_* values a record may carry: exactly one of them.
func isEntryFlags(_ flags: UInt32) -> Bool {
    flags == DEVSTATE_ENTRY_VMSD || flags == DEVSTATE_ENTRY_HANDLER
        || flags == DEVSTATE_ENTRY_ITERABLE || flags == DEVSTATE_ENTRY_CHECKPOINT
        || flags == DEVSTATE_ENTRY_STEP
}

/// A checkpoint's time in the JSON and in devstate_qemu_checkpoints: its reading minus the
/// run's origin in exact (128-bit) arithmetic, 0 if negative.
func checkpointOffset(_ entry: ModelEntry, origin: Int64?) -> UInt64 {
    let reading = Int64(bitPattern: entry.time)
    guard let origin else { fail("model: a kept checkpoint but no origin") }
    let difference = Int128(reading) - Int128(origin)
    if difference <= 0 { return 0 }
    expect(difference <= Int128(UInt64.max), "model: checkpoint offset over 64 bits")
    return UInt64(difference)
}

/// The time a span hook keeps for [start, end]: end - start when positive, else 0. When
/// end - start does not fit in an int64 (only with absurd clock readings) the library may
/// compute it wrapped (a positive span turns negative and is skipped, a negative one turns
/// positive and is kept); the model accepts that or the exact result, and only in that case
/// (Tests/fuzz/regressions/abi/qemu-record-*). Exactly one of the two is then > 0.
func spanTime(_ start: Int64, _ end: Int64, status: Int32) -> UInt64 {
    let difference = Int128(end) - Int128(start)
    let exact: UInt64 = difference > 0 ? UInt64(difference) : 0
    guard difference < Int128(Int64.min) || difference > Int128(Int64.max) else { return exact }
    let wrapped = end &- start
    return status == DEVSTATE_SKIPPED_ZERO ? 0 : max(exact, wrapped > 0 ? UInt64(wrapped) : 0)
}

enum Slot<Model> {
    case empty
    case live(OpaquePointer, Model)
    case dead(OpaquePointer)

    var pointer: OpaquePointer? {
        switch self {
        case .empty: nil
        case .live(let p, _), .dead(let p): p
        }
    }
}
