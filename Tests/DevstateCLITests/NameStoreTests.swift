// SPDX-License-Identifier: MIT
@testable import DevstateTrace
import Foundation
import Testing

@Suite struct NameStoreTests {
    /// Every name comes back as it went in, under the id it got first, whatever its bytes and
    /// length (a name longer than a page gets a page of its own).
    @Test func namesComeBackUnderTheirIDs() {
        let store = NameStore()
        var mix = WriterTests.Mix(state: 11)
        var names: [[UInt8]] = [[], Array("cpu".utf8), [0xFF, 0x2F, 0xC3], Array(repeating: 0x61, count: 255),
                                Array(repeating: 0x62, count: NameStore.bytesPerPage + 7)]
        for _ in 0..<5_000 { names.append((0..<mix.below(40)).map { _ in UInt8(mix.below(256)) }) }
        var ids: [Int32] = []
        for name in names { ids.append(name.withUnsafeBufferPointer { store.id($0) }) }
        for (name, id) in zip(names, ids) {
            #expect(store.bytes(id) == name)
            #expect(name.withUnsafeBufferPointer { store.find($0) } == id)
            #expect(store.name(id) == String(decoding: name, as: UTF8.self))
            #expect(store.plain(id) == name.allSatisfy { $0 >= 0x20 && $0 < 0x7f && $0 != 0x22 && $0 != 0x5C && $0 != 0x2C })
        }
        #expect(Set(ids).count == Set(names).count)
    }

    /// The type the store keeps is the idstr's last non-empty `/` component, the one the
    /// report showed when it split the text by `Character` (the oracle here), for every name
    /// whose text has no combining mark after a `/`.
    @Test func typeIsTheLastPathComponent() {
        let store = NameStore()
        var mix = WriterTests.Mix(state: 3)
        let alphabet = Array("ab/0:.-_ ".utf8) + [0xC3, 0xA9, 0xFF]
        for _ in 0..<3_000 {
            let name = (0..<mix.below(20)).map { _ in alphabet[mix.below(alphabet.count)] }
            let text = String(decoding: name, as: UTF8.self)
            let oracle = text.split(separator: "/").last.map(String.init) ?? text
            let id = name.withUnsafeBufferPointer { store.id($0) }
            #expect(store.typeName(id) == oracle, "\(name)")
            #expect(DeviceKnowledge.deviceType(text) == oracle)
        }
        // Types are numbered once each: names of one type share the number.
        let a = Array("0000:00:03.0/e1000".utf8).withUnsafeBufferPointer { store.id($0) }
        let b = Array("0000:00:04.0/e1000".utf8).withUnsafeBufferPointer { store.id($0) }
        let c = Array("0000:00:04.0/e1000e".utf8).withUnsafeBufferPointer { store.id($0) }
        #expect(store.typeNumber(a) == store.typeNumber(b) && store.typeNumber(a) != store.typeNumber(c))
    }
}

/// Run under ThreadSanitizer by the `swift-tsan` suite (its filter is "Concurrency").
@Suite struct NameStoreConcurrencyTests {
    /// A thread reads the names it was handed while the writer adds more: the pages never move.
    @Test func readersSeeHandedOutNamesWhileNamesAreAdded() {
        let store = NameStore()
        let handed = DispatchSemaphore(value: 0)
        let total = 20_000
        final class Box: @unchecked Sendable { var ids: [Int32] = []; var bad = 0 }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        let batches = 40
        final class Sent: @unchecked Sendable { var batches: [[Int32]]; init(_ n: Int) { batches = Array(repeating: [], count: n) } }
        let sent = Sent(batches)
        let lock = NSLock()
        Thread {
            for k in 0..<batches {
                handed.wait()
                lock.lock()
                let ids = sent.batches[k]
                lock.unlock()
                for id in ids where store.name(id) != "n\(id)" || store.typeName(id) != "n\(id)" { box.bad += 1 }
                box.ids += ids
            }
            done.signal()
        }.start()
        for k in 0..<batches {
            var ids: [Int32] = []
            for i in (k * total / batches)..<((k + 1) * total / batches) {
                ids.append(Array("n\(i)".utf8).withUnsafeBufferPointer { store.id($0) })
            }
            lock.lock()
            sent.batches[k] = ids
            lock.unlock()
            handed.signal()
        }
        done.wait()
        #expect(box.bad == 0)
        #expect(box.ids.count == total)
    }

    /// A long log with new names in every run (so the splitter starts new stores as it goes)
    /// renders on the render thread the same as run by run on this one.
    @Test func pipelineEqualsOneThreadAcrossNewStores() throws {
        var log = ""
        for run in 0..<700 {
            log += "vmstate_downtime_checkpoint src-downtime-start\n"
            for d in 0..<30 {
                let name = d < 5 ? "0000:00:\(d).0/dev\(d % 4)" : "fresh\(run)-\(d)"
                log += "vmstate_downtime_save type=non-iterable idstr=\(name) instance_id=0 downtime=\(run % 7 + d)\n"
            }
            log += "vmstate_downtime_checkpoint src-downtime-end\n"
        }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("namestore-\(getpid()).log").path
        try Data(log.utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }

        var threaded = ""
        _ = try ReportPipeline().run(groups: [ReportGroup(source: ReportInput(path: path, role: .source), destination: nil)],
                                     sink: CSVSink(out: .strings { threaded += $0 }))
        var single = ""
        let sink = CSVSink(out: .strings { single += $0 })
        let analyzer = Analyzer()
        var parts: [SideLog] = []
        let splitter = RunSplitter(file: path) { parts.append($0) }
        let stats = try LogReader().read(path: path, name: path, into: splitter)
        splitter.finish()
        #expect(parts.count == 700)
        // 700 runs × 25 new names: the splitter started new stores on the way.
        #expect(Set(parts.map { ObjectIdentifier($0.names) }).count >= 2)
        sink.begin()
        for (k, part) in parts.enumerated() { sink.run(RunReport(index: k + 1, source: analyzer.analyze(part), destination: nil)) }
        var summary = InputSummary(path: path, role: "source")
        summary.sources = parts.count
        summary.stats = stats
        sink.end(inputs: [summary])
        #expect(!threaded.isEmpty && threaded == single)
    }
}
