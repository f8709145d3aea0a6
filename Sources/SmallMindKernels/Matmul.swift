// Matrix multiplication y = x · Wᵀ, the kernel that dominates every forward pass.
//
// Shapes: x is (batch, inDim) row-major, W is (outDim, inDim) row-major — the layout llama2.c and
// GGUF store — and y is (batch, outDim) with a caller-chosen row stride.
//
// Batch invariance: every y[b, o] is reduced in exactly one order — eight SIMD lanes, lane j summing
// the products at k ≡ j (mod 8) with fused multiply-adds, then the lanes summed by `reduceLanes`,
// then the scalar tail — whatever the tile it falls into, the batch size or the row range a thread
// was given. So a sequence's logits do not depend on what else shares its batch.

/// Matrix multiplication kernels over raw buffers.
public enum Matmul {
    /// The reference: one scalar multiply-add at a time, in k order. Slow and obviously right.
    public static func naive(
        x: UnsafePointer<Float>, w: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
        batch: Int, inDim: Int, outDim: Int, yStride: Int? = nil
    ) {
        let ldy = yStride ?? outDim
        for b in 0..<batch {
            let xRow = x + b * inDim
            for o in 0..<outDim {
                let wRow = w + o * inDim
                var sum: Float = 0
                for k in 0..<inDim { sum += xRow[k] * wRow[k] }
                y[b * ldy + o] = sum
            }
        }
    }

    /// The fast path: SIMD, tiled over four weight rows and three activation rows so each loaded
    /// weight vector serves three rows of the batch (12 accumulators + 4 operands fill the 16 AVX2
    /// registers; measured ~90 GFLOP/s per core on L1-resident data, ~75–80 on model shapes). One
    /// to four activation rows against a matrix from memory walk the weight rows in sequence
    /// instead (see below). Computes the output columns in `rows` only (so a thread pool can split
    /// the weight rows); every element is reduced in the fixed order described at the top of this
    /// file, whichever path it takes.
    public static func simd(
        x: UnsafePointer<Float>, w: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
        batch: Int, inDim: Int, outDim: Int, yStride: Int? = nil, rows: Range<Int>? = nil
    ) {
        let ldy = yStride ?? outDim
        let range = rows ?? 0..<outDim
        let kMain = inDim & ~7
        var o = range.lowerBound
        let streaming = outDim * inDim >= streamingElements
        if (2...4).contains(batch) && streaming {
            // A few activation rows against a matrix that comes from memory: walk the weight rows
            // one after another, as batch 1 does, each row serving every activation row. Four
            // interleaved row streams (the tiles below) starve here: m110 f32, 2 threads, S_TG
            // B=2 91–99 → 114–163 tok/s, B=4 153–168 → 178–222 (two sessions of alternating
            // runs). From the caches the tiles win (a 2048×768 matrix at 4 rows, 1 thread: 76 vs
            // 55 GFLOP/s), hence the size test. For 5 or more rows the 4×3 tiles win even from
            // memory (32000×768 at 8 rows, 1 thread: 31–34 vs 24–26 GFLOP/s for 1×4 twice).
            while o < range.upperBound {
                let wo = w + o * inDim, yo = y + o
                switch batch {
                case 4: tile1x4(x: x, w: wo, y: yo, inDim: inDim, kMain: kMain, ldy: ldy, four: true)
                case 3:
                    tile1x4(x: x, w: wo, y: yo, inDim: inDim, kMain: kMain, ldy: ldy, four: false)
                    yo[2 * ldy] = dot(x + 2 * inDim, wo, count: inDim)
                default: tile1x4(x: x, w: wo, y: yo, inDim: inDim, kMain: kMain, ldy: ldy, four: false)
                }
                o += 1
            }
            return
        }
        while o + 4 <= range.upperBound {
            var b = 0
            while b + 3 <= batch {
                tile4x3(x: x + b * inDim, w: w + o * inDim, y: y + b * ldy + o, inDim: inDim, kMain: kMain, ldy: ldy)
                b += 3
            }
            if batch == 1 && streaming {
                // One activation row (decoding one sequence) against a matrix from memory: walk the
                // weight rows one after another, a single sequential stream the hardware prefetcher
                // follows. Four interleaved row streams (`tile4x1`) measured slower there (m110 f32
                // B=1: median 56 → 73 tok/s), although they break the FMA dependency chain; from
                // the caches the four chains win (below). Same per-element order either way.
                for r in 0..<4 { y[o + r] = dot(x, w + (o + r) * inDim, count: inDim) }
                b = 1
            }
            while b < batch {
                tile4x1(x: x + b * inDim, w: w + o * inDim, y: y + b * ldy + o, inDim: inDim, kMain: kMain)
                b += 1
            }
            o += 4
        }
        while o < range.upperBound {
            for b in 0..<batch {
                y[b * ldy + o] = dot(x + b * inDim, w + o * inDim, count: inDim)
            }
            o += 1
        }
    }

