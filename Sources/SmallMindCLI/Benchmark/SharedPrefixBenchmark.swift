// `smallmind bench --shared-prefix N`: what prefix sharing buys. R requests, each an N-token
// preamble followed by PP tokens of its own, then TG generated tokens (greedy), all submitted to
// one engine at once — first with one preamble shared by every request, then with a distinct
// preamble per request (the same lengths, nothing to share). With --verify the shared requests
// are also run one at a time on an engine that shares nothing, and their tokens and
// log-probabilities compared bit for bit. Synthetic token ids, as the sweep uses.
import Foundation
import SmallMind

/// One shared-prefix measurement; JSON field names in the sweep's style.
public struct SharedPrefixResult: Codable, Sendable, Equatable {
    public var requests: Int
    public var preamble: Int
    public var pp: Int
    public var tg: Int
    /// Wall seconds for all requests, with the shared preamble and with distinct ones.
    public var t_shared: Double
    public var t_distinct: Double
    /// t_distinct / t_shared.
    public var speedup: Double
    /// Prompt tokens not computed (prefix hits) in each run.
    public var cached_tokens_shared: Int
    public var cached_tokens_distinct: Int
    /// KV blocks at the peak, and the budget's utilisation (positions held / positions allocated).
    public var peak_kv_blocks_shared: Int
    public var peak_kv_blocks_distinct: Int
    public var kv_utilization_shared: Double
    public var kv_utilization_distinct: Double
    public var kv_block_bytes: Int
    /// With --verify: whether every shared request's tokens and log-probabilities equal the same
    /// request run alone without sharing.
    public var identical_to_unshared: Bool?
    public var peak_rss_bytes: Int
}

public enum SharedPrefixBenchmark {
    public static func run(
        model: Model, requests: Int, preamble: Int, promptTokens: Int, generatedTokens: Int, threads: Int,
        kvCacheType: KVCache.ElementType, kvCacheBytes: Int?, verify: Bool
    ) async throws -> SharedPrefixResult {
        let V = model.configuration.vocabularySize
        let shared = (0..<preamble).map { (($0 &* 7919) &+ 3) % V }
        func suffix(_ i: Int) -> [Int] { (0..<promptTokens).map { ((i &* 104_729) &+ ($0 &* 31) &+ 5) % V } }
        func distinct(_ i: Int) -> [Int] { (0..<preamble).map { ((i &* 7919) &+ ($0 &* 104_729) &+ 11) % V } }
        let sharedPrompts = (0..<requests).map { shared + suffix($0) }
        let distinctPrompts = (0..<requests).map { distinct($0) + suffix($0) }
        // Greedy, with the chosen token's log-probability so that --verify compares logits too.
        let parameters = GenerationParameters(maxTokens: generatedTokens, temperature: 0, topLogProbabilities: 1)
        let options = EngineOptions(
            maxBatch: min(requests, 4096), kvCacheBytes: kvCacheBytes, maxStepTokens: max(512, min(requests, 4096)), threads: threads,
            kvCacheType: kvCacheType)

        func timed(_ prompts: [[Int]]) async throws -> (Double, [Completion], EngineStatistics, Int) {
            let engine = try Engine(model: model, options: options)
            let clock = ContinuousClock(), start = clock.now
            let completions = try await withThrowingTaskGroup(of: (Int, Completion).self) { group in
                for (i, prompt) in prompts.enumerated() { group.addTask { (i, try await engine.generate(tokens: prompt, parameters)) } }
                var results = [Completion?](repeating: nil, count: prompts.count)
                for try await (i, completion) in group { results[i] = completion }
                return results.map { $0! }
            }
            let seconds = (clock.now - start).seconds
            return (seconds, completions, engine.statistics, engine.kvCacheBytes / engine.kvBlockCount)
        }
        let (tShared, sharedResults, sharedStatistics, blockBytes) = try await timed(sharedPrompts)
        let (tDistinct, _, distinctStatistics, _) = try await timed(distinctPrompts)
        var identical: Bool?
        if verify {
            var options = options
            options.maxBatch = 1
            options.maxStepTokens = 512
            options.reusesPrefixes = false
            let alone = try Engine(model: model, options: options)
            identical = true
            for (i, prompt) in sharedPrompts.enumerated() {
                let reference = try await alone.generate(tokens: prompt, parameters)
                if reference.tokens != sharedResults[i].tokens || reference.logProbabilities != sharedResults[i].logProbabilities {
                    identical = false
                }
            }
        }
        return SharedPrefixResult(
            requests: requests, preamble: preamble, pp: promptTokens, tg: generatedTokens,
            t_shared: tShared, t_distinct: tDistinct, speedup: tShared > 0 ? tDistinct / tShared : 0,
            cached_tokens_shared: sharedStatistics.reusedPromptTokens, cached_tokens_distinct: distinctStatistics.reusedPromptTokens,
            peak_kv_blocks_shared: sharedStatistics.peakKVBlocks, peak_kv_blocks_distinct: distinctStatistics.peakKVBlocks,
            kv_utilization_shared: sharedStatistics.kvUtilization, kv_utilization_distinct: distinctStatistics.kvUtilization,
            kv_block_bytes: blockBytes, identical_to_unshared: identical, peak_rss_bytes: ProcessMemory.peakResidentBytes)
    }

    /// A few lines for people.
    public static func report(_ r: SharedPrefixResult) -> String {
        func mb(_ bytes: Int) -> String { String(format: "%.1f MB", Double(bytes) / 1e6) }
        var lines = [
            "\(r.requests) requests: \(r.preamble)-token preamble + \(r.pp) tokens each, \(r.tg) generated",
            String(format: "shared preamble:    %8.3f s, %d prompt tokens cached, peak %d KV blocks (%@), ",
                   r.t_shared, r.cached_tokens_shared, r.peak_kv_blocks_shared, mb(r.peak_kv_blocks_shared * r.kv_block_bytes))
                + Format.utilisation(r.kv_utilization_shared),
            String(format: "distinct preambles: %8.3f s, %d prompt tokens cached, peak %d KV blocks (%@), ",
                   r.t_distinct, r.cached_tokens_distinct, r.peak_kv_blocks_distinct, mb(r.peak_kv_blocks_distinct * r.kv_block_bytes))
                + Format.utilisation(r.kv_utilization_distinct),
            String(format: "speed-up from sharing: %.2f×", r.speedup),
        ]
        if let identical = r.identical_to_unshared {
            lines.append("outputs equal to each request run alone without sharing: " + (identical ? "yes, bit for bit" : "NO"))
        }
        lines.append("peak resident memory: \(mb(r.peak_rss_bytes))")
        return lines.joined(separator: "\n") + "\n"
    }
}

/// The process's own memory.
public enum ProcessMemory {
    /// Peak resident set size so far, in bytes (getrusage's ru_maxrss: kilobytes on Linux, bytes on macOS).
    public static var peakResidentBytes: Int {
        var usage = rusage()
        #if canImport(Darwin)
        guard getrusage(RUSAGE_SELF, &usage) == 0 else { return 0 }
        return Int(usage.ru_maxrss)
        #else
        guard getrusage(RUSAGE_SELF.rawValue, &usage) == 0 else { return 0 }
        return Int(usage.ru_maxrss) * 1024
        #endif
    }
}
