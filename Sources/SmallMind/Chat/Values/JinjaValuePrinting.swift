/// Values as Python prints them: `str()` for `{{ x }}`, `~` and `|string`; `repr()` inside
/// containers (`['a', None]`, `{'k': 1.0}`).
extension JinjaValue {
    /// Python's `str(value)`; undefined prints as nothing.
    var pythonString: String {
        switch self {
        case .undefined: return ""
        case .string(let value): return value
        default:
            var output = ""
            writeRepr(into: &output)
            return output
        }
    }

    /// Python's `repr(value)`.
    var pythonRepr: String {
        var output = ""
        writeRepr(into: &output)
        return output
    }

    func writeRepr(into output: inout String) {
        switch self {
        case .undefined: output += "Undefined"
        case .none: output += "None"
        case .bool(let value): output += value ? "True" : "False"
        case .int(let value): output += String(value)
        case .double(let value): output += Self.pythonFloatRepr(value)
        case .string(let value): Self.writeStringRepr(value, into: &output)
        case .list(let items):
            output += "["
            writeItems(items, into: &output)
            output += "]"
        case .tuple(let items):
            output += "("
            writeItems(items, into: &output)
            output += items.count == 1 ? ",)" : ")"
        case .dictionary(let dictionary):
            writeDictionary(dictionary, into: &output)
        case .namespace(let namespace):
            output += "<Namespace "
            writeDictionary(namespace.attributes, into: &output)
            output += ">"
        case .macro(let macro): output += "<Macro '\(macro.definition.name)'>"
        case .loop(let loop): output += "<LoopContext \(loop.index0 + 1)/\(loop.items.count)>"
        case .function(let function): output += "<built-in function \(function.rawValue)>"
        case .method(let receiver, let name): output += "<built-in method \(name) of \(receiver.typeName) object>"
        }
    }

    private func writeItems(_ items: [JinjaValue], into output: inout String) {
        for (position, item) in items.enumerated() {
            if position > 0 { output += ", " }
            item.writeRepr(into: &output)
        }
    }

    private func writeDictionary(_ dictionary: JinjaDictionary, into output: inout String) {
        output += "{"
        for (position, (key, value)) in dictionary.pairs.enumerated() {
            if position > 0 { output += ", " }
            key.writeRepr(into: &output)
            output += ": "
            value.writeRepr(into: &output)
        }
        output += "}"
    }

    /// Python's float repr: the shortest digits that read back to the same double, in fixed
    /// notation for exponents -4…15 and scientific otherwise (`1e-05`, `1e+16`), with `.0` on
    /// integral values; `inf`, `nan`. Swift's `description` follows the same rules.
    static func pythonFloatRepr(_ value: Double) -> String {
        value.description
    }

    /// Python's string repr: single quotes unless the text holds `'` and no `"`; backslash
    /// escapes for the quote, backslash, `\t \n \r`, other control and non-printable characters.
    static func writeStringRepr(_ value: String, into output: inout String) {
        let quote: Unicode.Scalar = value.contains("'") && !value.contains("\"") ? "\"" : "'"
        output.unicodeScalars.append(quote)
        for scalar in value.unicodeScalars {
            switch scalar {
            case quote, "\\":
                output += "\\"
                output.unicodeScalars.append(scalar)
            case "\t": output += "\\t"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            default:
                if scalar.isPythonPrintable {
                    output.unicodeScalars.append(scalar)
                } else if scalar.value <= 0xFF {
                    output += "\\x" + hex(scalar.value, width: 2)
                } else if scalar.value <= 0xFFFF {
                    output += "\\u" + hex(scalar.value, width: 4)
                } else {
                    output += "\\U" + hex(scalar.value, width: 8)
                }
            }
        }
        output.unicodeScalars.append(quote)
    }

    static func hex(_ value: UInt32, width: Int) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}

extension Unicode.Scalar {
    /// Python's `str.isprintable()` for one character: everything but the "Other" and
    /// "Separator" categories, except the ASCII space.
    var isPythonPrintable: Bool {
        if value < 0x80 { return value >= 0x20 && value != 0x7F }
        switch properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator, .spaceSeparator:
            return false
        default:
            return true
        }
    }
}
