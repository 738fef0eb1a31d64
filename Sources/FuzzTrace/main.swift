// SPDX-License-Identifier: MIT
// libFuzzer target for the trace-log reader (DevstateIngest) and the reports built on it: arbitrary bytes as a QEMU log.
//
// The first two input bytes choose the reader's chunk size and line limit, the output format
// and how the rest is split into a source and a destination log. The logs go through a file
// into the same path the CLI uses (LogReader -> RunSplitter -> LogPairing -> Analyzer -> sink). Checked:
//  - no crash, no sanitizer report, no hang;
//  - the events read do not depend on the chunk size (4 KiB vs 1 MiB chunks, same line limit);
//  - the JSON report is valid UTF-8 and strict JSON (json-c, JSON_TOKENER_STRICT);
//  - read as a libvirt per-VM log (LibvirtLogReader, pairing), the same bytes give a valid JSON
//    report, every marker line is an event or malformed, and every process part is rendered.
// Built with AddressSanitizer and libFuzzer coverage by scripts/hardening/run.sh.
import CJSONC
import DevstateAnalysis
import DevstateIngest
import DevstateModel
import DevstateRender
import FuzzDriver
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

func fail(_ message: String) -> Never {
    fputs("FuzzTrace: property violated: \(message)\n", stderr)
    abort()
}

/// A scratch file whose /proc/self/fd path the reader opens like any log.
struct MemoryFile {
    let fd: Int32
    let path: String

    init(_ name: String) {
        // An unlinked temporary file (tmpfs when /dev/shm exists); the reader opens it again
        // through /proc/self/fd like any log path.
        let directory = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"
        var template = Array("\(directory)/fuzztrace-\(name)-XXXXXX".utf8CString)
        fd = mkstemp(&template)
        if fd < 0 { fail("mkstemp: errno \(errno)") }
        unlink(template)
        path = "/proc/self/fd/\(fd)"
    }

    func fill(_ bytes: UnsafeBufferPointer<UInt8>) {
        if ftruncate(fd, 0) != 0 { fail("ftruncate") }
        var written = 0
        while written < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + written, bytes.count - written, off_t(written))
            if n <= 0 { fail("pwrite") }
            written += n
        }
    }
}

let sourceFile = MemoryFile("source.log")
let destinationFile = MemoryFile("destination.log")

func events(of path: String, _ reader: LogReader) -> ([TraceEvent], ReadStats) {
    var events: [TraceEvent] = []
    do {
        let stats = try reader.read(path: path) { events.append($0) }
        return (events, stats)
    } catch {
        fail("reading the scratch file failed: \(error)")
    }
}

/// OpenMetrics text: comment or sample lines only, one series once, `# EOF` last.
func checkOpenMetrics(_ text: String) {
    guard text.hasSuffix("# EOF\n") else { fail("OpenMetrics does not end with # EOF: \(text.suffix(200))") }
    var series = Set<Substring>()
    for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
        if line.hasPrefix("# TYPE ") || line.hasPrefix("# UNIT ") || line.hasPrefix("# HELP ") || line == "# EOF" {
            continue
        }
        guard line.hasPrefix("qemu_migration_"), let close = line.lastIndex(of: "}"),
              line[line.index(after: close)...].hasPrefix(" "),
              Double(line[line.index(close, offsetBy: 2)...]) != nil else {
            fail("not an OpenMetrics sample line: \(line.prefix(300))")
        }
        guard series.insert(line[...close]).inserted else { fail("series written twice: \(line.prefix(300))") }
    }
}

func checkJSON(_ text: String) {
    var copy = text
    copy.withUTF8 { bytes in
        guard let tokener = json_tokener_new() else { fail("json_tokener_new") }
        defer { json_tokener_free(tokener) }
        json_tokener_set_flags(tokener, JSON_TOKENER_STRICT)
        let object = bytes.withMemoryRebound(to: CChar.self) {
            json_tokener_parse_ex(tokener, $0.baseAddress, Int32($0.count))
        }
        let error = json_tokener_get_error(tokener)
        guard let object, error == json_tokener_success else {
            fail("report JSON does not parse (\(String(cString: json_tokener_error_desc(error)))) at byte \(json_tokener_get_parse_end(tokener)): \(text.prefix(400))")
        }
        json_object_put(object)
        // Nothing but whitespace may follow the document.
        let end = json_tokener_get_parse_end(tokener)
        for byte in bytes[end...] where ![0x20, 0x0a, 0x0d, 0x09].contains(byte) {
            fail("bytes after the JSON document")
        }
    }
}

