import Foundation
import Fovea
import FoveaBenchKit
import Testing

/// `fovea-bench layers --from-network`: the convolutions of zoo networks, checked against facts of
/// the architectures (torchvision's ResNet-50 v1.5 and DenseNet-121), not against the code's output.
@Suite("Network convolutions")
struct NetworkConvolutionsTests {
    /// The derived layer with this geometry, if any.
    static func find(_ convolutions: [NetworkConvolution], _ c: Int, _ k: Int, kernel: Int, size: Int, stride: Int = 1,
                     padding: Int? = nil) -> NetworkConvolution? {
        let wanted = BenchLayer("wanted", c, k, kernel: kernel, size: size, stride: stride, padding: padding ?? kernel / 2)
        return convolutions.first { NetworkConvolutions.sameGeometry($0.layer, wanted) }
    }

    static func conv2DCount(_ model: Layer) -> Int { model.namedLayers().filter { $0.layer is Conv2D }.count }

    @Test func resNet50HasItsKnownGeometriesAndEveryConvolutionOnce() throws {
        let convolutions = try NetworkConvolutions.convolutions(ofZooNetwork: "resnet50")
        // 1 stem + 16 bottlenecks × 3 + 4 downsample projections = 53.
        #expect(convolutions.reduce(0) { $0 + $1.count } == 53)
        #expect(convolutions.reduce(0) { $0 + $1.count } == Self.conv2DCount(try ModelZoo.make("resnet50")))
        let stem = try #require(Self.find(convolutions, 3, 64, kernel: 7, size: 224, stride: 2, padding: 3))
        #expect(stem.firstLayerName == "conv1" && stem.count == 1)
        #expect(stem.layer.name == "resnet50 conv1 3→64 7×7/2 @224 ×1")
        let downsample = try #require(Self.find(convolutions, 256, 512, kernel: 1, size: 56, stride: 2, padding: 0))
        #expect(downsample.firstLayerName == "layer2.0.downsample.0" && downsample.count == 1)
        #expect(downsample.layer.name == "resnet50 layer2.0.downsample.0 256→512 1×1/2 @56 ×1")
        // layer3 has six blocks; blocks 1–5 reduce 1024 → 256 at 14×14.
        let reduce = try #require(Self.find(convolutions, 1024, 256, kernel: 1, size: 14))
        #expect(reduce.firstLayerName == "layer3.1.conv1" && reduce.count == 5)
        // v1.5: the stride-2 3×3 of each stage's first block, then the stride-1 3×3s.
        #expect(Self.find(convolutions, 128, 128, kernel: 3, size: 56, stride: 2)?.count == 1)
        #expect(Self.find(convolutions, 256, 256, kernel: 3, size: 14)?.count == 5)
        #expect(Self.find(convolutions, 64, 256, kernel: 1, size: 56)?.count == 4)  // three conv3s + the first downsample
        #expect(Set(convolutions.map(\.layer.name)).count == convolutions.count)
        let shares = convolutions.reduce(0) { $0 + $1.shareOfNetworkFLOPs }
        #expect(abs(shares - 1) < 1e-9)
    }

    @Test func denseNet121HasItsBlocksAndTransitions() throws {
        let convolutions = try NetworkConvolutions.convolutions(ofZooNetwork: "densenet121")
        // 1 stem + 2 × (6 + 12 + 24 + 16) dense layers + 3 transitions = 120.
        #expect(convolutions.reduce(0) { $0 + $1.count } == 120)
        #expect(convolutions.reduce(0) { $0 + $1.count } == Self.conv2DCount(try ModelZoo.make("densenet121")))
        // The growth 3×3 (128 → 32) repeats once per dense layer of each block.
        for (size, layers) in [(56, 6), (28, 12), (14, 24), (7, 16)] {
            #expect(Self.find(convolutions, 128, 32, kernel: 3, size: size)?.count == layers, "growth @\(size)")
        }
        // Block 1's bottlenecks see 64 + 32·i channels; each count occurs once.
        for i in 0..<6 {
            #expect(Self.find(convolutions, 64 + 32 * i, 128, kernel: 1, size: 56)?.count == 1, "bottleneck \(64 + 32 * i)")
        }
        // Transitions halve the channels at the end of blocks 1–3; block 2's 256 → 128 at 28 is a bottleneck, not a transition.
        for (channels, size) in [(256, 56), (512, 28), (1024, 14)] {
            #expect(Self.find(convolutions, channels, channels / 2, kernel: 1, size: size) != nil, "transition \(channels) @\(size)")
        }
        let transition = try #require(Self.find(convolutions, 512, 256, kernel: 1, size: 28))
        #expect(transition.firstLayerName == "features.transition2.conv")
    }

    @Test func aGeometryOfAnEarlierNetworkIsTimedOnce() throws {
        var duplicates: [(dropped: String, kept: String)] = []
        let both = try NetworkConvolutions.convolutions(ofZooNetworks: ["resnet50", "densenet121"]) { duplicates.append(($0.layer.name, $1.layer.name)) }
        // DenseNet-121's stem is ResNet-50's (3 → 64, 7×7, stride 2, padding 3 at 224).
        #expect(duplicates.contains { $0.dropped.hasPrefix("densenet121 features.conv0 ") && $0.kept.hasPrefix("resnet50 conv1 ") }, "\(duplicates)")
        for (index, a) in both.enumerated() {
            #expect(!both[(index + 1)...].contains { NetworkConvolutions.sameGeometry(a.layer, $0.layer) }, "\(a.layer.name)")
        }
    }

