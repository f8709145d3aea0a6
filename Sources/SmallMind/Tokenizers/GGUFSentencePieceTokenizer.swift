// SentencePiece BPE as llama.cpp applies it to GGUF `tokenizer.ggml.model = llama` vocabularies
// (Llama 1/2, Mistral, TinyLlama, the tinyllamas models converted to GGUF).
//
// What differs from llama2.c's run.c (`SentencePieceTokenizer`), and why both exist:
// - pieces spell spaces as U+2581 '▁' (run.c's tokenizer.bin has them as ' '), so every space of
//   the text is escaped to '▁' before tokenizing;
// - the space prefix is one ' ' prepended to the text of each raw fragment that starts the input
//   or follows a special token — not a separate token — so "Hello" becomes "▁Hello" in one piece;
// - characters without a piece stay whole during merging and fall back to `<0xXX>` byte tokens
//   only at the end (run.c splits them into byte tokens up front);
// - special tokens are cut out of the text first, and control tokens decode to nothing.
// The merge loop itself is the same and shared: `SymbolMerging.mergeByScore`.

/// llama.cpp's SentencePiece BPE over a GGUF vocabulary.
public struct GGUFSentencePieceTokenizer: Tokenizer {
    let vocabulary: TokenVocabulary
    /// Prepend ' ' to the text at the start and after special tokens (`tokenizer.ggml.add_space_prefix`).
    public let addsSpacePrefix: Bool
    /// The token spelling each byte (`<0xXX>`, else the one-byte piece), for characters without a piece.
    private let byteTokens: [Int?]
    /// For `byte` tokens, the byte they stand for.
    private let byteValues: [UInt8?]

    init(vocabulary: TokenVocabulary, addsSpacePrefix: Bool) {
        self.vocabulary = vocabulary
        self.addsSpacePrefix = addsSpacePrefix
        var byteTokens = [Int?](repeating: nil, count: 256)
        for byte in 0 ..< 256 {
            let hex = String(byte, radix: 16, uppercase: true)
            let name = Array("<0x\(byte < 16 ? "0" : "")\(hex)>".utf8)
            byteTokens[byte] = vocabulary.texts.find(name) ?? vocabulary.texts.find([UInt8(byte)])
        }
        self.byteTokens = byteTokens
        byteValues = vocabulary.kinds.indices.map { id in
            vocabulary.kinds[id] == .byte ? SentencePieceTokenizer.byteFallbackValue(Array(vocabulary.texts[id])) : nil
        }
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
        try encode(text, addBOS: addBOS, parseSpecial: false)
    }

    /// llama.cpp's `llama_tokenize` for SPM vocabularies. An empty text gives no tokens (just the
    /// framing): the space prefix goes only in front of text.
    public func encode(_ text: String, addBOS: Bool, parseSpecial: Bool) throws(TokenizerError) -> [Int] {
        var output: [Int] = []
        if addBOS && vocabulary.addBOS, let bos = vocabulary.bos { output.append(bos) }
        try Array(text.utf8).withUnsafeBufferPointer { (input) throws(TokenizerError) in
            var afterSpecial = true  // the start of the text counts as "after a special token"
            for fragment in vocabulary.fragments(input, parseSpecial: parseSpecial) {
                switch fragment {
                case let .token(id):
                    output.append(id)
                    afterSpecial = true
                case let .text(range):
                    try tokenize(input[range], prefixSpace: addsSpacePrefix && afterSpecial, into: &output)
                    afterSpecial = false
                }
            }
        }
        if addBOS && vocabulary.addEOS, let eos = vocabulary.eos { output.append(eos) }
        return output
    }

    /// One raw fragment: escape spaces, one symbol per UTF-8 character, merge, then spell each
    /// symbol as its piece or, failing that, its bytes.
    private func tokenize(_ fragment: Slice<UnsafeBufferPointer<UInt8>>, prefixSpace: Bool, into output: inout [Int]) throws(TokenizerError) {
        var text: [UInt8] = []
        text.reserveCapacity(fragment.count + 3)
        if prefixSpace { text += Self.escapedSpace }
        for byte in fragment {
            if byte == 0x20 { text += Self.escapedSpace } else { text.append(byte) }
        }
        var ranges: [Range<Int>] = []
        var start = 0
        while start < text.count {
            let end = min(start + Self.utf8Length(leadByte: text[start]), text.count)
            ranges.append(start ..< end)
            start = end
        }
        try text.withUnsafeBufferPointer { (text) throws(TokenizerError) in
            var symbols = SymbolMerging.symbols(ranges, in: text, pieces: vocabulary.texts)
            for symbol in SymbolMerging.mergeByScore(&symbols, in: text, pieces: vocabulary.texts, scores: vocabulary.scores) {
                if symbol.token >= 0 {
                    output.append(Int(symbol.token))
                    continue
                }
                for i in Int(symbol.start) ..< Int(symbol.start + symbol.length) {
                    guard let id = byteTokens[Int(text[i])] else {
                        throw .unencodableByte(text[i], hint: "the vocabulary has no piece for this character and no <0x\(String(text[i], radix: 16, uppercase: true))> byte token")
                    }
                    output.append(id)
                }
            }
        }
    }

    /// The piece's bytes: '▁' becomes ' ', byte tokens their byte, control and unknown tokens
    /// nothing. With the space prefix, the first piece of the text (at the start or right after
    /// BOS) loses one leading space, so decode(encode(x)) == x.
    public func bytes(of token: Int, after previous: Int?) -> [UInt8] {
        guard vocabulary.kinds.indices.contains(token) else { return [] }
        var piece: [UInt8]
        switch vocabulary.kinds[token] {
        case .normal:
            piece = Self.unescapeSpaces(vocabulary.texts[token])
        case .byte:
            piece = byteValues[token].map { [$0] } ?? []
        case .userDefined:
            piece = Array(vocabulary.texts[token])
        case .control, .unknown, .unused, .undefined:
            return []
        }
        if addsSpacePrefix && (previous == nil || previous == vocabulary.bos) && piece.first == 0x20 {
            piece.removeFirst()
        }
        return piece
    }

    /// llama.cpp's end-of-generation set: EOS, EOT/EOM, end-of-turn tokens such as `<|im_end|>`
    /// and FIM padding/separator tokens — not BOS (unlike llama2.c, llama.cpp generates past a BOS).
    public var endOfGenerationTokens: Set<Int> { vocabulary.endOfGeneration }

    public func isEndOfText(_ token: Int) -> Bool { vocabulary.endOfGeneration.contains(token) }

    /// U+2581 LOWER ONE EIGHTH BLOCK, SentencePiece's visible space.
    static let escapedSpace: [UInt8] = [0xE2, 0x96, 0x81]

    static func unescapeSpaces(_ piece: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(piece.count)
        var i = piece.startIndex
        while i < piece.endIndex {
            if piece[i] == 0xE2 && i + 2 < piece.endIndex && piece[i + 1] == 0x96 && piece[i + 2] == 0x81 {
                out.append(0x20)
                i += 3
            } else {
                out.append(piece[i])
                i += 1
            }
        }
        return out
    }

    /// Bytes in the UTF-8 character starting with `leadByte` (llama.cpp's `unicode_len_utf8`: a
    /// stray continuation byte counts as one).
    static func utf8Length(leadByte: UInt8) -> Int {
        switch leadByte >> 4 {
        case 0xC, 0xD: return 2
        case 0xE: return 3
        case 0xF: return 4
        default: return 1
        }
    }
}
