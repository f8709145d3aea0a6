// Scenarios 1 to 3. Every generation goes through a `TextGenerator` (the strategy seam) and every
// batch through `BatchProcessor`, so results stay in prompt order and a failed or cancelled item
// is reported in its own place.
import Foundation
import SmallMind

extension SampleApp {
    /// Scenario 1: the four prompts at once, each result with the thread that computed it.
    func basicConcurrentGeneration(model: Model) async -> Outcome {
        let prompts = SamplePrompts.basic
        let maxTokens = options.maxTokens ?? 30, concurrency = options.concurrency ?? prompts.count
        let strategy = GenerationStrategy.default
        let generator = strategy.makeGenerator(model: model, concurrency: concurrency, threads: options.threadCount)
        say("\n=== Scenario 1: Basic Concurrent Generation ===\n")
        say("\(prompts.count) prompts, \(concurrency) at a time (max \(maxTokens) tokens, temperature 0.8, top-k 20, seed = prompt index, strategy \(strategy))\n\n")

        let clock = ContinuousClock(), start = clock.now
        let results = await BatchProcessor<String, Completion>(maxConcurrency: concurrency) { prompt, index in
            try await generator.generate(prompt, GenerationParameters(maxTokens: maxTokens, temperature: 0.8, topK: 20, topP: 1, seed: UInt64(index)))
        }.process(prompts)
        let wall = (clock.now - start).seconds

        var busy = 0.0
        for (index, result) in results.enumerated() {
            say("[\(index + 1)] \(prompts[index])\n")
            switch result {
            case .success(let completion):
                busy += completion.timings.totalSeconds
                let thread = completion.threadID.map { "thread \($0)" } ?? "thread unknown"
                // The engine computes every sequence on its own thread, all of them in each step.
                let worker = strategy == .batched ? "batched on engine \(thread)" : "worker \(thread)"
                say("    \(worker), \(Format.seconds(completion.timings.totalSeconds)), \(completion.completionTokenCount) tokens\n")
                say("    \(Self.oneLine(completion.text))\n")
            case .failure(let error):
                say(result.isCancellation ? "    cancelled\n" : "    error: \(error)\n")
            }
        }
        let done = results.filter { (try? $0.get()) != nil }.count
        say("\nTotal time: \(Format.seconds(wall)) for \(done) of \(prompts.count) prompts")
        if wall > 0 && done > 0 {
            say(String(format: "; per-prompt times add up to %@ (%.1fx overlap)", Format.seconds(busy), busy / wall))
        }
        say("\n")
        return results.contains(where: \.isCancellation) ? .interrupted : .completed
    }

    /// Scenario 2: twelve prompts with a progress bar, then every result in prompt order.
    func batchProcessing(model: Model, maxTokens: Int, concurrency: Int) async -> Outcome {
        let prompts = SamplePrompts.batch(count: 12)
        let strategy = GenerationStrategy.default
        let generator = strategy.makeGenerator(model: model, concurrency: concurrency, threads: options.threadCount)
        say("\n=== Scenario 2: Batch Processing with Progress ===\n")
        say("\(prompts.count) prompts, \(concurrency) at a time (max \(maxTokens) tokens, temperature 0.7, top-k 30, seed = item index, strategy \(strategy))\n")

        let console = self.console
        let bar = ProgressBar(total: prompts.count, isTerminal: console.isErrorTerminal) { console.writeError($0) }
        let clock = ContinuousClock(), start = clock.now
        let results = await BatchProcessor<String, Completion>(maxConcurrency: concurrency) { prompt, index in
            try await generator.generate(prompt, GenerationParameters(maxTokens: maxTokens, temperature: 0.7, topK: 30, topP: 1, seed: UInt64(index)))
        }.process(prompts) { progress in
            bar.update(completed: progress.completed)
        }
        bar.finish()
        let wall = (clock.now - start).seconds

        say("\nResults:\n")
        for (index, result) in results.enumerated() {
            switch result {
            case .success(let completion): say("[\(index + 1)] \(prompts[index]) -> \(Self.oneLine(completion.text))\n")
            case .failure(let error): say("[\(index + 1)] \(prompts[index]) -> " + (result.isCancellation ? "cancelled\n" : "error: \(error)\n"))
            }
        }
        let done = results.filter { (try? $0.get()) != nil }.count
        if done < prompts.count { say("\(prompts.count - done) of \(prompts.count) items did not finish.\n") }
        say("Processed \(done) items in \(String(format: "%.0f", wall * 1000)) ms\n")
        say("Throughput: \(String(format: "%.2f", wall > 0 ? Double(done) / wall : 0)) items/sec\n")
        return results.contains(where: \.isCancellation) ? .interrupted : .completed
    }

