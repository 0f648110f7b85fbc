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
/// Tolerance: `|fovea − torch| ≤ 1e-5 · max(1, max|torch|)` per logit (the logits are at most 3).
///
/// Full size (optional): `FOVEA_ZOO_FULL_FIXTURES=<folder>` made by
/// `Scripts/make_zoo_fixtures.py --full resnet50 … --out <folder>` checks the full models at
/// 224×224 the same way on the accelerated backends (naive too when `FOVEA_ZOO_FULL_NAIVE=1`).
@Suite("Model zoo against PyTorch")
struct ZooConformanceTests {
    static let tolerance: Float = 1e-5

    /// Expects the logits to agree within `tolerance · max(1, max|expected|)`; returns the error.
    @discardableResult
    static func expectLogitsClose(_ actual: Tensor, _ expected: Tensor, tolerance: Float, _ context: String,
                                  sourceLocation: SourceLocation = #_sourceLocation) -> TensorDifference? {
        guard actual.shape == expected.shape else {
            Issue.record("\(context): logits \(actual.shape), PyTorch's \(expected.shape)", sourceLocation: sourceLocation)
            return nil
        }
        let scale = max(1, expected.scalars.map(abs).max() ?? 0)
        expectClose(actual, expected, absolute: tolerance * scale, relative: 0, context, sourceLocation: sourceLocation)
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
        let difference = Self.expectLogitsClose(logits, reference.output, tolerance: Self.tolerance, "\(device) \(variant)")
        if let difference { print("zoo conformance \(variant) on \(device): \(difference), logits up to \(configuration.max_abs_logit)") }
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
                if let difference = Self.expectLogitsClose(logits, reference.output, tolerance: Self.tolerance, "\(device) \(name) full size") {
                    let relative = difference.maxAbsolute / max(entry.max_abs_logit, .leastNormalMagnitude)
                    print("zoo full size \(name) on \(device): \(difference); max abs error / max |logit| = \(relative) "
                          + "(logits up to \(entry.max_abs_logit); PyTorch float32 off by \(entry.torch_float32_max_abs_error))")
                }
            }
        }
    }
}
