// Quantized matrices (every format with integer products: Q8_0, Q4_0, Q5_0, Q4_1, Q5_1, IQ4_NL, the
// K-quants, IQ4_XS) regrouped at load time, eight rows to a group,
// for the AVX-512 VNNI kernels (SmallMindKernelsAVX512). Those put one weight row in each of a
// vector's eight lanes, so a block's sums for eight rows come out in one register: no horizontal
// sums, and the float work per block is shared by eight outputs. llama.cpp repacks its Q4_0 and
// Q4_K rows the same way for the same reason (its "Q4_0x8" and "Q4_Kx8" blocks).
//
// Rows 8g ..< 8g + 8 form group g; its blocks follow one another (block b of the group at
// (g · blocks + b) · groupBlockBytes), and groups follow one another, so one group streams from
// memory in one pass. A "vector" below is 32 bytes holding four consecutive codes of each row,
// row r's at bytes 4r ..< 4r + 4 (one vpdpbusd lane). The group block of eight rows' block b:
//
//   Q8_0 (272 bytes): the eight f16 scales (row r at 2r), then eight vectors; vector k has
//        elements 4k ..< 4k + 4, each stored as w + 128 (an unsigned byte: VNNI multiplies
//        unsigned by signed bytes, and the activations are the signed side)
//   Q4_0 (144): the scales, then four vectors of packed bytes; vector j has each row's bytes
//        4j ..< 4j + 4 — low nibbles elements 4j + i, high nibbles 16 + 4j + i (value nibble − 8)
//   Q4_K (1184, for 1152): d and dmin (eight f16 each), the 6-bit sub-scales and sub-mins
//        unpacked to a byte each ([sub-block][row], at 32 and 96), then 4 × 8 vectors of packed
//        bytes at 160 + 256j + 32k: each row's qs bytes 32j + 4k ..< +4 (low nibbles sub-block 2j,
//        high nibbles 2j + 1, positions 4k ..< 4k + 4)
//   Q5_K (1440, for 1408): Q4_K's group block (its qs from the row's qs at 48), then 8 vectors of
//        fifth bits at 1184 + 32k: each row's qh bytes 4k ..< +4 (bit s of byte l: element 32s + l)
//   Q3_K (912, for 880): d (eight f16), the signed sub-scales sc − 32 ([sub-block][row], at 16),
//        then 2 × 8 vectors of low bits at 144 + 32(8n + k): each row's qs bytes 32n + 4k ..< +4,
//        then 8 vectors of high bits at 656 + 32k: each row's hmask bytes 4k ..< +4 (Q3K.swift)
//   Q2_K (800, for 672): d and dmin (eight f16 each), the 4-bit sub-scales and sub-mins unpacked
//        to a byte each ([sub-block][row], at 32 and 160), then 2 × 8 vectors of codes at
//        288 + 32(8n + k): each row's qs bytes 32n + 4k ..< +4 (Q2K.swift)
//   IQ4_XS (1104, for 1088): d (eight f16), the signed sub-scales ls − 32 ([sub-block][row], at
//        16), then 8 × 4 vectors of packed indices at 80 + 128s + 32k: each row's qs bytes
//        16s + 4k ..< +4 (low nibbles elements 4k ..< 4k + 4 of sub-block s, high ones 16 + 4k …)
//   Q6_K (1680, as in the file): d (eight f16), the sixteen signed sub-scales ([sub-block][row],
//        at 16), then 2 × 8 triples of vectors at 144 + 96(8n + k): each row's bytes 4k ..< +4 of
//        ql[64n ..< 64n + 32], ql[64n + 32 ..< 64n + 64] and qh[32n ..< 32n + 32] — the kernel
//        reassembles the 6-bit codes (layout of the fields in Q6K.swift)
//   Q5_0 (176): the scales, Q4_0's four chunks of packed nibbles, then 32 bytes of high bits at
//        144: bit v of byte 4r + i is row r's high bit of the element whose nibble is byte 4r + i
//        of vector v (vector 2j: chunk j's low nibbles, 2j + 1: its high nibbles)
//   Q4_1 (160): the scales, the eight f16 minimums at 16, then the four chunks at 32
//   Q5_1 (192): the scales, the minimums at 16, the chunks at 32, the high bits at 160
//   IQ4_NL (144): as Q4_0 (the kernel looks the nibbles up)
//
// A last group with fewer than eight rows is padded with rows of scale 0 whose outputs are
// never stored.
//
// The arithmetic is `InterleavedMatmul`'s (the naive twin, which reads the original rows): per
// block one exact integer sum, then one FMA into one float per output. It differs from
// `IntegerMatmul`'s and `KQuantIntegerMatmul`'s orders (eight partial sums per row), so a matrix
// uses one or the other for good: the choice is made when the model loads, by the processor,
// never by the batch.
import Foundation
#if os(Linux) && arch(x86_64)
import SmallMindKernelsAVX512
#endif

