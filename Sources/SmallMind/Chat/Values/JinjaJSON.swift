/// Python's `json.dumps` as Hugging Face's `tojson` calls it (`ensure_ascii=False` by default):
/// `", "` and `": "` separators (`","` between items once indenting), keys in insertion order
/// unless sorted, floats as Python's repr, `NaN` / `Infinity`, and only `"`, `\`, and control
/// characters escaped.
struct JinjaJSON {
    var indent: String?
    var itemSeparator = ", "
    var keySeparator = ": "
    var sortKeys = false
    var ensureASCII = false

    func dumps(_ value: JinjaValue) throws(JinjaFailure) -> String {
        var output = ""
        try write(value, level: 0, into: &output)
        return output
    }

    private func newline(_ level: Int, into output: inout String) {
        guard let indent else { return }
        output += "\n"
        for _ in 0..<level { output += indent }
    }

    private func write(_ value: JinjaValue, level: Int, into output: inout String) throws(JinjaFailure) {
        guard level < 512 else { throw JinjaFailure("tojson: the value nests too deeply") }
        switch value {
        case .none: output += "null"
        case .bool(let flag): output += flag ? "true" : "false"
        case .int(let integer): output += String(integer)
        case .double(let number): output += Self.number(number)
        case .string(let text): writeString(text, into: &output)
        case .list(let items), .tuple(let items):
            guard !items.isEmpty else { output += "[]"; return }
            output += "["
            newline(level + 1, into: &output)
            for (index, item) in items.enumerated() {
                if index > 0 {
                    output += itemSeparator
                    newline(level + 1, into: &output)
                }
                try write(item, level: level + 1, into: &output)
            }
            newline(level, into: &output)
            output += "]"
        case .dictionary(let dictionary):
            guard !dictionary.isEmpty else { output += "{}"; return }
            var pairs = Array(dictionary.pairs)
            if sortKeys { pairs = try Self.sorted(pairs) }
            output += "{"
            newline(level + 1, into: &output)
            for (index, (key, item)) in pairs.enumerated() {
                if index > 0 {
                    output += itemSeparator
                    newline(level + 1, into: &output)
                }
                writeString(try Self.keyText(key), into: &output)
                output += keySeparator
                try write(item, level: level + 1, into: &output)
            }
            newline(level, into: &output)
            output += "}"
        default:
            throw JinjaFailure("Object of type \(value.typeName) is not JSON serializable")
        }
    }

    static func number(_ number: Double) -> String {
        if number.isNaN { return "NaN" }
        if number.isInfinite { return number < 0 ? "-Infinity" : "Infinity" }
        return JinjaValue.pythonFloatRepr(number)
    }

    private static func keyText(_ key: JinjaValue) throws(JinjaFailure) -> String {
        switch key {
        case .string(let text): return text
        case .bool(let flag): return flag ? "true" : "false"
        case .int(let integer): return String(integer)
        case .double(let value): return Self.number(value)
        case .none: return "null"
        default: throw JinjaFailure("keys must be str, int, float, bool or None, not \(key.typeName)")
        }
    }

    private static func sorted(_ pairs: [(JinjaValue, JinjaValue)]) throws(JinjaFailure) -> [(JinjaValue, JinjaValue)] {
        var result = pairs
        var failure: JinjaFailure?
        result.sort { left, right in
            do throws(JinjaFailure) {
                return try JinjaOperations.less(left.0, right.0, operator: "<")
            } catch {
                failure = error
                return false
            }
        }
        if let failure { throw failure }
        return result
    }

    private func writeString(_ text: String, into output: inout String) {
        output += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case "\u{08}": output += "\\b"
            case "\u{0C}": output += "\\f"
            default:
                if scalar.value < 0x20 {
                    output += "\\u" + JinjaValue.hex(scalar.value, width: 4)
                } else if ensureASCII, scalar.value > 0x7E {
                    for unit in String(scalar).utf16 { output += "\\u" + JinjaValue.hex(UInt32(unit), width: 4) }
                } else {
                    output.unicodeScalars.append(scalar)
                }
            }
        }
        output += "\""
    }
}
