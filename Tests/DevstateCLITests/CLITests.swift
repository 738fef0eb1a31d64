// SPDX-License-Identifier: MIT
import Foundation
import Testing

/// Runs the built `devstate` binary (it sits next to the test bundle in the build folder).
func devstate(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, out: String, err: String) {
    let exe = try #require(devstateBinary(), "devstate binary not found next to the test bundle; build it first (swift build --product devstate)")
    let process = Process()
    process.executableURL = URL(fileURLWithPath: exe)
    process.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    env["COLUMNS"] = "120"
    for (k, v) in environment { env[k] = v }
    process.environment = env
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}

/// `text` with every run of white space (help text wraps) made one space.
func flat(_ text: String) -> String {
    text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
}

func findGnuplot() -> String? {
    (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        .map { "\($0)/gnuplot" }.first { FileManager.default.isExecutableFile(atPath: $0) }
}

func devstateBinary() -> String? {
    let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
    // The test runner may be inside an .xctest bundle directory.
    for _ in 0..<4 {
        let candidate = dir.appendingPathComponent("devstate").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        dir = dir.deletingLastPathComponent()
    }
    return nil
}

@Suite(.serialized) struct CLITests {
    @Test func defaultReportRendersTheBuiltInFixtures() throws {
        let r = try devstate(["report"])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("fixtures/qemu-10.0/pc-source.log run 1"))
        #expect(r.out.contains("fixtures/qemu-10.0/q35-source.log run 1"))
        #expect(r.out.contains("── Run 3"))
        #expect(r.out.contains("0000:00:03.0/e1000e"))
        // Also as the default subcommand.
        let bare = try devstate([])
        #expect(bare.status == 0 && bare.out == r.out)
        // The 10.2 captures (ISO 8601 stamps): the same runs, with phases.
        let ten2 = try devstate(["report", "--release", "10.2"])
        #expect(ten2.status == 0, "\(ten2.err)")
        #expect(ten2.out.contains("fixtures/qemu-10.2/pc-source.log run 1"))
        #expect(ten2.out.contains("fixtures/qemu-10.2/q35-source.log run 1"))
        #expect(ten2.out.contains("── Run 3") && !ten2.out.contains("── Run 4"))
        #expect(ten2.out.contains("0000:00:03.0/e1000e"))
        #expect(ten2.out.components(separatedBy: "Source phases").count - 1 == 3)
    }

    @Test func helpCoversEveryOption() throws {
        let r = try devstate(["report", "--help"])
        #expect(r.status == 0)
        for option in ["--source", "--destination", "--fixture", "--format", "--pretty", "--plot ",
                       "--plot-top", "--plot-runs", "--top", "--all", "--run", "--width", "--no-vmsd",
                       "--show-malformed", "--summary", "--qmp", "--release", "Exit status", "6 = PARTIAL"] {
            #expect(flat(r.out).contains(option), "report --help lacks \(option)")
        }
        let q = try devstate(["query", "--help"])
        for option in ["--format", "--timeout", "--pretty", "--width", "--top", "--all", "--destination", "<socket>",
                       "Exit status", "0 = complete", "6 = PARTIAL", "5 = a side has no completed migration",
                       "2 = the QEMU does not have", "1 = error"] {
            #expect(flat(q.out).contains(option), "query --help lacks \(option)")
        }
    }

    @Test func malformedLinesGiveExitThreeWithLineNumbers() throws {
        var lines = try Fixtures.text("q35-source.log").split(separator: "\n").map(String.init)
        lines[4] = String(lines[4].prefix(50))
        let path = NSTemporaryDirectory() + "devstate-cli-\(UUID().uuidString).log"
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try devstate(["report", path])
        #expect(r.status == 3)
        #expect(r.err.contains("skipped 1 malformed line"))
        #expect(r.out.contains("line 5:"))
        let clean = try devstate(["report", Fixtures.path("q35-source.log")])
        #expect(clean.status == 0)
    }

    @Test func unreadableInputIsExitOne() throws {
        let r = try devstate(["report", "/nonexistent/source.log"])
        #expect(r.status == 1)
        #expect(r.err.contains("/nonexistent/source.log"))
    }

    @Test func jsonFromTheCommandLine() throws {
        let r = try devstate(["report", "--format", "json", Fixtures.path("q35-source.log"), Fixtures.path("q35-destination.log")])
        #expect(r.status == 0)
        let doc = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as! [String: Any]
        #expect((doc["runs"] as! [Any]).count == 1)
    }

    /// Runs only where gnuplot is installed; elsewhere it is reported as skipped.
    @Test(.enabled(if: findGnuplot() != nil, "gnuplot is not installed"))
    func plotWritesAPNG() throws {
        let png = NSTemporaryDirectory() + "devstate-\(UUID().uuidString).png"
        defer { try? FileManager.default.removeItem(atPath: png) }
        let r = try devstate(["report", "--fixture", "q35", "--plot", png])
        #expect(r.status == 0, "\(r.err)")
        let data = try Data(contentsOf: URL(fileURLWithPath: png))
        #expect(data.prefix(4) == Data([0x89, 0x50, 0x4e, 0x47]))
    }

    /// Without gnuplot on PATH the tool says so, still prints the report, and exits 4.
    @Test func plotWithoutGnuplotIsExitFour() throws {
        let png = NSTemporaryDirectory() + "devstate-\(UUID().uuidString).png"
        defer { try? FileManager.default.removeItem(atPath: png) }
        let none = try devstate(["report", "--fixture", "q35", "--plot", png], environment: ["PATH": "/nonexistent"])
        #expect(none.status == 4)
        #expect(none.err.contains("gnuplot, which is not installed"))
        #expect(none.out.contains("Run 1"))
        #expect(!FileManager.default.fileExists(atPath: png))
    }

    /// The default table: per run the phases, the 10 longest devices and how many more there
    /// are, and by type only the types with several devices. --all gives every row.
    @Test(arguments: Fixtures.releases)
    func defaultTableIsConciseAndAllIsComplete(_ release: String) throws {
        let short = try devstate(["report", "--release", release])
        let all = try devstate(["report", "--release", release, "--all"])
        #expect(short.status == 0 && all.status == 0, "\(short.err) \(all.err)")
        let runs = short.out.components(separatedBy: "── Run ").dropFirst()
        let fullRuns = all.out.components(separatedBy: "── Run ").dropFirst()
        #expect(runs.count == 3 && fullRuns.count == 3)
        // Independent counts from the logs: pc runs 1 and 2 (split at the iterable ram save),
        // q35 run 1 with its destination.
        let pc = try Fixtures.deviceLines("pc-source.log", release: release)
        let start2 = try #require(pc.indices.filter { pc[$0].type == "iterable" && pc[$0].idstr == "ram" }.last)
        let pcDestination = try Fixtures.deviceLines("pc-destination.log", release: release)
        let q35 = try Fixtures.deviceLines("q35-source.log", release: release)
        let q35Destination = try Fixtures.deviceLines("q35-destination.log", release: release)
        func key(_ l: Fixtures.Line) -> String { "\(l.idstr)#\(l.instance)/\(l.type)" }
        func rows(_ source: ArraySlice<Fixtures.Line>, _ destination: [Fixtures.Line]) -> Int {
            source.count + Set(destination.map(key)).subtracting(source.map(key)).count
        }
        let expected = [rows(pc[..<start2], []), rows(pc[start2...], pcDestination), rows(q35[...], q35Destination)]
        for (i, (run, full)) in zip(runs, fullRuns).enumerated() {
            let deviceRows = run.split(separator: "\n").filter { $0.range(of: #"^ +\d+  "#, options: .regularExpression) != nil }
            #expect(deviceRows.count == 10, "run \(i + 1)")
            #expect(run.contains("  \(expected[i] - 10) more devices (--all)"), "run \(i + 1)")
            #expect(run.contains("Source phases"))
            #expect(!full.contains("more devices"))
            // Every device of the log is a row of --all (numbered rows, plus unnumbered
            // destination-only ones).
            let table = full.components(separatedBy: "Devices by")[1].components(separatedBy: "  d-s-t:")[0]
            #expect(table.split(separator: "\n").count - 2 == expected[i], "run \(i + 1)")
            // By type: the short table lists only types of several devices, --all every type.
            let types = typeRows(run)
            #expect(!types.isEmpty && types.allSatisfy { $0.count > 1 }, "\(types)")
            #expect(typeRows(full).contains { $0.count == 1 })
            #expect(Set(types.map(\.type)).isSubset(of: Set(typeRows(full).map(\.type))))
        }
        #expect(short.out.split(separator: "\n").count < 150)
        // The same choice from --top, and --all with --top is bad usage.
        let top3 = try devstate(["report", "--release", release, "--fixture", "q35", "--top", "3"])
        #expect(top3.out.contains("more devices (--all)"))
        #expect(try devstate(["report", "--all", "--top", "3"]).status == 64)
    }

    /// The type rows of a run's by-type table (type, count on the busier side).
    func typeRows(_ run: String) -> [(type: String, count: Int)] {
        guard let table = run.components(separatedBy: "By device type").dropFirst().first else { return [] }
        return table.split(separator: "\n").dropFirst(2).prefix { $0.hasPrefix("  ") }.map { line in
            let cells = line.split(separator: " ")
            return (String(cells[0]), Int(cells[1]) ?? 0)
        }
    }

    @Test func versionIsTheLibrarys() throws {
        let r = try devstate(["--version"])
        #expect(r.status == 0)
        // The header is the library's source of truth for its version.
        let header = try String(contentsOfFile: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("CShim/include/devstate/devstate.h").path, encoding: .utf8)
        func part(_ name: String) -> String? {
            header.split(separator: "\n").first { $0.hasPrefix("#define DEVSTATE_VERSION_\(name) ") }
                .map { String($0.split(separator: " ")[2]) }
        }
        let version = [part("MAJOR"), part("MINOR"), part("PATCH")].compactMap { $0 }.joined(separator: ".")
        #expect(version.split(separator: ".").count == 3)
        #expect(r.out == version + "\n")
    }

    @Test func fixtureAndFormatAreChoices() throws {
        let bad = try devstate(["report", "--fixture", "nope"])
        #expect(bad.status == 64)
        #expect(flat(bad.err).contains("pc-notimestamp"))
        let format = try devstate(["query", "--format", "xml", "/nonexistent.sock"])
        #expect(format.status == 64)
        let notimestamp = try devstate(["report", "--fixture", "pc-notimestamp"])
        #expect(notimestamp.status == 0)
        #expect(notimestamp.out.contains("fixtures/qemu-10.0/pc-notimestamp-source.log run 1"))
        let notimestamp2 = try devstate(["report", "--release", "10.2", "--fixture", "pc-notimestamp"])
        #expect(notimestamp2.status == 0)
        #expect(notimestamp2.out.contains("fixtures/qemu-10.2/pc-notimestamp-source.log run 1"))
        let release = try devstate(["report", "--release", "10.1"])
        #expect(release.status == 64)
        #expect(flat(release.err).contains("10.2"))
    }

    /// A QEMU that does not answer query-qmp-schema: the series is judged from the members.
    @Test func queryWithoutASchemaJudgesFromTheMembers() throws {
        let patched = try FakeQMP(migrate: #"{"status": "completed", "device-state-times": [{"name": "cpu", "instance-id": 0, "save-time": 150}, {"name": "0000:00:03.0/e1000e", "instance-id": 0, "save-time": 1829}]}"#)
        let r = try devstate(["query", patched.path])
        #expect(r.status == 6, "\(r.err)")  // 0.1.0 members only: partial
        #expect(r.out.contains("source device-state-times: 2 entries"))
        #expect(r.out.contains("0000:00:03.0/e1000e"))
        #expect(flat(r.out).contains("judged from the reply's members"))
        #expect(flat(r.out).contains("query-qmp-schema gave no answer"))
        let patchedJSON = try FakeQMP(migrate: #"{"status": "completed", "device-state-times": [{"name": "cpu", "instance-id": 0, "save-time": 150}]}"#)
        let j = try devstate(["query", "--format", "json", patchedJSON.path])
        #expect(j.out.contains(#""device-state-times":[{"name":"cpu","instance-id":0,"save-time":150}]"#))
        let stock = try FakeQMP(migrate: #"{"status": "completed"}"#)
        let s = try devstate(["query", stock.path])
        #expect(s.status == 2)
        #expect(s.out.contains("device-state-times is NOT present"))
        #expect(s.out.contains("QEMU 10.0.2"))
        let missing = try devstate(["query", "/nonexistent/qmp.sock"])
        #expect(missing.status == 1)
        #expect(missing.err.contains("/nonexistent/qmp.sock"))
    }

    /// A QEMU still starting up has sent an event (RESUME) before its greeting: the event is
    /// not taken for the greeting.
    @Test func anEventBeforeTheGreetingIsSkipped() throws {
        let early = try FakeQMP(replies: [#"{"status": "completed"}"#],
                                before: #"{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "RESUME"}"#)
        let r = try devstate(["query", early.path])
        #expect(r.status == 2, "\(r.err)")
        #expect(r.out.contains("QEMU 10.0.2"))
        let garbage = try FakeQMP(replies: [#"{"status": "completed"}"#], before: #"{"return": {}}"#)
        let g = try devstate(["query", garbage.path])
        #expect(g.status == 1)
        #expect(g.err.contains("did not greet with QMP"))
    }
}

/// A one-connection QMP server on a unix socket that answers query-migrate with `migrate`,
/// query-qmp-schema with `schema` (CommandNotFound when nil, as for any other command), and
/// records every command it was sent.
final class FakeQMP: @unchecked Sendable {
    let path: String
    private let listener: Int32
    private let lock = NSLock()
    private var received: [String] = []

    /// The commands received, in order.
    var commands: [String] {
        lock.lock()
        defer { lock.unlock() }
        return received
    }

    /// `migrate`: the query-migrate replies in turn (the last one repeats). `name`: query-name's.
    /// `events`: the events capability. `eventAfter`: after the Nth query-migrate reply, send this
    /// event line. `closeAfter`: after the Nth query-migrate reply, hang up (QEMU went away).
    /// `before`: a line sent before the greeting.
    convenience init(migrate: String, schema: String? = nil) throws {
        try self.init(replies: [migrate], schema: schema)
    }

    init(replies: [String], schema: String? = nil, name: String? = nil, events: Bool = false,
         eventAfter: (Int, String)? = nil, closeAfter: Int? = nil, before: String? = nil) throws {
        path = NSTemporaryDirectory() + "qmp-\(UUID().uuidString.prefix(8)).sock"
        listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
            raw[bytes.count] = 0
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0, listen(listener, 1) == 0 else { throw POSIXError(.EADDRINUSE) }
        let fd = listener
        Thread.detachNewThread { [self] in
            var asked = 0
            let c = accept(fd, nil, nil)
            guard c >= 0 else { return }
            // MSG_NOSIGNAL: a client that hung up (one that refuses the greeting) must not
            // kill the test process with SIGPIPE.
            func send(_ s: String) {
                var s = s + "\r\n"
                s.withUTF8 { _ = Glibc.send(c, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            }
            if let before { send(before) }
            send(#"{"QMP": {"version": {"qemu": {"micro": 2, "minor": 0, "major": 10}, "package": ""}, "capabilities": []}}"#)
            var pending = [UInt8]()
            var buf = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = buf.withUnsafeMutableBytes { read(c, $0.baseAddress, $0.count) }
                if n <= 0 { break }
                pending += buf[..<n]
                while let nl = pending.firstIndex(of: 10) {
                    let line = Data(pending[..<nl])
                    pending.removeSubrange(...nl)
                    let object = (try? JSONSerialization.jsonObject(with: line)) as? [String: Any]
                    let command = object?["execute"] as? String ?? "?"
                    lock.lock()
                    received.append(command)
                    lock.unlock()
                    switch command {
                    case "qmp_capabilities":
                        send(#"{"return": {}}"#)
                    case "query-migrate":
                        send(#"{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "RESUME"}"#)
                        send(#"{"return": "# + replies[min(asked, replies.count - 1)] + "}")
                        asked += 1
                        if let (n, event) = eventAfter, n == asked { send(event) }
                        if let closeAfter, closeAfter == asked { close(c); return }
                    case "query-name":
                        send(name.map { #"{"return": {"name": "\#($0)"}}"# } ?? #"{"return": {}}"#)
                    case "query-migrate-capabilities":
                        send(#"{"return": [{"capability": "xbzrle", "state": false}, {"capability": "events", "state": "# + (events ? "true" : "false") + "}]}")
                    case "query-qmp-schema" where schema != nil:
                        send(#"{"return": "# + schema! + "}")
                    default:
                        send(#"{"error": {"class": "CommandNotFound", "desc": "nope"}}"#)
                    }
                }
            }
            close(c)
        }
    }

    deinit {
        close(listener)
        unlink(path)
    }
}
