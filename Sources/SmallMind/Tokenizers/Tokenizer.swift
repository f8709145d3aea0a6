/// Turns text into token ids and token ids back into bytes. Implementations are immutable values,
/// shared freely between generations.
public protocol Tokenizer: Sendable {
    var vocabularySize: Int { get }
    /// Beginning-of-sequence token, prepended to prompts when the model expects one.
    var bosToken: Int? { get }
    /// End-of-sequence token; generating it (or BOS) ends a generation.
    var eosToken: Int? { get }
    /// Encodes `text`, prepending BOS when `addBOS` and the vocabulary has one. Text that spells a
    /// control token (`<s>`, `<|im_start|>`) is encoded as ordinary text.
    ///
    /// For GGUF vocabularies `addBOS` is llama.cpp's `add_special`: it adds the framing the
    /// vocabulary asks for (`tokenizer.ggml.add_bos_token`, `add_eos_token`), so GPT-2's vocabulary
    /// adds nothing and a vocabulary with `add_eos_token` also appends EOS.
    func encode(_ text: String, addBOS: Bool) throws(TokenizerError) -> [Int]
    /// Encodes `text` as llama.cpp's `llama_tokenize(…, add_special, parse_special)`: with
    /// `parseSpecial`, control-token texts in `text` become those tokens. The default ignores
    /// `parseSpecial` (for vocabularies without control-token texts).
    func encode(_ text: String, addBOS: Bool, parseSpecial: Bool) throws(TokenizerError) -> [Int]
    /// The bytes `token` contributes to the text when it follows `previous` (nil at the start).
    /// May be part of a UTF-8 character: use `StreamingDetokenizer` to assemble text.
    func bytes(of token: Int, after previous: Int?) -> [UInt8]
    /// The tokens whose generation ends a generation (llama.cpp's end-of-generation set for GGUF
    /// vocabularies: EOS, EOT, `<|im_end|>`, `<end_of_turn>`, …). Default: EOS and BOS (which
    /// llama2.c models emit between stories).
    var endOfGenerationTokens: Set<Int> { get }
    /// Whether generating `token` ends a generation: membership of `endOfGenerationTokens`.
    func isEndOfText(_ token: Int) -> Bool
    /// Whether `encode(_:addBOS: true)` puts BOS in front. Default: whenever there is a BOS token.
    var addsBOS: Bool { get }
    /// How `token` is written in a prompt: a control token's own text (`<|im_end|>`, `<s>`, which
    /// decode to nothing), otherwise its decoded text. Chat templates see BOS and EOS this way.
    func spelling(of token: Int) -> String
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

    public func encode(_ text: String, addBOS: Bool, parseSpecial: Bool) throws(TokenizerError) -> [Int] {
        try encode(text, addBOS: addBOS)
    }

    public var endOfGenerationTokens: Set<Int> { Set([eosToken, bosToken].compactMap { $0 }) }

    public func isEndOfText(_ token: Int) -> Bool { token == eosToken || token == bosToken }

    public var addsBOS: Bool { bosToken != nil }

    public func spelling(of token: Int) -> String { decode([token]) }
}

/// Why text could not be tokenized.
public enum TokenizerError: Error, Equatable, CustomStringConvertible {
    case unknownCharacter(Character, offset: Int, hint: String)
    case emptyInput
    /// The text needs a byte the vocabulary cannot spell (no `<0xXX>` or single-byte token).
    case unencodableByte(UInt8, hint: String)

    public var description: String {
        switch self {
        case let .unknownCharacter(character, offset, hint):
            let shown = character == "\n" ? "\\n" : String(character)
            return "unknown character '\(shown)' (U+\(String(character.unicodeScalars.first!.value, radix: 16, uppercase: true))) at offset \(offset): \(hint)"
        case .emptyInput:
            return "the prompt is empty and the tokenizer has no BOS token to start from"
        case let .unencodableByte(byte, hint):
            return "byte 0x\(String(byte, radix: 16, uppercase: true)) cannot be encoded: \(hint)"
        }
    }
}
