// `smallmind batch`: many prompts from a file, results as JSON Lines, progress on standard error,
// resumable. The work itself is `BatchRun` and `BatchOutputFile`; this maps flags onto them.
import ArgumentParser
import Foundation
import SmallMind

public struct BatchCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "batch",
        abstract: "Run many prompts at once: JSON Lines results, resumable.",
        discussion: """
            Input: one prompt per line, or JSON Lines with "prompt" and optional "max_tokens", \
            "temperature", "top_k", "top_p", "seed", "stop" per item. Output: one JSON line per item \
            (index, prompt, text, finish_reason, prompt_tokens, completion_tokens, seconds, or \
            error; then model and parameters, the settings that made it), written as each finishes.

            Rerunning with the same --output resumes: items with a result are skipped, items whose \
            line carries an error run again (their lines are replaced), so an interrupted run \
            (Ctrl-C, a crash) finishes where it stopped. A rerun whose settings (model, sampling, \
            max tokens) differ from the file's is refused; --restart discards the file's results \
            instead. While a run writes a file, it holds a lock on it: a second run on the same \
            --output refuses at once.

            A prompt longer than the model's context fails (its line carries the error); other \
            items stop when the context is full (finish_reason "length"), and stderr counts them.

            --threads is the batched strategy's kernel threads; the parallel and locked \
            strategies run each generation on one thread, --concurrency of them at once.
            """)

    @Option(help: ArgumentHelp("The prompts: one per line, or JSON Lines; - is standard input.", valueName: "path"))
    public var input: String

    @Option(help: "Where results go (JSON Lines; appended to and resumed). Default: standard output, no resume.")
    public var output: String?

    @Flag(help: "Discard the results already in --output and start over, instead of resuming.")
    public var restart = false

    @Option(help: "Input layout: auto, text or jsonl.")
    public var format: String = "auto"

    @OptionGroup public var modelOptions: ModelOptions

    @Option(parsing: .unconditional, help: "Generations at once, 1 to 1024. Default: 16 for the batched strategy (sequences sharing each step), the core count otherwise.")
    public var concurrency: Int?

    @Option(help: "How generations share the model: batched (one engine batch), parallel (a context each) or locked (one at a time).")
    public var strategy: String = GenerationStrategy.default.rawValue

    /// The defaults for every item; a JSON Lines item may set its own (item i's seed is seed + i).
    @OptionGroup public var sampling: SamplingOptions

    /// The batched strategy's kernel threads (parallel and locked run each generation on one thread).
    @OptionGroup public var threadOptions: ThreadOptions

    /// The batched strategy's KV budget.
    @OptionGroup public var kvBudget: KVBudgetOptions

    @Flag(help: "No progress bar.")
    public var quiet = false

    public init() {}

    public func validate() throws {
        if let concurrency, !(1...1024).contains(concurrency) { throw ValidationError("--concurrency must be from 1 to 1024, got \(concurrency)") }
        guard BatchInputFormat(rawValue: format) != nil else { throw ValidationError("--format must be auto, text or jsonl, got '\(format)'") }
        guard GenerationStrategy(rawValue: strategy) != nil else {
            throw ValidationError("--strategy must be \(GenerationStrategy.allCases.map(\.rawValue).joined(separator: " or ")), got '\(strategy)'")
        }
        if restart && output == nil { throw ValidationError("--restart goes with --output (without it, results go to standard output and nothing resumes)") }
    }

    /// Every item's parameters unless the item sets its own.
    public var defaults: GenerationParameters { sampling.parameters }

    /// How generations share the model.
    public var chosenStrategy: GenerationStrategy { GenerationStrategy(rawValue: strategy)! }

    /// Generations at once: --concurrency, else 16 for the batched strategy, the core count otherwise.
    public var resolvedConcurrency: Int {
        concurrency ?? (chosenStrategy == .batched ? 16 : ProcessInfo.processInfo.activeProcessorCount)
    }

    /// The generator the flags ask for.
    public func makeGenerator(model: Model) throws -> any TextGenerator {
        do {
            return try chosenStrategy.makeGenerator(
                model: model, concurrency: resolvedConcurrency, threads: threadOptions.count, kvCacheBytes: kvBudget.resolved)
        } catch { throw CommandFailure(error) }
    }

    public func run() async throws {
        let items = try BatchInput.load(path: input, format: BatchInputFormat(rawValue: format)!, defaults: defaults)
        let model = modelOptions.identity
        let file = try output.map { try BatchOutputFile(path: $0, items: items, model: model, restart: restart) }
        let done = Set(file?.existing.keys ?? [:].keys)
        let pending = items.count - done.count
        if let output, !done.isEmpty || !(file?.retrying.isEmpty ?? true) {
            let retrying = file?.retrying.count ?? 0
            let retry = retrying == 0 ? "" : " (\(retrying) failed before and run again)"
            StandardStreams.error(pending == 0
                ? "Nothing to do: all \(items.count) items are already in \(output).\n"
                : "Resuming: \(done.count) of \(items.count) items already in \(output); \(pending) to go\(retry).\n")
        }
        let summary = pending > 0 ? try await runPending(items, skipping: done, sink: file ?? StandardOutputSink()) : nil
        try file?.sortByIndex()
        if let summary, summary.failed > 0 {
            let again = output == nil ? "" : "; run the same command again to retry them"
            throw CommandFailure(message: "\(summary.failed) of \(items.count) items failed; their lines carry \"error\"\(again)")
        }
    }

    /// Runs the items not done yet with a progress bar and Ctrl-C handling; reports on stderr.
    private func runPending(_ items: [BatchItem], skipping done: Set<Int>, sink: any BatchRecordSink) async throws -> BatchSummary {
        let loaded = try modelOptions.load()
        let pending = items.count - done.count
        let bar = quiet ? nil : ProgressBar(total: pending, isTerminal: isatty(STDERR_FILENO) == 1) { StandardStreams.error($0) }
        let interrupts = InterruptHandler { Foundation.exit(130) }
        interrupts.install()
        let generator = try makeGenerator(model: loaded)
        let (concurrency, model) = (resolvedConcurrency, modelOptions.identity)
        let (outcome, interrupted) = await interrupts.run { () -> Result<BatchSummary, any Error> in
            do {
                return .success(try await BatchRun.run(items, skipping: done, generator: generator, concurrency: concurrency, model: model, sink: sink) { saved, _ in
                    bar?.update(completed: saved)
                })
            } catch { return .failure(error) }
        }
        bar?.finish()
        let summary = try outcome.get()

        let rate = summary.seconds > 0 ? Double(summary.finished) / summary.seconds : 0
        let tokenRate = summary.seconds > 0 ? Double(summary.generatedTokens) / summary.seconds : 0
        StandardStreams.error(
            "\(summary.finished) items in \(Format.seconds(summary.seconds)) (\(Format.rate(rate)) items/s, \(Format.rate(tokenRate)) tokens/s)"
                + (summary.skipped > 0 ? "; \(summary.skipped) done before" : "") + (summary.failed > 0 ? "; \(summary.failed) failed" : "") + "\n")
        if let engine = (generator as? BatchedGenerator)?.engine {
            StandardStreams.error(Self.kvSummary(engine) + "\n")
        }
        if summary.stoppedByContext > 0 {
            // The engine caps a slot's positions (EngineOptions.defaultContextLimit); a context is the model's own.
            let context = chosenStrategy == .batched ? EngineOptions().resolvedContextLength(loaded.configuration) : loaded.configuration.contextLength
            StandardStreams.error("note: \(summary.stoppedByContext) of \(summary.finished) items stopped when the context of "
                + "\(context) tokens was full, before their max tokens (finish_reason \"length\")\n")
        }
        if interrupted || summary.cancelled > 0 {
            let saved = output.map { "\(summary.skipped + summary.finished) of \(items.count) items are in \($0); run the same command again to finish" }
            throw CommandFailure(message: "interrupted: " + (saved ?? "\(summary.cancelled) items were not run")).withStatus(130)
        }
        return summary
    }

    /// The engine's KV cache over the run: prompt tokens reused (prefix hits), preemptions, the
    /// peak of blocks in use against the budget, the budget's utilisation, and the process's peak memory.
    static func kvSummary(_ engine: Engine) -> String {
        let s = engine.statistics, blockBytes = engine.kvCacheBytes / engine.kvBlockCount
        func mb(_ bytes: Int) -> String { Format.rate(Double(bytes) / 1e6) + " MB" }
        return "KV cache: \(s.reusedPromptTokens) prompt tokens reused, \(s.preemptions) preemptions; peak \(s.peakKVBlocks) of "
            + "\(engine.kvBlockCount) blocks of \(engine.kvBlockSize) positions (\(mb(s.peakKVBlocks * blockBytes)) of \(mb(engine.kvCacheBytes))), "
            + "utilisation \(Format.rate(100 * s.kvUtilization)) %; peak resident memory \(mb(ProcessMemory.peakResidentBytes))"
    }
}
