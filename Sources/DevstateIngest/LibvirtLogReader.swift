// SPDX-License-Identifier: MIT
import DevstateBytes
import DevstateModel

/// Reads libvirt's per-VM QEMU logs: for each QEMU, `STAMP: starting up …, qemu version: …`, the
/// command line (an argument a line, ending in ` \` but the last), QEMU's standard error (with
/// the trace lines), `STAMP: shutting down, reason=…`. The trace lines' `N@` (a thread id in
/// QEMU 10.0, none from 10.1) does not tell the processes apart: the `starting up` lines do.
public enum LibvirtLogReader {
    static func libvirtStamp(_ line: UnsafeBufferPointer<UInt8>) -> Int? {
        line.matches("dddd-dd-dd dd:dd:dd.ddd+dddd: ") ? 30 : nil
    }
    /// Whether the file (not standard input) starts with a libvirt `starting up` line.
    public static func looksLikeLibvirtLog(path: String) -> Bool {
        guard path != "-", let file = try? InputFile(path: path) else { return false }
        var head = ByteBuffer(capacity: 512)
        try? head.fill(upTo: 512) { (room) throws(SystemError) -> Int in try file.read(into: room.baseAddress!, count: room.count) }
        return head.withBytes { b in libvirtStamp(b.assumingMemoryBound(to: UInt8.self)).map { b[$0...].starts(with: "starting up ".utf8) } ?? false }
    }

    public static func read(path: String, name: String? = nil, keepMalformed: Int = 10) throws(LogReadError) -> LibvirtLog {
        let name = name ?? path
        var log = LibvirtLog()
        var finder = LineFinder(name: name, keepMalformed: keepMalformed, maxLineLength: .max)
        var current = LibvirtProcess(index: 0, firstLine: 1)
        var parts: [SideLog] = []
        // One splitter, finished at each process's end: the parts are numbered across the log.
        let splitter = RunSplitter(file: name) { parts.append($0) }
        var inCommandLine = false
        func closeProcess() {
            splitter.finish()
            (current.parts, parts) = (parts, [])
            // Lines before the first `starting up` count as a process only if they hold events.
            if current.index > 0 || !current.parts.isEmpty { log.processes.append(current) }
        }
        func take(_ line: UnsafeBufferPointer<UInt8>) {
            finder.stats.lines += 1
            let number = finder.stats.lines
            current.lastLine = number
            if inCommandLine {
                let text = String(decoding: line, as: UTF8.self)
                if text.hasPrefix("-incoming ") || text == "-incoming \\" { current.incoming = true }
                if text.hasPrefix("-msg timestamp=on") { current.timestamps = true }
                if text.contains("vmstate_downtime") {
                    log.commandLinesWithMarker += 1
                    current.tracedAtStart = true
                }
                inCommandLine = text.hasSuffix(" \\")
            } else if let at = libvirtStamp(line) {
                let message = line.text(at, line.count)
                if message.hasPrefix("starting up ") {
                    current.lastLine = number - 1
                    closeProcess()
                    current = LibvirtProcess(index: (log.processes.last?.index ?? 0) + 1, firstLine: number)
                    current.startedAt = line.text(0, at - 2)
                    current.qemuVersion = field(message, "qemu version: ", until: ",")
                    inCommandLine = true
                } else if message.hasPrefix("shutting down") {
                    current.shutdownReason = field(message, "reason=", until: ", ") ?? "unknown"
                }
            } else if let base = line.baseAddress, let m = LineScan.findMarker(base, from: 0, to: line.count) {
                finder.take(line: line, marker: m, number: number) { parsed, line in
                    splitter.changing { $0.take(parsed, in: line) }
                }
            }
        }

        finder.stats.bytes = try readChunks(path, chunkSize: 1 << 16, readError: "read: ") { p in
            var start = 0
            while let newline = LineScan.newline(p.baseAddress!, from: start, to: p.count) {
                take(UnsafeBufferPointer(rebasing: p[start..<newline]))
                start = newline + 1
            }
            return start
        } rest: { p in
            guard p.count > 0 else { return }
            finder.stats.endedWithoutNewline = true
            take(p)
        }
        closeProcess()
        log.stats = finder.stats
        return log
    }

    private static func field(_ message: String, _ key: String, until: String) -> String? {
        message.firstRange(of: key).map { String(message[$0.upperBound...].prefix { !until.contains($0) }) }
    }
}
