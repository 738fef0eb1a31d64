#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Errors opening or reading a log.
public struct LogReadError: Error, Equatable, Sendable, CustomStringConvertible {
    public var path: String
    public var message: String
    public var description: String { "\(path): \(message)" }
}

/// Counts of one pass over a log.
public struct ReadStats: Sendable, Equatable {
    public var bytes: UInt64 = 0
    public var lines: Int = 0
    /// Lines that held `vmstate_downtime_` (read as events or counted as malformed).
    public var candidateLines: Int = 0
    public var events: Int = 0
    public var malformedLines: Int = 0
    /// The first few malformed lines, in order.
    public var malformed: [MalformedLine] = []
    /// Whether the last line had no newline (QEMU always ends its lines).
    public var endedWithoutNewline = false

    public init() {}
}

/// Streams a log in fixed-size chunks: memory stays bounded whatever the file size. Only lines
/// that hold `vmstate_downtime_` are parsed; the rest are counted and skipped.
public struct LogReader {
    /// How many malformed lines are kept with their text; all are counted.
    public var keepMalformed: Int
    public var chunkSize: Int
    /// Longest line kept whole; a longer one is skipped (and counted if it mentions the marker).
    public var maxLineLength: Int
    /// 2: a reading thread finds lines while the calling thread parses them (regular files of
    /// at least `threadedFrom` bytes, or any input when that is 0); 1: one thread.
    public var threads: Int
    public var threadedFrom: Int

    public init(keepMalformed: Int = 10, chunkSize: Int = 1 << 22, maxLineLength: Int = 1 << 16,
                threads: Int = 2, threadedFrom: Int = 16 << 20) {
        self.keepMalformed = keepMalformed
        self.chunkSize = max(chunkSize, 4096)
        self.maxLineLength = max(256, min(maxLineLength, self.chunkSize / 2))
        self.threads = threads
        self.threadedFrom = threadedFrom
    }

    /// Reads `path` ("-" for standard input), calling `body` for every event in order.
    public func read(path: String, name: String? = nil,
                     _ body: (TraceEvent) -> Void) throws(LogReadError) -> ReadStats {
        try withoutActuallyEscaping(body) { (escaping) throws(LogReadError) -> ReadStats in
            var consumer = ClosureConsumer(escaping)
            return try read(path: path, name: name, consumer: &consumer)
        }
    }

    /// Reads `path` straight into a splitter (the fast path: no per-line allocation).
    public func read(path: String, name: String? = nil,
                     into splitter: RunSplitter) throws(LogReadError) -> ReadStats {
        try read(path: path, name: name, consumer: &splitter.core)
    }

    func read<C: TraceConsumer>(path: String, name: String?,
                                consumer: inout C) throws(LogReadError) -> ReadStats {
        let fd: Int32
        if path == "-" {
            fd = 0
        } else {
            fd = open(path, O_RDONLY)
            if fd < 0 {
                throw LogReadError(path: path, message: String(cString: strerror(errno)))
            }
        }
        defer { if fd != 0 { close(fd) } }
        return try read(fd: fd, name: name ?? path, path: path, consumer: &consumer)
    }

    /// Reads a whole in-memory log (tests).
    public func read(text: String, name: String = "<text>",
                     _ body: (TraceEvent) -> Void) -> ReadStats {
        withoutActuallyEscaping(body) { escaping in
            var consumer = ClosureConsumer(escaping)
            var scanner = Scanner(name: name, keep: keepMalformed)
            var copy = text
            copy.withUTF8 { buffer in
                guard let base = buffer.baseAddress, !buffer.isEmpty else { return }
                let lastNewline = buffer.lastIndex(of: 10).map { $0 + 1 } ?? 0
                var lines = 0
                scanLines(base, from: 0, to: lastNewline, lines: &lines) {
                    scanner.take($0, in: base, &consumer)
                }
                if lastNewline < buffer.count {
                    lines += 1
                    scanner.stats.endedWithoutNewline = true
                    scanner.take(.final(start: lastNewline, count: buffer.count - lastNewline, number: lines),
                                 in: base, &consumer)
                }
                scanner.stats.lines = lines
            }
            scanner.stats.bytes = UInt64(text.utf8.count)
            return scanner.stats
        }
    }

    func read<C: TraceConsumer>(fd: Int32, name: String, path: String,
                                consumer: inout C) throws(LogReadError) -> ReadStats {
        var info = stat()
        let big = fstat(fd, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
            && Int(info.st_size) >= threadedFrom
        if threads >= 2 && (big || threadedFrom == 0) {
            return try readThreaded(fd: fd, name: name, path: path, consumer: &consumer)
        }
        return try readDirect(fd: fd, name: name, path: path, consumer: &consumer)
    }
}

/// Receives parsed lines. The device name is only valid during the call.
protocol TraceConsumer {
    mutating func device(_ direction: Direction, name: UnsafeBufferPointer<UInt8>,
                         _ fields: LineParser.RawDevice, line: Int)
    mutating func checkpoint(_ checkpoint: Checkpoint)
}

/// Adapts a closure over `TraceEvent`s (allocates one name array per device line).
struct ClosureConsumer: TraceConsumer {
    let body: (TraceEvent) -> Void
    init(_ body: @escaping (TraceEvent) -> Void) { self.body = body }

