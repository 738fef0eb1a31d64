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
/// parses and analyses the next runs while earlier ones are written, so a long log keeps both
/// cores busy (the analyzer keeps state from run to run, so it stays on one thread).
/// One consumer renders the runs in the order they were handed in, so the output is the same
/// as on one thread. A ring of a few batches bounds the memory.
final class RenderThread: @unchecked Sendable {
    /// A run as the reading thread hands it over: its sides' facts, which the rendering
    /// thread assembles (`Analyzer.assemble`) before the sink gets them, or, when the
    /// rendering thread is behind, sides the reading thread assembled itself.
    struct Job {
        var index: Int
        var source: Side?
        var destination: Side?
    }

    enum Side {
        case facts(SideFacts)
        case report(SideReport)

        var devices: Int {
            switch self {
            case .facts(let f): f.log.devices.count
            case .report(let r): r.devices.count
            }
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
                let jobs = slot.jobs
                let last = slot.last
                slot.jobs = []
                free.signal()
                for job in jobs { render(job) }
                if last { break }
                index = (index + 1) % slots.count
            }
            done.signal()
        }
    }

    func submit(_ job: Job) {
        batchDevices += (job.source?.devices ?? 0) + (job.destination?.devices ?? 0)
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

    /// Whether every slot is full, so that handing over the next batch would wait for the
    /// rendering thread: the reading thread had better do some of its work meanwhile.
    var isBehind: Bool {
        guard free.wait(timeout: .now()) == .success else { return true }
        free.signal()
        return false
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
