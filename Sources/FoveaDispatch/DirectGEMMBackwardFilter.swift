import CFoveaKernels
import FoveaCore
import FoveaKernels

/// The Dispatch backend's backward-filter with the AVX-512 or AVX2 kernel: per group and image one
/// packed GEMM
///
///     ∂W_group [K/g × (C/g)·R·S] (+)= ∂y[n, group's K/g channels] [K/g × P·Q] · colᵀ [P·Q × (C/g)·R·S]
///
/// whose B panels (NR = 32 or 16 taps × a depth block of output positions) are made straight from
/// the image (`fovea_pack_convolution_transposed_panel32_avx512`, `…_panel16_avx2`: the panel's
/// im2col rows into a per-thread scratch of at most NR × KC floats that stays in cache, then a
/// register transpose; for a 1×1 layer colᵀ is the image's rows, transposed as they are packed),
/// so no im2col tile is written to memory and no workspace is needed beyond that scratch (and the
/// position split's partial sums).
///
/// **Split**, two ways, both giving bit-identical results at any thread count:
/// - by taps (layers with at least `minimumPanels` tap panels): the GEMM columns in whole NR-wide
///   panels, `parts` blocks per group. Images are summed one after another inside every block, and
///   every element of ∂W is reduced over positions by the same sequence of micro-kernel calls
///   whatever the blocks are.
/// - by positions (fewer taps, e.g. a first layer on 3 channels: 27 taps, 1–2 panels, which
///   splitting taps could not share): the batch's (image, position) range is cut into
///   `WorkGrain.items` fixed stretches, each summed into its own partial ∂W, and the partials are
///   added in stretch order. The stretches depend on the shapes alone.
struct DirectGEMMBackwardFilter: Sendable {
    let threads: Int
    let kernel: GEMMKernel
    /// The most bytes the position split's partial sums may take (the device's workspace limit).
    var workspaceLimitBytes = Im2colConvolution.defaultWorkspaceLimitBytes

    /// The fewest tap panels (over all groups) a layer needs for the tap split: with fewer, two
    /// workers could not share it. A fixed number, not the thread count, so that the choice (hence
    /// the rounding) is the same at any thread count.
    static let minimumPanels = 4

    /// How a backward-filter call of `g` is split among workers, from `blocking(for:)` (the
    /// planner keeps it in the plan). The panels of a group's C/g·R·S GEMM columns are
    /// `panels = ⌈C/g·R·S / NR⌉`.
    enum Blocking: Equatable, Sendable {
        /// The tap split: each group's columns in `parts` blocks of `panelsPerPart` panels,
        /// parts = min(panels, max(1, ⌈2·threads / groups⌉)), panelsPerPart = ⌈panels / parts⌉.
        case taps(parts: Int, panelsPerPart: Int)
        /// The position split: the batch's N·P·Q (image, position) pairs in `stretches`
        /// (`WorkGrain.items`) stretches of `length` = ⌈N·P·Q / stretches⌉, each summed into its
        /// own partial ∂W of `partialFloats` = K · C/g·R·S floats.
        case positions(stretches: Int, length: Int, partialFloats: Int)

        var splitsTaps: Bool {
            if case .taps = self { true } else { false }
        }

        /// The workspace one call allocates: the position split's partial sums,
        /// stretches · partialFloats · 4 bytes (the per-thread panel scratch, NR × KC floats, is
        /// reused across calls).
        var workspaceBytes: Int {
            switch self {
            case .taps: 0
            case .positions(let stretches, _, let partialFloats): stretches * partialFloats * MemoryLayout<Float>.stride
            }
        }
    }

    /// Taken for every layer whose workspace fits the limit, with the AVX-512 (12×32) or AVX2
    /// (6×16) kernel.
    func handles(_ g: Conv2DGeometry) -> Bool {
        transposedPanel != nil && blocking(for: g).workspaceBytes <= workspaceLimitBytes
    }

    /// The C packer of one NR-tap transposed panel for this kernel, or nil where there is none.
    private var transposedPanel: TransposedPanelPacker? {
        switch (kernel.instructionSet, kernel.nr) {
        case (.avx512, 32): { window, image, column, length, tap, live, scratch, out in
            fovea_pack_convolution_transposed_panel32_avx512(window, image, column, length, tap, live, scratch, out)
        }
        case (.avx2, 16): { window, image, column, length, tap, live, scratch, out in
            fovea_pack_convolution_transposed_panel16_avx2(window, image, column, length, tap, live, scratch, out)
        }
        default: nil
        }
    }

    /// `fovea_pack_convolution_transposed_panel32_avx512`'s signature.
    private typealias TransposedPanelPacker = @convention(c) (
        _ window: UnsafePointer<fovea_convolution_window>?, _ image: UnsafePointer<Float>?, _ firstColumn: Int, _ length: Int,
        _ firstTap: Int, _ live: Int32, _ scratch: UnsafeMutablePointer<Float>?, _ out: UnsafeMutablePointer<Float>?
    ) -> Void

