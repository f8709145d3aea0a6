import Foundation
import Testing
@testable import SmallMind

/// `GGUFFuzzTests`' damage — truncation and random byte flips — on a small llama model whose
/// matrices are Q5_K, Q3_K, Q2_K and IQ4_XS (rows of 256, the super-block): every attempt ends in
/// a thrown error or a model that loads and computes, never a crash.
struct KQuantFuzzTests {
    /// Bytes of `rows` rows of `columns` elements in `type`: random payload, the f16 scale fields
    /// set to small finite values (at `halves`, offsets within each block).
    static func blocks(_ type: GGMLType, rows: Int, columns: Int, halves: [Int], payload: inout TinyGGUF.Payload) -> [UInt8] {
        var bytes = (0..<(rows * columns / type.blockSize * type.blockBytes)).map { _ in UInt8(truncatingIfNeeded: payload.next()) }
        let scale = Float16(0.002).bitPattern
        for at in stride(from: 0, to: bytes.count, by: type.blockBytes) {
            for offset in halves {
                bytes[at + offset] = UInt8(scale & 0xFF)
                bytes[at + offset + 1] = UInt8(scale >> 8)
            }
        }
        return bytes
    }

    /// TinyGGUF's llama at dim 256 (hidden 256, two heads of 128, one KV head), its matrices in
    /// the four new formats.
    static func model() -> TinyGGUF {
        var file = TinyGGUF.llama()
        var payload = TinyGGUF.Payload(seed: 5)
        let d = 256, h = 256, kvd = 128
        file.set("llama.embedding_length", .u32(UInt32(d)))
        file.set("llama.feed_forward_length", .u32(UInt32(h)))
        file.set("llama.rope.dimension_count", .u32(128))
        let halves: [GGMLType: [Int]] = [.q5_K: [0, 2], .q3_K: [108], .q2_K: [80, 82], .iq4_xs: [0]]
        func matrix(_ name: String, _ type: GGMLType, rows: Int, columns: Int) -> TinyGGUF.Tensor {
            TinyGGUF.Tensor(name: name, dimensions: [columns, rows], type: type,
                            data: blocks(type, rows: rows, columns: columns, halves: halves[type]!, payload: &payload))
        }
        let V = 8
        file.tensors = [
            TinyGGUF.Tensor(name: "token_embd.weight", dimensions: [d, V], type: .f32, data: payload.floats(V * d, scale: 1)),
            TinyGGUF.Tensor(name: "blk.0.attn_norm.weight", dimensions: [d], type: .f32, data: payload.floats(d, scale: 1)),
            matrix("blk.0.attn_q.weight", .q5_K, rows: d, columns: d),
            matrix("blk.0.attn_k.weight", .q3_K, rows: kvd, columns: d),
            matrix("blk.0.attn_v.weight", .q2_K, rows: kvd, columns: d),
            matrix("blk.0.attn_output.weight", .iq4_xs, rows: d, columns: d),
            TinyGGUF.Tensor(name: "blk.0.ffn_norm.weight", dimensions: [d], type: .f32, data: payload.floats(d, scale: 1)),
            matrix("blk.0.ffn_gate.weight", .q5_K, rows: h, columns: d),
            matrix("blk.0.ffn_up.weight", .q3_K, rows: h, columns: d),
            matrix("blk.0.ffn_down.weight", .q2_K, rows: d, columns: h),
            TinyGGUF.Tensor(name: "output_norm.weight", dimensions: [d], type: .f32, data: payload.floats(d, scale: 1)),
            matrix("output.weight", .iq4_xs, rows: V, columns: d),
        ]
        return file
    }

    /// The undamaged file loads, its matrices in the four formats, and computes finite logits.
    @Test func untouchedModelLoadsAndComputes() throws {
        let path = try Self.model().write()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let file = try GGUFFile(path: path)
        let types = try ["attn_q", "attn_k", "attn_v", "attn_output"].map { try #require(file.tensor(named: "blk.0.\($0).weight")).type }
        #expect(types == [.q5_K, .q3_K, .q2_K, .iq4_xs])
        let weights = try GGUFModel.load(path: path)
        let workspace = Workspace(configuration: weights.configuration)
        let cache = KVCache(configuration: weights.configuration, contextLength: 4)
        let logits = withExtendedLifetime(workspace) {
            Array(weights.forward([BatchToken(token: 1, position: 0)], cache: cache, workspace: workspace))
        }
        #expect(logits.count == weights.configuration.vocabularySize && logits.allSatisfy(\.isFinite))
    }

    @Test func truncatedFilesThrow() throws {
        let valid = Self.model().bytes()
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-kq-truncate-\(UUID().uuidString).gguf").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(GGUFFuzzTests.attempt(valid, path: path), "the untouched file must load")
        // Through the tensor infos every 7th offset, then every 4099th through the data.
        var offsets = Array(stride(from: 0, to: min(valid.count, 2600), by: 7))
        offsets += Array(stride(from: 2600, to: valid.count, by: 4099))
        var loaded = 0
        for length in offsets where GGUFFuzzTests.attempt(Array(valid.prefix(length)), path: path) { loaded += 1 }
        #expect(loaded == 0, "\(loaded) truncated files loaded")
    }

    @Test func randomByteFlipsThrowOrLoad() throws {
        let valid = Self.model().bytes()
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-kq-flip-\(UUID().uuidString).gguf").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        var state: UInt64 = 0x5EED_0F_4B51
        func next() -> Int {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return Int(truncatingIfNeeded: state >> 1)
        }
        let headerBytes = 1700  // metadata + tensor infos, roughly
        var loaded = 0, failed = 0
        for _ in 0..<400 {
            var bytes = valid
            for _ in 0..<(1 + next() % 4) {
                // Mostly in the header (counts, lengths, types — 13, 11, 10, 23 among them — offsets).
                let at = next() % 4 == 0 ? next() % bytes.count : next() % headerBytes
                bytes[at] = next() % 3 == 0 ? UInt8(truncatingIfNeeded: next()) : bytes[at] ^ UInt8(1 << (next() % 8))
            }
            if GGUFFuzzTests.attempt(bytes, path: path) { loaded += 1 } else { failed += 1 }
        }
        #expect(loaded > 0 && failed > 0, "loaded \(loaded), failed \(failed)")
    }
}
