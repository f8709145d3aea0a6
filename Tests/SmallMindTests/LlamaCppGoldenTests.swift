import Foundation
import Testing
@testable import SmallMind

/// llama.cpp's server on the GGUF models in ../shared/models (see ../shared/README.md).
struct LlamaCppGolden: Decodable {
    struct Step: Decodable {
        let token: Int
        /// [[token id, natural-log probability]], best first.
        let top: [[Double]]
    }

    struct Case: Decodable {
        let model: String
        let prompt: String
        let prompt_tokens: [Int]
        let tokens: [Int]
        let content: String
        let steps: [Step]
        /// llama.cpp's greedy tokens before the first step where its own top-1/top-2 gap is under
        /// 0.1 (the newer golden files): past a near tie, either branch is right.
        let safe_tokens: Int?
    }

    let cases: [Case]

    /// `golden/llamacpp.json`, or another golden file of the same form (`llamacpp-archs.json`, …).
    static func load(_ name: String = "llamacpp.json") throws -> LlamaCppGolden {
        try JSONDecoder().decode(LlamaCppGolden.self, from: Data(contentsOf: URL(fileURLWithPath: SharedFiles.path("golden/\(name)"))))
    }
}

extension LlamaCppGolden {
    /// The case of `model` in the golden file `name`, with its `safe_tokens` (files that have them).
    static func golden(_ model: String, in name: String) throws -> (Case, safeTokens: Int) {
        let golden = try #require(try load(name).cases.first { $0.model == model }, "no golden case for \(model) in \(name)")
        return (golden, try #require(golden.safe_tokens, "\(name) gives no safe_tokens for \(model)"))
    }

    /// `model` (in ../shared/models) teacher-forced against its case in the golden file `name`,
    /// expecting the batched prefill to equal token-by-token decoding where the arithmetic is ours.
    static func compare(
        _ model: String, in name: String, _ arithmetic: ForwardArithmetic, hiddenRunLimit: Int = 4
    ) throws -> (GoldenComparison, Case) {
        let path = SharedFiles.model(model)
        let (golden, _) = try Self.golden(model, in: name)
        let result = GoldenComparison(
            weights: try GGUFModel.load(path: path), golden: golden, byteTokens: try GoldenComparison.byteTokens(of: path),
            arithmetic: arithmetic, hiddenRunLimit: hiddenRunLimit)
        #expect(result.prefillEqualsDecode, "\(model): batched prefill and token-by-token decode disagree")
        return (result, golden)
    }
}

/// What one teacher-forced run of a golden case measured.
///
/// Hidden tokens: llama.cpp's server holds back a token whose bytes end in an incomplete UTF-8
/// character, and the golden file (built from the server's per-token probabilities) lacks those
/// tokens — e.g. tiny-gqa's byte token <0xC7> before step 12, or kq-q4_k_m's <0xEA><0xF6><0xFB>
/// <0x20> before step 18 (the held-back bytes flush with the next token, whatever it is). Feeding
/// only the listed tokens would then compare different contexts. So the sequence is rebuilt
/// first: where our greedy choice is a high byte token (<0x80>…<0xFF>) other than llama.cpp's
/// next listed one, we feed up to four greedy byte tokens (the first high, the rest any byte) and
/// keep the run, if any, whose next distribution is closest to llama.cpp's listed one. Hidden
/// steps have no golden probabilities and are not compared.
///
/// With `ForwardArithmetic.llamaCpp` the comparison uses the token-by-token logits — the prompt in
/// one batch, then one token per pass, as llama.cpp's server computed them — because that mode,
/// like llama.cpp, is not batch-invariant: there is no separate batched pass to compare.
struct GoldenComparison {
    /// Largest |ours − llama.cpp| over the log-probabilities of llama.cpp's top-5 tokens, all steps.
    var maxLogProbError = 0.0
    /// The same, step by step.
    var stepErrors: [Double] = []
    /// Steps where our argmax differs from llama.cpp's token.
    var argmaxDisagreements: [Int] = []
    /// Of those, the ones where llama.cpp's top-1/top-2 gap exceeds 0.2 (must be none).
    var confidentDisagreements: [Int] = []
    /// llama.cpp's top-1/top-2 log-probability gap at each disagreeing step.
    var disagreementGaps: [Int: Double] = [:]
    /// Tokens inserted as hidden (see above), by position.
    var hiddenTokens: [Int: Int] = [:]
    /// Whether the logits of the one batched pass equal those of token-by-token decoding, bit for bit.
    var prefillEqualsDecode = true

