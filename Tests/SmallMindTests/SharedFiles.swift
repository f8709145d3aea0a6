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
