// swift-tools-version:6.1
// SPDX-License-Identifier: MIT
import PackageDescription

let package = Package(
    name: "DeviceStateTimes",
    products: [
        // libdevstate.so / libdevstate.a for C hosts are linked by the Makefile
        // from this product's objects (version script, -static-stdlib).
        .library(name: "DeviceStateTimes", targets: ["DeviceStateTimes"]),
        .executable(name: "devstate", targets: ["devstate"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .target(
            name: "CShim",
            path: "CShim",
            exclude: ["README.md"],
            publicHeadersPath: "include"
        ),
        // The library's internal C helpers (a lock, malloc-family memory, static storage): a
        // module of their own, so that CShim's module map holds the public headers only.
        .target(
            name: "CDevstateShim",
            dependencies: ["CShim"]
        ),
        .systemLibrary(
            name: "CJSONC",
            path: "Sources/CJSONC",
            pkgConfig: "json-c",
            providers: [.apt(["libjson-c-dev"])]
        ),
        // libvirt and libvirt-qemu (`pkg-config libvirt-qemu`, Debian `libvirt-dev`): only the CLI
        // links them, for `devstate trace --domain` (virDomainQemuMonitorCommand).
        .systemLibrary(
            name: "CLibvirt",
            path: "Sources/CLibvirt",
            pkgConfig: "libvirt-qemu",
            providers: [.apt(["libvirt-dev"])]
        ),
        .target(
            name: "DeviceStateTimes",
            dependencies: ["CShim", "CDevstateShim", "CJSONC"]
        ),
        // The report library, in layers whose imports go one way (README, "The report library"):
        // bytes ← model ← ingest, qmp, analysis, render ← the devstate CLI.
        .target(name: "DevstateBytes"),
        .target(name: "DevstateModel"),
        .target(name: "DevstateIngest", dependencies: ["DevstateModel", "DevstateBytes"]),
        .target(name: "DevstateQMP", dependencies: ["DevstateModel", "DevstateBytes"]),
        .target(name: "DevstateAnalysis", dependencies: ["DevstateModel", "DevstateBytes", "DeviceStateTimes"]),
        .target(name: "DevstateRender", dependencies: ["DevstateModel", "DevstateBytes"]),
        .executableTarget(
            name: "devstate",
            dependencies: [
                "CShim",
                "DeviceStateTimes",
                "DevstateBytes",
                "DevstateModel",
                "DevstateIngest",
                "DevstateQMP",
                "DevstateAnalysis",
                "DevstateRender",
                "CLibvirt",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            exclude: ["README.md"]
        ),
        // libFuzzer targets, built by scripts/hardening/run.sh with --sanitize=address plus
        // coverage flags (docs/hardening.md); a plain build replays the files given as arguments.
        .target(name: "FuzzDriver", swiftSettings: [.swiftLanguageMode(.v5)]),
        .executableTarget(name: "FuzzABI", dependencies: ["DeviceStateTimes", "CShim", "CJSONC", "FuzzDriver"]),
        .executableTarget(name: "FuzzTrace",
                          dependencies: ["DevstateIngest", "DevstateModel", "DevstateAnalysis", "DevstateRender", "CJSONC", "FuzzDriver"],
                          swiftSettings: [.swiftLanguageMode(.v5)]),
        .testTarget(name: "DevstateBytesTests", dependencies: ["DevstateBytes"]),
        .testTarget(name: "DevstateModelTests", dependencies: ["DevstateModel"]),
        .testTarget(name: "DevstateIngestTests", dependencies: ["DevstateIngest", "DevstateModel"]),
        .testTarget(name: "DevstateQMPTests", dependencies: ["DevstateQMP", "DevstateModel"]),
        .testTarget(name: "DevstateAnalysisTests", dependencies: ["DevstateAnalysis", "DevstateIngest", "DevstateModel"]),
        .testTarget(name: "DevstateRenderTests",
                    dependencies: ["DevstateRender", "DevstateAnalysis", "DevstateIngest", "DevstateModel", "DevstateBytes",
                                   "DeviceStateTimes"]),
        // The devstate binary end to end, its own parts (the no-trace message, the trace
        // backend), and the paths through several targets (a reply's report against the same
        // migration's trace report).
        .testTarget(
            name: "DevstateCLITests",
            dependencies: ["devstate", "DevstateModel", "DevstateIngest", "DevstateQMP", "DevstateAnalysis", "DevstateRender"]
        ),
        .testTarget(
            name: "DeviceStateTimesTests",
            dependencies: ["DeviceStateTimes", "CShim", "CJSONC"]
        ),
    ]
)
