/// Why a model or tokenizer file could not be loaded. Every case names the file and what was wrong.
public enum LoadingError: Error, Equatable, CustomStringConvertible {
    case cannotOpen(file: String, reason: String)
    case truncated(file: String, field: String, offset: Int, needed: Int, available: Int)
    case sizeMismatch(file: String, expected: Int, actual: Int, hint: String)
    case invalidField(file: String, field: String, value: String, reason: String)
    case unsupported(file: String, what: String)

    public var description: String {
        switch self {
        case let .cannotOpen(file, reason):
            return "\(file): cannot open: \(reason)"
        case let .truncated(file, field, offset, needed, available):
            return "\(file): truncated at offset \(offset) reading \(field): needs \(needed) bytes, \(available) left"
        case let .sizeMismatch(file, expected, actual, hint):
            return "\(file): size is \(actual) bytes but the header implies \(expected) (\(hint))"
        case let .invalidField(file, field, value, reason):
            return "\(file): invalid \(field) = \(value): \(reason)"
        case let .unsupported(file, what):
            return "\(file): unsupported \(what)"
        }
    }

    /// The description without the leading file name (for errors that wrap another).
    public var reason: String {
        let full = description
        switch self {
        case let .cannotOpen(file, _), let .truncated(file, _, _, _, _), let .sizeMismatch(file, _, _, _),
             let .invalidField(file, _, _, _), let .unsupported(file, _):
            return full.hasPrefix(file + ": ") ? String(full.dropFirst(file.count + 2)) : full
        }
    }
}
