import ArgumentParser
import Foundation
import SmallMind
import SmallMindCLI
import SmallMindKernels

struct Generate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Continue a prompt: prompt + continuation to stdout, statistics to stderr.",
        discussion: """
            --json prints one JSON object on stdout instead of the text: "prompt", "text" (the \
            continuation), "prompt_tokens" (ids, BOS included), "tokens" (the continuation's ids), \
            "finish_reason" (eos, stop, length, cancelled), "logprobs" (with --logprobs), \
            "prompt_seconds" (to the first generated token), "generation_seconds", "total_seconds", \
            "prompt_tokens_per_second", "generation_tokens_per_second" (tokens after the first).

            --logprobs N reports, at every generated step, the chosen token and the N most likely \
            ones with their natural-log probabilities under the model's own distribution \
            (log-softmax of the raw logits, as llama.cpp's server reports at temperature 0 — not \
            the temperature-scaled or top-k/top-p-cut distribution sampled from). With --json: \
            "logprobs": [{"token": id, "logprob": ln p, "top": [[id, ln p], ...best first]}, ...]. \
            Without: one line per step on stderr, after the text: \
            step 0: 432 ',' -0.0317 | 432 ',' -0.0317, 383 ' there' -3.5498, ...

            Control-token texts in the prompt (<|im_start|>) become those tokens unless \
            --no-parse-special.
            """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "The text to continue. Llama models accept an empty prompt (start of a story).")
    var prompt: String = ""

    @OptionGroup var sampling: SamplingOptions

    @Flag(help: "Print tokens as they are produced.")
    var stream = false

    @Flag(help: "Print one JSON object (text, token ids, finish reason, timings, logprobs) on stdout instead of the text.")
    var json = false

    @Option(
        name: .customLong("logprobs"),
        help: ArgumentHelp(
            "At each step, report the N most likely tokens with their log-probabilities (0 = off; at most \(GenerationParameters.maximumTopLogProbabilities)).",
            valueName: "N"))
    var logprobs: Int = 0

    @Option(help: "Threads for the kernels (default: all cores). The result does not depend on it.")
    var threads: Int = ThreadPool.processorCount

    func validate() throws {
        if json && stream { throw ValidationError("--stream and --json do not combine: --json prints one object at the end") }
        let most = GenerationParameters.maximumTopLogProbabilities
        guard (0...most).contains(logprobs) else { throw ValidationError("--logprobs must be from 0 (off) to \(most), not \(logprobs)") }
    }

    var parameters: GenerationParameters {
        var parameters = sampling.parameters
        parameters.topLogProbabilities = logprobs
        return parameters
    }

    func run() async throws {
        let parameters = self.parameters
        do {
            try parameters.validate()
            guard (1...256).contains(threads) else { throw CommandFailure(message: "--threads must be in 1...256, got \(threads)") }
            let loaded = try modelOptions.load()
            let context = GenerationContext(model: loaded, pool: threads > 1 ? ThreadPool(threads: threads) : nil)
            var streamedPrompt = false
            let completion = try context.generate(prompt, parameters: parameters) { event in
                guard stream else { return true }
                if !streamedPrompt {
                    StandardStreams.out(prompt)
                    streamedPrompt = true
                }
                StandardStreams.out(event.text)
                return true
            }
            if json {
                StandardStreams.out(GenerationOutput.json(completion, includeLogProbabilities: logprobs > 0) + "\n")
            } else if stream {
                if !streamedPrompt { StandardStreams.out(prompt) }
                StandardStreams.out("\n")
            } else {
                StandardStreams.out(completion.text + "\n")
            }
            if logprobs > 0 && !json {
                StandardStreams.error(GenerationOutput.logProbabilityLines(completion) { loaded.tokenizer.bytes(of: $0, after: $1) })
            }
            let t = completion.timings
            StandardStreams.error(
                "\(completion.promptTokenCount) prompt tokens, \(completion.completionTokenCount) generated (\(completion.finishReason.rawValue)) in "
                    + "\(Format.seconds(t.totalSeconds)): \(Format.rate(completion.timings.tokensPerSecond(tokens: completion.completionTokenCount))) tokens/s\n")
        } catch let failure as CommandFailure {
            throw failure
        } catch {
            throw CommandFailure(error)
        }
    }
}
