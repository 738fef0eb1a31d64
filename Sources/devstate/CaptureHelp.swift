// SPDX-License-Identifier: MIT
import DevstateModel

/// What the CLI says when no input holds a downtime trace event: what was read, how to capture one.
enum CaptureHelp {
    static let events = ["vmstate_downtime_checkpoint", "vmstate_downtime_load", "vmstate_downtime_save"]

    static let traceFlags = "-trace vmstate_downtime_save -trace vmstate_downtime_load -trace vmstate_downtime_checkpoint -msg timestamp=on"

    static let libvirtXML = """
        <domain type='kvm' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
          …
          <qemu:commandline>
            <qemu:arg value='-trace'/>
            <qemu:arg value='vmstate_downtime_*'/>
          </qemu:commandline>
        </domain>
        """

    static func noEvents(_ inputs: [InputSummary]) -> Bool {
        !inputs.isEmpty && inputs.allSatisfy { $0.queryMigrate == nil && $0.stats.events == 0 }
    }

    /// Without the leading "devstate: ".
    static func noTraceMessage(_ inputs: [InputSummary], domain: String? = nil) -> String {
        var text = "no vmstate_downtime_* trace event in "
        text += inputs.map { input in
            let s = input.stats
            var what = "\(input.path) (\(s.bytes) bytes, \(s.lines) line\(s.lines == 1 ? "" : "s")"
            if s.malformedLines > 0 { what += ", \(s.malformedLines) unreadable line\(s.malformedLines == 1 ? "" : "s") naming the events" }
            return what + ")"
        }.joined(separator: ", ")
        let vm = domain ?? "NAME"
        text += """

            QEMU writes these lines only while its downtime trace events are on, and only with the
            log trace backend (Debian's QEMU has it). To capture a migration's or a save's downtime:
              1. A QEMU you start yourself: add to both sides' command lines
                   \(traceFlags) -D QEMU.log
                 migrate, then: devstate report SOURCE.log DESTINATION.log
              2. A running QEMU, without a restart:
                   devstate trace on --qmp SOCKET
                   devstate trace on --domain \(vm)      (under libvirt)
                 then migrate, or virsh save. The lines go to QEMU's -D file, else to its standard
                 error, which libvirt writes to /var/log/libvirt/qemu/\(vm).log.
                 devstate trace off turns them off again.
              3. Under libvirt, for every start of the domain (a restored or incoming VM is a new
                 QEMU process: it traces its loads only this way): virsh edit \(vm), and add
            """
        text += "\n" + libvirtXML.split(separator: "\n").map { "       " + $0 }.joined(separator: "\n")
        text += "\n     then: devstate report --domain \(vm)"
        return text
    }
}
