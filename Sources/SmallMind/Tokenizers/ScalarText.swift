// Text as Unicode scalars, each with the character classes the pre-tokenizers' expressions test
// (see `PreTokenizer`). Classified once per text, so every expression of a list reuses them.

/// A text as Unicode scalars with the character classes the expressions use.
struct ScalarText {
    static let letter: UInt8 = 1, number: UInt8 = 2, whitespace: UInt8 = 4
    /// Anything else: `[^\s\p{L}\p{N}]` (punctuation, symbols, marks, controls, unassigned).
    static let other: UInt8 = 8
    /// `[\p{P}$+<=>^~|]` (set with `other`): llama.cpp's default punctuation class.
    static let punctuation: UInt8 = 16
    /// '`', which Falcon's punctuation class adds (set with `other`).
    static let backtick: UInt8 = 32
    /// Falcon's ``[\p{P}$+<=>^~|`]``.
    static let falconPunctuation: UInt8 = punctuation | backtick

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

    /// Length of the contraction `'s|'t|'re|'ve|'m|'ll|'d` at `position`, if one starts there
    /// and ends before `end`.
    func contractionLength(at position: Int, end: Int, caseInsensitive: Bool) -> Int? {
        guard scalars[position] == 0x27, position + 1 < end else { return nil }
        func letter(_ offset: Int) -> UInt32? {
            guard position + offset < end else { return nil }
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

    /// The end of the whitespace word starting at `position` in a word ending at `end` (nil when
    /// it is not whitespace): with `splittingNewlines`, `\s*[\r\n]+` first (through the run's last
    /// newline); then `\s+(?!\S)` (the run, leaving its last space to the word that follows) or `\s+`.
    func whitespaceWordEnd(from position: Int, end: Int, splittingNewlines: Bool) -> Int? {
        var runEnd = position
        var afterLastNewline: Int?
        while runEnd < end && classes[runEnd] & Self.whitespace != 0 {
            if splittingNewlines && Self.isNewline(scalars[runEnd]) { afterLastNewline = runEnd + 1 }
            runEnd += 1
        }
        if let afterLastNewline { return afterLastNewline }
        if runEnd - position > 1 && runEnd < end { return runEnd - 1 }
        return runEnd > position ? runEnd : nil
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
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
             .finalPunctuation, .otherPunctuation:
            return other | punctuation
        default: return other
        }
    }

    private static let asciiClasses: [UInt8] = (0 ..< 128).map { value in
        switch value {
        case 0x09 ... 0x0D, 0x20: return whitespace
        case 0x30 ... 0x39: return number
        case 0x41 ... 0x5A, 0x61 ... 0x7A: return letter
        // ASCII's P* characters, and the symbols llama.cpp's punctuation class adds: $ + < = > ^ | ~
        case 0x21 ... 0x2F, 0x3A ... 0x40, 0x5B ... 0x5E, 0x5F, 0x7B ... 0x7E: return other | punctuation
        case 0x60: return other | backtick
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
