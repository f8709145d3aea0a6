// Which code the kernels run, chosen once per process.
//
// On Linux x86-64 the innermost steps of the quantized kernels are written twice: with x86
// intrinsics (AVX2, FMA, F16C — the measured path), and in portable Swift SIMD, which is all that
// Linux arm64 and macOS compile. Both stay compiled on x86-64 so that the portable path can be
// tested where we work: `SMALLMIND_KERNELS=portable` selects it (and with it turns off the
// AVX-512 kernels, whose row layout is chosen when a model loads).
//
// The choice reaches the kernels as a type, not a flag: every public entry point switches on the
// `KernelPath` once and calls the generic kernel specialised for `X86Intrinsics` or
// `PortableSIMD`; inside, `if I.usesX86Intrinsics` is a constant of the specialisation, so the
// loops carry no branch for it. (A run-time flag read in the loops would cost a test per block;
// LLVM's -O pipeline does not reliably hoist it out.)
//
// What the portable path proves on x86-64: the Swift source that arm64 compiles computes the
// same results. It does not prove arm64's instruction selection, and it does not make this build
// run on an x86 processor without AVX2: the whole module is compiled for Haswell (Package.swift),
// so the compiler may use AVX2 in the portable code too. `SmallMind.ProcessorSupport` checks that.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The kernels' two forms of the same arithmetic. Both give bit-identical results (tests hold
/// them equal); they differ in speed and in where they compile.
public enum KernelPath: String, Sendable, CaseIterable {
    /// x86-64 intrinsics (AVX2, FMA, F16C; AVX-512 VNNI where the processor has it). Compiled on
    /// Linux x86-64 only; elsewhere it runs the portable code.
    case x86
    /// Portable Swift SIMD: what Linux arm64 and macOS run.
    case portable

    /// The environment variable that selects a path: `portable` or `x86`.
    public static let environmentVariable = "SMALLMIND_KERNELS"

    /// The paths this build contains: both on Linux x86-64, the portable one elsewhere.
    public static var compiled: [KernelPath] {
        #if os(Linux) && arch(x86_64)
        return [.x86, .portable]
        #else
        return [.portable]
        #endif
    }

    /// The path of a build that nobody asked otherwise: x86 where it is compiled.
    public static var standard: KernelPath { compiled[0] }

    /// The path the kernels use in this process: `SMALLMIND_KERNELS` when it names a compiled path,
    /// otherwise `standard`. Read once. (A value naming no path is reported by `requested()`,
    /// which the CLI and `Model.load` check; the library itself never prints.)
    public static let selected: KernelPath = (try? requested()) ?? standard

    /// The path `SMALLMIND_KERNELS` asks for, nil when it is unset or empty.
    public static func requested() throws(KernelPathError) -> KernelPath? {
        guard let raw = getenv(environmentVariable) else { return nil }
        return try named(String(cString: raw))
    }

    /// The path called `value` (as `SMALLMIND_KERNELS` spells it), nil for an empty value.
    public static func named(_ value: String) throws(KernelPathError) -> KernelPath? {
        if value.isEmpty { return nil }
        guard let path = KernelPath(rawValue: value) else { throw .unknown(value) }
        guard compiled.contains(path) else { throw .notCompiled(path) }
        return path
    }
}

/// Why `SMALLMIND_KERNELS` was not followed.
public enum KernelPathError: Error, Equatable, CustomStringConvertible {
    case unknown(String)
    case notCompiled(KernelPath)

    public var description: String {
        let choices = KernelPath.compiled.map(\.rawValue).joined(separator: " or ")
        switch self {
        case .unknown(let value):
            return "\(KernelPath.environmentVariable)=\(value) names no kernel path; use \(choices)"
        case .notCompiled(let path):
            return "\(KernelPath.environmentVariable)=\(path.rawValue): this build has no \(path.rawValue) kernels; use \(choices)"
        }
    }
}

/// Which instructions a kernel's innermost steps use, as a generic parameter (see the top of
/// this file). Kernels test `usesX86Intrinsics` inside `#if os(Linux) && arch(x86_64)` and fall
/// through to their portable form.
protocol InstructionSet {
    static var usesX86Intrinsics: Bool { get }
}

#if os(Linux) && arch(x86_64)
/// AVX2, FMA and F16C through Clang's intrinsics.
enum X86Intrinsics: InstructionSet {
    @inline(__always) static var usesX86Intrinsics: Bool { true }
}
#else
/// Where the intrinsics are not compiled, the x86 path is the portable one (never selected, but
/// code may name it): one specialisation, not two identical ones.
typealias X86Intrinsics = PortableSIMD
#endif

/// Portable Swift SIMD only.
enum PortableSIMD: InstructionSet {
    @inline(__always) static var usesX86Intrinsics: Bool { false }
}
