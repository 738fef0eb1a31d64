// SPDX-License-Identifier: MIT
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One QEMU process in a libvirt per-VM log (`/var/log/libvirt/qemu/NAME.log`): from libvirt's
/// `starting up` line to the next one.
public struct LibvirtProcess: Sendable, Equatable {
    /// 1-based in the log; 0 for lines before the first `starting up` (a rotated log).
    public var index: Int
    public var firstLine: Int
    public var lastLine: Int
    /// libvirt's stamp of the `starting up` line, e.g. "2026-11-28 01:15:44.274+0000".
    public var startedAt: String?
    /// The QEMU version libvirt wrote in that line.
    public var qemuVersion: String?
    /// The command line had `-incoming`: a restore (`virsh restore`, a managed save's start) or
    /// the destination of a migration.
    public var incoming = false
    /// The command line turned the downtime events on (`-trace …vmstate_downtime…`).
    public var tracedAtStart = false
    /// `-msg timestamp=on` was on the command line (libvirt passes it).
    public var timestamps = false
    /// libvirt's `shutting down, reason=…` (saved, migrated, destroyed, shutdown, crashed, …).
    public var shutdownReason: String?
    /// Its source runs and destination loads, in log order.
    public var parts: [SideLog] = []

    public init(index: Int, firstLine: Int) {
        self.index = index
        self.firstLine = firstLine
        self.lastLine = firstLine
    }

    /// How a note names it.
    public var label: String {
        index == 0 ? "the lines before the first libvirt start" : "QEMU process \(index)" + (startedAt.map { " (started \($0))" } ?? "")
    }
}

/// A libvirt log read: its QEMU processes and the counts of the pass.
public struct LibvirtLog: Sendable, Equatable {
    public var processes: [LibvirtProcess] = []
    public var stats = ReadStats()
    /// libvirt's own lines that mention `vmstate_downtime_` (the command lines it logs, e.g.
    /// `-trace 'vmstate_downtime_*' \`): ignored, not malformed.
    public var commandLinesWithMarker = 0

    public init() {}
}

/// One run of a libvirt log's report: a save with the restore that loaded it, or a side alone.
public struct LibvirtRun: Sendable, Equatable {
    public var source: SideLog?
    public var destination: SideLog?
}

/// Reads libvirt's per-VM QEMU logs. libvirt writes, for each QEMU it starts, a line
/// `STAMP: starting up libvirt version: …, qemu version: …`, the environment and command line
/// (one argument per line, each but the last ending in ` \`), then QEMU's standard error (where
/// the log trace backend writes when QEMU has no `-D`), its own `STAMP: …` notes, and
/// `STAMP: shutting down, reason=…` when the process ends.
///
/// The trace lines' `N@` prefix is no help in telling processes apart: QEMU 10.0 writes the
/// thread id there (the migration thread's differs from the main thread's, and each migration
/// has a new one), and QEMU 10.1 and later write no id at all. The `starting up` lines are.
public enum LibvirtLogReader {
    /// libvirt's stamp: `YYYY-MM-DD HH:MM:SS.mmm+ZZZZ: `.
    static func libvirtStamp(_ line: UnsafeBufferPointer<UInt8>) -> Int? {
        // "2026-11-28 01:15:44.274+0000: " is 30 bytes.
        guard line.count >= 30 else { return nil }
        let shape = Array("dddd-dd-dd dd:dd:dd.ddd+dddd: ".utf8)
        for (i, s) in shape.enumerated() {
            let b = line[i]
            switch s {
            case UInt8(ascii: "d"): if b < 0x30 || b > 0x39 { return nil }
            case UInt8(ascii: "+"): if b != UInt8(ascii: "+") && b != UInt8(ascii: "-") { return nil }
            default: if b != s { return nil }
            }
        }
        return 30
    }

