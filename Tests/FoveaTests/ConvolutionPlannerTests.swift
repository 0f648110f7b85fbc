@testable import FoveaDispatch
import FoveaKernels
import Fovea
import FoveaTestSupport
import Testing

/// The convolution planners: which algorithm each backend chooses for representative layers,
/// forcing each algorithm per pass (`ConvolutionAlgorithmOverride`, `FOVEA_CONV_ALGORITHM`), and
/// the errors for a forced algorithm that cannot run a layer and for a bad variable value.
@Suite("Convolution planner")
struct ConvolutionPlannerTests {
    static let hasAVX512 = GEMMKernel.available.contains { $0.isAVX512 }

    static func geometry(_ batch: Int, _ c: Int, _ k: Int, _ size: Int, kernel: Int = 3, stride: Int = 1,
                         padding: Int? = nil) throws -> Conv2DGeometry {
        try Conv2DGeometry(inputShape: [batch, c, size, size], weightShape: [k, c, kernel, kernel],
                           options: Conv2DOptions(stride: Size2D(stride), padding: Size2D(padding ?? kernel / 2)))
    }

    static func algorithms(_ device: any ConvolutionPlanning, _ g: Conv2DGeometry) throws -> [ConvolutionAlgorithm] {
        try ConvolutionPass.allCases.map { try device.convolutionPlan(for: g, pass: $0).algorithm }
    }

    /// OpenBLAS: Winograd F(4×4) forward and backward-data where `WinogradSetting.pays`, im2col elsewhere
    /// and for every backward-filter.
    @Test func openBLASChoices() throws {
        let device = OpenBLASDevice(threads: 2, fallback: nil)
        #expect(try Self.algorithms(device, Self.geometry(1, 256, 256, 56)) == [.winograd4, .winograd4, .im2col])
        #expect(try Self.algorithms(device, Self.geometry(1, 3, 64, 224)) == [.im2col, .im2col, .im2col])
        #expect(try Self.algorithms(device, Self.geometry(1, 384, 384, 13, padding: 0)) == [.im2col, .im2col, .im2col])
        #expect(try Self.algorithms(device, Self.geometry(8, 64, 128, 56, stride: 2)) == [.im2col, .im2col, .im2col])
        let f2x2 = OpenBLASDevice(threads: 2, fallback: nil, winogradTileSize: .f2x2)
        #expect(try Self.algorithms(f2x2, Self.geometry(1, 256, 256, 56)) == [.winograd2, .winograd2, .im2col])
    }

    /// Dispatch with the AVX-512 kernels: the cost model's Winograd tile size, the pointwise kernel
    /// for 1×1 layers on at least 64 channels, the channel lanes for every other layer larger than
    /// 1×1; backward-data direct for pointwise layers,
    /// in the channel lanes for stride-1 layers with rows narrower than 16 (7×7), else im2col;
    /// shifted rows, direct or im2col for backward-filter.
    /// The same at 1, 2 and 8 threads.
    @Test(.enabled(if: Self.hasAVX512, "the shifted and direct paths need AVX-512"))
    func dispatchChoices() throws {
        let table: [(Conv2DGeometry, [ConvolutionAlgorithm])] = [
            (try Self.geometry(1, 256, 256, 56), [.winograd4, .winograd4, .direct]),             // VGG16 256→256
            (try Self.geometry(1, 384, 256, 13), [.winograd2, .winograd2, .direct]),             // AlexNet conv4
            (try Self.geometry(1, 512, 512, 7), [.channelLanes, .channelLanes, .direct]),        // ResNet 512→512 @7
            (try Self.geometry(1, 3, 64, 224), [.channelLanes, .im2col, .direct]),               // VGG16 first layer
            (try Self.geometry(1, 64, 256, 56, kernel: 1), [.pointwise, .direct, .direct]),      // ResNet 64→256 1×1
            (try Self.geometry(1, 32, 64, 56, kernel: 1), [.shiftedImage, .direct, .direct]),    // 1×1 on few channels
            (try Self.geometry(8, 64, 192, 27, kernel: 5), [.channelLanes, .im2col, .direct]),   // AlexNet conv2
            (try Self.geometry(1, 256, 64, 56, kernel: 1), [.pointwise, .direct, .shiftedRows]), // ResNet 256→64 1×1
            (try Self.geometry(1, 1024, 256, 14, kernel: 1), [.pointwise, .direct, .direct]),    // ResNet 1024→256 1×1
            (try Self.geometry(1, 256, 512, 56, kernel: 1, stride: 2), [.pointwise, .direct, .direct]),  // ResNet downsample 1×1/2
            (try Self.geometry(1, 64, 256, 56, stride: 2), [.channelLanes, .im2col, .direct]),   // strided, many outputs
            (try Self.geometry(1, 3, 64, 224, kernel: 7, stride: 2), [.channelLanes, .im2col, .direct]),  // ResNet stem
        ]
        for threads in [1, 2, 8] {
            let device = DispatchDevice(threads: threads, fallback: nil)
            for (g, expected) in table {
                #expect(try Self.algorithms(device, g) == expected, "\(g) at \(threads) threads")
            }
        }
        // Under FOVEA_WINOGRAD=off the same layer goes to the channel lanes; its backward-data,
        // with rows of 56, to im2col.
        let off = DispatchDevice(threads: 2, fallback: nil, winograd: .never)
        #expect(try Self.algorithms(off, Self.geometry(1, 256, 256, 56)) == [.channelLanes, .im2col, .direct])
    }

