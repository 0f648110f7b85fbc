import Fovea
import FoveaTestSupport
import Testing

/// The checking device on its own: selection by name, the tolerance, the error measure, and every
/// operation of every family going through the comparison.
@Suite("Checking device")
struct CheckingDeviceTests {
    // MARK: Selection

    @Test(arguments: Devices.names)
    func checkPrefixWrapsEveryBackend(_ backend: String) throws {
        let device = try Devices.make("check:\(backend)", threads: 2)
        let checking = try #require(device as? CheckingDevice)
        #expect(checking.name == "check:\(backend)")
        #expect(checking.subject.name == backend)
        #expect(checking.reference.name == "naive")
        #expect(checking.fallback == nil)
        #expect(Devices.describe(checking).hasPrefix("check:\(backend)"))
        #expect(Devices.describe(checking).hasSuffix("against naive"))
    }

    @Test func environmentSelectsCheckingDevice() throws {
        let device = try Devices.fromEnvironment(["FOVEA_DEVICE": "check:dispatch", "FOVEA_THREADS": "3"])
        let checking = try #require(device as? CheckingDevice)
        #expect(checking.subject.name == "dispatch")
        #expect(checking.threadCount == 3)
        #expect(checking.tolerance == .default)
    }

    @Test(arguments: ["check:cuda", "check:", "check:check:naive"])
    func unknownInnerBackendListsValidNames(_ name: String) {
        do {
            _ = try Devices.make(name, threads: 1)
            Issue.record("expected an error for \(name)")
        } catch let error as FoveaError {
            #expect(error.kind == .unknownDevice)
            #expect(error.message.contains("'\(name)'"), "\(error.message)")
            #expect(error.message.contains("naive, dispatch, openblas, check:<backend>"), "\(error.message)")
        } catch {
            Issue.record("unexpected \(error)")
        }
        #expect(throws: FoveaError.self) { try Devices.fromEnvironment(["FOVEA_DEVICE": name]) }
    }

