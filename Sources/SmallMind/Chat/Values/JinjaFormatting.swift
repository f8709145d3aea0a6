import Foundation

/// Python's two string-formatting mini-languages, as far as templates use them:
/// `"%s: %.2f" % (a, b)` (and the `format` filter) and `"{}: {:.2f}".format(a, b)`.
enum JinjaFormatting {
    // MARK: printf style

    static func printf(_ format: String, _ arguments: JinjaValue) throws(JinjaFailure) -> String {
        var positional: [JinjaValue]
        var mapping: JinjaDictionary?
        switch arguments {
        case .tuple(let items): positional = items
        case .dictionary(let dictionary):
            positional = [arguments]
            mapping = dictionary
        default: positional = [arguments]
        }
        var output = ""
        var next = 0
        let scalars = Array(format.unicodeScalars)
        var index = 0
        func take() throws(JinjaFailure) -> JinjaValue {
            guard next < positional.count else { throw JinjaFailure("not enough arguments for format string") }
            defer { next += 1 }
            return positional[next]
        }
        while index < scalars.count {
            let scalar = scalars[index]
            index += 1
            guard scalar == "%" else {
                output.unicodeScalars.append(scalar)
                continue
            }
            var argument: JinjaValue?
            if index < scalars.count, scalars[index] == "(" {
                guard let close = scalars[index...].firstIndex(of: ")") else { throw JinjaFailure("incomplete format key") }
                var key = String.UnicodeScalarView()
                key.append(contentsOf: scalars[(index + 1)..<close])
                guard let mapping else { throw JinjaFailure("format requires a mapping") }
                guard let value = mapping.value(forString: String(key)) else { throw JinjaFailure("KeyError: '\(String(key))'") }
                argument = value
                index = close + 1
            }
            var flags = Set<Unicode.Scalar>()
            while index < scalars.count, "-+ 0#".unicodeScalars.contains(scalars[index]) {
                flags.insert(scalars[index])
                index += 1
            }
            var width = 0
            while index < scalars.count, scalars[index].isASCIIDigit {
                width = min(width * 10 + Int(scalars[index].value - 0x30), 10_000)
                index += 1
            }
            var precision: Int?
            if index < scalars.count, scalars[index] == "." {
                index += 1
                var digits = 0
                while index < scalars.count, scalars[index].isASCIIDigit {
                    digits = min(digits * 10 + Int(scalars[index].value - 0x30), 1_000)
                    index += 1
                }
                precision = digits
            }
            guard index < scalars.count else { throw JinjaFailure("incomplete format") }
            let conversion = scalars[index]
            index += 1
            if conversion == "%" {
                output += "%"
                continue
            }
            let value = if let argument { argument } else { try take() }
            var text: String
            var isNumeric = true
            switch conversion {
            case "s":
                text = value.pythonString
                isNumeric = false
            case "r", "a":
                text = value.pythonRepr
                isNumeric = false
            case "d", "i", "u":
                guard let number = value.numberValue else {
                    throw JinjaFailure("%\(conversion) format: a real number is required, not \(value.typeName)")
                }
                if let integer = value.integerValue {
                    text = String(integer)
                } else if number.isFinite, Swift.abs(number) < 9.2e18 {
                    text = String(Int(number.rounded(.towardZero)))
                } else {
                    throw JinjaFailure("cannot convert float \(JinjaValue.pythonFloatRepr(number)) to integer")
                }
            case "f", "F", "e", "E", "g", "G":
                guard let number = value.numberValue else {
                    throw JinjaFailure("must be real number, not \(value.typeName)")
                }
                text = String(format: "%.*\(conversion)", precision ?? 6, number)
            case "x", "X", "o":
                guard let integer = value.integerValue else {
                    throw JinjaFailure("%\(conversion) format: an integer is required, not \(value.typeName)")
                }
                text = String(integer.magnitude, radix: conversion == "o" ? 8 : 16, uppercase: conversion == "X")
                if integer < 0 { text = "-" + text }
            case "c":
                if let integer = value.integerValue, let character = Unicode.Scalar(UInt32(clamping: integer)) {
                    text = String(Character(character))
                } else if case .string(let string) = value, string.unicodeScalars.count == 1 {
                    text = string
                } else {
                    throw JinjaFailure("%c requires an int or a unicode character")
                }
                isNumeric = false
            default:
                throw JinjaFailure("unsupported format character '\(conversion)'")
            }
            if !isNumeric, let precision { text = String(text.unicodeScalars.prefix(precision).map(Character.init)) }
            if isNumeric, !text.hasPrefix("-") {
                if flags.contains("+") { text = "+" + text } else if flags.contains(" ") { text = " " + text }
            }
            output += pad(text, width: width, leftAlign: flags.contains("-"), zero: isNumeric && flags.contains("0"))
        }
        if mapping == nil, next < positional.count {
            throw JinjaFailure("not all arguments converted during string formatting")
        }
        return output
    }

