// SPDX-License-Identifier: MIT
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import Synchronization

/// Runs handed from the reading thread to the rendering one, in batches: the reading thread
/// parses the next runs and feeds them through the recorder while earlier ones are analysed
/// and written, so a long log keeps both cores busy. Which thread finishes the analysis
/// (`Analyzer.finish`) depends on which one has time: the rendering thread does, unless it
/// lags behind (a format that takes long to write), and then the reading thread finishes the
/// batches it hands over. The reading thread makes the jobs and also frees them (see
/// `Body.run`), so the reference counts of what they share stay on one core.
/// One consumer renders the runs in the order they were handed in, so the output is the same
/// as on one thread. A ring of a few batches bounds the memory.
final class RenderThread: @unchecked Sendable {
    struct Job {
        var index: Int
        var source: Analyzer.PreparedSide?
        var destination: Analyzer.PreparedSide?
        /// Set when the reading thread finished the analysis itself.
        var report: RunReport?

        func finished(_ analyzer: Analyzer, _ finisher: Analyzer.Finisher) -> RunReport {
            report ?? RunReport(index: index, source: source.map { analyzer.finish($0, with: finisher) },
                                destination: destination.map { analyzer.finish($0, with: finisher) })
        }
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
    /// Batches handed over and not yet rendered.
    private final class Count: Sendable { let value = Atomic<Int>(0) }
    private let waiting = Count()
    /// The producer's side: the batch being filled and the slot it goes to next.
    private let analyzer: Analyzer
    private let finisher = Analyzer.Finisher()
    private var batch: [Job] = []
    private var batchDevices = 0
    private var next = 0
    private var finished = false

    /// Starts the thread, which finishes the analysis of each job where needed and hands the
    /// run to `render`, in order.
    init(analyzer: Analyzer, render: @escaping (RunReport) -> Void) {
        self.analyzer = analyzer
        batch.reserveCapacity(Self.batchRuns)
        let body = Body(slots: slots, free: free, ready: ready, done: done, waiting: waiting,
                        analyzer: analyzer, render: render)
        startThread { body.run() }
    }

    /// The consumer's side, which owns `render` (and through it the sink).
    private struct Body: @unchecked Sendable {
        let slots: [Slot]
        let free: DispatchSemaphore
        let ready: DispatchSemaphore
        let done: DispatchSemaphore
        let waiting: Count
        let analyzer: Analyzer
        let render: (RunReport) -> Void

        func run() {
            let finisher = Analyzer.Finisher()
            var index = 0
            while true {
                ready.wait()
                let slot = slots[index]
                let last = slot.last
                // The jobs stay in the slot, and the reading thread frees them when it fills
                // the slot again: what it made, it frees, so the reference counts of what the
                // runs share are not passed back and forth between the two cores.
                slot.jobs.withUnsafeBufferPointer { jobs in
                    for i in jobs.indices { render(jobs[i].finished(analyzer, finisher)) }
                }
                waiting.value.subtract(1, ordering: .relaxed)
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
        // The rendering thread has another batch waiting besides the one it renders: it is the
        // slower one, so this thread finishes this batch's analysis rather than wait for a slot.
        if waiting.value.load(ordering: .relaxed) >= 2 {
            for i in batch.indices { batch[i].report = batch[i].finished(analyzer, finisher) }
        }
        free.wait()
        let slot = slots[next]
        slot.jobs = batch
        slot.last = last
        waiting.value.add(1, ordering: .relaxed)
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
