// Q4_1: blocks of 32 elements, 20 bytes (ggml's block_q4_1):
//
//   offset 0   f16  d        scale
//   offset 2   f16  m        minimum
//   offset 4   u8   qs[16]   low nibble: element j, high nibble: element j + 16 (as Q4_0)
//
//   element j = nibble_j · d + m      (a product, then a sum: two roundings, as gguf-py computes it)
//
// The integer products take the minimum apart: Σ (q·d + m)·x ≈ d·d_x·Σ q·x_q + m·s_x, with s_x the
// activation block's scaled code sum (`Q8Activations.scaledSums`, llama.cpp's block_q8_1.s).
#if os(Linux) && arch(x86_64)
import _Builtin_intrinsics.intel
#endif

/// 4-bit blocks with a scale and a minimum.
enum Q4_1Decoder: BlockDecoder {
    static var blockElements: Int { 32 }
    static var blockBytes: Int { 20 }

    @inline(__always)
    static func group<I: InstructionSet>(_ row: UnsafeRawPointer, _ g: Int, _: I.Type) -> DecodedGroup {
        let block = row + g &* 20
        let d = loadHalfScale(block, I.self), m = loadHalfScale(block + 2, I.self)
        let first = SIMD8<Int32>(truncatingIfNeeded: block.loadUnaligned(fromByteOffset: 4, as: SIMD8<UInt8>.self))
        let second = SIMD8<Int32>(truncatingIfNeeded: block.loadUnaligned(fromByteOffset: 12, as: SIMD8<UInt8>.self))
        @inline(__always) func eight(_ q: SIMD8<Int32>) -> SIMD8<Float> { SIMD8<Float>(q) * d + m }
        return DecodedGroup(v0: eight(first & 0x0F), v1: eight(second & 0x0F), v2: eight(first &>> 4), v3: eight(second &>> 4))
    }

    /// dequantize_row_q4_1.
    static func dequantizeReference(_ row: UnsafeRawPointer, count: Int, into out: UnsafeMutablePointer<Float>) {
        for i in 0..<count / 32 {
            let block = row + i * 20
            let d = Float(Float16(bitPattern: block.loadUnaligned(as: UInt16.self)))
            let m = Float(Float16(bitPattern: block.loadUnaligned(fromByteOffset: 2, as: UInt16.self)))
            for j in 0..<16 {
                let q = block.load(fromByteOffset: 4 + j, as: UInt8.self)
                out[i * 32 + j] = Float(q & 0x0F) * d + m
                out[i * 32 + j + 16] = Float(q >> 4) * d + m
            }
        }
    }
}

extension Q4_1Decoder: IntegerBlockDecoder {
    static var minimumOffset: Int? { 2 }

    static func code(_ block: UnsafeRawPointer, _ i: Int) -> Int32 {
        let byte = block.load(fromByteOffset: 4 + i % 16, as: UInt8.self)
        return Int32(i < 16 ? byte & 0x0F : byte >> 4)
    }
}

extension Q4_1Decoder: IntegerWeightBlocks {
    /// The nibbles (0…15) as they are.
    @inline(__always)
    static func codes<I: InstructionSet>(_ block: UnsafeRawPointer, _: I.Type) -> SIMD32<Int8> {
        #if os(Linux) && arch(x86_64)
        if I.usesX86Intrinsics {
            return unsafeBitCast(nibbleBytes(block + 4), to: SIMD32<Int8>.self)
        }
        #endif
        return portableNibbleCodes(block + 4, 0)
    }
}
