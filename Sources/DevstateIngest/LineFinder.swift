// SPDX-License-Identifier: MIT
import DevstateBytes
import DevstateModel

/// Finds the trace lines in the reader's chunks, parses them and counts every line; `LineScan`
/// skips the others, most of a long log, never looking at them byte by byte in Swift. A line
/// longer than `maxLineLength` is "too long" wherever it ends: the chunk size changes nothing.
struct LineFinder {
    let name: String
    let keepMalformed: Int
    let maxLineLength: Int
    var stats = ReadStats()
    /// The line too long being skipped: its number, and whether what was seen holds the marker.
    var longLine: (number: Int, hadMarker: Bool)?
    /// Takes the complete lines of `chunk`; returns how many of its bytes are done with.
    mutating func take(_ chunk: UnsafeBufferPointer<UInt8>,
                       _ consume: (LineParser.Parsed, UnsafeBufferPointer<UInt8>) -> Void) -> Int {
        let (base, count) = (chunk.baseAddress!, chunk.count)
        let tail = LineScan.marker.count - 1  // kept of a long line, to see a marker across chunks
        var start = 0
        if let long = longLine {
            guard let newline = LineScan.newline(base, from: 0, to: count) else {
                longLine!.hadMarker = long.hadMarker || LineScan.findMarker(base, from: 0, to: count) != nil
                return count - min(count, tail)
            }
            stats.lines += 1
            if long.hadMarker || LineScan.findMarker(base, from: 0, to: newline) != nil { note(long.number, "line too long", nil) }
            (longLine, start) = (nil, newline + 1)
        }
        var end = count
        while end > start, chunk[end - 1] != 10 { end -= 1 }
        var position = start  // where a line starts, the lines before it counted
        while position < end, let marker = LineScan.findMarker(base, from: position, to: end) {
            var lineStart = marker
            while lineStart > position, chunk[lineStart - 1] != 10 { lineStart -= 1 }
            let lineEnd = LineScan.newline(base, from: marker, to: end)!
            stats.lines += (lineStart > position ? LineScan.newlines(base + position, lineStart - position) : 0) + 1
            if lineEnd - lineStart > maxLineLength {
                note(stats.lines, "line too long", nil)
            } else {
                take(line: UnsafeBufferPointer(rebasing: chunk[lineStart..<lineEnd]), marker: marker - lineStart,
                     number: stats.lines, consume)
            }
            position = lineEnd + 1
        }
        stats.lines += LineScan.newlines(base + position, end - position)
        guard count - end > maxLineLength else { return end }
        longLine = (stats.lines + 1, LineScan.findMarker(base, from: end, to: count) != nil)
        return count - min(count - end, tail)
    }

    mutating func finish(_ rest: UnsafeBufferPointer<UInt8>) {
        guard longLine != nil || rest.count > 0 else { return }
        (stats.lines, stats.endedWithoutNewline) = (stats.lines + 1, true)
        if let long = longLine, long.hadMarker { note(long.number, "line too long", nil) }
        if longLine == nil, LineScan.findMarker(rest.baseAddress!, from: 0, to: rest.count) != nil {
            note(stats.lines, "truncated: last line has no newline", rest)
        }
    }

    /// A line whose first marker is at `marker`.
    mutating func take(line: UnsafeBufferPointer<UInt8>, marker: Int, number: Int,
                       _ consume: (LineParser.Parsed, UnsafeBufferPointer<UInt8>) -> Void) {
        let parsed = LineParser.parse(line, markerAt: marker, number: number)
        guard case .malformed(let reason) = parsed else {
            (stats.candidateLines, stats.events) = (stats.candidateLines + 1, stats.events + 1)
            return consume(parsed, line)
        }
        note(number, reason, line)
    }

    /// A line that holds the marker but could not be read: counted, the first few kept.
    private mutating func note(_ line: Int, _ reason: String, _ text: UnsafeBufferPointer<UInt8>?) {
        (stats.candidateLines, stats.malformedLines) = (stats.candidateLines + 1, stats.malformedLines + 1)
        guard stats.malformed.count < keepMalformed else { return }
        let shown = text.map { String(decoding: $0.prefix(160), as: UTF8.self) } ?? ""
        stats.malformed.append(MalformedLine(file: name, line: line, reason: reason, text: shown))
    }
}
