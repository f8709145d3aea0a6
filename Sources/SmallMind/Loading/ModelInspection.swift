// What `smallmind info` shows about a model file: its format, shape, tensor encodings, the memory
// its weights and its KV cache take, and its vocabulary. Inspecting reads and validates the file
// but computes nothing. A GGUF without tensors (llama.cpp's vocabulary-only files) is described
// by its vocabulary alone; a GGUF whose tensors this runtime cannot use (an unknown encoding, a
// missing tensor) is still described, with the reason in `weightsProblem`.

/// A summary of a model file.
public struct ModelReport: Sendable {
    /// "GGUF v3", "llama2.c checkpoint".
    public var format: String
    /// The declared architecture (`general.architecture`; "llama" for llama2.c checkpoints); nil
    /// for a vocabulary-only GGUF that does not declare one.
    public var architecture: String?
    /// The model's shape; nil for a vocabulary-only GGUF.
    public var configuration: ModelConfiguration?
    /// Traits of the architecture beyond the shape (norms, activation, sliding window,
    /// soft-capping, fused tensors, …), one short phrase each, for display.
    public var architectureTraits: [String] = []
    /// Tensor encodings and how many tensors use each, most common first.
    public var tensorTypes: [(type: String, count: Int)]
    public var tensorCount: Int
    public var parameterCount: Int
    /// Bytes of weight data, as stored (and as held in memory: weights stay encoded).
    public var weightBytes: Int
    /// Why the weights cannot be loaded by this runtime (the loader's message), or nil when they can.
    public var weightsProblem: String?
    /// The embedded vocabulary (GGUF), or nil (llama2.c checkpoints keep theirs in tokenizer.bin).
    public var vocabulary: VocabularyReport?

    /// Rows of the token embedding (the model's vocabulary size), else the vocabulary's token count.
    public var vocabularySize: Int { configuration?.vocabularySize ?? vocabulary?.tokenCount ?? 0 }
    /// The embedded tokenizer's model (`tokenizer.ggml.model`), if any.
    public var tokenizerModel: String? { vocabulary?.model }
    /// Whether the file holds a vocabulary and no weights.
    public var isVocabularyOnly: Bool { configuration == nil && vocabulary != nil }

    /// KV-cache bytes one position of one sequence takes (keys and values, every layer).
    public func keyValueBytesPerToken(_ elementType: KVCache.ElementType) -> Int? {
        configuration.map { KVCache.bytesPerSlot(configuration: $0, contextLength: 1, elementType: elementType) }
    }
}

/// A GGUF file's vocabulary, from its `tokenizer.ggml.*` metadata.
public struct VocabularyReport: Sendable {
    /// `tokenizer.ggml.model`: "llama" (SentencePiece BPE), "gpt2" (byte-level BPE), ….
    public var model: String
    /// `tokenizer.ggml.pre` (byte-level BPE's pre-tokenizer), if named.
    public var preTokenizer: String?
    public var tokenCount: Int
    /// Begin and end of sequence as the tokenizer uses them (llama.cpp's defaults applied), with
    /// their texts; nil when the vocabulary has none.
    public var bos: NamedToken?
    public var eos: NamedToken?
    /// Whether prompts get BOS (`add_bos_token` or its default).
    public var addsBOS: Bool?
    /// Whether the file carries a chat template (`tokenizer.chat_template`).
    public var hasChatTemplate: Bool
    /// Why this runtime cannot build the tokenizer (the loader's message), or nil when it can.
    public var problem: String?
    /// Tokens marked control (type 3) in `tokenizer.ggml.token_type`: `<|im_start|>`, `<s>`, ….
    public var controlTokenCount = 0
    /// The tokens that end a generation (`Tokenizer.endOfGenerationTokens`), by id; empty when the
    /// tokenizer cannot be built.
    public var endOfGeneration: [NamedToken] = []
}

/// A token id with its text, for display.
public struct NamedToken: Sendable, Equatable {
    public var id: Int
    public var text: String
}

