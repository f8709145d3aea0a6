/// Where a token or node starts in the template: 1-based line and column (in Unicode scalars).
struct JinjaSourceLocation: Sendable, Equatable {
    var line: Int
    var column: Int
}

enum JinjaTokenKind: Sendable, Equatable {
    /// Template text between tags, after whitespace control.
    case text(String)
    case variableBegin, variableEnd, blockBegin, blockEnd
    case name(String)
    case string(String)
    case integer(Int)
    case float(Double)
    /// An operator or punctuation, spelled as in the source: `+`, `//`, `(`, `|`, `==` …
    case op(String)
    case endOfInput
}

struct JinjaToken: Sendable {
    var kind: JinjaTokenKind
    var location: JinjaSourceLocation
}

/// Splits a template into text and tag tokens the way jinja2's lexer does with Hugging Face's
/// settings (`trim_blocks`, `lstrip_blocks`, `keep_trailing_newline=False`):
/// - newlines are normalised to `\n` and one trailing newline of the source is dropped;
/// - `{%-`, `{{-`, `{#-` strip all whitespace before the tag; `-%}`, `-}}`, `-#}` all after it;
/// - trim_blocks: the first newline after `%}` or `#}` is dropped (`+%}` keeps it);
/// - lstrip_blocks: spaces and tabs from the start of a line to `{%` or `{#` are dropped
///   (`{%+` keeps them); `{{` is never lstripped;
/// - comments vanish; `{% raw %}…{% endraw %}` becomes text.
struct JinjaLexer {
    private let scalars: [Unicode.Scalar]
    private var lineStarts: [Int] = [0]
    private var position = 0
    private var tokens: [JinjaToken] = []
    /// Whether the last thing consumed ended a line (jinja2's `line_starting`): lstrip_blocks
    /// may then strip text that holds no newline of its own.
    private var lineStarting = true

    init(source: String) {
        var normalized: [Unicode.Scalar] = []
        normalized.reserveCapacity(source.unicodeScalars.count)
        var previousWasCarriageReturn = false
        for scalar in source.unicodeScalars {
            if scalar == "\r" {
                normalized.append("\n")
                previousWasCarriageReturn = true
                continue
            }
            if scalar == "\n", previousWasCarriageReturn {
                previousWasCarriageReturn = false
                continue
            }
            previousWasCarriageReturn = false
            normalized.append(scalar)
        }
        if normalized.last == "\n" { normalized.removeLast() }
        scalars = normalized
        for (index, scalar) in scalars.enumerated() where scalar == "\n" { lineStarts.append(index + 1) }
    }

    static func tokenize(_ source: String) throws(ChatTemplateError) -> [JinjaToken] {
        var lexer = JinjaLexer(source: source)
        try lexer.run()
        return lexer.tokens
    }

    // MARK: Positions and errors

