// llama.cpp's CPU attention over its default f16 KV cache: ggml_compute_forward_flash_attn_ext_f16
// (ops.cpp, `..._one_chunk`) — flash attention, which recent llama.cpp enables by default on CPU
// (`-fa auto`) and which the golden file shows its server used. It is not softmax(q·Kᵀ)·V in
// float32:
//
//   q is rounded to f16 (the vec_dot_type of f16 keys);
//   s = ggml_vec_dot_f16(k, q) · scale, positions in cache order;
//   an online softmax keeps the running maximum M and sum S in float32, and the running weighted sum
//   of values *in f16*: on a new maximum it is rescaled (ggml_vec_scale_f16), then v·e^{s−M} is
//   added (ggml_vec_mad_f16) — each step rounds every element back to f16;
//   out = float(acc) · (1/S).
//
// The dot product is ggml_vec_dot_f16 in the build's form: AVX2's or AVX-512's (`avx512`, see
// GGMLMatmul.swift). ggml's vectorised and scalar forms of the f16 steps round identically (F16C conversions around one
// fused multiply-add or multiply), so one loop serves any head size. `S = S·ms + vs` is fused.
// This is ggml's path for short prompts and contexts; newer ggml also has a tiled prefill path (many
// query rows, float32 accumulation) and a split-KV decode path (≥ 512 cached positions, partial
// results merged in float32), neither reproduced here.
// The non-flash path (ggml_soft_max_ext, then a second f16 matmul with the weights rounded to f16)
// fits the golden file far worse: emulated with the same activation rounding, |Δ log p| on kq was
// 0.05, against 0.011 for this form before the float32 details elsewhere brought it to 1e-5.
import Foundation

extension GGML {
    /// One query head over positions 0...lastPosition of an f16 cache, as llama.cpp computes it.
    /// Keys and values are (position, rowStride) with the head's slice at the given pointers.
    /// `headSize` at most 1024 (scratch lives on the stack).
    public static func flashAttention(
        query: UnsafePointer<Float>, keys: UnsafePointer<Float16>, values: UnsafePointer<Float16>,
        rowStride: Int, headSize: Int, lastPosition: Int, scale: Float? = nil, softCap: Float? = nil, avx512: Bool = false,
        out: UnsafeMutablePointer<Float>
    ) {
        // With a soft cap ggml folds 1/cap into the scale, then takes cap · tanhf(s).
        let scale = (scale ?? 1 / Float(headSize).squareRoot()) / (softCap ?? 1)
        withUnsafeTemporaryAllocation(of: Float.self, capacity: headSize) { roundedQuery in
            withUnsafeTemporaryAllocation(of: Float16.self, capacity: headSize) { accumulator in
                let q = roundedQuery.baseAddress!, acc = accumulator.baseAddress!
                for i in 0..<headSize { q[i] = Float(Float16(query[i])) }
                acc.initialize(repeating: 0, count: headSize)
                var sum: Float = 0
                var maximum = -Float.infinity
                for t in 0...lastPosition {
                    let k = keys + t * rowStride
                    var s = (avx512 ? dotAVX512(q, half: k, count: headSize) : dot(q, half: k, count: headSize)) * scale
                    if let softCap { s = softCap * tanhf(s) }
                    var ms: Float = 1, vs: Float = 1
                    if s > maximum {
                        // A new maximum: rescale what is accumulated; this value's weight is e⁰ = 1.
                        ms = expf(maximum - s)
                        maximum = s
                        scaleHalves(acc, by: ms, count: headSize)
                    } else {
                        vs = expf(s - maximum)
                    }
                    addScaledHalves(acc, values + t * rowStride, vs, count: headSize)
                    sum = vs.addingProduct(sum, ms)
                }
                let inverse = 1 / sum
                for i in 0..<headSize { out[i] = Float(acc[i]) * inverse }
            }
        }
    }

    /// ggml_vec_scale_f16: y = f16(float(y) · v).
    @inline(__always)
    static func scaleHalves(_ y: UnsafeMutablePointer<Float16>, by v: Float, count: Int) {
        var i = 0
        let raw = UnsafeMutableRawPointer(y)
        while i + 8 <= count {
            let scaled = Half.eight(y, i) * v
            raw.storeBytes(of: SIMD8<Float16>(scaled), toByteOffset: i &* 2, as: SIMD8<Float16>.self)
            i &+= 8
        }
        while i < count {
            y[i] = Float16(Float(y[i]) * v)
            i &+= 1
        }
    }

    /// ggml_vec_mad_f16: y = f16(fma(float(x), v, float(y))).
    @inline(__always)
    static func addScaledHalves(_ y: UnsafeMutablePointer<Float16>, _ x: UnsafePointer<Float16>, _ v: Float, count: Int) {
        var i = 0
        let raw = UnsafeMutableRawPointer(y)
        let vv = SIMD8<Float>(repeating: v)
        while i + 8 <= count {
            let sum = Half.eight(y, i).addingProduct(Half.eight(x, i), vv)
            raw.storeBytes(of: SIMD8<Float16>(sum), toByteOffset: i &* 2, as: SIMD8<Float16>.self)
            i &+= 8
        }
        while i < count {
            y[i] = Float16(Float(y[i]).addingProduct(Float(x[i]), v))
            i &+= 1
        }
    }
}
