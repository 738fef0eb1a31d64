// SPDX-License-Identifier: MIT
@testable import DevstateQMP
import Foundation
import XCTest

final class TraceBackendTests: XCTestCase {
    func binary(_ bytes: [UInt8]) -> String {
        let path = NSTemporaryDirectory() + "devstate-backend-\(UUID().uuidString)"
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func testTheLogBackendsFormatStringsTellIt() {
        let filler = [UInt8](repeating: 0x41, count: (1 << 20) - 20)  // the string straddles a chunk
        let stamped = Array("%d@%zu.%06zu:vmstate_downtime_save type=%s idstr=%s".utf8)
        XCTAssertEqual(TraceBackend.of(binary: binary(filler + stamped + [0])), .log)
        XCTAssertEqual(TraceBackend.of(binary: binary(filler + Array("vmstate_downtime_save type=%s idstr".utf8))), .logOrSyslog)
        // Both: the stamped one wins, wherever it is.
        XCTAssertEqual(TraceBackend.of(binary: binary(Array("vmstate_downtime_save type=%s\0".utf8) + filler + filler + stamped)), .log)
        XCTAssertEqual(TraceBackend.of(binary: binary(Array("vmstate_downtime_save\0vmstate_downtime_load".utf8))), .none)
        XCTAssertEqual(TraceBackend.of(binary: binary([])), .none)
        XCTAssertEqual(TraceBackend.of(binary: binary(Array("vmstate_downtime_save".utf8))).canLog, false)
        XCTAssertEqual(TraceBackend.of(binary: "/nonexistent/qemu"), .unknown("/nonexistent/qemu: No such file or directory"))
        XCTAssertEqual(TraceBackend.of(binary: "/nonexistent/qemu").canLog, nil)
        XCTAssertEqual(TraceBackend.logOrSyslog.description, "log (or syslog)")
        // The stock QEMU 10.0 of Debian, when installed.
        if FileManager.default.fileExists(atPath: "/usr/bin/qemu-system-x86_64") {
            XCTAssertEqual(TraceBackend.of(binary: "/usr/bin/qemu-system-x86_64"), .log)
        }
    }

    func testADirectoryCannotBeRead() {
        XCTAssertEqual(TraceBackend.of(binary: NSTemporaryDirectory()), .unknown("\(NSTemporaryDirectory()): read error"))
    }
}
