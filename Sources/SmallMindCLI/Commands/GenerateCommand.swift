// `smallmind generate`: one prompt, its continuation on stdout, statistics on stderr.
import ArgumentParser
import Foundation
import SmallMind
import SmallMindKernels

public struct GenerateCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Continue a prompt: prompt + continuation to stdout, statistics to stderr.",
        discussion: """
            The prompt: --prompt TEXT, or --prompt-file PATH, or else standard input when it is not \
            a terminal (`echo "Once upon a time" | smallmind generate`). One final newline of a \
            file or of standard input is dropped. With no prompt at all, models with a BOS token \
            start from it (a Llama model begins a story); others ask for --prompt.

            A prompt longer than the model's context is an error. Otherwise generation stops at \
            --max-tokens or when the context is full, whichever comes first (finish reason \
            "length"; stderr says when it was the context).

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

    @OptionGroup public var modelOptions: ModelOptions

    @Option(help: "The text to continue (default: --prompt-file, or standard input when it is not a terminal).")
    public var prompt: String?

    @Option(name: .customLong("prompt-file"), help: ArgumentHelp("Read the prompt from this UTF-8 file; - is standard input.", valueName: "path"))
    public var promptFile: String?

    @OptionGroup public var sampling: SamplingOptions

    @Flag(help: "Print tokens as they are produced.")
    public var stream = false

    @Flag(help: "Print one JSON object (text, token ids, finish reason, timings, logprobs) on stdout instead of the text.")
    public var json = false

    @Option(
        name: .customLong("logprobs"), parsing: .unconditional,
        help: ArgumentHelp(
            "At each step, report the N most likely tokens with their log-probabilities (0 = off; at most \(GenerationParameters.maximumTopLogProbabilities)).",
            valueName: "N"))
    public var logprobs: Int = 0

    @OptionGroup public var threadOptions: ThreadOptions

    @OptionGroup public var kvBudget: KVBudgetOptions

    public init() {}

    public func validate() throws {
        if json && stream { throw ValidationError("--stream and --json do not combine: --json prints one object at the end") }
        if prompt != nil && promptFile != nil { throw ValidationError("give --prompt or --prompt-file, not both") }
        let most = GenerationParameters.maximumTopLogProbabilities
        guard (0...most).contains(logprobs) else { throw ValidationError("--logprobs must be from 0 (off) to \(most), got \(logprobs)") }
    }

    /// The parameters the flags ask for.
    public var parameters: GenerationParameters {
        var parameters = sampling.parameters
        parameters.topLogProbabilities = logprobs
        return parameters
    }

    /// The prompt: `--prompt`, else `--prompt-file`, else standard input when it is not a
    /// terminal, else empty. A file's or standard input's final newline is dropped.
    public func resolvePrompt(
        standardInputIsTerminal: Bool = isatty(STDIN_FILENO) == 1,
        standardInput: () -> Data = { FileHandle.standardInput.readDataToEndOfFile() }
    ) throws -> String {
        if let prompt { return prompt }
        if let promptFile {
            return TextInput.droppingFinalNewline(try TextInput.read(promptFile, what: "the prompt file", standardInput: standardInput))
        }
        guard !standardInputIsTerminal else { return "" }
        return TextInput.droppingFinalNewline(try TextInput.read(TextInput.standardInputPath, what: "the prompt", standardInput: standardInput))
    }

    public func run() async throws {
        let parameters = self.parameters
        do {
            let prompt = try resolvePrompt()
            let loaded = try modelOptions.load()
            let threads = threadOptions.count
            let context = try GenerationContext(model: loaded, pool: threads > 1 ? ThreadPool(threads: threads) : nil, kvCacheBytes: kvBudget.resolved)
            // The library says an empty prompt needs a BOS token; the command line says what to pass.
            if prompt.isEmpty, Self.needsBOS(loaded) {
                throw CommandFailure(message: "no prompt: pass --prompt TEXT (or --prompt-file PATH, or pipe it on standard input); "
                    + "this model has no BOS token to start an empty one from").withStatus(ExitCode.validationFailure.rawValue)
            }
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
            if let note = GenerationOutput.contextFullNote(completion, maxTokens: parameters.maxTokens, contextLength: context.contextLength) {
                StandardStreams.error(note + "\n")
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

    /// Whether `model` refuses an empty prompt (it has no BOS token to start from).
    static func needsBOS(_ model: Model) -> Bool {
        do {
            _ = try model.tokenize("")
            return false
        } catch {
            return error == .tokenizer(.emptyInput)
        }
    }
}
