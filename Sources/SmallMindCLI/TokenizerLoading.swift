import Foundation
import SmallMind

/// How `smallmind tokenize` finds a tokenizer: the vocabulary embedded in a GGUF file (a model or
/// a vocabulary-only file), or a llama2.c `tokenizer.bin` sized by its checkpoint's header.
public enum TokenizerLocator {
    /// - Parameters:
    ///   - model: a GGUF file, or a llama2.c checkpoint when `tokenizer` is given.
    ///   - tokenizer: a GGUF vocabulary or a llama2.c `tokenizer.bin`; overrides the model's own.
    public static func load(model: String, tokenizer: String?) throws -> any Tokenizer {
        for path in [model, tokenizer].compactMap({ $0 }) where !FileManager.default.isReadableFile(atPath: path) {
            throw CommandFailure(message: "\(path): no such readable file")
        }
        if let tokenizer {
            if GGUFFile.isGGUF(path: tokenizer) { return try GGUFTokenizer.load(from: GGUFFile(path: tokenizer)) }
            guard !GGUFFile.isGGUF(path: model) else {
                throw CommandFailure(message: "\(tokenizer): a llama2.c tokenizer.bin goes with a llama2.c checkpoint, not with the GGUF \(model) (which embeds its vocabulary: drop --tokenizer)")
            }
            // The tokenizer file does not say how many tokens it holds; the checkpoint does.
            let vocabularySize = try Llama2cCheckpoint.load(path: model).configuration.vocabularySize
            return try SentencePieceTokenizer.load(llama2cPath: tokenizer, vocabularySize: vocabularySize)
        }
        guard GGUFFile.isGGUF(path: model) else {
            throw CommandFailure(message: "\(model): not a GGUF file; a llama2.c checkpoint needs its tokenizer.bin (--tokenizer)")
        }
        return try GGUFTokenizer.load(from: GGUFFile(path: model))
    }
}

extension Format {
    /// Token ids as llama.cpp's `llama-tokenize --ids` prints them: `[1, 15043, 3186]`.
    public static func tokenIDs(_ tokens: [Int]) -> String {
        "[" + tokens.map(String.init).joined(separator: ", ") + "]"
    }
}
