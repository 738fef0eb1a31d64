// SPDX-License-Identifier: MIT
import CShim

/// The objects the C ABI has handed out. Handles are never dangling: a freed recorder or
/// snapshot box stays allocated (and reusable), marked dead, so a stale or doubly freed
/// handle is refused with DEVSTATE_ERR_INVALID_HANDLE instead of touching freed memory.
enum Handles {
    nonisolated(unsafe) private static let lock: UnsafeMutablePointer<devstate_shim_lock> = {
        guard let lock = devstate_shim_lock_new() else {
            fatalError("DeviceStateTimes: cannot allocate a lock")
        }
        return lock
    }()
    // Guarded by `lock`.
    nonisolated(unsafe) private static var recorders: [Recorder] = []
    nonisolated(unsafe) private static var retiredRecorders: [Recorder] = []
    nonisolated(unsafe) private static var boxes: [SnapshotBox] = []
    nonisolated(unsafe) private static var freeBoxes: [SnapshotBox] = []
    nonisolated(unsafe) private static var liveStrings: Set<UInt> = []

    private static func locked<R>(_ body: () -> R) -> R {
        devstate_shim_lock_acquire(lock)
        defer { devstate_shim_lock_release(lock) }
        return body()
    }

    // MARK: recorders

    static func newRecorder() -> OpaquePointer? {
        let recorder: Recorder? = locked {
            if let reused = retiredRecorders.popLast() {
                reused.revive()
                return reused
            }
            guard let fresh = Recorder.make() else { return nil }
            recorders.append(fresh)
            return fresh
        }
        return recorder.map { OpaquePointer(Unmanaged.passUnretained($0).toOpaque()) }
    }

    static func freeRecorder(_ handle: OpaquePointer) -> Int32 {
        let recorder = Unmanaged<Recorder>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue()
        if recorder.isDefault { return DEVSTATE_ERR_NOT_OWNED }
        return locked {
            guard recorder.retire() else { return DEVSTATE_ERR_INVALID_HANDLE }
            retiredRecorders.append(recorder)
            return DEVSTATE_OK
        }
    }

    /// Borrows the recorder behind a handle without retain/release traffic (hot path); it is
    /// kept alive by `recorders` or by being `Recorder.shared`.
    @inline(__always)
    static func withRecorder<R>(_ handle: OpaquePointer, _ body: (Recorder) -> R) -> R {
        Unmanaged<Recorder>.fromOpaque(UnsafeRawPointer(handle))._withUnsafeGuaranteedRef(body)
    }

    static func handle(of recorder: Recorder) -> OpaquePointer {
        OpaquePointer(Unmanaged.passUnretained(recorder).toOpaque())
    }

    // MARK: snapshots

    static func newSnapshot(_ snapshot: Snapshot) -> OpaquePointer {
        let box: SnapshotBox = locked {
            let box = freeBoxes.popLast() ?? {
                let fresh = SnapshotBox()
                boxes.append(fresh)
                return fresh
            }()
            box.snapshot = snapshot
            return box
        }
        return OpaquePointer(Unmanaged.passUnretained(box).toOpaque())
    }

    /// The live snapshot behind a handle, or nil once freed.
    static func snapshot(_ handle: OpaquePointer) -> Snapshot? {
        let box = Unmanaged<SnapshotBox>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue()
        return locked { box.snapshot }
    }

    static func freeSnapshot(_ handle: OpaquePointer) -> Int32 {
        let box = Unmanaged<SnapshotBox>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue()
        // The snapshot's buffers are released when this last reference goes, outside the lock.
        let released: Snapshot? = locked {
            guard let snapshot = box.snapshot else { return nil }
            box.snapshot = nil
            freeBoxes.append(box)
            return snapshot
        }
        return released == nil ? DEVSTATE_ERR_INVALID_HANDLE : DEVSTATE_OK
    }

    // MARK: JSON strings

    static func registerString(_ pointer: UnsafeMutablePointer<CChar>) {
        _ = locked { liveStrings.insert(UInt(bitPattern: pointer)) }
    }

    /// True if the pointer was a live string, which the caller may now free.
    static func unregisterString(_ pointer: UnsafeMutablePointer<CChar>) -> Bool {
        locked { liveStrings.remove(UInt(bitPattern: pointer)) != nil }
    }
}

/// What a `devstate_snapshot *` points to; reused after free, never deallocated.
final class SnapshotBox {
    var snapshot: Snapshot?
}
