import SmallMindKernels

/// The shape of a decoder-only transformer, read from a checkpoint header or GGUF metadata, and
/// the numbers its architecture's traits take in this file (window, caps, RoPE bases).
public struct ModelConfiguration: Sendable, Equatable, CustomStringConvertible {
    /// The family's row of traits (see `Architecture`): what the forward pass computes.
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
    /// Width of one attention head: embedding / heads unless the file says otherwise (GGUF
    /// `attention.key_length`; Qwen 3 and Gemma heads are wider).
    public var headSize: Int
    /// RoPE θ base (rotary architectures), of the global layers where local ones differ.
    public var ropeBase: Float
    /// RoPE θ base of the sliding-window layers (Gemma 3: 10 000); nil = `ropeBase`.
    public var localRopeBase: Float?
    /// How many leading dimensions of each head rotate (GGUF `rope.dimension_count`); nil = all.
    public var rotaryDimensions: Int?
    /// Positions a local layer's token attends: itself and the `slidingWindow − 1` before it
    /// (which layers are local: `architecture.slidingWindowPattern`). nil = every layer global.
    public var slidingWindow: Int?
    /// Attention scores s become cap · tanh(s / cap) before the softmax (Gemma 2).
    public var attentionSoftCap: Float?
    /// Logits z become cap · tanh(z / cap) (Gemma 2).
    public var finalLogitSoftCap: Float?
    /// Queries are scaled by this before attention: 1/√headSize unless the family says otherwise
    /// (Gemma 2 and 3 at 27B: 1/√(dim / heads)).
    public var attentionScale: Float

    public init(
        architecture: Architecture, embeddingSize: Int, hiddenSize: Int, layerCount: Int,
        headCount: Int, keyValueHeadCount: Int, vocabularySize: Int, contextLength: Int,
        normEpsilon: Float = 1e-5, headSize: Int? = nil, ropeBase: Float = 10000, rotaryDimensions: Int? = nil
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
        let width = headSize ?? (headCount > 0 ? embeddingSize / headCount : 0)
        self.headSize = width
        self.ropeBase = ropeBase
        self.rotaryDimensions = rotaryDimensions
        attentionScale = width > 0 ? 1 / Float(width).squareRoot() : 1
    }

    /// Width of all heads' queries (and of the attention output): heads × head size.
    public var queryDimension: Int { headCount * headSize }
    /// Width of one position's keys (or values) across all KV heads.
    public var keyValueSize: Int { headSize * keyValueHeadCount }
    /// Which dimensions RoPE rotates together.
    public var rotaryPairing: RoPE.Pairing { architecture.rotaryPairing }

    /// Whether layer `l` attends within `slidingWindow` rather than over the whole sequence.
    public func isLocal(layer l: Int) -> Bool {
        guard slidingWindow != nil else { return false }
        let n = architecture.slidingWindowPattern
        return n <= 1 || l % n < n - 1
    }

    /// The RoPE base of layer `l`.
    public func ropeBase(layer l: Int) -> Float { isLocal(layer: l) ? localRopeBase ?? ropeBase : ropeBase }

    public var description: String {
        "\(architecture.name): \(layerCount) layers, embedding \(embeddingSize), hidden \(hiddenSize), "
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
        // Heads are embedding / heads wide unless the file gives their width; a head count that
        // does not divide the embedding then describes no model.
        try require(headCount > 0 && (embeddingSize % headCount == 0 || headSize != embeddingSize / headCount),
            "n_heads", headCount, "must be positive and divide dim \(embeddingSize)")
        try require(headSize > 0 && headSize <= 4096, "head size", headSize, "must be in 1...4096")
        try require(!architecture.isRotary || headSize % 2 == 0, "head size", headSize, "must be even for rotary positions")
        if let slidingWindow {
            try require(slidingWindow > 0, "sliding_window", slidingWindow, "must be positive")
        }
        try require(keyValueHeadCount > 0 && headCount % keyValueHeadCount == 0, "n_kv_heads", keyValueHeadCount, "must be positive and divide n_heads \(headCount)")
        try require(vocabularySize > 0 && vocabularySize <= limit, "vocab_size", vocabularySize, "must be in 1...\(limit)")
        try require(contextLength > 0 && contextLength <= limit, "seq_len", contextLength, "must be in 1...\(limit)")
        if let rotaryDimensions {
            try require(rotaryDimensions > 0 && rotaryDimensions <= headSize && rotaryDimensions % 2 == 0,
                "rope.dimension_count", rotaryDimensions, "must be even and in 1...\(headSize) (the head size)")
        }
    }
}
