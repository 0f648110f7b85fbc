import Foundation

/// A 2-D filter kernel for images: `rows × columns` weights, row-major. Fovea's convolution is a
/// cross-correlation (as PyTorch's and SciPy's `ndimage.correlate`): output pixel `(p, q)` is
/// `Σ_{r,s} x[p + r − padding, q + s − padding] · w[r, s]`, so the kernel is *not* flipped. For the
/// symmetric classics (all but Sobel) that makes no difference.
public struct ImageKernel: Sendable, Equatable, CustomStringConvertible {
    public var name: String
    public var rows: Int
    public var columns: Int
    /// Row-major, `rows · columns` values.
    public var weights: [Float]

    /// - Throws: `.invalidArgument` unless `rows, columns ≥ 1` and there are `rows · columns` weights.
    public init(name: String, rows: Int, columns: Int, weights: [Float]) throws {
        let check = ArgumentCheck("ImageKernel \(name)")
        try check.atLeast(1, rows, "rows")
        try check.atLeast(1, columns, "columns")
        try check.require(weights.count == rows * columns, "weights", mustBe: "\(rows)×\(columns) = \(rows * columns) values", got: "\(weights.count) values")
        self.init(checkedName: name, rows: rows, columns: columns, weights: weights)
    }

    private init(checkedName name: String, rows: Int, columns: Int, weights: [Float]) {
        self.name = name
        self.rows = rows
        self.columns = columns
        self.weights = weights
    }

    /// A kernel from its rows, each weight multiplied by `scale`.
    /// - Throws: `.invalidArgument` for no rows, an empty row or rows of different lengths.
    public init(name: String, _ matrix: [[Float]], scale: Float = 1) throws {
        let lengths = matrix.map(\.count)
        try ArgumentCheck("ImageKernel \(name)").require(Set(lengths).count <= 1, "rows", mustBe: "all of one length", got: "lengths \(lengths)")
        try self.init(name: name, rows: matrix.count, columns: matrix.first?.count ?? 0,
                      weights: matrix.flatMap { row in row.map { $0 * scale } })
    }

    /// One of the built-in square kernels below (constant, so known to be well formed).
    private static func classic(_ name: String, _ matrix: [[Float]], scale: Float = 1) -> ImageKernel {
        ImageKernel(checkedName: name, rows: matrix.count, columns: matrix.count, weights: matrix.flatMap { row in row.map { $0 * scale } })
    }

    public subscript(row: Int, column: Int) -> Float { weights[row * columns + column] }

    /// The sum of the weights (1 for smoothing and sharpening kernels, 0 for edge detectors).
    public var sum: Float { weights.reduce(0, +) }

    /// The weights as a `[1, 1, rows, columns]` tensor.
    public var tensor: Tensor { Tensor(shape: [1, 1, rows, columns], scalars: weights) }

    /// The matrix written as rows of numbers, e.g. `[0 −1 0; −1 5 −1; 0 −1 0]`, with a common
    /// fraction taken out when there is one: `1/16·[1 2 1; 2 4 2; 1 2 1]`.
    public var description: String {
        let divisor = (1...1024).first { d in weights.allSatisfy { Self.isInteger($0 * Float(d), tolerance: 1e-4 * Float(d)) } } ?? 1
        let scale = Float(divisor)
        let text = (0..<rows).map { r -> String in
            let row = (0..<columns).map { c -> String in
                let value: Float = divisor == 1 ? self[r, c] : (self[r, c] * scale).rounded()
                return Self.formatted(value)
            }
            return row.joined(separator: " ")
        }.joined(separator: "; ")
        return divisor == 1 ? "[\(text)]" : "1/\(divisor)·[\(text)]"
    }

    private static func isInteger(_ value: Float, tolerance: Float) -> Bool {
        Swift.abs(value - value.rounded()) <= tolerance
    }

    /// A weight for people: integers without a decimal point, `−` as the minus sign.
    public static func formatted(_ value: Float) -> String {
        let text = value == value.rounded() && abs(value) < 1e6 ? String(Int(value)) : String(format: "%.4g", Double(value))
        return text.replacingOccurrences(of: "-", with: "−")
    }
}