/// A Q8_0 or Q4_0 matrix in the layout above, owning its copy (views share it).
public struct InterleavedRows: @unchecked Sendable {
    // @unchecked: `groups` points into `storage`, which `init` writes once; only read afterwards.
    private let storage: Storage
    /// Group 0 of this matrix (a row-range view starts further into `storage`).
    private let groups: UnsafeRawPointer
    public let format: BlockFormat
    public let rows: Int
    public let columns: Int

    final class Storage: @unchecked Sendable {
        // @unchecked: an allocation filled once while loading, then read-only until deinit.
        let pointer: UnsafeMutableRawPointer
        init(byteCount: Int) { pointer = .allocate(byteCount: byteCount, alignment: 64) }
        deinit { pointer.deallocate() }
    }

    /// The matrix being regrouped, read by every thread of `init`.
    private struct Source: @unchecked Sendable {
        // @unchecked: a pointer to the caller's rows, only read, and only while `init` runs.
        let pointer: UnsafeRawPointer
    }

    /// Whether this processor runs the kernels: AVX-512 F, CD, BW, DQ and VL with VNNI (the
    /// Cascade Lake set the module is compiled for), and Linux on x86-64. `SMALLMIND_AVX512=0`
    /// in the environment turns them off, for comparing against the AVX2 kernels, and so does
    /// `SMALLMIND_KERNELS=portable` (`KernelPath`), which runs what other processors run.
    public static let isAvailable: Bool = {
        #if os(Linux) && arch(x86_64)
        if ProcessInfo.processInfo.environment["SMALLMIND_AVX512"] == "0" || KernelPath.selected != .x86 { return false }
        guard let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let flagsLine = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
        else { return false }
        // The kernel lists a flag only when it also saves the registers the feature needs.
        let flags = Set(flagsLine.split(separator: " ").map(String.init))
        return ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl", "avx512_vnni"].allSatisfy(flags.contains)
        #else
        return false
        #endif
    }()

    /// Bytes of one group block (eight rows' block, or super-block for the K-quants and IQ4_XS);
    /// nil for the formats that have no interleaved kernel (the half formats).
    static func groupBlockBytes(_ format: BlockFormat) -> Int? {
        switch format {
        case .q8_0: return 16 + 256
        case .q4_0: return 16 + 128
        case .q4_K: return 32 + 128 + 1024
        case .q5_K: return 32 + 128 + 1024 + 256
        case .q6_K: return 16 + 128 + 1536
        case .q5_0: return 16 + 128 + 32
        case .q4_1: return 32 + 128
        case .q5_1: return 32 + 128 + 32
        case .iq4_nl: return 16 + 128
        case .iq4_xs: return 16 + 64 + 1024
        case .q3_K: return 16 + 128 + 512 + 256
        case .q2_K: return 32 + 256 + 512
        case .f16, .bf16: return nil
        }
    }

