import Foundation
import Fovea
import Testing

/// Sizes too large to allocate are errors naming the shape, the purpose, the bytes and the limit,
/// raised before anything is allocated — in the library and in the `fovea` commands.
@Suite("allocation limit")
struct AllocationLimitTests {
    private func message(_ body: () throws -> Void) -> String {
        do { try body() } catch let error as FoveaError { return error.message } catch { return "unexpected \(error)" }
        return "no error"
    }

    @Test func bytesAreCountedWithoutOverflow() {
        #expect(AllocationLimit.bytes(of: [2, 3, 4]) == 96)
        #expect(AllocationLimit.bytes(of: [2, 3], elementSize: 1) == 6)
        #expect(AllocationLimit.bytes(of: [Int.max, 2]) == nil)
        #expect(AllocationLimit.bytes(of: [-1, 2]) == nil)
        #expect(AllocationLimit.physicalMemory > 1 << 20)
    }

    @Test func theCheckNamesShapePurposeBytesAndLimit() throws {
        try AllocationLimit.check([10, 10], for: "small", limit: 400)
        let text = message { try AllocationLimit.check([10, 11], for: "the padded image", limit: 400) }
        #expect(text.contains("the padded image") && text.contains("10×11") && text.contains("440 bytes") && text.contains("400 bytes"), "\(text)")
        let overflow = message { try AllocationLimit.check([Int.max, Int.max], for: "huge") }
        #expect(overflow.contains("huge") && overflow.contains("more bytes than"), "\(overflow)")
    }

    @Test func buildChecksTheLargestActivation() throws {
        let model = try Initializer.withoutRandomValues { try ModelZoo.make("resnet18", classes: 10) }
        let text = message { _ = try model.build(inputShape: [20000, 3, 224, 224]) }
        #expect(text.contains("conv1") && text.contains("20000×64×112×112") && text.contains("physical memory"), "\(text)")
        #expect(try model.build(inputShape: [1, 3, 32, 32]) == [1, 10])
    }

    @Test func filterAndGridCheckBeforeAllocating() throws {
        let pixels = Tensor(zeros: [3, 5, 6])
        let filter = ImageFilter(kernel: ImageKernel.sharpen, padding: .explicit(Size2D(100_000)))
        let text = message { _ = try filter.apply(to: pixels, device: NaiveDevice(), name: "photo") }
        #expect(text.contains("photo: the padded image") && text.contains("3×200005×200006"), "\(text)")
        let grid = try ImageGrid(scale: 1000)
        let gridText = message { _ = try grid.render((0..<64).map { _ in Tensor(zeros: [3, 100, 100]) }) }
        #expect(gridText.contains("64 tiles of 100×100 ×1000") && gridText.contains("physical memory"), "\(gridText)")
    }

    /// The commands of issue 17 that ended in "Fatal error: cannot allocate".
    @Test func commandsSayTheSizeIsTooLarge() throws {
        let fixtures = try CommandFixtures("allocation")
        defer { fixtures.remove() }
        for (arguments, expected) in [
            (["filter", "--kernel", "sharpen", "--padding", "100000", fixtures.png, "o.png"], "the padded image: a tensor of shape 3×200005×200006"),
            (["filter", "--kernel", "sharpen", "--resize", "100000", fixtures.png, "o.png"], "--resize 100000: the resized image"),
            (["kernels", "--weights", fixtures.weights, "--scale", "100000", "o.png"], "--scale must be between 1 and 64, got 100000"),
            (["summary", "--model", "resnet18", "--input", "100000x3x224x224", "--time"], "--time: the input batch: a tensor of shape 100000×3×224×224"),
            (["summary", "--model", "resnet18", "--input", "20000x3x224x224", "--time"], "conv1 (Conv2D): the output: a tensor of shape 20000×64×112×112"),
            (["summary", "--input", "9223372036854775807x3x224x224"], "more than 2⁴⁸ elements"),
        ] {
            let result = try ZooCommandTests.run(arguments, timeout: 30, directory: fixtures.folder)
            #expect(result.status > 0 && result.status < 128 && result.error.contains(expected), "\(arguments): \(result.status) \(result.error.suffix(500))")
        }
    }
}
