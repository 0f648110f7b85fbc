import FoveaCore

extension CheckingDevice {
    public func add(_ a: Tensor, _ b: Tensor) -> Tensor {
        checked("add", shapes: "\(a.shape) + \(b.shape)") { $0.add(a, b) }
    }

    public func multiply(_ a: Tensor, _ b: Tensor) -> Tensor {
        checked("multiply", shapes: "\(a.shape) ⊙ \(b.shape)") { $0.multiply(a, b) }
    }

    public func concatenateChannels(_ inputs: [Tensor]) -> Tensor {
        checked("concatenateChannels", shapes: inputs.map(\.shape.description).joined(separator: " ‖ ")) {
            $0.concatenateChannels(inputs)
        }
    }

    /// Compares every part; a different number of parts is an infinite error.
    public func splitChannels(_ input: Tensor, sizes: [Int]) -> [Tensor] {
        checked("splitChannels", shapes: "input \(input.shape) into \(sizes.map(String.init).joined(separator: "+")) channels") {
            $0.splitChannels(input, sizes: sizes)
        } outputs: { actual, expected, floor in
            guard actual.count == expected.count else { return [Output("parts (\(actual.count) vs \(expected.count))", .incomparable)] }
            return zip(actual, expected).enumerated().map { index, pair in
                Output("part \(index)", pair.0, pair.1, floor: floor)
            }
        }
    }
}
