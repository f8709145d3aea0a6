// Whether this processor can run this build's kernels, checked before any kernel code runs.
//
// On Linux x86-64, Package.swift compiles SmallMindKernels with -target-cpu haswell (and the
// AVX-512 kernels, which run only where the processor has them, for cascadelake). With that flag
// the compiler may use AVX2, FMA, F16C, BMI1/2, LZCNT and MOVBE anywhere in the module — not only
// where the intrinsics name them, and in the portable path too — so an older processor would die
// of an illegal instruction (SIGILL) in the first kernel it reaches, with no message. There is no
// slower path to fall back to in the same build: everything in the module assumes Haswell.
//
// So the check lives here, in a module compiled for baseline x86-64, and reads the processor's
// feature bits with CPUID (Clang's cpuid.h through the toolchain's intrinsics module; the
// compiled code is a few CPUID instructions and bit tests). It runs in `Model.load` (throws),
// `Model.demo` (a precondition with the same message) and the command-line tools' entry, before
// anything else. Code that calls SmallMindKernels directly should call `check()` first.
//
// Not checked: whether the operating system saves the AVX registers (XGETBV is not reachable
// from Swift); CPUID's OSXSAVE bit is required, and Linux enables AVX state wherever it sets it.
// Elsewhere (Linux arm64, macOS) no CPU flags are passed and nothing is required.
#if os(Linux) && arch(x86_64)
import _Builtin_intrinsics.intel.cpuid
#endif
import SmallMindKernels

/// Whether this process can run SmallMind's kernels.
public enum ProcessorSupport {
    /// The instructions this build's kernels are compiled to use that this processor lacks (empty
    /// when it has them all, and always off Linux x86-64).
    public static let missingInstructions: [String] = {
        #if os(Linux) && arch(x86_64)
        var a: UInt32 = 0, b: UInt32 = 0, c: UInt32 = 0, d: UInt32 = 0
        let maximumLeaf = __get_cpuid_max(0, nil)
        guard maximumLeaf >= 7 else { return requiredInstructions.map(\.name) }
        _ = __get_cpuid_count(1, 0, &a, &b, &c, &d)
        let leaf1ECX = c
        _ = __get_cpuid_count(7, 0, &a, &b, &c, &d)
        let leaf7EBX = b
        guard __get_cpuid_max(0x8000_0000, nil) >= 0x8000_0001 else { return requiredInstructions.map(\.name) }
        _ = __get_cpuid_count(0x8000_0001, 0, &a, &b, &c, &d)
        return missing(leaf1ECX: leaf1ECX, leaf7EBX: leaf7EBX, extendedECX: c)
        #else
        return []
        #endif
    }()

    /// Throws when this processor lacks instructions the kernels are compiled to use, or when
    /// `SMALLMIND_KERNELS` names no kernel path of this build (`KernelPath`).
    public static func check() throws(ProcessorSupportError) {
        guard missingInstructions.isEmpty else { throw .missingInstructions(missingInstructions) }
        // Only now may SmallMindKernels' code run.
        do {
            _ = try KernelPath.requested()
        } catch {
            throw .kernelPath(error)
        }
    }

    /// What Haswell (-target-cpu haswell) lets the compiler use, and where CPUID reports it:
    /// (register, bit). AVX2 processors have all of them; some virtual machines hide a few.
    static let requiredInstructions: [(name: String, register: CPUIDRegister, bit: UInt32)] = [
        ("AVX", .leaf1ECX, 28), ("AVX2", .leaf7EBX, 5), ("FMA", .leaf1ECX, 12), ("F16C", .leaf1ECX, 29),
        ("BMI1", .leaf7EBX, 3), ("BMI2", .leaf7EBX, 8), ("LZCNT", .extendedECX, 5), ("MOVBE", .leaf1ECX, 22),
        ("POPCNT", .leaf1ECX, 23), ("SSE4.2", .leaf1ECX, 20), ("OSXSAVE", .leaf1ECX, 27),
    ]

    enum CPUIDRegister {
        /// Leaf 1, ECX.
        case leaf1ECX
        /// Leaf 7 sub-leaf 0, EBX.
        case leaf7EBX
        /// Leaf 0x8000_0001, ECX.
        case extendedECX
    }

    /// The names of the required instructions whose bits are clear in these CPUID registers.
    static func missing(leaf1ECX: UInt32, leaf7EBX: UInt32, extendedECX: UInt32) -> [String] {
        requiredInstructions.filter { required in
            let register: UInt32
            switch required.register {
            case .leaf1ECX: register = leaf1ECX
            case .leaf7EBX: register = leaf7EBX
            case .extendedECX: register = extendedECX
            }
            return register & (1 << required.bit) == 0
        }.map(\.name)
    }
}

/// Why this process cannot run SmallMind's kernels.
public enum ProcessorSupportError: Error, Equatable, CustomStringConvertible {
    /// The processor lacks these instructions, which this build's kernels are compiled to use.
    case missingInstructions([String])
    /// `SMALLMIND_KERNELS` names no kernel path of this build.
    case kernelPath(KernelPathError)

    public var description: String {
        switch self {
        case .missingInstructions(let names):
            return "this processor lacks \(names.joined(separator: ", ")), which this build of SmallMind needs: "
                + "on Linux x86-64 its kernels are compiled for Haswell (2013) or newer (AVX2 and FMA); "
                + "see README, Platforms, for building without those flags"
        case .kernelPath(let error):
            return error.description
        }
    }
}
