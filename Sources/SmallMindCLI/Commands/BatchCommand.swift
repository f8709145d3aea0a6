// `smallmind batch`: many prompts from a file, results as JSON Lines, progress on standard error,
// resumable. The work itself is `BatchRun` and `BatchOutputFile`; this maps flags onto them.
import ArgumentParser
import Foundation
import SmallMind
import SmallMindServer

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

            OpenAI Batch files ({"custom_id", "method": "POST", "url": "/v1/chat/completions" or \
            "/v1/completions", "body": {...}} per line) are recognised by content. Each body is \
            checked and answered as `smallmind serve` answers it (chat bodies through the model's \
            chat template); the output is OpenAI's Batch output lines ({"id", "custom_id", \
            "response": {"status_code", "request_id", "body"}, "error"}). The bodies carry their own \
            settings: the sampling flags do not apply. A line that cannot be sent is an error line; \
            a rerun resumes by custom_id and runs again every line that is not a 200 response. \
            Duplicate custom_ids are refused before anything runs.

            --server URL (repeatable) sends the requests to running `smallmind serve` instances (or \
            a proxy in front of them) instead of a local model: --model, --tokenizer, --threads, \
            --strategy, --alias, --chat-template-file, --no-parse-special and the KV budget are the servers' \
            business and refused with it. --concurrency is then requests in flight per server. A \
            request that gets no usable answer (connection refused or cut, 429, 5xx) is retried on \
            another server with back-off, at most 5 tries, then its line records the error; 4xx \
            answers are final. Our own prompts go to /v1/completions with every setting sent, so \
            they give the same lines as a local run. --api-key (or SMALLMIND_API_KEY) is sent as \
            'Authorization: Bearer KEY'.
            """)

    @Option(help: ArgumentHelp("The prompts: one per line, JSON Lines, or OpenAI Batch requests; - is standard input.", valueName: "path"))
    public var input: String

    @Option(help: "Where results go (JSON Lines; appended to and resumed). Default: standard output, no resume.")
    public var output: String?

    @Flag(help: "Discard the results already in --output and start over, instead of resuming.")
    public var restart = false

    @Option(help: "Input layout: auto, text, jsonl or openai.")
    public var format: String = "auto"

    @OptionGroup public var modelOptions: ModelOptions

    @Option(parsing: .unconditional, help: "Generations at once, 1 to 1024 (with --server: per server). Default: 16 for the batched strategy and per server, the core count otherwise.")
    public var concurrency: Int?

    @Option(help: "How generations share the model: batched (one engine batch), parallel (a context each) or locked (one at a time). OpenAI Batch input runs batched.")
    public var strategy: String?

    @Option(name: .customLong("server"), help: ArgumentHelp("A running `smallmind serve` (or a proxy before several) to send the requests to, e.g. http://127.0.0.1:8080; repeatable.", valueName: "url"))
    public var servers: [String] = []

    @Option(name: .customLong("api-key"), help: ArgumentHelp("With --server: the servers' key (default: $SMALLMIND_API_KEY).", valueName: "key"))
    public var apiKey: String?

    @Option(help: ArgumentHelp("OpenAI Batch input on a local model: the model name requests may give (default: the model file's name, as serve).", valueName: "name"))
    public var alias: String?

    @Option(name: .customLong("chat-template-file"), help: ArgumentHelp("OpenAI Batch input on a local model: a Jinja chat template to use instead of the model's.", valueName: "path"))
    public var chatTemplateFile: String?

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
        guard BatchInputFormat(rawValue: format) != nil else { throw ValidationError("--format must be auto, text, jsonl or openai, got '\(format)'") }
        if let strategy, GenerationStrategy(rawValue: strategy) == nil {
            throw ValidationError("--strategy must be \(GenerationStrategy.allCases.map(\.rawValue).joined(separator: " or ")), got '\(strategy)'")
        }
        if restart && output == nil { throw ValidationError("--restart goes with --output (without it, results go to standard output and nothing resumes)") }
        if servers.isEmpty {
            if apiKey != nil { throw ValidationError("--api-key goes with --server") }
            return
        }
        let localOnly: [(String, Bool)] = [
            ("--model", modelOptions.model != nil), ("--tokenizer", modelOptions.tokenizer != nil), ("--threads", threadOptions.threads != nil),
            ("--strategy", strategy != nil), ("--alias", alias != nil), ("--chat-template-file", chatTemplateFile != nil),
            ("--no-parse-special", sampling.noParseSpecial), ("--kv-cache-bytes/--kv-cache-gb", kvBudget.resolved != nil),
        ]
        if let (flag, _) = localOnly.first(where: \.1) {
            throw ValidationError("\(flag) does not go with --server: the servers run their own model and settings (it applies to a local run)")
        }
        for url in servers where !(url.hasPrefix("http://") || url.hasPrefix("https://")) {
            throw ValidationError("--server must be an http:// or https:// URL, got '\(url)'")
        }
    }

    /// Every item's parameters unless the item sets its own.
    public var defaults: GenerationParameters { sampling.parameters }

    /// How generations share the model.
    public var chosenStrategy: GenerationStrategy { strategy.flatMap(GenerationStrategy.init(rawValue:)) ?? .default }

    /// Generations at once (per server with --server): --concurrency, else 16 for the batched
    /// strategy and per server, the core count otherwise.
    public var resolvedConcurrency: Int {
        concurrency ?? (chosenStrategy == .batched || !servers.isEmpty ? 16 : ProcessInfo.processInfo.activeProcessorCount)
    }

    /// The generator the flags ask for.
    public func makeGenerator(model: Model) throws -> any TextGenerator {
        do {
            return try chosenStrategy.makeGenerator(
                model: model, concurrency: resolvedConcurrency, threads: threadOptions.count, kvCacheBytes: kvBudget.resolved)
        } catch { throw CommandFailure(error) }
    }

    /// The servers' key: --api-key, else $SMALLMIND_API_KEY; empty means none.
    var resolvedAPIKey: String? {
        let key = apiKey ?? ProcessInfo.processInfo.environment["SMALLMIND_API_KEY"]
        return key?.isEmpty == false ? key : nil
    }

    public func run() async throws {
        let items = try BatchInput.load(path: input, format: BatchInputFormat(rawValue: format)!, defaults: defaults)
        let openAI = items.contains { $0.request != nil }
        if openAI, let strategy, chosenStrategy != .batched {
            throw CommandFailure(message: "--strategy \(strategy): OpenAI Batch requests run on the batched engine, as the server runs them")
        }
        guard !servers.isEmpty else { return try await run(items, openAI: openAI, remote: nil) }
        let remote = RemoteServers(urls: servers, apiKey: resolvedAPIKey, perServer: resolvedConcurrency)
        do {
            try await run(items, openAI: openAI, remote: remote)
            await remote.shutdown()
        } catch {
            await remote.shutdown()
            throw error
        }
    }

    private func run(_ items: [BatchItem], openAI: Bool, remote: RemoteServers?) async throws {
        // The model the results are made with: the servers say which they serve.
        let model = try await remote?.modelName() ?? modelOptions.identity
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
        let summary = pending > 0 ? try await runPending(items, skipping: done, sink: file ?? StandardOutputSink(), openAI: openAI, remote: remote, model: model) : nil
        try file?.sortByIndex()
        if let summary, summary.failed > 0 {
            let again = output == nil ? "" : "; run the same command again to retry them"
            let carry = openAI ? "an error or a response other than 200" : "\"error\""
            throw CommandFailure(message: "\(summary.failed) of \(items.count) items failed; their lines carry \(carry)\(again)")
        }
    }

    /// What runs each item, and the context note's length (local runs only).
    private func execution(
        openAI: Bool, remote: RemoteServers?, model: String
    ) throws -> (BatchRun.Execute, concurrency: Int, context: Int?, engine: Engine?) {
        if let remote {
            let execute = openAI ? BatchExecution.remote(remote) : BatchExecution.remote(remote, model: model)
            return (execute, resolvedConcurrency * remote.urls.count, nil, nil)
        }
        let loaded = try modelOptions.load()
        guard openAI else {
            // The engine caps a slot's positions (EngineOptions.defaultContextLimit); a context is the model's own.
            let context = chosenStrategy == .batched ? EngineOptions().resolvedContextLength(loaded.configuration) : loaded.configuration.contextLength
            let generator = try makeGenerator(model: loaded)
            return (BatchExecution.local(generator: generator, model: model), resolvedConcurrency, context, (generator as? BatchedGenerator)?.engine)
        }
        let template = try ChatTemplateFiles.template(for: loaded, file: chatTemplateFile)
        let engine: Engine
        do {
            engine = try Engine(
                model: loaded, options: EngineOptions(maxBatch: resolvedConcurrency, kvCacheBytes: kvBudget.resolved, threads: threadOptions.count))
        } catch {
            throw CommandFailure(error)
        }
        let handler = OpenAIRequestHandler(engine: engine, template: template, alias: alias ?? modelOptions.identity)
        return (BatchExecution.local(handler: handler), resolvedConcurrency, engine.contextLength, engine)
    }

    /// Runs the items not done yet with a progress bar and Ctrl-C handling; reports on stderr.
    private func runPending(
        _ items: [BatchItem], skipping done: Set<Int>, sink: any BatchRecordSink, openAI: Bool, remote: RemoteServers?, model: String
    ) async throws -> BatchSummary {
        let (execute, concurrency, context, engine) = try execution(openAI: openAI, remote: remote, model: model)
        let pending = items.count - done.count
        let bar = quiet ? nil : ProgressBar(total: pending, isTerminal: isatty(STDERR_FILENO) == 1) { StandardStreams.error($0) }
        let interrupts = InterruptHandler { Foundation.exit(130) }
        interrupts.install()
        let (outcome, interrupted) = await interrupts.run { () -> Result<BatchSummary, any Error> in
            do {
                return .success(try await BatchRun.run(items, skipping: done, concurrency: concurrency, sink: sink, onProgress: { saved, _ in
                    bar?.update(completed: saved)
                }, execute: execute))
            } catch { return .failure(error) }
        }
        bar?.finish()
        let summary = try outcome.get()

        let rate = summary.seconds > 0 ? Double(summary.finished) / summary.seconds : 0
        let tokenRate = summary.seconds > 0 ? Double(summary.generatedTokens) / summary.seconds : 0
        StandardStreams.error(
            "\(summary.finished) items in \(Format.seconds(summary.seconds)) (\(Format.rate(rate)) items/s, \(Format.rate(tokenRate)) tokens/s)"
                + (summary.skipped > 0 ? "; \(summary.skipped) done before" : "") + (summary.failed > 0 ? "; \(summary.failed) failed" : "") + "\n")
        if let engine {
            StandardStreams.error(Self.kvSummary(engine) + "\n")
        }
        if summary.stoppedByContext > 0 {
            let size = context.map { " of \($0) tokens" } ?? ""
            StandardStreams.error("note: \(summary.stoppedByContext) of \(summary.finished) items stopped when the context\(size) was full, "
                + "before their max tokens (finish_reason \"length\")\n")
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
            + Format.utilisation(s.kvUtilization) + "; peak resident memory \(mb(ProcessMemory.peakResidentBytes))"
    }
}
