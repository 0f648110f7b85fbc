import Foundation
import Fovea
import FoveaTestSupport
import Testing

/// Fovea's zoo against PyTorch (reference values from `Scripts/make_zoo_fixtures.py`).
///
/// Small fixtures (committed, always run): six reduced-width variants — AlexNet, VGG with and
/// without batch norm, ResNet with basic and with bottleneck blocks, DenseNet — built by the same
/// Fovea initialisers as the full zoo, loaded from the torchvision state dicts
/// (`Checkpoint.load(from:)`, strict), run in evaluation mode on every backend, their logits
/// compared with PyTorch's (computed in float64).
///
/// Tolerance, per logit: `|fovea − exact| ≤ max(1e-5 · max(1, max|exact|), 4 · e_torch)`, where
/// `exact` is PyTorch's result in float64 and `e_torch` the largest distance of PyTorch's own
/// float32 result from it (recorded in the manifest): Fovea must be about as accurate as PyTorch.
/// The second term matters for deep networks whose eval-mode batch norm amplifies rounding (on
/// ResNet-152 PyTorch's float32 logits are 8e-4 off). Measured (Docs/Models.md): at most 1.2e-6
/// on the small variants; on the full models never more than 1.2 × e_torch.
///
/// Full size (optional): `FOVEA_ZOO_FULL_FIXTURES=<folder>` made by
/// `Scripts/make_zoo_fixtures.py --full resnet50 … --out <folder>` checks the full models at
/// 224×224 the same way on the accelerated backends (naive too when `FOVEA_ZOO_FULL_NAIVE=1`).
@Suite("Model zoo against PyTorch")
struct ZooConformanceTests {
    /// `FOVEA_ZOO_REPORT=1` prints the error of every comparison (the full-size check always does).
    static let report = ProcessInfo.processInfo.environment["FOVEA_ZOO_REPORT"] == "1"

    /// The largest error allowed for logits up to `maxLogit` where PyTorch's float32 is `torchError` off.
    static func allowedError(maxLogit: Float, torchError: Double) -> Float {
        max(1e-5 * max(1, maxLogit), 4 * Float(torchError))
    }

    /// Expects the logits to agree within `allowed`; returns the error.
    @discardableResult
    static func expectLogitsClose(_ actual: Tensor, _ expected: Tensor, allowed: Float, _ context: String,
                                  sourceLocation: SourceLocation = #_sourceLocation) -> TensorDifference? {
        guard actual.shape == expected.shape else {
            Issue.record("\(context): logits \(actual.shape), PyTorch's \(expected.shape)", sourceLocation: sourceLocation)
            return nil
        }
        expectClose(actual, expected, absolute: allowed, relative: 0, context, sourceLocation: sourceLocation)
        return actual.difference(from: expected)
    }

    @Test(arguments: TestDevices.all, ZooFixtures.variants)
    func smallVariantMatchesPyTorch(device: LabeledDevice, variant: String) throws {
        let manifest = try ZooFixtures.manifest()
        let configuration = try #require(manifest.small[variant], "manifest.json has no small variant \(variant)")
        let model = try ZooFixtures.makeModel(variant, configuration)
        #expect(model.parameterCount == configuration.parameters, "\(variant): parameters")
        let weights = try Checkpoint.load(from: ZooFixtures.folder.appendingPathComponent("\(variant).weights.safetensors"))
        try weights.restore(into: model)  // strict: every name and shape must match
        let reference = try ZooFixtures.reference(ZooFixtures.folder.appendingPathComponent("\(variant).reference.safetensors"))
        #expect(reference.input.shape == Shape(configuration.input_shape))
        model.eval()
        let logits = try model.forward(reference.input, device: device.device)
        let allowed = Self.allowedError(maxLogit: configuration.max_abs_logit, torchError: configuration.torch_float32_max_abs_error)
        let difference = Self.expectLogitsClose(logits, reference.output, allowed: allowed, "\(device) \(variant)")
        if let difference, Self.report {
            print("zoo conformance \(variant) on \(device): \(difference), logits up to \(configuration.max_abs_logit)")
        }
    }

