// Pre-tokenization for byte-level BPE: the text is cut into words by a regular expression, and
// merges never cross a word boundary. Each `tokenizer.ggml.pre` names its expression; these are
// hand-written matchers for them over Unicode scalars (no regex engine, no ICU), following
// llama.cpp's own `unicode_regex_split_custom_gpt2`/`_llama3` step for step.
//
// Classes, as llama.cpp's unicode tables define them: \p{L} = general category L*, \p{N} = N*,
// \s = the Unicode White_Space property. Alternatives are tried in order at each position, as a
// backtracking regex engine would; where llama.cpp's custom matchers and the expressions could
// disagree (a lone trailing space), the results coincide.

/// How byte-level BPE text is cut into words before merging (`tokenizer.ggml.pre`).
public enum PreTokenizer: String, Sendable, CaseIterable {
    /// GPT-2 (and Phi-2, Jina, …).
    case gpt2
    /// Llama 3: like GPT-2 but case-insensitive contractions, a letter run may take one leading
    /// non-letter, digits in groups of up to three, newlines kept together.
    case llama3
    /// Qwen 2: Llama 3's expression with single digits.
    case qwen2

    /// The pre-tokenizer a `tokenizer.ggml.pre` value names, for the names llama.cpp maps to these.
    public init?(ggufName name: String) {
        switch name {
        case "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v1-en", "jina-v2-es", "jina-v2-de", "jina-v2-code":
            self = .gpt2
        case "llama3", "llama-v3", "llama-bpe", "falcon3", "pixtral":
            self = .llama3
        case "qwen2", "deepseek-r1-qwen":
            self = .qwen2
        default:
            return nil
        }
    }

    /// Byte ranges of `text` (valid UTF-8), one per word, in order, covering it.
    func split(_ text: UnsafeBufferPointer<UInt8>) -> [Range<Int>] {
        let scalars = ScalarText(text)
        let words: [Range<Int>]
        switch self {
        case .gpt2: words = Self.splitGPT2(scalars)
        case .llama3: words = Self.splitLlama3(scalars, maxDigits: 3)
        case .qwen2: words = Self.splitLlama3(scalars, maxDigits: 1)
        }
        return words.map { scalars.byteOffsets[$0.lowerBound] ..< scalars.byteOffsets[$0.upperBound] }
    }

    /// GPT-2: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
    static func splitGPT2(_ t: ScalarText) -> [Range<Int>] {
        var words: [Range<Int>] = []
        var pos = 0
        while pos < t.count {
            // 's|'t|'re|'ve|'m|'ll|'d
            if let length = t.contractionLength(at: pos, caseInsensitive: false) {
                words.append(pos ..< pos + length)
                pos += length
                continue
            }
            // ` ?` then a run of one class: \p{L}+ | \p{N}+ | [^\s\p{L}\p{N}]+
            let space = t[pos] == 0x20 ? 1 : 0
            let first = t.flags(pos + space)
            if let runClass = [ScalarText.letter, ScalarText.number, ScalarText.other].first(where: { first & $0 != 0 }) {
                var end = pos + space
                while t.flags(end) & runClass != 0 { end += 1 }
                words.append(pos ..< end)
                pos = end
                continue
            }
            // \s+(?!\S)|\s+
            let end = t.whitespaceWordEnd(from: pos, splittingNewlines: false) ?? pos + 1
            words.append(pos ..< end)
            pos = end
        }
        return words
    }

    /// Llama 3 (`maxDigits` 3) and Qwen 2 (`maxDigits` 1):
    /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
    static func splitLlama3(_ t: ScalarText, maxDigits: Int) -> [Range<Int>] {
        var words: [Range<Int>] = []
        var pos = 0
        func emit(_ end: Int) {
            words.append(pos ..< end)
            pos = end
        }
        while pos < t.count {
            let c = t[pos], flags = t.flags(pos)
            // (?i:'s|'t|'re|'ve|'m|'ll|'d)
            if let length = t.contractionLength(at: pos, caseInsensitive: true) {
                emit(pos + length)
                continue
            }
            // [^\r\n\p{L}\p{N}]?\p{L}+
            if !ScalarText.isNewline(c) && flags & ScalarText.number == 0
                && (flags & ScalarText.letter != 0 || t.flags(pos + 1) & ScalarText.letter != 0) {
                var end = pos + 1
                while t.flags(end) & ScalarText.letter != 0 { end += 1 }
                emit(end)
                continue
            }
            // \p{N}{1,3}
            if flags & ScalarText.number != 0 {
                var end = pos + 1
                while end - pos < maxDigits && t.flags(end) & ScalarText.number != 0 { end += 1 }
                emit(end)
                continue
            }
            // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
            let space = c == 0x20 ? 1 : 0
            if t.flags(pos + space) & ScalarText.other != 0 {
                var end = pos + space
                while t.flags(end) & ScalarText.other != 0 { end += 1 }
                while end < t.count && ScalarText.isNewline(t[end]) { end += 1 }
                emit(end)
                continue
            }
            // \s*[\r\n]+|\s+(?!\S)|\s+
            emit(t.whitespaceWordEnd(from: pos, splittingNewlines: true) ?? pos + 1)
        }
        return words
    }
}

