// The vocabulary both GGUF tokenizers share: token texts, kinds, scores, special ids, framing.

/// What a token is, from GGUF's `tokenizer.ggml.token_type` (llama.cpp's `llama_token_type`).
public enum TokenKind: UInt8, Sendable {
    case undefined = 0
    /// Ordinary text.
    case normal = 1
    case unknown = 2
    /// Structure, not text (`<s>`, `<|im_start|>`): decodes to nothing, matched in input text
    /// only when asked to parse special tokens.
    case control = 3
    /// Added text (`[PAD151646]`): always matched verbatim in input, decodes to its text.
    case userDefined = 4
    case unused = 5
    /// SentencePiece byte fallback (`<0x0A>`).
    case byte = 6

    /// Tokens matched verbatim in the input before any other tokenization.
    var isSpecial: Bool { self == .control || self == .userDefined || self == .unknown }
}

/// A GGUF vocabulary as llama.cpp reads it (`llama_vocab::load`).
struct TokenVocabulary: Sendable {
    /// Token texts by id; `find` gives the id of a text (the last of duplicates, as llama.cpp).
    let texts: ByteStringTable
    let kinds: [TokenKind]
    /// SentencePiece merge priorities (zero when the file has none).
    let scores: [Float]
    let bos: Int?
    let eos: Int?
    /// Tokens that end a generation: EOS, EOT, EOM and the end-of-turn texts llama.cpp recognises.
    let endOfGeneration: Set<Int>
    /// `add_special` framing: BOS first, EOS last.
    let addBOS: Bool
    let addEOS: Bool
    let specials: SpecialTokenSplitter

    var count: Int { kinds.count }

    /// End-of-turn texts llama.cpp treats as end of generation (and forces to control tokens).
    static let endOfGenerationTexts: [String] = [
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<end_of_turn>", "<|endoftext|>",
        "<|eom_id|>", "<EOT>", "_<EOT>", "<|end_of_text|>", "<end_of_utterance>",
    ]

    init(
        texts: ByteStringTable, kinds: [TokenKind], scores: [Float], bos: Int?, eos: Int?,
        otherEndTokens: [Int], addBOS: Bool, addEOS: Bool
    ) {
        var kinds = kinds
        var endOfGeneration = Set(otherEndTokens)
        if let eos { endOfGeneration.insert(eos) }
        for text in Self.endOfGenerationTexts {
            guard let id = texts.find(Array(text.utf8)) else { continue }
            endOfGeneration.insert(id)
            kinds[id] = .control
        }
        self.texts = texts
        self.kinds = kinds
        self.scores = scores
        self.bos = bos
        self.eos = eos
        self.endOfGeneration = endOfGeneration
        self.addBOS = addBOS
        self.addEOS = addEOS
        specials = SpecialTokenSplitter(texts: texts, kinds: kinds)
    }

    /// Splits `text` into raw text and special tokens (see `SpecialTokenSplitter`).
    func fragments(_ text: UnsafeBufferPointer<UInt8>, parseSpecial: Bool) -> [TextFragment] {
        specials.split(text, parseSpecial: parseSpecial)
    }
}
