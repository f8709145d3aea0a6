import Foundation
import Testing
@testable import SmallMindKernels

/// The two kernel paths (`KernelPath`): how one is chosen, and that they compute the same bits.
/// With `SMALLMIND_KERNELS=portable` the rest of the kernel and golden suites run the portable
/// path — what Linux arm64 and macOS run — which `.ci/run` does on every change.
struct KernelPathTests {
    /// `selected` is what the environment asks for (so a CI step that sets the variable cannot
    /// silently run the other path), and the AVX-512 kernels are off unless the x86 path is on.
    @Test func selectedPathFollowsTheEnvironment() throws {
        let requested = ProcessInfo.processInfo.environment[KernelPath.environmentVariable] ?? ""
        if requested.isEmpty {
            #expect(KernelPath.selected == KernelPath.standard)
        } else {
            #expect(KernelPath.selected.rawValue == requested, "\(KernelPath.environmentVariable)=\(requested) was not followed")
        }
        if KernelPath.selected == .portable { #expect(!InterleavedRows.isAvailable) }
        #if os(Linux) && arch(x86_64)
        #expect(KernelPath.standard == .x86)
        #else
        #expect(KernelPath.standard == .portable)
        #endif
    }

    @Test func namesParseAndBadNamesAreReported() throws {
        #expect(try KernelPath.named("portable") == .portable)
        #expect(try KernelPath.named("") == nil)
        #expect(throws: KernelPathError.unknown("avx2")) { try KernelPath.named("avx2") }
        #expect(KernelPathError.unknown("avx2").description.contains("SMALLMIND_KERNELS=avx2 names no kernel path"))
        #if os(Linux) && arch(x86_64)
        #expect(try KernelPath.named("x86") == .x86)
        #else
        #expect(throws: KernelPathError.notCompiled(.x86)) { try KernelPath.named("x86") }
        #endif
    }

    /// Every entry point gives the same bits on both paths, every format, for batches that use the
    /// one-, four- and eight-row tiles: the integer products (with the activations quantized on
    /// each path), the float products, the row decoder and Q2_K's per-super-block order.
    @Test(arguments: 0..<BlockFormatTests.integerCases.count + BlockFormatTests.cases.count)
    func portablePathEqualsX86Path(index: Int) {
        let integer = index < BlockFormatTests.integerCases.count
        let (format, columns) = integer
            ? BlockFormatTests.integerCases[index] : BlockFormatTests.cases[index - BlockFormatTests.integerCases.count]
        let m = EncodedMatrix(format, rows: 9, columns: columns, seed: 900 + UInt64(index))
        m.bytes.withUnsafeBytes { raw in
            let w = raw.baseAddress!
            for batch in [1, 4, 9] {
                let x = activations(batch * columns, seed: 31 + UInt64(batch))
                func product(_ path: KernelPath) -> [UInt32] {
                    var y = [Float](repeating: .nan, count: batch * m.rows)
                    if integer {
                        format.multiplyIntegerProducts(
                            x: x, w: w, rowBytes: m.rowBytes, y: &y, batch: batch, columns: columns, yStride: m.rows,
                            rows: 0..<m.rows, path: path)
                    } else {
                        format.multiply(
                            x: x, w: w, rowBytes: m.rowBytes, y: &y, batch: batch, columns: columns, yStride: m.rows,
                            rows: 0..<m.rows, path: path)
                    }
                    return y.map(\.bitPattern)
                }
                #expect(product(.x86) == product(.portable), "\(format) × \(columns), batch \(batch)")
                if integer { expectEqualActivations(format, x, batch: batch, columns: columns) }
            }
            if integer && (format.llamaCppRepacks(rows: 8) || format.llamaCppHasOwnLaneOrder) {
                // Six activation rows: four by llama.cpp's gemm order, two by its gemv order.
                let x = activations(6 * columns, seed: 37)
                func product(_ path: KernelPath) -> [UInt32] {
                    let a = format.quantizeActivations(x, batch: 6, columns: columns, pool: nil, path: path)!
                    defer { a.deallocate() }
                    var y = [Float](repeating: .nan, count: 6 * m.rows)
                    if format.llamaCppHasOwnLaneOrder {
                        format.multiplyIntegerProductsInLlamaCppLaneOrder(a, w: w, rowBytes: m.rowBytes, y: &y, yStride: m.rows, rows: 0..<m.rows, path: path)
                    } else {
                        format.multiplyIntegerProductsLikeLlamaCppRepacked(a, w: w, rowBytes: m.rowBytes, y: &y, yStride: m.rows, rows: 0..<m.rows, path: path)
                    }
                    return y.map(\.bitPattern)
                }
                #expect(product(.x86) == product(.portable), "\(format) in llama.cpp's order")
            }
            if integer && format.llamaCppTiles(rows: 9, batch: 8) {
                let x = activations(8 * columns, seed: 38)
                func tiled(_ path: KernelPath) -> [UInt32] {
                    let a = format.quantizeActivations(x, batch: 8, columns: columns, pool: nil, path: path)!
                    defer { a.deallocate() }
                    var y = [Float](repeating: .nan, count: 8 * m.rows)
                    format.multiplyIntegerProductsLikeLlamaCppTiled(a, w: w, rowBytes: m.rowBytes, y: &y, yStride: m.rows, rows: 0..<m.rows, path: path)
                    return y.map(\.bitPattern)
                }
                #expect(tiled(.x86) == tiled(.portable), "\(format) in llama.cpp's tiled order")
            }
            func decoded(_ path: KernelPath) -> [UInt32] {
                var out = [Float](repeating: .nan, count: columns)
                format.dequantize(row: w + m.rowBytes, columns: columns, into: &out, path: path)
                return out.map(\.bitPattern)
            }
            #expect(decoded(.x86) == decoded(.portable), "\(format) decoded row")
        }
    }

    /// The activations quantized on both paths: the same codes, scales and sums.
    func expectEqualActivations(_ format: BlockFormat, _ x: [Float], batch: Int, columns: Int) {
        let a = format.quantizeActivations(x, batch: batch, columns: columns, pool: nil, path: .x86)!
        let b = format.quantizeActivations(x, batch: batch, columns: columns, pool: nil, path: .portable)!
        defer { a.deallocate(); b.deallocate() }
        switch (a, b) {
        case (.q8_0(let a), .q8_0(let b)):
            let blocks = batch * columns / 32
            #expect(Array(UnsafeBufferPointer(start: a.codes, count: batch * columns)) == Array(UnsafeBufferPointer(start: b.codes, count: batch * columns)))
            #expect(Array(UnsafeBufferPointer(start: a.scales, count: blocks)).map(\.bitPattern) == Array(UnsafeBufferPointer(start: b.scales, count: blocks)).map(\.bitPattern))
            #expect(Array(UnsafeBufferPointer(start: a.sums, count: blocks)) == Array(UnsafeBufferPointer(start: b.sums, count: blocks)))
            #expect(Array(UnsafeBufferPointer(start: a.scaledSums, count: blocks)).map(\.bitPattern) == Array(UnsafeBufferPointer(start: b.scaledSums, count: blocks)).map(\.bitPattern))
        case (.q8_K(let a), .q8_K(let b)):
            #expect(Array(UnsafeBufferPointer(start: a.codes, count: batch * columns)) == Array(UnsafeBufferPointer(start: b.codes, count: batch * columns)))
            #expect(Array(UnsafeBufferPointer(start: a.scales, count: batch * columns / 256)).map(\.bitPattern) == Array(UnsafeBufferPointer(start: b.scales, count: batch * columns / 256)).map(\.bitPattern))
            #expect(Array(UnsafeBufferPointer(start: a.sums, count: batch * columns / 32)) == Array(UnsafeBufferPointer(start: b.sums, count: batch * columns / 32)))
            #expect(Array(UnsafeBufferPointer(start: a.halfSums, count: batch * columns / 16)) == Array(UnsafeBufferPointer(start: b.halfSums, count: batch * columns / 16)))
        default:
            Issue.record("\(format): the paths quantized to different encodings")
        }
    }
}
