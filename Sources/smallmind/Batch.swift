// `smallmind batch`: many prompts from a file, results as JSON Lines, progress on standard error,
// resumable. The work itself is `BatchRun` (SmallMindCLI), tested there; this maps flags onto it.
import ArgumentParser
import Foundation
import SmallMind
import SmallMindCLI

struct Batch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run many prompts at once: JSON Lines results, resumable.",
        discussion: """
            Input: one prompt per line, or JSON Lines with "prompt" and optional "max_tokens", \
            "temperature", "top_k", "top_p", "seed", "stop" per item. Output: one JSON line per item \
            (index, prompt, text, finish_reason, prompt_tokens, completion_tokens, seconds, error), \
            written as each finishes. Rerunning with the same --output skips the items already there, \
            so an interrupted run (Ctrl-C, a crash) resumes where it stopped.
            """)

    @Option(help: "The prompts: one per line, or JSON Lines.")
    var input: String

    @Option(help: "Where results go (JSON Lines; appended to and resumed). Default: standard output, no resume.")
    var output: String?

    @Option(help: "Input layout: auto, text or jsonl.")
    var format: String = "auto"

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "Generations at once. Default: 16 for the batched strategy (sequences sharing each step), the core count otherwise.")
    var concurrency: Int?

    @Option(help: "How generations share the model: batched (one engine batch), parallel (a context each) or locked (one at a time).")
    var strategy: String = GenerationStrategy.default.rawValue

    /// The defaults for every item; a JSON Lines item may set its own (item i's seed is seed + i).
    @OptionGroup var sampling: SamplingOptions

    @Flag(help: "No progress bar.")
    var quiet = false

    func validate() throws {
        if let concurrency, !(1...1024).contains(concurrency) { throw ValidationError("--concurrency must be from 1 to 1024, not \(concurrency)") }
        guard BatchInputFormat(rawValue: format) != nil else { throw ValidationError("--format must be auto, text or jsonl, not '\(format)'") }
        guard GenerationStrategy(rawValue: strategy) != nil else {
            throw ValidationError("--strategy must be \(GenerationStrategy.allCases.map(\.rawValue).joined(separator: " or ")), not '\(strategy)'")
        }
    }

    private var defaults: GenerationParameters { sampling.parameters }

    func run() async throws {
        let items = try BatchInput.load(path: input, format: BatchInputFormat(rawValue: format)!, defaults: defaults)
        let file = try output.map { try BatchOutputFile(path: $0, items: items) }
        let done = Set(file?.existing.keys ?? [:].keys)
        let earlierFailures = file?.existing.values.filter { $0.error != nil }.count ?? 0
        let pending = items.count - done.count
        if let output, !done.isEmpty {
            StandardStreams.error(pending == 0
                ? "Nothing to do: all \(items.count) items are already in \(output).\n"
                : "Resuming: \(done.count) of \(items.count) items already in \(output); \(pending) to go.\n")
        }
        let newFailures = pending > 0 ? try await runPending(items, skipping: done, sink: file ?? StandardOutputSink()).failed : 0
        try file?.sortByIndex()
        let failed = earlierFailures + newFailures
        if failed > 0 {
            throw CommandFailure(message: "\(failed) of \(items.count) items failed; their lines carry \"error\"")
        }
    }

    /// Runs the items not done yet with a progress bar and Ctrl-C handling; reports on stderr.
    private func runPending(_ items: [BatchItem], skipping done: Set<Int>, sink: any BatchRecordSink) async throws -> BatchSummary {
        let loaded: Model
        loaded = try modelOptions.load()
        let pending = items.count - done.count
        let bar = quiet ? nil : ProgressBar(total: pending, isTerminal: isatty(STDERR_FILENO) == 1) { StandardStreams.error($0) }
        let interrupts = InterruptHandler { Foundation.exit(130) }
        interrupts.install()
        let chosen = GenerationStrategy(rawValue: strategy)!
        let concurrency = self.concurrency ?? (chosen == .batched ? 16 : ProcessInfo.processInfo.activeProcessorCount)
        let generator = chosen.makeGenerator(model: loaded, concurrency: concurrency)
        let (outcome, interrupted) = await interrupts.run { () -> Result<BatchSummary, any Error> in
            do {
                return .success(try await BatchRun.run(items, skipping: done, generator: generator, concurrency: concurrency, sink: sink) { completed, _ in
                    bar?.update(completed: completed)
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
        if interrupted || summary.cancelled > 0 {
            let saved = output.map { "\(items.count - summary.cancelled) of \(items.count) items are in \($0); run the same command again to finish" }
            throw CommandFailure(message: "interrupted: " + (saved ?? "\(summary.cancelled) items were not run")).withStatus(130)
        }
        return summary
    }
}