    func device(_ direction: Direction, name: UnsafeBufferPointer<UInt8>,
                _ d: LineParser.RawDevice, line: Int) {
        body(.device(direction, DeviceTime(nameBytes: Array(name), instanceID: d.instanceID,
                                           section: d.section, timeUS: d.timeUS,
                                           timestampUS: d.hasTimestamp ? d.timestampUS : nil,
                                           line: line)))
    }

    func checkpoint(_ checkpoint: Checkpoint) { body(.checkpoint(checkpoint)) }
}

/// The per-chunk work: find marker lines fast, count newlines word by word.
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
                stats.malformedLines += 1
                if stats.malformed.count < keep {
                    stats.malformed.append(MalformedLine(file: name, line: number,
                                                         reason: "line too long", text: ""))
                }
            }
        case .final(let start, let count, let number):
            if LineParser.find(LineParser.marker, in: chunk + start, count: count) != nil {
                stats.candidateLines += 1
                note(line: number, reason: "truncated: last line has no newline",
                     chunk + start, count: count)
            }
        }
    }

    @inline(__always)
    mutating func handle<C: TraceConsumer>(_ line: UnsafePointer<UInt8>, count: Int, markerAt: Int,
                                           number: Int, prefix: LineParser.Prefix,
                                           _ consumer: inout C) {
        stats.candidateLines &+= 1
        switch LineParser.parseRaw(line: line, count: count, markerAt: markerAt, lineNumber: number,
                                   prefix: prefix) {
        case .device(let direction, let d):
            stats.events &+= 1
            consumer.device(direction, name: UnsafeBufferPointer(start: line + d.nameStart, count: d.nameCount),
                            d, line: number)
        case .checkpoint(let c):
            stats.events &+= 1
            consumer.checkpoint(c)
        case .malformed(let reason):
            note(line: number, reason: reason, line, count: count)
        case .unrelated:
            break
        }
    }

    mutating func note(line: Int, reason: String, _ p: UnsafePointer<UInt8>, count: Int) {
        stats.malformedLines += 1
        if stats.malformed.count < keep {
            let shown = String(decoding: UnsafeBufferPointer(start: p, count: min(count, 160)),
                               as: UTF8.self)
            stats.malformed.append(MalformedLine(file: name, line: line, reason: reason, text: shown))
        }
    }
}

/// Newlines in `count` bytes, 16 at a time.
@inline(__always)
func countNewlines(_ p: UnsafePointer<UInt8>, _ count: Int) -> Int {
    if count <= 0 { return 0 }
    var n = 0
    var i = 0
    let raw = UnsafeRawPointer(p)
    let newline = SIMD16<UInt8>(repeating: 10)
    let one = SIMD16<UInt8>(repeating: 1)
    let zero = SIMD16<UInt8>(repeating: 0)
    while i &+ 16 <= count {
        var acc = zero
        var rounds = 0
        while rounds < 255, i &+ 16 <= count {
            let v = raw.loadUnaligned(fromByteOffset: i, as: SIMD16<UInt8>.self)
            acc &+= zero.replacing(with: one, where: v .== newline)
            i &+= 16
            rounds &+= 1
        }
        n &+= Int(SIMD16<UInt16>(truncatingIfNeeded: acc).wrappedSum())
    }
    while i < count {
        if p[i] == 10 { n &+= 1 }
        i &+= 1
    }
    return n
}

