import Foundation

/// The safetensors format, the weights format of the PyTorch ecosystem:
///
///     [8 bytes: header length N, little-endian UInt64]
///     [N bytes: JSON object {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, …,
///                            "__metadata__": {"key": "value", …}}]
///     [data: every tensor's little-endian bytes; offsets are relative to the start of this section]
///
/// Reading is strict and bounds-checked: every structural problem throws a `FoveaError` of kind
/// `.corruptFile` naming the file and what is wrong (a header longer than the file, invalid JSON,
/// an unknown dtype, offsets out of range, overlapping or leaving gaps, a shape whose size
/// disagrees with its byte range, …). F32 tensors load as they are; F16, BF16, F64 and the integer
/// and boolean dtypes are converted to Float32, and `dtypes` records each tensor's dtype in the
/// file, so a loader can reject a tensor whose dtype does not fit its target
/// (`Checkpoint.load(from:)` does). Writing produces F32 (or I64 for tensors named in
/// `integerTensors`, such as batch norm's `num_batches_tracked`).
public struct SafeTensors: Sendable {
    /// Tensors in file order.
    public var tensors: [(name: String, tensor: Tensor)]
    /// The optional `__metadata__` string map.
    public var metadata: [String: String]
    /// Each tensor's dtype in the file it was read from (empty for tensors built in memory;
    /// writing ignores it).
    public var dtypes: [String: DType]

    public init(tensors: [(name: String, tensor: Tensor)], metadata: [String: String] = [:], dtypes: [String: DType] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
        self.dtypes = dtypes
    }

    public subscript(name: String) -> Tensor? { tensors.first { $0.name == name }?.tensor }

    /// Largest header accepted (as the reference implementation: 100 MB).
    public static let maximumHeaderLength = 100_000_000

    // MARK: Reading

    /// Reads and validates a safetensors file.
    public static func read(from url: URL) throws -> SafeTensors {
        let data = try FileContents.read(url, what: "safetensors file", mapped: true)
        return try decode(data, source: url.path)
    }