    @Test func missingOnlyDropsWhatTheSuiteHas() throws {
        let convolutions = try NetworkConvolutions.convolutions(ofZooNetwork: "resnet50")
        let missing = NetworkConvolutions.missing(from: LayerSuite.imageNet, convolutions)
        #expect(Self.find(missing, 3, 64, kernel: 7, size: 224, stride: 2, padding: 3) == nil)  // the suite's resnet50.stem
        #expect(Self.find(missing, 256, 512, kernel: 1, size: 56, stride: 2, padding: 0) != nil)
        #expect(!missing.isEmpty && missing.count < convolutions.count)
        for convolution in convolutions {
            let inSuite = LayerSuite.imageNet.contains { NetworkConvolutions.sameGeometry($0, convolution.layer) }
            #expect(inSuite != missing.contains(convolution), "\(convolution.layer.name)")
        }
    }

    @Test func aBadNetworkNameNamesTheFlagAndTheValidNames() throws {
        #expect(try NetworkConvolutions.networks(parsing: "resnet50, densenet121", flag: "--from-network") == ["resnet50", "densenet121"])
        for text in ["resnet50,resnet51", "", ","] {
            let error = try #require(throws: BenchError.self) { try NetworkConvolutions.networks(parsing: text, flag: "--from-network") }
            #expect(error.description.contains("--from-network") && error.description.contains("densenet121"), "\(error)")
            if !text.isEmpty && text != "," { #expect(error.description.contains("'resnet51'"), "\(error)") }
        }
        let error = try #require(throws: BenchError.self) { try NetworkConvolutions.convolutions(ofZooNetwork: "lenet") }
        #expect(error.description.contains("lenet") && error.description.contains("resnet50"), "\(error)")
    }

    /// Geometries BenchLayer cannot time are an error naming the layer, never a silently different layer.
    @Test func groupsDilationAndNonSquareKernelsAreRefused() throws {
        let cases: [(Conv2D, String)] = [
            (try Conv2D(8, 8, kernelSize: 3, padding: 1, groups: 2), "groups 2"),
            (try Conv2D(8, 8, kernelSize: 3, padding: 2, dilation: 2), "dilation"),
            (try Conv2D(8, 8, kernelSize: Size2D(height: 1, width: 3), padding: Size2D(height: 0, width: 1)), "non-square kernel"),
        ]
        for (convolution, reason) in cases {
            let model = try Sequential(named: [("stem", try Conv2D(3, 8, kernelSize: 1)), ("odd", convolution)])
            let error = try #require(throws: BenchError.self) { try NetworkConvolutions.convolutions(of: model, network: "custom", inputSize: 16) }
            #expect(error.description.contains("custom odd") && error.description.contains(reason), "\(error)")
        }
    }

    /// The layers a network gives run through the harness like the suite's: every pass, the
    /// backends agree with naive (a small ResNet-18 at 32×32 keeps it quick).
    @Test func networkLayersRunThroughTheHarness() throws {
        let layers = try NetworkConvolutions.convolutions(of: ModelZoo.make("resnet18"), network: "resnet18", inputSize: 32)
            .map(\.layer).filter { $0.options.stride.height == 2 }
        #expect(layers.contains { $0.kernel == 1 } && layers.contains { $0.kernel == 3 })
        let runner = LayerRunner(layers: layers, passes: LayerRunner.Pass.allCases, batches: [1], threads: [1], runs: 1,
                                 engines: ["dispatch", "openblas"], peak: MachinePeak(perCore: 1, allCores: 1, threads: 1), progress: { _ in })
        let results = try runner.run()
        #expect(results.count == layers.count * 3 * 2)
        for r in results { #expect((r.maxRelativeError ?? 1) < 1e-4, "\(r.layer) \(r.pass) \(r.engine)") }
    }

    @Test func layerListRoundTripsAndRefusesWhatItCannotCarry() throws {
        let layers = try NetworkConvolutions.convolutions(ofZooNetwork: "resnet50").map(\.layer)
        let data = try BenchLayerList(layers).jsonData()
        let back = try BenchLayerList.read(data, from: "layers.json").benchLayers
        #expect(back == layers)
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let first = try #require((json["layers"] as? [[String: Any]])?.first)
        #expect(Set(first.keys) == ["name", "inputChannels", "outputChannels", "kernel", "size", "stride", "padding"])
        var grouped = layers[0]
        grouped.options.groups = 3
        #expect(throws: BenchError.self) { try BenchLayerList([grouped]) }
        let future = String(decoding: data, as: UTF8.self).replacingOccurrences(of: "\"formatVersion\" : 1", with: "\"formatVersion\" : 2")
        let error = try #require(throws: BenchError.self) { try BenchLayerList.read(Data(future.utf8), from: "layers.json") }
        #expect(error.description.contains("layers.json") && error.description.contains("format 2"), "\(error)")
    }
}
