// SPDX-License-Identifier: MIT
import DevstateBytes
import DevstateModel

/// One row per device per side, plus rows for phases, checkpoints, types and steps (column
/// `record`). Every row of a side starts with its run and side, and ends with the side's share
/// of its downtime that has a name (`named_share`).
public final class CSVSink: ReportSink {
    let out: TextOut
    private var buffer = ByteBuffer()

    public static let header = "run,side,record,name,instance_id,type,section,time_us,share,in_device_state_times,vmsd,from,to,offset_us,line,named_share"

    public init(out: TextOut) {
        self.out = out
    }

    public func begin() { out(Self.header + "\n") }

    public func run(_ run: RunReport) {
        for s in [run.source, run.destination].compactMap({ $0 }) { Self.write(run.index, s, into: &buffer) }
        out.batch(&buffer)
    }

    /// A side's rows (into a parameter, not the sink's property: a class's properties are
    /// checked for exclusive access at each use).
    private static func write(_ index: Int, _ s: SideReport, into buffer: inout ByteBuffer) {
        let hasLines = s.hasLines
        // "RUN,SIDE," starts a row and ",NAMED_SHARE\n" ends it: the same for every row of the side.
        let lead = Array("\(index),\(s.side.rawValue),".utf8)
        let tail = Array(("," + (s.named.share.map { formatFixed($0, digits: 4) } ?? "") + "\n").utf8)
        func start(_ record: StaticString) {
            lead.withUnsafeBytes { buffer.append($0) }
            buffer.append(record)
        }
        func end() { tail.withUnsafeBytes { buffer.append($0) } }
        func share(_ value: Double?) {
            if let value { buffer.append(fixed: value, digits: 4) }
        }
        for row in s.devices {
            start("device,")
            Self.field(row.device.idstr[...], into: &buffer)
            buffer.append(UInt8(ascii: ","))
            buffer.append(decimal: UInt64(row.device.instanceID))
            buffer.append(UInt8(ascii: ","))
            Self.field(row.device.type, into: &buffer)
            buffer.append(row.device.section == .iterable ? ",iterable," as StaticString : ",non-iterable,")
            buffer.append(decimal: row.device.timeUS)
            buffer.append(UInt8(ascii: ","))
            share(row.share)
            buffer.append(row.inDeviceStateTimes ? ",true," as StaticString : ",false,")
            buffer.append(row.hasVMSD ? "true,,,," as StaticString : "false,,,,")
            if hasLines { buffer.append(decimal: row.device.line) }
            end()
        }
        // The other records in the columns of a device, empty where they have nothing to say.
        func record(_ kind: StaticString, _ name: String, instance: String = "", type: String = "",
                    section: String = "", time: Int64? = nil, share value: Double? = nil, from: String = "",
                    to: String = "", offset: Int64? = nil, line: Int? = nil) {
            func text(_ s: String) {
                Self.field(s, into: &buffer)
                buffer.append(UInt8(ascii: ","))
            }
            start(kind)
            text(name)
            text(instance)
            text(type)
            text(section)
            if let time { buffer.append(decimal: time) }
            buffer.append(UInt8(ascii: ","))
            share(value)
            buffer.append(",,," as StaticString)
            text(from)
            text(to)
            if let offset { buffer.append(decimal: offset) }
            buffer.append(UInt8(ascii: ","))
            if let line { buffer.append(decimal: line) }
            end()
        }
        for p in s.phases { record("phase,", p.label, time: p.durationUS, from: p.from, to: p.to) }
        for c in s.checkpoints { record("checkpoint,", c.name, offset: c.offsetUS, line: hasLines ? c.line : nil) }
        // A type as its name and as its type.
        for t in s.types { record("type,", t.type, type: t.type, time: Int64(t.timeUS), share: t.share) }
        // A step in the columns of a device: its name; the device (the QOM path or block node
        // that tells handlers of one name apart, as an instance id tells devices of one idstr
        // apart) in instance_id; its device's type; its kind in section; its share of its
        // phase, whose checkpoints are from and to; its start in offset_us.
        for row in s.steps {
            let step = row.step, phase = row.phase.map { s.phases[$0] }
            record("step,", step.name, instance: step.device, type: step.type, section: step.kind.rawValue,
                   time: Int64(step.timeUS), share: row.share, from: phase?.from ?? "", to: phase?.to ?? "",
                   offset: row.offsetUS, line: hasLines ? step.line : nil)
        }
    }

    public func flush() { out.flush(&buffer) }

    public func end(inputs: [InputSummary]) { out.flush(&buffer) }

    /// Text as one CSV field: quoted (quotes doubled) when it holds a comma, quote or line
    /// break. Looked at by byte: "\r\n" is one Character and would not match "\n" or "\r".
    static func field(_ utf8: UnsafeRawBufferPointer, into out: inout ByteBuffer) {
        guard utf8.contains(where: { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 0x0A || $0 == 0x0D })
        else { return out.append(utf8) }
        out.append(UInt8(ascii: "\""))
        for b in utf8 {
            if b == UInt8(ascii: "\"") { out.append(b) }
            out.append(b)
        }
        out.append(UInt8(ascii: "\""))
    }

    /// An idstr or a type as its text (invalid UTF-8 replaced).
    static func field(_ bytes: ArraySlice<UInt8>, into out: inout ByteBuffer) {
        guard bytes.allSatisfy({ $0 < 0x80 }) else {
            return field(String(decoding: bytes, as: UTF8.self), into: &out)
        }
        bytes.withUnsafeBytes { field($0, into: &out) }
    }

    static func field(_ text: String, into out: inout ByteBuffer) {
        var text = text
        text.withUTF8 { field(UnsafeRawBufferPointer($0), into: &out) }
    }

    static func field(_ text: String) -> String {
        var out = ByteBuffer(capacity: 64)
        field(text, into: &out)
        return out.string
    }
}
