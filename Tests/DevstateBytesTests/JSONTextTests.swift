// SPDX-License-Identifier: MIT
@testable import DevstateBytes
import Testing

/// Strings in JSON, the report's escaping and json-c's.
@Suite struct JSONTextTests {
    func json(_ bytes: [UInt8], _ escaping: JSONEscaping) -> String {
        var b = ByteBuffer()
        b.append(jsonString: bytes[...], escaping)
        return b.string
    }

    @Test func quotesBackslashesAndControlsAreEscaped() {
        let name = Array("a\"b\\c\nd\re\tf\u{8}g\u{c}h\u{1}i\u{7f}j".utf8)
        #expect(json(name, .report) == #""a\"b\\c\nd\re\tf\u0008g\u000ch\u0001i\u007fj""#)
        #expect(json(name, .jsonC) == "\"a\\\"b\\\\c\\nd\\re\\tf\\bg\\fh\\u0001i\u{7f}j\"")
    }

    @Test func invalidUTF8IsReplacedAndTheRestKept() {
        #expect(json([0x61, 0xff, 0x62], .report) == "\"a\u{FFFD}b\"")
        #expect(json(Array("é/ü".utf8), .report) == "\"é/ü\"")
    }
}
