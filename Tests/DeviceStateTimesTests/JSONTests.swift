// SPDX-License-Identifier: MIT
import CJSONC
import CShim
import DeviceStateTimes
import Testing

/// Parses with json-c and returns each object's members in document order.
private func parse(_ text: String) -> [[(key: String, value: String)]]? {
    guard let root = json_tokener_parse(text) else { return nil }
    defer { json_object_put(root) }
    var objects: [[(key: String, value: String)]] = []
    for index in 0..<json_object_array_length(root) {
        let object = json_object_array_get_idx(root, index)
        var members: [(key: String, value: String)] = []
        var iterator = json_object_iter_begin(object)
        var end = json_object_iter_end(object)
        while json_object_iter_equal(&iterator, &end) == 0 {
            let key = String(cString: json_object_iter_peek_name(&iterator))
            let value = json_object_iter_peek_value(&iterator)
            let text = json_object_is_type(value, json_type_string) != 0
                ? String(cString: json_object_get_string(value))
                : String(cString: json_object_to_json_string(value))
            members.append((key, text))
            json_object_iter_next(&iterator)
        }
        objects.append(members)
    }
    return objects
}

@Suite struct JSONTests {
    @Test func keysInQMPOrderAndValuesRoundTrip() throws {
        let recorder = Recorder()
        recorder.beginRun()
        try recorder.record(name: "0000:00:01.1/ide", instanceID: 0, saveTime: 11)
        try recorder.record(name: "quote\"back\\slash\u{1}", instanceID: UInt32.max, saveTime: UInt64.max)
        try recorder.record(name: "slirp", instanceID: 0, saveTime: 3, kind: .handler)
        let snapshot = try recorder.snapshot()
        for pretty in [false, true] {
            let text = try snapshot.json(pretty: pretty)
            let objects = try #require(parse(text))
            #expect(objects.count == 3)
            #expect(objects[0].map(\.key) == ["name", "instance-id", "save-time"])
            #expect(objects[0].map(\.value) == ["0000:00:01.1/ide", "0", "11"])
            #expect(objects[1].map(\.value) == ["quote\"back\\slash\u{1}", "4294967295", "18446744073709551615"])
            #expect(objects[2].map(\.key) == ["name", "instance-id", "save-time", "handler"])
            #expect(objects[2].last?.value == "true")
        }
        #expect(try snapshot.json().hasPrefix(#"[{"name":"0000:00:01.1/ide","instance-id":0,"save-time":11},"#))
    }

    @Test func invalidUTF8IsRepairedOnlyInItsOwnEntry() throws {
        let recorder = Recorder()
        recorder.beginRun()
        try recorder.record(name: "before", instanceID: 0, saveTime: 1)
        try recorder.record(nameBytes: [0x61, 0xc3, 0x62, 0xff], instanceID: 1, saveTime: 2)
        try recorder.record(name: "日本", instanceID: 2, saveTime: 3)
        let objects = try #require(parse(try recorder.snapshot().json()))
        #expect(objects.map { $0[0].value } == ["before", "a\u{FFFD}b\u{FFFD}", "日本"])
    }

    @Test func emptyRunIsAnEmptyArray() throws {
        let recorder = Recorder()
        recorder.beginRun()
        #expect(try recorder.snapshot().json() == "[]")
    }

    @Test func swiftAndCGiveTheSameDocument() throws {
        var handle: OpaquePointer?
        #expect(devstate_recorder_new(&handle) == DEVSTATE_OK)
        defer { _ = devstate_recorder_free(handle) }
        let recorder = Recorder()
        devstate_run_begin(handle)
        recorder.beginRun()
        for (index, name) in ["timer", "cpu", "0000:00:01.3/piix4_pm"].enumerated() {
            devstate_record(handle, name, UInt32(index), UInt64(index + 1), 0)
            try recorder.record(name: name, instanceID: UInt32(index), saveTime: UInt64(index + 1))
        }
        var snapshot: OpaquePointer?
        #expect(devstate_snapshot_take(handle, &snapshot) == DEVSTATE_OK)
        var text: UnsafeMutablePointer<CChar>?
        #expect(devstate_snapshot_json(snapshot, DEVSTATE_JSON_PRETTY, &text) == DEVSTATE_OK)
        #expect(String(cString: try #require(text)) == (try recorder.snapshot().json(pretty: true)))
        #expect(devstate_json_free(text) == DEVSTATE_OK)
        #expect(devstate_snapshot_free(snapshot) == DEVSTATE_OK)
    }
}
