import Foundation
@testable import SmallMind

/// Writes small GGUF files in code, for tests that must not depend on ../shared: loader errors,
/// architecture rows and the parser fuzz test.
struct TinyGGUF {
    enum Value {
        case u32(UInt32), f32(Float), string(String), strings([String]), floats([Float])
    }

    struct Tensor {
        var name: String
        var dimensions: [Int]
        var type: GGMLType
        var data: [UInt8]
    }

    var metadata: [(String, Value)] = []
    var tensors: [Tensor] = []
    var alignment = 32

    /// Serialises to GGUF v3 bytes.
    func bytes() -> [UInt8] {
        var out: [UInt8] = []
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        func string(_ s: String) { u64(UInt64(s.utf8.count)); out += Array(s.utf8) }
        out += Array("GGUF".utf8)
        u32(3)
        u64(UInt64(tensors.count))
        u64(UInt64(metadata.count))
        for (key, value) in metadata {
            string(key)
            switch value {
            case let .u32(v): u32(4); u32(v)
            case let .f32(v): u32(6); u32(v.bitPattern)
            case let .string(v): u32(8); string(v)
            case let .strings(v): u32(9); u32(8); u64(UInt64(v.count)); v.forEach(string)
            case let .floats(v): u32(9); u32(6); u64(UInt64(v.count)); v.forEach { u32($0.bitPattern) }
            }
        }
        var offset = 0
        var offsets: [Int] = []
        for t in tensors {
            offsets.append(offset)
            offset += (t.data.count + alignment - 1) / alignment * alignment
        }
        for (t, at) in zip(tensors, offsets) {
            string(t.name)
            u32(UInt32(t.dimensions.count))
            t.dimensions.forEach { u64(UInt64($0)) }
            u32(t.type.rawValue)
            u64(UInt64(at))
        }
        while out.count % alignment != 0 { out.append(0) }
        for t in tensors {
            out += t.data
            while out.count % alignment != 0 { out.append(0) }
        }
        return out
    }

    /// Writes to a fresh file in the temporary directory and returns its path.
    func write(name: String = UUID().uuidString) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("\(name).gguf").path
        try Data(bytes()).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// A tiny llama: dim 32, hidden 64, one layer, 2 heads (1 KV head), vocabulary 8, context 16,
    /// with Q8_0 attention matrices and F32 elsewhere, and an embedded 8-token SentencePiece vocabulary.
    static func llama(seed: UInt64 = 1) -> TinyGGUF {
        var payload = Payload(seed: seed)
        func floats(_ count: Int, scale: Float = 0.2) -> [UInt8] { payload.floats(count, scale: scale) }
        func q8(rows: Int, columns: Int) -> [UInt8] { payload.q8(rows: rows, columns: columns) }
        let d = 32, h = 64, V = 8, kvd = 16
        var file = TinyGGUF()
        file.metadata = [
            ("general.architecture", .string("llama")),
            ("llama.context_length", .u32(16)), ("llama.embedding_length", .u32(UInt32(d))),
            ("llama.block_count", .u32(1)), ("llama.feed_forward_length", .u32(UInt32(h))),
            ("llama.attention.head_count", .u32(2)), ("llama.attention.head_count_kv", .u32(1)),
            ("llama.rope.dimension_count", .u32(8)), ("llama.attention.layer_norm_rms_epsilon", .f32(1e-5)),
            ("tokenizer.ggml.model", .string("llama")),
            ("tokenizer.ggml.tokens", .strings(["<unk>", "<s>", "</s>", "\u{2581}", "a", "b", "\u{2581}a", "ab"])),
            ("tokenizer.ggml.scores", .floats([0, 0, 0, -1, -2, -3, -4, -5])),
            ("tokenizer.ggml.bos_token_id", .u32(1)), ("tokenizer.ggml.eos_token_id", .u32(2)),
        ]
        file.tensors = [
            Tensor(name: "token_embd.weight", dimensions: [d, V], type: .f32, data: floats(V * d, scale: 1)),
            Tensor(name: "blk.0.attn_norm.weight", dimensions: [d], type: .f32, data: floats(d, scale: 1)),
            Tensor(name: "blk.0.attn_q.weight", dimensions: [d, d], type: .q8_0, data: q8(rows: d, columns: d)),
            Tensor(name: "blk.0.attn_k.weight", dimensions: [d, kvd], type: .q8_0, data: q8(rows: kvd, columns: d)),
            Tensor(name: "blk.0.attn_v.weight", dimensions: [d, kvd], type: .q8_0, data: q8(rows: kvd, columns: d)),
            Tensor(name: "blk.0.attn_output.weight", dimensions: [d, d], type: .q8_0, data: q8(rows: d, columns: d)),
            Tensor(name: "blk.0.ffn_norm.weight", dimensions: [d], type: .f32, data: floats(d, scale: 1)),
            Tensor(name: "blk.0.ffn_gate.weight", dimensions: [d, h], type: .f32, data: floats(h * d)),
            Tensor(name: "blk.0.ffn_up.weight", dimensions: [d, h], type: .f32, data: floats(h * d)),
            Tensor(name: "blk.0.ffn_down.weight", dimensions: [h, d], type: .f32, data: floats(d * h)),
            Tensor(name: "output_norm.weight", dimensions: [d], type: .f32, data: floats(d, scale: 1)),
        ]
        return file
    }

