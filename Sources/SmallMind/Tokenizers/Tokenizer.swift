/// Turns text into token ids and token ids back into bytes. Implementations are immutable values,
/// shared freely between generations.
public protocol Tokenizer: Sendable {
    var vocabularySize: Int { get }
    /// Beginning-of-sequence token, prepended to prompts when the model expects one.
    var bosToken: Int? { get }
    /// End-of-sequence token; generating it (or BOS) ends a generation.
    var eosToken: Int? { get }
    /// Encodes `text`, prepending BOS when `addBOS` and the vocabulary has one.
    func encode(_ text: String, addBOS: Bool) throws(TokenizerError) -> [Int]
    /// The bytes `token` contributes to the text when it follows `previous` (nil at the start).
    /// May be part of a UTF-8 character: use `StreamingDetokenizer` to assemble text.
    func bytes(of token: Int, after previous: Int?) -> [UInt8]
}

extension Tokenizer {
    /// Decodes `tokens` (following `previous`) to text; bytes that are not valid UTF-8 become U+FFFD.
    public func decode(_ tokens: [Int], after previous: Int? = nil) -> String {
        var detokenizer = StreamingDetokenizer()
        var text = ""
        var prior = previous
        for token in tokens {
            text += detokenizer.append(bytes(of: token, after: prior))
            prior = token
        }
        return text + detokenizer.finish()
    }

    /// Whether `token` ends a generation (EOS, or BOS which llama2.c models emit between stories).
    public func isEndOfText(_ token: Int) -> Bool { token == eosToken || token == bosToken }
}

/// Why text could not be tokenized.
public enum TokenizerError: Error, Equatable, CustomStringConvertible {
    case unknownCharacter(Character, offset: Int, hint: String)
    case emptyInput

    public var description: String {
        switch self {
        case let .unknownCharacter(character, offset, hint):
            let shown = character == "\n" ? "\\n" : String(character)
            return "unknown character '\(shown)' (U+\(String(character.unicodeScalars.first!.value, radix: 16, uppercase: true))) at offset \(offset): \(hint)"
        case .emptyInput:
            return "the prompt is empty and the tokenizer has no BOS token to start from"
        }
    }
}