    private static func pad(_ text: String, width: Int, leftAlign: Bool, zero: Bool) -> String {
        let length = text.unicodeScalars.count
        guard width > length else { return text }
        let padding = width - length
        if leftAlign { return text + String(repeating: " ", count: padding) }
        if zero {
            let signed = text.first == "-" || text.first == "+" || text.first == " "
            let sign = signed ? String(text.prefix(1)) : ""
            return sign + String(repeating: "0", count: padding) + text.dropFirst(signed ? 1 : 0)
        }
        return String(repeating: " ", count: padding) + text
    }

    // MARK: str.format

    static func format(_ template: String, positional: [JinjaValue], keyword: [(String, JinjaValue)]) throws(JinjaFailure) -> String {
        let scalars = Array(template.unicodeScalars)
        var output = ""
        var index = 0
        var automatic = 0
        while index < scalars.count {
            let scalar = scalars[index]
            if scalar == "}" {
                guard index + 1 < scalars.count, scalars[index + 1] == "}" else {
                    throw JinjaFailure("Single '}' encountered in format string")
                }
                output += "}"
                index += 2
                continue
            }
            guard scalar == "{" else {
                output.unicodeScalars.append(scalar)
                index += 1
                continue
            }
            if index + 1 < scalars.count, scalars[index + 1] == "{" {
                output += "{"
                index += 2
                continue
            }
            guard let close = scalars[index...].firstIndex(of: "}") else {
                throw JinjaFailure("Single '{' encountered in format string")
            }
            var field = String.UnicodeScalarView()
            field.append(contentsOf: scalars[(index + 1)..<close])
            index = close + 1
            var fieldText = String(field)
            var spec = ""
            if let colon = fieldText.firstIndex(of: ":") {
                spec = String(fieldText[fieldText.index(after: colon)...])
                fieldText = String(fieldText[..<colon])
            }
            var conversion: Character?
            if let bang = fieldText.firstIndex(of: "!") {
                conversion = fieldText[fieldText.index(after: bang)...].first
                fieldText = String(fieldText[..<bang])
            }
            let nameEnd = fieldText.firstIndex { $0 == "." || $0 == "[" } ?? fieldText.endIndex
            let name = String(fieldText[..<nameEnd])
            var value: JinjaValue
            if name.isEmpty {
                guard automatic < positional.count else { throw JinjaFailure("Replacement index \(automatic) out of range for positional args tuple") }
                value = positional[automatic]
                automatic += 1
            } else if let number = Int(name) {
                guard number < positional.count else { throw JinjaFailure("Replacement index \(number) out of range for positional args tuple") }
                value = positional[number]
            } else {
                guard let match = keyword.last(where: { $0.0 == name }) else { throw JinjaFailure("KeyError: '\(name)'") }
                value = match.1
            }
            var rest = fieldText[nameEnd...]
            while let first = rest.first {
                if first == "." {
                    let after = rest.dropFirst()
                    let end = after.firstIndex { $0 == "." || $0 == "[" } ?? after.endIndex
                    value = try JinjaAccess.attribute(value, String(after[..<end]))
                    rest = after[end...]
                } else {
                    guard let closing = rest.firstIndex(of: "]") else { throw JinjaFailure("Missing ']' in format string") }
                    let key = String(rest[rest.index(after: rest.startIndex)..<closing])
                    value = try JinjaAccess.item(value, Int(key).map(JinjaValue.int) ?? .string(key))
                    rest = rest[rest.index(after: closing)...]
                }
            }
            try JinjaOperations.failIfUndefined(value)
            var text: String
            switch conversion {
            case "r", "a": text = value.pythonRepr
            default: text = try applySpec(spec, to: value)
            }
            if conversion != nil, !spec.isEmpty { text = try applySpec(spec, to: .string(text)) }
            output += text
        }
        return output
    }

