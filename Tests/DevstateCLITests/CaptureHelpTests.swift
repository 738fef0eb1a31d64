// SPDX-License-Identifier: MIT
@testable import devstate
import DevstateModel
import Testing

@Suite struct CaptureHelpTests {
    @Test func theMessageNamesWhatWasReadAndTheWaysToCapture() {
        var one = InputSummary(path: "a.log", role: "source")
        (one.stats.bytes, one.stats.lines, one.stats.malformedLines) = (10, 1, 1)
        let two = InputSummary(path: "b.log", role: "destination")
        #expect(CaptureHelp.noEvents([one, two]))
        #expect(!CaptureHelp.noEvents([]))
        var events = two
        events.stats.events = 1
        #expect(!CaptureHelp.noEvents([one, events]))
        let text = CaptureHelp.noTraceMessage([one, two], domain: "web1")
        #expect(text.hasPrefix("no vmstate_downtime_* trace event in a.log (10 bytes, 1 line, 1 unreadable line naming the events), b.log (0 bytes, 0 lines)\n"))
        for way in [CaptureHelp.traceFlags, "devstate trace on --domain web1", "       <qemu:arg value='vmstate_downtime_*'/>",
                    "then: devstate report --domain web1", "/var/log/libvirt/qemu/web1.log"] {
            #expect(text.contains(way), "\(way)")
        }
    }
}
