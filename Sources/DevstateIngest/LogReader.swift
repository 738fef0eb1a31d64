// SPDX-License-Identifier: MIT
import DevstateBytes
import DevstateModel

/// Streams a log in chunks: memory stays bounded whatever its size. Only the lines that hold
/// `vmstate_downtime_` are parsed (`LineFinder`); the results do not depend on the chunk size.
public struct LogReader: Sendable {
    /// How many malformed lines are kept with their text; all are counted.
    public var keepMalformed: Int
    public var chunkSize: Int
    /// At most half a chunk.
    public var maxLineLength: Int
    public init(keepMalformed: Int = 10, chunkSize: Int = 1 << 18, maxLineLength: Int = 1 << 16) {
        self.keepMalformed = keepMalformed
        self.chunkSize = max(chunkSize, 4096)
        self.maxLineLength = max(256, min(maxLineLength, self.chunkSize / 2))
    }

    public func read(path: String, name: String? = nil, _ body: (TraceEvent) -> Void) throws(LogReadError) -> ReadStats {
        try read(path: path, name: name ?? path) { lines, chunk in
            lines.take(chunk) { parsed, line in parsed.event(in: line).map(body) }
        }
    }

    /// Reads `path` into a splitter: a device line of a part it does not keep allocates nothing.
    public func read(path: String, name: String? = nil, into splitter: RunSplitter) throws(LogReadError) -> ReadStats {
        try read(path: path, name: name ?? path) { lines, chunk in
            var done = 0
            splitter.changing { state in done = lines.take(chunk) { state.take($0, in: $1) } }
            return done
        }
    }

    private func read(path: String, name: String,
                      _ take: (inout LineFinder, UnsafeBufferPointer<UInt8>) -> Int) throws(LogReadError) -> ReadStats {
        var lines = LineFinder(name: name, keepMalformed: keepMalformed, maxLineLength: maxLineLength)
        lines.stats.bytes = try readChunks(path, chunkSize: chunkSize) { take(&lines, $0) } rest: { lines.finish($0) }
        return lines.stats
    }
}

/// Reads `path` in chunks: `take` says how many bytes it is done with (the rest come again, the
/// chunk growing when it keeps more than half); `rest` gets what is left. Returns the bytes read.
func readChunks(_ path: String, chunkSize: Int, readError: String = "", _ take: (UnsafeBufferPointer<UInt8>) -> Int,
                rest: (UnsafeBufferPointer<UInt8>) -> Void) throws(LogReadError) -> UInt64 {
    func open() throws(LogReadError) -> InputFile {
        do throws(SystemError) { return try InputFile(path: path) } catch {
            throw LogReadError(path: path, message: error.message)
        }
    }
    let file = try open()
    var chunk = ByteBuffer(capacity: chunkSize)
    var bytes: UInt64 = 0
    while true {
        let before = chunk.count
        do throws(SystemError) {
            try chunk.fill(upTo: max(chunkSize - before, before)) { (room) throws(SystemError) -> Int in
                try file.read(into: room.baseAddress!, count: room.count)
            }
        } catch {
            throw LogReadError(path: path, message: readError + error.message)
        }
        if chunk.count == before { break }
        bytes += UInt64(chunk.count - before)
        // ByteBuffer's memory is UInt8: the lines are read in place.
        chunk.removeFirst(chunk.withBytes { take($0.assumingMemoryBound(to: UInt8.self)) })
    }
    chunk.withBytes { rest($0.assumingMemoryBound(to: UInt8.self)) }
    return bytes
}
