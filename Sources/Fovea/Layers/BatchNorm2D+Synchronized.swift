import Foundation

/// Synchronized batch norm (`BatchNorm2D.replicaGroup` set): the statistics of the batch over
/// every replica, so that N replicas with B/N images each compute what one model does with B.
///
/// With M the number of values per channel over all replicas, x of shape [N, C, H, W]:
/// - forward: μ = Σx / M and σ² = Σ(x − μ)² / M, each sum over all replicas (two sums of C
///   values: the second needs μ, and summing squared deviations keeps σ² accurate where
///   Σx² − Mμ² would cancel); y = γ·(x − μ)/√(σ² + ε) + β, then the fused activation if any;
/// - backward, with g = ∂L/∂y (through the activation's derivative) and x̂ = (x − μ)/√(σ² + ε):
///   ∂L/∂x = γ/√(σ² + ε) · (g − Σg/M − x̂·Σ(g·x̂)/M), the two sums over all replicas;
///   ∂L/∂γ = Σ g·x̂ and ∂L/∂β = Σ g over this replica's images only — the data-parallel step
///   sums parameter gradients over replicas afterwards.
/// Sums are accumulated in Double (16-lane Float partial sums over 4096 values).
extension BatchNorm2D {
    func synchronizedForward(_ input: Tensor, device: any Device, activation: Activation?, group: any ReplicaGroup) throws -> Tensor {
        let geometry = ChannelPlaneGeometry(input.shape)
        var sums = input.withUnsafeBufferPointer { x in
            (0..<channels).map { c in geometry.planes(of: c).reduce(0.0) { $0 + ChannelPlaneGeometry.sum(x.baseAddress! + $1, count: geometry.plane) } }
        }
        sums.append(Double(geometry.batch * geometry.plane))
        try group.sumOverReplicas(&sums, label: "\(displayName): the per-channel sums of the batch")
        let count = sums[channels]
        guard count > 1 else {
            throw shapeError("training mode needs more than one value per channel over all replicas to compute a variance, got input \(input.shape)")
        }
        let mean = sums.prefix(channels).map { Float($0 / count) }
        var deviations = input.withUnsafeBufferPointer { x in
            (0..<channels).map { c in
                geometry.planes(of: c).reduce(0.0) { $0 + ChannelPlaneGeometry.squaredDeviation(x.baseAddress! + $1, count: geometry.plane, from: mean[c]) }
            }
        }
        try group.sumOverReplicas(&deviations, label: "\(displayName): the per-channel squared deviations of the batch")
        let variance = deviations.map { Float($0 / count) }
        let statistics = BatchNormStatistics(mean: Tensor(shape: [channels], scalars: mean),
                                             variance: Tensor(shape: [channels], scalars: variance),
                                             inverseStandardDeviation: Tensor(shape: [channels], scalars: variance.map { 1 / ($0 + epsilon).squareRoot() }))
        // Normalising with given statistics is the device's inference pass (with the activation fused).
        let output = if let activation {
            device.batchNormInference(input: input, scale: weight.value, shift: bias.value, runningMean: statistics.mean,
                                      runningVariance: statistics.variance, epsilon: epsilon, activation: activation)
        } else {
            device.batchNormInference(input: input, scale: weight.value, shift: bias.value, runningMean: statistics.mean,
                                      runningVariance: statistics.variance, epsilon: epsilon)
        }
        updateRunningStatistics(statistics, count: Int(count))
        synchronizedCount = count
        saved = (input, statistics, activation.map { ($0, output) })
        return output
    }

