// SPDX-License-Identifier: MIT
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

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
    func hasMarker(_ start: Int, _ count: Int) -> Bool {
        MarkerFinder.find(in: buffer + start, from: 0, to: count) != nil
    }
    while true {
        let got: Int
        do throws(SystemError) {
            let into = buffer + filled, room = capacity - filled
            got = try systemCall("read") { read(fd, into, room) }
        } catch {
            sink.finish(current: buffer)
            throw LogReadError(path: path, message: error.message)
        }
        counts.bytes &+= UInt64(got)
        filled &+= got
        if got == 0 { break }
        var start = 0
        if skippingLongLine {
            // Finish the overlong line first.
            if let nl = memchr(buffer, 10, filled) {
                let at = UnsafeRawPointer(buffer).distance(to: UnsafeRawPointer(nl))
                longLineHadMarker = longLineHadMarker || hasMarker(0, at)
                counts.lines &+= 1
                sink.item(.overlong(number: longLineStart, hadMarker: longLineHadMarker), in: buffer)
                skippingLongLine = false
                start = at &+ 1
            } else {
                longLineHadMarker = longLineHadMarker || hasMarker(0, filled)
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
            // A constant for the closure: `buffer` itself is captured by `next`, and reading it
            // from here would be an exclusivity check per line.
            let chunk = buffer
            scanLines(UnsafePointer(chunk), from: start, to: lastNL, lines: &counts.lines,
                      readStamps: S.readsStamps, maxLineLength: maxLineLength) {
                sink.item($0, in: chunk)
            }
        }
        let rest = filled &- lastNL
        if rest > maxLineLength {
            // No newline within maxLineLength bytes: an overlong line, skipped.
            longLineStart = counts.lines &+ 1
            longLineHadMarker = hasMarker(lastNL, rest)
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
/// A marker line longer than `maxLineLength` is handed out as overlong, as the reading stage
/// does with one that does not end within a chunk: the same line gives the same result whatever
/// the chunk size.
@inline(__always)
func scanLines(_ base: UnsafePointer<UInt8>, from: Int, to: Int, lines: inout Int,
               readStamps: Bool = true, maxLineLength: Int = .max, _ found: (LineItem) -> Void) {
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
        if lineEnd &- lineStart > maxLineLength {
            found(.overlong(number: n &+ 1, hadMarker: true))
        } else {
            found(.line(start: lineStart, count: lineEnd &- lineStart, marker: m &- lineStart,
                        number: n &+ 1, prefix: prefix))
        }
        pos = lineEnd &+ 1
    }
    n &+= countNewlines(base + counted, to &- counted)
    lines = n
}
