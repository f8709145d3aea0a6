import ArgumentParser
import Foundation
import SmallMind
import SmallMindCLI

struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the token ids of a text, as llama.cpp's `llama-tokenize --ids` does: [1, 15043, 3186].")

    @Option(help: "A GGUF model or vocabulary-only GGUF; or a llama2.c checkpoint (with --tokenizer).")
    var model: String

    @Option(help: "A llama2.c tokenizer.bin for a llama2.c --model, or a GGUF whose vocabulary to use instead.")
    var tokenizer: String?

    @Flag(name: .customLong("no-bos"), help: "Do not add the vocabulary's BOS (or EOS) framing.")
    var noBOS = false

    @Flag(name: .customLong("no-parse-special"), help: ArgumentHelp(parseSpecialHelp))
    var noParseSpecial = false

    @Option(help: "The text to tokenize.")
    var text: String?

    @Option(help: "A file whose contents (UTF-8) to tokenize.")
    var file: String?

    func validate() throws {
        guard (text == nil) != (file == nil) else { throw ValidationError("give exactly one of --text and --file") }
    }

    func run() throws {
        do {
            let input: String
            if let file {
                guard let data = FileManager.default.contents(atPath: file) else {
                    throw CommandFailure(message: "\(file): cannot read the file")
                }
                guard let string = String(data: data, encoding: .utf8) else {
                    throw CommandFailure(message: "\(file): not valid UTF-8 text")
                }
                input = string
            } else {
                input = text ?? ""
            }
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