    /// The rows of a matrix of any format with integer products (`rows` rows of `rowBytes` bytes
    /// at `w`) regrouped; nil for the half formats.
    public init?(format: BlockFormat, w: UnsafeRawPointer, rowBytes: Int, rows: Int, columns: Int) {
        guard let bytes = Self.groupBlockBytes(format) else { return nil }
        let blocks = columns / format.blockElements, groupCount = (rows + 7) / 8
        let storage = Storage(byteCount: max(groupCount * blocks * bytes, 1))
        // Groups are independent: regrouped on every core, in slices of 64 (on one core this ran
        // at 1–2 GB/s, seconds for a model of several GB).
        let source = Source(pointer: w)
        DispatchQueue.concurrentPerform(iterations: (groupCount + 63) / 64) { slice in
            for g in (64 * slice)..<min(64 * (slice + 1), groupCount) {
                for b in 0..<blocks {
                    let out = storage.pointer + (g * blocks + b) * bytes
                    for r in 0..<8 {
                        let row = 8 * g + r
                        let block = row < rows ? source.pointer + row * rowBytes + b * format.blockBytes : nil
                        switch format {
                        case .q8_0, .q4_0: Self.regroup(format, block, row: r, into: out)
                        case .q4_K: Self.regroupQ4K(block, qs: 16, row: r, into: out)
                        case .q5_K:
                            Self.regroupQ4K(block, qs: 48, row: r, into: out)
                            Self.regroupFifthBits(block, row: r, into: out + 1184)
                        case .q6_K: Self.regroupQ6K(block, row: r, into: out)
                        case .iq4_xs: Self.regroupIQ4XS(block, row: r, into: out)
                        case .q3_K: Self.regroupQ3K(block, row: r, into: out)
                        case .q2_K: Self.regroupQ2K(block, row: r, into: out)
                        case .q5_0, .q4_1, .q5_1, .iq4_nl: Self.regroupNibbles(format, block, row: r, into: out)
                        case .f16, .bf16: preconditionFailure("\(format) rows are not regrouped")
                        }
                    }
                }
            }
        }
        self.storage = storage
        self.groups = UnsafeRawPointer(storage.pointer)
        self.format = format
        self.rows = rows
        self.columns = columns
    }

    /// Row r's Q8_0/Q4_0 `block` into its place in the group block `out`; nil `block` pads (scale
    /// +0, codes that stand for 0).
    private static func regroup(_ format: BlockFormat, _ block: UnsafeRawPointer?, row r: Int, into out: UnsafeMutableRawPointer) {
        out.storeBytes(of: block?.loadUnaligned(as: UInt16.self) ?? 0, toByteOffset: 2 * r, as: UInt16.self)
        // Four bytes at a time: Q8_0 eight vectors of four codes, Q4_0 four chunks.
        for k in 0..<(groupBlockBytes(format)! - 16) / 32 {
            let four = block?.loadUnaligned(fromByteOffset: 2 + 4 * k, as: UInt32.self) ?? (format == .q4_0 ? 0x8888_8888 : 0)
            out.storeBytes(of: format == .q4_0 ? four : four ^ 0x8080_8080, toByteOffset: 16 + 32 * k + 4 * r, as: UInt32.self)
        }
    }

    /// Row r's Q5_0/Q4_1/Q5_1/IQ4_NL `block` into its place in the group block `out` (layout
    /// above); nil pads with zeros.
    private static func regroupNibbles(_ format: BlockFormat, _ block: UnsafeRawPointer?, row r: Int, into out: UnsafeMutableRawPointer) {
        // Offsets in the file's block: the nibbles, the high bits (Q5), the minimum (Q4_1/Q5_1).
        let (qs, qh, minimum): (Int, Int?, Int?)
        switch format {
        case .q5_0: (qs, qh, minimum) = (6, 2, nil)
        case .q4_1: (qs, qh, minimum) = (4, nil, 2)
        case .q5_1: (qs, qh, minimum) = (8, 4, 2)
        case .iq4_nl: (qs, qh, minimum) = (2, nil, nil)
        case .f16, .bf16, .q8_0, .q4_0, .q4_K, .q5_K, .q6_K, .q3_K, .q2_K, .iq4_xs: preconditionFailure("\(format) has another layout")
        }
        let chunks = minimum == nil ? 16 : 32
        out.storeBytes(of: block?.loadUnaligned(as: UInt16.self) ?? 0, toByteOffset: 2 * r, as: UInt16.self)
        if let minimum {
            out.storeBytes(of: block?.loadUnaligned(fromByteOffset: minimum, as: UInt16.self) ?? 0, toByteOffset: 16 + 2 * r, as: UInt16.self)
        }
        for j in 0..<4 {
            let four = block?.loadUnaligned(fromByteOffset: qs + 4 * j, as: UInt32.self) ?? 0
            out.storeBytes(of: four, toByteOffset: chunks + 32 * j + 4 * r, as: UInt32.self)
        }
        guard let qh else { return }
        let high = block?.loadUnaligned(fromByteOffset: qh, as: UInt32.self) ?? 0
        for i in 0..<4 {
            var byte: UInt8 = 0
            for v in 0..<8 {
                let element = 4 * (v / 2) + 16 * (v % 2) + i
                byte |= UInt8((high >> UInt32(element)) & 1) << UInt8(v)
            }
            out.storeBytes(of: byte, toByteOffset: chunks + 128 + 4 * r + i, as: UInt8.self)
        }
    }

