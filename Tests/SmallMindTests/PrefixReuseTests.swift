import Testing
@testable import SmallMind

/// The block index: which blocks a prompt reuses, copy-on-write at the first divergent block,
/// reference counts, least-recently-used eviction.
struct KVBlockManagerTests {
    /// A manager over a demo-model cache of `blocks` blocks of 4 positions and 3 tables.
    static func manager(blocks: Int, sharing: Bool = true) -> KVBlockManager {
        let cache = KVCache(configuration: Model.demo().configuration, slots: 3, blockSize: 4, blockCount: blocks)
        return KVBlockManager(cache: cache, sharing: sharing, identity: 1)
    }

    /// Runs `tokens` through `slot` as the engine would: takes the match's blocks and fresh ones,
    /// indexes the full blocks, releases. Returns the match.
    @discardableResult
    static func run(_ m: KVBlockManager, _ tokens: [Int], limit: Int? = nil, slot: Int = 0, release: Bool = true) -> KVBlockManager.Match {
        let match = m.match(tokens, limit: limit ?? tokens.count - 1)
        #expect(m.blocksNeeded(match, positions: tokens.count) <= m.availableCount)
        m.assign(slot: slot, match: match, positions: tokens.count)
        m.indexFullBlocks(slot: slot, held: tokens)
        if release { m.releaseSlot(slot, held: tokens) }
        return match
    }

    @Test func fullBlocksAreSharedAndTheFirstDivergentBlockIsCopied() {
        let m = Self.manager(blocks: 8)
        Self.run(m, Array(0..<10))  // blocks [0 1 2 3] [4 5 6 7] and a partial [8 9]
        #expect(m.cachedCount == 3 && m.referencedCount == 0)
        // The same first 9 tokens then others: two whole blocks shared, [8] copied from the partial block.
        let match = m.match(Array(0..<9) + [50, 51], limit: 10)
        #expect(match.shared.count == 2 && match.copySource != nil && match.copiedTokens == 1 && match.reusedTokens == 9)
        // Diverging inside the second block: one block shared, two positions of the second copied.
        let inside = m.match([0, 1, 2, 3, 4, 5, 99, 98], limit: 7)
        #expect(inside.shared.count == 1 && inside.copiedTokens == 2 && inside.reusedTokens == 6)
        // A different first token: nothing.
        #expect(m.match([7, 1, 2, 3, 4], limit: 4).reusedTokens == 0)
    }

    @Test func theLastPromptTokenIsNeverReusedSoAFullLastBlockIsCopied() {
        let m = Self.manager(blocks: 8)
        Self.run(m, Array(0..<8) + [20, 21])
        // The same 8-token prompt: its last token must be fed for its logits, so its second block,
        // shared as a whole otherwise, is copied with 3 of its 4 positions.
        let again = m.match(Array(0..<8), limit: 7)
        #expect(again.shared.count == 1 && again.copiedTokens == 3 && again.reusedTokens == 7)
        // A recomputation after preemption needs no logits: everything is reused.
        #expect(m.match(Array(0..<8), limit: 8).reusedTokens == 8)
    }

    @Test func referencedBlocksAreNeverEvictedAndTheLeastRecentlyUsedGoFirst() {
        let m = Self.manager(blocks: 6)
        Self.run(m, [1, 1, 1, 1, 2, 2, 2, 2])  // two full blocks, cached
        Self.run(m, [3, 3, 3, 3, 4, 4, 4, 4])  // two more, cached, used later
        #expect(m.cachedCount == 4 && m.availableCount == 6)
        // A sequence that holds [1 1 1 1] keeps it through evictions.
        let held = Self.run(m, [1, 1, 1, 1, 9, 9], slot: 1, release: false)
        #expect(held.shared.count == 1 && m.referencedCount == 2)
        // Needing 4 fresh blocks: the free one, then the oldest cached ones — [2…] (though its
        // parent is in use), [4…], [3…] — never [1…], which a sequence holds.
        Self.run(m, Array(100..<116), slot: 2, release: false)
        #expect(m.match([1, 1, 1, 1, 2, 2, 2, 2, 0], limit: 8).reusedTokens == 4)
        #expect(m.match([3, 3, 3, 3, 4, 4, 4, 4, 0], limit: 8).reusedTokens == 0)
        #expect(m.availableCount == 0)
        // Now the pool is dry: growing fails rather than evicting a block in use.
        #expect(!m.grow(slot: 2, toHold: 16))
        m.releaseSlot(1, held: [1, 1, 1, 1, 9, 9])
        #expect(m.grow(slot: 2, toHold: 16))
    }

    @Test func twoSequencesComputingTheSameBlocksKeepOneCopy() {
        let m = Self.manager(blocks: 8)
        let tokens = Array(10..<18), longer = tokens + [1]
        // Both admitted before either indexed anything: each computes its own copy (2 + 3 blocks).
        m.assign(slot: 0, match: m.match(tokens, limit: 7), positions: tokens.count)
        m.assign(slot: 1, match: m.match(longer, limit: 8), positions: longer.count)
        #expect(m.referencedCount == 5)
        m.indexFullBlocks(slot: 0, held: tokens)
        m.indexFullBlocks(slot: 1, held: longer)
        // The second finds the first's blocks indexed with the same tokens and takes them instead.
        #expect(m.referencedCount == 3 && m.cache.block(slot: 1, index: 0) == m.cache.block(slot: 0, index: 0))
        m.releaseSlot(0, held: tokens)
        m.releaseSlot(1, held: longer)
        #expect(m.match(tokens + [5], limit: 8).reusedTokens == 8)
        #expect(m.referencedCount == 0)
    }

    /// A copy-on-write needs its source kept until the copy is taken: one block beyond the
    /// source. When the pool cannot spare it, the match is taken without the copy.
    @Test func aCopyNeedsASpareBlockOrIsLeftOut() {
        let m = Self.manager(blocks: 3)
        Self.run(m, Array(0..<12))  // three full blocks, all cached: the whole pool
        let prompt = Array(0..<9) + [50, 51, 52]
        let match = m.match(prompt, limit: 11)
        #expect(match.shared.count == 2 && match.copiedTokens == 1)
        // Two shared, one fresh block, and the cached source held while copying: 4 > 3.
        #expect(m.blocksNeeded(match, positions: 12) == 4)
        let plain = m.withoutCopy(match)
        #expect(plain.copySource == nil && plain.reusedTokens == 8 && m.blocksNeeded(plain, positions: 12) == 3)
        m.assign(slot: 0, match: plain, positions: 12)
        #expect(m.availableCount == 0)
        m.releaseSlot(0, held: prompt)

        // With a fourth block the copy fits, evicting the source's child for it.
        let n = Self.manager(blocks: 4)
        Self.run(n, Array(0..<16))
        let copy = n.match(Array(0..<9) + [50, 51, 52, 53], limit: 12)
        #expect(copy.copiedTokens == 1 && n.blocksNeeded(copy, positions: 13) == 4)
        n.assign(slot: 0, match: copy, positions: 13)
        #expect(Set((0..<4).map { n.cache.block(slot: 0, index: $0) }).count == 4 && n.availableCount == 0)
    }

    @Test func withoutSharingNothingIsIndexed() {
        let m = Self.manager(blocks: 4, sharing: false)
        Self.run(m, Array(0..<9))
        #expect(m.cachedCount == 0 && m.availableCount == 4)
        #expect(m.match(Array(0..<9), limit: 8).reusedTokens == 0)
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
