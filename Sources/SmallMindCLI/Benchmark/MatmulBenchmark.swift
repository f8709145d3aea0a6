// Kernel benchmark: GFLOP/s of the matmul y = x · Wᵀ on the shapes a forward pass runs, through
// the same thread pool, for float32 weights or any encoded format (then as the forward pass runs
// it: activations quantized once per product, regrouped rows where the processor has AVX-512
// VNNI). `scripts/kernel-bench.sh` runs numpy (OpenBLAS) on the same shapes in the same session
// for the float32 ratio.
import Foundation
import SmallMind
import SmallMindKernels

public struct MatmulBenchmarkResult: Codable, Sendable {
    public var type: String
    public var rows: Int
    public var outDim: Int
    public var inDim: Int
    public var seconds: Double
    public var gflops: Double
}

public enum MatmulBenchmark {
    /// Times `y = x · Wᵀ` for x (rows, inDim), W (outDim, inDim) stored as `type` (inDim a
    /// multiple of its block): one warm-up, then the median of `repetitions` timings, each of
    /// enough iterations to last about 50 ms.
    public static func run(
        rows: Int, outDim: Int, inDim: Int, pool: ThreadPool, repetitions: Int, type: WeightFormat = .f32
    ) -> MatmulBenchmarkResult {
        let x = UnsafeMutablePointer<Float>.allocate(capacity: rows * inDim)
        let y = UnsafeMutablePointer<Float>.allocate(capacity: rows * outDim)
        let w = UnsafeMutableRawPointer.allocate(byteCount: outDim * type.rowBytes(columns: inDim), alignment: 64)
        defer { x.deallocate(); y.deallocate(); w.deallocate() }
        for i in 0..<rows * inDim { x[i] = Float(i % 17) * 0.01 - 0.08 }
        fillWeights(w, rows: outDim, columns: inDim, type: type)
        let xs = UnsafePointer(x), ws = UnsafeRawPointer(w)
        let matrix = WeightMatrix(data: ws, rows: outDim, columns: inDim, format: type).interleavingRows()
        func once() {
            if type == .f32 {
                pool.run(splitting: outDim, alignment: 4) { range, _ in
                    Matmul.simd(x: xs, w: ws.assumingMemoryBound(to: Float.self), y: y, batch: rows, inDim: inDim, outDim: outDim, rows: range)
                }
            } else {
                // As the forward pass multiplies: activations quantized once (their rows split over
                // the pool), then the weight rows split over the pool.
                let quantized = matrix.quantizeActivations(xs, batch: rows, pool: pool)
                defer { quantized?.deallocate() }
                pool.run(splitting: outDim, alignment: 8) { range, _ in
                    matrix.multiply(xs, into: y, batch: rows, outputRows: range, quantized: quantized)
                }
            }
        }
        let clock = ContinuousClock()
        var start = clock.now
        once()
        let single = max((clock.now - start).seconds, 1e-7)
        let iterations = max(1, Int(0.05 / single))
        var timings: [Double] = []
        for _ in 0..<repetitions {
            start = clock.now
            for _ in 0..<iterations { once() }
            timings.append((clock.now - start).seconds / Double(iterations))
        }
        let seconds = BatchedBenchmark.median(timings)
        return MatmulBenchmarkResult(
            type: type.displayName, rows: rows, outDim: outDim, inDim: inDim, seconds: seconds,
            gflops: 2 * Double(rows * outDim * inDim) / seconds / 1e9)
    }

    /// Weights of small, varied values: float32 directly; encoded formats as pseudo-random codes
    /// whose scale fields hold a small half (random bytes there would be infinities and NaNs).
    static func fillWeights(_ w: UnsafeMutableRawPointer, rows: Int, columns: Int, type: WeightFormat) {
        guard let block = type.blockFormat else {
            let floats = w.bindMemory(to: Float.self, capacity: rows * columns)
            for i in 0..<rows * columns { floats[i] = Float(i % 13) * 0.01 - 0.06 }
            return
        }
        let bytes = rows * type.rowBytes(columns: columns)
        var state: UInt32 = 2_463_534_242
        for i in 0..<bytes {
            state ^= state << 13; state ^= state >> 17; state ^= state << 5
            w.storeBytes(of: UInt8(truncatingIfNeeded: state), toByteOffset: i, as: UInt8.self)
        }
        let scale = Float16(0.01).bitPattern
        // Byte offsets of the half-precision fields in each block: every element for f16/bf16.
        let halves: [Int]
        switch block {
        case .f16, .bf16: halves = Array(stride(from: 0, to: block.blockBytes, by: 2))
        case .q8_0, .q4_0: halves = [0]
        case .q4_K: halves = [0, 2]
        case .q6_K: halves = [208]
        case .q5_0, .iq4_nl: halves = [0]
        case .q4_1, .q5_1: halves = [0, 2]
        case .q5_K: halves = [0, 2]
        case .q3_K: halves = [108]
        case .q2_K: halves = [80, 82]
        case .iq4_xs: halves = [0]
        }
        for at in stride(from: 0, to: bytes, by: block.blockBytes) {
            // bf16 reads the same bits as a bfloat: 0x211F, about 5e-19, still finite and small.
            for offset in halves { w.storeBytes(of: scale, toByteOffset: at + offset, as: UInt16.self) }
        }
    }
}
