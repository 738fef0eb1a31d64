// SPDX-License-Identifier: MIT
import Dispatch
import DevstateModel
import Synchronization

/// Hands the runs to `next` on a thread of its own, in order, so that writing a long report
/// takes its own core while the caller reads and analyses the next runs (`make bench`: every
/// format of a 1 GB log needs both cores to stay above a tenth of grep's speed). Runs go over
/// in batches, and at most a few batches wait, which bounds the memory. The batches come back
/// to be freed by the thread that made them: freed on the other thread, the runs' memory took
/// malloc's lock from under the reading thread, and the two threads took turns instead of
/// working at once. `end` and `flush` return once `next` has done them; until then only the
/// sink's thread touches `next`.
public final class ThreadedSink: ReportSink, @unchecked Sendable {
    private enum Item {
        case begin
        case runs([RunReport])
        case end([InputSummary])
        case flush
    }

    private let next: ReportSink
    private let queue = DispatchQueue(label: "devstate.render")
    /// Batches that may wait at once.
    private let room = DispatchSemaphore(value: 4)
    private let done = DispatchSemaphore(value: 0)
    private var batch: [RunReport] = []
    /// Batches written, for this thread to free.
    private let written = Mutex<[[RunReport]]>([])
    static let batchRuns = 32

    public init(next: ReportSink) {
        self.next = next
    }

    private func send(_ item: Item) {
        room.wait()
        queue.async { [self] in
            switch item {
            case .begin: next.begin()
            case .runs(let runs):
                for run in runs { next.run(run) }
                written.withLock { $0.append(runs) }
            case .end(let inputs): next.end(inputs: inputs)
            case .flush: next.flush()
            }
            room.signal()
            if case .end = item { done.signal() }
            if case .flush = item { done.signal() }
        }
    }

    private func sendBatch() {
        guard !batch.isEmpty else { return }
        send(.runs(batch))
        batch = []
        // Freed here, outside the lock.
        let done = written.withLock { list in
            defer { list = [] }
            return list
        }
        _ = done
    }

    public func begin() { send(.begin) }

    public func run(_ run: RunReport) {
        batch.append(run)
        if batch.count >= Self.batchRuns { sendBatch() }
    }

    public func end(inputs: [InputSummary]) {
        sendBatch()
        send(.end(inputs))
        done.wait()
    }

    public func flush() {
        sendBatch()
        send(.flush)
        done.wait()
    }
}
