import Fovea
import FoveaKernels
import FoveaTestSupport
import Testing

/// The im2col workspace of one call stays within `workspaceLimitBytes`, and tiny limits —
/// which force fewer workers, channel chunks in forward and small channel blocks backward —
/// still give naive's results.
@Suite("Convolution workspace bound")
struct WorkspaceBoundTests {
    /// Layers whose column (`C·R·S` Floats) is larger than the tiny limits below.
    static let cases: [ConvCase] = ConvCase.randomized(count: 12, seed: 77) + [
        try! ConvCase(input: [2, 40, 9, 11], weight: [35, 40, 3, 3], options: Conv2DOptions(padding: 1), seed: 1),
        try! ConvCase(input: [1, 24, 7, 7], weight: [6, 8, 5, 5], options: Conv2DOptions(stride: 2, padding: 2, groups: 3), seed: 2),
        try! ConvCase(input: [3, 64, 5, 6], weight: [16, 64, 3, 3], options: Conv2DOptions(padding: 1, dilation: 2), seed: 3),
    ]

    static let devices: [LabeledDevice] = [1024, 4096].flatMap { limit in
        [LabeledDevice("dispatch ×3, \(limit) B limit", DispatchDevice(threads: 3, fallback: TestDevices.naive, workspaceLimitBytes: limit)),
         LabeledDevice("openblas ×2, \(limit) B limit", OpenBLASDevice(threads: 2, fallback: TestDevices.naive, workspaceLimitBytes: limit))]
    }

    @Test(arguments: devices)
    func smallLimitsStillAgreeWithNaive(device: LabeledDevice) {
        let naive = TestDevices.naive
        for convCase in Self.cases {
            let g = convCase.geometry
            expectClose(device.device.conv2dForward(input: convCase.input, weight: convCase.weight, bias: convCase.bias, epilogue: .relu, geometry: g),
                        naive.activationForward(.relu, input: naive.conv2dForward(input: convCase.input, weight: convCase.weight, bias: convCase.bias, geometry: g)),
                        absolute: 1e-4, relative: 1e-4, "\(device) forward \(convCase)")
            expectClose(device.device.conv2dBackwardData(gradOutput: convCase.gradOutput, weight: convCase.weight, geometry: g),
                        naive.conv2dBackwardData(gradOutput: convCase.gradOutput, weight: convCase.weight, geometry: g),
                        absolute: 1e-4, relative: 1e-4, "\(device) backward-data \(convCase)")
            let filter = device.device.conv2dBackwardFilter(gradOutput: convCase.gradOutput, input: convCase.input, geometry: g)
            let expected = naive.conv2dBackwardFilter(gradOutput: convCase.gradOutput, input: convCase.input, geometry: g)
            expectClose(filter.weight, expected.weight, absolute: 1e-3, relative: 1e-4, "\(device) backward-filter \(convCase)")
        }
    }

    @Test func planNeverExceedsTheLimit() throws {
        for limit in [1024, 4096, 1 << 20, Im2colConvolution.defaultWorkspaceLimitBytes] {
            for threads in [1, 2, 3, 16, 64] {
                let convolution = Im2colConvolution(threads: threads, workspaceLimitBytes: limit, gemm: OpenBLAS.sgemm)
                for convCase in Self.cases {
                    for pass in ConvolutionPass.allCases {
                        let bytes = convolution.workspaceBytes(for: convCase.geometry, pass: pass)
                        #expect(bytes <= limit, "\(pass) \(convCase) with \(threads) threads: \(bytes) B > limit \(limit) B")
                        // The path each device takes (Winograd, direct GEMM, im2col) stays within it too.
                        let devices: [any GEMMBackedDevice] = [DispatchDevice(threads: threads, fallback: nil, workspaceLimitBytes: limit),
                                                               OpenBLASDevice(threads: threads, fallback: nil, workspaceLimitBytes: limit)]
                        for device in devices {
                            let taken = try device.convolutionPlan(for: convCase.geometry, pass: pass).workspaceBytes
                            #expect(taken <= limit, "\(device.name) \(pass) \(convCase) with \(threads) threads: \(taken) B > limit \(limit) B")
                        }
                    }
                }
            }
        }
    }

    /// The default total is 64 MiB, and a device made with a limit passes it to its convolution.
    @Test func defaultsAndDeviceParameter() throws {
        #expect(Im2colConvolution.defaultWorkspaceLimitBytes == 64 << 20)
        #expect(DispatchDevice(threads: 2, fallback: nil).convolution.workspaceLimitBytes == 64 << 20)
        let device = try #require(try Devices.make("openblas", threads: 2, workspaceBytes: 3 << 20) as? OpenBLASDevice)
        #expect(device.convolution.workspaceLimitBytes == 3 << 20)
        #expect((device.fallback as? DispatchDevice)?.convolution.workspaceLimitBytes == 3 << 20)
        #expect(throws: FoveaError.self) { try Devices.make("dispatch", workspaceBytes: 0) }
    }

    @Test func environmentSetsTheLimitInMiB() throws {
        let device = try #require(try Devices.fromEnvironment(["FOVEA_DEVICE": "dispatch", "FOVEA_WORKSPACE_MB": "16"]) as? DispatchDevice)
        #expect(device.convolution.workspaceLimitBytes == 16 << 20)
        let unset = try #require(try Devices.fromEnvironment(["FOVEA_DEVICE": "dispatch"]) as? DispatchDevice)
        #expect(unset.convolution.workspaceLimitBytes == Im2colConvolution.defaultWorkspaceLimitBytes)
    }

    @Test(arguments: ["0", "-4", "64MB", "1.5", " 8", "lots", "99999999999"])
    func badEnvironmentValueIsAClearError(text: String) {
        do {
            _ = try Devices.fromEnvironment(["FOVEA_WORKSPACE_MB": text])
            Issue.record("FOVEA_WORKSPACE_MB='\(text)' was accepted")
        } catch let error as FoveaError {
            #expect(error.message.contains("FOVEA_WORKSPACE_MB") && error.message.contains("'\(text)'"), "\(error.message)")
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }
}