    /// Dispatch with the AVX2 6×16 kernel (what `auto` runs on a CPU without AVX-512; planning
    /// only, so an AVX-512 CPU checks it too): its Winograd transforms gather any 8 tiles, so
    /// a layer whose F(4×4) filters take at most 8 MiB is priced by the tiles it transforms, and
    /// DenseNet's growth layers take F(4×4) at 14×14 and 28×28 (F(2×2) when priced by padded
    /// tile rows); larger layers are priced as with AVX-512 (F(2×2) at 14×14); the
    /// shifted image runs the stem and the narrow 1×1 layers as with AVX-512, the other strided
    /// layers at batch 1 only; backward-filter takes the shifted rows for at most 64 outputs and at
    /// least 256 taps (stride 1), else the direct GEMM on 16-tap transposed panels.
    @Test(.enabled(if: GEMMKernel.available.contains { $0.name == GEMMKernel.avx2.name }, "needs AVX2 and FMA"))
    func dispatchChoicesWithTheAVX2Kernel() throws {
        // Forward, backward-filter.
        let table: [(Conv2DGeometry, ConvolutionAlgorithm, ConvolutionAlgorithm)] = [
            (try Self.geometry(1, 128, 32, 28), .winograd4, .shiftedRows),                   // DenseNet growth @28
            (try Self.geometry(1, 128, 32, 14), .winograd4, .shiftedRows),                   // DenseNet growth @14
            (try Self.geometry(1, 256, 256, 14), .winograd2, .direct),                       // ResNet-50 layer3 3×3 (9.4 MB of F(4×4) filters)
            (try Self.geometry(1, 512, 512, 7), .winograd2, .direct),                        // ResNet-50 layer4 3×3
            (try Self.geometry(1, 3, 64, 224, kernel: 7, stride: 2), .shiftedImage, .direct),  // ResNet stem
            (try Self.geometry(8, 3, 64, 224, kernel: 7, stride: 2), .shiftedImage, .direct),  // … at batch 8 (an image stem)
            (try Self.geometry(8, 128, 128, 56, stride: 2), .direct, .direct),                 // ResNet-50 layer2.0.conv2, batch 8
            (try Self.geometry(1, 64, 256, 56, kernel: 1), .shiftedImage, .direct),          // ResNet 64→256 1×1
            (try Self.geometry(1, 256, 64, 56, kernel: 1), .direct, .shiftedRows),           // ResNet 256→64 1×1
        ]
        for threads in [1, 2, 8] {
            let device = DispatchDevice(threads: threads, fallback: nil, kernel: .avx2)
            for (g, forward, backwardFilter) in table {
                #expect(try device.convolutionPlan(for: g, pass: .forward).algorithm == forward, "\(g) at \(threads) threads")
                #expect(try device.convolutionPlan(for: g, pass: .backwardFilter).algorithm == backwardFilter, "\(g) at \(threads) threads")
            }
        }
    }

