// Kernel benchmark: GFLOP/s of the float32 matmul y = x · Wᵀ on the shapes a forward pass runs,
// through the same thread pool. `scripts/kernel-bench.sh` runs numpy (OpenBLAS) on the same shapes
// in the same session for the ratio.
import Foundation
import SmallMindKernels

public struct MatmulBenchmarkResult: Codable, Sendable {
    public var rows: Int
    public var outDim: Int
    public var inDim: Int
    public var seconds: Double
    public var gflops: Double
}

public enum MatmulBenchmark {
    /// Times `y = x · Wᵀ` for x (rows, inDim), W (outDim, inDim): one warm-up, then the median of
    /// `repetitions` timings, each of enough iterations to last about 50 ms.
    public static func run(rows: Int, outDim: Int, inDim: Int, pool: ThreadPool, repetitions: Int) -> MatmulBenchmarkResult {
        let x = UnsafeMutablePointer<Float>.allocate(capacity: rows * inDim)
        let w = UnsafeMutablePointer<Float>.allocate(capacity: outDim * inDim)
        let y = UnsafeMutablePointer<Float>.allocate(capacity: rows * outDim)
        defer { x.deallocate(); w.deallocate(); y.deallocate() }
        for i in 0..<rows * inDim { x[i] = Float(i % 17) * 0.01 - 0.08 }
        for i in 0..<outDim * inDim { w[i] = Float(i % 13) * 0.01 - 0.06 }
        let xs = UnsafePointer(x), ws = UnsafePointer(w)
        func once() {
            pool.run(splitting: outDim, alignment: 4) { range, _ in
                Matmul.simd(x: xs, w: ws, y: y, batch: rows, inDim: inDim, outDim: outDim, rows: range)
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
        return MatmulBenchmarkResult(rows: rows, outDim: outDim, inDim: inDim, seconds: seconds, gflops: 2 * Double(rows * outDim * inDim) / seconds / 1e9)
    }
}