    /// Row r's Q4_K super-block (or Q5_K's, whose packed nibbles start at `qs`) into its place in
    /// the group super-block `out` (layout above); nil pads with zeros.
    private static func regroupQ4K(_ block: UnsafeRawPointer?, qs: Int, row r: Int, into out: UnsafeMutableRawPointer) {
        out.storeBytes(of: block?.loadUnaligned(as: UInt16.self) ?? 0, toByteOffset: 2 * r, as: UInt16.self)
        out.storeBytes(of: block?.loadUnaligned(fromByteOffset: 2, as: UInt16.self) ?? 0, toByteOffset: 16 + 2 * r, as: UInt16.self)
        for s in 0..<8 {
            let (scale, min) = block.map { Q4KDecoder.scaleMin(s, $0 + 4) } ?? (0, 0)
            out.storeBytes(of: scale, toByteOffset: 32 + 8 * s + r, as: UInt8.self)
            out.storeBytes(of: min, toByteOffset: 96 + 8 * s + r, as: UInt8.self)
        }
        for j in 0..<4 {
            for k in 0..<8 {
                let four = block?.loadUnaligned(fromByteOffset: qs + 32 * j + 4 * k, as: UInt32.self) ?? 0
                out.storeBytes(of: four, toByteOffset: 160 + 256 * j + 32 * k + 4 * r, as: UInt32.self)
            }
        }
    }

    /// Row r's Q5_K fifth bits (qh, at 16) into the eight vectors at `out`; nil pads with zeros.
    private static func regroupFifthBits(_ block: UnsafeRawPointer?, row r: Int, into out: UnsafeMutableRawPointer) {
        for k in 0..<8 {
            let four = block?.loadUnaligned(fromByteOffset: 16 + 4 * k, as: UInt32.self) ?? 0
            out.storeBytes(of: four, toByteOffset: 32 * k + 4 * r, as: UInt32.self)
        }
    }

    /// Row r's Q6_K super-block into its place in the group super-block `out` (layout above); nil
    /// pads with zeros.
    private static func regroupQ6K(_ block: UnsafeRawPointer?, row r: Int, into out: UnsafeMutableRawPointer) {
        out.storeBytes(of: block?.loadUnaligned(fromByteOffset: 208, as: UInt16.self) ?? 0, toByteOffset: 2 * r, as: UInt16.self)
        for s in 0..<16 {
            out.storeBytes(of: block?.load(fromByteOffset: 192 + s, as: UInt8.self) ?? 0, toByteOffset: 16 + 8 * s + r, as: UInt8.self)
        }
        for n in 0..<2 {
            for k in 0..<8 {
                let triple = 144 + 96 * (8 * n + k)
                for (part, from) in [(0, 64 * n), (32, 64 * n + 32), (64, 128 + 32 * n)] {
                    let four = block?.loadUnaligned(fromByteOffset: from + 4 * k, as: UInt32.self) ?? 0
                    out.storeBytes(of: four, toByteOffset: triple + part + 4 * r, as: UInt32.self)
                }
            }
        }
    }

    /// Row r's IQ4_XS super-block into its place in the group super-block `out` (layout above); nil
    /// pads with zeros.
    private static func regroupIQ4XS(_ block: UnsafeRawPointer?, row r: Int, into out: UnsafeMutableRawPointer) {
        out.storeBytes(of: block?.loadUnaligned(as: UInt16.self) ?? 0, toByteOffset: 2 * r, as: UInt16.self)
        for s in 0..<8 {
            let scale = block.map { Int8(IQ4XSDecoder.scale(s, $0)) } ?? 0
            out.storeBytes(of: scale, toByteOffset: 16 + 8 * s + r, as: Int8.self)
            for k in 0..<4 {
                let four = block?.loadUnaligned(fromByteOffset: 8 + 16 * s + 4 * k, as: UInt32.self) ?? 0
                out.storeBytes(of: four, toByteOffset: 80 + 128 * s + 32 * k + 4 * r, as: UInt32.self)
            }
        }
    }

