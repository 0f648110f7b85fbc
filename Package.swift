// swift-tools-version: 6.0
//
// Fovea — convolutional neural networks in Swift on Linux, with pluggable numerical devices.
//
// No target of the library sets unsafe compiler flags, so other packages can depend on Fovea by
// version.
// Speed comes from algorithms, SIMD, a C micro-kernel compiled with per-function target attributes,
// and OpenBLAS.

import PackageDescription

let package = Package(
    name: "Fovea",
    products: [
        .library(name: "Fovea", targets: ["Fovea"]),
        /// Data-parallel training over Open MPI (needs libopenmpi-dev); `import Fovea` does not need it.
        .library(name: "FoveaDistributed", targets: ["FoveaDistributed"]),
        .executable(name: "fovea", targets: ["FoveaCommand"]),
        .executable(name: "fovea-bench", targets: ["FoveaBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // MARK: Public API
        /// The public face: device selection, the checked operations, and (later) layers and models.
        .target(
            name: "Fovea",
            dependencies: ["FoveaCore", "FoveaKernels", "FoveaNaive", "FoveaDispatch", "FoveaOpenBLAS", "FoveaChecking", "FoveaProfiling", "CZlib", "CStb"]
        ),

        // MARK: Numerical core and backends
        /// Tensor, Shape, convolution geometry, the Device protocol and its operation families,
        /// errors, the environment, and the convolution plans a device's API names.
        .target(name: "FoveaCore"),
        /// The convolution machinery the GEMM-based backends share (package access, not re-exported
        /// by Fovea): the im2col and Winograd drivers, `ParallelGEMM`, the packed-weight cache,
        /// `GEMMConvolutionPlanner`, and `GEMMBackedDevice`.
        .target(name: "FoveaKernels", dependencies: ["FoveaCore"]),
        /// The reference backend: plain loops that read like the textbook formulas.
        .target(name: "FoveaNaive", dependencies: ["FoveaCore"]),
        /// Parallel over Grand Central Dispatch with Fovea's own packed SIMD GEMM.
        .target(name: "FoveaDispatch", dependencies: ["FoveaCore", "FoveaKernels", "CFoveaKernels"]),
        /// im2col + `cblas_sgemm` from OpenBLAS.
        .target(name: "FoveaOpenBLAS", dependencies: ["FoveaCore", "FoveaKernels", "COpenBLAS"]),
        /// A device that runs every operation on a subject and a reference device and compares
        /// them (`FOVEA_DEVICE=check:<backend>`); built on the Device protocol alone.
        .target(name: "FoveaChecking", dependencies: ["FoveaCore"]),
        /// A device that times every operation of another, attributed to the layer that issued it
        /// (`ModelProfiler`, `fovea-bench nets --profile`); built on the Device protocol alone.
        .target(name: "FoveaProfiling", dependencies: ["FoveaCore"]),

        // MARK: Distributed training
        /// Data-parallel training on Open MPI: the communicator, bucketed gradient allreduce
        /// overlapped with backward, synchronized batch norm, checkpoints shared from rank 0.
        .target(name: "FoveaDistributed", dependencies: ["Fovea", "CMPI"]),

        // MARK: C shims (implementation details)
        /// Open MPI's C API, with inline functions for the handles <mpi.h> defines as macros.
        .systemLibrary(
            name: "CMPI",
            path: "CSupport/CMPI",
            pkgConfig: "ompi-c",
            providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]
        ),
        .systemLibrary(
            name: "COpenBLAS",
            path: "CSupport/COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev", "liblapacke-dev"])]
        ),
        .systemLibrary(
            name: "CZlib",
            path: "CSupport/CZlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        .systemLibrary(
            name: "CStb",
            path: "CSupport/CStb",
            pkgConfig: "stb",
            providers: [.apt(["libstb-dev"])]
        ),
        /// C micro-kernels compiled per function for AVX2+FMA, chosen at run time.
        .target(name: "CFoveaKernels", path: "CSupport/CFoveaKernels"),

        // MARK: Executables
        /// The `fovea` command: train, eval, predict, summary, filter, features, kernels.
        .executableTarget(
            name: "FoveaCommand",
            dependencies: ["Fovea", "FoveaDistributed", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "FoveaBench",
            dependencies: ["FoveaBenchKit", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Benchmarks/FoveaBench"
        ),
        /// The benchmark harness: layer suite, runners, statistics, reports, comparison, charts.
        .target(
            name: "FoveaBenchKit",
            dependencies: ["Fovea", "FoveaKernels", "CFoveaKernels", "FoveaDistributed"],
            path: "Benchmarks/FoveaBenchKit"
        ),

        // MARK: Tests
        /// Shared test helpers: closeness assertions, the gradient checker, the backend matrix.
        .target(
            name: "FoveaTestSupport",
            dependencies: ["Fovea"],
            path: "Tests/FoveaTestSupport"
        ),
        .testTarget(
            name: "FoveaBenchTests",
            dependencies: ["FoveaBenchKit", "FoveaKernels"]
        ),
        /// The tiny training run that CrashSafetyTests kills while it writes checkpoints, shared by
        /// the test and the child process it spawns.
        .target(
            name: "CrashDrill",
            dependencies: ["Fovea"],
            path: "Tests/CrashDrill"
        ),
        /// The child process of CrashSafetyTests: trains CrashDrill and checkpoints after every step.
        .executableTarget(
            name: "CrashDrillChild",
            dependencies: ["CrashDrill"],
            path: "Tests/CrashDrillChild"
        ),
        /// The program DistributedTests runs under `mpirun`: collectives, data-parallel steps,
        /// a rank that dies or hangs.
        .executableTarget(
            name: "DistributedDrill",
            dependencies: ["FoveaDistributed"],
            path: "Tests/DistributedDrill"
        ),
        .testTarget(
            name: "FoveaDistributedTests",
            dependencies: ["Fovea", "FoveaDistributed", "FoveaTestSupport"]
        ),
        .testTarget(
            name: "FoveaTests",
            dependencies: ["Fovea", "FoveaKernels", "FoveaTestSupport", "CrashDrill"],
            exclude: ["Fixtures"]
        ),
    ]
)