    /// The plan's workspace is the chosen driver's, and forcing an algorithm gives its own.
    @Test func planCarriesTheWorkspaceOfItsAlgorithm() throws {
        let device = OpenBLASDevice(threads: 2, fallback: nil)
        let g = try Self.geometry(1, 256, 256, 56)
        let plan = try device.convolutionPlan(for: g, pass: .forward)
        #expect(plan.workspaceBytes == plan.winograd?.workspaceBytes && plan.workspaceBytes > 0 && !plan.forced)
        let forced = OpenBLASDevice(threads: 2, fallback: nil, algorithms: ConvolutionAlgorithmOverride([.forward: .im2col]))
        let im2col = try forced.convolutionPlan(for: g, pass: .forward)
        #expect(im2col.algorithm == .im2col && im2col.forced && im2col.winograd == nil)
        #expect(im2col.workspaceBytes == forced.convolution.workspaceBytes(for: g, pass: .forward))
    }

    /// The plan a Dispatch device keeps carries the blocking its driver runs: for every algorithm
    /// of every pass, forced on layers it can run and as the rules choose it, at 1 and 3 threads,
    /// the kept plan's blocking is the driver's `blocking(for:)` (Winograd: its tile plan; im2col:
    /// its workspace), the plan's workspace is the blocking's, and `convolutionPlan(for:pass:)`
    /// reports the kept plan.
    @Test func planCarriesTheBlockingItsDriverRuns() throws {
        let geometries = [try Self.geometry(2, 16, 24, 10), try Self.geometry(8, 64, 128, 28, stride: 2),
                          try Self.geometry(1, 256, 64, 56, kernel: 1), try Self.geometry(4, 32, 32, 13, padding: 0),
                          try Self.geometry(1, 3, 64, 224)]
        var checked = 0
        for threads in [1, 3] {
            let planner = DispatchDevice(threads: threads, fallback: nil).planner
            for g in geometries {
                for pass in ConvolutionPass.allCases {
                    let chosen = DispatchDevice(threads: threads, fallback: nil)
                    let plan = try chosen.dispatchPlan(for: g, pass: pass)
                    #expect(!plan.plan.forced)
                    try Self.expectDriversBlocking(plan, of: chosen, g, pass, "\(g) \(pass) chosen at \(threads) threads")
                    for algorithm in planner.algorithms(for: pass) where planner.unavailability(of: algorithm, for: g, pass: pass) == nil {
                        let device = DispatchDevice(threads: threads, fallback: nil, algorithms: ConvolutionAlgorithmOverride([pass: algorithm]))
                        let forced = try device.dispatchPlan(for: g, pass: pass)
                        #expect(forced.plan.algorithm == algorithm && forced.plan.forced)
                        try Self.expectDriversBlocking(forced, of: device, g, pass, "\(g) \(pass)=\(algorithm) at \(threads) threads")
                        checked += 1
                    }
                }
            }
        }
        #expect(checked >= (Self.hasAVX512 ? 40 : 20))
    }

