import ArgumentParser
import SmallMind

public struct InfoCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Describe a model file (GGUF or llama2.c): architecture, shape, tensor types, memory, vocabulary.",
        discussion: """
            Also describes vocabulary-only GGUF files (llama.cpp's ggml-vocab-*.gguf). A file whose \
            weights this runtime cannot load is still described, then reported as an error (status 1).
            """)

    @Argument(help: "The model file. Its format is recognised by content, not by extension.")
    public var file: String

    public init() {}

    public func run() throws {
        let report: ModelReport
        do { report = try ModelInspection.inspect(path: file) } catch { throw CommandFailure(error) }
        StandardStreams.out(Table.render(ModelLocator.describe(report, path: file)))
        if let problem = report.weightsProblem { throw CommandFailure(message: "\(file): the weights cannot be loaded: \(problem)") }
    }
}
