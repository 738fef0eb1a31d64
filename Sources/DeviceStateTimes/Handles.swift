// SPDX-License-Identifier: MIT
import CDevstateShim
import CShim

/// A snapshot handle's body, after its C head (lock, the registry's link): the run copy it
/// owns, or none once freed. Touched only under the head's lock.
struct SnapshotBody: ~Copyable {
    var copy: RunCopy?
}

/// The objects the C ABI has handed out. Handles are never dangling: a freed recorder or
/// snapshot block stays allocated (and reusable), marked dead, so a stale or doubly freed
/// handle is refused with DEVSTATE_ERR_INVALID_HANDLE instead of touching freed memory.
/// Everything lives in malloc'd blocks and in the shim's static globals, so handing out a
/// handle allocates nothing through the Swift runtime and exhaustion is a status code.
enum Handles {
    private static var globals: UnsafeMutablePointer<devstate_shim_globals_t> { devstate_shim_globals() }

    private static func locked<R>(_ body: (UnsafeMutablePointer<devstate_shim_globals_t>) -> R) -> R {
        let lock = devstate_shim_globals_lock()
        devstate_shim_lock_acquire(lock)
        defer { devstate_shim_lock_release(lock) }
        return body(globals)
    }

    // MARK: default recorders

    /// The default recorder of QEMU list `index` (0: devstate_default_recorder), made on first
    /// use; nil when memory is exhausted (a later call tries again).
    static func list(_ index: Int) -> RecorderRef? {
        if let raw = devstate_shim_load_list(index) {
            return RecorderRef(raw.assumingMemoryBound(to: devstate_shim_head.self))
        }
        return locked { _ in
            if let raw = devstate_shim_load_list(index) {
                return RecorderRef(raw.assumingMemoryBound(to: devstate_shim_head.self))
            }
            guard let made = RecorderRef.make(isDefault: true) else { return nil }
            devstate_shim_store_list(index, UnsafeMutableRawPointer(made.head))
            return made
        }
    }

    // MARK: recorders

    static func newRecorder() -> OpaquePointer? {
        let reused: RecorderRef? = locked { globals in
            guard let raw = globals.pointee.retired_recorders else { return nil }
            let recorder = RecorderRef(raw.assumingMemoryBound(to: devstate_shim_head.self))
            globals.pointee.retired_recorders = recorder.nextRetired.map { UnsafeMutableRawPointer($0) }
            recorder.nextRetired = nil
            return recorder
        }
        if let reused {
            reused.revive()
            return reused.handle
        }
        return RecorderRef.make(isDefault: false)?.handle
    }

    static func freeRecorder(_ handle: OpaquePointer) -> Int32 {
        let recorder = RecorderRef(handle: handle)
        if recorder.isDefault { return DEVSTATE_ERR_NOT_OWNED }
        return locked { globals in
            guard recorder.retire() else { return DEVSTATE_ERR_INVALID_HANDLE }
            recorder.nextRetired = globals.pointee.retired_recorders?
                .assumingMemoryBound(to: devstate_shim_head.self)
            globals.pointee.retired_recorders = UnsafeMutableRawPointer(recorder.head)
            return DEVSTATE_OK
        }
    }

    // MARK: snapshots

    private static func body(_ head: UnsafeMutablePointer<devstate_shim_head>) -> UnsafeMutablePointer<SnapshotBody> {
        devstate_shim_head_body(head).assumingMemoryBound(to: SnapshotBody.self)
    }

    /// A handle that owns `copy`, or nil when memory is exhausted (the copy is freed then).
    static func newSnapshot(_ copy: consuming RunCopy) -> OpaquePointer? {
        var head: UnsafeMutablePointer<devstate_shim_head>? = locked { globals in
            guard let raw = globals.pointee.free_snapshots else { return nil }
            let head = raw.assumingMemoryBound(to: devstate_shim_head.self)
            globals.pointee.free_snapshots = devstate_shim_head_next(head)
            devstate_shim_head_set_next(head, nil)
            return head
        }
        if head == nil {
            let size = devstate_shim_body_offset() + MemoryLayout<SnapshotBody>.stride
            guard let raw = devstate_shim_calloc(1, size) else { return nil }
            let fresh = raw.bindMemory(to: devstate_shim_head.self, capacity: 1)
            devstate_shim_head_init(fresh, 0, 0)
            devstate_shim_head_body(fresh).bindMemory(to: SnapshotBody.self, capacity: 1)
                .initialize(to: SnapshotBody(copy: nil))
            head = fresh
        }
        let handle = head.unsafelyUnwrapped
        let lock = devstate_shim_head_lock(handle)
        devstate_shim_lock_acquire(lock)
        body(handle).pointee.copy = consume copy
        devstate_shim_lock_release(lock)
        return OpaquePointer(handle)
    }

    /// Runs `body` on the live copy behind a handle, holding the handle's own lock so that a
    /// concurrent free waits; DEVSTATE_ERR_INVALID_HANDLE once freed.
    static func withSnapshot(_ handle: OpaquePointer, _ work: (borrowing RunCopy) -> Int32) -> Int32 {
        let head = UnsafeMutablePointer<devstate_shim_head>(handle)
        let lock = devstate_shim_head_lock(head)
        devstate_shim_lock_acquire(lock)
        defer { devstate_shim_lock_release(lock) }
        switch body(head).pointee.copy {
        case .some(let copy): return work(copy)
        case .none: return DEVSTATE_ERR_INVALID_HANDLE
        }
    }

    static func freeSnapshot(_ handle: OpaquePointer) -> Int32 {
        let head = UnsafeMutablePointer<devstate_shim_head>(handle)
        let lock = devstate_shim_head_lock(head)
        devstate_shim_lock_acquire(lock)
        let released = body(head).pointee.copy.take()
        devstate_shim_lock_release(lock)
        guard released != nil else { return DEVSTATE_ERR_INVALID_HANDLE }
        _ = consume released  // the copy's memory goes here, outside every lock
        locked { globals in
            devstate_shim_head_set_next(head, globals.pointee.free_snapshots)
            globals.pointee.free_snapshots = UnsafeMutableRawPointer(head)
        }
        return DEVSTATE_OK
    }

    // MARK: JSON strings

    /// Notes a string as live; false when the registry cannot grow (the caller frees it).
    static func registerString(_ pointer: UnsafeMutablePointer<CChar>) -> Bool {
        locked { globals in
            let count = globals.pointee.string_count
            if count == globals.pointee.string_capacity {
                let capacity = max(16, count * 2)
                guard let raw = devstate_shim_realloc(UnsafeMutableRawPointer(globals.pointee.strings),
                                                      capacity * MemoryLayout<UnsafeMutableRawPointer?>.stride)
                else { return false }
                globals.pointee.strings = raw.bindMemory(to: UnsafeMutableRawPointer?.self, capacity: capacity)
                globals.pointee.string_capacity = capacity
            }
            globals.pointee.strings.unsafelyUnwrapped[count] = UnsafeMutableRawPointer(pointer)
            globals.pointee.string_count = count + 1
            return true
        }
    }

    /// True if the pointer was a live string, which the caller may now free.
    static func unregisterString(_ pointer: UnsafeMutablePointer<CChar>) -> Bool {
        locked { globals in
            let count = globals.pointee.string_count
            guard count > 0, let strings = globals.pointee.strings else { return false }
            let target = UnsafeMutableRawPointer(pointer)
            for index in 0..<count where strings[index] == target {
                strings[index] = strings[count - 1]
                globals.pointee.string_count = count - 1
                return true
            }
            return false
        }
    }
}
