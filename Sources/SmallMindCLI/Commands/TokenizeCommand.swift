// `smallmind tokenize`: a text's token ids, printed as llama.cpp's `llama-tokenize --ids` does.
import ArgumentParser
import Foundation
import SmallMind

public struct TokenizeCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Print the token ids of a text, as llama.cpp's `llama-tokenize --ids` does: [1, 15043, 3186].")

    @Option(help: "A GGUF model or vocabulary-only GGUF; or a llama2.c checkpoint (with --tokenizer).")
    public var model: String

    @Option(help: "A llama2.c tokenizer.bin for a llama2.c --model, or a GGUF whose vocabulary to use instead.")
    public var tokenizer: String?

    @Flag(name: .customLong("no-bos"), help: "Do not add the vocabulary's BOS (or EOS) framing.")
    public var noBOS = false

    @Flag(name: .customLong("no-parse-special"), help: ArgumentHelp(parseSpecialHelp))
    public var noParseSpecial = false

    @Option(help: "The text to tokenize.")
    public var text: String?

    @Option(help: "A file whose contents (UTF-8, exactly as they are) to tokenize; - is standard input.")
    public var file: String?

    public init() {}

    public func validate() throws {
        guard (text == nil) != (file == nil) else { throw ValidationError("give exactly one of --text and --file") }
    }

    public func run() throws {
        do {
            // Unlike a prompt, the file's final newline is kept: tokenize shows exactly what it is given.
            let input = try file.map { try TextInput.read($0, what: "the text") } ?? text ?? ""
            let tokenizer = try TokenizerLocator.load(model: model, tokenizer: tokenizer)
            let ids = try tokenizer.encode(input, addBOS: !noBOS, parseSpecial: !noParseSpecial)
            StandardStreams.out(Format.tokenIDs(ids) + "\n")
        } catch let failure as CommandFailure {
            throw failure
        } catch {
            throw CommandFailure(error)
        }
    }
}