    func location(of index: Int) -> JinjaSourceLocation {
        var low = 0
        var high = lineStarts.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if lineStarts[middle] <= index { low = middle } else { high = middle - 1 }
        }
        return JinjaSourceLocation(line: low + 1, column: index - lineStarts[low] + 1)
    }

    private func failure(_ message: String, at index: Int) -> ChatTemplateError {
        let where_ = location(of: index)
        return ChatTemplateError(kind: .syntax, message: message, line: where_.line, column: where_.column)
    }

    private func scalar(at index: Int) -> Unicode.Scalar? {
        index < scalars.count ? scalars[index] : nil
    }

    private func matches(_ literal: String, at index: Int) -> Bool {
        var cursor = index
        for expected in literal.unicodeScalars {
            guard cursor < scalars.count, scalars[cursor] == expected else { return false }
            cursor += 1
        }
        return true
    }

    private func skippingWhitespace(from index: Int) -> Int {
        var cursor = index
        while cursor < scalars.count, scalars[cursor].isPythonWhitespace { cursor += 1 }
        return cursor
    }

    private mutating func append(_ kind: JinjaTokenKind, at index: Int) {
        tokens.append(JinjaToken(kind: kind, location: location(of: index)))
    }

    // MARK: Template text

    private mutating func run() throws(ChatTemplateError) {
        while position < scalars.count {
            guard let open = nextTagOpening(from: position) else {
                appendText(position..<scalars.count)
                position = scalars.count
                break
            }
            let tagKind = scalars[open + 1]
            var afterOpening = open + 2
            let sign = scalar(at: afterOpening).flatMap { $0 == "-" || $0 == "+" ? $0 : nil }
            if sign != nil { afterOpening += 1 }
            let rawBodyStart = tagKind == "%" ? rawBlockOpening(after: afterOpening) : nil

            let text = controlledText(position..<open, sign: sign, lstripAllowed: tagKind != "{")
            appendText(text)

            switch tagKind {
            case "#":
                try skipComment(from: afterOpening, openedAt: open)
            case "{":
                append(.variableBegin, at: open)
                position = afterOpening
                try lexTag(closing: "}}", openedAt: open)
            default:
                if let rawBodyStart {
                    try lexRawBlock(bodyStart: rawBodyStart, openedAt: open)
                } else {
                    append(.blockBegin, at: open)
                    position = afterOpening
                    try lexTag(closing: "%}", openedAt: open)
                }
            }
        }
        append(.endOfInput, at: scalars.count)
    }

    private func nextTagOpening(from index: Int) -> Int? {
        var cursor = index
        while cursor + 1 < scalars.count {
            if scalars[cursor] == "{", ["{", "%", "#"].contains(scalars[cursor + 1]) { return cursor }
            cursor += 1
        }
        return nil
    }

    /// The text before a tag after whitespace control: `-` strips all trailing whitespace;
    /// otherwise (unless `+`) lstrip_blocks drops a run of whitespace between the line start and
    /// the tag.
    private func controlledText(_ range: Range<Int>, sign: Unicode.Scalar?, lstripAllowed: Bool) -> Range<Int> {
        if sign == "-" {
            var end = range.upperBound
            while end > range.lowerBound, scalars[end - 1].isPythonWhitespace { end -= 1 }
            return range.lowerBound..<end
        }
        guard sign != "+", lstripAllowed else { return range }
        var lineStart = range.upperBound
        while lineStart > range.lowerBound, scalars[lineStart - 1] != "\n" { lineStart -= 1 }
        let foundNewline = lineStart > range.lowerBound
        guard foundNewline || lineStarting, lineStart < range.upperBound else { return range }
        for index in lineStart..<range.upperBound where !scalars[index].isPythonWhitespace { return range }
        return range.lowerBound..<lineStart
    }

    private mutating func appendText(_ range: Range<Int>) {
        guard !range.isEmpty else { return }
        var text = String.UnicodeScalarView()
        text.append(contentsOf: scalars[range])
        append(.text(String(text)), at: range.lowerBound)
    }

    /// After a tag's closing: the end of a line when the last character consumed was a newline.
    private mutating func finishTag(at index: Int) {
        position = index
        lineStarting = index > 0 && scalars[index - 1] == "\n"
    }

    /// `+` keeps what follows, `-` strips all whitespace, nothing strips one newline (trim_blocks).
    private func afterBlockClosing(_ closingEnd: Int, sign: Unicode.Scalar?) -> Int {
        switch sign {
        case "+": return closingEnd
        case "-": return skippingWhitespace(from: closingEnd)
        default: return scalar(at: closingEnd) == "\n" ? closingEnd + 1 : closingEnd
        }
    }

    private mutating func skipComment(from start: Int, openedAt open: Int) throws(ChatTemplateError) {
        var cursor = start
        while cursor + 1 < scalars.count, !(scalars[cursor] == "#" && scalars[cursor + 1] == "}") { cursor += 1 }
        guard cursor + 1 < scalars.count else { throw failure("missing end of comment tag '#}'", at: open) }
        let sign: Unicode.Scalar? = cursor > start && (scalars[cursor - 1] == "-" || scalars[cursor - 1] == "+")
            ? scalars[cursor - 1] : nil
        finishTag(at: afterBlockClosing(cursor + 2, sign: sign))
    }

    // MARK: Raw blocks

    /// `{% raw %}` (with optional `-`/`+` signs): the index where its body starts, or nil.
    private func rawBlockOpening(after index: Int) -> Int? {
        var cursor = skippingWhitespace(from: index)
        guard matches("raw", at: cursor) else { return nil }
        cursor = skippingWhitespace(from: cursor + 3)
        if matches("-%}", at: cursor) { return skippingWhitespace(from: cursor + 3) }
        if matches("%}", at: cursor) { return cursor + 2 }  // jinja2 does not trim after `raw`
        return nil
    }

    private mutating func lexRawBlock(bodyStart: Int, openedAt open: Int) throws(ChatTemplateError) {
        lineStarting = bodyStart > 0 && scalars[bodyStart - 1] == "\n"
        var search = bodyStart
        while let candidate = nextTagOpening(from: search) {
            defer { search = candidate + 1 }
            guard scalars[candidate + 1] == "%" else { continue }
            var cursor = candidate + 2
            let sign = scalar(at: cursor).flatMap { $0 == "-" || $0 == "+" ? $0 : nil }
            if sign != nil { cursor += 1 }
            cursor = skippingWhitespace(from: cursor)
            guard matches("endraw", at: cursor) else { continue }
            cursor = skippingWhitespace(from: cursor + 6)
            var closingSign: Unicode.Scalar?
            if scalar(at: cursor) == "-" || scalar(at: cursor) == "+" {
                closingSign = scalars[cursor]
                cursor += 1
            }
            guard matches("%}", at: cursor) else { continue }
            appendText(controlledText(bodyStart..<candidate, sign: sign, lstripAllowed: true))
            finishTag(at: afterBlockClosing(cursor + 2, sign: closingSign))
            return
        }
        throw failure("missing end of raw directive '{% endraw %}'", at: open)
    }

    // MARK: Inside tags

    private mutating func lexTag(closing: String, openedAt open: Int) throws(ChatTemplateError) {
        var brackets: [(closing: Unicode.Scalar, index: Int)] = []
        let isBlock = closing == "%}"
        while true {
            guard position < scalars.count else {
                if let innermost = brackets.last {
                    throw failure("unexpected end of template: '\(innermost.closing)' was never closed", at: innermost.index)
                }
                throw failure("unexpected end of template: expected '\(closing)'", at: open)
            }
            if brackets.isEmpty {
                if isBlock, matches("+%}", at: position) {
                    append(.blockEnd, at: position)
                    finishTag(at: position + 3)
                    return
                }
                if matches("-" + closing, at: position) {
                    append(isBlock ? .blockEnd : .variableEnd, at: position)
                    finishTag(at: skippingWhitespace(from: position + 3))
                    return
                }
                if matches(closing, at: position) {
                    append(isBlock ? .blockEnd : .variableEnd, at: position)
                    finishTag(at: isBlock ? afterBlockClosing(position + 2, sign: nil) : position + 2)
                    return
                }
            }
            let current = scalars[position]
            if current.isPythonWhitespace {
                position += 1
            } else if current.isASCIIDigit {
                try lexNumber()
            } else if current == "_" || current.properties.isXIDStart {
                let start = position
                while position < scalars.count, scalars[position] == "_" || scalars[position].properties.isXIDContinue {
                    position += 1
                }
                var name = String.UnicodeScalarView()
                name.append(contentsOf: scalars[start..<position])
                append(.name(String(name)), at: start)
            } else if current == "'" || current == "\"" {
                try lexString()
            } else {
                try lexOperator(brackets: &brackets)
            }
        }
    }

    private static let twoCharacterOperators: Set<String> = ["//", "**", "==", "!=", ">=", "<="]
    private static let oneCharacterOperators: Set<Unicode.Scalar> = [
        "+", "-", "/", "*", "%", "~", "[", "]", "(", ")", "{", "}", ">", "<", "=", ".", ":", "|", ",", ";",
    ]

    private mutating func lexOperator(brackets: inout [(closing: Unicode.Scalar, index: Int)]) throws(ChatTemplateError) {
        let current = scalars[position]
        if let next = scalar(at: position + 1) {
            let pair = String(Character(current)) + String(Character(next))
            if Self.twoCharacterOperators.contains(pair) {
                append(.op(pair), at: position)
                position += 2
                return
            }
        }
        guard Self.oneCharacterOperators.contains(current) else {
            throw failure("unexpected character '\(current.escaped(asASCII: false))'", at: position)
        }
        switch current {
        case "(": brackets.append((")", position))
        case "[": brackets.append(("]", position))
        case "{": brackets.append(("}", position))
        case ")", "]", "}":
            guard let expected = brackets.popLast() else { throw failure("unexpected '\(current)'", at: position) }
            guard expected.closing == current else {
                throw failure("unexpected '\(current)', expected '\(expected.closing)'", at: position)
            }
        default: break
        }
        append(.op(String(Character(current))), at: position)
        position += 1
    }

    // MARK: Numbers

    /// `(\d+_)*\d+`: digits with single underscores between them; the index after, or nil.
    private func digitRun(from index: Int, isDigit: (Unicode.Scalar) -> Bool = { $0.isASCIIDigit }) -> Int? {
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

    private mutating func lexNumber() throws(ChatTemplateError) {
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

    private mutating func lexString() throws(ChatTemplateError) {
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
