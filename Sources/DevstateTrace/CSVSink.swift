// SPDX-License-Identifier: MIT
/// One row per device per side, plus rows for phases, checkpoints, types and steps (column
/// `record`), written straight into bytes. Every row of a side ends with the side's share of its
/// downtime that has a name (`named_share`), as every row starts with its run and side.
public final class CSVSink: ReportSink {
    let out: TextOut
    private var buffer = ByteBuffer()

    public static let header = "run,side,record,name,instance_id,type,section,time_us,share,in_device_state_times,vmsd,from,to,offset_us,line,named_share"

    public init(out: TextOut) {
        self.out = out
    }

    deinit { buffer.deallocate() }

    public func begin() { out(Self.header + "\n") }

    /// `s` as one CSV field: quoted (quotes doubled) when it holds a comma, quote or line break.
    static func field(_ s: String) -> String {
        var bytes = ByteBuffer(capacity: s.utf8.count + 8)
        defer { bytes.deallocate() }
        field(s, into: &bytes)
        return String(decoding: bytes.bytes, as: UTF8.self)
    }

    static func field(_ s: String, into out: inout ByteBuffer) {
        // Most fields (types, phase and checkpoint names) are native strings: their bytes
        // are read in place.
        if let done: Void = s.utf8.withContiguousStorageIfAvailable({ field(UnsafeRawBufferPointer($0), into: &out) }) {
            return done
        }
        var s = s
        s.withUTF8 { field(UnsafeRawBufferPointer($0), into: &out) }
    }

    /// An idstr as its text would be written (invalid UTF-8 replaced), without making the text
    /// when the bytes are ASCII.
    static func field(idstr: UnsafeRawBufferPointer, into out: inout ByteBuffer) {
        ByteScan.withText(idstr) { field($0, into: &out) }
    }

    static func field(idstr: [UInt8], into out: inout ByteBuffer) {
        idstr.withUnsafeBytes { field(idstr: $0, into: &out) }
    }

    /// By byte: "\r\n" is one Character and would not match "\n" or "\r"; a quote followed by a
    /// combining mark is one Character too.
    static func field(_ utf8: UnsafeRawBufferPointer, into out: inout ByteBuffer) {
        let first = ByteScan.first(in: utf8, from: 0, flags: {
            ByteScan.equal($0, UInt8(ascii: ",")) | ByteScan.equal($0, UInt8(ascii: "\"")) | ByteScan.equal($0, 0x0A)
                | ByteScan.equal($0, 0x0D)
        }, special: { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 0x0A || $0 == 0x0D })
        guard first < utf8.count else { return out.append(utf8) }
        out.append(UInt8(ascii: "\""))
        for b in utf8 {
            if b == UInt8(ascii: "\"") { out.append(b) }
            out.append(b)
        }
        out.append(UInt8(ascii: "\""))
    }

