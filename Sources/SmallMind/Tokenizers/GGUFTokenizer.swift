// Builds the tokenizer a GGUF file describes, from its `tokenizer.ggml.*` metadata:
//
//   model            "llama" (SentencePiece BPE) or "gpt2" (byte-level BPE)
//   tokens           [string]  token texts, by id
//   token_type       [i32]     optional; 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte
//   scores           [f32]     optional; SentencePiece merge priorities
//   merges           [string]  "left right" by rank (gpt2 only, required)
//   pre              string    gpt2 pre-tokenizer: "gpt-2", "llama-bpe", "qwen2", "smollm", … (`BytePairPreset`)
//   bos/eos/eot/eom/fim_*_token_id    u32
//   add_bos_token, add_eos_token, add_space_prefix   bool
//
// Defaults follow llama.cpp's `llama_vocab::load`: SentencePiece adds BOS (1) and a space prefix;
// byte-level BPE adds BOS only for Llama 3. A special-token id outside the vocabulary is ignored,
// as llama.cpp does (real files carry such padding ids). Anything else malformed — a missing or
// mistyped key, arrays of different lengths, an unreadable merge — is a `LoadingError` naming the key.

/// Tokenizers described by GGUF metadata.
public enum GGUFTokenizer {
    /// The tokenizer of `file` (a model or a vocabulary-only GGUF).
    public static func load(from file: GGUFFile) throws(LoadingError) -> any Tokenizer {
        var reader = MetadataReader(file: file)
        let model = try reader.string("tokenizer.ggml.model")
        switch model {
        case "llama":
            return try sentencePiece(&reader)
        case "gpt2":
            return try bytePair(&reader)
        default:
            throw .unsupported(file: file.path, what: "tokenizer model '\(model)' (tokenizer.ggml.model; supported: llama, gpt2)")
        }
    }

    private static func sentencePiece(_ reader: inout MetadataReader) throws(LoadingError) -> GGUFSentencePieceTokenizer {
        let vocabulary = try reader.vocabulary(defaultBOS: 1, defaultEOS: 2, defaultAddBOS: true)
        let addsSpacePrefix = try reader.bool("tokenizer.ggml.add_space_prefix") ?? true
        return GGUFSentencePieceTokenizer(vocabulary: vocabulary, addsSpacePrefix: addsSpacePrefix)
    }

    private static func bytePair(_ reader: inout MetadataReader) throws(LoadingError) -> ByteLevelBPETokenizer {
        // A missing name stays an error: llama.cpp falls back to "default" but warns that
        // generation quality will suffer, and this library prints nothing to warn with.
        guard let preName = try reader.optionalString("tokenizer.ggml.pre") else {
            throw .unsupported(file: reader.file.path, what: "a byte-level BPE vocabulary without tokenizer.ggml.pre (llama.cpp would guess 'default'; supported: \(BytePairPreset.supportedNames.joined(separator: ", ")))")
        }
        guard let preset = BytePairPreset(ggufName: preName) else {
            throw .unsupported(file: reader.file.path, what: "pre-tokenizer '\(preName)' (tokenizer.ggml.pre; supported: \(BytePairPreset.supportedNames.joined(separator: ", ")))")
        }
        // llama.cpp's BPE default ids (11) are a placeholder; without keys there is no BOS/EOS here.
        let vocabulary = try reader.vocabulary(defaultBOS: nil, defaultEOS: nil, defaultAddBOS: preset.addsBOSByDefault)
        let mergeTexts = try reader.strings("tokenizer.ggml.merges")
        let merges: BytePairMerges
        do {
            merges = try BytePairMerges(tokens: vocabulary.texts, merges: mergeTexts)
        } catch {
            throw .invalidField(file: reader.file.path, field: "tokenizer.ggml.merges[\(error.index)]", value: "'\(mergeTexts[error.index])'", reason: error.reason)
        }
        return ByteLevelBPETokenizer(vocabulary: vocabulary, merges: merges, preTokenizer: preset.preTokenizer, ignoresMerges: preset.ignoresMerges)
    }
}

/// Typed access to `tokenizer.ggml.*` metadata, every failure naming the key.
private struct MetadataReader {
    let file: GGUFFile

    private func invalid(_ key: String, _ value: String, _ reason: String) -> LoadingError {
        .invalidField(file: file.path, field: key, value: value, reason: reason)
    }

    func optionalString(_ key: String) throws(LoadingError) -> String? {
        guard let value = file.metadata[key] else { return nil }
        guard let string = value.stringValue else { throw invalid(key, "\(value)", "expected a string") }
        return string
    }

    func string(_ key: String) throws(LoadingError) -> String {
        guard let string = try optionalString(key) else { throw invalid(key, "missing", "the file has no tokenizer metadata") }
        return string
    }

    func bool(_ key: String) throws(LoadingError) -> Bool? {
        guard let value = file.metadata[key] else { return nil }
        guard let bool = value.boolValue else { throw invalid(key, "\(value)", "expected a boolean") }
        return bool
    }

