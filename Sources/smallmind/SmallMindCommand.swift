import ArgumentParser
import SmallMindCLI

@main
struct SmallMindCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "smallmind",
        abstract: "Run small GPT-2 and Llama-family language models on the CPU.",
        discussion: """
            Without --model, commands use the built-in demo model (a seeded, untrained GPT-2-style \
            network: its text is gibberish, but it is fast and always the same).
            """,
        subcommands: [Generate.self, Batch.self, Bench.self, Info.self, Tokenize.self, BenchMatmul.self])

    static func main() async {
        await CommandMain.run(Self.self)
    }
}
