/// Turning activations and convolution weights into tiles for an `ImageGrid`.
public enum FeatureMaps {
    /// One grey tile `[1, h, w]` per channel of a single image's activation `[1, C, h, w]`.
    /// - Throws: `.shapeMismatch` naming `layer` when the activation is not a feature map (e.g. the
    ///   `[1, 1024]` output of a linear layer) or holds more than one image.
    public static func channelTiles(_ activation: Tensor, layer: String) throws -> [Tensor] {
        let shape = activation.shape
        guard shape.rank == 4, shape[0] == 1 else {
            throw FoveaError.shapeMismatch(
                "layer \(layer) outputs \(shape), not the feature maps [1, C, H, W] of one image; choose a layer before the flatten")
        }
        let (c, h, w) = (shape[1], shape[2], shape[3])
        let values = activation.scalars
        return (0..<c).map { channel in
            Tensor(shape: [1, h, w], scalars: Array(values[(channel * h * w)..<((channel + 1) * h * w)]))
        }
    }

    /// The filters of a convolution weight `[K, C, R, S]` as tiles, and the grid columns to use:
    /// - C = 3: one RGB tile `[3, R, S]` per filter (input channels read as red, green, blue);
    /// - C = 1: one grey tile `[1, R, S]` per filter;
    /// - otherwise: one grey tile per (filter, input channel), a row of C tiles per filter
    ///   (`columns` = C).
    /// - Throws: `.shapeMismatch` naming `layer` when the weight is not 4-D.
    public static func filterTiles(_ weight: Tensor, layer: String) throws -> (tiles: [Tensor], columns: Int?) {
        let shape = weight.shape
        guard shape.rank == 4 else {
            throw FoveaError.shapeMismatch("layer \(layer) has a weight of shape \(shape), not the [K, C, R, S] of a convolution")
        }
        let (k, c, r, s) = (shape[0], shape[1], shape[2], shape[3])
        let values = weight.scalars
        let plane = r * s
        if c == 1 || c == 3 {
            let tiles = (0..<k).map { filter in
                Tensor(shape: [c, r, s], scalars: Array(values[(filter * c * plane)..<((filter + 1) * c * plane)]))
            }
            return (tiles, nil)
        }
        let tiles = (0..<(k * c)).map { index in
            Tensor(shape: [1, r, s], scalars: Array(values[(index * plane)..<((index + 1) * plane)]))
        }
        return (tiles, c)
    }
}