    /// Row r's Q3_K super-block into its place in the group super-block `out` (layout above); nil
    /// pads with zeros.
    private static func regroupQ3K(_ block: UnsafeRawPointer?, row r: Int, into out: UnsafeMutableRawPointer) {
        out.storeBytes(of: block?.loadUnaligned(fromByteOffset: 108, as: UInt16.self) ?? 0, toByteOffset: 2 * r, as: UInt16.self)
        for s in 0..<16 {
            let scale = block.map { Int8(Q3KDecoder.scale(s, $0)) } ?? 0
            out.storeBytes(of: scale, toByteOffset: 16 + 8 * s + r, as: Int8.self)
        }
        for k in 0..<8 {
            for n in 0..<2 {
                let four = block?.loadUnaligned(fromByteOffset: 32 + 32 * n + 4 * k, as: UInt32.self) ?? 0
                out.storeBytes(of: four, toByteOffset: 144 + 32 * (8 * n + k) + 4 * r, as: UInt32.self)
            }
            let bits = block?.loadUnaligned(fromByteOffset: 4 * k, as: UInt32.self) ?? 0
            out.storeBytes(of: bits, toByteOffset: 656 + 32 * k + 4 * r, as: UInt32.self)
        }
    }

    /// Row r's Q2_K super-block into its place in the group super-block `out` (layout above); nil
    /// pads with zeros.
    private static func regroupQ2K(_ block: UnsafeRawPointer?, row r: Int, into out: UnsafeMutableRawPointer) {
        out.storeBytes(of: block?.loadUnaligned(fromByteOffset: 80, as: UInt16.self) ?? 0, toByteOffset: 2 * r, as: UInt16.self)
        out.storeBytes(of: block?.loadUnaligned(fromByteOffset: 82, as: UInt16.self) ?? 0, toByteOffset: 16 + 2 * r, as: UInt16.self)
        for s in 0..<16 {
            let packed = block?.load(fromByteOffset: s, as: UInt8.self) ?? 0
            out.storeBytes(of: packed & 0xF, toByteOffset: 32 + 8 * s + r, as: UInt8.self)
            out.storeBytes(of: packed >> 4, toByteOffset: 160 + 8 * s + r, as: UInt8.self)
        }
        for n in 0..<2 {
            for k in 0..<8 {
                let four = block?.loadUnaligned(fromByteOffset: 16 + 32 * n + 4 * k, as: UInt32.self) ?? 0
                out.storeBytes(of: four, toByteOffset: 288 + 32 * (8 * n + k) + 4 * r, as: UInt32.self)
            }
        }
    }

    private init(storage: Storage, groups: UnsafeRawPointer, format: BlockFormat, rows: Int, columns: Int) {
        self.storage = storage
        self.groups = groups
        self.format = format
        self.rows = rows
        self.columns = columns
    }

    /// The matrix of rows `range` without a copy, when `range` starts at a group (nil otherwise).
    public func rows(_ range: Range<Int>) -> InterleavedRows? {
        guard range.lowerBound % 8 == 0, range.upperBound <= rows else { return nil }
        let offset = range.lowerBound / 8 * (columns / format.blockElements) * Self.groupBlockBytes(format)!
        return InterleavedRows(storage: storage, groups: groups + offset, format: format, rows: range.count, columns: columns)
    }

