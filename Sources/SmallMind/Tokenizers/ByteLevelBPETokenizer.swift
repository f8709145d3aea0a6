// Byte-level BPE as llama.cpp applies it to GGUF `tokenizer.ggml.model = gpt2` vocabularies
// (GPT-2, Llama 3, Qwen 2): special tokens are cut out of the text, the rest is split into words
// by the pre-tokenizer, each word's bytes are spelled in GPT-2's byte alphabet and merged by rank.

/// llama.cpp's byte-level BPE over a GGUF vocabulary.
public struct ByteLevelBPETokenizer: Tokenizer {
    let vocabulary: TokenVocabulary
    let merges: BytePairMerges
    public let preTokenizer: PreTokenizer
    /// A word that is itself a token is emitted whole, before any merging (Llama 3's
    /// `ignore_merges`: its merges do not always rebuild every token).
    public let ignoresMerges: Bool
    /// For each byte, the text number (see `BytePairMerges`) of its one-character spelling, or -1
    /// when no token or merge mentions it.
    private let byteTexts: [Int32]

    init(vocabulary: TokenVocabulary, merges: BytePairMerges, preTokenizer: PreTokenizer, ignoresMerges: Bool) {
        self.vocabulary = vocabulary
        self.merges = merges
        self.preTokenizer = preTokenizer
        self.ignoresMerges = ignoresMerges
        byteTexts = ByteLevel.utf8OfByte.map { Int32(merges.strings.find($0) ?? -1) }
    }

    public var vocabularySize: Int { vocabulary.count }
    public var bosToken: Int? { vocabulary.bos }
    public var eosToken: Int? { vocabulary.eos }
    /// Whether `encode(_:addBOS: true)` prepends BOS / appends EOS (`tokenizer.ggml.add_bos_token`, `add_eos_token`).
    public var addsBOS: Bool { vocabulary.addBOS }

    public func spelling(of token: Int) -> String { vocabulary.specialText(token) ?? decode([token]) }
    public var addsEOS: Bool { vocabulary.addEOS }
    /// What `token` is (normal, control, byte, …), or nil outside the vocabulary.
    public func kind(of token: Int) -> TokenKind? { vocabulary.kinds.indices.contains(token) ? vocabulary.kinds[token] : nil }

    public func encode(_ text: String, addBOS: Bool) throws(TokenizerError) -> [Int] {
        encode(text, addBOS: addBOS, parseSpecial: false)
    }

    /// llama.cpp's `llama_tokenize` for BPE vocabularies. Every byte has a spelling, so this never fails.
    public func encode(_ text: String, addBOS: Bool, parseSpecial: Bool) -> [Int] {
        var output: [Int] = []
        if addBOS && vocabulary.addBOS, let bos = vocabulary.bos { output.append(bos) }
        Array(text.utf8).withUnsafeBufferPointer { input in
            var scratch = WordScratch()
            for fragment in vocabulary.fragments(input, parseSpecial: parseSpecial) {
                switch fragment {
                case let .token(id):
                    output.append(id)
                case let .text(range):
                    let fragmentText = UnsafeBufferPointer(rebasing: input[range])
                    for word in preTokenizer.split(fragmentText) {
                        encodeWord(UnsafeBufferPointer(rebasing: fragmentText[word]), into: &output, scratch: &scratch)
                    }
                }
            }
        }
        if addBOS && vocabulary.addEOS, let eos = vocabulary.eos { output.append(eos) }
        return output
    }

    /// Buffers reused from word to word.
    private struct WordScratch {
        var spelled: [UInt8] = []
        var symbols: [MergeSymbol] = []
    }

    private func encodeWord(_ word: UnsafeBufferPointer<UInt8>, into output: inout [Int], scratch: inout WordScratch) {
        if ignoresMerges {
            scratch.spelled.removeAll(keepingCapacity: true)
            for byte in word { scratch.spelled += ByteLevel.utf8OfByte[Int(byte)] }
            if let id = merges.strings.find(scratch.spelled), id < merges.tokenCount {
                output.append(id)
                return
            }
        }
        scratch.symbols.removeAll(keepingCapacity: true)
        for i in word.indices {
            scratch.symbols.append(MergeSymbol(
                start: Int32(i), length: 1, previous: Int32(i - 1), next: i + 1 < word.count ? Int32(i + 1) : -1,
                token: byteTexts[Int(word[i])]))
        }
        for symbol in merges.merge(&scratch.symbols) {
            if symbol.token >= 0 && Int(symbol.token) < merges.tokenCount {
                output.append(Int(symbol.token))
                continue
            }
            // No token spells this symbol: llama.cpp looks up each byte of its spelling as a
            // one-byte text, which finds tokens only for printable ASCII, and drops the rest.
            for byte in word[Int(symbol.start) ..< Int(symbol.start + symbol.length)] {
                for spelledByte in ByteLevel.utf8OfByte[Int(byte)] {
                    if let id = merges.strings.find([spelledByte]), id < merges.tokenCount { output.append(id) }
                }
            }
        }
    }

    /// Normal tokens map their characters back to bytes; user-defined tokens are their text; byte
    /// tokens (`<0x0A>`, SentencePiece-style fallback some BPE vocabularies carry) their byte;
    /// control, unknown and unused tokens are nothing.
    public func bytes(of token: Int, after previous: Int?) -> [UInt8] {
        guard vocabulary.kinds.indices.contains(token) else { return [] }
        switch vocabulary.kinds[token] {
        case .normal: return ByteLevel.decode(vocabulary.texts[token])
        case .userDefined: return Array(vocabulary.texts[token])
        case .byte: return SentencePieceTokenizer.byteFallbackValue(Array(vocabulary.texts[token])).map { [$0] } ?? []
        case .control, .unknown, .unused, .undefined: return []
        }
    }

    /// llama.cpp's end-of-generation set: EOS, EOT/EOM, end-of-turn tokens such as `<|im_end|>`
    /// and FIM padding/separator tokens — not BOS (unlike llama2.c, llama.cpp generates past a BOS).
    public var endOfGenerationTokens: Set<Int> { vocabulary.endOfGeneration }

    public func isEndOfText(_ token: Int) -> Bool { vocabulary.endOfGeneration.contains(token) }
}
