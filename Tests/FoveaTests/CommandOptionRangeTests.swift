import Foundation
import Fovea
import FoveaTestSupport
import Testing

/// Every numeric option of every `fovea` subcommand, found from the commands' own definitions
/// (`--experimental-dump-help`, then a probe: an option whose value ArgumentParser refuses as
/// "not-a-number" is numeric), run with 0, −1 and huge values on tiny inputs: each run must end
/// within 30 s, never by a signal (a trap is 132), and a failure must say why on standard error.
@Suite("fovea command: numeric options")
struct CommandOptionRangeTests {
    static let subcommands = ["train", "eval", "predict", "summary", "infer", "filter", "features", "kernels"]
    /// Options that take a number in a string (parsed by the command, not by ArgumentParser).
    static let numbersInStrings: [String: [String]] = ["filter": ["--padding"]]
    /// Options this walk leaves out (none: `--threads` is bounded by DeviceOptions too).
    static let checkedElsewhere: Set<String> = []
    /// Seconds a child may run (debug builds, other tests running beside).
    static let timeout = 30.0
    static let values = ["0", "-1", "100000", "9223372036854775807"]

    /// The long names of `subcommand`'s options (not flags or positional arguments).
    static func options(of subcommand: String) throws -> [String] {
        let result = try ZooCommandTests.run([subcommand, "--experimental-dump-help"], timeout: Self.timeout)
        #expect(result.status == 0, "\(result.error)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
        let arguments = try #require((json["command"] as? [String: Any])?["arguments"] as? [[String: Any]])
        return arguments.compactMap { argument in
            guard argument["kind"] as? String == "option", let name = argument["preferredName"] as? [String: Any],
                  name["kind"] as? String == "long", let long = name["name"] as? String else { return nil }
            return "--" + long
        }
    }

    /// The options of `subcommand` whose value must be a number.
    static func numericOptions(of subcommand: String, fixtures: CommandFixtures) throws -> [String] {
        try options(of: subcommand).filter { flag in
            if checkedElsewhere.contains(flag) { return false }
            if numbersInStrings[subcommand]?.contains(flag) == true { return true }
            let probe = try ZooCommandTests.run(fixtures.arguments(subcommand, setting: flag, to: "not-a-number"),
                                                timeout: Self.timeout, directory: fixtures.folder)
            return probe.error.contains("The value 'not-a-number' is invalid for")
        }
    }

    @Test(arguments: subcommands)
    func outOfRangeValuesAreErrorsNotTraps(_ subcommand: String) throws {
        let fixtures = try CommandFixtures("options-\(subcommand)")
        defer { fixtures.remove() }
        let valid = try ZooCommandTests.run(fixtures.arguments(subcommand), timeout: Self.timeout,
                                            directory: fixtures.folder)
        #expect(valid.status == 0, "fovea \(subcommand) on the fixtures: \(valid.error)")
        let numeric = try Self.numericOptions(of: subcommand, fixtures: fixtures)
        #expect(!numeric.isEmpty, "no numeric options found for \(subcommand)")
        for flag in numeric {
            for value in Self.values {
                let arguments = fixtures.arguments(subcommand, setting: flag, to: value)
                let result = try ZooCommandTests.run(arguments, timeout: Self.timeout, directory: fixtures.folder)
                let command = "fovea " + arguments.joined(separator: " ")
                #expect(result.status < 128, "\(command) ended by a signal (\(result.status)): \(result.error.suffix(400))")
                if result.status != 0 {
                    #expect(result.error.contains("Error:"), "\(command) failed (\(result.status)) without a message: \(result.error.suffix(400))")
                }
            }
        }
    }

    /// The walker finds the options this issue was about, so it cannot pass by finding none.
    @Test func theWalkerFindsTheNumericOptions() throws {
        let fixtures = try CommandFixtures("options-found")
        defer { fixtures.remove() }
        #expect(try Self.numericOptions(of: "kernels", fixtures: fixtures) == ["--scale", "--columns"])
        #expect(try Set(Self.numericOptions(of: "predict", fixtures: fixtures)) == ["--top", "--threads"])
        let train = try Set(Self.numericOptions(of: "train", fixtures: fixtures))
        #expect(train.isSuperset(of: ["--epochs", "--batch-size", "--lr", "--weight-decay", "--label-smoothing", "--seed", "--limit"]), "\(train)")
    }

    /// Numbers inside string options: class lists and test:N.
    @Test func numbersInStringsAreBounded() throws {
        let fixtures = try CommandFixtures("options-strings")
        defer { fixtures.remove() }
        for (arguments, message) in [
            (fixtures.arguments("train", setting: "--classes", to: "12"), "--classes: the dataset has 10 classes (0-9), got 12"),
            (fixtures.arguments("train", setting: "--classes", to: "0-9223372036854775807"), "--classes: class numbers must be between 0 and 65535"),
            (["features", "--weights", fixtures.weights, "--layer", "conv1", "test:9223372036854775807", "o.png"], "expected test:N with N from 0 to 999999"),
        ] {
            let result = try ZooCommandTests.run(arguments, timeout: Self.timeout, directory: fixtures.folder)
            #expect(result.status > 0 && result.status < 128 && result.error.contains(message), "\(arguments): \(result.status) \(result.error.suffix(400))")
        }
    }

    /// The messages name the flag and the range.
    @Test func messagesNameTheFlagAndTheRange() throws {
        let fixtures = try CommandFixtures("options-messages")
        defer { fixtures.remove() }
        for (subcommand, flag, value, message) in [
            ("kernels", "--scale", "0", "--scale must be between 1 and 64, got 0"),
            ("kernels", "--columns", "0", "--columns must be between 1 and 4096, got 0"),
            ("features", "--scale", "0", "--scale must be between 1 and 64, got 0"),
            ("features", "--columns", "0", "--columns must be between 1 and 4096, got 0"),
            ("predict", "--top", "-1", "--top must be between 1 and 1000, got -1"),
            ("train", "--epochs", "100000", "--epochs must be between 1 and 10000, got 100000"),
            ("train", "--lr", "0", "--lr must be greater than 0.0 and at most 100.0, got 0.0"),
        ] {
            let result = try ZooCommandTests.run(fixtures.arguments(subcommand, setting: flag, to: value), timeout: Self.timeout, directory: fixtures.folder)
            #expect(result.status > 0 && result.status < 128 && result.error.contains(message), "\(subcommand) \(flag)=\(value): \(result.status) \(result.error)")
        }
    }
}
