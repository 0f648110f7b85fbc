import Fovea
import FoveaTestSupport
import Testing

@Suite("Transfer learning")
struct TransferLearningTests {
    @Test func findsAndReplacesTheHead() throws {
        let resnet = try SmallModels.resNetSmall(classes: 10)
        #expect(resnet.classifierPath == "fc")
        let head = try resnet.replaceClassifier(classes: 5, seed: 3)
        #expect(head.outputFeatures == 5 && head.inputFeatures == 64)
        #expect(try resnet.build(inputShape: [2, 1, 28, 28]) == [2, 5])
        #expect(resnet.namedParameters().contains { $0.name == "fc.weight" && $0.parameter.shape == [5, 64] })
        let cnn = try SmallModels.convNet(batchNorm: true)
        #expect(cnn.classifierPath == "fc2")
        // A head inside a nested Sequential, addressed from a subtree.
        let nested = try Sequential(named: [("features", try Conv2D(1, 2, kernelSize: 1)), ("flatten", Flatten()),
                                        ("classifier", Sequential([try Linear(2, 3), ReLU(), try Linear(3, 4)]))])
        #expect(nested.classifierPath == "classifier.2")
        try nested.layer(at: "classifier")!.replaceClassifier(classes: 7)
        #expect(try nested.build(inputShape: [1, 1, 1, 1]) == [1, 7])
        #expect(throws: FoveaError.self) { try Sequential([ReLU()]).replaceClassifier(classes: 2) }
    }

    @Test func frozenBackboneStaysBitIdenticalWhileTheHeadLearns() throws {
        let model = try SmallModels.resNetSmall(classes: 2, seed: 1)
        model.freezeBackbone()
        let before = model.backboneParameters.map(\.value)
        let headBefore = model.classifier!.weight.value
        let optimizer = try SGD([ParameterGroup(model.backboneParameters, learningRateScale: 0.1), ParameterGroup(model.classifier!.allParameters)],
                            learningRate: 0.1, momentum: 0.9, weightDecay: 1e-3)
        let trainer = Trainer(model: model, optimizer: optimizer, device: TestDevices.accelerated[0].device)
        for seed in 0..<2 {
            let batch = Batch(images: Tensor.randomNormal([4, 1, 28, 28], seed: UInt64(seed)), labels: [0, 1, 1, 0])
            try trainer.trainStep(batch)
        }
        for (old, parameter) in zip(before, model.backboneParameters) { expectIdentical(parameter.value, old, "backbone") }
        #expect(model.classifier!.weight.value.scalars != headBefore.scalars)
        model.unfreeze()
        #expect(model.backboneParameters.allSatisfy { !$0.isFrozen })
    }

    @Test func loadBackboneIgnoresTheHeadAndReportsTheRest() throws {
        let pretrained = try SmallModels.resNetSmall(classes: 5, seed: 1)
        let weights = Dictionary(uniqueKeysWithValues: pretrained.stateDict().map { ($0.name, $0.tensor) })
        let model = try SmallModels.resNetSmall(classes: 3, seed: 2)
        try model.loadBackbone(weights)
        expectIdentical((model.layer(at: "conv1") as! Conv2D).weight.value, (pretrained.layer(at: "conv1") as! Conv2D).weight.value, "conv1")
        #expect(model.classifier!.outputFeatures == 3)
        var broken = weights
        broken.removeValue(forKey: "layer2.0.conv1.weight")
        do {
            try model.loadBackbone(broken)
            Issue.record("expected a missing-key error")
        } catch let error as FoveaError {
            #expect(error.message.contains("missing keys: layer2.0.conv1.weight"), "\(error.message)")
        }
    }

    @Test func restrictedDatasetRelabelsAndLimits() throws {
        var images = Tensor(zeros: [8, 1, 2, 2])
        images.withUnsafeMutableBufferPointer { for i in $0.indices { $0[i] = Float(i / 4) } }
        let data = try MNISTDataset(images: images, labels: [5, 1, 7, 5, 7, 5, 2, 7], classNames: MNISTDataset.fashionClassNames)
        let few = data.restricted(toClasses: [7, 5], perClass: 2)
        #expect(few.labels == [1, 0, 1, 0])  // 7 → 0, 5 → 1; at most two of each, in file order
        #expect(few.images.scalars.enumerated().filter { $0.offset % 4 == 0 }.map(\.element) == [0, 2, 3, 4])
        #expect(few.classNames == ["Sneaker", "Sandal"])
    }
}
