import SmallMindKernels

/// The shape of a decoder-only transformer, read from a checkpoint header or GGUF metadata.
public struct ModelConfiguration: Sendable, Equatable, CustomStringConvertible {
    /// The block layouts this runtime computes. Both run through the one forward pass; the
    /// differences are data (`normalization`, `positions`, `feedForward`), not separate code paths.
    public enum Architecture: String, Sendable, CaseIterable {
        /// RMSNorm, rotary positions, SwiGLU feed-forward, optional grouped-query attention.
        case llama
        /// LayerNorm with biases, learned position embeddings, GELU feed-forward, tied classifier.
        case gpt2
    }

    public var architecture: Architecture
    /// Width of the residual stream (n_embd, dim).
    public var embeddingSize: Int
    /// Width of the feed-forward hidden layer.
    public var hiddenSize: Int
    public var layerCount: Int
    public var headCount: Int
    /// Key/value heads; fewer than `headCount` means grouped-query attention.
    public var keyValueHeadCount: Int
    public var vocabularySize: Int
    /// Maximum positions per sequence.
    public var contextLength: Int
    public var normEpsilon: Float
    /// RoPE θ base (llama only).
    public var ropeBase: Float
    /// How many leading dimensions of each head rotate (GGUF `rope.dimension_count`); nil = all.
    public var rotaryDimensions: Int?
    /// Which dimensions rotate together (GGUF llama: adjacent pairs; Qwen 2 and other NeoX-style
    /// models: the two halves of the rotated span).
    public var rotaryPairing: RoPE.Pairing

    public init(
        architecture: Architecture, embeddingSize: Int, hiddenSize: Int, layerCount: Int,
        headCount: Int, keyValueHeadCount: Int, vocabularySize: Int, contextLength: Int,
        normEpsilon: Float = 1e-5, ropeBase: Float = 10000, rotaryDimensions: Int? = nil,
        rotaryPairing: RoPE.Pairing = .adjacent
    ) {
        self.architecture = architecture
        self.embeddingSize = embeddingSize
        self.hiddenSize = hiddenSize
        self.layerCount = layerCount
        self.headCount = headCount
        self.keyValueHeadCount = keyValueHeadCount
        self.vocabularySize = vocabularySize
        self.contextLength = contextLength
        self.normEpsilon = normEpsilon
        self.ropeBase = ropeBase
        self.rotaryDimensions = rotaryDimensions
        self.rotaryPairing = rotaryPairing
    }

    public var headSize: Int { embeddingSize / headCount }
    /// Width of one position's keys (or values) across all KV heads.
    public var keyValueSize: Int { headSize * keyValueHeadCount }

    public var description: String {
        "\(architecture.rawValue): \(layerCount) layers, embedding \(embeddingSize), hidden \(hiddenSize), "
            + "\(headCount) heads (\(keyValueHeadCount) KV), vocabulary \(vocabularySize), context \(contextLength)"
    }

    /// Checks the invariants the forward pass relies on; `source` names the file for the error.
    func validate(source: String) throws(LoadingError) {
        func require(_ ok: Bool, _ field: String, _ value: Int, _ why: String) throws(LoadingError) {
            if !ok { throw .invalidField(file: source, field: field, value: String(value), reason: why) }
        }
        let limit = 1 << 20
        try require(embeddingSize > 0 && embeddingSize <= 65536, "dim", embeddingSize, "must be in 1...65536")
        try require(hiddenSize > 0 && hiddenSize <= 262_144, "hidden_dim", hiddenSize, "must be in 1...262144")
        try require(layerCount > 0 && layerCount <= 1024, "n_layers", layerCount, "must be in 1...1024")
        try require(headCount > 0 && embeddingSize % headCount == 0, "n_heads", headCount, "must be positive and divide dim \(embeddingSize)")
        try require(headSize % 2 == 0, "n_heads", headCount, "head size \(headSize) must be even for rotary positions")
        try require(keyValueHeadCount > 0 && headCount % keyValueHeadCount == 0, "n_kv_heads", keyValueHeadCount, "must be positive and divide n_heads \(headCount)")
        try require(vocabularySize > 0 && vocabularySize <= limit, "vocab_size", vocabularySize, "must be in 1...\(limit)")
        try require(contextLength > 0 && contextLength <= limit, "seq_len", contextLength, "must be in 1...\(limit)")
        if let rotaryDimensions {
            try require(rotaryDimensions > 0 && rotaryDimensions <= headSize && rotaryDimensions % 2 == 0,
                "rope.dimension_count", rotaryDimensions, "must be even and in 1...\(headSize) (the head size)")
        }
    }
}
