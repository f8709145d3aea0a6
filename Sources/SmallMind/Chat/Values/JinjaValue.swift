/// A value while a template renders: Python's objects as jinja2 sees them. Lists, tuples and
/// dictionaries are values (copies are cheap, copy-on-write); namespaces, macros and loop
/// contexts are references because templates share them. Lives for one render, on one thread.
enum JinjaValue {
    case undefined(JinjaUndefined)
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case list([JinjaValue])
    case tuple([JinjaValue])
    case dictionary(JinjaDictionary)
    case namespace(JinjaNamespace)
    case macro(JinjaMacro)
    case loop(JinjaLoopContext)
    case function(JinjaGlobalFunction)
    /// A method looked up on a value (`"a,b".split`, `d.items`), called later.
    indirect case method(receiver: JinjaValue, name: String)

    static func undefined(_ name: String) -> JinjaValue { .undefined(JinjaUndefined(.variable(name))) }

    static func constant(_ constant: JinjaConstant) -> JinjaValue {
        switch constant {
        case .none: return .none
        case .bool(let value): return .bool(value)
        case .int(let value): return .int(value)
        case .double(let value): return .double(value)
        case .string(let value): return .string(value)
        }
    }

    init(_ value: TemplateValue) {
        switch value {
        case .null: self = .none
        case .bool(let value): self = .bool(value)
        case .int(let value): self = .int(value)
        case .double(let value): self = .double(value)
        case .string(let value): self = .string(value)
        case .array(let values): self = .list(values.map(JinjaValue.init))
        case .object(let object):
            var dictionary = JinjaDictionary()
            for (key, value) in object { dictionary.set(.string(key), JinjaValue(value), hashKey: .string(key)) }
            self = .dictionary(dictionary)
        }
    }

    var isNone: Bool {
        if case .none = self { return true }
        return false
    }

    var isUndefined: Bool {
        if case .undefined = self { return true }
        return false
    }

    /// Python's truth value.
    var isTruthy: Bool {
        switch self {
        case .undefined, .none: return false
        case .bool(let value): return value
        case .int(let value): return value != 0
        case .double(let value): return value != 0
        case .string(let value): return !value.isEmpty
        case .list(let items), .tuple(let items): return !items.isEmpty
        case .dictionary(let dictionary): return !dictionary.isEmpty
        case .namespace, .macro, .loop, .function, .method: return true
        }
    }

    /// Whether containers nest deeper than `limit` levels here (a namespace holding itself nests
    /// without end). Stops as soon as it knows.
    func nestsDeeper(than limit: Int) -> Bool {
        func items(_ values: [JinjaValue]) -> Bool { values.contains { $0.nestsDeeper(than: limit - 1) } }
        switch self {
        case .list(let values), .tuple(let values):
            return limit <= 0 ? true : items(values)
        case .dictionary(let dictionary):
            return limit <= 0 ? true : items(dictionary.values) || items(dictionary.keys)
        case .namespace(let namespace):
            return limit <= 0 ? true : items(namespace.attributes.values)
        case .method(let receiver, _):
            return receiver.nestsDeeper(than: limit)
        default:
            return false
        }
    }

    /// Python's type name, for error messages.
    var typeName: String {
        switch self {
        case .undefined: return "Undefined"
        case .none: return "NoneType"
        case .bool: return "bool"
        case .int: return "int"
        case .double: return "float"
        case .string: return "str"
        case .list: return "list"
        case .tuple: return "tuple"
        case .dictionary: return "dict"
        case .namespace: return "Namespace"
        case .macro: return "Macro"
        case .loop: return "LoopContext"
        case .function, .method: return "builtin_function_or_method"
        }
    }

    /// How jinja2 names the value's type in undefined-attribute messages ("dict object").
    var objectDescription: String {
        if case .none = self { return "None" }
        return "\(typeName) object"
    }

    /// An integer view of ints and bools (Python's bool is an int).
    var integerValue: Int? {
        switch self {
        case .int(let value): return value
        case .bool(let value): return value ? 1 : 0
        default: return nil
        }
    }

    /// A float view of any number.
    var numberValue: Double? {
        switch self {
        case .int(let value): return Double(value)
        case .bool(let value): return value ? 1 : 0
        case .double(let value): return value
        default: return nil
        }
    }

    var isNumber: Bool { numberValue != nil }
}

/// Why a value is undefined; the message of the error raised when it is used.
struct JinjaUndefined {
    enum Reason {
        case variable(String)
        case attribute(owner: String, name: String)
        case element(owner: String, key: String)
        case message(String)
        /// The sandbox refused an attribute (a method that would mutate the value).
        case unsafe(String)
    }

    let reason: Reason

    init(_ reason: Reason) { self.reason = reason }

    var message: String {
        switch reason {
        case .variable(let name): return "'\(name)' is undefined"
        case .attribute(let owner, let name): return "'\(owner)' has no attribute '\(name)'"
        case .element(let owner, let key): return "\(owner) has no element \(key)"
        case .message(let text): return text
        case .unsafe(let text): return text
        }
    }
}
