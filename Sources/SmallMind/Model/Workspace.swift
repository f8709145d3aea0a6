/// Scratch buffers for one forward pass over up to `capacity` tokens, owned by one generation
/// context. Grows (reallocates) only when a larger batch arrives, so steady decoding reuses it.
public final class Workspace {
    let configuration: ModelConfiguration
    private(set) var capacity = 0
    private(set) var logitCapacity = 0
    var residual: UnsafeMutablePointer<Float>   // (tokens, dim)   the residual stream x
    var normed: UnsafeMutablePointer<Float>     // (tokens, dim)   normalised x
    var query: UnsafeMutablePointer<Float>      // (tokens, qd)    qd = heads × head size
    var attended: UnsafeMutablePointer<Float>   // (tokens, qd)    attention output
    var key: UnsafeMutablePointer<Float>        // (tokens, kvDim)
    var value: UnsafeMutablePointer<Float>      // (tokens, kvDim)
    var projected: UnsafeMutablePointer<Float>  // (tokens, dim)   output of a block, added to x
    var hidden: UnsafeMutablePointer<Float>     // (tokens, hidden)
    var hiddenUp: UnsafeMutablePointer<Float>   // (tokens, hidden)
    var scores: UnsafeMutablePointer<Float>     // (workers, context) attention weights, one row per thread
    private(set) var scoreRows = 1
    var logitRows: UnsafeMutablePointer<Float>  // (logit tokens, dim) final hidden rows that need logits
    var logits: UnsafeMutablePointer<Float>     // (logit tokens, vocab)
    /// Tests: run every operation of the forward pass layer by layer over the pool, whatever its
    /// size, so that small models take the paths large ones do (see `Parallelism`).
    var splitsEverything = false

    public init(configuration: ModelConfiguration, capacity: Int = 1) {
        self.configuration = configuration
        residual = .allocate(capacity: 0); normed = .allocate(capacity: 0); query = .allocate(capacity: 0)
        attended = .allocate(capacity: 0)
        key = .allocate(capacity: 0); value = .allocate(capacity: 0); projected = .allocate(capacity: 0)
        hidden = .allocate(capacity: 0); hiddenUp = .allocate(capacity: 0)
        scores = .allocate(capacity: configuration.contextLength)
        logitRows = .allocate(capacity: 0); logits = .allocate(capacity: 0)
        reserve(tokens: capacity, logitTokens: 1)
    }

    /// Workspaces for groups of sequences computed on separate threads (small models).
    private var shardStore: [Workspace] = []

    /// `count` independent workspaces, created on first use and kept.
    func shards(_ count: Int) -> [Workspace] {
        while shardStore.count < count { shardStore.append(Workspace(configuration: configuration, capacity: capacity)) }
        return Array(shardStore.prefix(count))
    }

    deinit {
        for buffer in [residual, normed, query, attended, key, value, projected, hidden, hiddenUp, scores, logitRows, logits] {
            buffer.deallocate()
        }
    }

    /// Makes room for a batch of `tokens` tokens of which `logitTokens` need logits.
    func reserve(tokens: Int, logitTokens: Int, workers: Int = 1) {
        let c = configuration
        if workers > scoreRows {
            scores.deallocate()
            scores = .allocate(capacity: workers * c.contextLength)
            scoreRows = workers
        }
        if tokens > capacity {
            for buffer in [residual, normed, query, attended, key, value, projected, hidden, hiddenUp] { buffer.deallocate() }
            residual = .allocate(capacity: tokens * c.embeddingSize)
            normed = .allocate(capacity: tokens * c.embeddingSize)
            query = .allocate(capacity: tokens * c.queryDimension)
            attended = .allocate(capacity: tokens * c.queryDimension)
            key = .allocate(capacity: tokens * c.keyValueSize)
            value = .allocate(capacity: tokens * c.keyValueSize)
            projected = .allocate(capacity: tokens * c.embeddingSize)
            hidden = .allocate(capacity: tokens * c.hiddenSize)
            hiddenUp = .allocate(capacity: tokens * c.hiddenSize)
            capacity = tokens
        }
        if logitTokens > logitCapacity {
            logitRows.deallocate()
            logits.deallocate()
            logitRows = .allocate(capacity: logitTokens * c.embeddingSize)
            logits = .allocate(capacity: logitTokens * c.vocabularySize)
            logitCapacity = logitTokens
        }
    }
}
