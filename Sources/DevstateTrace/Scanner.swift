// SPDX-License-Identifier: MIT
/// The parsing stage: takes the lines the reading stage found (`LineItem`s), parses them into
/// the consumer and counts events and malformed lines.
struct Scanner {
    let name: String
    let keep: Int
    var stats = ReadStats()

    init(name: String, keep: Int) {
        self.name = name
        self.keep = keep
    }

    /// Parses one item the reading stage found.
    @inline(__always)
    mutating func take<C: TraceConsumer>(_ item: LineItem, in chunk: UnsafePointer<UInt8>,
                                         _ consumer: inout C) {
        switch item {
        case .line(let start, let count, let marker, let number, let prefix):
            handle(chunk + start, count: count, markerAt: marker, number: number, prefix: prefix,
                   &consumer)
        case .overlong(let number, let hadMarker):
            if hadMarker {
                stats.candidateLines += 1
                note(line: number, reason: "line too long", nil, count: 0)
            }
        case .final(let start, let count, let number):
            if MarkerFinder.find(in: chunk + start, from: 0, to: count) != nil {
                stats.candidateLines += 1
                note(line: number, reason: "truncated: last line has no newline",
                     chunk + start, count: count)
            }
        }
    }

    /// The stats with what the reading stage counted.
    func finish(_ counts: ReadCounts) -> ReadStats {
        var stats = stats
        stats.bytes = counts.bytes
        stats.lines = counts.lines
        stats.endedWithoutNewline = counts.endedWithoutNewline
        return stats
    }

    @inline(__always)
    private mutating func handle<C: TraceConsumer>(_ line: UnsafePointer<UInt8>, count: Int, markerAt: Int,
                                                   number: Int, prefix: LineParser.Prefix,
                                                   _ consumer: inout C) {
        stats.candidateLines &+= 1
        switch LineParser.parse(line: line, count: count, markerAt: markerAt, lineNumber: number,
                                prefix: prefix) {
        case .device(let direction, let d):
            stats.events &+= 1
            consumer.device(direction, d)
        case .checkpoint(let c):
            stats.events &+= 1
            consumer.checkpoint(c)
        case .step(let step):
            stats.events &+= 1
            consumer.step(step)
        case .malformed(let reason):
            note(line: number, reason: reason, line, count: count)
        case .unrelated:
            break
        }
    }

    /// Counts a malformed line and keeps the first `keep` with the start of their text.
    private mutating func note(line: Int, reason: String, _ p: UnsafePointer<UInt8>?, count: Int) {
        stats.malformedLines += 1
        if stats.malformed.count < keep {
            let shown = p.map {
                String(decoding: UnsafeBufferPointer(start: $0, count: min(count, 160)), as: UTF8.self)
            } ?? ""
            stats.malformed.append(MalformedLine(file: name, line: line, reason: reason, text: shown))
        }
    }
}
