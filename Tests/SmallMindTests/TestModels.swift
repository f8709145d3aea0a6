import Foundation
@testable import SmallMind

/// Tiny models built in code, so most tests need nothing from ../shared.
enum TestModels {
    /// Writes a random llama2.c checkpoint with the given header to a temporary file.
    static func llama2cCheckpoint(
        dim: Int32 = 16, hidden: Int32 = 32, layers: Int32 = 2, heads: Int32 = 4, kvHeads: Int32 = 2,
        vocab: Int32 = 12, seqLen: Int32 = 16, truncateBy: Int = 0, seed: UInt64 = 1
    ) throws -> String {
        var data = Data()
        for v in [dim, hidden, layers, heads, kvHeads, vocab, seqLen] { withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) } }
        let d = Int(dim), h = Int(hidden), l = Int(layers), v = Int(abs(vocab)), kvd = Int(dim) / Int(heads) * Int(kvHeads)
        let floats = v * d + l * d + 2 * l * d * d + 2 * l * kvd * d + l * d + 3 * l * h * d + d + Int(seqLen) * (d / Int(heads))
            + (vocab < 0 ? v * d : 0)
        var random = SplitMix64(seed: seed)
        for _ in 0..<floats {
            let f = random.nextGaussian() * 0.3
            withUnsafeBytes(of: f.bitPattern.littleEndian) { data.append(contentsOf: $0) }
        }
        data.removeLast(min(truncateBy, data.count))
        return try write(data, name: "checkpoint")
    }

    /// A llama2.c tokenizer.bin for `count` tokens: BOS/EOS/unknown, then single letters.
    static func tokenizerFile(count: Int = 12, truncateBy: Int = 0) throws -> String {
        var data = Data()
        withUnsafeBytes(of: Int32(8).littleEndian) { data.append(contentsOf: $0) }
        for i in 0..<count {
            let piece: [UInt8] = i == 0 ? Array("<unk>".utf8) : i == 1 ? Array("<s>".utf8) : i == 2 ? Array("</s>".utf8)
                : i == 3 ? [0x20] : [UInt8(ascii: "a") + UInt8(i - 4)]
            withUnsafeBytes(of: Float(i).bitPattern.littleEndian) { data.append(contentsOf: $0) }
            withUnsafeBytes(of: Int32(piece.count).littleEndian) { data.append(contentsOf: $0) }
            data.append(contentsOf: piece)
        }
        data.removeLast(min(truncateBy, data.count))
        return try write(data, name: "tokenizer")
    }

    static func write(_ data: Data, name: String) throws -> String {
        let url = testScratchFolder.appendingPathComponent("smallmind-\(name)-\(UUID().uuidString).bin")
        try data.write(to: url)
        return url.path
    }

    static func smallLlama() throws -> Model {
        try Model.load(path: try llama2cCheckpoint(), tokenizerPath: try tokenizerFile())
    }
}

/// One folder per test process for the files tests write, removed when the process exits (the
/// tests' files left /tmp growing by dozens per run before).
let testScratchFolder: URL = {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("smallmind-tests-\(getpid())-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    atexit { try? FileManager.default.removeItem(at: testScratchFolder) }
    return url
}()
