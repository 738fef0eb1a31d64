// SPDX-License-Identifier: MIT
import CShim

/// A refusal from the recorder; each case is one negative `DEVSTATE_ERR_*` code of the C ABI.
public enum DeviceStateError: Error, Equatable, Sendable, CaseIterable {
    case null
    case nameEmpty
    case nameTooLong
    case noRun
    case empty
    case invalidHandle
    case noMemory
    case range
    case full
    case notOwned
    case flags
    case json
    case nameNUL
    /// An unknown `DEVSTATE_QEMU_LIST_*` selector (since 0.2.0).
    case noList

    /// The C ABI's status code for this error.
    public var code: Int32 {
        switch self {
        case .null: DEVSTATE_ERR_NULL
        case .nameEmpty: DEVSTATE_ERR_NAME_EMPTY
        case .nameTooLong: DEVSTATE_ERR_NAME_TOO_LONG
        case .noRun: DEVSTATE_ERR_NO_RUN
        case .empty: DEVSTATE_ERR_EMPTY
        case .invalidHandle: DEVSTATE_ERR_INVALID_HANDLE
        case .noMemory: DEVSTATE_ERR_NOMEM
        case .range: DEVSTATE_ERR_RANGE
        case .full: DEVSTATE_ERR_FULL
        case .notOwned: DEVSTATE_ERR_NOT_OWNED
        case .flags: DEVSTATE_ERR_FLAGS
        case .json: DEVSTATE_ERR_JSON
        case .nameNUL: DEVSTATE_ERR_NAME_NUL
        case .noList: DEVSTATE_ERR_NO_LIST
        }
    }

    /// What `devstate_strerror` says for this error.
    public var message: String { String(cString: messagePointer) }

    var messagePointer: UnsafePointer<CChar> {
        switch self {
        case .null: StaticMessages.null
        case .nameEmpty: StaticMessages.nameEmpty
        case .nameTooLong: StaticMessages.nameTooLong
        case .noRun: StaticMessages.noRun
        case .empty: StaticMessages.empty
        case .invalidHandle: StaticMessages.invalidHandle
        case .noMemory: StaticMessages.noMemory
        case .range: StaticMessages.range
        case .full: StaticMessages.full
        case .notOwned: StaticMessages.notOwned
        case .flags: StaticMessages.flags
        case .json: StaticMessages.json
        case .nameNUL: StaticMessages.nameNUL
        case .noList: StaticMessages.noList
        }
    }

    /// A switch rather than a search of `allCases`, whose array the Swift runtime allocates.
    init?(code: Int32) {
        switch code {
        case DEVSTATE_ERR_NULL: self = .null
        case DEVSTATE_ERR_NAME_EMPTY: self = .nameEmpty
        case DEVSTATE_ERR_NAME_TOO_LONG: self = .nameTooLong
        case DEVSTATE_ERR_NO_RUN: self = .noRun
        case DEVSTATE_ERR_EMPTY: self = .empty
        case DEVSTATE_ERR_INVALID_HANDLE: self = .invalidHandle
        case DEVSTATE_ERR_NOMEM: self = .noMemory
        case DEVSTATE_ERR_RANGE: self = .range
        case DEVSTATE_ERR_FULL: self = .full
        case DEVSTATE_ERR_NOT_OWNED: self = .notOwned
        case DEVSTATE_ERR_FLAGS: self = .flags
        case DEVSTATE_ERR_JSON: self = .json
        case DEVSTATE_ERR_NAME_NUL: self = .nameNUL
        case DEVSTATE_ERR_NO_LIST: self = .noList
        default: return nil
        }
    }
}

/// Outcome of a record that was not refused.
public enum RecordOutcome: Sendable, Equatable {
    /// The entry is in the run.
    case kept
    /// The entry's time was 0 µs: counted in `skippedZero`, not kept (as the reference patch does).
    case skippedZero

    var code: Int32 {
        switch self {
        case .kept: DEVSTATE_OK
        case .skippedZero: DEVSTATE_SKIPPED_ZERO
        }
    }
}

/// Messages with static storage duration, as `devstate_strerror` promises.
enum StaticMessages {
    static var ok: UnsafePointer<CChar> { make("success") }
    static var skippedZero: UnsafePointer<CChar> { make("entry not kept: its save time was 0 us") }
    static var null: UnsafePointer<CChar> { make("a required pointer argument is NULL") }
    static var nameEmpty: UnsafePointer<CChar> { make("device name is empty") }
    static var nameTooLong: UnsafePointer<CChar> { make("device name is longer than 255 bytes") }
    static var noRun: UnsafePointer<CChar> { make("no run is open (call devstate_run_begin first)") }
    static var empty: UnsafePointer<CChar> { make("nothing to query: no run has begun, or the last one was discarded") }
    static var invalidHandle: UnsafePointer<CChar> { make("handle was already freed or is not a live object of this library") }
    static var noMemory: UnsafePointer<CChar> { make("out of memory") }
    static var range: UnsafePointer<CChar> { make("index is past the last entry") }
    static var full: UnsafePointer<CChar> { make("run already holds the maximum number of entries; entry dropped") }
    static var notOwned: UnsafePointer<CChar> { make("the default recorder belongs to the library and cannot be freed") }
    static var flags: UnsafePointer<CChar> { make("unknown bits in flags, or more than one DEVSTATE_ENTRY_* value") }
    static var json: UnsafePointer<CChar> { make("json-c could not build the document") }
    static var nameNUL: UnsafePointer<CChar> { make("device name contains a NUL byte") }
    static var noList: UnsafePointer<CChar> { make("unknown DEVSTATE_QEMU_LIST_* list") }
    static var unknown: UnsafePointer<CChar> { make("unknown status code") }

    /// String literals are stored NUL-terminated in the binary's read-only data.
    private static func make(_ text: StaticString) -> UnsafePointer<CChar> {
        UnsafeRawPointer(text.utf8Start).assumingMemoryBound(to: CChar.self)
    }
}
