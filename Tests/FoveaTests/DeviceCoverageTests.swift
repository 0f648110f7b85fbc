import Testing

/// Every requirement of `Device` and its op-family protocols, read from Sources/FoveaCore/Device,
/// against what a device declares itself (Sources/<module>). A requirement a device does not
/// declare is served by a protocol-extension default: for `CheckingDevice` that is an operation
/// that runs unchecked; for `NaiveDevice`, the end of every fallback chain, a forwarding default
/// traps ("has no fallback device").
extension OwnImplementationTests {
    /// The requirements of `Device` and of every protocol it refines (declared in the folder),
    /// with whether each one's default forwards to the fallback device.
    static func deviceRequirements() throws -> (all: Set<String>, forwarding: Set<String>) {
        let blocks = try SourceDeclarations.sources(in: "Sources/FoveaCore/Device").flatMap(SourceDeclarations.blocks(in:))
        let protocols = Dictionary(blocks.filter { $0.keyword == "protocol" }.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var reached: Set<String> = [], pending = ["Device"]
        while let name = pending.popLast() {
            guard let declaration = protocols[name], reached.insert(name).inserted else { continue }
            pending += declaration.inherited
        }
        let all = Set(reached.flatMap { SourceDeclarations.members(of: protocols[$0]!.body).map(\.signature) })
        let forwarding = Set(blocks.filter { $0.keyword == "extension" && reached.contains($0.name) }
            .flatMap { SourceDeclarations.members(of: $0.body) }
            .filter { $0.forwards && all.contains($0.signature) }.map(\.signature))
        return (all, forwarding)
    }

    /// What type `name` declares itself in the files of `folder`: its own body and its extensions.
    static func declarations(of name: String, in folder: String) throws -> Set<String> {
        let blocks = try SourceDeclarations.sources(in: folder).flatMap(SourceDeclarations.blocks(in:))
        return Set(blocks.filter { $0.name == name && $0.keyword != "protocol" }
            .flatMap { SourceDeclarations.members(of: $0.body).map(\.signature) })
    }

    /// The source reading finds the families and the requirements known to exist, so a parse that
    /// breaks cannot make the coverage tests below pass vacuously.
    @Test func requirementsAreReadFromTheProtocolSources() throws {
        let requirements = try Self.deviceRequirements()
        for known in ["name", "threadCount", "fallback", "gemm(transposeA:transposeB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)",
                      "conv2dForward(input:weight:bias:geometry:)", "conv2dForward(input:weight:bias:epilogue:geometry:)",
                      "activationForward(_:input:)", "add(_:_:)", "linearForward(input:weight:bias:)",
                      "softmaxBackward(gradOutput:output:log:)", "adaptiveAvgPool2dBackward(gradOutput:inputShape:)"] {
            #expect(requirements.all.contains(known), "\(known) not among \(requirements.all.sorted())")
        }
        #expect(requirements.all.count >= 30, "\(requirements.all.sorted())")
        #expect(requirements.forwarding.contains("conv2dBackwardData(gradOutput:weight:geometry:)"))
        #expect(!requirements.forwarding.contains("linearForward(input:weight:bias:)"), "composed from gemm, not forwarded")
    }

    /// `CheckingDevice` implements every requirement itself, so no operation runs unchecked through
    /// a default. Adding a requirement to a `Device` family fails here until the checking device
    /// compares it.
    @Test func checkingDeviceImplementsEveryRequirement() throws {
        let requirements = try Self.deviceRequirements().all
        let own = try Self.declarations(of: "CheckingDevice", in: "Sources/FoveaChecking")
        let missing = requirements.subtracting(own).sorted()
        #expect(missing.isEmpty, "CheckingDevice (Sources/FoveaChecking) does not implement: \(missing.joined(separator: ", "))")
    }

    /// `ProfilingDevice` implements every requirement itself, so no operation runs untimed through
    /// a default.
    @Test func profilingDeviceImplementsEveryRequirement() throws {
        let requirements = try Self.deviceRequirements().all
        let own = try Self.declarations(of: "ProfilingDevice", in: "Sources/FoveaProfiling")
        let missing = requirements.subtracting(own).sorted()
        #expect(missing.isEmpty, "ProfilingDevice (Sources/FoveaProfiling) does not implement: \(missing.joined(separator: ", "))")
    }

    /// `NaiveDevice` ends every fallback chain, so it implements every requirement whose default
    /// forwards to the fallback.
    @Test func naiveDeviceImplementsEveryForwardedRequirement() throws {
        let forwarding = try Self.deviceRequirements().forwarding
        let own = try Self.declarations(of: "NaiveDevice", in: "Sources/FoveaNaive")
        let missing = forwarding.subtracting(own).sorted()
        #expect(missing.isEmpty, "NaiveDevice (Sources/FoveaNaive) does not implement: \(missing.joined(separator: ", "))")
    }
}
