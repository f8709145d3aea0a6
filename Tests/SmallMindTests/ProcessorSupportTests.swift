import Foundation
import Testing
@testable import SmallMind

/// The CPUID check that stands between an older x86 processor and an illegal instruction.
struct ProcessorSupportTests {
    /// A register set with the given required instructions' bits set.
    static func registers(with names: Set<String>) -> (UInt32, UInt32, UInt32) {
        var registers: (leaf1: UInt32, leaf7: UInt32, extended: UInt32) = (0, 0, 0)
        for required in ProcessorSupport.requiredInstructions where names.contains(required.name) {
            switch required.register {
            case .leaf1ECX: registers.leaf1 |= 1 << required.bit
            case .leaf7EBX: registers.leaf7 |= 1 << required.bit
            case .extendedECX: registers.extended |= 1 << required.bit
            }
        }
        return registers
    }

    /// The bits as Intel's and AMD's manuals place them: an Ivy Bridge (2012: AVX, F16C, no AVX2,
    /// FMA, BMI, LZCNT or MOVBE) lacks exactly those; a Haswell lacks nothing; no bits, everything.
    @Test func missingInstructionsAreReadFromTheRightBits() {
        // Ivy Bridge: leaf 1 ECX = SSE4.2 (20), POPCNT (23), OSXSAVE (27), AVX (28), F16C (29).
        let ivyBridgeLeaf1: UInt32 = 1 << 20 | 1 << 23 | 1 << 27 | 1 << 28 | 1 << 29
        #expect(ProcessorSupport.missing(leaf1ECX: ivyBridgeLeaf1, leaf7EBX: 0, extendedECX: 0)
            == ["AVX2", "FMA", "BMI1", "BMI2", "LZCNT", "MOVBE"])
        // Haswell adds leaf 1 FMA (12) and MOVBE (22), leaf 7 EBX BMI1 (3), AVX2 (5), BMI2 (8), and
        // 0x8000_0001 ECX LZCNT (5).
        let haswellLeaf1 = ivyBridgeLeaf1 | 1 << 12 | 1 << 22
        #expect(ProcessorSupport.missing(leaf1ECX: haswellLeaf1, leaf7EBX: 1 << 3 | 1 << 5 | 1 << 8, extendedECX: 1 << 5).isEmpty)
        #expect(ProcessorSupport.missing(leaf1ECX: 0, leaf7EBX: 0, extendedECX: 0).count == ProcessorSupport.requiredInstructions.count)
        // An OS that has not enabled XSAVE: nothing else missing, but that is enough to refuse.
        let all = Self.registers(with: Set(ProcessorSupport.requiredInstructions.map(\.name)).subtracting(["OSXSAVE"]))
        #expect(ProcessorSupport.missing(leaf1ECX: all.0, leaf7EBX: all.1, extendedECX: all.2) == ["OSXSAVE"])
    }

    /// This machine, against the kernel's own account (/proc/cpuinfo's flags): CPUID finds missing
    /// exactly the instructions whose flags are absent (OSXSAVE is not listed there).
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/proc/cpuinfo"), "no /proc/cpuinfo"))
    func thisProcessorAgreesWithProcCpuinfo() throws {
        #if os(Linux) && arch(x86_64)
        let cpuinfo = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        let line = try #require(cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") })
        let flags = Set(line.split(separator: " ").map(String.init))
        let flagOf = ["AVX": "avx", "AVX2": "avx2", "FMA": "fma", "F16C": "f16c", "BMI1": "bmi1", "BMI2": "bmi2",
                      "LZCNT": "abm", "MOVBE": "movbe", "POPCNT": "popcnt", "SSE4.2": "sse4_2"]
        let expected = ProcessorSupport.requiredInstructions.map(\.name).filter { name in flagOf[name].map { !flags.contains($0) } ?? false }
        #expect(ProcessorSupport.missingInstructions.filter { $0 != "OSXSAVE" } == expected)
        #else
        #expect(ProcessorSupport.missingInstructions.isEmpty, "nothing is required off Linux x86-64")
        #endif
    }

    /// Where these tests run, the kernels run: the check passes (and it has let every other test
    /// here reach the kernels).
    @Test func theCheckPassesHere() throws {
        try ProcessorSupport.check()
        #expect(ProcessorSupportError.missingInstructions(["AVX2", "FMA"]).description.hasPrefix("this processor lacks AVX2, FMA, which"))
    }
}
