// A sweep in the spirit of llama.cpp's llama-batched-bench: B sequences each process a PP-token
// prompt (all B prompts in one batched prefill), then generate TG tokens each, B tokens per step,
// greedily and without stopping at end-of-sequence. T_TG times TG forward passes of B tokens, as
// llama-batched-bench's does (the one after the last sampled tokens included), so S_TG compares. It drives the same forward pass, KV cache and
// thread pool the engine steps through, without the scheduler around them.
import Foundation
import SmallMind
import SmallMindKernels

/// One row of the sweep; field names follow llama-batched-bench's JSON output.
public struct BatchedBenchmarkResult: Codable, Sendable, Equatable {
    public var pp: Int
    public var tg: Int
    public var b: Int
    /// Seconds to process all prompts, and prompt tokens per second.
    public var t_pp: Double
    public var s_pp: Double
    /// Seconds to generate, and generated tokens per second.
    public var t_tg: Double
    public var s_tg: Double
    /// Total seconds and total tokens per second.
    public var t: Double
    public var s: Double
    /// The process's peak resident memory when the row was done (`smallmind bench` fills it in).
    public var peak_rss_bytes: Int? = nil
}

public enum BatchedBenchmark {
    /// Runs one configuration `repetitions` times after one warm-up and keeps the median of each timing.
    public static func run(
        model: Model, batch: Int, promptTokens: Int, generatedTokens: Int, pool: ThreadPool, repetitions: Int,
        kvCacheType: KVCache.ElementType = .f32
    ) -> BatchedBenchmarkResult {
        var prefill: [Double] = []
        var generation: [Double] = []
        // One cache and workspace for every run, emptied between runs, as llama-batched-bench
        // clears its context's memory: the timed runs measure the steady state an engine runs in
        // (its pool allocated once, its pages resident), not the kernel's first touch of fresh
        // pages, which a new cache per run would put into T_PP or T_TG depending on its layout.
        let cache = KVCache(
            configuration: model.configuration, slots: batch, contextLength: promptTokens + generatedTokens, elementType: kvCacheType)
        let workspace = Workspace(configuration: model.configuration, capacity: batch * promptTokens)
        for repetition in 0...repetitions {
            cache.removeAll()
            let (p, g) = once(
                model: model, batch: batch, promptTokens: promptTokens, generatedTokens: generatedTokens, pool: pool,
                cache: cache, workspace: workspace)
            if repetition > 0 {  // the first run warms caches and page-ins
                prefill.append(p)
                generation.append(g)
            }
        }
        let tpp = median(prefill), ttg = median(generation)
        let ppTokens = Double(batch * promptTokens), tgTokens = Double(batch * generatedTokens)
        return BatchedBenchmarkResult(
            pp: promptTokens, tg: generatedTokens, b: batch,
            t_pp: tpp, s_pp: tpp > 0 ? ppTokens / tpp : 0,
            t_tg: ttg, s_tg: ttg > 0 ? tgTokens / ttg : 0,
            t: tpp + ttg, s: tpp + ttg > 0 ? (ppTokens + tgTokens) / (tpp + ttg) : 0)
    }

    static func once(
        model: Model, batch: Int, promptTokens: Int, generatedTokens: Int, pool: ThreadPool, cache: KVCache, workspace: Workspace
    ) -> (Double, Double) {
        let c = model.configuration
        let clock = ContinuousClock()
        // Distinct, deterministic prompts: the bench measures speed, the tokens only need to be valid.
        var prompt: [BatchToken] = []
        for s in 0..<batch {
            for p in 0..<promptTokens {
                prompt.append(BatchToken(token: (s * 7919 + p * 104_729 + 3) % c.vocabularySize, position: p, slot: s, wantsLogits: p == promptTokens - 1))
            }
        }
        let start = clock.now
        var logits = model.weights.forward(prompt, cache: cache, workspace: workspace, pool: pool)
        let prefillEnd = clock.now
        // TG forward passes of B tokens, at positions PP ..< PP + TG, as llama-batched-bench times
        // them (it decodes TG steps after the prompt; the prompt's logits give the first tokens).
        var step = (0..<batch).map { BatchToken(token: 0, position: promptTokens, slot: $0) }
        for t in 0..<generatedTokens {
            for s in 0..<batch {
                let row = UnsafeBufferPointer(rebasing: logits[s * c.vocabularySize..<(s + 1) * c.vocabularySize])
                step[s].token = Sampler.argmax(row)
                step[s].position = promptTokens + t
            }
            logits = model.weights.forward(step, cache: cache, workspace: workspace, pool: pool)
        }
        let end = clock.now
        return ((prefillEnd - start).seconds, (end - prefillEnd).seconds)
    }

    static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    /// The table llama-batched-bench prints.
    public static func table(_ rows: [BatchedBenchmarkResult]) -> String {
        var lines = ["|    PP |     TG |    B |   T_PP s | S_PP t/s |   T_TG s | S_TG t/s |      T s |    S t/s |",
                     "|-------|--------|------|----------|----------|----------|----------|----------|----------|"]
        for r in rows {
            lines.append(String(
                format: "| %5d | %6d | %4d | %8.3f | %8.2f | %8.3f | %8.2f | %8.3f | %8.2f |",
                r.pp, r.tg, r.b, r.t_pp, r.s_pp, r.t_tg, r.s_tg, r.t, r.s))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
