// Causal self-attention for one query head of one token over a sequence's cached keys and values.
//
// A head's keys and values are read position by position, `rowStride` elements apart (the
// runtime's cache keeps each head's positions contiguous: stride = head size). Each score is `Matmul.dot`'s order (fixed), the softmax is sequential, and the
// weighted sum of values runs over positions in order — so a token's attention output is the same
// whether it is computed during prefill (with its batch-mates) or alone during decode.
//
// The cache holds float32 or half-precision (f16) elements. One generic kernel serves both: an f16
// key or value is widened to float32 in registers (exactly), so the f16 result equals the float32
// kernel's on the widened cache, bit for bit. (llama.cpp's arithmetic over an f16 cache, which
// rounds more, is `GGML.flashAttention`.)
import Foundation

/// An element type a KV cache may store: read eight at a time as floats, exactly.
public protocol CacheElement {
    /// Elements k..<k+8 as floats.
    static func eight(_ p: UnsafePointer<Self>, _ k: Int) -> SIMD8<Float>
    /// This element as a float.
    var float: Float { get }
}

extension Float: CacheElement {
    @inline(__always)
    public static func eight(_ p: UnsafePointer<Float>, _ k: Int) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(fromByteOffset: k &* 4, as: SIMD8<Float>.self)
    }
    @inline(__always) public var float: Float { self }
}

extension Float16: CacheElement {
    @inline(__always)
    public static func eight(_ p: UnsafePointer<Float16>, _ k: Int) -> SIMD8<Float> { Half.eight(p, k) }
    @inline(__always) public var float: Float { Float(self) }
}

/// Attention kernels.
public enum Attention {
    /// out[0..<headSize] = Σₜ softmax(s)ₜ · vₜ over positions t = 0...lastPosition, sₜ = q·kₜ · scale
    /// (default 1/√headSize), soft-capped to cap · tanh(sₜ / cap) when `softCap` is given, over a
    /// float32 cache. `scores` must hold lastPosition + 1 floats.
    public static func head(
        query: UnsafePointer<Float>, keys: UnsafePointer<Float>, values: UnsafePointer<Float>,
        rowStride: Int, headSize: Int, lastPosition: Int, scale: Float? = nil, softCap: Float? = nil,
        scores: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>
    ) {
        // Concrete entry points, so the generic kernel is specialised here, with this module's CPU
        // flags (a generic called from another module would run unspecialised, ~1.5× slower).
        kernel(query: query, keys: keys, values: values, rowStride: rowStride, headSize: headSize,
               lastPosition: lastPosition, scale: scale ?? 1 / Float(headSize).squareRoot(), softCap: softCap,
               scores: scores, out: out)
    }

    /// `head` over an f16 cache: the same arithmetic on the exactly widened keys and values.
    public static func head(
        query: UnsafePointer<Float>, keys: UnsafePointer<Float16>, values: UnsafePointer<Float16>,
        rowStride: Int, headSize: Int, lastPosition: Int, scale: Float? = nil, softCap: Float? = nil,
        scores: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>
    ) {
        kernel(query: query, keys: keys, values: values, rowStride: rowStride, headSize: headSize,
               lastPosition: lastPosition, scale: scale ?? 1 / Float(headSize).squareRoot(), softCap: softCap,
               scores: scores, out: out)
    }

