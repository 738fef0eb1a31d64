// SPDX-License-Identifier: MIT
import CShim
import DeviceStateTimes
import Dispatch
import Testing

/// QEMU records from its migration thread while its main loop queries; these run under
/// ThreadSanitizer in CI (`swift test --sanitize=thread --filter Concurrency`).
@Suite struct ConcurrencyTests {
    static let runs = 200
    static let perRun = 50

    /// Every snapshot must be a prefix of one run's sequence, never a mix of two runs.
    private static func checkConsistent(_ snapshot: Snapshot) -> Bool {
        for (index, entry) in snapshot.enumerated() {
            guard entry.instanceID == UInt32(index),
                  entry.saveTime == snapshot.run * 1_000 + UInt64(index),
                  entry.name == "dev-\(snapshot.run)-\(index)" else { return false }
        }
        return snapshot.count <= perRun
    }

    @Test func recordWhileOthersQueryFromSwift() throws {
        let recorder = Recorder()
        let inconsistent = Counter()
        DispatchQueue.concurrentPerform(iterations: 3) { worker in
            if worker == 0 {
                for run in 1...Self.runs {
                    recorder.beginRun()
                    for index in 0..<Self.perRun {
                        _ = try? recorder.record(name: "dev-\(run)-\(index)", instanceID: UInt32(index),
                                                 saveTime: UInt64(run * 1_000 + index))
                    }
                    try? recorder.endRun()
                }
            } else {
                for _ in 0..<Self.runs {
                    if let snapshot = try? recorder.snapshot() {
                        if !Self.checkConsistent(snapshot) { inconsistent.add() }
                        _ = try? snapshot.json()
                    }
                }
            }
        }
        #expect(inconsistent.value == 0)
        let last = try recorder.snapshot()
        #expect(last.run == UInt64(Self.runs) && last.count == Self.perRun && last.isComplete)
    }

    @Test func recordWhileOthersQueryAndResetThroughTheCABI() throws {
        var handle: OpaquePointer?
        #expect(devstate_recorder_new(&handle) == DEVSTATE_OK)
        nonisolated(unsafe) let recorder = try #require(handle)
        let failures = Counter()
        DispatchQueue.concurrentPerform(iterations: 4) { worker in
            switch worker {
            case 0:
                for run in 0..<Self.runs {
                    devstate_run_begin(recorder)
                    for index in 0..<Self.perRun {
                        let status = devstate_record(recorder, "dev-\(index)", UInt32(index),
                                                     UInt64(run + index), 0)
                        // Another thread may reset the run under us; nothing else is allowed.
                        if status != DEVSTATE_OK && status != DEVSTATE_SKIPPED_ZERO
                            && status != DEVSTATE_ERR_NO_RUN { failures.add() }
                    }
                    devstate_run_end(recorder)
                }
            case 1:
                for _ in 0..<Self.runs / 4 { devstate_run_begin(recorder) }
            default:
                for _ in 0..<Self.runs {
                    var snapshot: OpaquePointer?
                    guard devstate_snapshot_take(recorder, &snapshot) == DEVSTATE_OK else { continue }
                    var info = devstate_snapshot_info()
                    devstate_snapshot_get_info(snapshot, &info)
                    var text: UnsafeMutablePointer<CChar>?
                    if devstate_snapshot_json(snapshot, 0, &text) != DEVSTATE_OK { failures.add() }
                    devstate_json_free(text)
                    var entry = devstate_entry()
                    for index in 0..<info.count where devstate_snapshot_entry(snapshot, index, &entry) != DEVSTATE_OK {
                        failures.add()
                    }
                    if devstate_snapshot_free(snapshot) != DEVSTATE_OK { failures.add() }
                }
            }
        }
        #expect(failures.value == 0)
        #expect(devstate_recorder_free(recorder) == DEVSTATE_OK)
    }
}

/// A thread-safe counter for the tests' own bookkeeping.
final class Counter: @unchecked Sendable {
    private let lock = devstate_shim_lock_new()!
    private var count = 0
    func add() {
        devstate_shim_lock_acquire(lock)
        count += 1
        devstate_shim_lock_release(lock)
    }
    var value: Int {
        devstate_shim_lock_acquire(lock)
        defer { devstate_shim_lock_release(lock) }
        return count
    }
}
