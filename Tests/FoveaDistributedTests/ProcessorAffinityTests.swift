import FoveaDistributed
import Testing

/// The processor list of /proc/self/status (`Cpus_allowed_list`), which decides how many
/// threads a rank runs by default.
@Suite struct ProcessorAffinityTests {
    @Test func listsAreCounted() {
        #expect(ProcessorAffinity.count(inList: "0") == 1)
        #expect(ProcessorAffinity.count(inList: " 0-3,8,10-11") == 7)
        #expect(ProcessorAffinity.count(inList: "") == nil)
        #expect(ProcessorAffinity.count(inList: "3-1") == nil)
        #expect(ProcessorAffinity.count(inList: "a-b") == nil)
        #expect(ProcessorAffinity.processorCount >= 1)
    }
}