    /// `hiddenRunLimit`: how many held-back byte tokens in a row to try (arch-qwen3 has eleven).
    init(
        weights: ModelWeights, golden: LlamaCppGolden.Case, byteTokens: ByteTokens, arithmetic: ForwardArithmetic = .standard,
        hiddenRunLimit: Int = 4
    ) {
        let c = weights.configuration
        let V = c.vocabularySize
        let capacity = min(c.contextLength, golden.prompt_tokens.count + (hiddenRunLimit + 1) * golden.steps.count + 1)

        // 1. Token by token (decode path), rebuilding the sequence llama.cpp saw.
        func makeCache() -> KVCache {
            arithmetic.followsLlamaCpp
                ? .llamaCppCompatible(configuration: c, contextLength: capacity, avx512: arithmetic == .llamaCppAVX512)
                : KVCache(configuration: c, contextLength: capacity)
        }
        let cache = makeCache()
        let workspace = Workspace(configuration: c, capacity: golden.prompt_tokens.count)
        func run(_ tokens: [Int], from position: Int) -> [Float] {
            let batch = tokens.enumerated().map { BatchToken(token: $1, position: position + $0, wantsLogits: $0 == tokens.count - 1) }
            // `forward` returns a view into the workspace: keep the workspace alive while reading it.
            return withExtendedLifetime(workspace) { Array(weights.forward(batch, cache: cache, workspace: workspace)) }
        }
        func error(_ logits: [Float], _ step: LlamaCppGolden.Step) -> Double {
            let lp = Self.logSoftmax(logits)
            return step.top.map { abs(lp[Int($0[0])] - $0[1]) }.max() ?? 0
        }
        var sequence = golden.prompt_tokens
        // llama.cpp's server decodes the prompt of a sliding-window model (Gemma) in two batches,
        // all but the last four tokens and then those four, to checkpoint the window there
        // (tools/server, "process the last few tokens of the prompt separately"); in its
        // arithmetic the batch decides how some products sum, so do as it did.
        let checkpointSplit = c.slidingWindow != nil && sequence.count > 4 ? sequence.count - 4 : 0
        if checkpointSplit > 0 { _ = run(Array(sequence.prefix(checkpointSplit)), from: 0) }
        var current = run(Array(sequence.dropFirst(checkpointSplit)), from: checkpointSplit)
        var compared: [(position: Int, logits: [Float])] = []
        for step in golden.steps {
            // Try feeding 1…4 of our greedy byte tokens first; keep the count that best explains
            // llama.cpp's listed distribution (runs like <0xC1><0xC1><0xC1> occur).
            var best = (error: error(current, step), tokens: [Int](), logits: current)
            var trial = (tokens: [Int](), logits: current)
            for _ in 0..<hiddenRunLimit {
                let choice = Self.argmax(trial.logits)
                let isByte = trial.tokens.isEmpty ? byteTokens.high.contains(choice) : byteTokens.all.contains(choice)
                guard choice != step.token, isByte, sequence.count + trial.tokens.count < capacity - 2 else { break }
                trial.logits = run([choice], from: sequence.count + trial.tokens.count)
                trial.tokens.append(choice)
                let e = error(trial.logits, step)
                if e < best.error { best = (e, trial.tokens, trial.logits) }
            }
            if !best.tokens.isEmpty {
                // Re-run the kept tokens so the cache holds them (a longer trial may have overwritten nothing
                // before them, but re-running keeps this obviously right).
                for token in best.tokens {
                    hiddenTokens[sequence.count] = token
                    current = run([token], from: sequence.count)
                    sequence.append(token)
                }
            }
            compared.append((sequence.count - 1, current))
            sequence.append(step.token)
            guard sequence.count < capacity else { break }
            current = run([step.token], from: sequence.count - 1)
        }

        // 2. The same sequence as one batch (prefill path) with logits where llama.cpp has steps —
        // in this runtime's arithmetic, which must give the token-by-token logits bit for bit.
        var rows = compared.map(\.logits)
        if arithmetic == .standard {
            let positions = Set(compared.map(\.position))
            let fed = Array(sequence.prefix(compared.last!.position + 1))
            let batch = fed.enumerated().map { BatchToken(token: $1, position: $0, wantsLogits: positions.contains($0)) }
            let batchCache = makeCache()
            let batchWorkspace = Workspace(configuration: c, capacity: fed.count)
            let all = withExtendedLifetime(batchWorkspace) { Array(weights.forward(batch, cache: batchCache, workspace: batchWorkspace)) }
            rows = compared.indices.map { Array(all[$0 * V..<($0 + 1) * V]) }
        }

        for (s, step) in golden.steps.prefix(compared.count).enumerated() {
            let row = rows[s]
            if row != compared[s].logits { prefillEqualsDecode = false }
            let lp = Self.logSoftmax(row)
            stepErrors.append(step.top.map { abs(lp[Int($0[0])] - $0[1]) }.max() ?? 0)
            maxLogProbError = max(maxLogProbError, stepErrors[s])
            if Self.argmax(row) != step.token {
                argmaxDisagreements.append(s)
                disagreementGaps[s] = step.top.count > 1 ? step.top[0][1] - step.top[1][1] : .infinity
                if step.top.count > 1 && step.top[0][1] - step.top[1][1] > 0.2 { confidentDisagreements.append(s) }
            }
        }
    }

