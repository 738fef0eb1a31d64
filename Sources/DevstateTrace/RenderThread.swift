// SPDX-License-Identifier: MIT
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch

/// Runs handed from the reading thread to the rendering one, in batches: the reading thread
/// parses the next runs and feeds them through the recorder while earlier ones are analysed
/// and written, so a long log keeps both cores busy. The reading thread makes the jobs and
/// also frees them (see `Body.run`), so the reference counts of what they share stay on one
/// core.
/// One consumer renders the runs in the order they were handed in, so the output is the same
/// as on one thread. A ring of a few batches bounds the memory.
final class RenderThread: @unchecked Sendable {
    struct Job {
        var index: Int
        var source: Analyzer.PreparedSide?
        var destination: Analyzer.PreparedSide?
    }

    /// A batch is handed over when it holds this many runs or device lines.
    static let batchRuns = 32
    static let batchDevices = 8_192

    private final class Slot {
        var jobs: [Job] = []
        var last = false
    }

    private let slots = (0..<4).map { _ in Slot() }
    private let free = DispatchSemaphore(value: 4)
    private let ready = DispatchSemaphore(value: 0)
    private let done = DispatchSemaphore(value: 0)
    /// The producer's side: the batch being filled and the slot it goes to next.
    private var batch: [Job] = []
    private var batchDevices = 0
    private var next = 0
    private var finished = false

    /// Starts the thread; `render` is called on it for each job, in order.
    init(render: @escaping (Job) -> Void) {
        batch.reserveCapacity(Self.batchRuns)
        let body = Body(slots: slots, free: free, ready: ready, done: done, render: render)
        startThread { body.run() }
    }

    /// The consumer's side, which owns `render` (and through it the analyzer and the sink).
    private struct Body: @unchecked Sendable {
        let slots: [Slot]
        let free: DispatchSemaphore
        let ready: DispatchSemaphore
        let done: DispatchSemaphore
        let render: (Job) -> Void

        func run() {
            var index = 0
            while true {
                ready.wait()
                let slot = slots[index]
                let last = slot.last
                // The jobs stay in the slot, and the reading thread frees them when it fills
                // the slot again: what it made, it frees, so the reference counts of the names
                // the runs share are not passed back and forth between the two cores.
                slot.jobs.withUnsafeBufferPointer { jobs in
                    for i in jobs.indices { render(jobs[i]) }
                }
                free.signal()
                if last { break }
                index = (index + 1) % slots.count
            }
            done.signal()
        }
    }

    func submit(_ job: Job) {
        batchDevices += (job.source?.log.lines.count ?? 0) + (job.destination?.log.lines.count ?? 0)
        batch.append(job)
        if batch.count >= Self.batchRuns || batchDevices >= Self.batchDevices { handOver(last: false) }
    }

    private func handOver(last: Bool) {
        free.wait()
        let slot = slots[next]
        slot.jobs = batch
        slot.last = last
        ready.signal()
        next = (next + 1) % slots.count
        batch = []
        batch.reserveCapacity(Self.batchRuns)
        batchDevices = 0
    }

    /// Hands over what is left and waits until every run has been rendered.
    func finish() {
        guard !finished else { return }
        finished = true
        handOver(last: true)
        done.wait()
    }
}

/// Starts a thread of its own (not a pool's, which may be busy with the reader).
private func startThread(_ body: @escaping @Sendable () -> Void) {
    final class Box: @unchecked Sendable { let body: @Sendable () -> Void; init(_ b: @escaping @Sendable () -> Void) { body = b } }
    let box = Unmanaged.passRetained(Box(body)).toOpaque()
    var thread = pthread_t()
    let status = pthread_create(&thread, nil, { raw in
        let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
        box.body()
        return nil
    }, box)
    guard status == 0 else {
        // No thread to be had: run on a pool's instead.
        let box = Unmanaged<Box>.fromOpaque(box).takeRetainedValue()
        DispatchQueue.global().async { box.body() }
        return
    }
    pthread_detach(thread)
}
