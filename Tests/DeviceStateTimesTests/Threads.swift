// SPDX-License-Identifier: MIT
import Dispatch
import Foundation

/// Runs each closure on a thread of its own (not a pool, which may run them one after the
/// other), starts them together at a barrier once every thread is up, and waits, bounded,
/// for all. False if some thread had not finished within `timeout` seconds; the caller must
/// then not free what the threads still use.
func onThreads(_ bodies: [@Sendable () -> Void], timeout: Double = 120) -> Bool {
    let barrier = Barrier(parties: bodies.count)
    let done = DispatchSemaphore(value: 0)
    for body in bodies {
        Thread.detachNewThread { barrier.arriveAndWait(); body(); done.signal() }
    }
    let deadline = DispatchTime.now() + timeout
    return bodies.allSatisfy { _ in done.wait(timeout: deadline) == .success }
}

/// Offers the processor to another thread, as a pause between two migrations would: on one
/// core, a reader otherwise runs only when the writer is preempted, seldom between two runs.
func yieldThread() {
    _ = sched_yield()
}

/// A writer and a reader, started together on two threads of their own (see `onThreads`).
func onTwoThreads(writer: @escaping @Sendable () -> Void,
                  reader: @escaping @Sendable () -> Void) -> Bool {
    onThreads([writer, reader])
}

/// Every thread that arrives waits until `parties` threads have arrived, then all go on.
final class Barrier: @unchecked Sendable {
    private let condition = NSCondition()
    private var missing: Int
    init(parties: Int) { missing = parties }
    func arriveAndWait() {
        condition.lock()
        defer { condition.unlock() }
        missing -= 1
        if missing == 0 { condition.broadcast() }
        while missing > 0 { condition.wait() }
    }
}
