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
}
