/// One token per character over a fixed alphabet: the C# sample's tokenizer, used by the demo model.
public struct CharacterTokenizer: Tokenizer {
    /// The sample's alphabet: a–z, A–Z, 0–9, space, `.,;:!?-` and newline (71 symbols).
    public static let sampleAlphabet: [Character] = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:!?-\n")

    public let alphabet: [Character]
    private let index: [Character: Int]

    public init(alphabet: [Character] = CharacterTokenizer.sampleAlphabet) {
        self.alphabet = alphabet
        var index: [Character: Int] = [:]
        for (i, c) in alphabet.enumerated() where index[c] == nil { index[c] = i }
        self.index = index
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
                throw .unknownCharacter(character, offset: offset, hint: "the demo model knows only a-z, A-Z, 0-9, space, newline and .,;:!?-")
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
