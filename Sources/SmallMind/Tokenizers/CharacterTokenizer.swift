/// One token per character over a fixed alphabet: the C# sample's tokenizer, used by the demo model.
///
/// Any other character is an error naming it and its offset — never skipped, never replaced: a
/// prompt that silently lost characters would generate from a different text than the one shown.
public struct CharacterTokenizer: Tokenizer {
    /// The sample's alphabet: every printable ASCII character (space to `~`) and newline, 96
    /// symbols. The C# sample's 71 (a–z, A–Z, 0–9, space, `.,;:!?-`, newline) come first, in its
    /// order; the other 25 printable characters (`'`, `"`, `(`, `@`, …) follow in ASCII order.
    /// (The C# sample declared a 128-id vocabulary but spelled only 71 of them, so an apostrophe
    /// in an ordinary prompt was an error.)
    public static let sampleAlphabet: [Character] = {
        let original = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:!?-\n")
        let printable = (0x20...0x7E).map { Character(Unicode.Scalar(UInt8($0))) }
        return original + printable.filter { !original.contains($0) }
    }()

    /// What the sample alphabet covers, for error messages.
    static let sampleAlphabetSummary = "the demo model knows printable ASCII (space to '~') and newline"

    public let alphabet: [Character]
    private let index: [Character: Int]
    private let unknownHint: String

    public init(alphabet: [Character] = CharacterTokenizer.sampleAlphabet) {
        self.alphabet = alphabet
        var index: [Character: Int] = [:]
        for (i, c) in alphabet.enumerated() where index[c] == nil { index[c] = i }
        self.index = index
        unknownHint = alphabet == Self.sampleAlphabet ? Self.sampleAlphabetSummary : "not in the tokenizer's \(alphabet.count)-symbol alphabet"
    }

    public var vocabularySize: Int { alphabet.count }
    public var bosToken: Int? { nil }
    public var eosToken: Int? { nil }

    /// Unknown characters are an error naming the character and where it is, never skipped.
    public func encode(_ text: String, addBOS: Bool = false) throws(TokenizerError) -> [Int] {
        var tokens: [Int] = []
        tokens.reserveCapacity(text.count)
        for (offset, character) in text.enumerated() {
            guard let id = index[character] else {
                throw .unknownCharacter(character, offset: offset, hint: unknownHint)
            }
            tokens.append(id)
        }
        return tokens
    }

    public func bytes(of token: Int, after previous: Int?) -> [UInt8] {
        guard alphabet.indices.contains(token) else { return [] }
        return Array(String(alphabet[token]).utf8)
    }
}