    public func run(_ run: RunReport) {
        var t = buffer
        for s in [run.source, run.destination].compactMap({ $0 }) {
            // "RUN,SIDE," starts every row of the side: written once, copied per row.
            var lead = ByteBuffer(capacity: 32)
            defer { lead.deallocate() }
            lead.append(decimal: run.index)
            lead.append(s.side == .source ? ",source," as StaticString : ",destination,")
            let leadBytes = lead.bytes
            // ",NAMED_SHARE\n" ends every row of the side: written once, copied per row.
            var end = ByteBuffer(capacity: 16)
            defer { end.deallocate() }
            end.append(UInt8(ascii: ","))
            if let named = s.named.share { end.append(fixed: named, digits: 4) }
            end.append(UInt8(ascii: "\n"))
            let endBytes = end.bytes
            func prefix(_ record: StaticString, _ t: inout ByteBuffer) {
                t.append(leadBytes)
                t.append(record)
            }
            func share(_ value: Double?, _ t: inout ByteBuffer) {
                if let value { t.append(fixed: value, digits: 4) }
            }
            let hasLines = s.hasLines
            let names = s.names
            s.devices.withUnsafeBufferPointer { rows in
                for k in rows.indices {
                    let row = rows[k]
                    let id = row.device.idstr
                    prefix("device,", &t)
                    if row.plainName { t.append(names.idstr(id)) } else { Self.field(idstr: names.idstr(id), into: &t) }
                    t.append(UInt8(ascii: ","))
                    t.append(decimal: UInt64(row.device.instanceID))
                    t.append(UInt8(ascii: ","))
                    if row.plainName { t.append(names.type(id)) } else { Self.field(names.typeName(id), into: &t) }
                    t.append(row.device.section == .iterable ? ",iterable," as StaticString : ",non-iterable,")
                    t.append(decimal: row.device.timeUS)
                    t.append(UInt8(ascii: ","))
                    share(row.share, &t)
                    t.append(row.inDeviceStateTimes ? ",true," as StaticString : ",false,")
                    t.append(row.hasVMSD ? "true,,,," as StaticString : "false,,,,")
                    if hasLines { t.append(decimal: row.device.line) }
                    t.append(endBytes)
                }
            }
            for p in s.phases {
                prefix("phase,", &t)
                Self.field(p.label, into: &t)
                t.append(",,,," as StaticString)
                if let d = p.durationUS { t.append(decimal: d) }
                t.append(",,,," as StaticString)
                Self.field(p.from, into: &t)
                t.append(UInt8(ascii: ","))
                Self.field(p.to, into: &t)
                t.append(",," as StaticString)
                t.append(endBytes)
            }
            for c in s.checkpoints {
                prefix("checkpoint,", &t)
                Self.field(c.name, into: &t)
                t.append(",,,,,,,,,," as StaticString)
                if let o = c.offsetUS { t.append(decimal: o) }
                t.append(UInt8(ascii: ","))
                if hasLines { t.append(decimal: c.line) }
                t.append(endBytes)
            }
            for type in s.types {
                prefix("type,", &t)
                let start = t.count
                if type.plainType { t.append(names.type(type.nameID)) } else { Self.field(names.typeName(type.nameID), into: &t) }
                t.append(",," as StaticString)
                t.appendCopy(from: start, count: t.count - start)  // the type again, as its name

                t.append(decimal: type.timeUS)
                t.append(UInt8(ascii: ","))
                share(type.share, &t)
                t.append(",,,,,," as StaticString)
                t.append(endBytes)
            }
            // A step in the columns of a device: its name; the device (the QOM path or block
            // node that tells handlers of one name apart, as an instance id tells devices of one
            // idstr apart) in instance_id; its device's type; its kind in section; its share of
            // its phase, whose checkpoints are from and to; its start in offset_us.
            for row in s.steps {
                let step = row.step
                prefix("step,", &t)
                Self.field(step.name, into: &t)
                t.append(UInt8(ascii: ","))
                Self.field(step.device, into: &t)
                t.append(UInt8(ascii: ","))
                Self.field(step.type, into: &t)
                t.append(UInt8(ascii: ","))
                t.append(step.kind.rawValue)
                t.append(UInt8(ascii: ","))
                t.append(decimal: step.timeUS)
                t.append(UInt8(ascii: ","))
                share(row.share, &t)
                t.append(",,," as StaticString)
                if let phase = row.phase {
                    Self.field(s.phases[phase].from, into: &t)
                    t.append(UInt8(ascii: ","))
                    Self.field(s.phases[phase].to, into: &t)
                } else {
                    t.append(UInt8(ascii: ","))
                }
                t.append(UInt8(ascii: ","))
                if let o = row.offsetUS { t.append(decimal: o) }
                t.append(UInt8(ascii: ","))
                if hasLines { t.append(decimal: step.line) }
                t.append(endBytes)
            }
        }
        out.batch(&t)
        buffer = t
    }

    public func flush() { out.flush(&buffer) }

    public func end(inputs: [InputSummary]) { out.flush(&buffer) }
}

extension String {
    /// By scalar: a quote followed by a combining mark is one Character, which a comparison
    /// of Characters would miss.
    func replacingAll(_ target: Unicode.Scalar, with replacement: String) -> String {
        var result = ""
        for scalar in unicodeScalars {
            if scalar == target { result += replacement } else { result.unicodeScalars.append(scalar) }
        }
        return result
    }
}