    /// Natural-log probabilities as llama.cpp's server computes the ones in the golden file
    /// (get_token_probabilities): logits sorted from the largest, p = expf(logit − max) summed in
    /// float in that order, p / sum, then logf. Its float sum over a 50257-token vocabulary differs
    /// from an exact one by ~1e-4 (gpt2-tiny-f16), which is why it is reproduced. (Some server
    /// versions sort only the top entries and sum the rest in std::partial_sort's leftover order;
    /// that is not reproduced — see `llamaCppArithmeticTolerance`.)
    static func logSoftmax(_ logits: [Float]) -> [Double] {
        let order = logits.indices.sorted { logits[$0] > logits[$1] }
        let maximum = logits[order[0]]
        var p = [Float](repeating: 0, count: logits.count)
        var sum: Float = 0
        for i in order {
            p[i] = expf(logits[i] - maximum)
            sum += p[i]
        }
        return p.map { Double(logf($0 / sum)) }
    }

    static func argmax(_ row: [Float]) -> Int { row.indices.max { row[$0] < row[$1] }! }

    /// The byte-fallback tokens ("<0x00>"…"<0xFF>") of a vocabulary; the high ones (<0x80>…) can
    /// end a token's text in the middle of a UTF-8 character.
    struct ByteTokens {
        var all = Set<Int>(), high = Set<Int>()
    }

    static func byteTokens(of path: String) throws -> ByteTokens {
        let tokens = try GGUFFile(path: path).metadata["tokenizer.ggml.tokens"]?.arrayValue ?? []
        var result = ByteTokens()
        for (id, token) in tokens.enumerated() {
            guard let piece = token.stringValue, piece.count == 6, piece.hasPrefix("<0x"), piece.hasSuffix(">"),
                  let byte = UInt8(piece.dropFirst(3).prefix(2), radix: 16) else { continue }
            result.all.insert(id)
            if byte >= 0x80 { result.high.insert(id) }
        }
        return result
    }
}

@Suite(.enabled(if: SharedFiles.available, SharedFiles.skipReason))
struct LlamaCppGoldenTests {
    /// Bounds on |Δ log-probability| of llama.cpp's top-5 tokens, F32 and F16 weights, in this
    /// runtime's own arithmetic (`.standard`: float32 throughout), with the observed maximum beside
    /// each. The gap is llama.cpp's rounding, not ours: its default CPU path keeps keys and values
    /// in f16, rounds the query and accumulates attention in f16 (flash attention), rounds
    /// activations to f16 before f16 weights and passes GELU through an f16 table — and
    /// `.llamaCpp` arithmetic, which does the same, matches the golden file to ≤ 1.1e-4, mostly to
    /// its printed precision (`…InLlamaCppArithmetic` below). Everything of ours that can be checked exactly is: the
    /// GGUF path equals the llama2.c path bit for bit (`llama2cAndGGUF…` below), tokens are
    /// identical, and the decoded weights equal gguf-py's. The random-weight models (kq, tiny-gqa:
    /// embeddings of scale 1, logits of ±50) amplify any perturbation ~10×.
    static let unquantizedTolerance: [String: Double] = [
        "stories260K.gguf": 0.02,      // observed 0.0126
        "gpt2-tiny-f16.gguf": 0.015,   // observed 0.0085
        "tiny-gqa.gguf": 0.15,         // observed 0.105
        "kq.gguf": 0.15,               // observed 0.089
        "kq-f16.gguf": 0.2,            // observed 0.135
    ]

