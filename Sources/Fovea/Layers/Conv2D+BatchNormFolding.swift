/// A convolution followed by an evaluation-mode batch norm is one convolution: with
/// `s[k] = γ[k] / √(runningVariance[k] + ε)`,
///
///     BN(conv(x, w) + b)[k] = s[k]·(conv(x, w)[k] + b[k] − μ[k]) + β[k]
///                           = conv(x, w′)[k] + b′[k],
///     w′[k, c, r, s] = w[k, c, r, s]·s[k],   b′[k] = (b[k] − μ[k])·s[k] + β[k]   (b = 0 without bias).
///
/// The folded tensors are cached on the convolution and recomputed when any tensor they come
/// from changes (the `version` of the parameters and buffers involved, which every assignment,
/// in-place update, optimiser step and state-dict load bumps), when the batch norm is another
/// one, or after a mode change.
struct FoldedBatchNorm {
    /// Identifies the batch norm and the versions of every tensor the fold read.
    struct Key: Equatable {
        var norm: ObjectIdentifier
        var versions: [Int]
    }

    var key: Key
    /// `w′`, of the convolution's weight shape.
    var weight: Tensor
    /// `b′`, `[K]`.
    var bias: Tensor
}

extension Conv2D {
    /// The key of a fold of `norm` into this layer's current weight and bias.
    func foldKey(_ norm: BatchNorm2D) -> FoldedBatchNorm.Key {
        FoldedBatchNorm.Key(norm: ObjectIdentifier(norm), versions: [
            weight.version, bias?.version ?? -1, norm.weight.version, norm.bias.version,
            norm.runningMean.version, norm.runningVariance.version,
        ])
    }

    /// `w′` and `b′` for `norm` (formulas above), from the cache when it is current.
    /// - Throws: when `norm` has another channel count than this layer's output.
    func foldedParameters(with norm: BatchNorm2D) throws -> (weight: Tensor, bias: Tensor) {
        guard norm.channels == outputChannels else {
            throw shapeError("cannot fold \(norm.displayName): it normalises \(norm.channels) channels, this convolution outputs \(outputChannels)")
        }
        let key = foldKey(norm)
        if let cached = foldedBatchNorm, cached.key == key { return (cached.weight, cached.bias) }
        var foldedWeight = weight.value
        var foldedBias = Tensor(zeros: [outputChannels])
        let perChannel = weight.value.count / outputChannels
        let convBias = bias?.value.scalars ?? [Float](repeating: 0, count: outputChannels)
        let (gamma, beta) = (norm.weight.value.scalars, norm.bias.value.scalars)
        let (mean, variance) = (norm.runningMean.value.scalars, norm.runningVariance.value.scalars)
        foldedWeight.withUnsafeMutableBufferPointer { w in
            foldedBias.withUnsafeMutableBufferPointer { b in
                for k in 0..<outputChannels {
                    let scale = gamma[k] / (variance[k] + norm.epsilon).squareRoot()
                    for i in (k * perChannel)..<((k + 1) * perChannel) { w[i] *= scale }
                    b[k] = (convBias[k] - mean[k]) * scale + beta[k]
                }
            }
        }
        foldedBatchNorm = FoldedBatchNorm(key: key, weight: foldedWeight, bias: foldedBias)
        return (foldedWeight, foldedBias)
    }
}
