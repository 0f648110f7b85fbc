/// Every model Fovea knows by name — the small models for 28×28 grey images (`SmallModels`) and
/// torchvision's zoo (`ModelZoo`) — with the input each expects by default. The one resolver the
/// command line uses.
public enum BuiltInModels {
    /// What a model expects unless told otherwise.
    public struct Defaults: Sendable, Equatable {
        /// One image: `[1, 1, 28, 28]` for the small models, `[1, 3, 224, 224]` for the zoo.
        public var inputShape: Shape
        /// 10 for the small models, 1000 (ImageNet) for the zoo.
        public var classes: Int

        public init(inputShape: Shape, classes: Int) {
            self.inputShape = inputShape
            self.classes = classes
        }
    }

    public static var names: [String] { SmallModels.names + ModelZoo.names }

    /// The default input shape and class count of `name`.
    /// - Throws: `.invalidArgument` listing every valid name.
    public static func defaults(for name: String) throws -> Defaults {
        if SmallModels.names.contains(name) { return Defaults(inputShape: [1, 1, 28, 28], classes: 10) }
        if ModelZoo.names.contains(name) { return Defaults(inputShape: [1, 3, 224, 224], classes: 1000) }
        throw unknown(name)
    }

    /// The model called `name`, freshly initialised from `seed`, for `classes` classes and
    /// `inputChannels` channels (each defaulting to the model's own).
    /// - Throws: `.invalidArgument` listing every valid name.
    public static func make(_ name: String, classes: Int? = nil, inputChannels: Int? = nil, seed: UInt64 = 0) throws -> Sequential {
        let defaults = try defaults(for: name)
        let classes = classes ?? defaults.classes, channels = inputChannels ?? defaults.inputShape[1]
        if SmallModels.names.contains(name) {
            return try SmallModels.make(name, classes: classes, inputChannels: channels, seed: seed)
        }
        return try ModelZoo.make(name, classes: classes, inputChannels: channels, seed: seed)
    }

    /// The number of classes `weights` were trained for: the rows of the weight of the last linear
    /// layer of `name`, or nil when the weights lack it (loading will name what is missing).
    /// - Throws: `.invalidArgument` listing every valid name.
    public static func classes(of name: String, in weights: [String: Tensor]) throws -> Int? {
        let model = try Initializer.withoutRandomValues { try make(name) }
        guard let head = model.namedLayers().last(where: { $0.layer is Linear }),
              let weight = weights[head.name.isEmpty ? "weight" : head.name + ".weight"], weight.shape.rank == 2 else { return nil }
        return weight.shape[0]
    }

    static func unknown(_ name: String) -> FoveaError {
        FoveaError.invalidArgument(
            "unknown model '\(name)'; valid models are \(SmallModels.names.joined(separator: ", ")) (28×28 grey images) and "
                + "\(ModelZoo.names.joined(separator: ", ")) (torchvision's, 224×224 RGB images)")
    }
}
