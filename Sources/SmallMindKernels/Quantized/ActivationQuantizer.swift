// Activation rows quantized to Q8_0 for the integer products with Q8_0 and Q4_0 weights
// (`IntegerMatmul`), exactly as llama.cpp's quantize_row_q8_0 (x86) quantizes them — the rule
// `ActivationRounding.q8_0` writes back as floats:
//
//   per block of 32:  amax = max |x|,  d = f16(amax / 127),  q = round_half_even(x · (127 / amax))
//
// (the inverse computed on its own, not as 1/d; an all-zero block gets d = 0 and q = 0). |q| never
// exceeds 127: x · (127/amax) ≤ 127 · (1 + 2⁻²³) rounds to 127. Where 127/amax overflows
// (amax < 4e-37, subnormal activations) q = 0 — ggml's codes there are garbage, d is 0 anyway.
//
// The codes are stored widened and rearranged for the kernel that reads them: as int16 (64 bytes a
// block), the 16 codes of the even elements (0, 2, …, 30) then the odd ones — the layout in which
// the integer kernel gets the weights nearly for free (a Q8_0 block read as sixteen int16 holds
// element 2i in the low byte of lane i and 2i + 1 in the high byte); or as floats (128 bytes) in
// the order of the batched kernel's operands. A row is read once per weight row, so widening and
// shuffling it once here saves that work per block per weight row. Each row is quantized on its
// own, so a row's codes do not depend on the batch around it.

/// Activation rows quantized to Q8_0 blocks: codes (batch, columns) in one of two layouts, and
/// one float scale per block of 32 (batch, columns / 32).
struct QuantizedActivations {
    /// How a block's 32 codes are stored.
    enum Layout {
        /// int16, 64 bytes: the even elements (0, 2, …, 30), then the odd ones (`IntegerMatmul.multiply`).
        case int16
        /// float, 128 bytes: elements 4j for j = 0..<8, then 4j + 1, 4j + 2, 4j + 3 — the four
        /// operands of lane j's sum (`IntegerMatmul.multiplyBatched`).
        case float
    }

    let codes: UnsafeMutableRawPointer
    let scales: UnsafeMutablePointer<Float>
    let columns: Int
    let layout: Layout

    /// Bytes per block of codes.
    var blockBytes: Int { layout == .int16 ? 64 : 128 }

    /// Bytes of scratch needed for `batch` rows of `columns` elements (codes, then scales).
    static func scratchBytes(batch: Int, columns: Int, layout: Layout) -> Int {
        batch * (columns / 32) * ((layout == .int16 ? 64 : 128) + 4)
    }

    /// Quantizes `batch` rows of x into `scratch` (at least `scratchBytes` bytes, 4-aligned).
    init(_ x: UnsafePointer<Float>, batch: Int, columns: Int, layout: Layout, scratch: UnsafeMutableRawPointer) {
        precondition(columns % 32 == 0, "Q8_0 activation rows must be whole blocks of 32")
        self.columns = columns
        self.layout = layout
        let blocks = columns / 32
        let blockBytes = layout == .int16 ? 64 : 128
        codes = scratch
        scales = (scratch + batch * blocks * blockBytes).bindMemory(to: Float.self, capacity: batch * blocks)
        for b in 0..<batch {
            Self.quantizeRow(x + b * columns, count: columns, layout: layout, codes: codes + b * blocks * blockBytes, scales: scales + b * blocks)
        }
    }

    /// Where element i of a block is stored within the block, in `layout`.
    static func slot(_ i: Int, _ layout: Layout) -> Int {
        switch layout {
        case .int16: return (i & 1) * 16 + (i >> 1)
        case .float: return (i & 3) * 8 + (i >> 2)
        }
    }

    /// Row b's codes, as raw bytes.
    @inline(__always)
    func row(_ b: Int) -> UnsafeRawPointer { UnsafeRawPointer(codes + b * (columns / 32) * blockBytes) }

    /// Row b's block scales.
    @inline(__always)
    func rowScales(_ b: Int) -> UnsafePointer<Float> { UnsafePointer(scales + b * (columns / 32)) }

