/// 3×3 stride-1 convolution by Winograd's minimal filtering, F(m×m, 3×3), with its α² batched
/// GEMMs done by the device's GEMM (so a faster GEMM speeds this up too).
///
/// For input `x [N, C, H, W]`, weight `w [K, C, 3, 3]` and output `y [N, K, P, Q]`:
/// 1. filter transform, once per call (or kept across calls, `filterCache`): `U_ξ[k, c] = (G w[k,c] Gᵀ)_ξ` for ξ in 0..<α²;
/// 2. input transform of the overlapping α×α patches (stride m, zeros outside the image, partial
///    tiles at the right and bottom edges): `V_ξ[c, t] = (Bᵀ d[c,t] B)_ξ` for tile t;
/// 3. α² GEMMs `M_ξ [K × tiles] = U_ξ [K × C] · V_ξ [C × tiles]` — by the device's micro-kernel on
///    operands already in its panel layouts where it supplies one (`panelGEMM`: U written in its A
///    layout, V in its B panels), else by its serial GEMM, which packs both;
/// 4. output transform `y[n, k, tile] = (Aᵀ M[k,t] A) + b[k]`, clipped to P×Q.
/// Steps 2–4 run per block of tiles (and block of output channels) on GCD workers, see `WinogradPlan`.
///
/// Backward-data of a 3×3 stride-1 convolution with padding p ≤ 2 is the forward convolution of
/// `∂y` with the flipped, transposed weight `w'[c, k, r, s] = w[k, c, 2−r, 2−s]` and padding 2 − p,
/// so it runs on the same code (the flip is folded into the filter transform).
///
/// Accuracy: F(2×2) is about as accurate as direct convolution; F(4×4) has a few times its
/// rounding error (measured in Docs/Performance.md).
public struct WinogradConvolution: Sendable {
    public let gemm: SerialGEMM
    public let threads: Int
    public let workspaceBytesPerWorker: Int
    /// The most workspace one call allocates over all its workers (see `WinogradPlan`).
    public let workspaceLimitBytes: Int
    public let policy: WinogradPolicy
    public let tileSize: WinogradTileSize
    /// Where the transformed filters (all chunks) are kept across calls while the weights are
    /// unchanged (stored the second time the same contents are transformed); nil: every call
    /// transforms them.
    public let filterCache: PackedWeightCache?
    /// The device's own tile transforms per tile size, where it has them (else `WinogradTiles`' portable ones).
    public let tileKernels: [WinogradTileSize: WinogradTileKernels]
    /// The device's micro-kernel on pre-laid-out panels for the α² products, where it has one
    /// (else `gemm`, which packs both operands on every call).
    public let panelGEMM: WinogradPanelGEMM?

    public init(threads: Int, workspaceBytesPerWorker: Int = Im2colConvolution.defaultWorkspaceBytesPerWorker,
                workspaceLimitBytes: Int = Im2colConvolution.defaultWorkspaceLimitBytes,
                policy: WinogradPolicy = .automatic, tileSize: WinogradTileSize = .f4x4,
                filterCache: PackedWeightCache? = nil, tileKernels: [WinogradTileSize: WinogradTileKernels] = [:],
                panelGEMM: WinogradPanelGEMM? = nil, gemm: @escaping SerialGEMM) {
        self.gemm = gemm
        self.panelGEMM = panelGEMM
        self.filterCache = filterCache
        self.tileKernels = tileKernels
        self.threads = max(threads, 1)
        self.workspaceBytesPerWorker = min(workspaceBytesPerWorker, workspaceLimitBytes)
        self.workspaceLimitBytes = workspaceLimitBytes
        self.policy = policy
        self.tileSize = tileSize
    }

    /// The plan this device would use for the forward convolution `g` by the shared rule
    /// (`WinogradPlan.pays`), or nil for im2col.
    public func plan(for g: Conv2DGeometry) -> WinogradPlan? {
        guard let plan = eligiblePlan(for: g) else { return nil }
        return policy == .always || plan.pays(g) ? plan : nil
    }

