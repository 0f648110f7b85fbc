import Foundation

/// Declarations read from the package's Swift source text, for tests that compare what the
/// `Device` protocols require with what a device declares itself.
///
/// The reading is lexical: comments are removed, braces are counted (the files read hold no
/// braces inside string literals), and a member is a `func` or `var` directly inside a top-level
/// `protocol`, `extension`, `struct`, `class` or `enum` body. A function is identified by its
/// name and argument labels, as Swift does: `conv2dForward(input:weight:bias:geometry:)`.
enum SourceDeclarations {
    /// The package's root folder, found from this file's path.
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// A top-level declaration with a body: its keyword, the name it declares or extends, the
    /// types after its colon (for protocols: the protocols it refines), and its body.
    struct Block {
        var keyword: String
        var name: String
        var inherited: [String]
        var body: String
    }

    /// A `func` or `var` declared directly in a block. `forwards` is true when its body calls
    /// `delegate(`, i.e. it hands the operation to the fallback device.
    struct Member: Hashable {
        var signature: String
        var forwards: Bool
    }

    /// The source text of every `.swift` file directly in `folder` (relative to the package root).
    static func sources(in folder: String) throws -> [String] {
        let url = packageRoot.appendingPathComponent(folder)
        let names = try FileManager.default.contentsOfDirectory(atPath: url.path).filter { $0.hasSuffix(".swift") }.sorted()
        return try names.map { try String(contentsOf: url.appendingPathComponent($0), encoding: .utf8) }
    }

    /// `text` without `//` and `/* */` comments (doc comments included).
    static func strippingComments(_ text: String) -> String {
        var result = ""
        var characters = Array(text)[...]
        while let first = characters.first {
            if first == "/", characters.dropFirst().first == "/" {
                characters = characters.drop { $0 != "\n" }
            } else if first == "/", characters.dropFirst().first == "*" {
                characters = characters.dropFirst(2)
                while !characters.isEmpty, !(characters.first == "*" && characters.dropFirst().first == "/") {
                    characters = characters.dropFirst()
                }
                characters = characters.dropFirst(2)
            } else {
                result.append(first)
                characters = characters.dropFirst()
            }
        }
        return result
    }

    /// The top-level declarations with bodies in `source`.
    static func blocks(in source: String) -> [Block] {
        let text = Array(strippingComments(source))
        var blocks: [Block] = []
        var depth = 0, headerStart = 0, bodyStart = 0
        var header = ""
        for (index, character) in text.enumerated() {
            if character == "{" {
                if depth == 0 {
                    header = String(text[headerStart..<index])
                    bodyStart = index + 1
                }
                depth += 1
            } else if character == "}" {
                depth -= 1
                if depth == 0 {
                    if let block = block(header: header, body: String(text[bodyStart..<index])) { blocks.append(block) }
                    headerStart = index + 1
                }
            }
        }
        return blocks
    }

    private static func block(header: String, body: String) -> Block? {
        let pattern = /\b(protocol|extension|struct|class|enum|actor)\s+([A-Za-z_][A-Za-z0-9_]*)([^{]*)$/
        guard let match = header.matches(of: pattern).last else { return nil }
        var rest = Substring(match.output.3)
        if let whereClause = rest.range(of: " where ") { rest = rest[..<whereClause.lowerBound] }
        let inherited = rest.drop { $0 != ":" }.dropFirst()
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
        return Block(keyword: String(match.output.1), name: String(match.output.2), inherited: inherited, body: body)
    }

    /// The `func` and `var` declarations directly in `body` (not inside a nested body).
    static func members(of body: String) -> [Member] {
        let text = Array(body)
        var depthAt = [Int](repeating: 0, count: text.count + 1)
        var depth = 0
        for (index, character) in text.enumerated() {
            if character == "}" { depth -= 1 }
            depthAt[index] = depth
            if character == "{" { depth += 1 }
        }
        let string = String(text)
        var found: [(offset: Int, signature: String)] = []
        for match in string.matches(of: /\b(func|var)\s+([A-Za-z_][A-Za-z0-9_]*)/) {
            let offset = string.distance(from: string.startIndex, to: match.range.lowerBound)
            guard depthAt[offset] == 0 else { continue }
            let name = String(match.output.2)
            if match.output.1 == "var" {
                found.append((offset, name))
            } else {
                let after = string.distance(from: string.startIndex, to: match.range.upperBound)
                found.append((offset, name + "(" + labels(text, from: after) + ")"))
            }
        }
        return found.enumerated().map { position, declaration in
            let end = position + 1 < found.count ? found[position + 1].offset : text.count
            let declarationText = String(text[declaration.offset..<end])
            return Member(signature: declaration.signature, forwards: declarationText.contains("delegate("))
        }
    }

    /// The argument labels of the parameter list that starts at the first `(` from `start`,
    /// each followed by a colon: `input:weight:` or `_:_:`.
    private static func labels(_ text: [Character], from start: Int) -> String {
        guard var index = text[start...].firstIndex(of: "(") else { return "" }
        index += 1
        var depth = 0
        var parameter = "", parameters: [String] = []
        while index < text.count {
            let character = text[index]
            if "([<".contains(character) { depth += 1 }
            if ")]".contains(character) || (character == ">" && text[index - 1] != "-") {
                if depth == 0 { break }
                depth -= 1
            }
            if character == ",", depth == 0 {
                parameters.append(parameter)
                parameter = ""
            } else {
                parameter.append(character)
            }
            index += 1
        }
        parameters.append(parameter)
        return parameters.compactMap { parameter -> String? in
            let beforeColon = parameter.prefix { $0 != ":" }
            let words = beforeColon.split(whereSeparator: \.isWhitespace)
            return words.first.map { $0 + ":" }
        }.joined()
    }
}
