// SPDX-License-Identifier: MIT
import DevstateModel

/// One QEMU process in a libvirt per-VM log: from libvirt's `starting up` line to the next.
public struct LibvirtProcess: Sendable, Equatable {
    /// 0 for lines before the first `starting up` (a rotated log).
    public var index: Int
    public var firstLine: Int
    public var lastLine: Int
    public var startedAt: String?
    public var qemuVersion: String?
    /// Started with `-incoming`: a restore or a migration's destination.
    public var incoming = false
    /// Its command line turned the downtime events on; `timestamps`: `-msg timestamp=on`.
    public var tracedAtStart = false
    public var timestamps = false
    public var shutdownReason: String?
    public var parts: [SideLog] = []
    public init(index: Int, firstLine: Int) { (self.index, self.firstLine, self.lastLine) = (index, firstLine, firstLine) }
    public var label: String {
        index == 0 ? "the lines before the first libvirt start" : "QEMU process \(index)" + (startedAt.map { " (started \($0))" } ?? "")
    }
}

public struct LibvirtLog: Sendable, Equatable {
    public var processes: [LibvirtProcess] = []
    public var stats = ReadStats()
    /// libvirt's command lines that mention `vmstate_downtime_`: ignored, not malformed.
    public var commandLinesWithMarker = 0
}

public struct LibvirtRun: Sendable, Equatable {
    public var source: SideLog?
    public var destination: SideLog?
}
