import Foundation

// Ways into a TemplateValue from JSON: text (keeping object key order), Foundation's
// JSONSerialization output, and Codable.

extension TemplateValue {
    /// Parses JSON text, keeping each object's keys in the order they appear.
    public init(parsingJSON text: String) throws(ChatTemplateError) {
        try self.init(parsingJSON: Data(text.utf8))
    }

    /// Parses JSON bytes (UTF-8), keeping each object's keys in the order they appear.
    public init(parsingJSON data: Data) throws(ChatTemplateError) {
        var parser = OrderedJSONParser(bytes: [UInt8](data))
        self = try parser.parseDocument()
    }

    /// Converts what `JSONSerialization.jsonObject(with:)` returns (NSNull, Bool, NSNumber,
    /// String, arrays, dictionaries). Dictionaries carry no order, so their keys are sorted;
    /// use ``init(parsingJSON:)-(Data)`` when the order matters (it does for `tojson`).
    public init(jsonObject: Any) throws(ChatTemplateError) {
        try self.init(jsonObject: jsonObject, depth: 0)
    }

    /// How deep JSON may nest: the readers recurse once per level, and run on the caller's
    /// stack, which may be as small as 512 KiB.
    static let maximumJSONDepth = 100

    private init(jsonObject: Any, depth: Int) throws(ChatTemplateError) {
        guard depth <= Self.maximumJSONDepth else {
            throw ChatTemplateError(kind: .value, message: "the value nests deeper than \(Self.maximumJSONDepth) levels")
        }
        switch jsonObject {
        case is NSNull:
            self = .null
        case let string as String:
            self = .string(string)
        case let number as NSNumber:
            self = Self.number(number)
        case let array as [Any]:
            var values: [TemplateValue] = []
            values.reserveCapacity(array.count)
            for element in array { values.append(try TemplateValue(jsonObject: element, depth: depth + 1)) }
            self = .array(values)
        case let dictionary as [String: Any]:
            var object = TemplateObject()
            for key in dictionary.keys.sorted() {
                object[key] = try TemplateValue(jsonObject: dictionary[key] ?? NSNull(), depth: depth + 1)
            }
            self = .object(object)
        default:
            throw ChatTemplateError(kind: .value, message: "cannot use a \(type(of: jsonObject)) as a template value")
        }
    }

    private static func number(_ number: NSNumber) -> TemplateValue {
        // JSONSerialization gives booleans as NSNumber with the C type `char` on every platform.
        switch String(cString: number.objCType) {
        case "c", "B": return .bool(number.boolValue)
        case "f", "d": return .double(number.doubleValue)
        case "Q", "L", "I":
            let unsigned = number.uint64Value
            return unsigned <= UInt64(Int.max) ? .int(Int(unsigned)) : .double(number.doubleValue)
        default: return .int(number.intValue)
        }
    }
}

extension TemplateValue: Codable {
    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// Decodes any JSON value. Keyed containers do not promise an order, so object keys come out
    /// in the decoder's order; ``init(parsingJSON:)-(Data)`` keeps the text's order.
    public init(from decoder: any Decoder) throws {
        guard decoder.codingPath.count <= Self.maximumJSONDepth else {
            throw DecodingError.dataCorrupted(.init(
                codingPath: decoder.codingPath, debugDescription: "the value nests deeper than \(Self.maximumJSONDepth) levels"))
        }
        if let object = try? decoder.container(keyedBy: AnyKey.self) {
            var result = TemplateObject()
            for key in object.allKeys { result[key.stringValue] = try object.decode(TemplateValue.self, forKey: key) }
            self = .object(result)
        } else if var array = try? decoder.unkeyedContainer() {
            var values: [TemplateValue] = []
            while !array.isAtEnd { values.append(try array.decode(TemplateValue.self)) }
            self = .array(values)
        } else {
            let single = try decoder.singleValueContainer()
            if single.decodeNil() {
                self = .null
            } else if let bool = try? single.decode(Bool.self) {
                self = .bool(bool)
            } else if let int = try? single.decode(Int.self) {
                self = .int(int)
            } else if let double = try? single.decode(Double.self) {
                self = .double(double)
            } else {
                self = .string(try single.decode(String.self))
            }
        }
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .null:
            var single = encoder.singleValueContainer()
            try single.encodeNil()
        case .bool(let value):
            var single = encoder.singleValueContainer()
            try single.encode(value)
        case .int(let value):
            var single = encoder.singleValueContainer()
            try single.encode(value)
        case .double(let value):
            var single = encoder.singleValueContainer()
            try single.encode(value)
        case .string(let value):
            var single = encoder.singleValueContainer()
            try single.encode(value)
        case .array(let values):
            var array = encoder.unkeyedContainer()
            for value in values { try array.encode(value) }
        case .object(let object):
            var container = encoder.container(keyedBy: AnyKey.self)
            for (key, value) in object { try container.encode(value, forKey: AnyKey(stringValue: key)) }
        }
    }
}
