import Fovea
import Foundation
import Testing

/// `mpirun -np 2 fovea train --distributed` on a few hundred Fashion-MNIST images: one log and
/// one checkpoint (from rank 0), a resumed run that continues the epochs, and a missing
/// `--resume` file that aborts the job with an error naming rank 0 and the file.
@Suite(.serialized) struct DistributedTrainCommandTests {
    static let small = ["--limit", "192", "--test-limit", "64", "--batch-size", "16", "--model", "cnn"]

    @Test func trainsSavesOnceAndResumes() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fovea-dist-train-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let checkpoint = folder.appendingPathComponent("model.safetensors").path
        let first = try MPIJob.run(ranks: 2, program: "fovea", ["train", "--distributed", "--epochs", "1", "--out", checkpoint] + Self.small)
        #expect(first.status == 0, "\(first.output)")
        #expect(first.lines(startingWith: "epoch 1/1: train loss").count == 1, "one log, from rank 0: \(first.output)")
        #expect(first.output.contains("distributed: 2 processes, 16 images each per step (global batch 32)"), "\(first.output)")
        #expect(first.lines(startingWith: "device:").count == 1, "\(first.output)")
        // 192 images, global batch 32: 6 steps on each rank, 96 images each.
        let saved = try Checkpoint.load(from: URL(fileURLWithPath: checkpoint))
        #expect(saved.metadata["fovea.epoch"] == "1")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["model.safetensors"])

        let resumed = try MPIJob.run(ranks: 2, program: "fovea", ["train", "--distributed", "--epochs", "2", "--resume", checkpoint, "--out", checkpoint] + Self.small)
        #expect(resumed.status == 0, "\(resumed.output)")
        #expect(resumed.output.contains("resumed \(checkpoint) after epoch 1"), "\(resumed.output)")
        #expect(resumed.lines(startingWith: "epoch 2/2: train loss").count == 1 && !resumed.output.contains("epoch 1/2:"), "\(resumed.output)")
        #expect(try Checkpoint.load(from: URL(fileURLWithPath: checkpoint)).metadata["fovea.epoch"] == "2")
    }

    @Test func aMissingCheckpointAbortsTheJobNamingRankZero() throws {
        let job = try MPIJob.run(ranks: 2, program: "fovea", ["train", "--distributed", "--epochs", "1", "--resume", "/nonexistent/model.safetensors",
                                                               "--out", "/tmp/unused.safetensors"] + Self.small, timeout: 120)
        #expect(job.status != 0)
        #expect(job.output.contains("fovea: rank 0 of 2:") && job.output.contains("/nonexistent/model.safetensors"), "\(job.output)")
        #expect(job.seconds < 60)
    }

    /// Rank 1 was started with `--epochs 2`, rank 0 with `--epochs 1` (mpirun's `: -np 1 …`):
    /// the job stops at once with an error naming rank 1, instead of rank 1 waiting for a
    /// second epoch rank 0 never trains.
    @Test func ranksStartedWithDifferentArgumentsAreAnError() throws {
        let arguments = ["train", "--distributed", "--out", "/tmp/unused.safetensors"] + Self.small
        let job = try MPIJob.run(ranks: 1, program: "fovea", arguments + ["--epochs", "1"], lastRankArguments: arguments + ["--epochs", "2"], timeout: 120)
        #expect(job.status != 0)
        #expect(job.output.contains("the fovea train arguments differ from rank 0's on rank(s) 1"), "\(job.output)")
        #expect(job.seconds < 60)
    }
}
