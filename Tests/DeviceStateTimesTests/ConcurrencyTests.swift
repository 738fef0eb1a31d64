// SPDX-License-Identifier: MIT
import CShim
import DeviceStateTimes
import Synchronization
import Testing

/// QEMU records from its migration thread while its main loop queries; these run under
/// ThreadSanitizer in CI (`swift test --sanitize=thread --filter Concurrency`).
/// The threads are threads of their own, started together at a barrier (`onThreads`), and
/// each test asserts that some snapshots saw an open run and some a complete one, so it
/// proves that queries overlapped the recording rather than ran before or after it.
@Suite struct ConcurrencyTests {
    static let perRun = 50
    /// The readers stop once each kind of snapshot has been seen this many times in all.
    static let enough = 10
    /// Bounds for a scheduling that never overlaps: the writer's runs, each reader's queries.
    static let maxRuns = 5_000
    static let maxQueries = 200_000

    /// Every snapshot must be a prefix of one run's sequence, never a mix of two runs, and a
    /// complete run must hold the whole sequence.
    private static func checkConsistent(_ snapshot: Snapshot) -> Bool {
        for (index, entry) in snapshot.enumerated() {
            guard entry.instanceID == UInt32(index),
                  entry.saveTime == snapshot.run * 1_000 + UInt64(index),
                  entry.name == "dev-\(snapshot.run)-\(index)" else { return false }
        }
        return snapshot.isComplete ? snapshot.count == perRun : snapshot.count <= perRun
    }

    @Test func recordWhileOthersQueryFromSwift() throws {
        let recorder = Recorder()
        let inconsistent = Counter(), failures = Counter()
        let sawOpen = Counter(), sawComplete = Counter()
        let runs = Counter(), readersDone = Counter(), writerDone = Counter()
        let readers = 2
        // The writer keeps running migrations until the readers have seen both an open and a
        // complete run (however the threads get scheduled), bounded by maxRuns.
        let writer: @Sendable () -> Void = {
            defer { writerDone.add() }
            var run = 1
            while readersDone.value < readers && run <= Self.maxRuns {
                recorder.beginRun()
                for index in 0..<Self.perRun {
                    do {
                        _ = try recorder.record(name: "dev-\(run)-\(index)", instanceID: UInt32(index),
                                                saveTime: UInt64(run * 1_000 + index))
                    } catch { failures.add() }
                }
                do { try recorder.endRun() } catch { failures.add() }
                runs.add()
                // Between two runs is a short window; a pause lets the readers into it,
                // until they have seen enough complete runs.
                if sawComplete.value < Self.enough { yieldThread() }
                run += 1
            }
        }
        let reader: @Sendable () -> Void = {
            defer { readersDone.add() }
            for _ in 0..<Self.maxQueries {
                let writing = writerDone.value == 0
                do {
                    let snapshot = try recorder.snapshot()
                    (snapshot.isComplete ? sawComplete : sawOpen).add()
                    if !Self.checkConsistent(snapshot) { inconsistent.add() }
                    if (try? snapshot.json()) == nil { failures.add() }
                } catch DeviceStateError.empty {
                    // Before the writer's first run.
                } catch { failures.add() }
                if !writing || (sawOpen.value >= Self.enough && sawComplete.value >= Self.enough) { break }
            }
        }
        let finished = onThreads([writer] + Array(repeating: reader, count: readers))
        print("recordWhileOthersQueryFromSwift: \(runs.value) runs; snapshots of an open run "
              + "\(sawOpen.value), of a complete run \(sawComplete.value)")
        #expect(finished, "the threads did not finish within 120 s")
        #expect(inconsistent.value == 0, "a snapshot was not a prefix of exactly one run")
        #expect(failures.value == 0)
        #expect(sawOpen.value > 0, "no snapshot overlapped an open run (taken between beginRun and endRun)")
        #expect(sawComplete.value > 0, "no snapshot saw a complete run")
        guard finished else { return }
        let last = try recorder.snapshot()
        #expect(last.run == UInt64(runs.value) && last.count == Self.perRun && last.isComplete)
    }