    /// Weight matrices of at least this many elements (512 KiB of float32, half this machine's L2)
    /// are taken to come from memory rather than the caches (see `simd`): in a forward pass every
    /// other matrix is read between two uses of one, so only small models' matrices stay cached
    /// (the demo model's are 192 KiB; m110's at least 2.25 MiB).
    static let streamingElements = 1 << 17

    /// One weight row against four activation rows (two without `four`): a single sequential
    /// weight stream. The four-way lane reduction gives each row `reduceLanes`'s bits.
    @inline(__always)
    static func tile1x4(
        x: UnsafePointer<Float>, w: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, inDim: Int, kMain: Int, ldy: Int,
        four: Bool
    ) {
        let x0 = UnsafeRawPointer(x), x1 = UnsafeRawPointer(x + inDim)
        let x2 = UnsafeRawPointer(x + 2 * inDim), x3 = UnsafeRawPointer(x + 3 * inDim)
        let wr = UnsafeRawPointer(w)
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
        var k = 0
        while k < kMain {
            let offset = k &* 4
            let wv = wr.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
            a0 = a0.addingProduct(x0.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self), wv)
            a1 = a1.addingProduct(x1.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self), wv)
            if four {
                a2 = a2.addingProduct(x2.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self), wv)
                a3 = a3.addingProduct(x3.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self), wv)
            }
            k &+= 8
        }
        let sums = reduceLanes(a0, a1, a2, a3)
        for r in 0..<(four ? 4 : 2) { y[r * ldy] = sums[r] + tail(x + r * inDim, w, from: kMain, to: inDim) }
    }

    /// Four weight rows against one activation row: four independent FMA chains instead of one, so
    /// decoding a single sequence is not bound by FMA latency. Same per-element order as `dot`.
    @inline(__always)
    static func tile4x1(
        x: UnsafePointer<Float>, w: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, inDim: Int, kMain: Int
    ) {
        let x0 = UnsafeRawPointer(x)
        let w0 = UnsafeRawPointer(w), w1 = UnsafeRawPointer(w + inDim)
        let w2 = UnsafeRawPointer(w + 2 * inDim), w3 = UnsafeRawPointer(w + 3 * inDim)
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
        var k = 0
        while k < kMain {
            let offset = k &* 4
            let xv = x0.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
            a0 = a0.addingProduct(xv, w0.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self))
            a1 = a1.addingProduct(xv, w1.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self))
            a2 = a2.addingProduct(xv, w2.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self))
            a3 = a3.addingProduct(xv, w3.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self))
            k &+= 8
        }
        store(reduceLanes(a0, a1, a2, a3), x: x, w: w, y: y, inDim: inDim, kMain: kMain)
    }

    /// Four weight rows against three activation rows.
    @inline(__always)
    static func tile4x3(
        x: UnsafePointer<Float>, w: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
        inDim: Int, kMain: Int, ldy: Int
    ) {
        let x0 = UnsafeRawPointer(x), x1 = UnsafeRawPointer(x + inDim), x2 = UnsafeRawPointer(x + 2 * inDim)
        let w0 = UnsafeRawPointer(w), w1 = UnsafeRawPointer(w + inDim)
        let w2 = UnsafeRawPointer(w + 2 * inDim), w3 = UnsafeRawPointer(w + 3 * inDim)
        var a00 = SIMD8<Float>(), a01 = SIMD8<Float>(), a02 = SIMD8<Float>(), a03 = SIMD8<Float>()
        var a10 = SIMD8<Float>(), a11 = SIMD8<Float>(), a12 = SIMD8<Float>(), a13 = SIMD8<Float>()
        var a20 = SIMD8<Float>(), a21 = SIMD8<Float>(), a22 = SIMD8<Float>(), a23 = SIMD8<Float>()
        var k = 0
        while k < kMain {
            let offset = k &* 4
            let xv0 = x0.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
            let xv1 = x1.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
            let xv2 = x2.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
            let wv0 = w0.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
            a00 = a00.addingProduct(xv0, wv0)
            a10 = a10.addingProduct(xv1, wv0)
            a20 = a20.addingProduct(xv2, wv0)
            let wv1 = w1.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
            a01 = a01.addingProduct(xv0, wv1)
            a11 = a11.addingProduct(xv1, wv1)
            a21 = a21.addingProduct(xv2, wv1)
            let wv2 = w2.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
            a02 = a02.addingProduct(xv0, wv2)
            a12 = a12.addingProduct(xv1, wv2)
            a22 = a22.addingProduct(xv2, wv2)
            let wv3 = w3.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
            a03 = a03.addingProduct(xv0, wv3)
            a13 = a13.addingProduct(xv1, wv3)
            a23 = a23.addingProduct(xv2, wv3)
            k &+= 8
        }
        store(reduceLanes(a00, a01, a02, a03), x: x, w: w, y: y, inDim: inDim, kMain: kMain)
        store(reduceLanes(a10, a11, a12, a13), x: x + inDim, w: w, y: y + ldy, inDim: inDim, kMain: kMain)
        store(reduceLanes(a20, a21, a22, a23), x: x + 2 * inDim, w: w, y: y + 2 * ldy, inDim: inDim, kMain: kMain)
    }

    /// y[0..<4] = the four reduced sums of one activation row against four weight rows, each plus
    /// its scalar tail (rows whose length is not a multiple of 8 only).
    @inline(__always)
    static func store(
        _ sums: SIMD4<Float>, x: UnsafePointer<Float>, w: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
        inDim: Int, kMain: Int
    ) {
        if kMain == inDim {
            UnsafeMutableRawPointer(y).storeBytes(of: sums, as: SIMD4<Float>.self)
        } else {
            for r in 0..<4 { y[r] = sums[r] + tail(x, w + r * inDim, from: kMain, to: inDim) }
        }
    }

    /// One element in the canonical order: the same arithmetic as one cell of `tile4x3`.
    @inline(__always)
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        let kMain = count & ~7
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
        var acc = SIMD8<Float>()
        var k = 0
        while k < kMain {
            let offset = k &* 4
            acc = acc.addingProduct(
                ra.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self),
                rb.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self))
            k &+= 8
        }
        return reduceLanes(acc) + tail(a, b, from: kMain, to: count)
    }

    /// Sums eight lanes pairwise in a fixed tree: ((0+4)+(2+6)) + ((1+5)+(3+7)).
    @inline(__always)
    static func reduceLanes(_ v: SIMD8<Float>) -> Float {
        let h = v.lowHalf + v.highHalf
        let q = h.lowHalf + h.highHalf
        return q[0] + q[1]
    }

    /// `reduceLanes` of four accumulators at once, bit for bit the same sums (the same pairs added
    /// in the same tree), with the lanes of the four interleaved so each step is one vector add:
    /// 3 adds and 6 shuffles instead of 4 × (3 adds, 3 shuffles, 1 extract). A tile of 12 cells
    /// over a short row (inDim 128: 16 FMA steps) spent about a third of its time reducing.
    @inline(__always)
    static func reduceLanes(_ a: SIMD8<Float>, _ b: SIMD8<Float>, _ c: SIMD8<Float>, _ d: SIMD8<Float>) -> SIMD4<Float> {
        // h = v[0..<4] + v[4..<8] for each, two accumulators per vector: [hA0…hA3, hB0…hB3].
        let ab = SIMD8(lowHalf: a.lowHalf, highHalf: b.lowHalf) + SIMD8(lowHalf: a.highHalf, highHalf: b.highHalf)
        let cd = SIMD8(lowHalf: c.lowHalf, highHalf: d.lowHalf) + SIMD8(lowHalf: c.highHalf, highHalf: d.highHalf)
        // q0 = h0 + h2, q1 = h1 + h3, ordered within each 128-bit half (one vshufps per operand):
        // [qA0, qA1, qC0, qC1, qB0, qB1, qD0, qD1].
        let q = SIMD8(ab[0], ab[1], cd[0], cd[1], ab[4], ab[5], cd[4], cd[5])
            + SIMD8(ab[2], ab[3], cd[2], cd[3], ab[6], ab[7], cd[6], cd[7])
        // q0 + q1 for each: [A, C, B, D] → [A, B, C, D].
        let sums = SIMD4(q[0], q[2], q[4], q[6]) + SIMD4(q[1], q[3], q[5], q[7])
        return SIMD4(sums[0], sums[2], sums[1], sums[3])
    }

    @inline(__always)
    static func tail(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, from start: Int, to end: Int) -> Float {
        var sum: Float = 0
        var k = start
        while k < end {
            sum = sum.addingProduct(a[k], b[k])
            k &+= 1
        }
        return sum
    }
}
