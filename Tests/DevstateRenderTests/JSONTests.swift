// SPDX-License-Identifier: MIT
@testable import DevstateRender
import DevstateModel
import Foundation
import Testing

/// The JSON writer and the report document (`devstate-report/1`).
@Suite struct JSONTests {
    func written(pretty: Bool, _ body: (inout JSONWriter) -> Void) -> String {
        var json = JSONWriter(pretty: pretty)
        body(&json)
        return json.out.string
    }

    func document(_ json: inout JSONWriter) {
        json.beginObject()
        json.beginArray("empty-array")
        json.end()
        json.beginObject("empty-object")
        json.end()
        json.null("null")
        json.string("text", "quo\"te back\\slash new\nline tab\t ctl\u{1} del\u{7f} ünï日本🙂")
        json.beginArray("numbers")
        json.int(nil, -3)
        json.int(nil, UInt64.max)
        json.fixed(nil, 0.52631, 4)
        json.bool(nil, true)
        json.int(nil, Int?.none)
        json.end()
        json.beginArray("nested")
        json.beginObject()
        json.beginArray("a")
        json.beginArray()
        json.end()
        json.end()
        json.end()
        json.raw(nil) { $0.append("[1,2]") }
        json.end()
        json.end()
    }

    @Test func compactAndPrettyLayouts() {
        let escaped = #""quo\"te back\\slash new\nline tab\t ctl\u0001 del\u007f ünï日本🙂""#
        #expect(written(pretty: false, document) ==
                #"{"empty-array":[],"empty-object":{},"null":null,"text":"# + escaped
                + #","numbers":[-3,18446744073709551615,0.5263,true,null],"nested":[{"a":[[]]},[1,2]]}"#)
        #expect(written(pretty: true, document) == """
            {
              "empty-array": [],
              "empty-object": {},
              "null": null,
              "text": \(escaped),
              "numbers": [
                -3,
                18446744073709551615,
                0.5263,
                true,
                null
              ],
              "nested": [
                {
                  "a": [
                    []
                  ]
                },
                [1,2]
              ]
            }
            """)
    }

    /// An idstr is written as its text: invalid UTF-8 replaced, escaped like any string.
    @Test func idstrsAreWrittenAsTheirText() throws {
        for idstr: [UInt8] in [Array("0000:00:03.0/e1000e".utf8), Array("q\"\\x".utf8), [0x62, 0xff, 0xfe, 0x0a],
                               Array("ünï".utf8), [0xc3], [0x7f]] {
            let json = written(pretty: false) { $0.string(nil, bytes: idstr[...]) }
            let text = String(decoding: idstr, as: UTF8.self)
            #expect(try JSONSerialization.jsonObject(with: Data(json.utf8), options: .fragmentsAllowed) as? String == text)
            #expect(json == written(pretty: false) { $0.string(nil, text) })
        }
    }

    @Test func reportFollowsTheSchema() throws {
        for pretty in [false, true] {
            let text = try render(pcAndQ35) { JSONSink(pretty: pretty, out: $0) }
            let doc = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
            #expect(doc["schema"] as? String == "devstate-report/1")
            let runs = try #require(doc["runs"] as? [[String: Any]])
            #expect(runs.map { $0["run"] as? Int } == [1, 2, 3])
            #expect(runs[0]["destination"] == nil && runs[1]["destination"] != nil && runs[2]["destination"] != nil)
            for run in runs {
                let source = try #require(run["source"] as? [String: Any])
                for key in ["device-state-times", "devices", "no-vmsd", "by-type", "phases", "checkpoints", "recorder",
                            "downtime-us", "named", "share-basis", "notes"] {
                    #expect(source[key] != nil, "\(key)")
                }
                let times = try #require(source["device-state-times"] as? [[String: Any]])
                #expect(times.allSatisfy { Set($0.keys) == ["name", "instance-id", "save-time"] })
                let devices = try #require(source["devices"] as? [[String: Any]])
                #expect(devices.filter { $0["in-device-state-times"] as? Bool == true }.count == times.count)
                #expect((source["no-vmsd"] as? [Any])?.count == devices.filter { $0["vmsd"] as? Bool == false }.count)
                #expect(source["from"] as? String == "trace-log")
            }
            let inputs = try #require(doc["inputs"] as? [[String: Any]])
            #expect(inputs.count == 4)
            #expect(inputs.map { $0["role"] as? String } == ["source", "destination", "source", "destination"])
            #expect(doc["malformed-lines"] as? Int == 0)
            #expect(text.hasSuffix("}\n"))
        }
    }

    /// The pretty document is the compact one with spaces and line breaks between the tokens.
    @Test func compactIsThePrettyOneWithoutItsSpaces() throws {
        let compact = try render(pcAndQ35) { JSONSink(pretty: false, out: $0) }
        let pretty = try render(pcAndQ35) { JSONSink(pretty: true, out: $0) }
        var minified: [UInt8] = []
        var inString = false, escaped = false
        for b in pretty.utf8 {
            if inString {
                minified.append(b)
                if escaped { escaped = false } else if b == UInt8(ascii: "\\") { escaped = true } else if b == UInt8(ascii: "\"") { inString = false }
            } else if b == UInt8(ascii: "\"") {
                inString = true
                minified.append(b)
            } else if b != UInt8(ascii: " ") && b != UInt8(ascii: "\n") {
                minified.append(b)
            }
        }
        #expect(compact.count > 10_000)
        #expect(String(decoding: minified, as: UTF8.self) + "\n" == compact)
        #expect(pretty.hasPrefix("{\n  \"schema\": \"devstate-report/1\",\n  \"runs\": [\n    {\n      \"run\": 1,"))
    }

    /// A side from query-migrate has no lines: line numbers are null; a reply input says what it gave.
    @Test func queryMigrateSidesAndInputs() throws {
        var log = SideLog(side: .source, file: "vm.sock", index: 1, startedAtCheckpoint: true)
        let facts = QueryMigrateFacts(endpoint: "vm.sock", role: .source, qemuVersion: "10.0.0", status: "completed",
                                      series: .v020, seriesFrom: .schema, outcome: .partial, missing: ["downtime-steps"],
                                      message: "partial", rendered: true, entriesDropped: 2)
        log.reply = facts
        let row = DeviceRow(device: DeviceTime(name: "cpu", instanceID: 0, section: .nonIterable, timeUS: 5),
                            share: nil, hasVMSD: true, inDeviceStateTimes: true)
        let side = SideReport(log: log, devices: [row], phases: [],
                              checkpoints: [CheckpointRow(name: "src-downtime-start", known: true, line: 0, timestampUS: 3, offsetUS: 0)],
                              types: [], recorder: RecorderInfo(), originUS: nil, totalUS: nil,
                              shareBasis: ShareBases(iterable: .sum, nonIterable: .sum), notes: [], steps: [],
                              named: NamedTime(downtimeUS: nil, devicesUS: 5, stepsUS: 0, stepsKnown: false))
        var input = InputSummary(path: "vm.sock", role: "source")
        input.queryMigrate = facts
        input.sources = 1
        var text = ""
        let sink = JSONSink(pretty: false, out: .strings { text += $0 })
        sink.begin()
        sink.run(RunReport(index: 1, source: side, destination: nil))
        sink.end(inputs: [input])
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let source = try #require(((doc["runs"] as? [[String: Any]])?.first)?["source"] as? [String: Any])
        #expect(source["from"] as? String == "query-migrate")
        #expect(source["lines"] is NSNull)
        #expect(((source["devices"] as? [[String: Any]])?.first?["line"]) is NSNull)
        #expect(((source["checkpoints"] as? [[String: Any]])?.first?["line"]) is NSNull)
        #expect(((source["devices"] as? [[String: Any]])?.first?["share"]) is NSNull)
        let reply = try #require((doc["inputs"] as? [[String: Any]])?.first)
        #expect(reply["bytes"] is NSNull && reply["lines"] is NSNull && reply["ended-without-newline"] is NSNull)
        let q = try #require(reply["query-migrate"] as? [String: Any])
        #expect(q["outcome"] as? String == "partial")
        #expect(q["missing"] as? [String] == ["downtime-steps"])
        #expect(q["entries-dropped"] as? Int == 2)
        #expect(q["qemu"] as? String == "10.0.0")
    }
}
