@testable import FoveaDispatch
import Fovea
import FoveaKernels

extension DispatchDevice {
    /// The algorithm the device's rules choose for `pass` of `g` (no override).
    func chosen(_ g: Conv2DGeometry, _ pass: ConvolutionPass) -> ConvolutionAlgorithm {
        planner.chosenPlan(for: g, pass: pass).algorithm
    }
}

extension WinogradConvolution {
    /// `forward` with this driver's F(`tileSize`) tile plan for `g`, or nil when `g` is not eligible.
    func forward(tileSize: WinogradTileSize, input: Tensor, weight: Tensor, bias: Tensor?, epilogue: ConvolutionEpilogue = .none,
                 geometry g: Conv2DGeometry) -> Tensor? {
        tilePlan(for: g, tileSize: tileSize).map { forward(input: input, weight: weight, bias: bias, epilogue: epilogue, geometry: g, plan: $0) }
    }

    /// `backwardData` with this driver's F(`tileSize`) tile plan for the flipped geometry, or nil when there is none.
    func backwardData(tileSize: WinogradTileSize, gradOutput: Tensor, weight: Tensor, geometry g: Conv2DGeometry) -> Tensor? {
        WinogradConvolution.backwardDataGeometry(g).flatMap { tilePlan(for: $0, tileSize: tileSize) }
            .map { backwardData(gradOutput: gradOutput, weight: weight, geometry: g, plan: $0) }
    }
}

extension DirectGEMMConvolution {
    /// `forward` with this driver's blocking for `g` (the device passes its plan's).
    func forward(input: Tensor, weight: Tensor, bias: Tensor?, epilogue: ConvolutionEpilogue = .none, geometry g: Conv2DGeometry) -> Tensor {
        forward(input: input, weight: weight, bias: bias, epilogue: epilogue, geometry: g, blocking: blocking(for: g))
    }
}

extension DirectGEMMBackwardFilter {
    /// `backwardFilter` with this driver's blocking for `g` (the device passes its plan's).
    func backwardFilter(gradOutput: Tensor, input: Tensor, geometry g: Conv2DGeometry) -> Tensor {
        backwardFilter(gradOutput: gradOutput, input: input, geometry: g, blocking: blocking(for: g))
    }
}

extension ShiftedImageConvolution {
    /// `forward` with this driver's blocking for `g` (the device passes its plan's).
    func forward(input: Tensor, weight: Tensor, bias: Tensor?, epilogue: ConvolutionEpilogue = .none, geometry g: Conv2DGeometry) -> Tensor {
        forward(input: input, weight: weight, bias: bias, epilogue: epilogue, geometry: g, blocking: blocking(for: g))
    }
}

extension ShiftedImageBackwardFilter {
    /// `backwardFilter` with this driver's blocking for `g` (the device passes its plan's).
    func backwardFilter(gradOutput: Tensor, input: Tensor, geometry g: Conv2DGeometry) -> Tensor {
        backwardFilter(gradOutput: gradOutput, input: input, geometry: g, blocking: blocking(for: g))
    }
}