    static func expectDriversBlocking(_ plan: DispatchConvolutionPlan, of device: DispatchDevice, _ g: Conv2DGeometry,
                                      _ pass: ConvolutionPass, _ label: String) throws {
        #expect(try device.convolutionPlan(for: g, pass: pass) == plan.plan, "\(label)")
        #expect(try device.dispatchPlan(for: g, pass: pass) == plan, "\(label): kept")
        #expect(plan.plan.workspaceBytes == plan.blocking.workspaceBytes && plan.plan.algorithm == plan.blocking.algorithm, "\(label)")
        switch plan.blocking {
        case .winograd(let tiles):
            let h = try #require(GEMMConvolutionPlanner.winogradGeometry(g, pass: pass))
            #expect(tiles == device.winograd.tilePlan(for: h, tileSize: tiles.tileSize) && plan.plan.winograd == tiles, "\(label)")
        case .direct(let blocking):
            #expect(pass == .forward && blocking == device.directConvolution.blocking(for: g), "\(label)")
        case .directBackwardFilter(let blocking):
            #expect(pass == .backwardFilter && blocking == device.directBackwardFilter.blocking(for: g), "\(label)")
        case .directBackwardData(let blocking):
            let h = try #require(DirectGEMMConvolution.pointwiseBackwardDataGeometry(g))
            #expect(pass == .backwardData && blocking == device.directConvolution.blocking(for: h), "\(label)")
        case .shiftedImage(let blocking):
            #expect(pass == .forward && blocking == device.shiftedImage.blocking(for: g), "\(label)")
        case .pointwise(let blocking, let prologueBlocking):
            #expect(pass == .forward && blocking == device.pointwise.blocking(for: g)
                    && prologueBlocking == device.directConvolution.blocking(for: g), "\(label)")
        case .channelLanes(let blocking) where pass == .backwardData:
            let h = try #require(ChannelLanesConvolution.backwardDataGeometry(g))
            #expect(blocking == device.channelLanes.blocking(for: h), "\(label)")
        case .channelLanes(let blocking):
            #expect(pass == .forward && blocking == device.channelLanes.blocking(for: g), "\(label)")
        case .shiftedRows(let blocking):
            #expect(pass == .backwardFilter && blocking == device.shiftedBackwardFilter.blocking(for: g), "\(label)")
        case .im2col(let bytes):
            #expect(bytes == device.convolution.workspaceBytes(for: g, pass: pass), "\(label)")
        }
    }

    /// Every algorithm each backend has, forced for its pass on a layer it can run (3×3, stride 1,
    /// padding 1, one group), runs that algorithm and agrees with `naive`; on a CPU without the
    /// AVX-512 kernels the shifted and direct backward-filter paths are errors instead.
    @Test(arguments: ["dispatch", "openblas"])
    func forcedAlgorithmsRunAndAgreeWithNaive(backend: String) throws {
        let threeByThree = try Self.geometry(2, 16, 24, 10)
        // The direct backward-data runs pointwise layers only (as a forward with Wᵀ).
        let pointwise = try Conv2DGeometry(inputShape: [2, 20, 9, 11], weightShape: [24, 20, 1, 1], options: Conv2DOptions())
        let naive = TestDevices.naive
        let planner: any ConvolutionPlanner = backend == "dispatch"
            ? DispatchDevice(threads: 2, fallback: nil).planner : OpenBLASDevice(threads: 2, fallback: nil).planner
        var ran = 0
        for pass in ConvolutionPass.allCases {
            for algorithm in planner.algorithms(for: pass) {
                let device = try Devices.make(backend, threads: 2, algorithms: ConvolutionAlgorithmOverride([pass: algorithm]))
                let label = "\(backend) \(pass)=\(algorithm)"
                let g = (pass == .backwardData && algorithm == .direct) || algorithm == .pointwise ? pointwise : threeByThree
                let input = Tensor.randomNormal(g.inputShape, seed: 31)
                let weight = Tensor.randomNormal(g.weightShape, standardDeviation: 0.1, seed: 32)
                let bias = Tensor.randomNormal([g.outputChannels], seed: 33)
                let gradOutput = Tensor.randomNormal(g.outputShape, seed: 34)
                guard planner.unavailability(of: algorithm, for: g, pass: pass) == nil else {
                    // Without AVX-512 or AVX2 the shifted-image forward and the shifted-rows and
                    // direct backward-filters cannot run; without AVX-512 the pointwise forward.
                    let runs = algorithm == .pointwise || algorithm == .channelLanes ? GEMMKernel.best.isAVX512 : GEMMKernel.best.isNative
                    #expect(!runs, "\(label) should run \(g)")
                    #expect(throws: FoveaError.self) { try device.checkConvolutionPlan(for: g, pass: pass) }
                    continue
                }
                let plan = try #require(device as? any ConvolutionPlanning).convolutionPlan(for: g, pass: pass)
                #expect(plan.algorithm == algorithm && plan.forced, "\(label): \(plan)")
                switch pass {
                case .forward:
                    expectClose(try device.conv2d(input, weight: weight, bias: bias, options: g.options),
                                naive.conv2dForward(input: input, weight: weight, bias: bias, geometry: g), absolute: 1e-3, relative: 1e-4, label)
                case .backwardData:
                    expectClose(try device.conv2dGradientInput(gradOutput: gradOutput, weight: weight, inputShape: g.inputShape, options: g.options),
                                naive.conv2dBackwardData(gradOutput: gradOutput, weight: weight, geometry: g), absolute: 1e-3, relative: 1e-4, label)
                case .backwardFilter:
                    let gradients = try device.conv2dGradientFilter(gradOutput: gradOutput, input: input, weightShape: g.weightShape, options: g.options)
                    let expected = naive.conv2dBackwardFilter(gradOutput: gradOutput, input: input, geometry: g)
                    expectClose(gradients.weight, expected.weight, absolute: 1e-3, relative: 1e-4, label)
                    expectClose(gradients.bias, expected.bias, absolute: 1e-3, relative: 1e-4, label)
                }
                ran += 1
            }
        }
        let dispatchRuns = GEMMKernel.best.isAVX512 ? 14 : GEMMKernel.best.isNative ? 12 : 9
        #expect(ran >= (backend == "openblas" ? 5 : dispatchRuns))
    }

    /// A forced algorithm that cannot run a layer is a thrown error naming the algorithm, the pass,
    /// the geometry and why — from the checked entry point and from the layer.
    @Test func forcedAlgorithmThatCannotRunThrows() throws {
        let device = try Devices.make("openblas", threads: 2, algorithms: try ConvolutionAlgorithmOverride(parsing: "forward=winograd4"))
        let g = try Self.geometry(1, 4, 8, 9, kernel: 5)
        let input = Tensor.randomNormal(g.inputShape, seed: 1)
        let error = #expect(throws: FoveaError.self) {
            try device.conv2d(input, weight: Tensor.randomNormal(g.weightShape, seed: 2), options: g.options)
        }
        for fragment in ["winograd4", "forward", "\(g)", "3×3 kernel", "5×5"] {
            #expect(error?.message.contains(fragment) == true, "\(String(describing: error)) lacks \(fragment)")
        }
        let layer = try Conv2D(4, 8, kernelSize: 5, padding: 2)
        let layerError = #expect(throws: FoveaError.self) { try layer.forward(input, device: device) }
        #expect(layerError?.message.contains("winograd4") == true, "\(String(describing: layerError))")
        // An algorithm the backend does not have for the pass names the ones it has.
        let noDirect = try Devices.make("check:openblas", threads: 1, algorithms: ConvolutionAlgorithmOverride([.backwardFilter: .direct]))
        let missing = #expect(throws: FoveaError.self) { try noDirect.checkConvolutionPlan(for: g, pass: .backwardFilter) }
        #expect(missing?.message.contains("no direct for backward-filter; it has im2col") == true, "\(String(describing: missing))")
    }

    @Test func overrideParsesPassAlgorithmPairs() throws {
        #expect(try ConvolutionAlgorithmOverride(parsing: nil) == .none)
        #expect(try ConvolutionAlgorithmOverride(parsing: "") == .none)
        let parsed = try ConvolutionAlgorithmOverride(parsing: "forward=winograd4, backward-data=im2col,backward-filter=Shifted-Rows")
        #expect(parsed.algorithms == [.forward: .winograd4, .backwardData: .im2col, .backwardFilter: .shiftedRows])
        #expect(parsed.description == "forward=winograd4,backward-data=im2col,backward-filter=shifted-rows")
        let device = try #require(try Devices.fromEnvironment(["FOVEA_DEVICE": "dispatch", "FOVEA_CONV_ALGORITHM": "forward=direct"]) as? DispatchDevice)
        #expect(device.algorithms == ConvolutionAlgorithmOverride([.forward: .direct]))
    }

    /// A bad `FOVEA_CONV_ALGORITHM` names the variable, the bad value, and the valid passes and algorithms.
    @Test(arguments: ["forward=fast", "sideways=im2col", "forward", "forward=im2col,forward=direct", "forward=im2col,"])
    func badVariableValueIsAnError(text: String) throws {
        let error = #expect(throws: FoveaError.self) {
            try Devices.fromEnvironment(["FOVEA_DEVICE": "dispatch", "FOVEA_CONV_ALGORITHM": text])
        }
        #expect(error?.kind == .invalidArgument)
        for fragment in ["FOVEA_CONV_ALGORITHM", "'\(text)'", "forward, backward-data or backward-filter",
                         "im2col, direct, shifted-image, pointwise, channel-lanes, shifted-rows, winograd2 or winograd4"] {
            #expect(error?.message.contains(fragment) == true, "\(String(describing: error)) lacks \(fragment)")
        }
    }
}