    /// The same comparisons with `ForwardArithmetic.llamaCpp` (llama.cpp's CPU arithmetic
    /// reproduced: see SmallMindKernels/LlamaCpp), observed maxima beside each. The golden file
    /// prints log-probabilities to 5 decimals (±5e-6), so 5e-6 is agreement to its precision. The
    /// bounds add 2e-5 (four units of that last digit) for libm differences between machines (the
    /// emulation calls expf, sinf, cosf, tanhf and powf as ggml does; these figures are glibc's).
    /// What remains: tiny-gqa and kq, ~1e-5 — llama.cpp runs the last block's feed-forward only
    /// on the rows that need logits, so in the prompt pass those products have one row and sum in
    /// ggml_vec_dot's order, which the emulation does not special-case (doing so gave 5e-6);
    /// gpt2-tiny-f16, 1.06e-4 at step 0 only, the same shift on all five log-probabilities: the
    /// server's float sum of 50257 probabilities on that flat step (top-1 p = 0.12) differs from
    /// `GoldenComparison.logSoftmax`'s — plausibly summed in std::partial_sort's leftover order,
    /// which is not reproduced; the later, peaked steps agree to 5e-6.
    static let llamaCppArithmeticTolerance: [String: Double] = [
        "stories260K.gguf": 2.5e-5,     // observed 5e-6
        "gpt2-tiny-f16.gguf": 1.3e-4,   // observed 1.06e-4
        "tiny-gqa.gguf": 3.5e-5,        // observed 1.1e-5
        "kq.gguf": 3.5e-5,              // observed 1.2e-5
        "kq-f16.gguf": 2.5e-5,          // observed 5e-6
    ]

    /// Quantized weights, teacher-forced, in this runtime's own arithmetic. For Q8_0/Q4_0 weights
    /// it is llama.cpp's (activations quantized to Q8_0, integer block products), but llama.cpp's
    /// f16 keys, values and flash-attention rounding now and then flip an activation's code, which
    /// moves a product by one step of the activation's quantization, ~2⁻⁸ relative. On the trained
    /// stories260K this stays small (observed 0.169, 0.156 when float activations multiplied the
    /// decoded weights; bound 0.25). The K-quants multiply float activations by decoded weights,
    /// where llama.cpp quantizes the activations to Q8_K.
    /// The random-weight kq model amplifies it: llama.cpp's own F32 and Q6_K runs (nearly lossless
    /// weights) differ at step 1 by a top-1/top-2 gap of 3, and in this arithmetic our top-1
    /// differs from llama.cpp's at a few steps even where its gap exceeds 0.2 (observed max
    /// |Δ log p| with float activations throughout: Q8_0 3.0, Q4_0 1.7, Q4_K_M 20.5, Q6_K 2.6). That the
    /// difference is the activation rounding and nothing else is what the next table shows.
    static let quantizedTolerance: [String: Double] = [
        "stories260K-q8_0.gguf": 0.25,  // observed 0.169
    ]