    /// Scenario 3: throughput at each concurrency level and strategy, with the identical check.
    func performanceBenchmark(model: Model) async -> Outcome {
        let prompts = SamplePrompts.batch(count: 20)
        let maxTokens = options.maxTokens ?? 20
        let plan = BenchmarkPlan(
            prompts: prompts,
            parameters: { GenerationParameters(maxTokens: maxTokens, temperature: 0.8, topK: 20, topP: 1, seed: UInt64($0)) },
            levels: options.levels, repetitions: options.repetitions, strategies: options.strategies)
        say("\n=== Scenario 3: Performance Benchmark ===\n")
        say("\(prompts.count) prompts x \(maxTokens) tokens (temperature 0.8, top-k 20, seed = prompt index); "
            + "strategies \(plan.strategies.map(\.rawValue).joined(separator: ", ")); concurrency "
            + "\(plan.levels.map(String.init).joined(separator: ", ")); 1 warm-up, median of \(plan.repetitions); "
            + "\(ProcessInfo.processInfo.activeProcessorCount) cores\n")
        let console = self.console
        let outcome: BenchmarkOutcome
        do {
            outcome = try await Benchmark.run(plan, makeGenerator: { [threads = options.threadCount] in $0.makeGenerator(model: model, concurrency: $1, threads: threads) }) {
                console.writeError("  measuring \($0)...\n")
            }
        } catch {
            console.writeError("error: \(error)\n")
            return .failed
        }
        if options.json {
            console.write(BenchmarkReport.json(outcome, model: model, plan: plan, maxTokens: maxTokens))
        } else if !outcome.rows.isEmpty {
            say("\n" + BenchmarkReport.table(outcome.rows))
            say("Speedup: against \(outcome.baseline). Identical: every output's tokens equal the one-at-a-time run's.\n")
        }
        if outcome.cancelled {
            say(outcome.rows.isEmpty ? "Cancelled before any level was measured.\n" : "Cancelled: the table shows the \(outcome.rows.count) level(s) measured before that.\n")
        }
        return outcome.cancelled ? .interrupted : .completed
    }

    /// A result on one line: newlines and other control characters shown as escapes.
    static func oneLine(_ text: String) -> String {
        String(text.unicodeScalars.map { $0 == "\n" ? "\\n" : $0.value < 0x20 ? "\\u{\(String($0.value, radix: 16))}" : String($0) }.joined())
    }
}

/// Scenario 3's results for people (a table) and for scripts (JSON).
public enum BenchmarkReport {
    public static func table(_ rows: [BenchmarkRow]) -> String {
        var table = TextTable(columns: [
            ("Strategy", .left), ("Concurrency", .right), ("Time (ms)", .right), ("Throughput (items/s)", .right),
            ("Tokens/s", .right), ("Speedup", .right), ("Identical", .left),
        ])
        for row in rows {
            table.append([
                row.strategy, "\(row.concurrency)", String(format: "%.1f", row.seconds * 1000), String(format: "%.1f", row.itemsPerSecond),
                String(format: "%.0f", row.tokensPerSecond), String(format: "%.2fx", row.speedup), row.identical ? "yes" : "NO",
            ])
        }
        return table.render()
    }

    public static func json(_ outcome: BenchmarkOutcome, model: Model, plan: BenchmarkPlan, maxTokens: Int) -> String {
        let rows = outcome.rows.map { row in
            JSONText.object([
                ("strategy", JSONText.string(row.strategy)), ("concurrency", "\(row.concurrency)"),
                ("seconds", JSONText.number(row.seconds)), ("items_per_second", JSONText.number(row.itemsPerSecond, digits: 2)),
                ("tokens_per_second", JSONText.number(row.tokensPerSecond, digits: 1)), ("speedup", JSONText.number(row.speedup, digits: 3)),
                ("identical", row.identical ? "true" : "false"),
            ])
        }
        return JSONText.object([
            ("model", JSONText.string(model.name)), ("prompts", "\(plan.prompts.count)"), ("max_tokens", "\(maxTokens)"),
            ("repetitions", "\(plan.repetitions)"), ("cores", "\(ProcessInfo.processInfo.activeProcessorCount)"),
            ("baseline", JSONText.string(outcome.baseline)), ("cancelled", outcome.cancelled ? "true" : "false"),
            ("results", "[\n  " + rows.joined(separator: ",\n  ") + "\n]"),
        ]) + "\n"
    }
}
