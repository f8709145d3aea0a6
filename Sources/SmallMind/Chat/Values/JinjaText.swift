/// Python's `str` operations, which count and match Unicode code points (Swift's String
/// compares grapheme clusters: `"e\u{301}"` would not start with `"e"` there, but does in Python).
/// Searches run over UTF-8 bytes: a match of valid UTF-8 in valid UTF-8 always starts on a
/// character boundary, so byte and code-point matches are the same.
enum JinjaText {
    // MARK: Searching

    /// Byte offsets of the non-overlapping occurrences of `needle` (non-empty), at most `limit`.
    static func occurrences(of needle: [UInt8], in haystack: [UInt8], limit: Int = .max, from start: Int = 0) -> [Int] {
        guard !needle.isEmpty, haystack.count >= needle.count, limit > 0 else { return [] }
        var found: [Int] = []
        var index = start
        let first = needle[0]
        let last = haystack.count - needle.count
        while index <= last {
            if haystack[index] == first, haystack[index..<index + needle.count].elementsEqual(needle) {
                found.append(index)
                if found.count == limit { break }
                index += needle.count
            } else {
                index += 1
            }
        }
        return found
    }

    /// The occurrences counted from the end (for `rsplit`).
    static func occurrencesFromEnd(of needle: [UInt8], in haystack: [UInt8], limit: Int) -> [Int] {
        guard !needle.isEmpty, haystack.count >= needle.count, limit > 0 else { return [] }
        var found: [Int] = []
        var index = haystack.count - needle.count
        while index >= 0 {
            if haystack[index..<index + needle.count].elementsEqual(needle) {
                found.append(index)
                if found.count == limit { break }
                index -= needle.count
            } else {
                index -= 1
            }
        }
        return found.reversed()
    }

    static func contains(_ text: String, _ needle: String) -> Bool {
        needle.isEmpty || !occurrences(of: Array(needle.utf8), in: Array(text.utf8), limit: 1).isEmpty
    }

    static func hasPrefix(_ text: String, _ prefix: String) -> Bool { text.utf8.starts(with: prefix.utf8) }

    static func hasSuffix(_ text: String, _ suffix: String) -> Bool {
        text.utf8.count >= suffix.utf8.count && text.utf8.reversed().starts(with: suffix.utf8.reversed())
    }

    static func string(_ bytes: ArraySlice<UInt8>) -> String { String(decoding: bytes, as: UTF8.self) }

    /// Code points in a UTF-8 prefix: the bytes that start a character.
    static func codePointCount(_ bytes: ArraySlice<UInt8>) -> Int {
        bytes.reduce(0) { $0 + ($1 & 0xC0 == 0x80 ? 0 : 1) }
    }

    /// `str.find(sub)`: the code-point index of the first occurrence, or -1.
    static func find(_ text: String, _ needle: String, fromEnd: Bool = false) -> Int {
        let bytes = Array(text.utf8)
        if needle.isEmpty { return fromEnd ? codePointCount(bytes[...]) : 0 }
        let found = fromEnd
            ? occurrencesFromEnd(of: Array(needle.utf8), in: bytes, limit: 1).first
            : occurrences(of: Array(needle.utf8), in: bytes, limit: 1).first
        guard let found else { return -1 }
        return codePointCount(bytes[..<found])
    }

    /// `str.count(sub)`.
    static func count(_ text: String, _ needle: String) -> Int {
        if needle.isEmpty { return text.unicodeScalars.count + 1 }
        return occurrences(of: Array(needle.utf8), in: Array(text.utf8)).count
    }