    /// Every quantized model, teacher-forced, in llama.cpp's arithmetic (`.llamaCpp`: each
    /// activation row rounded to Q8_0 or Q8_K exactly as ggml's quantizers do; f16 KV cache and
    /// flash-attention rounding as above). Q8_0 weights now agree to the golden file's printed
    /// precision: their integer products sum each lane's four products exactly and scales by
    /// d_w·d_x in one FMA, as ggml_vec_dot_q8_0_q8_0 (AVX2) does (it was 0.21 and 0.71 when the
    /// rounded activations were multiplied in float). Q4_0 uses the same lanes but llama.cpp
    /// repacks Q4_0 into interleaved rows for AVX2 and sums those in another order (observed
    /// 0.79). The K-quants take integer products too, summed as llama.cpp sums them
    /// (KQuantLlamaCppOrder.swift): Q4_K rows repacked eight at a time into its gemm/gemv kernels,
    /// Q6_K in its tiled kernel for the 8-token prompt and in ggml_vec_dot_q6_K_q8_K's lanes for
    /// each decoded token — to the printed digits now (they were off by 0.64 and 1.04 at one step
    /// each in this runtime's own order, which the random-weight kq model amplifies). This golden
    /// file comes from an AVX2 build of llama.cpp (`.llamaCpp`): the AVX-512 form of ggml's float
    /// dot products moves its float32 models by up to 0.04. The bounds leave ~40 % above each
    /// (2.5e-5 where the agreement is to the printed digits, as above). The greedy token equals
    /// llama.cpp's at every step of every model here, so its top-1 agrees wherever its top-1/top-2
    /// gap exceeds 0.2 a fortiori.
    static let quantizedLlamaCppArithmeticTolerance: [String: Double] = [
        "stories260K-q8_0.gguf": 2.5e-5,  // observed 5.3e-6 (0.208 with float products)
        "kq-q8_0.gguf": 2.5e-5,           // observed 5.0e-6 (0.712 with float products)
        "kq-q4_0.gguf": 1.1,              // observed 0.789 (0.653 with float products)
        "kq-q4_k_m.gguf": 2.5e-5,         // observed 4.9e-6 (0.277 with float products)
        "kq-q6_k.gguf": 2.5e-5,           // observed 5.0e-6 (0.763 with float products)
    ]

    static func goldenCase(_ model: String) throws -> LlamaCppGolden.Case {
        try #require(try LlamaCppGolden.load().cases.first { $0.model == model }, "no golden case for \(model)")
    }

    static func compare(_ model: String, arithmetic: ForwardArithmetic = .standard) throws -> GoldenComparison {
        let path = SharedFiles.model(model)
        let result = GoldenComparison(
            weights: try GGUFModel.load(path: path), golden: try goldenCase(model), byteTokens: try GoldenComparison.byteTokens(of: path),
            arithmetic: arithmetic)
        #expect(result.prefillEqualsDecode, "\(model): batched prefill and token-by-token decode disagree")
        return result
    }

    @Test(arguments: unquantizedTolerance.keys.sorted())
    func unquantizedModelsMatchGreedily(model: String) throws {
        let result = try Self.compare(model)
        let tolerance = Self.unquantizedTolerance[model]!
        #expect(result.maxLogProbError <= tolerance, "\(model): max |Δ log p| \(result.maxLogProbError) > \(tolerance)")
        // Greedy tokens equal at every step — except kq step 17, a near tie (llama.cpp: 181 at
        // −0.684 vs 436 at −0.711, a gap of 0.027, well inside the bound above).
        let allowed: [String: [Int]] = ["kq.gguf": [17]]
        #expect(result.argmaxDisagreements.filter { !(allowed[model] ?? []).contains($0) }.isEmpty,
                "\(model): greedy token differs at steps \(result.argmaxDisagreements)")
    }

    /// llama.cpp's arithmetic: log-probabilities to the golden file's precision, and the greedy
    /// token equal at every step (kq's near tie at step 17 included).
    @Test(arguments: llamaCppArithmeticTolerance.keys.sorted())
    func unquantizedModelsMatchInLlamaCppArithmetic(model: String) throws {
        let result = try Self.compare(model, arithmetic: .llamaCpp)
        let tolerance = Self.llamaCppArithmeticTolerance[model]!
        #expect(result.maxLogProbError <= tolerance, "\(model): max |Δ log p| \(result.maxLogProbError) > \(tolerance)")
        #expect(result.argmaxDisagreements.isEmpty, "\(model): greedy token differs at steps \(result.argmaxDisagreements)")
    }

