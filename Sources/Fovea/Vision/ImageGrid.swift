/// Lays equally sized tiles (feature maps, filters) out in a grid picture.
///
/// Each tile `[C, h, w]` (C = 1 grey or 3 RGB, the same for all) is normalised on its own to
/// `[0, 255]` (min → 0, max → 255 over all its channels; a constant tile becomes 0), scaled up by
/// `scale` with nearest-neighbour sampling, and placed row by row, `columns` per row
/// (default ⌈√n⌉), with `gap` pixels of `background` between the tiles and around the border:
///
///     width  = columns·(w·scale) + (columns + 1)·gap
///     height = rows·(h·scale) + (rows + 1)·gap,   rows = ⌈n / columns⌉
///
/// When `labelled`, tile i carries its number i in the top-left corner (`TinyFont`, white digits on
/// a black box, `labelScale` times the 3×5-pixel glyphs).
public struct ImageGrid: Sendable {
    public enum Normalization: Sendable { case perTile, none }

    public var columns: Int?
    public var gap: Int
    public var scale: Int
    public var normalization: Normalization
    public var labelled: Bool
    public var labelScale: Int
    public var background: Float

    public init(columns: Int? = nil, gap: Int = 2, scale: Int = 1, normalization: Normalization = .perTile,
                labelled: Bool = true, labelScale: Int = 1, background: Float = 128) throws {
        let check = ArgumentCheck("ImageGrid")
        try check.atLeast(0, gap, "gap")
        try check.atLeast(1, scale, "scale")
        try check.atLeast(1, labelScale, "labelScale")
        if let columns { try check.atLeast(1, columns, "columns") }
        self.columns = columns
        self.gap = gap
        self.scale = scale
        self.normalization = normalization
        self.labelled = labelled
        self.labelScale = labelScale
        self.background = background
    }

    /// Where the tiles go.
    public struct Layout: Sendable, Equatable {
        public var rows: Int
        public var columns: Int
        /// One scaled tile.
        public var tileHeight: Int
        public var tileWidth: Int
        public var gap: Int
        public var height: Int
        public var width: Int

        /// The top-left pixel of tile `index` (row-major).
        public func origin(ofTile index: Int) -> (top: Int, left: Int) {
            (gap + (index / columns) * (tileHeight + gap), gap + (index % columns) * (tileWidth + gap))
        }
    }

    public func layout(tileCount: Int, tileHeight: Int, tileWidth: Int) -> Layout {
        let columns = max(1, min(self.columns ?? Int(Double(tileCount).squareRoot().rounded(.up)), max(tileCount, 1)))
        let rows = max(1, (tileCount + columns - 1) / columns)
        let (th, tw) = (tileHeight * scale, tileWidth * scale)
        return Layout(rows: rows, columns: columns, tileHeight: th, tileWidth: tw, gap: gap,
                      height: rows * th + (rows + 1) * gap, width: columns * tw + (columns + 1) * gap)
    }

    /// The grid of `tiles`, each `[C, h, w]` with the same shape and C = 1 or 3.
    /// - Throws: `.invalidArgument` for no tiles, `.shapeMismatch` for tiles not `[1 or 3, h, w]`
    ///   or of different shapes, and `.invalidArgument` (from `AllocationLimit`) when the picture
    ///   `[C, height, width]` would not fit in memory — checked before it is allocated.
    public func render(_ tiles: [Tensor]) throws -> Image {
        guard let shape = tiles.first?.shape else { throw FoveaError.invalidArgument("ImageGrid.render needs at least one tile") }
        guard shape.rank == 3 && (shape[0] == 1 || shape[0] == 3) else {
            throw FoveaError.shapeMismatch("ImageGrid tiles must be [1 or 3, h, w], got \(shape)")
        }
        if let other = tiles.first(where: { $0.shape != shape }) {
            throw FoveaError.shapeMismatch("ImageGrid tiles must all have the shape \(shape), got one of \(other.shape)")
        }
        let (c, h, w) = (shape[0], shape[1], shape[2])
        try checkSize(channels: c, tileCount: tiles.count, tileHeight: h, tileWidth: w)
        let grid = layout(tileCount: tiles.count, tileHeight: h, tileWidth: w)
        var pixels = Tensor(repeating: background, shape: [c, grid.height, grid.width])
        for (index, tile) in tiles.enumerated() {
            let values = normalization == .perTile ? Self.normalized(tile) : tile
            let (top, left) = grid.origin(ofTile: index)
            values.withUnsafeBufferPointer { x in
                pixels.withUnsafeMutableBufferPointer { y in
                    for channel in 0..<c {
                        for row in 0..<grid.tileHeight {
                            for column in 0..<grid.tileWidth {
                                y[(channel * grid.height + top + row) * grid.width + left + column] =
                                    x[(channel * h + row / scale) * w + column / scale]
                            }
                        }
                    }
                }
            }
            if labelled { TinyFont.draw(String(index), into: &pixels, top: top, left: left, scale: labelScale) }
        }
        return Image(checkedPixels: pixels)
    }

    /// Throws unless the picture `[channels, height, width]` of `layout` fits in memory
    /// (`AllocationLimit`), computing the sizes without overflow.
    public func checkSize(channels: Int, tileCount: Int, tileHeight: Int, tileWidth: Int) throws {
        let columns = max(1, min(self.columns ?? Int(Double(tileCount).squareRoot().rounded(.up)), max(tileCount, 1)))
        let rows = max(1, (tileCount + columns - 1) / columns)
        /// count·(side·scale) + (count + 1)·gap, or nil on overflow.
        func extent(_ count: Int, _ side: Int) -> Int? {
            let parts = [side, scale, count]
            guard let tiles = AllocationLimit.bytes(of: parts, elementSize: 1),
                  let gaps = AllocationLimit.bytes(of: [count + 1, gap], elementSize: 1) else { return nil }
            let (sum, overflow) = tiles.addingReportingOverflow(gaps)
            return overflow ? nil : sum
        }
        let purpose = "ImageGrid: \(tileCount) tiles of \(tileHeight)×\(tileWidth) ×\(scale) in \(rows) rows × \(columns) columns"
        guard let height = extent(rows, tileHeight), let width = extent(columns, tileWidth) else {
            throw FoveaError.invalidArgument("\(purpose): the picture's size overflows")
        }
        try AllocationLimit.check([channels, height, width], for: purpose)
    }

    /// `255·(x − min)/(max − min)` over the whole tile; 0 when the tile is constant.
    public static func normalized(_ tile: Tensor) -> Tensor {
        PixelMapping.rescale.apply(to: tile)
    }
}
