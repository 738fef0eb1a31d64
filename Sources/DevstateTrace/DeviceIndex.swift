// SPDX-License-Identifier: MIT
/// A side's devices by key (idstr, instance, section), as a `[DeviceKey: Int]` filled in log
/// order would find them (the last of equal keys), for the table's destination columns:
/// open addressing over the device indices with FNV-1a over the idstr bytes, so that no
/// `DeviceKey` is built and no `Hasher` runs per device. Keys are compared by their bytes: the
/// other side's names may be in another `NameStore`.
struct DeviceIndex {
    private var slots: [Int32]
    private let mask: Int

    init(_ side: SideReport) {
        let devices = side.devices, names = side.names
        var size = 8
        while size < 2 * devices.count { size *= 2 }
        mask = size - 1
        var slots = [Int32](repeating: -1, count: size)
        let mask = self.mask
        devices.withUnsafeBufferPointer { devices in
            slots.withUnsafeMutableBufferPointer { slots in
                for i in 0..<devices.count {
                    let d = devices[i].device
                    let idstr = names.idstr(d.idstr)
                    var at = Self.hash(idstr, d) & mask
                    while true {
                        let j = Int(slots[at])
                        if j < 0 || Self.same(devices[j].device, names.idstr(devices[j].device.idstr), d, idstr) {
                            slots[at] = Int32(i)
                            break
                        }
                        at = (at + 1) & mask
                    }
                }
            }
        }
        self.slots = slots
    }

    /// The index in `side.devices` (the side the index was built from) of the last device with
    /// the key of `device`, whose idstr is `idstr`.
    func find(_ device: DeviceLine<Int32>, idstr: UnsafeRawBufferPointer, in side: SideReport) -> Int? {
        slots.withUnsafeBufferPointer { slots in
            var at = Self.hash(idstr, device) & mask
            while true {
                let j = Int(slots[at])
                if j < 0 { return nil }
                let other = side.devices[j].device
                if Self.same(other, side.names.idstr(other.idstr), device, idstr) { return j }
                at = (at + 1) & mask
            }
        }
    }

    @inline(__always)
    static func same(_ a: DeviceLine<Int32>, _ aName: UnsafeRawBufferPointer,
                     _ b: DeviceLine<Int32>, _ bName: UnsafeRawBufferPointer) -> Bool {
        a.instanceID == b.instanceID && a.section == b.section && aName.elementsEqual(bName)
    }

    @inline(__always)
    static func hash(_ idstr: UnsafeRawBufferPointer, _ device: DeviceLine<Int32>) -> Int {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in idstr { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        h ^= UInt64(device.instanceID) << 1 | (device.section == .iterable ? 1 : 0)
        h = (h ^ (h >> 29)) &* 0xBF58_476D_1CE4_E5B9
        return Int(truncatingIfNeeded: h ^ (h >> 32))
    }
}
