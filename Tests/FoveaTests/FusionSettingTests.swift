import Fovea
import Testing

/// `FOVEA_FUSION` is parsed like the other variables: only `0` used to turn fusion off, and
/// `off`, `false` or a typo such as `maybe` were silently ignored.
@Suite("FOVEA_FUSION setting")
struct FusionSettingTests {
    @Test func acceptedValues() throws {
        for text in [nil, "", "1", "on", "true", "yes", "ON", "True"] { #expect(try LayerFusion.setting(text) == true, "\(String(describing: text))") }
        for text in ["0", "off", "false", "no", "OFF", "No"] { #expect(try LayerFusion.setting(text) == false, "\(text)") }
    }

    @Test func otherValuesAreErrorsNamingVariableValueAndValidValues() {
        for text in ["maybe", "2", " off", "disabled"] {
            do {
                _ = try LayerFusion.setting(text)
                Issue.record("'\(text)' accepted")
            } catch let error as FoveaError {
                #expect(error.kind == .invalidArgument)
                for fragment in ["FOVEA_FUSION", "'\(text)'", "1, on, true or yes", "0, off, false or no"] {
                    #expect(error.message.contains(fragment), "\(error.message) lacks \(fragment)")
                }
            } catch {
                Issue.record("unexpected \(error)")
            }
        }
    }

    /// `Devices.fromEnvironment` checks it, so a bad value fails before any layer runs.
    @Test func devicesFromEnvironmentRejectsABadValue() throws {
        let error = #expect(throws: FoveaError.self) { try Devices.fromEnvironment(["FOVEA_DEVICE": "naive", "FOVEA_FUSION": "maybe"]) }
        #expect(error?.message.contains("FOVEA_FUSION") == true, "\(String(describing: error))")
        _ = try Devices.fromEnvironment(["FOVEA_DEVICE": "naive", "FOVEA_FUSION": "off"])
    }

    /// The command fails with the message instead of running with fusion silently on.
    @Test func commandRejectsABadValue() throws {
        let bad = try ZooCommandTests.run(["summary", "--model", "cnn", "--time", "--device", "naive"], environment: ["FOVEA_FUSION": "maybe"])
        #expect(bad.status != 0)
        #expect(bad.error.contains("FOVEA_FUSION must be") && bad.error.contains("'maybe'"), "\(bad.error)")
        let off = try ZooCommandTests.run(["summary", "--model", "cnn", "--time", "--device", "naive"], environment: ["FOVEA_FUSION": "off"])
        #expect(off.status == 0, "\(off.error)")
    }
}
