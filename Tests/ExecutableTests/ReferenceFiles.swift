// Where the executable tests find reference data: ../shared beside the package and the real
// published models. The same rules as SmallMindTests' SharedFiles and RealModels (this target
// cannot see that one): absent files skip the tests, saying why.
import Foundation
import Testing

enum SharedFiles {
    static let root: URL? = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }  // …/Tests/ExecutableTests/ReferenceFiles.swift → package root
        let shared = url.deletingLastPathComponent().appendingPathComponent("shared")
        return FileManager.default.fileExists(atPath: shared.appendingPathComponent("models").path) ? shared : nil
    }()

    static var available: Bool { root != nil }
    static let skipReason: Comment = "../shared is absent beside the package: the models and golden outputs live there"
    static func path(_ relative: String) -> String { root!.appendingPathComponent(relative).path }
    static func model(_ name: String) -> String { path("models/\(name)") }
}

enum RealModels {
    static let qwen = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
    static let gemma = "gemma-3-270m-q4_k_m.gguf"

    static let directory: String = {
        if let dir = ProcessInfo.processInfo.environment["SMALLMIND_MODELS"], !dir.isEmpty { return dir }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/smallmind/models").path
    }()

    static func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }
    static func available(_ name: String) -> Bool { FileManager.default.fileExists(atPath: path(name)) }
    static func skipReason(_ name: String) -> Comment {
        "needs the real model \(name) in \(directory): run ../shared/tools/fetch_real_models.sh (absent: skipped)"
    }

    /// Whether `smallmind info` describes the model without a problem — false while this build
    /// lacks what the model needs (its architecture, a tensor encoding) or the file is absent.
    static func runsHere(_ name: String) -> Bool {
        guard available(name), let smallmind = BuildProducts.executable("smallmind") else { return false }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: smallmind)
        process.arguments = ["info", path(name)]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }

    static func cannotRunReason(_ name: String) -> Comment {
        "needs the real model \(name) in \(directory) and a build that runs it (`smallmind info` reports no problem); skipped"
    }
}

/// llama.cpp's greedy tokens and top-5 log-probabilities (../shared/golden/llamacpp.json).
struct LlamaCppGolden: Decodable {
    struct Step: Decodable {
        let token: Int
        /// [[token id, natural-log probability]], best first.
        let top: [[Double]]
    }

    struct Case: Decodable {
        let model: String
        let prompt: String
        let prompt_tokens: [Int]
        let tokens: [Int]
        let steps: [Step]
        /// How many leading tokens are safe to compare (llama-real.json): those before llama.cpp's
        /// first top-1/top-2 gap under 0.1.
        let safe_tokens: Int?
    }

    let cases: [Case]

    static func cases(file: String = "llamacpp.json") throws -> [Case] {
        let data = try Data(contentsOf: URL(fileURLWithPath: SharedFiles.path("golden/\(file)")))
        return try JSONDecoder().decode(LlamaCppGolden.self, from: data).cases
    }

    static func goldenCase(_ model: String) throws -> Case {
        try #require(try cases().first { $0.model == model })
    }
}

/// A minimal GGUF v3 file: string metadata and F32 tensors of the given shapes (zeros).
enum HandWrittenGGUF {
    static func bytes(metadata: [(String, String)], tensors: [(name: String, dimensions: [Int])]) -> Data {
        var out = Data()
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func string(_ s: String) { u64(UInt64(s.utf8.count)); out.append(contentsOf: Array(s.utf8)) }
        out.append(contentsOf: Array("GGUF".utf8))
        u32(3)
        u64(UInt64(tensors.count))
        u64(UInt64(metadata.count))
        for (key, value) in metadata {
            string(key)
            u32(8)  // string
            string(value)
        }
        var offset = 0
        var sizes: [Int] = []
        for tensor in tensors {
            string(tensor.name)
            u32(UInt32(tensor.dimensions.count))
            for d in tensor.dimensions { u64(UInt64(d)) }
            u32(0)  // F32
            u64(UInt64(offset))
            let size = tensor.dimensions.reduce(4, *)
            sizes.append(size)
            offset += (size + 31) / 32 * 32
        }
        out.append(Data(count: (32 - out.count % 32) % 32))
        for size in sizes { out.append(Data(count: (size + 31) / 32 * 32)) }
        return out
    }
}
