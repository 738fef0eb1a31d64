// SPDX-License-Identifier: MIT
import DevstateModel

extension LibvirtLogReader {
    /// libvirt restores a saved image into a new process, logged next in the same file: a
    /// process's last source run is paired with the next one's first load when the first ended
    /// `reason=saved` and the next started with `-incoming`. Every other part stands alone (a
    /// migration's other side is in the other host's log). Notes say why.
    public static func runs(_ log: LibvirtLog) -> [LibvirtRun] {
        var runs: [LibvirtRun] = []
        var taken = Set<Int>()  // processes whose first load was paired
        for (i, process) in log.processes.enumerated() {
            var skipFirstLoad = taken.contains(i)
            let lastSource = process.parts.lastIndex { $0.side == .source }
            let next = i + 1 < log.processes.count ? log.processes[i + 1] : nil
            for (k, var part) in process.parts.enumerated() {
                part.notes.append(origin(process))
                if part.side == .destination, skipFirstLoad {
                    skipFirstLoad = false
                    continue
                }
                guard k == lastSource, process.shutdownReason == "saved" else {
                    runs.append(LibvirtRun(source: part.side == .source ? part : nil,
                                           destination: part.side == .destination ? part : nil))
                    continue
                }
                var restore: SideLog?
                if let next, next.incoming, var load = next.parts.first, load.side == .destination {
                    load.notes += [origin(next), "restores the save of QEMU process \(process.index) (paired by log order: that one ended reason=saved, this one started with -incoming)"]
                    part.notes.append("restored by QEMU process \(next.index)")
                    restore = load
                    taken.insert(i + 1)
                } else if let next, next.incoming {
                    part.notes.append("QEMU process \(next.index) restored it without the downtime trace, so its loads are not in the log (start the domain with the events on: <qemu:commandline>)")
                } else {
                    part.notes.append("no restore follows in this log")
                }
                runs.append(LibvirtRun(source: part, destination: restore))
            }
        }
        return runs
    }

    private static func origin(_ process: LibvirtProcess) -> String {
        "libvirt log: \(process.label)" + (process.incoming ? ", started with -incoming" : "")
            + (process.shutdownReason.map { ", shut down reason=\($0)" } ?? "")
    }
}
