// SPDX-License-Identifier: MIT
import ArgumentParser
import DevstateAnalysis
import DevstateBytes
import DevstateIngest
import DevstateModel
import DevstateQMP
import DevstateRender
import FoundationEssentials

enum TraceSwitch: String, ExpressibleByArgument, CaseIterable {
    case on, off
}

/// `devstate trace on|off`: the downtime trace events of a running QEMU, through its QMP socket
/// or through libvirt.
struct Trace: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Turn a running QEMU's downtime trace events (vmstate_downtime_*) on or off, without a restart.",
        discussion: """
            --qmp SOCKET: a QEMU's QMP unix socket (one that no other client holds). --domain NAME: \
            a libvirt domain, through libvirt's client library (virDomainQemuMonitorCommand on the \
            monitor libvirt holds; libvirt marks the domain tainted: custom-monitor).
            Sends trace-event-set-state for vmstate_downtime_* and reads trace-event-get-state \
            back; nothing else of the QEMU changes. It reports each event's state and the QEMU's \
            trace backend, read from its binary (/proc/PID/exe, or the domain's <emulator>): \
            only the log backend writes the lines devstate reads, to QEMU's -D file or its \
            standard error, which libvirt writes to /var/log/libvirt/qemu/NAME.log.
            The events last as long as the process: a restored or incoming QEMU is a new one and \
            traces its loads only if it starts with them (-trace, or libvirt's <qemu:commandline>; \
            see the README, "On a running VM under libvirt").
            Exit status: \(Status.ok) = done; \(Status.noTrace) = `on`, but this QEMU has no such \
            events or its trace backend writes no text (nothing would reach a log); \(Status.error) = \
            socket, libvirt or QMP error; \(Status.usage) = bad usage.
            """
    )

    @Argument(help: "on or off.")
    var state: TraceSwitch

    @Option(help: ArgumentHelp("The QEMU's QMP unix socket.", valueName: "socket"))
    var qmp: String?

    @Option(help: ArgumentHelp("A libvirt domain (running).", valueName: "name"))
    var domain: String?

    @Option(name: .customLong("connect"), help: ArgumentHelp("libvirt's URI (with --domain).", valueName: "uri"))
    var uri: String = "qemu:///system"

    @Option(help: "Seconds to wait for QEMU's answers (with --qmp).")
    var timeout: Int = 10

    static let pattern = "vmstate_downtime_*"

    func validate() throws {
        if (qmp == nil) == (domain == nil) { throw ValidationError("give either --qmp SOCKET or --domain NAME") }
    }

    /// The QEMU to talk to.
    struct Target {
        var qmp: QMPTransport
        var pid: Int32?
        var version: String?
        /// Where the binary can be read when /proc/PID/exe cannot.
        var emulator: String?
        var label: String
    }

    func target() throws -> (Target, keep: AnyObject) {
        if let qmp {
            let client = try QMPClient(socketPath: qmp, timeoutSeconds: max(1, timeout), allowTraceControl: true)
            let name = client.queryName()
            return (Target(qmp: client, pid: client.peerPID,
                           version: client.qemuVersion, emulator: nil,
                           label: name.map { "VM \($0), " } ?? ""), client)
        }
        let d = try LibvirtDomain(uri: uri, name: domain!)
        guard d.isActive else {
            throw LibvirtDomain.Failure(description: "domain \(d.name) is not running (trace events live in a running QEMU; for its next start use <qemu:commandline>, see the README: On a running VM under libvirt)")
        }
        return (Target(qmp: d, pid: d.qemuPID(), version: d.queryVersion(),
                       emulator: d.emulator(), label: "domain \(d.name), "), d)
    }

    /// Each event's state: name → enabled/disabled/unavailable.
    static func states(_ target: Target) throws -> [(name: String, state: String)] {
        do {
            return try target.qmp.traceEventStates(pattern)
        } catch where "\(error)".contains("No such event") {
            return []  // a QEMU before 8.2
        }
    }

    /// QEMU's command line from /proc (nil when it cannot be read: another host, no permission).
    static func commandLine(_ pid: Int32?) -> [String]? {
        guard let pid, let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"), !data.isEmpty else { return nil }
        return data.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
    }

    func run() throws {
        let target: Target
        let keep: AnyObject
        do {
            (target, keep) = try self.target()
        } catch {
            printError("\(error)")
            throw Status.error.exit
        }
        let out = Output()
        var text = ""
        var status = Status.ok
        do {
            let before = try Self.states(target)
            if before.isEmpty {
                printError("this QEMU has no \(Self.pattern) trace events (QEMU 8.2 and later have them)")
                throw Status.noTrace.exit
            }
            do {
                try target.qmp.setTraceEvents(Self.pattern, enable: state == .on)
            }
            let after = try Self.states(target)
            let was = Dictionary(before.map { ($0.name, $0.state) }, uniquingKeysWith: { a, _ in a })
            let binary = target.pid.map { "/proc/\($0)/exe" } ?? target.emulator
            var shownBinary = target.emulator ?? binary ?? "?"
            if let pid = target.pid, let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe") {
                shownBinary = exe
            }
            text += "QEMU \(target.version ?? "?") (\(target.label)\(target.pid.map { "pid \($0), " } ?? "")\(shownBinary))\n"
            let width = after.map(\.name.count).max() ?? 0
            for e in after {
                let previous = was[e.name].map { $0 == e.state ? " (unchanged)" : " (was \($0))" } ?? ""
                text += e.name + String(repeating: " ", count: width + 2 - e.name.count) + e.state + previous + "\n"
            }
            let unavailable = after.filter { $0.state == "unavailable" }.map(\.name)
            guard state == .on else {
                try emit(text, out)
                return
            }
            var backend = binary.map { TraceBackend.of(binary: $0) } ?? .unknown("no pid or emulator known")
            if case .unknown = backend, let emulator = target.emulator, binary != emulator {
                backend = TraceBackend.of(binary: emulator)
            }
            let cmdline = Self.commandLine(target.pid)
            var destination: String
            if let cmdline, let d = cmdline.firstIndex(of: "-D"), d + 1 < cmdline.count {
                var file = cmdline[d + 1]
                if !file.hasPrefix("/"), let pid = target.pid,
                   let cwd = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/cwd") {
                    file = cwd + "/" + file
                }
                destination = "its -D file, \(file)"
            } else if let domain {
                destination = "/var/log/libvirt/qemu/\(domain).log (QEMU's standard error, which libvirt logs)"
            } else {
                destination = "QEMU's standard error" + (cmdline == nil ? " or its -D file" : "")
            }
            switch backend.canLog {
            case true?:
                text += "trace backend: \(backend): the lines go to \(destination)\n"
            case false?:
                text += "trace backend: \(backend): the events are on, but this QEMU writes no line that devstate (or any log) can read\n"
            case nil:
                text += "trace backend: \(backend); with the log backend (Debian's QEMU) the lines go to \(destination)\n"
            }
            if let cmdline, !zip(cmdline, cmdline.dropFirst()).contains(where: { $0 == "-msg" && $1.contains("timestamp=on") }) {
                text += "note: no -msg timestamp=on: the device times will be there, the phases and checkpoint offsets not\n"
            }
            if let domain {
                text += "next: virsh save \(domain) FILE (or virsh managedsave, or a migration), then: devstate report --domain \(domain)\n"
                text += "a restore is a new QEMU: it traces its loads only if it starts with the events on (<qemu:commandline>; the README: On a running VM under libvirt)\n"
            } else {
                text += "next: migrate (or savevm), then: devstate report LOG\n"
            }
            try emit(text, out)
            _ = keep
            if !unavailable.isEmpty {
                printError("unavailable in this QEMU (compiled out): \(unavailable.joined(separator: ", "))")
                status = .noTrace
            }
            if backend.canLog == false { status = .noTrace }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            try? emit(text, out)
            printError("\(error)")
            throw Status.error.exit
        }
        if status != .ok { throw status.exit }
    }

    private func emit(_ text: String, _ out: Output) throws {
        var copy = text
        copy.withUTF8 { out.write(UnsafeRawBufferPointer($0)) }
        try out.finish()
    }
}
