// GGUF models: the container (GGUFFile) read as a transformer. The architecture row
// (GGUFArchitecture) says which tensors and options to expect; every tensor's shape and type is
// checked against the configuration before a pointer to it is formed, so a file that parses but
// does not describe a coherent model is an error naming the tensor, never a wrong read.
//
// Weights are used in place from the memory mapping, in their stored encoding (`WeightFormat`):
// nothing is converted at load time (quantized matrices may be regrouped for the VNNI kernels).
import SmallMindKernels

/// Loader for GGUF models.
public enum GGUFModel {
    /// The tensor types this runtime computes with, by GGML type (every `WeightFormat`).
    static let formats: [GGMLType: WeightFormat] = Dictionary(
        uniqueKeysWithValues: WeightFormat.allCases.map { ($0.ggmlType, $0) })

    /// Supported tensor types, for error messages.
    static var supportedTypes: String { WeightFormat.allCases.map(\.displayName).joined(separator: ", ") }

    /// Loads the GGUF model at `path`, memory-mapped. `roundingActivationsLikeLlamaCpp` turns on
    /// the parity mode of `WeightMatrix.activationRounding` for every encoded matrix (it changes
    /// the F16 and BF16 ones: quantized matrices always quantize their activations as llama.cpp does).
    public static func load(path: String, roundingActivationsLikeLlamaCpp: Bool = false) throws(LoadingError) -> ModelWeights {
        try weights(from: GGUFFile(path: path), roundingActivationsLikeLlamaCpp: roundingActivationsLikeLlamaCpp)
    }

    /// The architecture row `file` declares.
    public static func architecture(of file: GGUFFile) throws(LoadingError) -> GGUFArchitecture {
        guard let name = file.metadata["general.architecture"]?.stringValue else {
            throw .invalidField(file: file.path, field: "general.architecture", value: "absent", reason: "a GGUF model must name its architecture")
        }
        guard let architecture = GGUFArchitecture.named(name) else {
            throw .unsupported(
                file: file.path,
                what: "architecture '\(name)' (supported: \(GGUFArchitecture.supported.map(\.name).joined(separator: ", ")))")
        }
        return architecture
    }

