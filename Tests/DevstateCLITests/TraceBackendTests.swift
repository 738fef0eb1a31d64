// SPDX-License-Identifier: MIT
@testable import devstate
import Foundation
import Testing

/// The files a test wrote, removed when its suite instance goes away: at the test's end.
final class TemporaryFiles {
    private var paths: [String] = []
    func add(_ path: String) { paths.append(path) }
    deinit { for path in paths { try? FileManager.default.removeItem(atPath: path) } }
}

@Suite struct TraceBackendTests {
    let temporary = TemporaryFiles()

    func binary(_ bytes: [UInt8]) -> String {
        let path = NSTemporaryDirectory() + "devstate-backend-\(UUID().uuidString)"
        #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        temporary.add(path)
        return path
    }

    @Test func theLogBackendsFormatStringsTellIt() {
        let filler = [UInt8](repeating: 0x41, count: (1 << 20) - 20)  // the string straddles a chunk
        let stamped = Array("%d@%zu.%06zu:vmstate_downtime_save type=%s idstr=%s".utf8)
        #expect(TraceBackend.of(binary: binary(filler + stamped + [0])) == .log)
        #expect(TraceBackend.of(binary: binary(filler + Array("vmstate_downtime_save type=%s idstr".utf8))) == .logOrSyslog)
        // Both: the stamped one wins, wherever it is.
        #expect(TraceBackend.of(binary: binary(Array("vmstate_downtime_save type=%s\0".utf8) + filler + filler + stamped)) == .log)
        #expect(TraceBackend.of(binary: binary(Array("vmstate_downtime_save\0vmstate_downtime_load".utf8))) == .none)
        #expect(TraceBackend.of(binary: binary([])) == .none)
        #expect(TraceBackend.of(binary: binary(Array("vmstate_downtime_save".utf8))).canLog == false)
        #expect(TraceBackend.of(binary: "/nonexistent/qemu") == .unknown("/nonexistent/qemu: No such file or directory"))
        #expect(TraceBackend.of(binary: "/nonexistent/qemu").canLog == nil)
        #expect(TraceBackend.logOrSyslog.description == "log (or syslog)")
        // The stock QEMU 10.0 of Debian, when installed.
        if FileManager.default.fileExists(atPath: "/usr/bin/qemu-system-x86_64") {
            #expect(TraceBackend.of(binary: "/usr/bin/qemu-system-x86_64") == .log)
        }
    }

    @Test func aDirectoryCannotBeRead() {
        #expect(TraceBackend.of(binary: NSTemporaryDirectory()) == .unknown("\(NSTemporaryDirectory()): read error"))
    }
}
