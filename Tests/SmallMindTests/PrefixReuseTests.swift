import Testing
@testable import SmallMind

/// Which free slot a request takes, and how much of its prompt that slot already holds.
struct PrefixCacheTests {
    @Test func takesTheSlotHoldingTheLongestPrefix() throws {
        var cache = PrefixCache(slots: 3, enabled: true)
        _ = cache.take(for: [1])
        _ = cache.take(for: [1])
        _ = cache.take(for: [1])
        let long = Array(1...40)
        cache.release(slot: 2, holding: Array(long[..<20]))
        cache.release(slot: 0, holding: Array(long[..<30]) + [99])
        cache.release(slot: 1, holding: [7, 7, 7])
        let takenSlot = cache.take(for: long)
        let (slot, reused) = try #require(takenSlot)
        #expect(slot == 0 && reused == 30)
        let takenNext = cache.take(for: long)
        let (next, nextReused) = try #require(takenNext)
        #expect(next == 2 && nextReused == 20)
    }

    @Test func aShortSharedPrefixDoesNotSpendAnotherSlotsCache() throws {
        var cache = PrefixCache(slots: 2, enabled: true)
        _ = cache.take(for: [1])
        _ = cache.take(for: [1])
        cache.release(slot: 1, holding: [1] + Array(100..<140))  // BOS + a long conversation
        cache.release(slot: 0, holding: [1, 5, 6])  // released later: fresher
        // Sharing only BOS with slot 1 is not worth its 41 cached tokens: the stalest slot goes.
        let takenSlot = cache.take(for: [1, 2, 3, 4])
        let (slot, reused) = try #require(takenSlot)
        #expect(slot == 1 && reused == 1)
    }

    @Test func aConversationsNextTurnExtendsItsSlotHoweverShort() throws {
        var cache = PrefixCache(slots: 2, enabled: true)
        _ = cache.take(for: [1])
        _ = cache.take(for: [1])
        cache.release(slot: 0, holding: [1, 2, 3])
        cache.release(slot: 1, holding: [9])
        let takenSlot = cache.take(for: [1, 2, 3, 4, 5])
        let (slot, reused) = try #require(takenSlot)
        #expect(slot == 0 && reused == 3)
    }

    @Test func neverTheWholePromptAndNothingWhenDisabled() throws {
        var cache = PrefixCache(slots: 1, enabled: true)
        _ = cache.take(for: [1])
        cache.release(slot: 0, holding: Array(0..<50))
        let taken = cache.take(for: Array(0..<20))
        #expect(taken?.reused == 19)  // the last prompt token is fed again
        let none = cache.take(for: [1])
        #expect(none == nil)

        var off = PrefixCache(slots: 1, enabled: false)
        _ = off.take(for: [1])
        off.release(slot: 0, holding: Array(0..<50))
        let takenOff = off.take(for: Array(0..<20))
        #expect(takenOff?.reused == 0)
    }
}

/// A conversation through the engine: each turn's prompt extends the previous turn's prompt and
/// reply, so the slot it finished in already holds all but the new tokens.
struct PrefixReuseTests {
    static func model() throws -> Model {
        try Model.load(path: try TestModels.llama2cCheckpoint(seqLen: 200, seed: 7), tokenizerPath: try TestModels.tokenizerFile())
    }

    /// The full distribution (the vocabulary has 12 tokens) at every step: equal log-probabilities
    /// mean equal logits up to the shared log-sum-exp.
    static let parameters = GenerationParameters(maxTokens: 12, temperature: 0.9, seed: 5, topLogProbabilities: 12)

    /// Runs three turns; returns each turn's completion.
    static func conversation(_ engine: Engine, companions: Bool) async throws -> [Completion] {
        var prompt = "abcabcabcabcabcabcabcabcdd"
        var turns: [Completion] = []
        for turn in 0..<3 {
            // Other requests in the same steps: batch invariance must hold alongside reuse.
            let other = Task {
                guard companions else { return }
                _ = try await engine.generate(
                    "hgfe\(String(repeating: "a", count: turn))", GenerationParameters(maxTokens: 20, temperature: 1, seed: UInt64(turn)))
            }
            let completion = try await engine.generate(prompt, parameters)
            try await other.value
            turns.append(completion)
            // The random model may emit `<unk>`, which does not tokenize back: the reply's letters only.
            prompt += completion.continuation.filter { ("a"..."h").contains($0) } + "ggh"
        }
        return turns
    }

    @Test func reusedPrefixesGiveTheSameBitsAsRecomputedOnes() async throws {
        let model = try Self.model()
        let recomputed = try await Self.conversation(
            try Engine(model: model, options: EngineOptions(maxBatch: 1, threads: 1, reusesPrefixes: false)), companions: false)
        for threads in [1, 2] {
            let engine = try Engine(model: model, options: EngineOptions(maxBatch: 3, prefillChunk: 4, threads: threads))
            let reused = try await Self.conversation(engine, companions: true)
            for turn in 0..<3 {
                #expect(reused[turn].promptTokens == recomputed[turn].promptTokens)
                #expect(reused[turn].tokens == recomputed[turn].tokens, "turn \(turn), \(threads) threads")
                #expect(reused[turn].logProbabilities == recomputed[turn].logProbabilities, "turn \(turn), \(threads) threads")
                #expect(recomputed[turn].cachedPromptTokenCount == 0)
            }
            #expect(reused[0].cachedPromptTokenCount == 0)
            // Turn n+1 finds at least turn n's prompt in the slot that turn finished in.
            for turn in 1..<3 {
                #expect(reused[turn].cachedPromptTokenCount >= reused[turn - 1].promptTokenCount, "turn \(turn)")
            }
            #expect(engine.statistics.reusedPromptTokens >= reused[1].cachedPromptTokenCount + reused[2].cachedPromptTokenCount)
        }
    }

    @Test func theSamePromptAgainComputesOnlyItsLastToken() async throws {
        let model = try Self.model()
        let engine = try Engine(model: model, options: EngineOptions(maxBatch: 2, threads: 2))
        let first = try await engine.generate("abcdefgh", Self.parameters)
        let again = try await engine.generate("abcdefgh", Self.parameters)
        #expect(again.cachedPromptTokenCount == first.promptTokenCount - 1)
        #expect(again.tokens == first.tokens)
        #expect(again.logProbabilities == first.logProbabilities)
    }

    @Test func aCancelledPrefillKeepsOnlyWhatItComputed() async throws {
        let model = try Self.model()
        let engine = try Engine(model: model, options: EngineOptions(maxBatch: 1, prefillChunk: 2, threads: 1))
        // Cancelled at once: whatever part of the prompt was computed is all a later request reuses.
        let task = Task { try await engine.generate(String(repeating: "abcd", count: 30), Self.parameters) }
        task.cancel()
        _ = try await task.value
        let fresh = try Engine(model: model, options: EngineOptions(maxBatch: 1, threads: 1, reusesPrefixes: false))
        let prompt = String(repeating: "abcd", count: 30) + "h"
        let expected = try await fresh.generate(prompt, Self.parameters)
        let reused = try await engine.generate(prompt, Self.parameters)
        #expect(reused.tokens == expected.tokens)
        #expect(reused.logProbabilities == expected.logProbabilities)
    }
}
