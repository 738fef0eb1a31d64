// SPDX-License-Identifier: MIT
import CLibvirt
import DevstateQMP
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A libvirt domain reached through libvirt's C client library (libvirt, libvirt-qemu): QMP
/// commands go through `virDomainQemuMonitorCommand` on the monitor libvirt already holds.
final class LibvirtDomain: QMPTransport {
    private let connection: virConnectPtr
    private let domain: virDomainPtr
    let name: String
    let uri: String

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// libvirt's last error, as its own words.
    private static func lastError(_ what: String) -> Failure {
        let message = virGetLastErrorMessage().map { String(cString: $0) } ?? "unknown error"
        return Failure(description: "\(what): \(message)")
    }

    init(uri: String, name: String) throws {
        // libvirt prints every error to standard error by default; we report them ourselves.
        virSetErrorFunc(nil, { _, _ in })
        guard let connection = virConnectOpen(uri) else {
            throw Self.lastError("cannot connect to libvirt at \(uri)")
        }
        guard let domain = virDomainLookupByName(connection, name) else {
            let error = Self.lastError("domain \(name)")
            virConnectClose(connection)
            throw error
        }
        self.connection = connection
        self.domain = domain
        self.name = name
        self.uri = uri
    }

    deinit {
        virDomainFree(domain)
        virConnectClose(connection)
    }

    var isActive: Bool { virDomainIsActive(domain) == 1 }

    /// The domain's live XML.
    func xml() throws -> String {
        guard let text = virDomainGetXMLDesc(domain, 0) else { throw Self.lastError("domain \(name): XML") }
        defer { free(text) }
        return String(cString: text)
    }

    /// The `<emulator>` of the domain's XML.
    func emulator() -> String? {
        guard let xml = try? xml(),
              let open = xml.firstRange(of: "<emulator>"),
              let close = xml[open.upperBound...].firstRange(of: "</emulator>") else { return nil }
        return String(xml[open.upperBound..<close.lowerBound])
    }

    /// The QEMU process's pid, from libvirt's pid file (readable by root on the same host).
    func qemuPID(runDirectory: String = "/run/libvirt/qemu") -> Int32? {
        guard let text = try? String(contentsOfFile: "\(runDirectory)/\(name).pid", encoding: .utf8) else { return nil }
        // The one word of the file (what trimming the whitespace around it leaves).
        let words = text.split(whereSeparator: \.isWhitespace)
        return words.count == 1 ? Int32(words[0]) : nil
    }

    /// Sends one QMP command and returns the whole reply; a QMP error is thrown.
    func executeRaw(_ command: String, arguments: [String: QMPValue]?) throws -> Data {
        let json = try QMPText.command(command, arguments: arguments)
        var result: UnsafeMutablePointer<CChar>? = nil
        guard virDomainQemuMonitorCommand(domain, json, &result, 0) == 0, let result else {
            throw Self.lastError("\(command) on domain \(name)")
        }
        defer { free(result) }
        return try QMPText.returned(Data(String(cString: result).utf8), by: command)
    }
}
