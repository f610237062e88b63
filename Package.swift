// swift-tools-version:5.9
import PackageDescription

// Hot kernels are compiled once per ISA in their own targets, each with its
// own code-generation flags; the engine picks one at run time from CPU
// features. Nothing else gets -march/-target-cpu, so the binary runs on any x86-64.
let kernelRelease: [SwiftSetting] = [.unsafeFlags(["-Ounchecked", "-wmo"], .when(configuration: .release))]

let package = Package(
    name: "vseg",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "vseg", targets: ["vseg"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.5.0"),
    ],
    targets: [
        // C edges
        .systemLibrary(name: "CFFmpeg", pkgConfig: "libavformat libavcodec libavutil libswscale",
                       providers: [.apt(["libavformat-dev", "libavcodec-dev", "libavutil-dev", "libswscale-dev"])]),
        .systemLibrary(name: "CV4L2", pkgConfig: "libv4l2", providers: [.apt(["libv4l-dev"])]),
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3"])]),

        // Swift modules
        .target(name: "VSegCore"),
        .target(name: "VSegKernelsAVX512", dependencies: ["VSegCore"],
                swiftSettings: kernelRelease + [.define("VSEG_AVX512"), .unsafeFlags(["-Xcc", "-march=skylake-avx512", "-target-cpu", "skylake-avx512"])]),
        .target(name: "VSegKernelsAVX2", dependencies: ["VSegCore"],
                swiftSettings: kernelRelease + [.define("VSEG_AVX2"), .unsafeFlags(["-Xcc", "-march=haswell", "-target-cpu", "haswell"])]),
        .target(name: "VSegKernelsPortable", dependencies: ["VSegCore"], swiftSettings: kernelRelease),
        .target(name: "VSegEngine",
                dependencies: ["VSegCore", "CKernels", "VSegKernelsAVX512", "VSegKernelsAVX2", "VSegKernelsPortable"],
                swiftSettings: kernelRelease),
        .target(name: "VSegMedia", dependencies: ["VSegCore", "CFFmpeg", "CV4L2"]),
        .target(name: "VSegVision", dependencies: ["VSegCore", "VSegEngine"], swiftSettings: kernelRelease),
        .target(name: "VSegPipeline",
                dependencies: ["VSegCore", "VSegMedia", "VSegEngine", "VSegVision", "Yams",
                               .product(name: "Logging", package: "swift-log")]),
        .executableTarget(name: "vseg",
                          dependencies: ["VSegPipeline", "VSegMedia", "VSegEngine", "VSegVision", "VSegCore",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser")]),

        // Kernel benchmark (not a test): swift build -c release --product KernelBench
        .executableTarget(name: "KernelBench",
                          dependencies: ["VSegEngine", "VSegCore", "VSegKernelsAVX512", "VSegKernelsAVX2", "VSegKernelsPortable"],
                          path: "Benchmarks/kernels", exclude: ["check-isa-isolation.sh", "README.md"], swiftSettings: kernelRelease),
        // INT8 kernel benchmark (not a test): swift build -c release --product Int8Bench
        .executableTarget(name: "Int8Bench", dependencies: ["VSegEngine", "VSegCore", "CKernels"],
                          path: "Benchmarks/int8_gemm", swiftSettings: kernelRelease),

        // Tests: one target per module
        .testTarget(name: "VSegCoreTests", dependencies: ["VSegCore"]),
        .testTarget(name: "VSegEngineTests", dependencies: ["VSegEngine", "VSegCore", "CKernels",
                                                            "VSegKernelsAVX512", "VSegKernelsAVX2", "VSegKernelsPortable"]),
        .testTarget(name: "VSegMediaTests", dependencies: ["VSegMedia", "VSegCore"]),
        .testTarget(name: "VSegVisionTests", dependencies: ["VSegVision", "VSegEngine", "VSegCore"]),
        .testTarget(name: "VSegPipelineTests", dependencies: ["VSegPipeline", "VSegMedia", "VSegCore"]),
        .testTarget(name: "vsegTests", dependencies: ["VSegCore"]),
    ]
)