    /// The plan for `g` whether or not it pays; nil when the policy is `.never` or `g` is not
    /// eligible or does not fit the workspace (for devices with a rule of their own).
    /// - Parameter threads: the thread count to plan for (default: this convolution's). A device
    ///   whose choice of algorithm reads the plan (Dispatch's cost model) prices one made at a
    ///   fixed count, so that the choice — hence the rounding — is the same at any thread count.
    public func eligiblePlan(for g: Conv2DGeometry, threads: Int? = nil) -> WinogradPlan? {
        guard policy != .never else { return nil }
        return WinogradPlan(g, tileSize: tileSize, threads: threads ?? self.threads, workspaceBytesPerWorker: workspaceBytesPerWorker,
                            workspaceLimitBytes: workspaceLimitBytes, panels: panelGEMM?.panels)
    }

    /// The forward convolution that computes the input gradient of `g`: `∂y` (as input) with the
    /// flipped, transposed weight `[C, K, 3, 3]` and padding `2 − p`. Nil unless `g` is eligible and p ≤ 2.
    public static func backwardDataGeometry(_ g: Conv2DGeometry) -> Conv2DGeometry? {
        let p = g.options.padding
        guard WinogradPlan.isEligible(g), p.height <= 2, p.width <= 2 else { return nil }
        return try? Conv2DGeometry(
            inputShape: g.outputShape, weightShape: [g.inputChannels, g.outputChannels, 3, 3],
            options: Conv2DOptions(padding: Size2D(height: 2 - p.height, width: 2 - p.width)))
    }

    /// Bytes the Winograd path allocates for `pass` (`forward`, `backward-data`), or nil when the
    /// pass does not take it.
    public func workspaceBytes(for g: Conv2DGeometry, pass: String) -> Int? {
        switch pass {
        case "forward": plan(for: g)?.workspaceBytes
        case "backward-data": Self.backwardDataGeometry(g).flatMap { plan(for: $0) }?.workspaceBytes
        default: nil
        }
    }

    /// `y = conv(x, w) + b`, or nil when this layer does not take the Winograd path.
    public func forward(input: Tensor, weight: Tensor, bias: Tensor?, epilogue: ConvolutionEpilogue = .none,
                        geometry g: Conv2DGeometry) -> Tensor? {
        guard let plan = plan(for: g) else { return nil }
        return forward(input: input, weight: weight, bias: bias, epilogue: epilogue, geometry: g, plan: plan)
    }

    /// `y = conv(x, w) + b` with `plan` (one of `eligiblePlan(for: g)`).
    public func forward(input: Tensor, weight: Tensor, bias: Tensor?, epilogue: ConvolutionEpilogue = .none,
                        geometry g: Conv2DGeometry, plan: WinogradPlan) -> Tensor {
        run(input: input, weight: weight, bias: bias, epilogue: epilogue, geometry: g, plan: plan, flippedWeight: false)
    }

    /// `∂x` of the convolution `g`, or nil when it does not take the Winograd path.
    public func backwardData(gradOutput: Tensor, weight: Tensor, geometry g: Conv2DGeometry) -> Tensor? {
        guard let h = Self.backwardDataGeometry(g), let plan = plan(for: h) else { return nil }
        return backwardData(gradOutput: gradOutput, weight: weight, geometry: g, plan: plan)
    }

    /// `∂x` of the convolution `g` with `plan`, one of `eligiblePlan(for: backwardDataGeometry(g))`.
    public func backwardData(gradOutput: Tensor, weight: Tensor, geometry g: Conv2DGeometry, plan: WinogradPlan) -> Tensor {
        let h = Self.backwardDataGeometry(g)!  // the plan was made for it
        return run(input: gradOutput, weight: weight, bias: nil, epilogue: .none, geometry: h, plan: plan, flippedWeight: true)
    }