    @Test func unknownDeviceMessageMentionsCheck() {
        do {
            _ = try Devices.fromEnvironment(["FOVEA_DEVICE": "gpu"])
            Issue.record("expected an error")
        } catch let error as FoveaError {
            #expect(error.message.contains("check:<backend>"), "\(error.message)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    // MARK: Tolerance

    @Test func toleranceDefaultsAndOverride() throws {
        #expect(try CheckTolerance.fromEnvironment([:]) == .default)
        #expect(try CheckTolerance.fromEnvironment(["FOVEA_CHECK_TOLERANCE": ""]) == .default)
        #expect(CheckTolerance.default.relative == 1e-3)
        #expect(try CheckTolerance.fromEnvironment(["FOVEA_CHECK_TOLERANCE": "1e-5"]).relative == 1e-5)
        #expect(try CheckTolerance.fromEnvironment(["FOVEA_CHECK_TOLERANCE": "0.02"]).relative == 0.02)
        let device = try Devices.fromEnvironment(["FOVEA_DEVICE": "check:naive", "FOVEA_CHECK_TOLERANCE": "2e-4"])
        #expect((device as? CheckingDevice)?.tolerance.relative == 2e-4)
    }

    @Test(arguments: ["abc", "0", "-1e-3", "inf", "nan", "1e-3x", " 0.02 "])
    func invalidToleranceIsAClearError(_ text: String) {
        for attempt in [{ try CheckTolerance.fromEnvironment(["FOVEA_CHECK_TOLERANCE": text]) as Any },
                        { try Devices.fromEnvironment(["FOVEA_DEVICE": "check:naive", "FOVEA_CHECK_TOLERANCE": text]) as Any }] {
            do {
                _ = try attempt()
                Issue.record("expected an error for '\(text)'")
            } catch let error as FoveaError {
                #expect(error.kind == .invalidArgument)
                #expect(error.message.contains("FOVEA_CHECK_TOLERANCE") && error.message.contains("'\(text)'"), "\(error.message)")
            } catch {
                Issue.record("unexpected \(error)")
            }
        }
    }

    // MARK: The error measure

    /// The normwise definition: max |s − r| over max |r| (or the floor), NaN against NaN agrees.
    @Test func discrepancyIsNormwise() {
        let reference = Tensor(shape: [4], scalars: [4, -8, 0.5, 0])
        let subject = Tensor(shape: [4], scalars: [4, -8, 0.25, 0.01])
        let d = Discrepancy(subject: subject, reference: reference, floor: 1e-5)
        #expect(d.absolute == 0.25)
        #expect(d.relative == 0.25 / 8)

        let zeros = Tensor(zeros: [3])
        let tiny = Discrepancy(subject: Tensor(repeating: 1e-7, shape: [3]), reference: zeros, floor: 1e-5)
        #expect(abs(tiny.relative - 1e-2) < 1e-6, "the floor is the denominator when the reference is all zero")

        let bothNaN = Tensor(shape: [2], scalars: [.nan, 1])
        #expect(Discrepancy(subject: bothNaN, reference: bothNaN, floor: 1e-5) == .zero)
        let oneNaN = Discrepancy(subject: bothNaN, reference: Tensor(shape: [2], scalars: [0, 1]), floor: 1e-5)
        #expect(oneNaN.relative == .infinity)
        #expect(Discrepancy(subject: Tensor(zeros: [2, 1]), reference: Tensor(zeros: [2]), floor: 1e-5) == .incomparable)

        let argmax = Discrepancy(exactSubject: [0, 3, 2], reference: [0, 1, 2])
        #expect(argmax.absolute == 1 && argmax.relative == .infinity)
        #expect(Discrepancy(exactSubject: [5], reference: [5]) == .zero)
    }

    // MARK: Every operation is checked

    /// The 26 operations of the 8 families, and the 7 fused variants, in Sources/FoveaCore/Device/. A family that grows must
    /// grow here too: an operation the checking device forgets either traps (it has no fallback)
    /// or, for the linear defaults composed from `gemm`, shows up as `gemm` instead of itself.
    static let allOperations: Set<String> = [
        "gemm",
        "conv2dForward", "conv2dForward+ReLU", "conv2dBackwardData", "conv2dBackwardData+residual", "conv2dBackwardFilter",
        "maxPool2dForward", "maxPool2dForwardValues", "maxPool2dBackward", "avgPool2dForward", "avgPool2dBackward",
        "adaptiveAvgPool2dForward", "adaptiveAvgPool2dBackward",
        "activationForward", "activationBackward",
        "add", "multiply", "concatenateChannels", "splitChannels",
        "batchNormTraining", "batchNormTraining+ReLU", "batchNormTraining+residual+ReLU", "batchNormInference", "batchNormInference+ReLU",
        "batchNormBackward", "batchNormBackward+ReLU", "batchNormBackward+residual+ReLU",
        "localResponseNormForward", "localResponseNormBackward",
        "softmaxForward", "softmaxBackward",
        "linearForward", "linearBackward",
    ]

    /// Calls every operation once on `device`, with small random operands.
    static func exerciseEveryOperation(on device: any Device) throws {
        let x = Tensor.randomNormal([2, 3, 6, 6], seed: 1)
        let w = Tensor.randomNormal([4, 3, 3, 3], seed: 2)
        let y = try device.conv2d(x, weight: w, bias: Tensor.randomNormal([4], seed: 3), options: Conv2DOptions(padding: 1))
        _ = try device.conv2dGradientInput(gradOutput: y, weight: w, inputShape: x.shape, options: Conv2DOptions(padding: 1))
        _ = device.conv2dBackwardData(gradOutput: y, weight: w, geometry: try Conv2DGeometry(inputShape: x.shape, weightShape: w.shape,
                                                                                           options: Conv2DOptions(padding: 1)), adding: x)
        _ = try device.conv2dGradientFilter(gradOutput: y, input: x, weightShape: w.shape, options: Conv2DOptions(padding: 1))
        let g = try Conv2DGeometry(inputShape: x.shape, weightShape: w.shape, options: Conv2DOptions(padding: 1))
        _ = device.conv2dForward(input: x, weight: w, bias: nil, epilogue: .relu, geometry: g)
        _ = try device.matmul(Tensor.randomNormal([5, 7], seed: 4), Tensor.randomNormal([6, 7], seed: 5), transposeB: true)

        let pool = try Pool2DGeometry(inputShape: x.shape, options: Pool2DOptions(kernel: 2))
        let max = device.maxPool2dForward(input: x, geometry: pool)
        _ = device.maxPool2dBackward(gradOutput: max.output, argmax: max.argmax, geometry: pool)
        _ = device.maxPool2dForwardValues(input: x, geometry: pool)
        let average = device.avgPool2dForward(input: x, geometry: pool)
        _ = device.avgPool2dBackward(gradOutput: average, geometry: pool)
        let adaptive = device.adaptiveAvgPool2dForward(input: x, outputSize: Size2D(height: 2, width: 4))
        _ = device.adaptiveAvgPool2dBackward(gradOutput: adaptive, inputShape: x.shape)

        let activated = device.activationForward(.leakyReLU(negativeSlope: 0.1), input: x)
        _ = device.activationBackward(.relu, gradOutput: activated, input: x)
        _ = device.add(x, activated)
        _ = device.multiply(x, activated)
        let joined = device.concatenateChannels([x, activated])
        _ = device.splitChannels(joined, sizes: [2, 4])

        let scale = Tensor.randomNormal([3], mean: 1, standardDeviation: 0.1, seed: 6)
        let shift = Tensor.randomNormal([3], standardDeviation: 0.1, seed: 7)
        let normalized = device.batchNormTraining(input: x, scale: scale, shift: shift, epsilon: 1e-5)
        _ = device.batchNormInference(input: x, scale: scale, shift: shift, runningMean: normalized.statistics.mean,
                                      runningVariance: normalized.statistics.variance, epsilon: 1e-5)
        _ = device.batchNormInference(input: x, scale: scale, shift: shift, runningMean: normalized.statistics.mean,
                                      runningVariance: normalized.statistics.variance, epsilon: 1e-5, activation: .relu)
        _ = device.batchNormBackward(gradOutput: activated, input: x, scale: scale, statistics: normalized.statistics)
        let rectified = device.batchNormTraining(input: x, scale: scale, shift: shift, epsilon: 1e-5, activation: .relu)
        _ = device.batchNormBackward(gradOutput: activated, input: x, scale: scale, statistics: rectified.statistics,
                                     activation: .relu, output: rectified.output)
        let added = device.batchNormTraining(input: x, scale: scale, shift: shift, epsilon: 1e-5, activation: .relu, residual: activated)
        _ = device.batchNormResidualBackward(gradOutput: activated, input: x, scale: scale, statistics: added.statistics,
                                             activation: .relu, output: added.output)
        let lrn = LocalResponseNormOptions(size: 3, alpha: 1e-2, beta: 0.75, k: 2)
        _ = device.localResponseNormForward(input: x, options: lrn)
        _ = device.localResponseNormBackward(gradOutput: activated, input: x, options: lrn)

        let logits = Tensor.randomNormal([4, 5], seed: 8)
        for log in [false, true] {
            let probabilities = device.softmaxForward(logits: logits, log: log)
            _ = device.softmaxBackward(gradOutput: logits, output: probabilities, log: log)
        }
        let features = Tensor.randomNormal([4, 6], seed: 9), weight = Tensor.randomNormal([3, 6], seed: 10)
        let linear = device.linearForward(input: features, weight: weight, bias: Tensor.randomNormal([3], seed: 11))
        _ = device.linearBackward(gradOutput: linear, input: features, weight: weight, needsInputGradient: true)
    }

    @Test(arguments: ["dispatch", "openblas"])
    func everyOperationIsCheckedAndAgrees(_ backend: String) throws {
        let report = CheckReport()
        let device = CheckingDevice(subject: try Devices.make(backend, threads: 2), reference: NaiveDevice(), report: report)
        try Self.exerciseEveryOperation(on: device)
        try device.verify()
        let seen = Set(report.entries.map(\.operation))
        #expect(seen == Self.allOperations, "missing \(Self.allOperations.subtracting(seen)), unexpected \(seen.subtracting(Self.allOperations))")
        for entry in report.entries {
            #expect(entry.layer == CheckReport.outsideLayers)
            #expect(!entry.exceeded && entry.discrepancy.relative <= 1e-3, "\(entry.operation): \(entry.discrepancy)")
        }
        #expect(report.violations.isEmpty)
        let table = report.table()
        for operation in Self.allOperations { #expect(table.contains(operation)) }
    }

    /// The run proceeds as on the subject: its results, not the reference's, come back.
    @Test func returnsTheSubjectsResults() throws {
        let subject = PerturbingDevice(base: NaiveDevice(), target: .activationForward, amount: 1e-6)
        let device = CheckingDevice(subject: subject, reference: NaiveDevice())
        let x = Tensor.randomNormal([1, 2, 3, 3], seed: 12)
        let checked = device.activationForward(.leakyReLU(negativeSlope: 0.5), input: x)
        expectIdentical(checked, subject.activationForward(.leakyReLU(negativeSlope: 0.5), input: x))
        #expect(checked[flat: 0] != NaiveDevice().activationForward(.leakyReLU(negativeSlope: 0.5), input: x)[flat: 0])
        try device.verify()  // 1e-6 is far below the tolerance
        #expect(device.report.entries.first.map { $0.discrepancy.absolute > 0 } == true)
    }

    /// Outside any layer a violation waits for `verify()`, and is thrown once.
    @Test func violationOutsideLayersIsThrownByVerify() throws {
        let subject = PerturbingDevice(base: NaiveDevice(), target: .activationForward, amount: 0.5)
        let device = CheckingDevice(subject: subject, reference: NaiveDevice())
        _ = device.activationForward(.relu, input: Tensor(repeating: 1, shape: [1, 1, 2, 2]))
        do {
            try device.verify()
            Issue.record("expected a violation")
        } catch let error as FoveaError {
            #expect(error.kind == .numerical)
            #expect(error.message.contains("layer '(no layer)'") && error.message.contains("op activationForward"), "\(error.message)")
            #expect(error.message.contains("input 1×1×2×2"), "\(error.message)")
        }
        try device.verify()
        #expect(device.report.violations.count == 1)
    }
}
