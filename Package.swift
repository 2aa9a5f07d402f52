// swift-tools-version:6.0
//
// Ferry's targets, bottom to top (no arrow points back up):
//
//   DynamoModel        exact DynamoDB values, DynamoDB JSON, item size — no dependencies
//   SigV4              AWS Signature Version 4 — depends only on Crypto
//   AWSCredentials     shared config/credentials files, provider-chain plans, STS/process parsers — no dependencies
//   AWSCore            endpoints, error decoding, retry classification and policy, CRC32, S3 listing XML — no dependencies
//   AWSClient          the live AWS layer: one HTTP transport, signed and retried requests, DynamoDB and S3 clients
//   CZlib              the system zlib, for streaming gunzip/gzip
//   ExportReader       manifests, export sources, gunzip → lines → records, checksums
//   ExportGenerator    realistic export chains + expected table states (tests, benchmarks, demo)
//   FerryCore          the migration core: discovery, chain planning, plan files (then apply, throttle, diff)
//   ferry              the CLI: one small file per subcommand
//   ferry-exportgen    developer tool: writes a generated chain to a directory
//   ferry-bench        benchmarks (numbers only; no assertions, changes nothing)
import PackageDescription

let package = Package(
    name: "Ferry",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "ferry", targets: ["ferry"]),
        .executable(name: "ferry-exportgen", targets: ["ferry-exportgen"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    ],
    targets: [
        .target(name: "DynamoModel"),
        .target(name: "SigV4", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "AWSCredentials"),
        .target(name: "AWSCore"),
        .target(
            name: "AWSClient",
            dependencies: [
                "SigV4", "AWSCore", "AWSCredentials", "DynamoModel",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        .target(
            name: "ExportReader",
            dependencies: ["DynamoModel", "CZlib", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(
            name: "ExportGenerator",
            dependencies: ["DynamoModel", "ExportReader", "CZlib", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(
            name: "FerryCore",
            dependencies: [
                "DynamoModel", "ExportReader", "AWSClient", "AWSCore", "AWSCredentials",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .executableTarget(
            name: "ferry",
            dependencies: [
                "FerryCore", "ExportReader", "AWSClient", "AWSCore", "AWSCredentials",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "ferry-exportgen",
            dependencies: ["ExportGenerator", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "ferry-bench",
            dependencies: [
                "SigV4", .product(name: "Crypto", package: "swift-crypto"), "DynamoModel", "ExportReader", "ExportGenerator", "FerryCore", "AWSClient", "AWSCore", "AWSCredentials",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(
            name: "FerryTestSupport",
            dependencies: ["DynamoModel", "ExportReader", "ExportGenerator", "AWSClient", "AWSCore", "AWSCredentials"],
            path: "Tests/FerryTestSupport"
        ),
        .testTarget(name: "DynamoModelTests", dependencies: ["DynamoModel"]),
        .testTarget(name: "SigV4Tests", dependencies: ["SigV4"]),
        .testTarget(name: "AWSCredentialsTests", dependencies: ["AWSCredentials"]),
        .testTarget(name: "AWSCoreTests", dependencies: ["AWSCore"]),
        .testTarget(
            name: "FerryCLITests",
            dependencies: ["ferry", "ferry-exportgen", "FerryTestSupport", "FerryCore", "AWSClient", "DynamoModel"]
        ),
        .testTarget(
            name: "FerryCoreTests",
            dependencies: ["FerryCore", "ExportGenerator", "ExportReader", "FerryTestSupport"]
        ),
        .testTarget(
            name: "AWSClientTests",
            dependencies: ["AWSClient", "AWSCore", "AWSCredentials", "DynamoModel", "FerryTestSupport"]
        ),
        .testTarget(name: "ExportReaderTests", dependencies: ["ExportReader", "FerryTestSupport"]),
        .testTarget(
            name: "ExportGeneratorTests",
            dependencies: ["ExportGenerator", "ExportReader", "FerryTestSupport"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
