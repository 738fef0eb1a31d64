// SPDX-License-Identifier: MIT
import FoundationEssentials

/// A `query-migrate` reply or a `query-qmp-schema` answer that cannot be used; the CLI prints
/// the text as it is.
public struct QueryMigrateError: Error, CustomStringConvertible, Sendable, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }

    /// `T` from JSON text: a fault its init names comes out as it is; anything else (not JSON,
    /// the parse failed) as `otherwise`.
    static func decode<T: Decodable>(_ json: Data, otherwise: String) throws(QueryMigrateError) -> T {
        do {
            return try JSONDecoder().decode(T.self, from: json)
        } catch let error as QueryMigrateError {
            throw error
        } catch {
            throw QueryMigrateError(otherwise)
        }
    }
}