    /// The weights change the logits: a model with its own random initialisation disagrees with
    /// PyTorch (so the comparison above can fail).
    @Test func unloadedWeightsDisagree() throws {
        let manifest = try ZooFixtures.manifest()
        let variant = "resnet_basic_small"
        let model = try ZooFixtures.makeModel(variant, try #require(manifest.small[variant]))
        let reference = try ZooFixtures.reference(ZooFixtures.folder.appendingPathComponent("\(variant).reference.safetensors"))
        model.eval()
        let logits = try model.forward(reference.input, device: TestDevices.accelerated[1].device)
        #expect(!logits.isApproximatelyEqual(to: reference.output, absoluteTolerance: 1e-3, relativeTolerance: 0))
    }

    static let fullFolder = ProcessInfo.processInfo.environment["FOVEA_ZOO_FULL_FIXTURES"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }

    /// Full-size torchvision models (weights saved by `safetensors.torch.save_file(model.state_dict())`)
    /// give PyTorch's logits at 224×224.
    @Test(.enabled(if: fullFolder != nil, "set FOVEA_ZOO_FULL_FIXTURES to a folder made by Scripts/make_zoo_fixtures.py --full … --out <folder>"))
    func fullSizeMatchesPyTorch() throws {
        let folder = try #require(Self.fullFolder)
        let url = folder.appendingPathComponent("manifest.json")
        let manifest = try JSONDecoder().decode(ZooFixtures.FullManifest.self, from: Data(contentsOf: url))
        #expect(!manifest.models.isEmpty, "\(url.path) lists no models")
        var devices = Array(TestDevices.accelerated.prefix(2))
        if ProcessInfo.processInfo.environment["FOVEA_ZOO_FULL_NAIVE"] == "1" { devices.insert(LabeledDevice("naive", TestDevices.naive), at: 0) }
        for (name, entry) in manifest.models.sorted(by: { $0.key < $1.key }) {
            let model = try ModelZoo.make(name, classes: entry.classes)
            try Checkpoint.load(from: folder.appendingPathComponent("\(name).weights.safetensors")).restore(into: model)
            let reference = try ZooFixtures.reference(folder.appendingPathComponent("\(name).reference.safetensors"))
            model.eval()
            for device in devices {
                let logits = try model.forward(reference.input, device: device.device)
                let allowed = Self.allowedError(maxLogit: entry.max_abs_logit, torchError: entry.torch_float32_max_abs_error)
                if let difference = Self.expectLogitsClose(logits, reference.output, allowed: allowed, "\(device) \(name) full size") {
                    let relative = difference.maxAbsolute / max(entry.max_abs_logit, .leastNormalMagnitude)
                    let ratio = Double(difference.maxAbsolute) / max(entry.torch_float32_max_abs_error, 1e-30)
                    print("zoo full size \(name) on \(device): \(difference); / max|logit| = \(relative); / PyTorch float32's error = \(ratio) "
                          + "(logits up to \(entry.max_abs_logit); PyTorch float32 off by \(entry.torch_float32_max_abs_error); allowed \(allowed))")
                }
            }
        }
    }
}

/// Loading torchvision state dicts into zoo models: what a `save_file(model.state_dict())` file
/// holds, and how missing, unexpected and mis-shaped entries are reported.
@Suite("Model zoo: loading torchvision weights")
struct ZooLoadingTests {
    static func weightsURL(_ variant: String) -> URL { ZooFixtures.folder.appendingPathComponent("\(variant).weights.safetensors") }

    static func twin(_ variant: String, classes: Int? = nil) throws -> Sequential {
        var configuration = try #require(try ZooFixtures.manifest().small[variant])
        if let classes { configuration.classes = classes }
        return try ZooFixtures.makeModel(variant, configuration)
    }

    /// The fixture is what torchvision writes: F32 tensors, and `num_batches_tracked` as I64,
    /// which loads as the same integer.
    @Test func weightsFileIsTorchvisionsFormat() throws {
        let data = try Data(contentsOf: Self.weightsURL("resnet_basic_small"))
        let length = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = try #require(try JSONSerialization.jsonObject(with: data.subdata(in: 8..<8 + length)) as? [String: Any])
        var dtypes: [String: String] = [:]
        for (name, entry) in header where name != "__metadata__" { dtypes[name] = (entry as? [String: Any])?["dtype"] as? String }
        #expect(dtypes["bn1.num_batches_tracked"] == "I64" && dtypes["conv1.weight"] == "F32")
        #expect(dtypes.filter { $0.key.hasSuffix("num_batches_tracked") }.allSatisfy { $0.value == "I64" })
        #expect(dtypes.filter { !$0.key.hasSuffix("num_batches_tracked") }.allSatisfy { $0.value == "F32" })

        let model = try Self.twin("resnet_basic_small")
        let checkpoint = try Checkpoint.load(from: Self.weightsURL("resnet_basic_small"))
        try checkpoint.restore(into: model)
        let tracked = try #require(checkpoint.weights["bn1.num_batches_tracked"])
        let loaded = try #require(model.namedBuffers().first { $0.name == "bn1.num_batches_tracked" }).buffer.value
        #expect(tracked[flat: 0] >= 1 && tracked[flat: 0] == tracked[flat: 0].rounded() && loaded[flat: 0] == tracked[flat: 0])
    }

    @Test func mismatchesAreReportedByName() throws {
        var weights = try Checkpoint.load(from: Self.weightsURL("densenet_small")).weights
        weights.removeValue(forKey: "features.norm5.running_var")
        weights["features.denseblock5.denselayer1.conv1.weight"] = Tensor(zeros: [1])
        weights["classifier.weight"] = Tensor(zeros: [7, 3])
        let model = try Self.twin("densenet_small")
        let error = try #require(throws: FoveaError.self) { try model.loadStateDict(weights) }
        #expect(error.message.contains("missing keys: features.norm5.running_var"), "\(error.message)")
        #expect(error.message.contains("unexpected keys: features.denseblock5.denselayer1.conv1.weight"), "\(error.message)")
        #expect(error.message.contains("classifier.weight expects 10×28, got 7×3"), "\(error.message)")
        let mismatch = try model.loadStateDict(weights, strict: false)
        #expect(mismatch.missing == ["features.norm5.running_var"])
        #expect(mismatch.unexpected == ["features.denseblock5.denselayer1.conv1.weight"])
        #expect(mismatch.shapeMismatches.map(\.name) == ["classifier.weight"])
    }

    /// Weights of another architecture, or for another number of classes, are refused with the
    /// names that differ.
    @Test func weightsOfAnotherModelAreRefused() throws {
        let bottleneck = try Checkpoint.load(from: Self.weightsURL("resnet_bottleneck_small"))
        let error = try #require(throws: FoveaError.self) { try bottleneck.restore(into: try Self.twin("resnet_basic_small")) }
        #expect(error.message.contains("unexpected keys:") && error.message.contains("layer1.0.conv3.weight"), "\(error.message)")
        let basic = try Checkpoint.load(from: Self.weightsURL("resnet_basic_small"))
        let classes = try #require(throws: FoveaError.self) { try basic.restore(into: try Self.twin("resnet_basic_small", classes: 5)) }
        #expect(classes.message.contains("fc.weight expects 5×32, got 10×32"), "\(classes.message)")
    }
}
