import Foundation
import Fovea
import FoveaTestSupport
import Testing

/// The zoo's architectures against torchvision's (`Fixtures/zoo/manifest.json`, written by
/// `Scripts/make_zoo_fixtures.py` from torchvision's own models): parameter counts, state-dict
/// names and shapes; names, errors and loading.
@Suite("Model zoo: architectures")
struct ZooModelTests {
    /// Parameter counts as torchvision's documentation quotes them (`num_params` of the weights'
    /// metadata) — a cross-check of the manifest, which the script computes from the models.
    static let quotedParameterCounts = [
        "alexnet": 61_100_840, "vgg16": 138_357_544, "resnet18": 11_689_512, "resnet50": 25_557_032, "densenet121": 7_978_856,
    ]

    @Test func namesAreTorchvisions() throws {
        #expect(ModelZoo.names == [
            "alexnet", "vgg11", "vgg13", "vgg16", "vgg19", "vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn",
            "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
            "densenet121", "densenet161", "densenet169", "densenet201",
        ])
        #expect(Set(try ZooFixtures.manifest().zoo.keys) == Set(ModelZoo.names))
    }

    /// Parameter count, number of state-dict entries and the digest of every "name shape" line
    /// equal torchvision's; for one model of each kind of block, the listing itself.
    @Test(arguments: ModelZoo.names)
    func stateDictMatchesTorchvision(name: String) throws {
        let entry = try #require(try ZooFixtures.manifest().zoo[name], "manifest.json has no \(name)")
        let model = try Initializer.withoutRandomValues { try ModelZoo.make(name) }
        #expect(model.parameterCount == entry.parameters, "\(name): parameters")
        if let quoted = Self.quotedParameterCounts[name] { #expect(model.parameterCount == quoted, "\(name): torchvision's quoted count") }
        let lines = ZooFixtures.stateDictLines(model.stateDict().map { ($0.name, $0.tensor.shape.dimensions) })
        #expect(lines.count == entry.state_dict_entries, "\(name): state-dict entries")
        if let listing = entry.state_dict {
            let expected = Set(ZooFixtures.stateDictLines(listing.map { ($0.key, $0.value) }))
            let missing = expected.subtracting(lines).sorted(), unexpected = Set(lines).subtracting(expected).sorted()
            #expect(missing.isEmpty && unexpected.isEmpty, "\(name): torchvision has \(missing.prefix(10)), Fovea has \(unexpected.prefix(10))")
        }
        #expect(ZooFixtures.fnv1a64(lines.joined(separator: "\n")) == entry.state_dict_digest, "\(name): state-dict names and shapes")
    }

    @Test func digestIsTheScripts() {
        // The script's fnv1a64 of "a" and of the empty string (FNV-1a 64 test vectors).
        #expect(ZooFixtures.fnv1a64("") == "cbf29ce484222325")
        #expect(ZooFixtures.fnv1a64("a") == "af63dc4c8601ec8c")
    }

    /// Every scheme of `Initializer` gives zeros inside `withoutRandomValues`, and only there.
    @Test func withoutRandomValuesGivesZeros() throws {
        let structure = try Initializer.withoutRandomValues { try ModelZoo.make("resnet18", classes: 10) }
        #expect(structure.allParameters.allSatisfy { $0.value.scalars.allSatisfy { $0 == 0 } || $0.shape.rank == 1 })
        let drawn = try ModelZoo.make("resnet18", classes: 10)
        #expect(drawn.namedParameters().first { $0.name == "conv1.weight" }!.parameter.value.scalars.contains { $0 != 0 })
        #expect(drawn.namedParameters().first { $0.name == "fc.weight" }!.parameter.value.scalars.contains { $0 != 0 })
    }
}

/// A forward pass of every zoo model (1000 classes) at a small input on each backend — naive,
/// dispatch and openblas (`TestDevices.all` minus its small-tile variants, which are for tiling
/// paths the small fixtures exercise) — checking the output shape and finite logits, and that the
/// backends agree with `openblas ×2` within 1e-3·max(1, max|logit|).
///
/// Kept fast in a debug build:
/// - drawing 1.4 billion random weights for the eighteen models would take minutes, so each model
///   is built with `Initializer.withoutRandomValues` and its weights filled from one pool of
///   65,536 normal samples, scaled to Kaiming's standard deviation √(2/fanIn) (batch norm keeps
///   1, 0 and running statistics 0, 1);
/// - inputs are batch 1 at each family's smallest side: AlexNet 63, VGG 32, DenseNet 29, ResNet 32;
/// - the naive backend runs `naiveSubset` only (its plain loops take ~30 s for one VGG at 32×32);
///   VGG on naive is covered by the small PyTorch fixtures (ZooConformanceTests).
@Suite("Model zoo: forward pass on every backend")
struct ZooForwardTests {
    static let naiveSubset: Set<String> = ["alexnet", "resnet18", "densenet121"]

    /// Fills every weight (rank ≥ 2) from a fixed pool of normal samples, scaled by √(2/fanIn).
    static func fillWeights(_ model: Layer) {
        let pool = Tensor.randomNormal([1 << 16], seed: 7)
        for (index, (_, parameter)) in model.namedParameters().enumerated() where parameter.shape.rank >= 2 {
            var value = Tensor(zeros: parameter.shape)
            value.withUnsafeMutableBufferPointer { out in
                pool.withUnsafeBufferPointer { source in
                    var offset = (index &* 7919) % source.count, filled = 0
                    while filled < out.count {
                        let n = min(source.count - offset, out.count - filled)
                        out.baseAddress!.advanced(by: filled).update(from: source.baseAddress!.advanced(by: offset), count: n)
                        filled += n
                        offset = 0
                    }
                }
            }
            value *= (2 / Float(Initializer.fans(of: parameter.shape).fanIn)).squareRoot()
            parameter.value = value
        }
    }

    @Test(arguments: ModelZoo.names)
    func forwardOnEveryBackend(name: String) throws {
        let entry = try ModelZoo.entry(name)
        let size = entry.family == "resnet" ? 32 : entry.minimumInputSize
        let model = try Initializer.withoutRandomValues { try ModelZoo.make(name) }
        Self.fillWeights(model)
        model.eval()
        let input = Tensor.randomNormal([1, 3, size, size], seed: 11)
        let openblas = TestDevices.accelerated[1], dispatch = TestDevices.accelerated[0]
        let reference = try model.forward(input, device: openblas.device)
        #expect(reference.shape == [1, 1000], "\(name) on \(openblas)")
        #expect(reference.isFinite, "\(name) on \(openblas): logits not finite")
        let scale = max(1, reference.scalars.map(abs).max() ?? 0)
        var others = [dispatch]
        if Self.naiveSubset.contains(name) { others.append(LabeledDevice("naive", TestDevices.naive)) }
        for device in others {
            let logits = try model.forward(input, device: device.device)
            #expect(logits.isFinite, "\(name) on \(device): logits not finite")
            expectClose(logits, reference, absolute: 1e-3 * scale, relative: 0, "\(name) on \(device) vs \(openblas)")
        }
    }
}
