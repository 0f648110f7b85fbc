/// A 3×5-pixel bitmap font of the digits 0–9, for labelling tiles. Each glyph is five rows of three
/// bits, the most significant bit on the left.
public enum TinyFont {
    public static let glyphWidth = 3
    public static let glyphHeight = 5

    static let glyphs: [Character: [UInt8]] = [
        "0": [0b111, 0b101, 0b101, 0b101, 0b111],
        "1": [0b010, 0b110, 0b010, 0b010, 0b111],
        "2": [0b111, 0b001, 0b111, 0b100, 0b111],
        "3": [0b111, 0b001, 0b111, 0b001, 0b111],
        "4": [0b101, 0b101, 0b111, 0b001, 0b001],
        "5": [0b111, 0b100, 0b111, 0b001, 0b111],
        "6": [0b111, 0b100, 0b111, 0b101, 0b111],
        "7": [0b111, 0b001, 0b001, 0b001, 0b001],
        "8": [0b111, 0b101, 0b111, 0b101, 0b111],
        "9": [0b111, 0b101, 0b111, 0b001, 0b111],
    ]

    /// The size of the label box for `text` at `scale`: a one-pixel margin around glyphs that are
    /// one pixel apart, all times `scale`.
    public static func boxSize(_ text: String, scale: Int) -> (height: Int, width: Int) {
        ((glyphHeight + 2) * scale, (text.count * (glyphWidth + 1) + 1) * scale)
    }

    /// Draws `text` (digits; other characters are blank) as `ink` on a box of `paper`, with its
    /// top-left corner at (top, left), into `pixels` `[C, H, W]`, in every channel; clipped to the image.
    public static func draw(_ text: String, into pixels: inout Tensor, top: Int, left: Int, scale: Int = 1, ink: Float = 255, paper: Float = 0) {
        let (c, h, w) = (pixels.shape[0], pixels.shape[1], pixels.shape[2])
        let box = boxSize(text, scale: scale)
        let characters = Array(text)
        pixels.withUnsafeMutableBufferPointer { out in
            for y in 0..<box.height {
                for x in 0..<box.width {
                    let (py, px) = (top + y, left + x)
                    guard py >= 0, py < h, px >= 0, px < w else { continue }
                    // Position in font pixels, after the one-pixel margin.
                    let (fy, fx) = (y / scale - 1, x / scale - 1)
                    var on = false
                    if fy >= 0, fy < glyphHeight, fx >= 0, fx % (glyphWidth + 1) < glyphWidth, fx / (glyphWidth + 1) < characters.count,
                       let rows = glyphs[characters[fx / (glyphWidth + 1)]] {
                        on = rows[fy] >> (glyphWidth - 1 - fx % (glyphWidth + 1)) & 1 == 1
                    }
                    for channel in 0..<c { out[(channel * h + py) * w + px] = on ? ink : paper }
                }
            }
        }
    }
}
