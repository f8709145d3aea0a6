import Foundation
import Testing

/// Locates `../shared` (models, golden outputs, tokenizer vectors) beside the package root.
/// Tests that need it are skipped, saying why, when it is absent (a clone elsewhere).
enum SharedFiles {
    static let root: URL? = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }  // …/Tests/SmallMindTests/SharedFiles.swift → package root
        let shared = url.deletingLastPathComponent().appendingPathComponent("shared")
        return FileManager.default.fileExists(atPath: shared.appendingPathComponent("models").path) ? shared : nil
    }()

    static var available: Bool { root != nil }
    static let skipReason: Comment = "../shared is absent beside the package: the models and golden outputs live there"

    static func path(_ relative: String) -> String {
        root!.appendingPathComponent(relative).path
    }

    static func model(_ name: String) -> String { path("models/\(name)") }
}

/// Locates the two real published models that `../shared/tools/fetch_real_models.sh` downloads:
/// `$SMALLMIND_MODELS`, else `~/.cache/smallmind/models` (the script's own default). Tests that
/// need them are skipped, saying how to fetch them, when they are absent.
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
}
