// Q8_0: blocks of 32 elements, 34 bytes (ggml's block_q8_0):
//
//   offset 0   f16  d        scale
//   offset 2   i8   qs[32]   element j = qs[j] · d
//
// Decoding: eight int8 → int32 → float (vpmovsxbd + vcvtdq2ps), times the broadcast scale.

/// 8-bit blocks.
enum Q8_0Decoder: BlockDecoder {
    static var blockElements: Int { 32 }
    static var blockBytes: Int { 34 }

    @inline(__always)
    static func group<I: InstructionSet>(_ row: UnsafeRawPointer, _ g: Int, _: I.Type) -> DecodedGroup {
        let block = row + g &* 34
        let d = loadHalfScale(block, I.self)
        @inline(__always) func eight(_ at: Int) -> SIMD8<Float> {
            SIMD8<Float>(SIMD8<Int32>(truncatingIfNeeded: block.loadUnaligned(fromByteOffset: at, as: SIMD8<Int8>.self))) * d
        }
        return DecodedGroup(v0: eight(2), v1: eight(10), v2: eight(18), v3: eight(26))
    }

    /// dequantize_row_q8_0: y[i·32 + j] = qs[j] · d.
    static func dequantizeReference(_ row: UnsafeRawPointer, count: Int, into out: UnsafeMutablePointer<Float>) {
        for i in 0..<count / 32 {
            let block = row + i * 34
            let d = Float(Float16(bitPattern: block.loadUnaligned(as: UInt16.self)))
            for j in 0..<32 {
                let q = block.load(fromByteOffset: 2 + j, as: Int8.self)
                out[i * 32 + j] = Float(q) * d
            }
        }
    }
}
