// The immutable parameters of a model. Nothing here changes after loading, so one instance is
// shared by reference across every thread and every generation — no lock anywhere.

/// A read-only float vector (norm weights, biases) in memory owned by `ModelWeights`.
public struct WeightVector: @unchecked Sendable {
    // @unchecked: as for `WeightMatrix`, immutable after loading and kept alive by the storage.
    public let pointer: UnsafePointer<Float>
    public let count: Int

    public init(_ pointer: UnsafePointer<Float>, count: Int) {
        self.pointer = pointer
        self.count = count
    }

    public func slice(_ range: Range<Int>) -> WeightVector {
        WeightVector(pointer + range.lowerBound, count: range.count)
    }
}

/// One transformer block's parameters. Optional members are what some architectures have and
/// others lack (biases and LayerNorm shifts for GPT-2, the gated up-projection, q/k norms, post-norms).
/// qd = heads × head size (the query width, dim for most families), kvd = KV heads × head size.
public struct LayerWeights: Sendable {
    public var attentionNorm: WeightVector
    public var attentionNormBias: WeightVector?
    public var query: WeightMatrix          // (qd, dim)
    public var key: WeightMatrix            // (kvd, dim)
    public var value: WeightMatrix          // (kvd, dim)
    public var queryBias: WeightVector?
    public var keyBias: WeightVector?
    public var valueBias: WeightVector?
    /// Per-head RMSNorm weights of q and k (Qwen 3, Gemma 3).  (head size)
    public var queryNorm: WeightVector?
    public var keyNorm: WeightVector?
    public var output: WeightMatrix         // (dim, qd)
    public var outputBias: WeightVector?
    /// Norm of the attention block's output before the residual add (Gemma).  (dim)
    public var postAttentionNorm: WeightVector?
    public var feedForwardNorm: WeightVector
    public var feedForwardNormBias: WeightVector?
    /// llama: the gate (w1); gpt2: the up-projection (c_fc).  (hidden, dim)
    public var feedForwardIn: WeightMatrix
    public var feedForwardInBias: WeightVector?
    /// llama only: the up-projection (w3) multiplied by the gate.  (hidden, dim)
    public var feedForwardUp: WeightMatrix?
    /// The down-projection (w2 / c_proj).  (dim, hidden)
    public var feedForwardOut: WeightMatrix
    public var feedForwardOutBias: WeightVector?
    /// Norm of the feed-forward block's output before the residual add (Gemma).  (dim)
    public var postFeedForwardNorm: WeightVector?

    public init(
        attentionNorm: WeightVector, attentionNormBias: WeightVector? = nil,
        query: WeightMatrix, key: WeightMatrix, value: WeightMatrix,
        queryBias: WeightVector? = nil, keyBias: WeightVector? = nil, valueBias: WeightVector? = nil,
        queryNorm: WeightVector? = nil, keyNorm: WeightVector? = nil,
        output: WeightMatrix, outputBias: WeightVector? = nil, postAttentionNorm: WeightVector? = nil,
        feedForwardNorm: WeightVector, feedForwardNormBias: WeightVector? = nil,
        feedForwardIn: WeightMatrix, feedForwardInBias: WeightVector? = nil, feedForwardUp: WeightMatrix? = nil,
        feedForwardOut: WeightMatrix, feedForwardOutBias: WeightVector? = nil, postFeedForwardNorm: WeightVector? = nil
    ) {
        self.attentionNorm = attentionNorm
        self.attentionNormBias = attentionNormBias
        self.query = query
        self.key = key
        self.value = value
        self.queryBias = queryBias
        self.keyBias = keyBias
        self.valueBias = valueBias
        self.queryNorm = queryNorm
        self.keyNorm = keyNorm
        self.output = output
        self.outputBias = outputBias
        self.postAttentionNorm = postAttentionNorm
        self.feedForwardNorm = feedForwardNorm
        self.feedForwardNormBias = feedForwardNormBias
        self.feedForwardIn = feedForwardIn
        self.feedForwardInBias = feedForwardInBias
        self.feedForwardUp = feedForwardUp
        self.feedForwardOut = feedForwardOut
        self.feedForwardOutBias = feedForwardOutBias
        self.postFeedForwardNorm = postFeedForwardNorm
    }

    /// Every norm weight and bias of the block.
    var vectors: [WeightVector] {
        [attentionNorm, feedForwardNorm] + [attentionNormBias, queryBias, keyBias, valueBias, queryNorm, keyNorm, outputBias,
            postAttentionNorm, feedForwardNormBias, feedForwardInBias, feedForwardOutBias, postFeedForwardNorm].compactMap { $0 }
    }
}

/// Memory that backs a model's tensors: a memory-mapped file or a buffer filled at load time.
public protocol WeightStorage: AnyObject, Sendable {}

/// All parameters of a model plus the configuration that gives them their shapes.
public final class ModelWeights: Sendable {
    public let configuration: ModelConfiguration
    public let tokenEmbedding: WeightMatrix          // (vocab, dim)
    public let positionEmbedding: WeightMatrix?      // (context, dim), gpt2 only
    public let layers: [LayerWeights]
    public let finalNorm: WeightVector
    public let finalNormBias: WeightVector?
    public let classifier: WeightMatrix              // (vocab, dim); may alias tokenEmbedding
    /// RoPE frequency factors: pair j's frequency is divided by factor j (Llama 3.1/3.2's
    /// `rope_freqs.weight`).  (rotary dimensions / 2)
    public let ropeFrequencyFactors: WeightVector?
    let storage: [any WeightStorage]

    public init(
        configuration: ModelConfiguration, tokenEmbedding: WeightMatrix, positionEmbedding: WeightMatrix?,
        layers: [LayerWeights], finalNorm: WeightVector, finalNormBias: WeightVector?,
        classifier: WeightMatrix, ropeFrequencyFactors: WeightVector? = nil, storage: [any WeightStorage]
    ) {
        self.ropeFrequencyFactors = ropeFrequencyFactors
        self.configuration = configuration
        self.tokenEmbedding = tokenEmbedding
        self.positionEmbedding = positionEmbedding
        self.layers = layers
        self.finalNorm = finalNorm
        self.finalNormBias = finalNormBias
        self.classifier = classifier
        self.storage = storage
    }

    /// Number of parameters, counting a tied classifier once.
    public var parameterCount: Int {
        var total = tokenEmbedding.rows * tokenEmbedding.columns + finalNorm.count + (finalNormBias?.count ?? 0)
            + (ropeFrequencyFactors?.count ?? 0)
        if let p = positionEmbedding { total += p.rows * p.columns }
        if !classifier.sharesStorage(with: tokenEmbedding) { total += classifier.rows * classifier.columns }
        for l in layers {
            let matrices = [l.query, l.key, l.value, l.output, l.feedForwardIn, l.feedForwardOut] + (l.feedForwardUp.map { [$0] } ?? [])
            total += matrices.reduce(0) { $0 + $1.rows * $1.columns }
            total += l.vectors.reduce(0) { $0 + $1.count }
        }
        return total
    }
}