    /// The split of a call of `g`: by taps where `splitsTaps`, else by positions. Whether the
    /// taps are split does not depend on the thread count; the tap split's parts do.
    func blocking(for g: Conv2DGeometry) -> Blocking {
        let panels = panels(g)
        guard splitsTaps(g) else {
            let stretches = WorkGrain.items
            return .positions(stretches: stretches, length: (g.batch * g.columnCount + stretches - 1) / stretches,
                              partialFloats: partialFloats(g))
        }
        let parts = min(panels, max(1, (2 * threads + g.groups - 1) / g.groups))
        return .taps(parts: parts, panelsPerPart: (panels + parts - 1) / parts)
    }

    /// The partial sums the position split may take and still be preferred to the tap split: the
    /// position split packs every ∂y and image block once (the tap split packs ∂y again for each
    /// of its parts) and cuts any layer evenly, while summing its partials costs little as long as
    /// they stay small (the bound between measured wins and losses: Docs/Performance.md,
    /// "Measurements behind the code").
    static let defaultSmallPartialsBytes = 5 << 19  // 2.5 MiB
    /// `defaultSmallPartialsBytes`, or 0 in tests that need the tap split on small layers.
    var smallPartialsBytes = Self.defaultSmallPartialsBytes

    /// Whether the taps are split (else the positions). Positions when their partial sums are small
    /// (`defaultSmallPartialsBytes`), and for 1×1 layers whose stretches reach a full depth block (`kc`
    /// positions: split by taps, each part would pack all of ∂y again for a GEMM only C/parts
    /// columns wide); otherwise taps, given at least `minimumPanels` tap panels to share.
    private func splitsTaps(_ g: Conv2DGeometry) -> Bool {
        if WorkGrain.items * partialFloats(g) * MemoryLayout<Float>.stride <= smallPartialsBytes { return false }
        if g.isPointwise && (g.batch * g.columnCount + WorkGrain.items - 1) / WorkGrain.items >= kernel.kc { return false }
        return panels(g) * g.groups >= Self.minimumPanels
    }

    /// K · C/g·R·S: the floats of one ∂W (one partial sum of the position split).
    private func partialFloats(_ g: Conv2DGeometry) -> Int { g.groups * g.outputChannelsPerGroup * g.columnRows }

    private func panels(_ g: Conv2DGeometry) -> Int { (g.columnRows + kernel.nr - 1) / kernel.nr }

    /// The operands of one call, for its workers: `multiply` computes
    /// `result[0..<m, taps] (= or +=) ∂y[image, group's rows, positions] · colᵀ[positions, taps]`
    /// (result row stride C/g·R·S) for one image and group, on the calling thread.
    private struct Operands: @unchecked Sendable {
        let gradOutput: UnsafePointer<Float>, input: UnsafePointer<Float>
        let window: UnsafePointer<fovea_convolution_window>
        let geometry: Conv2DGeometry
        let kernel: GEMMKernel
        let transposedPanel: TransposedPanelPacker

        func multiply(image: Int, group: Int, taps: Range<Int>, positions: Range<Int>,
                      result: UnsafeMutablePointer<Float>, overwrite: Bool) {
            let g = geometry, kernel = self.kernel
            let m = g.outputChannelsPerGroup, lda = g.columnCount
            let gradients = gradOutput + (image * g.outputChannels + group * m) * lda
            let source = input + (image * g.inputChannels + group * g.inputChannelsPerGroup) * g.inputHeight * g.inputWidth
            let nr = kernel.nr
            guard let scratch = fovea_thread_scratch(2, nr * kernel.kc) else {
                fatalError("DirectGEMMBackwardFilter: could not allocate a \(nr * kernel.kc)-float scratch")
            }
            let (window, transposedPanel) = (self.window, self.transposedPanel)
            let pointwise = g.isPointwise
            PackedGEMM.compute(
                m: m, n: taps.count, k: positions.count, kernel: kernel, c: result, ldc: g.columnRows, overwrite: overwrite,
                packA: { first, count, depth, length, packed in
                    PackedGEMM.packA(transposed: false, a: gradients + positions.lowerBound, lda: lda, rows: first, count: count,
                                     depth: depth, length: length, alpha: 1, mr: kernel.mr,
                                     transposingPacker: kernel.transposingPacker, into: packed)
                },
                packB: { depth, length, first, count, packed in
                    if pointwise {  // colᵀ is the image's rows, transposed
                        PackedGEMM.packB(transposed: true, b: source, ldb: lda, rows: positions.lowerBound + depth, depth: length,
                                         columns: taps.lowerBound + first, count: count, nr: kernel.nr,
                                         transposingPacker: kernel.transposingPacker, into: packed)
                        return
                    }
                    for panel in stride(from: 0, to: count, by: nr) {
                        transposedPanel(window, source, positions.lowerBound + depth, length, taps.lowerBound + first + panel,
                                        Int32(min(nr, count - panel)), scratch, packed + panel * length)
                    }
                })
        }
    }

