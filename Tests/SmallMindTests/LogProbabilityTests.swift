import Foundation
import Testing
@testable import SmallMind

/// Log-probabilities: the model's own distribution (log-softmax of the raw logits), reported per
/// generated step, identical whatever runs beside the request.
struct LogProbabilityTests {
    /// ln softmax in Double, written the obvious way (the oracle for `compute`).
    static func naiveLogSoftmax(_ logits: [Float]) -> [Double] {
        let values = logits.map(Double.init)
        let maximum = values.max()!
        let logSum = log(values.reduce(0) { $0 + exp($1 - maximum) })
        return values.map { $0 - maximum - logSum }
    }

    @Test func computeIsLogSoftmaxWithTheLargestBestFirstAndTiesByLowerID() {
        let logits: [Float] = [1, 3, 3, 2, -1, 3.5, -40]
        let expected = Self.naiveLogSoftmax(logits)
        let step = logits.withUnsafeBufferPointer { StepLogProbabilities.compute(logits: $0, chosen: 4, count: 4) }
        #expect(step.top.map(\.token) == [5, 1, 2, 3])
        // logSumExp's SIMD exp is accurate to a few ulp: ~1e-7 relative (see its twin's test).
        for entry in step.top + [step.chosen] { #expect(abs(entry.logProbability - expected[entry.token]) < 1e-6) }
        #expect(step.chosen.token == 4)
        // The whole distribution sums to one.
        let all = logits.withUnsafeBufferPointer { StepLogProbabilities.compute(logits: $0, chosen: 0, count: logits.count) }
        #expect(all.top.count == logits.count)
        #expect(abs(all.top.reduce(0) { $0 + exp($1.logProbability) } - 1) < 1e-6)
        // More than the vocabulary: all of it.
        #expect(logits.withUnsafeBufferPointer { StepLogProbabilities.compute(logits: $0, chosen: 0, count: 50) }.top.count == logits.count)
    }

    /// The fast log-sum-exp against its twin (Double exp in index order) on rows of real
    /// vocabulary sizes, tails included: within 1e-6 (observed 2.3e-7 at most, count 1031).
    @Test(arguments: [1, 7, 512, 1031, 50_257, 151_936, 262_144])
    func logSumExpAgreesWithItsNaiveTwin(count: Int) {
        var random = SplitMix64(seed: UInt64(count))
        let logits = (0..<count).map { _ in Float(random.nextGaussian() * 4) + (count > 1000 ? 0 : 30) }
        logits.withUnsafeBufferPointer { row in
            let maximum = row.max()!
            let fast = StepLogProbabilities.logSumExp(row, maximum: maximum)
            let naive = StepLogProbabilities.naiveLogSumExp(row, maximum: maximum)
            #expect(abs(fast - naive) < 1e-6, "\(fast) vs \(naive)")
            // Far-below-the-maximum entries underflow to 0 alike.
            var peaked = Array(row)
            peaked[count / 2] = maximum + 200
            peaked.withUnsafeBufferPointer { p in
                #expect(abs(StepLogProbabilities.logSumExp(p, maximum: p[count / 2]) - StepLogProbabilities.naiveLogSumExp(p, maximum: p[count / 2])) < 1e-6)
            }
        }
    }

    @Test func largestKeepsTheFirstOfEqualValuesAtTheCut() {
        let values: [Float] = [0, 5, 5, 5, 1]
        #expect(values.withUnsafeBufferPointer { StepLogProbabilities.largest($0, count: 2) } == [1, 2])
        #expect(values.withUnsafeBufferPointer { StepLogProbabilities.largest($0, count: 0) } == [])
    }

    static func model() throws -> Model {
        try Model.load(path: try TestModels.llama2cCheckpoint(seqLen: 64, seed: 3), tokenizerPath: try TestModels.tokenizerFile())
    }

    /// Every step's log-probabilities are those of the raw logits at that position — recomputed
    /// here from one batched forward pass over prompt + generated tokens — even when sampling at a
    /// temperature (which reshapes the distribution sampled from, not the one reported).
    @Test(arguments: [Float(0), 2])
    func reportedStepsAreTheRawDistributionAtEveryPosition(temperature: Float) throws {
        let model = try Self.model()
        let parameters = GenerationParameters(maxTokens: 12, temperature: temperature, seed: 7, topLogProbabilities: 3)
        var events: [TokenEvent] = []
        let completion = try GenerationContext(model: model).generate("abc", parameters: parameters) { events.append($0); return true }
        #expect(completion.logProbabilities.count == completion.tokens.count && !completion.tokens.isEmpty)
        #expect(completion.logProbabilities.map(\.chosen.token) == completion.tokens)
        // Each token's event carries its step; a tail event (held-back text) carries none.
        #expect(events.compactMap(\.logProbabilities) == completion.logProbabilities)

        let sequence = completion.promptTokens + completion.tokens
        let batch = sequence.enumerated().map { BatchToken(token: $1, position: $0, wantsLogits: $0 >= completion.promptTokens.count - 1) }
        let c = model.configuration
        let workspace = Workspace(configuration: c, capacity: sequence.count)
        let rows = withExtendedLifetime(workspace) {
            Array(model.weights.forward(batch, cache: KVCache(configuration: c), workspace: workspace))
        }
        let V = c.vocabularySize
        for (i, step) in completion.logProbabilities.enumerated() {
            let logits = Array(rows[i * V..<(i + 1) * V])
            let expected = logits.withUnsafeBufferPointer { StepLogProbabilities.compute(logits: $0, chosen: completion.tokens[i], count: 3) }
            #expect(step == expected, "step \(i)")
            let oracle = Self.naiveLogSoftmax(logits)
            #expect(abs(step.chosen.logProbability - oracle[step.chosen.token]) < 1e-6)
            if temperature == 0 { #expect(step.top.first == step.chosen) }
        }
    }

    @Test func noneUnlessAsked() throws {
        let completion = try Self.model().generate("abc", .greedy(maxTokens: 5))
        #expect(completion.logProbabilities.isEmpty && !completion.tokens.isEmpty)
        #expect(throws: GenerationError.self) { try GenerationParameters(topLogProbabilities: -1).validate() }
        #expect(throws: GenerationError.self) {
            try GenerationParameters(topLogProbabilities: GenerationParameters.maximumTopLogProbabilities + 1).validate()
        }
    }

    /// Batch invariance: a request's log-probabilities are bit-identical alone in the engine,
    /// among seven others (different prompts, lengths and sampling), and in a one-sequence context.
    @Test func identicalAloneAmongOthersAndInAContext() async throws {
        let model = try Self.model()
        let mine = GenerationParameters(maxTokens: 20, temperature: 0.9, topK: 5, seed: 11, topLogProbabilities: 4)
        let streamed = Locked<[StepLogProbabilities]>([])
        let alone = try await Engine(model: model, options: EngineOptions(maxBatch: 1, threads: 1)).generate("abc abc", mine) { event in
            if let step = event.logProbabilities { streamed.withLock { $0.append(step) } }
        }
        #expect(streamed.current == alone.logProbabilities, "the engine's token events carry the same steps")

        let crowded = try Engine(model: model, options: EngineOptions(maxBatch: 8, prefillChunk: 3, threads: 2))
        let results = try await withThrowingTaskGroup(of: (Int, Completion).self) { group in
            for i in 0..<8 {
                group.addTask {
                    if i == 3 { return (i, try await crowded.generate("abc abc", mine)) }
                    let prompt = String(repeating: ["a", "bd", "hg e", "f"][i % 4], count: 1 + i % 3)
                    return (i, try await crowded.generate(prompt, GenerationParameters(maxTokens: 5 + i, temperature: 1, seed: UInt64(i), topLogProbabilities: i % 3)))
                }
            }
            return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        let amongOthers = try #require(results[3])
        #expect(amongOthers.tokens == alone.tokens)
        #expect(amongOthers.logProbabilities == alone.logProbabilities)
        #expect(alone.logProbabilities.count == alone.tokens.count && alone.logProbabilities.allSatisfy { $0.top.count == 4 })

        let inContext = try GenerationContext(model: model).generate("abc abc", parameters: mine)
        #expect(inContext.logProbabilities == alone.logProbabilities)
    }

    /// Prompts parse control-token texts by default, as llama.cpp does; `parseSpecialTokens`
    /// false keeps them as text.
    @Test(.enabled(if: SharedFiles.available, SharedFiles.skipReason))
    func promptsParseSpecialTokensUnlessTurnedOff() throws {
        // This vocabulary (converted from llama2.c's) spells its control tokens "\n<s>\n", "\n</s>\n".
        let model = try Model.load(path: SharedFiles.model("stories260K.gguf"), tokenizerPath: nil)
        let prompt = "Once\n</s>\nupon"
        let parsed = try model.tokenize(prompt)
        let plain = try model.tokenize(prompt, parseSpecial: false)
        #expect(parsed.contains(2) && !plain.contains(2))
        #expect(parsed == (try model.tokenizer.encode(prompt, addBOS: true, parseSpecial: true)))
        // Through generation: the prompt tokens follow the parameter.
        let a = try model.generate(prompt, .greedy(maxTokens: 1))
        var parameters = GenerationParameters.greedy(maxTokens: 1)
        parameters.parseSpecialTokens = false
        let b = try model.generate(prompt, parameters)
        #expect(a.promptTokens == parsed && b.promptTokens == plain)
    }
}

/// llama.cpp's server on stories260K (../shared/golden/llamacpp.json): its greedy tokens and top-5
/// log-probabilities, through the library's own reporting.
@Suite(.enabled(if: SharedFiles.available, SharedFiles.skipReason))
struct LogProbabilityGoldenTests {
    /// Every golden top-5 entry against ours: equal within `tolerance` where both list the token;
    /// where only one side lists it, it must be within `tolerance` of that side's fifth (a near tie
    /// at the cut). `tolerance` is LlamaCppGoldenTests' bound for the same model.
    static func expectClose(_ ours: StepLogProbabilities, _ golden: LlamaCppGolden.Step, tolerance: Double, step: Int) {
        let mine = Dictionary(uniqueKeysWithValues: ours.top.map { ($0.token, $0.logProbability) })
        let theirs = Dictionary(uniqueKeysWithValues: golden.top.map { (Int($0[0]), $0[1]) })
        for (token, value) in theirs {
            if let m = mine[token] {
                #expect(abs(m - value) <= tolerance, "step \(step) token \(token): \(m) vs llama.cpp \(value)")
            } else {
                #expect(value <= ours.top.last!.logProbability + tolerance, "step \(step): llama.cpp's \(token) (\(value)) missing from ours")
            }
        }
        for (token, value) in mine where theirs[token] == nil {
            #expect(value <= golden.top.last![1] + tolerance, "step \(step): our \(token) (\(value)) missing from llama.cpp's")
        }
    }

    @Test func storiesGreedyTop5MatchLlamaCpp() throws {
        let golden = try LlamaCppGoldenTests.goldenCase("stories260K.gguf")
        let model = try Model.load(path: SharedFiles.model("stories260K.gguf"), tokenizerPath: nil)
        let completion = try model.generate(golden.prompt, GenerationParameters(maxTokens: golden.tokens.count, temperature: 0, topLogProbabilities: 5))
        #expect(completion.promptTokens == golden.prompt_tokens)
        #expect(completion.tokens == golden.tokens)
        #expect(completion.logProbabilities.count == golden.steps.count)
        let tolerance = LlamaCppGoldenTests.unquantizedTolerance["stories260K.gguf"]!
        for (i, (ours, theirs)) in zip(completion.logProbabilities, golden.steps).enumerated() {
            #expect(ours.chosen.token == theirs.token)
            Self.expectClose(ours, theirs, tolerance: tolerance, step: i)
        }
    }
}
