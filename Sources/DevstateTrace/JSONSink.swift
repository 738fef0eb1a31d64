// SPDX-License-Identifier: MIT
/// The whole report as one JSON document (`devstate-report/1`, see ReportJSON), written run by
/// run straight into bytes.
public final class JSONSink: ReportSink {
    let out: TextOut
    let pretty: Bool
    var count = 0
    private var buffer = ByteBuffer()

    public init(pretty: Bool, out: TextOut) {
        self.pretty = pretty
        self.out = out
    }

    deinit { buffer.deallocate() }

    public func begin() {
        out(pretty ? "{\n  \"schema\": \"\(ReportJSON.schema)\",\n  \"runs\": ["
                   : "{\"schema\":\"\(ReportJSON.schema)\",\"runs\":[")
    }

    public func run(_ run: RunReport) {
        var bytes = buffer
        if count > 0 { bytes.append(UInt8(ascii: ",")) }
        if pretty { bytes.append("\n    " as StaticString) }
        var json = JSONStream(into: bytes, pretty: pretty, indent: 2)
        ReportJSON.write(run, to: &json)
        buffer = json.out
        out.batch(&buffer)
        count += 1
    }

    public func flush() { out.flush(&buffer) }

    public func end(inputs: [InputSummary]) {
        out.flush(&buffer)
        let inputsValue = JSONValue.array(inputs.map(ReportJSON.input))
        let malformed = inputs.reduce(0) { $0 + $1.stats.malformedLines }
        if pretty {
            out((count > 0 ? "\n  ]" : "]") + ",\n  \"inputs\": " + inputsValue.serialized(pretty: true, indent: 1)
                + ",\n  \"malformed-lines\": \(malformed)\n}\n")
        } else {
            out("],\"inputs\":" + inputsValue.serialized() + ",\"malformed-lines\":\(malformed)}\n")
        }
    }
}
