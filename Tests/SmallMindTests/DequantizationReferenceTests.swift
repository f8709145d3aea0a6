import Foundation
import Testing
@testable import SmallMind

/// Our decoding of whole tensors of the shared GGUF files against gguf-py's
/// `gguf.quants.dequantize` (gguf 0.19.0, the reference implementation that ships with llama.cpp):
/// the sum, the sum of squares and element 777 of each tensor, computed there in float64.
@Suite(.enabled(if: SharedFiles.available, SharedFiles.skipReason))
struct DequantizationReferenceTests {
    static let reference: [(file: String, tensor: String, sum: Double, sumOfSquares: Double, element777: Double)] = [
        ("kq-f16.gguf", "blk.0.attn_q.weight", -18.552725076675415, 1029.4592196315398, 0.031158447265625),
        ("kq-q8_0.gguf", "blk.0.attn_q.weight", -18.332054138183594, 1029.530185075566, 0.030895233154296875),
        ("kq-q8_0.gguf", "token_embd.weight", 32.338890075683594, 130822.09709964233, -1.2943267822265625),
        ("kq-q4_0.gguf", "blk.1.ffn_down.weight", 22.515159606933594, 1027.518522610364, 0.0218505859375),
        ("kq-q4_k_m.gguf", "blk.0.attn_q.weight", -19.920722484588623, 1029.4600067564418, 0.03787994384765625),
        ("kq-q4_k_m.gguf", "blk.1.ffn_gate.weight", -32.240074634552, 3076.3451272064276, -0.13506317138671875),
        ("kq-q6_k.gguf", "blk.0.attn_q.weight", -18.719919621944427, 1029.803152847617, 0.03423810005187988),
        ("kq-q4_k_m.gguf", "token_embd.weight", 29.352991104125977, 130862.1746347418, -1.3076934814453125),
        ("stories260K-q8_0.gguf", "blk.0.ffn_down.weight", 2.4116655588150024, 169.93073613813417, -0.07757568359375),
        ("kq-q5_k_m.gguf", "blk.0.attn_q.weight", -19.537389993667603, 1029.0537483753, 0.024082183837890625),  // Q5_K
        ("kq-q5_k_m.gguf", "blk.1.ffn_down.weight", 22.732455849647522, 1025.5168238089686, 0.021837234497070312),  // Q6_K
        ("kq-q5_k_m.gguf", "blk.0.ffn_gate.weight", 26.90146803855896, 3076.6575058355243, -0.22618675231933594),  // Q5_K
        ("kq-q3_k_m.gguf", "blk.0.attn_q.weight", -12.276395797729492, 1042.2633240750838, 0.05451202392578125),  // Q3_K
        ("kq-q3_k_m.gguf", "blk.0.ffn_gate.weight", 85.67073249816895, 3115.902284241656, -0.218994140625),  // Q3_K
        ("kq-q3_k_m.gguf", "blk.0.attn_v.weight", -43.409069776535034, 1018.9626504210894, 0.05743265151977539),  // Q5_K
        ("kq-q2_k.gguf", "blk.0.attn_q.weight", -18.720382690429688, 1085.591108370223, 0.04876708984375),  // Q2_K
        ("kq-q2_k.gguf", "blk.0.ffn_gate.weight", 48.89500427246094, 3244.048539276235, -0.21435546875),  // Q2_K
        ("kq-q2_k.gguf", "blk.0.ffn_down.weight", 39.83926582336426, 1039.2215674807994, 0.038280487060546875),  // Q3_K
        ("kq-iq4_xs.gguf", "blk.0.attn_q.weight", -18.582507610321045, 1029.3518830994435, 0.028930187225341797),  // IQ4_XS
        ("kq-iq4_xs.gguf", "blk.1.ffn_down.weight", 26.15132063627243, 1025.4324435513442, 0.01755291223526001),  // IQ4_XS
        ("kq-q5_0.gguf", "blk.0.attn_q.weight", -19.037094116210938, 1029.694908820209, 0.0350341796875),
        ("kq-q5_0.gguf", "blk.1.ffn_down.weight", 23.61489486694336, 1025.704943988807, 0.0218505859375),
        ("kq-q4_1.gguf", "blk.0.attn_q.weight", -15.405990600585938, 1036.9835097047035, 0.018829345703125),
        ("kq-q4_1.gguf", "blk.1.ffn_gate.weight", -24.38201904296875, 3096.9884135401808, -0.1416015625),
        ("kq-q5_1.gguf", "blk.0.attn_q.weight", -19.53217315673828, 1031.2925151847885, 0.025299072265625),
        ("kq-q5_1.gguf", "blk.1.ffn_down.weight", 22.815853118896484, 1027.4233856599749, 0.02567291259765625),
        ("kq-iq4_nl.gguf", "blk.0.attn_q.weight", -18.72098731994629, 1029.623100026558, 0.02886199951171875),
        ("kq-iq4_nl.gguf", "blk.1.ffn_up.weight", 93.04021739959717, 3065.219734115838, -0.17484664916992188),
    ]

