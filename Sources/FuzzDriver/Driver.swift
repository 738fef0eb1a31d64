// SPDX-License-Identifier: MIT
// Starts libFuzzer, or replays inputs when the binary was built without it; shared by the
// FuzzABI and FuzzTrace targets.
//
// SwiftPM links an executable with `--defsym main=<module>_main`, so libFuzzer's own `main`
// never runs: this calls `LLVMFuzzerRunDriver` itself. The symbol is looked up at run time so
// that a plain `swift build` (no libFuzzer) still links; scripts/hardening/run.sh links
// libFuzzer's no-main runtime and exports the symbol
// (`-Xlinker --export-dynamic-symbol=LLVMFuzzerRunDriver`).
#if canImport(Glibc)
import Glibc
#endif

public typealias FuzzCallback = @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
private typealias FuzzDriver = @convention(c) (
    UnsafeMutablePointer<Int32>,
    UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    FuzzCallback
) -> Int32

/// Runs libFuzzer with the process arguments, or, without libFuzzer, runs `callback` once on
/// each file named (directories: each file in them) and exits 0.
public func runFuzzer(_ callback: FuzzCallback) -> Never {
    if let symbol = dlsym(nil, "LLVMFuzzerRunDriver") {
        let driver = unsafeBitCast(symbol, to: FuzzDriver.self)
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(driver(&argc, &argv, callback))
    }
    var replayed = 0
    for argument in CommandLine.arguments.dropFirst() where !argument.hasPrefix("-") {
        for path in filesUnder(argument) {
            let bytes = readFile(path)
            _ = bytes.withUnsafeBufferPointer { callback($0.baseAddress, $0.count) }
            replayed += 1
        }
    }
    print("replayed \(replayed) inputs without libFuzzer")
    exit(0)
}

private func filesUnder(_ path: String) -> [String] {
    guard let dir = opendir(path) else { return [path] }
    defer { closedir(dir) }
    var files: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
        }
        if name.hasPrefix(".") { continue }
        files.append(path + "/" + name)
    }
    return files.sorted()
}

private func readFile(_ path: String) -> [UInt8] {
    guard let file = fopen(path, "rb") else { return [] }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let got = fread(&chunk, 1, chunk.count, file)
        if got <= 0 { break }
        bytes += chunk[0..<got]
    }
    return bytes
}