/// Reads model files for inspection.
public enum ModelInspection {
    /// Summarises the model at `path`, recognising the format by content. Throws for a file that
    /// cannot be parsed or declares an architecture this runtime does not know.
    public static func inspect(path: String) throws(LoadingError) -> ModelReport {
        if GGUFFile.isGGUF(path: path) { return try inspectGGUF(try GGUFFile(path: path)) }
        let weights: ModelWeights
        do {
            weights = try Llama2cCheckpoint.load(path: path)
        } catch {
            if case .cannotOpen = error { throw error }
            throw .unsupported(file: path, what: "model format: not GGUF (no 'GGUF' magic) and not a llama2.c checkpoint (\(error.reason))")
        }
        let c = weights.configuration
        let shared = weights.classifier.sharesStorage(with: weights.tokenEmbedding)
        // token embedding, 9 per-layer stacks, final norm, and a separate classifier if present.
        let tensors = 1 + 9 + 1 + (shared ? 0 : 1)
        return ModelReport(
            format: "llama2.c checkpoint", architecture: c.architecture.name, configuration: c, architectureTraits: c.traitDescriptions,
            tensorTypes: [("F32", tensors)], tensorCount: tensors,
            parameterCount: weights.parameterCount, weightBytes: weights.parameterCount * 4, weightsProblem: nil, vocabulary: nil)
    }

    private static func inspectGGUF(_ file: GGUFFile) throws(LoadingError) -> ModelReport {
        var counts: [String: Int] = [:]
        for tensor in file.tensors { counts[tensor.type.name, default: 0] += 1 }
        var report = ModelReport(
            format: "GGUF v\(file.version)", architecture: file.metadata["general.architecture"]?.stringValue, configuration: nil,
            tensorTypes: counts.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map { ($0.key, $0.value) },
            tensorCount: file.tensors.count,
            parameterCount: file.tensors.reduce(0) { $0 + $1.elementCount },
            weightBytes: file.tensors.reduce(0) { $0 + $1.byteCount }, weightsProblem: nil,
            vocabulary: vocabulary(of: file))
        // A vocabulary-only file: nothing more to read (its architecture need not be one we run).
        if file.tensors.isEmpty && report.vocabulary != nil { return report }

        // An unknown architecture is an error listing the known ones.
        let row = try GGUFModel.architecture(of: file)
        let configuration = try GGUFModel.configuration(of: file)
        report.configuration = configuration
        report.architectureTraits = configuration.traitDescriptions + row.storageDescriptions
        // Validates every tensor's presence, shape and encoding. The llama.cpp-rounding flag only
        // skips regrouping rows for the VNNI kernels, which inspection does not need.
        do { _ = try GGUFModel.weights(from: file, roundingActivationsLikeLlamaCpp: true) } catch { report.weightsProblem = error.reason }
        return report
    }

    /// The vocabulary `file` embeds, or nil when it has no `tokenizer.ggml.model`.
    static func vocabulary(of file: GGUFFile) -> VocabularyReport? {
        let metadata = file.metadata
        guard let model = metadata["tokenizer.ggml.model"]?.stringValue else { return nil }
        let texts = metadata["tokenizer.ggml.tokens"]?.arrayValue ?? []
        func token(_ id: Int?) -> NamedToken? {
            guard let id, texts.indices.contains(id) else { return nil }
            return NamedToken(id: id, text: texts[id].stringValue ?? "")
        }
        var report = VocabularyReport(
            model: model, preTokenizer: metadata["tokenizer.ggml.pre"]?.stringValue, tokenCount: texts.count,
            bos: token(metadata["tokenizer.ggml.bos_token_id"]?.intValue), eos: token(metadata["tokenizer.ggml.eos_token_id"]?.intValue),
            addsBOS: metadata["tokenizer.ggml.add_bos_token"]?.boolValue,
            hasChatTemplate: metadata["tokenizer.chat_template"]?.stringValue != nil, problem: nil)
        report.controlTokenCount = (metadata["tokenizer.ggml.token_type"]?.arrayValue ?? []).filter { $0.intValue == 3 }.count
        // The tokenizer as generation builds it: its BOS/EOS carry llama.cpp's defaults where the
        // file names none, and building it is the check that this runtime can tokenize with it.
        do {
            let tokenizer = try GGUFTokenizer.load(from: file)
            report.bos = token(tokenizer.bosToken)
            report.eos = token(tokenizer.eosToken)
            report.endOfGeneration = tokenizer.endOfGenerationTokens.sorted().compactMap(token)
            if report.addsBOS == nil, let bos = tokenizer.bosToken, let ids = try? tokenizer.encode("a", addBOS: true) {
                report.addsBOS = ids.first == bos
            }
        } catch {
            report.problem = error.reason
        }
        return report
    }
}
