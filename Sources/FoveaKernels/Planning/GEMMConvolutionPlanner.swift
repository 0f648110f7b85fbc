import FoveaCore

/// The rules of a backend with one serial GEMM and no convolution kernels of its own (OpenBLAS):
///
/// | pass            | algorithms           | rule                                                        |
/// |-----------------|----------------------|-------------------------------------------------------------|
/// | forward         | winograd4/2, im2col  | Winograd (the setting's tile size) where the policy allows, |
/// |                 |                      | the layer is eligible and `WinogradSetting.pays`; else im2col |
/// | backward-data   | winograd4/2, im2col  | the same rule on `WinogradConvolution.backwardDataGeometry` |
/// | backward-filter | im2col               | always                                                      |
///
/// Under `.always` every eligible layer takes Winograd; under `.never` none.
package struct GEMMConvolutionPlanner: ConvolutionPlanner {
    package let im2col: Im2colConvolution
    package let winograd: WinogradConvolution
    package let setting: WinogradSetting

    package init(im2col: Im2colConvolution, winograd: WinogradConvolution, setting: WinogradSetting) {
        self.im2col = im2col
        self.winograd = winograd
        self.setting = setting
    }

    package func algorithms(for pass: ConvolutionPass) -> [ConvolutionAlgorithm] {
        pass == .backwardFilter ? [.im2col] : [.winograd4, .winograd2, .im2col]
    }

    package func reasonUnavailable(_ algorithm: ConvolutionAlgorithm, for g: Conv2DGeometry, pass: ConvolutionPass) -> String? {
        guard let tileSize = algorithm.winogradTileSize else { return nil }
        return Self.winogradUnavailability(winograd, tileSize: tileSize, for: g, pass: pass)
    }

    package func plan(_ algorithm: ConvolutionAlgorithm, for g: Conv2DGeometry, pass: ConvolutionPass) -> ConvolutionPlan {
        if let tileSize = algorithm.winogradTileSize {
            let tiles = Self.winogradGeometry(g, pass: pass).flatMap { winograd.tilePlan(for: $0, tileSize: tileSize) }!
            return Self.winogradPlan(tiles, pass: pass)
        }
        return ConvolutionPlan(algorithm: .im2col, pass: pass, workspaceBytes: im2col.workspaceBytes(for: g, pass: pass))
    }

    package func chosenPlan(for g: Conv2DGeometry, pass: ConvolutionPass) -> ConvolutionPlan {
        if pass != .backwardFilter, setting.policy != .never, let h = Self.winogradGeometry(g, pass: pass),
           let tiles = winograd.tilePlan(for: h, tileSize: setting.tileSize),
           setting.policy == .always || WinogradSetting.pays(tiles, h) {
            return Self.winogradPlan(tiles, pass: pass)
        }
        return plan(.im2col, for: g, pass: pass)
    }

    /// The forward geometry Winograd runs for `pass` of `g`: `g` itself, or for backward-data
    /// `WinogradConvolution.backwardDataGeometry(g)`; nil for backward-filter or when there is none.
    package static func winogradGeometry(_ g: Conv2DGeometry, pass: ConvolutionPass) -> Conv2DGeometry? {
        switch pass {
        case .forward: WinogradPlan.isEligible(g) ? g : nil
        case .backwardData: WinogradConvolution.backwardDataGeometry(g)
        case .backwardFilter: nil
        }
    }

    /// The plan running `tiles` for `pass`.
    package static func winogradPlan(_ tiles: WinogradPlan, pass: ConvolutionPass) -> ConvolutionPlan {
        ConvolutionPlan(algorithm: .winograd(tiles.tileSize), pass: pass, workspaceBytes: tiles.workspaceBytes, winograd: tiles)
    }

    /// Why Winograd F(`tileSize`) cannot run `pass` of `g` on `winograd`, or nil when it can.
    package static func winogradUnavailability(_ winograd: WinogradConvolution, tileSize: WinogradTileSize, for g: Conv2DGeometry,
                                              pass: ConvolutionPass) -> String? {
        guard WinogradPlan.isEligible(g) else {
            return "Winograd needs a 3×3 kernel, stride 1, dilation 1 and one group, got a \(g.kernelHeight)×\(g.kernelWidth) kernel, \(g.options)"
        }
        guard let h = winogradGeometry(g, pass: pass) else {
            return pass == .backwardData ? "Winograd backward-data needs padding ≤ 2, got \(g.options.padding)" : "Winograd has no \(pass)"
        }
        guard winograd.tilePlan(for: h, tileSize: tileSize) != nil else {
            return "its tiles do not fit the workspace limit of \(winograd.workspaceLimitBytes) bytes"
        }
        return nil
    }
}
