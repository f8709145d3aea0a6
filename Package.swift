// swift-tools-version: 6.0
import PackageDescription

// The numeric core is compiled for Haswell-class x86-64 (AVX2 + FMA), the floor of the machines this project
// targets (this project runs on x86-64 Linux; elsewhere drop the flag — the SIMD code is portable).
let kernelSettings: [SwiftSetting] = [
    .unsafeFlags(["-Ounchecked", "-target-cpu", "haswell"], .when(platforms: [.linux], configuration: .release)),
    // Debug builds optimise the kernels too: unoptimised SIMD loops are ~50x slower and would make
    // the golden tests in `swift test` crawl.
    .unsafeFlags(["-O", "-target-cpu", "haswell"], .when(platforms: [.linux], configuration: .debug)),
]

// The AVX-512 VNNI kernels live in a module of their own, compiled for Cascade Lake (AVX-512 F/CD/BW/
// DQ/VL + VNNI); SmallMindKernels calls them only on processors that have those features.
let avx512KernelSettings: [SwiftSetting] = [
    .unsafeFlags(["-Ounchecked", "-target-cpu", "cascadelake"], .when(platforms: [.linux], configuration: .release)),
    .unsafeFlags(["-O", "-target-cpu", "cascadelake"], .when(platforms: [.linux], configuration: .debug)),
]

let package = Package(
    name: "SmallMind",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "SmallMind", targets: ["SmallMind"]),
        .library(name: "SmallMindKernels", targets: ["SmallMindKernels"]),
        .library(name: "SmallMindCLI", targets: ["SmallMindCLI"]),
        .executable(name: "smallmind", targets: ["smallmind"]),
        .executable(name: "MultiThreadedGeneration", targets: ["MultiThreadedGeneration"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .target(name: "SmallMindKernelsAVX512", swiftSettings: avx512KernelSettings),
        .target(name: "SmallMindKernels", dependencies: ["SmallMindKernelsAVX512"], swiftSettings: kernelSettings),
        .target(name: "SmallMind", dependencies: ["SmallMindKernels"]),
        .target(
            name: "SmallMindCLI",
            dependencies: ["SmallMind", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(
            name: "smallmind",
            dependencies: [
                "SmallMind", "SmallMindCLI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .executableTarget(
            name: "MultiThreadedGeneration",
            dependencies: [
                "SmallMind", "SmallMindCLI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .testTarget(name: "SmallMindKernelsTests", dependencies: ["SmallMindKernels"]),
        // Fixtures/: small oracle outputs the tests read by path (scripts/float_reference.py).
        .testTarget(name: "SmallMindTests", dependencies: ["SmallMind"], exclude: ["Fixtures"]),
        .testTarget(name: "SmallMindCLITests", dependencies: ["SmallMindCLI", "SmallMind"]),
        // Runs the built `smallmind` and `MultiThreadedGeneration` executables as processes (found
        // beside the test bundle; `swift build --build-tests` builds them).
        .testTarget(name: "ExecutableTests"),
    ],
    swiftLanguageModes: [.v6]
)