    /// One row, eight lanes at a time. Rounding adds and subtracts 1.5 · 2²³: below 2²² in
    /// magnitude the sum lands where floats are spaced by 1, so the hardware's round-to-nearest-even
    /// rounds x · inverse exactly as `rounded(.toNearestOrEven)` does, and the integer is read off
    /// the low mantissa bits (vmulps, vaddps, vpsubd).
    static func quantizeRow(
        _ x: UnsafePointer<Float>, count: Int, layout: Layout, codes: UnsafeMutableRawPointer, scales: UnsafeMutablePointer<Float>
    ) {
        let magic: Float = 0x1.8p23
        let magicBits = SIMD8<Int32>(repeating: Int32(bitPattern: magic.bitPattern))
        for g in 0..<(count / 32) {
            let p = UnsafeRawPointer(x + g * 32)
            let v0 = p.loadUnaligned(fromByteOffset: 0, as: SIMD8<Float>.self)
            let v1 = p.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
            let v2 = p.loadUnaligned(fromByteOffset: 64, as: SIMD8<Float>.self)
            let v3 = p.loadUnaligned(fromByteOffset: 96, as: SIMD8<Float>.self)
            let signless = SIMD8<UInt32>(repeating: 0x7FFF_FFFF)
            @inline(__always) func magnitude(_ v: SIMD8<Float>) -> SIMD8<UInt32> { unsafeBitCast(v, to: SIMD8<UInt32>.self) & signless }
            // Non-negative floats order as their bit patterns do, so the maximum is taken on integers.
            let m = pointwiseMax(pointwiseMax(magnitude(v0), magnitude(v1)), pointwiseMax(magnitude(v2), magnitude(v3)))
            let amax = Float(bitPattern: m.max())
            scales[g] = Float(Float16(amax / 127))
            let inverse = SIMD8<Float>(repeating: amax != 0 ? 127 / amax : 0)
            @inline(__always) func quantize(_ v: SIMD8<Float>) -> SIMD8<Int32> {
                unsafeBitCast(v * inverse + magic, to: SIMD8<Int32>.self) &- magicBits
            }
            // Natural order first, then rearranged by a short scalar loop: per block of
            // activations this is small next to a weight row's worth of products per code.
            var natural = (quantize(v0), quantize(v1), quantize(v2), quantize(v3))
            withUnsafeBytes(of: &natural) { raw in
                let q = raw.bindMemory(to: Int32.self)
                switch layout {
                case .int16:
                    let out = (codes + g * 64).assumingMemoryBound(to: Int16.self)
                    for i in 0..<16 {
                        out[i] = Int16(truncatingIfNeeded: q[2 * i])
                        out[16 + i] = Int16(truncatingIfNeeded: q[2 * i + 1])
                    }
                case .float:
                    let out = (codes + g * 128).assumingMemoryBound(to: Float.self)
                    for j in 0..<8 {
                        for c in 0..<4 { out[c * 8 + j] = Float(Int16(truncatingIfNeeded: q[4 * j + c])) }
                    }
                }
            }
        }
    }

    /// The scalar reference of `quantizeRow`, written from the rule at the top of this file; the
    /// codes in natural order (element i of block g at g·32 + i).
    static func quantizeRowReference(
        _ x: UnsafePointer<Float>, count: Int, codes: UnsafeMutablePointer<Int16>, scales: UnsafeMutablePointer<Float>
    ) {
        for g in 0..<(count / 32) {
            var amax: Float = 0
            for j in 0..<32 { amax = max(amax, abs(x[g * 32 + j])) }
            scales[g] = Float(Float16(amax / 127))
            let inverse: Float = amax != 0 ? 127 / amax : 0
            for j in 0..<32 {
                // Only when 127 / amax overflows (amax < 4e-37) is the product not finite; the
                // vector path's bit arithmetic then yields 0, and so does this.
                let q = (x[g * 32 + j] * inverse).rounded(.toNearestOrEven)
                codes[g * 32 + j] = q.isFinite ? Int16(q) : 0
            }
        }
    }
}
