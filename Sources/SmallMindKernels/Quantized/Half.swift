// Half-precision weights: one 2-byte value per element, no blocks, so rows may have any length
// (llama.cpp falls back to F16 for matrices whose rows are not whole quantization blocks).
//
//   F16  : IEEE 754 binary16, little-endian            value = Float(half)            (exact)
//   BF16 : the top 16 bits of a float32, little-endian value = Float(bits: b << 16)   (exact)

/// IEEE half precision.
enum F16Decoder: BlockDecoder {
    static var blockElements: Int { 1 }
    static var blockBytes: Int { 2 }

    @inline(__always)
    static func eight(_ row: UnsafeRawPointer, _ k: Int) -> SIMD8<Float> {
        // One vcvtph2ps with F16C.
        SIMD8<Float>(row.loadUnaligned(fromByteOffset: k &* 2, as: SIMD8<Float16>.self))
    }

    @inline(__always)
    static func group<I: InstructionSet>(_ row: UnsafeRawPointer, _ g: Int, _: I.Type) -> DecodedGroup {
        let k = g &* 32
        return DecodedGroup(v0: eight(row, k), v1: eight(row, k &+ 8), v2: eight(row, k &+ 16), v3: eight(row, k &+ 24))
    }

    @inline(__always)
    static func element(_ row: UnsafeRawPointer, _ k: Int) -> Float { loadHalf(row, k &* 2) }

    /// ggml_fp16_to_fp32 for each element.
    static func dequantizeReference(_ row: UnsafeRawPointer, count: Int, into out: UnsafeMutablePointer<Float>) {
        for i in 0..<count {
            out[i] = Float(Float16(bitPattern: row.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
        }
    }
}

/// bfloat16.
enum BF16Decoder: BlockDecoder {
    static var blockElements: Int { 1 }
    static var blockBytes: Int { 2 }

    @inline(__always)
    static func eight(_ row: UnsafeRawPointer, _ k: Int) -> SIMD8<Float> {
        let bits = row.loadUnaligned(fromByteOffset: k &* 2, as: SIMD8<UInt16>.self)
        return unsafeBitCast(SIMD8<UInt32>(truncatingIfNeeded: bits) &<< 16, to: SIMD8<Float>.self)
    }

    @inline(__always)
    static func group<I: InstructionSet>(_ row: UnsafeRawPointer, _ g: Int, _: I.Type) -> DecodedGroup {
        let k = g &* 32
        return DecodedGroup(v0: eight(row, k), v1: eight(row, k &+ 8), v2: eight(row, k &+ 16), v3: eight(row, k &+ 24))
    }

    @inline(__always)
    static func element(_ row: UnsafeRawPointer, _ k: Int) -> Float {
        Float(bitPattern: UInt32(row.loadUnaligned(fromByteOffset: k &* 2, as: UInt16.self)) << 16)
    }

    /// ggml_bf16_to_fp32 for each element.
    static func dequantizeReference(_ row: UnsafeRawPointer, count: Int, into out: UnsafeMutablePointer<Float>) {
        for i in 0..<count {
            out[i] = Float(bitPattern: UInt32(row.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16)
        }
    }
}

/// Conversions between float32 activations and half-precision storage (the f16 KV cache).
public enum Half {
    /// out[i] = Float16(x[i]) for i < count: round to nearest, ties to even — ggml's fp32→fp16
    /// (F16C's vcvtps2ph with rounding mode 0), so a stored key is the one llama.cpp stores.
    public static func round(_ x: UnsafePointer<Float>, count: Int, into out: UnsafeMutablePointer<Float16>) {
        let source = UnsafeRawPointer(x), target = UnsafeMutableRawPointer(out)
        var i = 0
        while i + 8 <= count {
            let v = source.loadUnaligned(fromByteOffset: i &* 4, as: SIMD8<Float>.self)
            target.storeBytes(of: SIMD8<Float16>(v), toByteOffset: i &* 2, as: SIMD8<Float16>.self)
            i &+= 8
        }
        while i < count {
            out[i] = Float16(x[i])
            i &+= 1
        }
    }

    /// Eight half-precision values at `p + k`, widened (one vcvtph2ps with F16C; exact).
    @inline(__always)
    static func eight(_ p: UnsafePointer<Float16>, _ k: Int) -> SIMD8<Float> {
        SIMD8<Float>(UnsafeRawPointer(p).loadUnaligned(fromByteOffset: k &* 2, as: SIMD8<Float16>.self))
    }
}
