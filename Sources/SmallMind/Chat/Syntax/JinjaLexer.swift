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
    let scalars: [Unicode.Scalar]
    private var lineStarts: [Int] = [0]
    var position = 0
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

    func failure(_ message: String, at index: Int) -> ChatTemplateError {
        let where_ = location(of: index)
        return ChatTemplateError(kind: .syntax, message: message, line: where_.line, column: where_.column)
    }

    func scalar(at index: Int) -> Unicode.Scalar? {
        index < scalars.count ? scalars[index] : nil
    }

    func matches(_ literal: String, at index: Int) -> Bool {
        var cursor = index
        for expected in literal.unicodeScalars {
            guard cursor < scalars.count, scalars[cursor] == expected else { return false }
            cursor += 1
        }
        return true
    }

    func skippingWhitespace(from index: Int) -> Int {
        var cursor = index
        while cursor < scalars.count, scalars[cursor].isPythonWhitespace { cursor += 1 }
        return cursor
    }

    mutating func append(_ kind: JinjaTokenKind, at index: Int) {
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
}
