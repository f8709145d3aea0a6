// Flags shared by several subcommands, declared once so they read and validate the same everywhere.
import ArgumentParser
import SmallMind
import SmallMindCLI

/// Which model to use.
struct ModelOptions: ParsableArguments {
    @Option(help: "A GGUF file or a llama2.c checkpoint (recognised by content). Default: the built-in demo model.")
    var model: String?

    @Option(help: "The llama2.c tokenizer.bin that goes with a llama2.c --model (GGUF files carry their own).")
    var tokenizer: String?

    func validate() throws {
        if tokenizer != nil && model == nil { throw ValidationError("--tokenizer goes with --model") }
    }

    /// Loads the model, or throws one clear line.
    func load() throws -> Model {
        do { return try ModelLocator.load(model: model, tokenizer: tokenizer) } catch { throw CommandFailure(error) }
    }
}

/// How to sample: maps one to one onto `GenerationParameters`.
struct SamplingOptions: ParsableArguments {
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

    @Flag(name: .customLong("no-parse-special"), help: ArgumentHelp(parseSpecialHelp))
    var noParseSpecial = false

    var parameters: GenerationParameters {
        GenerationParameters(
            maxTokens: maxTokens, temperature: temperature, topK: topK, topP: topP, seed: seed, stop: stop,
            parseSpecialTokens: !noParseSpecial)
    }

    func validate() throws {
        do { try parameters.validate() } catch { throw ValidationError("\(error)") }
    }
}

/// The one help text of `--no-parse-special` (generate, batch, tokenize): the same behaviour everywhere.
let parseSpecialHelp = """
    Keep control-token texts written in the input (<|im_start|>, <s>) as plain text. By default each \
    becomes its single token, as llama.cpp does.
    """
