import CrashDrill
import Foundation
import Fovea
import FoveaTestSupport
import Testing

/// Nothing is lost on a crash: a real child process (`CrashDrillChild`) trains a tiny CNN and
/// writes a checkpoint after every step; the test SIGKILLs it at a random moment, a hundred times
/// in a row, each child resuming from what the previous one left. After every kill:
/// - the checkpoint at the final path loads completely and is, tensor for tensor and bit for bit,
///   the state of the uninterrupted run (replayed in this process) at the step it names — the last
///   step the child reported saved, or the one it was writing if the rename had already happened;
/// - at most one temporary file is left over, reading it either works or throws a `FoveaError`
///   (a truncated file is never mistaken for a checkpoint), and the next write removes it;
/// - the next child resumes at exactly that step and its losses are bit for bit those of the
///   uninterrupted run.
/// Half the kills come at a random moment after the child is ready, half a random 0–2 ms after it
/// announces its 1st, 2nd or 3rd write (delays and choices from a seeded generator). How many kills
/// landed inside a write depends on timing and is printed, not asserted beyond "at least one".
@Suite("Crash safety of checkpoints")
struct CrashSafetyTests {
    static let kills = 100
    /// A debug-build child takes about 10 ms per training step and 1.5 ms per checkpoint write.
    static let maximumDelayMicroseconds: UInt64 = 50_000
    static let maximumAimedDelayMicroseconds: UInt64 = 2_000

    @Test func killedWritersNeverLoseTheCheckpoint() throws {
        let child = try Self.childExecutable()
        let folder = try DataFixtures.temporaryFolder("crash")
        defer { try? FileManager.default.removeItem(at: folder) }
        let checkpoint = folder.appendingPathComponent("drill.safetensors")
        let reference = try ReferenceRun()
        var delays = SeededGenerator(seed: 2024)
        var savedStep: Int?  // the step of the checkpoint on disk, as the last check found it
        var tally = Tally()

        for kill in 0..<Self.kills {
            // Even kills at a random moment of the training loop; odd ones aimed at a write.
            let plan = kill % 2 == 0
                ? KillPlan(event: "ready", occurrence: 1, delayMicroseconds: delays.next() % Self.maximumDelayMicroseconds)
                : KillPlan(event: "writing", occurrence: Int(delays.next() % 3) + 1, delayMicroseconds: delays.next() % Self.maximumAimedDelayMicroseconds)
            let life = try ChildLife.run(child, checkpoint: checkpoint, kill: plan)
            let context = "kill \(kill + 1) (\(plan)): \(life.summary)"
            try #require(life.wasKilled, "the child was not killed but ended: \(context); stderr: \(life.standardError)")

            // The child resumed where the previous checkpoint left off and repeated the reference run.
            #expect(life.readyStep == (savedStep ?? 0), "\(context): resumed at the wrong step")
            for (offset, event) in life.losses.enumerated() {
                #expect(event.step == life.readyStep + offset + 1, "\(context): steps out of order")
                let expected = try reference.lossBits(at: event.step)
                #expect(event.bits == expected, "\(context): loss of step \(event.step) differs from the uninterrupted run")
            }

            // The checkpoint at the final path is complete and is one the child was writing or had written.
            let stepOnDisk: Int?
            if FileManager.default.fileExists(atPath: checkpoint.path) {
                let loaded = try Checkpoint.load(from: checkpoint)
                let step = try #require(loaded.metadata[CrashDrillRun.stepKey].flatMap { Int($0) }, "\(context): no step in the checkpoint")
                let acknowledged = life.savedStep ?? savedStep
                #expect(step == acknowledged || step == life.writingStep, "\(context): checkpoint of step \(step) on disk")
                let expected = try reference.snapshot(at: step)
                #expect(CrashDrillRun.snapshot(of: loaded) == expected,
                        "\(context): checkpoint of step \(step) differs from the uninterrupted run's state")
                if step != acknowledged { tally.renamedButNotReported += 1 }
                stepOnDisk = step
            } else {
                #expect(savedStep == nil && life.savedStep == nil, "\(context): the checkpoint disappeared")
                stepOnDisk = nil
            }

            // Leftover temporary files: at most the killed child's own, and harmless to read.
            let leftovers = try Self.temporaryFiles(for: checkpoint)
            #expect(leftovers.count <= 1, "\(context): temporary files pile up: \(leftovers)")
            for name in leftovers where name.contains(".tmp-\(life.pid)-") {
                do {
                    _ = try SafeTensors.read(from: folder.appendingPathComponent(name))
                    tally.completeLeftovers += 1
                } catch is FoveaError {
                    tally.truncatedLeftoversRejected += 1
                }
            }

            tally.count(life, leftovers: leftovers)
            savedStep = stepOnDisk
        }

