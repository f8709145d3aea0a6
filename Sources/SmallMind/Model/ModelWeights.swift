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

/// One transformer block's parameters. Optional members are what one architecture has and the
/// other lacks (biases and LayerNorm shifts for GPT-2, the SwiGLU up-projection for llama).
public struct LayerWeights: Sendable {
    public var attentionNorm: WeightVector
    public var attentionNormBias: WeightVector?
    public var query: WeightMatrix          // (dim, dim)
    public var key: WeightMatrix            // (kvDim, dim)
    public var value: WeightMatrix          // (kvDim, dim)
    public var queryBias: WeightVector?
    public var keyBias: WeightVector?
    public var valueBias: WeightVector?
    public var output: WeightMatrix         // (dim, dim)
    public var outputBias: WeightVector?
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
    let storage: [any WeightStorage]

    public init(
        configuration: ModelConfiguration, tokenEmbedding: WeightMatrix, positionEmbedding: WeightMatrix?,
        layers: [LayerWeights], finalNorm: WeightVector, finalNormBias: WeightVector?,
        classifier: WeightMatrix, storage: [any WeightStorage]
    ) {
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
        if let p = positionEmbedding { total += p.rows * p.columns }
        if !classifier.sharesStorage(with: tokenEmbedding) { total += classifier.rows * classifier.columns }
        for l in layers {
            let matrices = [l.query, l.key, l.value, l.output, l.feedForwardIn, l.feedForwardOut] + (l.feedForwardUp.map { [$0] } ?? [])
            total += matrices.reduce(0) { $0 + $1.rows * $1.columns }
            let vectors = [l.attentionNorm, l.feedForwardNorm] + [l.attentionNormBias, l.queryBias, l.keyBias, l.valueBias,
                l.outputBias, l.feedForwardNormBias, l.feedForwardInBias, l.feedForwardOutBias].compactMap { $0 }
            total += vectors.reduce(0) { $0 + $1.count }
        }
        return total
    }
}
