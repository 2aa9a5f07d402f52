/// Standard base64 (RFC 4648 §4), as DynamoDB JSON uses for `B` and `BS` values.
public enum Base64 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    static let decodeTable: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, char) in alphabet.enumerated() { table[Int(char)] = UInt8(index) }
        return table
    }()

    /// Appends the base64 text of `bytes`, padded with `=`.
    public static func encode(_ bytes: [UInt8], into out: inout [UInt8]) {
        out.reserveCapacity(out.count + (bytes.count + 2) / 3 * 4)
        var i = 0
        while i + 3 <= bytes.count {
            let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            out.append(alphabet[Int(v >> 18 & 63)])
            out.append(alphabet[Int(v >> 12 & 63)])
            out.append(alphabet[Int(v >> 6 & 63)])
            out.append(alphabet[Int(v & 63)])
            i += 3
        }
        let rest = bytes.count - i
        if rest > 0 {
            let v = UInt32(bytes[i]) << 16 | (rest == 2 ? UInt32(bytes[i + 1]) << 8 : 0)
            out.append(alphabet[Int(v >> 18 & 63)])
            out.append(alphabet[Int(v >> 12 & 63)])
            out.append(rest == 2 ? alphabet[Int(v >> 6 & 63)] : UInt8(ascii: "="))
            out.append(UInt8(ascii: "="))
        }
    }

    public static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        encode(bytes, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes base64 text; padding is optional. Returns nil on a character outside the alphabet, misplaced
    /// padding or an impossible length.
    public static func decode(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        var n = text.count
        if n > 0 && text[n - 1] == UInt8(ascii: "=") { n -= 1 }
        if n > 0 && text[n - 1] == UInt8(ascii: "=") { n -= 1 }
        if n % 4 == 1 { return nil }
        if text.count % 4 != 0 && n != text.count { return nil }  // padding only completes a quad
        var out = [UInt8]()
        out.reserveCapacity(n * 3 / 4)
        var acc: UInt32 = 0
        var bits = 0
        let table = decodeTable
        for i in 0..<n {
            let v = table[Int(text[i])]
            if v == 0xFF { return nil }
            acc = acc << 6 | UInt32(v)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: acc >> UInt32(bits)))
            }
        }
        // Leftover bits must be zero in canonical base64; DynamoDB would reject anything else.
        if bits > 0 && acc & ((1 << UInt32(bits)) - 1) != 0 { return nil }
        return out
    }

    /// The decoded length of base64 text, checked by exactly the rules `decode` applies; nil when it is invalid.
    public static func validatedLength(_ text: UnsafeBufferPointer<UInt8>) -> Int? {
        var n = text.count
        if n > 0 && text[n - 1] == UInt8(ascii: "=") { n -= 1 }
        if n > 0 && text[n - 1] == UInt8(ascii: "=") { n -= 1 }
        if n % 4 == 1 { return nil }
        if text.count % 4 != 0 && n != text.count { return nil }
        let table = decodeTable
        var last: UInt8 = 0
        for i in 0..<n {
            last = table[Int(text[i])]
            if last == 0xFF { return nil }
        }
        // The final character's unused low bits must be zero (2 chars → 4 bits unused, 3 chars → 2 bits).
        switch n % 4 {
        case 2: if last & 0x0F != 0 { return nil }
        case 3: if last & 0x03 != 0 { return nil }
        default: break
        }
        return n / 4 * 3 + (n % 4 == 0 ? 0 : n % 4 - 1)
    }

    public static func decode(_ text: String) -> [UInt8]? {
        var copy = text
        return copy.withUTF8 { decode($0) }
    }
}
