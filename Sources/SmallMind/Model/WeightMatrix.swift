// A weight matrix as it lies in memory — float32 today; quantized block formats keep the same
// interface (multiply, row lookup), so the forward pass never cares how a matrix is stored.
import SmallMindKernels

/// How a matrix's elements are stored.
public enum WeightFormat: String, Sendable, CaseIterable {
    case f32

    /// Bytes taken by one row of `columns` elements.
    public func rowBytes(columns: Int) -> Int {
        switch self {
        case .f32: return columns * 4
        }
    }
}

/// A read-only (rows, columns) row-major matrix living in memory owned by `ModelWeights`.
public struct WeightMatrix: @unchecked Sendable {
    // @unchecked: a raw pointer into memory that is written once while loading and only read
    // afterwards; `ModelWeights.storage` keeps it alive for as long as any matrix is reachable.
    public let data: UnsafeRawPointer
    public let rows: Int
    public let columns: Int
    public let format: WeightFormat

    public init(data: UnsafeRawPointer, rows: Int, columns: Int, format: WeightFormat) {
        self.data = data
        self.rows = rows
        self.columns = columns
        self.format = format
    }

    /// A float32 matrix.
    public init(_ pointer: UnsafePointer<Float>, rows: Int, columns: Int) {
        self.init(data: UnsafeRawPointer(pointer), rows: rows, columns: columns, format: .f32)
    }

    public var rowBytes: Int { format.rowBytes(columns: columns) }
    public var byteCount: Int { rows * rowBytes }

    /// The matrix of rows `range` (no copy): how a fused QKV weight is viewed as Q, K and V.
    public func rows(_ range: Range<Int>) -> WeightMatrix {
        WeightMatrix(data: data + range.lowerBound * rowBytes, rows: range.count, columns: columns, format: format)
    }

    /// Writes row `index` as `columns` floats into `out` (embedding lookup).
    public func copyRow(_ index: Int, into out: UnsafeMutablePointer<Float>) {
        switch format {
        case .f32:
            out.update(from: (data + index * rowBytes).assumingMemoryBound(to: Float.self), count: columns)
        }
    }

    /// y[b, o] = Σₖ x[b, k] · W[o, k] for o in `outputRows` (all rows by default): x is (batch,
    /// columns), y is (batch, rows). Every element is reduced in an order fixed by the format,
    /// independent of the batch and of the row range (see SmallMindKernels/Matmul.swift).
    public func multiply(
        _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, batch: Int, outputRows: Range<Int>? = nil
    ) {
        switch format {
        case .f32:
            Matmul.simd(
                x: x, w: data.assumingMemoryBound(to: Float.self), y: y, batch: batch, inDim: columns, outDim: rows,
                rows: outputRows ?? 0..<rows)
        }
    }

    /// Pointer identity, to tell a tied classifier from a separate one.
    func sharesStorage(with other: WeightMatrix) -> Bool { data == other.data }
}
