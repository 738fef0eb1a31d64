// SPDX-License-Identifier: MIT
import DevstateBytes
import DevstateModel

/// `device-state-times` written from the report's rows: the rows the recorder kept, in input
/// order, compact, byte for byte as the recorder's own json-c writer (`Snapshot.json()`, what
/// QEMU returns) writes the same entries (names escaped as json-c escapes them).
extension SideReport {
    public var deviceStateTimesJSON: String {
        var buffer = ByteBuffer(capacity: 256)
        writeDeviceStateTimes(to: &buffer)
        return buffer.string
    }

    func writeDeviceStateTimes(to out: inout ByteBuffer) {
        out.append(UInt8(ascii: "["))
        var first = true
        for row in devices where row.inDeviceStateTimes {
            out.append(first ? #"{"name":"# as StaticString : #",{"name":"#)
            first = false
            out.append(jsonString: row.device.idstr[...], .jsonC)
            out.append(#","instance-id":"# as StaticString)
            out.append(decimal: UInt64(row.device.instanceID))
            out.append(#","save-time":"# as StaticString)
            out.append(decimal: row.device.timeUS)
            // Only an entry without a vmsd that QEMU recorded on opt-in can be kept without one.
            out.append(row.hasVMSD ? "}" as StaticString : #","handler":true}"#)
        }
        out.append(UInt8(ascii: "]"))
    }
}