    /// The model's shape from the architecture's metadata keys; the vocabulary size is the number
    /// of rows of `token_embd.weight`.
    public static func configuration(of file: GGUFFile) throws(LoadingError) -> ModelConfiguration {
        let a = try architecture(of: file)
        func value(_ key: String) -> (key: String, value: GGUFValue?) {
            let full = "\(a.name).\(key)"
            return (full, file.metadata[full])
        }
        func int(_ key: String, default fallback: Int? = nil) throws(LoadingError) -> Int {
            let (full, found) = value(key)
            guard let found else {
                if let fallback { return fallback }
                throw .invalidField(file: file.path, field: full, value: "absent", reason: "required by the \(a.name) architecture")
            }
            guard let v = found.intValue, v > 0, v <= 1 << 30 else {
                throw .invalidField(file: file.path, field: full, value: "\(found)", reason: "must be a positive integer")
            }
            return v
        }
        func float(_ key: String, default fallback: Float) throws(LoadingError) -> Float {
            let (full, found) = value(key)
            guard let found else { return fallback }
            guard let v = found.floatValue, v.isFinite, v > 0 else {
                throw .invalidField(file: file.path, field: full, value: "\(found)", reason: "must be a positive number")
            }
            return Float(v)
        }

        guard let embedding = file.tensor(named: "token_embd.weight") else {
            throw .invalidField(file: file.path, field: "tensor token_embd.weight", value: "absent", reason: "every model needs its token embeddings")
        }
        guard embedding.dimensions.count == 2 else {
            throw .invalidField(
                file: file.path, field: "tensor token_embd.weight shape", value: "\(embedding.dimensions)",
                reason: "expected 2 dimensions [embedding, vocabulary] (at offset \(embedding.fileOffset))")
        }
        let heads = try int("attention.head_count")
        let embeddingSize = try int("embedding_length")
        // Head width: attention.key_length where the file gives it (Qwen 3, Gemma), else dim / heads.
        let headSize = try int("attention.key_length", default: heads > 0 ? max(1, embeddingSize / heads) : 1)
        if let valueWidth = value("attention.value_length").value, valueWidth.intValue != headSize {
            throw .unsupported(
                file: file.path,
                what: "\(a.name).attention.value_length = \(valueWidth) (this runtime needs values as wide as keys, \(headSize))")
        }
        var configuration = ModelConfiguration(
            architecture: a.traits, embeddingSize: embeddingSize, hiddenSize: try int("feed_forward_length"),
            layerCount: try int("block_count"), headCount: heads, keyValueHeadCount: try int("attention.head_count_kv", default: heads),
            vocabularySize: embedding.dimensions[1], contextLength: try int("context_length"),
            normEpsilon: try float(a.normEpsilonKey, default: 1e-5), headSize: headSize)
        if a.traits.isRotary {
            configuration.ropeBase = try float("rope.freq_base", default: 10000)
            let rotary = try int("rope.dimension_count", default: configuration.headSize)
            configuration.rotaryDimensions = rotary == configuration.headSize ? nil : rotary
            if let scaling = value("rope.scaling.type").value?.stringValue, scaling != "none" {
                throw .unsupported(file: file.path, what: "RoPE scaling '\(scaling)' (\(a.name).rope.scaling.type; supported: none)")
            }
        }
        if case .read(let fallback) = a.slidingWindow {
            let (full, found) = value("attention.sliding_window")
            if let found {
                guard let window = found.intValue, window >= 0 else {
                    throw .invalidField(file: file.path, field: full, value: "\(found)", reason: "must be a non-negative integer")
                }
                configuration.slidingWindow = window > 0 ? window : nil
            } else {
                configuration.slidingWindow = fallback
            }
            if let pattern = value("attention.sliding_window_pattern").value {
                guard let n = pattern.intValue, n == a.traits.slidingWindowPattern else {
                    throw .unsupported(
                        file: file.path,
                        what: "\(a.name).attention.sliding_window_pattern = \(pattern) (this runtime runs \(a.name) with every "
                            + "\(a.traits.slidingWindowPattern)th layer global)")
                }
            }
            if configuration.slidingWindow != nil {
                configuration.localRopeBase = try float("rope.freq_base_swa", default: a.localRopeBase ?? configuration.ropeBase)
            }
        }
        // Soft-capping: the file's value, else the architecture's default (none for most).
        func cap(_ key: String, _ fallback: Float?) throws(LoadingError) -> Float? {
            guard value(key).value != nil else { return fallback }
            return try float(key, default: 1)
        }
        configuration.attentionSoftCap = try cap("attn_logit_softcapping", a.attentionSoftCap)
        configuration.finalLogitSoftCap = try cap("final_logit_softcapping", a.finalLogitSoftCap)
        if a.wideAttentionScaleLayerCounts.contains(configuration.layerCount) {
            configuration.attentionScale = 1 / Float(configuration.embeddingSize / heads).squareRoot()
        }
        try configuration.validate(source: file.path)
        return configuration
    }

