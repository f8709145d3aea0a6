// What `smallmind info` shows about a model file: its format, shape, tensor encodings and the
// memory its weights take. Inspecting loads (and so fully validates) the weights, but computes
// nothing and needs no tokenizer.

/// A summary of a model file.
public struct ModelReport: Sendable {
    /// "GGUF v3", "llama2.c checkpoint".
    public var format: String
    /// The declared architecture (`general.architecture`; "llama" for llama2.c checkpoints).
    public var architecture: String
    public var configuration: ModelConfiguration
    /// Tensor encodings and how many tensors use each, most common first.
    public var tensorTypes: [(type: String, count: Int)]
    public var tensorCount: Int
    /// Rows of the token embedding (= the model's vocabulary size).
    public var vocabularySize: Int
    /// The embedded tokenizer's model (`tokenizer.ggml.model`), if any.
    public var tokenizerModel: String?
    public var parameterCount: Int
    /// Bytes of weight data, as stored (and as held in memory: weights stay encoded).
    public var weightBytes: Int
}

/// Reads model files for inspection.
public enum ModelInspection {
    /// Summarises the model at `path`, recognising the format by content.
    public static func inspect(path: String) throws(LoadingError) -> ModelReport {
        if GGUFFile.isGGUF(path: path) {
            let file = try GGUFFile(path: path)
            let architecture = try GGUFModel.architecture(of: file)
            let weights = try GGUFModel.weights(from: file)
            var counts: [String: Int] = [:]
            for tensor in file.tensors { counts[tensor.type.name, default: 0] += 1 }
            return ModelReport(
                format: "GGUF v\(file.version)", architecture: architecture.name, configuration: weights.configuration,
                tensorTypes: counts.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map { ($0.key, $0.value) },
                tensorCount: file.tensors.count, vocabularySize: weights.configuration.vocabularySize,
                tokenizerModel: file.metadata["tokenizer.ggml.model"]?.stringValue,
                parameterCount: file.tensors.reduce(0) { $0 + $1.elementCount },
                weightBytes: file.tensors.reduce(0) { $0 + $1.byteCount })
        }
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
            format: "llama2.c checkpoint", architecture: c.architecture.name, configuration: c,
            tensorTypes: [("F32", tensors)], tensorCount: tensors, vocabularySize: c.vocabularySize, tokenizerModel: nil,
            parameterCount: weights.parameterCount, weightBytes: weights.parameterCount * 4)
    }
}
