/// Attribute access, item access, slicing and iteration with jinja2's sandbox rules:
/// `x.name` tries the attribute then the item, `x[key]` the item then the attribute; a missing
/// one is an undefined value (an error only when used); using anything on an undefined value is
/// an error. Methods that would mutate a value are refused, as Hugging Face's immutable sandbox
/// refuses them.
enum JinjaAccess {
    static let stringMethods: Set<String> = [
        "startswith", "endswith", "strip", "lstrip", "rstrip", "split", "rsplit", "splitlines", "upper", "lower",
        "title", "capitalize", "swapcase", "replace", "find", "rfind", "index", "rindex", "count", "join", "format",
        "isdigit", "isalpha", "isalnum", "isspace", "islower", "isupper", "istitle", "isnumeric", "isdecimal",
        "zfill", "center", "ljust", "rjust", "removeprefix", "removesuffix", "partition", "rpartition",
    ]
    static let dictionaryMethods: Set<String> = ["get", "items", "keys", "values", "copy"]
    static let sequenceMethods: Set<String> = ["index", "count"]
    static let mutatingDictionaryMethods: Set<String> = ["clear", "pop", "popitem", "setdefault", "update"]
    static let mutatingListMethods: Set<String> = ["append", "clear", "extend", "insert", "pop", "remove", "reverse", "sort"]

    private static func unsafe(_ name: String, of value: JinjaValue) -> JinjaValue {
        .undefined(JinjaUndefined(.unsafe("access to attribute '\(name)' of '\(value.typeName)' object is unsafe.")))
    }

    private static func missingAttribute(_ name: String, of value: JinjaValue) -> JinjaValue {
        .undefined(JinjaUndefined(.attribute(owner: value.objectDescription, name: name)))
    }

    /// The attribute itself, without falling back to items: nil when there is none.
    private static func ownAttribute(_ value: JinjaValue, _ name: String) -> JinjaValue? {
        switch value {
        case .string:
            return stringMethods.contains(name) ? .method(receiver: value, name: name) : nil
        case .dictionary:
            if dictionaryMethods.contains(name) { return .method(receiver: value, name: name) }
            return mutatingDictionaryMethods.contains(name) ? unsafe(name, of: value) : nil
        case .list:
            if sequenceMethods.contains(name) { return .method(receiver: value, name: name) }
            return mutatingListMethods.contains(name) ? unsafe(name, of: value) : nil
        case .tuple:
            return sequenceMethods.contains(name) ? .method(receiver: value, name: name) : nil
        case .namespace(let namespace):
            return namespace.attributes.value(forString: name)
        case .loop(let loop):
            return loop.attribute(name)
        case .macro(let macro):
            return name == "name" ? .string(macro.definition.name) : nil
        default:
            return nil
        }
    }

    /// `value.name`.
    static func attribute(_ value: JinjaValue, _ name: String) throws(JinjaFailure) -> JinjaValue {
        if case .undefined(let undefined) = value { throw JinjaFailure(undefined) }
        if let attribute = ownAttribute(value, name) { return attribute }
        if case .dictionary(let dictionary) = value, let item = dictionary.value(forString: name) { return item }
        return missingAttribute(name, of: value)
    }

    /// `value[key]` (not a slice).
    static func item(_ value: JinjaValue, _ key: JinjaValue) throws(JinjaFailure) -> JinjaValue {
        if case .undefined(let undefined) = value { throw JinjaFailure(undefined) }
        switch value {
        case .dictionary(let dictionary):
            if let hashKey = try? JinjaHashKey(key), let item = dictionary.value(for: hashKey) { return item }
        case .list(let items), .tuple(let items):
            if let index = key.integerValue, let position = resolve(index, count: items.count) { return items[position] }
        case .string(let text):
            if let index = key.integerValue {
                let scalars = Array(text.unicodeScalars)
                if let position = resolve(index, count: scalars.count) { return .string(String(Character(scalars[position]))) }
            }
        default:
            break
        }
        if case .string(let name) = key {
            if let attribute = ownAttribute(value, name) { return attribute }
            return missingAttribute(name, of: value)
        }
        return .undefined(JinjaUndefined(.element(owner: value.objectDescription, key: key.pythonRepr)))
    }

    /// A Python index (negative counts from the end) as a position, or nil when out of range.
    private static func resolve(_ index: Int, count: Int) -> Int? {
        let position = index < 0 ? count + index : index
        return position >= 0 && position < count ? position : nil
    }

    /// `value[start:stop:step]` on strings (by code point), lists and tuples.
    static func slice(_ value: JinjaValue, start: JinjaValue, stop: JinjaValue, step: JinjaValue) throws(JinjaFailure) -> JinjaValue {
        func bound(_ value: JinjaValue) throws(JinjaFailure) -> Int? {
            if case .none = value { return nil }
            guard let integer = value.integerValue else {
                try JinjaOperations.failIfUndefined(value)
                throw JinjaFailure("slice indices must be integers or None, not \(value.typeName)")
            }
            return integer
        }
        let step = try bound(step) ?? 1
        guard step != 0 else { throw JinjaFailure("slice step cannot be zero") }
        let startBound = try bound(start)
        let stopBound = try bound(stop)
        func positions(count: Int) -> [Int] {
            // Python's slice.indices(count).
            func clamp(_ bound: Int?, defaultValue: Int) -> Int {
                guard let bound else { return defaultValue }
                var position = bound < 0 ? bound + count : bound
                if step > 0 {
                    position = min(max(position, 0), count)
                } else {
                    position = min(max(position, -1), count - 1)
                }
                return position
            }
            let first = clamp(startBound, defaultValue: step > 0 ? 0 : count - 1)
            let last = clamp(stopBound, defaultValue: step > 0 ? count : -1)
            return Array(stride(from: first, to: last, by: step))
        }
        switch value {
        case .undefined(let undefined):
            throw JinjaFailure(undefined)
        case .string(let text):
            let scalars = Array(text.unicodeScalars)
            var result = String.UnicodeScalarView()
            for position in positions(count: scalars.count) { result.append(scalars[position]) }
            return .string(String(result))
        case .list(let items):
            return .list(positions(count: items.count).map { items[$0] })
        case .tuple(let items):
            return .tuple(positions(count: items.count).map { items[$0] })
        default:
            throw JinjaFailure("'\(value.typeName)' object is not subscriptable")
        }
    }

    /// What `for x in value` visits: items, characters, dictionary keys; nothing for undefined.
    static func iterate(_ value: JinjaValue) throws(JinjaFailure) -> [JinjaValue] {
        switch value {
        case .undefined: return []
        case .list(let items), .tuple(let items): return items
        case .string(let text):
            // A value per character: bounded like any value (16 MiB of them).
            try JinjaOperations.checkSize(text.utf8.count, times: MemoryLayout<JinjaValue>.stride)
            return text.unicodeScalars.map { .string(String(Character($0))) }
        case .dictionary(let dictionary): return dictionary.keys
        default: throw JinjaFailure("'\(value.typeName)' object is not iterable")
        }
    }

    /// Python's `len(value)`.
    static func length(_ value: JinjaValue) throws(JinjaFailure) -> Int {
        switch value {
        case .undefined: return 0
        case .string(let text): return text.unicodeScalars.count
        case .list(let items), .tuple(let items): return items.count
        case .dictionary(let dictionary): return dictionary.count
        case .loop(let loop): return loop.items.count
        default: throw JinjaFailure("object of type '\(value.typeName)' has no len()")
        }
    }
}