    /// Whether the file starts like a libvirt QEMU log (its first line is a `starting up` line).
    public static func looksLikeLibvirtLog(path: String) -> Bool {
        guard let file = fopen(path, "rb") else { return false }
        defer { fclose(file) }
        var buffer = [UInt8](repeating: 0, count: 512)
        let n = fread(&buffer, 1, buffer.count, file)
        return buffer[..<n].withUnsafeBufferPointer { b in
            guard let at = libvirtStamp(b) else { return false }
            return b[at...].starts(with: "starting up ".utf8)
        }
    }

    /// Reads `path`: lines are taken one at a time (memory bounded by the longest line and the
    /// device lines kept), events go to one `RunSplitter` per process.
    public static func read(path: String, name: String? = nil,
                            keepMalformed: Int = 10) throws(LogReadError) -> LibvirtLog {
        guard let file = fopen(path, "rb") else {
            throw LogReadError(path: path, message: String(cString: strerror(errno)))
        }
        defer { fclose(file) }
        let name = name ?? path
        var log = LibvirtLog()
        var current = LibvirtProcess(index: 0, firstLine: 1)
        var parts: [SideLog] = []
        var splitter = SplitCore(file: name, maxDevicesPerSide: 1_000_000) { parts.append($0) }
        var inCommandLine = false
        var lineNumber = 0
        var linePointer: UnsafeMutablePointer<CChar>? = nil
        var capacity = 0
        defer { free(linePointer) }

        var counted: [Side: Int] = [:]  // parts are numbered across the log, not per process
        func closeProcess() {
            splitter.finish()
            for k in parts.indices {
                counted[parts[k].side, default: 0] += 1
                parts[k].index = counted[parts[k].side]!
            }
            current.parts = parts
            parts = []
            // Lines before the first `starting up` count as a process only if they hold events.
            if current.index > 0 || !current.parts.isEmpty { log.processes.append(current) }
            splitter = SplitCore(file: name, maxDevicesPerSide: 1_000_000) { parts.append($0) }
        }

        while true {
            let n = getline(&linePointer, &capacity, file)
            if n < 0 {
                if ferror(file) != 0 {
                    throw LogReadError(path: path, message: "read: \(String(cString: strerror(errno)))")
                }
                break
            }
            lineNumber += 1
            log.stats.bytes += UInt64(n)
            var count = n
            let raw = UnsafeRawPointer(linePointer!).assumingMemoryBound(to: UInt8.self)
            if count > 0, raw[count - 1] == 10 {
                count -= 1
            } else {
                log.stats.endedWithoutNewline = true
            }
            let line = UnsafeBufferPointer(start: raw, count: count)
            current.lastLine = lineNumber

            if inCommandLine {
                // One argument (or environment variable) per line; the last has no ` \`.
                let text = String(decoding: line, as: UTF8.self)
                if text.hasPrefix("-incoming ") || text == "-incoming \\" { current.incoming = true }
                if text.hasPrefix("-msg timestamp=on") { current.timestamps = true }
                if text.contains("vmstate_downtime") {
                    log.commandLinesWithMarker += 1
                    current.tracedAtStart = true
                }
                inCommandLine = text.hasSuffix(" \\")
                continue
            }
            if let at = libvirtStamp(line) {
                let message = String(decoding: UnsafeBufferPointer(rebasing: line[at...]), as: UTF8.self)
                let stamp = String(decoding: UnsafeBufferPointer(rebasing: line[..<(at - 2)]), as: UTF8.self)
                if message.hasPrefix("starting up ") {
                    current.lastLine = lineNumber - 1
                    closeProcess()
                    let index = (log.processes.last?.index ?? 0) + 1
                    current = LibvirtProcess(index: index, firstLine: lineNumber)
                    current.startedAt = stamp
                    if let v = message.range(of: "qemu version: ") {
                        let rest = message[v.upperBound...]
                        current.qemuVersion = String(rest.prefix { $0 != "," })
                    }
                    inCommandLine = true
                } else if message.hasPrefix("shutting down") {
                    if let r = message.range(of: "reason=") {
                        current.shutdownReason = String(message[r.upperBound...].prefix { $0 != "," && $0 != " " })
                    } else {
                        current.shutdownReason = "unknown"
                    }
                }
                continue  // libvirt's own line
            }
            guard let base = line.baseAddress, let m = MarkerFinder.find(in: base, from: 0, to: line.count) else {
                continue
            }
            log.stats.candidateLines += 1
            switch LineParser.parse(line: base, count: line.count, markerAt: m, lineNumber: lineNumber) {
            case .device(let direction, let d):
                log.stats.events += 1
                splitter.device(direction, d)
            case .checkpoint(let c):
                log.stats.events += 1
                splitter.checkpoint(c)
            case .step(let step):
                log.stats.events += 1
                splitter.step(step)
            case .malformed(let reason):
                log.stats.malformedLines += 1
                if log.stats.malformed.count < keepMalformed {
                    let shown = String(decoding: UnsafeBufferPointer(start: base, count: min(line.count, 160)), as: UTF8.self)
                    log.stats.malformed.append(MalformedLine(file: name, line: lineNumber, reason: reason, text: shown))
                }
            case .unrelated:
                break
            }
        }
        log.stats.lines = lineNumber
        closeProcess()
        return log
    }

