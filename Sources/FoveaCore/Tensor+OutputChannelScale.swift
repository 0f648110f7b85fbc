extension Tensor {
    /// A convolution weight `[K, …]` with each output channel's filter scaled:
    /// `w′[k, …] = w[k, …]·scale[k]` (`scale` of `[K]`), as folding an evaluation-mode batch norm
    /// with `scale[k] = γ[k]/√(σ²[k] + ε)` into the convolution needs (`Conv2D`). One Float
    /// multiplication per element, so every device that scales this way gets the same bits.
    public func scalingOutputChannels(by scale: Tensor) -> Tensor {
        let channels = shape.rank > 0 ? shape[0] : 0
        precondition(scale.shape == [channels], "scalingOutputChannels: scale \(scale.shape) for a weight of \(shape)")
        var result = Tensor(uninitialized: shape)  // every element is written below
        let perChannel = channels == 0 ? 0 : count / channels
        withUnsafeBufferPointer { w in
            scale.withUnsafeBufferPointer { s in
                result.withUnsafeMutableBufferPointer { out in
                    for k in 0..<channels {
                        let factor = s[k]
                        for i in (k * perChannel)..<((k + 1) * perChannel) { out[i] = w[i] * factor }
                    }
                }
            }
        }
        return result
    }

    /// `scalingOutputChannels(by:)` with a scale, or this tensor itself without one.
    public func scalingOutputChannels(by scale: Tensor?) -> Tensor {
        guard let scale else { return self }
        return scalingOutputChannels(by: scale)
    }
}