        // One last child runs two more steps to completion: it resumes, and its first write
        // removes the dead children's temporary files.
        let finalStep = (savedStep ?? 0) + 2
        let last = try ChildLife.run(child, checkpoint: checkpoint, stepLimit: finalStep)
        #expect(last.exitStatus == 0 && last.readyStep == (savedStep ?? 0), "final run: \(last.summary); stderr: \(last.standardError)")
        let final = try Checkpoint.load(from: checkpoint)
        #expect(final.metadata[CrashDrillRun.stepKey] == String(finalStep))
        let expected = try reference.snapshot(at: finalStep)
        #expect(CrashDrillRun.snapshot(of: final) == expected)
        #expect(try Self.temporaryFiles(for: checkpoint).isEmpty, "temporary files of killed writers were not removed")

        print("crash drill: \(tally.report(kills: Self.kills, steps: finalStep))")
        #expect(tally.killedDuringWrite > 0, "no kill landed inside a checkpoint write, so the drill proved nothing: \(tally.report(kills: Self.kills, steps: finalStep))")
    }

    /// `AtomicFile` removes only the temporary files of processes that no longer run.
    @Test func staleTemporariesOfDeadProcessesAreRemoved() throws {
        let folder = try DataFixtures.temporaryFolder("stale")
        defer { try? FileManager.default.removeItem(at: folder) }
        let target = folder.appendingPathComponent("model.safetensors")
        let prefix = AtomicFile.temporaryPrefix(for: target)
        let dead = try Self.pidOfFinishedProcess()
        let names = [prefix + "\(dead)-7", prefix + "\(getpid())-8", prefix + "1-9", ".other.safetensors.tmp-\(dead)-1"]
        for name in names { try Data("partial".utf8).write(to: folder.appendingPathComponent(name)) }

        try AtomicFile.write(Data("new".utf8), to: target)

        let remaining = Set(try FileManager.default.contentsOfDirectory(atPath: folder.path))
        #expect(!remaining.contains(names[0]), "the dead process's temporary file is still there")
        #expect(remaining == Set(names.dropFirst() + ["model.safetensors"]), "\(remaining)")
        #expect(try Data(contentsOf: target) == Data("new".utf8))
    }

    // MARK: Helpers

    /// The child executable, built with the tests; it sits next to the test bundle in the build
    /// products folder. `FOVEA_CRASH_CHILD` overrides the path.
    static func childExecutable() throws -> URL {
        if let path = ProcessInfo.processInfo.environment["FOVEA_CRASH_CHILD"] { return URL(fileURLWithPath: path) }
        return try BuiltExecutable.url("CrashDrillChild")
    }

    static func temporaryFiles(for url: URL) throws -> [String] {
        let prefix = AtomicFile.temporaryPrefix(for: url)
        return try FileManager.default.contentsOfDirectory(atPath: url.deletingLastPathComponent().path).filter { $0.hasPrefix(prefix) }.sorted()
    }

    /// The id of a process that has ended and been reaped.
    static func pidOfFinishedProcess() throws -> pid_t {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/true")
        try process.run()
        process.waitUntilExit()
        return process.processIdentifier
    }
}

/// The uninterrupted run, replayed in this process step by step as far as the children got.
private final class ReferenceRun {
    let run: CrashDrillRun
    var lossBits: [Int: UInt32] = [:]
    var snapshots: [Int: [String: [Float]]]

