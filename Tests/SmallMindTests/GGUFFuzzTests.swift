import Foundation
import Testing
@testable import SmallMind

/// The GGUF parser and model loader against damaged files: a small valid model truncated at many
/// offsets and with random bytes overwritten (seeded, so a failure reproduces). Every attempt must
/// end in a thrown error or a model that loads and computes — never a crash, a trap or a huge
/// allocation. (A crash fails the whole test process, which is the point.)
struct GGUFFuzzTests {
    /// Loads `bytes` as a model the way the CLI does, and runs one token through it.
    static func attempt(_ bytes: [UInt8], path: String) -> Bool {
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        _ = try? ModelInspection.inspect(path: path)
        guard let model = try? Model.load(path: path, tokenizerPath: nil) else { return false }
        let c = model.configuration
        let workspace = Workspace(configuration: c)
        let cache = KVCache(configuration: c, contextLength: 2)
        let logits = withExtendedLifetime(workspace) { Array(model.weights.forward([BatchToken(token: 0, position: 0)], cache: cache, workspace: workspace)) }
        _ = try? model.tokenize("ab")
        return logits.count == c.vocabularySize
    }

    @Test func truncatedFilesThrow() throws {
        let valid = TinyGGUF.llama().bytes()
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-truncate-\(UUID().uuidString).gguf").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(Self.attempt(valid, path: path), "the untouched file must load")
        // Every offset through the metadata and tensor infos, then every 61st through the data.
        var offsets = Array(0..<min(valid.count, 2048))
        offsets += Array(stride(from: 2048, to: valid.count, by: 61))
        var loaded = 0
        for length in offsets where Self.attempt(Array(valid.prefix(length)), path: path) { loaded += 1 }
        // Any cut removes bytes a tensor needs (the last tensor ends at the end of the file).
        #expect(loaded == 0, "\(loaded) truncated files loaded")
    }

    @Test func randomByteFlipsThrowOrLoad() throws {
        let valid = TinyGGUF.llama().bytes()
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-flip-\(UUID().uuidString).gguf").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        var state: UInt64 = 0x5EED_0F_6617
        func next() -> Int {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return Int(truncatingIfNeeded: state >> 1)
        }
        let headerBytes = 1500  // metadata + tensor infos of TinyGGUF.llama(), roughly
        var loaded = 0, failed = 0
        for _ in 0..<1500 {
            var bytes = valid
            for _ in 0..<(1 + next() % 4) {
                // Mostly in the header, where the counts, lengths, types and offsets are.
                let at = next() % 4 == 0 ? next() % bytes.count : next() % headerBytes
                bytes[at] = next() % 3 == 0 ? UInt8(truncatingIfNeeded: next()) : bytes[at] ^ UInt8(1 << (next() % 8))
            }
            if Self.attempt(bytes, path: path) { loaded += 1 } else { failed += 1 }
        }
        // Both outcomes occur: flips in tensor data (or harmless metadata) still load.
        #expect(loaded > 0 && failed > 0, "loaded \(loaded), failed \(failed)")
    }

    /// `TinyGGUF.llama()` with its four Q8_0 attention matrices stored as `type` instead: random
    /// codes, every f16 scale (and Q4_1/Q5_1 minimum) 0.01.
    static func llama(_ type: GGMLType) -> TinyGGUF {
        var file = TinyGGUF.llama()
        var random = TinyGGUF.Payload(seed: UInt64(type.rawValue))
        let halves = type == .q4_1 || type == .q5_1 ? [0, 2] : [0]
        for i in file.tensors.indices where file.tensors[i].type == .q8_0 {
            let blocks = file.tensors[i].dimensions.reduce(1, *) / 32
            var bytes = (0..<(blocks * type.blockBytes)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            for block in 0..<blocks {
                for at in halves {
                    withUnsafeBytes(of: Float16(0.01).bitPattern.littleEndian) { bytes.replaceSubrange(block * type.blockBytes + at..<block * type.blockBytes + at + 2, with: $0) }
                }
            }
            file.tensors[i].type = type
            file.tensors[i].data = bytes
        }
        return file
    }

    /// The 32-element block formats read by their own kernels: truncated files throw, random byte
    /// flips throw or load and compute, none crashes.
    @Test(arguments: [GGMLType.q5_0, .q4_1, .q5_1, .iq4_nl])
    func blockFormatFilesThrowOrLoad(type: GGMLType) throws {
        let valid = Self.llama(type).bytes()
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-\(type.name)-\(UUID().uuidString).gguf").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(Self.attempt(valid, path: path), "the untouched \(type.name) file must load")
        var loaded = 0
        for length in stride(from: 0, to: valid.count, by: 13) where Self.attempt(Array(valid.prefix(length)), path: path) { loaded += 1 }
        #expect(loaded == 0, "\(loaded) truncated \(type.name) files loaded")
        var state: UInt64 = 0xF1A5_0000 | UInt64(type.rawValue)
        func next() -> Int {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return Int(truncatingIfNeeded: state >> 1)
        }
        var flipsLoaded = 0, flipsFailed = 0
        for _ in 0..<300 {
            var bytes = valid
            for _ in 0..<(1 + next() % 4) {
                let at = next() % bytes.count
                bytes[at] = next() % 3 == 0 ? UInt8(truncatingIfNeeded: next()) : bytes[at] ^ UInt8(1 << (next() % 8))
            }
            if Self.attempt(bytes, path: path) { flipsLoaded += 1 } else { flipsFailed += 1 }
        }
        #expect(flipsLoaded > 0 && flipsFailed > 0, "\(type.name): loaded \(flipsLoaded), failed \(flipsFailed)")
    }
}
