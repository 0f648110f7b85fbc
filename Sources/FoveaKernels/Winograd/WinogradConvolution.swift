import FoveaCore

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
    package let gemm: SerialGEMM
    package let threads: Int
    package let workspaceBytesPerWorker: Int
    /// The most workspace one call allocates over all its workers (see `WinogradPlan`).
    package let workspaceLimitBytes: Int
    /// Where the transformed filters (all chunks) are kept across calls while the weights are
    /// unchanged (stored the second time the same contents are transformed); nil: every call
    /// transforms them.
    package let filterCache: PackedWeightCache?
    /// The device's own tile transforms per tile size, where it has them (else `WinogradTiles`' portable ones).
    package let tileKernels: [WinogradTileSize: WinogradTileKernels]
    /// The device's micro-kernel on pre-laid-out panels for the α² products, where it has one
    /// (else `gemm`, which packs both operands on every call).
    package let panelGEMM: WinogradPanelGEMM?

    package init(threads: Int, workspaceBytesPerWorker: Int = Im2colConvolution.defaultWorkspaceBytesPerWorker,
                workspaceLimitBytes: Int = Im2colConvolution.defaultWorkspaceLimitBytes,
                filterCache: PackedWeightCache? = nil, tileKernels: [WinogradTileSize: WinogradTileKernels] = [:],
                panelGEMM: WinogradPanelGEMM? = nil, gemm: @escaping SerialGEMM) {
        self.gemm = gemm
        self.panelGEMM = panelGEMM
        self.filterCache = filterCache
        self.tileKernels = tileKernels
        self.threads = max(threads, 1)
        self.workspaceBytesPerWorker = min(workspaceBytesPerWorker, workspaceLimitBytes)
        self.workspaceLimitBytes = workspaceLimitBytes
    }

    /// The tile plan of F(`tileSize`) for the forward convolution `g` with this driver's budget
    /// and panels, or nil when `g` is not eligible (`WinogradPlan.isEligible`) or does not fit.
    /// - Parameter threads: the thread count to plan for (default: this convolution's). Dispatch's
    ///   cost model prices plans made at a fixed count, so that its choice is the same at any thread count.
    package func tilePlan(for g: Conv2DGeometry, tileSize: WinogradTileSize, threads: Int? = nil) -> WinogradPlan? {
        WinogradPlan(g, tileSize: tileSize, threads: threads ?? self.threads, workspaceBytesPerWorker: workspaceBytesPerWorker,
                     workspaceLimitBytes: workspaceLimitBytes, panels: panelGEMM?.panels)
    }

    /// The forward convolution that computes the input gradient of `g`: `∂y` (as input) with the
    /// flipped, transposed weight `[C, K, 3, 3]` and padding `2 − p`. Nil unless `g` is eligible and p ≤ 2.
    package static func backwardDataGeometry(_ g: Conv2DGeometry) -> Conv2DGeometry? {
        let p = g.options.padding
        guard WinogradPlan.isEligible(g), p.height <= 2, p.width <= 2 else { return nil }
        return try? Conv2DGeometry(
            inputShape: g.outputShape, weightShape: [g.inputChannels, g.outputChannels, 3, 3],
            options: Conv2DOptions(padding: Size2D(height: 2 - p.height, width: 2 - p.width)))
    }

    /// `y = epilogue(conv(x, w) + b)` with `plan` (a `tilePlan(for: g, …)`; its tile size is the algorithm's).
    /// With an `outputScale`, the filters are `w[k, …]·outputScale[k]` (kept transformed as such).
    package func forward(input: Tensor, weight: Tensor, outputScale: Tensor? = nil, bias: Tensor?, epilogue: ConvolutionEpilogue = .none,
                        geometry g: Conv2DGeometry, plan: WinogradPlan) -> Tensor {
        run(input: input, weight: weight, outputScale: outputScale, bias: bias, epilogue: epilogue, geometry: g, plan: plan, flippedWeight: false)
    }

    /// `∂x` of the convolution `g` with `plan`, a `tilePlan(for: backwardDataGeometry(g), …)`.
    package func backwardData(gradOutput: Tensor, weight: Tensor, geometry g: Conv2DGeometry, plan: WinogradPlan) -> Tensor {
        let h = Self.backwardDataGeometry(g)!  // the plan was made for it
        return run(input: gradOutput, weight: weight, bias: nil, epilogue: .none, geometry: h, plan: plan, flippedWeight: true)
    }

    func run(input: Tensor, weight: Tensor, outputScale: Tensor? = nil, bias: Tensor?, epilogue: ConvolutionEpilogue, geometry g: Conv2DGeometry,
             plan: WinogradPlan, flippedWeight: Bool) -> Tensor {
        switch plan.tileSize {
        case .f2x2: run(WinogradF2x2.self, input: input, weight: weight, outputScale: outputScale, bias: bias, epilogue: epilogue,
                        geometry: g, plan: plan, flippedWeight: flippedWeight)
        case .f4x4: run(WinogradF4x4.self, input: input, weight: weight, outputScale: outputScale, bias: bias, epilogue: epilogue,
                        geometry: g, plan: plan, flippedWeight: flippedWeight)
        }
    }

    /// Steps 1–4 chunk by chunk: the chunk's filters (kept or transformed now), then its work
    /// items (`WinogradCall.runItem`) on `plan.workers` workers.
    func run<T: WinogradTransform>(
        _: T.Type, input: Tensor, weight: Tensor, outputScale: Tensor?, bias: Tensor?, epilogue: ConvolutionEpilogue, geometry g: Conv2DGeometry,
        plan: WinogradPlan, flippedWeight: Bool
    ) -> Tensor {
        var output = Tensor(uninitialized: g.outputShape)  // every element is written below
        let biasValues = bias?.scalars ?? [Float](repeating: 0, count: g.outputChannels)
        let kept = keptFilters(T.self, weight: weight, scale: outputScale, geometry: g, plan: plan, flipped: flippedWeight)
        // Without kept filters the chunks transform w′ = w·s, which exists only for this call.
        let weight = kept != nil ? weight : weight.scalingOutputChannels(by: outputScale)
        let buffers = WinogradCall<T>.Buffers(plan: plan, keepsFilters: kept != nil)
        withOperands(kept: kept, input: input, weight: weight, bias: biasValues, output: &output) { operands in
            let call = WinogradCall<T>(operands: operands, buffers: buffers, geometry: g, plan: plan, tiles: WinogradTiles(geometry: g, plan: plan),
                                       epilogue: epilogue, flipped: flippedWeight, threads: threads, gemm: gemm, panelGEMM: panelGEMM,
                                       kernels: tileKernels[plan.tileSize])
            for chunk in 0..<plan.chunks {
                let filters = call.filters(ofChunk: chunk)
                Parallel.forEach(plan.blocks * plan.kBlocks, threads: plan.workers) { worker, item in
                    call.runItem(item, worker: worker, chunk: chunk, filters: filters)
                }
            }
        }
        return output
    }

    /// Runs `body` with pointers to the call's operands (`kept` filters where there are any).
    private func withOperands(kept: Tensor?, input: Tensor, weight: Tensor, bias: [Float], output: inout Tensor,
                              _ body: (WinogradOperands) -> Void) {
        Self.withElements(of: kept) { kept in
            input.withUnsafeBufferPointer { x in
                weight.withUnsafeBufferPointer { w in
                    bias.withUnsafeBufferPointer { b in
                        output.withUnsafeMutableBufferPointer { y in
                            body(WinogradOperands(input: x.baseAddress!, weight: w.baseAddress!, bias: b.baseAddress!,
                                                  output: y.baseAddress!, keptFilters: kept?.pointer))
                        }
                    }
                }
            }
        }
    }

    /// Runs `body` with `tensor`'s elements, or with nil when there is no tensor.
    private static func withElements<R>(of tensor: Tensor?, _ body: (SendablePointer<Float>?) -> R) -> R {
        guard let tensor else { return body(nil) }
        return tensor.withUnsafeBufferPointer { body(SendablePointer($0.baseAddress!)) }
    }

    /// The filters of every chunk transformed (chunk c at `c · plan.filterFloats`), from
    /// `filterCache`, or transformed now and stored when this is the second time these weight
    /// contents are transformed for this layout; nil when the call transforms chunk by chunk.
    func keptFilters<T: WinogradTransform>(_: T.Type, weight: Tensor, scale: Tensor? = nil, geometry g: Conv2DGeometry, plan: WinogradPlan,
                                           flipped: Bool) -> Tensor? {
        guard let cache = filterCache else { return nil }
        let key = PackedWeightCache.Key(
            contents: weight.contentStamp, scale: scale?.contentStamp,
            kernel: "winograd F(\(T.outputTile)×\(T.outputTile)) \(flipped ? "flipped " : "")chunk \(plan.chunkHeight) panels \(plan.filterPanels.map { "\($0.rows)×\($0.columns)×\($0.depth)" } ?? "none")",
            rows: g.outputChannels, depth: g.inputChannels, groups: 1)
        if let kept = cache.lookup(key) { return kept }
        guard cache.shouldStore(key, bytes: plan.chunks * plan.filterFloats * MemoryLayout<Float>.stride) else { return nil }
        let weight = weight.scalingOutputChannels(by: scale)
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
