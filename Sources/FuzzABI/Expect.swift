// SPDX-License-Identifier: MIT
// Failing the input: a mismatch with the model aborts, which libFuzzer reports as a crash.
import CShim
#if canImport(Glibc)
@preconcurrency import Glibc  // stdout, stderr: C globals the one fuzzing thread uses
#endif

func fail(_ message: String) -> Never {
    fputs("FuzzABI: contract violated: \(message)\n", stderr)
    abort()
}

func expect(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fail(message()) }
}

func expectStatus(_ status: Int32, is expected: Int32, _ what: @autoclosure () -> String) {
    if status != expected { fail("\(what()) returned \(status), expected \(expected)") }
}

func expectStatus(_ status: Int32, in allowed: [Int32], _ what: @autoclosure () -> String) {
    if !allowed.contains(status) {
        fail("\(what()) returned \(status), expected one of \(allowed)")
    }
}

/// A record or checkpoint the contract refuses: its status is one of `errors`, and the run of
/// `model` (the live recorder it was meant for, nil for a freed or unknown one) counts it.
func expectRefused(_ status: Int32, in errors: [Int32], _ what: @autoclosure () -> String,
                   by model: RecorderModel?) {
    expectStatus(status, in: errors, what())
    model?.noteRefusal(status)
}