    @Test func recordWhileOthersQueryAndResetThroughTheCABI() throws {
        var handle: OpaquePointer?
        #expect(devstate_recorder_new(&handle) == DEVSTATE_OK)
        nonisolated(unsafe) let recorder = try #require(handle)
        let failures = Counter(), torn = Counter()
        let sawOpen = Counter(), sawComplete = Counter()
        let runs = Counter(), readersDone = Counter(), writerDone = Counter()
        let readers = 2
        // The writer keeps running migrations until the readers have seen both an open and a
        // complete run, bounded by maxRuns; a second thread resets (begins) runs under it.
        let writer: @Sendable () -> Void = {
            defer { writerDone.add() }
            var run = 0
            while readersDone.value < readers && run < Self.maxRuns {
                devstate_run_begin(recorder)
                for index in 0..<Self.perRun {
                    let status = devstate_record(recorder, "dev-\(index)", UInt32(index),
                                                 UInt64(run + index), 0)
                    // Another thread may reset the run under us; nothing else is allowed.
                    if status != DEVSTATE_OK && status != DEVSTATE_SKIPPED_ZERO
                        && status != DEVSTATE_ERR_NO_RUN { failures.add() }
                }
                // Only begins happen elsewhere, so a run is open here.
                if devstate_run_end(recorder) != DEVSTATE_OK { failures.add() }
                runs.add()
                // Between two runs is a short window; a pause lets the readers into it,
                // until they have seen enough complete runs.
                if sawComplete.value < Self.enough { yieldThread() }
                run += 1
            }
        }
        let resetter: @Sendable () -> Void = {
            for _ in 0..<50 { devstate_run_begin(recorder) }
        }
        let reader: @Sendable () -> Void = {
            defer { readersDone.add() }
            for _ in 0..<Self.maxQueries {
                let writing = writerDone.value == 0
                var snapshot: OpaquePointer?
                let taken = devstate_snapshot_take(recorder, &snapshot)
                if taken == DEVSTATE_OK {
                    var info = devstate_snapshot_info()
                    if devstate_snapshot_get_info(snapshot, &info) != DEVSTATE_OK { failures.add() }
                    switch info.complete {
                    case 0: sawOpen.add()
                    case 1: sawComplete.add()
                    default: failures.add()
                    }
                    if info.count > UInt64(Self.perRun) || info.reserved != 0 { torn.add() }
                    var text: UnsafeMutablePointer<CChar>?
                    if devstate_snapshot_json(snapshot, 0, &text) != DEVSTATE_OK { failures.add() }
                    devstate_json_free(text)
                    // Within one run the writer's entries come in order, whatever the resets.
                    var entry = devstate_entry()
                    var previous: Int64 = -1
                    for index in 0..<info.count {
                        guard devstate_snapshot_entry(snapshot, index, &entry) == DEVSTATE_OK else {
                            failures.add()
                            continue
                        }
                        if Int64(entry.instance_id) <= previous
                            || String(cString: entry.name) != "dev-\(entry.instance_id)" { torn.add() }
                        previous = Int64(entry.instance_id)
                    }
                    if devstate_snapshot_free(snapshot) != DEVSTATE_OK { failures.add() }
                } else if taken != DEVSTATE_ERR_EMPTY {
                    failures.add()
                }
                if !writing || (sawOpen.value >= Self.enough && sawComplete.value >= Self.enough) { break }
            }
        }
        let finished = onThreads([writer, resetter] + Array(repeating: reader, count: readers))
        print("recordWhileOthersQueryAndResetThroughTheCABI: \(runs.value) runs; snapshots of an open run "
              + "\(sawOpen.value), of a complete run \(sawComplete.value)")
        #expect(finished, "the threads did not finish within 120 s")
        #expect(failures.value == 0, "a call returned a status other than the allowed ones")
        #expect(torn.value == 0, "a snapshot mixed two runs or had more entries than a run records")
        #expect(sawOpen.value > 0, "no snapshot overlapped an open run (complete == 0 in devstate_snapshot_info)")
        #expect(sawComplete.value > 0, "no snapshot saw a complete run (complete == 1 in devstate_snapshot_info)")
        // A thread still running after the timeout may use the recorder: leak it then.
        guard finished else { return }
        #expect(devstate_recorder_free(recorder) == DEVSTATE_OK)
    }
}

/// A thread-safe counter for the tests' own bookkeeping.
final class Counter: Sendable {
    private let count = Atomic<Int>(0)
    func add() {
        count.add(1, ordering: .relaxed)
    }
    var value: Int { count.load(ordering: .relaxed) }
}
