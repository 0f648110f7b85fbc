@testable import FoveaDispatch
import Fovea
import FoveaTestSupport
import Testing

@Suite("Device selection")
struct DeviceSelectionTests {
    @Test func namesMakeTheirDevices() throws {
        for name in Devices.names {
            let device = try Devices.make(name, threads: 2)
            #expect(device.name == name)
        }
        #expect(try Devices.make("openblas", threads: 3).threadCount == 3)
        #expect(try Devices.make("naive", threads: 3).threadCount == 1)
    }

    @Test func unknownNameListsValidOnes() {
        do {
            _ = try Devices.make("cuda")
            Issue.record("expected an error")
        } catch let error as FoveaError {
            #expect(error.kind == .unknownDevice)
            #expect(error.message.contains("'cuda'"))
            #expect(error.message.contains("naive, dispatch, openblas"), "\(error.message)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func environmentSelectsDeviceAndThreads() throws {
        let device = try Devices.fromEnvironment(["FOVEA_DEVICE": "dispatch", "FOVEA_THREADS": "3"])
        #expect(device.name == "dispatch")
        #expect(device.threadCount == 3)
        #expect(try Devices.fromEnvironment([:]).name == Devices.automaticBackend)
    }

    /// `auto` (the default) is dispatch where a native micro-kernel runs, openblas elsewhere;
    /// `check:auto` checks that backend; the selection line says which and why.
    @Test func automaticPicksTheFastestBackendForThisCPU() throws {
        let expected = GEMMKernel.best.isNative ? "dispatch" : "openblas"
        #expect(Devices.automaticBackend == expected)
        #expect(try Devices.make("auto", threads: 2).name == expected)
        #expect(try Devices.make("AUTO", threads: 1).name == expected)
        #expect(try Devices.fromEnvironment(["FOVEA_DEVICE": ""]).name == expected)
        #expect(Devices.requestedName([:]) == "auto")
        let checked = try Devices.make("check:auto", threads: 1)
        #expect(Devices.describe(checked).hasPrefix("check:\(expected)"), "\(Devices.describe(checked))")
        let device = try Devices.make("auto", threads: 2)
        let line = Devices.selectionLine(device, requested: "auto")
        #expect(line.hasPrefix("device: \(expected) (2 threads)") && line.contains("auto: \(expected)"), "\(line)")
        #expect(!Devices.selectionLine(try Devices.make("openblas", threads: 2), requested: "openblas").contains("auto"))
        #expect(Devices.validNames.hasPrefix("auto, naive, dispatch, openblas"))
    }

    @Test func badEnvironmentIsAClearError() {
        #expect(throws: FoveaError.self) { try Devices.fromEnvironment(["FOVEA_DEVICE": "gpu"]) }
        do {
            _ = try Devices.fromEnvironment(["FOVEA_DEVICE": "gpu"])
        } catch let error as FoveaError {
            #expect(error.kind == .invalidArgument && error.message.contains("FOVEA_DEVICE must be")
                    && error.message.contains("'gpu'") && error.message.contains("naive, dispatch, openblas"), "\(error.message)")
        } catch {}
        do {
            _ = try Devices.fromEnvironment(["FOVEA_THREADS": "zero"])
            Issue.record("expected an error")
        } catch let error as FoveaError {
            #expect(error.message.contains("FOVEA_THREADS") && error.message.contains("'zero'"), "\(error.message)")
        } catch {}
    }

    @Test func scopedDeviceOverridesCurrent() throws {
        let naive = try Devices.make("naive")
        let inside = Devices.with(naive) { Devices.current.name }
        #expect(inside == "naive")
        let nested = try Devices.with(naive) { try Devices.with(Devices.make("dispatch", threads: 1)) { Devices.current.name } }
        #expect(nested == "dispatch")
    }

    @Test func descriptionShowsFallbackChain() throws {
        let text = Devices.describe(try Devices.make("openblas", threads: 2))
        #expect(text == "openblas (2 threads) → dispatch → naive")
    }

    /// `FOVEA_WINOGRAD` is read from the environment given to `fromEnvironment`, not only the process's.
    @Test func winogradSettingComesFromTheGivenEnvironment() throws {
        let off = try #require(try Devices.fromEnvironment(["FOVEA_DEVICE": "dispatch", "FOVEA_WINOGRAD": "off"]) as? DispatchDevice)
        #expect(off.planner.setting.policy == .never)
        let f2 = try #require(try Devices.fromEnvironment(["FOVEA_DEVICE": "openblas", "FOVEA_WINOGRAD": "f2x2"]) as? OpenBLASDevice)
        #expect(f2.planner.setting == WinogradSetting(policy: .automatic, tileSize: .f2x2))
        #expect(throws: FoveaError.self) { try Devices.fromEnvironment(["FOVEA_WINOGRAD": "sometimes"]) }
    }
}

/// The GEMM backends implement GEMM and convolution themselves: with no fallback at all they
/// still run them (a forwarding default would stop the process with "has no fallback device").
@Suite("Backends implement their own operations")
struct OwnImplementationTests {
    @Test(arguments: [DispatchDevice(threads: 2, fallback: nil) as any Device, OpenBLASDevice(threads: 2, fallback: nil)])
    func convolutionAndGEMMWithoutFallback(device: any Device) throws {
        let input = Tensor.randomNormal([1, 2, 5, 5], seed: 1)
        let weight = Tensor.randomNormal([3, 2, 3, 3], seed: 2)
        let output = try device.conv2d(input, weight: weight)
        expectClose(output, try NaiveDevice().conv2d(input, weight: weight), absolute: 1e-4, relative: 1e-4, "\(device)")
        let product = try device.matmul(Tensor.randomNormal([4, 3], seed: 3), Tensor.randomNormal([3, 5], seed: 4))
        #expect(product.shape == [4, 5])
    }
}
