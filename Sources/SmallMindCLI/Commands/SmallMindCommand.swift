// The `smallmind` command line: the subcommands, each in a file of its own here (in the library,
// so that tests can parse flags and check what they turn into); the executable only hands the process's
// arguments to `CommandMain`.
import ArgumentParser
import SmallMind

public struct SmallMindCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "smallmind",
        abstract: "Run small language models (Llama, Qwen, Gemma, Phi-3, GPT-2 families) on the CPU: generate, chat, batch, benchmark.",
        discussion: """
            Without --model, commands use the built-in demo model: a seeded, untrained GPT-2-style \
            network, so its text is noise — but it is fast and always the same. For real text, pass \
            --model with a GGUF file (the README's "A real model" fetches two small ones).

            Exit status: 0 success, 1 failure (a file, a model, a generation), 64 a usage error \
            (a bad flag or value), 130 interrupted (Ctrl-C).
            """,
        version: SmallMindVersion.current,
        subcommands: [
            GenerateCommand.self, ChatCommand.self, ChatTemplateCommand.self, BatchCommand.self, BenchCommand.self, InfoCommand.self,
            TokenizeCommand.self, BenchMatmulCommand.self, BenchAttentionCommand.self, ServeCommand.self,
        ])

    public init() {}
}
