// SPDX-License-Identifier: MIT
import DevstateBytes
import DevstateModel

/// The whole report as one JSON document (`ReportJSON`), written run by run.
public final class JSONSink: ReportSink {
    let out: TextOut
    private var json: JSONWriter

    public init(pretty: Bool, out: TextOut) {
        json = JSONWriter(pretty: pretty)
        self.out = out
    }

    public func begin() {
        json.beginObject()
        json.string("schema", ReportJSON.schema)
        json.beginArray("runs")
    }

    public func run(_ run: RunReport) {
        ReportJSON.write(run, to: &json)
        out.batch(&json.out)
    }

    public func flush() { out.flush(&json.out) }

    public func end(inputs: [InputSummary]) {
        json.end()
        ReportJSON.end(inputs, to: &json)
        out.flush(&json.out)
    }
}