    /// Parses safetensors bytes; `source` names the file in errors.
    public static func decode(_ data: Data, source: String = "safetensors data") throws -> SafeTensors {
        func corrupt(_ detail: String) -> FoveaError { FoveaError(.corruptFile, "\(source): \(detail)") }
        guard data.count >= 8 else { throw corrupt("file is \(data.count) bytes, shorter than the 8-byte header length") }
        let headerLength = data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> UInt64 in
            var value: UInt64 = 0
            for index in 0..<8 { value |= UInt64(raw[index]) << (8 * UInt64(index)) }
            return value
        }
        guard headerLength <= UInt64(maximumHeaderLength) else {
            throw corrupt("header length \(headerLength) is larger than the maximum \(maximumHeaderLength)")
        }
        guard headerLength <= UInt64(data.count - 8) else {
            throw corrupt("header length \(headerLength) exceeds the \(data.count - 8) bytes after the length field")
        }
        let headerEnd = 8 + Int(headerLength)
        let headerBytes = data.subdata(in: (data.startIndex + 8)..<(data.startIndex + headerEnd))
        guard headerBytes.first == UInt8(ascii: "{") else { throw corrupt("header does not start with '{'") }
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: headerBytes, options: [])
        } catch {
            throw corrupt("header is not valid JSON")
        }
        guard let object = json as? [String: Any] else { throw corrupt("header is not a JSON object") }

        var metadata: [String: String] = [:]
        var entries: [(name: String, dtype: DType, shape: [Int], begin: Int, end: Int)] = []
        let dataLength = data.count - headerEnd
        for (name, value) in object {
            if name == "__metadata__" {
                guard let map = value as? [String: Any] else { throw corrupt("__metadata__ is not an object") }
                for (key, item) in map {
                    guard let text = item as? String else { throw corrupt("__metadata__ value of '\(key)' is not a string") }
                    metadata[key] = text
                }
                continue
            }
            guard let info = value as? [String: Any] else { throw corrupt("entry '\(name)' is not an object") }
            guard let dtypeName = info["dtype"] as? String else { throw corrupt("tensor '\(name)' has no dtype") }
            guard let dtype = DType(rawValue: dtypeName) else {
                throw corrupt("tensor '\(name)' has unknown dtype '\(dtypeName)'; supported: \(DType.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard let shapeValues = info["shape"] as? [Any] else { throw corrupt("tensor '\(name)' has no shape") }
            let shape = try shapeValues.map { item -> Int in
                guard let number = item as? NSNumber, let dimension = exactInteger(number), dimension >= 0 else {
                    throw corrupt("tensor '\(name)' has an invalid shape \(shapeValues)")
                }
                return dimension
            }
            guard let offsets = info["data_offsets"] as? [Any], offsets.count == 2,
                  let beginNumber = offsets[0] as? NSNumber, let endNumber = offsets[1] as? NSNumber,
                  let begin = exactInteger(beginNumber), let end = exactInteger(endNumber)
            else { throw corrupt("tensor '\(name)' has invalid data_offsets") }
            guard begin >= 0, end >= begin, end <= dataLength else {
                throw corrupt("tensor '\(name)' has data_offsets [\(begin), \(end)] outside the \(dataLength)-byte data section")
            }
            // Zero dimensions are skipped for the overflow check, so a shape such as [0, 2⁴⁰, 2⁴⁰]
            // (no elements) cannot overflow strides computed from it later.
            let (extent, overflow) = shape.reduce((1, false)) { partial, dimension in
                let product = partial.0.multipliedReportingOverflow(by: max(dimension, 1))
                return (product.partialValue, partial.1 || product.overflow)
            }
            let elements = shape.contains(0) ? 0 : extent
            let (bytes, bytesOverflow) = elements.multipliedReportingOverflow(by: dtype.byteSize)
            guard !overflow, !bytesOverflow, bytes == end - begin else {
                throw corrupt("tensor '\(name)' has shape \(shape) of \(dtype.rawValue) (\(overflow ? "too many" : String(elements)) elements) but \(end - begin) bytes")
            }
            entries.append((name, dtype, shape, begin, end))
        }
        entries.sort { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        var position = 0
        for entry in entries {
            if entry.begin < position { throw corrupt("tensor '\(entry.name)' overlaps the tensor before it (offset \(entry.begin) < \(position))") }
            if entry.begin > position { throw corrupt("bytes \(position)..<\(entry.begin) before tensor '\(entry.name)' belong to no tensor") }
            position = entry.end
        }
        if position != dataLength { throw corrupt("bytes \(position)..<\(dataLength) at the end belong to no tensor") }

        let tensors = data.withUnsafeBytes { raw -> [(String, Tensor)] in
            let base = raw.baseAddress! + headerEnd
            return entries.map { entry in
                (entry.name, entry.dtype.decode(UnsafeRawBufferPointer(start: base + entry.begin, count: entry.end - entry.begin), shape: Shape(entry.shape)))
            }
        }
        return SafeTensors(tensors: tensors, metadata: metadata,
                           dtypes: Dictionary(entries.map { ($0.name, $0.dtype) }, uniquingKeysWith: { first, _ in first }))
    }

    private static func exactInteger(_ number: NSNumber) -> Int? {
        let double = number.doubleValue
        guard double.isFinite, double == double.rounded(), abs(double) < 9.0e15 else { return nil }
        return number.intValue
    }

    // MARK: Writing

    /// The file's bytes. Tensors named in `integerTensors` are written as I64 (their values rounded).
    public func encode(integerTensors: Set<String> = []) throws -> Data {
        var header: [String: Any] = [:]
        var offset = 0
        var layout: [(Tensor, DType)] = []
        var seen = Set<String>()
        for (name, tensor) in tensors {
            guard name != "__metadata__", seen.insert(name).inserted else {
                throw FoveaError.invalidArgument("safetensors: tensor name '\(name)' is reserved or repeated")
            }
            let dtype: DType = integerTensors.contains(name) ? .i64 : .f32
            let size = tensor.count * dtype.byteSize
            header[name] = ["dtype": dtype.rawValue, "shape": tensor.shape.dimensions, "data_offsets": [offset, offset + size]] as [String: Any]
            offset += size
            layout.append((tensor, dtype))
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var headerData = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        // Pad the header with spaces so the data section starts 8-byte aligned.
        while (8 + headerData.count) % 8 != 0 { headerData.append(UInt8(ascii: " ")) }
        var result = Data(capacity: 8 + headerData.count + offset)
        var length = UInt64(headerData.count).littleEndian
        withUnsafeBytes(of: &length) { result.append(contentsOf: $0) }
        result.append(headerData)
        for (tensor, dtype) in layout {
            tensor.withUnsafeBufferPointer { values in
                if dtype == .i64 {
                    for value in values {
                        var integer = Int64(value.rounded()).littleEndian
                        withUnsafeBytes(of: &integer) { result.append(contentsOf: $0) }
                    }
                } else {
                    result.append(UnsafeBufferPointer(start: values.baseAddress, count: values.count))
                }
            }
        }
        return result
    }

    /// Writes the file atomically: to a temporary file beside `url`, flushed, then renamed over it,
    /// so a crash or a failed write leaves any previous file at `url` intact.
    public func write(to url: URL, integerTensors: Set<String> = []) throws {
        try AtomicFile.write(try encode(integerTensors: integerTensors), to: url)
    }
}

extension SafeTensors {
    /// The element types safetensors files may hold; each converts to Float32 on load.
    public enum DType: String, CaseIterable, Sendable {
        case f32 = "F32", f16 = "F16", bf16 = "BF16", f64 = "F64"
        case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8", u8 = "U8", bool = "BOOL"

        /// F32, F16, BF16 and F64: the dtypes that load into a floating-point parameter or buffer
        /// (F16 and BF16 exactly, F64 rounded to the nearest Float32 as PyTorch's `copy_` does).
        public var isFloatingPoint: Bool { [.f32, .f16, .bf16, .f64].contains(self) }

        /// The signed and unsigned integer dtypes (not BOOL).
        public var isInteger: Bool { [.i64, .i32, .i16, .i8, .u8].contains(self) }

        var byteSize: Int {
            switch self {
            case .f64, .i64: 8
            case .f32, .i32: 4
            case .f16, .bf16, .i16: 2
            case .i8, .u8, .bool: 1
            }
        }

        /// Little-endian bytes → a Float32 tensor.
        func decode(_ bytes: UnsafeRawBufferPointer, shape: Shape) -> Tensor {
            var tensor = Tensor(zeros: shape)
            let count = shape.count
            tensor.withUnsafeMutableBufferPointer { out in
                for i in 0..<count {
                    let at = i * byteSize
                    switch self {
                    case .f32: out[i] = Float(bitPattern: bytes.loadUnaligned(fromByteOffset: at, as: UInt32.self).littleEndian)
                    case .f64: out[i] = Float(Double(bitPattern: bytes.loadUnaligned(fromByteOffset: at, as: UInt64.self).littleEndian))
                    case .f16: out[i] = Self.halfToFloat(bytes.loadUnaligned(fromByteOffset: at, as: UInt16.self).littleEndian)
                    case .bf16: out[i] = Float(bitPattern: UInt32(bytes.loadUnaligned(fromByteOffset: at, as: UInt16.self).littleEndian) << 16)
                    case .i64: out[i] = Float(Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: Int64.self)))
                    case .i32: out[i] = Float(Int32(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: Int32.self)))
                    case .i16: out[i] = Float(Int16(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: Int16.self)))
                    case .i8: out[i] = Float(Int8(bitPattern: bytes[at]))
                    case .u8: out[i] = Float(bytes[at])
                    case .bool: out[i] = bytes[at] == 0 ? 0 : 1
                    }
                }
            }
            return tensor
        }

        /// IEEE 754 binary16 → Float32, including subnormals, infinities and NaN.
        static func halfToFloat(_ bits: UInt16) -> Float {
            let sign = UInt32(bits >> 15) << 31
            let exponent = Int((bits >> 10) & 0x1F)
            let mantissa = UInt32(bits & 0x3FF)
            if exponent == 0 {
                let magnitude = Float(mantissa) * Float(sign: .plus, exponent: -24, significand: 1)
                return sign == 0 ? magnitude : -magnitude
            }
            if exponent == 0x1F { return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13)) }
            return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | (mantissa << 13))
        }
    }
}
