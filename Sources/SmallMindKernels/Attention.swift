// Causal self-attention for one query head of one token over a sequence's cached keys and values.
//
// The keys/values of a sequence are laid out (position, kvDim) with the head's slice at
// `headOffset`. Each score uses `Matmul.dot` (fixed order), the softmax is sequential, and the
// weighted sum of values runs over positions in order — so a token's attention output is the same
// whether it is computed during prefill (with its batch-mates) or alone during decode.
//
// Caches in half precision (f16) are read by an overload that widens each key and value to float32
// in registers (exact) and otherwise does what the float32 kernel does, in the same order: its
// result equals the float32 kernel's on the widened cache, bit for bit. (llama.cpp's arithmetic
// over an f16 cache, which rounds more, is `GGML.flashAttention`.)
import Foundation

/// Attention kernels.
public enum Attention {
    /// out[0..<headSize] = Σₜ softmax(q·kₜ / √headSize)ₜ · vₜ over positions t = 0...lastPosition.
    /// `scores` must hold lastPosition + 1 floats.
    public static func head(
        query: UnsafePointer<Float>, keys: UnsafePointer<Float>, values: UnsafePointer<Float>,
        rowStride: Int, headSize: Int, lastPosition: Int,
        scores: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>
    ) {
        let length = lastPosition + 1
        let scale = 1 / Float(headSize).squareRoot()
        for t in 0..<length {
            scores[t] = Matmul.dot(query, keys + t * rowStride, count: headSize) * scale
        }
        Activation.softmax(scores, count: length)
        out.update(repeating: 0, count: headSize)
        for t in 0..<length {
            let weight = scores[t]
            let v = values + t * rowStride
            for i in 0..<headSize { out[i] = out[i].addingProduct(weight, v[i]) }
        }
    }

    /// The reference twin: plain scalar loops, no shared helpers.
    public static func headNaive(
        query: UnsafePointer<Float>, keys: UnsafePointer<Float>, values: UnsafePointer<Float>,
        rowStride: Int, headSize: Int, lastPosition: Int,
        scores: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>
    ) {
        let length = lastPosition + 1
        var maxScore = -Float.infinity
        for t in 0..<length {
            var s: Float = 0
            for i in 0..<headSize { s += query[i] * keys[t * rowStride + i] }
            scores[t] = s / Float(headSize).squareRoot()
            maxScore = max(maxScore, scores[t])
        }
        var sum: Float = 0
        for t in 0..<length {
            scores[t] = exp(scores[t] - maxScore)
            sum += scores[t]
        }
        for i in 0..<headSize {
            var acc: Float = 0
            for t in 0..<length { acc += scores[t] / sum * values[t * rowStride + i] }
            out[i] = acc
        }
    }

    // MARK: - Half-precision cache

    /// `head` over an f16 cache: each key and value widened to float32 (exactly), the query, the
    /// scores, the softmax and the sums in float32, every element in the float32 kernel's order.
    /// `scores` must hold lastPosition + 1 floats.
    public static func head(
        query: UnsafePointer<Float>, keys: UnsafePointer<Float16>, values: UnsafePointer<Float16>,
        rowStride: Int, headSize: Int, lastPosition: Int,
        scores: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>
    ) {
        let length = lastPosition + 1
        let scale = 1 / Float(headSize).squareRoot()
        for t in 0..<length {
            scores[t] = dot(query, keys + t * rowStride, count: headSize) * scale
        }
        Activation.softmax(scores, count: length)
        // out[i] = Σₜ scores[t] · v[t, i], t ascending, one fused multiply-add per term (the float32
        // kernel's order), eight outputs at a time held in a register across positions.
        let raw = UnsafeMutableRawPointer(out)
        var i = 0
        while i + 8 <= headSize {
            var acc = SIMD8<Float>()
            var v = values + i
            for t in 0..<length {
                acc = acc.addingProduct(SIMD8(repeating: scores[t]), Half.eight(v, 0))
                v += rowStride
            }
            raw.storeBytes(of: acc, toByteOffset: i &* 4, as: SIMD8<Float>.self)
            i &+= 8
        }
        while i < headSize {
            var acc: Float = 0
            for t in 0..<length { acc = acc.addingProduct(scores[t], Float(values[t * rowStride + i])) }
            out[i] = acc
            i &+= 1
        }
    }

    /// The reference twin of the f16 kernel: plain scalar loops over the widened cache.
    public static func headNaive(
        query: UnsafePointer<Float>, keys: UnsafePointer<Float16>, values: UnsafePointer<Float16>,
        rowStride: Int, headSize: Int, lastPosition: Int,
        scores: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>
    ) {
        let length = lastPosition + 1
        var maxScore = -Float.infinity
        for t in 0..<length {
            var s: Float = 0
            for i in 0..<headSize { s += query[i] * Float(keys[t * rowStride + i]) }
            scores[t] = s / Float(headSize).squareRoot()
            maxScore = max(maxScore, scores[t])
        }
        var sum: Float = 0
        for t in 0..<length {
            scores[t] = exp(scores[t] - maxScore)
            sum += scores[t]
        }
        for i in 0..<headSize {
            var acc: Float = 0
            for t in 0..<length { acc += scores[t] / sum * Float(values[t * rowStride + i]) }
            out[i] = acc
        }
    }

    /// q · k for an f16 key row in `Matmul.dot`'s order over the widened row: equal to
    /// `Matmul.dot` of the widened values, bit for bit.
    @inline(__always)
    static func dot(_ q: UnsafePointer<Float>, _ k: UnsafePointer<Float16>, count: Int) -> Float {
        let kMain = count & ~7
        let rq = UnsafeRawPointer(q)
        var acc = SIMD8<Float>()
        var i = 0
        while i < kMain {
            acc = acc.addingProduct(rq.loadUnaligned(fromByteOffset: i &* 4, as: SIMD8<Float>.self), Half.eight(k, i))
            i &+= 8
        }
        var tail: Float = 0
        while i < count {
            tail = tail.addingProduct(q[i], Float(k[i]))
            i &+= 1
        }
        return Matmul.reduceLanes(acc) + tail
    }
}