    /// Q5_0 tensors of the real published models (rows of 896 and 640 elements), the same figures.
    static let realReference: [(file: String, tensor: String, sum: Double, sumOfSquares: Double, element777: Double)] = [
        (RealModels.qwen, "blk.0.ffn_gate.weight", -309.432900428772, 1012.949328110527, -0.010517120361328125),
        (RealModels.gemma, "blk.0.attn_k.weight", 32.07246398925781, 256.29940138361417, -0.00604248046875),
    ]

    @Test(arguments: 0..<reference.count)
    func decodedTensorMatchesGGUFPy(index: Int) throws {
        try Self.expectMatch(Self.reference[index], path: SharedFiles.model(Self.reference[index].file))
    }

    @Test(.enabled(if: RealModels.available(RealModels.qwen), RealModels.skipReason(RealModels.qwen)))
    func decodedQwenQ5_0TensorMatchesGGUFPy() throws {
        try Self.expectMatch(Self.realReference[0], path: RealModels.path(RealModels.qwen))
    }

    @Test(.enabled(if: RealModels.available(RealModels.gemma), RealModels.skipReason(RealModels.gemma)))
    func decodedGemmaQ5_0TensorMatchesGGUFPy() throws {
        try Self.expectMatch(Self.realReference[1], path: RealModels.path(RealModels.gemma))
    }

    /// The fast decoder over the whole tensor against gguf-py's figures; the fast decoder equals
    /// the reference dequantizer bit for bit (BlockFormatTests), so this checks that one too.
    static func expectMatch(
        _ expected: (file: String, tensor: String, sum: Double, sumOfSquares: Double, element777: Double), path: String
    ) throws {
        let file = try GGUFFile(path: path)
        let info = try #require(file.tensor(named: expected.tensor))
        let format = try #require(GGUFModel.formats[info.type]?.blockFormat, "\(info.type.name) is not an encoded format")
        let (columns, rows) = (info.dimensions[0], info.dimensions[1])
        let rowBytes = format.rowBytes(columns: columns)
        var values = [Float](repeating: .nan, count: rows * columns)
        var reference = values
        for r in 0..<rows {
            format.dequantize(row: file.data(of: info) + r * rowBytes, columns: columns, into: &values[r * columns])
            format.dequantizeReference(row: file.data(of: info) + r * rowBytes, columns: columns, into: &reference[r * columns])
        }
        // The fast decoder and the scalar reference agree bit for bit on the file's tensor too.
        #expect(values.map(\.bitPattern) == reference.map(\.bitPattern), "\(expected.file) \(expected.tensor)")
        let sum = values.reduce(0.0) { $0 + Double($1) }
        let sumOfSquares = values.reduce(0.0) { $0 + Double($1) * Double($1) }
        #expect(abs(sum - expected.sum) <= 1e-6 * sumOfSquares.squareRoot() * 10, "\(expected.file) \(expected.tensor) sum \(sum)")
        #expect(abs(sumOfSquares - expected.sumOfSquares) <= 1e-6 * expected.sumOfSquares, "\(expected.file) \(expected.tensor) Σx² \(sumOfSquares)")
        #expect(abs(Double(values[777]) - expected.element777) <= 1e-6 * max(1, abs(expected.element777)))
    }
}
