/// A Python dict: insertion-ordered, keyed by hashable values (strings, numbers, None, tuples;
/// `1`, `1.0` and `True` are the same key, as in Python).
struct JinjaDictionary {

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

    mutating func removeValue(for hashKey: JinjaHashKey) {
        guard let position = index.removeValue(forKey: hashKey) else { return }
        keys.remove(at: position)
        values.remove(at: position)
        for (key, other) in index where other > position { index[key] = other - 1 }
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

    // Strings compare by code point, as Python's do: Swift's String equality would make the
    // precomposed "é" and "e" + U+0301 one key.
    static func == (lhs: JinjaHashKey, rhs: JinjaHashKey) -> Bool {
        switch (lhs, rhs) {
        case (.string(let a), .string(let b)): return a.utf8.elementsEqual(b.utf8)
        case (.int(let a), .int(let b)): return a == b
        case (.double(let a), .double(let b)): return a == b
        case (.none, .none): return true
        case (.tuple(let a), .tuple(let b)): return a == b
        default: return false
        }
    }

    func hash(into hasher: inout Hasher) {
        switch self {
        case .string(var text):
            hasher.combine(0)
            text.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        case .int(let value):
            hasher.combine(1)
            hasher.combine(value)
        case .double(let value):
            hasher.combine(2)
            hasher.combine(value)
        case .none:
            hasher.combine(3)
        case .tuple(let items):
            hasher.combine(4)
            hasher.combine(items)
        }
    }
}
