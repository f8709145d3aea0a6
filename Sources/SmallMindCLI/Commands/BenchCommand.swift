// `smallmind bench`: llama-batched-bench's sweep over batch sizes.
import ArgumentParser
import Foundation
import SmallMind
import SmallMindKernels

public struct BenchCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure batched prompt processing and generation speed (like llama-batched-bench).",
        discussion: """
            For each batch size B: B sequences each process a PP-token prompt (one batched prefill), \
            then generate TG tokens each (B tokens per step, greedy, end-of-sequence ignored). One \
            warm-up, then the median of --repetitions runs. Build with -c release for real figures. \
            Each row's JSON carries the process's peak resident memory so far (peak_rss_bytes).

            With --shared-prefix N: prefix sharing instead. --requests R requests, each an N-token \
            preamble and PP tokens of its own, then TG generated, all at once through the engine: once \
            with one preamble for all, once with distinct preambles; reports both times, the prompt \
            tokens cached, the KV blocks at the peak and the budget's utilisation. --verify also runs \
            each shared request alone without sharing and compares tokens and log-probabilities.
            """)

    @OptionGroup public var modelOptions: ModelOptions

    @Option(help: "Comma-separated batch sizes.")
    public var batch: String = "1,2,4,8,16,32"

    @Option(name: .customLong("prompt-tokens"), parsing: .unconditional, help: "Prompt tokens per sequence (PP).")
    public var promptTokens: Int = 16

    @Option(name: .customLong("gen-tokens"), parsing: .unconditional, help: "Generated tokens per sequence (TG).")
    public var genTokens: Int = 32

    @Option(parsing: .unconditional, help: "Timed runs per batch size (after one warm-up); the median is reported.")
    public var repetitions: Int = 3

    @OptionGroup public var threadOptions: ThreadOptions

    @Option(name: .customLong("kv-cache-type"), help: "How the KV cache stores keys and values: f32 or f16 (half the memory).")
    public var kvCacheType: String = "f32"

    @OptionGroup public var kvBudget: KVBudgetOptions

    @Option(name: .customLong("shared-prefix"), parsing: .unconditional, help: ArgumentHelp(
        "Measure prefix sharing with an N-token preamble (see above) instead of the sweep.", valueName: "N"))
    public var sharedPrefix: Int?

    @Option(parsing: .unconditional, help: "Requests for --shared-prefix, 1 to 4096.")
    public var requests: Int = 64

    @Flag(help: "With --shared-prefix: compare every shared request with the same request run alone without sharing.")
    public var verify = false

    @Flag(help: "Print JSON (one object per batch size) instead of the table.")
    public var json = false

    public init() {}

    public func validate() throws {
        _ = try CommandLineValues.positiveList(batch, name: "--batch")
        guard promptTokens >= 1 else { throw ValidationError("--prompt-tokens must be 1 or more, got \(promptTokens)") }
        guard genTokens >= 1 else { throw ValidationError("--gen-tokens must be 1 or more, got \(genTokens)") }
        if let sharedPrefix, sharedPrefix < 1 { throw ValidationError("--shared-prefix must be 1 or more, got \(sharedPrefix)") }
        guard (1...4096).contains(requests) else { throw ValidationError("--requests must be from 1 to 4096, got \(requests)") }
        if verify && sharedPrefix == nil { throw ValidationError("--verify goes with --shared-prefix") }
        guard repetitions >= 1 else { throw ValidationError("--repetitions must be 1 or more, got \(repetitions)") }
        guard KVCache.ElementType(rawValue: kvCacheType) != nil else { throw ValidationError("--kv-cache-type must be f32 or f16, got '\(kvCacheType)'") }
    }

    public func run() async throws {
        do {
            let sizes = try CommandLineValues.positiveList(batch, name: "--batch")
            let cacheType = KVCache.ElementType(rawValue: kvCacheType)!
            let loaded = try modelOptions.load()
            guard promptTokens + genTokens <= loaded.configuration.contextLength else {
                throw CommandFailure(message: "--prompt-tokens + --gen-tokens (\(promptTokens + genTokens)) exceed the model's context of \(loaded.configuration.contextLength)")
                    .withStatus(ExitCode.validationFailure.rawValue)
            }
            let budget = kvBudget.resolved
            if let sharedPrefix {
                StandardStreams.error("model: \(loaded.name) — \(loaded.configuration)\nthreads: \(threadOptions.count), KV cache: \(cacheType.rawValue)\n")
                let result = try await SharedPrefixBenchmark.run(
                    model: loaded, requests: requests, preamble: sharedPrefix, promptTokens: promptTokens, generatedTokens: genTokens,
                    threads: threadOptions.count, kvCacheType: cacheType, kvCacheBytes: budget, verify: verify)
                if json {
                    try StandardStreams.json(result, pretty: true)
                } else {
                    StandardStreams.out(SharedPrefixBenchmark.report(result))
                }
                return
            }
            if let budget {
                let perPosition = KVCache.bytesPerPosition(configuration: loaded.configuration, elementType: cacheType)
                let needed = sizes.max()! * (promptTokens + genTokens)
                let blockSize = KVCache.defaultBlockSize
                let held = budget / (perPosition * blockSize) * blockSize
                // The sweep keeps every sequence to its end (no preemption): each needs its blocks.
                let perSequence = (promptTokens + genTokens + blockSize - 1) / blockSize * blockSize
                guard sizes.max()! * perSequence <= held else {
                    throw CommandFailure(message: "the KV budget of \(budget) bytes holds \(held) positions; the largest batch needs \(needed) "
                        + "(\(sizes.max()!) × \(promptTokens + genTokens), in blocks of \(blockSize): \(sizes.max()! * perSequence))")
                        .withStatus(ExitCode.validationFailure.rawValue)
                }
            }
            let threads = threadOptions.count
            let pool = ThreadPool(threads: threads)
            StandardStreams.error("model: \(loaded.name) — \(loaded.configuration)\nthreads: \(threads), repetitions: \(repetitions) (+1 warm-up), KV cache: \(cacheType.rawValue)\n")
            var rows: [BatchedBenchmarkResult] = []
            if !json { StandardStreams.out(BatchedBenchmark.table([])) }
            for b in sizes {
                let row = BatchedBenchmark.run(
                    model: loaded, batch: b, promptTokens: promptTokens, generatedTokens: genTokens, pool: pool, repetitions: repetitions,
                    kvCacheType: cacheType)
                var measured = row
                measured.peak_rss_bytes = ProcessMemory.peakResidentBytes
                rows.append(measured)
                if !json { StandardStreams.out(BatchedBenchmark.table([row]).split(separator: "\n").dropFirst(2).joined() + "\n") }
            }
            if json {
                try StandardStreams.json(rows, pretty: true)
            }
        } catch let failure as CommandFailure {
            throw failure
        } catch {
            throw CommandFailure(error)
        }
    }
}

extension CommandLineValues {
    /// "1,2,4" → [1, 2, 4]: whole numbers in 1...4096, in the given order; a usage error naming
    /// the option otherwise.
    public static func positiveList(_ text: String, name: String) throws -> [Int] {
        let values = text.split(separator: ",", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ ($0 ?? 0) >= 1 && ($0 ?? 0) <= 4096 }) else {
            throw ValidationError("\(name) wants comma-separated whole numbers in 1...4096, got '\(text)'")
        }
        return values.map { $0! }
    }
}
