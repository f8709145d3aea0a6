import ArgumentParser
import Foundation
import SmallMind
import SmallMindCLI
import SmallMindKernels

struct Generate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Continue a prompt: prompt + continuation to stdout, statistics to stderr.")

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "The text to continue. Llama models accept an empty prompt (start of a story).")
    var prompt: String = ""

    @OptionGroup var sampling: SamplingOptions

    @Flag(help: "Print tokens as they are produced.")
    var stream = false

    @Option(help: "Threads for the kernels (default: all cores). The result does not depend on it.")
    var threads: Int = ThreadPool.processorCount

    func run() async throws {
        let parameters = sampling.parameters
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