    /// Builds `ModelWeights` over the tensors of `file`.
    public static func weights(from file: GGUFFile, roundingActivationsLikeLlamaCpp: Bool = false) throws(LoadingError) -> ModelWeights {
        let a = try architecture(of: file)
        let c = try configuration(of: file)
        var t = try TensorTable(file)
        t.roundsActivations = roundingActivationsLikeLlamaCpp
        let d = c.embeddingSize, qd = c.queryDimension, kvd = c.keyValueSize, h = c.hiddenSize, V = c.vocabularySize
        let normBiases = a.biases.contains(.norms)

        // Matrices that multiply activations: quantized rows regrouped for the AVX-512 VNNI kernels
        // where the processor has them (not in the llama.cpp parity mode, which keeps ggml's
        // order); the file's pages of a regrouped matrix are handed back (`release`), since only
        // embedding lookups read the file's rows afterwards.
        let interleaves = !roundingActivationsLikeLlamaCpp
        func product(_ matrix: WeightMatrix) -> WeightMatrix {
            guard interleaves else { return matrix }
            let regrouped = matrix.interleavingRows()
            if regrouped.interleaved != nil { file.mapping.release(UnsafeRawBufferPointer(start: matrix.data, count: matrix.byteCount)) }
            return regrouped
        }
        let tokenEmbedding = try t.matrix("token_embd.weight", rows: V, columns: d)
        let positionEmbedding = try t.matrix("position_embd.weight", rows: c.contextLength, columns: d, if: !a.traits.isRotary)
        let rotary = c.rotaryDimensions ?? c.headSize
        let ropeFrequencyFactors = a.traits.isRotary ? try t.optionalVector("rope_freqs.weight", count: rotary / 2) : nil
        let gated = a.traits.feedForward.isGated, headNorms = a.traits.queryKeyNorms, postNorms = a.traits.postNorms
        var layers: [LayerWeights] = []
        for l in 0..<c.layerCount {
            let p = "blk.\(l)."
            let query: WeightMatrix, key: WeightMatrix, value: WeightMatrix
            var queryBias: WeightVector?, keyBias: WeightVector?, valueBias: WeightVector?
            if a.fusedQueryKeyValue {
                let qkv = product(try t.matrix(p + "attn_qkv.weight", rows: qd + 2 * kvd, columns: d))
                (query, key, value) = (qkv.rows(0..<qd), qkv.rows(qd..<qd + kvd), qkv.rows(qd + kvd..<qd + 2 * kvd))
                if a.biases.contains(.queryKeyValue) {
                    let bias = try t.vector(p + "attn_qkv.bias", count: qd + 2 * kvd)
                    (queryBias, keyBias, valueBias) = (bias.slice(0..<qd), bias.slice(qd..<qd + kvd), bias.slice(qd + kvd..<qd + 2 * kvd))
                }
            } else {
                query = product(try t.matrix(p + "attn_q.weight", rows: qd, columns: d))
                key = product(try t.matrix(p + "attn_k.weight", rows: kvd, columns: d))
                value = product(try t.matrix(p + "attn_v.weight", rows: kvd, columns: d))
                if a.biases.contains(.queryKeyValue) {
                    queryBias = try t.vector(p + "attn_q.bias", count: qd)
                    keyBias = try t.vector(p + "attn_k.bias", count: kvd)
                    valueBias = try t.vector(p + "attn_v.bias", count: kvd)
                }
            }
            // Gated: in = gate, up = up (fused: one matrix, the gate's rows first). Plain MLP: in = up.
            let feedForwardIn: WeightMatrix, feedForwardUp: WeightMatrix?
            if a.fusedGateUp {
                let gateUp = product(try t.matrix(p + "ffn_up.weight", rows: 2 * h, columns: d))
                (feedForwardIn, feedForwardUp) = (gateUp.rows(0..<h), gateUp.rows(h..<2 * h))
            } else {
                feedForwardIn = product(try t.matrix(p + (gated ? "ffn_gate.weight" : "ffn_up.weight"), rows: h, columns: d))
                feedForwardUp = try t.matrix(p + "ffn_up.weight", rows: h, columns: d, if: gated).map(product)
            }
            let feedForwardBiases = a.biases.contains(.feedForward)
            layers.append(LayerWeights(
                attentionNorm: try t.vector(p + "attn_norm.weight", count: d),
                attentionNormBias: try t.vector(p + "attn_norm.bias", count: d, if: normBiases),
                query: query, key: key, value: value, queryBias: queryBias, keyBias: keyBias, valueBias: valueBias,
                queryNorm: try t.vector(p + "attn_q_norm.weight", count: c.headSize, if: headNorms),
                keyNorm: try t.vector(p + "attn_k_norm.weight", count: c.headSize, if: headNorms),
                output: product(try t.matrix(p + "attn_output.weight", rows: d, columns: qd)),
                outputBias: try t.vector(p + "attn_output.bias", count: d, if: a.biases.contains(.attentionOutput)),
                postAttentionNorm: try t.vector(p + "post_attention_norm.weight", count: d, if: postNorms),
                feedForwardNorm: try t.vector(p + "ffn_norm.weight", count: d),
                feedForwardNormBias: try t.vector(p + "ffn_norm.bias", count: d, if: normBiases),
                feedForwardIn: feedForwardIn,
                feedForwardInBias: try t.vector(p + "ffn_up.bias", count: h, if: feedForwardBiases),
                feedForwardUp: feedForwardUp,
                feedForwardOut: product(try t.matrix(p + "ffn_down.weight", rows: d, columns: h)),
                feedForwardOutBias: try t.vector(p + "ffn_down.bias", count: d, if: feedForwardBiases),
                postFeedForwardNorm: try t.vector(p + "post_ffw_norm.weight", count: d, if: postNorms)))
        }
        let finalNorm = try t.vector("output_norm.weight", count: d)
        let finalNormBias = try t.vector("output_norm.bias", count: d, if: normBiases)
        // No output.weight: the classifier is the token embedding (tied), as llama.cpp does.
        let classifier = product(try t.optionalMatrix("output.weight", rows: V, columns: d) ?? tokenEmbedding)
        try t.requireAllUsed(architecture: a.name)
        return ModelWeights(
            configuration: c, tokenEmbedding: tokenEmbedding, positionEmbedding: positionEmbedding, layers: layers,
            finalNorm: finalNorm, finalNormBias: finalNormBias, classifier: classifier,
            ropeFrequencyFactors: ropeFrequencyFactors, storage: [file.mapping])
    }
}

