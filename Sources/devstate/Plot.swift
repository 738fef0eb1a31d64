// SPDX-License-Identifier: MIT
import DevstateAnalysis
import DevstateBytes
import DevstateIngest
import DevstateModel
import DevstateQMP
import DevstateRender
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

struct PlotError: Error, CustomStringConvertible {
    var description: String
}

func findExecutable(_ name: String) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for dir in path.split(separator: ":") {
        let candidate = "\(dir)/\(name)"
        if access(candidate, X_OK) == 0 { return candidate }
    }
    return nil
}

/// Draws the collected runs into `png` with gnuplot.
func drawPlot(_ collector: PlotCollector, to png: String) throws {
    guard !collector.panels.isEmpty else { throw PlotError(description: "--plot: no runs to draw") }
    guard let gnuplot = findExecutable("gnuplot") else {
        throw PlotError(description: "--plot needs gnuplot, which is not installed (Debian: apt-get install gnuplot-nox); the report above is complete")
    }
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("devstate-plot-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let dataPath = dir.appendingPathComponent("bars.dat").path
    let scriptPath = dir.appendingPathComponent("plot.gp").path
    let pngPath = URL(fileURLWithPath: png).path
    let (data, script) = collector.gnuplot(png: pngPath, dataPath: dataPath)
    try data.write(toFile: dataPath, atomically: true, encoding: .utf8)
    try script.write(toFile: scriptPath, atomically: true, encoding: .utf8)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: gnuplot)
    process.arguments = [scriptPath]
    let errors = Pipe()
    process.standardError = errors
    try process.run()
    let message = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0, FileManager.default.fileExists(atPath: pngPath) else {
        throw PlotError(description: "gnuplot failed: " + (String(data: message, encoding: .utf8) ?? ""))
    }
}
