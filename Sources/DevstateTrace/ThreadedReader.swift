// SPDX-License-Identifier: MIT
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch

// The fast path for big files: a reading thread fills chunks and finds their marker lines; the
// calling thread parses them. It gives what `readDirect` gives (ThreadedReaderTests).

/// A ring of chunk slots that bounds the memory; semaphores pass slots back and forth.
final class ChunkRing: @unchecked Sendable {
    final class Slot {
        let buffer: UnsafeMutablePointer<UInt8>
        var items: [LineItem] = []
        var last = false
        init(capacity: Int) {
            buffer = .allocate(capacity: capacity)
            items.reserveCapacity(1 << 14)
        }
        deinit { buffer.deallocate() }
    }

    let slots: [Slot]
    let free: DispatchSemaphore
    let ready = DispatchSemaphore(value: 0)
    let done = DispatchSemaphore(value: 0)
    var result: Result<ReadCounts, LogReadError> = .success(ReadCounts())

    init(count: Int, capacity: Int) {
        slots = (0..<count).map { _ in Slot(capacity: capacity) }
        free = DispatchSemaphore(value: count)
    }
}

/// The reading thread's sink: fills slots in turn. Items go to a local array that is swapped
/// into the slot when the chunk is complete (no shared access per line).
struct RingSink: ChunkSink {
    static var readsStamps: Bool { false }
    let ring: ChunkRing
    var index = -1
    var items: [LineItem] = []

    init(ring: ChunkRing) {
        self.ring = ring
        items.reserveCapacity(1 << 14)
    }

    private mutating func publish() {
        let slot = ring.slots[index]
        swap(&slot.items, &items)
        items.removeAll(keepingCapacity: true)
    }

    mutating func nextBuffer(current: UnsafeMutablePointer<UInt8>?, from: Int,
                             keep: Int) -> UnsafeMutablePointer<UInt8> {
        ring.free.wait()
        let nextIndex = (index + 1) % ring.slots.count
        let slot = ring.slots[nextIndex]
        slot.last = false
        if let current, keep > 0 { memcpy(slot.buffer, current + from, keep) }
        if index >= 0 {
            publish()
            ring.ready.signal()  // the previous slot is complete
        }
        index = nextIndex
        return slot.buffer
    }

    @inline(__always)
    mutating func item(_ item: LineItem, in chunk: UnsafeMutablePointer<UInt8>) {
        items.append(item)
    }

    mutating func finish(current: UnsafeMutablePointer<UInt8>?) {
        publish()
        ring.slots[index].last = true
        ring.ready.signal()
    }
}

extension LogReader {
    /// The two-thread read: same results as the single-thread one.
    func readThreaded<C: TraceConsumer>(fd: Int32, name: String, path: String,
                                        consumer: inout C) throws(LogReadError) -> ReadStats {
        // Three 2 MiB chunks: one being read, one being parsed, one spare.
        let capacity = max(min(chunkSize, 1 << 21), 2 * maxLineLength)
        let ring = ChunkRing(count: 3, capacity: capacity)
        let maxLine = maxLineLength
        DispatchQueue.global().async {
            var sink = RingSink(ring: ring)
            do throws(LogReadError) {
                let counts = try readChunks(fd: fd, path: path, capacity: capacity,
                                            maxLineLength: maxLine, sink: &sink)
                ring.result = .success(counts)
            } catch {
                ring.result = .failure(error)
            }
            ring.done.signal()
        }
        var scanner = Scanner(name: name, keep: keepMalformed)
        var index = 0
        while true {
            ring.ready.wait()
            let slot = ring.slots[index]
            let chunk = UnsafePointer(slot.buffer)
            for item in slot.items { scanner.take(item, in: chunk, &consumer) }
            let last = slot.last
            ring.free.signal()
            index = (index + 1) % ring.slots.count
            if last { break }
        }
        ring.done.wait()
        return scanner.finish(try ring.result.get())
    }
}
