// swift-tools-version: 6.0
import PackageDescription

// The numeric core is compiled for Haswell-class x86-64 (AVX2 + FMA), and the AVX-512 VNNI kernels,
// in a module of their own, for Cascade Lake (AVX-512 F/CD/BW/DQ/VL + VNNI; SmallMindKernels calls
// them only on processors that have those features). Those CPU names exist only for x86-64: the
// manifest is compiled for the machine that builds, so elsewhere (Linux arm64, Apple Silicon) no
// target CPU is named and the portable SIMD paths are built. Debug builds optimise the kernels too:
// unoptimised SIMD loops are ~50x slower and would make the golden tests in `swift test` crawl.
// SmallMind.ProcessorSupport checks at run time that the processor has what these flags assume,
// and must stay in a module compiled without them.
//
// These are `unsafeFlags`, which SwiftPM refuses in a package depended on by version: depend on
// SmallMind by branch, revision or path (README, "Using the library").
#if arch(x86_64)
let kernelCPU = ["-target-cpu", "haswell"]
let avx512KernelCPU = ["-target-cpu", "cascadelake"]
#else
let kernelCPU: [String] = []
let avx512KernelCPU: [String] = []
#endif

// On macOS the same optimisation without a CPU name (the intrinsics are compiled on Linux only).
let kernelSettings: [SwiftSetting] = [
    .unsafeFlags(["-Ounchecked"] + kernelCPU, .when(platforms: [.linux], configuration: .release)),
    .unsafeFlags(["-O"] + kernelCPU, .when(platforms: [.linux], configuration: .debug)),
    .unsafeFlags(["-Ounchecked"], .when(platforms: [.macOS], configuration: .release)),
    .unsafeFlags(["-O"], .when(platforms: [.macOS], configuration: .debug)),
]

let avx512KernelSettings: [SwiftSetting] = [
    .unsafeFlags(["-Ounchecked"] + avx512KernelCPU, .when(platforms: [.linux], configuration: .release)),
    .unsafeFlags(["-O"] + avx512KernelCPU, .when(platforms: [.linux], configuration: .debug)),
]

let package = Package(
    name: "SmallMind",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "SmallMind", targets: ["SmallMind"]),
        .library(name: "SmallMindKernels", targets: ["SmallMindKernels"]),
        .library(name: "SmallMindCLI", targets: ["SmallMindCLI"]),
        .library(name: "SmallMindServer", targets: ["SmallMindServer"]),
        .executable(name: "smallmind", targets: ["smallmind"]),
        .executable(name: "MultiThreadedGeneration", targets: ["MultiThreadedGeneration"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // The HTTP server (`smallmind serve`): Hummingbird 2 on SwiftNIO, service-lifecycle for
        // signals and graceful shutdown, swift-log for logs, swift-prometheus for /metrics.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // The HTTP client of `smallmind batch --server` (and of the server tests).
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    ],
    targets: [
        // One C function: the prefetch hint the AVX-512 kernels and paged attention give (Swift
        // cannot name the instruction).
        .target(name: "SmallMindPrefetch"),
        .target(name: "SmallMindKernelsAVX512", dependencies: ["SmallMindPrefetch"], swiftSettings: avx512KernelSettings),
        .target(name: "SmallMindKernels", dependencies: ["SmallMindKernelsAVX512", "SmallMindPrefetch"], swiftSettings: kernelSettings),
        .target(name: "SmallMind", dependencies: ["SmallMindKernels"]),
        // The OpenAI-compatible HTTP server; the library `SmallMind` knows nothing of HTTP.
        .target(
            name: "SmallMindServer",
            dependencies: [
                "SmallMind",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]),
        .target(
            name: "SmallMindCLI",
            dependencies: [
                "SmallMind", "SmallMindServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]),
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
        .testTarget(name: "SmallMindCLITests", dependencies: ["SmallMindCLI", "SmallMind", "SmallMindServer"]),
        .testTarget(
            name: "SmallMindServerTests",
            dependencies: [
                "SmallMindServer", "SmallMind",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]),
        // Runs the built `smallmind` and `MultiThreadedGeneration` executables as processes (found
        // beside the test bundle; `swift build --build-tests` builds them).
        .testTarget(name: "ExecutableTests"),
    ],
    swiftLanguageModes: [.v6]
)