    /// y[b, o] for o in `rows` against activations quantized as this format's products want them
    /// (`BlockFormat.quantizeActivations`: Q8_0 for Q8_0/Q4_0, Q8_K for Q4_K), in
    /// `InterleavedMatmul`'s order. Only where `isAvailable`.
    public func multiply(_ activations: QuantizedActivations, y: UnsafeMutablePointer<Float>, yStride: Int, rows range: Range<Int>) {
        precondition(range.lowerBound >= 0 && range.upperBound <= rows, "output rows \(range) outside 0..<\(rows)")
        precondition(Self.isAvailable, "the interleaved kernels need AVX-512 VNNI")
        #if os(Linux) && arch(x86_64)
        /// The 32-element layouts, all on Q8_0 activations.
        func blocks(_ layout: InterleavedVNNI.Layout) {
            let a = activations.q8_0Rows
            precondition(a.columns == columns, "activation rows of \(a.columns) for a matrix of \(columns) columns")
            let codes = ActivationCodes(codes: a.codes, scales: a.scales, sums: a.sums, scaledSums: a.scaledSums, batch: a.batch, columns: a.columns)
            InterleavedVNNI.multiply(layout, groups: groups, blocks: columns / 32, codes, y: y, ldy: yStride, rows: range)
        }
        switch format {
        case .q8_0: blocks(.q8_0)
        case .q4_0: blocks(.q4_0)
        case .q4_K:
            let a = activations.q8_KRows
            precondition(a.columns == columns, "activation rows of \(a.columns) for a matrix of \(columns) columns")
            let codes = ActivationCodes(codes: a.codes, scales: a.scales, sums: a.sums, batch: a.batch, columns: a.columns)
            InterleavedQ4KVNNI.multiply(fifthBits: false, groups: groups, superBlocks: columns / 256, codes, y: y, ldy: yStride, rows: range)
        case .q5_K:
            let a = activations.q8_KRows
            precondition(a.columns == columns, "activation rows of \(a.columns) for a matrix of \(columns) columns")
            let codes = ActivationCodes(codes: a.codes, scales: a.scales, sums: a.sums, batch: a.batch, columns: a.columns)
            InterleavedQ4KVNNI.multiply(fifthBits: true, groups: groups, superBlocks: columns / 256, codes, y: y, ldy: yStride, rows: range)
        case .q3_K:
            let a = activations.q8_KRows
            precondition(a.columns == columns, "activation rows of \(a.columns) for a matrix of \(columns) columns")
            let codes = ActivationCodes(codes: a.codes, scales: a.scales, sums: a.halfSums, batch: a.batch, columns: a.columns)
            InterleavedQ3KVNNI.multiply(groups: groups, superBlocks: columns / 256, codes, y: y, ldy: yStride, rows: range)
        case .q2_K:
            let a = activations.q8_KRows
            precondition(a.columns == columns, "activation rows of \(a.columns) for a matrix of \(columns) columns")
            let codes = ActivationCodes(codes: a.codes, scales: a.scales, sums: a.halfSums, batch: a.batch, columns: a.columns)
            InterleavedQ2KVNNI.multiply(groups: groups, superBlocks: columns / 256, codes, y: y, ldy: yStride, rows: range)
        case .iq4_xs:
            let a = activations.q8_KRows
            precondition(a.columns == columns, "activation rows of \(a.columns) for a matrix of \(columns) columns")
            let codes = ActivationCodes(codes: a.codes, scales: a.scales, sums: a.sums, batch: a.batch, columns: a.columns)
            InterleavedIQ4XSVNNI.multiply(groups: groups, superBlocks: columns / 256, codes, y: y, ldy: yStride, rows: range)
        case .q6_K:
            let a = activations.q8_KRows
            precondition(a.columns == columns, "activation rows of \(a.columns) for a matrix of \(columns) columns")
            let codes = ActivationCodes(codes: a.codes, scales: a.scales, sums: a.halfSums, batch: a.batch, columns: a.columns)
            InterleavedQ6KVNNI.multiply(groups: groups, superBlocks: columns / 256, codes, y: y, ldy: yStride, rows: range)
        case .q5_0: blocks(.q5_0)
        case .q4_1: blocks(.q4_1)
        case .q5_1: blocks(.q5_1)
        case .iq4_nl: blocks(.iq4_nl)
        case .f16, .bf16: preconditionFailure("\(format) rows are not regrouped")
        }
        #endif
    }

    /// The naive twin of `multiply` (`InterleavedMatmul`), on the rows as stored in the file:
    /// quantizes x itself. Runs anywhere.
    public static func multiplyNaive(
        format: BlockFormat, x: UnsafePointer<Float>, w: UnsafeRawPointer, rowBytes: Int, y: UnsafeMutablePointer<Float>,
        batch: Int, columns: Int, yStride: Int, rows: Range<Int>
    ) {
        switch format {
        case .q8_0: InterleavedMatmul.multiply(Q8_0Decoder.self, x, w, rowBytes, y, batch, columns, yStride, rows)
        case .q4_0: InterleavedMatmul.multiply(Q4_0Decoder.self, x, w, rowBytes, y, batch, columns, yStride, rows)
        case .q4_K, .q5_K, .q6_K, .q3_K, .q2_K, .iq4_xs:
            InterleavedMatmul.multiplyKQuant(format, x, w, rowBytes, y, batch, columns, yStride, rows)
        case .q5_0: InterleavedMatmul.multiply(Q5_0Decoder.self, x, w, rowBytes, y, batch, columns, yStride, rows)
        case .q4_1: InterleavedMatmul.multiply(Q4_1Decoder.self, x, w, rowBytes, y, batch, columns, yStride, rows)
        case .q5_1: InterleavedMatmul.multiply(Q5_1Decoder.self, x, w, rowBytes, y, batch, columns, yStride, rows)
        case .iq4_nl: InterleavedMatmul.multiply(IQ4_NLDecoder.self, x, w, rowBytes, y, batch, columns, yStride, rows)
        case .f16, .bf16: preconditionFailure("\(format) rows are not interleaved")
        }
    }
}