    /// `str.replace(old, new, count)`.
    static func replace(_ text: String, _ old: String, _ new: String, count: Int = -1) -> String {
        let limit = count < 0 ? Int.max : count
        if old.isEmpty {
            // Python inserts `new` before every character and at the end.
            var result = ""
            var inserted = 0
            for scalar in text.unicodeScalars {
                if inserted < limit { result += new; inserted += 1 }
                result.unicodeScalars.append(scalar)
            }
            if inserted < limit { result += new }
            return result
        }
        let bytes = Array(text.utf8)
        let oldBytes = Array(old.utf8)
        let found = occurrences(of: oldBytes, in: bytes, limit: limit)
        guard !found.isEmpty else { return text }
        var result = [UInt8]()
        result.reserveCapacity(bytes.count)
        var previous = 0
        for position in found {
            result.append(contentsOf: bytes[previous..<position])
            result.append(contentsOf: new.utf8)
            previous = position + oldBytes.count
        }
        result.append(contentsOf: bytes[previous...])
        return String(decoding: result, as: UTF8.self)
    }

    // MARK: Stripping and splitting

    /// `str.strip(chars)` / `lstrip` / `rstrip`: by default Python's whitespace.
    static func strip(_ text: String, characters: String?, leading: Bool = true, trailing: Bool = true) -> String {
        let set = characters.map { Set($0.unicodeScalars) }
        func strippable(_ scalar: Unicode.Scalar) -> Bool { set?.contains(scalar) ?? scalar.isPythonWhitespace }
        let scalars = text.unicodeScalars
        var start = scalars.startIndex
        var end = scalars.endIndex
        if leading { while start < end, strippable(scalars[start]) { start = scalars.index(after: start) } }
        if trailing {
            while end > start, strippable(scalars[scalars.index(before: end)]) { end = scalars.index(before: end) }
        }
        return String(scalars[start..<end])
    }

    /// `str.split(sep, maxsplit)` and `str.rsplit`; without a separator, runs of whitespace split
    /// and leading/trailing whitespace is dropped.
    static func split(_ text: String, separator: String?, maximum: Int, fromEnd: Bool = false) throws(JinjaFailure) -> [String] {
        let limit = maximum < 0 ? Int.max : maximum
        guard let separator else { return splitOnWhitespace(text, limit: limit, fromEnd: fromEnd) }
        guard !separator.isEmpty else { throw JinjaFailure("empty separator") }
        let bytes = Array(text.utf8)
        let separatorBytes = Array(separator.utf8)
        let found = fromEnd
            ? occurrencesFromEnd(of: separatorBytes, in: bytes, limit: limit)
            : occurrences(of: separatorBytes, in: bytes, limit: limit)
        var parts: [String] = []
        var previous = 0
        for position in found {
            parts.append(string(bytes[previous..<position]))
            previous = position + separatorBytes.count
        }
        parts.append(string(bytes[previous...]))
        return parts
    }

    private static func splitOnWhitespace(_ text: String, limit: Int, fromEnd: Bool) -> [String] {
        var scalars = Array(text.unicodeScalars)
        if fromEnd { scalars.reverse() }
        var parts: [String] = []
        var index = 0
        while index < scalars.count {
            while index < scalars.count, scalars[index].isPythonWhitespace { index += 1 }
            guard index < scalars.count else { break }
            if parts.count == limit {
                // The rest keeps its far-end whitespace, as Python's does.
                var rest = Array(scalars[index...])
                if fromEnd { rest.reverse() }
                parts.append(String(String.UnicodeScalarView(rest)))
                break
            }
            let start = index
            while index < scalars.count, !scalars[index].isPythonWhitespace { index += 1 }
            var word = Array(scalars[start..<index])
            if fromEnd { word.reverse() }
            parts.append(String(String.UnicodeScalarView(word)))
        }
        return fromEnd ? parts.reversed() : parts
    }

