import ArgumentParser
import Fovea
import Foundation

/// `--device` and `--threads`, falling back to FOVEA_DEVICE and FOVEA_THREADS.
struct DeviceOptions: ParsableArguments {
    @Option(help: "Backend: auto (the default: dispatch where its AVX-512 or AVX2 micro-kernel runs, else openblas), naive, dispatch, openblas, or check:<backend> to compare every operation with naive (default: FOVEA_DEVICE, else auto).")
    var device: String?

    @Option(help: "Threads, 1 to 1024 (default: FOVEA_THREADS, else all cores).")
    var threads: Int?

    /// The most threads `--threads` takes: far above any core count, far below what would
    /// exhaust the process's threads.
    static let maximumThreads = Devices.maximumThreads

    func validate() throws {
        if let threads, !(1...Self.maximumThreads).contains(threads) {
            throw ValidationError("--threads must be between 1 and \(Self.maximumThreads), got \(threads)")
        }
        if let device {
            do {
                _ = try Devices.make(device, threads: 1)
            } catch let error as FoveaError where error.kind == .unknownDevice {
                throw ValidationError("--device \(device) is not a device; valid: \(Devices.validNames)")
            }
        }
    }

    /// The device the flags (else the environment) ask for, after printing which one it is as
    /// the command's first line (`Devices.selectionLine`).
    /// - Parameters:
    ///   - defaultThreads: the thread count when neither `--threads` nor FOVEA_THREADS gives one
    ///     (nil: all cores).
    ///   - announce: print the selection line (false on the ranks of a job other than 0).
    func makeDevice(defaultThreads: Int? = nil, announce: Bool = true) throws -> any Device {
        var environment = ProcessInfo.processInfo.environment
        if let device { environment[FoveaEnvironment.device.name] = device }
        if let threads { environment[FoveaEnvironment.threads.name] = String(threads) }
        if let defaultThreads, FoveaEnvironment.threads.text(in: environment) == nil {
            environment[FoveaEnvironment.threads.name] = String(defaultThreads)
        }
        let made = try Devices.fromEnvironment(environment)
        if announce { print(Devices.selectionLine(made, requested: Devices.requestedName(environment))) }
        return made
    }
}

/// Under `check:<backend>`: prints the checking device's report, per layer and op (to standard
/// output, after the run's own lines).
func printCheckReport(_ device: any Device) {
    guard let checking = device as? CheckingDevice else { return }
    print("check report: \(Devices.describe(checking)), tolerance \(checking.tolerance) (\(CheckTolerance.environmentVariable))")
    print(checking.report.table())
    fflush(nil)
}

/// `--dataset`, `--data-dir`.
struct DatasetOptions: ParsableArguments {
    @Option(help: "Dataset: fashion-mnist, mnist (needs --data-dir or FOVEA_MNIST), or folder (--data-dir with one sub-folder per class; also recognised by itself).")
    var dataset: String = "fashion-mnist"

    @Option(help: "Folder with the IDX files (default: FOVEA_MNIST for mnist; FOVEA_FASHION_MNIST, else /usr/share/datasets/fashion-mnist for fashion-mnist).")
    var dataDir: String?

    /// The folder with the IDX files. The default folder holds Fashion-MNIST, so `mnist` needs
    /// `--data-dir` or `FOVEA_MNIST`: its digits labels on Fashion-MNIST images would be garbage.
    func folder(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> URL {
        guard ["fashion-mnist", "mnist"].contains(dataset) else {
            throw ValidationError("unknown dataset '\(dataset)'; valid: fashion-mnist, mnist, folder (with --data-dir)")
        }
        let path: String
        if let dataDir {
            path = dataDir
        } else if dataset == "mnist" {
            guard let variable = FoveaEnvironment.mnist.text(in: environment) else {
                throw ValidationError("--dataset mnist needs the MNIST files: give --data-dir <folder> or set FOVEA_MNIST (the default folder holds Fashion-MNIST)")
            }
            path = variable
        } else {
            path = MNISTDataset.defaultFolder(environment: environment).path
        }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw ValidationError("--data-dir \(path) is not a folder; give the folder with the IDX files")
        }
        return URL(fileURLWithPath: path)
    }

    func validate() throws {
        if try TrainingData.isImageFolder(self) { return }  // checked when the folder is read
        _ = try folder()
    }

    func load(_ split: MNISTDataset.Split, limit: Int? = nil) throws -> MNISTDataset {
        let folder = try folder()
        let names = dataset == "mnist" ? (0..<10).map(String.init) : MNISTDataset.fashionClassNames
        return try MNISTDataset.load(folder: folder, split: split, limit: limit, classNames: names)
    }
}

/// Prints to standard error (progress, warnings).
func printError(_ text: String, terminator: String = "\n") {
    FileHandle.standardError.write((text + terminator).data(using: .utf8)!)
}

/// The model named in a checkpoint's metadata, or the one given.
func modelName(given: String?, checkpoint: Checkpoint?) throws -> String {
    if let given { return given }
    if let stored = checkpoint?.metadata["fovea.model"] { return stored }
    throw FoveaError.invalidArgument("no --model given and the weights file does not name one")
}
