/// A convolution followed by an evaluation-mode batch norm is one convolution: with
/// `s[k] = γ[k] / √(runningVariance[k] + ε)`,
///
///     BN(conv(x, w) + b)[k] = s[k]·(conv(x, w)[k] + b[k] − μ[k]) + β[k]
///                           = conv(x, w′)[k] + b′[k],
///     w′[k, c, r, s] = w[k, c, r, s]·s[k],   b′[k] = (b[k] − μ[k])·s[k] + β[k]   (b = 0 without bias).
///
/// A device that keeps prepared weights (`Device.keepsPreparedWeights`, the Dispatch device)
/// receives `w` and `s` and keeps only its packed or transformed `w′`; for the others the layer
/// computes `w′` itself. `s`, `b′` and that `w′` are cached on the convolution and recomputed
/// when any tensor they come from changes (the `version` of the parameters and buffers involved,
/// which every assignment, in-place update, optimiser step and state-dict load bumps), when the
/// batch norm is another one, or after a mode change.
struct FoldedBatchNorm {
    /// Identifies the batch norm and the versions of every tensor the fold read.
    struct Key: Equatable {
        var norm: ObjectIdentifier
        var versions: [Int]
    }

    var key: Key
    /// `s`, `[K]`.
    var scale: Tensor
    /// `b′`, `[K]`.
    var bias: Tensor
    /// `w′`, of the convolution's weight shape, once a device that does not keep prepared
    /// weights has asked for it (`Device.keepsPreparedWeights`); nil otherwise, so that on the
    /// devices that do, the packed or transformed `w′` is the only copy.
    var weight: Tensor?
}

extension Conv2D {
    /// The key of a fold of `norm` into this layer's current weight and bias.
    func foldKey(_ norm: BatchNorm2D) -> FoldedBatchNorm.Key {
        FoldedBatchNorm.Key(norm: ObjectIdentifier(norm), versions: [
            weight.version, bias?.version ?? -1, norm.weight.version, norm.bias.version,
            norm.runningMean.version, norm.runningVariance.version,
        ])
    }

    /// `s` and `b′` for `norm` (formulas above), from the cache when it is current.
    /// - Throws: when `norm` has another channel count than this layer's output.
    func foldedScaleAndBias(with norm: BatchNorm2D) throws -> (scale: Tensor, bias: Tensor) {
        let fold = try currentFold(with: norm)
        return (fold.scale, fold.bias)
    }

    /// `w′` and `b′` for `norm` (formulas above), from the cache when it is current.
    /// - Throws: when `norm` has another channel count than this layer's output.
    func foldedParameters(with norm: BatchNorm2D) throws -> (weight: Tensor, bias: Tensor) {
        var fold = try currentFold(with: norm)
        if let weight = fold.weight { return (weight, fold.bias) }
        let folded = weight.value.scalingOutputChannels(by: fold.scale)
        fold.weight = folded
        foldedBatchNorm = fold
        return (folded, fold.bias)
    }

    /// The cached fold when its key is current, else a new one (without `w′`), cached.
    private func currentFold(with norm: BatchNorm2D) throws -> FoldedBatchNorm {
        guard norm.channels == outputChannels else {
            throw shapeError("cannot fold \(norm.displayName): it normalises \(norm.channels) channels, this convolution outputs \(outputChannels)")
        }
        let key = foldKey(norm)
        if let cached = foldedBatchNorm, cached.key == key { return cached }
        var scale = Tensor(zeros: [outputChannels])
        var foldedBias = Tensor(zeros: [outputChannels])
        let convBias = bias?.value.scalars ?? [Float](repeating: 0, count: outputChannels)
        let (gamma, beta) = (norm.weight.value.scalars, norm.bias.value.scalars)
        let (mean, variance) = (norm.runningMean.value.scalars, norm.runningVariance.value.scalars)
        scale.withUnsafeMutableBufferPointer { s in
            foldedBias.withUnsafeMutableBufferPointer { b in
                for k in 0..<outputChannels {
                    s[k] = gamma[k] / (variance[k] + norm.epsilon).squareRoot()
                    b[k] = (convBias[k] - mean[k]) * s[k] + beta[k]
                }
            }
        }
        let fold = FoldedBatchNorm(key: key, scale: scale, bias: foldedBias, weight: nil)
        foldedBatchNorm = fold
        return fold
    }
}
