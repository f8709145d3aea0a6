import ArgumentParser
import Foundation
import SmallMind
import SmallMindCLI
import SmallMindKernels

struct Generate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Continue a prompt: prompt + continuation to stdout, statistics to stderr.")

    @Option(help: "A GGUF model or a llama2.c checkpoint (recognised by content). Default: the built-in demo model.")
    var model: String?

    @Option(help: "The llama2.c tokenizer.bin for a llama2.c --model (GGUF files carry their own).")
    var tokenizer: String?

    @Option(help: "The text to continue. Llama models accept an empty prompt (start of a story).")
    var prompt: String = ""

    @Option(name: .customLong("max-tokens"), help: "Most tokens to generate.")
    var maxTokens: Int = 128

    @Option(help: "Sampling temperature; 0 = greedy (always the most likely token).")
    var temperature: Float = 1.0

    @Option(name: .customLong("top-k"), help: "Sample among the k most likely tokens; 0 = off.")
    var topK: Int = 0

    @Option(name: .customLong("top-p"), help: "Nucleus sampling threshold in (0, 1]; 1 = off.")
    var topP: Float = 0.9

    @Option(help: "Random seed: the same seed gives the same text.")
    var seed: UInt64 = 0

    @Option(help: "Stop before this string (repeatable).")
    var stop: [String] = []

    @Flag(help: "Print tokens as they are produced.")
    var stream = false

    @Option(help: "Threads for the kernels (default: all cores). The result does not depend on it.")
    var threads: Int = ThreadPool.processorCount

    func run() async throws {
        let parameters = GenerationParameters(
            maxTokens: maxTokens, temperature: temperature, topK: topK, topP: topP, seed: seed, stop: stop)
        do {
            try parameters.validate()
            guard (1...256).contains(threads) else { throw CommandFailure(message: "--threads must be in 1...256, got \(threads)") }
            let loaded = try ModelLocator.load(model: model, tokenizer: tokenizer)
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
            if stream {
                if !streamedPrompt { StandardStreams.out(prompt) }
                StandardStreams.out("\n")
            } else {
                StandardStreams.out(completion.text + "\n")
            }
            let t = completion.timings
            StandardStreams.error(
                "\(completion.promptTokenCount) prompt tokens, \(completion.completionTokenCount) generated (\(completion.finishReason.rawValue)) in "
                    + "\(Format.seconds(t.totalSeconds)): \(Format.rate(completion.timings.tokensPerSecond(tokens: completion.completionTokenCount))) tokens/s\n")
        } catch {
            throw CommandFailure(error)
        }
    }
}