    /// A tiny GPT-2: dim 32, hidden 64, one layer, 2 heads, vocabulary 8, context 16, with its
    /// fused QKV, output and feed-forward matrices in Q8_0 (the classifier tied to the F32 token
    /// embedding), biases and LayerNorm shifts in F32. No vocabulary: for the weights alone.
    static func gpt2Quantized(seed: UInt64 = 3) -> TinyGGUF {
        var payload = Payload(seed: seed)
        func floats(_ count: Int, scale: Float = 0.2) -> [UInt8] { payload.floats(count, scale: scale) }
        func q8(rows: Int, columns: Int) -> [UInt8] { payload.q8(rows: rows, columns: columns) }
        let d = 32, h = 64, V = 8, T = 16
        var file = TinyGGUF()
        file.metadata = [
            ("general.architecture", .string("gpt2")),
            ("gpt2.context_length", .u32(UInt32(T))), ("gpt2.embedding_length", .u32(UInt32(d))),
            ("gpt2.block_count", .u32(1)), ("gpt2.feed_forward_length", .u32(UInt32(h))),
            ("gpt2.attention.head_count", .u32(2)), ("gpt2.attention.layer_norm_epsilon", .f32(1e-5)),
        ]
        file.tensors = [
            Tensor(name: "token_embd.weight", dimensions: [d, V], type: .f32, data: floats(V * d, scale: 1)),
            Tensor(name: "position_embd.weight", dimensions: [d, T], type: .f32, data: floats(T * d, scale: 0.1)),
            Tensor(name: "blk.0.attn_norm.weight", dimensions: [d], type: .f32, data: floats(d, scale: 1)),
            Tensor(name: "blk.0.attn_norm.bias", dimensions: [d], type: .f32, data: floats(d, scale: 0.1)),
            Tensor(name: "blk.0.attn_qkv.weight", dimensions: [d, 3 * d], type: .q8_0, data: q8(rows: 3 * d, columns: d)),
            Tensor(name: "blk.0.attn_qkv.bias", dimensions: [3 * d], type: .f32, data: floats(3 * d, scale: 0.1)),
            Tensor(name: "blk.0.attn_output.weight", dimensions: [d, d], type: .q8_0, data: q8(rows: d, columns: d)),
            Tensor(name: "blk.0.attn_output.bias", dimensions: [d], type: .f32, data: floats(d, scale: 0.1)),
            Tensor(name: "blk.0.ffn_norm.weight", dimensions: [d], type: .f32, data: floats(d, scale: 1)),
            Tensor(name: "blk.0.ffn_norm.bias", dimensions: [d], type: .f32, data: floats(d, scale: 0.1)),
            Tensor(name: "blk.0.ffn_up.weight", dimensions: [d, h], type: .q8_0, data: q8(rows: h, columns: d)),
            Tensor(name: "blk.0.ffn_up.bias", dimensions: [h], type: .f32, data: floats(h, scale: 0.1)),
            Tensor(name: "blk.0.ffn_down.weight", dimensions: [h, d], type: .q8_0, data: q8(rows: d, columns: h)),
            Tensor(name: "blk.0.ffn_down.bias", dimensions: [d], type: .f32, data: floats(d, scale: 0.1)),
            Tensor(name: "output_norm.weight", dimensions: [d], type: .f32, data: floats(d, scale: 1)),
            Tensor(name: "output_norm.bias", dimensions: [d], type: .f32, data: floats(d, scale: 0.1)),
        ]
        return file
    }

    /// Seeded tensor bytes: little-endian F32 values, or Q8_0 blocks of random codes with scale 0.01.
    struct Payload {
        var state: UInt64

        init(seed: UInt64) { state = seed | 1 }

        mutating func next() -> UInt64 {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return state
        }

        mutating func floats(_ count: Int, scale: Float) -> [UInt8] {
            (0..<count).flatMap { _ -> [UInt8] in
                let v = (Float(next() >> 40) / Float(1 << 24) * 2 - 1) * scale
                return withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) }
            }
        }

        mutating func q8(rows: Int, columns: Int) -> [UInt8] {
            (0..<(rows * columns / 32)).flatMap { _ -> [UInt8] in
                withUnsafeBytes(of: Float16(0.01).bitPattern.littleEndian) { Array($0) } + (0..<32).map { _ in UInt8(truncatingIfNeeded: next()) }
            }
        }
    }

    /// Replaces a metadata value (or appends it).
    mutating func set(_ key: String, _ value: Value) {
        if let i = metadata.firstIndex(where: { $0.0 == key }) { metadata[i].1 = value } else { metadata.append((key, value)) }
    }

    /// Renames the architecture and its metadata keys.
    mutating func rename(architecture name: String) {
        for i in metadata.indices where metadata[i].0.hasPrefix("llama.") {
            metadata[i].0 = name + metadata[i].0.dropFirst("llama".count)
        }
        set("general.architecture", .string(name))
    }
}
