import ArgumentParser
import SmallMind
import SmallMindCLI

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Describe a model file (GGUF or llama2.c): architecture, shape, tensor types, memory.")

    @Argument(help: "The model file. Its format is recognised by content, not by extension.")
    var file: String

    func run() throws {
        do {
            let report = try ModelInspection.inspect(path: file)
            StandardStreams.out(Table.render(ModelLocator.describe(report, path: file)))
        } catch {
            throw CommandFailure(error)
        }
    }
}