    /// Runs `body(operands, out)` with the call's operands and `output`'s elements.
    private func withOperands(gradOutput: Tensor, input: Tensor, geometry g: Conv2DGeometry, output: inout Tensor,
                              _ body: (Operands, SendablePointer<Float>) -> Void) {
        var window = fovea_convolution_window(g)
        gradOutput.withUnsafeBufferPointer { dy in
            input.withUnsafeBufferPointer { x in
                output.withUnsafeMutableBufferPointer { out in
                    withUnsafePointer(to: &window) { window in
                        body(Operands(gradOutput: dy.baseAddress!, input: x.baseAddress!, window: window, geometry: g, kernel: kernel,
                                      transposedPanel: transposedPanel!),
                             SendablePointer(out.baseAddress!))
                    }
                }
            }
        }
    }

    /// ∂W `[K, C/g, R, S]` of `g` from ∂y and x, split as `blocking` (`blocking(for: g)`) says.
    func backwardFilter(gradOutput: Tensor, input: Tensor, geometry g: Conv2DGeometry, blocking: Blocking) -> Tensor {
        switch blocking {
        case .taps(let parts, let panelsPerPart):
            byTaps(gradOutput: gradOutput, input: input, geometry: g, parts: parts, panelsPerPart: panelsPerPart)
        case .positions(let stretches, let length, let partialFloats):
            byPositions(gradOutput: gradOutput, input: input, geometry: g, stretches: stretches, length: length,
                        partialFloats: partialFloats)
        }
    }

    /// Work item (group, part) sums its `panelsPerPart` panels of ∂W over every image in order.
    private func byTaps(gradOutput: Tensor, input: Tensor, geometry g: Conv2DGeometry, parts: Int, panelsPerPart: Int) -> Tensor {
        // Every element is written (stored at image 0), so only an empty batch needs zeros.
        var gradWeight = g.batch > 0 ? Tensor(uninitialized: g.weightShape) : Tensor(zeros: g.weightShape)
        let (m, n, positions) = (g.outputChannelsPerGroup, g.columnRows, g.columnCount)
        withOperands(gradOutput: gradOutput, input: input, geometry: g, output: &gradWeight) { operands, dw in
            Parallel.forEach(g.groups * parts, threads: threads) { _, item in
                let (group, part) = (item / parts, item % parts)
                let firstTap = part * panelsPerPart * kernel.nr
                let lastTap = min(n, firstTap + panelsPerPart * kernel.nr)
                guard firstTap < lastTap else { return }
                for image in 0..<g.batch {
                    operands.multiply(image: image, group: group, taps: firstTap..<lastTap, positions: 0..<positions,
                                      result: dw.pointer + group * m * n + firstTap, overwrite: image == 0)
                }
            }
        }
        return gradWeight
    }

    /// Work item (stretch, group) sums its stretch of (image, position) pairs into its partial ∂W;
    /// then ∂W is the sum of the partials in stretch order (`sum`).
    private func byPositions(gradOutput: Tensor, input: Tensor, geometry g: Conv2DGeometry, stretches: Int, length stretch: Int,
                             partialFloats resultSize: Int) -> Tensor {
        let (m, n, positions) = (g.outputChannelsPerGroup, g.columnRows, g.columnCount)
        let total = g.batch * positions
        var partials = Tensor(zeros: [stretches * resultSize])
        withOperands(gradOutput: gradOutput, input: input, geometry: g, output: &partials) { operands, partials in
            Parallel.forEach(stretches * g.groups, threads: threads) { _, item in
                let (index, group) = (item / g.groups, item % g.groups)
                let range = min(total, index * stretch)..<min(total, (index + 1) * stretch)
                var at = range.lowerBound
                while at < range.upperBound {  // one image's part of the stretch at a time
                    let image = at / positions
                    let first = at - image * positions
                    let last = min(positions, range.upperBound - image * positions)
                    operands.multiply(image: image, group: group, taps: 0..<n, positions: first..<last,
                                      result: partials.pointer + index * resultSize + group * m * n, overwrite: at == range.lowerBound)
                    at = image * positions + last
                }
            }
        }
        return sum(partials, stretches: stretches, into: g.weightShape)
    }

    /// ∂W = Σ partials, in stretch order (empty stretches stayed zero).
    private func sum(_ partials: Tensor, stretches: Int, into shape: Shape) -> Tensor {
        let resultSize = shape.count
        var gradWeight = Tensor(uninitialized: shape)
        partials.withUnsafeBufferPointer { partials in
            gradWeight.withUnsafeMutableBufferPointer { dw in
                for i in 0..<resultSize { dw[i] = partials[i] }
                for index in 1..<stretches {
                    let partial = partials.baseAddress! + index * resultSize
                    for i in 0..<resultSize { dw[i] += partial[i] }
                }
            }
        }
        return gradWeight
    }
}