    /// `[[fill]align][sign][0][width][,][.precision][type]` for strings and numbers.
    private static func applySpec(_ spec: String, to value: JinjaValue) throws(JinjaFailure) -> String {
        guard !spec.isEmpty else { return value.pythonString }
        var characters = Array(spec)
        var fill: Character = " "
        var align: Character?
        if characters.count >= 2, "<>^=".contains(characters[1]) {
            fill = characters[0]
            align = characters[1]
            characters.removeFirst(2)
        } else if let first = characters.first, "<>^=".contains(first) {
            align = first
            characters.removeFirst()
        }
        var sign: Character?
        if let first = characters.first, "+- ".contains(first) {
            sign = first
            characters.removeFirst()
        }
        if characters.first == "0" {
            fill = "0"
            align = align ?? "="
            characters.removeFirst()
        }
        var width = 0
        while let first = characters.first, let digit = first.wholeNumberValue {
            width = min(width * 10 + digit, 10_000)
            characters.removeFirst()
        }
        var precision: Int?
        if characters.first == "." {
            characters.removeFirst()
            var digits = 0
            while let first = characters.first, let digit = first.wholeNumberValue {
                digits = min(digits * 10 + digit, 1_000)
                characters.removeFirst()
            }
            precision = digits
        }
        let type = characters.first
        guard characters.count <= 1 else { throw JinjaFailure("Invalid format specifier '\(spec)'") }
        var text: String
        let isNumber = value.isNumber
        switch type {
        case nil, "s":
            text = value.pythonString
            if let precision { text = String(text.prefix(precision)) }
        case "d":
            guard let integer = value.integerValue else { throw JinjaFailure("Unknown format code 'd' for object of type '\(value.typeName)'") }
            text = String(integer)
        case "f", "F", "e", "E", "g", "G", "%":
            guard var number = value.numberValue else {
                throw JinjaFailure("Unknown format code '\(type ?? " ")' for object of type '\(value.typeName)'")
            }
            var code = type ?? "f"
            if code == "%" { number *= 100; code = "f" }
            text = String(format: "%.*\(code)", precision ?? 6, number) + (type == "%" ? "%" : "")
        case "x", "X", "o", "b":
            guard let integer = value.integerValue else { throw JinjaFailure("Unknown format code '\(type ?? " ")' for object of type '\(value.typeName)'") }
            let radix = type == "o" ? 8 : type == "b" ? 2 : 16
            text = (integer < 0 ? "-" : "") + String(integer.magnitude, radix: radix, uppercase: type == "X")
        default:
            throw JinjaFailure("Unknown format code '\(type ?? " ")' for object of type '\(value.typeName)'")
        }
        if isNumber, !text.hasPrefix("-"), let sign, sign != "-" { text = String(sign) + text }
        let length = text.count
        guard width > length else { return text }
        let padding = String(repeating: fill, count: width - length)
        switch align ?? (isNumber ? ">" : "<") {
        case "<": return text + padding
        case "^":
            let left = (width - length) / 2
            return String(repeating: fill, count: left) + text + String(repeating: fill, count: width - length - left)
        case "=":
            if let first = text.first, "+- ".contains(first) { return String(first) + padding + text.dropFirst() }
            return padding + text
        default: return padding + text
        }
    }
}
