// The vocabulary both GGUF tokenizers share: token texts, kinds, scores, special ids, framing, and
// the end-of-generation set — all as llama.cpp's `llama_vocab::load` derives them, including its
// fix-ups by token text (end-of-turn and fill-in-the-middle tokens become control tokens).

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

/// Special-token ids a GGUF file declares (`tokenizer.ggml.*_token_id`) beyond BOS and EOS; nil
/// when absent (llama.cpp then looks for them by text).
struct DeclaredSpecialTokens: Sendable {
    var endOfTurn: Int?
    var endOfMessage: Int?
    /// Fill-in-the-middle: prefix, suffix, middle, padding, repository, file separator.
    var fimPrefix: Int?
    var fimSuffix: Int?
    var fimMiddle: Int?
    var fimPad: Int?
    var fimRepository: Int?
    var fimSeparator: Int?
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
    /// Tokens that end a generation (llama.cpp's `special_eog_ids`): EOS, EOT, EOM, the FIM
    /// padding/repository/separator tokens, and the end-of-turn texts llama.cpp recognises.
    let endOfGeneration: Set<Int>
    /// `add_special` framing: BOS first, EOS last.
    let addBOS: Bool
    let addEOS: Bool
    let specials: SpecialTokenSplitter

    var count: Int { kinds.count }

    /// The text of a special token (control, user-defined, unknown) as written in prompts; nil
    /// for ordinary tokens, whose spelling is their decoded text.
    func specialText(_ token: Int) -> String? {
        guard kinds.indices.contains(token), kinds[token].isSpecial else { return nil }
        return String(decoding: texts[token], as: UTF8.self)
    }

    /// Texts llama.cpp treats as end of generation (and forces to control tokens), as of the
    /// llama.cpp the golden files come from.
    static let endOfGenerationTexts: [String] = [
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>", "<end_of_turn>",
        "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>", "<end_of_utterance>",
        "<eos>", "<turn|>", "<|tool_response>", "<｜end▁of▁sentence｜>", "[e~[",
    ]

    /// Fill-in-the-middle texts llama.cpp looks for when the file declares no id (each found one
    /// becomes a control token; padding, repository and separator also end a generation).
    static let fimPrefixTexts = ["<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|code_prefix|>", "<|prefix|>"]
    static let fimSuffixTexts = ["<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>", "<|code_suffix|>", "<|suffix|>"]
    static let fimMiddleTexts = ["<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>", "<|middle|>"]
    static let fimPadTexts = ["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"]
    static let fimRepositoryTexts = ["<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"]
    static let fimSeparatorTexts = ["<|file_sep|>"]

    /// gpt-oss's message-structure tokens, which llama.cpp always renders (user-defined).
    static let alwaysRenderedTexts = ["<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"]

    init(
        texts: ByteStringTable, kinds: [TokenKind], scores: [Float], bos: Int?, eos: Int?,
        declared: DeclaredSpecialTokens, addBOS: Bool, addEOS: Bool
    ) {
        var kinds = kinds
        func id(of text: String) -> Int? { texts.find(Array(text.utf8)) }
        func text(of id: Int) -> String { String(decoding: texts[id], as: UTF8.self) }
        // Where several candidates exist llama.cpp takes whichever its hash map yields first;
        // here, the lowest id.
        func firstFound(_ candidates: [String]) -> Int? { candidates.compactMap(id(of:)).min() }

        var endOfGeneration = Set<Int>()
        for (declaredID, candidates, endsGeneration) in [
            (declared.fimPrefix, Self.fimPrefixTexts, false), (declared.fimSuffix, Self.fimSuffixTexts, false),
            (declared.fimMiddle, Self.fimMiddleTexts, false), (declared.fimPad, Self.fimPadTexts, true),
            (declared.fimRepository, Self.fimRepositoryTexts, true), (declared.fimSeparator, Self.fimSeparatorTexts, true),
        ] {
            var found = declaredID
            if found == nil, let detected = firstFound(candidates) {
                kinds[detected] = .control
                found = detected
            }
            if endsGeneration, let found { endOfGeneration.insert(found) }
        }
        for text in Self.endOfGenerationTexts {
            guard let id = id(of: text) else { continue }
            endOfGeneration.insert(id)
            kinds[id] = .control
        }
        for text in Self.alwaysRenderedTexts {
            if let id = id(of: text) { kinds[id] = .userDefined }
        }
        for id in [eos, declared.endOfTurn, declared.endOfMessage].compactMap({ $0 }) { endOfGeneration.insert(id) }

        // llama.cpp's two exceptions, by the texts of the set. Harmony (gpt-oss) and Solar Open end
        // a turn with <|end|> but keep generating after it when <|return|>/<|call|> (<|calls|>/
        // <|flush|>) exist.
        let endTexts = Dictionary(endOfGeneration.map { (text(of: $0), $0) }, uniquingKeysWith: max)
        let hasCall = endTexts["<|call|>"] != nil || endTexts["<|calls|>"] != nil
        if let end = endTexts["<|end|>"], hasCall && (endTexts["<|return|>"] != nil || endTexts["<|flush|>"] != nil) {
            endOfGeneration.remove(end)
            kinds[end] = .userDefined
        }
        // Gemma 4 and PLaMo have an ordinary </s>.
        if let s = endTexts["</s>"], endTexts["<|tool_response>"] != nil || endTexts["<|plamo:eos|>"] != nil {
            endOfGeneration.remove(s)
            kinds[s] = .normal
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
