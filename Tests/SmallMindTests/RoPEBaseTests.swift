import Foundation
import SmallMindKernels
import Testing
@testable import SmallMind

/// A llama model's `rope.freq_base` reaches its rotations: a tiny float32 llama written in code
/// with base 100 matches an independent float64 forward pass with base 100 — and not with the
/// default 10 000, which the same weights without the key do match — and the two bases give the
/// same logits at position 0 (no rotation yet) and different ones after it.
struct RoPEBaseTests {
    static let d = 32, heads = 4, kvHeads = 2, hidden = 48, vocabulary = 8, context = 16
    static var headSize: Int { d / heads }
    static let tokens = [1, 4, 6, 7, 5, 3, 4, 6, 7, 5]

    /// The weights as row-major float arrays ((rows, columns): W[o][k] = w[o * columns + k]).
    struct Weights {
        var embedding: [Float] = [], attentionNorm: [Float] = [], query: [Float] = [], key: [Float] = []
        var value: [Float] = [], output: [Float] = [], feedForwardNorm: [Float] = [], gate: [Float] = []
        var up: [Float] = [], down: [Float] = [], outputNorm: [Float] = []
    }

    /// The file (with `rope.freq_base` = `base`, or without the key) and its weights.
    static func model(base: Float?) -> (TinyGGUF, Weights) {
        var random = TinyGGUF.Payload(seed: 41)
        func floats(_ count: Int, scale: Float) -> [Float] {
            (0..<count).map { _ in (Float(random.next() >> 40) / Float(1 << 24) * 2 - 1) * scale }
        }
        let kvd = kvHeads * headSize
        var w = Weights()
        w.embedding = floats(vocabulary * d, scale: 1)
        w.attentionNorm = floats(d, scale: 1).map { 1 + $0 * 0.2 }
        w.query = floats(d * d, scale: 0.35)
        w.key = floats(kvd * d, scale: 0.35)
        w.value = floats(kvd * d, scale: 0.35)
        w.output = floats(d * d, scale: 0.2)
        w.feedForwardNorm = floats(d, scale: 1).map { 1 + $0 * 0.2 }
        w.gate = floats(hidden * d, scale: 0.2)
        w.up = floats(hidden * d, scale: 0.2)
        w.down = floats(d * hidden, scale: 0.2)
        w.outputNorm = floats(d, scale: 1).map { 1 + $0 * 0.2 }

        var file = TinyGGUF()
        file.metadata = TinyGGUF.llama().metadata.filter { $0.0.hasPrefix("tokenizer.") || $0.0 == "general.architecture" }
        file.metadata += [
            ("llama.context_length", .u32(UInt32(context))), ("llama.embedding_length", .u32(UInt32(d))),
            ("llama.block_count", .u32(1)), ("llama.feed_forward_length", .u32(UInt32(hidden))),
            ("llama.attention.head_count", .u32(UInt32(heads))), ("llama.attention.head_count_kv", .u32(UInt32(kvHeads))),
            ("llama.rope.dimension_count", .u32(UInt32(headSize))), ("llama.attention.layer_norm_rms_epsilon", .f32(1e-5)),
        ]
        if let base { file.metadata.append(("llama.rope.freq_base", .f32(base))) }
        func tensor(_ name: String, _ values: [Float], columns: Int) -> TinyGGUF.Tensor {
            let rows = values.count / columns
            let bytes = values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian) { Array($0) } }
            return TinyGGUF.Tensor(name: name, dimensions: rows == 1 ? [columns] : [columns, rows], type: .f32, data: bytes)
        }
        file.tensors = [
            tensor("token_embd.weight", w.embedding, columns: d),
            tensor("blk.0.attn_norm.weight", w.attentionNorm, columns: d),
            tensor("blk.0.attn_q.weight", w.query, columns: d),
            tensor("blk.0.attn_k.weight", w.key, columns: d),
            tensor("blk.0.attn_v.weight", w.value, columns: d),
            tensor("blk.0.attn_output.weight", w.output, columns: d),
            tensor("blk.0.ffn_norm.weight", w.feedForwardNorm, columns: d),
            tensor("blk.0.ffn_gate.weight", w.gate, columns: d),
            tensor("blk.0.ffn_up.weight", w.up, columns: d),
            tensor("blk.0.ffn_down.weight", w.down, columns: hidden),
            tensor("output_norm.weight", w.outputNorm, columns: d),
        ]
        return (file, w)
    }

    /// The runtime's logits for every position of `tokens`, one sequence, one pass.
    static func runtimeLogits(_ file: TinyGGUF) throws -> (logits: [[Float]], ropeBase: Float) {
        let path = try file.write()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let weights = try GGUFModel.load(path: path)
        let c = weights.configuration
        let cache = KVCache(configuration: c)
        let workspace = Workspace(configuration: c)
        let batch = tokens.enumerated().map { BatchToken(token: $0.element, position: $0.offset) }
        let logits = withExtendedLifetime(workspace) { Array(weights.forward(batch, cache: cache, workspace: workspace)) }
        return ((0..<tokens.count).map { Array(logits[$0 * vocabulary..<($0 + 1) * vocabulary]) }, c.ropeBase)
    }

    /// llama's forward pass in float64, from its definition (llama.cpp's LLM_ARCH_LLAMA graph):
    /// RMSNorm pre-norms, RoPE on adjacent pairs (ggml's NORM mode: θ = pos · base^(−2i/n) for
    /// the pair (2i, 2i + 1)), causal attention with grouped KV heads, SwiGLU, the classifier
    /// tied to the token embedding. Nothing of the runtime's arithmetic.
    static func referenceLogits(_ w: Weights, base: Double) -> [[Float]] {
        let hs = headSize, group = heads / kvHeads, kvd = kvHeads * hs
        func matvec(_ m: [Float], _ x: [Double], rows: Int) -> [Double] {
            (0..<rows).map { o in (0..<x.count).reduce(0.0) { $0 + Double(m[o * x.count + $1]) * x[$1] } }
        }
        func rmsNorm(_ x: [Double], _ weight: [Float]) -> [Double] {
            let scale = 1 / (x.reduce(0) { $0 + $1 * $1 } / Double(x.count) + 1e-5).squareRoot()
            return x.indices.map { x[$0] * scale * Double(weight[$0]) }
        }
        func rope(_ v: inout [Double], position: Int) {
            for head in 0..<(v.count / hs) {
                for i in 0..<(hs / 2) {
                    let theta = Double(position) * pow(base, -2 * Double(i) / Double(hs))
                    let a = v[head * hs + 2 * i], b = v[head * hs + 2 * i + 1]
                    v[head * hs + 2 * i] = a * cos(theta) - b * sin(theta)
                    v[head * hs + 2 * i + 1] = a * sin(theta) + b * cos(theta)
                }
            }
        }
        var keys: [[Double]] = [], values: [[Double]] = [], result: [[Float]] = []
        for (position, token) in tokens.enumerated() {
            var x = (0..<d).map { Double(w.embedding[token * d + $0]) }
            let h = rmsNorm(x, w.attentionNorm)
            var q = matvec(w.query, h, rows: d), k = matvec(w.key, h, rows: kvd)
            rope(&q, position: position)
            rope(&k, position: position)
            keys.append(k)
            values.append(matvec(w.value, h, rows: kvd))
            var attended = [Double](repeating: 0, count: d)
            for head in 0..<heads {
                let kvHead = head / group
                let scores = (0...position).map { t in
                    (0..<hs).reduce(0.0) { $0 + q[head * hs + $1] * keys[t][kvHead * hs + $1] } / Double(hs).squareRoot()
                }
                let top = scores.max()!, exps = scores.map { exp($0 - top) }, sum = exps.reduce(0, +)
                for t in 0...position {
                    for j in 0..<hs { attended[head * hs + j] += exps[t] / sum * values[t][kvHead * hs + j] }
                }
            }
            let projected = matvec(w.output, attended, rows: d)
            for i in 0..<d { x[i] += projected[i] }
            let f = rmsNorm(x, w.feedForwardNorm)
            let gate = matvec(w.gate, f, rows: hidden), up = matvec(w.up, f, rows: hidden)
            let swiglu = (0..<hidden).map { gate[$0] / (1 + exp(-gate[$0])) * up[$0] }
            let down = matvec(w.down, swiglu, rows: d)
            for i in 0..<d { x[i] += down[i] }
            result.append(matvec(w.embedding, rmsNorm(x, w.outputNorm), rows: vocabulary).map { Float($0) })
        }
        return result
    }

    static func largestDifference(_ a: [[Float]], _ b: [[Float]], positions: Range<Int>? = nil) -> Float {
        (positions ?? 0..<a.count).reduce(0) { worst, p in zip(a[p], b[p]).reduce(worst) { max($0, abs($1.0 - $1.1)) } }
    }

    /// float32 against float64 over one small layer: a few ulps of logits of a few units.
    static let tolerance: Float = 2e-4

    @Test func theFilesRoPEBaseReachesTheRotations() throws {
        let (file, weights) = Self.model(base: 100)
        let runtime = try Self.runtimeLogits(file)
        #expect(runtime.ropeBase == 100)
        let reference = Self.referenceLogits(weights, base: 100)
        let atDefault = Self.referenceLogits(weights, base: 10000)
        #expect(Self.largestDifference(runtime.logits, reference) <= Self.tolerance)
        // The base matters here: the default's logits are far from these (after position 0).
        #expect(Self.largestDifference(reference, atDefault, positions: 1..<Self.tokens.count) > 100 * Self.tolerance)
        #expect(Self.largestDifference(runtime.logits, atDefault, positions: 1..<Self.tokens.count) > 100 * Self.tolerance)
    }

    @Test func withoutTheKeyTheBaseIsTenThousand() throws {
        let (file, weights) = Self.model(base: nil)
        let runtime = try Self.runtimeLogits(file)
        #expect(runtime.ropeBase == 10000)
        #expect(Self.largestDifference(runtime.logits, Self.referenceLogits(weights, base: 10000)) <= Self.tolerance)
        // Position 0 is not rotated: the same logits whatever the base.
        let (other, _) = Self.model(base: 100)
        let rotatedLess = try Self.runtimeLogits(other)
        #expect(Self.largestDifference(runtime.logits, rotatedLess.logits, positions: 0..<1) <= Self.tolerance)
        #expect(Self.largestDifference(runtime.logits, rotatedLess.logits, positions: 1..<Self.tokens.count) > 100 * Self.tolerance)
    }
}