    func array(_ key: String) throws(LoadingError) -> [GGUFValue]? {
        guard let value = file.metadata[key] else { return nil }
        guard let array = value.arrayValue else { throw invalid(key, "\(value)", "expected an array") }
        return array
    }

    func strings(_ key: String) throws(LoadingError) -> [String] {
        guard let array = try array(key) else { throw invalid(key, "missing", "required for this tokenizer model") }
        var strings: [String] = []
        strings.reserveCapacity(array.count)
        // Index loops: `enumerated()` costs a tuple per element in debug builds, on 150k elements.
        for i in array.indices {
            guard case let .string(string) = array[i] else { throw invalid("\(key)[\(i)]", "\(array[i])", "expected a string") }
            strings.append(string)
        }
        return strings
    }

    /// An optional per-token array: absent, or exactly one element per token.
    func perToken<T>(_ key: String, count: Int, _ convert: (GGUFValue) -> T?) throws(LoadingError) -> [T]? {
        guard let array = try array(key) else { return nil }
        guard array.count == count else {
            throw invalid(key, "\(array.count) elements", "tokenizer.ggml.tokens has \(count): one per token expected")
        }
        var values: [T] = []
        values.reserveCapacity(count)
        for i in array.indices {
            guard let value = convert(array[i]) else { throw invalid("\(key)[\(i)]", "\(array[i])", "unexpected type") }
            values.append(value)
        }
        return values
    }

    /// A special-token id: nil when absent or outside the vocabulary (llama.cpp then keeps its
    /// default, and so do the callers).
    func tokenID(_ key: String, count: Int) throws(LoadingError) -> Int? {
        guard let value = file.metadata[key] else { return nil }
        guard let id = value.intValue else { throw invalid(key, "\(value)", "expected an integer token id") }
        return (0 ..< count).contains(id) ? id : nil
    }

    func vocabulary(defaultBOS: Int?, defaultEOS: Int?, defaultAddBOS: Bool) throws(LoadingError) -> TokenVocabulary {
        let tokensKey = "tokenizer.ggml.tokens"
        guard let tokens = try array(tokensKey) else { throw invalid(tokensKey, "missing", "the file has no vocabulary") }
        guard !tokens.isEmpty else { throw invalid(tokensKey, "[]", "the vocabulary is empty") }
        let count = tokens.count
        var texts = ByteStringTable(reservingCapacity: count, bytes: count * 8)
        for i in tokens.indices {
            guard case var .string(text) = tokens[i] else { throw invalid("\(tokensKey)[\(i)]", "\(tokens[i])", "expected a string") }
            text.withUTF8 { _ = texts.append($0, duplicates: .keepLast) }
        }
        let kinds = try perToken("tokenizer.ggml.token_type", count: count) { value -> TokenKind? in
            guard let type = value.intValue else { return nil }
            return TokenKind(rawValue: UInt8(clamping: type)) ?? .undefined
        } ?? Array(repeating: .normal, count: count)
        let scores = try perToken("tokenizer.ggml.scores", count: count) { value -> Float? in
            guard let score = value.floatValue else { return nil }
            return Float(score)
        } ?? Array(repeating: 0, count: count)

        let inRange = { (id: Int?) in id.flatMap { (0 ..< count).contains($0) ? $0 : nil } }
        let bos = try tokenID("tokenizer.ggml.bos_token_id", count: count) ?? inRange(defaultBOS)
        let eos = try tokenID("tokenizer.ggml.eos_token_id", count: count) ?? inRange(defaultEOS)
        func declaredID(_ names: String...) throws(LoadingError) -> Int? {
            for name in names {
                if let id = try tokenID("tokenizer.ggml.\(name)_token_id", count: count) { return id }
            }
            return nil
        }
        // The deprecated prefix/suffix/middle keys are read as llama.cpp reads them: after the new ones, winning.
        let declared = DeclaredSpecialTokens(
            endOfTurn: try declaredID("eot"), endOfMessage: try declaredID("eom"),
            fimPrefix: try declaredID("prefix", "fim_pre"), fimSuffix: try declaredID("suffix", "fim_suf"),
            fimMiddle: try declaredID("middle", "fim_mid"), fimPad: try declaredID("fim_pad"),
            fimRepository: try declaredID("fim_rep"), fimSeparator: try declaredID("fim_sep"))
        let addBOS = try bool("tokenizer.ggml.add_bos_token") ?? defaultAddBOS
        let addEOS = try bool("tokenizer.ggml.add_eos_token") ?? false
        if addBOS && bos == nil {
            throw invalid("tokenizer.ggml.bos_token_id", "missing", "tokenizer.ggml.add_bos_token asks for a BOS token the vocabulary does not name")
        }
        if addEOS && eos == nil {
            throw invalid("tokenizer.ggml.eos_token_id", "missing", "tokenizer.ggml.add_eos_token asks for an EOS token the vocabulary does not name")
        }
        return TokenVocabulary(
            texts: texts, kinds: kinds, scores: scores, bos: bos, eos: eos, declared: declared,
            addBOS: addBOS, addEOS: addEOS)
    }
}