    init() throws {
        run = try CrashDrillRun()
        snapshots = [0: run.snapshot()]
    }

    func advance(to step: Int) throws {
        while run.step < step {
            let loss = try run.trainStep()
            lossBits[run.step] = loss.bitPattern
            snapshots[run.step] = run.snapshot()
        }
    }

    func lossBits(at step: Int) throws -> UInt32? {
        try advance(to: step)
        return lossBits[step]
    }

    func snapshot(at step: Int) throws -> [String: [Float]]? {
        try advance(to: step)
        return snapshots[step]
    }
}

/// When to kill a child: `delayMicroseconds` after its `occurrence`-th report of `event`.
private struct KillPlan: CustomStringConvertible {
    var event: String
    var occurrence: Int
    var delayMicroseconds: UInt64
    var description: String { "\(delayMicroseconds) µs after '\(event)' #\(occurrence)" }
}

/// One child process from start to kill (or exit), and what it reported.
private struct ChildLife {
    var pid: pid_t = 0
    var readyStep = -1
    var losses: [(step: Int, bits: UInt32)] = []
    var writingStep: Int?
    var savedStep: Int?
    var lastEvent = ""
    var wasKilled = false
    var exitStatus: Int32 = -1
    var standardError = ""

    var summary: String {
        "child \(pid) resumed at \(readyStep), \(losses.count) steps, last event '\(lastEvent)'"
    }

    /// Starts the child and SIGKILLs it as `plan` says (without a plan, lets it run to `stepLimit`).
    static func run(_ executable: URL, checkpoint: URL, kill plan: KillPlan? = nil, stepLimit: Int? = nil) throws -> ChildLife {
        let process = Process()
        process.executableURL = executable
        process.arguments = [checkpoint.path] + (stepLimit.map { [String($0)] } ?? [])
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        var life = ChildLife(pid: process.processIdentifier)
        var received = Data()
        if let plan {
            while String(decoding: received, as: UTF8.self).split(separator: "\n").count(where: { $0.hasPrefix(plan.event + " ") }) < plan.occurrence {
                let chunk = output.fileHandleForReading.availableData
                if chunk.isEmpty { break }  // the child ended early; reported by the caller
                received += chunk
            }
            usleep(useconds_t(plan.delayMicroseconds))
            kill(process.processIdentifier, SIGKILL)
        }
        received += output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        life.standardError = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        life.wasKilled = process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGKILL
        life.exitStatus = process.terminationReason == .exit ? process.terminationStatus : -1
        for line in String(decoding: received, as: UTF8.self).split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count >= 2, let step = Int(fields[1]) else { continue }
            life.lastEvent = String(line)
            switch fields[0] {
            case "ready": life.readyStep = step
            case "loss": life.losses.append((step, fields.count == 3 ? UInt32(fields[2], radix: 16) ?? 0 : 0))
            case "writing": life.writingStep = step
            case "saved": life.savedStep = step
            default: break
            }
        }
        return life
    }
}

/// Where the kills landed.
private struct Tally {
    var killedDuringWrite = 0      // the last event was "writing" without its "saved"
    var killedWithLeftover = 0     // the killed child left its temporary file behind
    var renamedButNotReported = 0  // the new checkpoint was in place before "saved" was reported
    var completeLeftovers = 0
    var truncatedLeftoversRejected = 0

    mutating func count(_ life: ChildLife, leftovers: [String]) {
        if life.lastEvent.hasPrefix("writing") { killedDuringWrite += 1 }
        if leftovers.contains(where: { $0.contains(".tmp-\(life.pid)-") }) { killedWithLeftover += 1 }
    }

    func report(kills: Int, steps: Int) -> String {
        let encoding = killedDuringWrite - killedWithLeftover - renamedButNotReported
        return "\(kills) kills over \(steps) steps; \(killedDuringWrite) inside a checkpoint write: "
            + "\(encoding) before the temporary file existed, \(killedWithLeftover) with it on disk "
            + "(\(truncatedLeftoversRejected) truncated and rejected as corrupt, \(completeLeftovers) complete but not renamed), "
            + "\(renamedButNotReported) after the rename but before 'saved'"
    }
}