// MARK: - The classic kernels

extension ImageKernel {
    /// `[0 0 0; 0 1 0; 0 0 0]`: the picture unchanged.
    public static let identity = classic("identity", [[0, 0, 0], [0, 1, 0], [0, 0, 0]])
    /// `[1 0 −1; 0 0 0; −1 0 1]`: responds to diagonal structure; weights sum to 0.
    public static let edgeDetection = classic("edge-detection", [[1, 0, -1], [0, 0, 0], [-1, 0, 1]])
    /// `[0 1 0; 1 −4 1; 0 1 0]`: the discrete Laplacian (sum 0).
    public static let laplacian = classic("laplacian", [[0, 1, 0], [1, -4, 1], [0, 1, 0]])
    /// `[−1 −1 −1; −1 8 −1; −1 −1 −1]`: the 8-neighbour Laplacian, an outline detector (sum 0).
    public static let outline = classic("outline", [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]])
    /// `[0 −1 0; −1 5 −1; 0 −1 0]` = identity − Laplacian (sum 1).
    public static let sharpen = classic("sharpen", [[0, -1, 0], [-1, 5, -1], [0, -1, 0]])
    /// `1/9 · ones(3, 3)`: the mean of the 3×3 neighbourhood.
    public static let boxBlur = classic("box-blur", [[1, 1, 1], [1, 1, 1], [1, 1, 1]], scale: 1.0 / 9)
    /// `[1 2 1; 2 4 2; 1 2 1] / 16`: the 3×3 binomial approximation of a Gaussian.
    public static let gaussianBlur = classic("gaussian-blur", [[1, 2, 1], [2, 4, 2], [1, 2, 1]], scale: 1.0 / 16)
    /// `[1 4 6 4 1; 4 16 24 16 4; 6 24 36 24 6; 4 16 24 16 4; 1 4 6 4 1] / 256`: the 5×5 binomial.
    public static let gaussianBlur5 = classic(
        "gaussian-blur-5",
        [[1, 4, 6, 4, 1], [4, 16, 24, 16, 4], [6, 24, 36, 24, 6], [4, 16, 24, 16, 4], [1, 4, 6, 4, 1]], scale: 1.0 / 256)
    /// `[−1 0 1; −2 0 2; −1 0 1]` as a cross-correlation: positive where brightness grows to the
    /// right (Wikipedia's Gx `[1 0 −1; 2 0 −2; 1 0 −1]` written for true convolution).
    public static let sobelX = classic("sobel-x", [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    /// `[−1 −2 −1; 0 0 0; 1 2 1]` as a cross-correlation: positive where brightness grows downwards.
    public static let sobelY = classic("sobel-y", [[-1, -2, -1], [0, 0, 0], [1, 2, 1]])

    /// Every named kernel, in the order of the lecture's table.
    public static let classics: [ImageKernel] = [
        identity, edgeDetection, laplacian, outline, sharpen, boxBlur, gaussianBlur, gaussianBlur5, sobelX, sobelY,
    ]

    /// The largest side of `gaussian(size:sigma:)`: 255 (beyond a few σ the weights are zero anyway).
    public static let maximumGaussianSize = 255

    /// A `size × size` Gaussian, `w[r, s] ∝ exp(−((r − c)² + (s − c)²) / (2σ²))` with `c = (size − 1)/2`,
    /// normalised to sum 1.
    /// - Throws: `.invalidArgument` for a size outside 1…`maximumGaussianSize` or σ ≤ 0.
    public static func gaussian(size: Int, sigma: Float) throws -> ImageKernel {
        guard (1...maximumGaussianSize).contains(size) else {
            throw FoveaError.invalidArgument("gaussian kernel: size must be between 1 and \(maximumGaussianSize), got \(size)")
        }
        guard sigma > 0, sigma.isFinite else {
            throw FoveaError.invalidArgument("gaussian kernel: σ must be a finite number > 0, got \(sigma)")
        }
        let centre = Double(size - 1) / 2
        var weights: [Double] = []
        for r in 0..<size {
            for s in 0..<size {
                let (dy, dx) = (Double(r) - centre, Double(s) - centre)
                weights.append(exp(-(dy * dy + dx * dx) / (2 * Double(sigma) * Double(sigma))))
            }
        }
        let total = weights.reduce(0, +)
        return try ImageKernel(name: "gaussian:\(size):\(ImageKernel.formatted(sigma))", rows: size, columns: size,
                           weights: weights.map { Float($0 / total) })
    }

    /// A classic by name (`sharpen`, `sobel-x`, …) or `gaussian:SIZE:SIGMA`.
    /// - Throws: `.invalidArgument` listing the valid names.
    public static func named(_ name: String) throws -> ImageKernel {
        if let kernel = classics.first(where: { $0.name == name }) { return kernel }
        let parts = name.split(separator: ":", omittingEmptySubsequences: false)
        if parts.count == 3, parts[0] == "gaussian" {
            guard let size = Int(parts[1]), let sigma = Float(parts[2]) else {
                throw FoveaError.invalidArgument("kernel '\(name)': expected gaussian:SIZE:SIGMA, e.g. gaussian:5:1.5")
            }
            return try gaussian(size: size, sigma: sigma)
        }
        throw FoveaError.invalidArgument(
            "unknown kernel '\(name)'; named kernels: \(classics.map(\.name).joined(separator: ", ")), gaussian:SIZE:SIGMA")
    }
}

// MARK: - User kernels

extension ImageKernel {
    /// Parses a matrix: rows separated by `;` or new lines, numbers by commas and/or spaces, e.g.
    /// `"1,0,-1;2,0,-2;1,0,-1"` or a file's text. Blank lines and `#` comments are ignored;
    /// fractions are written as decimals (`0.111`), and `−` counts as a minus sign.
    /// - Parameter source: the argument or file named in error messages.
    /// - Throws: `.invalidArgument` naming `source` and the row for a non-number, ragged rows or an
    ///   empty kernel.
    public static func parse(_ text: String, source: String, name: String? = nil) throws -> ImageKernel {
        var rows: [[Float]] = []
        var rowNumbers: [Int] = []
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == ";" })
        for (index, line) in lines.enumerated() {
            let content = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let tokens = content.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" || $0 == "\r" })
            if tokens.isEmpty { continue }
            var row: [Float] = []
            for token in tokens {
                let cleaned = token.replacingOccurrences(of: "−", with: "-")
                guard let value = Float(cleaned), value.isFinite else {
                    throw FoveaError.invalidArgument("\(source): row \(index + 1): '\(token)' is not a number")
                }
                row.append(value)
            }
            if let first = rows.first, row.count != first.count {
                throw FoveaError.invalidArgument(
                    "\(source): row \(index + 1) has \(row.count) numbers but row \(rowNumbers[0]) has \(first.count); every row of a kernel needs the same length")
            }
            rows.append(row)
            rowNumbers.append(index + 1)
        }
        guard !rows.isEmpty else {
            throw FoveaError.invalidArgument("\(source): empty kernel; write rows of numbers, e.g. 0,-1,0;-1,5,-1;0,-1,0")
        }
        return try ImageKernel(name: name ?? source, rows: rows.count, columns: rows[0].count, weights: rows.flatMap { $0 })
    }

    /// The largest kernel file `read` accepts: 16 MiB, room for a 1000×1000 matrix of numbers
    /// with 16 characters each.
    public static let maximumFileBytes = 16 << 20

    /// Reads a kernel from a text file: one row per line, numbers separated by spaces or commas.
    /// - Throws: `.io` naming the file when it cannot be read; the errors of `parse`.
    public static func read(from url: URL) throws -> ImageKernel {
        let data = try FileContents.read(url, what: "kernel file", maximumBytes: maximumFileBytes)
        guard let text = String(data: data, encoding: .utf8) else {
            throw FoveaError(.corruptFile, "\(url.path): the kernel file is not UTF-8 text")
        }
        return try parse(text, source: url.path, name: url.deletingPathExtension().lastPathComponent)
    }
}
