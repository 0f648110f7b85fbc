import Fovea
import FoveaDistributed
import Foundation

/// Every collective against values each rank can predict: rank r contributes f(r, i), small
/// integers, so sums are exact in Float.
struct CollectiveDrill {
    let world: Communicator
    var failures: [String] = []
    var checks = 0

    init(_ world: Communicator) { self.world = world }

    /// Sizes: empty, one, odd, and above a default 25 MiB gradient bucket (6.5 M Floats).
    static let sizes = [0, 1, 7, 1023, 7_000_001]

    static func value(rank: Int, index: Int) -> Float { Float((rank + 1) * (index % 97 + 1)) }

    mutating func expect(_ condition: Bool, _ what: @autoclosure () -> String) {
        checks += 1
        if !condition { failures.append(what()) }
    }

    mutating func run() throws {
        let (rank, size) = (world.rank, world.size)
        let rankSum = Float(size * (size + 1) / 2)
        for count in Self.sizes {
            // Blocking allreduce of a tensor: Σ_r (r+1)·(i%97+1).
            var tensor = Tensor(shape: [count], scalars: (0..<count).map { Self.value(rank: rank, index: $0) })
            try world.allreduce(&tensor, label: "drill tensor of \(count)")
            let wrong = tensor.withUnsafeBufferPointer { values in (0..<count).first { values[$0] != rankSum * Float($0 % 97 + 1) } }
            expect(wrong == nil, "allreduce of \(count) values: element \(wrong ?? -1) wrong")

            // Non-blocking allreduce, waited for after other work.
            var values = (0..<count).map { Self.value(rank: rank, index: $0) }
            try values.withUnsafeMutableBufferPointer { buffer in
                let pending = try world.startAllreduce(buffer, .maximum, label: "drill maximum of \(count)")
                try pending.waitAll()
            }
            expect(values.enumerated().allSatisfy { $1 == Float(size) * Float($0 % 97 + 1) }, "non-blocking maximum of \(count) values wrong")

            // Broadcast from the last rank.
            var broadcast = Tensor(shape: [count], scalars: (0..<count).map { Self.value(rank: rank, index: $0) })
            try world.broadcast(&broadcast, from: size - 1, label: "drill broadcast of \(count)")
            expect(broadcast.scalars == (0..<count).map { Self.value(rank: size - 1, index: $0) }, "broadcast of \(count) values wrong")
        }
        // Double and Int64 sums, minimum.
        var doubles = [0.1 * Double(rank), 1e300]
        try world.allreduce(&doubles, .minimum, label: "drill doubles")
        expect(doubles == [0, 1e300], "minimum of doubles: \(doubles)")
        var integers = [Int64(rank), Int64(1) << 40]
        try world.allreduce(&integers, label: "drill integers")
        expect(integers == [Int64(size * (size - 1) / 2), Int64(size) << 40], "sum of Int64: \(integers)")
        // Bytes from rank 0, of a length only rank 0 knows.
        let text = Data("checkpoint bytes from rank 0 of \(size)".utf8)
        let received = try world.broadcast(rank == 0 ? text : Data(), from: 0, label: "drill bytes")
        expect(received == text, "broadcast of bytes: \(received.count) bytes")
        // Allgather of different counts: rank r gives r + 1 values r.
        let gathered = try world.allgather([Float](repeating: Float(rank), count: rank + 1), label: "drill allgather")
        expect(gathered == (0..<size).map { [Float](repeating: Float($0), count: $0 + 1) }, "allgather: \(gathered)")
        let empty = try world.allgather([Double](), label: "drill empty allgather")
        expect(empty == Array(repeating: [], count: size), "allgather of nothing: \(empty)")
        try world.barrier("drill barrier")
        let (localRank, localSize) = (world.localRank, world.localSize)
        expect(localSize >= 1 && localRank < localSize, "local rank \(localRank) of \(localSize)")
        if failures.isEmpty {
            print("rank \(rank): collectives ok (\(checks) checks)")
        } else {
            throw FoveaError(.distributed, "collectives failed: \(failures.joined(separator: "; "))")
        }
    }
}
