import FoveaCore

/// Flat indices of an `[N, C, …]` tensor seen as N·C planes of `plane` = H·W (the product of the
/// trailing dimensions) values: `[n, c, i] → (n·C + c)·plane + i`.
struct ChannelPlanes: Sendable {
    let batch: Int, channels: Int, plane: Int

    init(_ shape: Shape) {
        batch = shape[0]
        channels = shape[1]
        plane = shape.dimensions.dropFirst(2).reduce(1, *)
    }

    /// M = N·H·W, the values a channel's statistics run over.
    var valuesPerChannel: Int { batch * plane }

    @inline(__always) subscript(_ n: Int, _ c: Int, _ i: Int) -> Int { (n * channels + c) * plane + i }
}
