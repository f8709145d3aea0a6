import Foundation
import Testing
@testable import SmallMind

/// llama.cpp's server on the kq model in the 32-element block formats Q5_0, Q4_1, Q5_1 and IQ4_NL
/// (`../shared/golden/llamacpp-quants.json`: the format of llamacpp.json plus `safe_tokens`, the
/// number of greedy tokens before llama.cpp's own top-1/top-2 gap first falls under 0.1).
@Suite(.enabled(if: SharedFiles.available, SharedFiles.skipReason))
struct LlamaCppBlockFormatGoldenTests {
    static let models = ["kq-q5_0.gguf", "kq-q4_1.gguf", "kq-q5_1.gguf", "kq-iq4_nl.gguf"]

    static func goldenCase(_ model: String) throws -> (LlamaCppGolden.Case, safeTokens: Int) {
        try LlamaCppGolden.golden(model, in: "llamacpp-quants.json")
    }

    static func compare(_ model: String, _ arithmetic: ForwardArithmetic) throws -> (GoldenComparison, LlamaCppGolden.Case) {
        try LlamaCppGolden.compare(model, in: "llamacpp-quants.json", arithmetic)
    }

    @Test(arguments: models)
    func promptTokensEqualLlamaCpps(model: String) throws {
        let (golden, _) = try Self.goldenCase(model)
        let loaded = try Model.load(path: SharedFiles.model(model), tokenizerPath: nil)
        #expect(try loaded.tokenize(golden.prompt) == golden.prompt_tokens)
    }

    /// Steps compared in the runtime's own arithmetic (`.standard`).
    static let firstSteps = 4

    /// Bounds on |Δ log p| of llama.cpp's top-5 over the first `firstSteps` steps, `.standard`
    /// arithmetic, observed maxima beside each (~40 % above). Both sides take integer products on
    /// activations quantized to Q8_0 (Q8_1 for Q4_1/Q5_1: the same codes) — in `.llamaCpp`
    /// arithmetic the same products agree to the golden file's digits (below) — so what remains
    /// is llama.cpp's f16 keys and values and flash-attention rounding, which moves an activation
    /// code by a step now and then, and this random-weight model amplifies ~10× (LlamaCppGoldenTests:
    /// kq Q8_0, Q4_0 and Q6_K 1.7–3.0 in the same arithmetic).
    static let standardTolerance: [String: Double] = [
        "kq-q5_0.gguf": 2.0,     // observed 1.437
        "kq-q4_1.gguf": 1.75,    // observed 1.235
        "kq-q5_1.gguf": 1.3,     // observed 0.911
        "kq-iq4_nl.gguf": 0.9,   // observed 0.612
    ]

    /// Default arithmetic: the greedy continuation starts with llama.cpp's tokens, and teacher-forced
    /// log-probabilities of the first steps are within `standardTolerance`.
    @Test(arguments: models)
    func firstStepsAgreeInOwnArithmetic(model: String) throws {
        let (golden, safeTokens) = try Self.goldenCase(model)
        let steps = min(Self.firstSteps, safeTokens)
        let loaded = try Model.load(path: SharedFiles.model(model), tokenizerPath: nil)
        let completion = try loaded.generate(golden.prompt, .greedy(maxTokens: steps))
        #expect(completion.tokens == Array(golden.tokens.prefix(steps)), "\(model): greedy tokens")
        let (result, _) = try Self.compare(model, .standard)
        let largest = result.stepErrors.prefix(steps).max() ?? .infinity
        #expect(largest <= Self.standardTolerance[model]!, "\(model): max |Δ log p| over the first \(steps) steps \(largest)")
    }

    /// Bounds on |Δ log p| in llama.cpp's arithmetic, observed maxima beside each. Q4_1 and Q5_1
    /// agree to the golden file's printed digits (5e-6; 2.5e-5 as in LlamaCppGoldenTests): llama.cpp
    /// multiplies them with ggml_vec_dot_q4_1_q8_1 / q5_1_q8_1, whose order `IntegerMatmul` is.
    /// Q5_0 too, now that the flash attention's dot product takes the 16-lane form of the AVX-512
    /// build this golden file comes from (`.llamaCppAVX512`; with the AVX2 form step 0 was off by
    /// 0.50). IQ4_NL rows are repacked by llama.cpp (its iq4_nl_8x8 kernels), an order not
    /// reproduced, and the rounding-level differences grow in this random-weight model (0.1–0.8
    /// from step 6).
    static let llamaCppArithmeticTolerance: [String: Double] = [
        "kq-q5_0.gguf": 2.5e-5,    // observed 5.0e-6
        "kq-q4_1.gguf": 2.5e-5,    // observed 1.5e-5
        "kq-q5_1.gguf": 2.5e-5,    // observed 1.2e-5 before the held-back bytes (below)
        "kq-iq4_nl.gguf": 1.2,     // observed 0.833
    ]

    /// The step from which a model's log-probabilities are not compared: kq-q5_1's llama.cpp held
    /// back a byte token after step 8 (its step 9 puts 132 at p ≈ 1, absent from step 8's top 5),
    /// which `GoldenComparison`'s greedy byte guesses do not recover (|Δ log p| jumps from 1e-5 to
    /// 39 there, in both arithmetics); its top-1 still equals llama.cpp's at every step.
    static func comparedSteps(_ result: GoldenComparison, _ golden: LlamaCppGolden.Case) -> Int {
        guard let first = result.hiddenTokens.keys.min(), result.stepErrors.dropFirst(first - golden.prompt_tokens.count).contains(where: { $0 > 1 })
        else { return result.stepErrors.count }
        return first - golden.prompt_tokens.count
    }

    /// Parity mode, teacher-forced: our top-1 is llama.cpp's at every step where its own
    /// top-1/top-2 gap exceeds 0.01, and the log-probabilities stay within the bound above.
    @Test(arguments: models)
    func topOneAgreesInLlamaCppArithmetic(model: String) throws {
        let (result, golden) = try Self.compare(model, .llamaCppAVX512)
        let confident = result.argmaxDisagreements.filter { s in
            let top = golden.steps[s].top
            return top.count < 2 || top[0][1] - top[1][1] > 0.01
        }
        #expect(confident.isEmpty, "\(model): top-1 differs from llama.cpp's where its gap exceeds 0.01, steps \(confident)")
        let compared = Self.comparedSteps(result, golden)
        #expect(compared >= 9, "\(model): only \(compared) steps before a hidden token")
        let largest = result.stepErrors.prefix(compared).max() ?? .infinity
        #expect(largest <= Self.llamaCppArithmeticTolerance[model]!, "\(model): max |Δ log p| \(largest) over \(compared) steps")
    }
}
