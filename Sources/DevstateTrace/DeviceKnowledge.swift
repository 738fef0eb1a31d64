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

    /// Exact idstrs without a vmsd.
    public var noVMSD: Set<String>

    public init(extraNoVMSD: [String] = []) {
        noVMSD = Self.qemu10NoVMSD.union(extraNoVMSD)
    }

    /// Whether the entry was registered with a vmsd. VFIO devices (`…/vfio`) have none.
    public func hasVMSD(_ name: String) -> Bool {
        if noVMSD.contains(name) { return false }
        if name == "vfio" || name.hasSuffix("/vfio") { return false }
        return true
    }

    /// The device type: the idstr without the device path QEMU puts in front of it, so that
    /// `0000:00:03.0/e1000e` is `e1000e` and `0000:00:04.0/1/usb-ptr` is `usb-ptr`. Leading
    /// components that are PCI addresses (`0000:00:1c.0`, also bridged `0000:00:1c.0:00.0`) or
    /// port numbers (`1`, `1.2`) are removed; `cpu` instances stay `cpu` (the instance id is
    /// not part of the name).
    public static func deviceType(_ name: String) -> String {
        var parts = name.split(separator: "/", omittingEmptySubsequences: false)
        while parts.count > 1, isPathComponent(parts[0]) { parts.removeFirst() }
        return parts.joined(separator: "/")
    }

    static func isPathComponent(_ s: Substring) -> Bool {
        if s.isEmpty { return false }
        if s.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }) { return true }
        // PCI: DDDD:BB:SS.F, optionally followed by :SS.F per bridge.
        let pieces = s.split(separator: ":", omittingEmptySubsequences: false)
        guard pieces.count >= 3 else { return false }
        func hex(_ t: Substring) -> Bool { !t.isEmpty && t.allSatisfy { $0.isHexDigit } }
        guard hex(pieces[0]), hex(pieces[1]) else { return false }
        for slot in pieces.dropFirst(2) {
            let sf = slot.split(separator: ".", omittingEmptySubsequences: false)
            guard sf.count == 2, hex(sf[0]), hex(sf[1]) else { return false }
        }
        return true
    }
}
