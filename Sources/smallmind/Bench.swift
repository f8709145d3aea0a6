import ArgumentParser
import Foundation
import SmallMind
import SmallMindCLI
import SmallMindKernels

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure batched prompt processing and generation speed (like llama-batched-bench).",
        discussion: """
            For each batch size B: B sequences each process a PP-token prompt (one batched prefill), \
            then generate TG tokens each (B tokens per step, greedy, end-of-sequence ignored). One \
            warm-up, then the median of --repetitions runs. Build with -c release for real figures.
            """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "Comma-separated batch sizes.")
    var batch: String = "1,2,4,8,16,32"

    @Option(name: .customLong("prompt-tokens"), help: "Prompt tokens per sequence (PP).")
    var promptTokens: Int = 16

    @Option(name: .customLong("gen-tokens"), help: "Generated tokens per sequence (TG).")
    var genTokens: Int = 32

    @Option(help: "Timed runs per batch size (after one warm-up); the median is reported.")
    var repetitions: Int = 3

    @Option(help: "Kernel threads (default: all cores).")
    var threads: Int = ThreadPool.processorCount

    @Option(name: .customLong("kv-cache-type"), help: "How the KV cache stores keys and values: f32 or f16 (half the memory).")
    var kvCacheType: String = "f32"

    @Flag(help: "Print JSON (one object per batch size) instead of the table.")
    var json = false

    func run() async throws {
        do {
            let sizes = try parseList(batch, name: "--batch")
            guard promptTokens >= 1, genTokens >= 1 else { throw CommandFailure(message: "--prompt-tokens and --gen-tokens must be 1 or more") }
            guard repetitions >= 1 else { throw CommandFailure(message: "--repetitions must be 1 or more") }
            guard (1...256).contains(threads) else { throw CommandFailure(message: "--threads must be in 1...256") }
            guard let cacheType = KVCache.ElementType(rawValue: kvCacheType) else {
                throw CommandFailure(message: "--kv-cache-type must be f32 or f16, got '\(kvCacheType)'")
            }
            let loaded = try modelOptions.load()
            guard promptTokens + genTokens <= loaded.configuration.contextLength else {
                throw CommandFailure(message: "--prompt-tokens + --gen-tokens (\(promptTokens + genTokens)) exceed the model's context of \(loaded.configuration.contextLength)")
            }
            let pool = ThreadPool(threads: threads)
            StandardStreams.error("model: \(loaded.name) — \(loaded.configuration)\nthreads: \(threads), repetitions: \(repetitions) (+1 warm-up), KV cache: \(cacheType.rawValue)\n")
            var rows: [BatchedBenchmarkResult] = []
            if !json { StandardStreams.out(BatchedBenchmark.table([])) }
            for b in sizes {
                let row = BatchedBenchmark.run(
                    model: loaded, batch: b, promptTokens: promptTokens, generatedTokens: genTokens, pool: pool, repetitions: repetitions,
                    kvCacheType: cacheType)
                rows.append(row)
                if !json { StandardStreams.out(BatchedBenchmark.table([row]).split(separator: "\n").dropFirst(2).joined() + "\n") }
            }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                StandardStreams.out(String(decoding: try encoder.encode(rows), as: UTF8.self) + "\n")
            }
        } catch {
            throw CommandFailure(error)
        }
    }
}

/// Parses "1,2,4" into positive integers, naming the option on error.
func parseList(_ text: String, name: String) throws -> [Int] {
    let values = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
    guard !values.isEmpty, values.allSatisfy({ ($0 ?? 0) >= 1 && ($0 ?? 0) <= 4096 }) else {
        throw CommandFailure(message: "\(name) wants comma-separated whole numbers in 1...4096, got '\(text)'")
    }
    return values.map { $0! }
}
