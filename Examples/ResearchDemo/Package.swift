// swift-tools-version: 6.0
//
// A research package that depends on Fovea exactly as README's "Depending on Fovea" tells users
// to, except that it points at this checkout instead of the URL:
//
//     .package(url: "https://github.com/<owner>/fovea.git", branch: "main")  // README
//     .package(name: "fovea", path: "../..")                                  // here
//
// (`name:` gives the local checkout the identity the URL gives, `fovea`, whatever the checkout's
// folder is called.) CI builds and runs it (`.ci/run`), so a change that breaks packages depending
// on Fovea — unsafe compiler flags in a library target, an API that lost its `public` — fails CI.

import PackageDescription

let package = Package(
    name: "ResearchDemo",
    dependencies: [
        .package(name: "fovea", path: "../.."),
    ],
    targets: [
        .executableTarget(name: "ResearchDemo", dependencies: [.product(name: "Fovea", package: "fovea")]),
    ]
)
