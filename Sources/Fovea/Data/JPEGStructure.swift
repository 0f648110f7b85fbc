import Foundation

/// A walk over a JPEG file's marker segments, done before stb_image sees the bytes, that refuses
/// files whose scans use a Huffman table no DHT segment has defined.
///
/// stb_image 2.27 (Debian's libstb) decodes such a scan with an uninitialised table and reads far
/// outside it (a crash found by Scripts/fuzz.sh, kept as a regression test). The walk follows the
/// stream the way stb reads it:
///
///     FF D8                                   start of image
///     FF xx <UInt16 BE length L> <L−2 bytes>  segments: DHT (C4) defines tables, SOF0/1/2 (C0–C2)
///                                             lists the components, SOS (DA) starts a scan
///     entropy-coded bytes after SOS           FF 00 is a data byte, FF D0–D7 a restart marker,
///                                             FF followed by anything else the next marker
///     FF D9                                   end of image
///
/// Bytes that are not a marker between segments are skipped, and fill bytes FF FF … are allowed,
/// as stb does. A scan needs the DC table of each of its components when it codes DC coefficients
/// for the first time (every baseline scan; a progressive scan with Ss = 0 and Ah = 0), and the AC
/// table when it codes AC coefficients (every baseline scan; a progressive scan with Ss > 0).
/// Other problems (bad lengths, unknown SOF types, truncation) are left to stb, which rejects them
/// safely.
enum JPEGStructure {
    /// The reason `bytes` must not be handed to stb_image, or nil.
    static func problem(in bytes: [UInt8]) -> String? {
        var walker = Walker(bytes: bytes)
        return walker.run()
    }

    private struct Walker {
        let bytes: [UInt8]
        var at = 2  // after FF D8
        var definedDC = [Bool](repeating: false, count: 4)
        var definedAC = [Bool](repeating: false, count: 4)
        var componentIDs: [UInt8] = []
        var progressive = false

        init(bytes: [UInt8]) { self.bytes = bytes }

        /// The 16-bit big-endian value at `offset`, or nil past the end.
        func uint16(_ offset: Int) -> Int? {
            offset + 1 < bytes.count ? Int(bytes[offset]) << 8 | Int(bytes[offset + 1]) : nil
        }

        mutating func run() -> String? {
            while let marker = nextMarker() {
                switch marker {
                case 0xD9: return nil  // end of image
                case 0xD0...0xD7, 0x01: continue  // stand-alone markers
                case 0xC4: defineTables()
                case 0xC0, 0xC1, 0xC2: readFrame(progressive: marker == 0xC2)
                case 0xDA:
                    if let problem = checkScan() { return problem }
                    skipEntropyCodedData()
                default: skipSegment()
                }
            }
            return nil  // ran out of bytes: stb reports the truncation itself
        }

        /// Skips to the next FF, then over fill bytes; returns the marker code.
        mutating func nextMarker() -> UInt8? {
            while at < bytes.count && bytes[at] != 0xFF { at += 1 }
            while at < bytes.count && bytes[at] == 0xFF { at += 1 }
            guard at < bytes.count else { return nil }
            defer { at += 1 }
            return bytes[at]
        }

        mutating func skipSegment() {
            guard let length = uint16(at) else { at = bytes.count; return }
            at += max(length, 2)
        }

        /// DHT: one or more tables, each `class<<4 | id`, 16 code counts, then the values.
        mutating func defineTables() {
            guard let length = uint16(at) else { at = bytes.count; return }
            let end = min(at + max(length, 2), bytes.count)
            var offset = at + 2
            while offset + 17 <= end {
                let kind = bytes[offset] >> 4, id = Int(bytes[offset] & 15)
                let count = bytes[(offset + 1)...(offset + 16)].reduce(0) { $0 + Int($1) }
                guard kind <= 1, id <= 3, count <= 256, offset + 17 + count <= end else { break }
                if kind == 0 { definedDC[id] = true } else { definedAC[id] = true }
                offset += 17 + count
            }
            at = end
        }

        /// SOF0/1/2: precision, height, width, component count, then (id, sampling, table) each.
        mutating func readFrame(progressive: Bool) {
            self.progressive = progressive
            let start = at
            skipSegment()
            guard start + 8 <= bytes.count else { return }
            let count = Int(bytes[start + 7])
            componentIDs = (0..<count).compactMap { index in
                let offset = start + 8 + 3 * index
                return offset < bytes.count ? bytes[offset] : nil
            }
        }

        /// SOS: component count, then (id, DC table << 4 | AC table) each, then Ss, Se, Ah << 4 | Al.
        mutating func checkScan() -> String? {
            let start = at
            skipSegment()
            guard start + 3 <= bytes.count else { return nil }
            let count = Int(bytes[start + 2])
            let selection = start + 3 + 2 * count
            guard selection + 2 < bytes.count else { return nil }
            let spectralStart = bytes[selection], approximationHigh = bytes[selection + 2] >> 4
            let needsDC = !progressive || (spectralStart == 0 && approximationHigh == 0)
            let needsAC = !progressive || spectralStart > 0
            for index in 0..<count {
                let id = bytes[start + 3 + 2 * index], tables = bytes[start + 4 + 2 * index]
                guard componentIDs.contains(id) else { continue }  // stb rejects the scan itself
                let dc = Int(tables >> 4), ac = Int(tables & 15)
                if needsDC && dc <= 3 && !definedDC[dc] {
                    return "a JPEG scan uses DC Huffman table \(dc) before any DHT segment defines it"
                }
                if needsAC && ac <= 3 && !definedAC[ac] {
                    return "a JPEG scan uses AC Huffman table \(ac) before any DHT segment defines it"
                }
            }
            return nil
        }

        /// Moves to the FF of the marker that ends the scan's entropy-coded data.
        mutating func skipEntropyCodedData() {
            while at + 1 < bytes.count {
                if bytes[at] == 0xFF {
                    let next = bytes[at + 1]
                    if next == 0x00 || (0xD0...0xD7).contains(next) { at += 2; continue }
                    if next != 0xFF { return }
                }
                at += 1
            }
            at = bytes.count
        }
    }
}
