// SPDX-License-Identifier: MIT
// Runs copied into QAPI-shaped lists (node -> value -> name, each malloc'd on its own, as
// QEMU's qapi_free_*List() frees them), and freed the same way.
import CDevstateShim
import CShim

/// Frees a QAPI-shaped list: each node, its value and the value's name.
func freeQAPIList<Node, Value>(
    _ list: UnsafeMutablePointer<Node>?, next: (UnsafeMutablePointer<Node>) -> UnsafeMutablePointer<Node>?,
    value: (UnsafeMutablePointer<Node>) -> UnsafeMutablePointer<Value>?,
    name: (UnsafeMutablePointer<Value>) -> UnsafeMutablePointer<CChar>?
) -> Int32 {
    var node = list
    while let current = node {
        node = next(current)
        if let item = value(current) {
            devstate_shim_free(name(item))
            devstate_shim_free(item)
        }
        devstate_shim_free(current)
    }
    return DEVSTATE_OK
}

/// A node of a QAPI list: `next` first, then the value pointer (the generator's layout).
private struct QAPINode<Value> {
    var next: UnsafeMutablePointer<QAPINode<Value>>?
    var value: UnsafeMutablePointer<Value>?
}

extension RunCopy {
    /// Builds a QAPI list of the included entries, front to back, with malloc-family memory; on
    /// exhaustion frees what it built and leaves *out untouched. `List` must have the QAPI list
    /// layout (next, value), which the header's list types have.
    func buildList<List, Value>(
        _ out: UnsafeMutablePointer<UnsafeMutablePointer<List>?>,
        include: (EntryRecord) -> Bool,
        nameOf: (UnsafeMutablePointer<Value>) -> UnsafeMutablePointer<CChar>?,
        value makeValue: (EntryRecord, UnsafeMutablePointer<CChar>) -> Value
    ) -> Int32 {
        typealias Node = QAPINode<Value>
        precondition(MemoryLayout<Node>.size == MemoryLayout<List>.size)
        var head: UnsafeMutablePointer<Node>?
        var tail: UnsafeMutablePointer<Node>?
        for position in 0..<count {
            let record = record(at: position)
            guard include(record) else { continue }
            let bytes = name(of: record)
            let rawNode = devstate_shim_calloc(1, MemoryLayout<Node>.size)
            let rawValue = devstate_shim_calloc(1, MemoryLayout<Value>.size)
            let rawName = devstate_shim_malloc(bytes.count + 1)
            guard let rawNode, let rawValue, let rawName else {
                devstate_shim_free(rawNode)
                devstate_shim_free(rawValue)
                devstate_shim_free(rawName)
                _ = freeQAPIList(head, next: { $0.pointee.next }, value: { $0.pointee.value },
                                 name: nameOf)
                return DEVSTATE_ERR_NOMEM
            }
            let name = rawName.bindMemory(to: CChar.self, capacity: bytes.count + 1)
            bytes.withMemoryRebound(to: CChar.self) { name.initialize(from: $0.baseAddress!, count: $0.count) }
            name[bytes.count] = 0
            let value = rawValue.bindMemory(to: Value.self, capacity: 1)
            value.initialize(to: makeValue(record, name))
            let node = rawNode.bindMemory(to: Node.self, capacity: 1)
            node.initialize(to: Node(next: nil, value: value))
            if let tail { tail.pointee.next = node } else { head = node }
            tail = node
        }
        out.pointee = UnsafeMutableRawPointer(head)?.assumingMemoryBound(to: List.self)
        return DEVSTATE_OK
    }
}
