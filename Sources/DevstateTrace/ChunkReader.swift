#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Dispatch

/// A line that the reading stage hands to the parsing stage.
enum LineItem {
    /// A line holding the marker: `count` bytes at `start` of the chunk, marker at `marker`.
    case line(start: Int, count: Int, marker: Int, number: Int, prefix: LineParser.Prefix)
    /// A line over the length limit (its number; whether it mentioned the marker).
    case overlong(number: Int, hadMarker: Bool)
    /// The last line, without a newline.
    case final(start: Int, count: Int, number: Int)
}

/// Where the reading stage puts chunks and lines.
protocol ChunkSink {
    /// The buffer to read into next; its first `keep` bytes must hold `current[from..<from+keep]`
    /// (the unfinished line). Everything handed out for `current` is complete.
    mutating func nextBuffer(current: UnsafeMutablePointer<UInt8>?, from: Int,
                             keep: Int) -> UnsafeMutablePointer<UInt8>
    mutating func item(_ item: LineItem, in chunk: UnsafeMutablePointer<UInt8>)
    /// No more chunks.
    mutating func finish(current: UnsafeMutablePointer<UInt8>?)
    /// Whether the reading stage reads the stamps (else the parsing stage does).
    static var readsStamps: Bool { get }
}

/// What the reading stage counts.
struct ReadCounts {
    var bytes: UInt64 = 0
    var lines = 0
    var endedWithoutNewline = false
}

/// The reading stage: reads `fd` in chunks of `capacity`, finds the lines that hold the marker
/// (and counts all lines), and hands them to `sink` chunk by chunk.
func readChunks<S: ChunkSink>(fd: Int32, path: String, capacity: Int, maxLineLength: Int,
                              sink: inout S) throws(LogReadError) -> ReadCounts {
    var counts = ReadCounts()
    var buffer = sink.nextBuffer(current: nil, from: 0, keep: 0)
    var filled = 0
    var skippingLongLine = false
    var longLineHadMarker = false
    var longLineStart = 0
    let tail = LineParser.marker.count - 1
    func next(_ from: Int, _ keep: Int) {
        buffer = sink.nextBuffer(current: buffer, from: from, keep: keep)
        filled = keep
    }
    while true {
        let got = Glibc.read(fd, buffer + filled, capacity - filled)
        if got < 0 {
            if errno == EINTR { continue }
            let message = String(cString: strerror(errno))
            sink.finish(current: buffer)
            throw LogReadError(path: path, message: message)
        }
        counts.bytes &+= UInt64(got)
        filled &+= got
        if got == 0 { break }
        var start = 0
        if skippingLongLine {
            // Finish the overlong line first.
            if let nl = memchr(buffer, 10, filled) {
                let at = UnsafeRawPointer(buffer).distance(to: UnsafeRawPointer(nl))
                if !longLineHadMarker {
                    longLineHadMarker = LineParser.find(LineParser.marker, in: buffer, count: at) != nil
                }
                counts.lines &+= 1
                sink.item(.overlong(number: longLineStart, hadMarker: longLineHadMarker), in: buffer)
                skippingLongLine = false
                start = at &+ 1
            } else {
                if !longLineHadMarker {
                    longLineHadMarker = LineParser.find(LineParser.marker, in: buffer, count: filled) != nil
                }
                // Keep a marker-sized tail so a marker across the boundary is still seen.
                let keep = min(filled, tail)
                next(filled &- keep, keep)
                continue
            }
        }
        // Complete lines: up to the last newline.
        var lastNL = start
        var back = filled
        while back > start, buffer[back &- 1] != 10 { back &-= 1 }
        if back > start {
            lastNL = back
            scanLines(UnsafePointer(buffer), from: start, to: lastNL, lines: &counts.lines,
                      readStamps: S.readsStamps) {
                sink.item($0, in: buffer)
            }
        }
        let rest = filled &- lastNL
        if rest > maxLineLength {
            // No newline within maxLineLength bytes: an overlong line, skipped.
            longLineStart = counts.lines &+ 1
            longLineHadMarker = LineParser.find(LineParser.marker, in: buffer + lastNL, count: rest) != nil
            skippingLongLine = true
            let keep = min(rest, tail)
            next(filled &- keep, keep)
            continue
        }
        next(lastNL, rest)
    }
    if skippingLongLine {
        counts.lines &+= 1
        counts.endedWithoutNewline = true
        sink.item(.overlong(number: longLineStart, hadMarker: longLineHadMarker), in: buffer)
    } else if filled > 0 {
        counts.lines &+= 1
        counts.endedWithoutNewline = true
        sink.item(.final(start: 0, count: filled, number: counts.lines), in: buffer)
    }
    sink.finish(current: buffer)
    return counts
}

