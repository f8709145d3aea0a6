import Foundation
import Testing
@testable import SmallMind

/// llama.cpp's server on the kq model in the Q5_K_M, Q3_K_M, Q2_K and IQ4_XS encodings
/// (`../shared/golden/llamacpp-quants.json`, which adds `safe_tokens`: llama.cpp's greedy tokens
/// before its first top-1/top-2 gap under 0.1). Comparisons run through `GoldenComparison`
/// (teacher-forced, hidden byte tokens rebuilt; see LlamaCppGoldenTests.swift).
@Suite(.enabled(if: SharedFiles.available, SharedFiles.skipReason))
struct KQuantGoldenTests {
    static let models = ["kq-q5_k_m.gguf", "kq-q3_k_m.gguf", "kq-q2_k.gguf", "kq-iq4_xs.gguf"]

    static func golden(_ model: String) throws -> (LlamaCppGolden.Case, safeTokens: Int) {
        try LlamaCppGolden.golden(model, in: "llamacpp-quants.json")
    }

    static func compare(_ model: String, _ arithmetic: ForwardArithmetic) throws -> (GoldenComparison, LlamaCppGolden.Case) {
        try LlamaCppGolden.compare(model, in: "llamacpp-quants.json", arithmetic)
    }

    /// Prompt tokenization through the model's own (embedded) vocabulary.
    @Test(arguments: models)
    func promptTokensEqualLlamaCpps(model: String) throws {
        let (golden, _) = try Self.golden(model)
        let loaded = try Model.load(path: SharedFiles.model(model), tokenizerPath: nil)
        #expect(try loaded.tokenize(golden.prompt) == golden.prompt_tokens)
    }

    /// This runtime's own arithmetic (float32 keys, values and attention; integer products on
    /// Q8_K activations): the first steps agree. Later ones need not: the random-weight kq model
    /// amplifies llama.cpp's f16 cache and flash-attention rounding until a token flips (see
    /// `LlamaCppGoldenTests.quantizedTolerance`: Q4_K_M reached 20.5), and Q5_K_M does so from
    /// step 3 (|Δ log p| 61 there, where `.llamaCpp` arithmetic, below, agrees to 2.6e-5 — so the
    /// weights' products are not the cause; SMALLMIND_AVX512=0 gives the same figures).
    /// Observed over the first three teacher-forced steps: Q5_K_M 1.08, Q3_K_M 1.20, Q2_K 1.69,
    /// IQ4_XS 1.06; the bound leaves ~40 % above the largest. Free-running greedy generation
    /// follows llama.cpp's tokens for 3 (Q5_K_M), 8 (Q3_K_M), 9 (Q2_K) and 9 (IQ4_XS) steps.
    @Test(arguments: models)
    func firstStepsAgreeInDefaultArithmetic(model: String) throws {
        let steps = 3
        let (result, golden) = try Self.compare(model, .standard)
        let largest = result.stepErrors.prefix(steps).max() ?? .infinity
        #expect(largest <= 2.4, "\(model): max |Δ log p| over the first \(steps) steps \(largest)")
        #expect(result.argmaxDisagreements.filter { $0 < steps }.isEmpty, "\(model): top-1 differs at \(result.argmaxDisagreements)")
        let loaded = try Model.load(path: SharedFiles.model(model), tokenizerPath: nil)
        let completion = try loaded.generate(golden.prompt, .greedy(maxTokens: steps))
        #expect(completion.tokens == Array(golden.tokens.prefix(steps)), "\(model): greedy tokens")
    }

    /// Bounds on |Δ log p| in llama.cpp's arithmetic, observed beside each. This golden file comes
    /// from an AVX-512 build of llama.cpp (`.llamaCppAVX512`): the prompt's products go through its
    /// tiled kernels (eight rows or more), Q2_K through its repacked gemm/gemv kernels, and its
    /// flash attention takes ggml_vec_dot_f16's 16-lane form (KQuantLlamaCppOrder.swift,
    /// GGMLMatmul.swift). Every format agrees at every step to about the golden file's printed
    /// precision (5e-6). Q2_K was off by up to 1.32 from step 11 while the AVX2 dot product and
    /// the vec_dot order were emulated.
    static let llamaCppArithmeticTolerance: [String: (bound: Double, exactSteps: Int)] = [
        "kq-q5_k_m.gguf": (2.5e-5, 27),  // observed 5.0e-6
        "kq-q3_k_m.gguf": (2.5e-5, 32),  // observed 9.9e-6
        "kq-iq4_xs.gguf": (5e-5, 31),    // observed 4.2e-5 (one step; the others ≤ 1.8e-5)
        "kq-q2_k.gguf": (2.5e-5, 29),    // observed 5.0e-6
    ]

    /// Teacher-forced in llama.cpp's arithmetic: log-probabilities within the bounds above (to
    /// 5e-5 over the steps listed as exact), and our top-1 equal to llama.cpp's at every step
    /// where its own top-1/top-2 gap exceeds 0.01 (it now equals it at every step of all four).
    @Test(arguments: models)
    func teacherForcedMatchInLlamaCppArithmetic(model: String) throws {
        let (result, golden) = try Self.compare(model, .llamaCppAVX512)
        let (bound, exactSteps) = Self.llamaCppArithmeticTolerance[model]!
        #expect(result.maxLogProbError <= bound, "\(model): max |Δ log p| \(result.maxLogProbError) > \(bound)")
        let early = result.stepErrors.prefix(exactSteps).max() ?? .infinity
        #expect(early <= 5e-5, "\(model): max |Δ log p| over the first \(exactSteps) steps \(early)")
        let clear = result.argmaxDisagreements.filter { s in
            let top = golden.steps[s].top
            return top.count < 2 || top[0][1] - top[1][1] > 0.01
        }
        #expect(clear.isEmpty, "\(model): top-1 differs where llama.cpp's top-1/top-2 gap > 0.01, steps \(clear)")
        #expect(result.stepErrors.count == golden.steps.count, "\(model): every step compared")
    }
}