    /// The runs of a libvirt log, in log order. A process's last source run is paired with the
    /// next process's first destination load when the first ended `reason=saved` (`virsh save`,
    /// `virsh managedsave`) and the next was started with `-incoming` (the restore, or the
    /// managed save's start): libvirt restores a saved image into a new process, logged next in
    /// the same file. Every other part stands alone (a migration's other side is in the other
    /// host's log). Notes on each side say which process it came from and why it was, or was not,
    /// paired.
    public static func runs(_ log: LibvirtLog) -> [LibvirtRun] {
        var runs: [LibvirtRun] = []
        var taken = Set<Int>()  // processes whose first destination part was paired
        for (i, process) in log.processes.enumerated() {
            var parts = process.parts
            for k in parts.indices { parts[k].notes.append(origin(process, parts[k])) }
            var skipFirstLoad = taken.contains(i)
            let lastSource = parts.lastIndex { $0.side == .source }
            for (k, part) in parts.enumerated() {
                if part.side == .destination, skipFirstLoad {
                    skipFirstLoad = false
                    continue
                }
                guard k == lastSource, process.shutdownReason == "saved" else {
                    runs.append(part.side == .source ? LibvirtRun(source: part) : LibvirtRun(destination: part))
                    continue
                }
                var save = part
                let next = i + 1 < log.processes.count ? log.processes[i + 1] : nil
                if let next, next.incoming, let load = next.parts.first(where: { $0.side == .destination }),
                   next.parts.first?.side == .destination {
                    var restore = load
                    restore.notes.append(origin(next, load))
                    restore.notes.append("restores the save of QEMU process \(process.index) (paired by log order: that one ended reason=saved, this one started with -incoming)")
                    save.notes.append("restored by QEMU process \(next.index)")
                    runs.append(LibvirtRun(source: save, destination: restore))
                    taken.insert(i + 1)
                } else if let next, next.incoming {
                    save.notes.append("QEMU process \(next.index) restored it without the downtime trace, so its loads are not in the log (start the domain with the events on: <qemu:commandline>)")
                    runs.append(LibvirtRun(source: save))
                } else {
                    save.notes.append("no restore follows in this log")
                    runs.append(LibvirtRun(source: save))
                }
            }
        }
        return runs
    }

    private static func origin(_ process: LibvirtProcess, _ part: SideLog) -> String {
        var text = "libvirt log: \(process.label)"
        if process.incoming { text += ", started with -incoming" }
        if let reason = process.shutdownReason { text += ", shut down reason=\(reason)" }
        return text
    }
}

extension LibvirtRun {
    init(source: SideLog) { self.init(source: source, destination: nil) }
    init(destination: SideLog) { self.init(source: nil, destination: destination) }
}