/// Finds `vmstate_downtime_`: memchr for its rarest byte, the `w` (offset 10), then two 8-byte
/// compares for the rest.
enum MarkerFinder {
    static let head0: UInt64 = LineParser.marker.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 0, as: UInt64.self) }
    static let head1: UInt64 = LineParser.marker.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self) }

    /// When the line starting at `start` is `[TID@SECONDS.MICROS:]vmstate_downtime_…`: the
    /// marker's offset and the stamp (µs), read in the same pass (`LineParser.readStamp`).
    @inline(__always)
    static func atLineStart(_ base: UnsafePointer<UInt8>, _ start: Int, _ to: Int,
                            readStamp: Bool = true) -> (marker: Int, stamp: Int64?)? {
        var i = start
        let limit = min(to, start &+ 48)
        var stamp: Int64? = nil
        if !readStamp, i < limit, LineParser.isDigit(base[i]) {
            // Only find where the prefix ends; the parser reads it.
            while i < limit {
                let b = base[i]
                guard LineParser.isDigit(b) || b == UInt8(ascii: "@") || b == UInt8(ascii: ".") else { break }
                i &+= 1
            }
            guard i < limit, base[i] == UInt8(ascii: ":") else { return nil }
            i &+= 1
        } else if i < limit, LineParser.isDigit(base[i]) {
            guard let (value, end) = LineParser.readStamp(base, from: i, limit: limit),
                  end < limit, base[end] == UInt8(ascii: ":") else { return nil }
            stamp = value
            i = end &+ 1
        }
        guard i &+ 17 <= to else { return nil }
        let raw = UnsafeRawPointer(base)
        guard raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) == head0,
              raw.loadUnaligned(fromByteOffset: i &+ 8, as: UInt64.self) == head1,
              base[i &+ 16] == UInt8(ascii: "_") else { return nil }
        return (i, stamp)
    }

    /// Offset of the first marker in `[from, to)`, if any.
    @inline(__always)
    static func find(in base: UnsafePointer<UInt8>, from: Int, to: Int) -> Int? {
        let h0 = head0, h1 = head1
        let raw = UnsafeRawPointer(base)
        var i = from &+ 10
        while i < to &- 6 {
            guard let hit = memchr(base + i, Int32(UInt8(ascii: "w")), to &- 6 &- i) else { return nil }
            let w = raw.distance(to: UnsafeRawPointer(hit))
            let start = w &- 10
            if raw.loadUnaligned(fromByteOffset: start, as: UInt64.self) == h0,
               raw.loadUnaligned(fromByteOffset: start &+ 8, as: UInt64.self) == h1,
               base[start &+ 16] == UInt8(ascii: "_") {
                return start
            }
            i = w &+ 1
        }
        return nil
    }
}

/// Interns idstrs without per-line allocation: names live in one byte arena, found by hash;
/// each distinct name gets one shared `[UInt8]` when runs are handed out.
struct NameTable {
    private var arena: [UInt8] = []
    private var offsets: [Int] = []
    private var lengths: [Int] = []
    private var arrays: [[UInt8]?] = []
    private var slots: [Int32]
    private var mask: Int

    init() {
        slots = [Int32](repeating: -1, count: 1024)
        mask = 1023
    }

    var count: Int { offsets.count }

    private var last: Int32 = -1

    /// Whether entry `k` holds exactly `name`.
    @inline(__always)
    private func equals(_ k: Int, _ name: UnsafeBufferPointer<UInt8>) -> Bool {
        guard lengths[k] == name.count else { return false }
        return arena.withUnsafeBufferPointer {
            memcmp($0.baseAddress! + offsets[k], name.baseAddress!, name.count) == 0
        }
    }

    /// For each name, the name that followed it last time.
    private var successor: [Int32] = []

    mutating func id(_ name: UnsafeBufferPointer<UInt8>) -> Int32 {
        // Runs repeat their devices in the same order: try what followed the last name before.
        let previous = last
        if previous >= 0 {
            let guess = successor[Int(previous)]
            if guess >= 0, equals(Int(guess), name) {
                last = guess
                return guess
            }
        }
        let found = lookup(name)
        if previous >= 0 { successor[Int(previous)] = found }
        last = found
        return found
    }

    private mutating func lookup(_ name: UnsafeBufferPointer<UInt8>) -> Int32 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in name { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        var index = Int(truncatingIfNeeded: h ^ (h >> 29)) & mask
        while true {
            let id = slots[index]
            if id < 0 { break }
            if equals(Int(id), name) { return id }
            index = (index &+ 1) & mask
        }
        let id = Int32(offsets.count)
        offsets.append(arena.count)
        lengths.append(name.count)
        arena.append(contentsOf: name)
        arrays.append(nil)
        successor.append(-1)
        slots[index] = id
        if offsets.count * 2 > slots.count { grow() }
        return id
    }

    private mutating func grow() {
        let size = slots.count * 2
        slots = [Int32](repeating: -1, count: size)
        mask = size - 1
        for k in 0..<offsets.count {
            var h: UInt64 = 0xcbf2_9ce4_8422_2325
            for i in 0..<lengths[k] { h = (h ^ UInt64(arena[offsets[k] + i])) &* 0x100_0000_01b3 }
            var index = Int(truncatingIfNeeded: h ^ (h >> 29)) & mask
            while slots[index] >= 0 { index = (index &+ 1) & mask }
            slots[index] = Int32(k)
        }
    }

    /// The name as a shared array (made once per name).
    mutating func bytes(_ id: Int32) -> [UInt8] {
        let k = Int(id)
        if let made = arrays[k] { return made }
        let made = Array(arena[offsets[k]..<(offsets[k] + lengths[k])])
        arrays[k] = made
        return made
    }

    mutating func removeAll() {
        arena.removeAll(keepingCapacity: true)
        offsets.removeAll(keepingCapacity: true)
        lengths.removeAll(keepingCapacity: true)
        arrays.removeAll()
        successor.removeAll(keepingCapacity: true)
        last = -1
        slots = [Int32](repeating: -1, count: 1024)
        mask = 1023
    }
}
