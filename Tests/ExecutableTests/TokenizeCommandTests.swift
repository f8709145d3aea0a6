// `smallmind tokenize` as a process on the two real published models: for every prompt of
// ../shared/golden/llamacpp-real.json it prints llama.cpp's prompt ids (with BOS, special tokens
// parsed, as `llama-tokenize --ids` and llama.cpp's server do).
import Foundation
import Testing

/// The golden file and the real models, located as the library's tests locate them
/// (`SharedFiles`, `RealModels` there): ../shared beside the package, and $SMALLMIND_MODELS or
/// ~/.cache/smallmind/models.
enum RealModelFiles {
    static let golden: String? = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0 ..< 4 { url.deleteLastPathComponent() }  // …/Tests/ExecutableTests/this file → beside the package
        let path = url.appendingPathComponent("shared/golden/llamacpp-real.json").path
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }()

    static let modelDirectory: String = {
        if let dir = ProcessInfo.processInfo.environment["SMALLMIND_MODELS"], !dir.isEmpty { return dir }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/smallmind/models").path
    }()

    static let models = ["qwen2.5-coder-0.5b-instruct-q4_k_m.gguf", "gemma-3-270m-q4_k_m.gguf"]

    static var available: Bool {
        golden != nil && models.allSatisfy { FileManager.default.fileExists(atPath: (modelDirectory as NSString).appendingPathComponent($0)) }
    }

    static let skipReason = "needs ../shared/golden and the real models in \(modelDirectory) (../shared/tools/fetch_real_models.sh); skipped"
}

@Suite("smallmind tokenize on the real models", .enabled(if: BuildProducts.executable("smallmind") != nil, Comment(rawValue: BuildProducts.missing)),
       .enabled(if: RealModelFiles.available, Comment(rawValue: RealModelFiles.skipReason)))
struct TokenizeCommandTests {
    struct Case: Decodable {
        let model: String
        let prompt: String
        let prompt_tokens: [Int]
    }

    @Test func printsLlamaCppsPromptIds() async throws {
        struct File: Decodable { let cases: [Case] }
        let data = try Data(contentsOf: URL(fileURLWithPath: RealModelFiles.golden ?? ""))
        let cases = try JSONDecoder().decode(File.self, from: data).cases
        #expect(Set(cases.map(\.model)) == Set(RealModelFiles.models))
        let smallmind = try #require(BuildProducts.executable("smallmind"))
        for golden in cases {
            let model = (RealModelFiles.modelDirectory as NSString).appendingPathComponent(golden.model)
            let output = try await run(smallmind, ["tokenize", "--model", model, "--text", golden.prompt])
            #expect(output.status == 0, "\(output.stderr)")
            let expected = "[" + golden.prompt_tokens.map(String.init).joined(separator: ", ") + "]\n"
            #expect(output.stdout == expected, "\(golden.model): \(golden.prompt.debugDescription)")
        }
    }
}