/// Finds the marker lines in `[from, to)` (whole lines), counting every line.
/// `readStamps` false leaves the stamps to the parsing stage (for the two-thread reader).
@inline(__always)
func scanLines(_ base: UnsafePointer<UInt8>, from: Int, to: Int, lines: inout Int,
               readStamps: Bool = true, _ found: (LineItem) -> Void) {
    var pos = from
    var counted = from
    var n = lines
    while pos < to {
        let m: Int
        var lineStart: Int
        var prefix = LineParser.Prefix.unread
        if let predicted = MarkerFinder.atLineStart(base, pos, to, readStamp: readStamps) {
            // Trace lines come in blocks: the line at `pos` is often one too.
            m = predicted.marker
            lineStart = pos
            if readStamps { prefix = predicted.stamp.map { .stamp($0) } ?? .none }
        } else {
            guard let hit = MarkerFinder.find(in: base, from: pos, to: to) else { break }
            m = hit
            lineStart = m
            while lineStart > pos, base[lineStart &- 1] != 10 { lineStart &-= 1 }
        }
        let lineEnd: Int
        if let nl = memchr(base + m, 10, to &- m) {
            lineEnd = UnsafeRawPointer(base).distance(to: UnsafeRawPointer(nl))
        } else {
            lineEnd = to
        }
        n &+= countNewlines(base + counted, lineStart &- counted)
        counted = lineStart
        found(.line(start: lineStart, count: lineEnd &- lineStart, marker: m &- lineStart,
                    number: n &+ 1, prefix: prefix))
        pos = lineEnd &+ 1
    }
    n &+= countNewlines(base + counted, to &- counted)
    lines = n
}

/// Single thread: one buffer, lines parsed as they are found.
struct DirectSink<C: TraceConsumer>: ChunkSink {
    static var readsStamps: Bool { true }
    var parser: Scanner
    var consumer: C
    let buffer: UnsafeMutablePointer<UInt8>

    init(parser: Scanner, consumer: C, capacity: Int) {
        self.parser = parser
        self.consumer = consumer
        buffer = .allocate(capacity: capacity)
    }

    mutating func nextBuffer(current: UnsafeMutablePointer<UInt8>?, from: Int,
                             keep: Int) -> UnsafeMutablePointer<UInt8> {
        if keep > 0, from > 0 { memmove(buffer, buffer + from, keep) }
        return buffer
    }

    @inline(__always)
    mutating func item(_ item: LineItem, in chunk: UnsafeMutablePointer<UInt8>) {
        parser.take(item, in: UnsafePointer(chunk), &consumer)
    }

    mutating func finish(current: UnsafeMutablePointer<UInt8>?) {}
}

/// Two threads: a reading thread fills chunks and finds their lines; the calling thread parses
/// them. A ring of chunk slots bounds the memory; semaphores pass slots back and forth.
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
        var parser = Scanner(name: name, keep: keepMalformed)
        var index = 0
        while true {
            ring.ready.wait()
            let slot = ring.slots[index]
            let chunk = UnsafePointer(slot.buffer)
            for item in slot.items { parser.take(item, in: chunk, &consumer) }
            let last = slot.last
            ring.free.signal()
            index = (index + 1) % ring.slots.count
            if last { break }
        }
        ring.done.wait()
        switch ring.result {
        case .failure(let error): throw error
        case .success(let counts):
            parser.stats.bytes = counts.bytes
            parser.stats.lines = counts.lines
            parser.stats.endedWithoutNewline = counts.endedWithoutNewline
            return parser.stats
        }
    }

    func readDirect<C: TraceConsumer>(fd: Int32, name: String, path: String,
                                      consumer: inout C) throws(LogReadError) -> ReadStats {
        var sink = DirectSink(parser: Scanner(name: name, keep: keepMalformed), consumer: consumer,
                              capacity: chunkSize)
        defer { sink.buffer.deallocate() }
        let counts: ReadCounts
        do throws(LogReadError) {
            counts = try readChunks(fd: fd, path: path, capacity: chunkSize,
                                    maxLineLength: maxLineLength, sink: &sink)
        } catch {
            consumer = sink.consumer
            throw error
        }
        consumer = sink.consumer
        var stats = sink.parser.stats
        stats.bytes = counts.bytes
        stats.lines = counts.lines
        stats.endedWithoutNewline = counts.endedWithoutNewline
        return stats
    }
}
