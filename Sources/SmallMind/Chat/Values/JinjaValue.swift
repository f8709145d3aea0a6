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

/// A Python dict: insertion-ordered, keyed by hashable values (strings, numbers, None, tuples;
/// `1`, `1.0` and `True` are the same key, as in Python).
struct JinjaDictionary {
    mutating func removeValue(for hashKey: JinjaHashKey) {
        guard let position = index.removeValue(forKey: hashKey) else { return }
        keys.remove(at: position)
        values.remove(at: position)
        for (key, other) in index where other > position { index[key] = other - 1 }
    }

    private(set) var keys: [JinjaValue] = []
    private(set) var values: [JinjaValue] = []
    private var index: [JinjaHashKey: Int] = [:]

    var count: Int { keys.count }
    var isEmpty: Bool { keys.isEmpty }

    func value(for key: JinjaHashKey) -> JinjaValue? {
        index[key].map { values[$0] }
    }

    func value(forString key: String) -> JinjaValue? {
        value(for: .string(key))
    }

    mutating func set(_ key: JinjaValue, _ value: JinjaValue, hashKey: JinjaHashKey) {
        if let position = index[hashKey] {
            values[position] = value
        } else {
            index[hashKey] = keys.count
            keys.append(key)
            values.append(value)
        }
    }

    mutating func set(_ key: JinjaValue, _ value: JinjaValue) throws(JinjaFailure) {
        set(key, value, hashKey: try JinjaHashKey(key))
    }

    var pairs: Zip2Sequence<[JinjaValue], [JinjaValue]> { zip(keys, values) }
}

/// What a dictionary key hashes as: Python's hash equivalence for the hashable built-in types.
indirect enum JinjaHashKey: Hashable {
    case string(String)
    case int(Int)
    case double(Double)
    case none
    case tuple([JinjaHashKey])

    init(_ value: JinjaValue) throws(JinjaFailure) {
        switch value {
        case .string(let string): self = .string(string)
        case .int(let int): self = .int(int)
        case .bool(let bool): self = .int(bool ? 1 : 0)
        case .double(let double):
            if double.rounded() == double, let exact = Int(exactly: double) { self = .int(exact) } else { self = .double(double) }
        case .none: self = .none
        case .tuple(let items):
            var keys: [JinjaHashKey] = []
            for item in items { keys.append(try JinjaHashKey(item)) }
            self = .tuple(keys)
        case .undefined(let undefined):
            throw JinjaFailure(undefined)
        default:
            throw JinjaFailure("unhashable type: '\(value.typeName)'")
        }
    }
}

/// What `namespace()` makes: the one object whose attributes a template may assign
/// (`{% set ns.found = true %}`), visible across loop iterations.
final class JinjaNamespace {
    var attributes = JinjaDictionary()
}

/// A macro (or a call block's body) with the scope it was defined in. The scope usually holds
/// the macro too (a reference cycle): the renderer cuts `closure` when the render ends.
final class JinjaMacro {
    let definition: JinjaMacroDefinition
    var closure: JinjaScope?

    init(definition: JinjaMacroDefinition, closure: JinjaScope) {
        self.definition = definition
        self.closure = closure
    }
}

/// The functions every template can call.
enum JinjaGlobalFunction: String {
    case range, dict, namespace
    case raiseException = "raise_exception"
    case strftimeNow = "strftime_now"
}

/// `loop` inside a `for`: where the iteration is, and `loop(children)` for recursive loops.
final class JinjaLoopContext {
    let items: [JinjaValue]
    var index0 = 0
    let depth0: Int
    var lastChangedValue: [JinjaValue]?
    /// For `recursive` loops: the statement to render again, in the scope it started in (cut
    /// when the render ends, in case a namespace kept the loop).
    var recursion: (statement: JinjaLoopStatement, scope: JinjaScope)?

    init(items: [JinjaValue], depth0: Int, recursion: (statement: JinjaLoopStatement, scope: JinjaScope)?) {
        self.items = items
        self.depth0 = depth0
        self.recursion = recursion
    }

    func attribute(_ name: String) -> JinjaValue? {
        switch name {
        case "index0": return .int(index0)
        case "index": return .int(index0 + 1)
        case "revindex0": return .int(items.count - index0 - 1)
        case "revindex": return .int(items.count - index0)
        case "first": return .bool(index0 == 0)
        case "last": return .bool(index0 == items.count - 1)
        case "length": return .int(items.count)
        case "depth0": return .int(depth0)
        case "depth": return .int(depth0 + 1)
        case "previtem":
            return index0 > 0 ? items[index0 - 1] : .undefined(JinjaUndefined(.message("there is no previous item")))
        case "nextitem":
            return index0 + 1 < items.count ? items[index0 + 1] : .undefined(JinjaUndefined(.message("there is no next item")))
        case "cycle", "changed": return .method(receiver: .loop(self), name: name)
        default: return nil
        }
    }
}

/// Variables visible at one point: a chain of frames, innermost first. `for` iterations, macro
/// calls and `with` blocks open a frame; `if` does not (jinja2's scoping).
final class JinjaScope {
    private var variables: [String: JinjaValue]
    let parent: JinjaScope?

    init(parent: JinjaScope?, variables: [String: JinjaValue] = [:]) {
        self.parent = parent
        self.variables = variables
    }

    func lookup(_ name: String) -> JinjaValue? {
        var scope: JinjaScope? = self
        while let current = scope {
            if let value = current.variables[name] { return value }
            scope = current.parent
        }
        return nil
    }

    func set(_ name: String, _ value: JinjaValue) {
        variables[name] = value
    }
}

/// An error while rendering, before it is given its place in the template.
struct JinjaFailure: Error {
    var kind: ChatTemplateError.Kind = .runtime
    var message: String
    var location: JinjaSourceLocation?

    init(_ message: String, kind: ChatTemplateError.Kind = .runtime) {
        self.message = message
        self.kind = kind
    }

    init(_ undefined: JinjaUndefined) {
        self.init(undefined.message)
    }

    /// The innermost location wins: set it only once, where the failure happened.
    func located(at location: JinjaSourceLocation) -> JinjaFailure {
        guard self.location == nil else { return self }
        var copy = self
        copy.location = location
        return copy
    }

    var publicError: ChatTemplateError {
        ChatTemplateError(kind: kind, message: message, line: location?.line, column: location?.column)
    }
}
