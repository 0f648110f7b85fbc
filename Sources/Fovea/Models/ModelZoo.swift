/// torchvision's classification models by name, with their architectures, parameter names and
/// initialisation: `alexnet`, `vgg11` … `vgg19_bn`, `resnet18` … `resnet152`,
/// `densenet121` … `densenet201`. Each takes `[N, 3, 224, 224]` images (smaller ones down to
/// `minimumInputSize`) and gives logits `[N, classes]`; a weights file exported from torchvision
/// loads into it with `Checkpoint.load(from:)` and `restore(into:)` (see Docs/Models.md).
public enum ModelZoo {
    /// One model of the zoo.
    public struct Entry: Sendable {
        public let name: String
        /// `alexnet`, `vgg`, `resnet` or `densenet`.
        public let family: String
        /// The smallest square input side the architecture accepts.
        public let minimumInputSize: Int
        let make: @Sendable (_ classes: Int, _ inputChannels: Int, _ seed: UInt64) throws -> Sequential

        init(_ name: String, _ family: String, minimumInputSize: Int,
             _ make: @escaping @Sendable (_ classes: Int, _ inputChannels: Int, _ seed: UInt64) throws -> Sequential) {
            self.name = name
            self.family = family
            self.minimumInputSize = minimumInputSize
            self.make = make
        }
    }

    /// Every model, in the order of the documentation.
    public static let entries: [Entry] = {
        var entries = [Entry("alexnet", "alexnet", minimumInputSize: 63) { try AlexNet(classes: $0, inputChannels: $1, seed: $2) }]
        let vggs: [(String, @Sendable (Bool) -> VGG.Configuration)] = [
            ("vgg11", VGG.Configuration.vgg11), ("vgg13", VGG.Configuration.vgg13),
            ("vgg16", VGG.Configuration.vgg16), ("vgg19", VGG.Configuration.vgg19),
        ]
        for batchNorm in [false, true] {
            for (name, configuration) in vggs {
                entries.append(Entry(batchNorm ? name + "_bn" : name, "vgg", minimumInputSize: 32) {
                    try VGG(configuration(batchNorm), classes: $0, inputChannels: $1, seed: $2)
                })
            }
        }
        let resnets: [(String, ResNet.Configuration)] = [
            ("resnet18", .resnet18), ("resnet34", .resnet34), ("resnet50", .resnet50), ("resnet101", .resnet101), ("resnet152", .resnet152),
        ]
        for (name, configuration) in resnets {
            entries.append(Entry(name, "resnet", minimumInputSize: 1) { try ResNet(configuration, classes: $0, inputChannels: $1, seed: $2) })
        }
        let densenets: [(String, DenseNet.Configuration)] = [
            ("densenet121", .densenet121), ("densenet161", .densenet161), ("densenet169", .densenet169), ("densenet201", .densenet201),
        ]
        for (name, configuration) in densenets {
            entries.append(Entry(name, "densenet", minimumInputSize: 29) { try DenseNet(configuration, classes: $0, inputChannels: $1, seed: $2) })
        }
        return entries
    }()

    /// The names, in the order of `entries`.
    public static var names: [String] { entries.map(\.name) }

    /// The entry called `name`.
    /// - Throws: `.invalidArgument` listing the valid names.
    public static func entry(_ name: String) throws -> Entry {
        guard let entry = entries.first(where: { $0.name == name }) else {
            throw FoveaError.invalidArgument("unknown zoo model '\(name)'; the zoo has: \(names.joined(separator: ", "))")
        }
        return entry
    }

    /// A freshly initialised model (seeded) of the zoo.
    /// - Throws: `.invalidArgument` listing the valid names.
    public static func make(_ name: String, classes: Int = 1000, inputChannels: Int = 3, seed: UInt64 = 0) throws -> Sequential {
        guard classes > 0, inputChannels > 0 else {
            throw FoveaError.invalidArgument("\(name) needs positive classes and input channels, got \(classes) and \(inputChannels)")
        }
        return try entry(name).make(classes, inputChannels, seed)
    }
}

extension Layer {
    /// Calls `body` on every layer of the tree, depth first, with a seed of its own
    /// (`seed` + the layer's position), to apply a model's initialisation scheme.
    func initializeLayers(seed: UInt64, _ body: (Layer, UInt64) -> Void) {
        for (index, (_, layer)) in namedLayers().enumerated() {
            body(layer, seed &+ UInt64(index))
        }
    }
}
