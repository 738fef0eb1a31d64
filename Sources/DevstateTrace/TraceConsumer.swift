// SPDX-License-Identifier: MIT
/// Receives parsed lines in log order.
protocol TraceConsumer {
    /// The idstr is only valid during the call.
    mutating func device(_ direction: Direction, _ line: DeviceLine<UnsafeBufferPointer<UInt8>>)
    mutating func checkpoint(_ checkpoint: Checkpoint)
    mutating func step(_ step: DowntimeStep)
}

/// Adapts a closure over `TraceEvent`s (allocates one name array per device line).
struct ClosureConsumer: TraceConsumer {
    let body: (TraceEvent) -> Void
    init(_ body: @escaping (TraceEvent) -> Void) { self.body = body }

    func device(_ direction: Direction, _ line: DeviceLine<UnsafeBufferPointer<UInt8>>) {
        body(.device(direction, line.with(idstr: Array(line.idstr))))
    }

    func checkpoint(_ checkpoint: Checkpoint) { body(.checkpoint(checkpoint)) }

    func step(_ step: DowntimeStep) { body(.step(step)) }
}