/// The file's tensors by name, handed out after their shape and type are checked; remembers which
/// were taken so that a tensor the architecture does not explain is an error, not silently ignored.
struct TensorTable {
    let file: GGUFFile
    private var byName: [String: GGUFTensorInfo] = [:]
    private var used: Set<String> = []
    /// Hand out matrices in llama.cpp's activation-rounding parity mode.
    var roundsActivations = false

    init(_ file: GGUFFile) throws(LoadingError) {
        self.file = file
        for tensor in file.tensors {
            guard byName.updateValue(tensor, forKey: tensor.name) == nil else {
                throw .invalidField(file: file.path, field: "tensor \(tensor.name)", value: "duplicate", reason: "a tensor name appears twice")
            }
        }
    }

    private mutating func take(_ name: String, optional: Bool = false) throws(LoadingError) -> GGUFTensorInfo? {
        guard let info = byName[name] else {
            if optional { return nil }
            throw .invalidField(file: file.path, field: "tensor \(name)", value: "absent", reason: "required by the model's architecture")
        }
        used.insert(name)
        return info
    }

    /// A (rows, columns) matrix: GGUF dimensions [columns, rows] in any supported type; nil when
    /// the file has no tensor `name`.
    mutating func optionalMatrix(_ name: String, rows: Int, columns: Int) throws(LoadingError) -> WeightMatrix? {
        guard let info = try take(name, optional: true) else { return nil }
        guard info.dimensions == [columns, rows] else {
            throw .invalidField(
                file: file.path, field: "tensor \(name) shape", value: "\(info.dimensions)",
                reason: "expected [\(columns), \(rows)] (columns, rows; innermost first) at offset \(info.fileOffset)")
        }
        guard let format = GGUFModel.formats[info.type] else {
            throw .unsupported(file: file.path, what: "tensor type \(info.type.name) of \(name) (supported: \(GGUFModel.supportedTypes))")
        }
        guard format != .f32 || info.fileOffset % 4 == 0 else {
            throw .invalidField(file: file.path, field: "tensor \(name) offset", value: String(info.fileOffset), reason: "F32 data must be 4-byte aligned")
        }
        let matrix = WeightMatrix(data: file.data(of: info), rows: rows, columns: columns, format: format)
        return roundsActivations ? matrix.roundingActivationsLikeLlamaCpp() : matrix
    }

    /// A required matrix.
    mutating func matrix(_ name: String, rows: Int, columns: Int) throws(LoadingError) -> WeightMatrix {
        _ = try take(name)
        return try optionalMatrix(name, rows: rows, columns: columns)!
    }

    /// A matrix the architecture has when `present` (and must then be in the file).
    mutating func matrix(_ name: String, rows: Int, columns: Int, if present: Bool) throws(LoadingError) -> WeightMatrix? {
        present ? try matrix(name, rows: rows, columns: columns) : nil
    }

    /// A vector the architecture has when `present`.
    mutating func vector(_ name: String, count: Int, if present: Bool) throws(LoadingError) -> WeightVector? {
        present ? try vector(name, count: count) : nil
    }

    /// A float32 vector the file may hold (nil when it has no tensor `name`).
    mutating func optionalVector(_ name: String, count: Int) throws(LoadingError) -> WeightVector? {
        guard byName[name] != nil else { return nil }
        return try vector(name, count: count)
    }

    /// A float32 vector (norm weights, biases; llama.cpp always stores these as F32).
    mutating func vector(_ name: String, count: Int) throws(LoadingError) -> WeightVector {
        let info = try take(name)!
        guard info.dimensions == [count] else {
            throw .invalidField(
                file: file.path, field: "tensor \(name) shape", value: "\(info.dimensions)", reason: "expected [\(count)] at offset \(info.fileOffset)")
        }
        guard info.type == .f32, info.fileOffset % 4 == 0 else {
            throw .unsupported(file: file.path, what: "tensor type \(info.type.name) of \(name) at offset \(info.fileOffset) (vectors must be 4-byte-aligned F32)")
        }
        return WeightVector(file.data(of: info).assumingMemoryBound(to: Float.self), count: count)
    }

    func requireAllUsed(architecture: String) throws(LoadingError) {
        if let extra = file.tensors.first(where: { !used.contains($0.name) }) {
            throw .unsupported(
                file: file.path,
                what: "tensor \(extra.name) (the \(architecture) architecture as this runtime runs it has no such tensor; ignoring it could give wrong results)")
        }
    }
}