    func run(input: Tensor, weight: Tensor, bias: Tensor?, epilogue: ConvolutionEpilogue, geometry g: Conv2DGeometry,
             plan: WinogradPlan, flippedWeight: Bool) -> Tensor {
        switch tileSize {
        case .f2x2: run(WinogradF2x2.self, input: input, weight: weight, bias: bias, epilogue: epilogue, geometry: g, plan: plan, flippedWeight: flippedWeight)
        case .f4x4: run(WinogradF4x4.self, input: input, weight: weight, bias: bias, epilogue: epilogue, geometry: g, plan: plan, flippedWeight: flippedWeight)
        }
    }

    func run<T: WinogradTransform>(
        _: T.Type, input: Tensor, weight: Tensor, bias: Tensor?, epilogue: ConvolutionEpilogue, geometry g: Conv2DGeometry,
        plan: WinogradPlan, flippedWeight: Bool
    ) -> Tensor {
        var output = Tensor(uninitialized: g.outputShape)  // every element is written below
        let biasValues = bias?.scalars ?? [Float](repeating: 0, count: g.outputChannels)
        let alphaSquared = plan.inputTile * plan.inputTile
        let kept = keptFilters(T.self, weight: weight, geometry: g, plan: plan, flipped: flippedWeight)
        let filters = ScratchBuffers(workers: 1, capacity: kept == nil ? plan.filterFloats : 0)
        let scratch = ScratchBuffers(workers: plan.workers, capacity: plan.workerFloats)
        let lastBlock = LastBlocks(workers: plan.workers)
        let tiles = WinogradTiles(geometry: g, plan: plan)
        let (gemm, panelGEMM) = (self.gemm, self.panelGEMM)
        let threads = self.threads
        let kernels = tileKernels[T.self == WinogradF4x4.self ? .f4x4 : .f2x2]
        Self.withElements(of: kept) { keptFilters in
            input.withUnsafeBufferPointer { x in
                weight.withUnsafeBufferPointer { w in
                    output.withUnsafeMutableBufferPointer { y in
                        biasValues.withUnsafeBufferPointer { b in
                            let (x, w, y, b) = (SendablePointer(x.baseAddress!), SendablePointer(w.baseAddress!),
                                                SendablePointer(y.baseAddress!), SendablePointer(b.baseAddress!))
                            for chunk in 0..<plan.chunks {
                                let firstOutput = chunk * plan.chunkHeight
                                let chunkCount = min(plan.chunkHeight, g.outputChannels - firstOutput)
                                let u = keptFilters.map { SendablePointer($0.pointer + chunk * plan.filterFloats) } ?? SendablePointer(filters[0])
                                if keptFilters == nil {
                                    WinogradFilters.transformChunk(T.self, weight: w.pointer, geometry: g, flipped: flippedWeight, firstOutput: firstOutput,
                                                                   count: chunkCount, plan: plan, threads: threads, into: u.pointer)
                                }
                                Parallel.forEach(plan.blocks * plan.kBlocks, threads: plan.workers) { worker, item in
                                    let (block, kBlock) = plan.workItem(item)
                                    let kStart = kBlock * plan.kBlockHeight
                                    let kCount = min(plan.kBlockHeight, chunkCount - kStart)
                                    guard kCount > 0 else { return }
                                    let firstTile = block * plan.blockWidth
                                    let tileCount = min(plan.blockWidth, plan.tiles - firstTile)
                                    let v = scratch[worker]
                                    let products = v + alphaSquared * g.inputChannels * plan.paddedWidth
                                    if lastBlock[worker] != block {
                                        if let kernels {
                                            kernels.input(tiles, x.pointer, firstTile, tileCount, v)
                                        } else {
                                            tiles.transformInput(T.self, x.pointer, firstTile: firstTile, count: tileCount, into: v)
                                        }
                                        lastBlock[worker] = block
                                    }
                                    for xi in 0..<alphaSquared {
                                        if let panelGEMM {
                                            panelGEMM.multiply(u.pointer + xi * plan.filterRows * g.inputChannels, plan.filterRows, kStart, kCount,
                                                               g.inputChannels, v + xi * g.inputChannels * plan.paddedWidth, tileCount,
                                                               products + xi * plan.kBlockHeight * plan.paddedWidth, plan.paddedWidth)
                                            continue
                                        }
                                        gemm(false, false, kCount, tileCount, g.inputChannels,
                                             1, u.pointer + (xi * plan.chunkHeight + kStart) * g.inputChannels, g.inputChannels,
                                             v + xi * g.inputChannels * plan.paddedWidth, plan.paddedWidth,
                                             0, products + xi * plan.kBlockHeight * plan.paddedWidth, plan.paddedWidth)
                                    }
                                    let outputs = (firstOutput + kStart)..<(firstOutput + kStart + kCount)
                                    if let kernels {
                                        kernels.output(tiles, products, plan.kBlockHeight, firstTile, tileCount, outputs, b.pointer, epilogue, y.pointer)
                                    } else {
                                        tiles.transformOutput(T.self, products, rowStride: plan.kBlockHeight, firstTile: firstTile, count: tileCount,
                                                              outputChannels: outputs, bias: b.pointer, epilogue: epilogue, into: y.pointer)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return output
    }

    /// Runs `body` with `tensor`'s elements, or with nil when there is no tensor.
    private static func withElements<R>(of tensor: Tensor?, _ body: (SendablePointer<Float>?) -> R) -> R {
        guard let tensor else { return body(nil) }
        return tensor.withUnsafeBufferPointer { body(SendablePointer($0.baseAddress!)) }
    }

    /// The filters of every chunk transformed (chunk c at `c · plan.filterFloats`), from
    /// `filterCache`, or transformed now and stored when this is the second time these weight
    /// contents are transformed for this layout; nil when the call transforms chunk by chunk.
    func keptFilters<T: WinogradTransform>(_: T.Type, weight: Tensor, geometry g: Conv2DGeometry, plan: WinogradPlan,
                                           flipped: Bool) -> Tensor? {
        guard let cache = filterCache else { return nil }
        let key = PackedWeightCache.Key(
            contents: weight.contentStamp,
            kernel: "winograd F(\(T.outputTile)×\(T.outputTile)) \(flipped ? "flipped " : "")chunk \(plan.chunkHeight) panels \(plan.filterPanels.map { "\($0.rows)×\($0.columns)×\($0.depth)" } ?? "none")",
            rows: g.outputChannels, depth: g.inputChannels, groups: 1)
        if let kept = cache.lookup(key) { return kept }
        guard cache.shouldStore(key, bytes: plan.chunks * plan.filterFloats * MemoryLayout<Float>.stride) else { return nil }
        var all = Tensor(uninitialized: [plan.chunks * plan.filterFloats])  // rows past the last chunk's end are never read
        weight.withUnsafeBufferPointer { w in
            all.withUnsafeMutableBufferPointer { out in
                let (w, out) = (SendablePointer(w.baseAddress!), SendablePointer(out.baseAddress!))
                for chunk in 0..<plan.chunks {
                    let firstOutput = chunk * plan.chunkHeight
                    WinogradFilters.transformChunk(T.self, weight: w.pointer, geometry: g, flipped: flipped, firstOutput: firstOutput,
                                                   count: min(plan.chunkHeight, g.outputChannels - firstOutput), plan: plan, threads: threads,
                                                   into: out.pointer + chunk * plan.filterFloats)
                }
            }
        }
        cache.store(all, for: key)
        return all
    }
}

/// The block of tiles whose transformed input each worker holds, so an item of another output
/// channel block of the same tiles does not transform it again. Written only by its own worker.
final class LastBlocks: @unchecked Sendable {
    private let values: UnsafeMutablePointer<Int>
    init(workers: Int) {
        values = .allocate(capacity: max(workers, 1))
        values.initialize(repeating: -1, count: max(workers, 1))
    }
    subscript(worker: Int) -> Int {
        get { values[worker] }
        set { values[worker] = newValue }
    }
    deinit { values.deallocate() }
}