    @inline(__always)
    static func kernel<Element: CacheElement>(
        query: UnsafePointer<Float>, keys: UnsafePointer<Element>, values: UnsafePointer<Element>,
        rowStride: Int, headSize: Int, lastPosition: Int, scale: Float, softCap: Float?,
        scores: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>
    ) {
        let length = lastPosition + 1
        for t in 0..<length {
            scores[t] = dot(query, keys + t * rowStride, count: headSize) * scale
        }
        if let softCap {
            // One score at a time through libm's tanhf: its own, fixed, arithmetic per element.
            let inverse = 1 / softCap
            for t in 0..<length { scores[t] = tanhf(scores[t] * inverse) * softCap }
        }
        Activation.softmax(scores, count: length)
        // out[i] = Σₜ scores[t] · v[t, i], t ascending, one fused multiply-add per term, eight
        // outputs at a time held in a register across positions — thirty-two at a time where the
        // head allows, so that four independent chains hide the FMA latency (the same sums).
        let raw = UnsafeMutableRawPointer(out)
        var i = 0
        while i + 32 <= headSize {
            var a0 = SIMD8<Float>(), a1 = a0, a2 = a0, a3 = a0
            var v = values + i
            for t in 0..<length {
                let p = SIMD8(repeating: scores[t])
                a0 = a0.addingProduct(p, Element.eight(v, 0)); a1 = a1.addingProduct(p, Element.eight(v, 8))
                a2 = a2.addingProduct(p, Element.eight(v, 16)); a3 = a3.addingProduct(p, Element.eight(v, 24))
                v += rowStride
            }
            raw.storeBytes(of: a0, toByteOffset: i &* 4, as: SIMD8<Float>.self)
            raw.storeBytes(of: a1, toByteOffset: (i &+ 8) &* 4, as: SIMD8<Float>.self)
            raw.storeBytes(of: a2, toByteOffset: (i &+ 16) &* 4, as: SIMD8<Float>.self)
            raw.storeBytes(of: a3, toByteOffset: (i &+ 24) &* 4, as: SIMD8<Float>.self)
            i &+= 32
        }
        while i + 8 <= headSize {
            var acc = SIMD8<Float>()
            var v = values + i
            for t in 0..<length {
                acc = acc.addingProduct(SIMD8(repeating: scores[t]), Element.eight(v, 0))
                v += rowStride
            }
            raw.storeBytes(of: acc, toByteOffset: i &* 4, as: SIMD8<Float>.self)
            i &+= 8
        }
        while i < headSize {
            var acc: Float = 0
            for t in 0..<length { acc = acc.addingProduct(scores[t], values[t * rowStride + i].float) }
            out[i] = acc
            i &+= 1
        }
    }

    /// The reference twin: plain scalar loops, no shared helpers.
    public static func headNaive<Element: CacheElement>(
        query: UnsafePointer<Float>, keys: UnsafePointer<Element>, values: UnsafePointer<Element>,
        rowStride: Int, headSize: Int, lastPosition: Int, scale: Float? = nil, softCap: Float? = nil,
        scores: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>
    ) {
        let length = lastPosition + 1
        var maxScore = -Float.infinity
        for t in 0..<length {
            var s: Float = 0
            for i in 0..<headSize { s += query[i] * keys[t * rowStride + i].float }
            scores[t] = s * (scale ?? 1 / Float(headSize).squareRoot())
            if let softCap { scores[t] = softCap * tanh(scores[t] / softCap) }
            maxScore = max(maxScore, scores[t])
        }
        var sum: Float = 0
        for t in 0..<length {
            scores[t] = exp(scores[t] - maxScore)
            sum += scores[t]
        }
        for i in 0..<headSize {
            var acc: Float = 0
            for t in 0..<length { acc += scores[t] / sum * values[t * rowStride + i].float }
            out[i] = acc
        }
    }

    /// q · k in `Matmul.dot`'s order over the (widened) key row: for float32 keys this is
    /// `Matmul.dot` itself, for f16 keys `Matmul.dot` of the widened values, bit for bit.
    @inline(__always)
    static func dot<Element: CacheElement>(_ q: UnsafePointer<Float>, _ k: UnsafePointer<Element>, count: Int) -> Float {
        let kMain = count & ~7
        let rq = UnsafeRawPointer(q)
        var acc = SIMD8<Float>()
        var i = 0
        while i < kMain {
            acc = acc.addingProduct(rq.loadUnaligned(fromByteOffset: i &* 4, as: SIMD8<Float>.self), Element.eight(k, i))
            i &+= 8
        }
        var tail: Float = 0
        while i < count {
            tail = tail.addingProduct(q[i], k[i].float)
            i &+= 1
        }
        return Matmul.reduceLanes(acc) + tail
    }
}
