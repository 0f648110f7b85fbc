// swift-tools-version: 6.0
//
// libFuzzer targets for Fovea's file readers, one executable per format. Not part of the main
// package: it is built only by Scripts/fuzz.sh, with the fuzzer and address sanitizers enabled
// on the command line (-Xswiftc -sanitize=fuzzer,address). Each target's top-level code hands
// control to libFuzzer's driver (CFuzzDriver declares it).

import PackageDescription

/// SwiftPM names a path dependency after its folder (lower-cased), so the Fovea checkout two levels
/// up is "fovea", "main", "wt-fuzz", … depending on where it was cloned.
let foveaIdentity = Context.packageDirectory.split(separator: "/").dropLast(2).last.map { $0.lowercased() } ?? "fovea"

let package = Package(
    name: "FoveaFuzz",
    dependencies: [
        .package(path: "../.."),
    ],
    targets: [
        /// The declaration of libFuzzer's `LLVMFuzzerRunDriver`.
        .target(name: "CFuzzDriver"),
        /// stb_image compiled from source, instrumented, in place of libstb.so's copy.
        .target(name: "CFuzzStb"),
        /// SafeTensors.decode on arbitrary bytes.
        .executableTarget(name: "FuzzSafeTensors", dependencies: ["CFuzzDriver", .product(name: "Fovea", package: foveaIdentity)]),
        /// IDXFile.decode (plain and gzip) on arbitrary bytes.
        .executableTarget(name: "FuzzIDX", dependencies: ["CFuzzDriver", .product(name: "Fovea", package: foveaIdentity)]),
        /// Image.decode (PNG and JPEG through stb_image) on arbitrary bytes.
        .executableTarget(name: "FuzzImage", dependencies: ["CFuzzDriver", "CFuzzStb", .product(name: "Fovea", package: foveaIdentity)]),
    ]
)