    /// `str.splitlines(keepends)`: Python's line boundaries.
    static func splitLines(_ text: String, keepEnds: Bool = false) -> [String] {
        let scalars = Array(text.unicodeScalars)
        var lines: [String] = []
        var start = 0
        var index = 0
        while index < scalars.count {
            let scalar = scalars[index]
            switch scalar.value {
            case 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029:
                var end = index + 1
                if scalar == "\r", end < scalars.count, scalars[end] == "\n" { end += 1 }
                lines.append(String(String.UnicodeScalarView(scalars[start..<(keepEnds ? end : index)])))
                start = end
                index = end
            default:
                index += 1
            }
        }
        if start < scalars.count { lines.append(String(String.UnicodeScalarView(scalars[start...]))) }
        return lines
    }

    // MARK: Case

    private static func titleCased(_ scalar: Unicode.Scalar) -> String { scalar.properties.titlecaseMapping }
    private static func lowerCased(_ scalar: Unicode.Scalar) -> String { scalar.properties.lowercaseMapping }

    /// Python's cased characters: upper, lower and title case letters.
    static func isCased(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter: return true
        default: return false
        }
    }

    /// `str.title()`: the first cased character after an uncased one is title-cased, the rest lowered.
    static func pythonTitle(_ text: String) -> String {
        var result = ""
        var previousCased = false
        for scalar in text.unicodeScalars {
            if isCased(scalar) {
                result += previousCased ? lowerCased(scalar) : titleCased(scalar)
                previousCased = true
            } else {
                result.unicodeScalars.append(scalar)
                previousCased = false
            }
        }
        return result
    }

    /// `str.capitalize()`: the first character title-cased, the rest lowered.
    static func capitalize(_ text: String) -> String {
        var result = ""
        for (index, scalar) in text.unicodeScalars.enumerated() {
            result += index == 0 ? titleCased(scalar) : lowerCased(scalar)
        }
        return result
    }

    /// jinja2's `title` filter (not str.title): words start after `-`, whitespace, `(`, `{`,
    /// `[` or `<`; each word's first character is upper-cased and the rest lowered.
    static func jinjaTitle(_ text: String) -> String {
        func isBoundary(_ scalar: Unicode.Scalar) -> Bool {
            scalar.isPythonWhitespace || scalar == "-" || scalar == "(" || scalar == "{" || scalar == "[" || scalar == "<"
        }
        var result = ""
        var atWordStart = true
        for scalar in text.unicodeScalars {
            if isBoundary(scalar) {
                result.unicodeScalars.append(scalar)
                atWordStart = true
            } else if atWordStart {
                result += String(scalar).uppercased()
                atWordStart = false
            } else {
                result += lowerCased(scalar)
            }
        }
        return result
    }

    static func swapCase(_ text: String) -> String {
        var result = ""
        for scalar in text.unicodeScalars {
            if scalar.properties.isUppercase {
                result += scalar.properties.lowercaseMapping
            } else if scalar.properties.isLowercase {
                result += scalar.properties.uppercaseMapping
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// `str.islower()` / `str.isupper()`: at least one cased character, and all of them in that case.
    static func isAllCased(_ text: String, upper: Bool) -> Bool {
        var sawCased = false
        for scalar in text.unicodeScalars where isCased(scalar) {
            let category = scalar.properties.generalCategory
            if category != (upper ? .uppercaseLetter : .lowercaseLetter) { return false }
            sawCased = true
        }
        return sawCased
    }

    // MARK: Padding

    static func pad(_ text: String, width: Int, fill: Unicode.Scalar = " ", alignment: String) -> String {
        let length = text.unicodeScalars.count
        guard width > length else { return text }
        let total = min(width - length, 1 << 20)
        let fillText = String(Character(fill))
        switch alignment {
        case "left": return text + String(repeating: fillText, count: total)
        case "right": return String(repeating: fillText, count: total) + text
        default:
            // Python's str.center puts the odd space on the right unless both are odd.
            let left = total / 2 + (total & width & 1)
            return String(repeating: fillText, count: left) + text + String(repeating: fillText, count: total - left)
        }
    }

    // MARK: HTML

    /// markupsafe's escape: `& < > " '`.
    static func escapeHTML(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&#34;"
            case "'": result += "&#39;"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }
}
