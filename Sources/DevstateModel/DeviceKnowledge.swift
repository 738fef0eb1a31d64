// SPDX-License-Identifier: MIT
/// What the trace does not say and the tool has to know about QEMU's state entries.
public struct DeviceKnowledge: Sendable {
    /// Entries QEMU registers without a vmsd (so the reference patch does not record them), by
    /// exact idstr. QEMU 10.0: `ram` and `dirty-bitmap` (live handlers), `slirp` (a save_state
    /// handler); on other targets `todclock` and the s390 storage keys and attributes
    /// (s390x), and `spapr/htab` (ppc64).
    public static let qemu10NoVMSD: Set<String> = [
        "ram", "dirty-bitmap", "slirp", "todclock", "s390-skeys", "s390-storage_attributes",
        "spapr/htab",
    ]

    /// Sections the source sends at setup, long before the switchover, by device type: a
    /// VMStateDescription with `early_setup`, in QEMU 10.0 and 10.2 only virtio-mem's early
    /// state. The destination loads them at the start of the migration, which is not downtime.
    public static let qemu10EarlySetup: Set<String> = ["virtio-mem-device-early"]

    /// Exact idstrs without a vmsd.
    public var noVMSD: Set<String>
    /// Device types sent at setup.
    public var earlySetup: Set<String>

    public init(extraNoVMSD: [String] = []) {
        noVMSD = Self.qemu10NoVMSD.union(extraNoVMSD)
        earlySetup = Self.qemu10EarlySetup
    }

    /// Whether a destination's load of `name` is of a section sent at setup.
    public func isSetupSection(_ name: String) -> Bool {
        earlySetup.contains(Self.deviceType(name))
    }

    /// Whether the entry was registered with a vmsd. VFIO devices (`…/vfio`) have none.
    public func hasVMSD(_ name: String) -> Bool {
        if noVMSD.contains(name) { return false }
        if name == "vfio" || name.hasSuffix("/vfio") { return false }
        return true
    }

    /// The device type: the idstr's last non-empty `/` component, so that
    /// `0000:00:03.0/e1000e` is `e1000e`, `0:0:0/scsi-disk` is `scsi-disk` and `spapr/htab` is
    /// `htab`; an idstr without a `/` is its own type (the instance id is not part of it), and
    /// one of slashes only as well. Split on the `/` byte, which is never part of another
    /// UTF-8 character.
    public static func deviceType(_ idstr: [UInt8]) -> ArraySlice<UInt8> {
        var end = idstr.count
        while end > 0, idstr[end - 1] == UInt8(ascii: "/") { end -= 1 }
        guard end > 0 else { return idstr[...] }
        var start = end
        while start > 0, idstr[start - 1] != UInt8(ascii: "/") { start -= 1 }
        return idstr[start..<end]
    }

    public static func deviceType(_ name: String) -> String {
        String(decoding: deviceType(Array(name.utf8)), as: UTF8.self)
    }
}
