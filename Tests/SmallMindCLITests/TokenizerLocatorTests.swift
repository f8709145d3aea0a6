import Foundation
import SmallMind
import Testing
@testable import SmallMindCLI

/// Locates `../shared` beside the package root, like SmallMindTests' `SharedFiles`.
enum CLISharedFiles {
    static let root: URL? = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }  // …/Tests/SmallMindCLITests/this file → beside the package root
        let shared = url.appendingPathComponent("shared")
        return FileManager.default.fileExists(atPath: shared.appendingPathComponent("models").path) ? shared : nil
    }()

    static func path(_ relative: String) -> String { root!.appendingPathComponent(relative).path }
}

/// `smallmind tokenize`'s tokenizer lookup, on ../shared's models (skipped without them).
@Suite(.enabled(if: CLISharedFiles.root != nil, "../shared is absent beside the package: the models live there"))
struct TokenizerLocatorTests {
    static func path(_ relative: String) -> String { CLISharedFiles.path(relative) }

    @Test func ggufModelsAndVocabularies() throws {
        let model = try TokenizerLocator.load(model: Self.path("models/stories260K.gguf"), tokenizer: nil)
        #expect(try model.encode("Once upon a time", addBOS: true) == [1, 403, 407, 261, 378])
        let vocabulary = try TokenizerLocator.load(model: Self.path("vocab/ggml-vocab-llama-spm.gguf"), tokenizer: nil)
        #expect(try vocabulary.encode("Hello world", addBOS: true) == [1, 15043, 3186])
    }

    @Test func llama2cCheckpointWithItsTokenizer() throws {
        let tokenizer = try TokenizerLocator.load(model: Self.path("models/stories260K.bin"), tokenizer: Self.path("models/tok512.bin"))
        #expect(try tokenizer.encode("Once upon a time", addBOS: true) == [1, 403, 407, 261, 378])
    }

    @Test func mistakesAreOneLineErrors() throws {
        let cases: [(String, String?, String)] = [
            (Self.path("models/stories260K.bin"), nil, "needs its tokenizer.bin"),
            (Self.path("models/kq.gguf"), Self.path("models/tok512.bin"), "drop --tokenizer"),
            ("/nonexistent/model.gguf", nil, "no such readable file"),
        ]
        for (model, tokenizer, message) in cases {
            let error = try #require(throws: (any Error).self) { try TokenizerLocator.load(model: model, tokenizer: tokenizer) }
            let text = String(describing: error)
            #expect(text.contains(message) && !text.contains("\n"), "\(text)")
        }
    }
}
