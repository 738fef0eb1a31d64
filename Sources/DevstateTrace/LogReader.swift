// SPDX-License-Identifier: MIT
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
///
/// Two paths give the same results (tests compare them): `readDirect` (DirectReader.swift) finds
/// and parses lines on the calling thread; `readThreaded` (ThreadedReader.swift), for big regular
/// files, finds them on a reading thread while the calling thread parses.
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
            do throws(SystemError) {
                fd = try systemCall("open") { open(path, O_RDONLY) }
            } catch {
                throw LogReadError(path: path, message: error.message)
            }
        }
        defer { if fd != 0 { close(fd) } }
        var info = stat()
        let big = fstat(fd, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
            && Int(info.st_size) >= threadedFrom
        let name = name ?? path
        if threads >= 2 && (big || threadedFrom == 0) {
            return try readThreaded(fd: fd, name: name, path: path, consumer: &consumer)
        }
        return try readDirect(fd: fd, name: name, path: path, consumer: &consumer)
    }
}