/// A text as Unicode scalars with the character classes the expressions use.
struct ScalarText {
    static let letter: UInt8 = 1, number: UInt8 = 2, whitespace: UInt8 = 4
    /// Anything else: `[^\s\p{L}\p{N}]` (punctuation, symbols, marks, controls, unassigned).
    static let other: UInt8 = 8

    private(set) var scalars: [UInt32] = []
    private(set) var classes: [UInt8] = []
    /// Byte offset of each scalar in the UTF-8 text, plus the text's length at the end.
    private(set) var byteOffsets: [Int] = []

    init(_ text: UnsafeBufferPointer<UInt8>) {
        scalars.reserveCapacity(text.count)
        classes.reserveCapacity(text.count)
        byteOffsets.reserveCapacity(text.count + 1)
        var i = 0
        while i < text.count {
            let (scalar, length) = Self.decodeUTF8(text, at: i)
            scalars.append(scalar)
            classes.append(Self.characterClass(scalar))
            byteOffsets.append(i)
            i += length
        }
        byteOffsets.append(text.count)
    }

    var count: Int { scalars.count }
    subscript(position: Int) -> UInt32 { scalars[position] }
    /// The classes of the scalar at `position`; 0 past the end (matches nothing).
    func flags(_ position: Int) -> UInt8 { position < classes.count ? classes[position] : 0 }

    static func isNewline(_ scalar: UInt32) -> Bool { scalar == 0x0A || scalar == 0x0D }

    /// Length of the contraction `'s|'t|'re|'ve|'m|'ll|'d` at `position`, if one starts there.
    func contractionLength(at position: Int, caseInsensitive: Bool) -> Int? {
        guard scalars[position] == 0x27, position + 1 < count else { return nil }
        func letter(_ offset: Int) -> UInt32? {
            guard position + offset < count else { return nil }
            let c = scalars[position + offset]
            return caseInsensitive && (0x41 ... 0x5A).contains(c) ? c + 0x20 : c
        }
        switch letter(1) {
        case 0x73, 0x74, 0x6D, 0x64: return 2  // s t m d
        case 0x72, 0x76: return letter(2) == 0x65 ? 3 : nil  // re ve
        case 0x6C: return letter(2) == 0x6C ? 3 : nil  // ll
        default: return nil
        }
    }

    /// The end of the whitespace word starting at `position` (nil when it is not whitespace):
    /// with `splittingNewlines`, `\s*[\r\n]+` first (through the run's last newline); then
    /// `\s+(?!\S)` (the run, leaving its last space to the word that follows) or `\s+`.
    func whitespaceWordEnd(from position: Int, splittingNewlines: Bool) -> Int? {
        var end = position
        var afterLastNewline: Int?
        while flags(end) & Self.whitespace != 0 {
            if splittingNewlines && Self.isNewline(scalars[end]) { afterLastNewline = end + 1 }
            end += 1
        }
        if let afterLastNewline { return afterLastNewline }
        if end - position > 1 && end < count { return end - 1 }
        return end > position ? end : nil
    }

    /// The classes of one scalar (ASCII from a table: the common case stays off Unicode data).
    static func characterClass(_ value: UInt32) -> UInt8 {
        if value < 128 { return asciiClasses[Int(value)] }
        guard let scalar = Unicode.Scalar(value) else { return other }
        let properties = scalar.properties
        if properties.isWhitespace { return whitespace }
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return letter
        case .decimalNumber, .letterNumber, .otherNumber: return number
        default: return other
        }
    }

    private static let asciiClasses: [UInt8] = (0 ..< 128).map { value in
        switch value {
        case 0x09 ... 0x0D, 0x20: return whitespace
        case 0x30 ... 0x39: return number
        case 0x41 ... 0x5A, 0x61 ... 0x7A: return letter
        default: return other
        }
    }

    /// One scalar of UTF-8 and its length; an invalid sequence reads as U+FFFD, one byte long.
    static func decodeUTF8(_ text: UnsafeBufferPointer<UInt8>, at i: Int) -> (UInt32, Int) {
        let lead = UInt32(text[i])
        let length: Int
        var value: UInt32
        switch lead {
        case 0x00 ..< 0x80: return (lead, 1)
        case 0xC2 ..< 0xE0: (length, value) = (2, lead & 0x1F)
        case 0xE0 ..< 0xF0: (length, value) = (3, lead & 0x0F)
        case 0xF0 ..< 0xF5: (length, value) = (4, lead & 0x07)
        default: return (0xFFFD, 1)
        }
        guard i + length <= text.count else { return (0xFFFD, 1) }
        for k in 1 ..< length {
            let byte = UInt32(text[i + k])
            guard byte & 0xC0 == 0x80 else { return (0xFFFD, 1) }
            value = value << 6 | (byte & 0x3F)
        }
        return (value, length)
    }
}