    @Test(arguments: quantizedTolerance.keys.sorted())
    func quantizedModelsMatchUnderTeacherForcing(model: String) throws {
        try Self.expectTeacherForcedMatch(model, .standard, Self.quantizedTolerance[model]!, greedyEveryStep: false)
    }

    @Test(arguments: quantizedLlamaCppArithmeticTolerance.keys.sorted())
    func quantizedModelsMatchInLlamaCppArithmetic(model: String) throws {
        try Self.expectTeacherForcedMatch(model, .llamaCpp, Self.quantizedLlamaCppArithmeticTolerance[model]!, greedyEveryStep: true)
    }

    /// Log-probabilities within `tolerance`, top-1 equal wherever llama.cpp's top-1/top-2 gap
    /// exceeds 0.2 and, with `greedyEveryStep`, at every step.
    static func expectTeacherForcedMatch(
        _ model: String, _ arithmetic: ForwardArithmetic, _ tolerance: Double, greedyEveryStep: Bool
    ) throws {
        let result = try compare(model, arithmetic: arithmetic)
        #expect(result.maxLogProbError <= tolerance, "\(model): max |Δ log p| \(result.maxLogProbError) > \(tolerance)")
        #expect(result.confidentDisagreements.isEmpty, "\(model): top-1 differs where llama.cpp's top-1/top-2 gap > 0.2, steps \(result.confidentDisagreements)")
        if greedyEveryStep {
            #expect(result.argmaxDisagreements.isEmpty, "\(model): greedy token differs at steps \(result.argmaxDisagreements)")
        }
    }

    /// Prompt tokenization through the model's own (embedded) vocabulary, as `Model.load` builds it.
    @Test(arguments: ["stories260K.gguf", "stories260K-q8_0.gguf", "tiny-gqa.gguf", "kq.gguf", "kq-q4_k_m.gguf", "gpt2-tiny-f16.gguf"])
    func promptTokensEqualLlamaCpps(model: String) throws {
        let golden = try Self.goldenCase(model)
        let loaded = try Model.load(path: SharedFiles.model(model), tokenizerPath: nil)
        #expect(try loaded.tokenize(golden.prompt) == golden.prompt_tokens)
    }

    /// The real TinyStories model, F32 and Q8_0: the greedy story is llama.cpp's, token for token.
    @Test(arguments: ["stories260K.gguf", "stories260K-q8_0.gguf"])
    func storiesTellTheLilyStoryGreedily(model: String) throws {
        let golden = try Self.goldenCase(model)
        let loaded = try Model.load(path: SharedFiles.model(model), tokenizerPath: nil)
        let completion = try loaded.generate(golden.prompt, .greedy(maxTokens: golden.tokens.count))
        #expect(completion.tokens == golden.tokens)
        #expect(completion.continuation == golden.content)
        #expect(completion.continuation.contains("Lily"))
    }

    /// tiny-gqa.bin (llama2.c) and tiny-gqa.gguf hold the same weights: GGUF llama Q/K rows are in
    /// llama2.c's (interleaved) order, so both give the same logits — bit for bit, as both are F32.
    @Test func llama2cAndGGUFOfTheSameWeightsAgree() throws {
        let fromBin = try Llama2cCheckpoint.load(path: SharedFiles.model("tiny-gqa.bin"))
        let fromGGUF = try GGUFModel.load(path: SharedFiles.model("tiny-gqa.gguf"))
        #expect(fromBin.configuration == fromGGUF.configuration)
        let tokens = [1, 403, 407, 261, 378, 300, 42]
        func logits(_ weights: ModelWeights) -> [Float] {
            let batch = tokens.enumerated().map { BatchToken(token: $1, position: $0) }
            let workspace = Workspace(configuration: weights.configuration)
            return withExtendedLifetime(workspace) {
                Array(weights.forward(batch, cache: KVCache(configuration: weights.configuration, contextLength: 16), workspace: workspace))
            }
        }
        #expect(logits(fromBin) == logits(fromGGUF))
    }
}
