/// Number and string literals inside tags, as jinja2's lexer reads them (Python's syntax).
extension JinjaLexer {
    // MARK: Numbers

    /// `(\d+_)*\d+`: digits with single underscores between them; the index after, or nil.
    func digitRun(from index: Int, isDigit: (Unicode.Scalar) -> Bool = { $0.isASCIIDigit }) -> Int? {
        guard let first = scalar(at: index), isDigit(first) else { return nil }
        var cursor = index + 1
        while let next = scalar(at: cursor) {
            if isDigit(next) {
                cursor += 1
            } else if next == "_", let after = scalar(at: cursor + 1), isDigit(after) {
                cursor += 2
            } else {
                break
            }
        }
        return cursor
    }

    mutating func lexNumber() throws(ChatTemplateError) {
        let start = position
        // A number right after a dot is an item index (`x.0.1` is x[0][1]), never a float.
        let mayBeFloat = start == 0 || scalars[start - 1] != "."
        if mayBeFloat, let end = floatEnd(from: start) {
            let text = spelling(start..<end)
            guard let value = Double(text) else { throw failure("invalid number '\(text)'", at: start) }
            append(.float(value), at: start)
            position = end
            return
        }
        var radix = 10
        var digitsStart = start
        var end: Int
        if scalars[start] == "0", let marker = scalar(at: start + 1), "bBoOxX".unicodeScalars.contains(marker) {
            radix = marker == "b" || marker == "B" ? 2 : marker == "o" || marker == "O" ? 8 : 16
            digitsStart = start + 2
            var cursor = digitsStart
            while true {
                let next = scalar(at: cursor) == "_" ? cursor + 1 : cursor
                guard let digit = scalar(at: next), digit.isDigit(radix: radix) else { break }
                cursor = next + 1
            }
            guard cursor > digitsStart else { throw failure("invalid number literal", at: start) }
            end = cursor
        } else if scalars[start] == "0" {
            end = start + 1
            while true {
                let next = scalar(at: end) == "_" ? end + 1 : end
                guard scalar(at: next) == "0" else { break }
                end = next + 1
            }
        } else {
            end = digitRun(from: start) ?? start + 1
        }
        let digits = spelling(digitsStart..<end).replacingOccurrences(of: "_", with: "")
        guard let value = Int(digits, radix: radix) else {
            throw failure("integer literal '\(spelling(start..<end))' is too large", at: start)
        }
        append(.integer(value), at: start)
        position = end
    }

    private func floatEnd(from start: Int) -> Int? {
        guard let integerEnd = digitRun(from: start) else { return nil }
        var fractionEnd: Int?
        if scalar(at: integerEnd) == ".", let end = digitRun(from: integerEnd + 1) { fractionEnd = end }
        let mantissaEnd = fractionEnd ?? integerEnd
        if scalar(at: mantissaEnd) == "e" || scalar(at: mantissaEnd) == "E" {
            var cursor = mantissaEnd + 1
            if scalar(at: cursor) == "+" || scalar(at: cursor) == "-" { cursor += 1 }
            if let exponentEnd = digitRun(from: cursor) { return exponentEnd }
        }
        return fractionEnd
    }

    private func spelling(_ range: Range<Int>) -> String {
        var text = String.UnicodeScalarView()
        text.append(contentsOf: scalars[range])
        return String(text).replacingOccurrences(of: "_", with: "")
    }

    // MARK: Strings

    mutating func lexString() throws(ChatTemplateError) {
        let start = position
        let quote = scalars[start]
        var cursor = start + 1
        while cursor < scalars.count, scalars[cursor] != quote {
            cursor += scalars[cursor] == "\\" ? 2 : 1
        }
        guard cursor < scalars.count else { throw failure("unterminated string", at: start) }
        let value = try unescape(start + 1..<cursor)
        append(.string(value), at: start)
        position = cursor + 1
    }

    /// Python's `unicode-escape` decoding, as jinja2 applies it to string literals: the usual
    /// backslash escapes, `\xhh`, `\uhhhh`, `\Uhhhhhhhh`, octal `\ooo`; an unknown escape keeps
    /// its backslash.
    private func unescape(_ range: Range<Int>) throws(ChatTemplateError) -> String {
        var result = String.UnicodeScalarView()
        var cursor = range.lowerBound
        var pendingHighSurrogate: UInt32?

        func appendCode(_ code: UInt32) {
            if let high = pendingHighSurrogate {
                pendingHighSurrogate = nil
                if (0xDC00..<0xE000).contains(code), let pair = Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (code - 0xDC00)) {
                    result.append(pair)
                    return
                }
                result.append("\u{FFFD}")
            }
            if (0xD800..<0xDC00).contains(code) {
                pendingHighSurrogate = code
            } else {
                result.append(Unicode.Scalar(code) ?? "\u{FFFD}")
            }
        }

        while cursor < range.upperBound {
            let current = scalars[cursor]
            guard current == "\\", cursor + 1 < range.upperBound else {
                appendCode(current.value)
                cursor += 1
                continue
            }
            let escape = scalars[cursor + 1]
            cursor += 2
            switch escape {
            case "\n": break
            case "\\", "'", "\"": appendCode(escape.value)
            case "a": appendCode(0x07)
            case "b": appendCode(0x08)
            case "f": appendCode(0x0C)
            case "n": appendCode(0x0A)
            case "r": appendCode(0x0D)
            case "t": appendCode(0x09)
            case "v": appendCode(0x0B)
            case "0"..."7":
                var code = escape.value - 0x30
                var digits = 1
                while digits < 3, cursor < range.upperBound, ("0"..."7").contains(scalars[cursor]) {
                    code = code * 8 + scalars[cursor].value - 0x30
                    cursor += 1
                    digits += 1
                }
                appendCode(code)
            case "x", "u", "U":
                let width = escape == "x" ? 2 : escape == "u" ? 4 : 8
                var code: UInt32 = 0
                for offset in 0..<width {
                    guard cursor + offset < range.upperBound, let digit = scalars[cursor + offset].hexValue else {
                        throw failure("truncated \\\(escape) escape in a string", at: cursor - 2)
                    }
                    code = code &* 16 &+ digit
                }
                guard code <= 0x10FFFF else { throw failure("illegal Unicode character in a string", at: cursor - 2) }
                cursor += width
                appendCode(code)
            default:
                appendCode(0x5C)
                appendCode(escape.value)
            }
        }
        if pendingHighSurrogate != nil { result.append("\u{FFFD}") }
        return String(result)
    }
}

extension Unicode.Scalar {
    /// Python's `str.isspace()` (what `\s` and `strip()` match).
    var isPythonWhitespace: Bool {
        switch value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    var isASCIIDigit: Bool { ("0"..."9").contains(self) }

    var hexValue: UInt32? {
        switch self {
        case "0"..."9": return value - 0x30
        case "a"..."f": return value - 0x61 + 10
        case "A"..."F": return value - 0x41 + 10
        default: return nil
        }
    }

    func isDigit(radix: Int) -> Bool {
        guard let digit = hexValue else { return false }
        return digit < radix
    }
}
