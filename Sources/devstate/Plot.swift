// SPDX-License-Identifier: MIT
import DevstateAnalysis
import DevstateBytes
import DevstateIngest
import DevstateModel
import DevstateQMP
import DevstateRender
import FoundationEssentials
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
    let exit: ChildExit
    do {
        exit = try spawnAndWait(gnuplot, arguments: [scriptPath])
    } catch {
        throw PlotError(description: "cannot run \(gnuplot): \(error.message)")
    }
    guard exit.succeeded, FileManager.default.fileExists(atPath: pngPath) else {
        throw PlotError(description: "gnuplot failed: " + (exit.standardError ?? ""))
    }
}

extension PlotCollector {
    /// The data file and gnuplot script that draw `panels` into `png`.
    func gnuplot(png: String, dataPath: String) -> (data: String, script: String) {
        var data = ""
        for (i, panel) in panels.enumerated() {
            if i > 0 { data += "\n\n" }
            data += "# \(panel.title)\n"
            for bar in panel.bars {
                let label = bar.label.replacingAll("\"", with: "'")
                data += "\"\(label)\" \(bar.sourceUS.map(String.init) ?? "NaN") \(bar.destinationUS.map(String.init) ?? "NaN")\n"
            }
        }
        let rows = max(1, panels.count)
        var s = ""
        s += "set terminal pngcairo size 1200,\(380 * rows) font 'sans,9'\n"
        s += "set output '\(quote(png))'\n"
        s += "set multiplot layout \(rows),1\n"
        s += "set style data histograms\nset style histogram clustered gap 1\n"
        s += "set style fill solid 0.85 border -1\nset boxwidth 0.9\n"
        s += "set ylabel 'µs'\nset yrange [0:*]\nset grid ytics\n"
        s += "set xtics rotate by -35 left noenhanced\nset key top right\nset bmargin 8\n"
        for (i, panel) in panels.enumerated() {
            s += "set title '\(quote(panel.title))' noenhanced\n"
            let hasSource = panel.bars.contains { $0.sourceUS != nil }
            let hasDest = panel.bars.contains { $0.destinationUS != nil }
            var parts: [String] = []
            if hasSource {
                parts.append("'\(quote(dataPath))' index \(i) using 2:xtic(1) title 'source save' lc rgb '#3b6ea8'")
            }
            if hasDest {
                parts.append("'\(quote(dataPath))' index \(i) using 3\(hasSource ? "" : ":xtic(1)") title 'destination load' lc rgb '#d9822b'")
            }
            s += "plot " + parts.joined(separator: ", ") + "\n"
        }
        s += "unset multiplot\n"
        return (data, s)
    }

    private func quote(_ s: String) -> String { s.replacingAll("'", with: "''") }
}

extension String {
    /// By scalar: a quote followed by a combining mark is one Character, which a comparison
    /// of Characters would miss.
    func replacingAll(_ target: Unicode.Scalar, with replacement: String) -> String {
        unicodeScalars.map { $0 == target ? replacement : String($0) }.joined()
    }
}
