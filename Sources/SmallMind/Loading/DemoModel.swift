// The sample's built-in model: the C# sample's InitializeModel() — a GPT-2-style transformer with
// context 64, embedding 128, 2 layers, 4 heads and a 512-wide MLP, weights drawn from a generator
// seeded with 12345 — but with the vocabulary equal to the character tokenizer's 96 symbols
// (printable ASCII and newline; the C# sample declared 128 and spelled only 71 of them).
// Untrained on purpose: its text is noise, but it is fast and the same on every machine.
import Foundation

/// Memory allocated and filled at load time (the demo model's weights).
final class AllocatedStorage: WeightStorage, @unchecked Sendable {
    // @unchecked: filled once inside `DemoModel.weights` before any reader exists, then read-only.
    let pointer: UnsafeMutablePointer<Float>
    let count: Int

    init(count: Int) {
        self.count = count
        pointer = .allocate(capacity: count)
        pointer.initialize(repeating: 0, count: count)
    }

    deinit { pointer.deallocate() }
}

/// The seeded demo model.
public enum DemoModel {
    public static let seed: UInt64 = 12345

    public static var configuration: ModelConfiguration {
        ModelConfiguration(
            architecture: .gpt2, embeddingSize: 128, hiddenSize: 512, layerCount: 2, headCount: 4,
            keyValueHeadCount: 4, vocabularySize: CharacterTokenizer.sampleAlphabet.count, contextLength: 64)
    }

    /// Builds the weights: every matrix drawn from N(0, 0.02²) (GPT-2's initialisation), norms at
    /// weight 1 and bias 0, biases 0. The same seed gives the same model on every machine.
    public static func weights(seed: UInt64 = seed) -> ModelWeights {
        let c = configuration
        let d = c.embeddingSize, h = c.hiddenSize, V = c.vocabularySize, T = c.contextLength
        let perLayer = 2 * d + 3 * d * d + 3 * d + d * d + d + 2 * d + h * d + h + d * h + d
        let storage = AllocatedStorage(count: V * d + T * d + c.layerCount * perLayer + 2 * d)
        var random = SplitMix64(seed: seed)
        var cursor = storage.pointer
        func normal(_ count: Int) -> UnsafePointer<Float> {
            defer { cursor += count }
            for i in 0..<count { cursor[i] = random.nextGaussian() * 0.02 }
            return UnsafePointer(cursor)
        }
        func constant(_ count: Int, _ value: Float) -> WeightVector {
            defer { cursor += count }
            cursor.update(repeating: value, count: count)
            return WeightVector(cursor, count: count)
        }
        let tokenEmbedding = WeightMatrix(normal(V * d), rows: V, columns: d)
        let positionEmbedding = WeightMatrix(normal(T * d), rows: T, columns: d)
        let layers = (0..<c.layerCount).map { _ in
            let norm1 = constant(d, 1), norm1Bias = constant(d, 0)
            let qkv = WeightMatrix(normal(3 * d * d), rows: 3 * d, columns: d)   // fused c_attn
            let qkvBias = constant(3 * d, 0)
            let output = WeightMatrix(normal(d * d), rows: d, columns: d), outputBias = constant(d, 0)
            let norm2 = constant(d, 1), norm2Bias = constant(d, 0)
            let up = WeightMatrix(normal(h * d), rows: h, columns: d), upBias = constant(h, 0)
            let down = WeightMatrix(normal(d * h), rows: d, columns: h), downBias = constant(d, 0)
            return LayerWeights(
                attentionNorm: norm1, attentionNormBias: norm1Bias,
                query: qkv.rows(0..<d), key: qkv.rows(d..<2 * d), value: qkv.rows(2 * d..<3 * d),
                queryBias: qkvBias.slice(0..<d), keyBias: qkvBias.slice(d..<2 * d), valueBias: qkvBias.slice(2 * d..<3 * d),
                output: output, outputBias: outputBias,
                feedForwardNorm: norm2, feedForwardNormBias: norm2Bias,
                feedForwardIn: up, feedForwardInBias: upBias, feedForwardUp: nil,
                feedForwardOut: down, feedForwardOutBias: downBias)
        }
        let finalNorm = constant(d, 1), finalNormBias = constant(d, 0)
        precondition(cursor == storage.pointer + storage.count, "demo model layout and allocation disagree")
        return ModelWeights(
            configuration: c, tokenEmbedding: tokenEmbedding, positionEmbedding: positionEmbedding, layers: layers,
            finalNorm: finalNorm, finalNormBias: finalNormBias, classifier: tokenEmbedding, storage: [storage])
    }
}

/// SplitMix64: a tiny, well-mixed 64-bit generator, used only to draw the demo model's weights.
struct SplitMix64 {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform double in (0, 1].
    mutating func nextUnit() -> Double { (Double(next() >> 11) + 1) / Double(1 << 53) }

    /// A standard normal sample (Box–Muller; the second value of the pair is discarded for simplicity).
    mutating func nextGaussian() -> Float {
        let u1 = nextUnit(), u2 = nextUnit()
        return Float((-2 * Foundation.log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }
}