    func synchronizedBackward(_ gradOutput: Tensor, device: any Device, group: any ReplicaGroup) throws -> Tensor {
        guard let saved else { throw missingForwardError() }
        let g = saved.activation.map { device.activationBackward($0.0, gradOutput: gradOutput, input: $0.output) } ?? gradOutput
        let geometry = ChannelPlaneGeometry(g.shape)
        let mean = saved.statistics.mean.scalars, inverseDeviation = saved.statistics.inverseStandardDeviation.scalars
        // Per channel: Σg and Σg·(x − μ) over this replica's values.
        var local = [Double](repeating: 0, count: 2 * channels)
        g.withUnsafeBufferPointer { g in
            saved.input.withUnsafeBufferPointer { x in
                for c in 0..<channels {
                    for start in geometry.planes(of: c) {
                        let (sum, product) = ChannelPlaneGeometry.sumAndProduct(g.baseAddress! + start, x.baseAddress! + start,
                                                                               count: geometry.plane, centre: mean[c])
                        local[c] += sum
                        local[channels + c] += product
                    }
                }
            }
        }
        var global = local
        try group.sumOverReplicas(&global, label: "\(displayName): the per-channel gradient sums of the batch")
        let gamma = weight.value.scalars
        weight.accumulateGradient(Tensor(shape: [channels], scalars: (0..<channels).map { Float(local[channels + $0]) * inverseDeviation[$0] }))
        bias.accumulateGradient(Tensor(shape: [channels], scalars: (0..<channels).map { Float(local[$0]) }))
        // ∂L/∂x = k·(g − a − (x − μ)·b), k = γ/√(σ²+ε), a = Σg/M, b = Σg(x − μ)/(M·(σ²+ε)).
        let count = synchronizedCount
        var gradInput = Tensor(zeros: g.shape)
        gradInput.withUnsafeMutableBufferPointer { dx in
            g.withUnsafeBufferPointer { g in
                saved.input.withUnsafeBufferPointer { x in
                    for c in 0..<channels {
                        let k = gamma[c] * inverseDeviation[c]
                        let a = Float(global[c] / count)
                        let b = Float(global[channels + c] / count) * inverseDeviation[c] * inverseDeviation[c]
                        let mu = mean[c]
                        for start in geometry.planes(of: c) {
                            for i in start..<(start + geometry.plane) { dx[i] = k * (g[i] - a - (x[i] - mu) * b) }
                        }
                    }
                }
            }
        }
        return gradInput
    }
}

extension Layer {
    /// Synchronized batch norm for every `BatchNorm2D` of this tree over `group` (nil: back to
    /// per-replica statistics). Every replica of a data-parallel job sets the same group.
    public func synchronizeBatchNorm(over group: (any ReplicaGroup)?) {
        for (_, layer) in namedLayers() { (layer as? BatchNorm2D)?.replicaGroup = group }
    }
}

/// The planes of one channel in a [N, C, H, W] tensor, and sums over a plane in Double.
struct ChannelPlaneGeometry {
    let batch: Int, channels: Int, plane: Int

    init(_ shape: Shape) {
        batch = shape[0]
        channels = shape[1]
        plane = shape.count / max(shape[0] * shape[1], 1)
    }

    /// The flat offsets where channel `c`'s plane starts, one per image.
    func planes(of c: Int) -> StrideTo<Int> { stride(from: c * plane, to: batch * channels * plane, by: channels * plane) }

    /// Values per Float partial sum before it joins the Double total.
    static let block = 4096

    /// Σ p[i].
    static func sum(_ p: UnsafePointer<Float>, count: Int) -> Double {
        blocks(count) { start, end in
            var lanes = SIMD16<Float>()
            var i = start
            while i + 16 <= end {
                lanes += UnsafeRawPointer(p + i).loadUnaligned(as: SIMD16<Float>.self)
                i += 16
            }
            var s = lanes.sum()
            while i < end { s += p[i]; i += 1 }
            return Double(s)
        }
    }

    /// Σ (p[i] − centre)².
    static func squaredDeviation(_ p: UnsafePointer<Float>, count: Int, from centre: Float) -> Double {
        blocks(count) { start, end in
            var lanes = SIMD16<Float>()
            let c = SIMD16<Float>(repeating: centre)
            var i = start
            while i + 16 <= end {
                let d = UnsafeRawPointer(p + i).loadUnaligned(as: SIMD16<Float>.self) - c
                lanes += d * d
                i += 16
            }
            var s = lanes.sum()
            while i < end { let d = p[i] - centre; s += d * d; i += 1 }
            return Double(s)
        }
    }

    /// (Σ g[i], Σ g[i]·(x[i] − centre)).
    static func sumAndProduct(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, count: Int, centre: Float) -> (Double, Double) {
        var product = 0.0
        let sum = blocks(count) { start, end in
            var sums = SIMD16<Float>(), products = SIMD16<Float>()
            let c = SIMD16<Float>(repeating: centre)
            var i = start
            while i + 16 <= end {
                let gv = UnsafeRawPointer(g + i).loadUnaligned(as: SIMD16<Float>.self)
                sums += gv
                products += gv * (UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self) - c)
                i += 16
            }
            var s = sums.sum(), q = products.sum()
            while i < end { s += g[i]; q += g[i] * (x[i] - centre); i += 1 }
            product += Double(q)
            return Double(s)
        }
        return (sum, product)
    }

    private static func blocks(_ count: Int, _ partial: (Int, Int) -> Double) -> Double {
        stride(from: 0, to: count, by: block).reduce(0.0) { $0 + partial($1, min($1 + block, count)) }
    }
}
