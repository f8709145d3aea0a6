// llama2.c "v0" checkpoints, as written by llama2.c's export.py (legacy format):
//
//   offset 0   7 × int32   dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len
//                          (a negative vocab_size means the classifier is stored separately)
//   offset 28  float32 tensors, back to back, in this order:
//              token_embedding (vocab, dim)      rms_att (layers, dim)
//              wq (layers, dim, dim)             wk (layers, kvDim, dim)     wv (layers, kvDim, dim)
//              wo (layers, dim, dim)             rms_ffn (layers, dim)
//              w1 (layers, hidden, dim)          w2 (layers, dim, hidden)    w3 (layers, hidden, dim)
//              rms_final (dim)                   freq_cis_real, freq_cis_imag (seq_len, headSize/2 each; unused)
//              wcls (vocab, dim)                 only when vocab_size was negative
//
// The header is validated and the file size must equal the size it implies before any tensor
// pointer is formed, so a truncated or corrupt file is an error, never a read past the end.

/// Loader for llama2.c checkpoints.
public enum Llama2cCheckpoint {
    static let headerSize = 28

    /// Loads the checkpoint at `path`, memory-mapped.
    public static func load(path: String) throws(LoadingError) -> ModelWeights {
        let file = try MappedFile(path: path)
        var reader = ByteReader(file.bytes, file: path)
        var header: [Int] = []
        for field in ["dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "seq_len"] {
            header.append(Int(try reader.int32(field)))
        }
        let sharedClassifier = header[5] > 0
        let configuration = ModelConfiguration(
            architecture: .llama, embeddingSize: header[0], hiddenSize: header[1], layerCount: header[2],
            headCount: header[3], keyValueHeadCount: header[4], vocabularySize: abs(header[5]), contextLength: header[6])
        try configuration.validate(source: path)

        // The configuration's limits keep every product below 2⁵³, so plain Int arithmetic is safe.
        let c = configuration
        let d = c.embeddingSize, kvd = c.keyValueSize, h = c.hiddenSize, L = c.layerCount, V = c.vocabularySize
        let tensorFloats = V * d + L * d + L * d * d + 2 * L * kvd * d + L * d * d + L * d + 3 * L * h * d + d
            + c.contextLength * c.headSize + (sharedClassifier ? 0 : V * d)
        let expected = headerSize + tensorFloats * 4
        guard file.count == expected else {
            throw .sizeMismatch(
                file: path, expected: expected, actual: file.count,
                hint: file.count < expected ? "the file is truncated or the header is corrupt" : "trailing data or a corrupt header")
        }

        var cursor = UnsafeRawPointer(file.bytes.baseAddress!).advanced(by: headerSize).assumingMemoryBound(to: Float.self)
        func take(_ count: Int) -> UnsafePointer<Float> {
            defer { cursor += count }
            return cursor
        }
        let tokenEmbedding = WeightMatrix(take(V * d), rows: V, columns: d)
        let rmsAttention = take(L * d)
        let wq = take(L * d * d), wk = take(L * kvd * d), wv = take(L * kvd * d), wo = take(L * d * d)
        let rmsFeedForward = take(L * d)
        let w1 = take(L * h * d), w2 = take(L * d * h), w3 = take(L * h * d)
        let finalNorm = WeightVector(take(d), count: d)
        _ = take(c.contextLength * c.headSize)  // precomputed RoPE tables; we compute RoPE ourselves
        let classifier = sharedClassifier ? tokenEmbedding : WeightMatrix(take(V * d), rows: V, columns: d)

        let layers = (0..<L).map { l in
            LayerWeights(
                attentionNorm: WeightVector(rmsAttention + l * d, count: d), attentionNormBias: nil,
                query: WeightMatrix(wq + l * d * d, rows: d, columns: d),
                key: WeightMatrix(wk + l * kvd * d, rows: kvd, columns: d),
                value: WeightMatrix(wv + l * kvd * d, rows: kvd, columns: d),
                queryBias: nil, keyBias: nil, valueBias: nil,
                output: WeightMatrix(wo + l * d * d, rows: d, columns: d), outputBias: nil,
                feedForwardNorm: WeightVector(rmsFeedForward + l * d, count: d), feedForwardNormBias: nil,
                feedForwardIn: WeightMatrix(w1 + l * h * d, rows: h, columns: d), feedForwardInBias: nil,
                feedForwardUp: WeightMatrix(w3 + l * h * d, rows: h, columns: d),
                feedForwardOut: WeightMatrix(w2 + l * d * h, rows: d, columns: h), feedForwardOutBias: nil)
        }
        return ModelWeights(
            configuration: configuration, tokenEmbedding: tokenEmbedding, positionEmbedding: nil, layers: layers,
            finalNorm: finalNorm, finalNormBias: nil, classifier: classifier, storage: [file])
    }
}