/// A report as `devstate report` makes one: begin, every run the logs hold, end.
func report(_ pairing: LogPairing, _ sink: ReportSink,
            _ read: (LogPairing, @escaping LogPairing.Emit) throws(LogReadError) -> [InputSummary]) throws(LogReadError) -> [InputSummary] {
    let analyzer = Analyzer()
    sink.begin()
    let inputs = try read(pairing) { index, source, destination in
        sink.run(analyzer.report(index: index, source: source, destination: destination))
    }
    sink.end(inputs: inputs)
    return inputs
}

func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data, size >= 2 else { return 0 }
    let config = data[0]
    let split = data[1]
    let body = UnsafeBufferPointer(start: data + 2, count: size - 2)
    let lineLimits = [256, 1000, 2048]
    let maxLine = lineLimits[Int(config % 3)]

    // Same bytes, same line limit, different chunk sizes: the same events.
    sourceFile.fill(body)
    let (small, smallStats) = events(of: sourceFile.path, LogReader(keepMalformed: 3, chunkSize: 4096, maxLineLength: maxLine))
    let (large, largeStats) = events(of: sourceFile.path, LogReader(keepMalformed: 3, chunkSize: 1 << 20, maxLineLength: maxLine))
    if small != large {
        fail("events differ with the chunk size: \(small.count) vs \(large.count) events")
    }
    if smallStats != largeStats {
        fail("read stats differ with the chunk size: \(smallStats) vs \(largeStats)")
    }

    // The whole report, as `devstate report` runs it.
    let cut = body.count * Int(split) / 255
    var groups: [ReportGroup]
    switch split % 3 {
    case 0:
        groups = [ReportGroup(source: ReportInput(path: sourceFile.path, name: "src", role: .source), destination: nil)]
    case 1:
        groups = [ReportGroup(source: nil, destination: ReportInput(path: sourceFile.path, name: "dst", role: .destination))]
    default:
        sourceFile.fill(UnsafeBufferPointer(rebasing: body[..<cut]))
        destinationFile.fill(UnsafeBufferPointer(rebasing: body[cut...]))
        groups = [ReportGroup(source: ReportInput(path: sourceFile.path, name: "src", role: .source),
                              destination: ReportInput(path: destinationFile.path, name: "dst", role: .destination))]
    }
    var output = ""
    let collect = TextOut.strings { output += $0 }
    let format = (config >> 2) % 4
    let sink: ReportSink = switch format {
    case 0: JSONSink(pretty: false, out: collect)
    case 1: JSONSink(pretty: true, out: collect)
    case 2: CSVSink(out: collect)
    // The table with a wide layout, OpenMetrics (with few series, so folding into other runs).
    case 3 where config & 0x40 != 0 && config >> 4 & 1 != 0:
        OpenMetricsSink(out: collect, maxDevices: 2, vmName: { "vm\($0.index % 2)\"\n" })
    default: TableSink(width: 60 + Int(config >> 4) * 8, detail: config & 0x40 != 0 ? .concise(top: 3) : .full, out: collect)
    }
    let reader = LogReader(keepMalformed: 3, chunkSize: 4096, maxLineLength: maxLine)
    do {
        _ = try report(LogPairing(reader: reader, onlyRun: config & 0x80 != 0 ? 1 : nil), sink) { (p, emit) throws(LogReadError) in
            try p.run(groups: groups, emit: emit)
        }
    } catch {
        fail("report failed on a readable file: \(error)")
    }
    if format < 2 { checkJSON(output) }
    if sink is OpenMetricsSink { checkOpenMetrics(output) }

    // The same bytes as a libvirt per-VM log (`report --domain`): processes, libvirt's lines,
    // pairing. No crash, valid JSON, and never more events than lines that name the marker.
    sourceFile.fill(body)
    var libvirtOutput = ""
    let libvirtSink = JSONSink(pretty: false, out: TextOut.strings { libvirtOutput += $0 })
    do {
        var log: LibvirtLog?
        let inputs = try report(LogPairing(reader: reader), libvirtSink) { (p, emit) throws(LogReadError) in
            let (inputs, read) = try p.run(libvirtLog: ReportInput(path: sourceFile.path, name: "vm.log", role: .source), emit: emit)
            log = read
            return inputs
        }
        let stats = inputs[0].stats
        if stats.events + stats.malformedLines != stats.candidateLines {
            fail("libvirt log: \(stats.events) events + \(stats.malformedLines) malformed != \(stats.candidateLines) candidate lines")
        }
        let parts = log!.processes.reduce(0) { $0 + $1.parts.count }
        let sides = inputs[0].sources + inputs[0].destinations
        if sides != parts { fail("libvirt log: \(parts) parts but \(sides) sides rendered") }
    } catch {
        fail("libvirt report failed on a readable file: \(error)")
    }
    checkJSON(libvirtOutput)
    return 0
}

setvbuf(stdout, nil, _IOLBF, 0)
runFuzzer(fuzzOne)
